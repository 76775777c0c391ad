"""Language stage, check step: function calls whose constant arguments fail, and where they are.

A call with a constant regex pattern or `format` template that is invalid fails whatever the
record holds. `failing_calls` finds them (shared by the `expr.invalid-argument` check and the
`expr.or-not-recovered` lint, so the two agree), with the columns of the call and of the
argument inside the expression text for the caret.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mapper.errors import EvalError

_STRINGS = re.compile(r"'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`|\"(?:[^\"\\]|\\.)*\"")
_OPENING, _CLOSING = "([{", ")]}"


def mask_strings(text: str) -> str:
    """`text` with the inside of its string and JSON literals blanked (same length)."""
    return _STRINGS.sub(
        lambda m: m.group(0)[0] + " " * (len(m.group(0)) - 2) + m.group(0)[-1], text
    )


def call_column(masked_text: str, name: str, occurrence: int) -> int | None:
    """The column of the `occurrence`-th call of `name` in (masked) expression text."""
    found = list(re.finditer(rf"(?<![\w]){re.escape(name)}\s*\(", masked_text))
    return found[occurrence].start() if occurrence < len(found) else None


def argument_column(masked_text: str, call_col: int, index: int) -> int | None:
    """The column where argument `index` of the call written at `call_col` starts."""
    start = masked_text.find("(", call_col) + 1
    if start <= 0:
        return None
    depth, arg = 0, 0
    for col in range(start, len(masked_text)):
        char = masked_text[col]
        if arg == index and depth == 0 and not char.isspace():
            return col
        if char in _OPENING:
            depth += 1
        elif char in _CLOSING:
            if depth == 0:
                return None
            depth -= 1
        elif char == "," and depth == 0:
            arg += 1
    return None


def always_fails(name: str, args: list[Any]) -> tuple[int, str] | None:
    """Why a call with these (parsed) arguments raises a function error whatever the record
    holds (a constant regex or format template that is invalid): (the argument's index, the
    reason); else None."""

    def literal(i: int) -> str | None:
        arg = args[i] if i < len(args) else None
        if isinstance(arg, Mapping) and arg.get("type") == "literal":
            value = arg.get("value")
            return value if isinstance(value, str) else None
        return None

    try:
        if name.startswith("regex_") and (pattern := literal(1)) is not None:
            from mapper.functions.patterns import compile_pattern

            compile_pattern(pattern)
        elif name == "format" and (template := literal(0)) is not None:
            from mapper.functions.text import render_template

            render_template(template, ["x"] * (len(args) - 1))
    except EvalError as err:
        return (1 if name.startswith("regex_") else 0), f"{err.code}: {err.message}"
    return None


def fix_hint(name: str) -> str:
    """How to fix the constant argument of a call that always fails."""
    if name.startswith("regex_"):
        return "fix the pattern"
    return "fix the template (`{{` and `}}` are literal braces; one argument per `{}`)"


@dataclass(frozen=True, slots=True)
class FailingCall:
    """A call whose constant argument always fails, and where it is written."""

    node: Mapping[str, Any]
    name: str
    call_col: int | None
    argument_col: int | None
    reason: str


def failing_calls(text: str, calls: Iterable[Mapping[str, Any]]) -> Iterator[FailingCall]:
    """The calls among `calls` (all of the expression's, in text order, as the columns are
    counted) whose constant regex pattern or format template always fails."""
    masked, seen = mask_strings(text), dict[str, int]()
    for call in calls:
        name = str(call["value"])
        occurrence = seen[name] = seen.get(name, -1) + 1
        failure = always_fails(name, list(call.get("children", ())))
        if failure is None:
            continue
        at = call_column(masked, name, occurrence)
        index, reason = failure
        column = argument_column(masked, at, index) if at is not None else None
        yield FailingCall(call, name, at, column, reason)
