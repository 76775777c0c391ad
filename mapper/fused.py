"""Fuse a rule's value tree into one generated Python function (the fast path).

The generated function builds the whole payload in straight-line code, calling each compiled
expression once. It never reports problems itself: on any exception, or a required value that
is null, it returns FALLBACK and the interpreter evaluates the rule field by field, which
locates the diagnostics. Fusion therefore never changes what a mapping produces, only how fast
(tests/test_fused.py checks both paths give the same results).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from mapper.functions.registry import MapperFunctions
from mapper.functions.timestamps import epoch_ms_of
from mapper.model import OBJECT_TYPES
from mapper.model.common import MAX_PRINCIPALS, AccessControl
from mapper.model.fastcheck import (
    TRUSTED_WITH_LITERALS,
    Given,
    Unsupported,
    Writer,
    built_model,
    checked_value,
    emit_object_from,
    model_of,
    trusts,
    trusts_call,
)
from mapper.plan import ValueNode

FALLBACK = object()
_EMPTY: tuple[object, ...] = ("", [], {})

Fused = Callable[[Any], Any]


def _emit_node(w: Writer, node: ValueNode, indent: int) -> str:
    """Emit code computing `node`; returns the variable holding its value (or None)."""
    target = w.name("v")
    kind = node.kind
    if kind == "const":
        w.emit(indent, f"{target} = {w.name('c', node.const, bind=True)}")
    elif kind == "expr":
        fn = w.name("e", node.exprs[0].evaluate, bind=True) if node.exprs else None
        w.emit(indent, f"{target} = {fn}(item)" if fn else f"{target} = None")
    elif kind == "coalesce":
        _emit_coalesce(w, node, target, indent)
    elif kind == "list":
        _emit_list(w, node, target, indent)
    else:
        _emit_object(w, node, target, indent)
    _emit_policy(w, node, target, indent)
    return target


def _emit_coalesce(w: Writer, node: ValueNode, target: str, indent: int) -> None:
    w.emit(indent, f"{target} = None")
    for expr in node.exprs:
        fn = w.name("e", expr.evaluate, bind=True)
        w.emit(indent, f"if {target} is None:")
        w.emit(indent + 1, f"{target} = {fn}(item)")


def _emit_list(w: Writer, node: ValueNode, target: str, indent: int) -> None:
    w.emit(indent, f"{target} = []")
    for _, child in node.children:
        value = _emit_node(w, child, indent)
        w.emit(indent, f"if {value} is not None:")
        w.emit(indent + 1, f"{target}.append({value})")


def _emit_object(w: Writer, node: ValueNode, target: str, indent: int) -> None:
    w.emit(indent, f"{target} = {{}}")
    for key, child in node.children:
        value = _emit_node(w, child, indent)
        w.emit(indent, f"if {value} is not None:")
        w.emit(indent + 1, f"{target}[{key!r}] = {value}")
    w.emit(indent, f"if not {target}:")
    w.emit(indent + 1, f"{target} = None")


def _emit_policy(w: Writer, node: ValueNode, target: str, indent: int) -> None:
    if node.omit_empty:
        w.emit(indent, f"if {target} is not None and {target} in EMPTY:")
        w.emit(indent + 1, f"{target} = None")
    if node.has_default:
        w.emit(indent, f"if {target} is None:")
        w.emit(indent + 1, f"{target} = {w.name('d', node.default, bind=True)}")
    elif node.required:
        w.emit(indent, f"if {target} is None:")
        w.emit(indent + 1, "return FALLBACK")


def _writer() -> Writer:
    w = Writer()
    w.env.update(FALLBACK=FALLBACK, EMPTY=_EMPTY, epoch_ms_of=epoch_ms_of)
    return w


def _define(w: Writer, label: str) -> Fused:
    source = "\n".join(w.lines)
    namespace = dict(w.env)
    exec(compile(source, f"<mapper-{label}>", "exec"), namespace)
    fn: Fused = namespace["fused"]
    fn.__mapper_source__ = source  # type: ignore[attr-defined]
    return fn


def fuse(root: ValueNode) -> Fused:
    """One function `item -> payload dict | None | FALLBACK` for a rule's whole value tree."""
    w = _writer()
    w.emit(0, "def fused(item):")
    w.emit(1, "try:")
    result = _emit_node(w, root, 2)
    w.emit(1, "except Exception:")
    w.emit(2, "return FALLBACK")
    w.emit(1, f"return {result}")
    return _define(w, "fused-rule")


