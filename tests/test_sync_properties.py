"""Property: sync runs applied to a simulated Teamwork Graph converge on the source.

Random sequences of source snapshots (ids appearing, changing, vanishing, reappearing,
duplicated, timestamps going backwards) are synced one after the other; every setObjects and
delete batch is applied to a simulated store with last-write-wins on updateSequenceNumber
(an equal or lower number is discarded, and a deleted id remembers its number). Then:

* mirror: the store holds exactly the last snapshot (the later of duplicates);
* upsert: every id ever seen, with its latest content;
* append: every id ever seen, with the content it had when first seen;
* no emitted object is ever discarded, and numbers never decrease per id.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sync_support import Output, doc, sync

from mapper.sync.stage import Mode

IDS = ["a", "b", "c", "d", "e"]
TITLES = ["one", "two", "three"]
PROFILE_EXAMPLES = settings().max_examples
MAX_EXAMPLES = (
    PROFILE_EXAMPLES if PROFILE_EXAMPLES > 60 else min(PROFILE_EXAMPLES, 40)
)  # each runs syncs

Row = tuple[str, str, int]  # id, title, day
snapshots = st.lists(
    st.lists(
        st.tuples(st.sampled_from(IDS), st.sampled_from(TITLES), st.integers(1, 6)), max_size=7
    ),
    min_size=1,
    max_size=6,
)


@dataclass
class SimulatedGraph:
    """Objects by id with last-write-wins on updateSequenceNumber; deletes keep the number."""

    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    numbers: dict[str, int] = field(default_factory=dict)
    discarded: list[str] = field(default_factory=list)

    def apply(self, out: Output) -> None:
        for obj in out.sets:
            number = obj["updateSequenceNumber"]
            if obj["id"] in self.numbers and number <= self.numbers[obj["id"]]:
                self.discarded.append(obj["id"])
                continue
            self.objects[obj["id"]] = obj
            self.numbers[obj["id"]] = number
        for body in out.deletes:
            for oid in body["externalIds"]:
                self.objects.pop(oid)

    def contents(self) -> dict[str, tuple[str, str]]:
        return {i: (o["displayName"], o["lastUpdatedAt"][8:10]) for i, o in self.objects.items()}


def _content(row: Row) -> tuple[str, str]:
    return row[1], f"{row[2]:02d}"


def expected(history: list[list[Row]], mode: Mode) -> dict[str, tuple[str, str]]:
    """What the graph must hold after syncing `history` in `mode`."""
    if mode is Mode.mirror:
        return {r[0]: _content(r) for r in history[-1]}
    seen: dict[str, tuple[str, str]] = {}
    for snapshot in history:
        for row in snapshot:
            if mode is Mode.upsert or row[0] not in seen:
                seen[row[0]] = _content(row)
    return seen


def _run(history: list[list[Row]], mode: Mode) -> None:
    graph = SimulatedGraph()
    emitted: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n, snapshot in enumerate(history):
            records = [doc(oid, title, day) for oid, title, day in snapshot]
            out = sync(Path(tmp), records, mode, allow_mass_delete=True)
            for obj in out.sets:
                assert obj["updateSequenceNumber"] > emitted.get(obj["id"], -1)
                emitted[obj["id"]] = obj["updateSequenceNumber"]
            graph.apply(out)
            assert graph.discarded == []
            assert graph.contents() == expected(history[: n + 1], mode)


@settings(max_examples=MAX_EXAMPLES)
@given(snapshots)
def test_mirror_converges_on_the_last_snapshot(history: list[list[Row]]) -> None:
    _run(history, Mode.mirror)


@settings(max_examples=MAX_EXAMPLES)
@given(snapshots)
def test_upsert_holds_the_latest_of_every_id_ever_seen(history: list[list[Row]]) -> None:
    _run(history, Mode.upsert)


@settings(max_examples=MAX_EXAMPLES)
@given(snapshots)
def test_append_holds_the_first_version_of_every_id_ever_seen(history: list[list[Row]]) -> None:
    _run(history, Mode.append)
