"""`mapper run` never loses a record silently and never overwrites its own input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import invoke, wide_console
from test_cli import REPOS, REPOS_IN, read_jsonl, write_records

__all__ = ["wide_console"]  # the fixture, used through autouse


@pytest.fixture
def inp(tmp_path: Path) -> Path:
    copy = tmp_path / "in.json"
    copy.write_bytes(REPOS_IN.read_bytes())
    return copy


def _same(tmp_path: Path, inp: Path) -> dict[str, list[str]]:
    link = tmp_path / "link.json"
    link.symlink_to(inp)
    return {
        "output is the input": ["-o", str(inp)],
        "output is a link to the input": ["-o", str(link)],
        "rejects file is the input": ["-o", str(tmp_path / "o.jsonl"), "--rejects", str(inp)],
        "report is the input": ["-o", str(tmp_path / "o.jsonl"), "--report", str(inp)],
        "rejects and report are one file": [
            "-o", str(tmp_path / "o.jsonl"), "--rejects", str(tmp_path / "x"),
            "--report", str(tmp_path / "x"),
        ],
        "output and rejects are one file": [
            "-o", str(tmp_path / "o.jsonl"), "--rejects", str(tmp_path / "o.jsonl"),
        ],
    }  # fmt: skip


@pytest.mark.parametrize("case", [
    "output is the input", "output is a link to the input", "rejects file is the input",
    "report is the input", "rejects and report are one file", "output and rejects are one file",
])  # fmt: skip
def test_an_output_that_names_an_input_or_another_output_is_a_usage_error(
    tmp_path: Path, inp: Path, case: str
) -> None:
    before = inp.read_bytes()
    code, _, err = invoke("run", REPOS, inp, *_same(tmp_path, inp)[case])
    assert code == 2, err
    assert "would overwrite the input" in err or "name the same file" in err
    assert inp.read_bytes() == before
    assert not (tmp_path / "o.jsonl").exists()


def test_stdout_run_prints_the_reasons_of_rejected_records(inp: Path) -> None:
    """Without a rejects file, nothing is silent: each rejected record is named on stderr."""
    code, out, err = invoke("run", REPOS, inp, "-o", "-", "-q")
    assert code == 3
    assert len(out.splitlines()) == 3
    assert f"record: {inp} #2" in err
    assert "1 record(s) rejected; give --rejects FILE" in err


def test_stdout_run_with_a_rejects_file_keeps_them_there(tmp_path: Path, inp: Path) -> None:
    rejects = tmp_path / "r.jsonl"
    code, _, err = invoke("run", REPOS, inp, "-o", "-", "-q", "--rejects", rejects)
    assert code == 3
    assert [r["index"] for r in read_jsonl(rejects)] == [2]
    assert "give --rejects" not in err


def test_stdout_run_shows_the_first_20_rejected_records(tmp_path: Path) -> None:
    bad = write_records(tmp_path / "bad.jsonl", [{"nope": i} for i in range(25)])
    code, _, err = invoke("run", REPOS, bad, "-o", "-", "-q")
    assert code == 3
    assert f"record: {bad} #19" in err and f"record: {bad} #20" not in err
    assert "25 record(s) rejected (the first 20 shown)" in err


@pytest.mark.parametrize(("limit", "mapped", "rejected"), [(0, 2, 1), (1, 3, 1)])
def test_max_errors_tolerates_n_rejected_records(
    tmp_path: Path, inp: Path, limit: int, mapped: int, rejected: int
) -> None:
    """repos.json: #2 is rejected; --max-errors 0 stops there, 1 lets the run finish."""
    out = tmp_path / "o.jsonl"
    code, _, err = invoke("run", REPOS, inp, "-o", out, "--max-errors", limit)
    assert code == 3, err
    report = json.loads((tmp_path / "o.report.json").read_text())
    assert (report["records"]["mapped"], report["records"]["rejected"]) == (mapped, rejected)
    assert bool(report.get("stoppedEarly")) is (limit == 0)


def test_negative_max_errors_is_a_usage_error(tmp_path: Path, inp: Path) -> None:
    code, _, _ = invoke("run", REPOS, inp, "-o", tmp_path / "o.jsonl", "--max-errors", "-1")
    assert code == 2


def test_a_problem_with_a_whole_input_names_the_input_not_a_record(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    code, _, err = invoke("run", REPOS, missing, "-o", tmp_path / "o.jsonl")
    assert code == 4
    assert f"input: {missing}" in err
    assert "#-1" not in err


@pytest.mark.parametrize("content", [[], ["notes.txt"], ["sub/readme.md"]])
def test_a_folder_without_json_files_is_an_input_problem(tmp_path: Path, content: list[str]) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    for name in content:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("x")
    code, _, err = invoke("run", REPOS, folder, "-o", tmp_path / "o.jsonl")
    assert code == 4
    assert "input.empty-folder" in err and f"input: {folder}" in err


SLACK = Path(__file__).resolve().parents[1] / "mappings/slack/messages.yaml"
SLACK_IN = Path(__file__).resolve().parents[1] / "samples/slack/export/general/2024-05-01.json"


@pytest.mark.parametrize(("mapping", "pair", "hint"), [
    (SLACK, "channel=x.json", "did you mean 'channels'?"),
    (REPOS, "users=x.json", "the mapping declares no `lookups:`"),
])  # fmt: skip
def test_an_unknown_lookup_table_is_a_usage_error(
    tmp_path: Path, mapping: Path, pair: str, hint: str
) -> None:
    code, _, err = invoke("run", mapping, SLACK_IN, "-o", tmp_path / "o.jsonl", "--lookup", pair)
    assert code == 2
    assert "no such lookup table" in err and hint in err


def test_batch_options_on_a_jsonl_run_get_a_note(tmp_path: Path, inp: Path) -> None:
    code, _, err = invoke("run", REPOS, inp, "-o", tmp_path / "o.jsonl", "--connection-id", "c1")
    assert code == 3
    assert "--connection-id and --property apply to --format batches" in err
