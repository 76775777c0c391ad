"""setObjects bodies with companions (`io.sinks.SetObjectsBatches.add`): an object another must
travel with ("in the same payload": a commit's repository) is in every body that holds one of
them, once per body, before the first that needs it; no body holds more than its size; nothing
is lost or reordered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from mapper.sync.bodies import SetObjectsLines

REPOS = ["r1", "r2", "r3"]
# a group: a record's commits (0..4), each naming one repository that travels with it; a body
# of `size` objects holds at least the 3 repositories and one commit
GROUPS = st.lists(st.lists(st.sampled_from(REPOS), max_size=4), max_size=40)


def _repo(rid: str) -> dict[str, Any]:
    return {"id": rid, "atlassian:repository": {}}


def _commit(n: int, rid: str) -> dict[str, Any]:
    return {"id": f"c{n}", "repo": rid, "atlassian:commit": {}}


@settings(max_examples=60, deadline=None)
@given(groups=GROUPS, size=st.integers(4, 9), one_call=st.booleans())
def test_every_body_holds_the_companions_its_objects_need_once(
    tmp_path_factory: Any, groups: list[list[str]], size: int, one_call: bool
) -> None:
    path = Path(tmp_path_factory.mktemp("bodies")) / "setObjects.jsonl"
    sink = SetObjectsLines(path, connection_id="c", size=size)
    payloads, needs, n = [], [], 0
    for repos in groups:
        commits = [_commit(n + i, rid) for i, rid in enumerate(repos)]
        n += len(commits)
        payloads.append(commits)
        needs.append([(("atlassian:repository", rid), _repo(rid)) for rid in dict.fromkeys(repos)])
    placed = []
    if one_call:
        placed = sink.add_groups(payloads, needs)
    else:
        for group, wanted in zip(payloads, needs, strict=True):
            placed += sink.add(group, wanted)
    sink.close()
    lines = path.read_bytes().splitlines() if path.exists() else []
    bodies = [orjson.loads(line)["objects"] for line in lines]
    sent = [o["id"] for body in bodies for o in body if "atlassian:commit" in o]
    assert sent == [f"c{i}" for i in range(n)]  # every commit once, in order
    carried = 0
    for body in bodies:
        assert len(body) <= size  # (3 companions and a commit fit in the smallest)
        repos = [o["id"] for o in body if "atlassian:repository" in o]
        assert len(repos) == len(set(repos))  # once per body
        carried += len(repos)
        for k, obj in enumerate(body):
            if "atlassian:commit" in obj:
                assert obj["repo"] in [o["id"] for o in body[:k]]  # before the first needing it
    assert placed == ["atlassian:repository"] * carried
