"""A jobs file synced in one go: each job its own state and output folder, principals checked
across them.

A connector is several mappings (objects, users, groups), each with its own export; a state
belongs to one mapping. `job_request` gives one job's `SyncRequest`: the state
STATES/NAME.db, the output folder OUTPUT/NAME, the job's records selector and parameters over
the options the jobs share, and the other jobs' states (`sync.elsewhere`).
`check_jobs_access` then checks the USER / GROUP principals of the objects the jobs sent
against the users and groups sent by them or live in their states (`StateIdentities`): a sync
sends what changed only, so an unchanged user is in its state, not in an output.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from mapper.errors import SyncStateError
from mapper.run.jobs import Job
from mapper.sync.runner import SyncRequest
from mapper.sync.state import StateStore

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


class StateIdentities:
    """The users and groups live in any of some sync states (`access.checks.KnownIdentities`).
    States that do not exist or cannot be read are left out."""

    def __init__(self, paths: Iterable[Path]) -> None:
        self.stores: list[StateStore] = []
        for path in paths:
            with contextlib.suppress(SyncStateError):
                store = StateStore.open_for_reading(path)
                if "user" in store.type_ids or "group" in store.type_ids:
                    self.stores.append(store)
                else:
                    store.close()

    def has_user(self, external_id: str) -> bool:
        """True when a state holds this user, not deleted."""
        return self._has("user", external_id)

    def has_group(self, external_id: str) -> bool:
        """True when a state holds this group, not deleted."""
        return self._has("group", external_id)

    def _has(self, kind: str, external_id: str) -> bool:
        for store in self.stores:
            row = store.lookup(kind, [external_id]).get(external_id)
            if row is not None and not row.deleted:
                return True
        return False

    def close(self) -> None:
        """Close the states."""
        for store in self.stores:
            store.close()
        self.stores = []


def check_jobs_access(
    synced: Sequence[tuple[Plan, Path, Path]], *, strict: bool = False
) -> AccessFindings | None:
    """Check the principals the jobs sent: (plan, output folder, state) per synced job.

    Only what a run of changes can tell is checked: principals that name no user or group
    (sent now or live in a state), group members likewise, empty groups. A user no object
    grants, or a container not sent, may be an unchanged object's: not reported. None when no
    mapping makes users or groups (or replicates permissions), or no job wrote a folder.

    Raises:
        OutputError: an output cannot be read back.
    """
    from mapper.run.access import AccessRequest, check_access, wants_check

    written = [(p, o, s) for p, o, s in synced if o.is_dir()]
    plans = [p for p, _, _ in written]
    if not written or not wants_check(plans, AccessRequest()):
        return None
    known = StateIdentities(state for _, _, state in written)
    try:
        request = AccessRequest(strict=strict, known=known, changes_only=True)
        return check_access(plans, [str(o) for _, o, _ in written], request)
    finally:
        known.close()
