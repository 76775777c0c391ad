"""Run-time support for generated code: slow paths, expref objects and inlined built-ins.

Every helper reproduces one step of jmespath 1.1.0's ``TreeInterpreter`` / ``Functions`` exactly
(same results, same exceptions); the generated code only calls them off its fast paths.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import jmespath.visitor as _jv
from jmespath import exceptions as _jexc
from jmespath import functions as _jf

NOVALUES = object()  # `_values` sentinel: the value has no .values()
_TYPES_MAP = _jf.TYPES_MAP  # python type name -> jmespath type name (as Functions uses it)


class _Expression(_jv._Expression):  # the class *name* is what jmespath's type checks look at
    """An ``&expr`` value: ``expref.visit(expref.expression, value)`` runs the compiled code."""

    def __init__(self, expression: Any, fn: Callable[[Any], Any], functions: Any) -> None:
        super().__init__(expression, _jv.TreeInterpreter(_jv.Options(custom_functions=functions)))
        self.fn = fn

    def visit(self, node: Any, *args: Any, **kwargs: Any) -> Any:
        if node is self.expression and len(args) == 1 and not kwargs:
            return self.fn(args[0])
        return self.interpreter.visit(node, *args, **kwargs)


Expression = _Expression


def path(value: Any, keys: tuple[Any, ...]) -> Any:
    """Field lookups a.b.c off the dict fast path (jmespath: ``.get`` or null)."""
    for key in keys:
        try:
            value = value.get(key)
        except AttributeError:
            return None
    return value


def index(value: Any, i: Any) -> Any:
    if not isinstance(value, list):
        return None
    try:
        return value[i]
    except IndexError:
        return None


def slice_(value: Any, s: slice) -> Any:
    return value[s] if isinstance(value, list) else None


def values(value: Any) -> Any:
    try:
        return value.values()
    except AttributeError:
        return NOVALUES


def is_true(value: Any) -> bool:
    """jmespath truthiness (TreeInterpreter._is_true)."""
    return not (value == "" or value == [] or value == {} or value is None or value is False)


def not_(value: Any) -> bool:
    """jmespath's ``!`` (TreeInterpreter.visit_not_expression)."""
    if _jv._is_actual_number(value) and value == 0:  # type: ignore[attr-defined]
        return False
    return not value


def unknown_node(node_type: Any) -> Any:
    raise NotImplementedError(node_type)


def to_string(arg: Any) -> Any:
    """Functions._func_to_string with the common scalar cases short-circuited."""
    t = type(arg)
    if t is int:
        return int.__repr__(arg)  # what json.dumps writes for an int
    if t is float and math.isfinite(arg):
        return float.__repr__(arg)
    if arg is None:
        return "null"
    if isinstance(arg, str):
        return arg
    return json.dumps(arg, separators=(",", ":"), default=str)


def subtypes_ok(groups: list[frozenset[type]], value: list[Any]) -> bool:
    """Fast acceptance for 'array-number'/'array-string' style checks (first element decides).

    False means "not sure": the caller then runs jmespath's own check.
    """
    if not value:
        return True
    first = type(value[0])
    for group in groups:
        if first in group:
            return all(type(x) in group for x in value)
    return False


_FAST_KEYS = {  # key types accepted at a glance, by allowed jmespath types
    ("number",): frozenset({int, float}),
    ("string",): frozenset({str}),
    ("number", "string"): frozenset({int, float, str}),
}


def _key_func(fn: Callable[[Any], Any], allowed: list[str], name: str) -> Callable[[Any], Any]:
    """Functions._create_key_func over a compiled expression."""
    fast = _FAST_KEYS.get(tuple(allowed), frozenset())

    def keyfunc(x: Any) -> Any:
        result = fn(x)
        if type(result) not in fast:
            jtype = _TYPES_MAP.get(type(result).__name__, "unknown")
            if jtype not in allowed:
                raise _jexc.JMESPathTypeError(name, result, jtype, allowed)
        return result

    return keyfunc


