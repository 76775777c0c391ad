"""`mapper run --workers N` gives exactly what one worker gives: output, rejects, report, exit code.

Each case runs with 1, 2 and 3 workers, with parts made tiny (`SPAN_BYTES`, `PART_RECORDS`) so
that records, blank lines and malformed lines fall on both sides of every cut, and parts finish
out of order. Also here: the span cutter against the serial JSONL reader (hypothesis), the
ordered running totals (`Turns`) across processes, and what happens when a worker dies, fails,
or its parent is interrupted or killed.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from mapper.api import load
from mapper.cli import app
from mapper.errors import OutputError
from mapper.io import inputs as sources
from mapper.io.inputs import iter_records, jsonl_items
from mapper.io.spans import ArraySpan, jsonl_spans, read_span
from mapper.run import parallel, parts, pool
from mapper.run.files import RunRequest
from mapper.run.policy import RunOptions

ROOT = Path(__file__).resolve().parents[1]
REPOS = ROOT / "tests" / "cli_data" / "repos.yaml"  # rejects a bad `created`, filters `skip`
W1 = ROOT / "benchmarks" / "w1.yaml"  # associations, permissions, nested blocks
BASE = ROOT / "tests" / "hostile" / "base.yaml"
PAGES = ROOT / "tests" / "cli_data" / "repo-pages.yaml"  # repos.yaml under `records: values[]`


@pytest.fixture(autouse=True)
def _tiny_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parts, "SPAN_BYTES", 97)  # about one record per part, cut anywhere
    monkeypatch.setattr(parts, "PART_RECORDS", 3)
    monkeypatch.setattr(sources, "STREAM_THRESHOLD", 3000)  # larger arrays: read by the parent


def _repo(i: int, *, bad: bool = False) -> bytes:
    record = {
        "id": f"r{i}",
        "name": f"n{i}" if i % 7 else None,
        "url": f"https://example.test/{i}",
        "created": "bad" if bad else "2024-05-01T12:00:00Z",
        "updated": "2024-05-02T12:00:00+02:00",
        "skip": i % 13 == 5,
    }
    return json.dumps(record).encode()


def _plain(tmp: Path) -> list[Path]:
    lines = [_repo(i, bad=i % 17 == 0) for i in range(120)]
    return [_write(tmp / "in.jsonl", b"\n".join(lines) + b"\n")]


def _untidy(tmp: Path) -> list[Path]:
    """BOM, blank and whitespace-only lines, CRLF, malformed lines, no final newline."""
    rng = random.Random(7)
    lines = [b"\xef\xbb\xbf" + _repo(0)]
    for i in range(1, 150):
        roll = rng.random()
        if roll < 0.1:
            lines.append(b"")
        elif roll < 0.15:
            lines.append(b"   \t")
        elif roll < 0.2:
            lines.append(b'{"id": "broken%d", ' % i)
        elif roll < 0.23:
            lines.append(b"[1, 2]")
        lines.append(_repo(i, bad=roll > 0.95) + (b"\r" if roll > 0.6 else b""))
    lines.insert(60, b'{"id": "cut inside a string')  # (the same error, with a newline or not)
    return [_write(tmp / "in.jsonl", b"\n".join(lines))]


def _several(tmp: Path) -> list[Path]:
    """Record indexes and line numbers restart in every file; an empty file has no record."""
    files = []
    for n, count in enumerate((40, 0, 1, 55)):
        data = b"".join(_repo(n * 100 + i, bad=i % 9 == 4) + b"\n" for i in range(count))
        files.append(_write(tmp / f"in{n}.ndjson", b'{"id": \n' + data if n == 3 else data))
    return files


def _array(tmp: Path) -> list[Path]:
    """A large array: the parent streams the records and sends them to the workers."""
    records = [json.loads(_repo(i, bad=i % 11 == 3)) for i in range(60)]
    return [_write(tmp / "in.json", json.dumps(records).encode())]


def _pages(tmp: Path) -> list[Path]:
    """A folder of small JSON files (API pages), each read by a worker; one is malformed, one
    holds a single object, one is large enough to be streamed by the parent."""
    folder = tmp / "pages"
    folder.mkdir()
    for n in range(12):
        records = [json.loads(_repo(n * 10 + i, bad=(n + i) % 7 == 0)) for i in range(n % 4 + 1)]
        _write(folder / f"page-{n:02d}.json", json.dumps(records).encode())
    _write(folder / "page-03.json", b'[{"id": "x", ')
    _write(folder / "page-05.json", _repo(55))
    big = [json.loads(_repo(200 + i, bad=i % 9 == 1)) for i in range(40)]
    _write(folder / "page-08.json", json.dumps(big).encode())
    return [folder]


def _mixed(tmp: Path) -> list[Path]:
    """JSONL, a JSON array and a folder in one run, and a file that is not there."""
    return [*_plain(tmp), *_array(tmp), *_pages(tmp), tmp / "missing.json"]


def _big_arrays(tmp: Path) -> list[Path]:
    """Arrays large enough to be streamed, in every layout, then more files.

    One element per line and indented: cut into spans. On one line: the rest of the file for
    ijson. Nested objects laid out like elements: a span that does not parse, after which the
    parent reads on with ijson, and the later files too. Truncated: the same, up to the error.
    """
    records = [json.loads(_repo(i, bad=i % 13 == 1)) for i in range(70)]
    nested = {"wrap": records[:5], "id": "w", "url": "https://example.test/w"}
    long = [*records[:30], {**records[30], "desc": "x" * 7000}, *records[31:]]  # no cut in reach:
    layouts = {  # the rest of the file is one span for ijson, from record 30 on
        "lines.json": b"[\n" + b",\n".join(json.dumps(r).encode() for r in long) + b"\n]",
        "indented.json": json.dumps(records, indent=2).encode(),
        "one-line.json": json.dumps(records).encode(),
        "nested.json": b"[\n"
        + json.dumps(nested, indent=None)
        .encode()
        .replace(b'"wrap": [', b'"wrap": [\n')
        .replace(b"}, {", b"},\n{")
        + b",\n"
        + b",\n".join(json.dumps(r).encode() for r in records[:30])
        + b"\n]",
        "truncated.json": json.dumps(records, indent=1).encode()[:-900],
    }
    files = [_write(tmp / name, data) for name, data in layouts.items()]
    return [*files, *_plain(tmp), *_pages(tmp)]


def _files_then_lines(tmp: Path) -> list[Path]:
    """Whole files before a JSONL file: every part takes its turn, whatever its kind."""
    return [*_pages(tmp), *_array(tmp), *_untidy(tmp)]


def _commits(tmp: Path) -> list[Path]:
    from benchmarks import gen

    path = tmp / "w1.jsonl"
    gen.write_w1(path, 150)
    return [path]


def _paged_lines(tmp: Path) -> list[Path]:
    """JSONL of API pages under a records selector: pages of 0 to 5 records, blank lines, lines
    that are not JSON and lines the selector finds nothing in (each one rejected record), a
    final line without its newline; then a second such file (numbering starts again)."""
    rng = random.Random(11)
    files = []
    for name, count in (("pages.jsonl", 60), ("more.ndjson", 9)):
        lines, n = [], 0
        for page in range(count):
            roll = rng.random()
            if roll < 0.08:
                lines.append(b"  " if roll < 0.04 else b"")
            elif roll < 0.13:
                lines.append(b'{"values": [{"id": "cut' + str(page).encode())
            elif roll < 0.17:
                lines.append(b'{"next": null}')  # no `values`: the selector finds nothing
            size = rng.randrange(6)
            records = [json.loads(_repo(n + i, bad=(n + i) % 11 == 3)) for i in range(size)]
            n += size
            lines.append(json.dumps({"values": records, "page": page}).encode())
        files.append(_write(tmp / name, b"\n".join(lines)))
    return files


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


INPUTS: dict[str, tuple[Path, Callable[[Path], list[Path]]]] = {
    "plain": (REPOS, _plain),
    "untidy": (REPOS, _untidy),
    "several-files": (REPOS, _several),
    "json-array": (REPOS, _array),
    "pages": (REPOS, _pages),
    "mixed": (REPOS, _mixed),
    "files-then-lines": (REPOS, _files_then_lines),
    "big-arrays": (REPOS, _big_arrays),
    "commits": (W1, _commits),
    "paged-lines": (PAGES, _paged_lines),
}
OPTIONS = {
    "defaults": [],
    "max-errors-0": ["--max-errors", "0"],
    "max-errors-4": ["--max-errors", "4"],
    "set-associations": ["--associations", "set"],
}


def _invoke(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result.exit_code, result.stderr


def _run(mapping: Path, inputs: list[Path], out: Path, workers: int, *options: str) -> tuple:
    code, err = _invoke("run", mapping, *inputs, "-o", out, "--workers", workers, "-q", *options)
    base = str(out).removesuffix(".jsonl")
    report = None
    if Path(f"{base}.report.json").exists():
        report = json.loads(Path(f"{base}.report.json").read_text())
        report.pop("durationSeconds")
    objects = out.read_bytes() if out.exists() else None
    rejects = Path(f"{base}.rejects.jsonl")
    return code, err, objects, rejects.read_bytes() if rejects.exists() else None, report


@pytest.mark.parametrize("option", OPTIONS)
@pytest.mark.parametrize("case", INPUTS)
def test_workers_give_what_one_worker_gives(case: str, option: str, tmp_path: Path) -> None:
    mapping, make = INPUTS[case]
    inputs = make(tmp_path)
    one = _run(mapping, inputs, tmp_path / "w1" / "o.jsonl", 1, *OPTIONS[option])
    assert one[2] is not None and one[4] is not None
    assert one[4]["records"]["balanced"]
    for workers in (2, 3):
        many = _run(
            mapping, inputs, tmp_path / f"w{workers}" / "o.jsonl", workers, *OPTIONS[option]
        )
        assert many == one, f"{workers} workers"
        leftovers = [p.name for p in (tmp_path / f"w{workers}").iterdir() if p.suffix == ".tmp"]
        assert not leftovers


@pytest.mark.parametrize("case", ["plain", "untidy", "several-files", "json-array"])
def test_the_cases_reject_filter_and_stop_early(case: str, tmp_path: Path) -> None:
    """What the comparisons above cover: rejected, filtered and defaulted records, early stops."""
    mapping, make = INPUTS[case]
    inputs = make(tmp_path)
    records = _run(mapping, inputs, tmp_path / "a" / "o.jsonl", 1)[4]["records"]
    assert records["rejected"] >= 5 and records["filtered"] >= 2 and records["mapped"] >= 30
    stopped = _run(mapping, inputs, tmp_path / "b" / "o.jsonl", 1, "--max-errors", "4")[4]
    assert stopped["stoppedEarly"] and stopped["records"]["rejected"] == 5


@pytest.mark.parametrize("span_bytes", [600, 5000])
def test_small_files_go_to_workers_in_groups(
    span_bytes: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs = _pages(tmp_path)
    one = _run(REPOS, inputs, tmp_path / "w1" / "o.jsonl", 1, "--max-errors", "6")
    monkeypatch.setattr(parts, "SPAN_BYTES", span_bytes)  # several pages per part
    paths = [str(p) for p in sorted(inputs[0].iterdir())]
    cut = [part for _, part in parts.input_parts(paths, parts.Reading(), True)]
    assert any(isinstance(p, parts.FilePart) and len(p.paths) > 1 for p in cut)
    assert any(isinstance(p, ArraySpan) for p in cut)  # the large page: in spans
    assert _run(REPOS, inputs, tmp_path / "w2" / "o.jsonl", 2, "--max-errors", "6") == one


@pytest.mark.parametrize("writer", ["pwritev in batches of 3", "seek and write"])
def test_every_way_of_writing_a_part_gives_the_same_file(
    writer: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs = _commits(tmp_path)
    one = _run(W1, inputs, tmp_path / "w1" / "o.jsonl", 1)
    monkeypatch.setattr(parts, "SPAN_BYTES", 5000)  # about 7 objects per part
    if writer == "seek and write":
        monkeypatch.delattr(os, "pwritev", raising=False)
    else:
        monkeypatch.setattr(parallel, "IOV_MAX", 3)
    assert _run(W1, inputs, tmp_path / "w2" / "o.jsonl", 2) == one


@pytest.mark.parametrize("case", ["plain", "untidy", "several-files", "json-array"])
def test_fail_fast_stops_at_the_same_record(case: str, tmp_path: Path) -> None:
    mapping, make = INPUTS[case]
    inputs = make(tmp_path)
    one = _run(mapping, inputs, tmp_path / "w1" / "o.jsonl", 1, "--fail-fast")
    two = _run(mapping, inputs, tmp_path / "w2" / "o.jsonl", 2, "--fail-fast")
    assert one[0] == 3 and "stopped (--fail-fast)" in one[1]
    assert two == one
    assert not any((tmp_path / "w2").iterdir())  # no output, no temporary file


def test_lookups_work_with_workers(tmp_path: Path) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "version: 1\n"
        "lookups:\n"
        "  teams: {file: teams.json, key: id}\n"
        "objects:\n"
        "  - type: atlassian:repository\n"
        "    fields:\n"
        "      id: id\n"
        "      displayName: join(' / ', [lookup('teams', team).name || 'none', name])\n"
        "      url: url\n"
        "      createdAt: to_rfc3339(created)\n"
        "      lastUpdatedAt: to_rfc3339(updated)\n"
        "      permissions: permissions([principal('ATLASSIAN_WORKSPACE')])\n"
    )
    (tmp_path / "teams.json").write_text(json.dumps([{"id": "t1", "name": "Core"}]))
    lines = []
    for i in range(80):
        record = json.loads(_repo(i, bad=i % 19 == 2))
        record["team"] = "t1" if i % 2 else "t9"
        lines.append(json.dumps(record))
    inputs = [_write(tmp_path / "in.jsonl", "\n".join(lines).encode())]
    one = _run(mapping, inputs, tmp_path / "w1" / "o.jsonl", 1)
    two = _run(mapping, inputs, tmp_path / "w2" / "o.jsonl", 2)
    assert two == one
    assert one[0] == 3 and not one[4]["inputProblems"]  # the bad records are rejected
    assert b"Core / n1" in (one[2] or b"")
    text = mapping.read_text()
    mapping.write_text(
        text.replace("lookups:\n", "lookups:\n  absent: {file: nowhere.json, key: id}\n")
    )
    one = _run(mapping, inputs, tmp_path / "m1" / "o.jsonl", 1)
    two = _run(mapping, inputs, tmp_path / "m2" / "o.jsonl", 2)
    assert two[0] == one[0] == 4  # a table that is not found stops the run before any output
    assert one[1].count("lookup.not-found") == 1 and "nowhere.json" in one[1]
    assert one[2:] == two[2:] == (None, None, None)


def test_folder_input_with_lookups(tmp_path: Path) -> None:
    """The bundled Slack mapping: a folder of JSON files (read by the parent) and lookups."""
    mapping, inputs = ROOT / "mappings/slack/messages.yaml", [ROOT / "samples/slack/export"]
    workspace = ("--param", "workspace_url=https://acme-corp.slack.com")
    one = _run(mapping, inputs, tmp_path / "w1" / "o.jsonl", 1, *workspace)
    two = _run(mapping, inputs, tmp_path / "w2" / "o.jsonl", 2, *workspace)
    assert two == one
    assert one[4]["records"]["mapped"] > 10


# --- the span cutter -------------------------------------------------------------------------

LINES = st.lists(
    st.sampled_from(
        [b'{"a": 1}', b"", b"  ", b"\r", b'{"b": [1, 2]}\r', b'{"c": ', b"[]", b"\xef\xbb\xbf{}"]
    ),
    max_size=40,
)


@given(lines=LINES, final_newline=st.booleans(), size=st.integers(1, 60))
def test_spans_read_like_the_serial_reader(
    lines: list[bytes], final_newline: bool, size: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    data = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    path = tmp_path_factory.mktemp("spans") / "in.jsonl"
    path.write_bytes(data)
    spans = list(jsonl_spans(str(path), size))
    assert [s.start for s in spans] == [0, *(s.end for s in spans)][: len(spans)]  # contiguous
    assert (spans[-1].end if spans else 0) == len(data)  # and complete
    assert all(data[s.end - 1 : s.end] == b"\n" or s.end == len(data) for s in spans)
    items, index, line_no = [], 0, 1
    for span in spans:
        part = read_span(span)
        assert part.records == sum(1 for line in part.lines if line.strip())
        items.extend(jsonl_items(str(path), part.lines, index, line_no))
        index, line_no = index + part.records, line_no + part.line_count
    assert items == list(iter_records([str(path)]))  # as the whole file reads


def test_the_last_spans_get_smaller_so_the_workers_finish_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parts, "SPAN_BYTES", 64 * 1024)
    monkeypatch.setattr(parts, "TAIL_SPAN_BYTES", 4096)
    first = _write(tmp_path / "a.jsonl", b"".join(_repo(i) + b"\n" for i in range(4000)))
    second = _write(tmp_path / "b.jsonl", b"".join(_repo(i) + b"\n" for i in range(2000)))
    paths = [str(first), str(second)]

    def sizes(workers: int) -> list[list[int]]:
        cut = [(n, p) for n, p in parts.input_parts(paths, parts.Reading(), True, workers)]
        return [[p.end - p.start for n, p in cut if n == i] for i in (0, 1)]  # type: ignore[union-attr]

    one, two = sizes(1), sizes(2)
    assert (
        [sum(s) for s in one]
        == [sum(s) for s in two]
        == [p.stat().st_size for p in (first, second)]
    )
    assert all(size >= 64 * 1024 for size in one[0][:-1] + one[1][:-1])  # 1 worker: all alike
    assert all(size >= 64 * 1024 for size in two[0][:-1])  # the first file is not the end
    tail = two[1][-8:]  # the last span is what is left
    assert tail == sorted(tail, reverse=True) and tail[0] > 2 * tail[-2]
    assert 4096 <= tail[-2] < 4096 + 300  # down to TAIL_SPAN_BYTES (and the rest of a line)
    assert _run(REPOS, [first, second], tmp_path / "w2" / "o.jsonl", 2) == _run(
        REPOS, [first, second], tmp_path / "w1" / "o.jsonl", 1
    )


# --- ordered running totals across processes ------------------------------------------------


def _claim_all(turns: pool.Turns, numbers: list[int], out: object) -> None:
    for number in numbers:
        amounts = (number + 1, 10 * number)
        out.put((number, turns.claim(number, amounts, restart=number == 5)))  # type: ignore[attr-defined]


def test_turns_hand_out_running_totals_in_part_order() -> None:
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    turns, results = pool.Turns(ctx, 2), ctx.Queue()
    plan = {0: [0, 3, 6], 1: [1, 4, 7], 2: [2, 5, 8]}  # each process claims its own parts
    procs = [ctx.Process(target=_claim_all, args=(turns, nums, results)) for nums in plan.values()]
    for proc in reversed(procs):  # started in reverse: the order must come from the turns
        proc.start()
    got = dict(results.get(timeout=10) for _ in range(9))
    for proc in procs:
        proc.join(timeout=10)
    expected, totals = {}, [0, 0]
    for number in range(9):
        if number == 5:
            totals = [0, 0]
        expected[number] = list(totals)
        totals = [totals[0] + number + 1, totals[1] + 10 * number]
    assert got == expected


# --- workers that die or fail ---------------------------------------------------------------

_REAL_WORK = parallel._work


def _dies_on_part_2(task: tuple[int, object]) -> object:
    if task[0] == 2:
        os._exit(7)
    return _REAL_WORK(task)  # type: ignore[arg-type]


def _fails_on_part_1(task: tuple[int, object]) -> object:
    if task[0] == 1:
        raise ValueError("a bug in the worker")
    return _REAL_WORK(task)  # type: ignore[arg-type]


def test_a_worker_that_dies_stops_the_run_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel, "_work", _dies_on_part_2)
    inputs = _plain(tmp_path)
    code, err, objects, rejects, report = _run(REPOS, inputs, tmp_path / "o" / "o.jsonl", 2)
    assert code == 4
    assert "a worker process stopped (exit code 7)" in err
    assert (objects, rejects, report) == (None, None, None)
    assert not any((tmp_path / "o").iterdir())


def test_a_worker_that_fails_stops_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "_work", _fails_on_part_1)
    _fails_leaving_nothing(tmp_path, RuntimeError, "ValueError: a bug in the worker")


def _fails_leaving_nothing(tmp_path: Path, error: type[Exception], match: str) -> None:
    """A 2-worker run of the plain input raises `error` and leaves no file behind."""
    (path,) = _plain(tmp_path)
    out = tmp_path / "o" / "o.jsonl"
    with pytest.raises(error, match=match):
        parallel.run_parallel(
            REPOS, load(REPOS), [str(path)], RunRequest(output=str(out), workers=2), RunOptions()
        )
    assert not any((tmp_path / "o").iterdir())


_REAL_MAP = parallel._map
_SIGNALS: dict[str, Any] = {}  # made before the workers fork: they share them


def _part_0_waits_for_part_2(worker: Any, res: parallel.PartResult, items: Any) -> list[bytes]:
    out = _REAL_MAP(worker, res, items)
    if res.number == 2:
        _SIGNALS["part 2 mapped"].set()
    if res.number == 0:
        _SIGNALS["part 0 saw it"].value = _SIGNALS["part 2 mapped"].wait(20)
    return out


def test_a_worker_maps_on_while_the_part_before_its_own_is_mapped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Part 1's worker writes part 1 once part 0 has claimed its offset, but maps part 2
    meanwhile. It waited instead, and mapped nothing while the other worker was slow (0.14 s
    idle per worker in a W3 100k run at load 2, 0.06 s now)."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    monkeypatch.setitem(_SIGNALS, "part 2 mapped", ctx.Event())
    monkeypatch.setitem(_SIGNALS, "part 0 saw it", ctx.Value("i", 0))
    monkeypatch.setattr(parallel, "_map", _part_0_waits_for_part_2)
    inputs = _plain(tmp_path)
    one = _run(REPOS, inputs, tmp_path / "w1" / "o.jsonl", 1)
    assert _run(REPOS, inputs, tmp_path / "w2" / "o.jsonl", 2) == one
    assert _SIGNALS["part 0 saw it"].value == 1


def _fails_writing(record: bytes) -> Callable[[Any, list[bytes], int], str | None]:
    real = parallel._write_at

    def write(fh: Any, lines: list[bytes], offset: int) -> str | None:
        if any(record in line for line in lines):
            return "No space left on device"
        return real(fh, lines, offset)

    return write


@pytest.mark.parametrize("record", [b'"r6"', b'"r118"'], ids=["an early part", "the last part"])
def test_a_part_a_worker_cannot_write_is_an_output_error(
    record: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker's writer thread writes a part after its result went back: a failed write is
    reported with a later part's result or when the workers finish."""
    monkeypatch.setattr(parallel, "_write_at", _fails_writing(record))
    _fails_leaving_nothing(tmp_path, OutputError, "No space left on device")


