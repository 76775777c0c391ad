"""`mapper run --workers N`: the same mapping in N processes, output in input order.

The inputs are cut into parts, handed to the workers (`mapper.pool`) in input order. A JSONL
file is cut into spans of whole lines (`sources.jsonl_spans` reads only the line under each cut),
a large top-level array into spans of whole elements (`sources.array_spans`); each worker reads
its spans itself. Other files go to the workers whole, a few small ones together. Only what must
be read in one piece is read by the parent and sent as records: standard input, and large arrays
under a `--records` wrapper (ijson).

Two running totals are handed out in part order (`Turns`): where a span's records start (record
index and line number, for diagnostics), and where a part's output starts in the output file.
A worker claims the first as soon as it has counted its lines and the second as soon as it has
serialised its objects, then writes them at that offset itself. Nothing but counts passes through
the parent, so it stays nearly idle, and the output is byte-identical to a 1-worker run.

When a part would cross `--max-errors`, or holds a rejected record under `--fail-fast`, the
parent stops the workers, cuts the output back to where that part starts, and maps the part
again itself with the serial pipeline: the run stops at exactly the record where a 1-worker run
stops, with the same outputs and report. After an array span that does not parse, the parent
reads the rest of that file with ijson and the later inputs itself, as a 1-worker run does.
"""

from __future__ import annotations

import ctypes
import itertools
import multiprocessing as mp
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from mapper.api import load
from mapper.errors import Diagnostic
from mapper.interpreter import Record
from mapper.pipeline import (
    MAX_EXAMPLES,
    ErrorPolicy,
    LookupCache,
    RunOptions,
    RunReport,
    account,
    iter_results,
    max_errors_reason,
    run,
)
from mapper.plan import Plan
from mapper.pool import Pool, Turns
from mapper.sinks import JsonlSink, RejectsSink, output_error
from mapper.sources import (
    JSONL_SUFFIXES,
    STDIN,
    ArraySpan,
    InputProgress,
    Item,
    Span,
    array_spans,
    document_items,
    input_size,
    is_streamed,
    iter_records,
    jsonl_items,
    jsonl_spans,
    read_array_span,
    read_span,
    sniff_jsonl,
    streamed_array_items,
    unreadable,
)

SPAN_BYTES = 256 * 1024  # about 350 W1 records: small parts keep every worker busy to the end
PART_RECORDS = 512  # records per part when the parent reads the input (not JSONL)
WINDOW = 8  # parts in flight per worker: a slow part holds the others back by at most this


def _iov_max() -> int:
    try:
        return max(16, os.sysconf("SC_IOV_MAX"))
    except (AttributeError, ValueError, OSError):
        return 16  # the POSIX minimum


IOV_MAX = _iov_max()  # buffers per pwritev call (1024 on Linux)


@dataclass(frozen=True)
class Lines:
    """JSONL lines read by the parent (standard input), and where the first one sits."""

    source: str
    lines: list[bytes]
    index: int
    line_no: int


@dataclass(frozen=True)
class FilePart:
    """Whole input files that a worker reads itself (JSON documents or small arrays)."""

    paths: tuple[str, ...]


Part = Span | ArraySpan | FilePart | Lines | list[Item]
"""A span of a JSONL file or of a large array, whole files, or what the parent read: JSONL lines
from standard input, or records."""


@dataclass
class _Worker:
    """What a worker process keeps between parts."""

    plan: Plan
    options: RunOptions
    set_assoc: bool
    lookups: LookupCache
    starts: Turns  # (record index, line number) where a span starts, per file
    offsets: Turns  # (byte offset,) where a part's output starts
    output: BinaryIO  # the run's temporary output file, written at claimed offsets
    reading: Reading  # how the worker reads a FilePart


_WORKER: _Worker | None = None
_FORKED_PLAN: Plan | None = None  # set in the parent just before forking


@dataclass
class PartResult:
    """What a worker sends back for one part: where its output went, its rejects and counts."""

    number: int
    offset: int = 0
    index: int = 0  # of the span's first record (spans only)
    line_no: int = 1
    rejects: bytes = b""
    counts: RunReport = field(default_factory=lambda: RunReport(""))
    lookup_problems: list[Diagnostic] = field(default_factory=list)
    write_error: str | None = None
    unparsed: bool = False  # an array span that does not parse: the parent reads on with ijson


