"""Language stage, check step: static checks of one rule's fields against its object type.

Each `check_*` yields diagnostics located relative to the rule (`fields`, `type`): unknown
types and fields (did-you-mean), unmapped required fields, misspelt field options and blocks
of the wrong shape, all found before any record is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from mapper.errors import Diagnostic, Loc, short_name, suggest
from mapper.language.spec import DIRECTIVE_KEYS, POLICY_KEYS, ConstField, ExprField, UseField
from mapper.model import OBJECT_TYPES
from mapper.model.common import type_name_hint
from mapper.model.introspect import (
    OBJECT_KINDS,
    base_kind,
    field_kind_at,
    known_keys,
    required_fields,
    required_keys_at,
)

# fields whose value is computed by mapper when the mapping leaves them out
_AUTO_FIELDS = frozenset({"schemaVersion", "updateSequenceNumber"})
_OPTIONS = "expr, const, use, coalesce, default, required, omit_empty"
_FREE_FORM = frozenset({"json", "map[string]"})  # kinds whose maps may hold any keys


def required_keys(type_name: str) -> frozenset[str]:
    """Top-level keys the type requires (empty for an unknown type)."""
    return required_fields(type_name) if type_name in OBJECT_TYPES else frozenset()


def check_type(type_name: str) -> Iterator[Diagnostic]:
    """The rule's type must be a Teamwork Graph object type."""
    if type_name not in OBJECT_TYPES:
        yield Diagnostic(
            "object.unknown-type",
            f"unknown object type {type_name!r}",
            loc=("type",),
            hint=type_name_hint(type_name),
        )


def check_field_names(type_name: str, fields: Mapping[str, Any]) -> Iterator[Diagnostic]:
    """Every key written must exist at that place in the type's object (did-you-mean)."""
    yield from _check_keys(type_name, fields, ())


def _check_keys(type_name: str, value: Any, path: tuple[str, ...]) -> Iterator[Diagnostic]:
    if not isinstance(value, Mapping):
        if isinstance(value, list):
            for item in value:
                yield from _check_keys(type_name, item, path)
        return
    allowed = known_keys(type_name, path)
    for key, child in value.items():
        if allowed is not None and key not in allowed:
            yield _unknown_field(type_name, key, path, allowed)
            continue
        if not isinstance(child, ConstField | ExprField | UseField):
            yield from _check_keys(type_name, child, (*path, key))


def _unknown_field(
    type_name: str, key: str, path: tuple[str, ...], allowed: Iterable[str]
) -> Diagnostic:
    where = ".".join(path) or type_name
    hint = suggest(key, allowed)
    if hint is None and suggest(key, DIRECTIVE_KEYS):
        hint = f"{suggest(key, DIRECTIVE_KEYS)} (field options: {_OPTIONS})"
    block = key.startswith("atlassian:") and not path
    shown = repr(short_name(key))
    message = (
        f"{shown} is a different type's block; this rule makes {type_name}"
        if block
        else f"{short_name(where)} has no field {shown}"
    )
    loc: Loc = ("fields", *path, key)
    return Diagnostic("object.unknown-field", message, loc=loc, hint=hint)


def check_required_fields(
    type_name: str, fields: Mapping[str, Any], default_keys: set[str]
) -> Iterator[Diagnostic]:
    """Fields the type requires must be mapped (in the rule or under `defaults:`)."""
    missing = required_keys(type_name) - set(fields) - default_keys - _AUTO_FIELDS
    for key in sorted(missing):
        yield Diagnostic(
            "object.unmapped-required",
            f"{type_name} requires {key!r}, which is not mapped",
            loc=("fields",),
            hint=f"add `{key}:` under fields",
        )


def check_nested_required(type_name: str, fields: Mapping[str, Any]) -> Iterator[Diagnostic]:
    """Maps written as object literals (the type block, a thumbnail, a permissions entry) must
    write every key their model requires: a block without `status` rejects every record."""
    for path, value in _object_literals(fields, ()):
        required = required_keys_at(type_name, path)
        where = ".".join(str(part) for part in path if isinstance(part, str))
        for key in sorted((required or frozenset()) - set(value)):
            yield Diagnostic(
                "object.unmapped-required",
                f"{where} requires {key!r}, which is not mapped",
                loc=("fields", *path),
                hint=f"add `{key}:` under {path[-1] if isinstance(path[-1], str) else where}",
            )


