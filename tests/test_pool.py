"""`run.pool.Pool`: results in task order, and a worker never waits for the caller."""

from __future__ import annotations

import multiprocessing as mp
from typing import Any, NamedTuple

import pytest

from mapper.run.pool import Pool

pytestmark = pytest.mark.skipif(
    "fork" not in mp.get_all_start_methods(), reason="the workers inherit the test's functions"
)
CTX = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
_STARTED: dict[str, Any] = {}  # (set before the workers are forked)


class Result(NamedTuple):
    number: int
    value: Any


def _setup() -> None:
    pass


def _square(task: tuple[int, Any]) -> Result:
    number, value = task
    if value == "boom":
        raise ValueError("boom")
    started = _STARTED.get("events")
    if started is not None:
        started[number].set()
    return Result(number, value * value)


def _pool(workers: int) -> Pool:
    return Pool(CTX, workers, _setup, (), _square, "")


@pytest.mark.parametrize("workers", [1, 2, 3])
@pytest.mark.parametrize("window", [1, 2, 8])
def test_results_come_in_task_order(workers: int, window: int) -> None:
    pool = _pool(workers)
    try:
        got = [r.value for r in pool.imap(enumerate(range(20)), window)]
    finally:
        pool.close(graceful=False)
    assert got == [v * v for v in range(20)]


def test_a_worker_gets_its_next_task_before_the_caller_works_on_its_result() -> None:
    """With one worker, the caller's work on a result and the worker's on the next task overlap
    (the worker waited for the caller: a sync with one mapping process ran serially)."""
    assert CTX is not None
    events = [CTX.Event() for _ in range(3)]
    _STARTED["events"] = events
    pool = _pool(1)
    try:
        results = pool.imap(enumerate(range(3)), 4)
        first = next(results)
        assert first.number == 0
        assert events[1].wait(timeout=30)  # task 1 began while the caller holds result 0
        assert [r.number for r in results] == [1, 2]
    finally:
        _STARTED.clear()
        pool.close(graceful=False)


def test_a_failing_task_stops_the_results_with_its_traceback() -> None:
    pool = _pool(2)
    try:
        with pytest.raises(RuntimeError, match="part 1") as failed:
            list(pool.imap(enumerate([1, "boom", 3]), 4))
    finally:
        pool.close(graceful=False)
    assert "ValueError: boom" in str(failed.value)
