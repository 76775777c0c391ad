"""Looking into a state file: summary, ids, export; forgetting ids (`mapper state ...`)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from mapper.sync.cursor import CURSOR_KIND, CURSOR_ORIGIN, LAST_UPDATED
from mapper.sync.state import StateStore, sqlite_errors, state_error

RECENT_RUNS = 5


def cursor_origin(meta: dict[str, str]) -> str:
    """Where the state's cursor comes from: `cursor: EXPR (KIND)` of the mapping, or the
    objects' lastUpdatedAt ("" while there is no cursor)."""
    if not meta.get("cursor"):
        return ""
    origin = meta.get(CURSOR_ORIGIN, LAST_UPDATED)
    if origin == LAST_UPDATED:
        return "lastUpdatedAt (the highest of the objects)"
    return f"cursor: {origin} ({meta.get(CURSOR_KIND, 'time')})"


def summary(store: StateStore) -> dict[str, Any]:
    """Identity, cursor, objects per type (live and deleted) and the last runs."""
    with sqlite_errors(store.path):
        per_type = store.conn.execute(
            "SELECT t.name, sum(o.deleted = 0), sum(o.deleted = 1) FROM objects o "
            "JOIN types t ON t.tid = o.tid GROUP BY t.name ORDER BY t.name"
        ).fetchall()
        runs = store.conn.execute(
            "SELECT run, mode, started, full, summary FROM runs ORDER BY run DESC LIMIT ?",
            (RECENT_RUNS,),
        ).fetchall()
    return {
        "state": str(store.path),
        "schemaVersion": int(store.meta.get("schemaVersion", "0")),
        "connectionId": store.meta.get("connectionId", ""),
        "mapping": store.meta.get("mapping", ""),
        "cursor": store.meta.get("cursor", ""),
        "cursorOrigin": cursor_origin(store.meta),
        "objects": {name: {"live": live, "deleted": gone} for name, live, gone in per_type},
        "runs": [
            {"run": n, "mode": mode, "started": started, "full": bool(full), **json.loads(counts)}
            for n, mode, started, full, counts in runs
        ],
        "sizeBytes": Path(store.path).stat().st_size,
    }


def iter_rows(
    store: StateStore, type_name: str | None = None, *, deleted: bool | None = None
) -> Iterator[dict[str, Any]]:
    """Every object row, by type then id, as JSON-ready dicts (streamed, not loaded at once)."""
    number = "o.n" if store.version >= 2 else "0"  # an older file, read as it is
    sql = (
        f"SELECT t.name, o.id, o.usn, o.run, {number}, o.cursor, o.deleted, o.hash FROM objects o "
        "JOIN types t ON t.tid = o.tid WHERE (? IS NULL OR t.name = ?) "
        "AND (? IS NULL OR o.deleted = ?) ORDER BY t.name, o.id"
    )
    flag = None if deleted is None else int(deleted)
    with sqlite_errors(store.path):
        last_seen = store.last_seen()
        cursor = store.conn.execute(sql, (type_name, type_name, flag, flag))
        while rows := cursor.fetchmany(1000):
            for name, oid, usn, run, n, seen_at, gone, digest in rows:
                yield {
                    "type": name,
                    "id": oid,
                    "updateSequenceNumber": usn,
                    "lastSeenRun": last_seen(n, run),
                    "lastUpdatedAt": seen_at,
                    "deleted": bool(gone),
                    "hash": digest.hex(),
                }


def forget(
    path: str | Path, *, type_name: str | None, ids: Sequence[str], deleted_only: bool
) -> int:
    """Remove rows from the state (the next run sends those objects again as new).

    Forgets `ids` of `type_name`, every row of `type_name` when no id is given, or only the
    tombstones with `deleted_only`. Returns how many rows went.

    Raises:
        SyncStateError: the file is missing, locked, damaged or unwritable.
    """
    if not Path(path).exists():
        raise state_error("sync.state-missing", path, "no such file")
    store = StateStore.open_for_run(path, None)
    try:
        with sqlite_errors(path):
            tid = store.type_ids.get(type_name or "", -1) if type_name else None
            where, args = _forget_filter(tid, ids, deleted_only)
            removed = store.conn.execute(f"DELETE FROM objects WHERE {where}", args).rowcount
            store.conn.execute("DELETE FROM payloads WHERE n NOT IN (SELECT n FROM objects)")
        store.commit()
    finally:
        store.close()
    return int(removed)


def _forget_filter(
    tid: int | None, ids: Sequence[str], deleted_only: bool
) -> tuple[str, tuple[Any, ...]]:
    clauses: list[str] = []
    args: list[Any] = []
    if tid is not None:
        clauses.append("tid = ?")
        args.append(tid)
    if ids:
        clauses.append(f"id IN ({','.join('?' * len(ids))})")
        args.extend(ids)
    if deleted_only:
        clauses.append("deleted = 1")
    return " AND ".join(clauses) or "1", tuple(args)
