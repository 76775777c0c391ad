"""Files that appear whole or not at all: a temporary file in the same folder, fsynced, renamed.

`abort()` (or an exception) removes the temporary file, so a crash or Ctrl-C never leaves a
half-written output behind; the previous version at the path stays until the rename.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
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


class AtomicFile:
    """A file that appears at `path` only when closed successfully."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            for stale in self.path.parent.glob(f".{self.path.name}.*.tmp"):
                stale.unlink()  # left by a killed run (SIGKILL cannot clean up after itself)
            fd, tmp = tempfile.mkstemp(
                prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent
            )
        except OSError as err:
            raise _output_error(str(self.path), err) from err
        self.tmp = Path(tmp)
        self.fh: BinaryIO = os.fdopen(fd, "wb", buffering=1024 * 1024)
        self._syncing: tuple[threading.Thread, threading.Event] | None = None

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
        """Flush, fsync and rename into place."""
        self._stop_syncing()
        try:
            self.fh.flush()
            os.fsync(self.fh.fileno())
            os.fchmod(self.fh.fileno(), 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs are shared
            self.fh.close()
            os.replace(self.tmp, self.path)
        except OSError as err:
            self.abort()
            raise _output_error(str(self.path), err) from err

    def abort(self) -> None:
        """Drop the temporary file; the previous version at `path` (if any) stays."""
        self._stop_syncing()
        with contextlib.suppress(OSError):
            self.fh.close()
        with contextlib.suppress(OSError):
            self.tmp.unlink()


def _sync_until(fd: int, stop: threading.Event, interval: float) -> None:
    datasync = getattr(os, "fdatasync", os.fsync)  # macOS has no fdatasync
    while not stop.wait(interval):
        with contextlib.suppress(OSError):  # the final fsync in commit() reports errors
            datasync(fd)


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write a whole file atomically."""
    out = AtomicFile(path)
    out.write(data)
    out.commit()
