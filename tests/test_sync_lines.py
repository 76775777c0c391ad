"""The skip path: a JSONL line whose objects the state holds unchanged is not mapped again.

Every test here compares with the general path where it can: the same runs with the skip path
switched off (`line_key` gives "") must write the same bodies and count the same, whatever the
sequence of snapshots (changes, vanishing and reappearing ids, duplicates within a file).
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sync_support import Output, read_output, write_records

import mapper
from mapper.sync import runner
from mapper.sync.runner import SyncRequest, sync_files
from mapper.sync.schema import SCHEMA_VERSION
from mapper.sync.stage import Mode

MAPPING = """\
version: 1
name: lines-test
params:
  prefix: {type: string, default: "https://example.test/d/"}
objects:
  - type: atlassian:document
    fields:
      id: id
      displayName: title
      url: "concat(param('prefix'), id)"
      createdAt: to_rfc3339(ts)
      lastUpdatedAt: to_rfc3339(ts)
      parentKey: "entity_key('atlassian:space', space)"
      permissions: "permissions([principal('ATLASSIAN_WORKSPACE')])"
      atlassian:document:
        type: {const: {category: DOCUMENT, mimeType: text/plain}}
        content: {const: {mimeType: text/plain, text: x}}
  - type: atlassian:space
    fields:
      id: space
      displayName: space
      url: "concat('https://example.test/s/', space)"
      createdAt: to_rfc3339(ts)
      lastUpdatedAt: to_rfc3339(ts)
      permissions: "permissions([principal('ATLASSIAN_WORKSPACE')])"
      atlassian:space: {key: space, spaceType: "'global'", subtype: "'wiki'"}
"""


WITH_CURSOR = MAPPING.replace("name: lines-test\n", "name: lines-test\ncursor: upd\n")
"""The mapping with a `cursor:`: each record's `upd` (a number, a string, or not a value)."""


def rec(
    oid: str, title: str = "t", day: int = 1, space: str | None = None, upd: Any = None
) -> dict[str, Any]:
    found = {"id": oid, "title": title, "ts": f"2024-01-{day:02d}T00:00:00Z",
             "space": space or f"S{oid}"}  # fmt: skip
    return found if upd is None else {**found, "upd": upd}


def run(
    folder: Path,
    records: list[dict[str, Any]],
    mode: Mode = Mode.mirror,
    mapping_text: str = MAPPING,
    **kw: Any,
) -> Output:
    """One sync of `records` (a JSONL file) with the lines-test mapping, state in `folder`."""
    mapping = folder / "m.yaml"
    if not mapping.exists():
        mapping.write_text(mapping_text)
    inputs = write_records(folder / "in.jsonl", records)
    request = SyncRequest(
        state=folder / "s.db", output=folder / "out", mode=mode, connection_id="c", **kw
    )
    return read_output(folder / "out", sync_files(mapper.load(mapping), [str(inputs)], request))


@contextmanager
def no_skip() -> Iterator[None]:
    """Runs that never take the skip path (the reference)."""
    with mock.patch.object(runner, "line_key", return_value=""):
        yield


def comparable(out: Output, folder: Path) -> Any:
    """What a run wrote and counted, but for where its files are and how many lines it knew."""
    sync = out.result.sync.to_dict()
    sync.pop("state"), sync.pop("recordsKnown")
    run_report = out.result.run.to_dict()
    found = {"sets": out.sets, "deletes": out.deletes, "sync": sync,
             "records": run_report["records"], "objects": run_report["objects"]}  # fmt: skip
    return json.loads(json.dumps(found).replace(str(folder), "FOLDER"))


def known(out: Output) -> int:
    return out.result.sync.records_known


def test_an_unchanged_rerun_maps_no_record_and_sends_nothing(tmp_path: Path) -> None:
    records = [rec(str(i), day=1 + i % 9) for i in range(50)]
    first = run(tmp_path, records)
    assert known(first) == 0 and len(first.sets) == 100
    again = run(tmp_path, records)
    assert known(again) == 50 and again.sets == [] and again.deletes == []
    assert again.result.sync.totals().unchanged == 100
    assert again.result.run.is_balanced and again.result.run.records_mapped == 50
    assert again.result.sync.cursor_after == "2024-01-09T00:00:00Z"  # the known lines' cursor


def test_a_changed_line_is_mapped_and_the_others_are_known(tmp_path: Path) -> None:
    records = [rec(str(i)) for i in range(10)]
    run(tmp_path, records)
    records[3] = rec("3", "new title")
    out = run(tmp_path, records[:7] + records[8:])  # 7 vanished
    assert known(out) == 8
    assert [o["id"] for o in out.sets] == ["3"]  # (its space is unchanged)
    assert [i for body in out.deletes for i in body["externalIds"]] == ["7", "S7"]


def test_a_deleted_line_that_comes_back_is_created_again(tmp_path: Path) -> None:
    run(tmp_path, [rec("a"), rec("b")])
    run(tmp_path, [rec("a")], max_delete_share=1.0)
    back = run(tmp_path, [rec("a"), rec("b")])
    assert known(back) == 1 and sorted(o["id"] for o in back.sets) == ["Sb", "b"]
    assert back.result.sync.totals().created == 2


