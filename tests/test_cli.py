"""The `mapper` command line through typer's CliRunner: every command, every exit code.

Data lives in tests/cli_data/ (small mappings and records) or is written inline into tmp_path;
every output goes to tmp_path. Known CLI bugs are strict xfails whose reason says what is wrong.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cli_support import invoke, wide_console  # noqa: F401 (the fixture applies to every test)
from typer.testing import CliRunner

from mapper import __version__
from mapper.cli import app

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "cli_data"
REPOS = DATA / "repos.yaml"          # 5 records: 3 mapped, 1 rejected (#2), 1 filtered (#4)
REPOS_IN = DATA / "repos.json"
BROKEN = DATA / "broken.yaml"        # 3 problems: 2 unknown functions, 1 unknown field
PUSH = ROOT / "mappings/github/push.yaml"
PUSH_IN = ROOT / "samples/github/push-webhook.json"
PULLS_IN = ROOT / "samples/github/pulls.json"
ANSI = re.compile(r"\x1b\[")

COMMANDS = ["validate", "run", "preview", "explain", "test", "init", "batch", "functions",
            "types", "schema"]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def write_records(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def repo_records(n: int, *, bad_every: int = 0) -> list[dict]:
    """N records for repos.yaml; every `bad_every`-th one (from 0) has an unparseable date."""
    return [{"id": f"r{i}", "name": f"n{i}", "url": f"https://example.test/{i}",
             "created": "bad" if bad_every and i % bad_every == 0 else "2024-05-01T12:00:00Z",
             "updated": "2024-05-02T12:00:00Z", "skip": i % 13 == 5}
            for i in range(n)]


# --- global options, help, usage errors ---------------------------------------------------------

def test_version() -> None:
    code, out, _ = invoke("--version")
    assert (code, out.strip()) == (0, f"mapper {__version__}")


@pytest.mark.parametrize("command", COMMANDS)
def test_help_of_every_command_has_an_example(command: str) -> None:
    code, out, _ = invoke(command, "--help")
    assert code == 0
    assert "Example" in out
    assert f"mapper {command}" in out


def test_top_level_help_lists_every_command() -> None:
    code, out, _ = invoke("--help")
    assert code == 0
    for command in COMMANDS:
        assert command in out


def expects(text: str) -> pytest.MarkDecorator:
    """The text a usage error must print (an exit code alone passes for a misspelt argument)."""
    return pytest.mark.expects(text)


def _plain(text: str) -> str:
    """Click's boxed error text, with the box and line breaks removed."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


