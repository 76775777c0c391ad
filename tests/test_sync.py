"""mapper sync: modes, sequence numbers, duplicates, references, deletes, partial runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from sync_support import deleted_ids, doc, sync

from mapper.sync.deletes import MAX_IDS_PER_DELETE, SyncStopped, delete_bodies
from mapper.sync.keys import references
from mapper.sync.seen import Seen
from mapper.sync.stage import Mode, canonical_json, content_hash, is_later
from mapper.sync.state import StateStore

# -- the pure parts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ({"id": "x", "n": 1}, {"n": 1, "id": "x"}, True),  # key order does not matter
        ({"id": "x", "updateSequenceNumber": 1}, {"id": "x", "updateSequenceNumber": 2}, True),
        ({"id": "x", "v": {"b": 1, "a": 2}}, {"id": "x", "v": {"a": 2, "b": 1}}, True),
        ({"id": "x", "n": 1}, {"id": "x", "n": 2}, False),
        ({"id": "x", "lastUpdatedAt": "a"}, {"id": "x", "lastUpdatedAt": "b"}, False),
        ({"id": "x", "big": 2**70}, {"id": "x", "big": 2**70}, True),  # beyond 64 bits
    ],
)
def test_content_hash(a: dict[str, object], b: dict[str, object], same: bool) -> None:
    assert (content_hash(a) == content_hash(b)) is same


def test_canonical_json_leaves_out_the_sequence_number() -> None:
    assert canonical_json({"b": 1, "a": 2, "updateSequenceNumber": 9}) == b'{"a":2,"b":1}'


@pytest.mark.parametrize(
    ("payload", "found"),
    [
        ({"parentKey": {"type": "t:a", "value": {"entityId": "p"}}}, [("parentKey", "t:a", "p", False)]),
        ({"containerKey": {"type": "t:r", "value": {"repositoryId": "r"}}},
         [("containerKey", "t:r", "r", False)]),
        ({"containerKey": {"type": "atlassian:commit", "value": {"repositoryId": "r", "commitHash": "h"}}},
         [("containerKey", "atlassian:commit", None, True)]),  # composed: checked by its digest
        ({"containerKey": {"type": "t:c", "value": {"repositoryId": "r", "commitHash": "h"}}},
         [("containerKey", "t:c", None, False)]),  # composed, of a type mapper cannot check
        ({"parentKey": None}, []),
        ({}, []),
    ],
)  # fmt: skip
def test_references(payload: dict[str, object], found: list[object]) -> None:
    assert [(r.field, r.type, r.id, r.ref is not None) for r in references(payload)] == found


def test_delete_bodies_hold_at_most_100_ids_of_one_type() -> None:
    unseen = [("t:a", f"a{i:03d}") for i in range(250)] + [("t:b", "b1")]
    bodies = list(delete_bodies(iter(unseen)))
    assert [(b.object_type, len(b.external_ids)) for b in bodies] == [
        ("t:a", MAX_IDS_PER_DELETE), ("t:a", MAX_IDS_PER_DELETE), ("t:a", 50), ("t:b", 1),
    ]  # fmt: skip
    assert bodies[0].to_dict("c")["connectionId"] == "c"


# -- runs -----------------------------------------------------------------------------------------


def test_the_same_export_twice_sends_nothing_the_second_time(tmp_path: Path) -> None:
    records = [doc("a"), doc("b")]
    first = sync(tmp_path, records, Mode.mirror)
    assert [o["id"] for o in first.sets] == ["a", "b"]
    assert first.set_batches[0]["connectionId"] == "conn-1"
    second = sync(tmp_path, records, Mode.mirror)
    assert second.sets == [] and second.deletes == []
    assert second.result.sync.totals().unchanged == 2
    assert not (tmp_path / "out" / "setObjects.jsonl").exists()  # no payload of run 1 is left


def test_a_record_deleted_at_the_source_gets_exactly_one_delete(tmp_path: Path) -> None:
    sync(tmp_path, [doc("a"), doc("b"), doc("c")], Mode.mirror)
    out = sync(tmp_path, [doc("a"), doc("c")], Mode.mirror)
    assert out.deletes == [
        {"objectType": "atlassian:document", "externalIds": ["b"], "connectionId": "conn-1"}
    ]
    assert out.result.sync.counts("atlassian:document").deleted == 1
    assert deleted_ids(sync(tmp_path, [doc("a"), doc("c")], Mode.mirror)) == []  # only once


@pytest.mark.parametrize(
    ("mode", "sent", "held_back"),
    [
        (Mode.append, ["c"], 1),  # append: new ids only; the change of a is held back
        (Mode.upsert, ["a", "c"], 0),
        (Mode.mirror, ["a", "c"], 0),
    ],
)
def test_modes(tmp_path: Path, mode: Mode, sent: list[str], held_back: int) -> None:
    sync(tmp_path, [doc("a"), doc("b")], mode)
    out = sync(tmp_path, [doc("a", "changed", day=2), doc("c")], mode, allow_mass_delete=True)
    assert [o["id"] for o in out.sets] == sent
    assert out.result.sync.totals().held_back == held_back
    assert deleted_ids(out) == (["b"] if mode is Mode.mirror else [])


def test_a_changed_object_whose_number_went_back_gets_last_plus_one(tmp_path: Path) -> None:
    first = sync(tmp_path, [doc("a", day=5)])
    usn = first.sets[0]["updateSequenceNumber"]
    out = sync(tmp_path, [doc("a", "new title", day=3)])  # the timestamp went backwards
    assert out.sets[0]["updateSequenceNumber"] == usn + 1
    assert out.result.sync.findings["sync.sequence-raised"] == 1
    again = sync(tmp_path, [doc("a", "newer title", day=3)])
    assert again.sets[0]["updateSequenceNumber"] == usn + 2


def test_an_unchanged_object_keeps_its_number(tmp_path: Path) -> None:
    sync(tmp_path, [doc("a", usn=10)])
    out = sync(tmp_path, [doc("a", usn=5)])  # only the number differs: not a change
    assert out.sets == [] and out.result.sync.totals().unchanged == 1
    changed = sync(tmp_path, [doc("a", "x", usn=5)])
    assert changed.sets[0]["updateSequenceNumber"] == 11


def test_a_deleted_id_that_comes_back_gets_a_greater_number(tmp_path: Path) -> None:
    sync(tmp_path, [doc("a", usn=10), doc("b")])
    sync(tmp_path, [doc("b")], allow_mass_delete=True)
    out = sync(tmp_path, [doc("a", usn=3), doc("b")])
    assert out.sets[0]["updateSequenceNumber"] == 11
    assert out.result.sync.totals().created == 1
    (said,) = out.result.sync.examples["sync.sequence-raised"]
    assert "comes back after its delete" in said and "changed" not in said  # (it did not)


def test_duplicate_ids_in_one_run_the_later_wins(tmp_path: Path) -> None:
    out = sync(tmp_path, [doc("a", "first"), doc("a", "second")])
    assert [o["displayName"] for o in out.sets] == ["first", "second"]
    numbers = [o["updateSequenceNumber"] for o in out.sets]
    assert numbers[1] > numbers[0]  # so last-write-wins keeps the later one
    assert out.result.sync.findings["sync.duplicate-id"] == 1
    same = sync(tmp_path, [doc("a", "second"), doc("a", "second")])
    assert same.sets == []


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ({"incremental": True}, "incremental"),
        ({"partial": True}, "--partial"),
        ({"max_errors": 0}, "stopped early"),
    ],
)
def test_a_partial_run_never_deletes(
    tmp_path: Path, options: dict[str, object], reason: str
) -> None:
    sync(tmp_path, [doc("a"), doc("b")])
    records = [doc("a"), {"id": "bad"}] if "max_errors" in options else [doc("a")]
    out = sync(tmp_path, records, **options)
    assert out.deletes == []
    assert any(reason in r for r in out.result.sync.partial_reasons)
    assert out.result.sync.deletes_withheld == 1


def test_a_rejected_record_makes_the_run_partial(tmp_path: Path) -> None:
    sync(tmp_path, [doc("a"), doc("b")])
    out = sync(tmp_path, [doc("a"), {"id": "b", "title": "no timestamp"}])
    assert out.deletes == [] and "rejected" in out.result.sync.partial_reasons[0]
    full = sync(tmp_path, [doc("a")], allow_mass_delete=True)
    assert deleted_ids(full) == ["b"]  # the next full run deletes it


def test_a_state_another_first_run_made_meanwhile_is_not_replaced(tmp_path: Path) -> None:
    """Two first runs at once both find no file: the later one to make it must not rename its
    own over the other's, which that run may already hold (its commit would go to a file no
    longer there, and what it sent would be unknown to the state)."""
    from mapper.sync.state import Identity, _create_file

    sync(tmp_path, [doc("a")])  # the other run, done (or holding the file)
    before = (tmp_path / "s.db").read_bytes()
    assert _create_file(tmp_path / "s.db", Identity("conn-1", "sync-test")) is False
    assert (tmp_path / "s.db").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary
    assert sync(tmp_path, [doc("a")]).sets == []


def test_a_mass_delete_stops_the_run_and_changes_nothing(tmp_path: Path) -> None:
    sync(tmp_path, [doc("a"), doc("b"), doc("c")])
    before = (tmp_path / "s.db").read_bytes()
    with pytest.raises(SyncStopped) as stopped:
        sync(tmp_path, [doc("a", "changed")])  # 2 of 3 = 67 % > 50 %
    assert [d.code for d in stopped.value.diagnostics] == ["sync.mass-delete"]
    assert (tmp_path / "s.db").read_bytes() == before
    assert [o["id"] for o in sync(tmp_path, [doc("a"), doc("b")]).sets] == []  # 1 of 3: fine
    allowed = sync(tmp_path, [], allow_mass_delete=True)
    assert sorted(deleted_ids(allowed)) == ["a", "b"]


def test_a_share_that_is_not_a_number_deletes_nothing(tmp_path: Path) -> None:
    """NaN compares false with every share: the valve let every delete through."""
    sync(tmp_path, [doc("a"), doc("b"), doc("c")])
    with pytest.raises(SyncStopped):
        sync(tmp_path, [], max_delete_share=float("nan"))


def test_the_share_is_configurable(tmp_path: Path) -> None:
    sync(tmp_path, [doc(str(i)) for i in range(10)])
    with pytest.raises(SyncStopped):
        sync(tmp_path, [doc(str(i)) for i in range(8)], max_delete_share=0.1)
    assert len(deleted_ids(sync(tmp_path, [doc(str(i)) for i in range(8)]))) == 2


@pytest.mark.parametrize("between", [0, 150, 1500])  # same group, same chunk, a later chunk
def test_a_child_waits_for_its_container_emitted_later_in_the_run(
    tmp_path: Path, between: int
) -> None:
    records = [doc("d1", parent="S")] + [doc(f"x{i}") for i in range(between)]
    records.append(doc("S", kind="space"))
    out = sync(tmp_path, records)
    ids = [[o["id"] for o in b["objects"]] for b in out.set_batches]
    where = {oid: n for n, batch in enumerate(ids) for oid in batch}
    assert where["d1"] >= where["S"]
    assert out.result.sync.totals().reordered == 1
    assert not out.result.sync.findings["sync.dangling-reference"]
    assert [o["id"] for o in out.sets].count("d1") == 1


def test_a_container_known_from_an_earlier_run_is_not_dangling(tmp_path: Path) -> None:
    sync(tmp_path, [doc("S", kind="space")])
    out = sync(tmp_path, [doc("S", kind="space"), doc("d1", parent="S")])
    assert [o["id"] for o in out.sets] == ["d1"]
    assert not out.result.sync.findings["sync.dangling-reference"]


def test_a_dangling_reference_is_a_warning_and_an_error_with_strict(tmp_path: Path) -> None:
    out = sync(tmp_path, [doc("d1", parent="nowhere")])
    assert out.result.sync.findings["sync.dangling-reference"] == 1
    assert [o["id"] for o in out.sets] == ["d1"]  # sent anyway, after the others
    with pytest.raises(SyncStopped) as stopped:
        sync(tmp_path, [doc("d1", "x", parent="nowhere")], strict=True)
    assert stopped.value.diagnostics[0].code == "sync.dangling-reference"


def test_the_cursor_is_the_highest_last_updated_of_complete_runs(tmp_path: Path) -> None:
    out = sync(tmp_path, [doc("a", day=3), doc("b", day=7), doc("c", day=5)])
    assert out.result.sync.cursor_after == "2024-01-07T00:00:00Z"
    back = sync(tmp_path, [doc("d", day=1)], incremental=True)
    assert back.result.sync.cursor_after == "2024-01-07T00:00:00Z"  # never backwards
    rejected = sync(tmp_path, [doc("e", day=9), {"id": "bad"}], incremental=True)
    assert rejected.result.sync.cursor_after == "2024-01-07T00:00:00Z"  # not complete


def test_report_balances_and_counts_per_type(tmp_path: Path) -> None:
    out = sync(tmp_path, [doc("S", kind="space"), doc("a", parent="S"), {"id": "bad"}])
    run = out.result.run
    assert run.records_in == 3 and run.is_balanced
    by_type = out.result.sync.to_dict()["byType"]
    assert by_type["atlassian:space"]["created"] == 1
    assert by_type["atlassian:document"]["created"] == 1
    report = (tmp_path / "out" / "report.json").read_text()
    assert '"sync"' in report and '"balanced": true' in report


def test_many_objects_stream_through_chunks(tmp_path: Path) -> None:
    records = [doc(f"id{i:05d}", day=1 + i % 28) for i in range(3000)]
    first = sync(tmp_path, records)
    assert len(first.sets) == 3000 and all(len(b["objects"]) <= 100 for b in first.set_batches)
    records[10] = doc("id00010", "changed")
    out = sync(tmp_path, records[:-30])
    assert [o["id"] for o in out.sets] == ["id00010"]
    assert len(deleted_ids(out)) == 30 and len(out.deletes) == 1


@pytest.mark.parametrize(
    ("stamp", "than", "later"),
    [
        ("2024-01-01T00:00:00Z", "", True),
        ("not a time", "", False),
        ("2024-01-01T00:00:00.5Z", "2024-01-01T00:00:00Z", True),
        ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00.5Z", False),  # "00Z" > "00.5Z" as text
        ("2024-01-01T00:00:00.25Z", "2024-01-01T00:00:00.5Z", False),
        ("2024-01-02T00:00:00Z", "2024-01-01T23:59:59.999Z", True),
        ("2024-01-01T00:00:00+02:00", "2023-12-31T23:00:00Z", False),
    ],
)
def test_is_later(stamp: str, than: str, later: bool) -> None:
    assert is_later(stamp, than) is later


def test_a_duplicate_in_a_later_chunk_is_found_too(tmp_path: Path) -> None:
    records = [doc("a", "first")] + [doc(f"x{i}") for i in range(1500)] + [doc("a", "second")]
    out = sync(tmp_path, records)
    sent = [o for o in out.sets if o["id"] == "a"]
    assert [o["displayName"] for o in sent] == ["first", "second"]
    assert sent[1]["updateSequenceNumber"] > sent[0]["updateSequenceNumber"]
    assert out.result.sync.findings["sync.duplicate-id"] == 1


@pytest.mark.parametrize("bits", [0, 2, 20])  # 0: one bucket, every id recorded is a candidate
def test_the_ids_of_a_type_new_to_the_state_change_no_decision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bits: int
) -> None:
    monkeypatch.setattr("mapper.sync.fresh.HEAD_BITS", bits)
    records = [doc(f"x{i}", day=1 + i % 28) for i in range(2500)]
    records[1800] = doc("x5", "again")  # a duplicate two chunks later: it must be found
    out = sync(tmp_path, records)
    assert [o["displayName"] for o in out.sets if o["id"] == "x5"] == ["t", "again"]
    assert out.result.sync.findings["sync.duplicate-id"] == 1
    totals = out.result.sync.totals()
    assert (totals.created, totals.updated) == (2499, 1)


def test_a_first_run_does_not_scan_the_state_for_unseen_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scans: list[int] = []
    count = StateStore.count_unseen

    def spy(store: StateStore, seen: Seen) -> int:
        scans.append(found := count(store, seen))
        return found

    monkeypatch.setattr(StateStore, "count_unseen", spy)
    first = sync(tmp_path, [doc("a"), doc("b")])
    assert scans == [] and first.result.sync.unseen == 0  # (every row is this run's: seen)
    second = sync(tmp_path, [doc("a")])
    assert scans == [1] and second.result.sync.unseen == 1 and deleted_ids(second) == ["b"]
