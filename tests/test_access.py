"""The access graph and the principal checks: properties against a direct evaluation of the
AND/OR rule, planted mismatches, data cases (tests/access/cases.yaml), sinks and the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from mapper.access import answers, graph, reads
from mapper.access.checks import PrincipalChecker
from mapper.access.outputs import Entry, iter_entries
from mapper.access.store import build_index, open_index
from mapper.cli import app
from mapper.io.sinks import BatchSink, JsonlSink
from mapper.records import MappedObject

CASES = Path(__file__).parent / "access" / "cases.yaml"
TYPES = ("atlassian:space", "atlassian:document")


# --- a direct evaluation of the rule (the oracle) -------------------------------------------


def closure(group: str, groups: dict[str, list[dict[str, str]]]) -> set[str]:
    """USER members of a group and of its nested groups."""
    found, seen, todo = set(), {group}, [group]
    while todo:
        for member in groups.get(todo.pop(), []):
            if member["type"] == "GROUP":
                if member["externalId"] not in seen:
                    seen.add(member["externalId"])
                    todo.append(member["externalId"])
            else:
                found.add(member["externalId"])
    return found


def sees(
    user: str, obj: dict[str, Any], world: dict[str, Any], path: frozenset[Any] = frozenset()
) -> bool:
    """The least solution of the AND/OR rule: a CONTAINER chain that comes back to an object on
    the current path grants nothing (a depth limit instead made the oracle exponential)."""
    key = id(obj)  # the object itself: every container lookup gives back the same dict
    controls = [ac for p in obj["permissions"] for ac in p["accessControls"]]
    if not controls or key in path:
        return False
    inner = path | {key}
    return all(any(grants(user, obj, p, world, inner) for p in ac["principals"]) for ac in controls)


def grants(user: str, obj: dict[str, Any], p: dict[str, Any], world: dict[str, Any], depth: frozenset[Any]) -> bool:
    sent = user in world["users"]
    if p["type"] == "USER":
        return sent and p["id"] == user
    if p["type"] == "GROUP":
        return sent and p["id"] in world["groups"] and user in closure(p["id"], world["groups"])
    if p["type"] in ("EVERYONE", "ATLASSIAN_WORKSPACE"):
        return True
    if p["type"] == "CONTAINER":
        key = obj.get("containerKey")
        container = key and world["objects"].get((key["type"], key["value"]["entityId"]))
        return bool(container) and sees(user, container, world, depth)
    return False  # MUST_HAVE_VIEWED: nobody mapper can name


# --- random worlds ---------------------------------------------------------------------------

USER_IDS = [f"u{i}" for i in range(6)]
GROUP_IDS = [f"g{i}" for i in range(4)]


@st.composite
def worlds(draw: Any) -> dict[str, Any]:
    users = set(draw(st.lists(st.sampled_from(USER_IDS), max_size=6)))
    member = st.one_of(
        st.builds(lambda i: {"externalId": i, "type": "USER"}, st.sampled_from([*USER_IDS, "ghost"])),
        st.builds(lambda i: {"externalId": i, "type": "GROUP"}, st.sampled_from(GROUP_IDS)),
    )
    groups = {g: draw(st.lists(member, max_size=4)) for g in draw(st.sets(st.sampled_from(GROUP_IDS)))}
    principal = st.one_of(
        st.builds(lambda i: {"type": "USER", "id": i}, st.sampled_from([*USER_IDS, "ghost"])),
        st.builds(lambda i: {"type": "GROUP", "id": i}, st.sampled_from([*GROUP_IDS, "nogroup"])),
        st.sampled_from([{"type": t} for t in ("EVERYONE", "ATLASSIAN_WORKSPACE", "CONTAINER", "MUST_HAVE_VIEWED")]),
    )
    control = st.builds(lambda ps: {"principals": ps}, st.lists(principal, min_size=1, max_size=3))
    permission = st.builds(lambda acs: {"accessControls": acs}, st.lists(control, min_size=1, max_size=2))
    objects: dict[tuple[str, str], dict[str, Any]] = {}
    for number in range(draw(st.integers(1, 8))):
        obj: dict[str, Any] = {
            "id": f"o{number}",
            "displayName": f"object {number}",
            "permissions": draw(st.lists(permission, min_size=1, max_size=2)),
            draw(st.sampled_from(TYPES)): {},
        }
        target = draw(st.integers(-1, number + 1))  # earlier, itself, missing, or later (loops)
        if target >= 0:
            obj["containerKey"] = {"type": draw(st.sampled_from(TYPES)), "value": {"entityId": f"o{target}"}}
        objects[(graph_type(obj), obj["id"])] = obj
    return {"users": users, "groups": groups, "objects": objects}


def graph_type(obj: dict[str, Any]) -> str:
    return next(k for k in obj if k.startswith("atlassian:"))


def entries_of(world: dict[str, Any]) -> list[Entry]:
    out = [Entry("user", {"externalId": u, "emails": [{"value": f"{u}@x"}]}, "t") for u in world["users"]]
    out += [Entry("group", {"externalId": g, "members": m}, "t") for g, m in world["groups"].items()]
    out += [Entry("object", o, "t") for o in world["objects"].values()]
    return out


@given(worlds())
def test_who_can_see_and_can_see_agree_with_the_rule(tmp_path_factory: Any, world: dict[str, Any]) -> None:
    path = tmp_path_factory.mktemp("g") / "graph.db"
    build_index(entries_of(world), path)
    db = open_index(path)
    everyone = [*USER_IDS, "ghost", "stranger"]  # sent users, and ids that were never sent
    for (type_name, object_id), obj in world["objects"].items():
        [ref] = reads.find_objects(db, object_id, type_name)
        audience = graph.audience(db, ref)
        for user in everyone:
            expected = sees(user, obj, world)
            if user in world["users"]:
                assert (audience.open is not None or user in audience.users) == expected, (user, obj)
            assert graph.decide(db, ref, user).allowed == expected, (user, obj)
    for user in everyone:
        visible = {(d.obj.type, d.obj.id) for d in graph.visible_to(db, user)}
        expected_set = {k for k, o in world["objects"].items() if sees(user, o, world)}
        assert visible == expected_set, user


@given(
    st.sets(st.sampled_from(USER_IDS), min_size=1),
    st.lists(st.tuples(st.sampled_from(USER_IDS), st.sampled_from(["x1", "x2", "X3", ""])), max_size=12),
)
def test_principal_checks_find_exactly_the_planted_mismatches(users: set[str], grants_: list[tuple[str, str]]) -> None:
    checker = PrincipalChecker()
    planted: set[tuple[str, str]] = set()
    for number, (good, bad) in enumerate(grants_):
        ids = [good if good in users else sorted(users)[0]] + ([bad] if bad else [])
        planted |= {(f"o{number}", bad)} if bad else set()
        principals = [{"type": "USER", "id": i} for i in ids]
        checker.add(Entry("object", {"id": f"o{number}", "atlassian:space": {}, "permissions": [{"accessControls": [{"principals": principals}]}]}, "t"))
    for user in users:
        checker.add(Entry("user", {"externalId": user}, "t"))
    findings = checker.finish()
    found = {
        (d.message.split("'")[1], d.message.split("grants USER ")[1].split(",")[0])
        for d in findings.diagnostics if d.code == "access.unknown-user" and "grants USER" in d.message
    }
    assert findings.counts.get("access.unknown-user", 0) == len(planted)
    per_principal_cap = {bad for _, bad in planted}
    assert {bad for _, bad in found} == per_principal_cap
    assert found <= planted


# --- data cases ------------------------------------------------------------------------------


def load_cases() -> list[Any]:
    return [pytest.param(c, id=c["title"]) for c in yaml.safe_load(CASES.read_text())["cases"]]


def index_of(case: dict[str, Any], tmp_path: Path) -> Path:
    path = tmp_path / "graph.db"
    entries = [Entry("user", {"externalId": u, "displayName": u.title(), "emails": [{"value": f"{u}@x"}]}, "c") for u in case.get("users", [])]
    entries += [Entry("group", {"externalId": g, "members": [_member(m) for m in ms]}, "c") for g, ms in case.get("groups", {}).items()]
    entries += [Entry("object", o, "c") for o in case["objects"]]
    build_index(entries, path)
    return path


def _member(name: str) -> dict[str, str]:
    return {"externalId": name[1:], "type": "GROUP"} if name.startswith("@") else {"externalId": name, "type": "USER"}


@pytest.mark.parametrize("case", load_cases())
def test_access_case(case: dict[str, Any], tmp_path: Path) -> None:
    db = open_index(index_of(case, tmp_path))
    expect = case["expect"]
    [ref] = reads.find_objects(db, case["ask"], None)
    audience = graph.audience(db, ref)
    assert sorted(audience.users) == sorted(expect.get("users", [])), audience
    assert audience.open == expect.get("open")
    problems = [g.problem for c in audience.controls for g in c.grants if g.problem]
    problems += _nested_problems(audience)
    for wanted in expect.get("problems", []):
        assert any(wanted in p for p in problems), problems
    for user, reason in expect.get("reasons", {}).items():
        assert reason in " ".join(r or "" for r in graph.decide(db, ref, user).reasons)


def _nested_problems(audience: answers.Audience) -> list[str]:
    found = []
    for control in audience.controls:
        for grant in control.grants:
            if grant.container is not None:
                found += [g.problem for c in grant.container.controls for g in c.grants if g.problem]
                found += _nested_problems(grant.container)
    return found


# --- sinks, outputs and the command line -----------------------------------------------------


def _user(i: int) -> MappedObject:
    return MappedObject("user", "user#0", {"externalId": f"u{i}", "emails": [{"value": f"u{i}@x"}]})


def test_batches_of_users_and_groups_are_their_own_requests(tmp_path: Path) -> None:
    sink = BatchSink(str(tmp_path), connection_id="c1", properties={"source": "t"})
    with sink:
        sink.write([_user(i) for i in range(250)])
        sink.write([MappedObject("group", "g", {"externalId": "g1", "members": []})])
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["setGroups-00001.json", "setUsers-00001.json", "setUsers-00002.json", "setUsers-00003.json"]
    body = json.loads((tmp_path / "setUsers-00003.json").read_text())
    assert body["connectionId"] == "c1" and "properties" not in body and len(body["users"]) == 50
    kinds = [e.kind for e in iter_entries([str(tmp_path)])]
    assert kinds.count("user") == 250 and kinds.count("group") == 1


def test_jsonl_lines_tell_kinds_apart(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    obj = MappedObject("atlassian:space", "s", {"id": "s1", "atlassian:space": {}})
    with JsonlSink(str(path)) as sink:
        sink.write([_user(1), obj, MappedObject("group", "g", {"externalId": "g1"})])
    assert json.loads(path.read_text().splitlines()[0]) == {"user": _user(1).payload}
    assert [e.kind for e in iter_entries([str(path)])] == ["user", "object", "group"]


SLACK = Path(__file__).parent.parent / "mappings" / "slack" / "jobs.yaml"


def test_slack_export_maps_to_matching_ids_and_explains_a_message(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "out"
    done = runner.invoke(app, ["batch", str(SLACK), "-o", str(out)])
    assert done.exit_code == 0, done.output
    built = runner.invoke(app, ["index", str(out), "-o", str(tmp_path / "g.db")])
    assert built.exit_code == 0
    # the one finding: the archived channel without members falls back to its deleted creator
    assert "access.unknown-user 1" in built.output and "C02LEGACY1" in built.output
    answer = runner.invoke(app, ["who-can-see", "C05ENGPLT-1714568400.000200", "-i", str(tmp_path / "g.db"), "--json"])
    data = json.loads(answer.stdout)
    assert [u["id"] for u in data["users"]] == ["U024BE7LH", "U03B2C4DK", "U07RENE9X", "U08GUEST1"]
    text = runner.invoke(app, ["who-can-see", "C05ENGPLT-1714568400.000200", "-i", str(tmp_path / "g.db")])
    assert "every access control grants them (AND)" in text.stdout
    seen = runner.invoke(app, ["can-see", "U08GUEST1", "-i", str(tmp_path / "g.db")])
    assert seen.exit_code == 0 and seen.stdout.count("\n") == 13


# A private repository's USER/GROUP principals name users and groups the same jobs file sends:
# (jobs file, private repository id, the users who can see it).
PRIVATE_REPOSITORIES = [
    ("github", "acme/infra-terraform", ["bob-builder", "octo-alice", "rene-odegard"]),
    ("bitbucket-cloud", "{e2f3a4b5-c6d7-4e8f-9a0b-1c2d3e4f5a6b}",
     ["{6f1c2a54-7d3e-4b8a-9c1f-2e5d8a7b3c10}", "{c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f}"]),
    # Reporter or more and active: not the guest (206), the blocked member (204) or the bot (330)
    ("gitlab", "4211", ["201", "202", "203", "205"]),
    ("gitlab", "4213", ["205"]),
]


def test_notion_pages_name_sent_users_except_a_removed_member_and_a_bot(tmp_path: Path) -> None:
    jobs = Path(__file__).parent.parent / "mappings" / "notion" / "jobs.yaml"
    done = CliRunner().invoke(app, ["batch", str(jobs), "-o", str(tmp_path / "out")])
    assert done.exit_code == 0, done.output
    assert "access.unknown-user 3" in done.output
    unknown = {line.split("grants USER ")[1].split(",")[0]
               for line in done.output.splitlines() if "access.unknown-user:" in line}
    # the removed member (not in GET /v1/users) and the importing integration (a bot)
    assert unknown == {"0f9e8d7c-6b5a-4938-a271-605f4e3d2c1b", "f1e2d3c4-b5a6-4978-8a6b-5c4d3e2f1a0b"}


def _findings(output: str, code: str) -> set[str]:
    """The ids named by the `code:` warnings of a batch's access check."""
    lines = [line for line in output.splitlines() if f"{code}:" in line]
    return {re.findall(r"USER '?([^ ',]+)", line)[0] for line in lines}


