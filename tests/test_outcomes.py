"""Real payloads, end to end through `mapper run`/`preview`/`test`: item-level outcomes and
`together`, the two-level report, rejects with item pointers, warnings when most records are
filtered or rejected, the wrapper hint, `--strict` and `--param`."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from typer.testing import CliRunner

from mapper.cli import app

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "mappings/confluence/pages-v2.yaml"
PAGES_IN = ROOT / "samples/confluence/pages-v2.json"
PUSH = ROOT / "mappings/github/push.yaml"
PUSH_IN = ROOT / "samples/github/push-webhook.json"
NOTION = ROOT / "mappings/notion/results.yaml"
NOTION_IN = ROOT / "samples/notion/search.json"


def invoke(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _two_pages(tmp_path: Path) -> Path:
    doc = json.loads(PAGES_IN.read_text())
    doc["results"] = doc["results"][:2]
    del doc["results"][1]["_links"]["webui"]  # the second page has no URL
    path = tmp_path / "pages.json"
    path.write_text(json.dumps(doc))
    return path


def test_a_page_without_url_is_rejected_alone_and_its_sibling_is_mapped(tmp_path: Path) -> None:
    pages = _two_pages(tmp_path)
    code, _, err = invoke("run", PAGES, pages, "-o", tmp_path / "o.jsonl")
    assert code == 3
    objects = read_jsonl(tmp_path / "o.jsonl")
    assert len(objects) == 1
    report = json.loads((tmp_path / "o.report.json").read_text())
    assert report["records"] == {"in": 1, "mapped": 0, "partlyMapped": 1, "rejected": 0,
                                 "filtered": 0, "balanced": True}
    assert report["items"] == {"in": 2, "objects": 1, "rejected": 1, "heldBack": 0,
                               "filtered": 0, "balanced": True}
    assert report["balanced"] is True
    (reject,) = read_jsonl(tmp_path / "o.rejects.jsonl")
    original = json.loads(pages.read_text())["results"][1]
    assert (reject["index"], reject["item"], reject["pointer"]) == (0, 1, "/results/1")
    assert reject["data"] == original  # the original item, so nothing is lost
    assert {d["code"] for d in reject["diagnostics"]} >= {"field.required"}
    assert "records: 1 in = 0 mapped + 1 partly mapped + 0 rejected + 0 filtered" in err
    assert "items: 2 in = 1 objects + 1 rejected + 0 filtered" in err


def test_together_holds_the_repository_and_other_commits_back(tmp_path: Path) -> None:
    push = json.loads(PUSH_IN.read_text())
    push["commits"][1].pop("timestamp")
    given = tmp_path / "push.json"
    given.write_text(json.dumps(push))
    mapping = tmp_path / "push.yaml"
    mapping.write_text(PUSH.read_text().replace("version: 1\n", "version: 1\ntogether: true\n", 1))
    code, _, err = invoke("run", mapping, given, "-o", tmp_path / "o.jsonl")
    assert code == 3
    assert read_jsonl(tmp_path / "o.jsonl") == []
    report = json.loads((tmp_path / "o.report.json").read_text())
    items = report["items"]
    count = 1 + len(push["commits"])
    assert items == {"in": count, "objects": 0, "rejected": count, "heldBack": count - 1,
                     "filtered": 0, "balanced": True}
    rejects = read_jsonl(tmp_path / "o.rejects.jsonl")
    assert len(rejects) == count
    assert sum(bool(r.get("heldBack")) for r in rejects) == count - 1
    assert f"({count - 1} held back)" in err


def test_workers_give_the_same_bytes_with_partly_mapped_records(tmp_path: Path) -> None:
    doc = json.loads(PAGES_IN.read_text())
    lines = []
    for i in range(400):
        rec = copy.deepcopy(doc)
        if i % 3 == 0:
            del rec["results"][i % len(rec["results"])]["_links"]["webui"]
        lines.append(json.dumps(rec))
    given = tmp_path / "pages.jsonl"
    given.write_text("\n".join(lines) + "\n")
    outs = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}.jsonl"
        code, _, _ = invoke("run", PAGES, given, "-o", out, "--workers", workers)
        assert code == 3
        report = json.loads((tmp_path / f"w{workers}.report.json").read_text())
        report.pop("durationSeconds")
        outs.append((out.read_bytes(), (tmp_path / f"w{workers}.rejects.jsonl").read_bytes(),
                     report))
    assert outs[0] == outs[1]
    assert outs[0][2]["records"]["partlyMapped"] == 134


def test_max_errors_counts_records_with_a_rejected_item(tmp_path: Path) -> None:
    pages = _two_pages(tmp_path)
    code, _, _ = invoke("run", PAGES, pages, pages, "-o", tmp_path / "o.jsonl",
                          "--max-errors", "0")
    assert code == 3
    report = json.loads((tmp_path / "o.report.json").read_text())
    assert report["records"]["in"] == 1 and report["stoppedEarly"]


def test_a_wrapper_read_as_one_record_warns_with_the_rule_and_a_records_hint(tmp_path: Path) -> None:
    code, _, err = invoke("run", NOTION, NOTION_IN, "--records", "@", "-o", tmp_path / "o.jsonl")
    assert code == 0
    assert "warning: all 1 records were filtered: rule 'page'" in err
    assert "object == 'page'" in err                       # the condition
    assert "selector '@' picks" in err and "e.g. 'results[]'" in err  # the hint: not to give
    assert "read them with --records" not in err           # the --records that was given


def test_no_wrapper_hint_for_a_list_a_rule_reads_with_each(tmp_path: Path) -> None:
    """A push webhook whose every commit is rejected (together: true holds the repository
    back too) is no wrapper: the rule reads `commits[]` with `each:` already."""
    push = ROOT / "mappings" / "github" / "push.yaml"
    mapping = tmp_path / "m.yaml"
    mapping.write_text(push.read_text().replace("\nobjects:", "\ntogether: true\nobjects:", 1))
    data = json.loads((ROOT / "samples" / "github" / "push-webhook.json").read_text())
    data["commits"][0]["timestamp"] = "2024-13-45"
    source = tmp_path / "in.json"
    source.write_text(json.dumps(data))
    code, _, err = invoke("run", mapping, source, "-o", tmp_path / "o.jsonl")
    assert code == 3 and "all 1 records were rejected" in err
    assert "looks like a wrapper" not in err
    assert "rule 'commit' rejected or held back 3 item(s)" in err  # 1 rejected, 2 held back


def test_preview_json_says_why_nothing_was_printed() -> None:
    code, out, err = invoke("preview", NOTION, NOTION_IN, "--records", "@", "--json")
    assert code == 0 and out == ""
    assert "0 object(s) from 1 record(s) read: 0 mapped + 0 rejected + 1 filtered" in err
    assert "e.g. 'results[]'" in err and "read them with --records" not in err


def test_strict_rejects_what_an_optional_failure_would_omit(tmp_path: Path) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "version: 1\n"
        "defaults:\n"
        "  url: \"'https://x.test/o'\"\n"
        "  createdAt: \"'2024-05-01T12:00:00Z'\"\n"
        "  lastUpdatedAt: \"'2024-05-01T12:00:00Z'\"\n"
        "  permissions: \"permissions([principal('EVERYONE')])\"\n"
        "objects:\n"
        "  - type: atlassian:deal\n"
        "    fields: {id: id, displayName: name, description: upper(desc)}\n")
    given = tmp_path / "in.json"
    given.write_text(json.dumps([{"id": "a", "name": "A", "desc": 5}]))
    code, _, err = invoke("run", mapping, given, "-o", tmp_path / "o.jsonl")
    assert code == 0 and "field.optional-failed" in err
    assert "description" not in read_jsonl(tmp_path / "o.jsonl")[0]
    code, _, _ = invoke("run", mapping, given, "-o", tmp_path / "s.jsonl", "--strict")
    assert code == 3
    (reject,) = read_jsonl(tmp_path / "s.rejects.jsonl")
    assert reject["diagnostics"][0]["code"] == "field.optional-failed"


def test_params_missing_unknown_and_given(tmp_path: Path) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "version: 1\n"
        "params:\n"
        "  base_url: {description: the CRM address}\n"
        "defaults:\n"
        "  createdAt: \"'2024-05-01T12:00:00Z'\"\n"
        "  lastUpdatedAt: \"'2024-05-01T12:00:00Z'\"\n"
        "  permissions: \"permissions([principal('EVERYONE')])\"\n"
        "objects:\n"
        "  - type: atlassian:deal\n"
        "    fields: {id: id, displayName: name, url: \"url_join(param('base_url'), id)\"}\n")
    given = tmp_path / "in.json"
    given.write_text(json.dumps([{"id": "a", "name": "A"}]))
    code, _, err = invoke("run", mapping, given, "-o", tmp_path / "o.jsonl")
    assert code == 2 and "--param base_url=VALUE" in err
    assert not (tmp_path / "o.jsonl").exists()
    code, _, err = invoke("run", mapping, given, "-o", tmp_path / "o.jsonl", "--param", "base_ur=x")
    assert code == 2 and "did you mean 'base_url'" in err
    code, _, _ = invoke("run", mapping, given, "-o", tmp_path / "o.jsonl",
                        "--param", "base_url=https://crm.example/")
    assert code == 0
    assert read_jsonl(tmp_path / "o.jsonl")[0]["url"] == "https://crm.example/a"
    code, out, _ = invoke("explain", mapping, given, "--param", "base_url=https://crm.example/")
    assert code == 0 and "mapped, 1 object(s)" in out
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text("jobs:\n  - name: deals\n    mapping: m.yaml\n    inputs: [in.json]\n"
                    "    params: {base_url: 'https://crm.example/'}\n")
    code, _, _ = invoke("batch", jobs, "-o", tmp_path / "out")
    assert code == 0
    assert read_jsonl(tmp_path / "out/deals.jsonl")[0]["url"] == "https://crm.example/a"


# --- mapper eval ---------------------------------------------------------------------------------

def test_eval_prints_the_value_of_one_record() -> None:
    code, out, _ = invoke("eval", "commits[].id | length(@)", PUSH_IN)
    assert code == 0 and json.loads(out) == 3


def test_eval_with_a_mapping_uses_its_records_functions_and_forgiving_or() -> None:
    code, out, _ = invoke("eval", "join('', title[].plain_text) || 'Untitled'", NOTION_IN,
                          "-m", NOTION, "--record", "0")
    assert code == 0 and json.loads(out) == "Engineering Tasks"


def test_eval_shows_a_located_error_and_exits_3() -> None:
    code, out, err = invoke("eval", "upper(repository)", PUSH_IN)
    assert code == 3 and out == ""
    assert "expr.type-error" in err and "#0 /repository" in err


def test_eval_hints_at_records_for_a_wrapper() -> None:
    code, out, err = invoke("eval", "title", NOTION_IN)
    assert code == 0 and json.loads(out) is None
    assert "--records 'results[]'" in err


def test_eval_checks_params_and_the_expression(tmp_path: Path) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "version: 1\nparams:\n  site: {default: 'https://a.example'}\n"
        "defaults:\n  createdAt: \"'2024-05-01T12:00:00Z'\"\n"
        "  lastUpdatedAt: \"'2024-05-01T12:00:00Z'\"\n"
        "  permissions: \"permissions([principal('EVERYONE')])\"\n"
        "objects:\n  - type: atlassian:deal\n    fields: {id: id, displayName: id, url: \"param('site')\"}\n")
    given = tmp_path / "in.json"
    given.write_text('[{"id": "a"}]')
    code, out, _ = invoke("eval", "param('site')", given, "-m", mapping, "--param", "site=https://b.example")
    assert code == 0 and json.loads(out) == "https://b.example"
    code, _, err = invoke("eval", "param('sit')", given, "-m", mapping)
    assert code == 1 and "expr.unknown-param" in err
    code, _, err = invoke("eval", "slugg(id)", given)
    assert code == 1 and "expr.unknown-function" in err


def test_most_items_rejected_warns_with_the_rule_and_the_first_problem(tmp_path: Path) -> None:
    doc = json.loads(PAGES_IN.read_text())
    for page in doc["results"]:
        del page["_links"]["webui"]
    given = tmp_path / "pages.json"
    given.write_text(json.dumps(doc))
    code, _, err = invoke("run", PAGES, given, "-o", tmp_path / "o.jsonl", "-q")
    assert code == 3
    assert "warning: all 1 records were rejected: rule 'page' rejected" in err
    assert "#0 /results/0: field.required" in err   # where, why, and the item follows
