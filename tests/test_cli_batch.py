"""`mapper batch`: jobs files are checked (file:line:col, code) before any job runs.

One table of bad jobs files drives both the library check (`mapper.run.jobs.load_jobs`: code, loc,
line:col) and the command (exit 1, the located diagnostic, nothing run, no traceback).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mapper import cli
from mapper.cli import app
from mapper.run.files import RunRequest, RunResult
from mapper.run.jobs import load_jobs
from mapper.run.report import RunReport
from mapper.run.status import Status

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "cli_data"
REPOS, REPOS_IN, BROKEN = DATA / "repos.yaml", DATA / "repos.json", DATA / "broken.yaml"

GOOD_JOB = "  - {name: ok, mapping: repos.yaml, inputs: [repos.json]}\n"

# id, jobs file text, expected code, its loc, its line:col
BAD_JOBS_FILES = [
    ("misspelt-key", "jobs:\n  - name: a\n    mappin: repos.yaml\n    inputs: [repos.json]\n",
     "jobs.unknown-key", ("jobs", 0, "mappin"), "3:5"),
    ("missing-mapping", "jobs:\n  - name: a\n    mappin: repos.yaml\n    inputs: [repos.json]\n",
     "jobs.missing-key", ("jobs", 0), "2:5"),
    ("missing-name", "jobs:\n  - mapping: repos.yaml\n    inputs: [repos.json]\n",
     "jobs.missing-key", ("jobs", 0), "2:5"),
    ("jobs-is-a-number", "jobs: 5\n", "jobs.wrong-type", ("jobs",), "1:7"),
    ("top-level-list", "[1, 2]\n", "jobs.wrong-type", (), "1:1"),
    ("job-is-text", "jobs: [x]\n", "jobs.wrong-type", ("jobs", 0), "1:8"),
    ("inputs-is-text", "jobs:\n  - name: a\n    mapping: repos.yaml\n    inputs: /\n",
     "jobs.wrong-type", ("jobs", 0, "inputs"), "4:13"),
    ("inputs-is-a-map", "jobs:\n  - {name: a, mapping: m, inputs: {a: b}}\n",
     "jobs.wrong-type", ("jobs", 0, "inputs"), "2:35"),
    ("inputs-empty", "jobs:\n  - {name: a, mapping: m, inputs: []}\n",
     "jobs.empty", ("jobs", 0, "inputs"), "2:35"),
    ("input-is-a-number", "jobs:\n  - {name: a, mapping: m, inputs: [x, 3]}\n",
     "jobs.wrong-type", ("jobs", 0, "inputs", 1), "2:39"),
    ("name-is-a-number", "jobs:\n  - {name: 2024, mapping: m, inputs: [x]}\n",
     "jobs.wrong-type", ("jobs", 0, "name"), "2:12"),
    ("name-is-a-path", "jobs:\n  - {name: a/b, mapping: m, inputs: [x]}\n",
     "jobs.invalid-name", ("jobs", 0, "name"), "2:12"),
    ("name-is-dotdot", "jobs:\n  - {name: '..', mapping: m, inputs: [x]}\n",
     "jobs.invalid-name", ("jobs", 0, "name"), "2:12"),
    ("name-is-empty", "jobs:\n  - {name: '', mapping: m, inputs: [x]}\n",
     "jobs.empty", ("jobs", 0, "name"), "2:12"),
    ("mapping-is-null", "jobs:\n  - {name: a, mapping: , inputs: [x]}\n",
     "jobs.wrong-type", ("jobs", 0, "mapping"), "2:23"),
    ("records-is-a-list", "jobs:\n  - {name: a, mapping: m, inputs: [x], records: [a]}\n",
     "jobs.wrong-type", ("jobs", 0, "records"), "2:49"),
    ("duplicate-name", f"jobs:\n{GOOD_JOB}  - {{name: OK, mapping: m, inputs: [x]}}\n",
     "jobs.duplicate-name", ("jobs", 1, "name"), "3:12"),
    ("no-jobs-key", "job: []\n", "jobs.missing-key", (), "1:1"),
    ("jobs-empty", "jobs: []\n", "jobs.empty", ("jobs",), "1:7"),
    ("file-empty", "# nothing yet\n", "jobs.empty", (), "1:1"),
    ("yaml-syntax", "jobs: [\n", "yaml.syntax", (), "2:1"),
    ("yaml-duplicate-key", "jobs:\n  - {name: a, name: b, mapping: m, inputs: [x]}\n",
     "yaml.duplicate-key", ("jobs", 0, "name"), "2:15"),
    ("yaml-unsafe-tag", "jobs: !!python/object:os.system {}\n",
     "yaml.unsafe-tag", ("jobs",), "1:7"),
]
IDS = [row[0] for row in BAD_JOBS_FILES]


@pytest.fixture(autouse=True)
def _wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich wraps at 80 columns when not on a terminal; widen it so diagnostics stay one line."""
    monkeypatch.setattr(cli.out.get(), "width", 240)
    monkeypatch.setattr(cli.err.get(), "width", 240)


