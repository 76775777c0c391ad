"""Language stage, compile step: one field value (any form in the README) -> ValueNode.

A plain string, `expr:`, `coalesce:`, `const:`, `use:`, a list or an object literal becomes a
node of the rule's value tree, its expressions compiled by `expressions.compile_expr` and its
`use:` definitions followed (loops reported).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from mapper.errors import Diagnostic, Loc
from mapper.language.expression_checks import suggest_name
from mapper.language.expressions import Ctx, compile_expr
from mapper.language.plan import NodeKind, ValueNode
from mapper.language.sourcemap import SourceMap
from mapper.language.spec import CoalesceField, ConstField, ExprField, UseField


def compile_object(
    ctx: Ctx,
    fields: dict[str, Any],
    loc: Loc,
    smap: SourceMap,
    required: frozenset[str] = frozenset(),
    *,
    defaults_from: dict[str, Any] | None = None,
) -> ValueNode:
    children = []
    for key, value in fields.items():
        is_default = defaults_from is not None and key not in defaults_from
        where = ("defaults", key) if is_default else (*loc, key)
        child = compile_value(ctx, value, where, smap, required=key in required)
        children.append((key, child))
    return ValueNode("object", loc, smap.span(loc), children=tuple(children))


def compile_value(
    ctx: Ctx, value: Any, loc: Loc, smap: SourceMap, *, required: bool = False
) -> ValueNode:
    """Compile one field value (any of the forms in the README) into a ValueNode."""
    span = smap.span(loc)
    if isinstance(value, str):
        return _expr_node(ctx, [value], loc, smap, "expr", required=required)
    if isinstance(value, ConstField):
        return ValueNode("const", loc, span, const=value.const, required=required)
    if isinstance(value, ExprField):
        return _policy(_expr_node(ctx, [value.expr], (*loc, "expr"), smap, "expr"), value, required)
    if isinstance(value, CoalesceField):
        exprs_loc = (*loc, "coalesce")
        node = _expr_node(ctx, value.coalesce, exprs_loc, smap, "coalesce")
        return _policy(node, value, required)
    if isinstance(value, UseField):
        return _policy(_use(ctx, value.use, (*loc, "use"), smap), value, required)
    if isinstance(value, list):
        items = tuple((i, compile_value(ctx, v, (*loc, i), smap)) for i, v in enumerate(value))
        return ValueNode("list", loc, span, children=items, required=required)
    if isinstance(value, dict):
        return replace(compile_object(ctx, value, loc, smap), required=required)
    return ValueNode("const", loc, span, const=value, required=required)


def _expr_node(
    ctx: Ctx,
    texts: list[str],
    loc: Loc,
    smap: SourceMap,
    kind: NodeKind,
    *,
    required: bool = False,
) -> ValueNode:
    many = kind == "coalesce"
    compiled = [compile_expr(ctx, t, (*loc, i) if many else loc, smap) for i, t in enumerate(texts)]
    exprs = tuple(c for c in compiled if c is not None)
    node_loc = loc[:-1] if loc and loc[-1] in ("expr", "coalesce") else loc
    return ValueNode(
        kind,
        node_loc,
        smap.span(node_loc),
        exprs=exprs,
        required=required,
    )


def _policy(
    node: ValueNode, spec: ExprField | CoalesceField | UseField, required: bool
) -> ValueNode:
    has_default = "default" in spec.model_fields_set
    is_required = spec.required if spec.required is not None else (required and not has_default)
    return replace(
        node,
        required=is_required,
        has_default=has_default or node.has_default,
        default=spec.default if has_default else node.default,
        omit_empty=spec.omit_empty or node.omit_empty,
    )


def _use(ctx: Ctx, name: str, loc: Loc, smap: SourceMap) -> ValueNode:
    defines = ctx.mapping.defines
    if name not in defines:
        ctx.diags.append(
            smap.locate(
                Diagnostic(
                    "spec.unknown-define",
                    f"no `define:` entry named {name!r}",
                    loc=loc,
                    hint=suggest_name(name, defines),
                )
            )
        )
        return ValueNode("const", loc[:-1], smap.span(loc))
    if name in ctx.use_stack:
        chain = " -> ".join((*ctx.use_stack, name))
        ctx.diags.append(
            smap.locate(Diagnostic("spec.define-cycle", f"definitions loop: {chain}", loc=loc))
        )
        return ValueNode("const", loc[:-1], smap.span(loc))
    value, dsmap, dloc = defines[name]
    ctx.use_stack = (*ctx.use_stack, name)
    try:
        node = compile_value(ctx, value, dloc, dsmap)
    finally:
        ctx.use_stack = ctx.use_stack[:-1]
    return replace(node, origin=name)
