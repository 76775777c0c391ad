"""Who can see an object, and what a user can see, with the reason, from an access index.

`audience(db, obj)` explains an object's permissions: per access control (all must grant:
AND) the principals (any grants: OR), the users each reaches (a group's members, a container's
own audience, recursively), and the users in every access control: the audience. `decide`
answers for one user, `visible_to` streams every object a user can see. The answers are the
types of `answers.py`, read from the index through `reads.py`.

Only users and groups sent with setUsers / setGroups count: a USER or GROUP principal whose id
is no sent externalId reaches nobody, as in Teamwork Graph. A container missing from the index
is reported, not guessed; MUST_HAVE_VIEWED reaches nobody mapper can name.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from mapper.access.acl import (
    CONTAINER,
    GROUP,
    MUST_HAVE_VIEWED,
    OPEN,
    USER,
    WORDS,
    Principal,
)
from mapper.access.answers import Audience, Control, Decision, Grant, ObjectRef
from mapper.access.reads import MAX_DEPTH, container_of, controls_of, groups_of, ref_of


@dataclass
class _Walk:
    """One question's caches: users sent, group members, container audiences."""

    db: sqlite3.Connection
    users: dict[str, bool] = field(default_factory=dict)
    members: dict[str, frozenset[str] | None] = field(default_factory=dict)
    audiences: dict[int, Audience] = field(default_factory=dict)
    cuts: int = 0  # container loops cut so far

    def is_user(self, user_id: str) -> bool:
        if user_id not in self.users:
            row = self.db.execute("SELECT 1 FROM users WHERE id = ?", (user_id,)).fetchone()
            self.users[user_id] = row is not None
        return self.users[user_id]

    def group_users(self, group_id: str) -> frozenset[str] | None:
        """The sent users in a sent group, through nested groups; None: no such group."""
        if group_id in self.members:
            return self.members[group_id]
        if self.db.execute("SELECT 1 FROM groups WHERE id = ?", (group_id,)).fetchone() is None:
            self.members[group_id] = None
            return None
        found: set[str] = set()
        seen, todo = {group_id}, [group_id]
        while todo:  # breadth of nested groups, each once (nested groups may form loops)
            rows = self.db.execute(
                "SELECT m.mid, m.mtype, u.id IS NOT NULL FROM members m "
                "LEFT JOIN users u ON u.id = m.mid WHERE m.gid = ?",
                (todo.pop(),),
            ).fetchall()
            for mid, mtype, is_user in rows:
                if mtype == GROUP and mid not in seen:
                    seen.add(mid)
                    todo.append(mid)
                elif mtype != GROUP and is_user:
                    found.add(mid)
        self.members[group_id] = frozenset(found)
        return self.members[group_id]


def audience(db: sqlite3.Connection, obj: ObjectRef) -> Audience:
    """Who can see `obj`, per access control and principal."""
    return _audience(_Walk(db), obj, ())


def _audience(walk: _Walk, obj: ObjectRef, chain: tuple[int, ...]) -> Audience:
    """The audience of `obj`, cached unless a container loop was cut while it was found (the
    answer then depends on where the loop was entered)."""
    if obj.oid in walk.audiences:
        return walk.audiences[obj.oid]
    cuts = walk.cuts
    controls = controls_of(walk.db, obj.oid)
    problems = [] if controls else ["the object has no access controls: nobody can see it"]
    grants: dict[Principal, Grant] = {}  # a principal written twice is explained once
    inner = (*chain, obj.oid)
    for principal in {p for control in controls for p in control}:
        grants[principal] = _grant(walk, obj, principal, inner)
    explained = tuple(
        Control(i, tuple(grants[p] for p in control)) for i, control in enumerate(controls)
    )
    found = Audience(obj, explained, tuple(problems))
    if walk.cuts == cuts:
        walk.audiences[obj.oid] = found
    return found


def _grant(walk: _Walk, obj: ObjectRef, principal: Principal, chain: tuple[int, ...]) -> Grant:
    kind, pid = principal.type, principal.id or ""
    if kind == USER:
        if walk.is_user(pid):
            return Grant(principal, f"the user {pid}", frozenset({pid}))
        return Grant(principal, f"the user {pid}", problem=_NOT_SENT_USER)
    if kind == GROUP:
        members = walk.group_users(pid)
        if members is None:
            return Grant(principal, f"the members of group {pid}", problem=_NOT_SENT_GROUP)
        problem = None if members else "the group has no members that were sent with setUsers"
        return Grant(principal, f"the members of group {pid}", members, problem=problem)
    if kind in OPEN:
        return Grant(principal, WORDS[kind], open=kind)
    if kind == CONTAINER:
        return _container_grant(walk, obj, principal, chain)
    words = WORDS.get(kind, f"an unknown principal type {kind!r}")
    problem = "mapper cannot name these users" if kind == MUST_HAVE_VIEWED else "reaches nobody"
    return Grant(principal, words, problem=problem)


_NOT_SENT_USER = "no user with this externalId was sent with setUsers: it reaches nobody"
_NOT_SENT_GROUP = "no group with this externalId was sent with setGroups: it reaches nobody"