@dataclass(frozen=True)
class Reading:
    """How records are found in a file: the records selector and its ijson path, if any."""

    selector: Callable[[Any], Any] | None = None
    stream_path: str | None = None

    def kwargs(self) -> dict[str, Any]:
        """The keyword arguments of `iter_records`."""
        return {"selector": self.selector, "stream_path": self.stream_path}


def _init(
    mapping: str,
    options: RunOptions,
    set_assoc: bool,
    starts: Turns,
    offsets: Turns,
    tmp: str,
    reading: Reading,
) -> None:
    global _WORKER
    _keep_freed_buffers()
    plan = _FORKED_PLAN or load(mapping)  # forked workers inherit the parent's compiled plan
    lookups = LookupCache(plan.lookups, options.lookups)
    output = Path(tmp).open("r+b", buffering=0)  # noqa: SIM115  (open while the worker lives)
    _WORKER = _Worker(plan, options, set_assoc, lookups, starts, offsets, output, reading)


def _keep_freed_buffers() -> None:
    """Keep freed large buffers on the heap for the next part (glibc only).

    glibc maps each buffer over 128 KiB afresh and unmaps it when it is freed, and a worker
    reads and writes such buffers for every part: each time, every page of them faults. With
    them kept, a 2-worker run has a tenth of the page faults and half the system time.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)
        libc.mallopt(_M_TRIM_THRESHOLD, 128 << 20)
    except (OSError, AttributeError):
        return  # not glibc (musl has no mallopt): nothing to tune


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h


def _work(task: tuple[int, Part]) -> PartResult:
    number, part = task
    worker = _WORKER
    assert worker is not None
    res = PartResult(number)
    started = claimed = False
    try:
        items, started = _items(worker, res, part)
        out = _map(worker, res, items)
        res.offset = worker.offsets.claim(number, (sum(map(len, out)),))[0]
        claimed = True
        res.write_error = _write_at(worker.output, out, res.offset)
    finally:  # every part takes both turns (a failed one too), or the parts after it would wait
        if not started:
            worker.starts.claim(number, (0, 0))
        if not claimed:
            worker.offsets.claim(number, (0,))
    return res


def _items(worker: _Worker, res: PartResult, part: Part) -> tuple[Iterable[Item], bool]:
    """The part's items, and whether its record start was claimed."""
    if isinstance(part, FilePart):
        return _file_items(part, worker.reading), False
    if isinstance(part, ArraySpan):
        return _array_items(worker, res, part), True
    if isinstance(part, Lines):
        return _lines_items(part), False
    if not isinstance(part, Span):
        return part, False
    try:
        span = read_span(part)
    except OSError as err:
        return [unreadable(part.source, err)], False
    restart = part.start == 0
    res.index, res.line_no = worker.starts.claim(
        res.number, (span.records, span.line_count), restart
    )
    res.line_no += 1
    return jsonl_items(part.source, span.lines, res.index, res.line_no), True


def _array_items(worker: _Worker, res: PartResult, part: ArraySpan) -> Iterable[Item]:
    values: list[Any] = []
    problem = None
    if not part.rest:
        try:
            values = read_array_span(part)
        except ValueError:
            res.unparsed = True  # a cut inside a string, or malformed: ijson decides
        except OSError as err:
            problem = unreadable(part.source, err)
    res.index = worker.starts.claim(res.number, (len(values), 0), part.first)[0]
    if part.rest:
        return streamed_array_items(part.source, skip=res.index)
    if problem is not None:
        return [problem]
    return [Record(part.source, res.index + i, value) for i, value in enumerate(values)]


def _lines_items(part: Lines) -> Iterator[Item]:
    return jsonl_items(part.source, part.lines, part.index, part.line_no)


def _file_items(part: FilePart, reading: Reading) -> Iterator[Item]:
    return iter_records(part.paths, **reading.kwargs())


