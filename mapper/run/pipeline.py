"""Drive records through the interpreter into sinks, and account for every one of them.

`run` returns a `RunReport` whose counts prove that nothing was lost:
records in = records mapped + records rejected + records filtered.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from mapper.engine.interpreter import MappedObject, Record, RecordResult, evaluate
from mapper.errors import Diagnostic, RecordError, render
from mapper.io.inputs import BadRecord, InputProblem, Item, parse_json
from mapper.io.sinks import MemorySink, RejectsSink, Sink
from mapper.language.plan import LookupTable, Plan

MAX_EXAMPLES = 3


class ErrorPolicy(Enum):
    """What a run does with a record that has errors."""

    SKIP_RECORD = "skip"  # quarantine it and carry on
    FAIL_FAST = "fail-fast"  # stop at the first one


@dataclass
class RunReport:
    """Counts, problems and timing of one run."""

    mapping: str
    inputs: list[str] = field(default_factory=list)
    records_in: int = 0
    records_mapped: int = 0
    records_rejected: int = 0
    records_filtered: int = 0
    objects_out: int = 0
    objects_by_type: Counter[str] = field(default_factory=Counter)
    filtered_by_rule: Counter[str] = field(default_factory=Counter)
    problems: Counter[str] = field(default_factory=Counter)
    warnings: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    input_problems: list[Diagnostic] = field(default_factory=list)
    duration_s: float = 0.0
    stopped_early: str | None = None
    completed: bool = False

    @property
    def is_balanced(self) -> bool:
        """records in = mapped + rejected + filtered."""
        return (
            self.records_in == self.records_mapped + self.records_rejected + self.records_filtered
        )

    def note(self, diag: Diagnostic) -> None:
        """Count a diagnostic and keep a few rendered examples per code."""
        (self.problems if diag.is_error else self.warnings)[diag.code] += 1
        examples = self.examples.setdefault(diag.code, [])
        if len(examples) < MAX_EXAMPLES:
            examples.append(render(diag))

    def to_dict(self) -> dict[str, Any]:
        """The JSON run report."""
        return {
            "mapping": self.mapping,
            "inputs": self.inputs,
            "completed": self.completed,
            "stoppedEarly": self.stopped_early,
            "records": {
                "in": self.records_in,
                "mapped": self.records_mapped,
                "rejected": self.records_rejected,
                "filtered": self.records_filtered,
                "balanced": self.is_balanced,
            },
            "objects": {
                "out": self.objects_out,
                "byType": dict(sorted(self.objects_by_type.items())),
            },
            "filteredByRule": dict(self.filtered_by_rule),
            "problems": [
                {"code": c, "count": n, "examples": self.examples.get(c, [])}
                for c, n in self.problems.most_common()
            ],
            "warnings": [
                {"code": c, "count": n, "examples": self.examples.get(c, [])}
                for c, n in self.warnings.most_common()
            ],
            "inputProblems": [d.to_dict() for d in self.input_problems],
            "durationSeconds": round(self.duration_s, 3),
        }


class LookupCache:
    """Loads `lookups:` tables on first use, found next to (or above) the input files."""

    def __init__(self, tables: Iterable[LookupTable], overrides: Mapping[str, str] | None = None):
        self.tables = {t.name: t for t in tables}
        self.overrides = dict(overrides or {})
        self.loaded: dict[str, dict[str, Any]] = {}
        self.problems: list[Diagnostic] = []
        self.missing: set[str] = set()

    def for_source(self, source: str) -> dict[str, Mapping[str, Any]]:
        """The tables to use for records of `source`."""
        return {name: self._table(t, source) for name, t in self.tables.items()}

    def _table(self, table: LookupTable, source: str) -> Mapping[str, Any]:
        path = self.overrides.get(table.name) or _find_upwards(table.file, source)
        if path is None:
            if table.name not in self.missing:
                self.missing.add(table.name)
                self.problems.append(
                    Diagnostic(
                        "lookup.not-found",
                        f"lookup {table.name!r}: no {table.file} in the folder of "
                        f"{source} or above it; its rows read as null",
                        span=table.span,
                        hint=f"pass it with --lookup {table.name}=PATH",
                    )
                )
            return {}
        if path not in self.loaded:
            self.loaded[path] = self._load(table, path)
        return self.loaded[path]

    def _load(self, table: LookupTable, path: str) -> dict[str, Any]:
        try:
            doc = parse_json(Path(path).read_bytes())
        except (OSError, ValueError) as err:
            self.problems.append(
                Diagnostic(
                    "lookup.unreadable",
                    f"lookup {table.name!r}: cannot read {path}: {err}",
                    span=table.span,
                )
            )
            return {}
        rows = table.records.evaluate(doc) if table.records else doc
        index: dict[str, Any] = {}
        for row in rows if isinstance(rows, list) else []:
            key = table.key.evaluate(row)
            if key is not None:
                index.setdefault(str(key), row)
        return index


def _find_upwards(name: str, source: str) -> str | None:
    start = Path.cwd() if source == "-" else Path(source).resolve().parent
    for folder in (start, *start.parents):
        candidate = folder / name
        if candidate.is_file():
            return str(candidate)
    return None


@dataclass
class RunOptions:
    """How a run treats errors and where it finds lookups."""

    policy: ErrorPolicy = ErrorPolicy.SKIP_RECORD
    max_rejects: int | None = None
    lookups: Mapping[str, str] = field(default_factory=dict)
    limit: int | None = None  # stop after this many records (preview)


Progress = Callable[[int], None]


def iter_results(
    plan: Plan,
    items: Iterable[Item],
    options: RunOptions,
    report: RunReport,
    cache: LookupCache | None = None,
) -> Iterator[tuple[RecordResult | None, Item]]:
    """Evaluate every record; input problems are recorded in the report.

    Lookup problems go to the report too, unless the caller passes (and reports) its own cache.
    """
    own = cache is None
    if cache is None:
        cache = LookupCache(plan.lookups, options.lookups)
    for item in items:
        if isinstance(item, InputProblem):
            report.input_problems.append(item.diagnostic)
            continue
        if isinstance(item, BadRecord):
            yield None, item
            continue
        if plan.lookups:
            yield evaluate(plan, item, lookups=cache.for_source(item.source)), item
        else:
            yield evaluate(plan, item), item
    if own:
        report.input_problems.extend(cache.problems)


def run(
    plan: Plan,
    items: Iterable[Item],
    *,
    sink: Sink,
    rejects: RejectsSink,
    options: RunOptions | None = None,
    progress: Progress | None = None,
) -> RunReport:
    """Map every record into `sink`, quarantine rejected ones; account for all of them.

    Raises:
        RecordError: under ErrorPolicy.FAIL_FAST, at the first rejected record.
    """
    options = options or RunOptions()
    report = RunReport(plan.path)
    started = time.perf_counter()
    try:
        for result, item in iter_results(plan, items, options, report):
            account(report, result, item, sink, rejects)
            if progress:
                progress(report.records_in)
            if _should_stop(report, result, item, options):
                break
        else:
            report.completed = True
    finally:
        report.duration_s = time.perf_counter() - started
    return report


def account(
    report: RunReport, result: RecordResult | None, item: Item, sink: Sink, rejects: RejectsSink
) -> None:
    """Count one record's outcome and send it to the sink or the rejects file."""
    report.records_in += 1
    if result is None:
        assert isinstance(item, BadRecord)
        report.records_rejected += 1
        report.note(item.diagnostic)
        rejects.write_reject(item.source, item.index, [item.diagnostic], None, raw=item.raw)
        return
    for diag in result.diagnostics:
        report.note(diag)
    outcome = result.outcome
    if outcome == "rejected":
        report.records_rejected += 1
        rec = result.record
        rejects.write_reject(rec.source, rec.index, result.diagnostics, rec.data)
    elif outcome == "filtered":
        report.records_filtered += 1
    else:
        report.records_mapped += 1
        sink.write(result.objects)
        report.objects_out += len(result.objects)
        for obj in result.objects:
            report.objects_by_type[obj.type_name] += 1
    if result.filtered_by:
        report.filtered_by_rule.update(result.filtered_by)


