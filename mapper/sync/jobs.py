"""A jobs file synced in one go: each job its own state and output folder, principals checked
across them.

A connector is several mappings (objects, users, groups), each with its own export; a state
belongs to one mapping. `job_request` gives one job's `SyncRequest`: the state
STATES/NAME.db, the output folder OUTPUT/NAME, the job's records selector and parameters over
the options the jobs share, and the other jobs' states (`sync.elsewhere`).
`check_jobs_access` then checks the USER / GROUP principals of the objects the jobs sent
against the users and groups sent by them or live in their states (`sync.elsewhere`): a sync
sends what changed only, so an unchanged user is in its state, not in an output.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from mapper.errors import SyncStateError
from mapper.run.jobs import Job
from mapper.sync.elsewhere import Elsewhere
from mapper.sync.outputs import MARKER
from mapper.sync.runner import OUTPUT_FILES, SyncRequest
from mapper.sync.state import StateStore
from mapper.sync.state_errors import state_error

if TYPE_CHECKING:
    from mapper.access.checks import AccessFindings
    from mapper.language.plan import Plan


def job_request(
    job: Job, base: SyncRequest, states: Path, output: Path, jobs: Sequence[Job] = ()
) -> SyncRequest:
    """The sync request of one job of `jobs`: its own state file and output folder, and the
    other jobs' states (`sync.elsewhere`: what they hold is neither dangling nor deleted)."""
    return replace(
        base,
        state=states / f"{job.name}.db",
        output=output / job.name,
        records=job.records if job.records is not None else base.records,
        params={**base.params, **dict(job.params)},
        elsewhere=tuple(states / f"{other.name}.db" for other in jobs if other.name != job.name),
    )


def check_jobs_access(
    plans: Sequence[Plan], outputs: Sequence[Path], states: Sequence[Path], *,
    strict: bool = False,
) -> AccessFindings | None:
    """Check the principals the jobs sent (`outputs`: the folders this run wrote) against the
    users and groups sent there or live in any of `states` (those of every job of the batch,
    also of a job that failed this time).

    Only what a run of changes can tell is checked: principals that name no user or group
    (sent now or live in a state), group members likewise, empty groups. A user no object
    grants, or a container not sent, may be an unchanged object's: not reported. Nor is an
    unchanged object that grants a user this run deleted: the states keep no permissions. None
    when no mapping (`plans`: of every job) makes users or groups or replicates permissions,
    or no job wrote a folder.

    Raises:
        OutputError: an output cannot be read back.
    """
    from mapper.run.access import AccessRequest, check_access, wants_check

    written = [o for o in outputs if o.is_dir()]
    if not written or not wants_check(plans, AccessRequest()):
        return None
    known = Elsewhere(states)
    try:
        request = AccessRequest(strict=strict, known=known, changes_only=True)
        return check_access(plans, [str(o) for o in written], request)
    finally:
        known.close()


LOCK_FILE = ".sync-batch.lock"


@contextlib.contextmanager
def batch_lock(states: Path) -> Iterator[None]:
    """Hold the lock of a batch's state folder: two batches on it would take turns job by
    job, each doing part of the connector.

    Raises:
        SyncStateError: another batch holds it (`sync.state-locked`), or the folder cannot be
            made.
    """
    import fcntl

    try:
        states.mkdir(parents=True, exist_ok=True)
        handle = (states / LOCK_FILE).open("a")
    except OSError as err:
        raise state_error("sync.state-unwritable", states, err.strerror or str(err)) from err
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            raise state_error(
                "sync.state-locked", states, "another sync-batch is using this state folder",
                "wait for it to finish: batches on one state folder take turns",
            ) from err  # fmt: skip
        yield
    finally:
        handle.close()


