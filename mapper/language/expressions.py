"""Language stage, compile step: one expression text -> CompiledExpr, checked and located.

`${}` definitions are expanded, the text is parsed once, the limits and the expression checks
run, and the AST is compiled to a Python function (mapper.jpcompile). `Ctx` is the state one
mapping's compilation shares between its expressions.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError, JMESPathTypeError, ParseError

from mapper.errors import Diagnostic, Loc, SourceSpan
from mapper.functions import MapperFunctions
from mapper.jpcompile import compile_ast
from mapper.language.assembly import LoadedMapping
from mapper.language.expression_checks import (
    check_expression,
    check_params,
    literal_hint,
    value_path,
)
from mapper.language.limits import (
    MAX_EXPRESSION_CHARS,
    MAX_EXPRESSION_DEPTH,
    MAX_EXPRESSION_NODES,
    MAX_MAPPING_NODES,
    TooLong,
    too_deep,
    too_large,
    too_many_nodes,
    tree_size,
)
from mapper.language.macros import expand_macros
from mapper.language.plan import CompiledExpr, Evaluator, ValueNode
from mapper.language.sourcemap import SourceMap

FORGIVEN = (JMESPathTypeError,)
"""Errors of the left side of `a || b` that make `b` the default (README: `||` after errors)."""


@dataclass
class Ctx:
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


FastPaths = Callable[
    [ValueNode, str, bool, MapperFunctions], tuple[Evaluator | None, Evaluator | None]
]
"""Given a rule's value tree, its type, whether updateSequenceNumber is derived and the
functions its expressions were compiled with: the rule's
fused and checked functions (the engine writes them; the language knows nothing of them)."""


def compile_expr(ctx: Ctx, text: str, loc: Loc, smap: SourceMap) -> CompiledExpr | None:
    """Parse one expression and run the expression checks; None when it does not parse."""
    span = smap.span(loc)
    if "${" in text:
        try:
            defines = ctx.loaded.defines if ctx.loaded is not None else {}
            expanded = expand_macros(defines, text, loc, span, ctx.diags)
        except TooLong:
            ctx.diags.append(too_large(text, loc, span, "with its `${}` definitions expanded "))
            return None
        if expanded is None:
            return None
        text = expanded
    if len(text) > MAX_EXPRESSION_CHARS:
        ctx.diags.append(too_large(text, loc, span))
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
        ctx.diags.append(too_deep(text, loc, span, depth))
        return None
    ctx.nodes += nodes
    if nodes > MAX_EXPRESSION_NODES or ctx.nodes > MAX_MAPPING_NODES:
        ctx.diags.append(too_many_nodes(loc, span, nodes, ctx.nodes))
        return None
    try:
        found = list(check_expression(text, parsed.parsed, ctx.lookup_names))
        if ctx.param_names is not None:
            found += check_params(text, parsed.parsed, ctx.param_names)
        evaluate = _evaluator(parsed, ctx.functions)
        path = value_path(parsed.parsed)
    except RecursionError:  # the depth limit keeps this out of reach; never a traceback
        ctx.diags.append(too_deep(text, loc, span, depth))
        return None
    ctx.diags.extend(replace(d, loc=loc, span=span) for d in found)
    return CompiledExpr(text, evaluate, loc, span, path, parsed.parsed)


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
        hint=literal_hint(text, err.token_value),
    )


def _evaluator(parsed: Any, functions: MapperFunctions) -> Callable[[Any], Any]:
    """A Python function generated from the expression's AST (see mapper.jpcompile).

    It gives the same results and errors as jmespath's interpreter (the official compliance
    suite runs in tests/test_jmespath_compliance.py) at a fraction of the cost per call.
    """
    return compile_ast(parsed.parsed, functions, forgive=FORGIVEN)
