"""Fuse a rule's value tree into one generated Python function (the fast path).

The generated function builds the whole payload in straight-line code, calling each compiled
expression once. It never reports problems itself: on any exception, or a required value that
is null, it returns FALLBACK and the interpreter evaluates the rule field by field, which
locates the diagnostics. Fusion therefore never changes what a mapping produces, only how fast
(tests/test_fused.py checks both paths give the same results).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from pydantic import BaseModel

from mapper.engine.fallback import FALLBACK
from mapper.engine.guarantees import constant_literal, trust
from mapper.functions.timestamps import epoch_ms_of
from mapper.language.plan import EMPTY, CompiledExpr, ValueNode
from mapper.model import OBJECT_TYPES
from mapper.model.codewriter import Writer
from mapper.model.fastcheck import Given, Unsupported, built_model, emit_object_from, model_of
from mapper.model.identity import IDENTITY_KINDS

Fused = Callable[[Any], Any]


def _emit_node(w: Writer, node: ValueNode, indent: int) -> str:
    """Emit code computing `node`; returns the variable holding its value (or None)."""
    target = w.name("v")
    kind = node.kind
    if kind == "const":
        w.emit(indent, f"{target} = {w.name('c', node.const, bind=True)}")
    elif kind == "expr":
        value = _emit_call(w, node.exprs[0], indent) if node.exprs else "None"
        w.emit(indent, f"{target} = {value}")
    elif kind == "coalesce":
        _emit_coalesce(w, node, target, indent)
    elif kind == "list":
        _emit_list(w, node, target, indent)
    else:
        _emit_object(w, node, target, indent)
    _emit_policy(w, node, target, indent)
    return target


def _emit_call(w: Writer, expr: CompiledExpr, indent: int) -> str:
    """The code of one expression's value. In a checked rule (`w.seen` is a dict), an
    expression text seen before is not evaluated again: its raw value is kept in a variable
    (a `define:` used by several fields, `user_ref(...)` in `createdBy` and `author`), and
    the expression's statements are written into the rule's function (`_inline`) instead of
    a call. Expressions are pure, so this changes nothing but speed; the shared value is the
    same object in both places of the payload, which is only serialised."""
    seen = w.seen
    if seen is None:
        return f"{w.name('e', expr.evaluate, bind=True)}(item)"
    raw = seen.get(expr.text)
    if raw is None:
        raw = seen[expr.text] = w.fresh("x")
        w.emit(indent, f"{raw} = {_inline(w, expr, indent, hoist=True)}")
    return raw


def _inline(w: Writer, expr: CompiledExpr, indent: int, *, hoist: bool) -> str:
    """Emit the statements of `expr` on `item` (the rule's Inliner, `w.inliner`); returns
    the atom holding its value. A call of the compiled function when there is no Inliner
    or no AST. `hoist`: these statements run whenever the rest of the function does (not
    under a condition), so the field paths they read are kept for later expressions.

    Any exception the statements raise makes the rule's function give FALLBACK, whose
    field-by-field path evaluates the expression as compiled: so the statements need only
    agree with it whenever they raise nothing (tests/test_fused.py)."""
    inliner = w.inliner
    if inliner is None or expr.ast is None:
        return f"{w.name('e', expr.evaluate, bind=True)}(item)"
    lines, atom = inliner.inline(expr.ast, "item", indent, hoist)
    assert isinstance(atom, str)
    w.lines.extend(lines)
    return atom


def _emit_coalesce(w: Writer, node: ValueNode, target: str, indent: int) -> None:
    w.emit(indent, f"{target} = None")
    for expr in node.exprs:
        w.emit(indent, f"if {target} is None:")
        w.emit(indent + 1, f"{target} = {_inline(w, expr, indent + 1, hoist=False)}")


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
    w.env.update(FALLBACK=FALLBACK, EMPTY=EMPTY, epoch_ms_of=epoch_ms_of)
    return w


def _define(w: Writer, label: str) -> Fused:
    fn, source = w.define("fused", label)
    fn.__mapper_source__ = source
    return cast(Fused, fn)


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


def fuse_checked(
    root: ValueNode, type_name: str, derive_usn: bool, functions: Any = None
) -> Fused | None:
    """One function `item -> (checked payload, warnings) | FALLBACK`: `fuse` plus validation.

    It evaluates the object's values into variables and checks them in place
    (`fastcheck.emit_object_from`): no intermediate payload dict is built or read back, nested
    objects written field by field in the mapping are built in place too, and values that need
    no check (`mapper.engine.guarantees`: constants, results valid by construction) are taken
    as they are.
    FALLBACK means "take the usual path" (`fuse`, then `check_object`), which gives the same
    result whenever this one gives any; None when the rule cannot be compiled this way.
    """
    if root.kind != "object" or (type_name not in OBJECT_TYPES and type_name not in IDENTITY_KINDS):
        return None
    w = _writer()
    w.seen = {}  # each expression text evaluated once (see _emit_call)
    if functions is not None:  # the expressions' statements written in place (see _inline)
        from mapper.jpcompile import inliner  # (compiling only: a cached plan never loads it)
        from mapper.language.expressions import FORGIVEN

        w.inliner = inliner(functions, FORGIVEN)
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
    if type_name in OBJECT_TYPES:  # the type block is always sent (to_payload)
        w.emit(2, f"if {type_name!r} not in {out}:")
        w.emit(3, f"{out}[{type_name!r}] = {{}}")
    w.emit(2, f"return {out}, warns")
    w.emit(1, "except Exception:")
    w.emit(2, "return FALLBACK")
    if w.inliner is not None:
        w.env.update(w.inliner.namespace())
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
        constant = constant_literal(child, model, name) if name is not None else None
        if constant is not None:  # evaluated and checked once, here; rebuilt from its literal
            var = w.fresh("k")
            w.emit(indent, f"{var} = {constant}")
            out[str(key)] = Given(var, trusted=True)
            continue
        var = _emit_node(w, child, indent)
        trusted, guard = trust(child, model, name) if name is not None else (False, "")
        out[str(key)] = Given(var, trusted=trusted, guard=guard)
    return out


def fast_paths(
    root: ValueNode, type_name: str, derive_usn: bool, functions: Any
) -> tuple[Fused, Fused | None]:
    """A rule's generated functions, for `language.compiler.compile_mapping(fast_paths=...)`;
    `functions`: those the rule's expressions were compiled with."""
    return fuse(root), fuse_checked(root, type_name, derive_usn, functions)
