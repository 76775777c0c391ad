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

from mapper.access.checks import AccessFindings
from mapper.errors import Diagnostic, MapperError, OutputError, RecordError, suggest
from mapper.io.atomic import write_atomic
from mapper.io.inputs import STDIN, InputProgress, expand_inputs, iter_records, stream_path_of
from mapper.io.sinks import MAX_PROPERTIES, STDOUT, BatchSink, JsonlSink, RejectsSink, Sink
from mapper.language.plan import Plan
from mapper.run.access import AccessRequest, check_access, wants_check
from mapper.run.parts import Reading
from mapper.run.pipeline import run
from mapper.run.policy import ErrorPolicy, RunOptions
from mapper.run.report import RunReport
from mapper.run.status import Status

OutputFormat = Literal["jsonl", "batches"]
AssociationForm = Literal["array", "set"]
ProgressHook = Callable[[int, InputProgress], None]
"""Called as records are counted: (records so far, how much of the inputs was read)."""


class UsageError(MapperError):
    """The request cannot be run as given (found before any record is read): exit 2."""


class InputError(MapperError):
    """None of the inputs could be found: exit 4, nothing was written."""


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
    def is_parallel(self) -> bool:
        """Several worker processes can map it (JSONL into a file)."""
        return self.workers > 1 and self.format == "jsonl" and self.output != STDOUT


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
    paths, problems = expand_inputs(given)
    if problems and not paths:
        raise InputError([p.diagnostic for p in problems])
    check_outputs(request, paths)
    result = _run(plan, paths, reading, options, request, mapping, progress)
    result.report.inputs = given
    result.report.input_problems[:0] = [p.diagnostic for p in problems]
    result.notes = _notes(request)
    if result.status is Status.OK:
        _check_access(plan, result, request)
    if result.status is Status.OK:
        _finish(result, request)
    return result


def _check_access(plan: Plan, result: RunResult, request: RunRequest) -> None:
    """Check the principals of the written objects (see `run.access`)."""
    if not wants_check([plan], request.access):
        return
    if request.output == STDOUT:
        result.notes.append("principals are not checked when the output is standard output")
        return
    try:
        result.access = check_access([plan], [request.output], request.access)
    except OutputError as error:
        result.status, result.diagnostics = Status.IO, list(error.diagnostics)


def reading_of(plan: Plan, records: str | None) -> Reading:
    """How records are found in each document: the selector and its ijson path."""
    from mapper.language.checks import projection_base
    from mapper.language.compiler import compile_standalone

    expr = plan.records
    if records is not None:
        expr, diags = compile_standalone(records, plan.functions, "--records")
        if expr is None:
            raise UsageError(diags)
    if expr is None:
        return Reading()
    return Reading(expr.evaluate, stream_path_of(projection_base(expr.ast)))


def _options(plan: Plan, request: RunRequest) -> RunOptions:
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


def check_outputs(request: RunRequest, inputs: list[str]) -> None:
    """Refuse outputs that would replace an input or another output.

    Raises:
        UsageError: naming the option and the file.
    """
    outputs = {
        "-o": request.output if request.format == "jsonl" else None,
        "--rejects": request.rejects_path,
        "--report": request.report_path,
    }
    seen: dict[str, str] = {}
    real_inputs = {os.path.realpath(i): i for i in reversed(inputs) if i != STDIN}
    for option, path in outputs.items():
        if path is None or path == STDOUT:
            continue
        target = os.path.realpath(path)
        if target in seen:
            raise UsageError([_usage(f"{option} and {seen[target]} name the same file: {path}")])
        seen[target] = option
        clash = real_inputs.get(target)
        if clash is not None:
            raise UsageError([_usage(f"{option} {path} would overwrite the input {clash}")])


def _notes(request: RunRequest) -> list[str]:
    notes = []
    if request.workers > 1 and not request.is_parallel:
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
        data = report.to_dict()
        if result.access is not None:
            data["access"] = result.access.to_dict()
        try:
            write_atomic(path, json.dumps(data, indent=2).encode() + b"\n")
        except OutputError as error:
            result.status, result.diagnostics = Status.IO, list(error.diagnostics)
            return
        result.written.append(path)
        result.report_file = path
    if report.input_problems:
        result.status = Status.IO
    elif report.records_rejected or (result.access is not None and result.access.has_errors):
        result.status = Status.REJECTED

