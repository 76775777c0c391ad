"""What can be wrong with a state file, as `sync.*` diagnostics (a `SyncStateError`).

Locked by another run, unwritable, not SQLite, empty, truncated or damaged: each is a clear
error that leaves the file as it was.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from mapper.errors import Diagnostic, SyncStateError
from mapper.io.atomic import output_kind

SQLITE_MAGIC = b"SQLite format 3\x00"
HEADER_SIZE = 100


def state_error(
    code: str, path: str | Path, message: str, hint: str | None = None
) -> SyncStateError:
    """A `SyncStateError` with one `sync.*` diagnostic naming the state file."""
    return SyncStateError([Diagnostic(code, f"state {path}: {message}", hint=hint)])


@contextlib.contextmanager
def sqlite_errors(path: str | Path) -> Iterator[None]:
    """Turn SQLite's exceptions into `sync.*` diagnostics (locked, unwritable, corrupt)."""
    try:
        yield
    except sqlite3.OperationalError as err:
        raise _operational(path, str(err)) from err
    except sqlite3.DatabaseError as err:
        raise state_error(
            "sync.state-corrupt", path, f"the file is damaged ({err})",
            "restore it from a backup, or remove it to start again (the next run re-emits all)",
        ) from err  # fmt: skip


def _operational(path: str | Path, text: str) -> SyncStateError:
    if "locked" in text or "busy" in text:
        return state_error(
            "sync.state-locked", path, "another run is using it",
            "wait for that run to finish; runs on one connection take turns",
        )  # fmt: skip
    if "readonly" in text or "unable to open" in text or "read-only" in text:
        return state_error("sync.state-unwritable", path, f"cannot write it ({text})")
    if "disk" in text and "full" in text:
        return state_error("sync.state-unwritable", path, "the disk is full")
    if "malformed" in text or "not a database" in text:
        return state_error("sync.state-corrupt", path, f"the file is damaged ({text})")
    return state_error("sync.state-unwritable", path, text)


def check_header(path: Path) -> None:
    """Refuse a file that is not an SQLite database (empty, truncated or something else), and
    anything that is not a regular file (a FIFO would block the read, a device is no state)."""
    kind = output_kind(path)
    if kind == "a folder":  # (the folder of `sync-batch --state` holds one file per job)
        hint = f"name the state file, e.g. --state {path / 'NAME.db'}"
        raise state_error("sync.state-unwritable", path, "is a folder, not a state file", hint)
    if kind is not None:
        raise state_error("sync.state-unwritable", path, f"is {kind}, not a state file")
    try:
        with path.open("rb") as fh:
            head = fh.read(HEADER_SIZE)
    except IsADirectoryError as err:
        raise state_error("sync.state-unwritable", path, "is a folder, not a file") from err
    except OSError as err:
        raise state_error("sync.state-unwritable", path, err.strerror or str(err)) from err
    problem = _header_problem(head, path.stat().st_size)
    if problem:
        hint = "restore it from a backup, or remove it to start again (the next run re-emits all)"
        if head[:16] != SQLITE_MAGIC and head:  # maybe never a state: not "remove it" first
            hint = f"check the path: a state is the SQLite file a sync made; if it was one, {hint}"
        raise state_error("sync.state-corrupt", path, problem, hint)


def _header_problem(head: bytes, size: int) -> str | None:
    """What is wrong with the first 100 bytes of a state file, if anything."""
    if not head:
        return "is empty"
    if head[:16] != SQLITE_MAGIC:
        return "is not a mapper state file (not SQLite)"
    if len(head) < HEADER_SIZE:
        return "is truncated"
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(head[28:32], "big")
    valid = head[24:28] == head[92:96]  # the page count is trusted only then
    if page_size < 512 or size % page_size or (valid and size < pages * page_size):
        return f"is truncated ({size:,} bytes; its header says {pages * page_size:,})"
    return None
