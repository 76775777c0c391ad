"""mapper sync: parentKey/containerKey references with a composed key ({repositoryId,
commitHash}) are checked against the run and the state like one-field ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sync_support import sync

from mapper.sync.deletes import SyncStopped
from mapper.sync.keys import COMPOSED, own_key, walked_key

MAPPING = """\
version: 1
name: sync-refs
objects:
  - type: atlassian:commit
    where: kind == 'commit'
    fields:
      id: id
      displayName: id
      description: id
      url: "concat('https://example.test/c/', id)"
      createdAt: to_rfc3339(ts)
      lastUpdatedAt: to_rfc3339(ts)
      containerKey: "entity_key_as('atlassian:repository', 'repositoryId', repo)"
      permissions: "permissions([principal('ATLASSIAN_WORKSPACE')])"
      atlassian:commit:
        hash: sha
        displayId: sha
        message: id
        author: "user_ref('dev', 'dev@example.test')"
        authorTimestamp: to_rfc3339(ts)
  - type: atlassian:document
    where: kind == 'doc'
    fields:
      id: id
      displayName: id
      url: "concat('https://example.test/d/', id)"
      createdAt: to_rfc3339(ts)
      lastUpdatedAt: to_rfc3339(ts)
      parentKey: "entity_key_of(key_type, {repositoryId: repo, commitHash: sha})"
      permissions: "permissions([principal('ATLASSIAN_WORKSPACE')])"
      atlassian:document:
        type: {const: {category: DOCUMENT, mimeType: text/plain}}
        content: {const: {mimeType: text/plain, text: x}}
"""
TS = "2024-01-01T00:00:00Z"


def commit(oid: str, repo: str, sha: str) -> dict[str, str]:
    return {"kind": "commit", "id": oid, "repo": repo, "sha": sha, "ts": TS}


def note(oid: str, repo: str, sha: str, key_type: str = "atlassian:commit") -> dict[str, str]:
    """A document whose parent is the commit (repo, sha), by its composed key."""
    return {"kind": "doc", "id": oid, "repo": repo, "sha": sha, "ts": TS, "key_type": key_type}


def dangling_documents(out: object) -> list[str]:
    errors = out.result.sync.errors  # type: ignore[attr-defined]
    return [d.message for d in errors if d.message.startswith("atlassian:document")]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "m.yaml").write_text(MAPPING)
    return tmp_path


@pytest.mark.parametrize("commit_first", [True, False])
def test_a_commit_sent_in_the_same_run_is_found(folder: Path, commit_first: bool) -> None:
    records = [commit("web@1a2b", "acme/web", "1a2b"), note("n1", "acme/web", "1a2b")]
    out = sync(folder, records if commit_first else records[::-1])
    assert dangling_documents(out) == []
    assert sorted(o["id"] for o in out.sets) == ["n1", "web@1a2b"]


def test_a_commit_known_in_the_state_is_found(folder: Path) -> None:
    sync(folder, [commit("web@1a2b", "acme/web", "1a2b")])
    out = sync(folder, [commit("web@1a2b", "acme/web", "1a2b"), note("n1", "acme/web", "1a2b")])
    assert dangling_documents(out) == [] and [o["id"] for o in out.sets] == ["n1"]


@pytest.mark.parametrize(
    "target",
    [("acme/web", "9999"), ("acme/api", "1a2b")],  # another hash; the same hash, another repo
)
def test_a_commit_nobody_sent_is_a_dangling_reference(
    folder: Path, target: tuple[str, str]
) -> None:
    records = [commit("web@1a2b", "acme/web", "1a2b"), note("n1", *target)]
    out = sync(folder, records)
    (message,) = dangling_documents(out)
    assert "parentKey points at atlassian:commit" in message and target[1] in message
    with pytest.raises(SyncStopped):
        sync(folder, [*records, note("n2", *target)], strict=True)


def test_a_deleted_commit_is_dangling_again(folder: Path) -> None:
    sync(folder, [commit("web@1a2b", "acme/web", "1a2b"), commit("web@3c4d", "acme/web", "3c4d")])
    sync(folder, [commit("web@3c4d", "acme/web", "3c4d")])  # mirror: 1a2b is deleted
    out = sync(folder, [commit("web@3c4d", "acme/web", "3c4d"), note("n1", "acme/web", "1a2b")])
    assert len(dangling_documents(out)) == 1


def test_a_composed_key_of_another_type_is_counted_as_unchecked(folder: Path) -> None:
    out = sync(folder, [note("n1", "acme/web", "1a2b", key_type="atlassian:branch")])
    assert out.result.sync.findings["sync.unchecked-reference"] == 1
    assert dangling_documents(out) == []


_LEAF = st.one_of(st.none(), st.just(""), st.text(max_size=5), st.integers(), st.just([]))
_VALUE = st.dictionaries(st.sampled_from(["repositoryId", "entityId", "other"]), _LEAF, max_size=3)


@given(
    container=st.one_of(
        _LEAF, st.fixed_dictionaries({}, optional={"type": _LEAF, "value": st.one_of(_LEAF, _VALUE)})
    ),
    commit=st.one_of(_LEAF, st.dictionaries(st.sampled_from(["hash", "x"]), _LEAF, max_size=2)),
)
@settings(max_examples=300, deadline=None)
def test_the_made_key_function_gives_what_walking_the_paths_gives(
    container: object, commit: object
) -> None:
    """`keys.own_key` runs a function made per type with its paths written out; it must give
    what walking COMPOSED's paths in turn gives (`walked_key`), for any shape of payload."""
    payload = {"id": "c1", "containerKey": container, "atlassian:commit": commit}
    for type_name in (*COMPOSED, "atlassian:document"):
        assert own_key(type_name, payload) == walked_key(type_name, payload)
