"""The other states of a `sync-batch`, read-only: what the batch's other jobs hold.

Each job keeps its own state, but jobs overlap: a commit comes from the push webhook and from
the compare API, a user from every repository whose collaborators list them, a message's
container from the channels job. So a job asks the others before it reports a reference
dangling (`knows`: live in another state), and before its mirror run deletes an id (`holds`):
an id another job's last full run saw, or that another job holds while its last run was
partial, is not deleted (`sync.kept-by-another-job`), since that job would not send it again.
It is handed over: this job's state keeps it as deleted (no delete sent), so the other job
alone deletes it when its source drops it, and this job sends it again if it comes back in its
input. An id both jobs stop seeing in one batch run is handed over by the earlier one and
deleted, once, by the later one.
"""

from __future__ import annotations

import contextlib
import sqlite3
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

from mapper.errors import SyncStateError
from mapper.sync.seen import Seen
from mapper.sync.state import LOOKUP_CHUNK, StateStore


class Elsewhere:
    """Other sync states (those that do not exist, or cannot be read, are left out). It is
    also the `access.checks.KnownIdentities` of a batch: the users and groups live in any."""

    def __init__(self, paths: Iterable[Path]) -> None:
        self.stores: list[StateStore] = []
        for path in paths:
            with contextlib.suppress(SyncStateError):
                self.stores.append(StateStore.open_for_reading(path))
        self._seen: list[Seen | None] | None = None  # (read when `holds` first needs them)

    def __bool__(self) -> bool:
        return bool(self.stores)

    def knows(self, type_name: str, ids: Sequence[str]) -> set[str]:
        """The ids a live object of the type has in another state."""
        found: set[str] = set()
        for store in self.stores:
            rows = store.lookup(type_name, [i for i in ids if i not in found])
            found.update(oid for oid, row in rows.items() if not row.deleted)
        return found

    def payloads_of(self, type_name: str, ids: Sequence[str]) -> dict[str, tuple[int, bytes]]:
        """The number and payload (JSON) last sent of these ids of one type, live in another
        state: of two, the one with the greater number (Teamwork Graph keeps that one)."""
        found: dict[str, tuple[int, bytes]] = {}
        for store in self.stores:
            for oid, sent in store.payloads_of(type_name, ids).items():
                if oid not in found or sent[0] > found[oid][0]:
                    found[oid] = sent
        return found

    def has_user(self, external_id: str) -> bool:
        """True when a state holds this user, not deleted."""
        return bool(self.knows("user", [external_id]))

    def has_group(self, external_id: str) -> bool:
        """True when a state holds this group, not deleted."""
        return bool(self.knows("group", [external_id]))

    def holds(self, type_name: str, ids: Sequence[str]) -> set[str]:
        """The ids another job still has: live, and seen by its last run when that run was full
        (a partial run sees only what changed)."""
        if self._seen is None:
            self._seen = [_last_full_run_seen(store) for store in self.stores]
        found: set[str] = set()
        for store, seen in zip(self.stores, self._seen, strict=True):
            rows = store.lookup(type_name, [i for i in ids if i not in found])
            found.update(
                oid for oid, row in rows.items()
                if not row.deleted and (seen is None or row.n in seen)
            )  # fmt: skip
        return found

    def live_refs(self, type_name: str, refs: Sequence[int]) -> set[int]:
        """Which of these composed-key digests a live object of the type has elsewhere."""
        found: set[int] = set()
        for store in self.stores:
            found |= store.live_refs(type_name, [r for r in refs if r not in found])
        return found

    def close(self) -> None:
        """Close the states."""
        for store in self.stores:
            store.close()
        self.stores = []


def _last_full_run_seen(store: StateStore) -> Seen | None:
    """The rows the state's last run saw, when that run was full; None when it was partial
    (or there is no bitmap): then every live row counts as held."""
    with contextlib.suppress(sqlite3.Error, zlib.error):
        row = store.conn.execute(
            "SELECT full, seen FROM runs ORDER BY run DESC LIMIT 1"
        ).fetchone()
        if row is not None and row[0] and row[1] is not None:
            return Seen.from_blob(row[1])
    return None


def held_elsewhere(
    elsewhere: Elsewhere, unseen: Iterable[tuple[str, str]]
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Split (type, id) pairs into those to delete and those another job holds."""
    gone: list[tuple[str, str]] = []
    kept: list[tuple[str, str]] = []
    batch: list[tuple[str, str]] = []

    def decide() -> None:
        by_type: dict[str, list[str]] = {}
        for type_name, oid in batch:
            by_type.setdefault(type_name, []).append(oid)
        held = {(t, i) for t, ids in by_type.items() for i in elsewhere.holds(t, ids)}
        for pair in batch:
            (kept if pair in held else gone).append(pair)
        batch.clear()

    for pair in unseen:
        batch.append(pair)
        if len(batch) >= LOOKUP_CHUNK:
            decide()
    decide()
    return gone, kept
