"""Which regex_* patterns may run on the standard `re` engine: provably linear, same semantics.

The `regex` package with a time limit costs about 13 us per call, `re` about 3 us; `re` has no
time limit, so it is used only for a pattern that is decided, once per pattern, to be
(1) matched identically by both engines and (2) linear in the length of the text for the whole
search (every start position `search`/`finditer` tries, with all backtracking). When in doubt
the answer is no, and the pattern runs on `regex` with its time limit as before.

(1) Same semantics: the pattern compiles in both engines (and passes mapper's own limits), has
no flags (`(?i)` folds case differently), and uses only literal characters (escapes included),
character classes made of literals, ranges and negation, `.`, the anchors `^ $ \\A \\Z`,
unquantified groups (capturing, named or not) and the quantifiers `* + ? {m,n}` and their lazy
forms on one character or class. `\\d \\w \\s \\b` are refused: the two engines' Unicode tables
differ (Python 3.11's `re` and regex 2026 disagree on all six classes). No alternation, no
back-references, no look-around, no possessive or atomic forms, no `[[`, `--`, `&&`, `~~` or
`||` anywhere (POSIX classes, set operations). A pattern that
can match the empty string is refused too (the engines' empty-match rules are not verified).

(2) Linear: the pattern is then a sequence of elements, each a set of characters C repeated
{m,n} times, or a zero-width anchor.
  * Every element with a choice (m < n) is followed by something disjoint: C shares no
    character with any element that can come next (the following optional elements and the
    first mandatory one, anchors skipped). Giving a character back then makes the next element
    fail at once, so one start position costs O(k x characters examined), k elements.
  * Across start positions: the pattern starts with `^`/`\\A` (only one start gets past it), or
    its first element is mandatory (m >= 1) with a set A that shares no character with any
    unbounded element (n = infinity). Then the characters an unbounded element consumes cannot
    begin a match, so a position is examined by at most K + 1 starts, K = the characters the
    bounded elements can consume in all; K + 1 times k must be at most `MAX_WORK` (a constant
    cost per text character).
`a*b` (scanned from every start), `(a+)+b`, `(a|a)*`, `a*a*` and `\\d+` are refused.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from re import _constants as C  # type: ignore[attr-defined]
from re import _parser as P  # type: ignore[attr-defined]
from typing import Any

MAX_WORK = 256
_TOP = 0x10FFFF
_ANCHORS = {C.AT_BEGINNING, C.AT_BEGINNING_STRING, C.AT_END, C.AT_END_STRING}
_STARTS = {C.AT_BEGINNING, C.AT_BEGINNING_STRING}
_SET_TOKENS = ("[[", "--", "&&", "~~", "||")
"""Nested sets and set operations: `re` warns about them (future changes), `regex` reads
`[[:alpha:]]` as a POSIX class. Refused wherever they appear."""

Intervals = tuple[tuple[int, int], ...]


class _Refused(Exception):
    """The pattern is outside the verified subset."""


def _merge(spans: Iterable[tuple[int, int]]) -> Intervals:
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(spans):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return tuple(merged)


def _complement(spans: Intervals) -> Intervals:
    result, start = [], 0
    for lo, hi in spans:
        if lo > start:
            result.append((start, lo - 1))
        start = hi + 1
    if start <= _TOP:
        result.append((start, _TOP))
    return tuple(result)


def _disjoint(a: Intervals, b: Intervals) -> bool:
    i = j = 0
    while i < len(a) and j < len(b):
        if a[i][1] < b[j][0]:
            i += 1
        elif b[j][1] < a[i][0]:
            j += 1
        else:
            return False
    return True


def _charset(op: Any, av: Any) -> Intervals:
    """The characters one atom matches, or _Refused."""
    if op is C.LITERAL:
        return ((av, av),)
    if op is C.NOT_LITERAL:
        return _complement(((av, av),))
    if op is C.ANY:  # no DOTALL: everything but a line feed, in both engines
        return _complement(((10, 10),))
    if op is C.IN:
        spans, negate = [], False
        for item_op, item in av:
            if item_op is C.NEGATE:
                negate = True
            elif item_op is C.LITERAL:
                spans.append((item, item))
            elif item_op is C.RANGE:
                spans.append(item)
            else:
                raise _Refused
        merged = _merge(spans)
        return _complement(merged) if negate else merged
    raise _Refused


# An element: (characters, min, max) for a repeated set; None for a zero-width anchor.
Element = tuple[Intervals, int, int] | None


def _elements(tree: Any, out: list[tuple[Element, Any]]) -> None:
    for op, av in tree:
        if op is C.AT:
            if av not in _ANCHORS:
                raise _Refused
            out.append((None, av))
        elif op is C.SUBPATTERN:
            _group, add_flags, del_flags, sub = av
            if add_flags or del_flags:
                raise _Refused
            _elements(sub, out)
        elif op is C.MAX_REPEAT or op is C.MIN_REPEAT:
            low, high, sub = av
            items = list(sub)
            if len(items) != 1:
                raise _Refused
            out.append(((_charset(*items[0]), low, high), None))
        else:
            out.append(((_charset(op, av), 1, 1), None))


def _follow_disjoint(elements: list[Element]) -> bool:
    for i, element in enumerate(elements):
        if element is None or element[1] == element[2]:
            continue
        for later in elements[i + 1 :]:
            if later is None:
                continue
            if not _disjoint(element[0], later[0]):
                return False
            if later[1] >= 1:
                break
    return True


def _starts_bounded(elements: list[Element], anchors: list[Any]) -> bool:
    if anchors[0] in _STARTS:
        return True
    first = elements[0]
    if first is None or first[1] < 1:
        return False
    unbounded = [e for e in elements if e is not None and e[2] == C.MAXREPEAT]
    if not all(_disjoint(first[0], e[0]) for e in unbounded):
        return False
    bounded = sum(e[2] for e in elements if e is not None and e[2] != C.MAXREPEAT)
    return (bounded + 1) * len(elements) <= MAX_WORK


def is_linear(pattern: str) -> bool:
    """True if `pattern` is in the subset the module docstring describes (compiling in `regex`
    is checked by the caller)."""
    if any(token in pattern for token in _SET_TOKENS):
        return False
    try:
        tree = P.parse(pattern)
        if tree.state.flags & ~C.SRE_FLAG_UNICODE:
            return False
        pairs: list[tuple[Element, Any]] = []
        _elements(tree, pairs)
    except (_Refused, re.error, RecursionError, OverflowError, ValueError, Warning):
        return False
    elements = [element for element, _anchor in pairs]
    anchors = [anchor for _element, anchor in pairs]
    if not elements or not any(e is not None and e[1] >= 1 for e in elements):
        return False  # can match the empty string
    return _follow_disjoint(elements) and _starts_bounded(elements, anchors)


@functools.lru_cache(maxsize=256)
def linear_re(pattern: str) -> re.Pattern[str] | None:
    """The `re` compilation of a pattern `is_linear` accepts, else None. The caller has
    compiled it with `regex` first (an invalid pattern is never accepted here)."""
    if not is_linear(pattern):
        return None
    try:
        return re.compile(pattern)
    except (re.error, RecursionError, OverflowError, ValueError):
        return None