def test_jira_group_restricted_comment_is_seen_by_the_sent_group_members(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "out"
    jobs = Path(__file__).parent.parent / "mappings" / "jira" / "jobs.yaml"
    done = runner.invoke(app, ["batch", str(jobs), "-o", str(out)])
    assert done.exit_code == 0, done.output
    # the group a comment is restricted to is sent: no access.unknown-group
    assert "access.unknown-group" not in done.output
    # Bob hides his e-mail: a member of jira-developers, not sent with setUsers
    assert _findings(done.output, "access.unknown-member") == {"5b10ac8d82e05b22cc7d4ef5"}
    # the restricted comment of the deleted "Former user" (inactive: not sent)
    assert _findings(done.output, "access.unknown-user") == {"557058:deadbeef-0000-4000-8000-000000000000"}
    assert runner.invoke(app, ["index", str(out), "-o", str(tmp_path / "g.db")]).exit_code == 0
    answer = runner.invoke(app, ["who-can-see", "10100", "-i", str(tmp_path / "g.db"), "--json"])
    data = json.loads(answer.stdout)
    assert sorted(u["id"] for u in data["users"]) == [
        "557058:9b1f2c3d-4e5f-4a6b-8c7d-1e2f3a4b5c6d", "712020:3c4d5e6f-7a8b-4c9d-9e0f-a1b2c3d4e5f6"]


def test_confluence_group_member_with_a_hidden_email_is_reported(tmp_path: Path) -> None:
    jobs = Path(__file__).parent.parent / "mappings" / "confluence" / "jobs.yaml"
    done = CliRunner().invoke(app, ["batch", str(jobs), "-o", str(tmp_path / "out")])
    assert done.exit_code == 0, done.output
    assert _findings(done.output, "access.unknown-member") == {"5b10ac8d82e05b22cc7d4ef5"}


@pytest.mark.parametrize(("system", "repository", "users"), PRIVATE_REPOSITORIES)
def test_private_repositories_are_seen_by_their_sent_users(
    tmp_path: Path, system: str, repository: str, users: list[str]
) -> None:
    runner = CliRunner()
    out = tmp_path / "out"
    jobs = Path(__file__).parent.parent / "mappings" / system / "jobs.yaml"
    done = runner.invoke(app, ["batch", str(jobs), "-o", str(out), "--strict"])
    assert done.exit_code == 0, done.output
    assert "every USER/GROUP principal names a sent user/group" in done.output
    assert runner.invoke(app, ["index", str(out), "-o", str(tmp_path / "g.db")]).exit_code == 0
    answer = runner.invoke(app, ["who-can-see", repository, "-i", str(tmp_path / "g.db"), "--json"])
    data = json.loads(answer.stdout)
    assert sorted(u["id"] for u in data["users"]) == users
    assert not data["open"]


def test_strict_run_exits_3_on_unknown_principals(tmp_path: Path) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "version: 1\nusers:\n  - {fields: {externalId: owner, emails: \"[{value: 'a@x'}]\"}}\n"
        "objects:\n  - type: atlassian:space\n    fields:\n      id: id\n      displayName: id\n"
        "      url: \"'https://x.test/s'\"\n      createdAt: \"'2024-01-01T00:00:00Z'\"\n"
        "      lastUpdatedAt: \"'2024-01-01T00:00:00Z'\"\n      permissions: permissions(users([owner, 'nobody']))\n"
        "      atlassian:space: {key: id, spaceType: \"'x'\", subtype: \"'x'\"}\n"
    )
    data = tmp_path / "in.json"
    data.write_text('[{"id": "s1", "owner": "bob"}]')
    runner = CliRunner()
    loose = runner.invoke(app, ["run", str(mapping), str(data), "-o", str(tmp_path / "o.jsonl"), "-q"])
    assert loose.exit_code == 0 and "access.unknown-user" in loose.output
    strict = runner.invoke(app, ["run", str(mapping), str(data), "-o", str(tmp_path / "s.jsonl"), "-q", "--strict"])
    assert strict.exit_code == 3
    report = json.loads((tmp_path / "s.report.json").read_text())
    assert report["access"]["counts"]["access.unknown-user"] == 1


