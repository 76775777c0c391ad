"""Inputs and outputs named by fsspec URLs (`s3://`, `gs://`, `memory://`, `file://`, ...).

A URL input is found (globs and folders included) and cut into parts like a local file: a JSONL
file into spans of whole lines, which each worker reads with one ranged read; other files are
read whole by one worker. A URL output appears whole or not at all: it is written under a
temporary name next to it and moved into place when complete (on an object store the final
object is written in one piece, so readers see the previous version or the new one, never a
part), and removed when the run fails. fsspec is imported only when a URL is used.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from mapper.errors import Diagnostic, OutputError, RecordRef
from mapper.io.inputs import (
    JSON_SUFFIXES,
    JSONL_SUFFIXES,
    Selector,
    document_items,
    jsonl_items,
    sniff_jsonl,
)
from mapper.io.spans import Span, SpanLines, split_span
from mapper.io.urls import is_url as is_url
from mapper.records import InputProblem, Item

_MAGIC = re.compile(r"[*?\[]")


def _fs(url: str) -> tuple[Any, str]:
    import fsspec  # only when a URL is used

    fs, path = fsspec.core.url_to_fs(url)
    return fs, str(path)


def url_fs(url: str) -> tuple[Any, str]:
    """The fsspec filesystem of `url`, and the path of `url` in it."""
    return _fs(url)


def _problem(source: str, code: str, message: str) -> InputProblem:
    return InputProblem(source, Diagnostic(code, message, record=RecordRef(source, -1)))


def expand_urls(specs: Iterable[str]) -> tuple[list[str], list[InputProblem]]:
    """Files named by URLs, URL folders (recursive) and URL globs, in a stable order."""
    found: list[str] = []
    problems: list[InputProblem] = []
    for spec in specs:
        try:
            urls = _expand_one(spec)
        except (OSError, ValueError) as err:
            problems.append(_problem(spec, "input.unreadable", f"cannot read input: {err}"))
            continue
        if urls is None:
            problems.append(_problem(spec, "input.not-found", "no such file or folder"))
        elif not urls:
            problems.append(_problem(spec, "input.not-found", "the pattern matches no file"))
        else:
            found.extend(urls)
    return list(dict.fromkeys(found)), problems


def _expand_one(spec: str) -> list[str] | None:
    fs, path = _fs(spec)
    if _MAGIC.search(path):
        matches = sorted(p for p in fs.glob(path) if fs.isfile(p))
        return [_url(fs, spec, p) for p in matches]
    if fs.isdir(path):
        suffixes = JSON_SUFFIXES + JSONL_SUFFIXES
        files = sorted(p for p in fs.find(path) if p.lower().endswith(suffixes))
        return [_url(fs, spec, p) for p in files]
    return [spec] if fs.exists(path) else None


def _url(fs: Any, spec: str, path: str) -> str:
    """The URL of a found file, with the protocol the user wrote."""
    scheme = spec.split("://", 1)[0]
    return f"{scheme}://{path.split('://', 1)[-1].lstrip('/') if scheme != 'file' else path}"


def url_jsonl_spans(url: str, size: int) -> Iterator[Span]:
    """Cut a JSONL file at `url` into spans of about `size` bytes that end at line ends.

    Only the line under each cut is read (one small ranged read per cut on an object store).
    """
    fs, path = _fs(url)
    total = fs.size(path)
    with fs.open(path, "rb") as fh:
        start = 0
        while start < total:
            end = start + size - 1
            if end < total:
                fh.seek(end)
                end += len(fh.readline())
            end = min(end, total)
            yield Span(url, start, end)
            start = end


def read_url_span(span: Span) -> SpanLines:
    """The lines of one span of a URL input (one ranged read; raises OSError)."""
    fs, path = _fs(span.source)
    return split_span(fs.cat_file(path, start=span.start, end=span.end))


def url_items(url: str, selector: Selector | None) -> Iterator[Item]:
    """Every record of a whole URL input: JSONL by its suffix or first lines, else one document."""
    try:
        fs, path = _fs(url)
        data = fs.cat_file(path)
    except (OSError, ValueError) as err:
        yield _problem(url, "input.unreadable", f"cannot read input: {err}")
        return
    if url.lower().endswith(JSONL_SUFFIXES):
        yield from jsonl_items(url, split_span(data).lines, selector=selector)
        return
    if not url.lower().endswith(JSON_SUFFIXES):
        import io

        lines = sniff_jsonl(io.BytesIO(data))
        if isinstance(lines, Iterator):
            yield from jsonl_items(url, lines, selector=selector)
            return
    yield from document_items(url, data, selector)


class AtomicUrl:
    """An output at `url` that appears only when committed: written under a temporary name next
    to it, then moved into place; `abort` removes the temporary object."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.fs, self.target = _fs(url)
            parent = self.target.rsplit("/", 1)[0] if "/" in self.target else ""
            if parent:
                self.fs.makedirs(parent, exist_ok=True)
            self.tmp = f"{self.target}.{uuid.uuid4().hex}.tmp"
            self.fh = self.fs.open(self.tmp, "wb")
        except (OSError, ValueError) as err:
            raise url_output_error(url, err) from err

    def write(self, data: bytes) -> None:
        """Append bytes to the temporary object."""
        try:
            self.fh.write(data)
        except (OSError, ValueError) as err:
            self.abort()
            raise url_output_error(self.url, err) from err

    def commit(self) -> None:
        """Close the temporary object and move it into place."""
        try:
            self.fh.close()
            self.fs.mv(self.tmp, self.target)
        except (OSError, ValueError) as err:
            self.abort()
            raise url_output_error(self.url, err) from err

    def abort(self) -> None:
        """Drop the temporary object; the previous version at `url` (if any) stays."""
        with contextlib.suppress(OSError, ValueError):
            self.fh.close()
        with contextlib.suppress(OSError, ValueError):
            if self.fs.exists(self.tmp):
                self.fs.rm(self.tmp)


def url_output_error(url: str, err: Exception) -> OutputError:
    """The error for a URL output that cannot be written."""
    return OutputError([Diagnostic("output.write-failed", f"cannot write {url}: {err}")])


def write_url_atomic(url: str, data: bytes) -> None:
    """Write a whole URL output atomically."""
    out = AtomicUrl(url)
    out.write(data)
    out.commit()
