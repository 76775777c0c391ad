"""Walking parsed JSON by a path of object keys and list indexes (the one walker every stage uses).

A path is what a plain JMESPath expression (`a.b[0].c`), a pydantic error location or an output
field's location names: a tuple of `str` keys and `int` indexes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

MISSING: Final = object()
"""What `follow(..., missing=MISSING)` gives for a key or index that is absent."""


def follow(data: Any, path: tuple[str | int, ...], missing: Any = None) -> Any:
    """The value at `path`; `missing` when a key or index is absent.

    A null on the way makes the value null (None), not missing: `a.b` of `{"a": null}` is null.
    Negative indexes count from the end, as in JMESPath.
    """
    for part in path:
        if data is None:
            return None
        if isinstance(part, int):
            if not isinstance(data, list) or not -len(data) <= part < len(data):
                return missing
            data = data[part]
        elif isinstance(data, dict) and part in data:
            data = data[part]
        else:
            return missing
    return data


def plain_path(ast: Mapping[str, Any]) -> tuple[str | int, ...] | None:
    """Keys and indexes of a plain path expression (`a.b[0].c`), else None."""
    kind = ast.get("type")
    if kind == "field":
        return (ast["value"],)
    if kind == "index_expression":
        left, right = ast["children"]
        base = plain_path(left)
        if base is None or right.get("type") != "index" or right["value"] < 0:
            return None
        return (*base, right["value"])
    if kind == "subexpression":
        parts: tuple[str | int, ...] = ()
        for child in ast["children"]:
            sub = plain_path(child)
            if sub is None:
                return None
            parts += sub
        return parts
    return None


def projection_base(ast: Mapping[str, Any] | None) -> tuple[str | int, ...] | None:
    """For `a.b[]` or `a.b[*]`: the path of the list being projected, else None."""
    if not ast or ast.get("type") != "projection":
        return None
    left, right = ast["children"]
    if right.get("type") != "identity":
        return None
    if left.get("type") == "flatten":
        left = left["children"][0]
    return plain_path(left)