class _Stored:
    """Ids sent by an earlier run (what a sync state store would answer)."""

    def has_user(self, external_id: str) -> bool:
        return external_id == "old-user"

    def has_group(self, external_id: str) -> bool:
        return external_id == "old-group"


def test_ids_sent_by_an_earlier_run_count_as_sent() -> None:
    principals = [{"type": "USER", "id": "old-user"}, {"type": "GROUP", "id": "old-group"}, {"type": "USER", "id": "new"}]
    obj = {"id": "s1", "atlassian:space": {}, "permissions": [{"accessControls": [{"principals": principals}]}]}
    checker = PrincipalChecker(known=_Stored(), strict=True)
    checker.add(Entry("object", obj, "t"))
    findings = checker.finish()
    assert findings.counts == {"access.unknown-user": 1} and findings.has_errors


def test_workspace_only_objects_are_reported_in_replicating_runs() -> None:
    obj = {"id": "s1", "atlassian:space": {}, "permissions": [{"accessControls": [{"principals": [{"type": "ATLASSIAN_WORKSPACE"}]}]}]}
    for replicates, expected in ((False, {}), (True, {"access.workspace-only": 1})):
        checker = PrincipalChecker(replicates_permissions=replicates)
        checker.add(Entry("object", obj, "t"))
        assert checker.finish().counts == expected


