"""`sync_files(plan, inputs, request)`: one sync run, from input files to an output folder.

The order of a run is what makes it crash-safe:

1. open the state and take its write lock (one SQLite transaction for the whole run);
2. map the records; the sync stage decides per object and records it in the transaction;
   setObjects batches, rejects, delete batches and the report go to a staging folder;
3. fsync the staging folder and put it in place of the output folder;
4. commit the state.

A crash before 4 leaves the state as before the run, so a re-run decides the same and writes
the same payloads; a crash after 4 leaves everything as after the run.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mapper.errors import Diagnostic, OutputError, RecordError, UsageError
from mapper.io.atomic import overwritten_input, write_atomic
from mapper.io.sinks import SYNC_REJECTS_FILE
from mapper.language.plan import Plan
from mapper.run.access import AccessRequest
from mapper.run.files import Engine, RunRequest, RunResult, run_files
from mapper.run.pipeline import known_lines
from mapper.run.policy import ErrorPolicy, RunOptions
from mapper.run.report import RunReport
from mapper.run.status import Status
from mapper.signals import too_late_to_stop
from mapper.sync.bodies import (
    BODY_FILES,
    DELETE_OBJECTS_FILE,
    SET_FILES,
    SET_OBJECTS_FILE,
    SetObjectsLines,
)
from mapper.sync.collector import fewer_collections
from mapper.sync.crash import crash_point
from mapper.sync.cursor import (
    CURSOR_KIND,
    CURSOR_ORIGIN,
    LAST_UPDATED,
    CursorMax,
    advanced,
    stored_value,
)
from mapper.sync.deletes import (
    DEFAULT_MAX_DELETE_SHARE,
    SyncStopped,
    check_mass_delete,
    delete_bodies,
    write_delete_bodies,
)
from mapper.sync.elsewhere import Elsewhere, held_elsewhere
from mapper.sync.lines import line_key
from mapper.sync.outputs import MARKER, RunFolder
from mapper.sync.report import MAX_EXAMPLES, SyncReport
from mapper.sync.seen import Seen
from mapper.sync.stage import HASH_EXCLUDED, Mode, SyncStage, epoch_ms
from mapper.sync.state import Identity, StateStore, shown_params, sqlite_errors

REPORT_FILE = "report.json"
SINCE = "since"  # the mapping parameter an incremental run fills with the state's cursor
REJECTS_FILE = SYNC_REJECTS_FILE
OUTPUT_FILES = frozenset({*BODY_FILES, REJECTS_FILE, REPORT_FILE})
"""The files a sync run writes in its output folder (besides the marker)."""


@dataclass(frozen=True, kw_only=True)
class SyncRequest:
    """Everything a sync run needs besides the plan and the inputs."""

    state: Path
    output: Path
    mode: Mode = Mode.upsert
    connection_id: str | None = None  # required for a new state; checked against an old one
    properties: Mapping[str, str] = field(default_factory=dict)
    set_associations: bool = False
    incremental: bool = False  # the inputs hold changes since the state's cursor only
    partial: bool = False  # the inputs are a subset of the source (never delete)
    allow_mass_delete: bool = False
    max_delete_share: float = DEFAULT_MAX_DELETE_SHARE
    strict: bool = False  # dangling references fail the run
    dry_run: bool = False  # decide and write the output folder; record nothing in the state
    elsewhere: tuple[Path, ...] = ()
    """The states of the batch's other jobs (`sync-batch`): what they hold is not dangling,
    and is not deleted by this run (`sync.elsewhere`)."""
    policy: ErrorPolicy = ErrorPolicy.SKIP_RECORD
    max_errors: int | None = None
    lookups: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)  # `--param`; `since` is filled in
    records: str | None = None  # a records selector overriding the mapping's `records:`
    hash_exclude: frozenset[str] = HASH_EXCLUDED
    workers: int = 1  # processes that map (a LocalCluster's size with engine "dask")
    engine: Engine = "local"  # "dask": the mapping runs on a cluster, the state in this process
    scheduler: str | None = None  # the Dask scheduler (engine "dask"); None: a LocalCluster


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What a sync run did: its sync report, the mapping run's report, the files written."""

    sync: SyncReport
    run: RunReport
    files: tuple[str, ...]


