"""Run outputs read back as entries: objects, users and groups, streamed file by file.

A JSONL line is a user when its only key is `user`, a group when it is `group`, else an object
(its type is its `atlassian:*` key). A batch folder holds `setObjects-*.json`,
`setUsers-*.json` and `setGroups-*.json` request bodies; a sync output folder holds them as
lines of `setObjects.jsonl`, `setUsers.jsonl` and `setGroups.jsonl`. Rejects, reports and
delete bodies are skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson

from mapper.errors import Diagnostic, OutputError
from mapper.io.sinks import SYNC_DELETE_FILES, SYNC_REJECTS_FILE

EntryKind = Literal["object", "user", "group"]
_BODY_KEYS: dict[str, tuple[EntryKind, str]] = {
    "setObjects": ("object", "objects"),
    "setUsers": ("user", "users"),
    "setGroups": ("group", "groups"),
}
_SKIPPED_SUFFIXES = (".rejects.jsonl", ".report.json")
_SKIPPED_NAMES = frozenset({SYNC_REJECTS_FILE, *SYNC_DELETE_FILES.values()})
"""Files of a sync output folder that hold no entries (`mapper.sync.bodies`)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One output item: its kind, its payload and the file it came from."""

    kind: EntryKind
    payload: dict[str, Any]
    source: str

    @property
    def type_name(self) -> str:
        """The object type (the payload's `atlassian:*` key), or the kind for users/groups."""
        if self.kind != "object":
            return self.kind
        return next((k for k in self.payload if k.startswith("atlassian:")), "")


def entry_of_line(value: Any, source: str) -> Entry | None:
    """The entry one JSONL line holds (None for anything that is not a JSON object)."""
    if not isinstance(value, dict):
        return None
    if len(value) == 1:
        kind = next(iter(value))
        inner = value[kind]
        if kind in ("user", "group") and isinstance(inner, dict):
            return Entry(kind, inner, source)
    return Entry("object", value, source)


def output_files(paths: Iterable[str]) -> list[Path]:
    """The output files behind `paths`: files as given, folders searched for outputs.

    Raises:
        OutputError: a path that does not exist.
    """
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found.extend(_folder_outputs(path))
        elif path.is_file():
            found.append(path)
        else:
            raise OutputError([Diagnostic("access.no-output", f"no such output: {given}")])
    return found


def _folder_outputs(folder: Path) -> list[Path]:
    files = sorted(
        p for p in folder.rglob("*.jsonl")
        if not p.name.endswith(_SKIPPED_SUFFIXES) and p.name not in _SKIPPED_NAMES
    )  # fmt: skip
    for prefix in _BODY_KEYS:
        files.extend(sorted(folder.rglob(f"{prefix}-*.json")))
    return files


def iter_entries(paths: Iterable[str]) -> Iterator[Entry]:
    """Every entry of the outputs at `paths`, in file order.

    Raises:
        OutputError: an output that does not exist or is not JSON.
    """
    for path in output_files(paths):
        if path.suffix == ".json":
            yield from _batch_entries(path)
        else:
            yield from _jsonl_entries(path)


def _jsonl_entries(path: Path) -> Iterator[Entry]:
    source = str(path)
    body = _BODY_KEYS.get(path.stem) if path.suffix == ".jsonl" else None  # a sync's bodies
    try:
        with path.open("rb") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                value = _parse(line, f"{source}:{number}")
                if body is not None:
                    yield from _body_entries(value, *body, source)
                elif (entry := entry_of_line(value, source)) is not None:
                    yield entry
    except OSError as err:
        raise OutputError([Diagnostic("access.unreadable", f"{source}: {err.strerror}")]) from err


def _batch_entries(path: Path) -> Iterator[Entry]:
    source = str(path)
    prefix = path.name.split("-", 1)[0]
    kind, key = _BODY_KEYS.get(prefix, ("object", "objects"))
    try:
        body = _parse(path.read_bytes(), source)
    except OSError as err:
        raise OutputError([Diagnostic("access.unreadable", f"{source}: {err.strerror}")]) from err
    yield from _body_entries(body, kind, key, source)


def _body_entries(body: Any, kind: EntryKind, key: str, source: str) -> Iterator[Entry]:
    """The entries of one request body (`{connectionId, objects: [...]}`, ...)."""
    items = body.get(key) if isinstance(body, dict) else None
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict):
            yield Entry(kind, item, source)


def _parse(data: bytes, where: str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as err:
        message = f"{where}: not JSON ({err.msg})"
        raise OutputError([Diagnostic("access.not-json", message)]) from err
