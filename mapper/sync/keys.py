"""The references of an object (`parentKey`, `containerKey`) and how their targets are named.

A key whose value has one field (`{entityId}`, `{repositoryId}`, ...) names the target's `id`.
A composed key (several fields) names the target by its own fields; `COMPOSED` says, per
target type, where each key field is found in the target object, so the sync stage can record
the key of every object of that type and check a reference against the run and the state:

* `atlassian:commit`: `{repositoryId, commitHash}` (teamwork-graph.md §1.3) is the commit's
  containerKey value (`repositoryId`, or `entityId`) and its `atlassian:commit.hash`.

A composed key of a type not in `COMPOSED`, or with other fields, cannot be checked: it is
counted as `sync.unchecked-reference`.
"""

from __future__ import annotations

import hashlib
from typing import Any, NamedTuple

import orjson

REFERENCE_FIELDS = ("parentKey", "containerKey")

Path = tuple[str, ...]
COMPOSED: dict[str, dict[str, tuple[Path, ...]]] = {
    "atlassian:commit": {
        "repositoryId": (
            ("containerKey", "value", "repositoryId"),
            ("containerKey", "value", "entityId"),
        ),
        "commitHash": (("atlassian:commit", "hash"),),
    },
}
"""target type -> key field -> where the field's value is in the target (first found)."""


class Reference(NamedTuple):
    """One parentKey/containerKey: its field, the target's type and id or key digest."""

    field: str
    type: str
    id: str | None  # a one-field key: the target's id
    ref: int | None  # a composed key of a type in COMPOSED: its digest
    shown: str  # the id, or the composed key's value as JSON (for messages)
    # id and ref both None: a composed key that cannot be checked


def key_digest(value: dict[str, Any]) -> int:
    """A composed key's value as a signed 64-bit integer (SQLite's INTEGER): a digest of its
    field values in the order of their sorted names."""
    return _digest([value[name] for name in sorted(value)])


def _digest(values: list[Any]) -> int:
    data = "\x1f".join(map(str, values)).encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big", signed=True)


_new_tuple = tuple.__new__


def references(payload: dict[str, Any]) -> list[Reference]:
    """The references of an object (none when it has no parentKey or containerKey)."""
    found: list[Reference] = []
    for name in REFERENCE_FIELDS:
        key = payload.get(name)
        if not isinstance(key, dict):
            continue
        value, ttype = key.get("value"), key.get("type")
        if not isinstance(value, dict) or not isinstance(ttype, str) or not value:
            continue
        if len(value) == 1:
            for only in value.values():
                if isinstance(only, str):  # (made without NamedTuple's Python-level __new__)
                    found.append(_new_tuple(Reference, (name, ttype, only, None, only)))
            continue
        fields = COMPOSED.get(ttype)
        checkable = fields is not None and set(fields) == set(value)
        digest = key_digest(value) if checkable else None
        found.append(Reference(name, ttype, None, digest, orjson.dumps(value).decode()))
    return found


def own_key(type_name: str, payload: dict[str, Any]) -> int | None:
    """The digest of the composed key that names this object, for a type in COMPOSED (by the
    type's own function, `_key_function`: what `walked_key` gives)."""
    key = _KEY_FUNCTIONS.get(type_name)
    return None if key is None else key(payload)


def walked_key(type_name: str, payload: dict[str, Any]) -> int | None:
    """`own_key`, each field's paths walked in turn (what the made functions must give)."""
    fields = _SORTED_FIELDS.get(type_name)
    if fields is None:
        return None
    values = []
    for paths in fields:
        for path in paths:
            found: Any = payload
            for step in path:
                found = found.get(step) if type(found) is dict else _follow(found, (step,))
            if isinstance(found, str) and found:
                values.append(found)
                break
        else:
            return None
    data = "\x1f".join(values).encode()
    return int.from_bytes(_blake2b(data, digest_size=8).digest(), "big", signed=True)


_SORTED_FIELDS = {t: tuple(f[name] for name in sorted(f)) for t, f in COMPOSED.items()}
"""COMPOSED's key fields in the order of their sorted names (as `key_digest` takes them)."""
_blake2b = hashlib.blake2b


def _key_function(fields: tuple[tuple[Path, ...], ...]) -> Any:
    """`walked_key` of one type with its paths written out (the digest of a million objects'
    keys without a loop over the paths of each)."""
    lines = ["def key(payload):"]
    for number, paths in enumerate(fields):
        for depth, path in enumerate(paths):
            pad = "    " * (depth + 1)
            lines.append(f"{pad}found = payload")
            for step in path:
                get = f"found.get({step!r}) if isinstance(found, dict) else None"
                lines.append(f"{pad}found = {get}")
            lines.append(f"{pad}if not (isinstance(found, str) and found):")
        lines.append("    " * (len(paths) + 1) + "return None")
        lines.append(f"    value{number} = found")
    joined = " + '\\x1f' + ".join(f"value{i}" for i in range(len(fields)))
    lines.append(
        f"    return from_bytes(blake2b(({joined}).encode(), digest_size=8).digest(), 'big', "
        "signed=True)"
    )
    namespace: dict[str, Any] = {"blake2b": _blake2b, "from_bytes": int.from_bytes}
    exec(compile("\n".join(lines), "<mapper-composed-key>", "exec"), namespace)
    return namespace["key"]


_KEY_FUNCTIONS = {t: _key_function(fields) for t, fields in _SORTED_FIELDS.items()}


def _follow(data: Any, path: Path) -> Any:
    for step in path:
        if not isinstance(data, dict):
            return None
        data = data.get(step)
    return data
