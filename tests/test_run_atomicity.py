"""Property: whatever fails during a run (a source, a sink, the disk, Ctrl-C), the files on disk
afterwards are the previous run's complete set or the new run's complete set, never a mix; and
the new set balances: records in = mapped + rejected + filtered.

Each example runs `mapper run` twice in a fresh folder: a first run leaves a previous set, then
a second run with random inputs and options has one failure injected at a random point (or
none). The expected new set comes from the same second run without the failure, in a copy of
the folder as the first run left it.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from mapper.cli import app

BASE = Path(__file__).parent / "hostile" / "base.yaml"
GOOD = '{{"id": "r{i}", "name": "a", "ts": "2024-05-01T12:00:00Z"}}'
LINES = st.sampled_from(["good", "good", "good", "bad-json", "rejected", "filtered"])


def _line(kind: str, i: int) -> str:
    return {
        "good": GOOD.format(i=i),
        "bad-json": '{"id": ',
        "rejected": f'{{"id": "r{i}", "name": "a", "ts": "not a time"}}',
        "filtered": f'{{"id": "r{i}", "skip": true}}',
    }[kind]


def _write_input(folder: Path, name: str, kinds: list[str]) -> None:
    text = "".join(_line(k, i) + "\n" for i, k in enumerate(kinds))
    (folder / name).write_text(text)


def _snapshot(folder: Path) -> dict[str, bytes]:
    """The output files (inputs excluded), reports without their duration."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name.startswith("in"):
            continue
        data = path.read_bytes()
        if path.name.endswith(".report.json"):
            report = json.loads(data)
            report.pop("durationSeconds")
            data = json.dumps(report, sort_keys=True).encode()
        found[str(path.relative_to(folder))] = data
    return found


class _Injected(Exception):
    """Marks where a failure was injected (never escapes as this type)."""


@contextmanager
def _failure(where: str, at: int) -> Iterator[None]:
    """Make the `at`-th call of one operation fail: a full disk, or Ctrl-C."""
    import mapper.io.atomic as atomic
    import mapper.io.inputs as inputs

    calls = [0]

    def counted(real: Any, error: BaseException) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            calls[0] += 1
            if calls[0] == at:
                raise error
            return real(*args, **kwargs)

        return call

    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    with ExitStack() as stack:
        if where == "fsync":
            stack.enter_context(mock.patch.object(atomic.os, "fsync", counted(os.fsync, full)))
        elif where == "rename":
            stack.enter_context(mock.patch.object(atomic.os, "replace", counted(os.replace, full)))
        elif where in ("write", "interrupt"):
            error = KeyboardInterrupt() if where == "interrupt" else full
            real = atomic.AtomicFile.write

            def write(self: Any, data: bytes) -> None:
                calls[0] += 1
                if calls[0] == at:
                    if isinstance(error, OSError):
                        self.abort()
                        raise atomic._output_error(str(self.path), error)
                    raise error
                real(self, data)

            stack.enter_context(mock.patch.object(atomic.AtomicFile, "write", write))
        elif where == "source":
            real_parse = inputs.parse_json
            stack.enter_context(
                mock.patch.object(inputs, "parse_json", counted(real_parse, ValueError("bad")))
            )
        yield


def _run(folder: Path, args: list[str]) -> int:
    cwd = Path.cwd()
    os.chdir(folder)
    try:
        return CliRunner().invoke(app, args).exit_code
    finally:
        os.chdir(cwd)


OPTIONS = st.fixed_dictionaries({
    "format": st.sampled_from(["jsonl", "batches"]),
    "policy": st.sampled_from([[], ["--fail-fast"], ["--max-errors", "0"], ["--max-errors", "2"]]),
    "batch_size_records": st.integers(0, 250),
    "workers": st.sampled_from(["1", "1", "1", "2"]),  # 2: JSONL output only (else one process)
})


@given(
    first=st.lists(LINES, max_size=30),
    second=st.lists(LINES, max_size=30),
    big=st.integers(0, 250),
    options=OPTIONS,
    where=st.sampled_from(["none", "fsync", "rename", "write", "interrupt", "source"]),
    at=st.integers(1, 8),
)
def test_a_failed_run_leaves_the_previous_set_or_the_new_one(
    first: list[str], second: list[str], big: int, options: dict[str, Any], where: str, at: int
) -> None:
    out = "b" if options["format"] == "batches" else "o.jsonl"
    args = ["run", str(BASE), "in.jsonl", "-o", out, "--format", options["format"], "-q",
            "--workers", options["workers"]]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        run_dir, expect_dir = root / "run", root / "expect"
        run_dir.mkdir()
        _write_input(run_dir, "in.jsonl", first + ["good"] * big)  # batches: more than one
        _run(run_dir, args)
        previous = _snapshot(run_dir)
        _write_input(run_dir, "in.jsonl", second + ["good"] * options["batch_size_records"])
        shutil.copytree(run_dir, expect_dir)
        with _failure(where, at) if where == "source" else ExitStack():  # a bad input is data
            _run(expect_dir, args + options["policy"])
        new = _snapshot(expect_dir)
        with _failure(where, at):
            code = _run(run_dir, args + options["policy"])
        after = _snapshot(run_dir)
        assert after in (previous, new), (where, at, code, sorted(after), sorted(previous),
                                          sorted(new))
        assert not list(run_dir.rglob(".*.tmp")), "temporary files left behind"
        if after == new and after != previous:
            report = json.loads(after[f"{out.removesuffix('.jsonl')}.report.json"])
            r = report["records"]
            assert r["in"] == r["mapped"] + r["rejected"] + r["filtered"]
