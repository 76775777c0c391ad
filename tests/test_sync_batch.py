"""`mapper sync-batch`: a jobs file synced, each job its own state and output folder; the
principals the jobs sent are checked against the users and groups sent or kept in the states."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mapper import cli
from mapper.cli import app

ROOT = Path(__file__).resolve().parent.parent

USERS = """\
version: 1
name: batch-users
users:
  - fields:
      externalId: id
      emails: "[{value: mail}]"
"""
DOCS = """\
version: 1
name: batch-docs
objects:
  - type: atlassian:document
    fields:
      id: id
      displayName: title
      url: "concat('https://example.test/d/', id)"
      createdAt: "'2024-01-01T00:00:00Z'"
      lastUpdatedAt: to_rfc3339(ts)
      permissions: "permissions(users(readers))"
      atlassian:document:
        type: {const: {category: DOCUMENT, mimeType: text/plain}}
        content: {const: {mimeType: text/plain, text: x}}
"""
JOBS = """\
jobs:
  - name: docs
    mapping: docs.yaml
    inputs: [docs.jsonl]
  - name: people
    mapping: users.yaml
    inputs: [users.jsonl]
"""


@pytest.fixture(autouse=True)
def _wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli.err.get(), "width", 240)


def invoke(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.stderr, result.stderr
    return result.exit_code, result.stderr


def write(folder: Path, docs: list[dict[str, Any]], users: list[str]) -> Path:
    for name, text in (("users.yaml", USERS), ("docs.yaml", DOCS), ("jobs.yaml", JOBS)):
        (folder / name).write_text(text)
    (folder / "docs.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    lines = (json.dumps({"id": u, "mail": f"{u}@example.com"}) + "\n" for u in users)
    (folder / "users.jsonl").write_text("".join(lines))
    return folder / "jobs.yaml"


def doc(did: str, *readers: str, day: int = 1) -> dict[str, Any]:
    return {"id": did, "title": "t", "ts": f"2024-01-0{day}T00:00:00Z", "readers": list(readers)}


def sync_batch(tmp: Path, *extra: object) -> tuple[int, str]:
    base = ("sync-batch", tmp / "jobs.yaml", "--state", tmp / "states", "-o", tmp / "out")
    return invoke(*base, "--mode", "mirror", *extra)


def test_each_job_gets_its_state_and_folder_and_a_rerun_sends_nothing(tmp_path: Path) -> None:
    write(tmp_path, [doc("d1", "u1")], ["u1"])
    code, err = sync_batch(tmp_path, "--connection-id", "c")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "states").glob("*.db")) == ["docs.db", "people.db"]
    assert (tmp_path / "out/people/setUsers.jsonl").exists()
    assert (tmp_path / "out/docs/setObjects.jsonl").exists()
    assert "2 of 2 job(s) synced, 0 failed" in err
    assert "send the users and groups of people before the objects of docs" in err
    assert "access.unknown-user" not in err
    code, err = sync_batch(tmp_path)
    assert code == 0 and err.count("to send: 0 ") == 2, err
    assert not list((tmp_path / "out").glob("*/set*.jsonl"))


def test_an_unchanged_user_in_its_state_is_known_to_a_changed_object(tmp_path: Path) -> None:
    write(tmp_path, [doc("d1", "u1")], ["u1"])
    sync_batch(tmp_path, "--connection-id", "c")
    write(tmp_path, [doc("d1", "u1", day=2)], ["u1"])  # the document changed, u1 did not
    code, err = sync_batch(tmp_path, "--strict")
    assert code == 0, err
    assert "1 object(s) in 1 setObjects body(ies)" in err
    assert not (tmp_path / "out/people/setUsers.jsonl").exists()  # u1 is not sent again
    assert "access.unknown-user" not in err and "unreferenced-user" not in err
    write(tmp_path, [doc("d1", "u1", day=2), doc("d2", "u2")], ["u1", "u2"])
    (tmp_path / "users.jsonl").write_text(
        '{"id": "u1", "mail": "new@example.com"}\n{"id": "u2", "mail": "u2@example.com"}\n'
    )
    code, err = sync_batch(tmp_path, "--strict")  # u1 sent again, the document it reads not
    assert code == 0 and "2 user(s) in 1 setUsers body(ies)" in err, err
    assert "unreferenced-user" not in err  # its grant is an unchanged object's, in its state


def test_a_principal_no_job_sent_is_reported_and_strict_fails(tmp_path: Path) -> None:
    write(tmp_path, [doc("d1", "u1", "ghost")], ["u1"])
    code, err = sync_batch(tmp_path, "--connection-id", "c")
    assert code == 0 and "access.unknown-user" in err and "'ghost'" in err, err
    write(tmp_path, [doc("d1", "u1", "ghost", day=2)], [])  # u1 gone: deleted, no longer known
    code, err = sync_batch(tmp_path, "--strict", "--max-delete-share", "1")
    assert code == 3, err
    assert "USER u1" in err and "USER ghost" in err


def test_a_failing_job_does_not_stop_the_others(tmp_path: Path) -> None:
    write(tmp_path, [doc("d1")], ["u1"])
    (tmp_path / "docs.jsonl").unlink()
    code, err = sync_batch(tmp_path, "--connection-id", "c")
    assert code == 4, err
    assert "job 'docs' failed (exit 4)" in err and "1 of 2 job(s) synced, 1 failed" in err
    assert (tmp_path / "out/people/setUsers.jsonl").exists()
    assert not (tmp_path / "states/docs.db").exists()  # a failed first sync leaves no state


def test_a_failed_jobs_earlier_folder_is_removed_so_it_is_not_sent_again(tmp_path: Path) -> None:
    write(tmp_path, [doc("d1", "u1")], ["u1"])
    assert sync_batch(tmp_path, "--connection-id", "c")[0] == 0
    write(tmp_path, [doc("d1", "u1")], ["u1", "u2"])
    (tmp_path / "docs.jsonl").unlink()  # the docs job fails this time
    code, err = sync_batch(tmp_path)
    assert code == 4 and "removed" in err and "nothing stale is left to send" in err, err
    assert not (tmp_path / "out/docs").exists()  # run 1's setObjects would be sent again
    assert (tmp_path / "out/people/setUsers.jsonl").exists()


@pytest.mark.parametrize("case", ["foreign file", "state file", "no connection", "locked"])
def test_what_would_fail_every_job_is_found_before_any_runs(tmp_path: Path, case: str) -> None:
    import fcntl

    write(tmp_path, [doc("d1", "u1")], ["u1"])
    extra: tuple[str, ...] = ("--connection-id", "c")
    if case == "foreign file":
        (tmp_path / "out").mkdir()
        (tmp_path / "out" / "notes.txt").write_text("mine")
    elif case == "state file":
        (tmp_path / "states").write_text("not a folder")
    elif case == "no connection":
        extra = ()
    held = None
    if case == "locked":
        (tmp_path / "states").mkdir()
        held = (tmp_path / "states" / ".sync-batch.lock").open("a")
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        code, err = sync_batch(tmp_path, *extra)
    finally:
        if held is not None:
            held.close()
    said = {"foreign file": "notes.txt", "state file": "is a file",
            "no connection": "2 job(s) have no state yet", "locked": "another sync-batch"}
    assert code in (2, 4) and said[case] in err, err
    assert "job(s) synced" not in err and not (tmp_path / "out" / "docs").exists()


def test_a_bad_jobs_file_runs_no_job(tmp_path: Path) -> None:
    write(tmp_path, [doc("d1")], ["u1"])
    (tmp_path / "jobs.yaml").write_text(JOBS.replace("inputs:", "inptus:", 1))
    code, err = sync_batch(tmp_path, "--connection-id", "c")
    assert code == 1 and "jobs.unknown-key" in err and "no job was run" in err
    assert not (tmp_path / "states").exists() and not (tmp_path / "out").exists()


def test_the_bundled_github_connector_syncs_whole(tmp_path: Path) -> None:
    jobs = ROOT / "mappings/github/jobs.yaml"
    base = ("sync-batch", jobs, "--state", tmp_path / "s", "-o", tmp_path / "o", "-q")
    code, err = invoke(*base, "--connection-id", "c", "--mode", "mirror")
    assert code == 0, err
    assert "8 of 8 job(s) synced, 0 failed" in err
    groups = json.loads((tmp_path / "o/github-collaborators/setGroups.jsonl").read_text())
    assert [g["externalId"] for g in groups["groups"]] == ["github-repo:acme/infra-terraform"]
    code, err = invoke(*base, "--mode", "mirror", "--strict")
    assert code == 0 and "access." not in err, err  # (-q: the access section only for a finding)


TWO_SOURCES = """\
jobs:
  - name: first
    mapping: docs.yaml
    inputs: [a.jsonl]
  - name: second
    mapping: docs.yaml
    inputs: [b.jsonl]
