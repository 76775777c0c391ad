"""The small public Python API: load and compile a mapping, map one record, map many."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mapper.engine.interpreter import evaluate
from mapper.engine.plans import compile_path as compile_path
from mapper.engine.plans import compile_text as compile_text
from mapper.engine.plans import load as load
from mapper.language.plan import Plan
from mapper.records import Record, RecordResult
from mapper.run.pipeline import map_records


def apply(plan: Plan, record: Any, *, source: str = "<python>", index: int = 0) -> RecordResult:
    """Map one record: its validated objects, or diagnostics saying why not."""
    return evaluate(plan, Record(source, index, record))


def apply_all(
    plan: Plan, records: Iterable[Any], *, source: str = "<python>"
) -> list[RecordResult]:
    """Map many records, one result each, in order (lookup tables are found next to `source`)."""
    return map_records(plan, records, source=source)
