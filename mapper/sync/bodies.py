"""Request bodies as JSON lines: `setObjects.jsonl` and `deleteObjects.jsonl` of a sync run.

One line is one request body, ready to pass to `graph.setObjects(...)` or
`graph.deleteObjectsByExternalId(...)`. A sync of a million objects writes two files instead of
ten thousand: one fsync each when the run ends, and a folder that is quick to replace.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from mapper.errors import Diagnostic, OutputError
from mapper.io.atomic import AtomicFile
from mapper.io.sinks import MAX_OBJECTS_PER_BATCH, MAX_PROPERTIES, association_set_form, dumps_line
from mapper.records import MappedObject

SET_OBJECTS_FILE = "setObjects.jsonl"
DELETE_OBJECTS_FILE = "deleteObjects.jsonl"


class SetObjectsLines:
    """setObjects bodies of at most 100 objects, one per line; a record's objects stay together
    in one body when they fit (so a commit travels with its repository)."""

    def __init__(
        self,
        path: Path,
        *,
        connection_id: str | None,
        properties: Mapping[str, str] | None = None,
        set_associations: bool = False,
        size: int = MAX_OBJECTS_PER_BATCH,
    ) -> None:
        if properties and len(properties) > MAX_PROPERTIES:
            message = f"setObjects takes at most {MAX_PROPERTIES} properties"
            raise OutputError([Diagnostic("output.too-many-properties", message)])
        self.header: dict[str, Any] = {}
        if connection_id:
            self.header["connectionId"] = connection_id
        if properties:
            self.header["properties"] = dict(properties)
        self.size = max(1, min(size, MAX_OBJECTS_PER_BATCH))
        self.set_associations = set_associations
        self.out = AtomicFile(path)
        self.out.sync_in_background()
        self.pending: list[dict[str, Any]] = []
        self.batches = 0
        self.count = 0

    def write(self, objects: Iterable[MappedObject]) -> None:
        """Add one record's objects, starting a new body if they would not fit."""
        self.add([o.payload for o in objects])

    def add(self, payloads: list[dict[str, Any]]) -> None:
        """Add one record's payloads, starting a new body if they would not fit."""
        group = [association_set_form(p) for p in payloads] if self.set_associations else payloads
        if self.pending and len(self.pending) + len(group) > self.size:
            self._flush()
        for payload in group:
            self.pending.append(payload)
            self.count += 1
            if len(self.pending) == self.size:
                self._flush()

    def _flush(self) -> None:
        if self.pending:
            self.out.write(dumps_line({**self.header, "objects": self.pending}))
            self.batches += 1
            self.pending = []

    def close(self) -> None:
        """Write the last body and make the file visible (no file when there is no body)."""
        self._flush()
        if self.batches:
            self.out.commit()
        else:
            self.out.abort()

    def abort(self) -> None:
        """Drop the file."""
        self.pending = []
        self.out.abort()