def _map(worker: _Worker, res: PartResult, items: Iterable[Item]) -> list[bytes]:
    out: list[bytes] = []
    rejected: list[bytes] = []
    sink = JsonlSink("", set_associations=worker.set_assoc, lines=out)
    rejects = RejectsSink(None, lines=rejected)
    seen = len(worker.lookups.problems)
    for result, item in iter_results(
        worker.plan, items, worker.options, res.counts, worker.lookups
    ):
        account(res.counts, result, item, sink, rejects)
    res.rejects = b"".join(rejected)
    res.lookup_problems = worker.lookups.problems[seen:]
    return out


def _write_at(fh: BinaryIO, lines: list[bytes], offset: int) -> str | None:
    """Write `lines` at `offset`; the reason if it failed.

    `os.pwritev` writes the lines as they are: joining them first would copy a part's output
    once more, into a new buffer.
    """
    try:
        if not hasattr(os, "pwritev"):  # Windows, older macOS
            _write_all(fh, b"".join(lines), offset)
            return None
        for i in range(0, len(lines), IOV_MAX):
            batch = lines[i : i + IOV_MAX]
            size = sum(map(len, batch))
            done = os.pwritev(fh.fileno(), batch, offset)
            if done < size:  # a short write (rare): finish it plainly
                _write_all(fh, b"".join(batch)[done:], offset + done)
            offset += size
    except OSError as err:
        return err.strerror or str(err)
    return None


def _write_all(fh: BinaryIO, data: bytes, offset: int) -> None:
    fh.seek(offset)
    view = memoryview(data)
    while view:
        view = view[fh.write(view) :]


def _is_heavy(part: Part) -> bool:
    """Records or lines sent by the parent: large to send, one at a time per worker."""
    return isinstance(part, list | Lines)


def _parts(
    paths: list[str], reading: Reading, workers_read_files: bool
) -> Iterator[tuple[int, Part]]:
    """The parts of all inputs, in order, each with the number of its input file.

    A JSONL file is cut into spans, and so is a large top-level array. Other files go to the
    workers whole, a few together up to about SPAN_BYTES (an export is often many small pages).
    The parent reads only standard input, and large arrays under a selector (ijson), or every
    non-JSONL file when the workers cannot inherit the records selector (no fork). Problems
    travel in parts, so that the report lists them in the order a 1-worker run does.
    """
    group: list[str] = []
    size = 0
    for path_no, path in enumerate(paths):
        jsonl = path != STDIN and path.lower().endswith(JSONL_SUFFIXES)
        streamed = not jsonl and is_streamed(path, reading.selector, reading.stream_path)
        whole = workers_read_files and not jsonl and not streamed and path != STDIN
        if group and (not whole or size >= SPAN_BYTES):
            yield path_no - 1, FilePart(tuple(group))
            group, size = [], 0
        if jsonl:
            yield from ((path_no, span) for span in _spans(path))
        elif streamed and reading.stream_path is None:  # a top-level array
            yield from ((path_no, span) for span in _array_spans(path))
        elif whole:
            group.append(path)
            size += input_size(path)
        elif path == STDIN:
            yield from ((path_no, part) for part in _stdin_parts(reading))
        else:
            records = iter_records([path], **reading.kwargs())
            yield from ((path_no, part) for part in _record_lists(records))
    if group:
        yield len(paths) - 1, FilePart(tuple(group))


def _spans(path: str) -> Iterator[Part]:
    try:
        yield from jsonl_spans(path, SPAN_BYTES)
    except OSError as err:
        yield [unreadable(path, err)]


def _array_spans(path: str) -> Iterator[Part]:
    try:
        with Path(path).open("rb") as fh:
            yield from array_spans(fh, path, SPAN_BYTES)
    except OSError as err:
        yield [unreadable(path, err)]


def _stdin_parts(reading: Reading) -> Iterator[Part]:
    """Standard input: JSONL as lines for the workers to parse, a JSON document as records."""
    lines = sniff_jsonl(sys.stdin.buffer)
    if not isinstance(lines, Iterator):
        data = lines + sys.stdin.buffer.read()
        yield from _record_lists(document_items(STDIN, data, reading.selector))
        return
    part: list[bytes] = []
    size = records = 0
    index, line_no = 0, 1
    for line in lines:
        part.append(line)
        size += len(line)
        records += bool(line.strip())
        if size >= SPAN_BYTES:
            yield Lines(STDIN, part, index, line_no)
            index, line_no = index + records, line_no + len(part)
            part, size, records = [], 0, 0
    if part:
        yield Lines(STDIN, part, index, line_no)


