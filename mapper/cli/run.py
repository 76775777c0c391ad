"""`mapper run` and `mapper batch`: parse the options, call the library's run use case, print
(the outcome through `outcome.py`, the progress line through `progress.py`)."""

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from mapper._entry import exit_quickly
from mapper.cli.console import (
    EXIT_INTERRUPTED,
    EXIT_IO,
    EXIT_MAPPING,
    EXIT_OK,
    EXIT_REJECTED,
    EXIT_USAGE,
    AssocForm,
    DiagnosticsFileOpt,
    DiagnosticsOpt,
    InputsArg,
    MachineReport,
    MappingArg,
    ParamOpt,
    RecordsOpt,
    compile_or_exit,
    err,
    fail,
    literal,
    machine_report,
    parse_pairs,
    parse_properties,
    show_alarms,
    show_diagnostics,
    usage_problems,
)
from mapper.cli.outcome import show_result, summarised
from mapper.cli.progress import ProgressLine
from mapper.errors import Diagnostic
from mapper.signals import too_late_to_stop

if TYPE_CHECKING:  # the commands import the library when they run: a shorter start-up
    from mapper.run.files import RunRequest
    from mapper.run.jobs import Job


CheckAccessOpt = Annotated[
    bool,
    typer.Option(
        "--check-access", help="Check USER/GROUP principals against the users/groups written."
    ),
]
StrictOpt = Annotated[
    bool,
    typer.Option(
        "--strict",
        help="An optional field that fails rejects its object, and principals that name no "
        "user/group sent are errors (exit 3).",
    ),
]
ReplicatesOpt = Annotated[
    bool,
    typer.Option(
        "--replicates-permissions",
        help="The connector replicates permissions: report objects open to EVERYONE/workspace.",
    ),
]


def access_request(check: bool, strict: bool, replicates: bool) -> Any:
    """The run's `AccessRequest` from the access options."""
    from mapper.run.access import AccessRequest

    return AccessRequest(check=check or strict, strict=strict, replicates_permissions=replicates)


class Format(str, Enum):
    """Output formats of `mapper run`."""

    jsonl = "jsonl"
    batches = "batches"


class EngineName(str, Enum):
    """Where `mapper run` maps."""

    local = "local"
    dask = "dask"


