"""The permission rule of Teamwork Graph objects, as data (reference §1.4).

An object's `permissions` is a list of entries, each with `accessControls`, each with
`principals`. Every access control of every entry must grant access (AND); within one access
control, any principal grants it (OR). The documented example writes
`((user-123 OR group-456) AND (group-789))` as two entries of one access control each, so the
access controls of all entries are joined by AND alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

USER = "USER"
GROUP = "GROUP"
CONTAINER = "CONTAINER"
EVERYONE = "EVERYONE"
WORKSPACE = "ATLASSIAN_WORKSPACE"
MUST_HAVE_VIEWED = "MUST_HAVE_VIEWED"
OPEN = frozenset({EVERYONE, WORKSPACE})

WORDS: dict[str, str] = {
    EVERYONE: "everyone: all logged-in and anonymous users",
    WORKSPACE: "everyone in the Atlassian workspace (the cloudId the object is ingested into)",
    MUST_HAVE_VIEWED: (
        "users who viewed the object before, in the source; view activity is not ingested by "
        "this connector, so mapper cannot name them (undocumented principal, reference §1.4)"
    ),
    CONTAINER: "everyone who can see the object's container (its containerKey)",
}
"""What the principals without an id mean, in words."""


@dataclass(frozen=True, slots=True, order=True)
class Principal:
    """One principal: its type and, for USER and GROUP, the external id."""

    type: str
    id: str | None = None

    def __str__(self) -> str:
        return self.type if self.id is None else f"{self.type} {self.id}"


AccessControls = tuple[tuple[Principal, ...], ...]
"""Access controls (AND), each a tuple of principals (OR)."""


def access_controls(payload: dict[str, Any]) -> AccessControls:
    """The access controls of an object payload, flattened across its permission entries."""
    found: list[tuple[Principal, ...]] = []
    for entry in _dicts(payload.get("permissions")):
        for control in _dicts(entry.get("accessControls")):
            principals = tuple(
                Principal(str(p.get("type")), _text(p.get("id")))
                for p in _dicts(control.get("principals"))
            )
            found.append(principals)
    return tuple(found)


def container_of(payload: dict[str, Any]) -> tuple[str, str] | None:
    """The (type, id) of the object's containerKey; a composed value's fields are joined
    with "/" (such containers are found only if an object has that id)."""
    key = payload.get("containerKey")
    if not isinstance(key, dict) or not isinstance(key.get("type"), str):
        return None
    value = key.get("value")
    if not isinstance(value, dict) or not value:
        return None
    return key["type"], "/".join(str(v) for v in value.values())


def type_of(payload: dict[str, Any]) -> str:
    """The object type: the payload's `atlassian:*` key."""
    return next((k for k in payload if k.startswith("atlassian:")), "")


def iter_id_principals(controls: AccessControls) -> Iterator[Principal]:
    """The USER and GROUP principals of some access controls."""
    for control in controls:
        for principal in control:
            if principal.type in (USER, GROUP) and principal.id:
                yield principal


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
