"""`mapper run --workers N`: the same mapping in N processes, output in input order.

The inputs are cut into parts (`run.parts`), handed to the workers (`run.pool`) in input order:
spans of JSONL files and of large arrays, which each worker reads itself, whole files,
and what the parent must read in one piece (standard input, arrays under a `--records` wrapper).

Two running totals are handed out in part order (`Turns`): where a span's records start (record
index and line number, for diagnostics), and where a part's output starts in the output file.
A worker claims the first as soon as it has counted its lines; its writer thread claims the
second for the serialised objects and writes them at that offset, while the worker maps its next
part (it would otherwise wait for the other workers' parts before it). Nothing but counts passes
through the parent, so it stays nearly idle, and the output is byte-identical to a 1-worker run.
The parent counts where each part's output starts too (the sizes come with the results), and
lets the workers finish their writes before it takes over a part.

When a part would cross `--max-errors`, or holds a rejected record under `--fail-fast`, the
parent stops the workers, cuts the output back to where that part starts, and maps the part
again itself with the serial pipeline: the run stops at exactly the record where a 1-worker run
stops, with the same outputs and report. After an array span that does not parse, the parent
reads the rest of that file with ijson and the later inputs itself, as a 1-worker run does.
"""

from __future__ import annotations

import ctypes
import dataclasses
import itertools
import multiprocessing as mp
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from mapper.engine.plans import load
from mapper.errors import Diagnostic
from mapper.io.atomic import OutputGroup, output_error
from mapper.io.inputs import (
    InputProgress,
    Reading,
    input_size,
    iter_records,
    jsonl_items,
    picked_count,
    picked_items,
    picked_lines,
    read_array_span,
    streamed_array_items,
    unreadable,
)
from mapper.io.lookups import LookupCache
from mapper.io.sinks import JsonlSink, RejectsSink
from mapper.io.spans import ArraySpan, Span, read_span
from mapper.language.plan import Plan
from mapper.records import Item, Record
from mapper.run.parts import FilePart, Lines, Part, input_parts
from mapper.run.pipeline import map_items, run
from mapper.run.policy import RunOptions, max_errors_reason
from mapper.run.pool import Pool, Turns

if TYPE_CHECKING:
    from mapper.run.files import RunRequest
from mapper.run.report import RunReport, unique_diagnostics
from mapper.signals import signals_to_main_thread

WINDOW = 8  # parts in flight per worker: a slow part holds the others back by at most this
WriteFailure = tuple[int, str]
"""(the number of the first part whose output could not be written, why)."""


def _iov_max() -> int:
    try:
        return max(16, os.sysconf("SC_IOV_MAX"))
    except (AttributeError, ValueError, OSError):
        return 16  # the POSIX minimum


IOV_MAX = _iov_max()  # buffers per pwritev call (1024 on Linux)


@dataclass
class _Worker:
    """What a worker process keeps between parts."""

    plan: Plan
    options: RunOptions
    set_assoc: bool
    lookups: LookupCache
    starts: Turns  # (record index, line number) where a span starts, per file
    writer: _Writer  # writes each part's output at its offset, in part order
    reading: Reading  # how the worker reads a FilePart


class _Writer:
    """A worker's thread that claims each part's output offset and writes the part there, in
    part order: the worker maps its next part meanwhile, instead of waiting for the parts before
    it (mapped by other workers) to claim theirs."""

    def __init__(self, offsets: Turns, output: BinaryIO) -> None:
        self.offsets = offsets
        self.output = output
        self.failed: WriteFailure | None = None
        self.parts: queue.SimpleQueue[tuple[int, list[bytes]] | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._write_parts, daemon=True)
        with signals_to_main_thread():
            self.thread.start()

    def put(self, number: int, lines: list[bytes]) -> None:
        """Write part `number` once the parts before it have claimed their offsets."""
        self.parts.put((number, lines))

    def finish(self) -> WriteFailure | None:
        """Wait for every part put here to be written; the first that failed, if any."""
        self.parts.put(None)
        self.thread.join()
        return self.failed

    def _write_parts(self) -> None:
        while (part := self.parts.get()) is not None:
            number, lines = part
            offset = self.offsets.claim(number, (sum(map(len, lines)),))[0]
            if self.failed is None:
                problem = _write_at(self.output, lines, offset)
                self.failed = None if problem is None else (number, problem)


