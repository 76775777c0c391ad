"""Worker-written part files (`io.partfiles`): joined in part order, never mixed across attempts,
and gone after the run, on a local folder and on an fsspec URL (memory://), with sendfile and
without it; a killed run's folder is removed by the next run. Also: a worker task writes its
parts there and returns only the names."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

pytest.importorskip("fsspec")

import fsspec
from test_parallel import W1, _commits

from mapper.io import partfiles
from mapper.io.atomic import AtomicFile
from mapper.io.partfiles import MARK, join_part, parts_folder, remove_folder, write_part
from mapper.io.remote import AtomicUrl
from mapper.io.spans import jsonl_spans
from mapper.run.partwork import MappingRef, PartTask, RunSpec, map_parts
from mapper.run.policy import RunOptions

PARTS = [[b'{"a":1}\n', b'{"a":2}\n'], [], [b'{"b":3}\n'], [b"x" * 300_000 + b"\n"]]


@pytest.fixture(params=["local", "memory"])
def output(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "local":
        yield str(tmp_path / "out" / "o.jsonl")
        return
    root = f"/partfiles-{uuid.uuid4().hex}"
    yield f"memory://{root}/o.jsonl"
    mem = fsspec.filesystem("memory")
    if mem.exists(root):
        mem.rm(root, recursive=True)


def _writer(output: str) -> AtomicFile | AtomicUrl:
    return AtomicUrl(output) if "://" in output else AtomicFile(output)


def _read(output: str) -> bytes:
    if "://" in output:
        return bytes(fsspec.filesystem("memory").cat_file(output.split("://", 1)[1]))
    return Path(output).read_bytes()


def _names(folder: str) -> list[str]:
    if "://" in folder:
        mem = fsspec.filesystem("memory")
        path = folder.split("://", 1)[1]
        return sorted(p.rsplit("/", 1)[1] for p in mem.find(path)) if mem.exists(path) else []
    return sorted(p.name for p in Path(folder).iterdir()) if Path(folder).exists() else []


def _join_all(output: str) -> tuple[str, list[str]]:
    """Write every part twice (a killed attempt, then the one that counts) and join the second."""
    folder = parts_folder(output)
    out = _writer(output)
    kept = []
    for number, lines in enumerate(PARTS):
        write_part(folder, number, "objects", lines)  # an attempt that never reports back
        kept.append(write_part(folder, number, "objects", lines))
    for name in kept:
        join_part(folder, name, out)
    out.commit()
    return folder, kept


def test_parts_join_in_order_and_leave_nothing(output: str) -> None:
    folder, kept = _join_all(output)
    assert _read(output) == b"".join(b"".join(lines) for lines in PARTS)
    left = _names(folder)
    assert MARK in left and not set(kept) & set(left)  # joined files are removed at once
    assert len(left) == 1 + len(PARTS)  # the mark and the unused attempts
    remove_folder(folder)
    assert _names(folder) == []


def test_attempts_of_a_part_never_share_a_file(output: str) -> None:
    folder = parts_folder(output)
    names = {write_part(folder, 7, "objects", [b"{}\n"]) for _ in range(5)}
    assert len(names) == 5 and all(n.startswith("000000007.") for n in names)
    remove_folder(folder)


def test_no_part_is_written_once_the_folder_is_removed(output: str) -> None:
    folder = parts_folder(output)
    remove_folder(folder)
    with pytest.raises(FileNotFoundError):
        write_part(folder, 0, "objects", [b"{}\n"])
    assert _names(folder) == []


@pytest.mark.parametrize("failure", ["einval", "missing"])
def test_without_sendfile_the_join_copies(
    failure: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: object) -> int:
        raise OSError(errno.EINVAL, "not here")

    if failure == "einval":
        monkeypatch.setattr(partfiles.os, "sendfile", refuse)
    else:
        monkeypatch.delattr(partfiles.os, "sendfile")
    output = str(tmp_path / "o.jsonl")
    _join_all(output)
    assert _read(output) == b"".join(b"".join(lines) for lines in PARTS)


def test_a_task_writes_its_parts_and_returns_names(tmp_path: Path) -> None:
    (source,) = (str(p) for p in _commits(tmp_path)[:1])
    spans = list(jsonl_spans(source, 4000))
    tasks = tuple(PartTask(n, span, None) for n, span in enumerate(spans))
    assert len(tasks) > 1
    plain = RunSpec(MappingRef.of(W1), None, RunOptions(), set_associations=False)
    as_bytes = map_parts(plain, tasks)
    folder = parts_folder(str(tmp_path / "o.jsonl"))
    as_files = map_parts(replace(plain, parts_at=folder), tasks)
    for got, want in zip(as_files, as_bytes, strict=True):
        assert got.objects == b"" and got.objects_file is not None
        assert (Path(folder) / got.objects_file).read_bytes() == want.objects != b""
        assert got.counts.to_dict() == want.counts.to_dict()
    remove_folder(folder)


def test_a_killed_runs_folder_is_removed_by_the_next_run(tmp_path: Path) -> None:
    output = tmp_path / "o.jsonl"
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()  # its pid now names no process (reaped)
    dead = child.pid
    stale = tmp_path / f".o.jsonl.{dead}.0123456789ab.parts"
    stale.mkdir()
    (stale / "000000000.0123456789ab.objects").write_bytes(b"{}\n")
    alive = tmp_path / f".o.jsonl.{os.getpid()}.ba9876543210.parts"  # a run still going
    alive.mkdir()
    folder = parts_folder(str(output))
    assert not stale.exists() and alive.exists() and Path(folder).is_dir()
    remove_folder(folder)