def test_another_parameter_or_mapping_is_mapped_again_once(tmp_path: Path) -> None:
    records = [rec("a"), rec("b")]
    run(tmp_path, records)
    other = run(tmp_path, records, params={"prefix": "https://other.test/"})
    assert known(other) == 0 and [o["id"] for o in other.sets] == ["a", "b"]
    assert known(run(tmp_path, records, params={"prefix": "https://other.test/"})) == 2
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING.replace("displayName: title", "displayName: upper(title)"))
    edited = run(tmp_path, records, params={"prefix": "https://other.test/"})
    assert known(edited) == 0 and [o["displayName"] for o in edited.sets] == ["T", "T"]


def test_a_parameter_no_expression_reads_does_not_change_the_key(tmp_path: Path) -> None:
    text = MAPPING.replace("concat(param('prefix'), id)", "concat('https://example.test/d/', id)")
    records = [rec("a"), rec("b")]
    run(tmp_path, records, mapping_text=text, params={"prefix": "x"})
    out = run(tmp_path, records, mapping_text=text, params={"prefix": "y"})
    assert known(out) == 2  # (an incremental run's new `since` is such a parameter)


def test_a_line_whose_objects_are_unchanged_is_known_from_the_next_run(tmp_path: Path) -> None:
    run(tmp_path, [rec("a")])
    moved = [{**rec("a"), "unmapped": 1}]  # another line, the same objects
    out = run(tmp_path, moved)
    assert known(out) == 0 and out.sets == [] and out.result.sync.totals().unchanged == 2
    assert known(run(tmp_path, moved)) == 1


def test_append_mode_never_knows_a_held_back_line(tmp_path: Path) -> None:
    run(tmp_path, [rec("a")], Mode.append)
    changed = [rec("a", "changed")]
    for _ in range(2):
        out = run(tmp_path, changed, Mode.append)
        assert known(out) == 0 and out.sets == [] and out.result.sync.totals().held_back == 1


