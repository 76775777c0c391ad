"""The library's run use case: a mapping over input files into output, rejects and report files.

`run_files(plan, inputs, request)` does everything `mapper run` does except printing: it
finds the inputs, checks that no output would replace an input or another output, maps with
one process or several, writes the objects (JSONL or setObjects batches), the rejected records
and the JSON report atomically, and returns a `RunResult` with the report, the exit status and
the files it wrote. `mapper run`, `mapper batch` and `mapper test` call it, and so do later front
ends (sync, serve, a distributed runner); none of them calls another command.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mapper.errors import (
    Diagnostic,
    InputError,
    OutputError,
    RecordError,
    UsageError,
    suggest,
)
from mapper.io.atomic import OutputGroup, not_a_file, output_kind, write_atomic
from mapper.io.atomic import reading as files_read
from mapper.io.inputs import (
    STDIN,
    InputProgress,
    Reading,
    expand_inputs,
    iter_records,
    stream_path_of,
)
from mapper.io.lookups import find_lookup_file, lookup_files, table_problems
from mapper.io.sinks import (
    BATCH_PATTERN,
    MAX_PROPERTIES,
    STDOUT,
    BatchSink,
    JsonlSink,
    RejectsSink,
    Sink,
)
from mapper.io.urls import is_url
from mapper.language.plan import Plan
from mapper.run.access import AccessRequest, check_access, wants_check
from mapper.run.pipeline import known_lines, run
from mapper.run.policy import ErrorPolicy, RunOptions
from mapper.run.report import RunReport
from mapper.run.status import Status

if TYPE_CHECKING:  # the principal checks are imported when a run makes them
    from mapper.access.checks import AccessFindings
    from mapper.run.distributed import Joined

__all__ = ["InputError", "RunRequest", "RunResult", "Status", "UsageError", "run_files"]

OutputFormat = Literal["jsonl", "batches"]
AssociationForm = Literal["array", "set"]
Engine = Literal["local", "dask"]
ProgressHook = Callable[[int, InputProgress], None]
"""Called as records are counted: (records so far, how much of the inputs was read)."""


@dataclass(frozen=True, kw_only=True)
class RunRequest:
    """What to run and where its results go; everything `mapper run` takes but the mapping and
    the inputs."""

    output: str
    """An output file (jsonl), a folder (batches), or "-" for standard output."""
    format: OutputFormat = "jsonl"
    rejects: str | None = None
    """The rejects file; None: OUTPUT.rejects.jsonl (none for standard output)."""
    report: str | None = None
    """The JSON report; None: OUTPUT.report.json (none for standard output)."""
    records: str | None = None
    """A records selector overriding the mapping's `records:`."""
    lookups: Mapping[str, str] = field(default_factory=dict)
    policy: ErrorPolicy = ErrorPolicy.SKIP_RECORD
    max_errors: int | None = None
    workers: int = 1
    associations: AssociationForm = "array"
    connection_id: str | None = None
    properties: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    """Values of the mapping's `params:` (text, typed as each parameter says)."""
    strict: bool = False
    """An optional field whose expression fails rejects its object (default: omitted, warned)."""
    shown_rejects: int = 20
    """Without a rejects file, the errors of this many rejected records are kept to show."""
    engine: Engine = "local"
    """Where parts are mapped: this machine's processes, or a Dask cluster."""
    scheduler: str | None = None
    """The Dask scheduler's address (engine "dask"); None: a LocalCluster for the run."""
    sink: Sink | None = None
    """Objects go into this sink instead of one made from `output` and `format`: a library
    caller's own stage that sees each finished object (e.g. the sync stage). The run is serial;
    `output` still names the file the sink writes, for the checks against the inputs."""
    access: AccessRequest = field(default_factory=AccessRequest)
    """How the principals of the written objects are checked (`run.access`)."""

    @property
    def rejects_path(self) -> str | None:
        """Where rejected records go (None: nowhere but the kept examples)."""
        if self.rejects or self.output == STDOUT:
            return self.rejects
        return f"{self.output.removesuffix('.jsonl')}.rejects.jsonl"

    @property
    def report_path(self) -> str | None:
        """Where the JSON report goes (None: not written)."""
        if self.report or self.output == STDOUT:
            return self.report
        return f"{self.output.removesuffix('.jsonl')}.report.json"

    @property
    def worker_count(self) -> int:
        """The worker processes used: `workers`, at most WORKERS_PER_CPU per CPU available."""
        return max(1, min(self.workers, max_workers()))

    @property
    def is_parallel(self) -> bool:
        """Several worker processes can map it (JSONL into a file)."""
        return (
            self.workers > 1 and self.format == "jsonl" and self.output != STDOUT and not self.sink
        )

    @property
    def maps_for_sink(self) -> bool:
        """Worker processes of this machine map for the caller's `sink` (the sync stage),
        which takes their objects in this process."""
        return self.workers > 1 and self.sink is not None and self.engine == "local"

    @property
    def is_distributed(self) -> bool:
        """A Dask cluster maps it (JSONL into a file, or objects into the caller's `sink`, which
        the client alone writes to)."""
        into_file = self.format == "jsonl" and self.output != STDOUT
        return self.engine == "dask" and (self.sink is not None or into_file)


