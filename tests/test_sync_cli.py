"""`mapper sync` and `mapper state` on the command line; bad state files are clear errors (exit 4)
that leave the file as it was."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sync_support import doc, write_mapping, write_records
from typer.testing import CliRunner

from mapper import cli
from mapper.cli import app


@pytest.fixture(autouse=True)
def _wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli.out.get(), "width", 240)
    monkeypatch.setattr(cli.err.get(), "width", 240)


def invoke(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stdout, result.stderr


def sync_cli(tmp: Path, records: list[dict[str, object]], *extra: object) -> tuple[int, str, str]:
    if not (tmp / "m.yaml").exists():
        write_mapping(tmp)
    src = write_records(tmp / "in.jsonl", records)
    base = (tmp / "m.yaml", src, "--state", tmp / "s.db", "-o", tmp / "out")
    return invoke("sync", *base, *extra)


def test_twice_then_a_delete(tmp_path: Path) -> None:
    code, _, err = sync_cli(
        tmp_path, [doc("a"), doc("b")], "--mode", "mirror", "--connection-id", "c"
    )
    assert code == 0 and "records: 2 in = 2 mapped + 0 rejected + 0 filtered ✓" in err
    assert "2 object(s) in 1 setObjects body(ies), 0 id(s) in 0 delete" in err
    code, _, err = sync_cli(tmp_path, [doc("a"), doc("b")], "--mode", "mirror")
    assert code == 0 and "to send: 0 object(s) in 0 setObjects body(ies), 0 id(s)" in err
    code, _, err = sync_cli(tmp_path, [doc("a")], "--mode", "mirror")
    assert code == 0 and "0 setObjects body(ies), 1 id(s) in 1 delete body(ies)" in err
    body = json.loads((tmp_path / "out" / "deleteObjects.jsonl").read_text())
    assert body == {"objectType": "atlassian:document", "externalIds": ["b"], "connectionId": "c"}


@pytest.mark.parametrize("given", [[], ["--connection-id", " "]], ids=["none", "blank"])
def test_a_new_state_needs_a_connection_id(tmp_path: Path, given: list[str]) -> None:
    code, _, err = sync_cli(tmp_path, [doc("a")], *given)
    assert code == 4 and "sync.connection-required" in err
    assert not (tmp_path / "out").exists() and not (tmp_path / "s.db").exists()


def test_users_and_groups_are_synced_and_listed(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(
        "version: 1\nusers:\n  - where: \"kind == 'u'\"\n    fields:\n      externalId: id\n"
        "      emails: \"[{value: mail}]\"\ngroups:\n  - where: \"kind == 'g'\"\n    fields:\n"
        "      externalId: id\n      displayName: mail\n",
        encoding="utf-8",
    )
    records = [{"kind": "u", "id": "u1", "mail": "a@example.com"}, {"kind": "g", "id": "g1", "mail": "x"}]
    code, _, err = sync_cli(tmp_path, records, "--connection-id", "c", "--mode", "mirror")
    assert code == 0, err
    assert "to send: 1 user(s) in 1 setUsers body(ies), 1 group(s) in 1 setGroups body(ies), " \
        "0 object(s) in 0 setObjects body(ies), 0 id(s) in 0 delete body(ies)" in err
    code, out, _ = invoke("state", "ids", "--state", tmp_path / "s.db", "--type", "user")
    assert (code, out) == (0, "user\tu1\n")
    code, _, err = sync_cli(tmp_path, records[1:], "--mode", "mirror", "--max-delete-share", "1")
    assert code == 0 and "1 id(s) in 1 delete body(ies)" in err
    assert json.loads((tmp_path / "out" / "deleteUsers.jsonl").read_text()) == {
        "externalIds": ["u1"], "connectionId": "c"
    }
    code, _, err = invoke("state", "ids", "--state", tmp_path / "s.db", "--type", "usr")
    assert code == 2 and "did you mean 'user'?" in err


def test_mass_delete_exits_3(tmp_path: Path) -> None:
    sync_cli(tmp_path, [doc("a"), doc("b")], "--mode", "mirror", "--connection-id", "c")
    code, _, err = sync_cli(tmp_path, [], "--mode", "mirror")
    assert code == 3 and "sync.mass-delete" in err
    code, _, _ = sync_cli(tmp_path, [], "--mode", "mirror", "--allow-mass-delete")
    assert code == 0


@pytest.mark.parametrize("share", ["nan", "-nan", "NaN"])
def test_a_share_that_is_not_a_number_is_a_usage_error(tmp_path: Path, share: str) -> None:
    sync_cli(tmp_path, [doc("a"), doc("b")], "--mode", "mirror", "--connection-id", "c")
    code, _, err = sync_cli(tmp_path, [], "--mode", "mirror", "--max-delete-share", share)
    assert code == 2 and "--max-delete-share" in err
    assert not (tmp_path / "out" / "deleteObjects.jsonl").exists()


def test_partial_mirror_run_says_why_it_does_not_delete(tmp_path: Path) -> None:
    sync_cli(tmp_path, [doc("a"), doc("b")], "--mode", "mirror", "--connection-id", "c")
    code, _, err = sync_cli(tmp_path, [doc("a"), {"id": "b"}], "--mode", "mirror")
    assert code == 3 and "no deletes: partial run (1 record(s) rejected" in err


def test_state_commands(tmp_path: Path) -> None:
    sync_cli(tmp_path, [doc("a", day=4), doc("b", day=2)], "--connection-id", "c")
    state = tmp_path / "s.db"
    code, out, _ = invoke("state", "show", "--state", state, "--json")
    info = json.loads(out)
    assert code == 0 and info["connectionId"] == "c" and info["mapping"] == "sync-test"
    assert info["objects"] == {"atlassian:document": {"live": 2, "deleted": 0}}
    assert info["cursor"] == "2024-01-04T00:00:00Z" and info["runs"][0]["created"] == 2
    code, out, _ = invoke("state", "show", "--state", state)
    assert code == 0 and "atlassian:document" in out and "last runs" in out
    assert invoke("state", "ids", "--state", state)[1].split() == [
        "atlassian:document", "a", "atlassian:document", "b",
    ]  # fmt: skip
    assert invoke("state", "cursor", "--state", state)[1].strip() == "2024-01-04T00:00:00Z"
    code, _, _ = invoke("state", "export", "--state", state, "-o", tmp_path / "x.jsonl")
    rows = [json.loads(line) for line in (tmp_path / "x.jsonl").read_text().splitlines()]
    assert code == 0 and [r["id"] for r in rows] == ["a", "b"]
    code, _, err = invoke("state", "forget", "--state", state, "--type", "atlassian:document", "a")
    assert code == 0 and "forgot 1 id(s)" in err
    code, _, err = sync_cli(tmp_path, [doc("a", day=4), doc("b", day=2)])
    assert code == 0 and "1 object(s) in 1 setObjects" in err  # a is new again
    assert invoke("state", "forget", "--state", state)[0] == 2  # nothing named: usage error


# -- bad state files ------------------------------------------------------------------------------


def _made(tmp: Path) -> Path:
    sync_cli(tmp, [doc(f"id{i:04d}") for i in range(3000)], "--connection-id", "c")
    return tmp / "s.db"


def _random_bytes(tmp: Path) -> None:
    (tmp / "s.db").write_bytes(os.urandom(5000))


def _empty(tmp: Path) -> None:
    (tmp / "s.db").write_bytes(b"")


def _truncated_mid_page(tmp: Path) -> None:
    data = _made(tmp).read_bytes()
    (tmp / "s.db").write_bytes(data[: len(data) // 2 + 7])


def _truncated_at_a_page(tmp: Path) -> None:
    data = _made(tmp).read_bytes()
    (tmp / "s.db").write_bytes(data[: 4096 * (len(data) // 4096 // 2)])


def _newer_version(tmp: Path) -> None:
    conn = sqlite3.connect(_made(tmp))
    conn.execute("UPDATE meta SET value='99' WHERE key='schemaVersion'")
    conn.commit()
    conn.close()


def _not_a_mapper_state(tmp: Path) -> None:
    conn = sqlite3.connect(tmp / "s.db")
    conn.execute("CREATE TABLE songs (title TEXT)")
    conn.commit()
    conn.close()


BAD_STATES: list[tuple[str, Callable[[Path], None], tuple[str, ...], str]] = [
    ("random bytes", _random_bytes, (), "sync.state-corrupt"),
    ("empty file", _empty, (), "sync.state-corrupt"),
    ("truncated mid-page", _truncated_mid_page, (), "sync.state-corrupt"),
    ("truncated at a page", _truncated_at_a_page, (), "sync.state-corrupt"),
    ("newer schema", _newer_version, (), "sync.state-version"),
    ("another program's SQLite", _not_a_mapper_state, (), "sync.state-unknown"),
    ("another connection", _made, ("--connection-id", "other"), "sync.state-mismatch"),
]


@pytest.mark.parametrize(
    ("make", "extra", "code"), [b[1:] for b in BAD_STATES], ids=[b[0] for b in BAD_STATES]
)
def test_a_bad_state_is_a_clear_error_and_stays_as_it_was(
    tmp_path: Path, make: Callable[[Path], None], extra: tuple[str, ...], code: str
) -> None:
    write_mapping(tmp_path)
    make(tmp_path)
    before = (tmp_path / "s.db").read_bytes()
    outputs_before = sorted(p.name for p in (tmp_path / "out").glob("*"))
    exit_code, _, err = sync_cli(tmp_path, [doc("a")], "--mode", "mirror", *extra)
    assert exit_code == 4 and code in err, err
    assert (tmp_path / "s.db").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "out").glob("*")) == outputs_before
    if code != "sync.state-mismatch":
        show_code, _, show_err = invoke("state", "show", "--state", tmp_path / "s.db")
        assert show_code == 4 and code in show_err


def test_another_mapping_is_refused(tmp_path: Path) -> None:
    state = _made(tmp_path)
    other = tmp_path / "other.yaml"
    other.write_text((tmp_path / "m.yaml").read_text().replace("name: sync-test", "name: other"))
    src = write_records(tmp_path / "in.jsonl", [doc("a")])
    code, _, err = invoke("sync", other, src, "--state", state, "-o", tmp_path / "out")
    assert code == 4 and "sync.state-mismatch" in err and "'sync-test'" in err


def test_a_locked_state_is_a_clear_error_not_a_wait(tmp_path: Path) -> None:
    state = _made(tmp_path)
    holder = sqlite3.connect(state, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another run holds the write lock
    try:
        before = state.read_bytes()
        code, _, err = sync_cli(tmp_path, [doc("a")])
        assert code == 4 and "sync.state-locked" in err
        assert state.read_bytes() == before
        assert invoke("state", "show", "--state", state)[0] == 0  # reading still works
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert sync_cli(tmp_path, [doc("a")], "--allow-mass-delete")[0] == 0


@pytest.mark.parametrize("where", ["under a file", "a folder", "a FIFO"])
def test_an_unwritable_state_path(tmp_path: Path, where: str) -> None:
    write_mapping(tmp_path)
    if where == "under a file":
        (tmp_path / "f").write_text("x")
        state = tmp_path / "f" / "s.db"
    elif where == "a folder":
        state = tmp_path / "dir.db"
        state.mkdir()
    else:  # opening it to read the header would wait for a writer forever
        state = tmp_path / "fifo.db"
        os.mkfifo(state)
        code, _, err = invoke("state", "show", "--state", state)
        assert code == 4 and "is a FIFO" in err
    src = write_records(tmp_path / "in.jsonl", [doc("a")])
    args = ("sync", tmp_path / "m.yaml", src, "--state", state, "-o", tmp_path / "out")
    code, _, err = invoke(*args, "--connection-id", "c")
    assert code == 4 and "sync.state-unwritable" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write read-only files")
def test_a_read_only_state(tmp_path: Path) -> None:
    state = _made(tmp_path)
    state.chmod(0o444)
    tmp_path.chmod(0o555)
    try:
        code, _, err = sync_cli(tmp_path, [doc("a")])
        assert code == 4 and "sync.state-unwritable" in err
    finally:
        tmp_path.chmod(0o755)


def test_an_output_folder_of_other_files_is_not_replaced(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "precious.txt").write_text("keep me")
    code, _, err = sync_cli(tmp_path, [doc("a")], "--connection-id", "c")
    assert code == 4 and "mapper sync did not write" in err
    assert (tmp_path / "out" / "precious.txt").read_text() == "keep me"
    assert not (tmp_path / "s.db").exists()  # nothing kept: the run made no state


def test_param_on_the_command_line(tmp_path: Path) -> None:
    from test_sync_incremental import write_since_mapping

    write_since_mapping(tmp_path, "integer", "to_epoch_ms(ts) >= param('since')")
    records = [doc("a", day=3), doc("b", day=5)]
    code, _, err = sync_cli(
        tmp_path, records, "--connection-id", "c", "--param", "since=1704412800000"
    )
    assert code == 0 and "records: 2 in = 1 mapped + 0 rejected + 1 filtered ✓" in err
    code, _, err = sync_cli(tmp_path, records, "--param", "sinse=1")
    assert code == 2 and "did you mean" in err.lower()


def test_parameters_are_given_with_param(tmp_path: Path) -> None:
    """A missing parameter is a usage error before the state is made; --param gives it."""
    from sync_support import MAPPING

    (tmp_path / "m.yaml").write_text(
        MAPPING.replace("name: sync-test\n", "name: sync-test\nparams: {site: {}}\n")
        .replace("'https://example.test/d/'", "param('site'), '/d/'")
    )
    code, _, err = sync_cli(tmp_path, [doc("a")], "--connection-id", "c")
    assert code == 2 and "--param site=VALUE" in err
    assert not (tmp_path / "s.db").exists() and not (tmp_path / "out").exists()
    code, _, err = sync_cli(tmp_path, [doc("a")], "--connection-id", "c", "--param", "site=https://x.test")
    assert code == 0, err
    [body] = [json.loads(x) for x in (tmp_path / "out" / "setObjects.jsonl").read_text().splitlines()]
    assert body["objects"][0]["url"] == "https://x.test/d/a"


def test_an_output_folder_given_as_a_link_is_replaced_where_it_points(tmp_path: Path) -> None:
    """-o naming a link to a folder: the folder it points at gets each run's files, the link
    stays, and nothing is left beside it (the link was moved aside and left as `.out.sync-*.old`)."""
    (tmp_path / "real").mkdir()
    (tmp_path / "out").symlink_to("real")
    for title in ("one", "two"):
        code, _, err = sync_cli(tmp_path, [doc("a", title)], "--connection-id", "c")
        assert code == 0, err
        assert (tmp_path / "out").is_symlink()
        [body] = (tmp_path / "real" / "setObjects.jsonl").read_text().splitlines()
        assert json.loads(body)["objects"][0]["displayName"] == title
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "m.yaml", "out", "real", "s.db"]


def test_a_new_state_given_as_a_link_is_made_where_it_points(tmp_path: Path) -> None:
    """--state naming a link to a file not made yet (a state kept on another volume): the
    state is made there and the link stays (it was replaced by the file); a first run that
    fails leaves the link as it was and nothing where it points."""
    (tmp_path / "s.db").symlink_to("kept.db")
    code, _, err = sync_cli(tmp_path, [doc("a")], "--connection-id", "c", "--param", "nope=1")
    assert code == 2 and (tmp_path / "s.db").is_symlink() and not (tmp_path / "kept.db").exists()
    code, _, err = invoke("sync", tmp_path / "m.yaml", tmp_path / "none.jsonl", "--state",
                          tmp_path / "s.db", "-o", tmp_path / "out", "--connection-id", "c")
    assert code == 4 and (tmp_path / "s.db").is_symlink() and not (tmp_path / "kept.db").exists()
    assert sync_cli(tmp_path, [doc("a")], "--connection-id", "c")[0] == 0
    assert (tmp_path / "s.db").is_symlink() and (tmp_path / "kept.db").is_file()
    code, _, err = sync_cli(tmp_path, [doc("a")])
    assert code == 0 and "to send: 0 object(s)" in err


@pytest.mark.parametrize("output", ["export/out", "export/a/b/out", "out-in-export"])
def test_an_output_folder_inside_an_input_folder_is_refused(tmp_path: Path, output: str) -> None:
    """The next run would read the bodies, rejects and report of this one as records (every
    run rejecting more of them, so a mirror run never deleted again)."""
    write_mapping(tmp_path)
    (tmp_path / "export").mkdir()
    write_records(tmp_path / "export" / "in.jsonl", [doc("a")])
    out = tmp_path / output if output != "out-in-export" else tmp_path / "export"
    args = ("sync", tmp_path / "m.yaml", tmp_path / "export", "--state", tmp_path / "s.db",
            "-o", out, "--connection-id", "c")  # fmt: skip
    code, _, err = invoke(*args)
    assert code == 2 and "would read its own output" in err, err
    assert not (tmp_path / "s.db").exists()


def test_a_file_added_to_a_folder_sync_wrote_is_not_removed_with_it(tmp_path: Path) -> None:
    assert sync_cli(tmp_path, [doc("a")], "--connection-id", "c")[0] == 0
    (tmp_path / "out" / "notes.txt").write_text("keep me")
    code, _, err = sync_cli(tmp_path, [doc("a")])
    assert code == 4 and "did not write (notes.txt)" in err
    assert (tmp_path / "out" / "notes.txt").read_text() == "keep me"


def test_a_state_inside_the_output_folder_is_refused_before_it_is_touched(
    tmp_path: Path,
) -> None:
    assert sync_cli(tmp_path, [doc("a")], "--connection-id", "c")[0] == 0
    state = tmp_path / "out" / "s.db"
    (tmp_path / "s.db").rename(state)
    before = state.read_bytes()
    src = tmp_path / "in.jsonl"
    code, _, err = invoke("sync", tmp_path / "m.yaml", src, "--state", state, "-o", tmp_path / "out")
    assert code == 4 and "keep --state outside the -o folder" in err
    assert state.read_bytes() == before
    fresh = tmp_path / "new"
    args = ("sync", tmp_path / "m.yaml", src, "--state", fresh / "s.db", "-o", fresh)
    code, _, err = invoke(*args, "--connection-id", "c")
    assert code == 4 and not fresh.exists()


@pytest.mark.parametrize("failure", ["input not found", "refused output"])
def test_a_first_sync_that_fails_leaves_no_state(tmp_path: Path, failure: str) -> None:
    """Else the retry with the right connection id meets a state tied to the wrong one."""
    write_mapping(tmp_path)
    src = write_records(tmp_path / "in.jsonl", [doc("a")])
    state, out = tmp_path / "s.db", tmp_path / "out"
    if failure == "input not found":
        args = ("sync", tmp_path / "m.yaml", tmp_path / "missing.jsonl", "--state", state, "-o", out)
    else:
        args = ("sync", tmp_path / "m.yaml", src, "--state", state, "-o", src)
    code, _, err = invoke(*args, "--connection-id", "typo")
    assert code == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "m.yaml"]
    code, _, err = invoke("sync", tmp_path / "m.yaml", src, "--state", state, "-o", out,
                          "--connection-id", "right")
    assert code == 0, err


def test_state_export_never_overwrites_the_state(tmp_path: Path) -> None:
    state = _made(tmp_path)
    before = state.read_bytes()
    code, _, err = invoke("state", "export", "--state", state, "-o", state)
    assert code == 2 and "would overwrite the state it exports" in err
    assert state.read_bytes() == before


@pytest.mark.parametrize("command", [["ids"], ["forget"], ["forget", "some-id"]])
def test_state_commands_refuse_an_unknown_type_with_a_did_you_mean(
    tmp_path: Path, command: list[str]
) -> None:
    state = _made(tmp_path)
    before = invoke("state", "ids", "--state", state)
    code, _, err = invoke("state", *command, "--state", state, "--type", "atlassian:comit")
    assert code == 2 and "did you mean 'atlassian:commit'?" in err
    assert invoke("state", "ids", "--state", state) == before


@pytest.mark.parametrize("named", ["the mapping", "the input"])
def test_a_state_path_naming_what_the_run_reads_is_refused(tmp_path: Path, named: str) -> None:
    write_mapping(tmp_path)
    src = write_records(tmp_path / "in.jsonl", [doc("a")])
    state = tmp_path / "m.yaml" if named == "the mapping" else src
    before = state.read_bytes()
    code, _, err = invoke("sync", tmp_path / "m.yaml", src, "--state", state, "-o",
                          tmp_path / "out", "--connection-id", "c")
    assert code == 2 and f"is {named}" in err
    assert state.read_bytes() == before and not (tmp_path / "out").exists()


@pytest.mark.parametrize("option", [["--associations", "set"], ["--associations-set"]])
def test_sync_takes_the_associations_form_as_run_does(tmp_path: Path, option: list[str]) -> None:
    root = Path(__file__).resolve().parents[1]
    args = ("sync", root / "mappings/github/push.yaml", root / "samples/github/push-webhook.json",
            "--state", tmp_path / "s.db", "-o", tmp_path / "out", "--connection-id", "c")
    assert invoke(*args, *option)[0] == 0
    bodies = [json.loads(line) for line in (tmp_path / "out/setObjects.jsonl").read_text().splitlines()]
    forms = {next(iter(o["associations"])) for b in bodies for o in b["objects"] if "associations" in o}
    assert forms == {"set"}


def test_an_interrupted_sync_says_so_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    import mapper.sync.runner as runner

    def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    write_mapping(tmp_path)
    src = write_records(tmp_path / "in.jsonl", [doc("a")])
    monkeypatch.setattr(runner, "sync_files", interrupted)
    monkeypatch.setattr(sys, "argv", ["mapper", "sync", str(tmp_path / "m.yaml"), str(src),
                                      "--state", str(tmp_path / "s.db"), "-o", str(tmp_path / "o"),
                                      "--connection-id", "c"])  # fmt: skip
    with pytest.raises(SystemExit) as stop:
        cli.main()
    assert stop.value.code == 130
    assert capsys.readouterr().err.count("interrupted") == 1


def test_ctrl_c_as_a_committed_runs_summary_is_printed_keeps_its_exit_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run is committed (its state and folder): a Ctrl-C while its summary is printed does
    not make it "interrupted" (exit 130)."""
    import os
    import signal

    import mapper.cli.sync as cli_sync

    shown = cli_sync._show_summary

    def show_then_ctrl_c(*args: object) -> None:
        shown(*args)  # type: ignore[arg-type]
        os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(cli_sync, "_show_summary", show_then_ctrl_c)
    code, _, err = sync_cli(tmp_path, [doc("a")], "--connection-id", "c")
    assert code == 0, err
    assert "interrupted" not in err


