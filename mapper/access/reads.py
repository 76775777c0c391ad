"""Access graph: the reads of the access index (SQLite) its questions are answered from.

Objects by id, an object's access controls, its container and a user's groups; each read is
one small query over the tables `mapper.access.store` writes.
"""

from __future__ import annotations

import sqlite3
from collections import deque

from mapper.access.acl import Principal
from mapper.access.answers import ObjectRef

MAX_DEPTH = 50  # container chains longer than this are reported as a loop


def find_objects(db: sqlite3.Connection, object_id: str, type_name: str | None) -> list[ObjectRef]:
    """The indexed objects with this id (of this type, when given)."""
    sql = "SELECT oid, type, id, name, ctype, cid FROM objects WHERE id = ?"
    args: tuple[str, ...] = (object_id,)
    if type_name:
        sql, args = sql + " AND type = ?", (object_id, type_name)
    return [ref_of(row) for row in db.execute(sql, args)]


def ref_of(row: tuple[object, ...]) -> ObjectRef:
    oid, type_name, object_id, name, ctype, cid = row
    container = (str(ctype), str(cid)) if ctype is not None else None
    return ObjectRef(int(oid), str(type_name), str(object_id), name, container)  # type: ignore[call-overload, arg-type]


def controls_of(db: sqlite3.Connection, oid: int) -> list[list[Principal]]:
    controls: dict[int, list[Principal]] = {}
    for ac, ptype, pid in db.execute(
        "SELECT ac, ptype, pid FROM acl WHERE oid = ? ORDER BY rowid", (oid,)
    ):
        controls.setdefault(ac, []).append(Principal(ptype, pid))
    return [controls[k] for k in sorted(controls)]


def container_of(db: sqlite3.Connection, obj: ObjectRef) -> ObjectRef | None:
    if obj.container is None:
        return None
    row = db.execute(
        "SELECT oid, type, id, name, ctype, cid FROM objects WHERE type = ? AND id = ?",
        obj.container,
    ).fetchone()
    return ref_of(row) if row else None


def groups_of(db: sqlite3.Connection, user: str) -> frozenset[str]:
    """The sent groups the user is in, directly or through nested groups."""
    direct = "SELECT gid FROM members WHERE mid = ? AND mtype != 'GROUP'"
    nested = "SELECT gid FROM members WHERE mid = ? AND mtype = 'GROUP'"
    found = {gid for (gid,) in db.execute(direct, (user,))}
    todo = deque(found)
    while todo:
        for (gid,) in db.execute(nested, (todo.popleft(),)):
            if gid not in found:
                found.add(gid)
                todo.append(gid)
    return frozenset(found)
