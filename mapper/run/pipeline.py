"""Drive records through the interpreter into sinks, and account for every one of them.

`run` returns a `RunReport` whose counts prove that nothing was lost:
records in = mapped + partly mapped + rejected + filtered, and
items in = objects out + items rejected + items filtered.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import Any

from orjson import OPT_APPEND_NEWLINE as _NEWLINE
from orjson import dumps as _dumps

from mapper.engine.fallback import FALLBACK
from mapper.errors import Diagnostic, show_value
from mapper.functions.context import EvalContext
from mapper.io.inputs import wrapper_list
from mapper.io.lookups import LookupCache
from mapper.io.sinks import (
    JsonlSink,
    MemorySink,
    RejectsSink,
    Sink,
    dumps_line,
)
from mapper.language.plan import Plan
from mapper.language.reads import reads_context
from mapper.records import (
    BadRecord,
    InputProblem,
    Item,
    KnownLine,
    KnownRecord,
    MappedObject,
    Record,
    RecordResult,
)
from mapper.run.alarms import wrapper_words
from mapper.run.policy import RunOptions
from mapper.run.report import RunReport

Progress = Callable[[int], None]


def iter_results(
    plan: Plan,
    items: Iterable[Item],
    options: RunOptions,
    report: RunReport,
    cache: LookupCache | None = None,
) -> Generator[tuple[RecordResult | None, Item], None, None]:
    """Evaluate every record; input problems are recorded in the report.

    Lookup problems go to the report too, unless the caller passes (and reports) its own cache.
    """
    own = cache is None
    if options.params is not None:
        plan.functions.params = options.params
    if cache is None:
        cache = LookupCache(plan.lookups, options.lookups)
    evaluate: Evaluate | None = None
    for item in items:
        if isinstance(item, InputProblem):
            report.input_problems.append(item.diagnostic)
            continue
        if isinstance(item, BadRecord):
            yield None, item
            continue
        if evaluate is None:
            evaluate = _interpreter()
        if plan.lookups:
            lookups = cache.for_source(item.source)
            yield evaluate(plan, item, lookups=lookups, strict=options.strict), item
        else:
            yield evaluate(plan, item, strict=options.strict), item
    if own:
        report.input_problems.extend(cache.problems)


Evaluate = Callable[..., RecordResult]


def _interpreter() -> Evaluate:
    """The interpreter's `evaluate`, imported by the first record that needs it: a run whose
    records all take the compiled rules' shortcut starts without it."""
    from mapper.engine.interpreter import evaluate

    return evaluate


CursorNote = Callable[[Record], None]


def cursor_note(plan: Plan, sink: Sink) -> CursorNote | None:
    """The function that evaluates the mapping's `cursor:` on a record and hands the value to
    the sink (the sync stage's `take_cursor`), when the plan has one and the sink takes it.

    It runs after the record was mapped (the functions' context is that record's); a value the
    expression fails on is null, as an optional field's would be.
    """
    take = getattr(sink, "take_cursor", None)
    if plan.cursor is None or take is None:
        return None
    evaluate = plan.cursor.evaluate

    def note(record: Record) -> None:
        try:
            value = evaluate(record.data)
        except Exception:  # (a JMESPath type error on odd data: the record has no value)
            value = None
        take(value, record.source, record.index)

    return note


def note_result(note: CursorNote | None, result: RecordResult | None) -> None:
    """Hand a mapped or filtered record's `cursor:` value on (a rejected one has none)."""
    if note is not None and result is not None and result.outcome != "rejected":
        note(result.record)


