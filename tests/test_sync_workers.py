"""`mapper sync --workers N`: worker processes map a sync into an empty state, and the stage
applies their objects in this process.

Against a 1-process sync of the same input: the same output folder (bodies, rejects and report
but for its paths and durations), the same state rows (line digests included) and the same exit
code, on the inputs of tests/test_parallel.py cut into tiny parts (records on both sides of
every cut), where --fail-fast and --max-errors stop, with a `cursor:`, and with containers
sent in the same run. Also: a re-run on a state that knows lines maps in one process (its skip
path is faster), and it skips the lines a worker sync recorded.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sync_support import doc, write_mapping, write_records
from test_parallel import INPUTS, _invoke
from test_sync_cursor import MAPPINGS, records

from mapper.io import inputs as sources
from mapper.run import distributed, parts, partwork

ROWS = "SELECT tid, id, n, hash, usn, cursor, deleted, ref, line, mark FROM objects ORDER BY n"


@pytest.fixture(autouse=True)
def _tiny_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parts, "SPAN_BYTES", 97)
    monkeypatch.setattr(parts, "PART_RECORDS", 3)
    monkeypatch.setattr(sources, "STREAM_THRESHOLD", 3000)


@pytest.fixture
def worker_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many runs mapped in local worker processes (one entry per run)."""
    calls: list[int] = []
    original = distributed.run_local_workers

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(distributed, "run_local_workers", counted)
    return calls


def _normal(value: Any, folder: str) -> Any:
    """A report without durations, its paths made relative to the test's folder."""
    if isinstance(value, dict):
        return {k: _normal(v, folder) for k, v in value.items() if k != "durationSeconds"}
    if isinstance(value, list):
        return [_normal(v, folder) for v in value]
    if isinstance(value, str):
        return "" if value == folder else value.replace(folder + "/", "")
    return value


def _sync(mapping: Path, inputs: list[Path], folder: Path, workers: int, *options: str) -> tuple:
    """(exit code, the output folder's files, the state's object rows) of one sync."""
    folder.mkdir(exist_ok=True)
    state, out = folder / "s.db", folder / "out"
    code, _ = _invoke(
        "sync", mapping, *inputs, "--state", state, "-o", out, "--mode", "mirror",
        "--connection-id", "c", "--workers", workers, "-q", *options,
    )  # fmt: skip
    files: dict[str, Any] = {}
    for path in sorted(out.glob("*")) if out.exists() else []:
        data = path.read_text()
        if path.suffix == ".json":
            data = _normal(json.loads(data), str(folder))
        files[path.name] = data
    rows = sqlite3.connect(state).execute(ROWS).fetchall() if state.exists() else None
    return code, files, rows


def _both(mapping: Path, inputs: list[Path], tmp: Path, *options: str) -> tuple:
    one = _sync(mapping, inputs, tmp / "one", 1, *options)
    two = _sync(mapping, inputs, tmp / "two", 2, *options)
    return one, two


CASES = [(case, "defaults") for case in INPUTS]
CASES += [("untidy", "max-errors-2"), ("pages", "fail-fast"), ("commits", "set-associations")]
OPTIONS = {
    "defaults": [],
    "max-errors-2": ["--max-errors", "2"],
    "fail-fast": ["--fail-fast"],
    "set-associations": ["--associations", "set"],
}


@pytest.mark.parametrize(("case", "option"), CASES)
def test_workers_sync_what_one_process_syncs(
    case: str, option: str, tmp_path: Path, worker_runs: list[int]
) -> None:
    mapping, make = INPUTS[case]
    inputs = make(tmp_path)
    one, two = _both(mapping, inputs, tmp_path, *OPTIONS[option])
    assert two == one
    assert worker_runs == [1]  # (the 1-process run did not take that path)
    assert one[1].get("setObjects.jsonl") or one[0] != 0


def test_containers_sent_in_the_same_run_come_first(tmp_path: Path) -> None:
    """Documents naming spaces of the same run, some before their space: the order of the
    bodies (a container first) is decided here, over the parts the workers mapped."""
    found = [doc(f"d{i}", parent=f"s{i % 3}") for i in range(12)]
    found[5:5] = [doc(f"s{i}", kind="space") for i in range(3)]
    mapping = write_mapping(tmp_path)
    source = write_records(tmp_path / "in.jsonl", found)
    one, two = _both(mapping, [source], tmp_path)
    assert two == one
    assert '"reordered":' in json.dumps(one[1]["report.json"])


@pytest.mark.parametrize("path", sorted(MAPPINGS))
def test_each_records_cursor_value_comes_back_with_its_objects(tmp_path: Path, path: str) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPINGS[path]("upd"))
    source = write_records(tmp_path / "in.jsonl", records([5, 12, None, 9, *range(20), "x"]))
    one, two = _both(mapping, [source], tmp_path)
    assert two == one
    assert any(row[-1] is not None for row in one[2])  # (the marks are in the state)


