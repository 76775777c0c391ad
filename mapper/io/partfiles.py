"""Part outputs written by cluster workers, joined in input order by the client.

A worker writes each part's object lines (and reject lines, when there are any) into the run's
parts folder, next to the output (a local path, or an fsspec URL), under a name unique to that
attempt (`NUMBER.ATTEMPT.objects`): a part run again after its worker died never mixes with the
killed attempt's file. The worker returns only the names. The client appends the files of each
part, in part order, to the output's temporary file (`os.sendfile` from file to file where the
system allows, else a plain copy), and removes the folder at the end, whatever happened: the
output itself appears only when its temporary file is committed. A worker writes only while
the folder's `MARK` file is there, so a task still running when a stopped run removes the
folder does not bring it back. A local parts folder left by a run that was killed (its process
is gone) is removed by the next run to the same output.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from mapper.io.atomic import AtomicFile, is_alive, output_error
from mapper.io.remote import AtomicUrl, is_url, url_fs

COPY_CHUNK = 1 << 20
MARK = "run"
"""A file in the parts folder while the run goes on: a worker writes a part only while it is
there (a cancelled task may still be running when the client removes the folder)."""


def parts_folder(output: str) -> str:
    """A new, empty parts folder beside `output` (a path or URL), unique to this run.

    Raises:
        OutputError: the folder cannot be made.
    """
    if is_url(output):
        folder = f"{output}.{uuid.uuid4().hex}.parts"
        try:
            fs, path = url_fs(folder)
            fs.makedirs(path, exist_ok=True)
            fs.pipe_file(f"{path}/{MARK}", b"")
        except (OSError, ValueError) as err:
            raise output_error(folder, str(err)) from err
        return folder
    target = Path(output)
    local = target.parent / f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.parts"
    for stale in _stale_folders(target):
        shutil.rmtree(stale, ignore_errors=True)  # left by a killed run
    try:
        local.mkdir(parents=True)
        (local / MARK).touch()
    except OSError as err:
        raise output_error(str(local), err.strerror or str(err), err.errno) from err
    return str(local)


def _stale_folders(target: Path) -> list[Path]:
    """Parts folders of `target` left by runs whose process is gone (a SIGKILL, a crash)."""
    prefix = f".{target.name}."
    found = []
    for path in target.parent.glob(f"{glob.escape(prefix)}*.parts"):
        pid = path.name[len(prefix) :].split(".", 1)[0]
        if path.is_dir() and pid.isdigit() and not is_alive(int(pid)):
            found.append(path)
    return found


def remove_folder(folder: str) -> None:
    """Remove a parts folder and whatever is left in it (killed attempts, a stopped run)."""
    if is_url(folder):
        with contextlib.suppress(OSError, ValueError):
            fs, path = url_fs(folder)
            if fs.exists(f"{path}/{MARK}"):
                fs.rm(f"{path}/{MARK}")
            if fs.exists(path):
                fs.rm(path, recursive=True)
        return
    with contextlib.suppress(OSError):
        Path(folder, MARK).unlink()
    shutil.rmtree(folder, ignore_errors=True)


def write_part(folder: str, number: int, kind: str, lines: Iterable[bytes]) -> str:
    """Write one part's lines as `NUMBER.ATTEMPT.KIND` in `folder` (run on a worker); its name.

    Raises:
        OSError: the file cannot be written (or ValueError from an fsspec filesystem).
    """
    name = f"{number:09d}.{uuid.uuid4().hex[:12]}.{kind}"
    if is_url(folder):
        fs, path = url_fs(folder)
        if not fs.exists(f"{path}/{MARK}"):
            raise FileNotFoundError(f"{folder}: the run is over")
        with fs.open(f"{path}/{name}", "wb") as fh:
            for line in lines:
                fh.write(line)
        return name
    if not Path(folder, MARK).exists():
        raise FileNotFoundError(f"{folder}: the run is over")
    with Path(folder, name).open("xb", buffering=COPY_CHUNK) as own:
        own.writelines(lines)
    return name


def join_part(folder: str, name: str, out: AtomicFile | AtomicUrl) -> None:
    """Append part file `name` to `out`, then remove the part file.

    Raises:
        OutputError: the part cannot be read or the output written.
    """
    source = f"{folder}/{name}"
    target = out.url if isinstance(out, AtomicUrl) else str(out.path)
    try:
        if is_url(folder):
            fs, path = url_fs(source)
            with fs.open(path, "rb") as fh:
                shutil.copyfileobj(fh, out.fh, COPY_CHUNK)
            fs.rm(path)
            return
        with Path(source).open("rb") as fh:
            if isinstance(out, AtomicFile):
                _send(fh, out.fh)
            else:
                shutil.copyfileobj(fh, out.fh, COPY_CHUNK)
        Path(source).unlink()
    except (OSError, ValueError) as err:
        out.abort()
        reason = getattr(err, "strerror", None) or str(err)
        raise output_error(target, reason, getattr(err, "errno", None)) from err


def _send(source: BinaryIO, target: BinaryIO) -> None:
    """Copy a whole file to the end of `target` in the kernel (a plain copy where it cannot)."""
    target.flush()
    size = os.fstat(source.fileno()).st_size
    sent = 0
    try:
        while sent < size:
            done = os.sendfile(target.fileno(), source.fileno(), sent, size - sent)
            if done == 0:
                break
            sent += done
    except (AttributeError, OSError) as err:  # no sendfile, or not between two files here
        if sent or (isinstance(err, OSError) and err.errno not in _NOT_SUPPORTED):
            raise
        shutil.copyfileobj(source, target, COPY_CHUNK)
        return
    target.seek(0, os.SEEK_END)  # the buffered file's idea of its position, after sendfile


_NOT_SUPPORTED = {22, 38, 95}  # EINVAL, ENOSYS, EOPNOTSUPP


__all__ = ["join_part", "parts_folder", "remove_folder", "write_part"]
