"""`mapper sync` (keep Teamwork Graph in sync with a state file) and `mapper state ...`."""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, NamedTuple, NoReturn

import typer

from mapper.cli.console import (
    EXIT_INTERRUPTED,
    EXIT_IO,
    EXIT_MAPPING,
    EXIT_OK,
    EXIT_REJECTED,
    EXIT_USAGE,
    AssocForm,
    ParamOpt,
    err,
    fail,
    out,
)
from mapper.signals import too_late_to_stop
from mapper.sync.stage import HASH_EXCLUDED, Mode

if TYPE_CHECKING:
    from mapper.language.plan import Plan
    from mapper.sync.report import SyncReport
    from mapper.sync.runner import SyncRequest, SyncResult

StateOpt = Annotated[
    Path,
    typer.Option("--state", help="The state file (SQLite), one per connection and mapping."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON instead of a table.")]
ModeOpt = Annotated[Mode, typer.Option(help="append, upsert or mirror.")]
ConnectionOpt = Annotated[
    str | None, typer.Option(help="connectionId (required on the first run).")
]
PartialOpt = Annotated[
    bool, typer.Option(help="The inputs are a subset of the source: never delete.")
]
MassDeleteOpt = Annotated[
    bool, typer.Option(help="Let a mirror run delete more than --max-delete-share.")
]


def _share(value: float) -> float:
    """--max-delete-share: the range check lets NaN through (it compares false)."""
    if math.isnan(value):
        raise typer.BadParameter(f"{value} is not in the range 0<=x<=1.")
    return value


ShareOpt = Annotated[
    float,
    typer.Option(
        help="Share of known objects a mirror run may delete.", min=0, max=1, callback=_share
    ),
]
DryRunOpt = Annotated[
    bool, typer.Option(help="Write the output folder, but record nothing in the state.")
]
PropertyOpt = Annotated[
    list[str], typer.Option("--property", help="KEY=VALUE tag for batches (≤5).")
]
FailFastOpt = Annotated[bool, typer.Option(help="Stop at the first rejected record.")]
MaxErrorsOpt = Annotated[int | None, typer.Option(help="Tolerate this many rejects.", min=0)]
HashExcludeOpt = Annotated[
    list[str], typer.Option(help="Another top-level field left out of the content hash.")
]
AssocOpt = Annotated[
    AssocForm, typer.Option(help="array (documented) or set form, as `mapper run`.")
]
WorkersOpt = Annotated[
    int,
    typer.Option(help="Processes that map into an empty state (or a Dask LocalCluster's).", min=1),
]

state_app = typer.Typer(
    name="state", no_args_is_help=True, rich_markup_mode=None,
    help="Inspect or edit a sync state file.",
)  # fmt: skip


def _fail(code: int, diags: Any = None, message: str | None = None) -> NoReturn:
    fail(code, list(diags) if diags else None, message)


def sync(
    mapping: Annotated[Path, typer.Argument(help="Mapping file (YAML).", show_default=False)],
    inputs: Annotated[list[str], typer.Argument(help="The source export.", show_default=False)],
    state: StateOpt,
    output: Annotated[Path, typer.Option("-o", "--output", help="Output folder (replaced whole).")],
    mode: ModeOpt = Mode.upsert,
    connection_id: ConnectionOpt = None,
    prop: PropertyOpt = [],  # noqa: B006
    records: Annotated[str | None, typer.Option("--records", help="Records selector.")] = None,
    lookup: Annotated[list[str], typer.Option(help="NAME=PATH for a `lookups:` table.")] = [],  # noqa: B006
    param: ParamOpt = [],  # noqa: B006
    incremental: Annotated[
        bool,
        typer.Option(
            help="The inputs hold changes since the cursor only: never delete; a `since` "
            "parameter of the mapping gets the cursor."
        ),
    ] = False,
    partial: PartialOpt = False,
    allow_mass_delete: MassDeleteOpt = False,
    max_delete_share: ShareOpt = 0.5,
    dry_run: DryRunOpt = False,
    strict: Annotated[
        bool, typer.Option(help="A dangling parentKey/containerKey (an unknown principal) fails.")
    ] = False,
    fail_fast: FailFastOpt = False,
    max_errors: MaxErrorsOpt = None,
    hash_exclude: HashExcludeOpt = [],  # noqa: B006
    associations: AssocOpt = AssocForm.array,
    set_associations: Annotated[
        bool, typer.Option("--associations-set", hidden=True, help="--associations set.")
    ] = False,
    workers: WorkersOpt = 1,
    engine: Annotated[
        str, typer.Option(help="local, or dask: map on a Dask cluster (the state stays here).")
    ] = "local",
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address (--engine dask).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary.")] = False,
) -> None:
    """Map an export and write only what Teamwork Graph must change (new, changed, deleted).

    setObjects bodies for new and changed objects and, in mirror mode, delete bodies for the
    ids a full run did not see; the state file remembers what was sent.

    Example: `mapper sync push.yaml export/ --state gh.db --mode mirror -o out --connection-id C`
    """
    from mapper.cli import console
    from mapper.run.policy import ErrorPolicy
    from mapper.sync.runner import SyncRequest

    props = console.parse_properties(prop)
    plan = console.compile_or_exit(mapping, cache=True)
    _bind_params(plan, param)
    request = SyncRequest(
        state=state, output=output, mode=mode, connection_id=connection_id, properties=props,
        set_associations=set_associations or associations is AssocForm.set,
        incremental=incremental, partial=partial,
        allow_mass_delete=allow_mass_delete, max_delete_share=max_delete_share, strict=strict,
        policy=ErrorPolicy.FAIL_FAST if fail_fast else ErrorPolicy.SKIP_RECORD,
        max_errors=max_errors, lookups=console.parse_pairs(lookup, "--lookup"), records=records,
        params=console.parse_pairs(param, "--param"),
        hash_exclude=HASH_EXCLUDED | frozenset(hash_exclude),
        workers=workers, engine=_engine(engine), scheduler=scheduler, dry_run=dry_run,
    )  # fmt: skip
    result = _synced(plan, inputs, request)
    if result is None:  # (exits outside the except block: main() would say "interrupted" again)
        _fail(EXIT_INTERRUPTED, message="interrupted: the state and the output are unchanged")
    if not quiet:
        with too_late_to_stop():  # (the run is committed: a Ctrl-C now would only say otherwise)
            _show_summary(err, result)
    access = _check_synced_access([plan], [output], [state], strict, quiet=quiet)
    _exit(result, access)


def _bind_params(plan: Plan, param: list[str]) -> None:
    """A missing or unknown parameter: exit 2 before the state (`since` is the sync's to fill)."""
    from mapper.cli import console

    fills_since = any(p.name == "since" for p in plan.params)
    given = {pair.partition("=")[0] for pair in param}
    filled = [*param, "since=0"] if fills_since and "since" not in given else param
    console.bind_params(plan, filled)


def sync_batch(
    jobs_files: Annotated[
        list[Path], typer.Argument(help="Jobs files (YAML), as `mapper batch`.", show_default=False)
    ],
    state: Annotated[
        Path, typer.Option("--state", help="Folder of the state files: one per job, NAME.db.")
    ],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Output folder: one folder per job, NAME.")
    ],
    mode: ModeOpt = Mode.upsert,
    connection_id: ConnectionOpt = None,
    incremental: Annotated[
        bool, typer.Option(help="The inputs hold changes since each state's cursor only.")
    ] = False,
    partial: PartialOpt = False,
    allow_mass_delete: MassDeleteOpt = False,
    max_delete_share: ShareOpt = 0.5,
    dry_run: DryRunOpt = False,
    strict: Annotated[
        bool, typer.Option(help="Dangling keys and unknown principals fail (exit 3).")
    ] = False,
    prop: PropertyOpt = [],  # noqa: B006
    fail_fast: FailFastOpt = False,
    max_errors: MaxErrorsOpt = None,
    hash_exclude: HashExcludeOpt = [],  # noqa: B006
    associations: AssocOpt = AssocForm.array,
    workers: WorkersOpt = 1,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summaries.")] = False,
) -> None:
    """Sync every job of jobs files: a connector's mappings, users and groups included, each
    with its own state (STATE/NAME.db) and output folder (DIR/NAME).

    All jobs files are checked first (as `mapper batch`). Then every job runs as `mapper sync`;
    a job that fails does not stop the others. Last, the principals the jobs sent are checked
    against the users and groups sent or live in the states. The exit code is the worst.

    Example: `mapper sync-batch mappings/github/jobs.yaml --state .mapper/github -o out/gh-sync`
    """
    from mapper.run.jobs import UNREADABLE, load_jobs
    from mapper.sync.runner import SyncRequest

    jobs, problems = load_jobs(jobs_files)
    if problems:
        unreadable = any(d.code == UNREADABLE for d in problems)
        message = "[red]no job was run: fix the jobs file(s) and rerun[/]"
        fail(EXIT_IO if unreadable else EXIT_MAPPING, problems, message)
    from rich.text import Text

    from mapper.cli import console
    from mapper.run.policy import ErrorPolicy

    props = console.parse_properties(prop)
    plans = _check_batch(jobs, state, output, connection_id)
    base = SyncRequest(
        state=state, output=output, mode=mode, connection_id=connection_id, properties=props,
        set_associations=associations is AssocForm.set,
        incremental=incremental, partial=partial, allow_mass_delete=allow_mass_delete,
        max_delete_share=max_delete_share, strict=strict, dry_run=dry_run,
        policy=ErrorPolicy.FAIL_FAST if fail_fast else ErrorPolicy.SKIP_RECORD,
        max_errors=max_errors, hash_exclude=HASH_EXCLUDED | frozenset(hash_exclude),
        workers=workers,
    )  # fmt: skip
    outcome = _Batch()
    late: list[int] = []  # a stop signal that came as a synced job's summary was printed
    with _locked(state):
        try:
            for job, plan in zip(jobs, plans, strict=True):
                if not quiet:
                    err.rule(f"{job.name}: {job.mapping}")
                code, done = _sync_job(job, plan, base, jobs, quiet=quiet, late_stops=late)
                outcome.add(job.name, code, done)
                if code == EXIT_INTERRUPTED:
                    break  # Ctrl-C stops the batch, not only the job that was running
                if late:  # (that job is synced: the batch stops after it)
                    outcome.stopped_after = job.name
                    break
        finally:
            stopped = outcome.interrupted or outcome.stopped_after is not None
            if not dry_run and not stopped:  # (a dry run changes nothing)
                _remove_stale(output, jobs, outcome.sent)
    err.print(outcome.summary(len(jobs)))
    if outcome.stopped_after is not None:
        err.print(f"[red]interrupted after job {outcome.stopped_after!r} was synced: the jobs "
                  "not run keep their earlier folders; run the batch again before sending "
                  "any[/]")  # fmt: skip
        raise typer.Exit(EXIT_INTERRUPTED)
    if outcome.interrupted:
        err.print("[red]interrupted: the jobs not synced keep their earlier folders; run the "
                  "batch again before sending any[/]")  # fmt: skip
        raise typer.Exit(EXIT_INTERRUPTED)
    if dry_run:
        err.print(Text(
            "dry run: nothing was recorded in the states; where jobs overlap, a later job "
            "decided against the states as they were, so the real run can decide otherwise "
            "there (kept or deleted ids, dangling references)", style="yellow",
        ))  # fmt: skip
    _show_send_order({name: done.result for name, done in outcome.sent.items()}, output)
    if not dry_run:
        _show_shared(jobs, state, outcome.sent)
    written = [done.request.output for done in outcome.sent.values()]
    states = [state / f"{job.name}.db" for job in jobs]
    access = _check_synced_access(plans, written, states, strict, quiet=quiet)
    raise typer.Exit(max([*outcome.codes, access], default=EXIT_OK))


class _Batch:
    """How the jobs of a sync-batch ended."""

    def __init__(self) -> None:
        self.codes: list[int] = []
        self.sent: dict[str, _JobSynced] = {}
        self.interrupted = False
        self.stopped_after: str | None = None  # a Ctrl-C came once this job was synced
        self.rejecting: list[str] = []  # synced jobs that rejected records (exit 3)

    def add(self, name: str, code: int, done: _JobSynced | None) -> None:
        self.codes.append(code)
        self.interrupted = self.interrupted or code == EXIT_INTERRUPTED
        if done is not None:
            self.sent[name] = done
            if code == EXIT_REJECTED:
                self.rejecting.append(name)

    def summary(self, jobs: int) -> str:
        """`N synced, M failed[, 1 interrupted][, K not run]` (of the jobs)."""
        synced = len(self.sent)
        failed = len(self.codes) - synced - int(self.interrupted)
        parts = [f"{synced} of {jobs} job(s) synced", f"{failed} failed"]
        if self.rejecting:
            shown = ", ".join(self.rejecting[:3]) + (", ..." if len(self.rejecting) > 3 else "")
            parts[0] += f" ({len(self.rejecting)} with rejected records: {shown})"
        if self.interrupted:
            parts.append("1 interrupted")
        if jobs > len(self.codes):
            parts.append(f"{jobs - len(self.codes)} not run")
        return ", ".join(parts)


def _show_shared(jobs: Any, state: Path, sent: dict[str, Any]) -> None:
    """Warn of ids two jobs send with different content (`sync.jobs.shared_ids`)."""
    from mapper.cli.console import show_diagnostics
    from mapper.errors import Diagnostic
    from mapper.sync.jobs import shared_ids

    states = [(job.name, state / f"{job.name}.db") for job in jobs]
    for shared in shared_ids(states, sent):
        shown = ", ".join(f"{t} {i!r}" for t, i in shared.examples)
        more = f" and {shared.count - len(shared.examples):,} more" if shared.count > 3 else ""
        show_diagnostics([Diagnostic(
            "sync.sent-by-two-jobs",
            f"{shared.job} sent {shown}{more}, which {shared.other} holds with other content",
            severity="warning",
            hint="Teamwork Graph keeps the copy with the greater updateSequenceNumber: let one "
            "job make each id, or make the two agree",
        )])  # fmt: skip


def _check_batch(jobs: Any, state: Path, output: Path, connection_id: str | None) -> list[Plan]:
    """What would fail every job, before any runs: a mapping that does not compile, --state
    naming a file, a foreign file in -o, new states without --connection-id. The plans."""
    from mapper.cli import console
    from mapper.errors import Diagnostic
    from mapper.sync.jobs import foreign_entries, states_inside_output
    from mapper.sync.outputs import MARKER

    if state.exists() and not state.is_dir():
        hint = "sync-batch keeps one state per job in a folder: name a folder"
        _fail(EXIT_USAGE, [Diagnostic("usage.invalid", f"--state {state} is a file", hint=hint)])
    if output.exists() and not output.is_dir():
        hint = "sync-batch writes one folder per job into -o: name a folder"
        _fail(EXIT_USAGE, [Diagnostic("usage.invalid", f"-o {output} is not a folder", hint=hint)])
    if states_inside_output(output, state):
        message = f"cannot write {output}: the states folder {state} is inside it (sent whole)"
        hint = "keep --state outside the -o folder (or give both the same folder)"
        _fail(EXIT_IO, [Diagnostic("output.write-failed", message, hint=hint)])
    plans = []
    for job in jobs:
        try:
            plans.append(console.compile_or_exit(job.mapping, cache=True))
        except typer.Exit as ended:
            err.print(f"[red]job {job.name!r}: no job was run: fix its mapping and rerun[/]")
            raise typer.Exit(ended.exit_code) from None
        if state / f"{job.name}.db" in (job.mapping, *map(Path, job.inputs)):
            _fail(EXIT_USAGE, message=f"job {job.name!r}: its state would be one of its files")
    foreign = foreign_entries(output, jobs, state)
    if foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        message = f"cannot write {output}: it holds what no job of this batch wrote ({shown})"
        hint = "give -o a folder of its own: its job folders are sent whole"
        old = [name for name in foreign if (output / name / MARKER).is_file()]
        if old:  # a job taken out of the jobs file (or renamed)
            hint = (
                f"{old[0]} is the folder of a job this batch no longer has: remove it; its "
                f"state keeps ids no run deletes any more (`mapper state retire --state "
                f"{state / (old[0] + '.db')} -o DIR --yes` writes their deletes); if the job "
                "was renamed, rename its state file to the new name instead"
            )
        _fail(EXIT_IO, [Diagnostic("output.write-failed", message, hint=hint)])
    new = [job.name for job in jobs if not (state / f"{job.name}.db").exists()]
    if new and not connection_id:
        message = f"{len(new)} job(s) have no state yet ({', '.join(new[:3])}" + (
            ", ...)" if len(new) > 3 else ")"
        )
        hint = "give --connection-id ID on the first run"
        _fail(EXIT_IO, [Diagnostic("sync.connection-required", message, hint=hint)])
    return plans


@contextlib.contextmanager
def _locked(state: Path) -> Iterator[None]:
    """The batch's lock on its state folder; exit 4 when another batch holds it."""
    from mapper.errors import SyncStateError
    from mapper.sync.jobs import batch_lock

    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(batch_lock(state))
        except SyncStateError as error:  # (only taking the lock: not what runs under it)
            _fail(EXIT_IO, error.diagnostics)
        yield


def _remove_stale(output: Path, jobs: Any, sent: dict[str, Any]) -> None:
    """Remove the folders an earlier run wrote for jobs that did not write theirs now (not one
    that holds files added by hand: it is named, and left)."""
    import shutil

    from mapper.sync.jobs import stale_folders

    ours, mixed = stale_folders(output, jobs, sent)
    for folder in ours:
        shutil.rmtree(folder, ignore_errors=True)
        err.print(f"removed {folder} (an earlier run's): nothing stale is left to send")
    for folder in mixed:
        err.print(f"[red]{folder} is an earlier run's and holds files added by hand: left as "
                  "it is; do not send its bodies[/]")  # fmt: skip


class _JobSynced(NamedTuple):
    """A job that wrote its folder: its plan, its result, and where it wrote."""

    plan: Plan
    result: SyncResult
    request: SyncRequest


def _sync_job(
    job: Any, plan: Plan, base: SyncRequest, jobs: Any, *, quiet: bool, late_stops: list[int]
) -> tuple[int, _JobSynced | None]:
    """One job as `mapper sync`: its exit code, and its plan and result when it wrote its
    folder (a stop signal that came as its summary was printed goes in `late_stops`)."""
    from mapper.sync.jobs import job_request

    request = job_request(job, base, base.state, base.output, jobs)
    done = None
    try:
        _bind_params(plan, [f"{k}={v}" for k, v in job.params])
        result = _synced(plan, list(job.inputs), request)
        if result is None:
            err.print("[red]interrupted: this job's state and output are unchanged[/]")
            return EXIT_INTERRUPTED, None
        done = _JobSynced(plan, result, request)
        if not quiet:
            with too_late_to_stop() as stops:  # (the job is committed)
                _show_summary(err, result)
            late_stops.extend(stops)
        _exit(result)
    except typer.Exit as ended:
        code = int(ended.exit_code or EXIT_OK)
        if done is None:
            err.print(f"[red]job {job.name!r} failed (exit {code}): nothing written for it[/]")
        return code, done


def _show_send_order(sent: dict[str, SyncResult], output: Path) -> None:
    """Which folders to send first: those with users and groups, then the others."""
    from rich.text import Text

    busy = {n: r.sync for n, r in sent.items() if r.sync.emitted}
    first = [n for n, report in busy.items() if {"user", "group"} & report.by_type.keys()]
    rest = [n for n in busy if n not in first]
    if first and rest:
        err.print(Text(
            f"send the users and groups of {', '.join(first)} before the objects of "
            f"{', '.join(rest)} (folders in {output})"
        ))  # fmt: skip


def _check_synced_access(
    plans: list[Plan], outputs: list[Path], states: list[Path], strict: bool, *,
    quiet: bool = False,
) -> int:
    """Check the principals the jobs sent; the exit code (`quiet`: say nothing when all is
    well)."""
    from mapper.cli.access import show_findings
    from mapper.errors import OutputError
    from mapper.sync.jobs import check_jobs_access

    try:
        findings = check_jobs_access(plans, outputs, states, strict=strict)
    except OutputError as error:
        from mapper.cli.console import show_diagnostics

        show_diagnostics(list(error.diagnostics))
        return EXIT_IO
    if findings is None or (quiet and not findings.diagnostics):
        return EXIT_OK
    what = "the jobs" if len(states) > 1 else "the run"
    err.rule(f"access: what {what} sent, against the users and groups sent or in the states")
    show_findings(findings)
    return EXIT_REJECTED if findings.has_errors else EXIT_OK


def _synced(plan: Plan, inputs: list[str], request: SyncRequest) -> SyncResult | None:
    """The sync run, None when Ctrl-C stopped it; its errors exit with their codes."""
    from mapper.cli import console
    from mapper.errors import MapperError, RecordError, UsageError
    from mapper.sync.deletes import SyncStopped
    from mapper.sync.runner import sync_files

    try:
        return sync_files(plan, inputs, request)
    except KeyboardInterrupt:
        return None
    except UsageError as error:
        _fail(EXIT_USAGE, *console.usage_problems(list(error.diagnostics)))
    except (SyncStopped, RecordError) as error:
        _fail(EXIT_REJECTED, error.diagnostics, "[red]stopped: nothing was written[/]")
    except MapperError as error:  # the state, an input or an output
        _fail(EXIT_IO, error.diagnostics)


def _exit(result: SyncResult, access: int = EXIT_OK) -> NoReturn:
    """Exit as the run ended (`access`: the exit code of the principal checks)."""
    if result.run.input_problems:
        raise typer.Exit(EXIT_IO)
    raise typer.Exit(max(EXIT_REJECTED if result.run.records_rejected else EXIT_OK, access))


def _show_summary(console: Any, result: SyncResult) -> None:
    from rich.table import Table
    from rich.text import Text

    report, run = result.sync, result.run
    for note in report.notes:
        console.print(f"[yellow]note:[/] {note}")
    table = Table(title=f"sync run {report.run} ({report.mode})", header_style="bold")
    columns = ("created", "updated", "unchanged", "held_back", "deleted", "reordered", "carried")
    table.add_column("type", no_wrap=True)
    for name in columns:
        table.add_column(name.replace("_", " "), justify="right")
    for type_name, counts in sorted(report.by_type.items()):
        table.add_row(Text(type_name), *(f"{getattr(counts, c):,}" for c in columns))
    total = report.totals()
    table.add_row(Text("total", style="bold"), *(f"{getattr(total, c):,}" for c in columns))
    console.print(table)
    ok = Text("✓", style="green") if run.is_balanced else Text("✗ MISMATCH", style="red")
    console.print(Text.assemble(
        f"records: {run.records_in:,} in = {run.records_mapped:,} mapped + "
        f"{run.records_rejected:,} rejected + {run.records_filtered:,} filtered ", ok,
    ))  # fmt: skip
    if report.records_known:
        console.print(Text(
            f"{report.records_known:,} of them known: their lines are as the state last saw "
            "them, so they count as mapped without being mapped again"
        ))  # fmt: skip
    _show_findings(console, report, run)
    folder = Path(result.files[0]).parent if result.files else ""
    console.print(Text(f"to send: {_to_send(report)}; output: {folder}"))
    if report.dry_run:
        console.print(Text(
            "dry run: nothing was recorded in the state; the same run without --dry-run "
            "decides the same", style="yellow",
        ))  # fmt: skip


def _to_send(report: SyncReport) -> str:
    """What the bodies hold, in the order they are sent (users and groups first)."""
    parts, identities = [], 0
    for kind, operation in (("user", "setUsers"), ("group", "setGroups")):
        counts = report.by_type.get(kind)
        if counts is not None:
            n, bodies = counts.created + counts.updated, report.identity_batches.get(operation, 0)
            parts.append(f"{n:,} {kind}(s) in {bodies:,} {operation} body(ies)")
            identities += n
    objects, sets = report.emitted - identities, report.set_batches
    parts.append(f"{objects:,} object(s) in {sets:,} setObjects body(ies)")
    deletes = report.delete_batches + sum(
        report.identity_batches.get(name, 0) for name in ("deleteUsers", "deleteGroups")
    )
    gone = [f"{c.deleted:,} {k}(s)" for k in ("user", "group") if (c := report.by_type.get(k))
            and c.deleted]  # fmt: skip
    of = f" ({', '.join(gone)} among them)" if gone else ""
    parts.append(f"{report.deleted:,} id(s) in {deletes:,} delete body(ies){of}")
    return ", ".join(parts)


def _show_findings(console: Any, report: SyncReport, run: Any) -> None:
    from rich.text import Text

    for code, count in run.problems.most_common(5):
        console.print(Text(f"{count:>6} × {code}", style="red"))
    for rule, example in list(run.first_rejected.items())[:3]:  # where, why, and the item
        console.print(Text(f"         rule {rule!r}, first: {example}"))
    for code, count in report.findings.most_common():
        console.print(Text(f"{count:>6} × warning {code}", style="yellow"))
        for example in report.examples.get(code, [])[:1]:
            console.print(Text("         " + example.replace("\n", "\n         ")))
    for problem in run.input_problems:
        console.print(Text(str(problem), style="red"))
    if report.mode == Mode.mirror.value and report.partial_reasons:
        why = "; ".join(report.partial_reasons)
        console.print(Text(f"no deletes: partial run ({why}); {report.deletes_withheld:,} "
                           "unseen id(s) kept", style="yellow"))  # fmt: skip
    elif report.unseen and report.mode != Mode.mirror.value:
        why = "a partial run holds changes only" if report.partial_reasons else "not deleted"
        console.print(Text(f"{report.unseen:,} known id(s) not in this run ({report.mode}: {why}; "
                           "only mirror deletes)"))  # fmt: skip
    if report.cursor_after:
        console.print(Text(f"cursor: {report.cursor_after}"))
    if report.upgraded_from is not None:
        console.print(Text(f"state upgraded from schema version {report.upgraded_from}"))


# -- mapper state ... ---------------------------------------------------------------------------


def _open_reading(state: Path) -> Any:
    from mapper.errors import SyncStateError
    from mapper.sync.state import StateStore

    try:
        return StateStore.open_for_reading(state)
    except SyncStateError as error:
        _fail(EXIT_IO, error.diagnostics)


@state_app.command("show")
def state_show(state: StateOpt, as_json: JsonOpt = False) -> None:
    """Connection, mapping, cursor, objects per type and the last runs of a state file.

    Example: `mapper state show --state gh.db`
    """
    from mapper.sync.inspect import summary

    store = _open_reading(state)
    try:
        info = summary(store)
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    _show_state_table(out, info)


def _show_state_table(console: Any, info: dict[str, Any]) -> None:
    from rich.table import Table
    from rich.text import Text

    for key in ("state", "connectionId", "mapping", "cursor", "schemaVersion", "sizeBytes"):
        console.print(Text(f"{key}: {info[key]}"))
        if key == "cursor" and info["cursorOrigin"]:
            console.print(Text(f"cursorOrigin: {info['cursorOrigin']}"))
    table = Table(title="objects", header_style="bold")
    for name in ("type", "live", "deleted"):
        table.add_column(name, justify="left" if name == "type" else "right")
    for name, counts in info["objects"].items():
        table.add_row(Text(name), f"{counts['live']:,}", f"{counts['deleted']:,}")
    console.print(table)
    runs = Table(title="last runs", header_style="bold")
    for name in ("run", "mode", "started", "full", "created", "updated", "unchanged", "deleted"):
        runs.add_column(name)
    keys = ("run", "mode", "started", "full", "created", "updated", "unchanged", "deleted")
    for run in info["runs"]:
        runs.add_row(*(str(run.get(k, "")) for k in keys))
    console.print(runs)


@state_app.command("cursor")
def state_cursor(state: StateOpt) -> None:
    """Print the cursor (highest lastUpdatedAt, or `cursor:` value, of the last complete run).

    Example: `since=$(mapper state cursor --state gh.db)`
    """
    store = _open_reading(state)
    try:
        typer.echo(store.meta.get("cursor", ""))
    finally:
        store.close()


@state_app.command("ids")
def state_ids(
    state: StateOpt,
    type_name: Annotated[
        str | None, typer.Option("--type", help="Only this object type (or user, group).")
    ] = None,
    deleted: Annotated[
        bool | None, typer.Option("--deleted/--live", help="Only tombstones, or only live ids.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the ids the state knows: `TYPE<TAB>ID` per line, or JSON lines with --json.

    Example: `mapper state ids --state gh.db --type atlassian:commit --live`
    """
    from mapper.sync.inspect import iter_rows

    _check_type(type_name)
    store = _open_reading(state)
    try:
        for row in iter_rows(store, type_name, deleted=deleted):
            typer.echo(json.dumps(row) if as_json else f"{row['type']}\t{row['id']}")
    finally:
        store.close()


@state_app.command("export")
def state_export(
    state: StateOpt,
    output: Annotated[
        Path, typer.Option("-o", "--output", help="JSONL file to write (- for stdout).")
    ],
) -> None:
    """Write every row of the state (type, id, number, last run, cursor, hash) as JSON lines.

    Example: `mapper state export --state gh.db -o state.jsonl`
    """
    from mapper.errors import Diagnostic, OutputError
    from mapper.io.atomic import AtomicFile, overwritten_input
    from mapper.sync.inspect import iter_rows

    if str(output) == "-":  # (as `mapper run -o -`)
        store = _open_reading(state)
        try:
            for row in iter_rows(store):
                typer.echo(json.dumps(row))
        finally:
            store.close()
        return
    if overwritten_input(output, [state]) is not None:
        message = f"-o {output} would overwrite the state it exports"
        _fail(EXIT_USAGE, [Diagnostic("usage.invalid", message, hint="name another file")])
    store = _open_reading(state)
    try:
        out = AtomicFile(output)
        for row in iter_rows(store):
            out.write(json.dumps(row).encode() + b"\n")
        out.commit()
    except OutputError as error:
        _fail(EXIT_IO, error.diagnostics)
    finally:
        store.close()


@state_app.command("retire")
def state_retire(
    state: StateOpt,
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the delete bodies.")],
    yes: Annotated[
        bool, typer.Option("--yes", help="Yes: delete every id of the state from the graph.")
    ] = False,
) -> None:
    """Write delete bodies for every object, user and group the state holds, and mark them
    deleted: for a source that is no longer synced (a job taken out of a connector).

    Example: `mapper state retire --state states/old-job.db -o out/retired --yes`
    """
    from mapper.errors import MapperError
    from mapper.sync.retire import retire

    if not yes:
        _fail(EXIT_USAGE, message="retire deletes every id of the state from Teamwork Graph: "
                                  "give --yes to do it")  # fmt: skip
    try:
        counts = retire(state, output)
    except MapperError as error:
        _fail(EXIT_IO, error.diagnostics)
    total = sum(counts.values())
    shown = ", ".join(f"{n:,} {t}" for t, n in sorted(counts.items())) or "nothing live"
    err.print(f"retired {total:,} id(s) ({shown}): delete bodies in {output}; send them")


@state_app.command("forget")
def state_forget(
    state: StateOpt,
    ids: Annotated[
        list[str] | None, typer.Argument(help="Ids to forget.", show_default=False)
    ] = None,
    type_name: Annotated[
        str | None, typer.Option("--type", help="Object type of the ids (or user, group).")
    ] = None,
    tombstones: Annotated[
        bool, typer.Option("--tombstones", help="Forget the deleted ids only.")
    ] = False,
    everything: Annotated[bool, typer.Option("--all", help="Forget every id.")] = False,
) -> None:
    """Remove ids from the state: the next run sends them again as new objects.

    Example: `mapper state forget --state gh.db --type atlassian:commit acme/web@1a2b3c`
    """
    from mapper.errors import SyncStateError
    from mapper.sync.inspect import forget

    if ids and not type_name:
        _fail(EXIT_USAGE, message="forget IDS needs --type TYPE")
    _check_type(type_name)
    if not (ids or type_name or tombstones or everything):
        _fail(
            EXIT_USAGE,
            message="say what to forget: IDS --type T, --type T, --tombstones or --all",
        )
    try:
        removed = forget(state, type_name=type_name, ids=ids or [], deleted_only=tombstones)
    except SyncStateError as error:
        _fail(EXIT_IO, error.diagnostics)
    err.print(f"forgot {removed:,} id(s)")


def _check_type(type_name: str | None) -> None:
    """--type names a Teamwork Graph object type (a misspelt one would match no row, and
    `ids` would print nothing, `forget` forget nothing, both with exit 0)."""
    import difflib

    from mapper.model.identity import IDENTITY_KINDS
    from mapper.model.rules import TYPE_NAMES, type_name_hint

    if type_name is not None and type_name not in TYPE_NAMES and type_name not in IDENTITY_KINDS:
        close = difflib.get_close_matches(type_name, list(IDENTITY_KINDS), n=1)
        hint = f"did you mean {close[0]!r}?" if close else type_name_hint(type_name)
        if not close:  # (users and groups are kept as the types "user" and "group")
            hint = hint.replace("for the list", "for the list, or 'user' / 'group'")
        _fail(EXIT_USAGE, message=f"--type: unknown type {type_name!r}; {hint}")


def _engine(name: str) -> Literal["local", "dask"]:
    if name not in ("local", "dask"):
        _fail(EXIT_USAGE, message=f"--engine: {name!r} is not one of 'local', 'dask'")
    return "dask" if name == "dask" else "local"
