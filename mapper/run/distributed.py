"""`mapper run --engine dask`: the parts of a run mapped on a Dask cluster, joined in input order.

The inputs are cut into parts exactly as `--workers` cuts them (`run.parts.input_parts`; URL
inputs by `io.remote`). Tasks of a few consecutive parts go to the cluster, at most `WINDOW` per
worker ahead of the join; each worker reads its own parts (local files on a shared filesystem,
or fsspec URLs), compiles the mapping once (`run.partwork.compiled`), writes the parts' object
and reject lines into the run's parts folder beside the output (`io.partfiles`; so a local
output must be on a filesystem the workers share, as local inputs must) and returns only the
file names and counts. The client appends the part files in part order to the outputs, which
appear atomically at the end (`AtomicFile`, or `io.remote.AtomicUrl`), and removes the folder.

The join applies the rules of a 1-worker run: a part that would cross `--max-errors`, or holds a
rejected record under `--fail-fast`, is mapped again in the client with the serial pipeline, so
the run stops at the same record with the same outputs; after an array span that does not parse,
the client reads the rest with ijson. A worker that dies has its tasks run again elsewhere by
the scheduler; results are keyed by part number, so no record is lost or written twice.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from mapper.errors import Diagnostic, OutputError, UsageError
from mapper.io.atomic import AtomicFile, OutputGroup, output_error
from mapper.io.inputs import JSONL_SUFFIXES, Reading, expand_inputs, iter_records
from mapper.io.partfiles import join_part, parts_folder, remove_folder
from mapper.io.remote import AtomicUrl, expand_urls, is_url, url_items, url_jsonl_spans
from mapper.io.sinks import JsonlSink, RejectsSink, Sink, errors_of_line
from mapper.io.spans import ArraySpan, Span
from mapper.language.plan import Plan
from mapper.records import InputProblem, Item, no_line_known
from mapper.run import parts as cutting
from mapper.run.parts import Part, input_parts
from mapper.run.partwork import (
    Base,
    MappingRef,
    PartOutput,
    PartTask,
    RunSpec,
    UrlFile,
    compiled,
    give,
    map_parts,
    part_items,
    rest_items,
    seeded,
)
from mapper.run.pipeline import known_lines, run
from mapper.run.policy import RunOptions, max_errors_reason
from mapper.run.report import RunReport, unique_diagnostics

if TYPE_CHECKING:
    from mapper.run.files import RunRequest, RunResult
    from mapper.run.pool import Pool

WINDOW = 4  # tasks in flight per worker: enough to keep it busy while the client joins
PARTS_PER_TASK = 4  # consecutive parts per task: about 4 MiB of JSONL, to amortise scheduling
INSTALL_HINT = "install it with: pip install 'twg-mapper[dask]' (dask, distributed, fsspec)"
CONNECT_TIMEOUT_S = 30
CLUSTER_CONFIG = {
    "distributed.worker.profile.enabled": False,  # a sampling profiler, every 10 ms
    "distributed.admin.tick.interval": "1s",  # an event-loop watchdog, every 20 ms
    "distributed.admin.system-monitor.interval": "2s",  # psutil readings, every 500 ms
    "distributed.worker.memory.monitor-interval": "1s",  # every 100 ms
    "distributed.scheduler.active-memory-manager.start": False,  # no data is kept on workers
    "distributed.scheduler.work-stealing": False,  # the client hands out a few tasks at a time
}
"""The LocalCluster's settings: Dask's periodic housekeeping costs CPU that mapping needs."""
RETRIES = 2  # a task that fails (not a dead worker: the scheduler handles those) runs again
SETTLE_S = 10.0
"""How long a stopped run (`--max-errors`, `--fail-fast`) waits for the tasks its own
LocalCluster still runs: a thread cannot be stopped, and closing a worker under a running task
logs a warning (`distributed.worker.state_machine`: CancelledError) on the user's terminal."""
SETTLE_POLL_S = 0.05


def expand_sources(specs: Iterable[str]) -> tuple[list[str], list[InputProblem]]:
    """Local paths, folders, globs and fsspec URLs (globs and folders too), in the order given."""
    found: list[str] = []
    problems: list[InputProblem] = []
    for spec in specs:
        files, more = expand_urls([spec]) if is_url(spec) else expand_inputs([spec])
        found.extend(files)
        problems.extend(more)
    return list(dict.fromkeys(found)), problems