def test_an_unwritable_output_is_an_output_error(tmp_path: Path) -> None:
    (path,) = _plain(tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OutputError):
        parallel.run_parallel(
            REPOS,
            load(REPOS),
            [str(path)],
            RunRequest(output=str(blocker / "o.jsonl"), workers=2),
            RunOptions(),
        )


# --- interrupted and killed runs (real processes) -------------------------------------------


def _processes_using(marker: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _start(out: Path) -> subprocess.Popen[bytes]:
    """A 2-worker run reading JSONL from a pipe the test holds open: it cannot finish early."""
    return subprocess.Popen(
        [sys.executable, "-m", "mapper", "run", str(BASE), "-", "-o", str(out),
         "-q", "--workers", "2"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip


def _signalled(tmp: Path, sig: signal.Signals) -> tuple[subprocess.Popen[bytes], Path, bytes]:
    """A 2-worker run that gets `sig` while it is under way.

    The records come through a pipe that the test keeps open until the run has ended, so the
    run cannot finish before the signal however fast or slow the machine is. The signal is sent
    once the run is ready (both temporary outputs exist) and has been given 300 kB of records,
    less than the 1 MiB block the main process reads, so it is waiting for more input.
    """
    out = tmp / "out" / "o.jsonl"
    proc = _start(out)
    assert proc.stdin is not None and proc.stderr is not None
    try:
        line = b'{"id": "r%d", "name": "n%d", "ts": "2024-05-01T12:00:00Z"}\n'
        proc.stdin.write(b"".join(line % (i, i) for i in range(5000)))
        proc.stdin.flush()
        deadline = time.monotonic() + 60
        while len(list(out.parent.glob(".*.tmp"))) < 2 and proc.poll() is None:
            assert time.monotonic() < deadline, "the run never opened its outputs"
            time.sleep(0.01)  # polling for the readiness signal, not a guess at timing
        assert proc.poll() is None  # it waits for more input
        proc.send_signal(sig)
        try:  # the input stays open: only the signal can end the run
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{sig.name} did not stop the run") from None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.close()
        with proc.stderr:  # closed whatever happened: no file left for the next test
            err = proc.stderr.read()
    return proc, out, err


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
def test_ctrl_c_stops_the_workers_and_writes_nothing(tmp_path: Path) -> None:
    """The Ctrl-C comes once the outputs are open: while the workers are forked, or while the
    main process blocks reading standard input. It was acted on only when the input ended
    (in most runs on a loaded machine): the output's fsync thread could take the signal, which left the main
    thread's read uninterrupted, and a signal flagged between two reads of one buffered read
    was seen only after it. Now helper threads and workers being forked block the stop signals
    (`mapper.signals`) and stdin pipes are read with a wake-up (`io.inputs._WakingReader`)."""
    proc, out, err = _signalled(tmp_path, signal.SIGINT)
    assert proc.returncode == 130, err.decode()
    assert b"Traceback" not in err
    assert b"interrupted" in err
    assert list(out.parent.iterdir()) == []
    assert _processes_using(str(out)) == []


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
def test_workers_of_a_killed_run_stop(tmp_path: Path) -> None:
    _, out, _ = _signalled(tmp_path, signal.SIGKILL)
    deadline = time.monotonic() + 3 * pool.PATIENCE_S + 5
    while _processes_using(str(out)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_using(str(out)) == []
    assert not out.exists() or out.read_bytes().count(b"\n") > 0


@pytest.mark.parametrize("target", [["-o", "-"], ["--format", "batches", "-o", "BATCHES"]])
def test_workers_with_other_outputs_say_one_process_maps(target: list[str], tmp_path: Path) -> None:
    (path,) = _plain(tmp_path)
    args = [str(tmp_path / "b") if a == "BATCHES" else a for a in target]
    code, err = _invoke("run", REPOS, path, *args, "--workers", "2")
    assert code == 3  # the bad records are rejected, as with one worker
    assert "--workers applies to JSONL output files; one process maps" in err


def test_without_fork_the_workers_load_the_mapping_themselves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where processes are spawned (Windows, macOS), workers compile the mapping again and the
    parent reads whole files itself; the output is still the 1-worker output."""
    inputs = _mixed(tmp_path)
    one = _run(REPOS, inputs, tmp_path / "w1" / "o.jsonl", 1)
    monkeypatch.setattr(parallel.mp, "get_all_start_methods", lambda: ["spawn"])
    assert _run(REPOS, inputs, tmp_path / "w2" / "o.jsonl", 2) == one


def test_a_jsonl_file_that_cannot_be_read_is_the_problem_one_worker_reports(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "gone.jsonl")  # expand_inputs saw it; it went away before the run
    cut = [part for _, part in parts.input_parts([path], parts.Reading(), True)]
    assert cut == [list(sources.iter_records([path]))]
    assert cut[0][0].diagnostic.code == "input.unreadable"


@pytest.mark.parametrize("shape", ["untidy JSONL", "JSON array", "not JSON"])
def test_standard_input_gives_what_one_worker_gives(shape: str, tmp_path: Path) -> None:
    """JSONL on stdin is sent to the workers as lines (they parse it); a document as records."""
    if shape == "untidy JSONL":
        data = _untidy(tmp_path)[0].read_bytes()
    elif shape == "JSON array":
        data = _array(tmp_path)[0].read_bytes()
    else:
        data = b'{"id": "r1", '
    results = []
    for workers in (1, 2):
        out = tmp_path / f"w{workers}" / "o.jsonl"
        args = ["run", REPOS, "-", "-o", out, "--workers", workers, "-q"]
        result = CliRunner().invoke(app, [str(a) for a in args], input=data)
        assert result.exception is None or isinstance(result.exception, SystemExit)
        report = json.loads(out.with_suffix(".report.json").read_text())
        report.pop("durationSeconds")
        rejects = out.with_suffix(".rejects.jsonl").read_bytes()
        results.append((result.exit_code, out.read_bytes(), rejects, report))
    assert results[1] == results[0]
    assert results[0][3]["records"]["in"] > 50 or shape == "not JSON"


def test_jsonl_on_standard_input_is_read_as_it_is_needed() -> None:
    """Only the first two lines decide; the rest is read a block at a time (flat memory)."""
    import io

    data = b'{"a": 1}\n{"a": 2}\n' + b'{"a": 3}\n' * 100 + b'{"a": 4}'
    fh = io.BufferedReader(io.BytesIO(data))  # type: ignore[arg-type]
    lines = sources.sniff_jsonl(fh)
    assert not isinstance(lines, bytes)
    assert fh.tell() == 18  # two lines read so far
    assert [line.rstrip(b"\n") for line in lines] == data.split(b"\n")
    assert list(sources.lines_of(io.BytesIO(data), block=7)) == data.split(b"\n")  # type: ignore[arg-type]
    assert sources.sniff_jsonl(io.BufferedReader(io.BytesIO(b'[{"a": 1},\n{"a": 2}]'))) == (
        b'[{"a": 1},\n{"a": 2}]'
    )
