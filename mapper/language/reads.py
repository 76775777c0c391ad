"""Which functions of an expression read the per-record context (a light module: the clean
path of a run on a cached plan asks it without loading the compiler or the models)."""

from __future__ import annotations

from typing import Any

from mapper.language.plan import ValueNode

CONTEXT_FUNCTIONS = frozenset({"record", "source", "lookup", "param"})  # vary per record or run


def reads_context(node: ValueNode) -> bool:
    """True when a value tree may call record(), source() or lookup(), the functions that read
    `MapperFunctions.context` (an expression without a syntax tree may: it is not looked at)."""
    return any(
        expr.ast is None or _calls_context(expr.ast) for expr in node.exprs
    ) or any(reads_context(child) for _, child in node.children)


def _calls_context(ast: Any) -> bool:
    if not isinstance(ast, dict):
        return False
    if ast.get("type") == "function_expression" and ast.get("value") in _READS_CONTEXT:
        return True
    return any(_calls_context(child) for child in ast.get("children", ()))


_READS_CONTEXT = CONTEXT_FUNCTIONS - {"param"}  # param() reads `params`, set once per run