class Joined(NamedTuple):
    """What a run whose parts were joined here gives back: its report, and (without a rejects
    file) the errors of the first rejected records, to show."""

    report: RunReport
    rejected_shown: list[list[Diagnostic]]


def run_on_dask(
    plan_or_path: Plan | str | Path,
    inputs: Iterable[str],
    request: RunRequest,
    *,
    scheduler: str | None = None,
) -> RunResult:
    """`run_files` on a Dask cluster: the scheduler at `scheduler` (or the request's), else a
    LocalCluster sized to this machine. The same outputs, byte for byte, as a local run.

    Raises:
        UsageError: dask is not installed, or the request cannot run.
        InputError: no input was found.
    """
    from mapper.engine.plans import load
    from mapper.run.files import run_files

    plan = plan_or_path if isinstance(plan_or_path, Plan) else load(plan_or_path)
    mapping = plan_or_path if not isinstance(plan_or_path, Plan) else None
    asked = replace(request, engine="dask", scheduler=scheduler or request.scheduler)
    return run_files(plan, inputs, asked, mapping=mapping)


def run_distributed(
    mapping: str | Path,
    plan: Plan,
    paths: list[str],
    request: RunRequest,
    options: RunOptions,
    reading: Reading,
    progress: Callable[[int], None] | None = None,
    group: OutputGroup | None = None,
) -> Joined:
    """Map `paths` on a Dask cluster; the same objects, rejects and report as one worker gives.
    The output files are renamed into place with the rest of `group` (with the report), not
    here (None: here, once joined).

    Raises:
        UsageError: dask is not installed, or the mapping file cannot be read.
        RecordError: under ErrorPolicy.FAIL_FAST, at the first rejected record.
        OutputError: when an output cannot be written.
    """
    started = time.perf_counter()
    spec = run_spec(mapping, plan, request, options)
    output = None if request.sink is not None else request.output
    # The folder is removed once the tasks are cancelled, and again once the client is closed:
    # a cancelled task that was still running may have written a part file in between.
    with _parts_folder(output) as folder, _client(request) as client:
        spec = replace(spec, parts_at=folder)
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        join = _Join(plan, options, RunReport(plan.path), reading, paths, progress,
                     spec.set_associations, folder=folder, output=output or "",
                     digests=spec.digests, keep=_kept_rejects(request))  # fmt: skip
        numbered = _Numbered(_numbered(paths, reading))
        outputs = _Results(client, spec, numbered, WINDOW * workers, own=not request.scheduler)
        _join(join, request, outputs, lambda task: _rerun(client, spec, task), group)
    return _finished(join, started)


def run_local_workers(
    mapping: str | Path,
    plan: Plan,
    paths: list[str],
    request: RunRequest,
    options: RunOptions,
    reading: Reading,
    progress: Callable[[int], None] | None = None,
    group: OutputGroup | None = None,
) -> Joined:
    """Map `paths` in worker processes of this machine for the caller's sink (the sync stage),
    which takes each part's objects here, in input order: the same objects, rejects and report
    as one worker gives. (A JSONL output file has its own, faster way: `run.parallel`.)

    Raises:
        UsageError: the mapping file cannot be read.
        RecordError: under ErrorPolicy.FAIL_FAST, at the first rejected record.
        OutputError: when an output cannot be written, or a worker process dies.
    """
    started = time.perf_counter()
    spec = run_spec(mapping, plan, request, options)
    join = _Join(plan, options, RunReport(plan.path), reading, paths, progress,
                 spec.set_associations, digests=spec.digests,
                 keep=_kept_rejects(request))  # fmt: skip
    workers = request.worker_count
    with _local_pool(spec, plan, reading, workers) as pool:
        outputs = _LocalResults(pool, _Numbered(_numbered(paths, reading)), WINDOW * workers)
        _join(join, request, outputs, lambda task: map_parts(spec, (task,))[0], group)
    return _finished(join, started)


