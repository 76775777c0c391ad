"""Where mapped objects and rejected records go: JSONL, setObjects batches, rejects, memory.

Every file goes through `io.atomic.AtomicFile`: it appears on `close()` only, and `abort()`
(or an exception inside `with`) removes the partial file.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import orjson

from mapper.errors import Diagnostic, OutputError
from mapper.io.atomic import AtomicFile, OutputGroup, output_error, write_atomic
from mapper.records import MappedObject, RecordResult, RejectedItem

MAX_OBJECTS_PER_BATCH = 100
BATCH_PATTERN = r"set(?:Objects|Users|Groups)-\d{5,}\.json"
_BATCH_NAME = re.compile(BATCH_PATTERN)
MAX_PROPERTIES = 5
STDOUT = "-"


def dumps(value: Any) -> bytes:
    """Compact JSON bytes; integers beyond 64 bits fall back to the standard library."""
    try:
        return orjson.dumps(value)
    except TypeError:
        import json

        try:
            text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        except ValueError:  # Infinity is not JSON: null, as orjson writes it
            text = json.dumps(_finite(value), ensure_ascii=False, separators=(",", ":"))
        try:
            return text.encode()
        except UnicodeEncodeError:  # a lone surrogate: written as the \ud800 escape it came as
            return json.dumps(_finite(value), separators=(",", ":")).encode()


def _finite(value: Any) -> Any:
    """`value` with every float that is not finite replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def dumps_line(value: Any) -> bytes:
    """`dumps(value)` and a newline: one JSON Lines line."""
    try:
        return orjson.dumps(value, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError:
        return dumps(value) + b"\n"


class Sink(Protocol):
    """Receives mapped objects; `close` makes the output visible, `abort` discards it."""

    def write(self, objects: Iterable[MappedObject]) -> None: ...
    def close(self) -> None: ...
    def abort(self) -> None: ...


class _Stdout:
    """Standard output as a sink's file: a closed or full stdout is an output error (exit 4);
    a broken pipe propagates (the reader went away: the command line ends quietly)."""

    def __init__(self) -> None:
        if sys.stdout is None:
            raise output_error("standard output", "it is closed")
        self.fh = sys.stdout.buffer

    def write(self, data: bytes) -> None:
        try:
            self.fh.write(data)
        except BrokenPipeError:
            raise
        except OSError as err:
            raise output_error("standard output", err.strerror or str(err), err.errno) from err

    def commit(self) -> None:
        try:
            self.fh.flush()
        except BrokenPipeError:
            raise
        except OSError as err:
            raise output_error("standard output", err.strerror or str(err), err.errno) from err

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self.fh.flush()


def _open(path: str, group: OutputGroup | None = None) -> AtomicFile | _Stdout:
    return _Stdout() if path == STDOUT else AtomicFile(path, group)


class _SinkBase:
    def __enter__(self) -> _SinkBase:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is None:
            self.close()  # type: ignore[attr-defined]
        else:
            self.abort()  # type: ignore[attr-defined]


def association_set_form(payload: dict[str, Any]) -> dict[str, Any]:
    """Associations in the `{"set": [...]}` form of the Google Drive tutorial (decision §8.4)."""
    if "associations" not in payload:
        return payload
    return {**payload, "associations": {"set": payload["associations"]}}


IDENTITY_OPERATIONS: dict[str, tuple[str, str]] = {
    "user": ("setUsers", "users"),
    "group": ("setGroups", "groups"),
}
"""Identity kind (`MappedObject.type_name` of a `users:` / `groups:` rule) -> (operation, key of
its list in the request body)."""
SYNC_SET_FILES = {
    "object": "setObjects.jsonl", "user": "setUsers.jsonl", "group": "setGroups.jsonl"
}  # fmt: skip
SYNC_DELETE_FILES = {
    "object": "deleteObjects.jsonl", "user": "deleteUsers.jsonl", "group": "deleteGroups.jsonl"
}  # fmt: skip
SYNC_REJECTS_FILE = "rejects.jsonl"
"""The files of a sync output folder (`mapper.sync.bodies`), named here so that readers of
outputs (`mapper.access.outputs`) know them too: the request bodies per kind, the rejects."""


def line_payload(obj: MappedObject, *, set_associations: bool = False) -> dict[str, Any]:
    """What one JSONL line holds: an object's payload, or `{"user": ...}` / `{"group": ...}`.

    A JSONL consumer tells the kinds apart by the top-level key: a line whose only key is
    `user` or `group` holds a setUsers / setGroups payload; every other line is an object (its
    type is its `atlassian:*` key), and no object has a `user` or `group` field.
    """
    if obj.type_name in IDENTITY_OPERATIONS:
        return {obj.type_name: obj.payload}
    return association_set_form(obj.payload) if set_associations else obj.payload


class _Lines:
    """An in-memory stand-in for an output file (a worker process's part)."""

    def __init__(self, lines: list[bytes]) -> None:
        self.lines = lines

    def write(self, data: bytes) -> None:
        self.lines.append(data)

    def commit(self) -> None:
        """Nothing to make visible."""

    def abort(self) -> None:
        """Nothing to discard."""


class JsonlSink(_SinkBase):
    """One object per line (the default output); into a list of lines with `lines=`."""

    def __init__(
        self,
        path: str,
        *,
        set_associations: bool = False,
        lines: list[bytes] | None = None,
        group: OutputGroup | None = None,
    ) -> None:
        self.out: AtomicFile | _Stdout | _Lines = (
            _Lines(lines) if lines is not None else _open(path, group)
        )
        self.set_associations = set_associations
        self.count = 0

    def write(self, objects: Iterable[MappedObject]) -> None:
        """Write objects as JSON lines."""
        for obj in objects:
            self.out.write(dumps_line(line_payload(obj, set_associations=self.set_associations)))
            self.count += 1

    def sync_in_background(self) -> None:
        """Flush the output to disk while it is written (see `AtomicFile.sync_in_background`)."""
        if isinstance(self.out, AtomicFile):
            self.out.sync_in_background()

    @property
    def path(self) -> str:
        """Where the output appears ("-" for standard output)."""
        return str(self.out.path) if isinstance(self.out, AtomicFile) else STDOUT

    @property
    def temporary_path(self) -> str:
        """The file being written (worker processes write their parts into it)."""
        if not isinstance(self.out, AtomicFile):
            raise TypeError("standard output has no temporary file")
        return str(self.out.tmp)

    def rewind(self, offset: int) -> None:
        """Cut the output back to `offset` bytes (where a part that is mapped again starts)."""
        if not isinstance(self.out, AtomicFile):
            raise TypeError("standard output cannot be rewound")
        self.out.rewind(offset)

    def close(self) -> None:
        """Make the file visible."""
        self.out.commit()

    def abort(self) -> None:
        """Discard the partial file."""
        self.out.abort()


Companion = tuple[tuple[str, str], dict[str, Any]]
"""(type, id) and payload of an object another travels with (`SetObjectsBatches.add`)."""


class SetObjectsBatches:
    """setObjects bodies being filled: the header (connectionId, properties), at most `size`
    objects each, and a record's objects kept in one body when they fit (so a commit travels
    with its repository, "in the same payload"). Subclasses write a body in `_flush`."""

    def __init__(
        self,
        *,
        connection_id: str | None,
        properties: Mapping[str, str] | None,
        set_associations: bool,
        size: int,
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
        self.pending: list[dict[str, Any]] = []
        self.count = 0
        self.companions: set[tuple[str, str]] = set()
        """The companions (see `add`) in the body being filled."""

    def add(
        self, payloads: list[dict[str, Any]], needs: Sequence[Companion] = ()
    ) -> list[str]:
        """Add one record's payloads, starting a new body if they would not fit.

        `needs`: companions the payloads travel with ("in the same payload": a commit's
        repository, sent by another job), put in each body that holds one of the payloads, once,
        before them (a body holds at most `size` objects when the companions and one payload fit
        in it). Returns the types of the companions put in."""
        group = [association_set_form(p) for p in payloads] if self.set_associations else payloads
        if not needs:
            if self.pending and len(self.pending) + len(group) > self.size:
                self._next_body()
            for payload in group:
                self._append(payload)
            return []
        placed: list[str] = []
        extra = [c for c in needs if c[0] not in self.companions]
        if self.pending and len(self.pending) + len(extra) + len(group) > self.size:
            self._next_body()
        for payload in group:
            extra = [c for c in needs if c[0] not in self.companions]  # (all, in a new body)
            if extra and self.pending and len(self.pending) + len(extra) + 1 > self.size:
                self._next_body()
                extra = list(needs)
            for key, companion in extra:  # (no new body between them and the payload)
                self.companions.add(key)
                placed.append(key[0])
                self.pending.append(
                    association_set_form(companion) if self.set_associations else companion
                )
                self.count += 1
            self._append(payload)
        return placed

    def _append(self, payload: dict[str, Any]) -> None:
        self.pending.append(payload)
        self.count += 1
        if len(self.pending) == self.size:
            self._next_body()

    def _next_body(self) -> None:
        self._flush()
        self.companions.clear()

    def add_groups(
        self, groups: list[list[dict[str, Any]]],
        needs: Sequence[Sequence[Companion]] | None = None,
    ) -> list[str]:  # fmt: skip
        """`add` each group in turn (one call for a chunk of records), with its companions
        (`needs`, one list per group; None: none). Returns the types of the companions put in."""
        if self.set_associations or needs is not None:
            placed = []
            for group, wanted in zip(groups, needs or [()] * len(groups), strict=True):
                placed += self.add(group, wanted)
            return placed
        size = self.size
        for group in groups:
            if self.pending and len(self.pending) + len(group) > size:
                self._next_body()
            for payload in group:
                self.pending.append(payload)
                if len(self.pending) == size:
                    self._next_body()
            self.count += len(group)
        return []

    def _flush(self) -> None:
        raise NotImplementedError


class BatchSink(_SinkBase, SetObjectsBatches):
    """setObjects request bodies, at most 100 objects each, one file per batch in a folder.

    Objects of one record stay in one batch when they fit, so a commit travels with its
    repository ("in the same payload"). Users and groups (`users:` / `groups:` rules) go to
    their own bodies, `setUsers-00001.json` `{connectionId, users: [...]}` and
    `setGroups-00001.json` `{connectionId, groups: [...]}`, at most 100 each.
    """

    def __init__(
        self,
        folder: str,
        *,
        connection_id: str | None = None,
        properties: dict[str, str] | None = None,
        set_associations: bool = False,
        size: int = MAX_OBJECTS_PER_BATCH,
        group: OutputGroup | None = None,
    ) -> None:
        SetObjectsBatches.__init__(
            self, connection_id=connection_id, properties=properties,
            set_associations=set_associations, size=size,
        )  # fmt: skip
        self.folder = Path(folder)
        self.written: list[Path] = []
        self.group = group
        """With a group, batches are renamed into the folder only when the whole run is
        written, and stale batches of an earlier run are removed only then."""
        self.identities: dict[str, list[dict[str, Any]]] = {k: [] for k in IDENTITY_OPERATIONS}
        self.identity_batches: dict[str, int] = dict.fromkeys(IDENTITY_OPERATIONS, 0)
        self.object_batches = 0

    def write(self, objects: Iterable[MappedObject]) -> None:
        """Add one record's objects, starting a new batch if they would not fit."""
        payloads = []
        for obj in objects:
            if obj.type_name in IDENTITY_OPERATIONS:
                self._add_identity(obj.type_name, obj.payload)
            else:
                payloads.append(obj.payload)
        self.add(payloads)

    def _add_identity(self, kind: str, payload: dict[str, Any]) -> None:
        self.count += 1
        pending = self.identities[kind]
        pending.append(payload)
        if len(pending) == self.size:
            self._flush_identities(kind)

    def _flush_identities(self, kind: str) -> None:
        pending = self.identities[kind]
        if not pending:
            return
        operation, key = IDENTITY_OPERATIONS[kind]
        self.identity_batches[kind] += 1
        path = self.folder / f"{operation}-{self.identity_batches[kind]:05d}.json"
        body = {**self.header, key: pending}
        body.pop("properties", None)  # setUsers / setGroups take no properties (reference §4.5)
        write_atomic(path, orjson.dumps(body, option=orjson.OPT_INDENT_2) + b"\n", self.group)
        self.written.append(path)
        self.identities[kind] = []

    def _flush(self) -> None:
        if not self.pending:
            return
        self.object_batches += 1
        path = self.folder / f"setObjects-{self.object_batches:05d}.json"
        body = {**self.header, "objects": self.pending}
        write_atomic(path, orjson.dumps(body, option=orjson.OPT_INDENT_2) + b"\n", self.group)
        self.written.append(path)
        self.pending = []

    def close(self) -> None:
        """Write the last batch and remove stale batch files of an earlier, longer run (with a
        group: once the group has renamed every file of the run)."""
        self._flush()
        for kind in IDENTITY_OPERATIONS:
            self._flush_identities(kind)
        if self.group is None:
            self.remove_stale()
        else:
            self.group.after.append(self.remove_stale)

    def remove_stale(self) -> None:
        """Remove batch files that this run did not write (an earlier, longer run's)."""
        keep = {p.name for p in self.written}
        with contextlib.suppress(OSError):
            for entry in os.scandir(self.folder):
                if _BATCH_NAME.fullmatch(entry.name) and entry.name not in keep:
                    with contextlib.suppress(OSError):
                        Path(entry.path).unlink()

    def abort(self) -> None:
        """Drop the unfinished batch (with a group, the group removes the written ones)."""
        self.pending = []
        if self.group is not None:
            self.group.abort()
        self.identities = {k: [] for k in IDENTITY_OPERATIONS}


def reject_line(
    source: str, index: int, diagnostics: Iterable[Diagnostic], record: Any, raw: str | None
) -> bytes:
    """One rejects-file line: where the record came from, why, and the record (or raw text)."""
    entry: dict[str, Any] = {
        "source": source,
        "index": index,
        "diagnostics": [d.to_dict() for d in diagnostics],
    }
    if raw is not None:
        entry["raw"] = raw
    else:
        entry["record"] = record
    return dumps_line(entry)


def item_reject_line(source: str, index: int, rejected: RejectedItem) -> bytes:
    """One rejects-file line for a rejected object candidate: the record it belongs to, the
    rule, the item's position and JSON pointer, why, and the item (or the whole record)."""
    entry: dict[str, Any] = {"source": source, "index": index, "rule": rejected.rule}
    if rejected.item is not None:
        entry["item"] = rejected.item
    if rejected.pointer:
        entry["pointer"] = rejected.pointer
    if rejected.held_back:
        entry["heldBack"] = True
    entry["diagnostics"] = [d.to_dict() for d in rejected.diagnostics]
    entry["data" if rejected.item is not None else "record"] = rejected.data
    return dumps_line(entry)


def errors_of_line(line: bytes | str) -> list[Diagnostic]:
    """The error diagnostics of one rejects-file line, as they were reported."""
    entry = orjson.loads(line)
    found = entry.get("diagnostics", ())
    return [Diagnostic.from_dict(d) for d in found if d["severity"] == "error"]


class RejectsSink(_SinkBase):
    """Rejected candidates as JSON lines: where they came from, why, and the data itself."""

    def __init__(
        self,
        path: str | None,
        *,
        lines: list[bytes] | None = None,
        keep: int = 0,
        group: OutputGroup | None = None,
    ) -> None:
        self.out: AtomicFile | _Lines | None = (
            _Lines(lines) if lines is not None else AtomicFile(path, group) if path else None
        )
        self.count = 0  # lines written
        self.records = 0  # records with a line
        self.keep = keep
        self.kept: list[list[Diagnostic]] = []
        """The errors of the first `keep` rejected records (shown when there is no file)."""

    def write_reject(
        self,
        source: str,
        index: int,
        diagnostics: Iterable[Diagnostic],
        record: Any,
        raw: str | None = None,
    ) -> None:
        """Quarantine one record with its diagnostics."""
        self.count += 1
        self.records += 1
        if self.records <= self.keep:
            diagnostics = list(diagnostics)
            self.kept.append([d for d in diagnostics if d.is_error])
        if self.out is not None:
            self.out.write(reject_line(source, index, diagnostics, record, raw))

    def write_result(self, result: RecordResult) -> None:
        """Quarantine the rejected candidates of one record, one line each."""
        rec = result.record
        self.records += 1
        if self.records <= self.keep:
            self.kept.append(list(result.errors))
        self.count += len(result.rejected)
        if self.out is not None:
            for rejected in result.rejected:
                self.out.write(item_reject_line(rec.source, rec.index, rejected))

    def write_raw(self, data: bytes, count: int) -> None:
        """Write already-serialised reject lines (from worker processes)."""
        self.count += count
        if self.out is not None:
            self.out.write(data)

    def close(self) -> None:
        """Make the rejects file visible (an empty file when nothing was rejected)."""
        if self.out is not None:
            self.out.commit()

    def abort(self) -> None:
        """Discard the partial rejects file."""
        if self.out is not None:
            self.out.abort()


class MemorySink(_SinkBase):
    """Keeps objects in a list (tests, preview, the Python API)."""

    def __init__(self) -> None:
        self.objects: list[MappedObject] = []
        self.count = 0

    def write(self, objects: Iterable[MappedObject]) -> None:
        """Keep the objects."""
        for obj in objects:
            self.objects.append(obj)
            self.count += 1

    def close(self) -> None:
        """Nothing to flush."""

    def abort(self) -> None:
        """Nothing to discard."""
