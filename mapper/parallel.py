"""`mapper run --workers N`: the same mapping in N processes, output in input order.

The parent only reads and writes bytes: JSONL inputs are sent to workers as raw line chunks
(workers parse, map, validate and serialise), other inputs as parsed records. Chunks come back
in submission order (`imap`), so the output is identical to a 1-worker run.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mapper.api import load
from mapper.errors import Diagnostic, RecordRef
from mapper.interpreter import MappedObject, Record, evaluate
from mapper.pipeline import MAX_EXAMPLES, RunOptions, RunReport, account
from mapper.plan import Plan
from mapper.sinks import JsonlSink, RejectsSink, association_set_form, dumps_line
from mapper.sources import BadRecord, InputProblem, Item, parse_json

CHUNK = 2048
_PLAN: Plan | None = None
_SET_ASSOC = False


@dataclass
class ChunkResult:
    """What a worker sends back for one chunk: serialised lines and the chunk's counts."""

    output: bytes = b""
    rejects: bytes = b""
    counts: RunReport = field(default_factory=lambda: RunReport(""))


def _init(mapping: str, set_assoc: bool) -> None:
    global _PLAN, _SET_ASSOC
    if _PLAN is None:  # forked workers inherit the parent's compiled plan
        _PLAN = load(mapping)
    _SET_ASSOC = set_assoc


def _work(chunk: tuple[str, int, list[Any], bool]) -> ChunkResult:
    source, start, rows, raw = chunk
    assert _PLAN is not None
    res = ChunkResult()
    out: list[bytes] = []
    rej: list[bytes] = []
    sink, rejects = _LineSink(out), RejectsSink(None, lines=rej)
    for offset, row in enumerate(rows):
        index = start + offset
        item: Item
        if raw:
            try:
                item = Record(source, index, parse_json(row))
            except ValueError as err:
                text = row.decode("utf-8", "replace").rstrip("\r\n")
                message = f"not valid JSON: {str(err).split(':')[0]}"
                ref = RecordRef(source, index)
                item = BadRecord(
                    source, index, text, Diagnostic("record.malformed-json", message, record=ref)
                )
        else:
            item = Record(source, index, row)
        result = evaluate(_PLAN, item) if isinstance(item, Record) else None
        account(res.counts, result, item, sink, rejects)
    res.output, res.rejects = b"".join(out), b"".join(rej)
    return res


class _LineSink:
    """Collects serialised objects for the parent to write (same bytes as JsonlSink)."""

    def __init__(self, lines: list[bytes]) -> None:
        self.lines = lines

    def write(self, objects: Iterable[MappedObject]) -> None:
        for obj in objects:
            payload = association_set_form(obj.payload) if _SET_ASSOC else obj.payload
            self.lines.append(dumps_line(payload))

    def close(self) -> None:
        """Nothing to close: the parent writes the lines."""

    def abort(self) -> None:
        """Nothing to discard."""


def _chunks(items: Iterable[Item], report: RunReport) -> Iterator[tuple[str, int, list[Any], bool]]:
    source, start, rows = "", 0, list[Any]()
    for item in items:
        if isinstance(item, InputProblem):
            report.input_problems.append(item.diagnostic)
            continue
        data = item.raw.encode() if isinstance(item, BadRecord) else item.data
        raw = isinstance(item, BadRecord)
        if rows and (item.source != source or len(rows) >= CHUNK or raw):
            yield source, start, rows, False
            rows = []
        if raw:
            yield item.source, item.index, [data], True
            continue
        if not rows:
            source, start = item.source, item.index
        rows.append(data)
    if rows:
        yield source, start, rows, False


def _raw_chunks(paths: list[str]) -> Iterator[tuple[str, int, list[Any], bool]]:
    """JSONL files as raw line chunks: the parent never parses JSON."""
    for path in paths:
        index, rows = 0, []
        with Path(path).open("rb") as fh:
            for line in fh:
                if not line.strip():
                    continue
                rows.append(line)
                if len(rows) >= CHUNK:
                    yield path, index, rows, True
                    index, rows = index + len(rows), []
        if rows:
            yield path, index, rows, True


def _merge(report: RunReport, chunk: RunReport) -> None:
    report.records_in += chunk.records_in
    report.records_mapped += chunk.records_mapped
    report.records_rejected += chunk.records_rejected
    report.records_filtered += chunk.records_filtered
    report.objects_out += chunk.objects_out
    report.objects_by_type.update(chunk.objects_by_type)
    report.filtered_by_rule.update(chunk.filtered_by_rule)
    report.problems.update(chunk.problems)
    report.warnings.update(chunk.warnings)
    for code, examples in chunk.examples.items():
        kept = report.examples.setdefault(code, [])
        kept.extend(examples[: MAX_EXAMPLES - len(kept)])


def run_parallel(
    mapping: Path,
    plan: Plan,
    items: Iterable[Item],
    output: str,
    rejects_path: str | None,
    options: RunOptions,
    workers: int,
    set_assoc: bool,
    jsonl_paths: list[str] | None = None,
) -> RunReport:
    """Map with `workers` processes; same objects, same order as one worker."""
    report = RunReport(plan.path)
    started = time.perf_counter()
    chunks = _raw_chunks(jsonl_paths) if jsonl_paths else _chunks(items, report)
    global _PLAN
    can_fork = "fork" in mp.get_all_start_methods()
    ctx = mp.get_context("fork" if can_fork else "spawn")
    _PLAN = plan if can_fork else None
    sink, quarantine = JsonlSink(output), RejectsSink(rejects_path)
    with sink, quarantine, ctx.Pool(workers, _init, (str(mapping), set_assoc)) as pool:
        for res in pool.imap(_work, chunks, chunksize=1):
            sink.write_raw(res.output, res.counts.objects_out)
            quarantine.write_raw(res.rejects, res.counts.records_rejected)
            _merge(report, res.counts)
            if options.max_rejects is not None and report.records_rejected > options.max_rejects:
                report.stopped_early = f"more than {options.max_rejects} records rejected"
                break
        else:
            report.completed = True
    report.duration_s = time.perf_counter() - started
    return report
