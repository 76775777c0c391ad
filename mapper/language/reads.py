"""Which functions of an expression read the per-record context (a light module: the clean
path of a run on a cached plan asks it without loading the compiler or the models)."""

from __future__ import annotations

from typing import Any

from mapper.language.plan import ValueNode

CONTEXT_FUNCTIONS = frozenset({"record", "source", "lookup", "param"})  # vary per record or run


def reads_context(node: ValueNode) -> bool:
    """True when a value tree may call record(), source() or lookup(), the functions that read
    `MapperFunctions.context` (an expression without a syntax tree may: it is not looked at)."""
    return calls(node, _READS_CONTEXT)


def calls(node: ValueNode, names: frozenset[str]) -> bool:
    """True when a value tree may call one of the functions `names` (an expression without a
    syntax tree may)."""
    return any(ast_calls(expr.ast, names) for expr in node.exprs) or any(
        calls(child, names) for _, child in node.children
    )


def ast_calls(ast: Any, names: frozenset[str]) -> bool:
    """True when an expression's syntax tree (None: not known) may call one of `names`."""
    if ast is None:
        return True
    return _calls(ast, names)


def _calls(ast: Any, names: frozenset[str]) -> bool:
    if not isinstance(ast, dict):
        return False
    if ast.get("type") == "function_expression" and ast.get("value") in names:
        return True
    return any(_calls(child, names) for child in ast.get("children", ()))


_READS_CONTEXT = CONTEXT_FUNCTIONS - {"param"}  # param() reads `params`, set once per run
