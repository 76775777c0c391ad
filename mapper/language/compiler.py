"""Loaded mapping -> Plan: every expression compiled once, every static check run, all located.

Compilation never stops at the first problem: it returns the plan (when there are no errors)
and every diagnostic it found, each with the mapping location and file:line:col.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError, JMESPathTypeError, ParseError

from mapper.errors import Diagnostic, Loc, SourceSpan
from mapper.functions import MapperFunctions
from mapper.jpcompile import compile_ast
from mapper.language import checks
from mapper.language.constants import (
    PLACEHOLDER,
    constant_fields,
    holds_placeholder,
    passes_fast_check,
)
from mapper.language.loader import LoadedMapping, SourceMap, load_mapping
from mapper.language.plan import (
    CompiledExpr,
    EachStep,
    Evaluator,
    LookupTable,
    NodeKind,
    ObjectRule,
    Param,
    Plan,
    ValueNode,
)
from mapper.language.spec import (
    CoalesceField,
    ConstField,
    ExprField,
    IdentitySpec,
    ParamSpec,
    UseField,
)
from mapper.model import OBJECT_TYPES
from mapper.model.identity import GROUP, IDENTITY_KINDS, USER, required_names
from mapper.model.introspect import required_keys_at
from mapper.model.validate import check_object

AUTO_DEFAULTS: dict[str, Any] = {"schemaVersion": "1.0"}  # project decision §8.2
FORGIVEN = (JMESPathTypeError,)
"""Errors of the left side of `a || b` that make `b` the default (README: `||` after errors)."""


@dataclass
class _Ctx:
    """State of one compilation: where definitions live, what was found, what is cached."""

    loaded: LoadedMapping | None  # None for an expression given outside a mapping
    functions: MapperFunctions
    lookup_names: frozenset[str]
    param_names: frozenset[str] | None = None  # None: outside a mapping (no check)
    diags: list[Diagnostic] = field(default_factory=list)
    use_stack: tuple[str, ...] = ()
    parser: Any = field(default_factory=lambda: jmespath.parser.Parser())
    fast_paths: FastPaths | None = None
    nodes: int = 0
    """Expression tree nodes compiled so far (bounded by MAX_MAPPING_NODES)."""

    @property
    def mapping(self) -> LoadedMapping:
        """The mapping being compiled (rules and definitions only exist inside one)."""
        assert self.loaded is not None
        return self.loaded


FastPaths = Callable[[ValueNode, str, bool], tuple[Evaluator | None, Evaluator | None]]
"""Given a rule's value tree, its type and whether updateSequenceNumber is derived: the rule's
fused and checked functions (the engine writes them; the language knows nothing of them)."""



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
        return None, [Diagnostic("spec.too-many-rules", message, loc=("objects",), span=span)]
    ctx = _Ctx(
        loaded,
        MapperFunctions(),
        frozenset(spec.lookups),
        frozenset(spec.params),
        fast_paths=fast_paths,
    )
    params = tuple(_compile_param(name, p, loaded.smap) for name, p in spec.params.items())
    ctx.functions.params = {p.name: p.default for p in params if not p.required}
    records = _optional_expr(ctx, spec.records, ("records",), loaded.smap)
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


def compile_expr(ctx: _Ctx, text: str, loc: Loc, smap: SourceMap) -> CompiledExpr | None:
    """Parse one expression and run the expression checks; None when it does not parse."""
    span = smap.span(loc)
    if "${" in text:
        try:
            expanded = _expand_macros(ctx, text, loc, span, ())
        except _TooLong:
            ctx.diags.append(_too_large(text, loc, span, "with its `${}` definitions expanded "))
            return None
        if expanded is None:
            return None
        text = expanded
    if len(text) > MAX_EXPRESSION_CHARS:
        ctx.diags.append(_too_large(text, loc, span))
        return None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            parsed = ctx.parser.parse(text)
    except ParseError as err:
        ctx.diags.append(_syntax_diag(err, text, loc, span))
        return None
    except (JMESPathError, RecursionError) as err:
        ctx.diags.append(
            Diagnostic("expr.syntax", str(err).splitlines()[0], loc=loc, span=span, expr=text)
        )
        return None
    if caught:  # jmespath still accepts `foo` (an unquoted JSON literal) but deprecates it
        ctx.diags.append(
            Diagnostic(
                "expr.deprecated-literal",
                str(caught[0].message).split(":")[0],
                loc=loc,
                span=span,
                expr=text,
                expr_col=text.find("`") if "`" in text else None,
                severity="warning",
                hint="write text as 'foo' or `\"foo\"`: JSON literals in backticks must be JSON",
            )
        )
    depth, nodes = tree_size(parsed.parsed)
    if depth > MAX_EXPRESSION_DEPTH:
        ctx.diags.append(_too_deep(text, loc, span, depth))
        return None
    ctx.nodes += nodes
    if nodes > MAX_EXPRESSION_NODES or ctx.nodes > MAX_MAPPING_NODES:
        ctx.diags.append(_too_many_nodes(loc, span, nodes, ctx.nodes))
        return None
    try:
        found = list(checks.check_expression(text, parsed.parsed, ctx.lookup_names))
        if ctx.param_names is not None:
            found += checks.check_params(text, parsed.parsed, ctx.param_names)
        evaluate = _evaluator(parsed, ctx.functions)
        path = checks.value_path(parsed.parsed)
    except RecursionError:  # the depth limit keeps this out of reach; never a traceback
        ctx.diags.append(_too_deep(text, loc, span, depth))
        return None
    ctx.diags.extend(replace(d, loc=loc, span=span) for d in found)
    return CompiledExpr(text, evaluate, loc, span, path, parsed.parsed)


MAX_RULES = 1_000
"""Object rules in one mapping (each becomes a generated function)."""
MAX_EXPRESSION_CHARS = 10_000
"""Characters in one expression, `${}` definitions expanded (compiling costs memory in
proportion: about 2,000 bytes per character in the worst case)."""
MAX_EXPRESSION_DEPTH = 100
"""Nesting of one expression's tree (calls in calls, brackets in brackets); every later stage
(checks, code generation, tracing) walks the tree recursively."""
MAX_EXPRESSION_NODES = 500
"""Nodes (names, calls, literals, operators) in one expression's tree: compiling one to Python
costs up to 30 KB of memory each."""
MAX_MAPPING_NODES = 5_000
"""Nodes in all the expressions of a mapping (the largest bundled mapping has 423)."""


def _too_many_nodes(loc: Loc, span: SourceSpan | None, nodes: int, total: int) -> Diagnostic:
    if nodes > MAX_EXPRESSION_NODES:
        message = (
            f"the expression has {nodes:,} parts; at most {MAX_EXPRESSION_NODES:,} are allowed"
        )
    else:
        message = f"the mapping's expressions have more than {MAX_MAPPING_NODES:,} parts in all"
    return Diagnostic("expr.too-large", message, loc=loc, span=span)


class _TooLong(Exception):
    """`${}` expansion went past MAX_EXPRESSION_CHARS."""


def tree_size(node: Any) -> tuple[int, int]:
    """The depth and the number of nodes of a parsed expression tree (without recursion)."""
    deepest, count, stack = 0, 0, [(node, 1)]
    while stack:
        current, depth = stack.pop()
        deepest, count = max(deepest, depth), count + 1
        for child in current.get("children", ()) if isinstance(current, dict) else ():
            if isinstance(child, dict):
                stack.append((child, depth + 1))
    return deepest, count


def _too_large(text: str, loc: Loc, span: SourceSpan | None, how: str = "") -> Diagnostic:
    return Diagnostic(
        "expr.too-large",
        f"the expression {how}is longer than {MAX_EXPRESSION_CHARS:,} characters",
        loc=loc,
        span=span,
        hint="split it into `define:` entries used by several fields, or simplify it",
    )


def _too_deep(text: str, loc: Loc, span: SourceSpan | None, depth: int) -> Diagnostic:
    return Diagnostic(
        "expr.too-deep",
        f"the expression nests {depth} levels deep; at most {MAX_EXPRESSION_DEPTH} are allowed",
        loc=loc,
        span=span,
    )


_MACRO = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_-]*)\}")


def _expand_macros(
    ctx: _Ctx, text: str, loc: Loc, span: SourceSpan | None, stack: tuple[str, ...]
) -> str | None:
    """Replace each `${name}` by the `define:` expression `name`, in parentheses."""
    problems: list[Diagnostic] = []
    grown = [len(text)]

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        inner = _macro_text(ctx, name)
        problem: tuple[str, str, str | None] | None = None
        if name in stack:
            problem = (
                "spec.define-cycle",
                f"definitions loop: {' -> '.join((*stack, name))}",
                None,
            )
        elif inner is None:
            defined = ctx.loaded.defines if ctx.loaded is not None else {}
            known = [k for k in defined if _macro_text(ctx, k) is not None]
            hint = (
                checks.suggest_name(name, known)
                or "`${name}` needs a `define:` entry that is an expression"
            )
            problem = ("spec.unknown-define", f"no `define:` expression named {name!r}", hint)
        if problem is not None:
            problems.append(
                Diagnostic(
                    problem[0],
                    problem[1],
                    loc=loc,
                    span=span,
                    expr=text,
                    expr_col=match.start(),
                    hint=problem[2],
                )
            )
            return "@"
        assert inner is not None
        expanded = _expand_macros(ctx, inner, loc, span, (*stack, name)) if "${" in inner else inner
        piece = f"({expanded if expanded is not None else '@'})"
        grown[0] += len(piece) - len(match.group(0))
        if grown[0] > MAX_EXPRESSION_CHARS:
            raise _TooLong  # `${a}${a}` doubling: stop before the text is built
        return piece

    result = _MACRO.sub(one, text)
    ctx.diags.extend(problems)
    return None if problems else result


def _macro_text(ctx: _Ctx, name: str) -> str | None:
    entry = ctx.loaded.defines.get(name) if ctx.loaded is not None else None
    value = entry[0] if entry else None
    if isinstance(value, ExprField):
        return value.expr
    return value if isinstance(value, str) else None


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
        ctx = _Ctx(None, functions, frozenset())
    else:
        lookups = frozenset(t.name for t in plan.lookups)
        ctx = _Ctx(None, functions, lookups, frozenset(p.name for p in plan.params))
    expr = compile_expr(ctx, text, (name,), SourceMap(name))
    return expr, ctx.diags


def _syntax_diag(err: ParseError, text: str, loc: Loc, span: SourceSpan | None) -> Diagnostic:
    col = err.lex_position if isinstance(err.lex_position, int) else None
    token = err.token_value if err.token_value is not None else ""
    msg = (
        f"invalid expression: {err.msg} near {token!r}"
        if token
        else f"invalid expression: {err.msg}"
    )
    return Diagnostic(
        "expr.syntax",
        msg,
        loc=loc,
        span=span,
        expr=text,
        expr_col=min(col, len(text)) if col is not None else None,
        hint=checks.literal_hint(text, err.token_value),
    )


def _evaluator(parsed: Any, functions: MapperFunctions) -> Callable[[Any], Any]:
    """A Python function generated from the expression's AST (see mapper.jpcompile).

    It gives the same results and errors as jmespath's interpreter (the official compliance
    suite runs in tests/test_jmespath_compliance.py) at a fraction of the cost per call.
    """
    return compile_ast(parsed.parsed, functions, forgive=FORGIVEN)


def _optional_expr(ctx: _Ctx, text: str | None, loc: Loc, smap: SourceMap) -> CompiledExpr | None:
    return None if text is None else compile_expr(ctx, text, loc, smap)


def _compile_lookup(ctx: _Ctx, name: str) -> LookupTable:
    spec = ctx.mapping.spec.lookups[name]
    smap = ctx.mapping.smap
    key = compile_expr(ctx, spec.key, ("lookups", name, "key"), smap)
    records = _optional_expr(ctx, spec.records, ("lookups", name, "records"), smap)
    assert key is not None or any(d.is_error for d in ctx.diags)
    return LookupTable(name, spec.file, key, records, smap.span(("lookups", name)))  # type: ignore[arg-type]


def _compile_rule(ctx: _Ctx, index: int) -> ObjectRule | None:
    spec = ctx.mapping.spec.objects[index]
    smap = ctx.mapping.smap
    loc: Loc = ("objects", index)
    found = list(checks.check_rule(spec.type, spec.fields, set(ctx.mapping.spec.defaults)))
    ctx.diags.extend(smap.locate(d.within(*loc), prefer_key=True) for d in found)
    fields = dict(spec.fields)
    for key, value in ctx.mapping.spec.defaults.items():
        fields.setdefault(key, value)
    required = checks.required_keys(spec.type)
    node = _compile_object(ctx, fields, (*loc, "fields"), smap, required, defaults_from=spec.fields)
    each = _compile_each(ctx, spec.each, (*loc, "each"), smap)
    where = _optional_expr(ctx, spec.where, (*loc, "where"), smap)
    node = _with_auto_defaults(node, fields)
    if spec.type in OBJECT_TYPES:
        node = _mark_needed(node, spec.type, ())
    ctx.diags.extend(constant_problems(spec.type, node))
    name = spec.name or f"{spec.type.removeprefix('atlassian:')}#{index}"
    derive_usn = "updateSequenceNumber" not in fields
    fused, checked = ctx.fast_paths(node, spec.type, derive_usn) if ctx.fast_paths else (None, None)
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


def _compile_identity(ctx: _Ctx, kind: str, index: int, spec: IdentitySpec) -> ObjectRule:
    """A `users:` / `groups:` rule: an ObjectRule whose type is the identity kind (`user`,
    `group`), evaluated like an object rule and validated by `model.identity`."""
    smap = ctx.mapping.smap
    loc: Loc = (IDENTITY_KINDS[kind].rules_key, index)
    found = checks.check_identity_rule(kind, spec.fields)
    ctx.diags.extend(smap.locate(d.within(*loc), prefer_key=True) for d in found)
    required = required_names(kind)
    node = _compile_object(ctx, dict(spec.fields), (*loc, "fields"), smap, required)
    each = _compile_each(ctx, spec.each, (*loc, "each"), smap)
    where = _optional_expr(ctx, spec.where, (*loc, "where"), smap)
    name = spec.name or f"{kind}#{index}"
    return ObjectRule(name, kind, index, node, each, where, loc, smap.span(loc), derive_usn=False)


_NOT_THE_CONSTANTS = frozenset(
    {"object.missing", "object.required-by-type", "object.unknown-field"}
)  # problems of the fields left out of the object of constants, or reported elsewhere


def constant_problems(type_name: str, node: ValueNode) -> Iterator[Diagnostic]:
    """Fields whose value is the same for every record and fails validation: the mapping would
    reject every record (e.g. a `REPLACE-ME` key left by `mapper init`). The constants are
    checked together, as one object, by the reference validation."""
    constants = constant_fields(node)
    placeholders = {path: found for path, found in constants.items() if holds_placeholder(found[1])}
    yield from (placeholder_problem(type_name, child) for child, _value in placeholders.values())
    constants = {path: found for path, found in constants.items() if path not in placeholders}
    if not constants or type_name not in OBJECT_TYPES:
        return
    model = OBJECT_TYPES[type_name]
    if all(passes_fast_check(model, path, value) for path, (_, value) in constants.items()):
        return  # the usual case, decided without building the reference validator
    payload: dict[str, Any] = {}
    for path, (_node, value) in constants.items():
        target = payload
        for part in path[:-1]:
            target = target.setdefault(str(part), {})
        target[str(path[-1])] = value
    _checked, diags = check_object(type_name, payload, fast=False)
    for diag in diags:
        if not diag.is_error or diag.code in _NOT_THE_CONSTANTS:
            continue
        for path, (child, _value) in constants.items():
            if tuple(diag.loc[: len(path)]) == path:
                yield Diagnostic(
                    "field.constant-rejected",
                    f"this value is the same for every record, and every record would be "
                    f"rejected for it: {diag.message}",
                    loc=child.loc,
                    span=child.span,
                    hint=diag.hint or "map it from the record, or give a valid constant",
                )
                break


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


def placeholder_problem(type_name: str, node: ValueNode) -> Diagnostic:
    """A `REPLACE-ME` left by `mapper init`: the field still waits for its value."""
    return Diagnostic(
        "field.placeholder",
        f"still holds the placeholder {PLACEHOLDER} left by `mapper init`",
        loc=node.loc,
        span=node.span,
        hint=f"map it from the record; `mapper types {type_name}` says what it takes",
    )


def _with_auto_defaults(node: ValueNode, fields: dict[str, Any]) -> ValueNode:
    extra = tuple(
        (k, ValueNode("const", node.loc, node.span, const=v))
        for k, v in AUTO_DEFAULTS.items()
        if k not in fields
    )
    return replace(node, children=extra + node.children) if extra else node


def _compile_each(ctx: _Ctx, text: str | None, loc: Loc, smap: SourceMap) -> EachStep | None:
    expr = _optional_expr(ctx, text, loc, smap)
    if expr is None:
        return None
    return EachStep(expr, checks.projection_base(expr.ast))


def _compile_object(
    ctx: _Ctx,
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
    ctx: _Ctx, value: Any, loc: Loc, smap: SourceMap, *, required: bool = False
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
        return replace(_compile_object(ctx, value, loc, smap), required=required)
    return ValueNode("const", loc, span, const=value, required=required)


def _expr_node(
    ctx: _Ctx,
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


def _use(ctx: _Ctx, name: str, loc: Loc, smap: SourceMap) -> ValueNode:
    defines = ctx.mapping.defines
    if name not in defines:
        ctx.diags.append(
            smap.locate(
                Diagnostic(
                    "spec.unknown-define",
                    f"no `define:` entry named {name!r}",
                    loc=loc,
                    hint=checks.suggest_name(name, defines),
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