def test_the_sync_summary_shows_a_rejected_records_first_error(tmp_path: Path) -> None:
    code, _, err = sync_cli(tmp_path, [doc("a"), {"nothing": "here"}], "--connection-id", "c")
    assert code == 3
    assert "first: " in err and "#1: field.required" in err and '{"nothing": "here"}' in err


def _push_sync(tmp: Path, data: dict[str, Any], out: str, *extra: object) -> list[list[tuple[str, int]]]:
    root = Path(__file__).resolve().parents[1]
    source = tmp / f"{out}.json"
    source.write_text(json.dumps(data))
    code, _, err = invoke("sync", root / "mappings/github/push.yaml", source, "--state",
                          tmp / "s.db", "-o", tmp / out, "--connection-id", "c", *extra)
    assert code == 0, err
    bodies = tmp / out / "setObjects.jsonl"
    lines = bodies.read_text().splitlines() if bodies.exists() else []
    return [[(next(k for k in o if k.startswith("atlassian:")), o["updateSequenceNumber"])
             for o in json.loads(line)["objects"]] for line in lines]


@pytest.mark.parametrize("mode", ["upsert", "mirror", "append"])
def test_a_changed_commit_carries_its_unchanged_repository_in_the_same_body(
    tmp_path: Path, mode: str
) -> None:
    """The reference: the repository travels "as a separate entity in the same payload"."""
    root = Path(__file__).resolve().parents[1]
    data = json.loads((root / "samples/github/push-webhook.json").read_text())
    first = _push_sync(tmp_path, data, "o1", "--mode", mode)
    (repository_usn,) = [usn for t, usn in first[0] if t == "atlassian:repository"]
    assert _push_sync(tmp_path, data, "o2", "--mode", mode) == []  # nothing changed: nothing
    data["commits"][0]["message"] = "MAP-17: reworded"
    bodies = _push_sync(tmp_path, data, "o3", "--mode", mode)
    report = json.loads((tmp_path / "o3" / "report.json").read_text())["sync"]["total"]
    if mode == "append":  # never re-emits a known id
        assert bodies == [] and report["carried"] == 0
    else:
        ((repo, commit),) = bodies
        assert repo == ("atlassian:repository", repository_usn) and commit[0] == "atlassian:commit"
        assert report["carried"] == 1 and report["updated"] == 1


