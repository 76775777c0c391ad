"""`mapper test` on bad case files: every problem is named at file:line:col, counts add up.

One table of broken case files -> (code, line, col, loc) checked through `mapper.authoring.cases`, and
the same table through the CLI for exit codes and output. Mapping and records are copied from
tests/cli_data/ into tmp_path.
"""

from __future__ import annotations

import json
import re
import shutil
import textwrap
from pathlib import Path

import pytest
from test_cli import invoke as run_app

from mapper import cli
from mapper.authoring.cases import load_cases, locate_case_files, run_case

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "cli_data"
OK = "    mapping_file: repos.yaml\n    input: repos.json\n"


def invoke(*args: object, width: int = 240) -> tuple[int, str, str]:
    """Run the app with consoles `width` wide; (exit code, stdout, stderr), never a traceback."""
    consoles = (cli.out.get(), cli.err.get())
    saved = [c.width for c in consoles]
    for c in consoles:
        c.width = width
    try:
        return run_app(*args)
    finally:
        for c, w in zip(consoles, saved, strict=True):
            c.width = w


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copy(DATA / "repos.yaml", tmp_path / "repos.yaml")
    shutil.copy(DATA / "repos.json", tmp_path / "repos.json")
    return tmp_path


def write_cases(folder: Path, text: str, name: str = "t.cases.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# (id, case file text, expected code, line, col, loc)
BAD_FILES = [
    ("expect-typo", f"cases:\n  - title: a\n{OK}    expect: {{rejectd: 1}}\n",
     "case.unknown-key", 5, 14, "cases[0].expect.rejectd"),
    ("case-typo", f"cases:\n  - title: a\n{OK}    expct: {{}}\n",
     "case.unknown-key", 5, 5, "cases[0].expct"),
    ("top-typo", "case: []\n", "case.unknown-key", 1, 1, "case"),
    ("diag-typo", f"cases:\n  - title: a\n{OK}    expect:\n      diagnostics: [{{cdoe: x}}]\n",
     "case.unknown-key", 6, 22, "cases[0].expect.diagnostics[0].cdoe"),
    ("yaml-syntax", "cases:\n  - title: x\n   mapping_file: push.yaml\n",
     "yaml.syntax", 3, 4, ""),
    ("empty-file", "", "yaml.empty", 1, 1, ""),
    ("not-a-map", "- 1\n", "case.invalid-value", 1, 1, ""),
    ("cases-not-list", "cases: 5\n", "case.invalid-value", 1, 8, "cases"),
    ("case-not-map", "cases:\n  - 7\n", "case.invalid-value", 2, 5, "cases[0]"),
    ("no-cases-key", "{}\n", "case.missing-key", 1, 1, ""),
    ("count-not-int", f"cases:\n  - title: a\n{OK}    expect: {{mapped: true}}\n",
     "case.invalid-value", 5, 22, "cases[0].expect.mapped"),
    ("mapping-not-text", "cases:\n  - title: a\n    mapping: {version: 1}\n    expect: {}\n",
     "case.invalid-value", 3, 14, "cases[0].mapping"),
    ("no-mapping", "cases:\n  - title: a\n    given: [{}]\n    expect: {}\n",
     "case.missing-key", 2, 5, "cases[0]"),
    ("no-expect", "cases:\n  - title: a\n" + OK, "case.missing-key", 2, 5, "cases[0]"),
    ("mapping-missing", "cases:\n  - title: a\n    mapping_file: nope.yaml\n    expect: {}\n",
     "case.mapping-not-found", 3, 19, "cases[0].mapping_file"),
    ("input-missing",
     "cases:\n  - title: a\n    mapping_file: repos.yaml\n    input: nope.json\n    expect: {}\n",
     "case.input-not-found", 4, 12, "cases[0].input"),
    ("both-mappings", f"cases:\n  - title: a\n{OK}    mapping: 'version: 1'\n    expect: {{}}\n",
     "case.conflicting-keys", 5, 14, "cases[0].mapping"),
]


def _facts(d: object) -> tuple[str, int, int, str]:
    from mapper.errors import Diagnostic, format_loc

    assert isinstance(d, Diagnostic)
    assert d.span is not None, d
    return d.code, d.span.line, d.span.col, format_loc(d.loc)


@pytest.mark.parametrize(("text", "code", "line", "col", "loc"),
                         [pytest.param(*row[1:], id=row[0]) for row in BAD_FILES])
def test_bad_case_file_is_located(folder: Path, text: str, code: str, line: int, col: int,
                                  loc: str) -> None:
    path = write_cases(folder, text)
    cases, diags = load_cases(path)
    assert cases == []
    assert (code, line, col, loc) in [_facts(d) for d in diags], diags
    assert all(d.span and d.span.path == str(path) for d in diags)


@pytest.mark.parametrize(("text", "code", "line", "col", "loc"),
                         [pytest.param(*row[1:], id=row[0]) for row in BAD_FILES])
def test_bad_case_file_through_the_cli(folder: Path, text: str, code: str, line: int, col: int,
                                       loc: str) -> None:
    write_cases(folder, text)
    exit_code, out, err = invoke("test", folder / "t.cases.yaml")
    assert exit_code == 1
    assert f"t.cases.yaml:{line}:{col}: " in err
    assert code in err
    assert "0 passed, 0 failed, 1 file with problems" in out
    assert "-1" not in out


@pytest.mark.parametrize(("typo", "hint"), [
    ("{rejectd: 1}", "did you mean 'rejected'?"),
    ("{mappd: 3}", "did you mean 'mapped'?"),
    ("{object: []}", "did you mean 'objects'?"),
    ("{diagnostic: []}", "did you mean 'diagnostics'?"),
    ("{zzz: 1}", "`expect:` may hold: objects, file, diagnostics"),
])
def test_unknown_expect_key_has_a_hint(folder: Path, typo: str, hint: str) -> None:
    write_cases(folder, f"cases:\n  - title: a\n{OK}    expect: {typo}\n")
    _, diags = load_cases(folder / "t.cases.yaml")
    assert [d.code for d in diags] == ["case.unknown-key"]
    assert diags[0].hint is not None
    assert diags[0].hint.startswith(hint)


def test_every_problem_is_reported_and_good_cases_still_run(folder: Path) -> None:
    write_cases(folder, (f"cases:\n  - title: typo\n{OK}    expect: {{rejectd: 1, mapped: x}}\n"
                         f"  - title: good\n{OK}    expect: {{mapped: 3, rejected: 1}}\n"
                         f"  - title: bad\n{OK}    expect: {{mapped: 0}}\n"))
    cases, diags = load_cases(folder / "t.cases.yaml")
    assert [c.title for c in cases] == ["good", "bad"]
    assert sorted(d.code for d in diags) == ["case.invalid-value", "case.unknown-key"]
    code, out, err = invoke("test", folder)
    assert code == 1
    assert f"PASS {folder.name}/t.cases.yaml::good" in out  # labelled with the folder
    assert f"FAIL {folder.name}/t.cases.yaml::bad" in out
    assert "1 passed, 1 failed, 1 file with problems" in out
    assert "t.cases.yaml:5:14: cases[0].expect.rejectd: case.unknown-key" in err


def test_missing_mapping_is_not_reported_as_an_empty_mapping_yaml(folder: Path) -> None:
    write_cases(folder, "cases:\n  - title: a\n    mapping_file: gone.yaml\n    expect: {}\n")
    code, _, err = invoke("test", folder)
    assert code == 1
    assert "t.cases.yaml:3:19: cases[0].mapping_file: case.mapping-not-found" in err
    assert "'gone.yaml'" in err
    assert "mapping.yaml" not in err
    assert "yaml.empty" not in err


@pytest.mark.parametrize(("paths", "exit_code", "message", "summary"), [
    (["nope/"], 4, "input.not-found: no such file or folder\n    input: {d}/nope/",
     "0 passed, 0 failed, 1 path with problems"),
    (["empty"], 1, "case.none-found: no *.cases.yaml files under {d}/empty",
     "0 passed, 0 failed, 1 path with problems"),
    (["good.cases.yaml", "nope.cases.yaml"], 4, "input: {d}/nope.cases.yaml",
     "1 passed, 0 failed, 1 path with problems"),
    (["good.cases.yaml", "empty"], 1, "no *.cases.yaml files under {d}/empty",
     "1 passed, 0 failed, 1 path with problems"),
    (["good.cases.yaml"], 0, "", "1 passed, 0 failed\n"),
])
def test_paths_that_give_no_case_files_are_named(folder: Path, paths: list[str], exit_code: int,
                                                 message: str, summary: str) -> None:
    (folder / "empty").mkdir()
    write_cases(folder, f"cases:\n  - title: a\n{OK}    expect: {{mapped: 3}}\n",
                "good.cases.yaml")
    code, out, err = invoke("test", *(folder / p if p != "nope/" else f"{folder}/nope/"
                                      for p in paths))
    assert code == exit_code, out + err
    assert message.format(d=folder) in err
    assert summary in out


def test_locate_case_files(folder: Path) -> None:
    write_cases(folder, f"cases:\n  - title: a\n{OK}    expect: {{}}\n", "x.cases.yaml")
    found, problems = locate_case_files([str(folder), str(folder / "missing")])
    assert found == [folder / "x.cases.yaml"]
    assert [d.code for d in problems] == ["input.not-found"]


def test_failure_panels_wrap_on_a_narrow_terminal(folder: Path) -> None:
    long_name = "expected/" + "a-rather-long-folder-name/" * 3 + "expected-output.jsonl"
    write_cases(folder, f"cases:\n  - title: a\n{OK}    expect: {{file: {long_name}}}\n")
    code, out, _ = invoke("test", folder, width=40)
    assert code == 1
    panel = [line for line in out.splitlines() if line[:1] in "╭│╰"]
    assert panel
    assert all(len(line) == 40 for line in panel), out
    body = " ".join(line.strip("│ ") for line in panel[1:-1])
    assert "exist (run with --update to create it)" in body, out
    assert "-name/expected-output.jsonl" in body.replace(" ", "")


def test_titles_and_failures_are_not_read_as_markup(folder: Path) -> None:
    write_cases(folder, (f"cases:\n  - title: '[bold]x[/] and [red]'\n{OK}"
                         "    expect: {objects: [{id: '[/not markup]'}, {id: r2}, {id: r4}]}\n"))
    code, out, _ = invoke("test", folder)
    assert code == 1
    assert f"FAIL {folder.name}/t.cases.yaml::[bold]x[/] and [red]" in out
    assert "[/not markup]" in out


def test_records_selector_of_a_case(folder: Path) -> None:
    records = json.loads((DATA / "repos.json").read_text())
    (folder / "wrapped.json").write_text(json.dumps({"items": records}))
    write_cases(folder, """\
        cases:
          - title: wrapped
            mapping_file: repos.yaml
            input: wrapped.json
            records: items[]
            expect: {mapped: 3, rejected: 1, filtered: 1}
          - title: bad selector
            mapping_file: repos.yaml
            input: wrapped.json
            records: "items["
            expect: {}
        """)
    cases, diags = load_cases(folder / "t.cases.yaml")
    assert diags == []
    results = [run_case(c) for c in cases]
    assert results[0].failures == []
    assert "`records:` does not compile" in results[1].failures[0]


def test_inline_mapping_diagnostics_name_the_case(folder: Path) -> None:
    write_cases(folder, "cases:\n  - title: a\n    mapping: ''\n    given: []\n    expect: {}\n")
    (case,), _ = load_cases(folder / "t.cases.yaml")
    failures = run_case(case).failures
    assert len(failures) == 1
    assert "<t.cases.yaml cases[0].mapping>:1:1: yaml.empty" in failures[0]


def test_bundled_fixtures_still_pass() -> None:
    # engine-pending.cases.yaml files wait for an engine change (see tests/test_bundled.py)
    files = [f for f in sorted((ROOT / "mappings").rglob("*.cases.yaml"))
             if f.name != "engine-pending.cases.yaml"]
    code, out, err = invoke("test", *files)
    assert code == 0, err
    # 98: the 71 fixtures of the real-payloads round, plus the mapping-parameter variants (another
    # Slack workspace, another Bitbucket Server repository) and GitHub Enterprise Server (a
    # branch, a commit, a commit.url of no known form), plus the principals round's identity
    # mappings (GitHub collaborators, Bitbucket Cloud members, GitLab members, Notion users),
    # plus the 2 of the Slack Events API message mapping (slack/events-message.cases.yaml), plus
    # the 10 of the Jira and Confluence users and group members (jira/users, jira/group-members,
    # confluence/users, confluence/group-members)
    assert re.search(r"^98 passed, 0 failed$", out, re.MULTILINE)


@pytest.mark.parametrize("target", ["in.json", "m.yaml", "c.cases.yaml"])
def test_update_never_replaces_a_file_the_case_reads(tmp_path: Path, target: str) -> None:
    """`expect.file` naming the case's input, mapping or case file fails instead of `--update`
    writing objects over it (found by the second outside attack)."""
    repos = ROOT / "mappings" / "github"
    (tmp_path / "common.yaml").write_text((repos / "common.yaml").read_text())
    (tmp_path / "m.yaml").write_text((repos / "repository.yaml").read_text())
    (tmp_path / "in.json").write_text(
        (ROOT / "samples" / "github" / "repository.json").read_text()
    )
    case = tmp_path / "c.cases.yaml"
    case.write_text(
        "cases:\n  - title: t\n    mapping_file: m.yaml\n    input: in.json\n"
        f"    expect: {{file: {target}}}\n"
    )
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    code, out, _ = invoke("test", case, "--update")
    assert code == 1
    assert f"expect.file {target} is the case" in out
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