_WORKER: _Worker | None = None
_FORKED_PLAN: Plan | None = None  # set in the parent just before forking


@dataclass
class PartResult:
    """What a worker sends back for one part: where its output went, its rejects and counts."""

    number: int
    size: int = 0  # bytes of output
    offset: int = 0  # where the output starts (set by the parent)
    index: int = 0  # of the span's first record (spans only)
    line_no: int = 1
    rejects: bytes = b""
    counts: RunReport = field(default_factory=lambda: RunReport(""))
    lookup_problems: list[Diagnostic] = field(default_factory=list)
    write_error: str | None = None  # of a part before this one
    unparsed: bool = False  # an array span that does not parse: the parent reads on with ijson


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
    writer = _Writer(offsets, output)
    _WORKER = _Worker(plan, options, set_assoc, lookups, starts, writer, reading)


def _finish() -> WriteFailure | None:
    """A worker's last step: its writes done; the first part it could not write."""
    assert _WORKER is not None
    return _WORKER.writer.finish()


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
    started = False
    out: list[bytes] = []
    try:
        items, started = _items(worker, res, part)
        out = _map(worker, res, items)
        res.size = sum(map(len, out))
    finally:  # every part takes both turns (a failed one too), or the parts after it would wait
        if not started:
            worker.starts.claim(number, (0, 0))
        worker.writer.put(number, out)
    failed = worker.writer.failed
    res.write_error = None if failed is None else failed[1]
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
    # under a records selector, how many records the span holds is known once its lines are
    # parsed and picked from: then its first index is claimed, and they are numbered from it
    selector = worker.reading.selector
    picked = None if selector is None else list(picked_lines(span.lines, selector))
    records = span.records if picked is None else picked_count(picked)
    res.index, res.line_no = worker.starts.claim(
        res.number, (records, span.line_count), part.start == 0
    )
    res.line_no += 1
    if picked is None:
        return jsonl_items(part.source, span.lines, res.index, res.line_no), True
    return picked_items(part.source, picked, res.index, res.line_no), True


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
    sink = JsonlSink("", set_associations=worker.set_assoc, lines=out)
    res.rejects, res.lookup_problems = map_items(
        worker.plan, items, worker.options, worker.lookups, res.counts, sink
    )
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
    written: int = 0  # bytes of output of the parts merged

    def collect(self, results: Iterable[PartResult], parts: _InFlight) -> _Stop | None:
        """Merge results in part order, up to a part that the parent must take over."""
        for res in results:
            path_no, part = parts.pop(res.number)
            if res.write_error is not None:
                raise self.write_error(res.write_error)
            res.offset, self.written = self.written, self.written + res.size
            if res.unparsed or self.report.would_stop_within(res.counts, self.options):
                return _Stop(part, res, path_no)
            self.sink.count += res.counts.objects_out
            self.rejects.write_raw(res.rejects, res.counts.items_rejected)
            self.report.merge(res.counts)
            self.lookup_problems.extend(res.lookup_problems)
            if self.progress is not None:
                self.progress(part)
        self.report.completed = True
        return None

    def write_error(self, reason: str) -> Exception:
        """The error for a part the workers could not write."""
        return output_error(str(self.sink.path), reason)

    def check_writes(self, failures: list[WriteFailure | None], stop: _Stop | None) -> None:
        """Raise for a part a worker could not write (raises OutputError), unless the parent
        writes it again (at or after where it takes over)."""
        until = None if stop is None else stop.res.number
        for failed in sorted(f for f in failures if f is not None):
            if until is None or failed[0] < until:
                raise self.write_error(failed[1])

    def finish(self, stop: _Stop, paths: list[str]) -> None:
        """Go on from `stop` in this process, as a 1-worker run would (may raise RecordError).

        A part to map again is mapped until the run stops in it; after an array span that did
        not parse, ijson reads the rest of that file and the later inputs follow.
        """
        part, res = stop.part, stop.res
        self.sink.rewind(res.offset)
        options = self.options
        rejected = self.report.records_with_errors
        left = None if options.max_rejects is None else options.max_rejects - rejected
        items: Iterable[Item]
        if res.unparsed:
            assert isinstance(part, ArraySpan)
            rest = iter_records(paths[stop.path_no + 1 :], **self.reading.kwargs())
            items = itertools.chain(streamed_array_items(part.source, skip=res.index), rest)
        elif isinstance(part, Span):
            lines = read_span(part).lines
            selector = self.reading.selector
            items = jsonl_items(part.source, lines, res.index, res.line_no, selector=selector)
        elif isinstance(part, ArraySpan):
            items = _array_items_again(part, res.index)
        elif isinstance(part, FilePart):
            items = _file_items(part, self.reading)
        elif isinstance(part, Lines):
            items = _lines_items(part)
        else:
            items = part
        local = dataclasses.replace(options, max_rejects=left)
        done = run(self.plan, items, sink=self.sink, rejects=self.rejects, options=local)
        lookups = [d for d in done.input_problems if d.code.startswith("lookup.")]
        self.lookup_problems.extend(lookups)
        done.input_problems = [d for d in done.input_problems if d not in lookups]
        self.report.merge(done)
        self.report.completed = done.completed and res.unparsed
        if done.stopped_early:
            self.report.stopped_early = max_errors_reason(options.max_rejects)