def test_a_dry_run_writes_the_bodies_and_leaves_the_state_as_it_was(tmp_path: Path) -> None:
    state, export = tmp_path / "s.db", tmp_path / "state.jsonl"
    code, _, err = sync_cli(tmp_path, [doc("a")], "--connection-id", "c", "--dry-run")
    assert code == 0 and "dry run: nothing was recorded in the state" in err
    assert not state.exists()  # a first run's dry run leaves no state behind
    dry = (tmp_path / "out" / "setObjects.jsonl").read_bytes()
    assert json.loads((tmp_path / "out" / "report.json").read_text())["sync"]["dryRun"] is True
    assert sync_cli(tmp_path, [doc("a")], "--connection-id", "c")[0] == 0
    assert (tmp_path / "out" / "setObjects.jsonl").read_bytes() == dry  # the same decisions
    invoke("state", "export", "--state", state, "-o", export)
    before = export.read_bytes()
    code, _, err = sync_cli(tmp_path, [doc("b")], "--mode", "mirror", "--dry-run")
    assert code == 4 and "holds the bodies of run 1, which the state counts as sent" in err
    assert (tmp_path / "out" / "setObjects.jsonl").read_bytes() == dry  # not replaced
    mapping, inputs = tmp_path / "m.yaml", tmp_path / "in.jsonl"
    code, _, err = invoke("sync", mapping, inputs, "--state", state, "-o", tmp_path / "preview",
                          "--mode", "mirror", "--dry-run", "--allow-mass-delete")  # fmt: skip
    assert code == 0 and "1 id(s) in 1 delete body(ies)" in err
    invoke("state", "export", "--state", state, "-o", export)
    assert export.read_bytes() == before
    code, _, err = sync_cli(tmp_path, [doc("a")], "--mode", "mirror")
    assert code == 0 and "to send: 0 object(s)" in err  # b was never recorded, a not deleted


