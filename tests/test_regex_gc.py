"""A regex_* call never fails because the garbage collector ran while it matched.

The time limit of a match (`REGEX_TIMEOUT_S`) is wall-clock time, so a collection pause inside
the call would count against the pattern. These tests make every collection slow and frequent
during matching; a record must still map.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator

import pytest

from mapper.functions import MapperFunctions

PAUSE_S = 0.02  # per collection; the limit below is shorter than a few of these


@pytest.fixture
def slow_collections() -> Iterator[None]:
    """Every 10th allocation of a container triggers a collection, and each takes PAUSE_S."""

    def pause(phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            time.sleep(PAUSE_S)

    threshold = gc.get_threshold()
    was_enabled = gc.isenabled()
    gc.enable()
    gc.callbacks.append(pause)
    gc.set_threshold(10, 1, 1)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.callbacks.remove(pause)
        if not was_enabled:
            gc.disable()


TEXT = " ".join(f"#{i} item" for i in range(60))


@pytest.mark.usefixtures("slow_collections")
@pytest.mark.parametrize(
    ("function", "args"),
    [
        ("regex_find_all", [TEXT, "#(\\d+)"]),
        ("regex_replace", [TEXT, "#(\\d+)", "n\\1"]),
        ("regex_extract", [TEXT, "(\\d+) item$"]),
        ("regex_test", [TEXT, "59 item$"]),
    ],
)
def test_collections_do_not_count_against_the_time_limit(function: str, args: list[str]) -> None:
    functions = MapperFunctions(regex_timeout_s=PAUSE_S * 2)
    result = functions.call_function(function, args)
    assert result not in (None, [])


def test_the_collector_is_back_on_after_a_match() -> None:
    functions = MapperFunctions()
    assert gc.isenabled()
    functions.call_function("regex_find_all", ["a1b2", "\\d"])
    assert gc.isenabled()
    gc.disable()
    try:
        functions.call_function("regex_find_all", ["a1b2", "\\d"])
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()
