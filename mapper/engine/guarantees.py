"""Which values of a rule need no check per record: constants, and results valid by construction.

`fused.fuse_checked` asks this module about each field of a rule:

* `constant_literal`: a field that reads nothing from the record (literals and pure functions)
  is evaluated and checked once, while compiling; each object gets a fresh copy of the result.
* `trust`: a field whose value comes straight from a function whose results are always valid
  for it (`model.trusted.TRUSTED_RESULTS`, entity keys of a literal type, `permissions` of
  principals from `users`/`groups`/`principal` with a literal type) is taken as it is, after
  at most a cheap guard.

Each claim is tested against the full check: `tests/test_fastcheck.py` (the functions'
contracts) and `tests/test_fused.py` (whole rules, random expressions and records).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from mapper.functions.registry import MapperFunctions
from mapper.language.constants import is_constant
from mapper.language.plan import ValueNode
from mapper.language.reads import CONTEXT_FUNCTIONS
from mapper.model.common import MAX_PRINCIPALS, AccessControl
from mapper.model.fastcheck import checked_value
from mapper.model.trusted import TRUSTED_WITH_LITERALS, trusts, trusts_call

__all__ = ["CONTEXT_FUNCTIONS", "PRINCIPALS_GUARD", "constant_literal", "trust"]

_SAMPLE_FUNCTIONS = MapperFunctions()  # to call pure functions while compiling


def trust(node: ValueNode, model: type[BaseModel], field: str) -> tuple[bool, str]:
    """`(True, guard)` when the node's value needs no check as `model.field`, only `guard`
    (a test of `{v}`, or ""); `(False, "")` otherwise."""
    if not _trusted(node, model, field):
        return False, ""
    return True, PRINCIPALS_GUARD if _function_name(node) == "permissions" else ""


def _trusted(node: ValueNode, model: type[BaseModel], field: str) -> bool:
    """True when the node's value comes from a function whose results are always valid."""
    function = _function_name(node)
    if function is None:
        return False
    if trusts(model, field, function):
        return True
    if function == "permissions":
        return _trusted_permissions(node, model, field)
    if function not in TRUSTED_WITH_LITERALS:
        return False
    args = node.exprs[0].ast.get("children", [])
    literals = [arg.get("value") for arg in args[:-1] if arg.get("type") == "literal"]
    if len(literals) != len(args) - 1:
        return False
    try:
        sample = _SAMPLE_FUNCTIONS.call_function(function, [*literals, "x"])
    except Exception:  # wrong literal types: the usual checks report it per record
        return False
    return trusts_call(model, field, function, literals, sample)


def constant_literal(node: ValueNode, model: type[BaseModel], field: str) -> str | None:
    """A Python literal of the node's checked value when it is the same for every record."""
    if node.kind != "expr" or node.has_default or node.omit_empty or len(node.exprs) != 1:
        return None
    expr = node.exprs[0]
    if not is_constant(expr.ast):
        return None
    try:  # a multi-select gives null on a null item, else the same for any item
        value, on_null = expr.evaluate({}), expr.evaluate(None)
    except Exception:  # an error is reported per record, as usual
        return None
    ok, checked = checked_value(model, field, value)
    if not ok or not _is_plain_json(checked):
        return None
    if on_null is None:
        return f"({checked!r} if item is not None else None)"
    return repr(checked) if on_null == value else None


def _is_plain_json(value: Any) -> bool:
    """True for JSON whose repr() is a Python literal building an equal, fresh value."""
    if isinstance(value, dict):
        return all(type(k) is str and _is_plain_json(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_is_plain_json(v) for v in value)
    return (
        value is None
        or type(value) in (str, int, bool)
        or (type(value) is float and value == value and abs(value) != float("inf"))
    )


# permissions() gives one entry with one access control: only its principal count can be wrong
PRINCIPALS_GUARD = f"len({{v}}[0]['accessControls'][0]['principals']) <= {MAX_PRINCIPALS}"


def _trusted_permissions(node: ValueNode, model: type[BaseModel], field: str) -> bool:
    """`permissions(...)` of principals that are valid whatever the record holds.

    Such a result needs only its principal count checked (PRINCIPALS_GUARD). Anything else it
    could be given either raises (a wrong type) or is skipped (null).
    """
    if field != "permissions" or field not in model.model_fields:
        return False
    args = node.exprs[0].ast.get("children", [])
    return bool(args) and all(_principal_source(arg) for arg in args)


def _principal_source(ast: Any) -> bool:
    """True when every value of `ast`, given to permissions(), is null, raises or is valid."""
    kind = ast.get("type")
    children = ast.get("children", [])
    if kind == "function_expression":
        if ast.get("value") in ("users", "groups"):  # USER/GROUP with non-empty ids, or null
            return True
        return ast.get("value") == "principal" and _valid_principal(children)
    if kind == "multi_select_list":
        return all(_principal_source(child) for child in children)
    if kind == "literal":
        return ast.get("value") is None
    if kind == "or_expression":  # a truthy left side, else the right side
        return _truthy_source(children[0]) and _principal_source(children[1])
    return False  # e.g. `a && b`: a falsy `a` such as {} would reach permissions()


def _truthy_source(ast: Any) -> bool:
    """True when every truthy value of `ast` is fit for permissions()."""
    children = ast.get("children", [])
    if ast.get("type") == "and_expression":  # truthy only as its right side
        return _truthy_source(children[1])
    if ast.get("type") == "or_expression":
        return _truthy_source(children[0]) and _truthy_source(children[1])
    return _principal_source(ast)


def _valid_principal(args: list[Any]) -> bool:
    """principal(<literal type>[, id]): valid for every id when it is for the sample id."""
    if not args or len(args) > 2 or args[0].get("type") != "literal":
        return False
    try:
        sample = _SAMPLE_FUNCTIONS.call_function("principal", [args[0].get("value"), "x"])
    except Exception:
        return False
    if sample is None:
        return True  # never a principal: null is skipped
    ok, checked = checked_value(AccessControl, "principals", [sample])
    return ok and checked == [sample] and list(checked[0]) == list(sample)


def _function_name(node: ValueNode) -> str | None:
    """The function whose result is the node's whole value (no default to stand in for it)."""
    if node.kind != "expr" or node.has_default or len(node.exprs) != 1:
        return None
    ast = node.exprs[0].ast
    if isinstance(ast, dict) and ast.get("type") == "function_expression":
        return str(ast.get("value"))
    return None
