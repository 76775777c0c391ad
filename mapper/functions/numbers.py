"""Built-ins made forgiving for real data: max(), min(), sum() read numeric strings and skip
nulls; join() skips nulls and writes numbers and booleans as text.

Sources give numbers as text (Slack's `created: "1620000000"`, CSV exports) and lists with
holes; jmespath's own versions raise a type error for both, which fails the whole field.
"""

from __future__ import annotations

import math
import re
from typing import Any

from jmespath.exceptions import JMESPathTypeError
from jmespath.functions import signature

from mapper.errors import EvalError
from mapper.functions.arguments import ARRAY_OR_NULL, STRING, as_text

_NUMBER_TEXT = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*", re.ASCII)


def as_number(value: object) -> int | float | None:
    """A number from a number or a numeric string ("42", " 1.5 ", "1e3"); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str) and _NUMBER_TEXT.fullmatch(value):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            number = float(text)
            return number if number == number and abs(number) != float("inf") else None
    return None


def _numbers(name: str, values: list[Any]) -> list[int | float] | None:
    """The non-null elements as numbers, or None when one of them is not a number nor
    numeric text (then the stock behaviour applies)."""
    out = []
    for value in values:
        if value is None:
            continue
        number = as_number(value)
        if number is None:
            return None
        out.append(number)
    return out


def _element_error(name: str, value: Any, expected: list[str]) -> JMESPathTypeError:
    """A type error about one element of the array, worded as jmespath's own ("got an array
    holding an object: {...}")."""
    return JMESPathTypeError(name, value, type(value).__name__, expected)


class NumberFunctions:
    """max(), min(), sum(), join(), forgiving versions of jmespath's built-ins."""

    @signature({"types": ARRAY_OR_NULL})
    def _func_max(self, values: list[Any] | None) -> Any:
        """The largest element; numeric strings count as numbers and nulls are skipped.

        When every non-null element is a number or numeric text, the result is the largest
        number (as a number); otherwise, as in JMESPath, strings are compared as strings and
        a mix of types is a type error. An empty array or null gives null.

        Signature: max(values: array|null) -> number|string|null

        Examples:
            max(`[1, 3, 2]`) => 3
            max(`["1620000000", 1610000000]`) => 1620000000
            max(`["b", "a"]`) => "b"
            max(`[null, "2.5", 1]`) => 2.5
            max(missing) => null
        """
        return self._extreme("max", values, max)

    @signature({"types": ARRAY_OR_NULL})
    def _func_min(self, values: list[Any] | None) -> Any:
        """The smallest element; numeric strings count as numbers and nulls are skipped.

        As max(): numbers and numeric text compare as numbers, other strings as strings.

        Signature: min(values: array|null) -> number|string|null

        Examples:
            min(`[3, 1, 2]`) => 1
            min(`["1620000000", "999"]`) => 999
            min(`["b", "a"]`) => "a"
            min(`[]`) => null
        """
        return self._extreme("min", values, min)

    def _extreme(self, name: str, values: list[Any] | None, pick: Any) -> Any:
        if values is None:
            return None
        numbers = _numbers(name, values)
        if numbers is not None:
            return pick(numbers) if numbers else None
        kept = [v for v in values if v is not None]
        if all(isinstance(v, str) for v in kept):
            return pick(kept) if kept else None
        # a value neither number nor text, else the text that is no number beside numbers
        odd = [v for v in kept if not isinstance(v, str) and as_number(v) is None]
        bad = odd[0] if odd else next(v for v in kept if as_number(v) is None)
        raise _element_error(name, bad, ["array-number", "array-string"])

    @signature({"types": ARRAY_OR_NULL})
    def _func_sum(self, values: list[Any] | None) -> Any:
        """The sum of the elements; numeric strings count as numbers and nulls are skipped.

        Signature: sum(values: array|null) -> number|null

        Examples:
            sum(`[1, 2, 3]`) => 6
            sum(`["1", 2, null]`) => 3
            sum(`[]`) => 0
            sum(missing) => null
        """
        if values is None:
            return None
        numbers = _numbers("sum", values)
        if numbers is None:
            bad = next(v for v in values if v is not None and as_number(v) is None)
            raise _element_error("sum", bad, ["array-number"])
        total = sum(numbers)
        if isinstance(total, float) and not math.isfinite(total):  # (two numbers near 1.8e308)
            message = "sum() went beyond the largest number JSON can hold"
            raise EvalError("function.number-out-of-range", message)
        return total

    @signature({"types": STRING}, {"types": ARRAY_OR_NULL})
    def _func_join(self, glue: str, values: list[Any] | None) -> str | None:
        """The elements joined with `glue`; nulls are skipped, numbers and booleans written as
        text; null when the array is null (so that `join('', x) || 'default'` works).

        Objects and arrays among the elements are a type error.

        Signature: join(glue: string, values: array|null) -> string|null

        Examples:
            join(', ', `["a", "b"]`) => "a, b"
            join(', ', `["a", null, "c"]`) => "a, c"
            join('-', `["v", 2, true]`) => "v-2-true"
            join('', missing) => null
            join('', missing) || 'Untitled' => "Untitled"
        """
        if values is None:
            return None
        parts = []
        for value in values:
            if value is None:
                continue
            text = as_text(value)
            if text is None:
                raise _element_error("join", value, ["array-string"])
            parts.append(text)
        return glue.join(parts)