def clean_path(
    plan: Plan, sink: Sink, note: CursorNote | None = None
) -> Callable[[Record], bool] | None:
    """The shortcut for records that map cleanly, when the plan and sink allow it.

    That is: every rule plain (no `each`, no `where`, a checked function), no lookups, a JSONL
    sink writing associations as they are and no `users:` / `groups:` rule (their lines wrap
    the payload: `io.sinks.line_payload`), or a sink with `write_payloads` (which takes one
    record's payloads in rule order and counts them itself). The function returned maps one
    record and writes its objects straight to the sink (no result objects built), returning
    True; it returns False, having written nothing, when the record needs the general path (a
    rule fell back or has warnings to locate): `evaluate` then gives exactly the objects the
    shortcut would have written. None when the plan or sink does not allow the shortcut.
    """
    rules = _clean_rules(plan)
    if rules is None:
        return None
    functions = plan.functions
    if type(sink) is not JsonlSink:
        payloads = getattr(sink, "write_payloads", None)
        if payloads is None:
            return None
        # (the `cursor:` expression is evaluated in the record's context: `cursor_note`)
        context = note is not None or len(rules) > 1 or reads_context(plan.rules[0].fields)
        return _clean_payloads(rules, functions, payloads, note, context)
    if sink.set_associations or plan.identity_kinds:
        return None  # (lines the general path writes otherwise: association sets, {"user": ...})
    write = sink.out.write
    if len(rules) == 1:
        context = reads_context(plan.rules[0].fields)
        return _clean_one(rules[0], functions, write, context)

    def clean(record: Record) -> bool:
        data = record.data
        functions.context = EvalContext(record=data, source=record.source)
        lines = []
        for checked in rules:
            done = checked(data)
            if done is FALLBACK or done[1]:
                return False
            lines.append(dumps_line(done[0]))
        for line in lines:
            write(line)
        return True

    return clean


def _clean_rules(plan: Plan) -> tuple[Callable[[Any], Any], ...] | None:
    """The rules' checked functions when every rule is plain (no `each`, no `where`, a checked
    function) and the plan has no lookups: a record then maps to one object per rule."""
    if plan.lookups or not plan.rules:
        return None
    rules = tuple(r.checked for r in plan.rules if r.each is None and r.where is None)
    if len(rules) != len(plan.rules) or any(checked is None for checked in rules):
        return None
    return rules  # type: ignore[return-value]  # (none is None: checked above)


def known_lines(plan: Plan, sink: Sink, options: RunOptions) -> KnownLine | None:
    """The sink's `known_line` (the sync stage's skip path) when this run's records go
    `clean_path`'s shortcut, which is what a `KnownRecord` is counted as; else None."""
    known: KnownLine | None = getattr(sink, "known_line", None)
    if known is None or options.limit is not None or _clean_rules(plan) is None:
        return None
    return known


def _clean_payloads(
    rules: tuple[Any, ...],
    functions: Any,
    write_payloads: Callable[[list[dict[str, Any]], bytes | None], None],
    note: CursorNote | None,
    context: bool = True,
) -> Callable[[Record], bool]:
    """`clean_path`'s function for a sink that takes one record's payloads (the sync stage),
    and the record's cursor value with `note`. `context`: as for `_clean_one` (a plan of one
    rule that cannot read the functions' context is mapped without making one per record)."""
    if len(rules) == 1 and not context:
        (checked,) = rules

        def clean_one(record: Record) -> bool:
            done = checked(record.data)
            if done is FALLBACK or done[1]:
                return False
            write_payloads([done[0]], record.line)
            if note is not None:
                note(record)
            return True

        return clean_one

    def clean(record: Record) -> bool:
        data = record.data
        functions.context = EvalContext(record=data, source=record.source)
        payloads = []
        for checked in rules:
            done = checked(data)
            if done is FALLBACK or done[1]:
                return False
            payloads.append(done[0])
        write_payloads(payloads, record.line)
        if note is not None:
            note(record)
        return True

    return clean


def _clean_one(
    checked: Callable[[Any], Any],
    functions: Any,
    write: Callable[[bytes], Any],
    context: bool = True,
) -> Callable[[Record], bool]:
    """`clean_path`'s function for a plan of one rule: the same, with nothing to collect.
    `context`: the rule may read the functions' context (`reads_context`); when it cannot, the
    context is not made for each record (the general path makes its own)."""

    def clean(record: Record) -> bool:
        data = record.data
        if context:
            functions.context = EvalContext(data, record.source)
        done = checked(data)
        if done is FALLBACK or done[1]:
            return False
        try:
            write(_dumps(done[0], option=_NEWLINE))
        except TypeError:  # e.g. an integer beyond 64 bits: the general path writes it
            return False
        return True

    return clean


