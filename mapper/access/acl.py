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
from typing import Any, NamedTuple

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


class Principal(NamedTuple):
    """One principal: its type and, for USER and GROUP, the external id (a named tuple:
    millions are made while an index is built)."""

    type: str
    id: str | None = None

    def __str__(self) -> str:
        return self.type if self.id is None else f"{self.type} {self.id}"


AccessControls = tuple[tuple[Principal, ...], ...]
"""Access controls (AND), each a tuple of principals (OR)."""


def access_controls(payload: dict[str, Any]) -> AccessControls:
    """The access controls of an object payload, flattened across its permission entries."""
    found: list[tuple[Principal, ...]] = []
    entries = payload.get("permissions")
    for entry in entries if isinstance(entries, list) else ():
        controls = entry.get("accessControls") if isinstance(entry, dict) else None
        for control in controls if isinstance(controls, list) else ():
            principals = control.get("principals") if isinstance(control, dict) else None
            if isinstance(principals, list):
                found.append(tuple(_principal(p) for p in principals if isinstance(p, dict)))
    return tuple(found)


def _principal(value: dict[str, Any]) -> Principal:
    pid = value.get("id")
    return Principal(str(value.get("type")), None if pid is None else str(pid))


@dataclass(frozen=True, slots=True)
class ObjectFacts:
    """What the access graph needs of one object payload, read once."""

    type: str
    id: str
    name: Any
    url: Any
    controls: AccessControls
    container: tuple[str, str] | None


def facts_of(payload: dict[str, Any]) -> ObjectFacts:
    """Read an object payload's type, id, name, url, access controls and container once."""
    return ObjectFacts(
        type_of(payload),
        str(payload.get("id")),
        payload.get("displayName"),
        payload.get("url"),
        access_controls(payload),
        container_of(payload),
    )


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
    for key in payload:
        if key.startswith("atlassian:"):
            return key
    return ""


def iter_id_principals(controls: AccessControls) -> Iterator[Principal]:
    """The USER and GROUP principals of some access controls."""
    for control in controls:
        for principal in control:
            if principal.type in (USER, GROUP) and principal.id:
                yield principal