def fuse_checked(root: ValueNode, type_name: str, derive_usn: bool) -> Fused | None:
    """One function `item -> (checked payload, warnings) | FALLBACK`: `fuse` plus validation.

    It evaluates the object's values into variables and checks them in place
    (`fastcheck.emit_object_from`): no intermediate payload dict is built or read back, nested
    objects written field by field in the mapping are built in place too, and values from
    functions whose results need no check (`fastcheck.TRUSTED_RESULTS`) are taken as they are.
    FALLBACK means "take the usual path" (`fuse`, then `check_object`), which gives the same
    result whenever this one gives any; None when the rule cannot be compiled this way.
    """
    if root.kind != "object" or type_name not in OBJECT_TYPES:
        return None
    w = _writer()
    w.emit(0, "def fused(item):")
    w.emit(1, "try:")
    given = _given(w, root, model_of(type_name), 2)
    last = given.get("lastUpdatedAt")
    if derive_usn and "updateSequenceNumber" not in given and last is not None and last.var:
        usn = w.fresh("u")
        w.emit(2, f"{usn} = epoch_ms_of({last.var})")
        given["updateSequenceNumber"] = Given(usn)
    w.emit(2, "warns = []")
    try:
        out = emit_object_from(w, type_name, given, 2)
    except (Unsupported, KeyError):
        return None
    w.emit(2, f"return {out}, warns")
    w.emit(1, "except Exception:")
    w.emit(2, "return FALLBACK")
    return _define(w, "checked-rule")


def _given(w: Writer, node: ValueNode, model: type[BaseModel], indent: int) -> dict[str, Given]:
    """Emit the evaluation of an object node's children; say how each value is given."""
    names = {info.alias or name: name for name, info in model.model_fields.items()}
    out: dict[str, Given] = {}
    for key, child in node.children:
        name = names.get(str(key))
        info = model.model_fields[name] if name is not None else None
        nested = built_model(info) if info is not None and child.kind == "object" else None
        if nested is not None and not child.has_default and not child.omit_empty:
            out[str(key)] = Given(fields=_given(w, child, nested, indent), required=child.required)
            continue
        constant = _constant(child, model, name) if name is not None else None
        if constant is not None:  # evaluated and checked once, here; rebuilt from its literal
            var = w.fresh("k")
            w.emit(indent, f"{var} = {constant}")
            out[str(key)] = Given(var, trusted=True)
            continue
        var = _emit_node(w, child, indent)
        trusted = name is not None and _trusted(child, model, name)
        guard = PRINCIPALS_GUARD if trusted and _function_name(child) == "permissions" else ""
        out[str(key)] = Given(var, trusted=trusted, guard=guard)
    return out


_SAMPLE_FUNCTIONS = MapperFunctions()  # to call pure functions while compiling


def _trusted(node: ValueNode, model: type[BaseModel], field: str) -> bool:
    """True when the node's value needs no check: a function whose results are always valid."""
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


CONTEXT_FUNCTIONS = frozenset({"record", "source", "lookup"})  # their results vary per record
_CONSTANT_NODES = frozenset({"literal", "function_expression", "multi_select_list",
                             "multi_select_dict", "key_val_pair"})  # fmt: skip


def _constant(node: ValueNode, model: type[BaseModel], field: str) -> str | None:
    """A Python literal of the node's checked value when it is the same for every record."""
    if node.kind != "expr" or node.has_default or node.omit_empty or len(node.exprs) != 1:
        return None
    expr = node.exprs[0]
    if not _is_constant(expr.ast):
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


def _is_constant(ast: Any) -> bool:
    """True when an expression reads nothing from the record (literals and pure functions)."""
    if not isinstance(ast, dict) or ast.get("type") not in _CONSTANT_NODES:
        return False
    if ast.get("type") == "function_expression" and ast.get("value") in CONTEXT_FUNCTIONS:
        return False
    return all(_is_constant(child) for child in ast.get("children", ()))


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