def _container_grant(
    walk: _Walk, obj: ObjectRef, principal: Principal, chain: tuple[int, ...]
) -> Grant:
    if obj.container is None:
        return Grant(principal, WORDS[CONTAINER], problem="the object has no containerKey")
    where = f"{obj.container[0]} {obj.container[1]}"
    container = container_of(walk.db, obj)
    if container is None:
        problem = f"the container {where} is not in the outputs: reported, not guessed"
        return Grant(principal, f"everyone who can see {where}", problem=problem)
    if container.oid in chain or len(chain) > MAX_DEPTH:
        walk.cuts += 1
        return Grant(principal, f"everyone who can see {where}", problem="containers loop")
    inner = _audience(walk, container, chain)
    return Grant(
        principal,
        f"everyone who can see {where}",
        inner.users,
        open=inner.open,
        container=inner,
    )


def decide(db: sqlite3.Connection, obj: ObjectRef, user: str) -> Decision:
    """Whether `user` can see `obj`, with the grant of each access control."""
    return _Decider(db, user).decision(obj)


class _Decider:
    """Decides objects for one user; container decisions are cached."""

    def __init__(self, db: sqlite3.Connection, user: str) -> None:
        self.db = db
        self.user = user
        self.walk = _Walk(db)
        self.is_user = self.walk.is_user(user)
        self.groups = groups_of(db, user) if self.is_user else frozenset()
        self.cache: dict[int, Decision] = {}
        self.container_reason: dict[int, str | None] = {}
        self.cuts = 0  # container loops cut so far

    def decision(self, obj: ObjectRef, chain: tuple[int, ...] = ()) -> Decision:
        """The decision on `obj`; cached unless a container loop was cut while deciding."""
        if obj.oid in self.cache:
            return self.cache[obj.oid]
        cuts = self.cuts
        self.container_reason.pop(obj.oid, None)
        reasons = tuple(
            self._reason(obj, control, (*chain, obj.oid))
            for control in controls_of(self.db, obj.oid)
        )
        self.container_reason.pop(obj.oid, None)
        found = Decision(obj, self.user, reasons, self.is_user)
        if self.cuts == cuts:
            self.cache[obj.oid] = found
        return found

    def _reason(
        self, obj: ObjectRef, control: list[Principal], chain: tuple[int, ...]
    ) -> str | None:
        for principal in control:
            reason = self._grants(obj, principal, chain)
            if reason is not None:
                return reason
        return None

    def _grants(self, obj: ObjectRef, principal: Principal, chain: tuple[int, ...]) -> str | None:
        kind, pid = principal.type, principal.id
        if kind == USER and self.is_user and pid == self.user:
            return f"USER {pid}: the user themself"
        if kind == GROUP and pid in self.groups:
            return f"GROUP {pid}: a member"
        if kind in OPEN:
            return f"{kind}: {WORDS[kind]}"
        if kind == CONTAINER:  # decided once per object, however often it is written
            if obj.oid not in self.container_reason:
                self.container_reason[obj.oid] = self._container_reason(obj, chain)
            return self.container_reason[obj.oid]
        return None

    def _container_reason(self, obj: ObjectRef, chain: tuple[int, ...]) -> str | None:
        container = container_of(self.db, obj)
        if container is None:
            return None
        if container.oid in chain or len(chain) > MAX_DEPTH:
            self.cuts += 1
            return None
        if self.decision(container, chain).allowed:
            return f"CONTAINER: can see {container}"
        return None


def visible_to(db: sqlite3.Connection, user: str) -> Iterator[Decision]:
    """Every object `user` can see, streamed: first those that name the user, one of their
    groups or everyone, then the objects inside each visible container."""
    decider = _Decider(db, user)
    done: set[int] = set()
    queue: deque[ObjectRef] = deque()
    for obj in _candidates(db, decider):
        if obj.oid in done:
            continue
        done.add(obj.oid)
        found = decider.decision(obj)
        if found.allowed:
            yield found
            queue.append(obj)
            yield from _inside(db, decider, queue, done)


def _candidates(db: sqlite3.Connection, decider: _Decider) -> Iterator[ObjectRef]:
    keys: list[tuple[str, str | None]] = [(USER, decider.user)] if decider.is_user else []
    keys += [(GROUP, g) for g in sorted(decider.groups)]
    for kind in sorted(OPEN):
        keys.append((kind, None))
    for ptype, pid in keys:
        cond = "a.pid IS NULL" if pid is None else "a.pid = ?"
        args = (ptype,) if pid is None else (ptype, pid)
        sql = (
            "SELECT DISTINCT o.oid, o.type, o.id, o.name, o.ctype, o.cid FROM acl a "
            f"JOIN objects o ON o.oid = a.oid WHERE a.ptype = ? AND {cond}"
        )
        for row in db.execute(sql, args):
            yield ref_of(row)


def _inside(
    db: sqlite3.Connection, decider: _Decider, queue: deque[ObjectRef], done: set[int]
) -> Iterator[Decision]:
    while queue:
        parent = queue.popleft()
        rows = db.execute(
            "SELECT oid, type, id, name, ctype, cid FROM objects WHERE ctype = ? AND cid = ?",
            (parent.type, parent.id),
        ).fetchall()
        for row in rows:
            obj = ref_of(row)
            if obj.oid in done:
                continue
            found = decider.decision(obj)
            if found.allowed:
                done.add(obj.oid)
                yield found
                queue.append(obj)
