"""`mapper run --workers N`: the same mapping in N processes, output in input order.

The parent only reads and writes bytes: JSONL inputs are sent to workers as raw line chunks
(workers parse, map, validate and serialise), other inputs as parsed records. Chunks come back
in submission order (`imap`), so the output is identical to a 1-worker run.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mapper.api import load
from mapper.errors import Diagnostic, render
from mapper.interpreter import Record, evaluate
from mapper.pipeline import MAX_EXAMPLES, RunOptions, RunReport
from mapper.plan import Plan
from mapper.sinks import JsonlSink, RejectsSink, association_set_form, dumps
from mapper.sources import BadRecord, InputProblem, Item, parse_json

CHUNK = 2048
_PLAN: Plan | None = None
_SET_ASSOC = False


@dataclass
class ChunkResult:
    """What a worker sends back for one chunk."""

    output: bytes = b""
    rejects: bytes = b""
    objects: int = 0
    mapped: int = 0
    rejected: int = 0
    filtered: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    by_rule: Counter[str] = field(default_factory=Counter)
    problems: Counter[str] = field(default_factory=Counter)
    warnings: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)


def _init(mapping: str, set_assoc: bool) -> None:
    global _PLAN, _SET_ASSOC
    if _PLAN is None:  # forked workers inherit the parent's compiled plan
        _PLAN = load(mapping)
    _SET_ASSOC = set_assoc


def _note(res: ChunkResult, diags: Iterable[Diagnostic]) -> None:
    for d in diags:
        (res.problems if d.is_error else res.warnings)[d.code] += 1
        examples = res.examples.setdefault(d.code, [])
        if len(examples) < MAX_EXAMPLES:
            examples.append(render(d))


def _work(chunk: tuple[str, int, list[Any], bool]) -> ChunkResult:
    source, start, rows, raw = chunk
    assert _PLAN is not None
    res = ChunkResult()
    out: list[bytes] = []
    rej: list[bytes] = []
    for offset, row in enumerate(rows):
        index = start + offset
        if raw:
            try:
                row = parse_json(row)
            except ValueError as err:
                diag = Diagnostic(
                    "record.malformed-json", f"not valid JSON: {str(err).split(':')[0]}"
                )
                _note(res, [diag])
                res.rejected += 1
                text = row.decode("utf-8", "replace").rstrip("\r\n")
                rej.append(
                    dumps(
                        {
                            "source": source,
                            "index": index,
                            "diagnostics": [diag.to_dict()],
                            "raw": text,
                        }
                    )
                    + b"\n"
                )
                continue
        result = evaluate(_PLAN, Record(source, index, row))
        _note(res, result.diagnostics)
        res.by_rule.update(result.filtered_by)
        outcome = result.outcome
        if outcome == "rejected":
            res.rejected += 1
            rej.append(
                dumps(
                    {
                        "source": source,
                        "index": index,
                        "diagnostics": [d.to_dict() for d in result.diagnostics],
                        "record": row,
                    }
                )
                + b"\n"
            )
        elif outcome == "filtered":
            res.filtered += 1
        else:
            res.mapped += 1
            for obj in result.objects:
                payload = association_set_form(obj.payload) if _SET_ASSOC else obj.payload
                out.append(dumps(payload) + b"\n")
                res.by_type[obj.type_name] += 1
            res.objects += len(result.objects)
    res.output, res.rejects = b"".join(out), b"".join(rej)
    return res


def _chunks(items: Iterable[Item], report: RunReport) -> Iterator[tuple[str, int, list[Any], bool]]:
    source, start, rows = "", 0, []
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


def _merge(report: RunReport, res: ChunkResult) -> None:
    report.records_in += res.mapped + res.rejected + res.filtered
    report.records_mapped += res.mapped
    report.records_rejected += res.rejected
    report.records_filtered += res.filtered
    report.objects_out += res.objects
    report.objects_by_type.update(res.by_type)
    report.filtered_by_rule.update(res.by_rule)
    report.problems.update(res.problems)
    report.warnings.update(res.warnings)
    for code, examples in res.examples.items():
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
            sink.write_raw(res.output, res.objects)
            quarantine.write_raw(res.rejects, res.rejected)
            _merge(report, res)
            if options.max_rejects is not None and report.records_rejected > options.max_rejects:
                report.stopped_early = f"more than {options.max_rejects} records rejected"
                break
        else:
            report.completed = True
    report.duration_s = time.perf_counter() - started
    return report
