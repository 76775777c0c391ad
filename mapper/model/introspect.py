"""Field documentation and key lookup for the TWG models, derived from the models themselves.

`describe_type` gives a `FieldDoc` tree (camelCase names, required flags, kinds such as
`timestamp` or `list[userRef]`); `known_keys` answers "which keys may appear here?" for
static checks of mappings; `iter_nested` walks a raw payload alongside the model.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from mapper.errors import Loc
from mapper.model import OBJECT_TYPES
from mapper.model.common import TwgModel, type_name_hint
from mapper.model.scalars import Kind

__all__ = [
    "FieldDoc",
    "describe_model",
    "describe_type",
    "field_kind_at",
    "field_shape",
    "iter_nested",
    "known_keys",
    "required_fields",
    "required_keys_at",
]

OBJECT_KINDS = frozenset({"object", "userRef", "EntityKey"})
_SCALAR_KINDS: dict[object, str] = {str: "string", int: "integer", bool: "boolean", float: "number"}


@dataclass(frozen=True)
class FieldDoc:
    """Documentation of one field: camelCase name, whether required, kind, nested fields."""

    name: str
    required: bool
    kind: str
    description: str
    children: tuple[FieldDoc, ...] = ()

    @property
    def is_object(self) -> bool:
        """True when the field (or each list item) is an object with known keys."""
        return base_kind(self.kind) in OBJECT_KINDS


@dataclass(frozen=True, slots=True)
class _Shape:
    """What an annotation holds: its kind and, for objects, the nested model."""

    kind: str
    model: type[TwgModel] | None = None


def base_kind(kind: str) -> str:
    """Strip `list[...]` wrappers: `list[userRef]` -> `userRef`."""
    while kind.startswith("list[") and kind.endswith("]"):
        kind = kind[5:-1]
    return kind


def _shape(annotation: Any, metadata: Iterable[object] = ()) -> _Shape:
    """Classify a field annotation (Optional, Annotated and list are looked through)."""
    for item in metadata:
        if isinstance(item, Kind):
            return _Shape(item.name)
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *extra = get_args(annotation)
        return _shape(base, extra)
    if origin in (Union, types.UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        return _shape(members[0]) if len(members) == 1 else _Shape("json")
    if origin is list:
        inner = _shape(get_args(annotation)[0])
        return _Shape(f"list[{inner.kind}]", inner.model)
    if isinstance(annotation, type) and issubclass(annotation, TwgModel):
        return _Shape(annotation.KIND, annotation)
    return _Shape(_SCALAR_KINDS.get(annotation, "json"))


def field_shape(info: FieldInfo) -> _Shape:
    """What a model field holds: its kind (`timestamp`, `list[userRef]`, ...) and nested model."""
    return _shape(info.annotation, info.metadata)


def _field_doc(name: str, info: FieldInfo) -> FieldDoc:
    shape = field_shape(info)
    children = describe_model(shape.model) if shape.model is not None else ()
    description = info.description or ""
    return FieldDoc(info.alias or name, info.is_required(), shape.kind, description, children)


@functools.cache
def describe_model(model: type[BaseModel]) -> tuple[FieldDoc, ...]:
    """The `FieldDoc`s of a model's fields, in declaration order, with nested models expanded.

    Args:
        model: Any TWG model (full object, block or sub-shape).

    Returns:
        One `FieldDoc` per field, named by its camelCase alias.
    """
    return tuple(_field_doc(name, info) for name, info in model.model_fields.items())


def _object_model(type_name: str) -> type[BaseModel]:
    model = OBJECT_TYPES.get(type_name)
    if model is None:
        raise KeyError(f"unknown object type {type_name!r}; {type_name_hint(type_name)}")
    return model


def describe_type(type_name: str) -> tuple[FieldDoc, ...]:
    """Document an object type: common properties plus the type block, as a tree.

    The block is the `FieldDoc` named by the type name (kind `object`).

    Args:
        type_name: An `OBJECT_TYPES` key such as `atlassian:commit`.

    Returns:
        The top-level `FieldDoc`s of the full object.

    Raises:
        KeyError: The type is unknown (the message carries a did-you-mean hint).
    """
    return describe_model(_object_model(type_name))


def required_fields(type_name: str) -> frozenset[str]:
    """Top-level keys the object must carry, including the block key and type overrides.

    Raises:
        KeyError: The type is unknown.
    """
    return frozenset(doc.name for doc in describe_type(type_name) if doc.required)


def known_keys(type_name: str, path: tuple[str | int, ...] = ()) -> frozenset[str] | None:
    """The keys allowed at `path` inside an object of `type_name`.

    Lists are transparent: the path of a list of objects gives the keys of each item, and
    integer path parts are skipped.

    Args:
        type_name: An object type name.
        path: Keys from the object root, e.g. `("atlassian:commit", "files")`.

    Returns:
        The allowed camelCase keys, or None when the type is unknown, the path does not exist,
        or it leads to a scalar or free-form JSON (such as an EntityKey `value`).
    """
    docs = _docs_at(type_name, path)
    return None if docs is None else frozenset(doc.name for doc in docs)


def required_keys_at(type_name: str, path: tuple[str | int, ...]) -> frozenset[str] | None:
    """The keys required at `path` inside an object of `type_name` (None as for `known_keys`)."""
    docs = _docs_at(type_name, path)
    return None if docs is None else frozenset(doc.name for doc in docs if doc.required)


def field_kind_at(type_name: str, path: tuple[str | int, ...]) -> str | None:
    """The kind of the field at `path` (`string`, `list[userRef]`, ...); None if unknown."""
    keys = [part for part in path if not isinstance(part, int)]
    if not keys:
        return None
    docs = _docs_at(type_name, tuple(keys[:-1]))
    field = next((doc for doc in docs or () if doc.name == keys[-1]), None)
    return None if field is None else field.kind


def _docs_at(type_name: str, path: tuple[str | int, ...]) -> tuple[FieldDoc, ...] | None:
    model = OBJECT_TYPES.get(type_name)
    if model is None:
        return None
    docs = describe_model(model)
    for part in path:
        if isinstance(part, int):
            continue
        field = next((doc for doc in docs if doc.name == part), None)
        if field is None or not field.is_object:
            return None
        docs = field.children
    return docs


@functools.cache
def _nested_models(model: type[BaseModel]) -> tuple[tuple[str, type[TwgModel], bool], ...]:
    """(alias, nested model, is list) for every field of `model` holding models."""
    out = []
    for name, info in model.model_fields.items():
        shape = field_shape(info)
        if shape.model is not None:
            out.append((info.alias or name, shape.model, shape.kind.startswith("list[")))
    return tuple(out)


def iter_nested(
    model: type[BaseModel],
    raw: object,
    loc: Loc = (),
    descend: Callable[[type[BaseModel]], bool] | None = None,
) -> Iterator[tuple[type[BaseModel], dict[str, Any], Loc]]:
    """Walk a raw payload alongside `model`, yielding every dict with the model it should match.

    Values of the wrong JSON type are skipped, so this never raises on arbitrary input.
    `descend(nested_model)`, when given, prunes the walk: models it rejects are not visited.

    Yields:
        `(model, raw dict, loc)` for the root and every nested object, list items included.
    """
    if not isinstance(raw, dict):
        return
    yield model, raw, loc
    for key, nested, is_list in _nested_models(model):
        if descend is not None and not descend(nested):
            continue
        value = raw.get(key)
        if not is_list:
            yield from iter_nested(nested, value, (*loc, key), descend)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                yield from iter_nested(nested, item, (*loc, key, index), descend)


nested_models = _nested_models
"""Public name: (alias, nested model, is list) for the fields of a model that hold models."""