def skip_clean(
    plan: Plan,
    items: Iterable[Item],
    report: RunReport,
    sink: Sink,
    progress: Progress | None = None,
    note: CursorNote | None = None,
) -> Iterable[Item]:
    """The items that need the general path; those mapped by `clean_path`'s shortcut (when the
    plan and sink allow it) are written and counted, as `account` counts a clean record, and
    so are `KnownRecord`s (their objects are the sink's already)."""
    clean = clean_path(plan, sink, note)
    if clean is None:
        return items
    types = [rule.type_name for rule in plan.rules]
    return _skip_clean(items, clean, types, report, sink, progress)


def _skip_clean(
    items: Iterable[Item],
    clean: Callable[[Record], bool],
    types: list[str],
    report: RunReport,
    sink: Sink,
    progress: Progress | None,
) -> Iterator[Item]:
    done = 0  # clean records not counted yet: counted in one go before any other item
    try:
        for item in items:
            kind = type(item)
            if (kind is Record and clean(item)) or kind is KnownRecord:  # type: ignore[arg-type]
                done += 1
                if progress:
                    progress(report.records_in + done)
                continue
            _count_clean(report, sink, types, done)
            done = 0
            yield item
    finally:
        _count_clean(report, sink, types, done)


def _count_clean(report: RunReport, sink: Sink, types: list[str], records: int) -> None:
    """Count `records` clean records, as `account` counts each: one mapped object per rule
    (a `write_payloads` sink counts its own objects)."""
    if not records:
        return
    objects = records * len(types)
    report.records_in += records
    report.records_mapped += records
    report.items_in += objects  # one candidate per rule, each mapped
    report.objects_out += objects
    if isinstance(sink, JsonlSink):
        sink.count += objects
    by_type = report.objects_by_type
    for type_name in types:
        by_type[type_name] += records


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
    note = cursor_note(plan, sink)
    try:
        with _results(plan, items, options, report, sink, note, progress) as results:
            for result, item in results:
                account(report, result, item, sink, rejects)
                note_result(note, result)
                if progress:
                    progress(report.records_in)
                if report.should_stop(result, item, options):
                    break
            else:
                report.completed = True
    finally:
        report.duration_s = time.perf_counter() - started
    return report


@contextlib.contextmanager
def _results(
    plan: Plan,
    items: Iterable[Item],
    options: RunOptions,
    report: RunReport,
    sink: Sink,
    note: CursorNote | None,
    progress: Progress | None = None,
    lookups: LookupCache | None = None,
) -> Iterator[Generator[tuple[RecordResult | None, Item], None, None]]:
    """The results of the records the general path maps (clean ones take `skip_clean`'s
    shortcut, unless a limit counts record by record); the records are closed however the
    loop over them ends, so a run that stops early (a limit, a failure, an interrupt) leaves
    no input file open for the collector to find."""
    rest = items if options.limit is not None else skip_clean(
        plan, items, report, sink, progress, note
    )
    results = iter_results(plan, rest, options, report, lookups)
    try:
        yield results
    finally:
        results.close()
        close = getattr(items, "close", None)
        if close is not None:
            close()