def _array_items_again(part: ArraySpan, index: int) -> Iterable[Item]:
    if part.rest:
        return streamed_array_items(part.source, skip=index)
    values = read_array_span(part)
    return [Record(part.source, index + i, value) for i, value in enumerate(values)]


def run_parallel(
    mapping: str | Path,
    plan: Plan,
    paths: list[str],
    request: RunRequest,
    options: RunOptions,
    reading: Reading | None = None,
    progress: Callable[[int], None] | None = None,
    inputs: InputProgress | None = None,
    *,
    group: OutputGroup | None = None,
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
    workers = request.worker_count
    parts = _InFlight(input_parts(paths, reading, workers_read_files=can_fork, workers=workers))
    set_assoc = request.associations == "set"
    sink = JsonlSink(request.output, set_associations=set_assoc, group=group)
    quarantine = RejectsSink(request.rejects_path, group=group)
    tick = None if progress is None else _ticker(progress, report, inputs, paths)
    state = _Run(plan, options, sink, quarantine, report, tick, reading)
    turns = (Turns(ctx, 2), Turns(ctx, 1))
    inherited = reading if can_fork else Reading()  # a selector does not survive pickling
    init = (str(mapping), options, set_assoc, *turns, sink.temporary_path, inherited)
    try:
        _FORKED_PLAN = plan if can_fork else None
        with sink, quarantine:
            pool = Pool(ctx, workers, _init, init, _work, sink.path, _finish)
            sink.sync_in_background()  # a thread: started after the workers are forked
            merged = False  # False: an exception stopped the run (the output is dropped)
            try:
                stop = state.collect(pool.imap(parts, WINDOW * workers), parts)
                merged = True
            finally:  # the parts before `stop` must be written: the workers finish their writes
                failures = pool.close(graceful=merged)
            state.check_writes(failures, stop)
            if stop is not None:  # the workers are gone: nothing writes behind the parent
                state.finish(stop, paths)
    finally:
        _FORKED_PLAN = None
        report.duration_s = time.perf_counter() - started
    report.input_problems.extend(unique_diagnostics(state.lookup_problems))
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


__all__ = ["Turns", "run_parallel"]