def stale_folders(
    output: Path, jobs: Iterable[Job], fresh: Iterable[str]
) -> tuple[list[Path], list[Path]]:
    """The folders of `jobs` under `output` that an earlier run wrote and this run did not
    (`fresh`: the names of the jobs that wrote theirs): sent again, they would resend the
    earlier run's bodies. Those that hold only what a sync writes, to remove; and those that
    hold more (files added by hand), to leave as they are."""
    done = set(fresh)
    ours: list[Path] = []
    mixed: list[Path] = []
    for job in jobs:
        folder = output / job.name
        if job.name in done or not (folder / MARKER).is_file():
            continue
        held = {entry.name for entry in folder.iterdir()}
        (ours if held <= OUTPUT_FILES | {MARKER} else mixed).append(folder)
    return ours, mixed


def states_inside_output(output: Path, states: Path) -> bool:
    """Is the state folder inside the output folder (not that folder itself, which may keep
    the states beside the job folders)? The output is sent whole, its job folders replaced."""
    return output.resolve() in states.resolve().parents


def foreign_entries(output: Path, jobs: Iterable[Job], states: Path) -> list[str]:
    """What the batch's output folder holds besides its jobs' folders (and their staging
    leftovers), and the states when they live there: refused, since the folder is sent whole."""
    if not output.is_dir():
        return []
    names = {job.name for job in jobs}
    allowed = names | {f"{n}.db" for n in names} | {f"{n}.db-wal" for n in names}
    allowed |= {f"{n}.db-shm" for n in names} | {f"{n}.db-journal" for n in names} | {LOCK_FILE}
    same = output.resolve() == states.resolve()
    foreign = []
    for entry in sorted(output.iterdir()):
        name = entry.name
        if name in names or (same and name in allowed):
            continue
        if name.startswith(".") and ".sync-" in name and name.endswith((".tmp", ".old")):
            continue  # (a killed job's staging folder: the next run of that job removes it)
        foreign.append(name)
    return foreign


@dataclass(frozen=True, slots=True)
class SharedIds:
    """Ids one job sent in its last run that another job's state holds live with other
    content: Teamwork Graph keeps whichever copy has the greater updateSequenceNumber."""

    job: str
    other: str
    count: int
    examples: tuple[tuple[str, str], ...]  # (type, id)


_SHARED_SQL = (
    "SELECT t.name, a.id FROM objects a JOIN types t ON t.tid = a.tid "
    "JOIN other.types u ON u.name = t.name "
    "JOIN other.objects b ON b.tid = u.tid AND b.id = a.id "
    "WHERE (a.run = ? OR b.run = (SELECT coalesce(max(run), 0) FROM other.runs)) "
    "AND a.deleted = 0 AND b.deleted = 0 AND a.hash != b.hash"
)
"""Ids both states hold live with other hashes, sent (put) by the last run of either."""


def shared_ids(states: Sequence[tuple[str, Path]], sent: Iterable[str]) -> list[SharedIds]:
    """For each job of `sent` (names) and each other job of `states` ((name, state file)),
    each pair once: the ids either sent in its last run that the other holds live with other
    content. States that do not exist or cannot be read are left out."""
    found = []
    paths = dict(states)
    compared: set[frozenset[str]] = set()  # (the later of two jobs that both sent an id: once)
    for job in sent:
        with contextlib.suppress(SyncStateError, sqlite3.Error):
            store = StateStore.open_for_reading(paths[job])
            try:
                last = store.next_run() - 1
                for other, path in states:
                    pair = frozenset((job, other))
                    if other == job or pair in compared or not path.is_file():
                        continue
                    compared.add(pair)
                    store.conn.execute("ATTACH DATABASE ? AS other", (str(path),))
                    try:
                        rows = store.conn.execute(_SHARED_SQL, (last,)).fetchall()
                    finally:
                        store.conn.execute("DETACH DATABASE other")
                    if rows:
                        found.append(SharedIds(job, other, len(rows), tuple(rows[:3])))
            finally:
                store.close()
    return found