"""


def _two(tmp: Path, a: list[dict[str, Any]], b: list[dict[str, Any]]) -> None:
    write(tmp, [], ["u1"])
    (tmp / "jobs.yaml").write_text(TWO_SOURCES)
    for name, docs in (("a.jsonl", a), ("b.jsonl", b)):
        (tmp / name).write_text("".join(json.dumps(d) + "\n" for d in docs))


def test_an_id_another_job_still_holds_is_not_deleted(tmp_path: Path) -> None:
    """Two jobs send d1 (a commit from the push webhook and from the compare API): when one
    stops seeing it, the other still holds it, so it is not deleted; when both have, it is."""
    _two(tmp_path, [doc("d1", "u1"), doc("a1", "u1")], [doc("d1", "u1")])
    assert sync_batch(tmp_path, "--connection-id", "c")[0] == 0
    _two(tmp_path, [doc("a1", "u1")], [doc("d1", "u1")])  # first no longer lists d1
    code, err = sync_batch(tmp_path)
    assert code == 0 and "sync.kept-by-another-job" in err and "'d1'" in err, err
    assert not (tmp_path / "out/first/deleteObjects.jsonl").exists()
    _two(tmp_path, [doc("a1", "u1")], [])  # now second drops it too: deleted once, by second
    code, err = sync_batch(tmp_path, "--allow-mass-delete")
    assert code == 0, err
    body = json.loads((tmp_path / "out/second/deleteObjects.jsonl").read_text())
    assert body["externalIds"] == ["d1"]
    _two(tmp_path, [doc("a1", "u1"), doc("d1", "u1")], [])  # back in first's input: sent again
    code, err = sync_batch(tmp_path)
    assert code == 0, err
    sent = json.loads((tmp_path / "out/first/setObjects.jsonl").read_text())["objects"]
    assert [o["id"] for o in sent] == ["d1"]


def test_both_jobs_dropping_an_id_in_one_run_delete_it_once(tmp_path: Path) -> None:
    _two(tmp_path, [doc("d1", "u1"), doc("a1", "u1")], [doc("d1", "u1"), doc("b1", "u1")])
    assert sync_batch(tmp_path, "--connection-id", "c")[0] == 0
    _two(tmp_path, [doc("a1", "u1")], [doc("b1", "u1")])
    code, err = sync_batch(tmp_path)
    assert code == 0, err
    assert not (tmp_path / "out/first/deleteObjects.jsonl").exists()  # handed over
    assert json.loads((tmp_path / "out/second/deleteObjects.jsonl").read_text())["externalIds"] == ["d1"]
    code, err = sync_batch(tmp_path)  # and never again
    assert code == 0 and not list((tmp_path / "out").glob("*/deleteObjects.jsonl")), err


def test_a_reference_to_what_another_job_holds_is_not_dangling(tmp_path: Path) -> None:
    spaces = DOCS.replace("atlassian:document", "atlassian:space", 1).replace(
        "      atlassian:document:\n        type: {const: {category: DOCUMENT, mimeType: text/plain}}\n"
        "        content: {const: {mimeType: text/plain, text: x}}\n",
        "      atlassian:space: {key: id, spaceType: \"'global'\", subtype: \"'wiki'\"}\n",
    )
    children = DOCS.replace("      permissions:", "      parentKey: \"entity_key('atlassian:space', space)\"\n      permissions:")
    write(tmp_path, [], ["u1"])
    (tmp_path / "spaces.yaml").write_text(spaces)
    (tmp_path / "docs.yaml").write_text(children)
    (tmp_path / "s.jsonl").write_text(json.dumps(doc("S1", "u1")) + "\n")
    (tmp_path / "docs.jsonl").write_text(json.dumps({**doc("d1", "u1"), "space": "S1"}) + "\n")
    (tmp_path / "jobs.yaml").write_text(
        "jobs:\n  - name: spaces\n    mapping: spaces.yaml\n    inputs: [s.jsonl]\n" + JOBS[6:]
    )
    code, err = sync_batch(tmp_path, "--connection-id", "c", "--strict")
    assert code == 0 and "sync.dangling-reference" not in err, err


def test_the_folder_of_a_job_taken_out_of_the_jobs_file_is_named(tmp_path: Path) -> None:
    write(tmp_path, [doc("d1", "u1")], ["u1"])
    assert sync_batch(tmp_path, "--connection-id", "c")[0] == 0
    (tmp_path / "jobs.yaml").write_text(JOBS.split("  - name: people")[0])  # docs only
    code, err = sync_batch(tmp_path)
    assert code == 4 and "people is the folder of a job this batch no longer has" in err, err


@pytest.mark.parametrize("states", ["out/states", "out/docs", "out/x/states"])
def test_a_state_folder_inside_the_output_folder_is_refused_on_the_first_run_too(
    tmp_path: Path, states: str
) -> None:
    """The first run took it and every later one was refused (the folder holds what no job
    wrote): the states are refused before any job runs, as a sync's --state inside -o is."""
    write(tmp_path, [doc("d1", "u1")], ["u1"])
    args = ("sync-batch", tmp_path / "jobs.yaml", "--state", tmp_path / states, "-o", tmp_path / "out")
    code, err = invoke(*args, "--connection-id", "c")
    assert code == 4 and "keep --state outside the -o folder" in err, err
    assert not (tmp_path / "out").exists()