def _record_lists(items: Iterable[Item]) -> Iterator[Part]:
    part: list[Item] = []
    for item in items:
        part.append(item)
        if len(part) >= PART_RECORDS:
            yield part
            part = []
    if part:
        yield part


def _merge(report: RunReport, part: RunReport) -> None:
    report.records_in += part.records_in
    report.records_mapped += part.records_mapped
    report.records_rejected += part.records_rejected
    report.records_filtered += part.records_filtered
    report.objects_out += part.objects_out
    report.objects_by_type.update(part.objects_by_type)
    report.filtered_by_rule.update(part.filtered_by_rule)
    report.problems.update(part.problems)
    report.warnings.update(part.warnings)
    for code, examples in part.examples.items():
        kept = report.examples.setdefault(code, [])
        kept.extend(examples[: MAX_EXAMPLES - len(kept)])
    report.input_problems.extend(part.input_problems)


def _must_replay(res: PartResult, report: RunReport, options: RunOptions) -> bool:
    """Would a 1-worker run stop inside this part?"""
    rejected = res.counts.records_rejected
    if not rejected:
        return False
    if options.policy is ErrorPolicy.FAIL_FAST:
        return True
    limit = options.max_rejects
    return limit is not None and report.records_rejected + rejected > limit


class _InFlight:
    """Parts handed to the pool, kept until their result is merged (a replay needs them)."""

    def __init__(self, parts: Iterable[tuple[int, Part]]) -> None:
        self.parts: dict[int, tuple[int, Part]] = {}
        self.source = parts

    def __iter__(self) -> Iterator[tuple[int, Part]]:
        for number, (path_no, part) in enumerate(self.source):
            self.parts[number] = (path_no, part)
            yield number, part

    def pop(self, number: int) -> tuple[int, Part]:
        """(the number of the part's input file, the part)."""
        return self.parts.pop(number)


@dataclass(frozen=True)
class _Stop:
    """Where the workers stopped, for the parent to go on from: a part to map again (a 1-worker
    run stops inside it), or an array span that did not parse (ijson reads on from there)."""

    part: Part
    res: PartResult
    path_no: int


@dataclass
class _Run:
    """The parent's side of one parallel run."""

    plan: Plan
    options: RunOptions
    sink: JsonlSink
    rejects: RejectsSink
    report: RunReport
    progress: Callable[[Part], None] | None
    reading: Reading
    lookup_problems: list[Diagnostic] = field(default_factory=list)

    def collect(self, results: Iterable[PartResult], parts: _InFlight) -> _Stop | None:
        """Merge results in part order, up to a part that the parent must take over."""
        for res in results:
            path_no, part = parts.pop(res.number)
            if res.write_error is not None:
                raise output_error(str(self.sink.path), res.write_error)
            if res.unparsed or _must_replay(res, self.report, self.options):
                return _Stop(part, res, path_no)
            self.sink.count += res.counts.objects_out
            self.rejects.write_raw(res.rejects, res.counts.records_rejected)
            _merge(self.report, res.counts)
            self.lookup_problems.extend(res.lookup_problems)
            if self.progress is not None:
                self.progress(part)
        self.report.completed = True
        return None

    def finish(self, stop: _Stop, paths: list[str]) -> None:
        """Go on from `stop` in this process, as a 1-worker run would (may raise RecordError).

        A part to map again is mapped until the run stops in it; after an array span that did
        not parse, ijson reads the rest of that file and the later inputs follow.
        """
        part, res = stop.part, stop.res
        self.sink.rewind(res.offset)
        options = self.options
        rejected = self.report.records_rejected
        left = None if options.max_rejects is None else options.max_rejects - rejected
        items: Iterable[Item]
        if res.unparsed:
            assert isinstance(part, ArraySpan)
            rest = iter_records(paths[stop.path_no + 1 :], **self.reading.kwargs())
            items = itertools.chain(streamed_array_items(part.source, skip=res.index), rest)
        elif isinstance(part, Span):
            lines = read_span(part).lines
            items = jsonl_items(part.source, lines, res.index, res.line_no)
        elif isinstance(part, ArraySpan):
            items = _array_items_again(part, res.index)
        elif isinstance(part, FilePart):
            items = _file_items(part, self.reading)
        elif isinstance(part, Lines):
            items = _lines_items(part)
        else:
            items = part
        local = RunOptions(options.policy, left, options.lookups)
        done = run(self.plan, items, sink=self.sink, rejects=self.rejects, options=local)
        lookups = [d for d in done.input_problems if d.code.startswith("lookup.")]
        self.lookup_problems.extend(lookups)
        done.input_problems = [d for d in done.input_problems if d not in lookups]
        _merge(self.report, done)
        self.report.completed = done.completed and res.unparsed
        if done.stopped_early:
            self.report.stopped_early = max_errors_reason(options.max_rejects)


