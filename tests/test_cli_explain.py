"""`mapper preview` and `mapper explain`: literal text, per-item traces, input problems, options.

Mappings and records are written into tmp_path; markup-like text (`[bold]x[/]`, `[draft]`) sits
in an expression, a default, a record value and a file name, and must come out unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cli import _wide_console, invoke

from mapper import cli

__all__ = ["_wide_console"]  # the fixture, used through autouse

ROOT = Path(__file__).resolve().parents[1]
REPOS = ROOT / "tests/cli_data/repos.yaml"
PUSH = ROOT / "mappings/github/push.yaml"
PUSH_IN = ROOT / "samples/github/push-webhook.json"

MARKUP_MAPPING = """\
version: 1
objects:
  - name: repo
    type: atlassian:repository
    fields:
      id: id
      displayName: {expr: name, default: "Untitled [draft]"}
      description: {expr: "join(' ', ['[bold]x[/]', tag])", required: true}
      url: url
      createdAt: to_rfc3339(created)
      lastUpdatedAt: to_rfc3339(created)
      permissions: permissions([principal('ATLASSIAN_WORKSPACE')])
"""
_REPO = {"url": "https://example.test/r", "created": "2024-05-01T12:00:00Z", "tag": "t"}
MARKUP_RECORDS = [
    {**_REPO, "id": "r0", "name": "[bold]x[/]"},
    {**_REPO, "id": "r1", "name": None},
    {**_REPO, "id": "r2", "name": "n", "tag": {"k": 5}},  # join() of an object: a type error
]
REPO_LINE = {"id": "r", "name": "n", "url": "https://example.test/r",
             "created": "2024-05-01T12:00:00Z", "updated": "2024-05-02T12:00:00Z"}


@pytest.fixture
def markup(tmp_path: Path) -> tuple[Path, Path]:
    """(mapping, input): the input's file name holds `[draft]` too."""
    mapping = tmp_path / "markup.yaml"
    mapping.write_text(MARKUP_MAPPING, encoding="utf-8")
    data = tmp_path / "recs[draft].json"
    data.write_text(json.dumps(MARKUP_RECORDS), encoding="utf-8")
    return mapping, data


def _row(out: str, field: str) -> list[str]:
    line = next(line for line in out.splitlines() if f"│ {field} " in line)
    return [cell.strip() for cell in line.strip("│ ").split("│")]


# --- markup-like text is printed literally ------------------------------------------------------

@pytest.mark.parametrize(("record", "field", "cells"), [
    # values as JSON; a final value equal to the raw one is shown once
    (0, "description", ["join(' ', ['[bold]x[/]', tag])", '"[bold]x[/] t"', "(same)"]),
    (0, "displayName", ["name", '"[bold]x[/]"', "(same)"]),
    (1, "displayName", ["name", "null", '"Untitled [draft]"']),
])
def test_explain_prints_markup_literally(markup: tuple[Path, Path], record: int, field: str,
                                         cells: list[str]) -> None:
    mapping, data = markup
    code, out, _ = invoke("explain", mapping, data, "--record", record, "--field", field)
    assert code == 0
    assert _row(out, field)[2:5] == cells
    assert f"record {data} #{record}: mapped" in out


def test_explain_prints_default_in_reason_literally(markup: tuple[Path, Path]) -> None:
    mapping, data = markup
    _, out, _ = invoke("explain", mapping, data, "--record", 1, "--field", "displayName")
    assert "the default 'Untitled [draft]' is used" in out


@pytest.mark.parametrize("text", [
    "[bold]x[/]",                          # a record value
    "Untitled [draft] (default)",          # a default, marked
    "#0 atlassian:repository (repo)",      # the panel title
    "rejected {data} #2",                  # a rejected panel's title: the file name holds [draft]
    "join(' ', ['[bold]x[/]', tag])",      # the expression in the problem
])
def test_preview_prints_markup_literally(markup: tuple[Path, Path], text: str) -> None:
    mapping, data = markup
    code, out, err = invoke("preview", mapping, data)
    assert code == 0
    assert text.format(data=data) in out
    assert "2 object(s) from 3 record(s) read: 2 mapped + 1 rejected + 0 filtered" in err


def test_preview_marks_only_defaulted_values(markup: tuple[Path, Path]) -> None:
    mapping, data = markup
    _, out, _ = invoke("preview", mapping, data)
    names = [line for line in out.splitlines() if "displayName" in line]
    assert ["(default)" in line for line in names] == [False, True]