def invoke(*args: object) -> tuple[int, str]:
    """Run the app; return (exit code, stdout + stderr). Never a traceback, never a crash."""
    result = CliRunner().invoke(app, [str(a) for a in args])
    both = result.stdout + result.stderr
    assert "Traceback" not in both, both
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, both


def jobs_file(folder: Path, text: str, name: str = "jobs.yaml") -> Path:
    """A jobs file next to a copy of the small repos mapping and its records."""
    shutil.copy(REPOS, folder / "repos.yaml")
    shutil.copy(REPOS_IN, folder / "repos.json")
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def no_run(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record every job `batch` starts (none should start when a jobs file is invalid)."""
    started: list[Any] = []
    monkeypatch.setattr("mapper.run.files.run_files", lambda *a, **k: started.append(a))
    return started


# --- the table: library and command ----------------------------------------------------------

@pytest.mark.parametrize(("text", "code", "loc", "where"), [r[1:] for r in BAD_JOBS_FILES], ids=IDS)
def test_load_jobs_locates_the_problem(tmp_path: Path, text: str, code: str,
                                       loc: tuple[str | int, ...], where: str) -> None:
    path = jobs_file(tmp_path, text)
    _jobs, diags = load_jobs([path])
    found = {(d.code, d.loc, f"{d.span.line}:{d.span.col}" if d.span else None) for d in diags}
    assert (code, loc, where) in found, found


@pytest.mark.parametrize(("text", "code", "where"), [(r[1], r[2], r[4]) for r in BAD_JOBS_FILES],
                         ids=IDS)
def test_batch_reports_a_bad_jobs_file_and_runs_nothing(tmp_path: Path, no_run: list[Any],
                                                        text: str, code: str, where: str) -> None:
    path = jobs_file(tmp_path, text)
    exit_code, output = invoke("batch", path, "-o", tmp_path / "out")
    assert exit_code == 1
    assert any(line.startswith(f"{path}:{where}: ") and f" {code}: " in line
               for line in output.splitlines()), output
    assert "no job was run" in output
    assert no_run == []
    assert not (tmp_path / "out").exists()


def test_misspelt_key_suggests_the_right_one(tmp_path: Path) -> None:
    path = jobs_file(tmp_path, BAD_JOBS_FILES[0][1])
    _, output = invoke("batch", path, "-o", tmp_path / "out")
    assert "hint: did you mean 'mapping'?" in output


def test_inputs_as_text_fails_before_touching_the_file_system(
    tmp_path: Path, no_run: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def walked(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"inputs were expanded: {args}")

    monkeypatch.setattr("mapper.io.inputs.expand_inputs", walked)
    path = jobs_file(tmp_path, "jobs:\n  - {name: a, mapping: repos.yaml, inputs: /}\n")
    exit_code, output = invoke("batch", path, "-o", tmp_path / "out")
    assert exit_code == 1
    assert "hint: write a list: inputs: [/]" in output
    assert no_run == []


# --- several jobs files ----------------------------------------------------------------------

def test_one_bad_file_stops_every_file_and_all_problems_are_shown(
    tmp_path: Path, no_run: list[Any]
) -> None:
    good = jobs_file(tmp_path, f"jobs:\n{GOOD_JOB}", "good.yaml")
    bad1 = jobs_file(tmp_path, "jobs: 5\n", "bad1.yaml")
    bad2 = jobs_file(tmp_path, "jobs: [x]\n", "bad2.yaml")
    exit_code, output = invoke("batch", good, bad1, bad2, "-o", tmp_path / "out")
    assert exit_code == 1
    assert f"{bad1}:1:7: " in output and f"{bad2}:1:8: " in output
    assert no_run == []


def test_a_name_used_in_two_files_is_a_duplicate(tmp_path: Path, no_run: list[Any]) -> None:
    first = jobs_file(tmp_path, f"jobs:\n{GOOD_JOB}", "first.yaml")
    second = jobs_file(tmp_path, f"jobs:\n{GOOD_JOB}", "second.yaml")
    exit_code, output = invoke("batch", first, second, "-o", tmp_path / "out")
    assert exit_code == 1
    assert f"{second}:2:12: jobs[0].name: jobs.duplicate-name" in output
    assert f"the first is at {first}:2:12" in output
    assert no_run == []


def test_an_unreadable_jobs_file_exits_4_after_reporting_the_others(
    tmp_path: Path, no_run: list[Any]
) -> None:
    bad = jobs_file(tmp_path, "jobs: 5\n", "bad.yaml")
    exit_code, output = invoke("batch", tmp_path / "missing.yaml", bad, "-o", tmp_path / "out")
    assert exit_code == 4
    assert "jobs.unreadable: cannot read jobs file" in output
    assert f"{bad}:1:7: " in output
    assert no_run == []


# --- running: what each job says -------------------------------------------------------------

def test_a_valid_jobs_file_runs_every_job(tmp_path: Path) -> None:
    push = ROOT / "mappings/github/push.yaml"
    push_in = ROOT / "samples/github/push-webhook.json"
    path = jobs_file(tmp_path, f"jobs:\n{GOOD_JOB}"
                               f"  - {{name: push, mapping: {push}, inputs: [{push_in}]}}\n")
    out = tmp_path / "out"
    exit_code, output = invoke("batch", path, "-o", out)
    assert exit_code == 3                                  # repos rejects one record
    assert len((out / "ok.jsonl").read_text().splitlines()) == 3
    assert len((out / "push.jsonl").read_text().splitlines()) == 4
    assert f"objects: {out / 'ok.jsonl'}" in output and f"objects: {out / 'push.jsonl'}" in output
    assert "2 of 2 job(s) run, 0 failed" in output


def test_objects_line_only_for_a_job_that_wrote_its_output(tmp_path: Path) -> None:
    shutil.copy(BROKEN, tmp_path / "broken.yaml")
    path = jobs_file(tmp_path, "jobs:\n  - {name: bad, mapping: broken.yaml, inputs: [repos.json]}\n"
                               f"{GOOD_JOB}")
    out = tmp_path / "out"
    exit_code, output = invoke("batch", path, "-o", out)
    assert exit_code == 3                                  # the worst: ok rejected a record
    assert f"objects: {out / 'bad.jsonl'}" not in output
    assert "job bad failed (exit 1): no objects written" in output
    assert f"objects: {out / 'ok.jsonl'}" in output
    assert not (out / "bad.jsonl").exists()


def test_unwritable_output_prints_no_objects_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    path = jobs_file(tmp_path, f"jobs:\n{GOOD_JOB}")
    exit_code, output = invoke("batch", path, "-o", tmp_path / "file" / "out")
    assert exit_code == 4
    assert "objects:" not in output
    assert "job ok failed (exit 4): no objects written" in output


def test_a_job_with_a_missing_input_still_says_where_its_objects_are(tmp_path: Path) -> None:
    path = jobs_file(tmp_path, "jobs:\n  - {name: ok, mapping: repos.yaml, "
                               "inputs: [repos.json, missing.json]}\n")
    out = tmp_path / "out"
    exit_code, output = invoke("batch", path, "-o", out)
    assert exit_code == 4                                  # the run finished; one input is missing
    assert f"objects: {out / 'ok.jsonl'}" in output
    assert len((out / "ok.jsonl").read_text().splitlines()) == 3


def test_an_old_output_is_not_taken_for_a_new_one(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "bad.jsonl").write_text(json.dumps({"from": "an earlier run"}) + "\n")
    shutil.copy(BROKEN, tmp_path / "broken.yaml")
    path = jobs_file(tmp_path, "jobs:\n  - {name: bad, mapping: broken.yaml, inputs: [repos.json]}\n")
    exit_code, output = invoke("batch", path, "-o", out)
    assert exit_code == 1
    assert "objects:" not in output


def test_ctrl_c_stops_the_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[str] = []

    def interrupted(plan: Any, inputs: Any, request: RunRequest, **kwargs: Any) -> RunResult:
        started.append(request.output)
        return RunResult(RunReport(plan.path), Status.INTERRUPTED, stopped="interrupted")

    monkeypatch.setattr("mapper.run.files.run_files", interrupted)
    path = jobs_file(tmp_path, f"jobs:\n{GOOD_JOB}  - {{name: two, mapping: m, inputs: [x]}}\n")
    exit_code, output = invoke("batch", path, "-o", tmp_path / "out")
    assert exit_code == cli.EXIT_INTERRUPTED
    assert len(started) == 1
    assert "1 of 2 job(s) run, 1 failed" in output


def test_ctrl_c_as_a_jobs_outcome_is_printed_stops_the_batch_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job had finished (its objects are in place): it counts as run, the next one does
    not start, the exit status is 130."""
    import os
    import signal

    import mapper.cli.run as cli_run

    shown = cli_run.show_result

    def show_then_ctrl_c(*args: Any, **kwargs: Any) -> None:
        shown(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(cli_run, "show_result", show_then_ctrl_c)
    path = jobs_file(tmp_path, f"jobs:\n{GOOD_JOB}{GOOD_JOB.replace('name: ok', 'name: two')}")
    exit_code, output = invoke("batch", path, "-o", tmp_path / "out")
    assert exit_code == cli.EXIT_INTERRUPTED, output
    assert "interrupted after job ok" in output
    assert "1 of 2 job(s) run, 0 failed" in output
    assert (tmp_path / "out" / "ok.jsonl").is_file()
    assert not (tmp_path / "out" / "two.jsonl").exists()


def test_bundled_jobs_files_are_valid() -> None:
    jobs, diags = load_jobs(sorted((ROOT / "mappings").glob("*/jobs.yaml")))
    assert diags == []
    # 49 + slack-events-message (the Events API mapping `mapper serve` uses) + the Jira and
    # Confluence users and group members (jira-users, jira-group-members, confluence-users,
    # confluence-group-members)
    assert len(jobs) == 54
    assert all(job.mapping.is_file() for job in jobs)