def _params_text(plan: Plan, request: SyncRequest) -> str:
    """The run's parameter values that are not their defaults, `since` aside (the state's
    cursor fills it), as sorted `name=value` lines: `--param x=DEFAULT` is the same set as
    none, and a parameter a new version of the mapping adds changes nothing."""
    from mapper.language.params import resolve_params

    declared = tuple(p for p in plan.params if p.name != SINCE)
    given = {k: v for k, v in request.params.items() if k != SINCE}
    values, problems = resolve_params(declared, given)
    if problems:  # (the run reports them, before the state is opened)
        values = dict(given)
    defaults = {p.name: p.default for p in declared}
    chosen = sorted((k, v) for k, v in values.items() if k not in defaults or v != defaults[k])
    return "\n".join(f"{name}={value}" for name, value in chosen)


def mapping_identity(plan: Plan) -> str:
    """The mapping's `name:`, else its file as FOLDER/STEM (e.g. github/push)."""
    if plan.name and plan.name != plan.path:
        return plan.name
    path = Path(plan.path)
    return f"{path.parent.name}/{path.stem}" if path.parent.name else path.stem


def sync_files(
    plan: Plan,
    inputs: list[str],
    request: SyncRequest,
    *,
    progress: Callable[[int, Any], None] | None = None,
) -> SyncResult:
    """Run one sync: map the inputs, decide against the state, write the output folder.

    Raises:
        SyncStateError: the state is locked, damaged, unwritable or of another connection.
        SyncStopped: a safety rule stopped the run (mass delete, --strict references).
        UsageError: an unknown lookup, a bad selector, too many properties.
        InputError: no input could be found.
        OutputError: an output could not be written.
        RecordError: under ErrorPolicy.FAIL_FAST, at the first rejected record.
        KeyboardInterrupt: interrupted; the state and the output folder are unchanged.
    """
    _refuse_state_inside_output(request)
    if request.dry_run:
        _refuse_dry_run_over_bodies(request.output)
    read = {path: f"the input {path}" for path in inputs if path != "-"}
    _refuse_state_read_by_the_run(request, {**read, str(plan.path): "the mapping"})
    _refuse_output_read_by_the_run(request, inputs)
    identity = Identity(request.connection_id, mapping_identity(plan), _params_text(plan, request))
    store = StateStore.open_for_run(request.state, identity)
    folder: RunFolder | None = None
    committed = False
    elsewhere = Elsewhere(request.elsewhere)
    try:
        folder = RunFolder(request.output, OUTPUT_FILES)
        with sqlite_errors(request.state):  # the state can turn out damaged part-way
            report, run_report = _sync(plan, inputs, request, store, folder, progress, elsewhere)
        _write_report(folder.staging, report, run_report)
        with too_late_to_stop() as stops:  # (the folder and the state are committed both)
            folder.commit()
            crash_point("outputs-committed")
            if not request.dry_run:  # (a dry run's transaction is rolled back by `close`)
                store.commit()
                committed = True
                crash_point("state-committed")
        if stops:
            report.notes.append(
                "a stop signal came while the output and the state were being committed: "
                "the run was let finish"
            )
        files = sorted(str(p) for p in folder.final.iterdir() if p.name != MARKER)
        return SyncResult(report, run_report, tuple(files))
    except BaseException:
        if folder is not None:
            folder.abort()
        raise
    finally:
        elsewhere.close()
        store.close()
        if store.made and not committed:
            _remove_new_state(Path(request.state))


