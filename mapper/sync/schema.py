"""The state file's tables, their version, and the upgrades from older versions.

* version 1: meta, types, objects (tid, id, hash, usn, run, prev_run, cursor, deleted), runs;
* version 2: objects gain `n` (the row's number in the seen bitmaps) and `ref` (a composed
  key's digest; `REF_INDEX` is made by the first run that looks a composed key up, so a
  state whose runs never do pays nothing for it) and lose `prev_run`; runs gain `seen`
  (the rows the run saw, a zlib-compressed bitmap);
* version 3: objects gain `line` (the digest of the JSONL line whose clean record last made the
  object, for the skip path: `sync/lines.py`), with the partial index `LINE_INDEX`, and `mark`
  (that record's value of the mapping's `cursor:`, as JSON);
* version 4: objects is a rowid table keyed by `n` (a new id's row goes at the end of the table,
  where a WITHOUT ROWID table keyed by (tid, id) took it to a random page: at 1M ids, far more
  pages than the cache holds), with the unique index `KEY_INDEX` on (tid, id); the line index
  then holds a row number where it held (tid, id);
* version 5: `payloads` holds, per row number, the payload last sent of an object that travels
  with others (a repository, which a commit or pull request carries "in the same payload":
  `stage.CARRIED`), so that a job whose mapping does not make it can carry it.

A file of an older version is upgraded inside the run's own transaction: a run that fails or
is killed leaves it at its old version, untouched. A newer version is refused (never misread),
and so is a version older than `OLDEST_UPGRADABLE`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

SCHEMA_VERSION = 5
OLDEST_UPGRADABLE = 1

TABLES = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE types (tid INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
    """CREATE TABLE objects (
        tid INTEGER NOT NULL, id TEXT NOT NULL, n INTEGER PRIMARY KEY, hash BLOB NOT NULL,
        usn INTEGER NOT NULL, run INTEGER NOT NULL, cursor TEXT,
        deleted INTEGER NOT NULL DEFAULT 0, ref INTEGER, line BLOB, mark TEXT
    )""",
    """CREATE TABLE runs (
        run INTEGER PRIMARY KEY, mode TEXT NOT NULL, started TEXT NOT NULL,
        full INTEGER NOT NULL, summary TEXT NOT NULL, seen BLOB
    )""",
)
PAYLOADS = "CREATE TABLE payloads (n INTEGER PRIMARY KEY, payload BLOB NOT NULL)"


KEY_INDEX = "CREATE UNIQUE INDEX objects_key ON objects (tid, id)"
REF_INDEX = "CREATE INDEX IF NOT EXISTS objects_ref ON objects (tid, ref) WHERE ref IS NOT NULL"
LINE_INDEX = "CREATE INDEX objects_line ON objects (line) WHERE line IS NOT NULL"
_COLUMNS = "tid, id, n, hash, usn, run, cursor, deleted, ref, line, mark"


def create(conn: sqlite3.Connection, meta: dict[str, str]) -> None:
    """The tables of the current version, with `meta` (inside the caller's transaction)."""
    for statement in (*TABLES, PAYLOADS, KEY_INDEX, LINE_INDEX):
        conn.execute(statement)
    rows = {**meta, "schemaVersion": str(SCHEMA_VERSION), "nextN": "1"}
    conn.executemany("INSERT INTO meta VALUES (?, ?)", rows.items())


def _v1_to_v2(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE objects ADD COLUMN n INTEGER NOT NULL DEFAULT 0")
    conn.execute("ALTER TABLE objects ADD COLUMN ref INTEGER")
    conn.execute(
        "UPDATE objects SET n = numbered.k FROM (SELECT tid, id, row_number() OVER "
        "(ORDER BY tid, id) AS k FROM objects) AS numbered "
        "WHERE objects.tid = numbered.tid AND objects.id = numbered.id"
    )
    conn.execute("ALTER TABLE objects DROP COLUMN prev_run")
    conn.execute("ALTER TABLE runs ADD COLUMN seen BLOB")
    (count,) = conn.execute("SELECT count(*) FROM objects").fetchone()
    conn.execute("INSERT OR REPLACE INTO meta VALUES ('nextN', ?)", (str(count + 1),))


def _v2_to_v3(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE objects ADD COLUMN line BLOB")
    conn.execute("ALTER TABLE objects ADD COLUMN mark TEXT")
    conn.execute(LINE_INDEX)


def _v3_to_v4(conn: sqlite3.Connection) -> None:
    had_refs = conn.execute("SELECT 1 FROM sqlite_master WHERE name='objects_ref'").fetchone()
    conn.execute(TABLES[2].replace("TABLE objects", "TABLE objects_v4", 1))
    conn.execute(
        f"INSERT INTO objects_v4 ({_COLUMNS}) SELECT {_COLUMNS} FROM objects ORDER BY n"
    )  # (row numbers are unique: every version since 2 gave each row its own)
    conn.execute("DROP TABLE objects")  # (with its indexes)
    conn.execute("ALTER TABLE objects_v4 RENAME TO objects")
    for statement in (KEY_INDEX, LINE_INDEX, *([REF_INDEX] if had_refs else [])):
        conn.execute(statement)


def _v4_to_v5(conn: sqlite3.Connection) -> None:
    conn.execute(PAYLOADS)  # (empty: a repository sent before is carried once sent again)


UPGRADES: dict[int, Callable[[sqlite3.Connection], None]] = {
    1: _v1_to_v2, 2: _v2_to_v3, 3: _v3_to_v4, 4: _v4_to_v5,
}
"""version -> the step to version + 1."""


def upgrade(conn: sqlite3.Connection, found: int) -> None:
    """Bring a file of version `found` to the current one (inside the caller's transaction)."""
    for version in range(found, SCHEMA_VERSION):
        UPGRADES[version](conn)
    conn.execute("INSERT OR REPLACE INTO meta VALUES ('schemaVersion', ?)", (str(SCHEMA_VERSION),))