def test_a_rerun_skips_the_lines_a_worker_sync_recorded(
    tmp_path: Path, worker_runs: list[int]
) -> None:
    """The state of a worker sync holds each line's digest; a re-run on it maps in one process
    and skips every line (nothing to send)."""
    mapping, make = INPUTS["commits"]  # (one plain rule: the shortcut records line digests)
    inputs = make(tmp_path)
    before = dict(partwork._CACHE)
    _sync(mapping, inputs, tmp_path / "w", 2)
    assert before == partwork._CACHE  # (the plan was seeded for the run only)
    code, files, rows = _sync(mapping, inputs, tmp_path / "w", 2)
    assert code == 0
    assert worker_runs == [1]  # the first run only
    assert len(rows) == 150
    assert all(row[-2] is not None for row in rows)
    assert files["report.json"]["sync"]["recordsKnown"] == 150
    assert "setObjects.jsonl" not in files


def test_fewer_workers_than_asked_is_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mapper.run import files

    monkeypatch.setattr(files, "max_workers", lambda: 1)
    mapping = write_mapping(tmp_path)
    source = write_records(tmp_path / "in.jsonl", [doc("d1")])
    code, err = _invoke(
        "sync", mapping, source, "--state", tmp_path / "s.db", "-o", tmp_path / "out",
        "--connection-id", "c", "--workers", 3,
    )  # fmt: skip
    assert code == 0
    assert "--workers 3: 1 worker processes" in err


def test_a_worker_that_dies_fails_the_run_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    work = distributed._local_work

    def dies_on_part_3(task: Any) -> Any:
        if task[0] == 3:
            os._exit(9)
        return work(task)

    monkeypatch.setattr(distributed, "_local_work", dies_on_part_3)
    mapping, make = INPUTS["commits"]
    code, files, rows = _sync(mapping, make(tmp_path), tmp_path / "w", 2)
    assert code == 4
    assert files == {}  # no output folder
    assert not rows  # no state was made (or its rows were rolled back)
    state, out = tmp_path / "w" / "s.db", tmp_path / "w" / "out"
    code, err = _invoke("sync", mapping, *make(tmp_path), "--state", state, "-o", out,
                        "--connection-id", "c", "--workers", 2)  # fmt: skip
    assert code == 4
    assert "run.worker-died" in err and "exit code 9" in err and ".tmp" not in err


CHAIN = """\
version: 1
name: chain
objects:
  - type: atlassian:space
    fields:
      id: "concat('s', id)"
      displayName: title
      url: "concat('https://example.test/s/', id)"
      createdAt: to_rfc3339(ts)
      lastUpdatedAt: to_rfc3339(ts)
      permissions: "permissions([principal('ATLASSIAN_WORKSPACE')])"
      atlassian:space: {key: "concat('s', id)", spaceType: "'global'", subtype: "'wiki'"}
  - type: atlassian:document
    fields:
      id: id
      displayName: title
      url: "concat('https://example.test/d/', id)"
      createdAt: to_rfc3339(ts)
      lastUpdatedAt: to_rfc3339(ts)
      parentKey: "entity_key('atlassian:space', concat('s', next))"
      permissions: "permissions([principal('ATLASSIAN_WORKSPACE')])"
      atlassian:document:
        type: {const: {category: DOCUMENT, mimeType: text/plain}}
        content: {const: {mimeType: text/plain, text: x}}
"""
PEOPLE = """\
version: 1
name: people
users:
  - name: user
    fields:
      externalId: id
      displayName: name
      emails: "[{value: email, primary: `true`}]"
"""


@pytest.mark.parametrize("option", [[], ["--hash-exclude", "lastUpdatedAt"]], ids=["", "exclude"])
def test_objects_worked_out_by_workers_take_every_path_of_the_stage(
    tmp_path: Path, option: list[str]
) -> None:
    """A clean mapping (its objects come back worked out, `sync.digested`) whose documents
    name the next record's space: each waits in the held table for it; ids come twice (the
    second is decided as a known id), and the last document's space is never sent."""
    mapping = tmp_path / "m.yaml"
    mapping.write_text(CHAIN)
    found = [doc(f"d{i}", next=f"d{i + 1}", day=i % 28 + 1) for i in range(30)]
    found[12:12] = [doc("d3", title="again", next="d4"), doc("d5", next="d6")]  # twice each
    source = write_records(tmp_path / "in.jsonl", found)
    one, two = _both(mapping, [source], tmp_path, *option)
    assert two == one
    report = json.dumps(one[1]["report.json"])
    for finding in ('"reordered": 3', "sync.duplicate-id", "sync.dangling-reference"):
        assert finding.replace(": 3", "") in report  # (each path was taken)


def test_users_worked_out_by_workers_go_to_their_own_bodies(tmp_path: Path) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text(PEOPLE)
    people = [{"id": f"U{i}", "name": f"n{i}", "email": f"u{i}@example.test"} for i in range(20)]
    people.insert(9, dict(people[2]))  # listed again as it was: no finding
    source = write_records(tmp_path / "in.jsonl", people)
    one, two = _both(mapping, [source], tmp_path)
    assert two == one
    assert one[1]["setUsers.jsonl"].count('"externalId"') == 20