def max_errors_reason(limit: int | None) -> str:
    """Why a run stopped early under `--max-errors`."""
    return f"more than {limit} records rejected (--max-errors)"


def _should_stop(
    report: RunReport, result: RecordResult | None, item: Item, options: RunOptions
) -> bool:
    if result is not None and not result.diagnostics and options.limit is None:
        return False  # the usual case: a clean record
    rejected = result is None or result.outcome == "rejected"
    if rejected and options.policy is ErrorPolicy.FAIL_FAST:
        report.stopped_early = "fail-fast: a record was rejected"
        diags = (
            result.errors if result else [item.diagnostic] if isinstance(item, BadRecord) else ()
        )
        raise RecordError(diags or [Diagnostic("record.rejected", "a record was rejected")])
    if options.max_rejects is not None and report.records_rejected > options.max_rejects:
        report.stopped_early = max_errors_reason(options.max_rejects)
        return True
    if options.limit is not None and report.records_in >= options.limit:
        report.stopped_early = f"stopped after {options.limit} records (limit)"
        return True
    return False


def map_records(
    plan: Plan, records: Iterable[Any], *, source: str = "<python>"
) -> list[RecordResult]:
    """Apply a plan to in-memory records (the Python API); one result per record."""
    out: list[RecordResult] = []
    report = RunReport(plan.path)
    items = (r if isinstance(r, Record) else Record(source, i, r) for i, r in enumerate(records))
    for result, _ in iter_results(plan, items, RunOptions(), report):
        assert result is not None
        out.append(result)
    return out


def preview(
    plan: Plan, items: Iterable[Item], *, count: int
) -> tuple[list[MappedObject], list[RecordResult]]:
    """The first `count` objects and every result read to produce them."""
    sink = MemorySink()
    results: list[RecordResult] = []
    report = RunReport(plan.path)
    for result, _ in iter_results(plan, items, RunOptions(), report):
        if result is None:
            continue
        results.append(result)
        if result.outcome == "mapped":
            sink.write(result.objects)
        if sink.count >= count:
            break
    return sink.objects[:count], results
