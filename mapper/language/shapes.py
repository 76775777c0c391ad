"""Shapes of YAML files (mappings, jobs, cases): pydantic validation -> located diagnostics.

Every format is a pydantic model, and its `ValidationError` becomes `<prefix>.unknown-key`
(hinted with the keys the model allows there), `<prefix>.missing-key` (at the map that lacks
the key) or another code per error type. A validator may raise a `PydanticCustomError` whose
type is a whole code (`jobs.invalid-name`) and whose context may hold a `hint`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import ErrorDetails

from mapper.errors import Diagnostic, Loc, suggest

if TYPE_CHECKING:
    from mapper.language.sourcemap import SourceMap

M = TypeVar("M", bound=BaseModel)
_KINDS = {"extra_forbidden": "unknown-key", "missing": "missing-key"}


class Shape(BaseModel):
    """Base of the jobs and case file models: frozen, no unknown keys, no type coercion."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


def validate_shape(
    model: type[M],
    data: Any,
    smap: SourceMap,
    *,
    prefix: str,
    kinds: Mapping[str, str] | None = None,
    other: str = "invalid-value",
) -> tuple[M | None, list[Diagnostic]]:
    """Validate parsed YAML as `model`, translating pydantic's errors into diagnostics.

    Args:
        model: the pydantic model of the whole file.
        data: the parsed YAML.
        smap: positions of `data`'s nodes.
        prefix: first part of the codes (`spec`, `jobs`, `case`).
        kinds: code suffix per pydantic error type, beyond unknown and missing keys.
        other: code suffix of every other error type.

    Returns:
        The instance and no diagnostic, or None and one diagnostic per code and location, in
        pydantic's order, located at its node (at the key, for an unknown key).
    """
    try:
        return model.model_validate(data), []
    except ValidationError as err:
        errors = err.errors()
    codes = {**_KINDS, **(kinds or {})}
    first: dict[tuple[str, Loc], Diagnostic] = {}
    for error in errors:
        kind = error["type"]
        code = kind if "." in kind else f"{prefix}.{codes.get(kind, other)}"
        diag = _diagnostic(error, code, model, data)
        first.setdefault((diag.code, diag.loc), diag)
    unknown = f"{prefix}.unknown-key"  # located at the key, not at its value
    return None, [smap.locate(d, prefer_key=d.code == unknown) for d in first.values()]


def _diagnostic(error: ErrorDetails, code: str, model: type[BaseModel], data: Any) -> Diagnostic:
    loc = clean_loc(error["loc"], data)
    if error["type"] == "extra_forbidden":
        key = str(loc[-1]) if loc else ""
        hint = _keys_hint(key, allowed_keys(model, loc[:-1]), loc[:-1])
        return Diagnostic(code, f"unknown key {key!r}", loc=loc, hint=hint)
    if error["type"] == "missing":
        message = f"required key {loc[-1]!r} is missing"
        return Diagnostic(code, message, loc=loc[:-1], hint=_description(model, loc))
    message = error["msg"]
    if error["type"] == "model_type":  # pydantic names the class, which authors never see
        message = f"Input should be a map with the keys: {', '.join(allowed_keys(model, loc))}"
    return Diagnostic(code, message, loc=loc, hint=_hint(error, loc) or _description(model, loc))


def _keys_hint(key: str, allowed: list[str], parent: Loc) -> str:
    names = [f"`{part}:`" for part in parent if isinstance(part, str)] or ["the file"]
    where = f"each item of {names[-1]}" if parent and isinstance(parent[-1], int) else names[-1]
    return suggest(key, allowed) or f"{where} may hold: {', '.join(allowed)}"


def _hint(error: ErrorDetails, loc: Loc) -> str | None:
    given, ctx = error["input"], error.get("ctx") or {}
    if "hint" in ctx:
        return str(ctx["hint"])
    if error["type"] == "list_type" and isinstance(given, str) and loc:
        return f"write a list: {loc[-1]}: [{given}]"
    if error["type"] == "string_type" and isinstance(given, int | float):
        return "quote it to make it text"
    return None


def clean_loc(raw: Iterable[str | int], data: Any) -> Loc:
    """Drop pydantic's markers (union tags such as `[expr]` or `list[any]`, validator labels)
    from an error location, walking the data alongside: a real key is never dropped."""
    out: list[str | int] = []
    node = data
    for part in raw:
        is_key = isinstance(node, dict) and part in node
        if not is_key and isinstance(part, str) and "[" in part:
            continue
        out.append(part)
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    return tuple(out)


def allowed_keys(model: type[BaseModel], loc: Loc) -> list[str]:
    """The keys a map at `loc` may hold, read from the model's JSON Schema."""
    return list(dict.fromkeys(key for n in _nodes(model, loc) for key in n.get("properties", {})))


def _description(model: type[BaseModel], loc: Loc) -> str | None:
    """What the model says of the value at `loc` (a field's description, a model's docstring)."""
    return next((str(n["description"]) for n in _nodes(model, loc) if "description" in n), None)


def _nodes(model: type[BaseModel], loc: Loc) -> list[dict[str, Any]]:
    """The JSON Schema nodes that describe the value at `loc`: through nested models, lists,
    dict values and every alternative of a union."""
    root = _schema(model)
    nodes = _expand(root, root)
    for step in loc:
        nodes = [child for node in nodes for child in _expand(root, _child(node, step))]
    return nodes


@functools.cache
def _schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()


def _child(node: dict[str, Any], step: str | int) -> Any:
    if isinstance(step, int):
        return node.get("items")
    return node.get("properties", {}).get(step, node.get("additionalProperties"))


def _expand(root: dict[str, Any], node: Any) -> list[dict[str, Any]]:
    """`node`, then what it refers to and its alternatives (anyOf, oneOf, allOf)."""
    if not isinstance(node, dict):
        return []
    if "$ref" in node:
        return [node, *_expand(root, root["$defs"][node["$ref"].rsplit("/", 1)[-1]])]
    alternatives = [*node.get("anyOf", ()), *node.get("oneOf", ()), *node.get("allOf", ())]
    return [node, *(found for alt in alternatives for found in _expand(root, alt))]


def list_at(data: Any, key: str) -> list[Any]:
    """`data[key]` when `data` is a map holding a list there, else an empty list."""
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, list) else []


def valid_items(
    model: type[M], data: Any, key: str, diags: Iterable[Diagnostic]
) -> list[tuple[int, M]]:
    """The items of the list `data[key]` that no diagnostic points into, validated as `model`.

    A file with one bad item still yields its good ones, e.g. to check names across files.
    """
    bad = {d.loc[:2] for d in diags}
    items = enumerate(list_at(data, key))
    return [(i, model.model_validate(item)) for i, item in items if (key, i) not in bad]
