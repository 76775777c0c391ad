"""Why a value went wrong, in words: the causes that record diagnostics name.

`null_cause` tells apart a source value that is missing, one that is JSON null, and one that
is present but that a function turned into null; `type_error_message` words a JMESPath type
error with the offending value written as JSON, not as a Python repr.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jmespath.exceptions import JMESPathTypeError

from mapper.errors import format_loc, show_value
from mapper.language.plan import CompiledExpr
from mapper.paths import MISSING as _MISSING
from mapper.paths import follow

# What a function that gives null for a present value could not read (default: nothing said).
_CANNOT_READ = {
    "to_rfc3339": "is not a timestamp it can read",
    "to_epoch_ms": "is not a timestamp it can read",
    "to_epoch_s": "is not a timestamp it can read",
    "to_int": "is not a whole number it can read",
    "to_str": "is not a string, number or boolean",
}
_JSON_TYPES = frozenset({"string", "number", "boolean", "array", "object", "null", "expref"})


def null_cause(
    expr: CompiledExpr | None, data: Any, raw: Any = None, *, failed: bool = False
) -> tuple[str, str]:
    """Why a required value is null, and what to do about it.

    Args:
        expr: The field's only expression (None for constants, objects, lists, coalesce).
        data: What the expression was evaluated against (the record or the `each` item).
        raw: The value before `omit_empty` turned it into null.
        failed: Evaluating the value raised an error, already reported on its own.

    Returns:
        The words after "'field' is required but", e.g. "the expression gave null (missing)"
        or 'to_rfc3339 gave null: "2024-13-45" is not a timestamp it can read', and a hint.
    """
    hint = "map it from another field, or give it a `default:`"
    if failed:
        return "the expression failed (see the error reported with it)", hint
    if raw is not None:  # a value, emptied by omit_empty
        return f"the expression gave {show_value(raw)}, which `omit_empty` treats as null", hint
    if expr is None or expr.path is None:
        return "the expression gave null (missing, null)", hint
    source = follow(data, expr.path, _MISSING)
    call = _function_name(expr.ast)
    part = null_part(expr.path, data)
    named = f": {part}" if part else ""
    if source is _MISSING:
        return f"the expression gave null (missing){named}", hint
    if source is None:
        return f"the expression gave null (null in the record){named}", hint
    if call is None:  # not expected: a plain path to a present value gives that value
        return "the expression gave null (missing, null)", hint
    shown = show_value(source)
    reason = _CANNOT_READ.get(call)
    if reason is None:
        return f"{call} gave null for {shown}", hint
    return f"{call} gave null: {shown} {reason}", (
        f"see `mapper functions {call}` for what it reads, or give the field a `default:`"
    )


def null_part(path: tuple[str | int, ...] | None, data: Any) -> str | None:
    """The shortest part of `path` that is missing or null in `data`, in words.

    `commit.author.date` of `{"commit": {"author": null}}` gives "`commit.author` is null";
    None when the whole path holds a value (or there is no path to follow).
    """
    if not path:
        return None
    for end in range(1, len(path) + 1):
        value = follow(data, path[:end], _MISSING)
        if value is _MISSING or value is None:
            state = "missing" if value is _MISSING else "null"
            return f"`{format_loc(path[:end])}` is {state}"
    return None


def _function_name(ast: Any) -> str | None:
    if isinstance(ast, Mapping) and ast.get("type") == "function_expression":
        return str(ast["value"])
    return None


def error_message(err: Exception) -> str:
    """One line saying what went wrong in an expression; values are written as JSON."""
    if isinstance(err, JMESPathTypeError):
        return type_error_message(err)
    text = str(err)
    return text.splitlines()[0] if text else type(err).__name__


def type_error_message(err: JMESPathTypeError) -> str:
    """E.g. `abs() expects a number, got a boolean: true` (values as JSON, shortened)."""
    expected = _join_types(err.expected_types)
    value = show_value(err.current_value)
    if str(err.actual_type) not in _JSON_TYPES:  # jmespath checked an array element
        got = _article(_json_type(err.current_value))
        return f"{err.function_name}() expects {expected}, got an array holding {got}: {value}"
    if err.current_value is None:
        return f"{err.function_name}() expects {expected}, got null"
    got = _article(_json_type(err.current_value))
    return f"{err.function_name}() expects {expected}, got {got}: {value}"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _article(type_name: str) -> str:
    if type_name == "null":
        return "null"
    if type_name.startswith("array-"):
        return f"an array of {type_name.removeprefix('array-')}s"
    if type_name == "expref":
        return "an expression reference (&field)"
    return f"an {type_name}" if type_name[0] in "aeiou" else f"a {type_name}"


def _join_types(types: Any) -> str:
    names = [_article(str(t)) for t in (types or ())] or ["another type"]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
