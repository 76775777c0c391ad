"""The sync stage's fast path for ids new to the state (`stage.FAST_NEW`: `_decide_chunk`'s loop)
against its general path (`_decide`, one entry at a time): every run of each scenario must write
the same setObjects and delete bodies, the same report and the same state rows either way."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sync_support import doc, read_output, sync, write_records

import mapper
from mapper.sync.runner import SyncRequest, sync_files
from mapper.sync.stage import Mode
from mapper.sync.state import StateStore

COMMITS = """\
version: 1
name: sync-fast-commits
objects:
  - type: atlassian:commit
    fields:
      id: id
      displayName: id
      description: msg
      url: "concat('https://example.test/c/', id)"
      createdAt: to_rfc3339(ts)
      lastUpdatedAt: to_rfc3339(ts)
      updateSequenceNumber: usn
      containerKey: "entity_key_as('atlassian:repository', 'repositoryId', repo)"
      permissions: "permissions([principal('ATLASSIAN_WORKSPACE')])"
      atlassian:commit:
        hash: id
        displayId: id
        message: msg
        author: "user_ref('dev', 'dev@example.test')"
        authorTimestamp: to_rfc3339(ts)
"""


def commit(i: int, msg: str = "m", usn: int | None = None, day: int = 1) -> dict[str, Any]:
    return {"id": f"c{i:05d}", "repo": f"acme/r{i % 3}", "msg": msg, "usn": usn,
            "ts": f"2024-02-{day:02d}T00:00:{i % 60:02d}Z"}  # fmt: skip


def commit_runs() -> list[tuple[list[dict[str, Any]], Mode]]:
    first = [commit(i, usn=i + 1) for i in range(2300)]
    first[700] = commit(5, "again", usn=1)  # a duplicate in the same chunk, number lower
    first[1900] = commit(6, "later", usn=3)  # a duplicate two chunks later
    second = [
        commit(i, "changed" if i % 97 == 0 else "m", usn=i + 1, day=2) for i in range(40, 2400)
    ]
    return [(first, Mode.mirror), (second, Mode.mirror), (second[:1500], Mode.append)]


def document_runs() -> list[tuple[list[dict[str, Any]], Mode]]:
    spaces = [doc(f"S{i}", kind="space") for i in range(3)]
    docs = [doc(f"d{i}", day=1 + i % 28, parent=f"S{i % 5}") for i in range(1800)]  # S3, S4: none
    docs[900] = doc("d3", "again", parent="S1")
    late = [doc("late", parent="S9"), doc("S9", kind="space")]  # the container comes after
    first = docs[:600] + spaces + docs[600:] + late
    second = [doc(f"d{i}", "new" if i % 50 == 0 else "t", day=1 + i % 28, parent=f"S{i % 4}")
              for i in range(100, 2100)] + [doc("S3", kind="space")]  # fmt: skip
    return [(first, Mode.mirror), (second, Mode.upsert), (first, Mode.append)]


SCENARIOS = {"commits": (COMMITS, commit_runs), "documents": (None, document_runs)}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_the_fast_path_gives_what_the_general_path_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scenario: str
) -> None:
    mapping, make_runs = SCENARIOS[scenario]
    runs = make_runs()
    outputs = {}
    for fast in (True, False):
        monkeypatch.setattr("mapper.sync.stage.FAST_NEW", fast)
        folder = tmp_path / str(fast)
        folder.mkdir()
        if mapping is not None:
            (folder / "m.yaml").write_text(mapping)
        outputs[fast] = [_written(folder, sync(folder, records, mode)) for records, mode in runs]
    for run, (fast, general) in enumerate(zip(outputs[True], outputs[False], strict=True)):
        for part in fast:
            assert fast[part] == general[part], f"run {run + 1}: {part} differs"
    first = outputs[True][0]["report"]
    assert first["sync"]["total"]["created"] > 1000  # (the fast path is taken at all)
    assert first["run"]["records"]["rejected"] == 0


def _written(folder: Path, out: Any) -> dict[str, Any]:
    """What a run wrote that must not depend on the path: bodies, report, state rows."""
    text = (folder / "out" / "report.json").read_text().replace(str(folder), "FOLDER")
    report = json.loads(text)
    report["run"].pop("durationSeconds")
    conn = sqlite3.connect(folder / "s.db")
    try:
        tables = {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
            for table in ("objects", "meta", "types")
        }
        tables["runs"] = conn.execute("SELECT run, mode, full, summary, seen FROM runs").fetchall()
    finally:
        conn.close()
    return {"sets": out.set_batches, "deletes": out.deletes, "report": report, **tables}


def first_runs_with_duplicates() -> list[tuple[list[dict[str, Any]], Mode]]:
    """First runs into an empty state whose ids come again: in the same chunk, chunks later,
    unchanged from another line (its line digest is recorded again), changed in append mode
    (held back: its cursor moves)."""
    records = [commit(i, usn=i + 1) for i in range(1500)]
    records[40] = commit(7, "again", usn=2)  # same chunk, changed, number lower
    records[1200] = commit(9, usn=10)  # chunks later, unchanged, the same line
    records[1300] = {**commit(11, usn=12), "unmapped": 1}  # unchanged, another line
    records[1400] = commit(13, "later", usn=99, day=3)  # chunks later, changed
    records.append(commit(1200, "last"))  # the id the duplicate above replaced
    return [(records, Mode.mirror), (records[::-1], Mode.mirror), (records, Mode.append)]


@pytest.mark.parametrize("mode", [Mode.mirror, Mode.append])
def test_a_first_run_that_builds_the_key_index_at_the_end_gives_what_the_index_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: Mode
) -> None:
    """`stage.KEY_INDEX_LATE`: a run into an empty state puts its rows by number, finds its
    own rows by number (`FreshIds`), and makes the (type, id) index at the end; it must decide,
    write and record what a run with the index from the start does (and the runs after it)."""
    runs = [(records, mode if i == 0 else m) for i, (records, m) in enumerate(
        first_runs_with_duplicates())]  # fmt: skip
    dropped: list[bool] = []
    drop = StateStore.drop_key_index

    def spy(store: StateStore) -> None:
        dropped.append(True)
        drop(store)

    monkeypatch.setattr(StateStore, "drop_key_index", spy)
    outputs = {}
    for late in (True, False):
        monkeypatch.setattr("mapper.sync.stage.KEY_INDEX_LATE", late)
        folder = tmp_path / str(late)
        folder.mkdir()
        (folder / "m.yaml").write_text(COMMITS)
        outputs[late] = []
        for records, run_mode in runs:
            written = _written(folder, sync(folder, records, run_mode))
            conn = sqlite3.connect(folder / "s.db")
            written["indexes"] = conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type='index' ORDER BY name"
            ).fetchall()
            conn.close()
            outputs[late].append(written)
    assert dropped == [True]  # (only the first run of the late side left the index out)
    for run, (late, kept) in enumerate(zip(outputs[True], outputs[False], strict=True)):
        for part in late:
            assert late[part] == kept[part], f"run {run + 1}: {part} differs"
    first = outputs[True][0]["report"]["sync"]
    assert {f["code"]: f["count"] for f in first["findings"]}["sync.duplicate-id"] == 4
    assert first["total"]["unchanged"] == 2


def test_every_dangling_reference_is_counted_and_the_first_are_kept(tmp_path: Path) -> None:
    """Past its examples and the errors --strict shows, a dangling reference is only counted
    (a chunk's count added at once): the count is still one per object, and the ones kept are
    the first in input order."""
    (tmp_path / "m.yaml").write_text(COMMITS)
    out = sync(tmp_path, [commit(i, usn=i + 1) for i in range(1234)])
    report = out.result.sync
    assert report.findings["sync.dangling-reference"] == 1234
    assert [e.split("'")[1] for e in report.examples["sync.dangling-reference"]] == [
        "c00000", "c00001", "c00002",
    ]  # fmt: skip
    assert len(report.errors) == 20
    assert "'c00019'" in report.errors[-1].message
    assert len(out.sets) == 1234


SOURCED = COMMITS.replace(
    "      displayName: id\n", "      displayName: \"concat(id, ' from ', source())\"\n"
)  # (a field that reads the functions' context: the record's own source)


@pytest.mark.parametrize("mapping", [COMMITS, SOURCED], ids=["no-context", "context"])
def test_the_shortcut_of_one_rule_gives_what_the_general_path_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mapping: str
) -> None:
    """A sync of a one-rule mapping whose fields cannot read the functions' context maps each
    clean record without making one (`pipeline._clean_payloads`); a mapping that reads it gets
    it per record. Either way the runs write what the general path (no shortcut) writes (but
    for the line digests, which only the shortcut records)."""
    runs = commit_runs()[:2]  # (a third run would find known lines on the shortcut's side)
    outputs = {}
    for shortcut in (True, False):
        if not shortcut:
            monkeypatch.setattr("mapper.run.pipeline.clean_path", lambda *_: None)
        folder = tmp_path / str(shortcut)
        folder.mkdir()
        (folder / "m.yaml").write_text(mapping)
        outputs[shortcut] = []
        for records, mode in runs:
            _, *parts = records  # (two inputs: a stale context would name the other one)
            first = write_records(folder / "a.jsonl", records[:1])
            second = write_records(folder / "b.jsonl", parts)
            plan = mapper.load(folder / "m.yaml")
            request = SyncRequest(state=folder / "s.db", output=folder / "out", mode=mode,
                                  connection_id="conn-1")  # fmt: skip
            monkeypatch.chdir(folder)  # (the sources as given: the same on both sides)
            result = sync_files(plan, [first.name, second.name], request)
            written = _written(folder, read_output(folder / "out", result))
            written["objects"] = [row[:9] + row[10:] for row in written["objects"]]  # (no line
            outputs[shortcut].append(written)  # digest without the shortcut: `lines.py`)
    for run, (fast, general) in enumerate(zip(outputs[True], outputs[False], strict=True)):
        for part in fast:
            assert fast[part] == general[part], f"run {run + 1}: {part} differs"
    names = [o["displayName"] for b in outputs[True][0]["sets"] for o in b["objects"]]
    if mapping is SOURCED:
        assert names[0] == "c00000 from a.jsonl" and names[-1].endswith(" from b.jsonl")
