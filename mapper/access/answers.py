"""Access graph: the answers of its questions (who can see an object, can this user see it).

An Audience explains an object's access controls (AND) and their grants (OR); a Decision says
whether one user can see one object and which grant of each control lets them. `graph.py`
finds them; `explain.py` renders them.
"""

from __future__ import annotations

from dataclasses import dataclass

from mapper.access.acl import EVERYONE, WORKSPACE, Principal

_OPEN_RANK = {WORKSPACE: 1, EVERYONE: 2}


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """An indexed object: its row id, type, id, name and container key."""

    oid: int
    type: str
    id: str
    name: str | None
    container: tuple[str, str] | None

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


@dataclass(frozen=True, slots=True)
class Grant:
    """One principal of one access control, explained."""

    principal: Principal
    words: str
    users: frozenset[str] = frozenset()
    open: str | None = None  # EVERYONE / ATLASSIAN_WORKSPACE: anyone of that reach
    problem: str | None = None
    container: Audience | None = None


@dataclass(frozen=True, slots=True)
class Control:
    """One access control: its grants (OR) and the users any of them reaches."""

    index: int
    grants: tuple[Grant, ...]

    @property
    def open(self) -> str | None:
        """The widest open reach of its grants (EVERYONE over ATLASSIAN_WORKSPACE), if any."""
        reaches = [g.open for g in self.grants if g.open]
        return max(reaches, key=_OPEN_RANK.__getitem__) if reaches else None

    @property
    def users(self) -> frozenset[str]:
        """Every named user any grant reaches."""
        return frozenset().union(*(g.users for g in self.grants))


@dataclass(frozen=True, slots=True)
class Audience:
    """Who can see an object and why."""

    obj: ObjectRef
    controls: tuple[Control, ...]
    problems: tuple[str, ...] = ()

    @property
    def open(self) -> str | None:
        """EVERYONE / ATLASSIAN_WORKSPACE when every access control is open (narrowest wins)."""
        reaches = [c.open for c in self.controls]
        if not reaches or any(r is None for r in reaches):
            return None
        return min(reaches, key=lambda r: _OPEN_RANK[r or WORKSPACE])

    @property
    def users(self) -> frozenset[str]:
        """The named users in every access control (open controls let everyone through)."""
        result: frozenset[str] | None = None
        for control in self.controls:
            if control.open:
                continue
            result = control.users if result is None else result & control.users
        return result or frozenset()


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether one user can see one object, and the grant of each access control."""

    obj: ObjectRef
    user: str
    reasons: tuple[str | None, ...]  # per access control: what grants it, None = nothing
    is_user: bool = True  # the user was sent with setUsers (else only open grants reach them)

    @property
    def allowed(self) -> bool:
        """Every access control grants the user (AND)."""
        return bool(self.reasons) and all(r is not None for r in self.reasons)