def _join(
    join: _Join,
    request: RunRequest,
    outputs: _Results | _LocalResults,
    rerun: Callable[[PartTask], PartOutput],
    group: OutputGroup | None,
) -> None:
    """Join the outputs in part order into the run's outputs, which appear if it ends normally
    (with the rest of `group` when one is given)."""
    output = None if request.sink is not None else request.output
    with (
        _opened(output, group) as out,
        _opened(request.rejects_path, group) as rejects,
        _closing(request.sink) as sink,
    ):
        join.out, join.rejects, join.sink = out, rejects, sink
        try:
            join.collect(outputs, rerun)
        finally:
            outputs.close()  # cancels what is still running (a stop, Ctrl-C, an error)
            if join.folder is not None:
                remove_folder(join.folder)  # no task writes there after this (`write_part`)


def _kept_rejects(request: RunRequest) -> int:
    """How many rejected records' errors the join keeps to show (none with a rejects file)."""
    return 0 if request.rejects_path else request.shown_rejects


def _finished(join: _Join, started: float) -> Joined:
    report = join.report
    report.input_problems.extend(unique_diagnostics(join.lookup_problems))
    report.duration_s = time.perf_counter() - started
    return Joined(report, join.kept)


def run_spec(mapping: str | Path, plan: Plan, request: RunRequest, options: RunOptions) -> RunSpec:
    """What every part of the run shares (raises UsageError when the mapping cannot be read).

    For a caller's sink the workers hand back what it takes: objects, or a clean record's
    payloads (`write_payloads`, the sync stage; worked out by its `digester`), each record's
    `cursor:` value when it takes them (`take_cursor`), and line digests when it records them
    (`known_lines`)."""
    try:
        ref = MappingRef.of(mapping)
    except OSError as err:
        raise UsageError([Diagnostic("usage.invalid", f"cannot read {mapping}: {err}")]) from err
    set_form = request.associations == "set"
    sink = request.sink
    if sink is None:
        return RunSpec(ref, request.records, options, set_form)
    digester = getattr(sink, "digester", None)  # (the sync stage: `sync.digested`)
    return RunSpec(
        ref, request.records, options, set_form, objects=True,
        cursor=hasattr(sink, "take_cursor"), payloads=hasattr(sink, "write_payloads"),
        digests=known_lines(plan, sink, options) is not None,
        digester=digester() if digester is not None else None,
    )  # fmt: skip


@contextlib.contextmanager
def _client(request: RunRequest) -> Iterator[Any]:
    """A client of the scheduler the request names, or of a LocalCluster started for the run."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as err:
        diag = Diagnostic("usage.invalid", f"--engine dask needs dask: {INSTALL_HINT}")
        raise UsageError([diag]) from err
    import dask

    if request.scheduler:
        try:
            with dask.config.set(CLUSTER_CONFIG):  # this process's own housekeeping only
                client = Client(request.scheduler, timeout=CONNECT_TIMEOUT_S)
        except (OSError, ValueError) as err:
            message = f"cannot reach the Dask scheduler at {request.scheduler}: {err}"
            raise OutputError([Diagnostic("cluster.unreachable", message)]) from err
        with client:
            yield client
        return
    workers = request.workers if request.workers > 1 else (os.cpu_count() or 1)
    with (
        dask.config.set(CLUSTER_CONFIG),
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


@contextlib.contextmanager
def _parts_folder(output: str | None) -> Iterator[str | None]:
    """The run's parts folder beside `output` (None: no output file), removed at the end."""
    if output is None:
        yield None
        return
    folder = parts_folder(output)
    try:
        yield folder
    finally:
        remove_folder(folder)


@contextlib.contextmanager
def _opened(
    path: str | None, group: OutputGroup | None
) -> Iterator[AtomicFile | AtomicUrl | None]:
    """An output that appears at `path` only if the block ends normally: then, or when `group`
    is published (a file; a URL has no rename to wait for)."""
    if path is None:
        yield None
        return
    out: AtomicFile | AtomicUrl = AtomicUrl(path) if is_url(path) else AtomicFile(path, group)
    try:
        yield out
    except BaseException:
        out.abort()
        raise
    out.commit()


@contextlib.contextmanager
def _closing(sink: Sink | None) -> Iterator[Sink | None]:
    """The caller's sink, closed if the block ends normally, aborted if not."""
    if sink is None:
        yield None
        return
    try:
        yield sink
    except BaseException:
        sink.abort()
        raise
    sink.close()


