"""The state file's schema version: an older file is upgraded in place (in the run's own
transaction), a newer or unknown one is refused, never misread."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sync_support import deleted_ids, doc, sync

from mapper.errors import SyncStateError
from mapper.sync.deletes import SyncStopped
from mapper.sync.schema import SCHEMA_VERSION
from mapper.sync.state import StateStore

V1_TABLES = """
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
"""  # as mapper 0.x (schema version 1) made it


def write_v1_state(folder: Path, records: list[dict[str, object]]) -> Path:
    """A version-1 state file, made by SQL, holding what one sync of `records` recorded
    (the rows are taken from a current run on a scratch state, so their hashes are real)."""
    scratch = folder / "scratch"
    scratch.mkdir()
    sync(scratch, records)
    rows = (
        sqlite3.connect(scratch / "s.db")
        .execute(
            "SELECT t.name, o.id, o.hash, o.usn, o.cursor, o.deleted FROM objects o "
            "JOIN types t USING (tid)"
        )
        .fetchall()
    )
    path = folder / "s.db"
    conn = sqlite3.connect(path)
    conn.executescript(V1_TABLES)
    conn.executemany(
        "INSERT INTO meta VALUES (?, ?)",
        [("schemaVersion", "1"), ("connectionId", "conn-1"), ("mapping", "sync-test"),
         ("cursor", "2024-01-01T00:00:00Z")],
    )  # fmt: skip
    types = {name: i + 1 for i, name in enumerate(sorted({r[0] for r in rows}))}
    conn.executemany("INSERT INTO types VALUES (?, ?)", [(t, n) for n, t in types.items()])
    conn.executemany(
        "INSERT INTO objects (tid, id, hash, usn, run, cursor, deleted) VALUES (?,?,?,?,1,?,?)",
        [(types[name], *rest) for name, *rest in rows],
    )
    conn.execute("INSERT INTO runs VALUES (1, 'mirror', '2024-01-01T00:00:00Z', 1, '{}')")
    conn.commit()
    conn.close()
    return path


def dump(path: Path) -> list[str]:
    """The file's tables and rows as SQL (the header's journal-mode bytes aside)."""
    return list(sqlite3.connect(path).iterdump())


def version_of(path: Path) -> str:
    sql = "SELECT value FROM meta WHERE key='schemaVersion'"
    return str(sqlite3.connect(path).execute(sql).fetchone()[0])


def test_a_version_1_state_is_upgraded_and_keeps_what_it_knew(tmp_path: Path) -> None:
    records = [doc("a"), doc("b", usn=40), doc("c")]
    write_v1_state(tmp_path, records)
    out = sync(tmp_path, [doc("a"), doc("b", "changed", usn=7)])  # c vanished, b changed
    assert out.result.sync.upgraded_from == 1
    assert version_of(tmp_path / "s.db") == str(SCHEMA_VERSION)
    assert out.result.sync.totals().unchanged == 1  # the hashes of version 1 still match
    assert [(o["id"], o["updateSequenceNumber"]) for o in out.sets] == [("b", 41)]
    assert deleted_ids(out) == ["c"]
    again = sync(tmp_path, [doc("a"), doc("b", "changed", usn=7)])
    assert again.sets == [] and again.result.sync.upgraded_from is None


def test_a_run_that_fails_leaves_the_old_file_untouched(tmp_path: Path) -> None:
    path = write_v1_state(tmp_path, [doc("a"), doc("b"), doc("c")])
    before = dump(path)
    with pytest.raises(SyncStopped):
        sync(tmp_path, [doc("a")])  # would delete 2 of 3: the safety valve stops it
    assert dump(path) == before and version_of(path) == "1"


def test_a_version_1_state_can_be_inspected_without_upgrading_it(tmp_path: Path) -> None:
    path = write_v1_state(tmp_path, [doc("a")])
    store = StateStore.open_for_reading(path)
    try:
        assert store.version == 1
    finally:
        store.close()
    assert version_of(path) == "1"


@pytest.mark.parametrize(
    ("version", "says"),
    [
        (str(SCHEMA_VERSION + 1), f"schema version {SCHEMA_VERSION + 1}; this mapper reads "
         f"versions 1 to {SCHEMA_VERSION} (it was written by a newer mapper)"),
        ("0", "schema version 0; this mapper reads"),
        ("x", "schema version x; this mapper reads"),
    ],
)  # fmt: skip
def test_an_unknown_version_is_refused_and_left_as_it_is(
    tmp_path: Path, version: str, says: str
) -> None:
    path = write_v1_state(tmp_path, [doc("a")])
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value=? WHERE key='schemaVersion'", (version,))
    conn.commit()
    conn.close()
    before = dump(path)
    for attempt in (lambda: sync(tmp_path, [doc("a")]), lambda: StateStore.open_for_reading(path)):
        with pytest.raises(SyncStateError) as refused:
            attempt()
        (diag,) = refused.value.diagnostics
        assert diag.code == "sync.state-version" and says in diag.message
    assert dump(path) == before


def test_last_seen_run_survives_the_folding_of_old_bitmaps(tmp_path: Path) -> None:
    from mapper.sync.inspect import iter_rows
    from mapper.sync.stage import Mode
    from mapper.sync.state import MAX_BITMAPS

    sync(tmp_path, [doc("a"), doc("b")], Mode.upsert)
    runs = MAX_BITMAPS + 3  # the bitmaps of the oldest runs are folded into the rows
    for _ in range(runs - 1):
        sync(tmp_path, [doc("a")], Mode.upsert)  # a: seen unchanged; b: never again
    store = StateStore.open_for_reading(tmp_path / "s.db")
    try:
        seen = {row["id"]: row["lastSeenRun"] for row in iter_rows(store)}
        kept = store.conn.execute("SELECT count(*) FROM runs WHERE seen IS NOT NULL").fetchone()
    finally:
        store.close()
    assert seen == {"a": runs, "b": 1} and kept[0] <= MAX_BITMAPS


def test_a_version_4_state_gains_the_payloads_table_and_keeps_its_rows(tmp_path: Path) -> None:
    sync(tmp_path, [doc("a"), doc("b")])
    with sqlite3.connect(tmp_path / "s.db") as conn:
        conn.executescript(
            "DROP TABLE payloads; UPDATE meta SET value='4' WHERE key='schemaVersion';"
        )  # as mapper made it in schema version 4
        rows = sorted(conn.execute("SELECT tid, id, n, hash, usn FROM objects"))
    out = sync(tmp_path, [doc("a"), doc("b")])
    assert out.result.sync.upgraded_from == 4 and out.sets == []
    with sqlite3.connect(tmp_path / "s.db") as conn:
        assert sorted(conn.execute("SELECT tid, id, n, hash, usn FROM objects")) == rows
        assert conn.execute("SELECT count(*) FROM payloads").fetchone() == (0,)
    assert version_of(tmp_path / "s.db") == str(SCHEMA_VERSION)
