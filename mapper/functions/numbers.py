"""Built-ins made forgiving for real data: max(), min(), sum() read numeric strings and skip
nulls; join() skips nulls and writes numbers and booleans as text.

Sources give numbers as text (Slack's `created: "1620000000"`, CSV exports) and lists with
holes; jmespath's own versions raise a type error for both, which fails the whole field.

avg() and to_number() are jmespath's own, except that they never give infinity or NaN, which
no JSON holds: avg() computes a mean that overflows the plain way exactly, and to_number()
reads text for a number beyond the largest float as `function.number-out-of-range`.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any

from jmespath.exceptions import JMESPathTypeError
from jmespath.functions import Functions, signature

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


_STOCK_TO_NUMBER: Any = vars(Functions)["_func_to_number"]
_BEYOND = "went beyond the largest number JSON can hold"


def _out_of_range(name: str, why: str = _BEYOND) -> EvalError:
    return EvalError("function.number-out-of-range", f"{name}() {why}")


def _exact_mean(values: list[int | float]) -> int | float:
    """The mean of finite numbers worked out exactly (Fractions), then correctly rounded to a
    float; a whole mean beyond the largest float (of huge integers) as an exact integer."""
    mean = sum(map(Fraction, values), Fraction(0)) / len(values)
    try:
        return float(mean)
    except OverflowError:
        if mean.denominator == 1:
            return int(mean)
        raise _out_of_range("avg") from None


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
        try:
            total = sum(numbers)
        except OverflowError:  # an integer beyond the largest float added to a float
            raise _out_of_range("sum") from None
        if isinstance(total, float) and not math.isfinite(total):  # (two numbers near 1.8e308)
            raise _out_of_range("sum")
        return total

    @signature({"types": ["array-number"]})
    def _func_avg(self, values: list[int | float]) -> int | float | None:
        """The mean of the numbers (jmespath's avg()); never infinity: computed exactly when
        the plain sum overflows.

        As the built-in, the elements must be numbers (no numeric strings, no nulls) and an
        empty array gives null. The mean of finite numbers is finite, so `[8.99e307, 8.99e307]`
        gives 8.99e307; a mean of integers beyond the largest float that is whole stays an
        exact integer, one that is not is `function.number-out-of-range`.

        Signature: avg(values: array-number) -> number|null

        Examples:
            avg(`[1, 2, 3, 4]`) => 2.5
            avg(`[8.99e307, 8.99e307]`) => 8.99e307
            avg(`[]`) => null
        """
        if not values:
            return None
        try:
            mean = sum(values) / len(values)
        except OverflowError:  # an integer (or a total of them) beyond the largest float
            mean = math.inf
        return mean if math.isfinite(mean) else _exact_mean(values)

    @signature({"types": []})
    def _func_to_number(self, value: Any) -> Any:
        """A number from a number or a numeric string (jmespath's to_number()); null for
        anything else, `NaN` and `Infinity` too; text for a number beyond the largest float is
        `function.number-out-of-range`.

        Signature: to_number(value: any) -> number|null

        Examples:
            to_number('42') => 42
            to_number('1.5') => 1.5
            to_number(`7`) => 7
            to_number('abc') => null
            to_number('nan') => null
        """
        number = _STOCK_TO_NUMBER(self, value)
        if not isinstance(number, float) or math.isfinite(number) or not isinstance(value, str):
            return number
        if _NUMBER_TEXT.fullmatch(value):  # a JSON number that no float holds ("1e400")
            raise _out_of_range("to_number", "read a number beyond the largest float")
        return None  # "nan", "inf", "-Infinity": no JSON number

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
