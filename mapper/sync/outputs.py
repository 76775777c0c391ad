"""The output folder of a sync run: written aside, put in place whole, never mixing two runs.

A run writes every file (setObjects and delete batches, rejects, report) into a staging folder
next to the output folder, fsyncs them, then moves the previous output folder aside and the
staging folder into its place, and removes the previous one. A crash leaves the output folder
as the previous run wrote it, as this run wrote it, or absent (between the two renames); the
next run removes the leftovers. An existing output folder is replaced only when it is empty or
was written by `mapper sync` (it holds the `.mapper-sync` marker) and holds nothing but the
files a sync writes: a file put there by hand is never removed with the folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from mapper.errors import Diagnostic, OutputError
from mapper.sync.crash import crash_point

MARKER = ".mapper-sync"
_UMASK = os.umask(0)
os.umask(_UMASK)


def _error(path: Path, reason: str, hint: str | None = None) -> OutputError:
    return OutputError(
        [Diagnostic("output.write-failed", f"cannot write {path}: {reason}", hint=hint)]
    )


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class RunFolder:
    """The staging folder of one run and how it replaces the output folder (`names`: the
    files a run may leave in it, besides the marker)."""

    def __init__(self, final: str | Path, names: frozenset[str]) -> None:
        self.final = Path(final)
        # where the folder is: a link's target (the link stays; renaming it aside would leave
        # it there and put a folder in its place)
        self.place = Path(os.path.realpath(final)) if self.final.is_symlink() else self.final
        self.names = names | {MARKER}
        self._check_final()
        parent = self.place.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self._remove_leftovers()
            self.staging = Path(
                tempfile.mkdtemp(prefix=f".{self.place.name}.sync-", suffix=".tmp", dir=parent)
            )
            self.staging.chmod(0o777 & ~_UMASK)  # mkdtemp makes 0700; outputs are shared
            (self.staging / MARKER).write_bytes(b"written by mapper sync\n")
        except OSError as err:
            raise _error(self.final, err.strerror or str(err)) from err

    def _check_final(self) -> None:
        if self.final.exists() and not self.final.is_dir():
            raise _error(self.final, "it is a file; mapper sync writes a folder")
        if not self.final.is_dir():
            return
        ours = (self.final / MARKER).exists()
        held = sorted(entry.name for entry in self.final.iterdir())
        foreign = [name for name in held if not ours or name not in self.names]
        if foreign:
            raise _error(
                self.final, "the folder holds files mapper sync did not write "
                f"({', '.join(foreign[:3])}{', ...' if len(foreign) > 3 else ''})",
                "give -o an empty or new folder: each run replaces the folder's content",
            )  # fmt: skip

    def _remove_leftovers(self) -> None:
        """Folders left by a killed run (SIGKILL cannot clean up after itself)."""
        pattern = f".{self.place.name}.sync-*"
        for stale in self.place.parent.glob(pattern):
            if stale.is_dir() and stale.suffix in {".tmp", ".old"}:
                shutil.rmtree(stale, ignore_errors=True)

    def commit(self) -> None:
        """fsync the staging folder and put it in place of the output folder."""
        try:
            for item in self.staging.iterdir():
                with item.open("rb") as fh:
                    os.fsync(fh.fileno())
            _fsync_dir(self.staging)
            crash_point("outputs-staged")
            old = None
            if self.place.exists():
                old = self.staging.with_suffix(".old")
                self.place.rename(old)
                crash_point("outputs-swapping")
            self.staging.rename(self.place)
            _fsync_dir(self.place.parent)
        except OSError as err:
            raise _error(self.final, err.strerror or str(err)) from err
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def abort(self) -> None:
        """Remove the staging folder; the output folder stays as it was."""
        with contextlib.suppress(OSError):
            shutil.rmtree(self.staging)
