"""Files that appear whole or not at all: a temporary file in the same folder, fsynced, renamed.

`abort()` (or an exception) removes the temporary file, so a crash or Ctrl-C never leaves a
half-written output behind; the previous version at the path stays until the rename.

The files of one run (objects, rejects, report, batches) share an `OutputGroup`: each is
written and fsynced, and only when all of them are does the group rename them into place, so a
run that fails at the end (a full disk, Ctrl-C) leaves the previous run's files as they were.

A temporary file is named `.NAME.mapper-PID-TOKEN.tmp` (TOKEN: 8 hex digits, or `previous` for
the hard link that keeps the previous version during a group's renames). A later run removes
exactly those names, and only when process PID is gone (a SIGKILL cannot clean up after itself)
and the file is not one the run reads: a user's own `.NAME.x.tmp` is never touched.

An output is a regular file, a symlink to one (the rename replaces the link), or absent:
`check_output` refuses a folder, FIFO, device or socket (also behind a symlink) before anything
is written, for every writer.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import stat
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from mapper.errors import Diagnostic, OutputError
from mapper.signals import signals_to_main_thread, too_late_to_stop

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
_READ: set[str] = set()
"""Real paths of the files a run of this process reads (`reading`): never swept."""
MARKER = "mapper"
"""In every temporary file name: `.NAME.mapper-PID-TOKEN.tmp`."""
_TOKEN = r"(?:[0-9a-f]{8}|previous)"


def temporary_name(path: Path, token: str) -> str:
    """The name of a temporary file of `path` written by this process."""
    return f".{path.name}.{MARKER}-{os.getpid()}-{token}.tmp"


@contextlib.contextmanager
def reading(paths: Iterable[str]) -> Iterator[None]:
    """While the block runs, none of `paths` (the inputs of a run) is swept as a temporary."""
    added = {os.path.realpath(p) for p in paths} - _READ
    _READ.update(added)
    try:
        yield
    finally:
        _READ.difference_update(added)


def output_kind(path: str | Path) -> str | None:
    """What `path` is when it cannot be an output (a folder, a FIFO, ...); None when it can:
    absent, a regular file, or a symlink to one (or to nothing)."""
    try:
        mode = os.lstat(path).st_mode
        if stat.S_ISLNK(mode):
            if _names_a_descriptor(str(path)):
                return "a process's file descriptor (/dev/stdout and the like)"
            mode = Path(path).stat().st_mode  # /dev/stdout -> a pipe or a terminal: refused
    except OSError:
        return None  # absent, a dangling link (or unreachable: writing it says why)
    if stat.S_ISREG(mode):
        return None
    kinds = {stat.S_ISDIR: "a folder", stat.S_ISFIFO: "a FIFO", stat.S_ISSOCK: "a socket"}
    kinds.update({stat.S_ISCHR: "a device", stat.S_ISBLK: "a device"})
    return next((kind for test, kind in kinds.items() if test(mode)), "not a regular file")


_DESCRIPTOR = ("/dev/stdin", "/dev/stdout", "/dev/stderr", "/dev/fd/", "/proc/self/fd/")


def _names_a_descriptor(path: str) -> bool:
    """Does `path`, or a link on the way to its target, name an open file descriptor
    (`/dev/stdout`, `/proc/self/fd/1`, `/proc/PID/fd/N`)? Writing one atomically would replace
    the link with a file (the output never reaching the stream it names), whatever the
    descriptor is open on."""
    current = Path(path)
    for _ in range(40):  # (the kernel's own limit on links followed)
        text = os.path.normpath(Path.cwd() / current)
        parts = text.split("/")
        if text.startswith(_DESCRIPTOR) or (parts[1:2] == ["proc"] and parts[3:4] == ["fd"]):
            return True
        link = Path(text)
        if not link.is_symlink():
            return False
        current = link.parent / link.readlink()
    return False


def check_output(path: str | Path, option: str | None = None) -> None:
    """Refuse an output path that is not a regular file (see `output_kind`).

    Raises:
        OutputError: `output.not-a-file`, naming the path and what it is (exit 4).
    """
    kind = output_kind(path)
    if kind is not None:
        raise OutputError([not_a_file(path, kind, option)])


def overwritten_input(output: str | Path, inputs: Iterable[str | Path]) -> str | None:
    """The first of `inputs` that writing `output` would replace (the same file, also through
    a link), or None."""
    target = os.path.realpath(output)
    return next((str(i) for i in inputs if os.path.realpath(i) == target), None)


def not_a_file(path: str | Path, kind: str, option: str | None = None) -> Diagnostic:
    """The diagnostic for an output path that is `kind` (a folder, a FIFO, a device...)."""
    named = f"{option} {path}" if option else str(path)
    return Diagnostic(
        "output.not-a-file",
        f"{named} is {kind}: outputs are regular files or - (stdout); nothing was written",
        hint="name a file, or - for standard output",
    )


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
    """Temporary files of `path` left by processes that are gone: names matching exactly
    `.NAME.mapper-PID-TOKEN.tmp` (NAME taken literally: it may hold `*` or `[`), whose PID is
    not running, and that no run of this process reads."""
    prefix = f".{path.name}.{MARKER}-"
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return []
    found = []
    for entry in entries:
        if not entry.name.startswith(prefix):  # (no pattern compiled per output on every run)
            continue
        match = _stale_tail().fullmatch(entry.name, len(prefix))
        if match is None or is_alive(int(match[1])) or entry.path in _IN_USE:
            continue
        if os.path.realpath(entry.path) not in _READ and entry.is_file(follow_symlinks=False):
            found.append(Path(entry.path))
    return found


@functools.cache
def _stale_tail() -> re.Pattern[str]:
    """What follows `.NAME.mapper-` in a temporary file's name: PID, token, `.tmp`."""
    return re.compile(r"(\d{1,9})-" + _TOKEN + r"\.tmp")


