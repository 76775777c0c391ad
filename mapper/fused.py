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

from mapper.plan import ValueNode

FALLBACK = object()
_EMPTY: tuple[object, ...] = ("", [], {})

Fused = Callable[[Any], Any]


class _Writer:
    """Accumulates generated source lines and the constants they refer to."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.env: dict[str, Any] = {"FALLBACK": FALLBACK, "EMPTY": _EMPTY}
        self.count = 0

    def name(self, prefix: str, value: Any = None, *, bind: bool = False) -> str:
        self.count += 1
        ident = f"{prefix}{self.count}"
        if bind:
            self.env[ident] = value
        return ident

    def emit(self, indent: int, text: str) -> None:
        self.lines.append("    " * indent + text)


def _emit_node(w: _Writer, node: ValueNode, indent: int) -> str:
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


def _emit_coalesce(w: _Writer, node: ValueNode, target: str, indent: int) -> None:
    w.emit(indent, f"{target} = None")
    for expr in node.exprs:
        fn = w.name("e", expr.evaluate, bind=True)
        w.emit(indent, f"if {target} is None:")
        w.emit(indent + 1, f"{target} = {fn}(item)")


def _emit_list(w: _Writer, node: ValueNode, target: str, indent: int) -> None:
    w.emit(indent, f"{target} = []")
    for _, child in node.children:
        value = _emit_node(w, child, indent)
        w.emit(indent, f"if {value} is not None:")
        w.emit(indent + 1, f"{target}.append({value})")


def _emit_object(w: _Writer, node: ValueNode, target: str, indent: int) -> None:
    w.emit(indent, f"{target} = {{}}")
    for key, child in node.children:
        value = _emit_node(w, child, indent)
        w.emit(indent, f"if {value} is not None:")
        w.emit(indent + 1, f"{target}[{key!r}] = {value}")
    w.emit(indent, f"if not {target}:")
    w.emit(indent + 1, f"{target} = None")


def _emit_policy(w: _Writer, node: ValueNode, target: str, indent: int) -> None:
    if node.omit_empty:
        w.emit(indent, f"if {target} is not None and {target} in EMPTY:")
        w.emit(indent + 1, f"{target} = None")
    if node.has_default:
        w.emit(indent, f"if {target} is None:")
        w.emit(indent + 1, f"{target} = {w.name('d', node.default, bind=True)}")
    elif node.required:
        w.emit(indent, f"if {target} is None:")
        w.emit(indent + 1, "return FALLBACK")


def fuse(root: ValueNode) -> Fused:
    """One function `item -> payload dict | None | FALLBACK` for a rule's whole value tree."""
    w = _Writer()
    w.emit(0, "def fused(item):")
    w.emit(1, "try:")
    result = _emit_node(w, root, 2)
    w.emit(1, "except Exception:")
    w.emit(2, "return FALLBACK")
    w.emit(1, f"return {result}")
    source = "\n".join(w.lines)
    namespace = dict(w.env)
    exec(compile(source, "<mapper-fused-rule>", "exec"), namespace)
    fn: Fused = namespace["fused"]
    fn.__mapper_source__ = source  # type: ignore[attr-defined]
    return fn