@pytest.mark.parametrize("args", [
    pytest.param([], id="no-arguments", marks=expects('Usage:')),
    pytest.param(["frobnicate"], id="unknown-command", marks=expects("No such command 'frobnicate'")),
    pytest.param(["validate"], id="validate-without-file", marks=expects("Missing argument 'mappings'")),
    pytest.param(["run", REPOS, REPOS_IN], id="run-without-output", marks=expects("Missing option '-o'")),
    pytest.param(["run", REPOS, REPOS_IN, "-o", "x.jsonl", "--format", "xml"], id="bad-format", marks=expects("'xml' is not one of")),
    pytest.param(["run", REPOS, REPOS_IN, "-o", "x.jsonl", "--workers", "0"], id="workers-0", marks=expects("Invalid value for '--workers'")),
    pytest.param(["run", REPOS, REPOS_IN, "-o", "x.jsonl", "--associations", "map"],
                 id="bad-associations", marks=expects("'map' is not one of")),
    pytest.param(["run", REPOS, REPOS_IN, "-o", "x.jsonl", "--bogus"], id="unknown-option", marks=expects('No such option: --bogus')),
    pytest.param(["run", REPOS, REPOS_IN, "-o", "x.jsonl", "--records", "items["],
                 id="bad-records-expression", marks=expects('expr.syntax')),
    pytest.param(["run", REPOS, REPOS_IN, "-o", "x.jsonl", "--lookup", "nothing"],
                 id="lookup-without-equals", marks=expects('--lookup takes NAME=VALUE')),
    pytest.param(["run", REPOS, REPOS_IN, "-o", "x", "--format", "batches", "--property", "k"],
                 id="property-without-equals", marks=expects('--property takes NAME=VALUE')),
    pytest.param(["run", REPOS, REPOS_IN, "-o", "x", "--format", "batches", "--property", "k=1",
                  "--property", "k=2"], id="property-twice", marks=expects("--property k is given twice")),
    pytest.param(["sync", REPOS, REPOS_IN, "--state", "s.db", "-o", "x", *[a for i in range(6) for a in ("--property", f"k{i}=v")]],
                 id="sync-six-properties", marks=expects("at most 5 properties, 6 were given")),
    pytest.param(["preview", REPOS, REPOS_IN, "-n", "many"], id="preview-n-not-int", marks=expects("Invalid value for '-n'")),
    pytest.param(["init", PULLS_IN], id="init-without-type", marks=expects("Missing option '--type'")),
    pytest.param(["init", PULLS_IN, "--type", "atlassian:pullrequest"], id="init-unknown-type", marks=expects("unknown type 'atlassian:pullrequest'")),
    pytest.param(["types", "atlassian:comit"], id="types-unknown-type", marks=expects("unknown type 'atlassian:comit'")),
])
def test_usage_errors_exit_2(args: list[object], tmp_path: Path, request: pytest.FixtureRequest,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = invoke(*args)
    assert code == 2
    wanted = request.node.get_closest_marker("expects").args[0]
    assert wanted in _plain(out + err), out + err


@pytest.mark.parametrize(("args", "hint"), [
    (["types", "atlassian:comit"], "did you mean 'atlassian:commit'"),
    (["init", PULLS_IN, "--type", "atlassian:pullrequest"],
     "did you mean 'atlassian:pull-request'"),
])
def test_unknown_type_suggests_the_right_one(args: list[object], hint: str) -> None:
    code, _, err = invoke(*args)
    assert code == 2
    assert hint in err


# --- validate -----------------------------------------------------------------------------------

def test_validate_clean_mapping() -> None:
    code, _, err = invoke("validate", PUSH)
    assert code == 0
    assert "2 rule(s)" in err
    assert "atlassian:repository, atlassian:commit" in err


def test_validate_prints_every_problem_with_location_caret_and_hint() -> None:
    code, _, err = invoke("validate", BROKEN)
    assert code == 1
    lines = err.splitlines()
    # all three problems, each with file:line:col of its YAML node
    assert f"{BROKEN}:7:20:" in err
    assert "unknown function uppr()" in err
    assert f"{BROKEN}:9:18:" in err
    assert "unknown function to_rfc333()" in err
    assert f"{BROKEN}:12:7:" in err
    assert "has no field 'descripton'" in err
    # did-you-mean hints
    for hint in ("did you mean 'upper'?", "did you mean 'to_rfc3339'?",
                 "did you mean 'description'?"):
        assert hint in err
    # the caret sits under the bad call inside the expression, not under its first character
    expr_at = next(i for i, line in enumerate(lines) if line.strip() == "concat(id, uppr(name))")
    caret = lines[expr_at + 1]
    assert caret.strip() == "^"
    assert caret.index("^") == lines[expr_at].index("uppr")
    expr_at = next(i for i, line in enumerate(lines) if line.strip() == "to_rfc333(created)")
    assert lines[expr_at + 1].index("^") == lines[expr_at].index("to_rfc333")


def test_validate_several_files_fails_if_any_fails() -> None:
    code, _, err = invoke("validate", PUSH, BROKEN)
    assert code == 1
    assert "2 rule(s)" in err          # the good one is still reported
    assert "uppr" in err


def test_validate_max_errors_limits_the_listing() -> None:
    code, _, err = invoke("validate", BROKEN, "--max-errors", "1")
    assert code == 1
    assert "uppr" in err
    assert "descripton" not in err


def test_validate_missing_file_is_a_diagnostic_not_a_traceback(tmp_path: Path) -> None:
    code, _, err = invoke("validate", tmp_path / "nope.yaml")
    assert code == 4  # an I/O problem, as for any file that is not there
    assert "nope.yaml" in err
    assert "not found" in err


_JOBS_AND_SERVE = [
    # (file name, text, exit code, what stderr must say)
    ("jobs.yaml", "jobs:\n  - name: p\n    mapping: mappings/github/push.yaml\n"
     "    inputs: [samples/github/push-webhook.json]\n", 0, "jobs file: 1 job(s), 1 mapping(s)"),
    ("jobs.yaml", "jobs:\n  - name: p\n    mapping: mappings/github/push.yaml\n"
     "    inptus: [x.json]\n", 1, "jobs.yaml:4:5:"),
    ("jobs.yaml", "jobs:\n  - name: b\n    mapping: tests/cli_data/broken.yaml\n"
     "    inputs: [x.json]\n", 1, "unknown function uppr()"),
    ("serve.yaml", "version: 1\ndata: d\nconnection_id: c\nroutes:\n  - path: /h\n"
     "    source: github\n    secret: {env: MAPPER_TEST_UNSET_SECRET}\n"
     "    events: {push: mappings/github/push.yaml}\n", 0, "warning: serve.secret-missing"),
    ("serve.yaml", "version: 1\ndata: d\nconnection_id: c\nroutes:\n  - path: /h\n"
     "    source: github\n    secret: {env: MAPPER_TEST_UNSET_SECRET}\n"
     "    events: {push: mappings/github/nope.yaml}\n", 1, "does not exist"),
    ("x.cases.yaml", "cases:\n  - title: t\n    mapping_file: mappings/github/push.yaml\n"
     "    input: samples/github/push-webhook.json\n    expect: {rejected: 0}\n", 0,
     "case file: 1 case(s)"),
    ("x.cases.yaml", "cases:\n  - title: t\n    mapping_file: mappings/github/push.yaml\n"
     "    input: samples/github/push-webhook.json\n    expcet: {rejected: 0}\n", 1, ":5:5:"),
]


@pytest.mark.parametrize(("name", "text", "code", "said"), _JOBS_AND_SERVE)
def test_validate_checks_jobs_files_and_serve_configs_as_what_they_are(
    tmp_path: Path, name: str, text: str, code: int, said: str
) -> None:
    path = tmp_path / name
    for folder in ("mappings/", "samples/", "tests/cli_data/"):
        text = text.replace(folder, f"{ROOT}/{folder}")
    path.write_text(text, encoding="utf-8")
    got, _, err = invoke("validate", path)
    assert (got, said in err) == (code, True), err
    assert "spec.unknown-key" not in err  # never read as a mapping


@pytest.mark.parametrize("command", ["run", "preview", "explain"])
def test_a_missing_mapping_is_an_io_error_not_an_invalid_mapping(command: str,
                                                                 tmp_path: Path) -> None:
    args = [command, tmp_path / "nope.yaml", REPOS_IN]
    code, _, err = invoke(*args, *(["-o", tmp_path / "o.jsonl"] if command == "run" else []))
    assert code == 4
    missing = tmp_path / "nope.yaml"
    assert f"{missing}: spec.unreadable: cannot read mapping: not found" in err  # no :1:1
    assert err.count(str(missing)) == 1, err  # named once, by the one diagnostic
    assert "the mapping is invalid" not in err


def test_quiet_never_hides_an_error(tmp_path: Path) -> None:
    """-q hides progress and the summary, not the reason a run failed."""
    bad = tmp_path / "bad.json"
    bad.write_text('{"id": ')
    code, _, err = invoke("run", REPOS, bad, "-o", tmp_path / "o.jsonl", "-q")
    assert code == 4
    assert "input.malformed-json" in err
    assert "run summary" not in err


def test_the_summary_names_every_file_and_marks_only_success_green(tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    code, _, err = invoke("run", REPOS, REPOS_IN, "-o", out)
    assert code == 3
    for label, path in (("objects", out), ("rejects", tmp_path / "o.rejects.jsonl"),
                        ("report", tmp_path / "o.report.json")):
        assert f"{label}: {path}" in err
    assert "✓ (some records rejected)" in err
    bad = tmp_path / "bad.json"
    bad.write_text('{"id": ')
    code, _, err = invoke("run", REPOS, bad, "-o", out)
    assert code == 4
    assert "✗ input problems" in err
    assert "filtered ✓" not in err


def test_the_summary_uses_thousands_separators() -> None:
    from mapper.cli import render
    from mapper.cli.console import LazyConsole
    from mapper.run.report import RunReport

    report = RunReport("m.yaml")
    report.records_in = report.records_mapped = 12_345
    console = LazyConsole(record=True, width=100)
    render.summary(console.get(), report)
    assert "records: 12,345 in = 12,345 mapped" in console.export_text()


# --- run: outputs, report, formats --------------------------------------------------------------

def test_run_writes_objects_rejects_and_a_balanced_report(tmp_path: Path) -> None:
    out = tmp_path / "repos.jsonl"
    code, stdout, err = invoke("run", REPOS, REPOS_IN, "-o", out)
    assert code == 3                                  # one record rejected
    assert stdout == ""
    assert [o["id"] for o in read_jsonl(out)] == ["r1", "r2", "r4"]
    rejects = read_jsonl(tmp_path / "repos.rejects.jsonl")
    assert len(rejects) == 1
    (reject,) = rejects
    assert reject["index"] == 2
    assert reject["record"] == json.loads(REPOS_IN.read_text())[2]   # the original record
    (diag,) = reject["diagnostics"]
    assert diag["code"] == "field.required"
    assert diag["loc"] == "objects[0].fields.createdAt"
    assert diag["span"] == f"{REPOS}:15:18"
    report = json.loads((tmp_path / "repos.report.json").read_text())
    records = report["records"]
    assert records == {"in": 5, "mapped": 3, "partlyMapped": 0, "rejected": 1, "filtered": 1,
                       "balanced": True}
    assert records["in"] == records["mapped"] + records["rejected"] + records["filtered"]
    assert report["objects"] == {"out": 3, "byType": {"atlassian:repository": 3}}
    assert report["completed"] is True
    # the summary on stderr
    assert "5 in = 3 mapped + 1 rejected + 1 filtered" in err
    assert "field.required" in err


def test_run_clean_input_exits_0_and_honours_rejects_and_report_paths(tmp_path: Path) -> None:
    out, rej, rep = tmp_path / "o.jsonl", tmp_path / "r" / "rej.jsonl", tmp_path / "rep.json"
    code, _, err = invoke("run", PUSH, PUSH_IN, "-o", out, "--rejects", rej, "--report", rep)
    assert code == 0
    objects = read_jsonl(out)
    assert [o["id"].split("@")[0] for o in objects] == ["acme/widget-service"] * 4
    assert rej.read_text() == ""
    assert json.loads(rep.read_text())["objects"]["byType"] == {
        "atlassian:commit": 3, "atlassian:repository": 1}
    assert f"report: {rep}" in err


def test_run_quiet_prints_nothing(tmp_path: Path) -> None:
    code, stdout, err = invoke("run", PUSH, PUSH_IN, "-o", tmp_path / "o.jsonl", "-q")
    assert (code, stdout, err) == (0, "", "")


def test_run_to_stdout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, stdout, err = invoke("run", PUSH, PUSH_IN, "-o", "-")
    assert code == 0
    assert [json.loads(line)["schemaVersion"] for line in stdout.splitlines()] == ["1.0"] * 4
    assert "1 in = 1 mapped" in err


def test_run_batches_hold_at_most_100_objects(tmp_path: Path) -> None:
    records = write_records(tmp_path / "in.jsonl", repo_records(250))
    kept = sum(not r["skip"] for r in repo_records(250))
    folder = tmp_path / "batches"
    code, _, _ = invoke("run", REPOS, records, "-o", folder, "--format", "batches",
                        "--connection-id", "conn-1", "--property", "env=test",
                        "--property", "team=a", "-q")
    assert code == 0
    files = sorted(folder.iterdir())
    bodies = [json.loads(f.read_text()) for f in files]
    sizes = [len(b["objects"]) for b in bodies]
    assert len(files) == 3
    assert all(0 < s <= 100 for s in sizes)
    assert sum(sizes) == kept
    for body in bodies:
        assert body["connectionId"] == "conn-1"
        assert body["properties"] == {"env": "test", "team": "a"}
    ids = [o["id"] for b in bodies for o in b["objects"]]
    assert len(ids) == len(set(ids)) == kept


def test_run_more_than_5_properties_is_refused(tmp_path: Path) -> None:
    props = [a for i in range(6) for a in ("--property", f"k{i}=v")]
    code, _, err = invoke("run", PUSH, PUSH_IN, "-o", tmp_path / "b", "--format", "batches",
                          *props)
    assert code != 0
    assert "at most 5 properties" in err
    assert not (tmp_path / "b").exists() or not any((tmp_path / "b").iterdir())


def test_run_too_many_properties_is_a_usage_error(tmp_path: Path) -> None:
    props = [a for i in range(6) for a in ("--property", f"k{i}=v")]
    code, _, err = invoke("run", PUSH, PUSH_IN, "-o", tmp_path / "b", "--format", "batches",
                          *props)
    assert code == 2
    assert "at most 5 properties" in err


@pytest.mark.parametrize(("form", "fmt"), [("array", "jsonl"), ("set", "jsonl"),
                                           ("array", "batches"),
                                           ("set", "batches")])
def test_run_associations_form(tmp_path: Path, form: str, fmt: str) -> None:
    out = tmp_path / ("o.jsonl" if fmt == "jsonl" else "b")
    code, _, _ = invoke("run", PUSH, PUSH_IN, "-o", out, "--format", fmt,
                        "--associations", form, "-q")
    assert code == 0
    if fmt == "jsonl":
        objects = read_jsonl(out)
    else:
        objects = [o for f in sorted(out.iterdir()) for o in json.loads(f.read_text())["objects"]]
    commit = next(o for o in objects if "atlassian:commit" in o)
    expected = [{"associationType": "issueIdOrKeys", "values": ["MAP-17"]}]
    assert commit["associations"] == (expected if form == "array" else {"set": expected})


# --- run: input shapes ----------------------------------------------------------------------------

def _shape(tmp_path: Path, shape: str) -> tuple[list[str], str | None]:
    """Write the first two repos records in the given shape; return (inputs, stdin)."""
    two = json.loads(REPOS_IN.read_text())[:2]
    jsonl = "".join(json.dumps(r) + "\n" for r in two)
    if shape == "document":
        (tmp_path / "a.json").write_text(json.dumps(two[0]))
        (tmp_path / "b.json").write_text(json.dumps(two[1]))
        return [str(tmp_path / "a.json"), str(tmp_path / "b.json")], None
    if shape == "array":
        (tmp_path / "in.json").write_text(json.dumps(two, indent=2))
        return [str(tmp_path / "in.json")], None
    if shape == "jsonl":
        (tmp_path / "in.jsonl").write_text(jsonl)
        return [str(tmp_path / "in.jsonl")], None
    if shape in ("folder", "glob"):
        folder = tmp_path / "dir"
        folder.mkdir()
        (folder / "a.json").write_text(json.dumps(two[0]))
        (folder / "b.jsonl").write_text(json.dumps(two[1]) + "\n")
        (folder / "notes.txt").write_text("not json")
        return [str(folder) if shape == "folder" else str(folder / "*.json*")], None
    if shape == "stdin-jsonl":
        return ["-"], jsonl
    if shape == "stdin-array":
        return ["-"], json.dumps(two)
    raise AssertionError(shape)


@pytest.mark.parametrize("shape", ["document", "array", "jsonl", "folder", "glob",
                                   "stdin-jsonl", "stdin-array"])
def test_run_input_shapes(tmp_path: Path, shape: str) -> None:
    inputs, stdin = _shape(tmp_path, shape)
    out = tmp_path / "o.jsonl"
    code, _, _ = invoke("run", REPOS, *inputs, "-o", out, "-q", input=stdin)
    assert code == 0
    assert sorted(o["id"] for o in read_jsonl(out)) == ["r1", "r2"]
    report = json.loads((tmp_path / "o.report.json").read_text())
    assert report["records"]["in"] == 2


def test_run_records_selector_unwraps_a_wrapper(tmp_path: Path) -> None:
    wrapped = tmp_path / "page.json"
    wrapped.write_text(json.dumps({"total": 5, "items": json.loads(REPOS_IN.read_text())}))
    out = tmp_path / "o.jsonl"
    code, _, _ = invoke("run", REPOS, wrapped, "--records", "items[]", "-o", out, "-q")
    assert code == 3
    assert [o["id"] for o in read_jsonl(out)] == ["r1", "r2", "r4"]
    (reject,) = read_jsonl(tmp_path / "o.rejects.jsonl")
    assert reject["record"]["id"] == "r3"
    # without the selector the wrapper itself is the one record (and it cannot map)
    code, _, _ = invoke("run", REPOS, wrapped, "-o", tmp_path / "w.jsonl", "-q")
    assert json.loads((tmp_path / "w.report.json").read_text())["records"]["in"] == 1


@pytest.mark.parametrize(
    ("document", "hint"),
    [({"total": 5, "items": [{"id": "r1"}]}, "a list of 1 in 'items': --records 'items[]'"),
     ({"total": 5, "next": None}, "the document's keys: 'total', 'next'")],
)
def test_a_records_selector_that_finds_nothing_says_what_is_there(
    tmp_path: Path, document: dict[str, object], hint: str
) -> None:
    wrapped = tmp_path / "page.json"
    wrapped.write_text(json.dumps(document))
    code, _, err = invoke("run", REPOS, wrapped, "--records", "itmes[]", "-o", tmp_path / "o.jsonl")
    assert code == 4 and "input.no-records" in err and hint in err


# --- run: errors and exit codes -----------------------------------------------------------------

def test_run_fail_fast_writes_no_output(tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    code, _, err = invoke("run", REPOS, REPOS_IN, "-o", out, "--fail-fast")
    assert code == 3
    assert not out.exists()
    assert "field.required" in err
    assert "--fail-fast" in err
    assert list(tmp_path.iterdir()) == []          # no partial or temporary files left either


def test_run_max_errors_stops_early(tmp_path: Path) -> None:
    records = write_records(tmp_path / "in.jsonl", repo_records(40, bad_every=2))
    out = tmp_path / "o.jsonl"
    code, _, err = invoke("run", REPOS, records, "-o", out, "--max-errors", "3")
    assert code == 3
    report = json.loads((tmp_path / "o.report.json").read_text())
    assert report["completed"] is False
    assert "--max-errors" in report["stoppedEarly"]
    assert 3 <= report["records"]["rejected"] <= 4
    assert report["records"]["in"] < 40
    assert len(read_jsonl(tmp_path / "o.rejects.jsonl")) == report["records"]["rejected"]
    assert "stopped early" in err


@pytest.mark.parametrize("missing", ["nope.json", "dir/*.nomatch"])
def test_run_missing_input_exits_4(tmp_path: Path, missing: str) -> None:
    code, _, err = invoke("run", REPOS, tmp_path / missing, "-o", tmp_path / "o.jsonl")
    assert code == 4
    assert "input.not-found" in err


def test_run_some_inputs_missing_still_maps_the_rest_and_exits_4(tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    code, _, _ = invoke("run", PUSH, PUSH_IN, tmp_path / "nope.json", "-o", out, "-q")
    assert code == 4
    assert len(read_jsonl(out)) == 4
    report = json.loads((tmp_path / "o.report.json").read_text())
    assert [p["code"] for p in report["inputProblems"]] == ["input.not-found"]


@pytest.mark.parametrize("fmt", ["jsonl", "batches"])
def test_run_unwritable_output_exits_4(tmp_path: Path, fmt: str) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a regular file")
    code, _, err = invoke("run", PUSH, PUSH_IN, "-o", blocker / "sub" / "o.jsonl",
                          "--format", fmt)
    assert code == 4
    assert "output.write-failed" in err


def test_run_malformed_jsonl_line_is_reported_not_fatal(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps(repo_records(1)[0]) + "\n{not json\n")
    out = tmp_path / "o.jsonl"
    code, _, _ = invoke("run", REPOS, src, "-o", out, "-q")
    assert code in (3, 4)
    assert len(read_jsonl(out)) == 1


def test_run_invalid_mapping_exits_1(tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    code, _, err = invoke("run", BROKEN, REPOS_IN, "-o", out)
    assert code == 1
    assert "the mapping is invalid" in err
    assert "did you mean 'upper'?" in err
    assert not out.exists()


# --- run: determinism and workers ---------------------------------------------------------------

def _outputs(prefix: Path) -> tuple[bytes, bytes, dict]:
    report = json.loads(prefix.with_suffix(".report.json").read_text())
    report.pop("durationSeconds")
    return (prefix.with_suffix(".jsonl").read_bytes(),
            prefix.with_suffix(".rejects.jsonl").read_bytes(), report)


def test_run_is_deterministic(tmp_path: Path) -> None:
    for name in ("a", "b"):
        code, _, _ = invoke("run", REPOS, REPOS_IN, PUSH_IN, "-o", tmp_path / f"{name}.jsonl", "-q")
        assert code == 3
    first, second = _outputs(tmp_path / "a"), _outputs(tmp_path / "b")
    assert first[:2] == second[:2]
    first[2].pop("inputs"), second[2].pop("inputs")
    assert first[2] == second[2]


def test_run_two_workers_match_one_worker(tmp_path: Path) -> None:
    records = write_records(tmp_path / "in.jsonl", repo_records(400, bad_every=17))
    for workers in ("1", "2"):
        code, _, _ = invoke("run", REPOS, records, "-o", tmp_path / f"w{workers}.jsonl",
                            "--workers", workers, "-q")
        assert code == 3
    one, two = _outputs(tmp_path / "w1"), _outputs(tmp_path / "w2")
    assert one[0] == two[0]
    assert one[1] == two[1]
    assert one[0].count(b"\n") == one[2]["objects"]["out"] > 300
    assert one[2]["records"] == two[2]["records"]
    assert one[2]["records"]["balanced"] is True


def test_run_output_files_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        code, _, _ = invoke("run", PUSH, PUSH_IN, "-o", tmp_path / "o.jsonl", "-q")
    finally:
        os.umask(old)
    assert code == 0
    for name in ("o.jsonl", "o.rejects.jsonl", "o.report.json"):
        mode = (tmp_path / name).stat().st_mode & 0o777
        assert mode & 0o044 == 0o044, (name, oct(mode))


# --- preview ------------------------------------------------------------------------------------

def test_preview_panels(tmp_path: Path) -> None:
    code, out, err = invoke("preview", REPOS, REPOS_IN, "-n", "5")
    assert code == 0
    for title in ("#0 atlassian:repository", "#1 atlassian:repository",
                  "#2 atlassian:repository"):
        assert title in out
    assert "unnamed (default)" in out                       # defaulted values are marked
    assert f"rejected {REPOS_IN} #2" in out                 # the rejected record's panel
    assert "field.required" in out
    assert "3 object(s) from 5 record(s) read: 3 mapped + 1 rejected + 1 filtered" in err


def test_preview_json_and_n() -> None:
    code, out, _ = invoke("preview", PUSH, PUSH_IN, "--json", "-n", "2")
    assert code == 0
    objects = [json.loads(line) for line in out.splitlines()]
    assert len(objects) == 2
    assert objects[0]["id"] == "acme/widget-service"
    assert "atlassian:commit" in objects[1]


def test_preview_n_limits_panels() -> None:
    code, out, err = invoke("preview", PUSH, PUSH_IN, "-n", "1")
    assert code == 0
    assert "#0 atlassian:repository" in out
    assert "#1" not in out
    assert err.startswith("1 object(s)")


def test_preview_invalid_mapping_exits_1() -> None:
    code, _, err = invoke("preview", BROKEN, REPOS_IN)
    assert code == 1
    assert "uppr" in err


def test_preview_missing_input_exits_4(tmp_path: Path) -> None:
    code, _, _ = invoke("preview", REPOS, tmp_path / "nope.json")
    assert code == 4


# --- explain ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("record", "field", "status", "cell"), [
    (0, "displayName", "ok", ['"alpha"', "← name"]),  # JSON values; the same shown once
    (1, "description", "omitted", ['""', "← desc", "empty, and the field is optional"]),
    (3, "displayName", "defaulted", ['null → "unnamed"', "← name"]),
    (2, "createdAt", "rejected", ["null", "← to_rfc3339(created)"]),
    (4, "(where)", "filtered", ["false", "← !skip", "the `where:` condition is false"]),
])
def test_explain_field(record: int, field: str, status: str, cell: list[str]) -> None:
    from test_cli_explain import _row

    args = ["explain", REPOS, REPOS_IN, "--record", record]
    if not field.startswith("("):
        args += ["--field", field]
    code, out, _ = invoke(*args)
    assert code == 0
    got_status, got_cell = _row(out, field)
    assert (got_status, got_cell[: len(cell)]) == (status, cell)
    assert f"{REPOS_IN} #{record}:" in out


def test_explain_field_filter_and_outcome_line() -> None:
    code, out, err = invoke("explain", REPOS, REPOS_IN, "--record", "2")
    assert code == 0
    assert "rejected, 0 object(s)" in out
    assert "field.required" in err                  # the record's problems
    code, out, _ = invoke("explain", REPOS, REPOS_IN, "--record", "0", "--field", "At")
    assert {line.split()[0] for line in out.splitlines() if line.startswith("  ") and
            not line.startswith("   ")} == {"createdAt", "lastUpdatedAt"}
    assert "displayName" not in out


def test_explain_record_out_of_range_exits_4() -> None:
    code, _, err = invoke("explain", REPOS, REPOS_IN, "--record", "9")
    assert code == 4
    assert "no record #9" in err


# --- test ---------------------------------------------------------------------------------------

def _case_dir(tmp_path: Path, expect: dict, title: str = "repos case") -> Path:
    shutil.copy(REPOS, tmp_path / "repos.yaml")
    shutil.copy(REPOS_IN, tmp_path / "repos.json")
    cases = {"cases": [{"title": title, "mapping_file": "repos.yaml", "input": "repos.json",
                        "expect": expect}]}
    path = tmp_path / "repos.cases.yaml"
    path.write_text(yaml.safe_dump(cases, sort_keys=False))
    return path


def test_test_bundled_case_passes() -> None:
    code, out, _ = invoke("test", ROOT / "mappings/github/push.cases.yaml")
    assert code == 0
    assert "PASS github/push.cases.yaml::push webhook sample" in out
    assert re.search(r"coverage .*push\.yaml: \d+/\d+ fields \(\d+%\)", out)
    assert "1 passed, 0 failed" in out


def test_test_passing_case_and_coverage(tmp_path: Path) -> None:
    _case_dir(tmp_path, {"mapped": 3, "rejected": 1, "filtered": 1,
                         "objects": [{"id": "r1"}, {"id": "r2"}, {"id": "r4",
                                                                  "displayName": "unnamed"}]})
    code, out, _ = invoke("test", tmp_path)
    assert code == 0
    assert f"PASS {tmp_path.name}/repos.cases.yaml::repos case" in out
    assert "coverage" in out
    assert "fields (" in out
    assert "1 passed, 0 failed" in out


def test_test_coverage_counts_mappings_without_a_block(tmp_path: Path) -> None:
    _case_dir(tmp_path, {"mapped": 3, "rejected": 1, "filtered": 1})
    code, out, _ = invoke("test", tmp_path)
    assert code == 0
    assert "(0%)" not in out


def test_test_failing_case_shows_a_diff(tmp_path: Path) -> None:
    _case_dir(tmp_path, {"rejected": 0,
                         "objects": [{"id": "r1"}, {"id": "WRONG"}, {"id": "r4"}]})
    code, out, _ = invoke("test", tmp_path)
    assert code == 1
    assert f"FAIL {tmp_path.name}/repos.cases.yaml::repos case" in out
    assert "expected 0 rejected record(s), got 1" in out
    assert '-  "id": "WRONG"' in out
    assert '+  "id": "r2"' in out
    assert "0 passed, 1 failed" in out


def test_test_update_rewrites_the_expected_file(tmp_path: Path) -> None:
    _case_dir(tmp_path, {"file": "expected.jsonl"})
    expected = tmp_path / "expected.jsonl"
    code, out, _ = invoke("test", tmp_path)
    assert code == 1
    assert "does not exist" in out
    code, out, _ = invoke("test", tmp_path, "--update")
    assert code == 0
    assert "(updated)" in out
    assert [o["id"] for o in read_jsonl(expected)] == ["r1", "r2", "r4"]
    code, out, _ = invoke("test", tmp_path)
    assert code == 0
    assert "(updated)" not in out
    expected.write_text(expected.read_text().replace('"r2"', '"zz"'))
    code, out, _ = invoke("test", tmp_path)
    assert code == 1
    assert re.search(r'^│? *- +"id": "zz"', out, re.MULTILINE)
    assert re.search(r'^│? *\+ +"id": "r2"', out, re.MULTILINE)


def test_test_with_nothing_to_run_fails(tmp_path: Path) -> None:
    code, out, _ = invoke("test", tmp_path)
    assert code == 1
    assert "0 passed, 0 failed" in out


# --- init ---------------------------------------------------------------------------------------

def test_init_to_stdout() -> None:
    code, out, _ = invoke("init", PULLS_IN, "--type", "atlassian:pull-request")
    assert code == 0
    data = yaml.safe_load(out)
    assert data["objects"][0]["type"] == "atlassian:pull-request"
    assert "# required" in out


def test_init_writes_a_file(tmp_path: Path) -> None:
    target = tmp_path / "pulls.yaml"
    code, _, err = invoke("init", PULLS_IN, "--type", "atlassian:pull-request", "-o", target)
    assert code == 0
    assert f"wrote {target}" in err
    assert yaml.safe_load(target.read_text())["version"] == 1


def test_init_output_validates_but_for_its_placeholders(tmp_path: Path) -> None:
    """The starter compiles; `validate` lists every REPLACE-ME it left, each as a located
    `field.placeholder` in mapper's words, as many as init announced; once they are mapped,
    the mapping is valid."""
    target = tmp_path / "pulls.yaml"
    code, _, err = invoke("init", PULLS_IN, "--type", "atlassian:pull-request", "-o", target)
    assert code == 0
    announced = int(re.search(r"replace its (\d+) REPLACE-ME placeholder", err)[1])  # type: ignore[index]
    code, _, err = invoke("validate", target)
    assert code == 1, err
    lines = target.read_text().splitlines()
    flagged = re.findall(rf"{re.escape(str(target))}:(\d+):\d+: .*field\.placeholder", err)
    assert len(flagged) == announced == sum("REPLACE-ME" in line for line in lines) == 6
    assert len(flagged) == err.count(f"{target}:")  # no other problem
    assert all("REPLACE-ME" in lines[int(n) - 1] for n in flagged)
    assert "Input should be" not in err  # no raw pydantic wording
    text = target.read_text()
    text = text.replace("containerKey: {const: REPLACE-ME}", "containerKey: entity_key_as("
                        "'atlassian:repository', 'repositoryId', base.repo.full_name)")
    text = text.replace("reviewers: {const: REPLACE-ME}", "reviewers: {const: []}")
    for key, expr in (("displayId", "to_str(number)"), ("status", "upper(state)"),
                      ("sourceBranch", "head.ref"), ("destinationBranch", "base.ref")):
        text = text.replace(f"{key}: {{const: REPLACE-ME}}", f"{key}: {expr}")
    target.write_text(text)
    code, _, err = invoke("validate", target)
    assert code == 0, err


def test_init_starts_with_the_schema_modeline_and_lists_optional_fields(tmp_path: Path) -> None:
    target = tmp_path / "pulls.yaml"
    invoke("init", PULLS_IN, "--type", "atlassian:pull-request", "-o", target)
    text = target.read_text()
    assert text.startswith("# yaml-language-server: $schema=")
    assert "# owners: ...   # list[userRef]" in text  # an optional field it did not map
    assert "# sourceBranchUrl: ...   # optional url" in text


def test_init_says_how_to_make_the_schema_its_modeline_names(tmp_path: Path) -> None:
    target = tmp_path / "pulls.yaml"
    _, _, err = invoke("init", PULLS_IN, "--type", "atlassian:pull-request", "-o", target)
    assert f"mapper schema -o {tmp_path / 'mapping.schema.json'}" in err
    assert target.read_text().startswith("# yaml-language-server: $schema=mapping.schema.json\n")
    (tmp_path / "mapping.schema.json").write_text("{}")
    _, _, err = invoke("init", PULLS_IN, "--type", "atlassian:pull-request", "-o",
                       tmp_path / "again.yaml")  # fmt: skip
    assert "mapper schema -o" not in err


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    target = tmp_path / "pulls.yaml"
    target.write_text("mine\n")
    code, _, err = invoke("init", PULLS_IN, "--type", "atlassian:pull-request", "-o", target)
    assert code == 2
    assert "--force" in err
    assert target.read_text() == "mine\n"
    code, _, _ = invoke("init", PULLS_IN, "--type", "atlassian:pull-request", "-o", target,
                        "--force")
    assert code == 0
    assert "version: 1" in target.read_text()


@pytest.mark.parametrize(("record", "type_name", "expected"), [
    # a webhook envelope: the object is the `issue`, not the sender or the actor
    ({"action": "opened", "sender": {"id": 9, "login": "bot"}, "actor": {"id": 8},
      "issue": {"id": 42, "title": "Fix", "html_url": "https://x.test/42"}},
     "atlassian:work-item", {"id": "to_str(issue.id)", "displayName": "issue.title",
                             "url": "issue.html_url"}),
    # shallow keys: the PR's body, not its head repository's description
    ({"id": 1, "body": "text", "head": {"repo": {"description": "a repo"}}},
     "atlassian:pull-request", {"description": "body"}),
    # a Jira issue: the summary, not the status's name
    ({"id": "10", "fields": {"status": {"name": "Done"}, "summary": "Login fails"}},
     "atlassian:work-item", {"displayName": "fields.summary"}),
    # a person's id is never the object's id
    ({"actor": {"id": "u1"}, "key": "MAP-1"}, "atlassian:work-item", {"id": "to_str(key)"}),
])
def test_init_guesses(record: dict[str, object], type_name: str, expected: dict[str, str]) -> None:
    from mapper.authoring.scaffold import starter_mapping

    fields = yaml.safe_load(starter_mapping(record, type_name))["objects"][0]["fields"]
    assert {key: fields.get(key) for key in expected} == expected


def test_init_unwritable_output_exits_4(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    code, _, _ = invoke("init", PULLS_IN, "--type", "atlassian:pull-request",
                        "-o", tmp_path / "file" / "p.yaml")
    assert code == 4


# --- batch --------------------------------------------------------------------------------------

def test_batch_runs_every_job(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.yaml"
    shutil.copy(REPOS, tmp_path / "repos.yaml")
    shutil.copy(REPOS_IN, tmp_path / "repos.json")
    jobs.write_text(yaml.safe_dump({"jobs": [
        {"name": "push", "mapping": str(PUSH), "inputs": [str(PUSH_IN)]},
        {"name": "repos", "mapping": "repos.yaml", "inputs": ["repos.json"]},
    ]}))
    out = tmp_path / "out"
    code, _, err = invoke("batch", jobs, "-o", out)
    assert code == 3                                  # the worst job: repos rejects a record
    assert len(read_jsonl(out / "push.jsonl")) == 4
    assert len(read_jsonl(out / "repos.jsonl")) == 3
    assert f"objects: {out / 'push.jsonl'}" in err


def test_batch_missing_jobs_file_exits_4(tmp_path: Path) -> None:
    code, _, err = invoke("batch", tmp_path / "missing.yaml", "-o", tmp_path / "out")
    assert code == 4
    assert "cannot read jobs file" in err


# --- functions, types, schema --------------------------------------------------------------------

def test_functions_unknown_name_is_a_usage_error() -> None:
    code, _, err = invoke("functions", "to_rfc3399")
    assert code == 2
    assert "to_rfc3339" in err


def test_functions_list_and_one() -> None:
    code, out, _ = invoke("functions")
    assert code == 0
    assert "jira_keys(" in out
    assert "e.g." in out
    code, out, _ = invoke("functions", "to_rfc3339")
    assert code == 0
    assert out.startswith("to_rfc3339(")
    assert "Examples:" in out
    assert "coalesce(" not in out.splitlines()[0]
    summary = "Normalise a timestamp to RFC 3339 UTC"
    assert out.count(summary) == 1 and out.count("to_rfc3339(value:") == 1  # said once each


def test_schema_unwritable_output_exits_4(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    code, _, _ = invoke("schema", "-o", tmp_path / "file" / "s.json")
    assert code == 4


# --- the installed console script ---------------------------------------------------------------

def _entry_points() -> list[list[str]]:
    script = Path(sys.executable).parent / "mapper"
    return [[sys.executable, "-m", "mapper"], [str(script)]]


@pytest.mark.parametrize("entry", _entry_points(), ids=["python-m", "script"])
@pytest.mark.parametrize(("args", "code"), [
    (["validate", str(BROKEN)], 1),
    (["types", "atlassian:comit"], 2),
    (["types", "atlassian:commit"], 0),
])
@pytest.mark.parametrize("no_color", [True, False], ids=["NO_COLOR", "piped"])
def test_installed_script(entry: list[str], args: list[str], code: int, no_color: bool) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    if no_color:
        env["NO_COLOR"] = "1"
    proc = subprocess.run([*entry, *args], capture_output=True, text=True, env=env,
                          timeout=60, check=False)
    assert proc.returncode == code, proc.stderr
    both = proc.stdout + proc.stderr
    assert both.strip()
    assert "Traceback" not in both
    assert not ANSI.search(both), both


def test_installed_script_run(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "mapper"
    out = tmp_path / "o.jsonl"
    proc = subprocess.run([str(script), "run", str(REPOS), "-", "-o", str(out)],
                          input=REPOS_IN.read_text(), capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 3, proc.stderr
    assert len(read_jsonl(out)) == 3
    assert "5 in = 3 mapped + 1 rejected + 1 filtered" in proc.stderr
    assert not ANSI.search(proc.stderr)


_TEARDOWN_PROBE = (
    "import atexit, sys\n"
    "class _Probe:\n"
    "    def __del__(self):\n"
    "        sys.stderr.write('torn down\\n')\n"
    "_probe = _Probe()\n"
    "atexit.register(lambda: sys.stderr.write('exit handlers ran\\n'))\n"
    "from mapper._entry import main\n"
    "sys.argv = ['mapper', *sys.argv[1:]]\n"
    "main()\n"
)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_run_ends_without_tearing_the_interpreter_down(tmp_path: Path, workers: str) -> None:
    """Freeing the heap at exit costs a large run ~45 ms: `mapper run` ends with `os._exit` once
    its files are in place, after the exit handlers and with its streams flushed."""
    out = tmp_path / "o.jsonl"
    args = ["run", str(REPOS), str(REPOS_IN), "-o", str(out), "--workers", workers]
    proc = subprocess.run([sys.executable, "-c", _TEARDOWN_PROBE, *args], capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    assert "3 mapped + 1 rejected + 1 filtered" in proc.stderr  # flushed
    assert "exit handlers ran" in proc.stderr
    assert "torn down" not in proc.stderr
    assert len(read_jsonl(out)) == 3


def test_other_commands_end_as_usual() -> None:
    proc = subprocess.run([sys.executable, "-c", _TEARDOWN_PROBE, "types", "atlassian:commit"],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "torn down" in proc.stderr
    assert "exit handlers ran" in proc.stderr


@pytest.mark.parametrize(("quiet", "rich_loaded"), [(True, False), (False, True)])
def test_a_quiet_run_never_imports_rich(tmp_path: Path, quiet: bool, rich_loaded: bool) -> None:
    """rich costs ~20 ms of start-up; a `--quiet` run has nothing to draw, a normal one has."""
    args = ["run", str(REPOS), str(REPOS_IN), "-o", str(tmp_path / "o.jsonl")]
    code = (
        "import sys\n"
        "from mapper.cli import main\n"
        f"sys.argv = ['mapper', *{[*args, *(['-q'] if quiet else [])]!r}]\n"
        "try:\n    main()\n"
        "except SystemExit as stop:\n"
        "    print('rich' in sys.modules, stop.code)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.stdout.split() == [str(rich_loaded), "3"], proc.stderr
    assert ("3 mapped + 1 rejected" in proc.stderr) is not quiet
    assert len(read_jsonl(tmp_path / "o.jsonl")) == 3


def test_explain_uses_lookup_tables() -> None:
    """Slack messages need channels.json (a `lookups:` table) to map; explain must load it too."""
    code, out, _ = invoke("explain", ROOT / "mappings/slack/messages.yaml",
                          ROOT / "samples/slack/export/general/2024-05-01.json", "--record", "1",
                          "--param", "workspace_url=https://acme-corp.slack.com")
    assert code == 0
    assert "mapped, 1 object(s)" in out


@pytest.mark.parametrize("args", [["--version"], ["--help"]])
def test_fast_start_imports_no_compiler_models_or_pydantic(args: list[str]) -> None:
    """`--version` and `--help` load the command line only: no pydantic, no models, no
    compiler (the facade `mapper/__init__.py` imports its names on first use)."""
    code = (
        "import sys\n"
        "from mapper.cli import main\n"
        f"sys.argv = ['mapper', *{args!r}]\n"
        "try:\n    main()\n"
        "except SystemExit:\n    pass\n"
        "heavy = ('pydantic', 'mapper.model', 'mapper.language.compiler', 'mapper.api',\n"
        "         'jmespath', 'yaml')\n"
        "print('LOADED', [m for m in heavy if m in sys.modules])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert "LOADED []" in proc.stdout, proc.stdout + proc.stderr


def test_the_facade_still_offers_its_names() -> None:
    import mapper

    assert {"load", "apply", "compile_text", "Plan", "Diagnostic"} <= set(dir(mapper))
    assert mapper.compile_text is not None and mapper.Plan is not None
    with pytest.raises(AttributeError):
        _ = mapper.no_such_name  # type: ignore[attr-defined]


@pytest.mark.parametrize(("columns", "width"), [(None, 120), ("90", 90), ("200", 200)])
def test_tables_in_a_log_are_not_cut_at_80_columns(
    monkeypatch: pytest.MonkeyPatch, columns: str | None, width: int
) -> None:
    """Standard error to a file or a pipe (a CI log): rich would take 80 columns and cut the
    sync table's headers; COLUMNS still decides when it is set."""
    from mapper.cli.console import LazyConsole

    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    console = LazyConsole(stderr=True, force_terminal=False)
    assert console.width == width


def test_validate_of_a_folder_checks_its_yaml_files(tmp_path: Path) -> None:
    good = (ROOT / "mappings" / "github" / "push.yaml").read_text()
    (tmp_path / "a.yaml").write_text(good)
    (tmp_path / "b.yml").write_text(good.replace("displayName:", "dispalyName:", 1))
    (tmp_path / "notes.txt").write_text("not YAML")
    result = CliRunner().invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 1
    assert f"✓ {tmp_path / 'a.yaml'}" in result.output and "b.yml:" in result.output
    assert "notes.txt" not in result.output
