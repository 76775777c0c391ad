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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mapper.errors import (
    Diagnostic,
    InputError,
    OutputError,
    RecordError,
    UsageError,
    suggest,
)
from mapper.io.atomic import write_atomic
from mapper.io.inputs import STDIN, InputProgress, expand_inputs, iter_records, stream_path_of
from mapper.io.lookups import find_lookup_file
from mapper.io.sinks import MAX_PROPERTIES, STDOUT, BatchSink, JsonlSink, RejectsSink, Sink
from mapper.language.plan import Plan
from mapper.run.parts import Reading
from mapper.run.pipeline import run
from mapper.run.policy import ErrorPolicy, RunOptions
from mapper.run.report import RunReport
from mapper.run.status import Status

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
    def is_parallel(self) -> bool:
        """Several worker processes can map it (JSONL into a file)."""
        return (
            self.workers > 1 and self.format == "jsonl" and self.output != STDOUT and not self.sink
        )

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
        InputError: no input was found.
    """
    given = list(inputs)
    reading = reading_of(plan, request.records)
    options = _options(plan, request)
    paths, problems = _expand(given, request)
    if problems and not paths:
        raise InputError([p.diagnostic for p in problems])
    check_outputs(request, paths, read=_read_files(plan, request, mapping, paths))
    result = _run(plan, paths, reading, options, request, mapping, progress)
    result.report.inputs = given
    result.report.input_problems[:0] = [p.diagnostic for p in problems]
    result.notes = _notes(request)
    if result.status is Status.OK:
        _finish(result, request)
    return result


def _expand(given: list[str], request: RunRequest) -> tuple[list[str], list[Any]]:
    """The input files; fsspec URLs are read by a cluster's workers only."""
    from mapper.io.remote import is_url

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
    from mapper.language.checks import projection_base
    from mapper.language.compiler import compile_standalone

    expr = plan.records
    if records is not None:
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
    return RunOptions(request.policy, request.max_errors, dict(request.lookups))


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
    outputs = {
        "-o": request.output if request.format == "jsonl" else None,
        "--rejects": request.rejects_path,
        "--report": request.report_path,
    }
    seen: dict[str, str] = {}
    real_inputs = {os.path.realpath(i): f"the input {i}" for i in reversed(inputs) if i != STDIN}
    real_inputs.update({os.path.realpath(path): what for path, what in (read or {}).items()})
    for option, path in outputs.items():
        if path is None or path == STDOUT:
            continue
        target = os.path.realpath(path)
        if target in seen:
            raise UsageError([_usage(f"{option} and {seen[target]} name the same file: {path}")])
        seen[target] = option
        clash = real_inputs.get(target)
        if clash is not None:
            raise UsageError([_usage(f"{option} {path} would overwrite {clash}")])


def _notes(request: RunRequest) -> list[str]:
    notes = []
    if request.engine == "dask" and not request.is_distributed:
        notes.append("--engine dask applies to JSONL output files; one process maps")
    elif request.workers > 1 and not request.is_parallel and request.engine == "local":
        notes.append("--workers applies to JSONL output files; one process maps")
    if request.format == "jsonl" and (request.connection_id or request.properties):
        notes.append("--connection-id and --property apply to --format batches")
    return notes


def _run(
    plan: Plan,
    paths: list[str],
    reading: Reading,
    options: RunOptions,
    request: RunRequest,
    mapping: str | Path | None,
    progress: ProgressHook | None,
) -> RunResult:
    """Map with one process or several; turn what stops a run into its status."""
    watched = InputProgress(paths)
    tick = None if progress is None else (lambda n: progress(n, watched))
    sink: Any = None
    try:
        if request.is_distributed:
            from mapper.run.distributed import run_distributed  # dask: only when asked for

            report = run_distributed(
                mapping or plan.path, plan, paths, request, options, reading, tick
            )
            return RunResult(report, Status.OK, _written(request))
        if request.is_parallel:
            from mapper.run.parallel import run_parallel  # multiprocessing: only when needed

            report = run_parallel(
                mapping or plan.path, plan, paths, request, options, reading, tick, watched
            )
            return RunResult(report, Status.OK, _written(request))
        sink = _sink(request)
        return _run_serial(plan, paths, reading, options, request, sink, tick, watched)
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


def _sink(request: RunRequest) -> Sink:
    if request.sink is not None:
        return request.sink
    set_form = request.associations == "set"
    if request.format == "batches":
        return BatchSink(
            request.output,
            connection_id=request.connection_id,
            properties=dict(request.properties),
            set_associations=set_form,
        )
    return JsonlSink(request.output, set_associations=set_form)


def _run_serial(
    plan: Plan,
    paths: list[str],
    reading: Reading,
    options: RunOptions,
    request: RunRequest,
    sink: Any,
    tick: Callable[[int], None] | None,
    watched: InputProgress,
) -> RunResult:
    rejects_path = request.rejects_path
    try:
        quarantine = RejectsSink(rejects_path, keep=0 if rejects_path else request.shown_rejects)
    except OutputError:
        sink.abort()
        raise
    items = iter_records(paths, **reading.kwargs(), progress=watched)
    with sink, quarantine:
        if isinstance(sink, JsonlSink):
            sink.sync_in_background()
        report = run(plan, items, sink=sink, rejects=quarantine, options=options, progress=tick)
    result = RunResult(report, Status.OK, _written(request))
    if quarantine.count and not rejects_path:
        result.rejected_shown = quarantine.kept
    return result


def _written(request: RunRequest) -> list[str]:
    files = [request.output] if request.output != STDOUT else []
    return files + [p for p in (request.rejects_path,) if p]


def _finish(result: RunResult, request: RunRequest) -> None:
    """Write the report, and set the status from the counts."""
    report = result.report
    path = request.report_path
    if path:
        try:
            _write_whole(path, json.dumps(report.to_dict(), indent=2).encode() + b"\n")
        except OutputError as error:
            result.status, result.diagnostics = Status.IO, list(error.diagnostics)
            return
        result.written.append(path)
        result.report_file = path
    if report.input_problems:
        result.status = Status.IO
    elif report.records_rejected:
        result.status = Status.REJECTED



def _write_whole(path: str, data: bytes) -> None:
    """Write a file atomically: a local path, or an fsspec URL (a distributed run's report)."""
    from mapper.io.remote import is_url, write_url_atomic

    if is_url(path):
        write_url_atomic(path, data)
    else:
        write_atomic(path, data)