def run_cmd(
    mapping: MappingArg,
    inputs: InputsArg,
    output: Annotated[
        str,
        typer.Option(
            "-o", "--output", help="Output file (jsonl), folder (batches), or - for stdout."
        ),
    ],
    fmt: Annotated[
        Format, typer.Option("--format", help="jsonl or setObjects batches.")
    ] = Format.jsonl,
    records: RecordsOpt = None,
    rejects: Annotated[
        str | None, typer.Option(help="Rejects file (default OUTPUT.rejects.jsonl).")
    ] = None,
    report: Annotated[
        str | None, typer.Option(help="Run report (default OUTPUT.report.json).")
    ] = None,
    lookup: Annotated[list[str], typer.Option(help="NAME=PATH for a `lookups:` table.")] = [],  # noqa: B006
    fail_fast: Annotated[
        bool, typer.Option("--fail-fast", help="Stop at the first rejected record.")
    ] = False,
    max_errors: Annotated[
        int | None,
        typer.Option(help="Tolerate this many rejected records; stop at the next one.", min=0),
    ] = None,
    connection_id: Annotated[str | None, typer.Option(help="connectionId for batches.")] = None,
    prop: Annotated[
        list[str], typer.Option("--property", help="KEY=VALUE tag for batches (≤5).")
    ] = [],  # noqa: B006
    associations: Annotated[
        AssocForm, typer.Option(help="array (documented) or set form.")
    ] = AssocForm.array,
    workers: Annotated[int, typer.Option(help="Worker processes (JSONL output).", min=1)] = 1,
    engine: Annotated[
        EngineName,
        typer.Option(help="local processes, or a Dask cluster (pip install 'twg-mapper[dask]')."),
    ] = EngineName.local,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Dask scheduler address (--engine dask); default: a LocalCluster."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary.")] = False,
    param: ParamOpt = [],  # noqa: B006
    check_access: CheckAccessOpt = False,
    strict: StrictOpt = False,
    replicates_permissions: ReplicatesOpt = False,
    no_cache: Annotated[
        bool,
        typer.Option(
            "--no-cache",
            help="Compile the mapping afresh: neither use nor update the compiled-mapping cache.",
        ),
    ] = False,
    diagnostics: DiagnosticsOpt = None,
    diagnostics_file: DiagnosticsFileOpt = None,
) -> None:
    """Map every input record; write objects, rejected records and a run report.

    `--diagnostics json|sarif|github` reports the run's problems (mapping warnings and errors,
    input problems, what stopped the run, the errors of the first 1,000 rejected records with
    file, record and JSON pointer) for machines on stderr, or in `--diagnostics-file FILE`;
    `--diagnostics text` ends the usual report with the `N errors, M warnings` line.

    Example:
    `mapper run mappings/github/push.yaml samples/github/push-webhook.json -o out/push.jsonl`
    """
    from mapper.run.files import RunRequest
    from mapper.run.policy import ErrorPolicy

    request = RunRequest(
        output=output,
        format=fmt.value,
        rejects=rejects,
        report=report,
        records=records,
        lookups=parse_pairs(lookup, "--lookup"),
        policy=ErrorPolicy.FAIL_FAST if fail_fast else ErrorPolicy.SKIP_RECORD,
        max_errors=max_errors,
        workers=workers,
        engine=engine.value,
        scheduler=scheduler,
        associations=associations.value,
        connection_id=connection_id,
        properties=parse_properties(prop),
        strict=strict,
        params=parse_pairs(param, "--param"),
        access=access_request(check_access, strict, replicates_permissions),
    )
    report_to = machine_report(diagnostics, diagnostics_file)
    result = run_request(
        mapping, inputs, request, quiet=quiet, cache=not no_cache, report=report_to
    )
    exit_quickly()  # every output is closed (renamed into place, or removed)
    raise typer.Exit(result.status)


def run_request(
    mapping: Path,
    inputs: list[str],
    request: "RunRequest",
    *,
    quiet: bool,
    cache: bool = True,
    report: MachineReport | None = None,
    late_stops: list[int] | None = None,
) -> Any:
    """Compile (through the compiled-mapping cache unless `cache` is False), run and print one
    run's outcome (shared by `run` and `batch`); with a machine `report`, its problems are
    gathered into it and reported at the end. A stop signal that comes while the outcome is
    printed is too late to stop the run: it is put in `late_stops` (a batch stops after it)."""
    from mapper.run.files import InputError, UsageError, run_files

    plan = compile_or_exit(mapping, cache=cache, report=report)
    try:
        with ProgressLine(enabled=not quiet) as line:
            tick = line.tick if line.enabled else None  # (no call per record for nothing)
            result = run_files(plan, inputs, request, mapping=mapping, progress=tick)
    except UsageError as error:
        fail(EXIT_USAGE, *usage_problems(list(error.diagnostics)))
    except InputError as error:
        _fail_input(list(error.diagnostics), report)
    with too_late_to_stop() as stops:
        show_result(result, quiet=quiet, request=request, report=report)
        show_alarms(result.report, plan)
        if report is not None:
            report.emit()
    if late_stops is not None:
        late_stops.extend(stops)
    return result


def _fail_input(diags: list[Diagnostic], report: MachineReport | None) -> NoReturn:
    """No input could be read: exit 4 with its problems (for people and/or the report)."""
    if report is None or report.people:
        show_diagnostics(diags)
        err.print("[red]no record was mapped: no output was written[/]")
    if report is not None:
        report.add(diags)
        report.emit()
    raise typer.Exit(EXIT_IO)


