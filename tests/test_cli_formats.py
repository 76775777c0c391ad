"""Diagnostics for machines and CI: `--format text|json|sarif|github`, `mapper test --junit`."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from mapper.cli import app

ROOT = Path(__file__).resolve().parents[1]
BROKEN = ROOT / "tests" / "cli_data" / "broken.yaml"  # 2 unknown functions, 1 unknown field
PUSH = ROOT / "mappings" / "github" / "push.yaml"

# The parts of the SARIF 2.1.0 schema (sarif-schema-2.1.0.json) that code scanning relies on.
SARIF_SHAPE = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "$schema": {"type": "string"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool", "results"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "version": {"type": "string"},
                                    "rules": {
                                        "type": "array",
                                        "items": {"type": "object", "required": ["id"]},
                                    },
                                },
                            }
                        },
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["ruleId", "message", "locations"],
                            "properties": {
                                "ruleId": {"type": "string"},
                                "level": {"enum": ["none", "note", "warning", "error"]},
                                "message": {
                                    "type": "object",
                                    "required": ["text"],
                                    "properties": {"text": {"type": "string"}},
                                },
                                "locations": {
                                    "type": "array",
                                    "minItems": 1,
                                    "items": {
                                        "type": "object",
                                        "required": ["physicalLocation"],
                                        "properties": {
                                            "physicalLocation": {
                                                "type": "object",
                                                "required": ["artifactLocation"],
                                                "properties": {
                                                    "artifactLocation": {
                                                        "type": "object",
                                                        "required": ["uri"],
                                                    },
                                                    "region": {
                                                        "type": "object",
                                                        "required": ["startLine"],
                                                        "properties": {
                                                            "startLine": {
                                                                "type": "integer",
                                                                "minimum": 1,
                                                            },
                                                            "startColumn": {
                                                                "type": "integer",
                                                                "minimum": 1,
                                                            },
                                                        },
                                                    },
                                                },
                                            }
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def invoke(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


def test_validate_text_ends_with_the_counts() -> None:
    code, _, err = invoke("validate", BROKEN)
    assert code == 1
    assert err.rstrip().splitlines()[-1] == "3 errors, 0 warnings"
    code, _, err = invoke("validate", PUSH)
    assert code == 0
    assert err.rstrip().splitlines()[-1] == "0 errors, 0 warnings"


def test_validate_sarif_is_a_sarif_log_with_codes_and_positions() -> None:
    code, stdout, _ = invoke("validate", BROKEN, PUSH, "--format", "sarif")
    assert code == 1
    log = json.loads(stdout)
    jsonschema.validate(log, SARIF_SHAPE)
    run = log["runs"][0]
    assert run["tool"]["driver"]["name"] == "mapper"
    results = run["results"]
    assert len(results) == 3
    rule_ids = {rule["id"] for rule in run["tool"]["driver"]["rules"]}
    assert {r["ruleId"] for r in results} == rule_ids == {
        "expr.unknown-function", "object.unknown-field"}
    for result in results:
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"] == str(BROKEN)
        assert location["region"]["startLine"] >= 1 and location["region"]["startColumn"] >= 1
        assert result["level"] == "error"


def test_validate_github_annotations() -> None:
    code, stdout, _ = invoke("validate", BROKEN, "--format", "github")
    assert code == 1
    lines = stdout.splitlines()
    assert len(lines) == 3
    pattern = re.compile(r"^::error file=[^,]+,line=\d+,col=\d+,title=[a-z.-]+::.+$")
    assert all(pattern.match(line) for line in lines), lines


def test_validate_json() -> None:
    code, stdout, _ = invoke("validate", BROKEN, "--format", "json")
    assert code == 1
    doc = json.loads(stdout)
    assert doc["errors"] == 3 and doc["warnings"] == 0
    assert {d["code"] for d in doc["diagnostics"]} == {"expr.unknown-function",
                                                        "object.unknown-field"}


def test_validate_clean_machine_output_has_no_results() -> None:
    code, stdout, _ = invoke("validate", PUSH, "--format", "sarif")
    assert code == 0
    assert json.loads(stdout)["runs"][0]["results"] == []
    code, stdout, _ = invoke("validate", PUSH, "--format", "github")
    assert code == 0
    assert stdout == ""


@pytest.fixture
def failing_case(tmp_path: Path) -> Path:
    """A copy of the GitHub branches case whose expected file no longer matches."""
    folder = tmp_path / "github"
    folder.mkdir()
    for name in ("branches.yaml", "branches.cases.yaml", "common.yaml"):
        shutil.copy(ROOT / "mappings" / "github" / name, folder / name)
    (folder / "expected").mkdir()
    expected = (ROOT / "mappings/github/expected/branches.jsonl").read_text()
    (folder / "expected" / "branches.jsonl").write_text(
        re.sub(r'"displayName":"[^"]*"', '"displayName":"changed"', expected, count=1))
    cases = folder / "branches.cases.yaml"
    cases.write_text(cases.read_text().replace("../../samples", str(ROOT / "samples")))
    return cases


def test_test_labels_cases_with_their_folder_and_hints_at_update(failing_case: Path) -> None:
    code, stdout, _ = invoke("test", failing_case)
    assert code == 1
    assert "FAIL github/branches.cases.yaml::REST branches sample" in stdout
    assert "-    \"displayName\": \"changed\"," in stdout
    assert "run with --update to accept" in stdout


def test_test_junit_and_github(failing_case: Path, tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    code, stdout, err = invoke("test", failing_case, ROOT / "mappings/github/push.cases.yaml",
                               "--junit", junit, "--format", "github")
    assert code == 1
    (line,) = stdout.splitlines()
    assert line.startswith(f"::error file={failing_case},line=2,col=5,title=case.failed::")
    assert "FAIL github/branches.cases.yaml" in err  # people's lines move to stderr
    root = ET.parse(junit).getroot()
    assert root.tag == "testsuites"
    assert int(root.get("failures", "")) == 1
    assert int(root.get("tests", "")) >= 2
    failures = root.findall(".//testcase/failure")
    assert len(failures) == 1
    assert "output differs" in (failures[0].text or "")


# -- mapper run --diagnostics: the same formats for a run's problems ---------------------------

REPO = ROOT / "mappings" / "github" / "repository.yaml"


def _repo(name: str, created: str) -> str:
    return json.dumps({"full_name": f"a/{name}", "html_url": f"https://x/{name}",
                       "created_at": created, "updated_at": "2024-05-02T08:00:00Z"})  # fmt: skip


def _inputs(tmp_path: Path, bad: int, good: int = 3) -> Path:
    rows = [_repo(f"bad{i}", "never") for i in range(bad)]
    rows += [_repo(f"ok{i}", "2024-05-01T12:00:00Z") for i in range(good)]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _run(tmp_path: Path, mapping: Path, source: Path, *extra: object) -> tuple[int, str, str]:
    return invoke("run", mapping, source, "-o", tmp_path / "out.jsonl", *extra)


def test_run_diagnostics_json_locates_each_rejected_record(tmp_path: Path) -> None:
    report = tmp_path / "diagnostics.json"
    code, _, err = _run(tmp_path, REPO, _inputs(tmp_path, bad=1), "--diagnostics-file", report)
    assert code == 3
    doc = json.loads(report.read_text(encoding="utf-8"))
    assert (doc["errors"], doc["warnings"]) == (1, 0)
    (diag,) = doc["diagnostics"]
    assert diag["code"] == "field.required"
    assert diag["record"] == {"source": str(tmp_path / "in.jsonl"), "index": 0,
                              "pointer": "/created_at"}  # fmt: skip
    assert err.rstrip().endswith("1 error, 0 warnings")
    assert "field.required" in err  # with a file, people still see the problems on stderr


def test_run_diagnostics_sarif_is_a_code_scanning_log(tmp_path: Path) -> None:
    report = tmp_path / "run.sarif"
    code, _, _ = _run(tmp_path, REPO, _inputs(tmp_path, bad=2), "--diagnostics", "sarif",
                      "--diagnostics-file", report)  # fmt: skip
    assert code == 3
    log = json.loads(report.read_text(encoding="utf-8"))
    jsonschema.validate(log, SARIF_SHAPE)
    results = log["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["field.required"] * 2
    assert "in.jsonl #1 /created_at" in results[1]["message"]["text"]


def test_run_diagnostics_github_go_to_stderr_alone(tmp_path: Path) -> None:
    code, stdout, err = _run(tmp_path, REPO, _inputs(tmp_path, bad=1), "-q",
                             "--diagnostics", "github")  # fmt: skip
    assert code == 3 and stdout == ""
    lines = err.splitlines()
    assert lines[0].startswith(f"::error file={REPO},line=")
    assert "record: " in lines[0] and "#0 /created_at" in lines[0]
    assert "required" in lines[0] and not any(line.startswith("  ") for line in lines)


@pytest.mark.parametrize("quiet", [["-q"], []])
@pytest.mark.parametrize(
    ("mapping", "bad", "extra", "code", "first"),
    [
        pytest.param(BROKEN, 0, [], 1, "expr.unknown-function", id="invalid-mapping"),
        pytest.param(PUSH, None, [], 4, "input.not-found", id="missing-input"),
        pytest.param(REPO, 1, [], 3, "field.required", id="a-rejected-record"),
        pytest.param(REPO, 1, ["--fail-fast"], 3, "field.required", id="fail-fast"),
    ],
)
def test_run_diagnostics_json_on_stderr_is_one_document(
    tmp_path: Path, mapping: Path, bad: int | None, extra: list[str], code: int, first: str,
    quiet: list[str],
) -> None:
    """With or without -q: the summary, notes and what stopped the run are not drawn too."""
    source = _inputs(tmp_path, bad=bad) if bad is not None else tmp_path / "absent.json"
    got, _, err = _run(tmp_path, mapping, source, *quiet, *extra, "--diagnostics", "json")
    assert got == code
    doc = json.loads(err)  # nothing but the document on stderr
    assert doc["errors"] >= 1 and first in [d["code"] for d in doc["diagnostics"]]


def test_run_diagnostics_text_closes_with_the_count(tmp_path: Path) -> None:
    code, _, err = _run(tmp_path, REPO, _inputs(tmp_path, bad=1), "--diagnostics", "text")
    assert code == 3
    assert "field.required" in err and err.rstrip().endswith("1 error, 0 warnings")


def test_run_diagnostics_count_the_rejected_records_not_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mapper.cli import outcome

    monkeypatch.setattr(outcome, "KEPT_REJECTS", 1)
    report = tmp_path / "d.json"
    _run(tmp_path, REPO, _inputs(tmp_path, bad=3, good=5), "-q", "--diagnostics-file", report)
    doc = json.loads(report.read_text(encoding="utf-8"))
    assert [d["code"] for d in doc["diagnostics"]] == ["field.required", "run.more-rejected"]
    assert doc["diagnostics"][1]["message"].startswith("2 more rejected record(s)")


@pytest.mark.parametrize("command", ["validate", "test"])
def test_diagnostics_is_another_name_for_format(command: str) -> None:
    target = BROKEN if command == "validate" else ROOT / "mappings" / "github" / "push.cases.yaml"
    assert invoke(command, target, "--diagnostics", "json") == invoke(command, target, "--format", "json")


def test_run_diagnostics_are_the_same_with_workers(tmp_path: Path) -> None:
    source = _inputs(tmp_path, bad=4, good=4)
    docs = []
    for extra in ((), ("--workers", "2")):
        report = tmp_path / f"d{len(extra)}.json"
        code, _, _ = _run(tmp_path, REPO, source, "-q", "--diagnostics-file", report, *extra)
        assert code == 3
        docs.append(json.loads(report.read_text(encoding="utf-8")))
    assert docs[0] == docs[1] and docs[0]["errors"] == 4