def test_preview_folds_long_lines_in_panels(markup: tuple[Path, Path],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A narrow terminal wraps a long problem inside its panel instead of cutting it off."""
    monkeypatch.setattr(cli.out.get(), "width", 60)
    mapping, data = markup
    code, out, _ = invoke("preview", mapping, data)
    assert code == 0
    lines = out.splitlines()
    assert all(len(line) <= 60 for line in lines)
    text = " ".join(line.strip("│ ") for line in lines)
    assert "expr.type-error" in text
    assert "holding an object:" in text.replace("│", "")  # the message, folded


def test_explain_folds_long_cells(markup: tuple[Path, Path],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli.out.get(), "width", 60)
    mapping, data = markup
    code, out, _ = invoke("explain", mapping, data, "--record", 2, "--field", "description")
    assert code == 0
    table = [line for line in out.splitlines() if line[:1] in "┏┃┡│└"]
    assert all(len(line) <= 60 for line in table)
    reason = "".join(line.split("│")[-2] for line in table if line.startswith("│"))
    assert reason.replace(" ", "").endswith("reportedwithit)")  # the end of the long reason


# --- each: only the item that fails is marked ---------------------------------------------------

@pytest.fixture
def push_without_timestamp(tmp_path: Path) -> Path:
    """The push sample where commit 2 has no timestamp (commits 0 and 1 are fine)."""
    payload = json.loads(PUSH_IN.read_text(encoding="utf-8"))
    del payload["commits"][2]["timestamp"]
    path = tmp_path / "push.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    return path


@pytest.mark.parametrize(("rule", "status", "final_is_raw"), [
    ("repository[0]", "ok", True),
    ("commit[0]", "ok", True),
    ("commit[1]", "ok", True),
    ("commit[2]", "rejected", False),
])
def test_explain_each_marks_only_the_bad_item(push_without_timestamp: Path, rule: str,
                                              status: str, final_is_raw: bool) -> None:
    code, out, err = invoke("explain", PUSH, push_without_timestamp, "--field", "createdAt")
    assert code == 0
    line = next(line for line in out.splitlines() if line.startswith(f"│ {rule} "))
    cells = [cell.strip() for cell in line.strip("│ ").split("│")]
    assert cells[1] == "createdAt"
    assert (cells[3] != "null" and cells[4] == "(same)") is final_is_raw
    assert cells[5] == status
    assert "partial, 3 object(s)" in out  # the commit without a timestamp alone is rejected
    assert "/commits/2/timestamp" in err


# --- malformed input ----------------------------------------------------------------------------

@pytest.fixture
def truncated(tmp_path: Path) -> Path:
    path = tmp_path / "truncated.json"
    text = PUSH_IN.read_text(encoding="utf-8")
    path.write_text(text[: text.index("\n", 500)], encoding="utf-8")  # cut at a line end
    return path


@pytest.fixture
def bad_line(tmp_path: Path) -> Path:
    """JSONL whose line 2 (record #1) is not JSON."""
    path = tmp_path / "bad.jsonl"
    lines = [json.dumps({**REPO_LINE, "id": "r0"}), '{"id": broken', json.dumps(REPO_LINE)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("command", [
    ["preview"], ["preview", "--json"], ["explain"], ["explain", "--record", "3"],
])
def test_truncated_json_is_an_input_problem(truncated: Path, command: list[str]) -> None:
    code, _, err = invoke(*command, PUSH, truncated)
    assert code == 4
    assert "input.malformed-json" in err
    assert str(truncated) in err


def test_explain_truncated_json_then_no_record(truncated: Path) -> None:
    _, _, err = invoke("explain", PUSH, truncated)
    assert err.index("input.malformed-json") < err.index("there is no record #0")


@pytest.mark.parametrize(("args", "out_has", "err_has"), [
    (["preview"], ["#0 atlassian:repository", "#1 atlassian:repository", "rejected {path} #1",
                   "record.malformed-json"],
     ["2 object(s) from 3 record(s) read: 2 mapped + 1 rejected + 0 filtered"]),
    (["preview", "--json"], ['"id": "r0"'], ["record.malformed-json", "{path} #1"]),
    (["explain", "--record", "1"], [],
     ["record.malformed-json", "line 2 is not valid JSON", "{path} #1",
      "record {path} #1 is not valid JSON"]),
])
def test_malformed_jsonl_line_is_shown_with_its_location(bad_line: Path, args: list[str],
                                                         out_has: list[str],
                                                         err_has: list[str]) -> None:
    """preview shows the line as a rejected record (exit 0, like any rejected record it shows);
    explain has nothing to explain (exit 4)."""
    code, out, err = invoke(*args, REPOS, bad_line)
    assert code == (4 if args[0] == "explain" else 0)
    for text in out_has:
        assert text.format(path=bad_line) in out
    for text in err_has:
        assert text.format(path=bad_line) in err
    assert "no record" not in err


def test_explain_counts_a_malformed_line_as_a_record(bad_line: Path) -> None:
    """Record #2 is line 3: the malformed line 2 keeps its index."""
    code, out, _ = invoke("explain", REPOS, bad_line, "--record", "2")
    assert code == 0
    assert f"record {bad_line} #2: mapped" in out


@pytest.mark.parametrize("command", ["preview", "explain"])
def test_a_missing_input_among_others_exits_4(tmp_path: Path, command: str) -> None:
    code, out, err = invoke(command, REPOS, ROOT / "tests/cli_data/repos.json",
                            tmp_path / "nope.json")
    assert code == 4
    assert "input.not-found" in err
    assert "atlassian:repository" in out or "createdAt" in out  # the rest is still shown


# --- options ------------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["preview", REPOS, ROOT / "tests/cli_data/repos.json", "-n", "-1"],
    ["explain", REPOS, ROOT / "tests/cli_data/repos.json", "--record", "-1"],
])
def test_negative_counts_are_usage_errors(args: list[object]) -> None:
    code, _, _ = invoke(*args)
    assert code == 2


def test_explain_json_is_one_document_for_scripts() -> None:
    root = Path(__file__).resolve().parents[1]
    repos, data = root / "tests/cli_data/repos.yaml", root / "tests/cli_data/repos.json"
    code, out, _ = invoke("explain", repos, data, "--record", 2, "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["outcome"] == "rejected" and doc["record"]["index"] == 2
    created = next(f for f in doc["fields"] if f["field"] == "createdAt")
    assert created["status"] == "rejected" and created["raw"] is None
    assert [d["code"] for d in doc["diagnostics"]] == ["field.required"]