def sort_by(array: Any, fn: Callable[[Any], Any]) -> Any:
    """Functions._func_sort_by (arguments already type-checked)."""
    if not array:
        return array
    required = _TYPES_MAP.get(type(fn(array[0])).__name__, "unknown")
    if required not in ["number", "string"]:
        raise _jexc.JMESPathTypeError("sort_by", array[0], required, ["string", "number"])
    return sorted(array, key=_key_func(fn, [required], "sort_by"))


def min_by(array: Any, fn: Callable[[Any], Any]) -> Any:
    keyfunc = _key_func(fn, ["number", "string"], "min_by")
    return min(array, key=keyfunc) if array else None


def max_by(array: Any, fn: Callable[[Any], Any]) -> Any:
    keyfunc = _key_func(fn, ["number", "string"], "max_by")
    return max(array, key=keyfunc) if array else None


def map_(fn: Callable[[Any], Any], array: Any) -> list[Any]:
    return [fn(element) for element in array]


# Stock functions whose body is reproduced inline (or by a helper above) once the arguments have
# passed the stock checks. Keys: function name -> template over argument atoms a[0], a[1]...
# `{f}` is the compiled function of an &expr argument (for the *_by functions and map).
INLINE: dict[str, Callable[[list[str]], str]] = {
    "length": lambda a: f"len({a[0]})",
    "abs": lambda a: f"abs({a[0]})",
    "sum": lambda a: f"sum({a[0]})",
    "avg": lambda a: f"(sum({a[0]}) / len({a[0]}) if {a[0]} else None)",
    "max": lambda a: f"(max({a[0]}) if {a[0]} else None)",
    "min": lambda a: f"(min({a[0]}) if {a[0]} else None)",
    "sort": lambda a: f"sorted({a[0]})",
    "ceil": lambda a: f"_ceil({a[0]})",
    "floor": lambda a: f"_floor({a[0]})",
    "not_null": lambda a: "(" + " ".join(f"{x} if {x} is not None else" for x in a) + " None)",
    "starts_with": lambda a: f"{a[0]}.startswith({a[1]})",
    "ends_with": lambda a: f"{a[0]}.endswith({a[1]})",
    "contains": lambda a: f"({a[1]} in {a[0]})",
    "to_array": lambda a: f"({a[0]} if isinstance({a[0]}, list) else [{a[0]}])",
    "to_string": lambda a: f"({a[0]} if type({a[0]}) is str else _to_string({a[0]}))",
    "keys": lambda a: f"list({a[0]}.keys())",
    "values": lambda a: f"list({a[0]}.values())",
    "join": lambda a: f"{a[0]}.join({a[1]})",
    "reverse": lambda a: f"({a[0]}[::-1] if isinstance({a[0]}, str) else list(reversed({a[0]})))",
}
# name -> (helper name, position of the &expr argument)
INLINE_EXPREF: dict[str, tuple[str, int]] = {
    "sort_by": ("_sort_by", 1),
    "min_by": ("_min_by", 1),
    "max_by": ("_max_by", 1),
    "map": ("_map", 0),
}
# Functions methods the *_by helpers stand in for: inline only while they are stock.
KEY_METHODS = ("_create_key_func", "_convert_to_jmespath_type")

HELPERS: dict[str, Any] = {
    "_path": path,
    "_index": index,
    "_slice": slice_,
    "_values": values,
    "_NOVALUES": NOVALUES,
    "_jtrue": is_true,
    "_not": not_,
    "_equals": _jv._equals,  # type: ignore[attr-defined]
    "_cmpok": _jv._is_comparable,  # type: ignore[attr-defined]
    "_unknown": unknown_node,
    "_to_string": to_string,
    "_sort_by": sort_by,
    "_min_by": min_by,
    "_max_by": max_by,
    "_map": map_,
    "_ceil": math.ceil,
    "_floor": math.floor,
    # types for which Python truthiness (and `not`) is exactly jmespath's
    "_PYT": frozenset({str, list, dict, bool, type(None)}),
    "_NS": frozenset({int, float, str}),  # comparable (jmespath's _is_comparable) at a glance
}
