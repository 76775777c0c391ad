"""Cutting inputs into spans that a worker reads by itself: whole lines of a JSONL file, whole
elements of a large top-level JSON array (`--workers` and `--engine dask` cut inputs with these).

Only the bytes around each cut are read here; a span's own bytes are read by whoever maps it
(`read_span`, `io.inputs.read_array_span`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

ARRAY_CUT_SEARCH = 64  # spans: how far to look for a cut, in span sizes, before leaving it to ijson


@dataclass(frozen=True, slots=True)
class Span:
    """Whole lines of a JSONL file: bytes `start` (a line start) to `end` (after a newline)."""

    source: str
    start: int
    end: int


def jsonl_spans(path: str, size: int, sizes: Callable[[int], int] | None = None) -> Iterator[Span]:
    """Cut a JSONL file into spans of about `size` bytes that end at line ends (with `sizes`:
    of about `sizes(bytes of the file left to cut)` each).

    Only the line under each cut is read: the parent of worker processes stays idle, and
    each worker reads (and counts) its own span.
    """
    with Path(path).open("rb") as fh:
        total = os.fstat(fh.fileno()).st_size
        start = 0
        while start < total:
            end = start + max(1, sizes(total - start) if sizes else size) - 1
            if end < total:
                fh.seek(end)
                end += len(fh.readline())  # through the newline at or after the cut
            end = min(end, total)
            yield Span(path, start, end)
            start = end


@dataclass(frozen=True, slots=True)
class SpanLines:
    """A span's lines (newlines removed) and how many records and lines it holds."""

    lines: list[bytes]
    records: int

    @property
    def line_count(self) -> int:
        """Physical lines, blank ones included."""
        return len(self.lines)


def read_span(span: Span) -> SpanLines:
    """The lines of one span (raises OSError)."""
    with Path(span.source).open("rb") as fh:
        fh.seek(span.start)
        data = fh.read(span.end - span.start)
    return split_span(data)


def split_span(data: bytes) -> SpanLines:
    """The lines of a span's bytes (a span read from a local file or an fsspec URL)."""
    lines = data.split(b"\n")
    if data.endswith(b"\n"):
        lines.pop()
    # a blank line is empty or white space only (`isspace` is False for b"", and stops at the
    # first character that is not white space: a record's line costs one comparison)
    blank = lines.count(b"") + sum(map(bytes.isspace, lines))
    return SpanLines(lines, len(lines) - blank)


@dataclass(frozen=True, slots=True)
class ArraySpan:
    """Elements of a large top-level JSON array: from byte `start` (after the `[` or a comma)
    to `end` (the comma after its last element, or the end of the file). A `rest` span is the
    rest of the file, for ijson (no cut was found)."""

    source: str
    start: int
    end: int
    first: bool
    last: bool
    rest: bool = False


def array_spans(fh: BinaryIO, source: str, size: int) -> Iterator[ArraySpan]:
    """Cut a top-level array into spans of about `size` bytes, each ending between two elements.

    A cut is a comma followed by a newline and the indentation of the first element, then `{`:
    JSON strings hold no newline, so such a line starts a top-level element in any usual layout
    (one element per line, or indented). A span that ends elsewhere does not parse (its brackets
    do not balance), which `read_array_span` reports. An array that is not laid out this way
    (all on one line) is one `rest` span: ijson streams it.
    """
    total = os.fstat(fh.fileno()).st_size
    fh.seek(0)
    head = fh.read(4096)
    start = len(head) - len(head.lstrip(b"\xef\xbb\xbf \t\r\n")) + 1  # after the "["
    lead = head[start:]
    lead = lead[: len(lead) - len(lead.lstrip(b" \t\r\n"))]  # "[" to the first element
    laid_out = head[start - 1 : start] == b"[" and head[start + len(lead) :].startswith(b"{")
    if b"\n" not in lead or not laid_out:
        yield ArraySpan(source, start, total, True, True, rest=True)
        return
    cut_at = re.compile(rb",[ \t\r]*\n" + re.escape(lead.rsplit(b"\n", 1)[1]) + rb"\{")
    first = True
    while start + size < total:
        cut = _next_cut(fh, cut_at, start + size, size * ARRAY_CUT_SEARCH)
        if cut is None:
            break
        if cut < 0:
            yield ArraySpan(source, start, total, first, True, rest=True)
            return
        yield ArraySpan(source, start, cut, first, False)
        start, first = cut + 1, False
    yield ArraySpan(source, start, total, first, True)


def _next_cut(fh: BinaryIO, cut_at: re.Pattern[bytes], position: int, limit: int) -> int | None:
    """The comma of the first cut at or after `position`; None at the end of the file, -1 if
    there is none within `limit` bytes."""
    fh.seek(position)
    buffer, base = b"", position
    while block := fh.read(65536):
        buffer += block
        found = cut_at.search(buffer)
        if found is not None:
            return base + found.start() if base + found.start() - position <= limit else -1
        if base + len(buffer) - position > limit:
            return -1
        keep = buffer.rfind(b",")  # a cut across two blocks starts at the last comma
        base, buffer = (base + keep, buffer[keep:]) if keep >= 0 else (base + len(buffer), b"")
    return None
