"""The access index: an embedded SQLite file built from run outputs (`mapper index`).

Objects, their access controls (one row per principal), users, groups and group members are
inserted while the outputs are streamed, in transactions of `CHUNK` rows, with the indexes built
once at the end; so a million objects are indexed without holding them in memory. The file is
written under a temporary name and renamed when complete.

When an object (type, id) appears twice, the later one wins (setObjects is last-write-wins).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mapper.access.acl import ObjectFacts, facts_of
from mapper.access.checks import AccessFindings, PrincipalChecker
from mapper.access.outputs import Entry
from mapper.errors import Diagnostic, OutputError
from mapper.io.atomic import check_output, temporary_name

CHUNK = 20_000
SCHEMA = """
CREATE TABLE objects (oid INTEGER PRIMARY KEY, type TEXT NOT NULL, id TEXT NOT NULL,
                      name TEXT, ctype TEXT, cid TEXT, url TEXT);
CREATE TABLE acl (oid INTEGER NOT NULL, ac INTEGER NOT NULL, ptype TEXT NOT NULL, pid TEXT);
CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT, email TEXT) WITHOUT ROWID;
CREATE TABLE groups (id TEXT PRIMARY KEY, name TEXT) WITHOUT ROWID;
CREATE TABLE members (gid TEXT NOT NULL, mid TEXT NOT NULL, mtype TEXT NOT NULL);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
"""
INDEXES = """
CREATE INDEX objects_id ON objects (id, type);
CREATE INDEX objects_container ON objects (ctype, cid);
CREATE INDEX acl_oid ON acl (oid);
CREATE INDEX acl_principal ON acl (ptype, pid);
CREATE INDEX members_mid ON members (mid);
CREATE INDEX members_gid ON members (gid);
"""
VERSION = "1"


@dataclass(frozen=True, slots=True)
class IndexStats:
    """What an index holds, and what the principal checks found while it was built."""

    path: str
    objects: int
    principals: int
    users: int
    groups: int
    members: int
    duplicates: int
    findings: AccessFindings


@dataclass
class _Batch:
    objects: list[tuple[Any, ...]]
    acl: list[tuple[Any, ...]]
    users: list[tuple[Any, ...]]
    groups: list[tuple[Any, ...]]
    members: list[tuple[Any, ...]]
    repeated: list[str]

    def size(self) -> int:
        return len(self.objects) + len(self.acl) + len(self.users) + len(self.members)


def _empty() -> _Batch:
    return _Batch([], [], [], [], [], [])


def build_index(
    entries: Iterable[Entry], path: str | Path, *, checker: PrincipalChecker | None = None
) -> IndexStats:
    """Index `entries` into a new SQLite file at `path` (replacing it when complete).

    Raises:
        OutputError: the file cannot be written.
    """
    target = Path(path)
    check_output(target)
    if target.is_file() and target.stat().st_size and not _is_index(target):
        raise OutputError([Diagnostic(
            "access.not-an-index",
            f"{path} exists and is not an access index (a sync state? another file?): "
            "mapper index replaces only an index",
            hint="give -o another file, or remove this one if it may go",
        )])  # fmt: skip
    tmp = target.with_name(temporary_name(target, secrets.token_hex(4)))
    checker = checker or PrincipalChecker()
    try:
        db = sqlite3.connect(tmp, isolation_level=None)
        try:
            counts = _load(db, entries, checker)
        finally:
            db.close()
        os.replace(tmp, target)
    except (OSError, sqlite3.Error) as err:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise OutputError([Diagnostic("access.index-failed", f"{path}: {err}")]) from err
    except BaseException:  # an output that is missing or unreadable, Ctrl-C: no temporary left
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return IndexStats(str(target), *counts, findings=checker.finish())


def _load(
    db: sqlite3.Connection, entries: Iterable[Entry], checker: PrincipalChecker
) -> tuple[int, int, int, int, int, int]:
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-65536")
    db.executescript(SCHEMA)
    totals = [0, 0, 0, 0, 0]
    batch = _empty()
    oid = 0
    groups_seen: set[str] = set()
    for entry in entries:
        if entry.kind == "object":
            oid += 1
            facts = facts_of(entry.payload)
            checker.add_facts(facts)
            _add_object(batch, oid, facts)
        else:
            checker.add(entry)
            if entry.kind == "user":
                _add_user(batch, entry.payload)
            else:
                if str(entry.payload.get("externalId")) in groups_seen:
                    _flush(db, batch, totals)  # its earlier members must be in the file first
                    batch = _empty()
                _add_group(batch, entry.payload, groups_seen)
        if batch.size() >= CHUNK:
            _flush(db, batch, totals)
            batch = _empty()
    _flush(db, batch, totals)
    db.executescript(INDEXES)
    duplicates = _drop_duplicates(db)
    db.execute("INSERT INTO meta VALUES ('version', ?)", (VERSION,))
    db.execute("ANALYZE")
    return totals[0] - duplicates, totals[1], totals[2], totals[3], totals[4], duplicates


def _add_object(batch: _Batch, oid: int, facts: ObjectFacts) -> None:
    ctype, cid = facts.container or (None, None)
    batch.objects.append((oid, facts.type, facts.id, facts.name, ctype, cid, facts.url))
    for number, control in enumerate(facts.controls):
        batch.acl.extend((oid, number, p.type, p.id) for p in control)


def _add_user(batch: _Batch, payload: dict[str, Any]) -> None:
    emails = payload.get("emails")
    first = emails[0] if isinstance(emails, list) and emails else None
    email = first.get("value") if isinstance(first, dict) else None
    batch.users.append((str(payload.get("externalId")), payload.get("displayName"), email))


def _add_group(batch: _Batch, payload: dict[str, Any], seen: set[str]) -> None:
    gid = str(payload.get("externalId"))
    if gid in seen:
        batch.repeated.append(gid)
    seen.add(gid)
    batch.groups.append((gid, payload.get("displayName")))
    members = payload.get("members")
    for member in members if isinstance(members, list) else ():
        if isinstance(member, dict):
            mtype = str(member.get("type") or "USER")
            batch.members.append((gid, str(member.get("externalId")), mtype))


def _flush(db: sqlite3.Connection, batch: _Batch, totals: list[int]) -> None:
    db.execute("BEGIN")
    db.executemany("INSERT INTO objects VALUES (?, ?, ?, ?, ?, ?, ?)", batch.objects)
    db.executemany("INSERT INTO acl VALUES (?, ?, ?, ?)", batch.acl)
    db.executemany("INSERT OR REPLACE INTO users VALUES (?, ?, ?)", batch.users)
    db.executemany("INSERT OR REPLACE INTO groups VALUES (?, ?)", batch.groups)
    if batch.repeated:  # a group sent again replaces its members
        db.executemany("DELETE FROM members WHERE gid = ?", [(g,) for g in batch.repeated])
    db.executemany("INSERT INTO members VALUES (?, ?, ?)", batch.members)
    db.execute("COMMIT")
    for i, rows in enumerate((batch.objects, batch.acl, batch.users, batch.groups, batch.members)):
        totals[i] += len(rows)


def _drop_duplicates(db: sqlite3.Connection) -> int:
    """Keep the last of several objects with the same (type, id)."""
    stale = [
        row[0]
        for row in db.execute(
            "SELECT o.oid FROM objects o JOIN objects n ON n.id = o.id AND n.type = o.type "
            "AND n.oid > o.oid GROUP BY o.oid"
        )
    ]
    if stale:
        db.execute("BEGIN")
        db.executemany("DELETE FROM objects WHERE oid = ?", [(s,) for s in stale])
        db.executemany("DELETE FROM acl WHERE oid = ?", [(s,) for s in stale])
        db.execute("COMMIT")
    return len(stale)


def _is_index(path: Path) -> bool:
    """Is the file at `path` an access index (of any version: its `meta` has a `version`)?"""
    try:
        db = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
        try:
            return db.execute("SELECT 1 FROM meta WHERE key = 'version'").fetchone() is not None
        finally:
            db.close()
    except sqlite3.Error:
        return False


def open_index(path: str | Path) -> sqlite3.Connection:
    """Open an index read-only.

    Raises:
        OutputError: the file is missing or is not a mapper access index.
    """
    if not Path(path).is_file():
        raise OutputError([Diagnostic("access.no-index", f"no such index: {path}")])
    try:
        db = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)
        row = db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
    except sqlite3.Error as err:
        raise OutputError(
            [Diagnostic("access.bad-index", f"{path} is not an access index ({err})")]
        ) from err
    if row is None or row[0] != VERSION:
        raise OutputError([Diagnostic("access.bad-index", f"{path}: unknown index version")])
    return db
