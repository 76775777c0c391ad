"""SIGKILL a real `mapper sync` at each named crash point: afterwards the state is as before or
as after the run, the output folder is the previous one, this run's, or absent, and a re-run
writes exactly what an uninterrupted run writes.

The process kills itself (`MAPPER_SYNC_CRASH_AT=<point>`), so the points are exact, not timed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sync_support import doc, write_mapping, write_records

from mapper.sync.crash import CRASH_ENV, POINTS
from mapper.sync.inspect import iter_rows
from mapper.sync.state import StateStore

CMD = [sys.executable, "-m", "mapper", "sync"]
N = 1500  # more than one chunk, so `objects-written` is reached


def _records(changed: int) -> list[dict[str, Any]]:
    """The source of the second run: some changed, the last 100 gone, 50 new."""
    recs = [doc(f"id{i:04d}", "t" if i >= changed else "changed", day=1 + i % 20) for i in range(N)]
    return recs[:-100] + [doc(f"new{i}") for i in range(50)]


def _sync(tmp: Path, src: Path, point: str | None = None) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ)
    env.pop(CRASH_ENV, None)
    if point:
        env[CRASH_ENV] = point
    args = [str(tmp / "m.yaml"), str(src), "--state", str(tmp / "s.db"), "-o", str(tmp / "out")]
    args += ["--mode", "mirror", "--connection-id", "c1", "--quiet"]
    return subprocess.run([*CMD, *args], env=env, capture_output=True, timeout=120, check=False)


def _state(path: Path) -> tuple[dict[str, str], list[dict[str, Any]], int]:
    store = StateStore.open_for_reading(path)
    try:
        return dict(store.meta), list(iter_rows(store)), store.next_run()
    finally:
        store.close()


def _outputs(folder: Path) -> dict[str, Any]:
    if not folder.exists():
        return {}
    files = sorted(p for p in folder.iterdir() if p.suffix == ".jsonl" and "Objects" in p.name)
    return {p.name: [json.loads(line) for line in p.read_text().splitlines()] for p in files}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A state after run 1, and what an uninterrupted run 2 writes and leaves."""
    base = tmp_path_factory.mktemp("base")
    write_mapping(base)
    first = write_records(
        base / "run1.jsonl", [doc(f"id{i:04d}", day=1 + i % 20) for i in range(N)]
    )
    second = write_records(base / "run2.jsonl", _records(changed=700))
    assert _sync(base, first).returncode == 0
    before = {"state": _state(base / "s.db"), "out": _outputs(base / "out")}
    reference = base.parent / "reference"
    shutil.copytree(base, reference)
    assert _sync(reference, second).returncode == 0
    after = {"state": _state(reference / "s.db"), "out": _outputs(reference / "out")}
    assert after["out"] != before["out"]
    return {"base": base, "first": first, "second": second, "before": before, "after": after}


CHEAP_POINT = "outputs-committed"  # between the outputs and the state commit: run by default
KILL_POINTS = [
    pytest.param(p, marks=() if p == CHEAP_POINT else pytest.mark.slow) for p in POINTS
]  # the others are kill tests like tests/test_crash.py: `-m slow`


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_killed_sync_leaves_before_or_after_and_a_rerun_converges(
    prepared: dict[str, Any], tmp_path: Path, point: str
) -> None:
    work = tmp_path / "w"
    shutil.copytree(prepared["base"], work)
    killed = _sync(work, prepared["second"], point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()
    state = _state(work / "s.db")
    before, after = prepared["before"], prepared["after"]
    assert state in (before["state"], after["state"])
    assert _outputs(work / "out") in ({}, before["out"], after["out"])
    if point == "state-committed":
        assert state == after["state"] and _outputs(work / "out") == after["out"]
        return
    assert state == before["state"]  # nothing committed: the re-run decides the same
    rerun = _sync(work, prepared["second"])
    assert rerun.returncode == 0, rerun.stderr.decode()
    assert _state(work / "s.db") == after["state"]
    assert _outputs(work / "out") == after["out"]
    assert not list(work.glob(".out.sync-*"))  # leftovers of the killed run are gone


@pytest.mark.slow
@pytest.mark.parametrize("point", ["objects-written", "outputs-committed"])
def test_a_killed_first_sync_converges(
    prepared: dict[str, Any], tmp_path: Path, point: str
) -> None:
    write_mapping(tmp_path)
    killed = _sync(tmp_path, prepared["first"], point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()
    _, rows, next_run = _state(tmp_path / "s.db")  # a whole, empty state: as if none
    assert rows == [] and next_run == 1
    assert _sync(tmp_path, prepared["first"]).returncode == 0
    assert _outputs(tmp_path / "out") == prepared["before"]["out"]
    assert _state(tmp_path / "s.db")[1:] == prepared["before"]["state"][1:]


def test_a_stop_signal_while_the_run_is_committed_lets_it_finish(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C between committing the output folder and the state would leave the folder of a
    run the state does not hold: from the folder's commit on, it is noted, not acted on."""
    from sync_support import sync

    from mapper.sync import runner

    def interrupted_at(name: str) -> None:
        if name == "outputs-committed":
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(runner, "crash_point", interrupted_at)
    done = sync(tmp_path, [doc("d1"), doc("d2")])
    assert len(done.sets) == 2
    assert any("stop signal" in note for note in done.result.sync.notes)
    again = sync(tmp_path, [doc("d1"), doc("d2")])  # the state holds the run: nothing to send
    assert again.sets == []