def _refuse_state_inside_output(request: SyncRequest) -> None:
    """Each run replaces the output folder whole: a state kept in it would go with it.

    Raises:
        OutputError: `--state` is inside `-o` (before the state is opened or made).
    """
    state, folder = Path(request.state).resolve(), Path(request.output).resolve()
    if folder in state.parents:
        raise OutputError([Diagnostic(
            "output.write-failed",
            f"cannot write {request.output}: the state {request.state} is inside it, and each "
            "run replaces the output folder whole",
            hint="keep --state outside the -o folder",
        )])  # fmt: skip


def _refuse_dry_run_over_bodies(output: Path) -> None:
    """A dry run does not replace the bodies of a real run: the state already counts them as
    sent, so once replaced they would never be sent.

    Raises:
        OutputError: `output` holds a real run's bodies (before anything is touched).
    """
    folder = Path(output)
    if not (folder / MARKER).is_file() or not any((folder / n).is_file() for n in BODY_FILES):
        return
    try:
        earlier = json.loads((folder / REPORT_FILE).read_bytes())["sync"]
    except (OSError, ValueError, KeyError, TypeError):
        earlier = {}
    if earlier.get("dryRun") is True:
        return
    run = earlier.get("run", "?")
    raise OutputError([Diagnostic(
        "output.write-failed",
        f"cannot write {output}: it holds the bodies of run {run}, which the state counts as "
        "sent; a dry run would replace them",
        hint="send them first, or give the dry run another -o folder",
    )])  # fmt: skip


def _refuse_state_read_by_the_run(request: SyncRequest, read: Mapping[str, str]) -> None:
    """`--state` naming an input or the mapping (`read`: path -> what it is), a slip of the
    command line.

    Raises:
        UsageError: before the file is opened (it is left as it is).
    """
    clash = overwritten_input(request.state, [path for path in read if path])
    if clash is not None:
        message = f"--state {request.state} is {read[clash]}: a state is the run's own file"
        raise UsageError([Diagnostic("usage.invalid", message, hint="e.g. --state gh.db")])


def _refuse_output_read_by_the_run(request: SyncRequest, inputs: list[str]) -> None:
    """`-o` inside an input folder (or that folder): the next run would read this one's
    bodies, rejects and report as records (folders are read recursively).

    Raises:
        UsageError: before the state is opened or made.
    """
    folder = Path(os.path.realpath(request.output))
    for given in inputs:
        if given == "-" or not Path(given).is_dir():
            continue
        read = Path(os.path.realpath(given))
        if folder == read or read in folder.parents:
            message = f"-o {request.output} is inside the input folder {given}: the next run "
            message += "would read its own output as records"
            hint = "give -o a folder outside the inputs"
            raise UsageError([Diagnostic("usage.invalid", message, hint=hint)])


def _remove_new_state(path: Path) -> None:
    """A run that made the state file and did not commit leaves no state behind: the next
    run starts as this one did (with its own --connection-id), not from an empty file tied
    to this run's. A link stays, as it was: the file made is where it points."""
    path = Path(os.path.realpath(path))
    for name in (path.name, f"{path.name}-wal", f"{path.name}-shm", f"{path.name}-journal"):
        with contextlib.suppress(OSError):
            (path.parent / name).unlink()