@dataclass
class RunResult:
    """How a run ended: its report, exit status, files written, and what to tell the user."""

    report: RunReport
    status: Status
    written: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Things the user should know about the request (options that did not apply)."""
    diagnostics: list[Diagnostic] = field(default_factory=list)
    """What stopped the run: the rejected record under fail-fast, an output that failed."""
    stopped: str | None = None
    """Why the run stopped without output, in words (fail-fast, Ctrl-C)."""
    rejected_shown: list[list[Diagnostic]] = field(default_factory=list)
    """Without a rejects file: the errors of the first rejected records."""
    report_file: str | None = None
    """The JSON report, once written."""
    access: AccessFindings | None = None
    """The principal checks over the output, when the run made them (`run.access`)."""


LATE_STOP = (
    "a stop signal came while the outputs were put in place: the run was let finish, "
    "its outputs are complete"
)
STOPPED_AFTER_PUBLISH = "interrupted after the outputs were put in place: they are complete"


def run_files(
    plan: Plan,
    inputs: Iterable[str],
    request: RunRequest,
    *,
    mapping: str | Path | None = None,
    progress: ProgressHook | None = None,
) -> RunResult:
    """Map every record of `inputs` as `request` says; write the outputs atomically.

    Args:
        plan: the compiled mapping.
        inputs: files, folders, globs or "-" for standard input.
        request: outputs and options.
        mapping: the mapping file (worker processes that cannot fork compile it themselves).
        progress: called as records are counted.

    Raises:
        UsageError: the request names an unknown lookup, an invalid selector, too many
            properties, or an output that would replace an input or another output.
        InputError: no input was found, or a lookup table cannot be found or read (before
            any output is written).
    """
    given = list(inputs)
    if any(not spec.strip() for spec in given):
        raise UsageError(
            [_usage("an input path is empty (an unset variable?): name a file, a folder or -")]
        )
    reading = reading_of(plan, request.records)
    options = _options(plan, request)
    paths, problems = _expand(given, request)
    if problems and not paths:
        raise InputError([p.diagnostic for p in problems])
    read = _read_files(plan, request, mapping, paths)
    check_outputs(request, paths, read=read)
    _check_lookups(plan, paths, request)
    group = OutputGroup()
    try:
        with files_read([p for p in paths if p != STDIN] + list(read)):
            result = _run(plan, paths, reading, options, request, mapping, progress, group)
        result.report.inputs = given
        result.report.selector = request.records
        if plan.lookups:
            result.report.lookup_files = lookup_files(plan.lookups, paths, request.lookups)
        result.report.input_problems[:0] = [p.diagnostic for p in problems]
        result.notes = _notes(request) + _repeated_inputs(given, paths)
        if result.status is Status.OK:
            _finish(result, request, group)
            if group.late_stops:
                result.notes.append(LATE_STOP)
            _check_access(plan, result, request)
    except KeyboardInterrupt:
        if not group.published:
            raise
        checked = wants_check([plan], request.access)
        unchecked = ", the principals were not checked" if checked else ""
        result.status, result.stopped = Status.INTERRUPTED, STOPPED_AFTER_PUBLISH + unchecked
    finally:
        if not group.published:
            group.abort()  # nothing of this run appears beside the previous run's files
    return result


def _check_lookups(plan: Plan, paths: list[str], request: RunRequest) -> None:
    """Every lookup table the run will use is found and readable, before anything is written.

    Raises:
        InputError: the table's problems (`lookup.not-found`, `lookup.unreadable`, ...).
    """
    if plan.lookups:
        problems = table_problems(
            plan.lookups, [p for p in paths if not is_url(p)], request.lookups
        )
        if problems:
            raise InputError(problems)


def _check_access(plan: Plan, result: RunResult, request: RunRequest) -> None:
    """Check the principals of the written objects (see `run.access`), once they are in place;
    the report is written again with the findings."""
    if not wants_check([plan], request.access):
        return
    if request.output == STDOUT:
        result.notes.append("principals are not checked when the output is standard output")
        return
    try:
        result.access = check_access([plan], [request.output], request.access)
    except OutputError as error:
        result.status, result.diagnostics = Status.IO, list(error.diagnostics)
        return
    if result.access.has_errors and result.status is Status.OK:
        result.status = Status.REJECTED
    if result.report_file:
        data = result.report.to_dict()
        data["access"] = result.access.to_dict()
        try:
            write_atomic(result.report_file, json.dumps(data, indent=2).encode() + b"\n")
        except OutputError as error:  # the report written with the run stays, without them
            result.status, result.diagnostics = Status.IO, list(error.diagnostics)


def _expand(given: list[str], request: RunRequest) -> tuple[list[str], list[Any]]:
    """The input files; fsspec URLs are read by a cluster's workers only."""
    urls = [spec for spec in given if is_url(spec)]
    if not urls:
        return expand_inputs(given)
    if not request.is_distributed:
        message = f"{urls[0]}: URL inputs need --engine dask and a JSONL output file"
        raise UsageError([_usage(message)])
    from mapper.run.distributed import expand_sources

    return expand_sources(given)