def test_a_mirror_run_with_other_parameters_deletes_nothing(tmp_path: Path) -> None:
    """Another --param value may read another part of the source (another repository's
    collaborators): a mirror run with it stops rather than delete the first repository's
    group, however often it is run; an upsert run is told; --allow-mass-delete makes the new
    values the state's."""
    root = Path(__file__).resolve().parent.parent
    mapping = root / "mappings/github/collaborators.yaml"
    sample = root / "samples/github/collaborators-infra-terraform.json"
    base = ("sync", mapping, sample, "--state", tmp_path / "c.db", "-o", tmp_path / "o")
    first = ("--param", "repo=acme/infra-terraform", "--mode", "mirror")
    assert invoke(*base, *first, "--connection-id", "c")[0] == 0
    other = ("--param", "repo=acme/other")
    for _ in range(2):  # (not only the first run with the other values)
        code, _, err = invoke(*base, *other, "--mode", "mirror")
        assert code == 3 and "sync.params-changed" in err, err
        assert "sent with --param repo=acme/infra-terraform, this run has --param " \
            "repo=acme/other: 1 of them are not in its input" in err
    code, _, err = invoke(*base, *other)  # upsert: told, nothing deleted
    assert code == 0 and "warning: sync.params-changed" in err, err
    code, _, err = invoke(*base, *other, "--mode", "mirror", "--allow-mass-delete")
    assert code == 0 and "1 id(s) in 1 delete body(ies)" in err, err
    body = json.loads((tmp_path / "o" / "deleteGroups.jsonl").read_text())
    assert body["externalIds"] == ["github-repo:acme/infra-terraform"]
    code, _, err = invoke(*base, *other, "--mode", "mirror")
    assert code == 0 and "params-changed" not in err, err


