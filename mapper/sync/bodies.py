"""Request bodies as JSON lines: `setObjects.jsonl`, `setUsers.jsonl`, `setGroups.jsonl` and
the delete files of a sync run.

One line is one request body, ready to pass to `graph.setObjects(...)` (`setUsers`,
`setGroups`, `deleteObjectsByExternalId`, ...). A sync of a million objects writes a few files
instead of ten thousand: one fsync each when the run ends, and a folder that is quick to
replace. A file is written only when it has a body.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson

from mapper.io.atomic import AtomicFile
from mapper.io.sinks import (
    IDENTITY_OPERATIONS,
    MAX_OBJECTS_PER_BATCH,
    SYNC_DELETE_FILES,
    SYNC_SET_FILES,
    SetObjectsBatches,
    dumps_line,
)
from mapper.records import MappedObject
from mapper.sync.digested import body_of, payload_of

SET_OBJECTS_FILE = SYNC_SET_FILES["object"]
DELETE_OBJECTS_FILE = SYNC_DELETE_FILES["object"]
SET_FILES = {kind: SYNC_SET_FILES[kind] for kind in IDENTITY_OPERATIONS}
"""Identity kind (a `users:` / `groups:` rule's) -> the file of its setUsers / setGroups bodies."""
DELETE_FILES = {kind: SYNC_DELETE_FILES[kind] for kind in IDENTITY_OPERATIONS}
"""Identity kind -> the file of its deleteUsersByExternalId / deleteGroupsByExternalId bodies."""
BODY_FILES = (*SET_FILES.values(), SET_OBJECTS_FILE, DELETE_OBJECTS_FILE, *DELETE_FILES.values())
"""Every body file a sync run may write, in the order they are sent: users and groups before
the objects whose permissions name them (reference §4.6), deletes last."""


class SetObjectsLines(SetObjectsBatches):
    """setObjects bodies of at most 100 objects, one per line; a record's objects stay together
    in one body when they fit (so a commit travels with its repository). Users and groups
    (`add_identities`) go to their own files, `{connectionId, users: [...]}` (`groups`), at
    most 100 each (they take no properties, reference §4.5)."""

    def __init__(
        self,
        path: Path,
        *,
        connection_id: str | None,
        properties: Mapping[str, str] | None = None,
        set_associations: bool = False,
        size: int = MAX_OBJECTS_PER_BATCH,
    ) -> None:
        super().__init__(
            connection_id=connection_id, properties=properties,
            set_associations=set_associations, size=size,
        )  # fmt: skip
        self.lines = _BodyLines(path, self.header, "objects")
        self.lines.out.sync_in_background()
        self.identities: dict[str, _IdentityLines] = {}
        """Per identity kind, its bodies (made when the first one comes)."""

    def write(self, objects: Iterable[MappedObject]) -> None:
        """Add one record's objects, starting a new body if they would not fit."""
        self.add([o.payload for o in objects])

    def add_identities(self, kind: str, payloads: list[dict[str, Any]]) -> None:
        """Add users (`kind` "user") or groups ("group") to their own bodies."""
        lines = self.identities.get(kind)
        if lines is None:
            path = self.lines.out.path.parent / SET_FILES[kind]
            lines = self.identities[kind] = _IdentityLines(path, self.header, kind, self.size)
        lines.add(payloads)

    @property
    def batches(self) -> int:
        """setObjects bodies written."""
        return self.lines.batches

    @property
    def identity_batches(self) -> dict[str, int]:
        """Bodies written per identity kind."""
        return {kind: lines.batches for kind, lines in self.identities.items()}

    def _flush(self) -> None:
        self.pending = self.lines.write(self.pending)

    def close(self) -> None:
        """Write the last bodies and make the files visible (no file when there is no body)."""
        self._flush()
        self.lines.close()
        for lines in self.identities.values():
            lines.close()

    def abort(self) -> None:
        """Drop the files."""
        self.pending = []
        self.lines.out.abort()
        for lines in self.identities.values():
            lines.out.abort()


class _BodyLines:
    """A file of request bodies, one per line: `header` and the list under `key`."""

    def __init__(self, path: Path, header: Mapping[str, Any], key: str) -> None:
        self.out = AtomicFile(path)
        self.header = header
        self.key = key
        self.batches = 0

    def write(self, pending: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Write one body of `pending` (none when it is empty); a new empty list. A payload
        may be `Digested` (worked out by a worker): its JSON goes in as it is, unless the body
        needs the standard library's encoder (an integer beyond 64 bits), which parses it."""
        if pending:
            body = {**self.header, self.key: [body_of(p) for p in pending]}
            try:
                line = orjson.dumps(body, option=orjson.OPT_APPEND_NEWLINE)
            except TypeError:
                line = dumps_line({**self.header, self.key: [payload_of(p) for p in pending]})
            self.out.write(line)
            self.batches += 1
        return []

    def close(self) -> None:
        """Make the file visible, or drop it when it holds no body."""
        if self.batches:
            self.out.commit()
        else:
            self.out.abort()


class _IdentityLines(_BodyLines):
    """setUsers (setGroups) bodies of at most `size` users (groups): only `connectionId`
    besides them (they take no properties)."""

    def __init__(self, path: Path, header: Mapping[str, Any], kind: str, size: int) -> None:
        connection = {k: v for k, v in header.items() if k == "connectionId"}
        super().__init__(path, connection, IDENTITY_OPERATIONS[kind][1])
        self.size = size
        self.pending: list[dict[str, Any]] = []

    def add(self, payloads: list[dict[str, Any]]) -> None:
        for payload in payloads:
            self.pending.append(payload)
            if len(self.pending) == self.size:
                self.pending = self.write(self.pending)

    def close(self) -> None:
        self.pending = self.write(self.pending)
        super().close()
