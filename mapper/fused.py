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

from mapper.functions.timestamps import epoch_ms_of
from mapper.model.fastcheck import Unsupported, Writer, emit_object_from
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

    It builds the object's top-level values into variables and checks them in place
    (`fastcheck.emit_object_from`), so no intermediate payload dict is built or read back.
    FALLBACK means "take the usual path" (`fuse`, then `check_object`), which gives the same
    result when this one gives any; None when the rule cannot be compiled this way.
    """
    if root.kind != "object":
        return None
    w = _writer()
    w.emit(0, "def fused(item):")
    w.emit(1, "try:")
    values = {str(key): _emit_node(w, child, 2) for key, child in root.children}
    if derive_usn and "updateSequenceNumber" not in values and "lastUpdatedAt" in values:
        values["updateSequenceNumber"] = usn = w.fresh("u")
        w.emit(2, f"{usn} = epoch_ms_of({values['lastUpdatedAt']})")
    w.emit(2, "warns = []")
    try:
        out = emit_object_from(w, type_name, values, 2)
    except (Unsupported, KeyError):
        return None
    w.emit(2, f"return {out}, warns")
    w.emit(1, "except Exception:")
    w.emit(2, "return FALLBACK")
    return _define(w, "checked-rule")