def check_field_options(type_name: str, fields: Mapping[str, Any]) -> Iterator[Diagnostic]:
    """A map where the type takes a scalar or a list is a misspelt field option, not an object:
    `id: {exp: id}` would otherwise compile to an object literal and reject every record."""
    for path, value in _object_literals(fields, ()):
        kind = field_kind_at(type_name, path)
        if kind is None or kind in _FREE_FORM or base_kind(kind) in OBJECT_KINDS:
            continue
        name = next(str(part) for part in reversed(path) if isinstance(part, str))
        yield from _misspelt_options(value, path, f"{name!r} holds a {kind}, not an object")


def _misspelt_options(
    value: Mapping[str, Any], path: tuple[str | int, ...], why: str
) -> Iterator[Diagnostic]:
    typos = {
        k: hint for k in value if k not in DIRECTIVE_KEYS and (hint := suggest(k, DIRECTIVE_KEYS))
    }
    for key, hint in typos.items():
        yield Diagnostic(
            "spec.unknown-key",
            f"unknown field option {key!r} ({why})",
            loc=("fields", *path, key),
            hint=f"{hint} (field options: {_OPTIONS})",
        )
    policy = [k for k in value if k in POLICY_KEYS]
    if policy and not typos:
        yield Diagnostic(
            "spec.missing-key",
            f"`{policy[0]}` needs `expr`, `use` or `coalesce` beside it ({why})",
            loc=("fields", *path),
            hint=f"e.g. {{expr: EXPRESSION, {policy[0]}: ...}}",
        )


def _object_literals(
    value: Any, path: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], Mapping[str, Any]]]:
    """(path, map) for every map written as an object literal below the rule's fields."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from _object_literals(item, (*path, index))
    elif isinstance(value, Mapping):  # directives are parsed models, not Mappings
        if path:
            yield path, value
        for key, child in value.items():
            yield from _object_literals(child, (*path, key))


def check_rule(
    type_name: str, fields: Mapping[str, Any], default_keys: set[str]
) -> Iterator[Diagnostic]:
    """All rule-level checks; locations are relative to the rule."""
    unknown = list(check_type(type_name))
    yield from unknown
    if unknown:
        return
    yield from check_field_names(type_name, fields)
    yield from check_field_options(type_name, fields)
    yield from check_required_fields(type_name, fields, default_keys)
    yield from check_nested_required(type_name, fields)
    yield from check_block_shape(type_name, fields)


def check_block_shape(type_name: str, fields: Mapping[str, Any]) -> Iterator[Diagnostic]:
    """The type block is an object: a YAML list there would reject every record."""
    if isinstance(fields.get(type_name), list):
        yield Diagnostic(
            "object.block-not-object",
            f"the {type_name} block is an object of its fields, not a list",
            loc=("fields", type_name),
            hint=f"write its fields as a map, e.g. {type_name}: {{name: name}}, or give one "
            "expression that yields an object",
        )


def check_identity_rule(kind: str, fields: Mapping[str, Any]) -> Iterator[Diagnostic]:
    """A `users:` / `groups:` rule writes only the payload's keys, and every required one."""
    from mapper.model.identity import field_names, required_names

    allowed = field_names(kind)
    for key in fields:
        if key not in allowed:
            yield Diagnostic(
                "object.unknown-field",
                f"a {kind} payload has no field {key!r}",
                loc=("fields", key),
                hint=suggest(key, allowed) or f"{kind} fields: {', '.join(allowed)}",
            )
    for key in sorted(required_names(kind) - set(fields)):
        yield Diagnostic(
            "object.unmapped-required",
            f"a {kind} requires {key!r}, which is not mapped",
            loc=("fields",),
            hint=f"add `{key}:` under fields",
        )