def _sync(
    plan: Plan,
    inputs: list[str],
    request: SyncRequest,
    store: StateStore,
    folder: RunFolder,
    progress: Callable[[int, Any], None] | None,
    elsewhere: Elsewhere,
) -> tuple[SyncReport, RunReport]:
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    connection = store.meta.get("connectionId", "")
    report = SyncReport(
        request.mode.value, store.next_run(), str(request.state), connection,
        cursor_before=store.meta.get("cursor", ""),
    )  # fmt: skip
    report.upgraded_from = store.upgraded_from
    report.dry_run = request.dry_run
    known_before = store.count_live()
    batches = SetObjectsLines(
        folder.staging / SET_OBJECTS_FILE, connection_id=connection or None,
        properties=request.properties, set_associations=request.set_associations,
    )  # fmt: skip
    cursor = None if plan.cursor is None else CursorMax(plan.cursor.text)
    params = sync_params(plan, request, _cursor_for_since(plan, request, store, report),
                         store.meta.get(CURSOR_KIND, ""))  # fmt: skip
    report.since = params.get(SINCE)
    stage = SyncStage(
        store, batches, report, mode=request.mode, exclude=request.hash_exclude,
        rules=[(rule.type_name, rule.name) for rule in plan.rules], cursor=cursor,
        line_key=line_key(plan, params, request.hash_exclude), elsewhere=elsewhere,
    )  # fmt: skip
    try:
        with fewer_collections():  # (the stage holds a chunk of payloads: `collector.py`)
            run_report = _map(plan, inputs, request, params, folder, stage, progress)
    except BaseException:  # e.g. a usage error found before the run took the stage
        stage.abort()
        raise
    report.set_batches = batches.batches
    for kind, n in batches.identity_batches.items():  # setUsers.jsonl -> setUsers
        report.identity_batches[SET_FILES[kind].removesuffix(".jsonl")] = n
    report.partial_reasons = partial_reasons(request, run_report)
    report.unseen = store.count_unseen(stage.seen) if known_before else 0  # (rows put are seen)
    _check_params(store, report, request)
    _mirror_deletes(store, stage.seen, report, request, folder, known_before, elsewhere)
    if request.strict and report.errors:
        raise SyncStopped(report.errors)
    if cursor is None:
        _advance_cursor(store, report, stage.cursor, run_report)
    else:
        complete = run_report.completed and not run_report.records_rejected
        _advance_mapped_cursor(store, report, cursor, complete=complete)
    summary = json.dumps(report.totals().to_dict())
    store.finish_run(
        report.run, mode=report.mode, started=started, full=report.is_full, summary=summary,
        seen=stage.seen,
    )  # fmt: skip
    return report, run_report


def _map(
    plan: Plan,
    inputs: list[str],
    request: SyncRequest,
    params: Mapping[str, str],
    folder: RunFolder,
    stage: SyncStage,
    progress: Callable[[int, Any], None] | None,
) -> RunReport:
    """The library's run use case, with the sync stage as its sink.

    Local worker processes (`--workers`) map unless the stage can skip the lines the state
    knows (a state that holds objects, a mapping of plain rules): workers map every record and
    hand its objects back, and one process skipping the lines it knows is faster than that (a
    cluster maps every record either way). The run's notes say so."""
    workers = request.workers
    if workers > 1 and request.engine == "local" and _skips_lines(plan, stage):
        workers = 1
        stage.report.notes.append(
            f"--workers {request.workers}: one process maps, since the state knows lines it "
            "skips (workers would map every record)"
        )
    run_request = RunRequest(
        output=str(folder.staging / SET_OBJECTS_FILE), sink=stage,
        rejects=str(folder.staging / REJECTS_FILE), report=str(folder.staging / REPORT_FILE),
        records=request.records, lookups=request.lookups, params=params, policy=request.policy,
        max_errors=request.max_errors, workers=workers, engine=request.engine,
        scheduler=request.scheduler,
        access=AccessRequest(enabled=False),  # (the bodies are not the run's JSONL output)
    )  # fmt: skip
    result = run_files(plan, inputs, run_request, progress=progress)
    _raise_stop(result)
    stage.report.notes.extend(result.notes)
    return result.report


def _skips_lines(plan: Plan, stage: SyncStage) -> bool:
    """Can the stage skip input lines the state knows (`pipeline.known_lines`)?"""
    return stage.skipping and known_lines(plan, stage, RunOptions()) is not None


def _cursor_for_since(
    plan: Plan, request: SyncRequest, store: StateStore, report: SyncReport
) -> str:
    """The state's cursor, when it came from the cursor this mapping defines (its `cursor:`,
    else lastUpdatedAt); "" (as on a first run) with `sync.cursor-origin-changed` when it came
    from another one, whose values say nothing about this one's."""
    stored = _origin(store)
    wanted = LAST_UPDATED if plan.cursor is None else plan.cursor.text
    if stored == wanted or not report.cursor_before:
        return report.cursor_before
    if request.incremental:
        report.note(Diagnostic(
            "sync.cursor-origin-changed",
            f"the state's cursor {report.cursor_before!r} came from {stored}, not from this "
            f"mapping's {wanted}: this incremental run gets `since` as a first run does",
            severity="warning",
            hint="the run after this one gets the new cursor",
        ))  # fmt: skip
    return ""


