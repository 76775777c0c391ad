"""Walking parsed JSON by a path of object keys and list indexes (the one walker every stage uses).

A path is what a plain JMESPath expression (`a.b[0].c`), a pydantic error location or an output
field's location names: a tuple of `str` keys and `int` indexes.
"""

from __future__ import annotations

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