def _numbered(paths: list[str], reading: Reading) -> Iterator[tuple[int, Part | UrlFile]]:
    """(input file number, part) of all inputs in order: local runs of paths as `--workers` cuts
    them, URL inputs as JSONL spans or whole files."""
    offset = 0
    for is_remote, group in itertools.groupby(paths, key=is_url):
        files = list(group)
        if is_remote:
            for i, url in enumerate(files):
                yield from ((offset + i, part) for part in _url_parts(url))
        else:
            for path_no, part in input_parts(files, reading, workers_read_files=True):
                yield offset + path_no, part
        offset += len(files)


def _url_parts(url: str) -> Iterator[Part | UrlFile]:
    """A JSONL URL in spans (under a records selector too: each line is a document)."""
    if not url.lower().endswith(JSONL_SUFFIXES):
        yield UrlFile(url)
        return
    try:
        yield from url_jsonl_spans(url, cutting.SPAN_BYTES)  # as `--workers` cuts
    except (OSError, ValueError):
        yield UrlFile(url)  # reading it whole reports the problem


@dataclass
class _Numbered:
    """The parts handed out so far, kept until joined (a replay needs them)."""

    source: Iterator[tuple[int, Part | UrlFile]]
    parts: dict[int, tuple[int, Part | UrlFile]] = field(default_factory=dict)
    count: int = 0

    def take(self, n: int) -> tuple[PartTask, ...]:
        tasks = []
        for path_no, part in itertools.islice(self.source, n):
            self.parts[self.count] = (path_no, part)
            tasks.append(PartTask(self.count, part, None))
            self.count += 1
        return tuple(tasks)


class _Results:
    """Part outputs in part order, with tasks submitted `window` ahead (`WINDOW` per worker)."""

    def __init__(
        self, client: Any, spec: RunSpec, numbered: _Numbered, window: int, own: bool = False
    ) -> None:
        self.client = client
        self.spec = spec
        self.numbered = numbered
        self.pending: deque[Any] = deque()
        self.window = window
        self.own = own  # the run's own LocalCluster: its workers write to this terminal

    def part(self, number: int) -> tuple[int, Part | UrlFile]:
        """(input file number, part) of a part handed out and not yet joined."""
        return self.numbered.parts[number]

    def __iter__(self) -> Iterator[PartOutput]:
        self._fill()
        while self.pending:
            outputs = _outcome(self.pending.popleft())
            self._fill()
            yield from outputs

    def _fill(self) -> None:
        while len(self.pending) < self.window:
            tasks = self.numbered.take(PARTS_PER_TASK)
            if not tasks:
                return
            future = self.client.submit(map_parts, self.spec, tasks, pure=False, retries=RETRIES)
            self.pending.append(future)

    def close(self) -> None:
        """Cancel the tasks not joined yet; on the run's own cluster, let those still running
        end before it closes (`settle`)."""
        if self.pending:
            with contextlib.suppress(Exception):
                self.client.cancel(list(self.pending))
                if self.own:
                    settle(self.client)
            self.pending.clear()


def settle(client: Any) -> None:
    """Wait (at most SETTLE_S) until no worker runs a task, cancelled ones included, so that
    closing the cluster cancels none; then, for any still running when the wait ends, quiet the
    warning each would log at the close (that one logger, below ERROR, on these workers only:
    they close next)."""
    deadline = time.monotonic() + SETTLE_S
    while any(client.run(_running).values()) and time.monotonic() < deadline:
        time.sleep(SETTLE_POLL_S)
    client.run(_quiet_cancelled_instructions)


def _running(dask_worker: Any) -> int:
    """The tasks a worker's threads run (a cancelled task runs on until it ends)."""
    return len(dask_worker.state.all_running_tasks)


def _quiet_cancelled_instructions() -> None:
    """A worker about to close logs no warning for a task it cancels (its errors still show)."""
    logging.getLogger("distributed.worker.state_machine").setLevel(logging.ERROR)


@dataclass
class _TaskOutputs:
    """What a local worker sends back for one task (`run.pool` wants its number)."""

    number: int
    outputs: list[PartOutput]


