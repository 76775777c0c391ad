"""Conversions and small array helpers: to_int(), to_str(), coalesce(), compact(), uniq()."""

from __future__ import annotations

import json
import re
from typing import Any

from jmespath.functions import signature

from mapper.functions.arguments import ANY, ARRAY_OR_NULL, as_text, repeated_args

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_INTEGER_TEXT = re.compile(r"[+-]?\d{1,20}(?:\.0*)?", re.ASCII)


def as_int(value: object) -> int | None:
    """A whole number in the signed 64-bit range from a number or a numeric string; else None."""
    number: int | None = None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _INTEGER_TEXT.fullmatch(value.strip()):
        number = int(value.strip().split(".")[0])
    if number is None or not INT64_MIN <= number <= INT64_MAX:
        return None
    return number


def json_key(value: object) -> str:
    """A canonical text of a JSON value, equal for equal values (object key order ignored).

    A value nested too deeply to encode gets a key of its own (it is never merged).
    """
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=repr)
    except RecursionError:
        return f"<deep value {id(value)}>"


class ValueFunctions:
    """to_int(), to_str(), coalesce(), compact(), uniq()."""

    @signature({"types": ANY})
    def _func_to_int(self, value: Any) -> int | None:
        """A whole number from a number or numeric string; null for anything else.

        Accepts ints, integral floats (`42.0`) and strings of digits with optional sign,
        surrounding spaces and a zero fraction (`" 7 "`, `"42.0"`). Never rounds: `1.5`, `"1.5"`,
        `"1e3"`, `"0x1F"`, booleans and values outside the signed 64-bit range give null.

        Signature: to_int(value: any) -> number|null

        Examples:
            to_int('42') => 42
            to_int(' -7 ') => -7
            to_int(`42.0`) => 42
            to_int('1.5') => null
            to_int(`true`) => null
            to_int('12 apples') => null
        """
        return as_int(value)

    @signature({"types": ANY})
    def _func_to_str(self, value: Any) -> str | None:
        """A string from a string, number or boolean; null for null, arrays and objects.

        Integral numbers have no `.0` (`42.0` -> "42"), so numeric ids become clean strings.
        Unlike the built-in to_string() it never JSON-encodes objects.

        Signature: to_str(value: any) -> string|null

        Examples:
            to_str(`42`) => "42"
            to_str(`42.0`) => "42"
            to_str(`1.5`) => "1.5"
            to_str(`false`) => "false"
            to_str('a') => "a"
            to_str(`{"a": 1}`) => null
        """
        return as_text(value)

    @signature({"types": ANY, "variadic": True})
    @repeated_args(ANY)
    def _func_coalesce(self, *values: Any) -> Any:
        """The first argument that is not null.

        Unlike `a || b`, it keeps false, 0, "" and [] (`||` skips every falsy value).

        Signature: coalesce(values...: any) -> any

        Examples:
            coalesce(missing, '', 'x') => ""
            coalesce(missing, `0`) => 0
            coalesce(name, login) | data: {"login": "dana"} => "dana"
            coalesce(missing, other) => null
        """
        return next((value for value in values if value is not None), None)

    @signature({"types": ARRAY_OR_NULL})
    def _func_compact(self, values: list[Any] | None) -> list[Any] | None:
        """The array without its null elements.

        Signature: compact(values: array|null) -> array|null

        Examples:
            compact([a, b, c]) | data: {"a": 1, "c": false} => [1, false]
            compact(missing) => null
        """
        return None if values is None else [value for value in values if value is not None]

    @signature({"types": ARRAY_OR_NULL})
    def _func_uniq(self, values: list[Any] | None) -> list[Any] | None:
        """The array without repeated elements, keeping first occurrences in order.

        Elements are compared as JSON values (objects regardless of key order).

        Signature: uniq(values: array|null) -> array|null

        Examples:
            uniq(`["b", "a", "b"]`) => ["b", "a"]
            uniq(`[{"a": 1, "b": 2}, {"b": 2, "a": 1}, 1]`) => [{"a": 1, "b": 2}, 1]
            uniq(missing) => null
        """
        if values is None:
            return None
        seen: dict[str, Any] = {}
        for value in values:
            seen.setdefault(json_key(value), value)
        return list(seen.values())