def reading_of(plan: Plan, records: str | None, *, label: str = "--records") -> Reading:
    """How records are found in each document: the selector (`records`, else the mapping's
    `records:`) and its ijson path.

    Raises:
        UsageError: `records` does not compile (its diagnostics are located at `label`).
    """
    from mapper.paths import projection_base  # not the compiler: a cached plan never loads it

    expr = plan.records
    if records is not None:
        from mapper.language.compiler import compile_standalone

        expr, diags = compile_standalone(records, plan.functions, label)
        if expr is None:
            raise UsageError(diags)
    if expr is None:
        return Reading()
    return Reading(expr.evaluate, stream_path_of(projection_base(expr.ast)))


def _options(plan: Plan, request: RunRequest) -> RunOptions:
    if request.format == "batches" and request.output == STDOUT:
        raise UsageError([_usage("--format batches writes a folder of files: give -o FOLDER")])
    if len(request.properties) > MAX_PROPERTIES:
        raise UsageError(
            [_usage(f"--property: setObjects takes at most {MAX_PROPERTIES} properties")]
        )
    declared = [table.name for table in plan.lookups]
    for name in request.lookups:
        if name not in declared:
            hint = suggest(name, declared) or (
                f"the mapping declares {', '.join(declared)}"
                if declared
                else "the mapping declares no `lookups:`"
            )
            raise UsageError([_usage(f"--lookup {name}: no such lookup table; {hint}")])
    from mapper.language.params import resolve_params

    params, problems = resolve_params(plan.params, request.params)
    if problems:
        raise UsageError(problems)
    return RunOptions(
        request.policy,
        request.max_errors,
        dict(request.lookups),
        strict=request.strict,
        params=params,
    )


def _usage(message: str) -> Diagnostic:
    return Diagnostic("usage.invalid", message)


def _read_files(
    plan: Plan, request: RunRequest, mapping: str | Path | None, inputs: list[str]
) -> dict[str, str]:
    """The files a run reads besides its inputs, by what they are: the mapping and the lookup
    tables (given with --lookup, or found next to the inputs as the run will find them)."""
    files = {plan.path: "the mapping"} if Path(plan.path).is_file() else {}
    if mapping is not None:
        files[str(mapping)] = "the mapping"
    files.update({path: f"the mapping's include {path}" for path in plan.includes})
    files.update({path: f"the lookup table {name!r}" for name, path in request.lookups.items()})
    for table in plan.lookups:
        if table.name in request.lookups:
            continue
        for source in dict.fromkeys(str(Path(i).parent / "_") for i in inputs if i != STDIN):
            found = find_lookup_file(table.file, source)
            if found is not None:
                files.setdefault(found, f"the lookup table {table.name!r}")
    return files


