"""How the inputs of `mapper run --workers N` are cut into parts, in input order.

A JSONL file is cut into spans of whole lines (`spans.jsonl_spans` reads only the line under
each cut; under a records selector, each line of a span is a document whose records it picks),
a large top-level array into spans of whole elements (`spans.array_spans`); each worker reads
its spans itself.
Other files go to the workers whole, a few small ones together. Only what must be read in one
piece is read by the parent and sent as records or lines: standard input, and large arrays
under a `--records` wrapper (ijson).
"""

from __future__ import annotations

import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from mapper.io.inputs import (
    JSONL_SUFFIXES,
    STDIN,
    Reading,
    input_size,
    is_streamed,
    iter_records,
    lines_of,
    read_document,
    selected_jsonl_items,
    sniff_jsonl,
    sniffed_items,
    stdin_bytes,
    unreadable,
    wrong_encoding,
)
from mapper.io.spans import ArraySpan, Span, array_spans, jsonl_spans
from mapper.records import Item

SPAN_BYTES = 1024 * 1024  # about 1,400 W3 records: 70 parts for 73 MB (256 KiB parts cost 2 workers
# about 0.3 s more CPU there, handing out 285 parts; the last part is then about 1.5 % of the work)
PART_RECORDS = 512  # records per part when the parent reads the input (not JSONL)
TAIL_SPAN_BYTES = 64 * 1024  # the smallest span at the end of the JSONL inputs
TAIL_SHARE = 2  # near the end, a span is 1/TAIL_SHARE of a worker's share of what is left


@dataclass(frozen=True)
class Lines:
    """JSONL lines read by the parent (standard input), and where the first one sits."""

    source: str
    lines: list[bytes]
    index: int
    line_no: int


@dataclass(frozen=True)
class FilePart:
    """Whole input files that a worker reads itself (JSON documents or small arrays)."""

    paths: tuple[str, ...]


Part = Span | ArraySpan | FilePart | Lines | list[Item]
"""A span of a JSONL file or of a large array, whole files, or what the parent read: JSONL lines
from standard input, or records."""


def input_parts(
    paths: list[str], reading: Reading, workers_read_files: bool, workers: int = 1
) -> Iterator[tuple[int, Part]]:
    """The parts of all inputs, in order, each with the number of its input file.

    A JSONL file is cut into spans, and so is a large top-level array. Other files go to the
    workers whole, a few together up to about SPAN_BYTES (an export is often many small pages).
    The parent reads only standard input, and large arrays under a selector (ijson), or every
    non-JSONL file when the workers cannot inherit the records selector (no fork). Problems
    travel in parts, so that the report lists them in the order a 1-worker run does.

    For several `workers`, the spans get smaller towards the end of the last JSONL input
    (`span_size`): a worker that takes the last part does not map alone for long.
    """
    group: list[str] = []
    size = 0
    after = _jsonl_after(paths) if workers > 1 else [0] * len(paths)
    for path_no, path in enumerate(paths):
        unsized = path != STDIN and not is_regular(path)  # a FIFO, a device: size unknown
        jsonl = not unsized and path != STDIN and path.lower().endswith(JSONL_SUFFIXES)
        if jsonl and reading.selector is not None and not workers_read_files:
            jsonl = False  # the workers lack the selector (no fork): the parent reads it
        streamed = not (jsonl or unsized) and is_streamed(
            path, reading.selector, reading.stream_path
        )
        whole = workers_read_files and not (jsonl or streamed or unsized) and path != STDIN
        if group and (not whole or size >= SPAN_BYTES):
            yield path_no - 1, FilePart(tuple(group))
            group, size = [], 0
        if unsized:
            yield from ((path_no, part) for part in _unsized_parts(path, reading))
        elif jsonl:
            sizes = _tail_sizes(after[path_no], workers)
            yield from ((path_no, span) for span in _spans(path, sizes))
        elif streamed and reading.stream_path is None:  # a top-level array
            yield from ((path_no, span) for span in _array_spans(path))
        elif whole:
            group.append(path)
            size += input_size(path)
        elif path == STDIN:
            yield from ((path_no, part) for part in _stdin_parts(reading))
        else:
            records = iter_records([path], **reading.kwargs())
            yield from ((path_no, part) for part in _record_lists(records))
    if group:
        yield len(paths) - 1, FilePart(tuple(group))