def test_a_json_array_input_is_mapped_as_before(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(MAPPING)
    data = tmp_path / "in.json"
    data.write_text(json.dumps([rec("a")]))
    request = SyncRequest(state=tmp_path / "s.db", output=tmp_path / "out", connection_id="c")
    for _ in range(2):
        result = sync_files(mapper.load(tmp_path / "m.yaml"), [str(data)], request)
        assert result.sync.records_known == 0
    assert result.sync.totals().unchanged == 2


def test_a_version_2_state_is_upgraded_and_its_lines_are_learnt(tmp_path: Path) -> None:
    records = [rec("a"), rec("b")]
    run(tmp_path, records)
    conn = sqlite3.connect(tmp_path / "s.db")
    conn.executescript(
        "DROP INDEX objects_line; ALTER TABLE objects DROP COLUMN line; "
        "ALTER TABLE objects DROP COLUMN mark; "
        "UPDATE meta SET value='2' WHERE key='schemaVersion'; DELETE FROM meta WHERE key='lineKey';"
        "DROP TABLE payloads;"
    )  # as mapper made it before version 3
    conn.close()
    out = run(tmp_path, records)
    assert out.result.sync.upgraded_from == 2 and known(out) == 0 and out.sets == []
    again = run(tmp_path, records)
    assert known(again) == 2 and again.result.sync.upgraded_from is None
    sql = "SELECT value FROM meta WHERE key='schemaVersion'"
    assert sqlite3.connect(tmp_path / "s.db").execute(sql).fetchone()[0] == str(SCHEMA_VERSION)


V3_OBJECTS = """CREATE TABLE objects (
    tid INTEGER NOT NULL, id TEXT NOT NULL, n INTEGER NOT NULL, hash BLOB NOT NULL,
    usn INTEGER NOT NULL, run INTEGER NOT NULL, cursor TEXT,
    deleted INTEGER NOT NULL DEFAULT 0, ref INTEGER, line BLOB, mark TEXT,
    PRIMARY KEY (tid, id)
) WITHOUT ROWID"""  # as mapper made it in schema version 3
OBJECT_ROWS = "SELECT tid, id, n, hash, usn, cursor, deleted, ref, line, mark FROM objects"


def write_v3_state(folder: Path, records: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """A version-3 state of one sync of `records` (made now, then laid out as version 3 was);
    its object rows, sorted."""
    run(folder, records)
    conn = sqlite3.connect(folder / "s.db")
    conn.executescript(
        f"ALTER TABLE objects RENAME TO current; {V3_OBJECTS}; "
        "INSERT INTO objects SELECT tid, id, n, hash, usn, run, cursor, deleted, ref, line, mark "
        "FROM current; DROP TABLE current; "
        "CREATE INDEX objects_line ON objects (line) WHERE line IS NOT NULL; "
        "CREATE INDEX objects_ref ON objects (tid, ref) WHERE ref IS NOT NULL; "
        "UPDATE meta SET value='3' WHERE key='schemaVersion'; DROP TABLE payloads;"
    )
    rows = sorted(conn.execute(OBJECT_ROWS))
    conn.close()
    return rows


def test_a_version_3_state_is_upgraded_and_read_as_it_was(tmp_path: Path) -> None:
    rows = write_v3_state(tmp_path, [rec("a"), rec("b"), rec("c"), rec("d")])
    out = run(tmp_path, [rec("a"), rec("b"), rec("c", "changed")])  # d vanished
    assert out.result.sync.upgraded_from == 3
    assert known(out) == 2 and [o["id"] for o in out.sets] == ["c"]  # (its space is unchanged)
    assert [i for d in out.deletes for i in d["externalIds"]] == ["d", "Sd"]
    conn = sqlite3.connect(tmp_path / "s.db")
    touched = {"c", "Sc", "d", "Sd"}  # (Sc: the same space, now made by another line)
    left = [row for row in sorted(conn.execute(OBJECT_ROWS)) if row[1] not in touched]
    assert left == [row for row in rows if row[1] not in touched]  # as version 3 had them
    version = conn.execute("SELECT value FROM meta WHERE key='schemaVersion'").fetchone()
    assert version == (str(SCHEMA_VERSION),)
    indexes = "SELECT name FROM sqlite_master WHERE type='index' AND tbl_name='objects'"
    assert sorted(conn.execute(indexes)) == [("objects_key",), ("objects_line",), ("objects_ref",)]
    again = run(tmp_path, [rec("a"), rec("b"), rec("c", "changed")])
    assert known(again) == 3 and again.sets == [] and again.result.sync.upgraded_from is None


IDS = ["a", "b", "c", "d"]
CURSOR_VALUES = st.sampled_from([None, 1, 2, 5, "2024-01-02T00:00:00+01:00", "x", [1], True])
snapshots = st.lists(
    st.lists(
        st.builds(
            rec,
            st.sampled_from(IDS),
            st.sampled_from(["one", "two"]),
            st.integers(1, 4),
            st.sampled_from(["S1", "S2", None]),
            CURSOR_VALUES,
        ),
        max_size=6,
    ),
    min_size=1,
    max_size=5,
)
MODES = st.sampled_from([Mode.mirror, Mode.upsert, Mode.append])


@settings(max_examples=min(settings().max_examples, 40))
@given(history=snapshots, mode=MODES, text=st.sampled_from([MAPPING, WITH_CURSOR]))
def test_skipping_writes_and_counts_what_mapping_every_line_does(
    history: list[list[dict[str, Any]]], mode: Mode, text: str
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        skip, reference = Path(tmp, "skip"), Path(tmp, "reference")
        skip.mkdir(), reference.mkdir()
        for snapshot in [*history, history[-1]]:  # the last one twice: an unchanged re-run
            ours = run(skip, snapshot, mode, text, max_delete_share=1.0)
            with no_skip():
                theirs = run(reference, snapshot, mode, text, max_delete_share=1.0)
            assert comparable(ours, skip) == comparable(theirs, reference)
            assert known(theirs) == 0


def test_the_differential_test_takes_the_skip_path(tmp_path: Path) -> None:
    """(So the property above compares two different paths, not one path with itself.)"""
    snapshot = [rec("a", space="S1"), rec("b", space="S1"), rec("c")]
    run(tmp_path, snapshot)
    out = run(tmp_path, snapshot)
    assert known(out) == 2  # b's space was seen with a: b is mapped (a duplicate id)
    assert out.result.sync.findings["sync.duplicate-id"] == 1


def test_a_mapping_cursor_moves_with_the_known_lines(tmp_path: Path) -> None:
    records = [rec("a", upd=3), rec("b", upd=9), rec("c")]
    first = run(tmp_path, records, mapping_text=WITH_CURSOR)
    assert first.result.sync.cursor_after == "9"
    again = run(tmp_path, records, mapping_text=WITH_CURSOR)
    assert known(again) == 3 and again.result.sync.cursor_after == "9"


def test_a_line_whose_cursor_is_not_a_value_is_mapped_every_run(tmp_path: Path) -> None:
    records = [rec("a", upd=3), rec("b", upd=[1])]
    for _ in range(2):
        out = run(tmp_path, records, mapping_text=WITH_CURSOR)
        assert out.result.sync.findings["sync.cursor-invalid"] == 1
    assert known(out) == 1


@pytest.mark.parametrize("limit", [1])
def test_a_limited_run_maps_every_line(tmp_path: Path, limit: int) -> None:
    """A run that may stop early counts record by record: it never skips."""
    records = [rec("a"), rec("b")]
    run(tmp_path, records)
    plan = mapper.load(tmp_path / "m.yaml")
    from mapper.run.pipeline import known_lines
    from mapper.run.policy import RunOptions

    class Sink:
        known_line = staticmethod(lambda *_: True)

    assert known_lines(plan, Sink(), RunOptions(limit=limit)) is None  # type: ignore[arg-type]
    assert known_lines(plan, Sink(), RunOptions()) is not None  # type: ignore[arg-type]