def check_outputs(
    request: RunRequest, inputs: list[str], *, read: Mapping[str, str] | None = None
) -> None:
    """Refuse outputs that would replace an input, a file the run reads (`read`: path -> what
    it is, e.g. the mapping or a lookup table) or another output.

    Raises:
        UsageError: naming the option and the file.
    """
    if not request.output:  # (else its rejects and report would be `.rejects.jsonl` here)
        raise UsageError(
            [_usage("the output path is empty (an unset variable?): name a file, or - (stdout)")]
        )
    outputs = {
        "-o": request.output if request.format == "jsonl" else None,
        "--rejects": request.rejects_path,
        "--report": request.report_path,
    }
    seen: dict[str, str] = {}
    real_inputs = {os.path.realpath(i): f"the input {i}" for i in reversed(inputs) if i != STDIN}
    real_inputs.update({os.path.realpath(path): what for path, what in (read or {}).items()})
    if request.format == "batches" and request.output != STDOUT:
        _check_batch_folder(request.output, real_inputs)
    for option, path in outputs.items():
        if path is None or path == STDOUT:
            continue
        _check_regular(option, path)
        target = os.path.realpath(path)
        if target in seen:
            raise UsageError([_usage(f"{option} and {seen[target]} name the same file: {path}")])
        seen[target] = option
        clash = real_inputs.get(target)
        if clash is not None:
            raise UsageError([_usage(f"{option} {path} would overwrite {clash}")])


def _check_regular(option: str, path: str) -> None:
    """An output is a regular file, a symlink to one (the rename replaces the link) or does not
    exist: a FIFO, a device or a folder is refused before the run (`io.atomic.output_kind`)."""
    kind = output_kind(path)
    if kind is not None:
        raise UsageError([not_a_file(path, kind, option)])


def _check_batch_folder(folder: str, real_inputs: dict[str, str]) -> None:
    """The batch folder is a folder, and no input is a batch file in it (it would be
    overwritten, or removed as a stale batch of an earlier run)."""
    if os.path.lexists(folder) and not Path(folder).is_dir():
        raise UsageError([_usage(f"-o {folder}: --format batches writes into a folder")])
    where = os.path.realpath(folder)
    for real, given in real_inputs.items():
        if str(Path(real).parent) == where and re.fullmatch(BATCH_PATTERN, Path(real).name):
            raise UsageError(
                [_usage(f"-o {folder} would overwrite or remove {given} (a batch file)")]
            )


WORKERS_PER_CPU = 2
"""More processes than this per CPU only cost memory and start-up (mapping is CPU-bound)."""