def test_the_states_may_share_the_output_folder(tmp_path: Path) -> None:
    write(tmp_path, [doc("d1", "u1")], ["u1"])
    args = ("sync-batch", tmp_path / "jobs.yaml", "--state", tmp_path / "out", "-o", tmp_path / "out")
    assert invoke(*args, "--connection-id", "c")[0] == 0
    code, err = invoke(*args)
    assert code == 0 and "2 of 2 job(s) synced" in err, err


def test_a_failed_jobs_folder_with_files_added_by_hand_is_left(tmp_path: Path) -> None:
    write(tmp_path, [doc("d1", "u1")], ["u1"])
    assert sync_batch(tmp_path, "--connection-id", "c")[0] == 0
    (tmp_path / "out/docs/NOTES.md").write_text("mine")  # the job refuses its folder now
    write(tmp_path, [doc("d1", "u1", day=2)], ["u1"])
    code, err = sync_batch(tmp_path)
    assert code == 4 and "holds files added by hand: left as it is" in err, err
    assert (tmp_path / "out/docs/NOTES.md").read_text() == "mine"


def test_one_id_sent_by_two_jobs_with_other_content_is_a_warning(tmp_path: Path) -> None:
    same, other = doc("d1", "u1"), {**doc("d1", "u1"), "title": "another title"}
    _two(tmp_path, [same], [other])
    code, err = sync_batch(tmp_path, "--connection-id", "c")
    assert code == 0 and err.count("sync.sent-by-two-jobs") == 1, err
    assert "atlassian:document 'd1'" in err
    code, err = sync_batch(tmp_path)  # nothing sent: nothing said
    assert code == 0 and "sent-by-two-jobs" not in err
    _two(tmp_path, [same], [same])  # the two agree now
    code, err = sync_batch(tmp_path)
    assert code == 0 and "sent-by-two-jobs" not in err, err


