"""JMESPath syntax trees back to text, to name the source data inside a larger expression.

jmespath's trees carry no positions, so `users(members[].id)` inside `permissions(...)` cannot be
cut out of the text; it is rebuilt from the tree instead. Parentheses are added where the tree's
shape needs them; the result parses to the same tree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

Node = Mapping[str, Any]
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_COMPARATORS = {"eq": "==", "ne": "!=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
_CHAINS = frozenset(
    {"subexpression", "index_expression", "projection", "flatten", "filter_projection",
     "value_projection"}
)
_LOOSE = frozenset({"or_expression", "and_expression", "pipe", "comparator", "not_expression"})


def unparse(node: Node) -> str:
    """The text of a JMESPath tree (as produced by jmespath's parser)."""
    render = _RENDERERS.get(str(node.get("type")))
    return render(node) if render else "…"


def _kids(node: Node) -> list[Node]:
    return [c for c in node.get("children", ()) if isinstance(c, Mapping)]


def _tight(node: Node) -> str:
    """A child that is the left side of `.`, `[...]` or a comparison: parenthesised if loose."""
    text = unparse(node)
    return f"({text})" if node.get("type") in _LOOSE else text


def _base(node: Node) -> str:
    """The left side of `[0]`, `[*]`, `[]` or `[?...]`: nothing for the implicit identity."""
    return "" if node.get("type") == "identity" else _tight(node)


def _field(node: Node) -> str:
    name = str(node["value"])
    return name if _IDENTIFIER.match(name) else json.dumps(name)


def _literal(node: Node) -> str:
    value = node["value"]
    if isinstance(value, str):
        return "'" + value.replace("'", "\\'") + "'"  # a raw string: only \' is an escape
    return "`" + json.dumps(value) + "`"


def _subexpression(node: Node) -> str:
    first, *rest = _kids(node)  # jmespath may chain several steps in one node
    return ".".join([_tight(first), *(unparse(c) for c in rest)])


def _index_expression(node: Node) -> str:
    first, *rest = _kids(node)
    return _base(first) + "".join(unparse(c) for c in rest)


def _slice(node: Node) -> str:
    start, stop, step = ("" if p is None else str(p) for p in node.get("children", ()))
    return f"[{start}:{stop}:{step}]" if step else f"[{start}:{stop}]"


def _after(right: Node) -> str:
    """The part of a projection applied to each element: `[0]`, `[]` or `.name`, `.[a, b]`."""
    if right.get("type") in ("identity", "current"):
        return ""
    text = unparse(right)
    starts_with_select = _leftmost(right).get("type") in ("multi_select_list", "multi_select_dict")
    return text if text.startswith("[") and not starts_with_select else "." + text


def _leftmost(node: Node) -> Node:
    while node.get("type") in _CHAINS and _kids(node):
        node = _kids(node)[0]
    return node


def _projection(node: Node) -> str:
    left, right = _kids(node)
    sliced = left.get("type") == "index_expression" and _kids(left)[-1].get("type") == "slice"
    is_own = left.get("type") == "flatten" or sliced  # `a[]` and `a[1:2]` project by themselves
    base = unparse(left) if is_own else f"{_base(left)}[*]"
    return base + _after(right)


def _value_projection(node: Node) -> str:
    left, right = _kids(node)
    return f"{_tight(left)}.*{_after(right)}"


def _filter_projection(node: Node) -> str:
    left, right, condition = _kids(node)
    return f"{_base(left)}[?{unparse(condition)}]{_after(right)}"


def _flatten(node: Node) -> str:
    (inner,) = _kids(node)
    return f"{_base(inner)}[]"


def _function(node: Node) -> str:
    return f"{node['value']}({', '.join(unparse(c) for c in _kids(node))})"


def _binary(symbol: str) -> Callable[[Node], str]:
    def render(node: Node) -> str:
        left, right = _kids(node)
        return f"{_operand(left, node)} {symbol} {_operand(right, node, is_right=True)}"

    return render


def _operand(child: Node, parent: Node, *, is_right: bool = False) -> str:
    """Parenthesise a looser operand (`a || b` inside `&&`), and an equal one on the right,
    since the parser groups to the left (`a || (b || c)` is another tree than `a || b || c`)."""
    order = ["pipe", "or_expression", "and_expression", "comparator"]
    kind, outer = child.get("type"), parent.get("type")
    text = unparse(child)
    if kind in order and outer in order:
        inner, around = order.index(kind), order.index(outer)
        if inner < around or (is_right and inner == around):
            return f"({text})"
    return text


def _comparator(node: Node) -> str:
    left, right = _kids(node)
    symbol = _COMPARATORS.get(str(node["value"]), str(node["value"]))
    return f"{_operand(left, node)} {symbol} {_operand(right, node, is_right=True)}"


def _not(node: Node) -> str:
    (inner,) = _kids(node)
    return f"!{_tight(inner)}"


def _multi_list(node: Node) -> str:
    return "[" + ", ".join(unparse(c) for c in _kids(node)) + "]"


def _multi_hash(node: Node) -> str:
    pairs = (f"{_field(p)}: {unparse(_kids(p)[0])}" for p in _kids(node))
    return "{" + ", ".join(pairs) + "}"


_RENDERERS: dict[str, Callable[[Node], str]] = {
    "field": _field,
    "literal": _literal,
    "identity": lambda _node: "@",
    "current": lambda _node: "@",
    "subexpression": _subexpression,
    "index_expression": _index_expression,
    "index": lambda node: f"[{node['value']}]",
    "slice": _slice,
    "projection": _projection,
    "value_projection": _value_projection,
    "filter_projection": _filter_projection,
    "flatten": _flatten,
    "function_expression": _function,
    "pipe": _binary("|"),
    "or_expression": _binary("||"),
    "and_expression": _binary("&&"),
    "comparator": _comparator,
    "not_expression": _not,
    "multi_select_list": _multi_list,
    "multi_select_dict": _multi_hash,
    "expref": lambda node: "&" + unparse(_kids(node)[0]),
}