def _array_items_again(part: ArraySpan, index: int) -> Iterable[Item]:
    if part.rest:
        return streamed_array_items(part.source, skip=index)
    values = read_array_span(part)
    return [Record(part.source, index + i, value) for i, value in enumerate(values)]


def run_parallel(
    mapping: Path,
    plan: Plan,
    paths: list[str],
    output: str,
    rejects_path: str | None,
    options: RunOptions,
    workers: int,
    set_assoc: bool,
    reading: Reading | None = None,
    progress: Callable[[int], None] | None = None,
    inputs: InputProgress | None = None,
) -> RunReport:
    """Map the records of `paths` with `workers` processes; the same objects, in the same order,
    and the same report as one worker gives.

    Raises:
        RecordError: under ErrorPolicy.FAIL_FAST, at the first rejected record.
        OutputError: when an output cannot be written.
    """
    report = RunReport(plan.path)
    started = time.perf_counter()
    global _FORKED_PLAN
    can_fork = "fork" in mp.get_all_start_methods()
    ctx = mp.get_context("fork" if can_fork else "spawn")
    reading = reading or Reading()
    parts = _InFlight(_parts(paths, reading, workers_read_files=can_fork))
    sink = JsonlSink(output, set_associations=set_assoc)
    quarantine = RejectsSink(rejects_path)
    tick = None if progress is None else _ticker(progress, report, inputs, paths)
    state = _Run(plan, options, sink, quarantine, report, tick, reading)
    turns = (Turns(ctx, 2), Turns(ctx, 1))
    inherited = reading if can_fork else Reading()  # a selector does not survive pickling
    init = (str(mapping), options, set_assoc, *turns, sink.temporary_path, inherited)
    try:
        _FORKED_PLAN = plan if can_fork else None
        with sink, quarantine:
            pool, finished = Pool(ctx, workers, _init, init, _work, sink.path), False
            sink.sync_in_background()  # a thread: started after the workers are forked
            try:
                heavy = _is_heavy
                stop = state.collect(pool.imap(parts, WINDOW * workers, heavy), parts)
                finished = stop is None
            finally:
                pool.close(graceful=finished)
            if stop is not None:  # the workers are gone: nothing writes behind the parent
                state.finish(stop, paths)
    finally:
        _FORKED_PLAN = None
        report.duration_s = time.perf_counter() - started
    report.input_problems.extend(_unique(state.lookup_problems))
    return report


def _ticker(
    progress: Callable[[int], None],
    report: RunReport,
    inputs: InputProgress | None,
    paths: list[str],
) -> Callable[[Part], None]:
    """Move the progress bar after each merged part (the parent reads no span itself)."""
    before: dict[str, int] = {}
    total = 0
    for path in paths:
        before[path] = total
        total += input_size(path)

    def tick(part: Part) -> None:
        if inputs is not None and isinstance(part, Span | ArraySpan):
            inputs.finished = before[part.source] + part.end
        elif inputs is not None and isinstance(part, FilePart):
            inputs.finished = before[part.paths[-1]] + input_size(part.paths[-1])
        progress(report.records_in)

    return tick


def _unique(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """Each worker reports a missing lookup table once; the run reports it once."""
    seen: set[str] = set()
    out = []
    for diag in diagnostics:
        key = repr(diag.to_dict())
        if key not in seen:
            seen.add(key)
            out.append(diag)
    return out


__all__ = ["PART_RECORDS", "SPAN_BYTES", "Turns", "run_parallel"]