def test_a_piped_export_records_no_line_digests_as_in_one_process(tmp_path: Path) -> None:
    """Standard input is read by the parent and its lines mapped by the workers; as in one
    process, its lines get no digests (a piped input always maps every record)."""
    from typer.testing import CliRunner

    from mapper.cli import app

    mapping, make = INPUTS["commits"]
    data = make(tmp_path)[0].read_bytes()
    seen = []
    for workers in (1, 2):
        folder = tmp_path / f"w{workers}"
        args = ["sync", str(mapping), "-", "--state", str(folder / "s.db"), "-o",
                str(folder / "out"), "--connection-id", "c", "--workers", str(workers), "-q"]  # fmt: skip
        result = CliRunner().invoke(app, args, input=data)
        assert result.exit_code == 0, result.stderr
        rows = sqlite3.connect(folder / "s.db").execute(ROWS).fetchall()
        seen.append((rows, (folder / "out" / "setObjects.jsonl").read_bytes()))
    assert seen[1] == seen[0]
    assert len(seen[0][0]) == 150
    assert all(row[-2] is None for row in seen[0][0])


def test_a_body_with_an_integer_beyond_64_bits_among_worked_out_objects(tmp_path: Path) -> None:
    """One record's object holds an integer orjson cannot write: its body is written by the
    standard library's encoder, which gets the worked-out objects beside it parsed back."""
    from test_parallel import W1

    mapping = tmp_path / "m.yaml"
    mapping.write_text(W1.read_text().replace("fileCount: length(files)", "fileCount: comment"))
    lines = INPUTS["commits"][1](tmp_path)[0].read_text().splitlines()
    found = [json.loads(line) | {"comment": 7} for line in lines[:6]]
    found[3]["comment"] = 2**70 + 5
    source = write_records(tmp_path / "in.jsonl", found)
    one, two = _both(mapping, [source], tmp_path)
    assert two == one
    assert one[0] == 0
    assert '"fileCount":1180591620717411303429' in one[1]["setObjects.jsonl"]


@pytest.mark.parametrize("limit", ["0", "3"])
def test_a_run_that_stops_records_the_digests_one_process_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: str
) -> None:
    """`--max-errors` stops the run inside a part, which this process maps again itself: its
    records carry their digests too, as the workers' do."""
    monkeypatch.setattr(parts, "SPAN_BYTES", 9000)  # (a dozen records: some before the stop)
    lines = INPUTS["commits"][1](tmp_path)[0].read_text().splitlines(keepends=True)
    for at in (140, 100, 60, 20):
        lines.insert(at, '{"sha": "broken",\n')
    source = tmp_path / "in.jsonl"
    source.write_text("".join(lines))
    mapping = INPUTS["commits"][0]
    one, two = _both(mapping, [source], tmp_path, "--max-errors", limit)
    assert two == one
    assert one[2] and all(row[-2] is not None for row in one[2])


def test_excluded_fields_go_last_in_the_same_order_whatever_the_hash_seed(tmp_path: Path) -> None:
    """The stage puts the fields it leaves out of the hash back last; with several, their order
    no longer follows the process's string hashes (seeds 0 and 1 order this set differently)."""
    import os
    import subprocess
    import sys

    mapping, make = INPUTS["commits"]
    source = make(tmp_path)[0]
    bodies = []
    for seed in ("0", "1"):
        out = tmp_path / f"out{seed}"
        cmd = [sys.executable, "-m", "mapper", "sync", str(mapping), str(source), "--state",
               str(tmp_path / f"s{seed}.db"), "-o", str(out), "--connection-id", "c",
               "--hash-exclude", "url", "-q"]  # fmt: skip
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=120)
        bodies.append((out / "setObjects.jsonl").read_bytes())
    assert bodies[0] == bodies[1]


def test_a_rerun_whose_lines_cannot_be_skipped_maps_in_workers(
    tmp_path: Path, worker_runs: list[int]
) -> None:
    """A mapping with `where:` rules has no skip path: on a state that holds its objects,
    workers map again, and decide as one process does (changed, unchanged, gone)."""
    mapping = write_mapping(tmp_path)
    runs = [[doc(f"d{i}") for i in range(30)], [doc(f"d{i}", title="x" if i % 3 else "t")
            for i in range(0, 30, 2)]]  # fmt: skip
    for n, found in enumerate(runs):
        source = write_records(tmp_path / f"in{n}.jsonl", found)
        one = _sync(mapping, [source], tmp_path / "one", 1, "--allow-mass-delete")
        two = _sync(mapping, [source], tmp_path / "two", 2, "--allow-mass-delete")
        assert two == one, f"run {n}"
    assert worker_runs == [1, 1]
    assert "deleteObjects.jsonl" in one[1]


def test_workers_not_used_are_said(tmp_path: Path) -> None:
    mapping, make = INPUTS["commits"]
    inputs = make(tmp_path)
    common = ["--state", tmp_path / "s.db", "-o", tmp_path / "out", "--connection-id", "c"]
    assert _invoke("sync", mapping, *inputs, *common, "-q")[0] == 0
    code, err = _invoke("sync", mapping, *inputs, *common, "--workers", 2)
    assert code == 0
    assert "--workers 2: one process maps, since the state knows lines" in err
