"""The small public Python API: load and compile a mapping, map one record, map many."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mapper.engine.interpreter import Record, RecordResult, evaluate
from mapper.errors import Diagnostic, SpecError
from mapper.language.compiler import compile_mapping
from mapper.language.loader import load_mapping, load_mapping_text
from mapper.language.plan import Plan
from mapper.run.pipeline import map_records


def compile_path(path: str | Path) -> tuple[Plan | None, list[Diagnostic]]:
    """Load and compile a mapping file; returns the plan (None on errors) and all diagnostics."""
    loaded, diags = load_mapping(path)
    if loaded is None:
        return None, diags
    plan, more = compile_mapping(loaded)
    return plan, diags + more


def compile_text(
    text: str, path: str = "<mapping>", *, base: Path | None = None
) -> tuple[Plan | None, list[Diagnostic]]:
    """Load and compile mapping YAML given as text (includes resolve against `base`)."""
    loaded, diags = load_mapping_text(text, path, base=base)
    if loaded is None:
        return None, diags
    plan, more = compile_mapping(loaded)
    return plan, diags + more


def load(path: str | Path) -> Plan:
    """Load and compile a mapping file.

    Raises:
        SpecError: carrying every diagnostic, when the mapping has errors.
    """
    plan, diags = compile_path(path)
    if plan is None:
        raise SpecError([d for d in diags if d.is_error])
    return plan


def apply(plan: Plan, record: Any, *, source: str = "<python>", index: int = 0) -> RecordResult:
    """Map one record: its validated objects, or diagnostics saying why not."""
    return evaluate(plan, Record(source, index, record))


def apply_all(
    plan: Plan, records: Iterable[Any], *, source: str = "<python>"
) -> list[RecordResult]:
    """Map many records, one result each, in order (lookup tables are found next to `source`)."""
    return map_records(plan, records, source=source)