def span_size(left: int, workers: int) -> int:
    """The bytes of the next span when `left` bytes of JSONL input are still to be cut:
    SPAN_BYTES, and near the end 1/TAIL_SHARE of each worker's share of what is left, down to
    TAIL_SPAN_BYTES (W3: the last 4 MiB of 73 MB in 15 spans instead of 4)."""
    tail = left // (TAIL_SHARE * workers)
    return min(SPAN_BYTES, max(tail, TAIL_SPAN_BYTES))


def _tail_sizes(after: int, workers: int) -> Callable[[int], int] | None:
    """Span sizes for a JSONL file followed by `after` bytes of JSONL inputs (None: fixed)."""
    if workers <= 1:
        return None
    return lambda left: span_size(left + after, workers)


def _jsonl_after(paths: list[str]) -> list[int]:
    """For each input, the bytes of the JSONL inputs after it."""
    after, total = [], 0
    for path in reversed(paths):
        after.append(total)
        total += input_size(path) if path.lower().endswith(JSONL_SUFFIXES) else 0
    return after[::-1]


def _spans(path: str, sizes: Callable[[int], int] | None) -> Iterator[Part]:
    try:
        with Path(path).open("rb") as fh:
            wrong = wrong_encoding(path, fh.read(4))
        if wrong is not None:
            yield [wrong]
            return
        yield from jsonl_spans(path, SPAN_BYTES, sizes)
    except OSError as err:
        yield [unreadable(path, err)]


def _array_spans(path: str) -> Iterator[Part]:
    try:
        with Path(path).open("rb") as fh:
            yield from array_spans(fh, path, SPAN_BYTES)
    except OSError as err:
        yield [unreadable(path, err)]


def is_regular(path: str) -> bool:
    """A regular file (whose size says how to cut it); False for FIFOs, devices, sockets."""
    try:
        return stat.S_ISREG(Path(path).stat().st_mode)
    except OSError:
        return True  # reading it reports the problem


def _unsized_parts(path: str, reading: Reading) -> Iterator[Part]:
    """An input whose size cannot be known (a FIFO) is read once, by the parent: JSONL as
    lines for the workers (as records under a records selector), anything else as records."""
    if not path.lower().endswith(JSONL_SUFFIXES) or reading.selector is not None:
        yield from _record_lists(iter_records([path], **reading.kwargs()))
        return
    try:
        with Path(path).open("rb") as fh:
            yield from _line_parts(path, lines_of(fh))
    except OSError as err:
        yield [unreadable(path, err)]


def _stdin_parts(reading: Reading) -> Iterator[Part]:
    """Standard input: JSONL as lines for the workers to parse, a JSON document as records."""
    try:
        stdin = stdin_bytes()
    except OSError as err:
        yield [unreadable(STDIN, err)]
        return
    try:
        lines = sniff_jsonl(stdin)
        if not isinstance(lines, Iterator):
            data = lines + read_document(stdin)
            yield from _record_lists(sniffed_items(STDIN, data, reading.selector))
            return
        if reading.selector is not None:  # each line's records, numbered through the input
            yield from _record_lists(selected_jsonl_items(STDIN, lines, reading.selector))
            return
        yield from _line_parts(STDIN, lines)
    except OSError as err:  # a line or a document too long (cat /dev/zero | mapper run ...)
        yield [unreadable(STDIN, err)]


def _line_parts(source: str, lines: Iterable[bytes]) -> Iterator[Part]:
    part: list[bytes] = []
    size = records = 0
    index, line_no = 0, 1
    for line in lines:
        part.append(line)
        size += len(line)
        records += bool(line.strip())
        if size >= SPAN_BYTES:
            yield Lines(source, part, index, line_no)
            index, line_no = index + records, line_no + len(part)
            part, size, records = [], 0, 0
    if part:
        yield Lines(source, part, index, line_no)


def _record_lists(items: Iterable[Item]) -> Iterator[Part]:
    part: list[Item] = []
    for item in items:
        part.append(item)
        if len(part) >= PART_RECORDS:
            yield part
            part = []
    if part:
        yield part