def test_empty_groups_and_missing_containers_are_reported() -> None:
    checker = PrincipalChecker()
    checker.add(Entry("group", {"externalId": "g1", "members": []}, "t"))
    key = {"type": "atlassian:conversation", "value": {"entityId": "c9"}}
    acl = [{"accessControls": [{"principals": [{"type": "CONTAINER"}]}]}]
    checker.add(Entry("object", {"id": "m1", "atlassian:message": {}, "containerKey": key, "permissions": acl}, "t"))
    assert checker.finish().counts == {"access.empty-group": 1, "access.missing-container": 1}


def test_index_of_a_missing_output_leaves_no_file(tmp_path: Path) -> None:
    """`mapper index nothere -o graph.db`: exit 4, and neither the index nor a temporary."""
    result = CliRunner().invoke(app, ["index", str(tmp_path / "nothere"), "-o", str(tmp_path / "graph.db")])
    assert result.exit_code == 4, result.output
    assert "access.no-output" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("given", ["the file", "its folder"])
def test_index_never_overwrites_an_output_it_reads(tmp_path: Path, given: str) -> None:
    out = tmp_path / "o.jsonl"
    line = {"schemaVersion": "1.0", "id": "a", "displayName": "a", "url": "https://x.test/a",
            "createdAt": "2024-01-01T00:00:00Z", "lastUpdatedAt": "2024-01-01T00:00:00Z"}
    out.write_text(json.dumps(line) + "\n")
    before = out.read_bytes()
    read = out if given == "the file" else tmp_path
    result = CliRunner().invoke(app, ["index", str(read), "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert "would overwrite" in result.output and out.read_bytes() == before


@pytest.mark.parametrize("there", ["a sync state", "a text file"])
def test_index_replaces_only_an_index(tmp_path: Path, there: str) -> None:
    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "push.jsonl"
    runner = CliRunner()
    ran = runner.invoke(app, ["run", str(root / "mappings/github/push.yaml"),
                              str(root / "samples/github/push-webhook.json"), "-o", str(out), "-q"])
    assert ran.exit_code == 0, ran.output
    target = tmp_path / "g.db"
    if there == "a sync state":
        synced = runner.invoke(app, ["sync", str(root / "mappings/github/push.yaml"),
                                     str(root / "samples/github/push-webhook.json"), "--state",
                                     str(target), "-o", str(tmp_path / "s"), "--connection-id", "c"])
        assert synced.exit_code == 0, synced.output
    else:
        target.write_text("notes\n")
    before = target.read_bytes()
    result = runner.invoke(app, ["index", str(out), "-o", str(target)])
    assert result.exit_code == 4 and "access.not-an-index" in result.output
    assert target.read_bytes() == before
    index = tmp_path / "i.db"
    for _ in range(2):  # an index is replaced by the next one
        assert runner.invoke(app, ["index", str(out), "-o", str(index)]).exit_code == 0