class _LocalResults:
    """Part outputs in part order, from worker processes of this machine (`run.pool.Pool`):
    one part per task, `window` tasks ahead."""

    def __init__(self, pool: Pool, numbered: _Numbered, window: int) -> None:
        self.pool = pool
        self.numbered = numbered
        self.outputs = pool.imap(self._tasks(), window)
        self.joined = False  # every output was joined: the workers are let finish

    def _tasks(self) -> Iterator[tuple[int, tuple[PartTask, ...]]]:
        for number in itertools.count():
            tasks = self.numbered.take(1)
            if not tasks:
                return
            yield number, tasks

    def part(self, number: int) -> tuple[int, Part | UrlFile]:
        """(input file number, part) of a part handed out and not yet joined."""
        return self.numbered.parts[number]

    def __iter__(self) -> Iterator[PartOutput]:
        for got in self.outputs:
            yield from got.outputs
        self.joined = True

    def close(self) -> None:
        """Stop the workers: let them end when every output was joined, else terminate them
        (a stop, Ctrl-C, an error: what they still map is not wanted)."""
        self.pool.close(graceful=self.joined)


_LOCAL_SPEC: RunSpec | None = None  # a local worker's spec (set by `_local_setup`)


@contextlib.contextmanager
def _local_pool(spec: RunSpec, plan: Plan, reading: Reading, workers: int) -> Iterator[Pool]:
    """Worker processes that map parts of `spec`. Forked ones inherit the compiled plan (the
    partwork cache is seeded with it); others compile the mapping once each."""
    import multiprocessing as mp

    from mapper.run.pool import Pool

    can_fork = "fork" in mp.get_all_start_methods()
    ctx = mp.get_context("fork" if can_fork else "spawn")
    with seeded(spec, plan, reading):  # (a part mapped again here needs it too)
        pool = Pool(ctx, workers, _local_setup, (spec,), _local_work, "")
        try:
            yield pool
        finally:
            pool.close(graceful=False)  # (no-op once `_LocalResults.close` stopped them)


def _local_setup(spec: RunSpec) -> None:
    from mapper.run.parallel import _keep_freed_buffers

    global _LOCAL_SPEC
    _keep_freed_buffers()
    _LOCAL_SPEC = spec
    compiled(spec)  # (inherited from the parent when forked)


def _local_work(task: tuple[int, tuple[PartTask, ...]]) -> _TaskOutputs:
    assert _LOCAL_SPEC is not None
    number, tasks = task
    return _TaskOutputs(number, map_parts(_LOCAL_SPEC, tasks))


def _rerun(client: Any, spec: RunSpec, task: PartTask) -> PartOutput:
    """Map one part again, now that its start is known."""
    return _outcome(client.submit(map_parts, spec, (task,), pure=False, retries=RETRIES))[0]


def _outcome(future: Any) -> list[PartOutput]:
    """A task's part outputs; a task that failed for good (its retries spent, or its workers
    killed too often) stops the run as an I/O failure, as a dead `--workers` process does.

    Raises:
        OutputError: with the task's error.
    """
    try:
        outputs: list[PartOutput] = future.result()
    except Exception as err:  # anything a task raises on the cluster arrives here
        message = f"a task failed on the Dask cluster: {type(err).__name__}: {err}"
        raise OutputError([Diagnostic("cluster.task-failed", message)]) from err
    return outputs