def test_a_job_that_rejected_records_is_named_in_the_summary(tmp_path: Path) -> None:
    write(tmp_path, [doc("d1", "u1")], ["u1"])
    (tmp_path / "users.jsonl").write_text('{"id": "u1"}\n')  # no mail: rejected
    code, err = sync_batch(tmp_path, "--connection-id", "c")
    assert code == 3 and "2 of 2 job(s) synced (1 with rejected records: people), 0 failed" in err, err


def test_ctrl_c_as_a_synced_jobs_summary_is_printed_stops_the_batch_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job is committed (its state and folder): it counts as synced; the next job does not
    run; exit 130. (It was a KeyboardInterrupt out of the summary: 'interrupted', no summary.)"""
    import os
    import signal

    import mapper.cli.sync as cli_sync

    shown = cli_sync._show_summary

    def show_then_ctrl_c(*args: Any) -> None:
        shown(*args)
        os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(cli_sync, "_show_summary", show_then_ctrl_c)
    write(tmp_path, [doc("d1", "u1")], ["u1"])
    code, err = sync_batch(tmp_path, "--connection-id", "c")
    assert code == cli.EXIT_INTERRUPTED, err
    assert "1 of 2 job(s) synced, 0 failed, 1 not run" in err
    assert "interrupted after job 'docs' was synced" in err
    assert (tmp_path / "states" / "docs.db").is_file()
    assert not (tmp_path / "states" / "people.db").exists()


REPO_JOBS = """\
jobs:
  - name: repos
    mapping: {root}/mappings/github/repository.yaml
    inputs: [{root}/samples/github/org-repos.json]
  - name: commits
    mapping: {root}/mappings/github/commits.yaml
    inputs: [commits.json]
