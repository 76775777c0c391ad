"""The cycle collector during a sync run (`sync/collector.py`): the gen-0 threshold is raised
while the stage holds chunks, and the thresholds found are back when the run ends."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from sync_support import doc, sync

from mapper.sync.collector import HELD_THRESHOLD, fewer_collections
from mapper.sync.stage import SyncStage


@pytest.fixture
def thresholds() -> Iterator[tuple[int, int, int]]:
    """Small thresholds for the test, and the interpreter's own put back after it."""
    found = gc.get_threshold()
    gc.set_threshold(700, 9, 8)
    try:
        yield gc.get_threshold()
    finally:
        gc.set_threshold(*found)


def test_the_threshold_is_raised_and_put_back(thresholds: tuple[int, int, int]) -> None:
    with fewer_collections():
        assert gc.get_threshold() == (HELD_THRESHOLD, 9, 8)
    assert gc.get_threshold() == thresholds


def test_a_higher_threshold_is_kept(thresholds: tuple[int, int, int]) -> None:
    gc.set_threshold(HELD_THRESHOLD * 2, 9, 8)
    with fewer_collections():
        assert gc.get_threshold() == (HELD_THRESHOLD * 2, 9, 8)
    assert gc.get_threshold() == (HELD_THRESHOLD * 2, 9, 8)


def test_the_thresholds_are_put_back_when_the_run_fails(thresholds: tuple[int, int, int]) -> None:
    with pytest.raises(KeyError), fewer_collections():
        raise KeyError("x")
    assert gc.get_threshold() == thresholds


def test_a_sync_run_decides_its_chunks_under_the_raised_threshold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, thresholds: tuple[int, int, int]
) -> None:
    during: list[tuple[int, int, int]] = []
    flush = SyncStage.flush

    def spy(stage: SyncStage) -> None:
        during.append(gc.get_threshold())
        flush(stage)

    monkeypatch.setattr(SyncStage, "flush", spy)
    out = sync(tmp_path, [doc(f"d{i}") for i in range(2500)])
    assert len(out.sets) == 2500
    assert during and set(during) == {(HELD_THRESHOLD, 9, 8)}
    assert gc.get_threshold() == thresholds


def test_a_failed_sync_run_puts_the_thresholds_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, thresholds: tuple[int, int, int]
) -> None:
    def fail(stage: SyncStage) -> None:
        raise RuntimeError("crash in the stage")

    monkeypatch.setattr(SyncStage, "flush", fail)
    with pytest.raises(RuntimeError):
        sync(tmp_path, [doc("a")])
    assert gc.get_threshold() == thresholds
