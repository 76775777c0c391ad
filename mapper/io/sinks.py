"""Where mapped objects and rejected records go: JSONL, setObjects batches, rejects, memory.

Every file goes through `io.atomic.AtomicFile`: it appears on `close()` only, and `abort()`
(or an exception inside `with`) removes the partial file.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import orjson

from mapper.errors import Diagnostic, OutputError
from mapper.io.atomic import AtomicFile, output_error, write_atomic
from mapper.records import MappedObject

MAX_OBJECTS_PER_BATCH = 100
MAX_PROPERTIES = 5
STDOUT = "-"


def dumps(value: Any) -> bytes:
    """Compact JSON bytes; integers beyond 64 bits fall back to the standard library."""
    try:
        return orjson.dumps(value)
    except TypeError:
        import json

        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


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


def _open(path: str) -> AtomicFile | _Stdout:
    return _Stdout() if path == STDOUT else AtomicFile(path)


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
        self, path: str, *, set_associations: bool = False, lines: list[bytes] | None = None
    ) -> None:
        self.out: AtomicFile | _Stdout | _Lines = (
            _Lines(lines) if lines is not None else _open(path)
        )
        self.set_associations = set_associations
        self.count = 0

    def write(self, objects: Iterable[MappedObject]) -> None:
        """Write objects as JSON lines."""
        for obj in objects:
            payload = association_set_form(obj.payload) if self.set_associations else obj.payload
            self.out.write(dumps_line(payload))
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


class BatchSink(_SinkBase):
    """setObjects request bodies, at most 100 objects each, one file per batch in a folder.

    Objects of one record stay in one batch when they fit, so a commit travels with its
    repository ("in the same payload").
    """

    def __init__(
        self,
        folder: str,
        *,
        connection_id: str | None = None,
        properties: dict[str, str] | None = None,
        set_associations: bool = False,
        size: int = MAX_OBJECTS_PER_BATCH,
    ) -> None:
        if properties and len(properties) > MAX_PROPERTIES:
            raise OutputError(
                [
                    Diagnostic(
                        "output.too-many-properties",
                        f"setObjects takes at most {MAX_PROPERTIES} properties",
                    )
                ]
            )
        self.folder = Path(folder)
        self.size = max(1, min(size, MAX_OBJECTS_PER_BATCH))
        self.header: dict[str, Any] = {}
        if connection_id:
            self.header["connectionId"] = connection_id
        if properties:
            self.header["properties"] = dict(properties)
        self.set_associations = set_associations
        self.pending: list[dict[str, Any]] = []
        self.written: list[Path] = []
        self.count = 0

    def write(self, objects: Iterable[MappedObject]) -> None:
        """Add one record's objects, starting a new batch if they would not fit."""
        group = [
            association_set_form(o.payload) if self.set_associations else o.payload for o in objects
        ]
        if self.pending and len(self.pending) + len(group) > self.size:
            self._flush()
        for payload in group:
            self.pending.append(payload)
            self.count += 1
            if len(self.pending) == self.size:
                self._flush()

    def _flush(self) -> None:
        if not self.pending:
            return
        path = self.folder / f"setObjects-{len(self.written) + 1:05d}.json"
        body = {**self.header, "objects": self.pending}
        write_atomic(path, orjson.dumps(body, option=orjson.OPT_INDENT_2) + b"\n")
        self.written.append(path)
        self.pending = []

    def close(self) -> None:
        """Write the last batch and remove stale batch files of an earlier, longer run."""
        self._flush()
        keep = {p.name for p in self.written}
        for old in self.folder.glob("setObjects-*.json"):
            if old.name not in keep:
                with contextlib.suppress(OSError):
                    old.unlink()

    def abort(self) -> None:
        """Batches already written are complete files; the unfinished one is dropped."""
        self.pending = []


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


class RejectsSink(_SinkBase):
    """Rejected records as JSON lines: where they came from, why, and the record itself."""

    def __init__(
        self, path: str | None, *, lines: list[bytes] | None = None, keep: int = 0
    ) -> None:
        self.out: AtomicFile | _Lines | None = (
            _Lines(lines) if lines is not None else AtomicFile(path) if path else None
        )
        self.count = 0
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
        if self.count <= self.keep:
            diagnostics = list(diagnostics)
            self.kept.append([d for d in diagnostics if d.is_error])
        if self.out is not None:
            self.out.write(reject_line(source, index, diagnostics, record, raw))

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
