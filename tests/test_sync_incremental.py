"""mapper sync: `--incremental` hands the cursor to the mapping as `param('since')`."""

from __future__ import annotations

from pathlib import Path

import pytest
from sync_support import MAPPING, doc, sync

from mapper.sync.stage import Mode

WHERE = "where: kind != 'space'"


def write_since_mapping(folder: Path, param_type: str, condition: str) -> None:
    """The test mapping with a `since` parameter and a document rule filtering on it."""
    text = MAPPING.replace(
        "objects:\n", f"params:\n  since: {{type: {param_type}, default: {default(param_type)}}}\n"
        "objects:\n", 1,
    ).replace(WHERE, f'where: "kind != \'space\' && {condition}"')  # fmt: skip
    assert condition in text
    (folder / "m.yaml").write_text(text)


def default(param_type: str) -> str:
    return "0" if param_type == "integer" else '""'


CASES = [  # the parameter's type, the rule's condition, what a first run gets
    ("integer", "to_epoch_ms(ts) >= param('since')", "0"),
    ("string", "to_rfc3339(ts) >= param('since')", ""),
]


@pytest.mark.parametrize(("param_type", "condition", "first_since"), CASES)
def test_an_incremental_run_filters_records_older_than_the_cursor(
    tmp_path: Path, param_type: str, condition: str, first_since: str
) -> None:
    write_since_mapping(tmp_path, param_type, condition)
    old, new = [doc("a", day=3), doc("b", day=5)], [doc("c", day=6), doc("b", "edited", day=7)]
    first = sync(tmp_path, old, Mode.mirror, incremental=True)  # a first run: since is empty
    assert first.result.sync.since == first_since
    assert [o["id"] for o in first.sets] == ["a", "b"]
    out = sync(tmp_path, old + new, Mode.mirror, incremental=True)
    cursor = "2024-01-05T00:00:00Z"
    assert out.result.sync.since == (cursor if param_type == "string" else "1704412800000")
    assert [o["id"] for o in out.sets] == ["c", "b"]  # b's day-5 version is the cursor: kept
    run = out.result.run
    assert run.records_filtered == 1 and run.filtered_by_rule["document#1"] == 1  # the rule
    assert run.is_balanced
    assert out.deletes == [] and out.result.sync.cursor_after == "2024-01-07T00:00:00Z"


def test_a_full_run_gets_an_empty_since_and_filters_nothing(tmp_path: Path) -> None:
    write_since_mapping(tmp_path, "integer", "to_epoch_ms(ts) >= param('since')")
    sync(tmp_path, [doc("a", day=3), doc("b", day=5)])
    out = sync(tmp_path, [doc("a", day=3), doc("b", day=5)])  # not incremental: the whole source
    assert out.result.sync.since == "0" and out.result.run.records_filtered == 0
    assert out.result.sync.totals().unchanged == 2


def test_an_explicit_since_wins(tmp_path: Path) -> None:
    write_since_mapping(tmp_path, "integer", "to_epoch_ms(ts) >= param('since')")
    sync(tmp_path, [doc("a", day=3), doc("b", day=5)])
    out = sync(
        tmp_path, [doc("a", day=3), doc("b", day=5)], incremental=True,
        params={"since": "1704067200000"},  # 2024-01-01: both are newer
    )  # fmt: skip
    assert out.result.sync.since == "1704067200000" and out.result.run.records_filtered == 0


def test_a_mapping_without_since_gets_no_parameter(tmp_path: Path) -> None:
    sync(tmp_path, [doc("a", day=3)])
    out = sync(tmp_path, [doc("a", day=3), doc("b", day=1)], incremental=True)
    assert out.result.sync.since is None and [o["id"] for o in out.sets] == ["b"]