def account(
    report: RunReport, result: RecordResult | None, item: Item, sink: Sink, rejects: RejectsSink
) -> None:
    """Count one record's outcome, send its objects to the sink and its rejected candidates
    (one line each) to the rejects file."""
    report.records_in += 1
    if result is None:
        assert isinstance(item, BadRecord)
        report.records_rejected += 1
        report.items_in += 1
        report.items_rejected += 1
        report.note(item.diagnostic)
        rejects.write_reject(item.source, item.index, [item.diagnostic], None, raw=item.raw)
        return
    for diag in result.diagnostics:
        report.note(diag)
    report.items_in += result.items_in
    report.items_filtered += result.filtered
    outcome = result.outcome
    if result.rejected:
        report.items_rejected += len(result.rejected)
        report.items_held_back += result.held_back
        rejects.write_result(result)
    elif outcome == "rejected":  # errors without a candidate (not made by `evaluate`)
        report.items_in += 1
        report.items_rejected += 1
        rec = result.record
        rejects.write_reject(rec.source, rec.index, result.errors, rec.data)
    if outcome == "rejected":
        report.records_rejected += 1
    elif outcome == "filtered":
        report.records_filtered += 1
    else:
        report.records_partial += outcome == "partial"
        report.records_mapped += outcome == "mapped"
        sink.write(result.objects)
        report.objects_out += len(result.objects)
        for obj in result.objects:
            report.objects_by_type[obj.type_name] += 1
    if result.filtered_by:
        report.filtered_by_rule.update(result.filtered_by)
        _keep_filtered(report, result)
    if result.rejected:
        _keep_rejected(report, result)
    if outcome in ("rejected", "filtered") and report.wrapper is None:
        report.wrapper = wrapper_list(result.record.data)


def _keep_filtered(report: RunReport, result: RecordResult) -> None:
    example = result.filtered_example
    if example is not None and example[0] not in report.first_filtered:
        rule, pointer, data = example
        rec = result.record
        report.first_filtered[rule] = (
            f"{rec.source} #{rec.index}{' ' + pointer if pointer else ''}: {show_value(data, 160)}"
        )


def _keep_rejected(report: RunReport, result: RecordResult) -> None:
    rec = result.record
    for rejected in result.rejected:
        report.rejected_by_rule[rejected.rule] += 1
        if rejected.rule in report.first_rejected or not rejected.diagnostics:
            continue
        first = rejected.diagnostics[0]
        where = f"{rec.source} #{rec.index}{' ' + rejected.pointer if rejected.pointer else ''}"
        report.first_rejected[rejected.rule] = (
            f"{where}: {first.code}: {first.message}; item: {show_value(rejected.data, 160)}"
        )


def wrapper_hint(data: Any) -> str | None:
    """The hint for a record that looks like a wrapper (`wrapper_list`), or None."""
    found = wrapper_list(data)
    return None if found is None else wrapper_words(*found)


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
    plan: Plan, items: Iterable[Item], *, count: int, options: RunOptions | None = None
) -> tuple[list[MappedObject], list[RecordResult], RunReport]:
    """The first `count` objects, every result read to produce them, and their report."""
    sink = MemorySink()
    results: list[RecordResult] = []
    report = RunReport(plan.path)
    rejects = RejectsSink(None)
    for result, item in iter_results(plan, items, options or RunOptions(), report):
        account(report, result, item, sink, rejects)
        if result is not None:
            results.append(result)
        if sink.count >= count:
            break
    return sink.objects[:count], results, report


def counts_line(report: RunReport) -> str:
    """mapped/partly mapped/rejected/filtered counts of the records read, in one line."""
    partial = f" + {report.records_partial} partly mapped" if report.records_partial else ""
    return (
        f"{report.records_in} record(s) read: {report.records_mapped} mapped{partial} + "
        f"{report.records_rejected} rejected + {report.records_filtered} filtered"
    )


def map_items(
    plan: Plan,
    items: Iterable[Item],
    options: RunOptions,
    lookups: LookupCache,
    counts: RunReport,
    sink: Sink,
) -> tuple[bytes, list[Diagnostic]]:
    """Map a part's `items` into `sink`, counted in `counts` (the one per-part mapping of
    `--workers` and `--engine dask`): the part's reject lines and the lookup problems it met.

    Clean records take the pipeline's shortcut (`skip_clean`) when the plan and sink allow it.
    """
    rejected: list[bytes] = []
    rejects = RejectsSink(None, lines=rejected)
    seen = len(lookups.problems)
    note = cursor_note(plan, sink)
    with _results(plan, items, options, counts, sink, note, lookups=lookups) as results:
        for result, item in results:
            account(counts, result, item, sink, rejects)
            note_result(note, result)
    return b"".join(rejected), lookups.problems[seen:]
