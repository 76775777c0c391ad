"""`mapper preview` and `mapper explain`: literal text, per-item traces, input problems, options.

Mappings and records are written into tmp_path; markup-like text (`[bold]x[/]`, `[draft]`) sits
in an expression, a default, a record value and a file name, and must come out unchanged.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from cli_support import invoke, wide_console

from mapper import cli

__all__ = ["wide_console"]  # the fixture, used through autouse

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
      url: links.html
      createdAt: to_rfc3339(created)
      lastUpdatedAt: to_rfc3339(a.b.created)
      permissions: permissions([principal('ATLASSIAN_WORKSPACE')])
"""
_REPO = {"links": {"html": "https://example.test/r"}, "created": "2024-05-01T12:00:00Z",
         "a": {"b": {"created": "2024-05-01T12:00:00Z"}}, "tag": "t"}
MARKUP_RECORDS = [
    {**_REPO, "id": "r0", "name": "[bold]x[/]"},
    {**_REPO, "id": "r1", "name": None},
    {**_REPO, "id": "r2", "name": "n", "tag": {"k": 5}},  # join() of an object: a type error
    {**{k: v for k, v in _REPO.items() if k != "links"},
     "id": "r3", "name": "n", "a": {"b": None}},  # null and missing part-way
    {**_REPO, "id": "r4", "name": "x" * 300},  # a value longer than explain shows
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


def _row(out: str, field: str, heading: str = "") -> tuple[str, list[str]]:
    """(status, the value cell's lines) of the first row of `field` after the `heading` line:
    a row is `  field  status  value`, then lines indented past the field for the rest of the
    value cell (the expression, the reason)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading)) if heading else 0
    at = next(i for i in range(start, len(lines)) if lines[i].startswith(f"  {field} "))
    _, _, status, value = re.split(r"\s{2,}", lines[at].rstrip(), maxsplit=3)
    cell = [value]
    for line in lines[at + 1:]:
        if not line.startswith("    ") or line[2] != " ":
            break
        cell.append(line.strip())
    return status, cell


# --- markup-like text is printed literally; values as JSON; the null part is named ---------------

@pytest.mark.parametrize(("record", "field", "status", "cell"), [
    # a final value equal to the raw one is shown once; the expression beneath it
    (0, "description", "ok", ['"[bold]x[/] t"', "← join(' ', ['[bold]x[/]', tag])"]),
    (0, "displayName", "ok", ['"[bold]x[/]"', "← name"]),
    # a default: raw → final, and why (the null part named, the default as JSON)
    (1, "displayName", "defaulted", ['null → "Untitled [draft]"', "← name",
                                     '`name` is null, so the default "Untitled [draft]" is used']),
    # a failed expression: the required problem, then the error itself
    (2, "description", "rejected", ["null", "← join(' ', ['[bold]x[/]', tag])",
                                    "'description' is required but the expression failed (see "
                                    "the error reported with it)",
                                    "join() expects an array of strings, got an array holding an "
                                    'object: {"k": 5}']),
    # a null part on the way: `a.b.created` → `a.b` is null
    (3, "lastUpdatedAt", "rejected", ["null", "← to_rfc3339(a.b.created)",
                                      "'lastUpdatedAt' is required but the expression gave null "
                                      "(null in the record): `a.b` is null"]),
    # a path missing part-way
    (3, "url", "rejected", ["null", "← links.html", "'url' is required but the expression gave "
                                                    "null (missing): `links` is missing"]),
])
def test_explain_rows(markup: tuple[Path, Path], record: int, field: str, status: str,
                      cell: list[str]) -> None:
    mapping, data = markup
    code, out, _ = invoke("explain", mapping, data, "--record", record, "--field", field)
    assert code == 0
    assert _row(out, field) == (status, cell)
    assert out.splitlines()[0].startswith("repo[0] → atlassian:repository")
    assert f"record {data} #{record}: " in out


@pytest.mark.parametrize(("record", "field", "cause"), [
    (1, "displayName", "`name` is null"),
    (3, "lastUpdatedAt", "`a.b` is null"),
    (3, "url", "`links` is missing"),
    (2, "description", "join() expects an array of strings, got an array holding an object: "
                       '{"k": 5}'),
    (0, "displayName", None),
])
def test_explain_json_names_the_cause(markup: tuple[Path, Path], record: int, field: str,
                                      cause: str | None) -> None:
    mapping, data = markup
    code, out, _ = invoke("explain", mapping, data, "--record", record, "--json")
    assert code == 0
    trace = next(f for f in json.loads(out)["fields"] if f["field"] == field)
    assert trace.get("cause") == cause
    assert trace["type"] == "atlassian:repository"


def test_explain_cuts_long_values_but_json_has_them_whole(markup: tuple[Path, Path]) -> None:
    mapping, data = markup
    _, out, _ = invoke("explain", mapping, data, "--record", 4, "--field", "displayName")
    _, cell = _row(out, "displayName")
    assert cell[0] == json.dumps("x" * 300)[:99] + "…"
    assert "--json has them whole" in out
    _, doc, _ = invoke("explain", mapping, data, "--record", 4, "--json")
    assert next(f for f in json.loads(doc)["fields"] if f["field"] == "displayName")["raw"] == (
        "x" * 300
    )


def test_explain_prints_default_in_reason_literally(markup: tuple[Path, Path]) -> None:
    mapping, data = markup
    _, out, _ = invoke("explain", mapping, data, "--record", 1, "--field", "displayName")
    assert 'the default "Untitled [draft]" is used' in out


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
    assert "3 object(s) from 5 record(s) read: 3 mapped + 2 rejected + 0 filtered" in err


def test_preview_marks_only_defaulted_values(markup: tuple[Path, Path]) -> None:
    mapping, data = markup
    _, out, _ = invoke("preview", mapping, data)
    names = [line for line in out.splitlines() if "displayName" in line]
    assert ["(default)" in line for line in names] == [False, True, False]


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


@pytest.mark.parametrize("width", [60, 80, 100])
def test_explain_fits_the_terminal(markup: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
                                   width: int) -> None:
    """No line is wider than the terminal, and a long reason is folded, not cut."""
    monkeypatch.setattr(cli.out.get(), "width", width)
    mapping, data = markup
    code, out, _ = invoke("explain", mapping, data, "--record", 2)
    assert code == 0
    table = [line for line in out.splitlines() if not line.startswith("record ")]
    assert all(len(line) <= width for line in table)
    assert "reportedwithit)" in out.replace(" ", "").replace("\n", "")


def test_explain_push_at_80_columns_is_short() -> None:
    """The GitHub push sample: a heading per object and at most 3.5 lines a field (216 lines;
    the old six-column table took 367 lines at 80 columns)."""
    from rich.console import Console

    from mapper.api import compile_path
    from mapper.cli import render
    from mapper.engine.tracing import explain as explain_record
    from mapper.records import Record

    plan, _ = compile_path(PUSH)
    assert plan is not None
    record = Record(str(PUSH_IN), 0, json.loads(PUSH_IN.read_text(encoding="utf-8")))
    _, traces = explain_record(plan, record)
    with Path(os.devnull).open("w") as sink:
        console = Console(width=80, record=True, file=sink)
        render.traces(console, traces)
    lines = console.export_text().splitlines()
    headings = [line for line in lines if not line.startswith(" ")]
    assert headings[:2] == ["repository[0] → atlassian:repository", "commit[0] → atlassian:commit"]
    assert len(lines) < 3.5 * len(traces)


# --- each: only the item that fails is marked ---------------------------------------------------

@pytest.fixture
def push_without_timestamp(tmp_path: Path) -> Path:
    """The push sample where commit 2 has no timestamp (commits 0 and 1 are fine)."""
    payload = json.loads(PUSH_IN.read_text(encoding="utf-8"))
    del payload["commits"][2]["timestamp"]
    path = tmp_path / "push.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    return path


@pytest.mark.parametrize(("heading", "status", "value"), [
    ("repository[0] → atlassian:repository", "ok", '"2021-03-04T09:12:45Z"'),
    ("commit[0] → atlassian:commit", "ok", '"2024-05-01T12:58:12Z"'),
    ("commit[1] → atlassian:commit", "ok", '"2024-05-01T13:10:40Z"'),
    ("commit[2] → atlassian:commit", "rejected", "null"),
])
def test_explain_each_marks_only_the_bad_item(push_without_timestamp: Path, heading: str,
                                              status: str, value: str) -> None:
    code, out, err = invoke("explain", PUSH, push_without_timestamp, "--field", "createdAt")
    assert code == 0
    assert _row(out, "createdAt", heading)[0] == status
    assert _row(out, "createdAt", heading)[1][0] == value
    assert "partial, 3 object(s)" in out  # the commit without a timestamp alone is rejected
    assert "/commits/2/timestamp" in err


def test_explain_names_the_missing_part_of_an_each_item(push_without_timestamp: Path) -> None:
    _, out, _ = invoke("explain", PUSH, push_without_timestamp, "--field", "createdAt")
    cell = _row(out, "createdAt", "commit[2] → atlassian:commit")[1]
    assert cell[-1].endswith("the expression gave null (missing): `timestamp` is missing")


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


@pytest.mark.parametrize(("value", "raw", "cause"), [
    ({"k": 1}, "\"fallback\"", None),   # the first expression fails: the next one gives the value
    ("ok", '"OK"', None),               # the first one gives it
])
def test_explain_coalesce_goes_on_after_a_failing_expression(tmp_path: Path, value: object,
                                                             raw: str, cause: str | None) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MARKUP_MAPPING.replace(
        "displayName: {expr: name, default: \"Untitled [draft]\"}",
        "displayName: {coalesce: [upper(name), \"'fallback'\"]}"), encoding="utf-8")
    data = tmp_path / "in.json"
    data.write_text(json.dumps({**MARKUP_RECORDS[0], "name": value}), encoding="utf-8")
    code, out, _ = invoke("explain", mapping, data, "--field", "displayName")
    assert code == 0
    status, cell = _row(out, "displayName")
    assert (status, cell[0]) == ("ok", raw)
    _, doc, _ = invoke("explain", mapping, data, "--json")
    trace = next(f for f in json.loads(doc)["fields"] if f["field"] == "displayName")
    assert trace.get("cause") == cause