def sync_params(
    plan: Plan, request: SyncRequest, cursor: str, kind: str = ""
) -> dict[str, str]:
    """The run's `--param` values, with `since` filled in when the mapping declares it.

    `since` is the state's cursor on an `--incremental` run and empty otherwise (a full run,
    or the first run of a state): its text for a `string` parameter (RFC 3339 for a time);
    for an `integer` or `number` one, a number cursor as it is and a time as epoch
    milliseconds (0 when empty). A `--param since=...` given by the caller wins.
    """
    params = dict(request.params)
    declared = next((p for p in plan.params if p.name == SINCE), None)
    if declared is None or SINCE in params:
        return params
    since = cursor if request.incremental else ""
    if declared.type in ("integer", "number") and not (since and kind == "number"):
        since = str(epoch_ms(since) or 0)
    params[SINCE] = since
    return params


def _raise_stop(result: RunResult) -> None:
    """Turn a run that stopped without its outputs back into the exception that stopped it."""
    if result.status is Status.INTERRUPTED:
        raise KeyboardInterrupt
    if result.stopped is not None:
        raise RecordError(result.diagnostics)
    if result.diagnostics:
        raise OutputError(result.diagnostics)


def partial_reasons(request: SyncRequest, run_report: RunReport) -> list[str]:
    """Why this run did not see the whole source (a mirror run deletes only without any)."""
    reasons = []
    if request.incremental:
        reasons.append("incremental run (--incremental): the inputs hold changes only")
    if request.partial:
        reasons.append("--partial: the inputs are a subset of the source")
    if run_report.stopped_early:
        reasons.append(f"the run stopped early: {run_report.stopped_early}")
    if run_report.records_rejected:
        reasons.append(
            f"{run_report.records_rejected} record(s) rejected: their objects would look deleted"
        )
    if run_report.input_problems:
        reasons.append(f"{len(run_report.input_problems)} input problem(s)")
    return reasons


def _check_params(store: StateStore, report: SyncReport, request: SyncRequest) -> None:
    """A run with other parameter values than the state's: its set replaces the state's when
    every id the state holds is still in its input (a value like a URL prefix changed), or a
    full mirror run was told deletes are intended (`--allow-mass-delete`). Otherwise the ids
    came from another part of the source (another repository's collaborators): a full mirror
    run stops before writing anything, and any other run is told.

    Raises:
        SyncStopped: `sync.params-changed`, exit 3; nothing is written, the state is unchanged.
    """
    before = store.params_before
    if before is None:
        return
    unseen = report.unseen
    deletes = request.mode is Mode.mirror and report.is_full
    if not unseen or (deletes and request.allow_mass_delete):
        store.adopt_params()
        return
    message = (
        f"the state's ids were sent with {shown_params(before)}, this run has "
        f"{shown_params(store.params_now)}: {unseen:,} of them are not in its input"
    )
    hint = "give each set of parameters a state of its own (--state)"
    if deletes:
        raise SyncStopped([Diagnostic(
            "sync.params-changed", f"{message}; this mirror run would delete them, so nothing "
            "was written and the state is unchanged",
            hint=f"{hint}; if they are to go, rerun with --allow-mass-delete",
        )])  # fmt: skip
    report.note(Diagnostic(
        "sync.params-changed", f"{message}; a mirror run with these values would delete them",
        severity="warning", hint=hint,
    ))  # fmt: skip


