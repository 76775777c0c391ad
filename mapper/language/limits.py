"""Language stage, compile step: the limits on a mapping's expressions and their diagnostics.

The compiler refuses a mapping past these bounds (rules, characters, nesting, tree nodes) with a
located error, before any later stage walks or generates code from an oversized tree.
"""

from __future__ import annotations

from typing import Any

from mapper.errors import Diagnostic, Loc, SourceSpan

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


def too_many_nodes(loc: Loc, span: SourceSpan | None, nodes: int, total: int) -> Diagnostic:
    if nodes > MAX_EXPRESSION_NODES:
        message = (
            f"the expression has {nodes:,} parts; at most {MAX_EXPRESSION_NODES:,} are allowed"
        )
    else:
        message = f"the mapping's expressions have more than {MAX_MAPPING_NODES:,} parts in all"
    return Diagnostic("expr.too-large", message, loc=loc, span=span)


class TooLong(Exception):
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


def too_large(text: str, loc: Loc, span: SourceSpan | None, how: str = "") -> Diagnostic:
    return Diagnostic(
        "expr.too-large",
        f"the expression {how}is longer than {MAX_EXPRESSION_CHARS:,} characters",
        loc=loc,
        span=span,
        hint="split it into `define:` entries used by several fields, or simplify it",
    )


def too_deep(text: str, loc: Loc, span: SourceSpan | None, depth: int) -> Diagnostic:
    return Diagnostic(
        "expr.too-deep",
        f"the expression nests {depth} levels deep; at most {MAX_EXPRESSION_DEPTH} are allowed",
        loc=loc,
        span=span,
    )
