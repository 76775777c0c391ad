"""A records selector (`--records`, or the mapping's `records:`) on JSONL: each line is a
document whose records the selector picks, on every path that reads one (`run` with 1 and 2
workers, standard input, a file without a JSONL suffix, `sync`, `preview`, `explain`, `eval`).
Records are numbered through the file; a line that is not JSON, or where the selector finds
nothing, is one rejected record. A warning never tells to give a selector that was given."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import invoke, wide_console  # noqa: F401 (the fixture applies to every test)

REPOS = Path(__file__).resolve().parent / "cli_data" / "repos.yaml"


def repo(i: int, created: str = "2024-05-01T12:00:00Z") -> dict[str, object]:
    return {"id": f"r{i}", "name": f"n{i}", "url": f"https://example.test/r{i}",
            "created": created, "updated": "2024-05-02T12:00:00Z"}


LINES = [
    json.dumps({"items": [repo(0), repo(1)]}),   # records 0, 1
    "",                                           # blank: skipped
    "{not json",                                  # record 2: record.malformed-json
    json.dumps({"total": 0}),                     # record 3: input.no-records
    json.dumps({"items": []}),                    # no record
    json.dumps({"items": repo(2)}),               # record 4: items[] of an object is null
    json.dumps({"items": [repo(3), repo(4, created="bad")]}),  # records 5, 6 (6 rejected)
]
MAPPED = ["r0", "r1", "r3"]
REJECTED = [(2, "record.malformed-json"), (3, "input.no-records"), (4, "input.no-records"),
            (6, "field.required")]
RECORDS_IN = 7


def _inputs(tmp: Path, how: str) -> tuple[list[object], str | None]:
    text = "\n".join(LINES) + "\n"
    if how == "stdin":
        return ["-"], text
    path = tmp / ("in.txt" if how == "txt" else "in.jsonl")
    path.write_text(text, encoding="utf-8")
    return [path], None


def _selector(tmp: Path, where: str) -> tuple[Path, list[str]]:
    """The mapping and options that give the selector `items[]` (`--records` or `records:`)."""
    if where == "option":
        return REPOS, ["--records", "items[]"]
    mapping = tmp / "m.yaml"
    mapping.write_text(
        REPOS.read_text().replace("objects:", "records: items[]\nobjects:", 1), encoding="utf-8"
    )
    return mapping, []


RUNS = [  # (input, where the selector is given, workers)
    ("jsonl", "option", 1), ("jsonl", "option", 2), ("jsonl", "mapping", 1),
    ("jsonl", "mapping", 2), ("stdin", "option", 1), ("stdin", "option", 2),
    ("txt", "option", 1), ("txt", "option", 2),
]


@pytest.mark.parametrize(("how", "where", "workers"), RUNS)
def test_run_selects_the_records_of_every_jsonl_line(
    tmp_path: Path, how: str, where: str, workers: int
) -> None:
    inputs, stdin = _inputs(tmp_path, how)
    mapping, options = _selector(tmp_path, where)
    out = tmp_path / "o.jsonl"
    code, _, err = invoke("run", mapping, *inputs, *options, "-o", out, "--workers", workers,
                          input=stdin)
    assert code == 3, err
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == MAPPED
    rejects = [json.loads(line) for line in (tmp_path / "o.rejects.jsonl").read_text().splitlines()]
    assert [(r["index"], r["diagnostics"][0]["code"]) for r in rejects] == REJECTED
    assert all(r["diagnostics"][0]["record"]["index"] == r["index"] for r in rejects)
    report = json.loads((tmp_path / "o.report.json").read_text())
    assert report["records"]["in"] == RECORDS_IN and report["balanced"]
    assert "--records" not in err.replace("check `records:` in the mapping or --records", "")


@pytest.mark.parametrize("workers", [1, 2])
def test_sync_selects_the_records_of_every_jsonl_line(tmp_path: Path, workers: int) -> None:
    inputs, _ = _inputs(tmp_path, "jsonl")
    out = tmp_path / "out"
    code, _, err = invoke("sync", REPOS, *inputs, "--records", "items[]", "--state",
                          tmp_path / "s.db", "-o", out, "--connection-id", "c",
                          "--workers", workers)
    assert code == 3, err
    bodies = [json.loads(line) for line in (out / "setObjects.jsonl").read_text().splitlines()]
    assert sorted(o["id"] for body in bodies for o in body["objects"]) == MAPPED
    rejects = [json.loads(line) for line in (out / "rejects.jsonl").read_text().splitlines()]
    assert [(r["index"], r["diagnostics"][0]["code"]) for r in rejects] == REJECTED


def test_preview_explain_and_eval_read_jsonl_lines_through_the_selector(tmp_path: Path) -> None:
    inputs, _ = _inputs(tmp_path, "jsonl")
    selector = ["--records", "items[]"]
    _, out, err = invoke("preview", REPOS, *inputs, *selector, "--json", "-n", "10")
    assert [json.loads(line)["id"] for line in out.splitlines()] == MAPPED
    assert f"from {RECORDS_IN} record(s) read" in err
    _, out, _ = invoke("explain", REPOS, *inputs, *selector, "--record", "5", "--json")
    assert json.loads(out)["record"]["index"] == 5 and json.loads(out)["outcome"] == "mapped"
    code, out, _ = invoke("eval", "id", *inputs, *selector, "--record", "5")
    assert (code, json.loads(out)) == (0, "r3")


WRAPPED = [  # (the input's name, its text): records that are themselves wrappers of `items`
    ("pages.jsonl", json.dumps({"pages": [{"items": [repo(0)]}, {"items": [repo(1)]}]}) + "\n"),
    ("pages.json", json.dumps({"pages": [{"items": [repo(0)]}, {"items": [repo(1)]}]})),
]


@pytest.mark.parametrize(("name", "text"), WRAPPED)
def test_the_wrapper_warning_never_tells_to_give_the_selector_given(
    tmp_path: Path, name: str, text: str
) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    code, _, err = invoke("run", REPOS, tmp_path / name, "--records", "pages[]",
                          "-o", tmp_path / "o.jsonl")
    assert code == 3
    assert "read them with --records" not in err
    assert "'pages[].items[]'" in err
    code, _, err = invoke("run", REPOS, tmp_path / name, "--records", "pages[].items[]",
                          "-o", tmp_path / "o.jsonl")
    assert code == 0, err


@pytest.mark.parametrize("workers", [1, 2])
def test_a_selector_that_finds_nothing_in_bare_records_says_how_to_take_each_line(
    tmp_path: Path, workers: int
) -> None:
    """A mapping's `records: items[]` over a JSONL of bare records rejects every line; the
    warning said they "could not be read as JSON" (they could). `--records @` takes them."""
    mapping, _ = _selector(tmp_path, "mapping")
    src = tmp_path / "bare.jsonl"
    src.write_text("".join(json.dumps(repo(i)) + "\n" for i in range(3)), encoding="utf-8")
    out = tmp_path / "o.jsonl"
    code, _, err = invoke("run", mapping, src, "-o", out, "--workers", workers)
    assert code == 3, err
    assert "could not be read as JSON" not in err
    assert "the records selector found no records in them" in err
    assert "if each line is one record, give --records @" in err
    code, _, err = invoke("run", mapping, src, "-o", out, "--records", "@", "--workers", workers)
    assert code == 0, err
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["r0", "r1", "r2"]
