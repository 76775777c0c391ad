"""mapper sync with a mapping-defined `cursor:`: the highest value per record becomes the cursor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sync_support import MAPPING, doc, sync

import mapper
from mapper.sync.inspect import summary
from mapper.sync.runner import SyncRequest, sync_files
from mapper.sync.stage import Mode
from mapper.sync.state import StateStore

WHERE = "where: kind != 'space'"
ONE_RULE = """\
version: 1
name: cursor-test
cursor: CURSOR
objects:
  - type: atlassian:document
    fields:
      id: id
      displayName: title
      url: "concat('https://example.test/d/', id)"
      createdAt: to_rfc3339(ts)
      lastUpdatedAt: to_rfc3339(ts)
      permissions: "permissions([principal('ATLASSIAN_WORKSPACE')])"
      atlassian:document:
        type: {const: {category: DOCUMENT, mimeType: text/plain}}
        content: {const: {mimeType: text/plain, text: x}}
"""
"""One rule without `where`: records take the run's shortcut (`write_payloads`)."""


def with_cursor(cursor: str) -> str:
    """The shared test mapping (rules with `where`: the general path) with `cursor:`."""
    return MAPPING.replace("name: sync-test\n", f"name: sync-test\ncursor: {cursor!r}\n", 1)


MAPPINGS = {
    "general path": with_cursor,
    "shortcut": lambda cursor: ONE_RULE.replace("CURSOR", repr(cursor)),
}


def write(folder: Path, text: str) -> None:
    (folder / "m.yaml").write_text(text)


def records(values: list[Any]) -> list[dict[str, Any]]:
    """One document per value, as `upd` (None: the record has no `upd`)."""
    found = []
    for i, value in enumerate(values):
        extra = {} if value is None else {"upd": value}
        found.append(doc(f"d{i}", day=i + 1, **extra))
    return found


MAXIMA = [  # title, cursor expression, the records' values, cursor after, kind, findings
    ("numbers compare numerically", "upd", [5, 12, 9], "12", "number", []),
    ("floats and integers are one kind", "upd", [1.5, 1, 1.25], "1.5", "number", []),
    ("timestamps compare as instants in UTC", "upd",
     ["2024-01-02T10:00:00+02:00", "2024-01-02T09:00:00Z", "2024-01-02T08:30:00.5Z"],
     "2024-01-02T09:00:00Z", "time", []),
    ("fractions of a second count", "upd",
     ["2024-01-02T09:00:00Z", "2024-01-02T09:00:00.250+00:00"],
     "2024-01-02T09:00:00.25Z", "time", []),
    ("other strings compare as text", "upd", ["b", "a", "c10", "c9"], "c9", "string", []),
    ("a timestamp without an offset is plain text", "upd",
     ["2024-01-02T10:00:00", "2024-01-03T00:00:00"], "2024-01-03T00:00:00", "string", []),
    ("to_number() makes Slack-like ts numbers", "to_number(upd)",
     ["999.5", "1700000000.000100", "1000"], "1700000000.0001", "number", []),
    ("records without a value are skipped", "upd", [None, 3, None], "3", "number", []),
    ("a value of two kinds: the cursor stays", "upd", [5, "x", 7], "", None,
     ["sync.cursor-mixed"]),
    ("a boolean is no cursor value", "upd", [True, 3], "3", "number", ["sync.cursor-invalid"]),
]  # fmt: skip


@pytest.mark.parametrize("path", MAPPINGS)
@pytest.mark.parametrize(
    ("expr", "values", "after", "kind", "findings"),
    [case[1:] for case in MAXIMA], ids=[case[0] for case in MAXIMA],
)  # fmt: skip
def test_a_sync_run_stores_the_highest_cursor_value(
    tmp_path: Path, path: str, expr: str, values: list[Any], after: str, kind: str | None,
    findings: list[str],
) -> None:  # fmt: skip
    write(tmp_path, MAPPINGS[path](expr))
    out = sync(tmp_path, records(values))
    report = out.result.sync
    assert report.cursor_before == "" and report.cursor_after == after
    assert [c for c in report.findings if c.startswith("sync.cursor")] == findings
    meta = _meta(tmp_path)
    assert meta.get("cursor", "") == after and meta.get("cursorKind") == kind
    assert meta.get("cursorOrigin") == (expr if kind else None)
    assert out.result.run.records_mapped == len(values)


def test_a_finding_names_the_record(tmp_path: Path) -> None:
    write(tmp_path, with_cursor("upd"))
    report = sync(tmp_path, records([5, "x"])).result.sync
    assert "in.jsonl #1" in report.examples["sync.cursor-mixed"][0]


INCREMENTAL = [  # parameter type, the rule's condition, values of run 1, since of run 2
    ("integer", "upd > param('since')", [5, 12], "12"),
    ("number", "upd > param('since')", [0.5, 2.25], "2.25"),
    ("string", "to_rfc3339(upd) > param('since')",
     ["2024-03-01T12:00:00+01:00", "2024-02-01T00:00:00Z"], "2024-03-01T11:00:00Z"),
]  # fmt: skip


@pytest.mark.parametrize(("param_type", "condition", "values", "since"), INCREMENTAL)
def test_an_incremental_run_gets_the_cursor_as_since(
    tmp_path: Path, param_type: str, condition: str, values: list[Any], since: str
) -> None:
    default = '""' if param_type == "string" else "0"
    text = with_cursor("upd").replace(
        "objects:\n", f"params:\n  since: {{type: {param_type}, default: {default}}}\nobjects:\n"
    ).replace(WHERE, f'where: "kind != \'space\' && {condition}"')  # fmt: skip
    write(tmp_path, text)
    first = sync(tmp_path, records(values), incremental=True)
    assert first.result.sync.cursor_after == since
    newer = {"id": "n", "title": "t", "ts": "2024-01-09T00:00:00Z", "upd": _later(values)}
    out = sync(tmp_path, [*records(values), newer], incremental=True)
    assert out.result.sync.since == since
    assert [o["id"] for o in out.sets] == ["n"]
    assert out.result.run.records_filtered == len(values)  # the older ones, by the rule
    assert out.result.sync.cursor_after == _meta(tmp_path)["cursor"] != since


