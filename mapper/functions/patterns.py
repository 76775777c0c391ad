"""Pattern functions: regex_* (the `regex` package, with a time limit) and jira_keys().

Regexes come from mapping authors, so a catastrophic pattern such as `(a+)+$` must not hang a
run: every match runs with a timeout (`REGEX_TIMEOUT_S`, read when a `MapperFunctions` is
created, overridable per instance) with the garbage collector paused (a collection must not
count as matching time), and a subject longer than `REGEX_MAX_INPUT` characters is the error
`function.regex-input-too-long`. Compiling is bounded too: at most `REGEX_MAX_PATTERN`
characters, and counted repeats (`{n}`) whose nested product is at most `REGEX_MAX_REPEAT` (the
regex package expands them when it compiles: `(?:(?:a{1000}){1000}){1000}` would take minutes
and gigabytes). Compiled patterns, and patterns that failed to compile, are cached (256 most
recent), so a bad pattern costs once per run, not once per record.

A pattern that is provably linear and means the same in both engines (`mapper.functions.linear`
says which: literals, classes of literals and ranges, `.`, anchors, quantifiers on single
characters with disjoint followers, ...) runs on the standard `re` engine instead, without the
time limit it cannot need: about 3 us per call instead of 13. Results are identical
(tests/test_linear_patterns.py compares the two engines on random and adversarial texts).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from jmespath.functions import signature

from mapper.errors import EvalError
from mapper.functions.arguments import STRING, STRING_OR_NULL, optional_args, repeated_args
from mapper.functions.linear import linear_re

if TYPE_CHECKING:
    import regex  # imported when a pattern is first compiled: it costs start-up time

REGEX_TIMEOUT_S = 0.1
REGEX_MAX_INPUT = 100_000  # characters
REGEX_MAX_PATTERN = 1_000  # characters
REGEX_MAX_REPEAT = 100_000  # atoms once counted repeats are expanded: (?:a{100}){1000}
JIRA_KEYS_MAX_INPUT = 100_000  # characters scanned per string

# A Jira issue key: project key (upper-case letter, then upper-case letters, digits or `_`),
# `-`, number. Not preceded or followed by a letter or digit (`_`, `/`, `-` are boundaries).
# The project part is bounded so a long run of key characters cannot make the scan quadratic.
_JIRA_KEY = re.compile(r"[A-Z](?<![^\W_].)[A-Z0-9_]{1,255}-[0-9]++(?![^\W_])")
"""A key not preceded or followed by a letter or digit. The look-behind comes after the first
letter (and looks at it and the character before it): a pattern that starts with a character
set lets `re` skip to where a key can start, nearly twice as fast as `(?<![^\\W_])[A-Z]...`
(tests/test_fastpaths.py holds the two to the same matches)."""


def compile_pattern(pattern: str) -> regex.Pattern[str]:
    """Compile once; an invalid or too costly pattern raises EvalError(function.regex-invalid),
    every time it is asked for (the failure is cached as well)."""
    compiled = _compiled(pattern)
    if isinstance(compiled, EvalError):
        raise EvalError(compiled.code, compiled.message)
    return compiled


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> regex.Pattern[str] | EvalError:
    if len(pattern) > REGEX_MAX_PATTERN:
        return EvalError(
            "function.regex-invalid", f"regex pattern longer than {REGEX_MAX_PATTERN} characters"
        )
    cost = repeat_cost(pattern)
    if cost > REGEX_MAX_REPEAT:
        return EvalError(
            "function.regex-invalid",
            f"regex {pattern!r} repeats {cost:,} times in all (counted repeats such as {{1000}}, "
            f"nested, multiply); at most {REGEX_MAX_REPEAT:,}",
        )
    import regex

    try:
        return regex.compile(pattern)
    except (regex.error, ValueError, OverflowError, RecursionError, MemoryError) as err:
        return EvalError("function.regex-invalid", f"invalid regex {pattern!r}: {err}")


_COUNTED = re.compile(r"\{(\d*)(?:,(\d*))?\}")


def repeat_cost(pattern: str) -> int:
    """How many atoms `pattern` stands for once its counted repeats are expanded, as the regex
    package does when it compiles (`(?:ab){10}` is 20, `(?:a{10}){20}` is 200)."""
    stack, last, i = [0], 1, 0
    while i < len(pattern):
        char = pattern[i]
        counted = _COUNTED.match(pattern, i) if char == "{" else None
        step = 1
        if counted is not None and any(counted.groups()):
            times = max(int(n) for n in counted.groups() if n)
            stack[-1] += last * (times - 1)
            last, step = last * times, counted.end() - i
        elif char == "(":
            stack.append(0)
        elif char == ")" and len(stack) > 1:
            last = max(stack.pop(), 1)
            stack[-1] += last
        elif char in "*+?|":
            pass  # repeated at run time, not expanded when compiling
        else:
            end = i + 2 if char == "\\" else _class_end(pattern, i) if char == "[" else i + 1
            last, step = 1, end - i
            stack[-1] += 1
        i += step
    return sum(stack)


def _class_end(pattern: str, start: int) -> int:
    """The index after the `]` closing the character class that starts at `start`."""
    i = start + 1
    if i < len(pattern) and pattern[i] == "^":
        i += 1
    if i < len(pattern) and pattern[i] == "]":
        i += 1
    while i < len(pattern) and pattern[i] != "]":
        i += 2 if pattern[i] == "\\" else 1
    return i + 1


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No garbage collection during a timed match: its pause would count against the timeout
    and reject a record for nothing. A match allocates little; collection resumes right after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _too_long(name: str, text: str) -> EvalError:
    return EvalError(
        "function.regex-input-too-long",
        f"{name}() reads at most {REGEX_MAX_INPUT:,} characters; this text has {len(text):,}",
    )


def _group_of(pattern: regex.Pattern[str], group: float | str | None) -> int | str:
    """The group to return: the given one, else 1 if the pattern has groups, else 0."""
    if group is None:
        return 1 if pattern.groups else 0
    if isinstance(group, float) and group.is_integer():
        group = int(group)
    if isinstance(group, str) and group in pattern.groupindex:
        return group
    if isinstance(group, int) and 0 <= group <= pattern.groups:
        return group
    raise EvalError("function.regex-invalid", f"the regex has no group {group!r}")


def _timeout_error(pattern: str) -> EvalError:
    return EvalError(
        "function.regex-timeout",
        f"regex {pattern!r} ran longer than the time limit; simplify the pattern",
    )


def _iter_strings(value: object) -> Iterator[str]:
    """The strings in `value` and its nested arrays, in order (iterative: any depth is fine)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, list):
            stack.extend(reversed(item))