@dataclass
class _Join:
    """The client's side: the outputs joined in part order, and the stop rules of one worker."""

    plan: Plan
    options: RunOptions
    report: RunReport
    reading: Reading
    paths: list[str]
    progress: Callable[[int], None] | None
    set_associations: bool = False
    out: AtomicFile | AtomicUrl | None = None
    rejects: AtomicFile | AtomicUrl | None = None
    sink: Sink | None = None
    folder: str | None = None
    """The parts folder the workers write part files in."""
    output: str = ""
    lookup_problems: list[Diagnostic] = field(default_factory=list)
    starts: dict[str, Base] = field(default_factory=dict)
    digests: bool = False
    """The records carry their lines' digests, as the workers give them (`RunSpec.digests`):
    also those of a part the client maps itself."""
    keep: int = 0
    """Without a rejects file: the errors of this many rejected records are kept (`kept`)."""
    kept: list[list[Diagnostic]] = field(default_factory=list)

    def collect(
        self, results: _Results | _LocalResults, rerun: Callable[[PartTask], PartOutput]
    ) -> None:
        """Join every part in order; stop where a 1-worker run stops."""
        for got in results:
            path_no, part = results.part(got.number)
            base = self._base(part)
            res = got
            if res.skipped or (not res.based and res.has_diagnostics):
                res = rerun(PartTask(got.number, part, base))
            if res.unparsed or self.report.would_stop_within(res.counts, self.options):
                self._take_over(part, base, res, path_no)
                return
            self._merge(res, base)
            self._advance(part, base, res)
        self.report.completed = True

    def _base(self, part: Part | UrlFile) -> Base:
        if isinstance(part, Span | ArraySpan):
            first = part.start == 0 if isinstance(part, Span) else part.first
            return (0, 0) if first else self.starts.get(part.source, (0, 0))
        return (0, 0)

    def _advance(self, part: Part | UrlFile, base: Base, res: PartOutput) -> None:
        if isinstance(part, Span | ArraySpan):
            self.starts[part.source] = (base[0] + res.size[0], base[1] + res.size[1])

    def _merge(self, res: PartOutput, base: Base = (0, 0)) -> None:
        if res.write_error is not None:
            raise output_error(self.output, res.write_error)
        if self.out is not None:
            self._append(self.out, res.objects, res.objects_file)
        if self.sink is not None:
            _replay(self.sink, res, base[0])
        if self.rejects is not None:
            self._append(self.rejects, res.rejects, res.rejects_file)
        elif len(self.kept) < self.keep and res.rejects:
            lines = res.rejects.splitlines()[: self.keep - len(self.kept)]
            self.kept.extend(errors_of_line(line) for line in lines)
        self.report.merge(res.counts)
        self.lookup_problems.extend(res.lookup_problems)
        if self.progress is not None:
            self.progress(self.report.records_in)

    def _append(self, out: AtomicFile | AtomicUrl, data: bytes, name: str | None) -> None:
        if name is not None and self.folder is not None:
            join_part(self.folder, name, out)
        else:
            out.write(data)

    def _take_over(self, part: Part | UrlFile, base: Base, res: PartOutput, path_no: int) -> None:
        """Go on from this part in the client, as a 1-worker run would (may raise RecordError)."""
        items: Iterable[Item]
        if res.unparsed:
            assert isinstance(part, ArraySpan)
            rest = _later_items(self.paths[path_no + 1 :], self.reading, self.digests)
            items = itertools.chain(rest_items(part.source, base[0]), rest)
        else:
            task = PartTask(res.number, part, base)
            items = part_items(self.reading, task, PartOutput(0), self.digests)
        rejected = self.report.records_rejected
        limit = self.options.max_rejects
        left = None if limit is None else limit - rejected
        local = RunOptions(self.options.policy, left, self.options.lookups)
        lines: list[bytes] = []
        rejected_lines: list[bytes] = []
        own = JsonlSink("", set_associations=self.set_associations, lines=lines)
        sink: Sink = self.sink if self.sink is not None else own
        quarantine = RejectsSink(None, lines=rejected_lines)
        done = run(self.plan, items, sink=sink, rejects=quarantine, options=local)
        lookups = [d for d in done.input_problems if d.code.startswith("lookup.")]
        self.lookup_problems.extend(lookups)
        done.input_problems = [d for d in done.input_problems if d not in lookups]
        merged = PartOutput(
            res.number, b"".join(lines), rejects=b"".join(rejected_lines), counts=done
        )
        self._merge(merged)
        self.report.completed = done.completed and res.unparsed
        if done.stopped_early:
            self.report.stopped_early = max_errors_reason(limit)


def _replay(sink: Sink, res: PartOutput, first: int) -> None:
    """Hand a part's objects to the client's sink, each record's `cursor:` value after its
    objects as a local run does, at its record's index in the file (`first`: the part's)."""
    written = 0
    for upto, value, source, index in res.marks:
        for batch in res.batches[written:upto]:
            give(sink, batch)
        written = upto
        sink.take_cursor(value, source, first + index)  # type: ignore[attr-defined]
    for batch in res.batches[written:]:
        give(sink, batch)


def _later_items(paths: list[str], reading: Reading, digests: bool = False) -> Iterator[Item]:
    known = no_line_known if digests else None
    for path in paths:
        if is_url(path):
            yield from url_items(path, reading.selector)
        else:
            yield from iter_records([path], **reading.kwargs(), known=known)


__all__ = ["expand_sources", "run_distributed", "run_local_workers", "run_on_dask"]