def test_a_parameter_whose_ids_stay_the_same_is_taken_at_once(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    mapping = root / "mappings/slack/channels.yaml"
    sample = root / "samples/slack/export/channels.json"
    base = ("sync", mapping, sample, "--state", tmp_path / "c.db", "-o", tmp_path / "o", "--mode", "mirror")
    assert invoke(*base, "--param", "workspace_url=https://a.slack.com", "--connection-id", "c")[0] == 0
    code, _, err = invoke(*base, "--param", "workspace_url=https://b.slack.com")
    assert code == 0 and "params-changed" not in err, err  # every id still there: new URLs sent


def test_a_state_from_before_parameters_were_recorded_takes_the_runs(tmp_path: Path) -> None:
    sync_cli(tmp_path, [doc("a")], "--connection-id", "c")
    with sqlite3.connect(tmp_path / "s.db") as conn:  # as an older mapper left it
        conn.execute("DELETE FROM meta WHERE key = 'params'")
    assert sync_cli(tmp_path, [doc("a")])[0] == 0
    with sqlite3.connect(tmp_path / "s.db") as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'params'").fetchone() == ("",)


def test_retire_writes_a_delete_for_every_live_id_once(tmp_path: Path) -> None:
    sync_cli(tmp_path, [doc("a"), doc("b")], "--connection-id", "c")
    state, out = tmp_path / "s.db", tmp_path / "retired"
    code, _, err = invoke("state", "retire", "--state", state, "-o", out)
    assert code == 2 and "--yes" in err and not out.exists()
    code, _, err = invoke("state", "retire", "--state", state, "-o", out, "--yes")
    assert code == 0 and "retired 2 id(s)" in err, err
    body = json.loads((out / "deleteObjects.jsonl").read_text())
    assert body == {"objectType": "atlassian:document", "externalIds": ["a", "b"], "connectionId": "c"}
    code, _, err = invoke("state", "retire", "--state", state, "-o", out, "--yes")
    assert code == 0 and "retired 0 id(s)" in err and not (out / "deleteObjects.jsonl").exists()
    code, _, err = sync_cli(tmp_path, [doc("a")])  # back after its delete: sent again
    assert code == 0 and "1 object(s) in 1 setObjects body(ies)" in err