def max_workers() -> int:
    """The most worker processes a run starts."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return WORKERS_PER_CPU * max(cpus, 1)


def _repeated_inputs(given: list[str], paths: list[str]) -> list[str]:
    """Each input file is read once; say so when one was named twice (also as two paths)."""
    counts: dict[str, int] = {}
    for spec in given:
        if spec != STDIN and Path(spec).is_file():
            real = os.path.realpath(spec)
            counts[real] = counts.get(real, 0) + 1
    return [
        f"the input {path} is given {counts[os.path.realpath(path)]} times: it is read once"
        for path in paths
        if path != STDIN and counts.get(os.path.realpath(path), 0) > 1
    ]


def _notes(request: RunRequest) -> list[str]:
    notes = []
    if request.engine == "dask" and not request.is_distributed:
        notes.append("--engine dask applies to JSONL output files; one process maps")
    elif request.workers > 1 and not request.is_parallel and request.engine == "local" and (
        not request.maps_for_sink
    ):
        notes.append("--workers applies to JSONL output files; one process maps")
    elif (request.is_parallel or request.maps_for_sink) and request.worker_count < request.workers:
        notes.append(
            f"--workers {request.workers}: {request.worker_count} worker processes "
            f"({WORKERS_PER_CPU} per CPU available)"
        )
    if request.format == "jsonl" and (request.connection_id or request.properties):
        notes.append("--connection-id and --property apply to --format batches")
    named = Path(request.output).name
    if request.format == "batches" and named.lower().endswith((".json", ".jsonl")):
        notes.append(f"--format batches writes a folder: {named}/ holds the batch files")
    return notes


def _run(
    plan: Plan,
    paths: list[str],
    reading: Reading,
    options: RunOptions,
    request: RunRequest,
    mapping: str | Path | None,
    progress: ProgressHook | None,
    group: OutputGroup,
) -> RunResult:
    """Map with one process or several; turn what stops a run into its status."""
    watched = InputProgress(paths)
    tick = None if progress is None else (lambda n: progress(n, watched))
    sink: Any = None
    try:
        if request.is_distributed:
            from mapper.run.distributed import run_distributed  # dask: only when asked for

            joined = run_distributed(
                mapping or plan.path, plan, paths, request, options, reading, tick, group
            )
            return _joined(joined, request)
        if request.maps_for_sink and request.worker_count > 1:
            from mapper.run.distributed import run_local_workers  # (the join of `--engine dask`)

            joined = run_local_workers(
                mapping or plan.path, plan, paths, request, options, reading, tick, group
            )
            return _joined(joined, request)
        if request.is_parallel:
            from mapper.run.parallel import run_parallel  # multiprocessing: only when needed

            report = run_parallel(
                mapping or plan.path,
                plan,
                paths,
                request,
                options,
                reading,
                tick,
                watched,
                group=group,
            )
            return RunResult(report, Status.OK, _written(request))
        sink = _sink(request, group)
        return _run_serial(plan, paths, reading, options, request, sink, tick, watched, group)
    except KeyboardInterrupt:
        done = f" after {sink.count} objects" if sink is not None else ""
        message = f"interrupted{done}: no output file was written (partial files removed)"
        return RunResult(RunReport(plan.path), Status.INTERRUPTED, stopped=message)
    except RecordError as error:
        return RunResult(
            RunReport(plan.path),
            Status.REJECTED,
            diagnostics=list(error.diagnostics),
            stopped="stopped (--fail-fast): no output file was written",
        )
    except OutputError as error:
        return RunResult(RunReport(plan.path), Status.IO, diagnostics=list(error.diagnostics))


def _sink(request: RunRequest, group: OutputGroup) -> Sink:
    if request.sink is not None:
        return request.sink
    set_form = request.associations == "set"
    if request.format == "batches":
        return BatchSink(
            request.output,
            connection_id=request.connection_id,
            properties=dict(request.properties),
            set_associations=set_form,
            group=group if request.output != STDOUT else None,
        )
    return JsonlSink(request.output, set_associations=set_form, group=group)


def _run_serial(
    plan: Plan,
    paths: list[str],
    reading: Reading,
    options: RunOptions,
    request: RunRequest,
    sink: Any,
    tick: Callable[[int], None] | None,
    watched: InputProgress,
    group: OutputGroup,
) -> RunResult:
    rejects_path = request.rejects_path
    try:
        quarantine = RejectsSink(
            rejects_path, keep=0 if rejects_path else request.shown_rejects, group=group
        )
    except OutputError:
        sink.abort()
        raise
    known = known_lines(plan, sink, options)
    items = iter_records(paths, **reading.kwargs(), progress=watched, known=known)
    with sink, quarantine:
        if isinstance(sink, JsonlSink):
            sink.sync_in_background()
        report = run(plan, items, sink=sink, rejects=quarantine, options=options, progress=tick)
    result = RunResult(report, Status.OK, _written(request))
    if quarantine.records and not rejects_path:
        result.rejected_shown = quarantine.kept
    return result


def _joined(joined: Joined, request: RunRequest) -> RunResult:
    """The result of a run whose parts were joined in this process (`run.distributed`)."""
    result = RunResult(joined.report, Status.OK, _written(request))
    result.rejected_shown = joined.rejected_shown
    return result


def _written(request: RunRequest) -> list[str]:
    files = [request.output] if request.output != STDOUT else []
    return files + [p for p in (request.rejects_path,) if p]


def _finish(result: RunResult, request: RunRequest, group: OutputGroup) -> None:
    """Write the report, rename the run's files into place together, and set the status."""
    report = result.report
    path = request.report_path
    try:
        data = json.dumps(report.to_dict(), indent=2).encode() + b"\n"
        if path and is_url(path):  # a distributed run's report on an object store
            from mapper.io.remote import write_url_atomic

            group.publish()
            write_url_atomic(path, data)
        else:
            if path:
                write_atomic(path, data, group)
            group.publish()
    except OutputError as error:
        result.status, result.diagnostics = Status.IO, list(error.diagnostics)
        result.written = []
        return
    if path:
        result.written.append(path)
        result.report_file = path
    if report.input_problems:
        result.status = Status.IO
    elif report.records_with_errors:
        result.status = Status.REJECTED
