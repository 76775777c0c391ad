"""Users and groups in `mapper sync`: setUsers / setGroups bodies for new and changed ones, their
own delete bodies in mirror mode, sequence numbers only where the payload has one."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sync_support import write_records

import mapper
from mapper.sync.runner import SyncRequest, SyncResult, sync_files
from mapper.sync.stage import Mode

MAPPING = """\
version: 1
name: identity-test
users:
  - where: kind == 'user'
    fields:
      externalId: id
      displayName: name
      emails: "[{value: mail, primary: `true`}]"
      updateSequenceNumber: usn
groups:
  - where: kind == 'group'
    fields:
      externalId: id
      displayName: name
      members: "members[].{externalId: @, type: 'USER'}"
objects:
  - type: atlassian:document
    where: kind == 'doc'
    fields:
      id: id
      displayName: name
      url: "concat('https://example.test/d/', id)"
      createdAt: "'2024-01-01T00:00:00Z'"
      lastUpdatedAt: "'2024-01-01T00:00:00Z'"
      permissions: "permissions(users(readers))"
      atlassian:document:
        type: {const: {category: DOCUMENT, mimeType: text/plain}}
        content: {const: {mimeType: text/plain, text: x}}
"""


def user(uid: str, name: str = "Ann", usn: int | None = None) -> dict[str, Any]:
    found = {"kind": "user", "id": uid, "name": name, "mail": f"{uid}@example.com"}
    return found if usn is None else {**found, "usn": usn}


def group(gid: str, *members: str, name: str = "devs") -> dict[str, Any]:
    return {"kind": "group", "id": gid, "name": name, "members": list(members)}


def doc(did: str, *readers: str) -> dict[str, Any]:
    return {"kind": "doc", "id": did, "name": "Doc", "readers": list(readers)}


class Synced:
    """What one sync run wrote: the bodies of each file, and the report."""

    def __init__(self, out: Path, result: SyncResult) -> None:
        self.result = result
        self.files = sorted(p.name for p in out.iterdir() if p.suffix == ".jsonl")
        self.bodies = {name: _lines(out / name) for name in self.files}

    def items(self, name: str, key: str) -> list[dict[str, Any]]:
        return [item for body in self.bodies.get(name, []) for item in body[key]]

    def counts(self, kind: str) -> dict[str, int]:
        return self.result.sync.counts(kind).to_dict()


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def sync(tmp: Path, records: list[dict[str, Any]], mode: Mode = Mode.mirror, **kw: Any) -> Synced:
    mapping = tmp / "m.yaml"
    if not mapping.exists():
        mapping.write_text(MAPPING)
    inputs = write_records(tmp / "in.jsonl", records)
    kw.setdefault("connection_id", "conn-1")
    request = SyncRequest(state=tmp / "s.db", output=tmp / "out", mode=mode, **kw)
    return Synced(tmp / "out", sync_files(mapper.load(mapping), [str(inputs)], request))


FIRST = [user("u1"), user("u2", "Bo", usn=5), group("g1", "u1", "u2"), doc("d1", "u1")]


def test_a_first_run_sends_users_and_groups_in_their_own_bodies(tmp_path: Path) -> None:
    run = sync(tmp_path, FIRST)
    assert run.files == ["rejects.jsonl", "setGroups.jsonl", "setObjects.jsonl", "setUsers.jsonl"]
    assert run.bodies["setUsers.jsonl"] == [{"connectionId": "conn-1", "users": [
        {"externalId": "u1", "emails": [{"value": "u1@example.com", "primary": True}],
         "displayName": "Ann"},
        {"externalId": "u2", "emails": [{"value": "u2@example.com", "primary": True}],
         "displayName": "Bo", "updateSequenceNumber": 5},
    ]}]  # fmt: skip
    assert run.bodies["setGroups.jsonl"] == [{"connectionId": "conn-1", "groups": [
        {"externalId": "g1", "displayName": "devs",
         "members": [{"externalId": "u1", "type": "USER"}, {"externalId": "u2", "type": "USER"}]},
    ]}]  # fmt: skip
    assert [o["id"] for o in run.items("setObjects.jsonl", "objects")] == ["d1"]
    assert run.counts("user")["created"] == 2 and run.counts("group")["created"] == 1
    batches = run.result.sync.to_dict()["batches"]
    assert batches == {"setObjects": 1, "deleteObjects": 0, "setUsers": 1, "setGroups": 1,
                       "deleteUsers": 0, "deleteGroups": 0}  # fmt: skip


def test_an_unchanged_rerun_sends_nothing(tmp_path: Path) -> None:
    sync(tmp_path, FIRST)
    run = sync(tmp_path, FIRST)
    assert run.files == ["rejects.jsonl"]
    assert run.counts("user")["unchanged"] == 2 and run.counts("group")["unchanged"] == 1


def test_a_changed_user_or_group_is_sent_again_without_an_invented_number(tmp_path: Path) -> None:
    sync(tmp_path, FIRST)
    run = sync(tmp_path, [user("u1", "Anne"), FIRST[1], group("g1", "u1"), FIRST[3]])
    assert run.items("setUsers.jsonl", "users") == [{
        "externalId": "u1", "emails": [{"value": "u1@example.com", "primary": True}],
        "displayName": "Anne",
    }]  # fmt: skip
    assert run.items("setGroups.jsonl", "groups") == [
        {"externalId": "g1", "displayName": "devs", "members": [{"externalId": "u1", "type": "USER"}]}
    ]
    assert (run.counts("user")["updated"], run.counts("group")["updated"]) == (1, 1)
    assert not run.result.sync.findings  # no number raised where the payload has none


def test_a_user_number_that_does_not_grow_is_raised(tmp_path: Path) -> None:
    sync(tmp_path, FIRST)
    run = sync(tmp_path, [FIRST[0], user("u2", "Bob", usn=3), *FIRST[2:]])
    (sent,) = run.items("setUsers.jsonl", "users")
    assert (sent["displayName"], sent["updateSequenceNumber"]) == ("Bob", 6)
    assert run.result.sync.findings["sync.sequence-raised"] == 1


def test_mirror_deletes_users_and_groups_with_their_own_operations(tmp_path: Path) -> None:
    sync(tmp_path, [*FIRST, user("u3"), group("g2")])
    run = sync(tmp_path, FIRST)
    assert run.bodies["deleteUsers.jsonl"] == [{"externalIds": ["u3"], "connectionId": "conn-1"}]
    assert run.bodies["deleteGroups.jsonl"] == [{"externalIds": ["g2"], "connectionId": "conn-1"}]
    assert "deleteObjects.jsonl" not in run.bodies
    assert (run.counts("user")["deleted"], run.counts("group")["deleted"]) == (1, 1)
    again = sync(tmp_path, [*FIRST, user("u3")])  # back after its delete: created again
    assert [u["externalId"] for u in again.items("setUsers.jsonl", "users")] == ["u3"]
    assert again.counts("user")["created"] == 1


@pytest.mark.parametrize("mode", [Mode.upsert, Mode.append])
def test_upsert_and_append_never_delete_users(tmp_path: Path, mode: Mode) -> None:
    sync(tmp_path, FIRST, mode)
    run = sync(tmp_path, [user("u1", "Anne"), *FIRST[2:]], mode)
    assert not [name for name in run.files if name.startswith("delete")]
    sent = [u["displayName"] for u in run.items("setUsers.jsonl", "users")]
    assert sent == (["Anne"] if mode is Mode.upsert else [])
    key = "heldBack" if mode is Mode.append else "updated"
    assert run.counts("user")[key] == 1


def test_bodies_hold_at_most_100_users(tmp_path: Path) -> None:
    run = sync(tmp_path, [user(f"u{i:03d}") for i in range(250)])
    assert [len(b["users"]) for b in run.bodies["setUsers.jsonl"]] == [100, 100, 50]
    assert run.result.sync.identity_batches == {"setUsers": 3}


def test_properties_go_to_objects_only(tmp_path: Path) -> None:
    run = sync(tmp_path, FIRST, properties={"team": "core"})
    assert run.bodies["setObjects.jsonl"][0]["properties"] == {"team": "core"}
    assert set(run.bodies["setUsers.jsonl"][0]) == {"connectionId", "users"}


def test_a_user_listed_again_as_it_was_is_no_finding(tmp_path: Path) -> None:
    run = sync(tmp_path, [user("u1"), user("u1"), user("u2"), user("u2", "Other")])
    assert run.result.sync.findings == {"sync.duplicate-id": 1}  # u2 differs: the later wins
    assert [u["externalId"] for u in run.items("setUsers.jsonl", "users")] == ["u1", "u2", "u2"]


def test_index_reads_a_sync_output_folder(tmp_path: Path) -> None:
    """`mapper index` (and the access checks) read the bodies of a sync folder; its rejects and
    delete bodies hold no entries."""
    from mapper.access.outputs import iter_entries

    sync(tmp_path, [user("u3")])
    run = sync(tmp_path, FIRST, max_delete_share=1.0)
    assert "deleteUsers.jsonl" in run.files
    (tmp_path / "out" / "rejects.jsonl").write_text('{"rule": "x", "diagnostics": []}\n')
    entries = [(e.kind, e.payload.get("id") or e.payload["externalId"])
               for e in iter_entries([str(tmp_path / "out")])]  # fmt: skip
    assert sorted(entries) == [("group", "g1"), ("object", "d1"), ("user", "u1"), ("user", "u2")]


user_rows = st.lists(
    st.tuples(st.sampled_from(["u1", "u2", "u3", "u4"]), st.sampled_from(["Ann", "Bo"]),
              st.one_of(st.none(), st.integers(1, 4))),
    max_size=6,
)  # fmt: skip


@settings(max_examples=25, deadline=None)
@given(history=st.lists(user_rows, min_size=1, max_size=5))
def test_mirror_users_converge_on_the_last_snapshot(history: list[list[Any]]) -> None:
    """Applying every setUsers and deleteUsers body, in order, with last-write-wins on the
    number where a user has one, leaves exactly the last snapshot (the later of duplicates)."""
    graph: dict[str, dict[str, Any]] = {}
    numbers: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for snapshot in history:
            run = sync(Path(tmp), [user(u, n, usn) for u, n, usn in snapshot],
                       max_delete_share=1.0)  # fmt: skip
            for sent in run.items("setUsers.jsonl", "users"):
                uid, usn = sent["externalId"], sent.get("updateSequenceNumber")
                if usn is not None and usn <= numbers.get(uid, -1):
                    pytest.fail(f"{uid}'s number {usn} does not grow: the update is lost")
                graph[uid] = sent
                if usn is not None:
                    numbers[uid] = usn
            for body in run.bodies.get("deleteUsers.jsonl", []):
                for uid in body["externalIds"]:
                    del graph[uid]
    last = {u: n for u, n, _ in history[-1]}
    assert {u: sent["displayName"] for u, sent in graph.items()} == last


def test_mapper_sync_checks_the_principals_against_the_users_sent_or_known(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from mapper.cli import app

    (tmp_path / "m.yaml").write_text(MAPPING)

    def cli_sync(records: list[dict[str, Any]], *extra: str) -> tuple[int, str]:
        write_records(tmp_path / "in.jsonl", records)
        args = ["sync", str(tmp_path / "m.yaml"), str(tmp_path / "in.jsonl"), "--state",
                str(tmp_path / "s.db"), "-o", str(tmp_path / "out"), *extra]  # fmt: skip
        result = CliRunner().invoke(app, args)
        return result.exit_code, result.stderr

    code, err = cli_sync([user("u1"), doc("d1", "u1", "ghost")], "--connection-id", "c")
    assert code == 0 and "access.unknown-user" in err and "USER ghost" in err, err
    assert "USER u1" not in err
    code, err = cli_sync([user("u1"), doc("d1", "u1")], "--strict")  # u1 unchanged: known
    assert code == 0 and "access.unknown-user" not in err, err
    code, err = cli_sync([user("u1"), doc("d1", "u1", "ghost")], "--strict")
    assert code == 3 and "USER ghost" in err, err