def _mirror_deletes(
    store: StateStore,
    seen: Seen,
    report: SyncReport,
    request: SyncRequest,
    folder: RunFolder,
    known: int,
    elsewhere: Elsewhere,
) -> None:
    unseen = report.unseen
    if request.mode is not Mode.mirror or not unseen:
        return
    if not report.is_full:
        report.deletes_withheld = unseen
        return
    gone: Iterable[tuple[str, str]] = store.iter_unseen(seen)
    kept: list[tuple[str, str]] = []
    if elsewhere:
        gone, kept = held_elsewhere(elsewhere, gone)
        _note_kept(report, kept)
    if not request.allow_mass_delete:
        check_mass_delete(unseen - len(kept), known, request.max_delete_share)
    bodies = delete_bodies(gone)
    counts, written = write_delete_bodies(folder.staging, bodies, report.connection_id)
    for name, n in written.items():
        if name == DELETE_OBJECTS_FILE:
            report.delete_batches = n
        else:  # deleteUsers.jsonl -> deleteUsers
            report.identity_batches[name.removesuffix(".jsonl")] = n
    for type_name, n in counts.items():
        report.counts(type_name).deleted += n
    store.mark_deleted(seen)  # (a kept id too: handed over, it is the other job's to delete)
    crash_point("deletes-written")


def _note_kept(report: SyncReport, kept: list[tuple[str, str]]) -> None:
    """Say which unseen ids are not deleted because another job of the batch holds them."""
    report.deletes_kept = len(kept)
    for type_name, oid in kept[:MAX_EXAMPLES]:
        report.note(Diagnostic(
            "sync.kept-by-another-job",
            f"{type_name} {oid!r} is no longer in this job's input, but another job of the "
            "batch still holds it: not deleted (that job deletes it when its source drops it)",
            severity="warning",
            hint="if it comes back in this job's input, this job sends it again",
        ))  # fmt: skip
    if len(kept) > MAX_EXAMPLES:
        report.findings["sync.kept-by-another-job"] += len(kept) - MAX_EXAMPLES


def _advance_cursor(
    store: StateStore, report: SyncReport, seen: str, run_report: RunReport
) -> None:
    """The cursor moves to the highest lastUpdatedAt seen, by a run that read all its input."""
    before = report.cursor_before
    other = _origin(store) != LAST_UPDATED  # a `cursor:` set it
    complete = run_report.completed and not run_report.records_rejected
    newer = seen and (not before or other or (epoch_ms(seen) or 0) > (epoch_ms(before) or 0))
    report.cursor_after = seen if complete and newer else before
    if report.cursor_after != before:
        store.set_meta("cursor", report.cursor_after)
        if other:
            store.set_meta(CURSOR_KIND, "time")
            store.set_meta(CURSOR_ORIGIN, LAST_UPDATED)


def _advance_mapped_cursor(
    store: StateStore, report: SyncReport, cursor: CursorMax, *, complete: bool
) -> None:
    """The cursor moves to the highest `cursor:` value, by a run that read all its input; the
    state keeps the kind (how it compares) and the origin (the expression) beside it."""
    for finding in cursor.findings:
        report.note(finding)
    before = stored_value(report.cursor_before, store.meta.get(CURSOR_KIND, "time"))
    if _origin(store) != cursor.expr:
        before = None  # another origin: the old cursor says nothing about this one
    after = advanced(before, cursor.highest) if complete else before
    report.cursor_after = report.cursor_before if after is None else after.text
    if after is not None and after is not before:
        store.set_meta("cursor", after.text)
        store.set_meta(CURSOR_KIND, after.kind)
        store.set_meta(CURSOR_ORIGIN, cursor.expr)


def _origin(store: StateStore) -> str:
    """What the state's cursor came from: a mapping's `cursor:` text, or lastUpdatedAt."""
    return store.meta.get(CURSOR_ORIGIN, LAST_UPDATED)


def _write_report(staging: Path, report: SyncReport, run_report: RunReport) -> None:
    body = {"sync": report.to_dict(), "run": run_report.to_dict()}
    write_atomic(staging / REPORT_FILE, json.dumps(body, indent=2).encode() + b"\n")
