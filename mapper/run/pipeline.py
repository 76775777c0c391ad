"""Drive records through the interpreter into sinks, and account for every one of them.

`run` returns a `RunReport` whose counts prove that nothing was lost:
records in = records mapped + records rejected + records filtered.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from mapper.engine.interpreter import evaluate
from mapper.io.lookups import LookupCache
from mapper.io.sinks import MemorySink, RejectsSink, Sink
from mapper.language.plan import Plan
from mapper.records import BadRecord, InputProblem, Item, MappedObject, Record, RecordResult
from mapper.run.policy import RunOptions
from mapper.run.report import RunReport

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
            if report.should_stop(result, item, options):
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