def _create_temporary(path: Path) -> tuple[int, str]:
    """A new temporary file of `path` (mode 0600), open for writing."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = str(path.parent / temporary_name(path, os.urandom(4).hex()))
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name for {path}")


class AtomicFile:
    """A file that appears at `path` only when committed successfully (by itself, or by its
    `group` together with the other files of the run)."""

    def __init__(self, path: str | Path, group: OutputGroup | None = None) -> None:
        self.path = Path(path)
        check_output(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            for stale in stale_temporaries(self.path):
                with contextlib.suppress(FileNotFoundError):
                    stale.unlink()  # left by a killed run (SIGKILL cannot clean up after itself)
            fd, tmp = _create_temporary(self.path)
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
            with signals_to_main_thread():
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
            os.fchmod(self.fh.fileno(), 0o666 & ~_UMASK)  # created 0600; outputs are shared
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
        self.late_stops: list[int] = []
        """Stop signals that came while the files were renamed (noted: the renames went on)."""

    def publish(self) -> None:
        """Prepare every file, then rename them all (raises OutputError, having aborted all).

        The previous version of each file is kept as a hard link until every rename is done:
        if one fails, those already renamed are put back, so the folder never holds a mix. A
        stop signal (Ctrl-C) that comes while they are renamed (and `after` runs) is noted in
        `late_stops`, not acted on: the renames end whole.
        """
        try:
            for f in self.files:
                f.prepare()
        except OutputError:
            self.abort()
            raise
        with too_late_to_stop() as self.late_stops:
            self._rename()
            for then in self.after:  # (stale batches of an earlier run go too: never a mix)
                then()

    def _rename(self) -> None:
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

    def abort(self) -> None:
        """Remove every temporary file of the group not yet renamed."""
        for f in self.files:
            if not self.published:
                f.abort()


def _backup(path: Path) -> Path | None:
    """A hard link to the file at `path` (None: there is none, or links are not possible)."""
    backup = path.parent / temporary_name(path, "previous")
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