def batch(
    jobs_files: Annotated[
        list[Path], typer.Argument(help="Jobs files (YAML).", show_default=False)
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output folder.")] = Path("out"),
    check_access: CheckAccessOpt = False,
    strict: StrictOpt = False,
    replicates_permissions: ReplicatesOpt = False,
) -> None:
    """Run every job of jobs files (mapping + inputs), e.g. all bundled mappings on their samples.

    A jobs file holds `jobs: [{name, mapping, inputs: [...], records?}]`, paths relative to it;
    each job writes `DIR/NAME.jsonl`. All jobs files are checked first: if one has a problem,
    every problem is printed (file:line:col) and no job runs (exit 1; 4 if a file cannot be
    read). Otherwise the exit code is the worst of the jobs'.

    Example: `mapper batch mappings/*/jobs.yaml -o out`
    """
    from mapper.run.jobs import UNREADABLE, load_jobs

    jobs, problems = load_jobs(jobs_files)
    if problems:
        code = EXIT_IO if any(d.code == UNREADABLE for d in problems) else EXIT_MAPPING
        fail(code, problems, "[red]no job was run: fix the jobs file(s) and rerun[/]")
    codes: list[int] = []
    late: list[int] = []  # a stop signal that came as a job's outcome was printed
    for job in jobs:
        codes.append(_run_job(job, output, late))
        if codes[-1] == EXIT_INTERRUPTED:
            break  # Ctrl-C stops the batch, not only the job that was running
        if late:  # (the job had finished: the batch stops after it)
            err.print(f"[yellow]interrupted after job {literal(job.name)}[/]")
            break
    failed = sum(c not in (EXIT_OK, EXIT_REJECTED) for c in codes)
    err.print(f"{len(codes)} of {len(jobs)} job(s) run, {failed} failed")
    request = access_request(check_access, strict, replicates_permissions)
    codes.append(_check_jobs_access(jobs[: len(codes)], output, request))
    if late:
        codes.append(EXIT_INTERRUPTED)
    raise typer.Exit(max(codes, default=EXIT_OK))


def _check_jobs_access(jobs: "tuple[Job, ...]", output: Path, request: Any) -> int:
    """Check principals across the jobs of each jobs file (one system's run); the exit code."""
    from mapper.errors import OutputError
    from mapper.run.access import check_jobs

    by_file: dict[str, list[tuple[str, str]]] = {}
    for job in jobs:
        where = job.span.path if job.span else ""
        by_file.setdefault(where, []).append((str(job.mapping), str(output / f"{job.name}.jsonl")))
    code = EXIT_OK
    for where, pairs in by_file.items():
        try:
            findings = check_jobs(pairs, request)
        except OutputError as error:
            show_diagnostics(list(error.diagnostics))
            code = max(code, EXIT_IO)
            continue
        if findings is None:
            continue
        from mapper.cli.access import show_findings

        err.rule(f"access: {literal(where)}")
        show_findings(findings)
        code = max(code, EXIT_REJECTED if findings.has_errors else EXIT_OK)
    return code


def _run_job(job: "Job", output: Path, late_stops: list[int]) -> int:
    """Run one job through the run use case; say where its objects are, or that it wrote none
    (a stop signal that came once it had finished goes in `late_stops`)."""
    from mapper.run.files import RunRequest

    target = str(output / f"{job.name}.jsonl")
    err.rule(f"{job.name}: {job.mapping}")
    from mapper.run.access import AccessRequest

    # the principals of a jobs file's jobs are checked together, after the last one
    request = RunRequest(
        output=target,
        records=job.records,
        params=dict(job.params),
        access=AccessRequest(enabled=False),
    )
    try:
        result = run_request(
            job.mapping, list(job.inputs), request, quiet=False, late_stops=late_stops
        )
    except typer.Exit as done:  # the mapping did not compile, or the request was refused
        code = int(done.exit_code or EXIT_OK)
        err.print(f"[red]job {literal(job.name)} failed (exit {code}): no objects written[/]")
        return code
    if target in result.written:
        if not summarised(result):  # the summary names the files it wrote
            err.print(f"objects: {literal(target)}")
    else:
        code = int(result.status)
        err.print(f"[red]job {literal(job.name)} failed (exit {code}): no objects written[/]")
    return int(result.status)
