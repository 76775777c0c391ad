"""Language stage, compile step: loaded mapping -> Plan, every rule assembled and checked.

Compilation never stops at the first problem: it returns the plan (when there are no errors)
and every diagnostic it found, each with the mapping location and file:line:col. The parts
live beside it: `expressions` (one expression), `values` (one field value), `macros`
(`${}` expansion), `limits` (the size bounds), `constants` (values the same for every record).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from mapper.errors import Diagnostic, Loc
from mapper.functions import MapperFunctions
from mapper.language.assembly import LoadedMapping, load_mapping
from mapper.language.constants import constant_problems
from mapper.language.expressions import Ctx, FastPaths, compile_expr
from mapper.language.limits import MAX_RULES
from mapper.language.plan import (
    CompiledExpr,
    EachStep,
    LookupTable,
    ObjectRule,
    Param,
    Plan,
    ValueNode,
)
from mapper.language.rule_checks import check_identity_rule, check_rule, required_keys
from mapper.language.sourcemap import SourceMap
from mapper.language.spec import IdentitySpec, ParamSpec
from mapper.language.values import compile_object
from mapper.model import OBJECT_TYPES
from mapper.model.identity import GROUP, IDENTITY_KINDS, USER, required_names
from mapper.model.introspect import required_keys_at
from mapper.paths import projection_base

AUTO_DEFAULTS: dict[str, Any] = {"schemaVersion": "1.0"}  # project decision §8.2


def compile_mapping_file(path: Path) -> tuple[Plan | None, list[Diagnostic]]:
    """Load and compile one mapping file (a connector's, a server route's); its errors only,
    located in it. The plan is None when the file is missing, unreadable or invalid."""
    loaded, found = load_mapping(path)
    plan = None
    if loaded is not None:
        plan, more = compile_mapping(loaded)
        found += more
    return plan, [d for d in found if d.is_error]


def compile_mapping(
    loaded: LoadedMapping, *, fast_paths: FastPaths | None = None
) -> tuple[Plan | None, list[Diagnostic]]:
    """Compile a loaded mapping; the plan is None when any error was found.

    Args:
        loaded: the mapping as the loader read it.
        fast_paths: makes each rule's generated functions (`engine.fusion.fast_paths`);
            without it, rules are evaluated field by field.
    """
    spec = loaded.spec
    if len(spec.objects) > MAX_RULES:
        message = f"the mapping has {len(spec.objects):,} rules; at most {MAX_RULES:,} are allowed"
        span = loaded.smap.span(("objects",), prefer_key=True)
        too_many = Diagnostic("spec.too-many-rules", message, loc=("objects",), span=span)
        return None, [*loaded.left_out, too_many]
    ctx = Ctx(
        loaded,
        MapperFunctions(),
        frozenset(spec.lookups),
        frozenset(spec.params),
        fast_paths=fast_paths,
    )
    ctx.diags.extend(loaded.left_out)  # (errors: no plan, but every other problem is found)
    params = tuple(_compile_param(name, p, loaded.smap) for name, p in spec.params.items())
    ctx.functions.params = {p.name: p.default for p in params if not p.required}
    records = _optional_expr(ctx, spec.records, ("records",), loaded.smap)
    cursor = _optional_expr(ctx, spec.cursor, ("cursor",), loaded.smap)
    lookups = tuple(_compile_lookup(ctx, name) for name in spec.lookups)
    rules = tuple(_compile_rule(ctx, i) for i in range(len(spec.objects)))
    rules += tuple(_compile_identity(ctx, USER, i, r) for i, r in enumerate(spec.users))
    rules += tuple(_compile_identity(ctx, GROUP, i, r) for i, r in enumerate(spec.groups))
    ctx.diags.extend(_duplicate_rule_names(loaded))
    if not (spec.objects or spec.users or spec.groups):
        ctx.diags.append(
            Diagnostic(
                "spec.no-objects",
                "the mapping has no `objects:`, `users:` or `groups:` rules",
                span=loaded.smap.span(()),
            )
        )
    errors = [d for d in ctx.diags if d.is_error]
    warnings = tuple(d for d in ctx.diags if not d.is_error)
    if errors:
        return None, ctx.diags
    plan = Plan(
        loaded.path,
        spec.name or loaded.path,
        tuple(r for r in rules if r),
        records,
        lookups,
        ctx.functions,
        warnings,
        strict=spec.strict,
        params=params,
        replicates_permissions=bool(spec.replicates_permissions),
        cursor=cursor,
        includes=loaded.includes,
    )
    return plan, ctx.diags


def _duplicate_rule_names(loaded: LoadedMapping) -> Iterator[Diagnostic]:
    """Two rules with one `name:` share their lines in the report (filtered counts add up)."""
    first: dict[str, int] = {}
    for index, rule in enumerate(loaded.spec.objects):
        if rule.name is None:
            continue
        seen = first.setdefault(rule.name, index)
        if seen != index:
            loc = ("objects", index, "name")
            yield Diagnostic(
                "spec.duplicate-rule-name",
                f"rule name {rule.name!r} is also the name of objects[{seen}]",
                loc=loc,
                span=loaded.smap.span(loc),
                severity="warning",
                hint="give each rule its own name: the report counts per rule name",
            )


def _compile_param(name: str, spec: ParamSpec, smap: SourceMap) -> Param:
    required = "default" not in spec.model_fields_set
    return Param(
        name, spec.type, spec.description, spec.default, required, smap.span(("params", name))
    )


def compile_standalone(
    text: str,
    functions: MapperFunctions,
    name: str,
    *,
    plan: Plan | None = None,
) -> tuple[CompiledExpr | None, list[Diagnostic]]:
    """Compile an expression given outside a mapping (e.g. `--records items[]`); with `plan`,
    its lookups and parameters are checked as in the mapping."""
    if plan is None:
        ctx = Ctx(None, functions, frozenset())
    else:
        lookups = frozenset(t.name for t in plan.lookups)
        ctx = Ctx(None, functions, lookups, frozenset(p.name for p in plan.params))
    expr = compile_expr(ctx, text, (name,), SourceMap(name))
    return expr, ctx.diags


def _optional_expr(ctx: Ctx, text: str | None, loc: Loc, smap: SourceMap) -> CompiledExpr | None:
    return None if text is None else compile_expr(ctx, text, loc, smap)


def _compile_lookup(ctx: Ctx, name: str) -> LookupTable:
    spec = ctx.mapping.spec.lookups[name]
    smap = ctx.mapping.smap
    key = compile_expr(ctx, spec.key, ("lookups", name, "key"), smap)
    records = _optional_expr(ctx, spec.records, ("lookups", name, "records"), smap)
    assert key is not None or any(d.is_error for d in ctx.diags)
    return LookupTable(name, spec.file, key, records, smap.span(("lookups", name)))  # type: ignore[arg-type]


def _compile_rule(ctx: Ctx, index: int) -> ObjectRule | None:
    spec = ctx.mapping.spec.objects[index]
    smap = ctx.mapping.smap
    loc: Loc = ("objects", index)
    found = list(check_rule(spec.type, spec.fields, set(ctx.mapping.spec.defaults)))
    ctx.diags.extend(smap.locate(d.within(*loc), prefer_key=True) for d in found)
    fields = dict(spec.fields)
    for key, value in ctx.mapping.spec.defaults.items():
        fields.setdefault(key, value)
    required = required_keys(spec.type)
    node = compile_object(ctx, fields, (*loc, "fields"), smap, required, defaults_from=spec.fields)
    each = _compile_each(ctx, spec.each, (*loc, "each"), smap)
    where = _optional_expr(ctx, spec.where, (*loc, "where"), smap)
    node = _with_auto_defaults(node, fields)
    if spec.type in OBJECT_TYPES:
        node = _mark_needed(node, spec.type, ())
    ctx.diags.extend(constant_problems(spec.type, node))
    name = spec.name or f"{spec.type.removeprefix('atlassian:')}#{index}"
    derive_usn = "updateSequenceNumber" not in fields
    fused, checked = (
        ctx.fast_paths(node, spec.type, derive_usn, ctx.functions)
        if ctx.fast_paths
        else (None, None)
    )
    return ObjectRule(
        name,
        spec.type,
        index,
        node,
        each,
        where,
        loc,
        smap.span(loc),
        derive_usn=derive_usn,
        together=spec.together if spec.together is not None else ctx.mapping.spec.together,
        fused=fused,
        checked=checked,
    )


def _compile_identity(ctx: Ctx, kind: str, index: int, spec: IdentitySpec) -> ObjectRule:
    """A `users:` / `groups:` rule: an ObjectRule whose type is the identity kind (`user`,
    `group`), evaluated like an object rule and validated by `model.identity`."""
    smap = ctx.mapping.smap
    loc: Loc = (IDENTITY_KINDS[kind].rules_key, index)
    found = check_identity_rule(kind, spec.fields)
    ctx.diags.extend(smap.locate(d.within(*loc), prefer_key=True) for d in found)
    required = required_names(kind)
    node = compile_object(ctx, dict(spec.fields), (*loc, "fields"), smap, required)
    each = _compile_each(ctx, spec.each, (*loc, "each"), smap)
    where = _optional_expr(ctx, spec.where, (*loc, "where"), smap)
    name = spec.name or f"{kind}#{index}"
    fused, checked = (
        ctx.fast_paths(node, kind, False, ctx.functions) if ctx.fast_paths else (None, None)
    )
    return ObjectRule(
        name, kind, index, node, each, where, loc, smap.span(loc), derive_usn=False,
        fused=fused, checked=checked,
    )  # fmt: skip


def _mark_needed(node: ValueNode, type_name: str, path: tuple[str | int, ...]) -> ValueNode:
    """Mark the keys the object model requires inside the object literals of a rule (the type
    block, a thumbnail): an optional-looking key there is not optional."""
    if node.kind != "object":
        return node
    required = required_keys_at(type_name, path) or frozenset()
    children = tuple(
        (
            key,
            replace(
                _mark_needed(child, type_name, (*path, key)),
                needed=child.needed or (bool(path) and key in required),
            ),
        )
        for key, child in node.children
    )
    return replace(node, children=children)


def _with_auto_defaults(node: ValueNode, fields: dict[str, Any]) -> ValueNode:
    extra = tuple(
        (k, ValueNode("const", node.loc, node.span, const=v))
        for k, v in AUTO_DEFAULTS.items()
        if k not in fields
    )
    return replace(node, children=extra + node.children) if extra else node


def _compile_each(ctx: Ctx, text: str | None, loc: Loc, smap: SourceMap) -> EachStep | None:
    expr = _optional_expr(ctx, text, loc, smap)
    if expr is None:
        return None
    return EachStep(expr, projection_base(expr.ast))