"""


def _bodies(folder: Path) -> list[list[tuple[str, str, int]]]:
    """Each setObjects body of a job folder: (type, id, number) of its objects."""
    path = folder / "setObjects.jsonl"
    if not path.exists():
        return []
    return [
        [(next(k for k in o if k.startswith("atlassian:")), o["id"], o["updateSequenceNumber"])
         for o in json.loads(line)["objects"]]
        for line in path.read_text().splitlines()
    ]  # fmt: skip


def _carried(folder: Path) -> int:
    return int(json.loads((folder / "report.json").read_text())["sync"]["total"]["carried"])


def test_a_commit_carries_the_repository_another_job_sent_in_its_body(tmp_path: Path) -> None:
    """The reference: a commit's repository travels "as a separate entity in the same payload".
    Here another job's mapping makes the repositories: the commits job carries the payload that
    job last sent (its state keeps it), once per body, with the number it was sent with."""
    (tmp_path / "jobs.yaml").write_text(REPO_JOBS.format(root=ROOT))
    commits = json.loads((ROOT / "samples/github/commits.json").read_text())
    (tmp_path / "commits.json").write_text(json.dumps(commits))
    assert sync_batch(tmp_path, "--connection-id", "c")[0] == 0
    (repo,) = [o for body in _bodies(tmp_path / "out/repos") for o in body
               if o[1] == "acme/widget-service"]  # fmt: skip
    first = _bodies(tmp_path / "out/commits")
    assert [o[0] for o in first[0]] == ["atlassian:repository"] + ["atlassian:commit"] * 4
    assert first[0][0] == repo and _carried(tmp_path / "out/commits") == 1
    code, err = sync_batch(tmp_path)
    assert code == 0 and _bodies(tmp_path / "out/commits") == [], err  # nothing changed
    commits[1]["commit"]["message"] = "MAP-17: reworded"
    (tmp_path / "commits.json").write_text(json.dumps(commits))
    code, err = sync_batch(tmp_path)
    assert code == 0, err
    ((carried, commit),) = _bodies(tmp_path / "out/commits")
    assert carried == repo
    assert commit[:2] == ("atlassian:commit", f"acme/widget-service@{commits[1]['sha']}")
    assert _carried(tmp_path / "out/commits") == 1
    added = {**commits[0], "sha": "f" * 40}  # append mode sends it alone: never a known id
    (tmp_path / "commits.json").write_text(json.dumps([*commits, added]))
    assert sync_batch(tmp_path, "--mode", "append")[0] == 0
    assert [[o[1] for o in body] for body in _bodies(tmp_path / "out/commits")] == [
        [f"acme/widget-service@{'f' * 40}"]
    ]
    assert _carried(tmp_path / "out/commits") == 0
    state = tmp_path / "states/repos.db"  # a forgotten repository's payload goes with it
    assert invoke("state", "forget", "--state", state, "--type", "atlassian:repository",
                  "acme/widget-service")[0] == 0  # fmt: skip
    with sqlite3.connect(state) as conn:
        left = conn.execute("SELECT count(*) FROM payloads").fetchone()[0]
        assert left == conn.execute("SELECT count(*) FROM objects").fetchone()[0] == 3


def test_a_repository_whose_payload_the_state_lacks_is_reported_not_carried(
    tmp_path: Path,
) -> None:
    """A state from mapper before schema version 5 knows the repository but not its payload."""
    (tmp_path / "jobs.yaml").write_text(REPO_JOBS.format(root=ROOT))
    commits = json.loads((ROOT / "samples/github/commits.json").read_text())
    (tmp_path / "commits.json").write_text(json.dumps(commits))
    assert sync_batch(tmp_path, "--connection-id", "c")[0] == 0
    with sqlite3.connect(tmp_path / "states/repos.db") as conn:
        conn.execute("DELETE FROM payloads")
    commits[1]["commit"]["message"] = "MAP-17: reworded"
    (tmp_path / "commits.json").write_text(json.dumps(commits))
    code, err = sync_batch(tmp_path)
    assert code == 0 and "sync.not-carried" in err, err
    assert [[o[0] for o in body] for body in _bodies(tmp_path / "out/commits")] == [
        ["atlassian:commit"]
    ]
    assert "sync.dangling-reference" not in err  # (it is known: only its payload is not)


def test_an_output_that_is_a_file_is_refused_before_any_job_runs(tmp_path: Path) -> None:
    write(tmp_path, [doc("d1", "u1")], ["u1"])
    (tmp_path / "out").write_text("not a folder\n")
    code, err = sync_batch(tmp_path, "--connection-id", "c")
    assert code == 2 and "-o" in err and "is not a folder" in err, err
    assert (tmp_path / "out").read_text() == "not a folder\n"
    assert not (tmp_path / "states").exists() or not list((tmp_path / "states").glob("*.db"))