def find_jira_keys(*values: object) -> list[str]:
    """Distinct Jira issue keys in strings or (nested) arrays of strings, in order of appearance."""
    if len(values) == 1 and type(values[0]) is str:  # the usual case: one message or title
        return list(dict.fromkeys(_JIRA_KEY.findall(values[0], 0, JIRA_KEYS_MAX_INPUT)))
    seen: dict[str, None] = {}
    for text in (s for value in values for s in _iter_strings(value)):
        for match in _JIRA_KEY.finditer(text, 0, JIRA_KEYS_MAX_INPUT):
            seen.setdefault(match.group())
    return list(seen)


class PatternFunctions:
    """regex_test(), regex_extract(), regex_find_all(), regex_replace(), jira_keys()."""

    regex_timeout_s: float

    def _search(self, text: str, pattern: str) -> regex.Match[str] | re.Match[str] | None:
        compiled = compile_pattern(pattern)
        fast = linear_re(pattern)
        if fast is not None:
            return fast.search(text)
        try:
            with _collector_paused():
                return compiled.search(text, timeout=self.regex_timeout_s)
        except TimeoutError as err:
            raise _timeout_error(pattern) from err

    @signature({"types": STRING_OR_NULL}, {"types": STRING})
    def _func_regex_test(self, text: str | None, pattern: str) -> bool | None:
        """True if the regex matches anywhere in the string (anchor with `^`/`$`).

        Useful in filters: `commits[?!regex_test(message, '^Merge ')]`.

        Limits: text up to 100,000 characters (longer is function.regex-input-too-long), 0.1 s
        per match (function.regex-timeout), patterns up to 1,000 characters whose counted
        repeats expand to at most 100,000 atoms (function.regex-invalid).

        Signature: regex_test(text: string|null, pattern: string) -> boolean|null

        Examples:
            regex_test('Merge pull request #7', '^Merge ') => true
            regex_test('fix(ui): button', '(?i)^FIX') => true
            regex_test('docs', '^Merge ') => false
            regex_test(missing, 'x') => null
        """
        if text is None:
            return None
        if len(text) > REGEX_MAX_INPUT:
            raise _too_long('regex_test', text)
        return self._search(text, pattern) is not None

    @signature({"types": STRING_OR_NULL}, {"types": STRING, "variadic": True})
    @optional_args(["number", "string"])
    def _func_regex_extract(
        self, text: str | None, pattern: str, group: float | str | None = None
    ) -> str | None:
        """The first match of a regex: by default group 1 if the pattern has groups, else the match.

        `group` may be a number (0 = whole match) or a group name. Null if nothing matches or the
        group did not take part in the match; an unknown group is function.regex-invalid.

        Limits: text up to 100,000 characters (longer is function.regex-input-too-long), 0.1 s
        per match (function.regex-timeout), patterns up to 1,000 characters whose counted
        repeats expand to at most 100,000 atoms (function.regex-invalid).

        Signature: regex_extract(text: string|null, pattern: string, group?: number|string)
            -> string|null

        Examples:
            regex_extract('refs/heads/feature/BB-2', '^refs/heads/(.+)$') => "feature/BB-2"
            regex_extract('v1.2.3', '\\d+\\.\\d+') => "1.2"
            regex_extract('v1.2.3', '(\\d+)\\.(\\d+)', `2`) => "2"
            regex_extract('id=42', 'id=(?P<id>\\d+)', 'id') => "42"
            regex_extract('none', '\\d+') => null
        """
        if text is None:
            return None
        if len(text) > REGEX_MAX_INPUT:
            raise _too_long('regex_extract', text)
        chosen = _group_of(compile_pattern(pattern), group)
        match = self._search(text, pattern)
        return None if match is None else match.group(chosen)

    @signature({"types": STRING_OR_NULL}, {"types": STRING})
    def _func_regex_find_all(self, text: str | None, pattern: str) -> list[str] | None:
        """Every non-overlapping match: group 1 if the pattern has groups, else the whole match.

        Matches in which group 1 did not take part are left out.

        Limits: text up to 100,000 characters (longer is function.regex-input-too-long), 0.1 s
        per match (function.regex-timeout), patterns up to 1,000 characters whose counted
        repeats expand to at most 100,000 atoms (function.regex-invalid).

        Signature: regex_find_all(text: string|null, pattern: string) -> array|null

        Examples:
            regex_find_all('#12 and #7', '#(\\d+)') => ["12", "7"]
            regex_find_all('a1b22', '\\d+') => ["1", "22"]
            regex_find_all('none', '\\d') => []
        """
        if text is None:
            return None
        if len(text) > REGEX_MAX_INPUT:
            raise _too_long('regex_find_all', text)
        compiled = compile_pattern(pattern)
        group = 1 if compiled.groups else 0
        fast = linear_re(pattern)
        if fast is not None:
            found = [m.group(group) for m in fast.finditer(text)]
        else:
            try:
                with _collector_paused():
                    matches = compiled.finditer(text, timeout=self.regex_timeout_s)
                    found = [m.group(group) for m in matches]
            except TimeoutError as err:
                raise _timeout_error(pattern) from err
        return [item for item in found if item is not None]

    @signature({"types": STRING_OR_NULL}, {"types": STRING}, {"types": STRING})
    def _func_regex_replace(self, text: str | None, pattern: str, replacement: str) -> str | None:
        r"""Replace every match of a regex; `\1` or `\g<name>` in the replacement insert groups.

        Limits: text up to 100,000 characters (longer is function.regex-input-too-long), 0.1 s
        per match (function.regex-timeout), patterns up to 1,000 characters whose counted
        repeats expand to at most 100,000 atoms (function.regex-invalid).

        Signature: regex_replace(text: string|null, pattern: string, replacement: string)
            -> string|null

        Examples:
            regex_replace(`"a  b\t c"`, '\s+', ' ') => "a b c"
            regex_replace('2024-05-01', '(\d+)-(\d+)-(\d+)', '\3.\2.\1') => "01.05.2024"
            regex_replace(missing, 'a', 'b') => null
        """
        if text is None:
            return None
        if len(text) > REGEX_MAX_INPUT:
            raise _too_long('regex_replace', text)
        compiled = compile_pattern(pattern)
        fast = linear_re(pattern) if "\\" not in replacement else None
        if fast is not None:  # no group references: the replacement is literal in both engines
            return fast.sub(replacement, text)
        import regex

        try:
            with _collector_paused():
                return compiled.sub(replacement, text, timeout=self.regex_timeout_s)
        except TimeoutError as err:
            raise _timeout_error(pattern) from err
        except (regex.error, IndexError) as err:  # a bad group reference in the replacement
            raise EvalError("function.regex-invalid", f"invalid replacement: {err}") from err

    @signature({"types": ["string", "array", "null"], "variadic": True})
    @repeated_args(["string", "array", "null"])
    def _func_jira_keys(self, *values: str | list[object] | None) -> list[str]:
        """Distinct Jira issue keys found in strings or arrays of strings, in order of appearance.

        A key is `[A-Z][A-Z0-9_]+-[0-9]+` not preceded or followed by a letter or digit, so
        `feature/BB-2`, `ABC-12-fix-login` and `(ABC-1)` match but `xABC-1` and `ABC-1x` don't.
        Keys are upper case (as in Jira); `upper()` a lower-case branch name first if needed.
        Non-string array items are ignored; each string is scanned up to 100,000 characters.
        Look-alikes such as `UTF-8` are found too.

        Signature: jira_keys(values...: string|array|null) -> array

        Examples:
            jira_keys('ABC-1: fix login', 'feature/BB-2', 'bugfix/ABC-12-fix-login')
                => ["ABC-1", "BB-2", "ABC-12"]
            jira_keys(commits[].message) | data: {"commits": [{"message": "MAP-7 MAP-7 DEV_2-9"}]}
                => ["MAP-7", "DEV_2-9"]
            jira_keys('xABC-1 ABC-1x A-1 abc-1') => []
            jira_keys(missing) => []
        """
        return find_jira_keys(*values)
