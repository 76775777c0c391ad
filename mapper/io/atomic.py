"""Files that appear whole or not at all: a temporary file in the same folder, fsynced, renamed.

`abort()` (or an exception) removes the temporary file, so a crash or Ctrl-C never leaves a
half-written output behind; the previous version at the path stays until the rename.

The files of one run (objects, rejects, report, batches) share an `OutputGroup`: each is
written and fsynced, and only when all of them are does the group rename them into place, so a
run that fails at the end (a full disk, Ctrl-C) leaves the previous run's files as they were.

A temporary file is named `.NAME.PID.RANDOM.tmp`: a later run removes those of processes that
are gone (a SIGKILL cannot clean up after itself), never those of a process that still runs.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from mapper.errors import Diagnostic, OutputError

_UMASK = os.umask(0)
os.umask(_UMASK)
SYNC_INTERVAL_S = 0.25  # how often a large output is flushed to disk while it is written


def _output_error(path: str, err: OSError) -> OutputError:
    return output_error(path, err.strerror or str(err), err.errno)


def output_error(path: str, reason: str, errno: int | None = None) -> OutputError:
    """The error for an output that cannot be written."""
    hint = "the disk is full" if errno == 28 or reason == os.strerror(28) else None
    diag = Diagnostic("output.write-failed", f"cannot write {path}: {reason}", hint=hint)
    return OutputError([diag])


_IN_USE: set[str] = set()
"""Temporary files this process is writing (the same pid: never stale)."""


def is_alive(pid: int) -> bool:
    """Does process `pid` still run (this process always does)?"""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, under another user
        return True
    return True


def stale_temporaries(path: Path) -> list[Path]:
    """Temporary files of `path` left by processes that are gone (matched literally, not as a
    glob: a name may hold `*` or `[`)."""
    prefix, found = f".{path.name}.", []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return []
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        middle = name[len(prefix) : -len(".tmp")].split(".")
        legacy = len(middle) == 1 and middle[0] != ""  # written before temporaries had a pid
        dead = len(middle) == 2 and middle[0].isdigit() and not is_alive(int(middle[0]))
        if legacy or dead:
            found.append(Path(entry.path))
    return [p for p in found if str(p) not in _IN_USE]


class AtomicFile:
    """A file that appears at `path` only when committed successfully (by itself, or by its
    `group` together with the other files of the run)."""

    def __init__(self, path: str | Path, group: OutputGroup | None = None) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            for stale in stale_temporaries(self.path):
                with contextlib.suppress(FileNotFoundError):
                    stale.unlink()  # left by a killed run (SIGKILL cannot clean up after itself)
            fd, tmp = tempfile.mkstemp(
                prefix=f".{self.path.name}.{os.getpid()}.", suffix=".tmp", dir=self.path.parent
            )
        except OSError as err:
            raise _output_error(str(self.path), err) from err
        self.tmp = Path(tmp)
        _IN_USE.add(tmp)
        self.fh: BinaryIO = os.fdopen(fd, "wb", buffering=1024 * 1024)
        self._syncing: tuple[threading.Thread, threading.Event] | None = None
        self.group = group
        self.prepared = False
        if group is not None:
            group.files.append(self)

    def sync_in_background(self, interval: float = SYNC_INTERVAL_S) -> None:
        """Flush written data to disk every `interval` seconds while the file is being written.

        The fsync in `commit` then has little left to do: for a large output it would otherwise
        wait for all of it at the end of the run.
        """
        if self._syncing is None:
            stop = threading.Event()
            fd = self.fh.fileno()
            thread = threading.Thread(target=_sync_until, args=(fd, stop, interval), daemon=True)
            thread.start()
            self._syncing = (thread, stop)

    def _stop_syncing(self) -> None:
        if self._syncing is not None:
            thread, stop = self._syncing
            stop.set()
            thread.join()
            self._syncing = None

    def write(self, data: bytes) -> None:
        """Append bytes to the temporary file."""
        try:
            self.fh.write(data)
        except OSError as err:
            self.abort()
            raise _output_error(str(self.path), err) from err

    def rewind(self, offset: int) -> None:
        """Cut the file back to `offset` bytes and go on writing there."""
        try:
            self.fh.flush()
            self.fh.seek(offset)
            self.fh.truncate()
        except OSError as err:
            self.abort()
            raise _output_error(str(self.path), err) from err

    def commit(self) -> None:
        """Flush, fsync and rename into place (in a group: the group renames, later)."""
        self.prepare()
        if self.group is None:
            self.publish()

    def prepare(self) -> None:
        """Flush, fsync and close the temporary file: all that is left is the rename."""
        if self.prepared:
            return
        self._stop_syncing()
        try:
            self.fh.flush()
            os.fsync(self.fh.fileno())
            os.fchmod(self.fh.fileno(), 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs are shared
            self.fh.close()
        except OSError as err:
            self.abort()
            raise _output_error(str(self.path), err) from err
        self.prepared = True

    def publish(self) -> None:
        """Rename the prepared temporary file into place."""
        try:
            os.replace(self.tmp, self.path)
        except OSError as err:
            self.abort()
            raise _output_error(str(self.path), err) from err
        _IN_USE.discard(str(self.tmp))

    def abort(self) -> None:
        """Drop the temporary file; the previous version at `path` (if any) stays."""
        self._stop_syncing()
        with contextlib.suppress(OSError):
            self.fh.close()
        with contextlib.suppress(OSError):
            self.tmp.unlink()
        _IN_USE.discard(str(self.tmp))


class OutputGroup:
    """The files of one run: each is written and fsynced, then all are renamed together.

    Nothing is renamed before every file is complete on disk; if one fails, the others are
    removed and the previous run's files stay as they were.
    """

    def __init__(self) -> None:
        self.files: list[AtomicFile] = []
        self.published = False
        self.after: list[Callable[[], None]] = []
        """Run once everything is renamed (removing stale batches of an earlier run)."""

    def publish(self) -> None:
        """Prepare every file, then rename them all (raises OutputError, having aborted all).

        The previous version of each file is kept as a hard link until every rename is done:
        if one fails, those already renamed are put back, so the folder never holds a mix.
        """
        try:
            for f in self.files:
                f.prepare()
        except OutputError:
            self.abort()
            raise
        backups = [_backup(f.path) for f in self.files]
        done: list[int] = []
        try:
            for number, f in enumerate(self.files):
                f.publish()
                done.append(number)
        except OutputError:
            for number in reversed(done):
                _restore(self.files[number].path, backups[number])
            self.abort()
            _drop(backups)
            raise
        _drop(backups)
        self.published = True
        for then in self.after:
            then()

    def abort(self) -> None:
        """Remove every temporary file of the group not yet renamed."""
        for f in self.files:
            if not self.published:
                f.abort()


def _backup(path: Path) -> Path | None:
    """A hard link to the file at `path` (None: there is none, or links are not possible)."""
    backup = path.parent / f".{path.name}.{os.getpid()}.previous.tmp"
    try:
        if not path.is_file() or path.is_symlink():
            return None
        with contextlib.suppress(FileNotFoundError):
            backup.unlink()
        os.link(path, backup)
    except OSError:
        return None
    _IN_USE.add(str(backup))
    return backup


def _restore(path: Path, backup: Path | None) -> None:
    """Put the previous version back (or remove the new file when there was none)."""
    with contextlib.suppress(OSError):
        if backup is None:
            path.unlink()
        else:
            os.replace(backup, path)


def _drop(backups: list[Path | None]) -> None:
    for backup in backups:
        if backup is not None:
            with contextlib.suppress(OSError):
                backup.unlink()
            _IN_USE.discard(str(backup))


def _sync_until(fd: int, stop: threading.Event, interval: float) -> None:
    datasync = getattr(os, "fdatasync", os.fsync)  # macOS has no fdatasync
    while not stop.wait(interval):
        with contextlib.suppress(OSError):  # the final fsync in commit() reports errors
            datasync(fd)


def write_atomic(path: str | Path, data: bytes, group: OutputGroup | None = None) -> None:
    """Write a whole file atomically (renamed with its `group`, when given)."""
    out = AtomicFile(path, group)
    out.write(data)
    out.commit()
