"""Request bodies as JSON lines: `setObjects.jsonl` and `deleteObjects.jsonl` of a sync run.

One line is one request body, ready to pass to `graph.setObjects(...)` or
`graph.deleteObjectsByExternalId(...)`. A sync of a million objects writes two files instead of
ten thousand: one fsync each when the run ends, and a folder that is quick to replace.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from mapper.io.atomic import AtomicFile
from mapper.io.sinks import MAX_OBJECTS_PER_BATCH, SetObjectsBatches, dumps_line
from mapper.records import MappedObject

SET_OBJECTS_FILE = "setObjects.jsonl"
DELETE_OBJECTS_FILE = "deleteObjects.jsonl"


class SetObjectsLines(SetObjectsBatches):
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
        super().__init__(
            connection_id=connection_id, properties=properties,
            set_associations=set_associations, size=size,
        )  # fmt: skip
        self.out = AtomicFile(path)
        self.out.sync_in_background()
        self.batches = 0

    def write(self, objects: Iterable[MappedObject]) -> None:
        """Add one record's objects, starting a new body if they would not fit."""
        self.add([o.payload for o in objects])

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
