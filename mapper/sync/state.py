"""The sync state: one SQLite file per connection, what was emitted per object type and id.

Per object (type, id) the store keeps the content hash of the object last emitted, its
updateSequenceNumber, the run that last sent it, its lastUpdatedAt (the source cursor),
whether it was deleted (a tombstone, so a reappearing id still gets a greater number), its
row number `n` and, for a type with a composed key, that key's digest. Which rows a run saw
unchanged is its seen bitmap (`seen.py`): an unchanged object is read, never written.

A run holds the file's write lock from `open_for_run` to `commit`/`rollback` and makes all its
changes in one transaction: a crash at any point leaves the state as it was before the run
(SQLite discards an uncommitted transaction), and a second run on the same file is refused
with `sync.state-locked` instead of waiting or corrupting it. Nothing is held in Python memory
but the rows of the chunk being looked up and the run's seen bitmap (one bit per row).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple

from mapper.io.atomic import check_output, stale_temporaries, temporary_name
from mapper.sync import schema
from mapper.sync.schema import OLDEST_UPGRADABLE, SCHEMA_VERSION
from mapper.sync.seen import Seen
from mapper.sync.state_errors import check_header, sqlite_errors, state_error

__all__ = ["Identity", "StateStore", "StoredObject", "check_header", "sqlite_errors", "state_error"]

LOOKUP_CHUNK = 1000  # ids per SELECT ... IN (...)
CACHE_KIB = 64 * 1024  # SQLite page cache of a run (counted in the process's RSS)
MAX_BITMAPS = 16  # runs whose seen bitmap is kept; beyond, the older ones are folded into `run`
KEEP_BITMAPS = 4  # bitmaps left after a fold


@dataclass(frozen=True, slots=True)
class Identity:
    """Whose state a file is: the connection and the mapping it was written for."""

    connection_id: str | None  # None: take the file's
    mapping: str
    params: str | None = None
    """The mapping's parameter values (`since` aside) as `name=value` lines: each set reads
    another part of the source, so it keeps a state of its own (None: not checked)."""


def shown_params(params: str) -> str:
    """Parameter lines (`Identity.params`) as the command line gives them."""
    return " ".join(f"--param {line}" for line in params.splitlines()) or "no --param"


class StoredObject(NamedTuple):
    """What the state knows about one (type, id) (a tuple: made a million times a run)."""

    hash: bytes
    usn: int
    n: int  # the row's number in the seen bitmaps
    deleted: bool
    line: bytes | None = None  # the digest of the input line that made it (`sync/lines.py`)


Row = tuple[Any, ...]
"""id, n, hash, usn, cursor, ref, line and, unless `put` is told the run has no marks, mark
(the record's `cursor:` value as JSON). The digests (hash, line) may be bytearrays: sqlite3
binds a bytearray as it is, a bytes object (and None) only after a failed lookup of an adapter
for it (~0.3 us each, most of what binding a row cost)."""
LineRow = tuple[int, str, int, int, str | None, str | None]  # tid, id, n, deleted, cursor, mark


def _connect(path: Path) -> sqlite3.Connection:
    with sqlite_errors(path):
        conn = sqlite3.connect(str(path), timeout=0, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 0")
    return conn


def _create_file(path: Path, identity: Identity | None) -> bool:
    """Make a new, empty state file whole: written under a temporary name, then linked into
    place, so a crash never leaves a half-made file at `path` (a temporary one is removed next
    time). A link to a file not made yet gets it where it points. False when another run made
    the file meanwhile: that one is kept (a rename over it would take it from under that run)."""
    _require_connection(path, identity)
    check_output(path, "--state")
    path = Path(os.path.realpath(path)) if path.is_symlink() else path
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
        os.link(tmp, path)
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links: renamed, as close to the check as can be
        if path.exists():
            return False
        try:
            os.replace(tmp, path)
        except OSError as err:
            raise state_error("sync.state-unwritable", path, err.strerror or str(err)) from err
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return True


def _require_connection(path: Path, identity: Identity | None) -> Identity:
    if identity is None or not (identity.connection_id or "").strip():
        blank = identity is not None and identity.connection_id
        raise state_error(
            "sync.connection-required", path,
            "a new state needs a connection id" + (" that is not blank" if blank else ""),
            "give --connection-id ID on the first run",
        )  # fmt: skip
    return identity


def _create_schema(conn: sqlite3.Connection, identity: Identity | None) -> None:
    assert identity is not None
    meta = {"connectionId": identity.connection_id or "", "mapping": identity.mapping}
    if identity.params is not None:
        meta["params"] = identity.params
    schema.create(conn, {**meta, "cursor": ""})


class StateStore:
    """An open state file. Use `open_for_run` (write lock held) or `open_for_reading`."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self.meta: dict[str, str] = {}
        self.type_ids: dict[str, int] = {}
        self.type_names: dict[int, str] = {}  # tid -> name
        self.params_before: str | None = None
        """The parameter set of the state's earlier runs, when this run's differs."""
        self.params_now = ""  # this run's parameter set (`Identity.params`)
        self.in_run = False
        self.version = SCHEMA_VERSION
        self.upgraded_from: int | None = None  # the version this run upgraded the file from
        self.next_n = 1
        self.made = False  # this run made the file (a first run that fails removes it)
        self.key_index = True  # False while a run fills an empty state without it

    # -- opening ----------------------------------------------------------------------------

    @classmethod
    def open_for_run(cls, path: str | Path, identity: Identity | None) -> StateStore:
        """Open (or create) the state and take its write lock for one run; a file of an older
        schema version is upgraded in the run's transaction.

        `identity` None means: take the connection and mapping the file already has.

        Raises:
            SyncStateError: locked, unwritable, damaged, of another connection or mapping,
                or of a schema version this mapper cannot read.
        """
        path = Path(path)
        made = not path.exists() and _create_file(path, identity)
        check_header(path)
        store = cls(_connect(path), path)
        store.made = made
        try:
            with sqlite_errors(path):
                store._begin_run(identity)
        except BaseException:
            store.close()
            raise
        return store

    @classmethod
    def open_for_reading(cls, path: str | Path) -> StateStore:
        """Open an existing state to inspect it (works while a run holds the write lock; a file
        of an older schema version is read as it is, not upgraded)."""
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
            self._check_identity(identity, record=False)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = FULL")  # the commit is durable once it returns
        self.conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        self.conn.execute("BEGIN IMMEDIATE")  # the write lock: a second run fails right away
        self.in_run = True
        if not self._has_tables():  # new, or created by a first run that crashed
            _create_schema(self.conn, _require_connection(self.path, identity))
        self._load_meta()
        if self.version < SCHEMA_VERSION:
            schema.upgrade(self.conn, self.version)
            self.upgraded_from = self.version
            self._load_meta()
        self._check_identity(identity)
        self.next_n = int(self.meta.get("nextN", "1"))

    def _has_tables(self) -> bool:
        return bool(self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] > 0)

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
        self.version = self._check_version()
        self.type_ids = dict(self.conn.execute("SELECT name, tid FROM types"))
        self.type_names = {tid: name for name, tid in self.type_ids.items()}

    def _check_version(self) -> int:
        text = self.meta.get("schemaVersion", "")
        version = int(text) if text.isdigit() else 0
        if OLDEST_UPGRADABLE <= version <= SCHEMA_VERSION:
            return version
        newer = version > SCHEMA_VERSION
        raise state_error(
            "sync.state-version", self.path,
            f"has schema version {text or '(none)'}; this mapper reads versions "
            f"{OLDEST_UPGRADABLE} to {SCHEMA_VERSION}"
            + (" (it was written by a newer mapper)" if newer else ""),
            "upgrade mapper, or give --state another file" if newer
            else "give --state another file (the next run re-emits everything)",
        )  # fmt: skip

    def _check_identity(self, identity: Identity | None, *, record: bool = True) -> None:
        """Refuse a state of another connection or mapping. Note the run's parameter set
        (when `record`: inside the run): a state without one takes it; another one is kept in
        `params_before` until the runner adopts the new one."""
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
        stored, given = self.meta.get("params"), identity.params
        if given is None or stored == given or not record:
            return
        self.params_now = given
        if stored is None:  # (a state from before parameters were recorded)
            self.set_meta("params", given)
        else:  # the runner decides whether this run's set replaces it (`adopt_params`)
            self.params_before = stored

    def adopt_params(self) -> None:
        """Record this run's parameter set as the state's."""
        if self.params_before is not None:
            self.set_meta("params", self.params_now)
            self.params_before = None

    @property
    def identity(self) -> Identity:
        """The connection and mapping recorded in the file."""
        return Identity(self.meta.get("connectionId"), self.meta.get("mapping", ""))

    # -- a run --------------------------------------------------------------------------------

    def next_run(self) -> int:
        """The number the current run gets (runs are numbered from 1)."""
        return int(self.conn.execute("SELECT coalesce(max(run), 0) + 1 FROM runs").fetchone()[0])

    def new_n(self) -> int:
        """A row number for an id the state does not know yet."""
        n, self.next_n = self.next_n, self.next_n + 1
        return n

    def type_id(self, name: str) -> int:
        """The small integer that stands for an object type in the objects table."""
        tid = self.type_ids.get(name)
        if tid is None:
            cur = self.conn.execute("INSERT INTO types (name) VALUES (?)", (name,))
            tid = self.type_ids[name] = int(cur.lastrowid or 0)
            self.type_names[tid] = name
        return tid

    def lookup(self, type_name: str, ids: Sequence[str]) -> dict[str, StoredObject]:
        """What the state holds for these ids of one type (ids it does not know are absent)."""
        tid = self.type_ids.get(type_name)
        found: dict[str, StoredObject] = {}
        if tid is None:
            return found
        sql = "SELECT id, hash, usn, n, deleted, line FROM objects WHERE tid=? AND id IN ({})"
        for oid, digest, usn, n, deleted, line in self._rows_in(sql, (tid,), ids):
            found[oid] = StoredObject(digest, usn, n, deleted == 1, line)
        return found

    def _rows_in(self, sql: str, head: tuple[Any, ...], values: Sequence[Any]) -> Iterator[Any]:
        """The rows of `sql`, whose `IN ({})` takes `values` (after the parameters `head`),
        LOOKUP_CHUNK of them a query."""
        for start in range(0, len(values), LOOKUP_CHUNK):
            part = values[start : start + LOOKUP_CHUNK]
            yield from self.conn.execute(sql.format(",".join("?" * len(part))), (*head, *part))

    def lookup_rows(
        self, type_name: str, numbers: Sequence[int], ids: Iterable[str]
    ) -> dict[str, StoredObject]:
        """What the state holds for these ids of one type, read from the rows `numbers` (those
        that may hold them: no query by id); a row of another type or id is left out."""
        tid = self.type_ids.get(type_name)
        found: dict[str, StoredObject] = {}
        if tid is None or not numbers:
            return found
        wanted = set(ids)
        sql = "SELECT tid, id, hash, usn, n, deleted, line FROM objects WHERE n IN ({})"
        for row_tid, oid, digest, usn, n, deleted, line in self._rows_in(sql, (), numbers):
            if row_tid == tid and oid in wanted:
                found[oid] = StoredObject(digest, usn, n, deleted == 1, line)
        return found

    def put_payloads(self, rows: Iterable[tuple[int, bytes]]) -> None:
        """Record (row number, JSON) of objects sent that others carry (`stage.CARRIED`)."""
        self.conn.executemany("INSERT OR REPLACE INTO payloads VALUES (?, ?)", rows)

    def payloads_of(self, type_name: str, ids: Sequence[str]) -> dict[str, tuple[int, bytes]]:
        """The number and payload (JSON) last sent of these ids of one type, live ones only."""
        tid = self.type_ids.get(type_name)
        found: dict[str, tuple[int, bytes]] = {}
        if tid is None or self.version < 5:
            return found
        sql = (
            "SELECT o.id, o.usn, p.payload FROM objects o JOIN payloads p USING (n) "
            "WHERE o.tid=? AND o.deleted=0 AND o.id IN ({})"
        )
        for oid, usn, data in self._rows_in(sql, (tid,), ids):
            found[oid] = (usn, data)
        return found

    def line_objects(self, line: bytes) -> list[LineRow]:
        """The objects whose `line` is this digest (the input line that last made them)."""
        return self.conn.execute(_LINE_OBJECTS, (line,)).fetchall()

    def set_lines(self, rows: Iterable[tuple[bytes, str | None, int]]) -> None:
        """Record (line digest, mark, row number): that line now makes the object as the state
        holds it, and its record's `cursor:` value is `mark`."""
        self.conn.executemany("UPDATE objects SET line=?, mark=? WHERE n=?", rows)

    def drop_line_index(self) -> None:
        """Leave the line index out while a run fills an empty state (`ensure_line_index` then
        builds it in one sorted pass, cheaper than a million inserts into it)."""
        self.conn.execute("DROP INDEX IF EXISTS objects_line")

    def drop_key_index(self) -> None:
        """Leave the unique (type, id) index out while a run fills an empty state: its rows are
        then put by number (`put`), and found by number (the run's own `FreshIds`), until
        `ensure_key_index` builds the index in one sorted pass (cheaper than a million inserts
        into it; it also fails the run, which is rolled back, if an id were there twice)."""
        self.conn.execute("DROP INDEX IF EXISTS objects_key")
        self.key_index = False

    def ensure_key_index(self) -> None:
        """Make the unique (type, id) index if the run left it out."""
        self.conn.execute(schema.KEY_INDEX.replace("INDEX", "INDEX IF NOT EXISTS", 1))
        self.key_index = True

    def ensure_line_index(self) -> None:
        """Make the line index if the run left it out."""
        self.conn.execute(schema.LINE_INDEX.replace("INDEX", "INDEX IF NOT EXISTS", 1))

    def forget_lines(self) -> None:
        """Clear every object's line digest (they were made under another mapping or mapper)."""
        self.conn.execute("UPDATE objects SET line=NULL, mark=NULL WHERE line IS NOT NULL")

    def live_refs(self, type_name: str, refs: Sequence[int]) -> set[int]:
        """Which of these composed-key digests a live object of the type has."""
        tid = self.type_ids.get(type_name)
        if tid is None:
            return set()
        sql = "SELECT ref FROM objects WHERE tid=? AND ref IN ({}) AND deleted=0"
        return {ref for (ref,) in self._rows_in(sql, (tid,), refs)}

    def index_refs(self) -> None:
        """Make the index of composed-key digests, if no run has made it yet."""
        self.conn.execute(schema.REF_INDEX)

    def put(self, type_name: str, rows: list[Row], run: int, *, marks: bool = True) -> None:
        """Record emitted objects: their hash, number, cursor, key digest; sent in `run`.

        The rows are sorted by id first, in place (stable: of one id, the last still wins), so
        the inserts walk the (tid, id) index in order; they are bound as they are (the type and run
        are in the statement: two integers), not rebuilt into tuples one by one.

        Without the (tid, id) index (`drop_key_index`) a row is put by its number, which is the
        number of the id's row when the state holds the id (the stage gives it), and the rows
        are left in the order they come (they go to the end of the table, by number).
        `marks` False: the rows end with `line` (their mark is NULL).
        """
        tid = self.type_id(type_name)
        if self.key_index:
            rows.sort(key=_row_id)
        self.conn.executemany(
            "INSERT INTO objects (tid, id, n, hash, usn, run, cursor, deleted, ref, line, mark) "
            f"VALUES ({int(tid)}, ?, ?, ?, ?, {int(run)}, ?, 0, ?, ?, {'?' if marks else 'NULL'}) "
            f"ON CONFLICT ({'tid, id' if self.key_index else 'n'}) "
            "DO UPDATE SET hash=excluded.hash, usn=excluded.usn, run=excluded.run, "
            "cursor=excluded.cursor, deleted=0, ref=excluded.ref, line=excluded.line, "
            "mark=excluded.mark",
            rows,
        )

    def touch(self, rows: Iterable[tuple[int, str | None]], run: int) -> None:
        """Record that known objects (row number, cursor) changed but were not sent in `run`
        (append mode): the hash and number stay, the cursor moves."""
        self.conn.executemany(
            "UPDATE objects SET run=?, cursor=? WHERE n=?",
            ((run, cursor, n) for n, cursor in rows),
        )

    def count_live(self) -> int:
        """Objects the state holds that are not deleted."""
        return int(self.conn.execute("SELECT count(*) FROM objects WHERE deleted=0").fetchone()[0])

    def iter_unseen(self, seen: Seen) -> Iterator[tuple[str, str]]:
        """(type, id) of live objects not in `seen`, by type name then id (streamed)."""
        self._unseen_function(seen)
        names = {tid: name for name, tid in self.type_ids.items()}
        for tid in sorted(names, key=names.__getitem__):
            sql = "SELECT id FROM objects WHERE tid=? AND deleted=0 AND unseen(n) ORDER BY id"
            for (oid,) in self.conn.execute(sql, (tid,)):
                yield names[tid], oid

    def count_unseen(self, seen: Seen) -> int:
        """Live objects not in `seen`."""
        self._unseen_function(seen)
        sql = "SELECT count(*) FROM objects WHERE deleted=0 AND unseen(n)"
        return int(self.conn.execute(sql).fetchone()[0])

    def mark_deleted(self, seen: Seen) -> None:
        """Make every live object not in `seen` a tombstone (its number is kept)."""
        self._unseen_function(seen)
        self.conn.execute("UPDATE objects SET deleted=1 WHERE deleted=0 AND unseen(n)")

    def _unseen_function(self, seen: Seen) -> None:
        """SQL `unseen(n)`: true when row `n` is not in `seen`."""
        self.conn.create_function("unseen", 1, lambda n: n not in seen)

    def finish_run(
        self, run: int, *, mode: str, started: str, full: bool, summary: str, seen: Seen
    ) -> None:
        """Record the run (its summary is JSON, its seen bitmap compressed)."""
        self.conn.execute(
            "INSERT INTO runs (run, mode, started, full, summary, seen) VALUES (?, ?, ?, ?, ?, ?)",
            (run, mode, started, int(full), summary, seen.to_blob()),
        )
        self.set_meta("nextN", str(self.next_n))
        self._fold_bitmaps()

    def _fold_bitmaps(self) -> None:
        """Past MAX_BITMAPS runs with a bitmap, write the older ones' sightings into `run`."""
        kept = self.conn.execute("SELECT run FROM runs WHERE seen IS NOT NULL ORDER BY run DESC")
        runs = [r for (r,) in kept]
        if len(runs) <= MAX_BITMAPS:
            return
        older = runs[KEEP_BITMAPS:]
        self.conn.create_function("last_seen", 2, _last_seen_of(self.conn, older))
        sql = "UPDATE objects SET run = last_seen(n, run) WHERE last_seen(n, run) > run"
        self.conn.execute(sql)
        marks = ",".join("?" * len(older))
        self.conn.execute(f"UPDATE runs SET seen=NULL WHERE run IN ({marks})", older)

    def last_seen(self) -> Callable[[int, int], int]:
        """`f(n, run)`: the last run that saw row `n` whose `run` column says `run`."""
        if self.version < 2:
            return lambda _n, run: run
        kept = self.conn.execute("SELECT run FROM runs WHERE seen IS NOT NULL ORDER BY run DESC")
        return _last_seen_of(self.conn, [r for (r,) in kept])

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


_row_id = itemgetter(0)  # (a Row's id)
_LINE_OBJECTS = "SELECT tid, id, n, deleted, cursor, mark FROM objects WHERE line=?"


def _last_seen_of(conn: sqlite3.Connection, runs: Sequence[int]) -> Callable[[int, int], int]:
    """`f(n, run)`: the newest of `runs` (newest first) whose bitmap has `n`, or `run`."""
    bitmaps = []
    for run in runs:
        (blob,) = conn.execute("SELECT seen FROM runs WHERE run=?", (run,)).fetchone()
        bitmaps.append((run, Seen.from_blob(blob)))

    def last_seen(n: int, run: int) -> int:
        for seen_by, bitmap in bitmaps:
            if seen_by <= run:
                return run
            if n in bitmap:
                return seen_by
        return run

    return last_seen
