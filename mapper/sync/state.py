"""The sync state: one SQLite file per connection, what was emitted per object type and id.

Per object (type, id) the store keeps the content hash of the object last emitted, its
updateSequenceNumber, the run that last saw it, its lastUpdatedAt (the source cursor) and
whether it was deleted (a tombstone, so a reappearing id still gets a greater number).

A run holds the file's write lock from `open_for_run` to `commit`/`rollback` and makes all its
changes in one transaction: a crash at any point leaves the state as it was before the run
(SQLite discards an uncommitted transaction), and a second run on the same file is refused
with `sync.state-locked` instead of waiting or corrupting it. Nothing is held in Python memory
but the rows of the batch being looked up.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from mapper.io.atomic import check_output, stale_temporaries, temporary_name
from mapper.sync.state_errors import check_header, sqlite_errors, state_error

__all__ = ["Identity", "StateStore", "StoredObject", "check_header", "sqlite_errors", "state_error"]

SCHEMA_VERSION = 1
LOOKUP_CHUNK = 1000  # ids per SELECT ... IN (...)
CACHE_KIB = 64 * 1024  # SQLite page cache of a run (counted in the process's RSS)

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE types (tid INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE objects (
    tid INTEGER NOT NULL, id TEXT NOT NULL, hash BLOB NOT NULL, usn INTEGER NOT NULL,
    run INTEGER NOT NULL, prev_run INTEGER NOT NULL DEFAULT 0, cursor TEXT,
    deleted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tid, id)
) WITHOUT ROWID;
CREATE TABLE runs (
    run INTEGER PRIMARY KEY, mode TEXT NOT NULL, started TEXT NOT NULL, full INTEGER NOT NULL,
    summary TEXT NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class Identity:
    """Whose state a file is: the connection and the mapping it was written for."""

    connection_id: str | None  # None: take the file's
    mapping: str


class StoredObject(NamedTuple):
    """What the state knows about one (type, id) (a tuple: made a million times a run)."""

    hash: bytes
    usn: int
    run: int
    deleted: bool


Row = tuple[str, bytes, int, str | None]  # id, hash, usn, cursor


def _connect(path: Path) -> sqlite3.Connection:
    with sqlite_errors(path):
        conn = sqlite3.connect(str(path), timeout=0, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 0")
    return conn


def _create_file(path: Path, identity: Identity | None) -> None:
    """Make a new, empty state file whole: written under a temporary name, then renamed, so a
    crash never leaves a half-made file at `path` (a temporary one is removed next time)."""
    if identity is None or not identity.connection_id:
        raise state_error(
            "sync.connection-required", path, "a new state needs a connection id",
            "give --connection-id ID on the first run",
        )  # fmt: skip
    check_output(path, "--state")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in stale_temporaries(path):  # mapper's own names only, of dead processes
            stale.unlink()
    except OSError as err:
        reason = f"cannot make its folder ({err.strerror or err})"
        raise state_error("sync.state-unwritable", path, reason) from err
    tmp = path.with_name(temporary_name(path, secrets.token_hex(4)))
    with sqlite_errors(path):
        conn = sqlite3.connect(str(tmp), isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("BEGIN IMMEDIATE")
            _create_schema(conn, identity)
            conn.execute("COMMIT")
        finally:
            conn.close()  # the last connection checkpoints and removes the -wal file
    try:
        os.replace(tmp, path)
    except OSError as err:
        raise state_error("sync.state-unwritable", path, err.strerror or str(err)) from err


def _create_schema(conn: sqlite3.Connection, identity: Identity) -> None:
    for statement in _SCHEMA.split(";")[:-1]:  # executescript would commit the transaction
        conn.execute(statement)
    conn.executemany(
        "INSERT INTO meta VALUES (?, ?)",
        [
            ("schemaVersion", str(SCHEMA_VERSION)),
            ("connectionId", identity.connection_id or ""),
            ("mapping", identity.mapping),
            ("cursor", ""),
        ],
    )


class StateStore:
    """An open state file. Use `open_for_run` (write lock held) or `open_for_reading`."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self.meta: dict[str, str] = {}
        self.type_ids: dict[str, int] = {}
        self.in_run = False

    # -- opening ----------------------------------------------------------------------------

    @classmethod
    def open_for_run(cls, path: str | Path, identity: Identity | None) -> StateStore:
        """Open (or create) the state and take its write lock for one run.

        `identity` None means: take the connection and mapping the file already has.

        Raises:
            SyncStateError: locked, unwritable, damaged, of another connection or mapping,
                or of an unknown schema version.
        """
        path = Path(path)
        if not path.exists():
            _create_file(path, identity)
        check_header(path)
        store = cls(_connect(path), path)
        try:
            with sqlite_errors(path):
                store._begin_run(identity)
        except BaseException:
            store.close()
            raise
        return store

    @classmethod
    def open_for_reading(cls, path: str | Path) -> StateStore:
        """Open an existing state to inspect it (works while a run holds the write lock)."""
        path = Path(path)
        if not path.exists():
            raise state_error("sync.state-missing", path, "no such file")
        check_header(path)
        store = cls(_connect(path), path)
        try:
            with sqlite_errors(path):
                if not store._has_tables():
                    raise state_error("sync.state-unknown", path, "holds no mapper state yet")
                store._load_meta()
        except BaseException:
            store.close()
            raise
        return store

    def _begin_run(self, identity: Identity | None) -> None:
        if self._has_tables():  # refuse a foreign or newer file before changing anything in it
            self._load_meta()
            self._check_identity(identity)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = FULL")  # the commit is durable once it returns
        self.conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        self.conn.execute("BEGIN IMMEDIATE")  # the write lock: a second run fails right away
        self.in_run = True
        if not self._has_tables():  # new, or created by a first run that crashed
            if identity is None or not identity.connection_id:
                raise state_error(
                    "sync.connection-required", self.path, "a new state needs a connection id",
                    "give --connection-id ID on the first run",
                )  # fmt: skip
            self._create(identity)
        self._load_meta()
        self._check_identity(identity)

    def _has_tables(self) -> bool:
        return bool(self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] > 0)

    def _create(self, identity: Identity) -> None:
        _create_schema(self.conn, identity)

    def _load_meta(self) -> None:
        try:
            rows = self.conn.execute("SELECT key, value FROM meta").fetchall()
        except sqlite3.OperationalError as err:
            if "no such table" not in str(err):
                raise
            raise state_error(
                "sync.state-unknown", self.path, "is an SQLite file but not a mapper state",
                "give --state a file of its own",
            ) from err  # fmt: skip
        self.meta = dict(rows)
        self._check_version()
        self.type_ids = dict(self.conn.execute("SELECT name, tid FROM types"))

    def _check_version(self) -> None:
        version = int(self.meta.get("schemaVersion", "0") or 0)
        if version == SCHEMA_VERSION:
            return
        newer = version > SCHEMA_VERSION
        raise state_error(
            "sync.state-version", self.path,
            f"has schema version {version}; this mapper reads version {SCHEMA_VERSION}"
            + (" (written by a newer mapper)" if newer else " (unknown older version)"),
            "upgrade mapper" if newer else "export it with the mapper that wrote it",
        )  # fmt: skip

    def _check_identity(self, identity: Identity | None) -> None:
        if identity is None:
            return
        for key, given, flag in (
            ("connectionId", identity.connection_id, "--connection-id"),
            ("mapping", identity.mapping, "the mapping"),
        ):
            if given is not None and self.meta.get(key) != given:
                raise state_error(
                    "sync.state-mismatch", self.path,
                    f"belongs to {key} {self.meta.get(key)!r}, not {given!r} ({flag})",
                    "each connection and mapping keeps a state file of its own: give --state "
                    "another file",
                )  # fmt: skip

    @property
    def identity(self) -> Identity:
        """The connection and mapping recorded in the file."""
        return Identity(self.meta.get("connectionId"), self.meta.get("mapping", ""))

    # -- a run --------------------------------------------------------------------------------

    def next_run(self) -> int:
        """The number the current run gets (runs are numbered from 1)."""
        return int(self.conn.execute("SELECT coalesce(max(run), 0) + 1 FROM runs").fetchone()[0])

    def type_id(self, name: str) -> int:
        """The small integer that stands for an object type in the objects table."""
        tid = self.type_ids.get(name)
        if tid is None:
            cur = self.conn.execute("INSERT INTO types (name) VALUES (?)", (name,))
            tid = self.type_ids[name] = int(cur.lastrowid or 0)
        return tid

    def lookup(self, type_name: str, ids: Sequence[str]) -> dict[str, StoredObject]:
        """What the state holds for these ids of one type (ids it does not know are absent)."""
        tid = self.type_ids.get(type_name)
        found: dict[str, StoredObject] = {}
        if tid is None:
            return found
        for start in range(0, len(ids), LOOKUP_CHUNK):
            part = ids[start : start + LOOKUP_CHUNK]
            marks = ",".join("?" * len(part))
            sql = f"SELECT id, hash, usn, run, deleted FROM objects WHERE tid=? AND id IN ({marks})"
            for oid, digest, usn, run, deleted in self.conn.execute(sql, (tid, *part)):
                found[oid] = StoredObject(digest, usn, run, deleted == 1)
        return found

    def claim(self, type_name: str, ids: Sequence[str], run: int) -> dict[str, StoredObject]:
        """`lookup`, and mark the ids found as seen by `run`, in one statement per slice.

        The rows returned carry the run that saw them before (so an id seen twice in one run
        shows), not `run`.
        """
        tid = self.type_ids.get(type_name)
        found: dict[str, StoredObject] = {}
        if tid is None:
            return found
        for start in range(0, len(ids), LOOKUP_CHUNK):
            part = ids[start : start + LOOKUP_CHUNK]
            marks = ",".join("?" * len(part))
            sql = (
                f"UPDATE objects SET prev_run = run, run = ? WHERE tid = ? AND id IN ({marks}) "
                "RETURNING id, hash, usn, prev_run, deleted"
            )
            for oid, digest, usn, seen, deleted in self.conn.execute(sql, (run, tid, *part)):
                found[oid] = StoredObject(digest, usn, seen, deleted == 1)
        return found

    def put(self, type_name: str, rows: Iterable[Row], run: int) -> None:
        """Record emitted objects: their hash, number, cursor, seen in `run`, not deleted."""
        tid = self.type_id(type_name)
        self.conn.executemany(
            "INSERT INTO objects (tid, id, hash, usn, run, cursor, deleted) "
            "VALUES (?, ?, ?, ?, ?, ?, 0) ON CONFLICT (tid, id) DO UPDATE SET hash=excluded.hash, "
            "usn=excluded.usn, run=excluded.run, cursor=excluded.cursor, deleted=0",
            ((tid, oid, digest, usn, run, cursor) for oid, digest, usn, cursor in rows),
        )

    def touch(self, type_name: str, rows: Iterable[tuple[str, str | None]], run: int) -> None:
        """Record that known objects were seen in `run` (not emitted: hash and number stay)."""
        tid = self.type_id(type_name)
        self.conn.executemany(
            "UPDATE objects SET run=?, cursor=? WHERE tid=? AND id=?",
            ((run, cursor, tid, oid) for oid, cursor in rows),
        )

    def count_live(self) -> int:
        """Objects the state holds that are not deleted."""
        return int(self.conn.execute("SELECT count(*) FROM objects WHERE deleted=0").fetchone()[0])

    def count_unseen(self, run: int) -> int:
        """Live objects that `run` did not see."""
        sql = "SELECT count(*) FROM objects WHERE deleted=0 AND run<?"
        return int(self.conn.execute(sql, (run,)).fetchone()[0])

    def iter_unseen(self, run: int) -> Iterator[tuple[str, str]]:
        """(type, id) of live objects `run` did not see, by type name then id."""
        names = {tid: name for name, tid in self.type_ids.items()}
        for tid in sorted(names, key=names.__getitem__):
            sql = "SELECT id FROM objects WHERE tid=? AND deleted=0 AND run<? ORDER BY id"
            for (oid,) in self.conn.execute(sql, (tid, run)):
                yield names[tid], oid

    def mark_deleted(self, run: int) -> None:
        """Make every live object `run` did not see a tombstone (its number is kept)."""
        self.conn.execute("UPDATE objects SET deleted=1 WHERE deleted=0 AND run<?", (run,))

    def finish_run(self, run: int, *, mode: str, started: str, full: bool, summary: str) -> None:
        """Record the run (its summary is JSON) and, for a complete run, the new cursor."""
        self.conn.execute(
            "INSERT INTO runs (run, mode, started, full, summary) VALUES (?, ?, ?, ?, ?)",
            (run, mode, started, int(full), summary),
        )

    def set_meta(self, key: str, value: str) -> None:
        """Set one `meta` entry (e.g. the cursor)."""
        self.conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
        self.meta[key] = value

    def commit(self) -> None:
        """Make the run's changes durable and release the lock."""
        with sqlite_errors(self.path):
            self.conn.execute("COMMIT")
            self.in_run = False
            with contextlib.suppress(sqlite3.OperationalError):  # a reader may hold the WAL
                self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def rollback(self) -> None:
        """Discard the run's changes and release the lock."""
        if self.in_run:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
            self.in_run = False

    def close(self) -> None:
        """Roll back an unfinished run and close the file."""
        self.rollback()
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()
