"""Argument types of the custom functions, and checks of the arguments jmespath leaves unchecked.

jmespath's `@signature` can say "this last argument may repeat" (`variadic`) but type-checks only
the first of the repeated arguments and has no notion of optional arguments. `@optional_args`
and `@repeated_args` wrap a `_func_*` method so that every argument past the signature is checked
too, and the wrapper (not jmespath's `call_function`) does it, so callers that call the function
table directly, like `mapper.jpcompile`, get the same checks.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, TypeVar

from jmespath import exceptions, functions

Types = list[str]
Method = TypeVar("Method", bound=Callable[..., Any])

ANY: Types = []
STRING: Types = ["string"]
STRING_OR_NULL: Types = ["string", "null"]
NUMBER: Types = ["number"]
TEXTUAL: Types = ["string", "number", "null"]  # a value that reads as text: ids, URL parts
ARRAY_OR_NULL: Types = ["array", "null"]
IDS: Types = ["array", "string", "number", "null"]  # one id or an array of ids
PRINCIPALS: Types = ["array", "object", "null"]

OPTIONAL_TYPES = "optional_types"  # attribute of a wrapped method: types of optional arguments
REPEATED_TYPES = "repeated_types"  # attribute of a wrapped method: types of repeated arguments


def type_name(value: object) -> str:
    """The JMESPath type name of a Python value (`string`, `number`, `array`, ...)."""
    return functions.TYPES_MAP.get(type(value).__name__, "unknown")


def type_error(function_name: str, value: object, expected: Types) -> exceptions.JMESPathTypeError:
    """The error jmespath itself raises when an argument has the wrong type."""
    return exceptions.JMESPathTypeError(function_name, value, type_name(value), expected)


def check_type(function_name: str, value: object, expected: Types) -> None:
    """Raise a JMESPathTypeError unless `value` has one of the `expected` JMESPath types."""
    if expected and type_name(value) not in expected:
        raise type_error(function_name, value, expected)


_JSON_TYPES: tuple[type, ...] = (str, int, float, bool, list, dict, type(None))


def _accepted(expected: Types | None) -> frozenset[type] | None:
    """The Python types of JSON values whose JMESPath type is in `expected`; None: anything."""
    if not expected:
        return None
    return frozenset(t for t in _JSON_TYPES if functions.TYPES_MAP.get(t.__name__) in expected)


def _extras(optional: tuple[Types, ...], repeated: Types | None) -> Callable[[Method], Method]:
    limit = None if repeated is not None else len(optional)
    accepted = [_accepted(types) for types in optional]
    accepted_repeated = _accepted(repeated)

    def check_extras(name: str, fixed: int, args: tuple[Any, ...]) -> None:
        if limit is not None and len(args) > fixed + limit:
            raise exceptions.ArityError(fixed + limit, len(args), name)
        for extra, value in enumerate(args[fixed:]):
            allowed = accepted[extra] if extra < len(accepted) else accepted_repeated
            if allowed is not None and type(value) not in allowed:  # a rare type: ask jmespath
                expected = optional[extra] if extra < len(optional) else repeated or []
                check_type(name, value, expected)

    def wrap(method: Method) -> Method:
        name = method.__name__.removeprefix("_func_")
        # jmespath's @signature is applied after (outside) this wrapper, so the number of fixed
        # arguments is read on first call, from the wrapper's own `signature` attribute
        fixed = -1

        @functools.wraps(method)
        def checked(self: object, *args: Any) -> Any:
            nonlocal fixed
            if fixed < 0:
                fixed = len(getattr(checked, "signature", ()))
            if len(args) > fixed:
                check_extras(name, fixed, args)
            return method(self, *args)

        def extra_types(count: int) -> list[Types] | None:
            """The types of `count` arguments past the signature's; None when too many."""
            if limit is not None and count > limit:
                return None
            return [optional[i] if i < len(optional) else repeated or [] for i in range(count)]

        setattr(checked, OPTIONAL_TYPES, optional)
        setattr(checked, REPEATED_TYPES, repeated)
        checked.extra_types = extra_types  # type: ignore[attr-defined]  # see mapper.jpcompile
        return checked  # type: ignore[return-value]

    return wrap


def optional_args(*types: Types) -> Callable[[Method], Method]:
    """Allow up to len(types) optional arguments, of these types, after the signature's arguments.

    The last `@signature` entry must carry `"variadic": True` (jmespath's way to allow more
    arguments); that entry itself stays required.
    """
    return _extras(tuple(types), None)


def repeated_args(types: Types) -> Callable[[Method], Method]:
    """Allow any number of further arguments, each of one of `types`.

    The last `@signature` entry must carry `"variadic": True`. jmespath checks only that entry's
    own argument, so this wrapper checks the rest.
    """
    return _extras((), types)


def arity_of(method: Callable[..., Any]) -> tuple[int, int | None]:
    """(minimum, maximum) number of arguments of a registered method; None = no maximum."""
    signature = getattr(method, "signature", ())
    if not signature or not signature[-1].get("variadic"):
        return len(signature), len(signature)
    if getattr(method, REPEATED_TYPES, None) is not None:
        return len(signature), None
    optional = getattr(method, OPTIONAL_TYPES, None)
    return len(signature), None if optional is None else len(signature) + len(optional)


_HUGE = 10**100  # a constant: Python computes `10**100` at every evaluation (too big to fold)


def as_text(value: object) -> str | None:
    """A string, number or boolean as text (integral floats without `.0`); None otherwise."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if abs(value) < _HUGE else None  # str() of huge ints is slow/refused
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    return None


def as_id(value: object) -> str | None:
    """A non-blank id from a string or a number (numbers become strings); None otherwise (an
    id of only whitespace is no id: Teamwork Graph would take it as given)."""
    if type(value) is str:  # the usual case
        return value if value and not value.isspace() else None
    if type(value) is int:  # a numeric id: its text is never blank
        return str(value) if abs(value) < _HUGE else None
    if isinstance(value, bool):
        return None
    text = as_text(value)
    return text if text and not text.isspace() else None


def iter_ids(function_name: str, values: object) -> list[str]:
    """Ids from one id or an array of ids: nulls, empty and blank strings skipped, duplicates
    removed.

    Raises:
        JMESPathTypeError: an element is not a string, number or null (e.g. an object given
            where its `.id` was meant).
    """
    if type(values) is str:  # one id
        return [values] if values and not values.isspace() else []
    items = values if isinstance(values, list) else [values]
    for item in items:  # (a loop: cheaper than all() over a generator for a few items)
        if type(item) is not str:
            break
    else:  # the usual case: keys or ids as strings
        return [text for text in dict.fromkeys(items) if text and not text.isspace()]
    seen: dict[str, None] = {}
    for item in items:
        check_type(function_name, item, TEXTUAL)
        text = as_id(item)
        if text is not None:
            seen.setdefault(text)
    return list(seen)
