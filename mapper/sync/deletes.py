"""Mirror deletes: `deleteObjectsByExternalId` bodies for the ids a full run did not see.

One body per object type and at most 100 ids (`{objectType, externalIds, connectionId}`),
ids in sorted order, one body per line of `deleteObjects.jsonl`; users and groups the run did
not see go to `deleteUsers.jsonl` / `deleteGroups.jsonl` (`{externalIds, connectionId}`, the
bodies of deleteUsersByExternalId / deleteGroupsByExternalId). Deletes are derived only from a
full run, and only when they stay under the safety share of the known objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

from mapper.errors import Diagnostic, MapperError
from mapper.io.atomic import AtomicFile
from mapper.io.sinks import dumps_line
from mapper.sync.bodies import DELETE_FILES, DELETE_OBJECTS_FILE

MAX_IDS_PER_DELETE = 100
DEFAULT_MAX_DELETE_SHARE = 0.5


class SyncStopped(MapperError):
    """A safety rule stopped the sync run before anything was written (exit 3)."""


@dataclass(frozen=True, slots=True)
class DeleteBody:
    """One deleteObjectsByExternalId request body."""

    object_type: str
    external_ids: tuple[str, ...]

    def to_dict(self, connection_id: str) -> dict[str, object]:
        """The request body, as the SDK takes it."""
        body: dict[str, object] = {"externalIds": list(self.external_ids)}
        if self.object_type not in DELETE_FILES:  # (users and groups have their own operations)
            body = {"objectType": self.object_type, **body}
        if connection_id:
            body["connectionId"] = connection_id
        return body


def delete_bodies(
    unseen: Iterable[tuple[str, str]], size: int = MAX_IDS_PER_DELETE
) -> Iterator[DeleteBody]:
    """Group (type, id) pairs, sorted by type, into bodies of at most `size` ids."""
    for type_name, pairs in groupby(unseen, key=lambda pair: pair[0]):
        ids: list[str] = []
        for _, oid in pairs:
            ids.append(oid)
            if len(ids) == size:
                yield DeleteBody(type_name, tuple(ids))
                ids = []
        if ids:
            yield DeleteBody(type_name, tuple(ids))


def write_delete_bodies(
    folder: Path, bodies: Iterable[DeleteBody], connection_id: str
) -> tuple[dict[str, int], dict[str, int]]:
    """Write the bodies as JSON lines into `folder`'s delete files; returns the number of ids
    per type and of bodies per file."""
    counts: dict[str, int] = {}
    files: dict[str, AtomicFile] = {}
    written: dict[str, int] = {}
    try:
        for body in bodies:
            name = DELETE_FILES.get(body.object_type, DELETE_OBJECTS_FILE)
            out = files.get(name) or files.setdefault(name, AtomicFile(folder / name))
            out.write(dumps_line(body.to_dict(connection_id)))
            written[name] = written.get(name, 0) + 1
            counts[body.object_type] = counts.get(body.object_type, 0) + len(body.external_ids)
    except BaseException:
        for out in files.values():
            out.abort()
        raise
    for out in files.values():
        out.commit()
    return counts, written


def check_mass_delete(unseen: int, known: int, max_share: float) -> None:
    """Stop a run that would delete more than `max_share` of the known objects.

    Raises:
        SyncStopped: with a `sync.mass-delete` diagnostic.
    """
    if known and unseen and not unseen / known <= max_share:  # (a NaN share allows none)
        raise SyncStopped(
            [
                Diagnostic(
                    "sync.mass-delete",
                    f"this mirror run would delete {unseen:,} of the {known:,} known ids "
                    f"({unseen / known:.0%}, more than {max_share:.0%}); nothing was written "
                    "and the state is unchanged",
                    hint="check that the inputs are complete; if the deletes are intended, "
                    "rerun with --allow-mass-delete (or raise --max-delete-share)",
                )
            ]
        )