def _later(values: list[Any]) -> Any:
    if isinstance(values[0], str):
        return "2024-04-01T00:00:00Z"
    return max(values) + 1


def test_a_run_with_a_rejected_record_does_not_advance_the_cursor(tmp_path: Path) -> None:
    write(tmp_path, with_cursor("upd"))
    sync(tmp_path, records([5]))
    bad = {"title": "t", "ts": "2024-01-09T00:00:00Z", "upd": 99}  # no id: rejected
    out = sync(tmp_path, [*records([5, 7]), bad])
    assert out.result.run.records_rejected == 1
    assert out.result.sync.cursor_before == out.result.sync.cursor_after == "5"
    assert _meta(tmp_path)["cursor"] == "5"


def test_a_lower_value_does_not_move_the_cursor_back(tmp_path: Path) -> None:
    write(tmp_path, with_cursor("upd"))
    sync(tmp_path, records([5, 12]))
    out = sync(tmp_path, records([3]), Mode.upsert)
    assert out.result.sync.cursor_after == "12"


def test_a_new_cursor_expression_replaces_a_cursor_from_last_updated_at(tmp_path: Path) -> None:
    write(tmp_path, MAPPING)
    first = sync(tmp_path, records([1, 2]))
    assert first.result.sync.cursor_after == "2024-01-02T00:00:00Z"
    assert summary_of(tmp_path)["cursorOrigin"].startswith("lastUpdatedAt")
    write(tmp_path, with_cursor("upd"))
    out = sync(tmp_path, records([1, 2]))  # another origin: the old cursor is not compared
    assert out.result.sync.cursor_after == "2"
    assert summary_of(tmp_path)["cursorOrigin"] == "cursor: upd (number)"
    write(tmp_path, MAPPING)
    back = sync(tmp_path, records([1]))
    assert back.result.sync.cursor_after == "2024-01-01T00:00:00Z"
    assert summary_of(tmp_path)["cursorOrigin"].startswith("lastUpdatedAt")


def test_an_incremental_run_after_a_new_cursor_expression_reads_everything(
    tmp_path: Path,
) -> None:
    since = "objects:\n"
    declared = "params:\n  since: {type: integer, default: 0}\nobjects:\n"
    where = "where: \"kind != 'space' && (!upd || upd >= param('since'))\""
    write(tmp_path, MAPPING.replace(since, declared).replace(WHERE, where))
    sync(tmp_path, records([1, 2]))  # the cursor: a lastUpdatedAt, 2024-01-02
    write(tmp_path, with_cursor("upd").replace(since, declared).replace(WHERE, where))
    out = sync(tmp_path, records([1, 2]), incremental=True)
    assert out.result.sync.since == "0"  # not the epoch ms of 2024-01-02, which upd is not
    assert out.result.run.records_filtered == 0
    assert out.result.sync.findings["sync.cursor-origin-changed"] == 1
    again = sync(tmp_path, records([1, 2]), incremental=True)
    assert again.result.sync.since == "2" and again.result.run.records_filtered == 1
    assert "sync.cursor-origin-changed" not in again.result.sync.findings


def test_without_cursor_the_highest_last_updated_at_is_kept(tmp_path: Path) -> None:
    write(tmp_path, MAPPING)
    out = sync(tmp_path, records([9, 1, 2]))  # `upd` means nothing without `cursor:`
    assert out.result.sync.cursor_after == "2024-01-03T00:00:00Z"
    meta = _meta(tmp_path)
    assert "cursorKind" not in meta and "cursorOrigin" not in meta


def summary_of(folder: Path) -> dict[str, Any]:
    store = StateStore.open_for_reading(folder / "s.db")
    try:
        return summary(store)
    finally:
        store.close()


def _meta(folder: Path) -> dict[str, str]:
    store = StateStore.open_for_reading(folder / "s.db")
    try:
        return dict(store.meta)
    finally:
        store.close()


def test_state_show_prints_the_cursor_and_its_origin(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from mapper.cli import app

    write(tmp_path, with_cursor("upd"))
    sync(tmp_path, records([4, 2]))
    result = CliRunner().invoke(app, ["state", "show", "--state", str(tmp_path / "s.db")])
    assert result.exit_code == 0, result.output
    assert "cursor: 4\n" in result.stdout and "cursorOrigin: cursor: upd (number)" in result.stdout
    cursor = CliRunner().invoke(app, ["state", "cursor", "--state", str(tmp_path / "s.db")])
    assert cursor.stdout.strip() == "4"


def test_the_bundled_jira_search_cursor_is_the_latest_update_in_utc(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    plan = mapper.load(root / "mappings/jira/search.yaml")
    pages = [str(root / "samples/jira" / f"search-v3-page-{n}.json") for n in (1, 2)]
    request = SyncRequest(state=tmp_path / "s.db", output=tmp_path / "out", connection_id="C1")
    report = sync_files(plan, pages, request).sync
    # the raw values carry +0200 / -0700 offsets (not RFC 3339 as written: they would be plain
    # text); to_rfc3339 makes them times, stored in UTC
    assert report.cursor_after == "2024-05-02T08:31:44.902Z"
    assert not [c for c in report.findings if c.startswith("sync.cursor")]
    assert summary_of(tmp_path)["cursorOrigin"] == "cursor: to_rfc3339(fields.updated) (time)"

