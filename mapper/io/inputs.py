"""Input records: JSON documents, JSON arrays, JSONL, folders, globs and stdin.

`iter_records` yields `Record`s, `BadRecord`s (a JSONL line that is not JSON: it still counts
and goes to the rejects file) and `InputProblem`s (a whole file that cannot be read). Large JSON
arrays are streamed with ijson, so memory stays flat whatever the file size.
"""

from __future__ import annotations

import errno
import glob
import hashlib
import io
import itertools
import math
import os
import re
import select
import stat
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import orjson
from orjson import loads as _loads

from mapper.errors import Diagnostic, RecordRef
from mapper.records import BadRecord, InputProblem, Item, KnownLine, KnownRecord, Record

if TYPE_CHECKING:
    from mapper.io.spans import ArraySpan

JSON_SUFFIXES = (".json",)
JSONL_SUFFIXES = (".jsonl", ".ndjson")
STREAM_THRESHOLD = 16 * 1024 * 1024  # JSON arrays above this size are streamed
STDIN = "-"
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_DIGIT_RUN = b"0" * 19
"""Text with a run of 19 digits takes the exact parser: orjson makes floats of integers below
-2**63 (19 digits) or beyond 2**64 - 1 (20 digits). Finding the run after `translate` costs a
tenth of a regex search."""

Selector = Callable[[Any], Any]


@dataclass(frozen=True)
class Reading:
    """How records are found in a file: the records selector and its ijson path, if any."""

    selector: Callable[[Any], Any] | None = None
    stream_path: str | None = None

    def kwargs(self) -> dict[str, Any]:
        """The keyword arguments of `iter_records`."""
        return {"selector": self.selector, "stream_path": self.stream_path}


class InputProgress:
    """How many bytes of the inputs have been read so far (for a progress bar's ETA)."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.total = sum(input_size(p) for p in paths)
        self.finished = 0
        self.current: BinaryIO | None = None

    def done(self) -> int:
        """Bytes read: whole finished files plus the position in the current one."""
        try:
            position = self.current.tell() if self.current is not None else 0
        except (OSError, ValueError):
            position = 0
        return min(self.total, self.finished + position)


def input_size(path: str) -> int:
    """Bytes in an input file (0 for stdin or what cannot be read)."""
    try:
        return 0 if path == STDIN else Path(path).stat().st_size
    except OSError:
        return 0


def stdin_bytes() -> BinaryIO:
    """Standard input as bytes (OSError when it is closed: `mapper run ... - <&-`).

    A pipe, FIFO or terminal is read through `_WakingReader`, so a Ctrl-C is acted on while the
    run waits for more input; a regular file as it is.
    """
    stream = sys.stdin
    if stream is None or getattr(stream, "buffer", None) is None:
        raise OSError(errno.EBADF, "standard input is closed")
    try:
        fd = stream.buffer.fileno()
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
    except (OSError, ValueError, io.UnsupportedOperation):  # a stand-in stream (tests) or closed
        return stream.buffer
    if regular or sys.platform == "win32":  # Windows: select() takes sockets only
        return stream.buffer
    if _WAKING.get(fd, (None,))[0] is not stream.buffer:  # one reader: no buffered byte lost
        _WAKING[fd] = (stream.buffer, io.BufferedReader(_WakingReader(fd), STREAM_BLOCK))
    return _WAKING[fd][1]


_WAKING: dict[int, tuple[Any, BinaryIO]] = {}


STREAM_BLOCK = 1024 * 1024
WAKE_S = 0.2
"""How long a read of standard input waits before it lets Python act on a pending signal."""


class _WakingReader(io.RawIOBase):
    """Reads a pipe, never blocking longer than `WAKE_S` outside Python.

    A Ctrl-C that comes while Python runs C code (between two reads of one buffered
    `read(1 MiB)`) is only flagged; a read that then blocks is not interrupted by it, and the
    run would see it only when the input ends. Here every wait is a `select` with a timeout,
    and each wake-up goes back through Python, which runs the handler (KeyboardInterrupt).
    """

    def __init__(self, fd: int) -> None:
        super().__init__()
        self.fd = fd

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.fd

    def readinto(self, buffer: Any) -> int:
        while not select.select([self.fd], [], [], WAKE_S)[0]:
            pass  # back in Python: a pending signal is handled here
        return os.readv(self.fd, [buffer])

    def close(self) -> None:  # the descriptor is sys.stdin's: it stays open
        super().close()


def expand_inputs(specs: Iterable[str]) -> tuple[list[str], list[InputProblem]]:
    """Files named by paths, folders (recursive) and glob patterns, in a stable order."""
    found: list[str] = []
    problems: list[InputProblem] = []
    for spec in specs:
        if spec == STDIN:
            found.append(STDIN)
        elif Path(spec).is_dir():
            files = _folder_files(Path(spec), problems)
            found.extend(files)
            if not files and not problems:
                problems.append(_problem(spec, "input.empty-folder", EMPTY_FOLDER))
        elif Path(spec).exists():
            found.append(spec)
        elif glob.has_magic(spec):
            matches = sorted(p for p in glob.glob(spec, recursive=True) if Path(p).is_file())
            found.extend(matches)
            if not matches:
                problems.append(_problem(spec, "input.not-found", "the pattern matches no file"))
        else:
            problems.append(_problem(spec, "input.not-found", "no such file or folder"))
    return _once_each(found), problems


def _once_each(paths: list[str]) -> list[str]:
    """Each file once, the first time it is named (`a.json` and `./a.json` are one file)."""
    seen: set[str] = set()
    unique = []
    for path in paths:
        key = path if path == STDIN else os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


EMPTY_FOLDER = "the folder holds no .json, .jsonl or .ndjson file (searched recursively)"


def _folder_files(folder: Path, problems: list[InputProblem]) -> list[str]:
    """The JSON and JSONL files below `folder`; a subfolder that cannot be read is a problem
    (its records would otherwise be left out without a word)."""
    suffixes = JSON_SUFFIXES + JSONL_SUFFIXES

    def unlisted(err: OSError) -> None:
        problems.append(unreadable(str(err.filename or folder), err))

    found = [
        Path(root) / name
        for root, _dirs, names in os.walk(folder, onerror=unlisted)
        for name in names
    ]
    return sorted(str(p) for p in found if p.suffix.lower() in suffixes and p.is_file())


def unreadable(source: str, err: OSError) -> InputProblem:
    """The problem of an input that cannot be read."""
    return _problem(source, "input.unreadable", f"cannot read input: {err.strerror or err}")


def _problem(source: str, code: str, message: str, hint: str | None = None) -> InputProblem:
    return InputProblem(source, Diagnostic(code, message, record=RecordRef(source, -1), hint=hint))


_WIDE_MARKS = (  # byte-order marks of encodings JSON (RFC 8259) may not use between systems
    (b"\x00\x00\xfe\xff", "UTF-32"), (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\xfe\xff", "UTF-16"), (b"\xff\xfe", "UTF-16"),
)  # fmt: skip


def wrong_encoding(source: str, head: bytes) -> InputProblem | None:
    """The problem of an input whose first bytes are a UTF-16 or UTF-32 byte-order mark (a
    Windows export, PowerShell's `>`): JSON between systems is UTF-8, and read as UTF-8 every
    line of it would be a rejected record (None: not such a file)."""
    for mark, name in _WIDE_MARKS:
        if head.startswith(mark):
            return _problem(
                source, "input.encoding", f"the file is {name} (it starts with {name}'s "
                "byte-order mark); mapper reads JSON as UTF-8",
                f"convert it first, e.g. iconv -f {name} -t UTF-8 FILE > FILE.utf8",
            )  # fmt: skip
    return None


def iter_records(
    paths: Iterable[str],
    *,
    selector: Selector | None = None,
    stream_path: str | None = None,
    progress: InputProgress | None = None,
    known: KnownLine | None = None,
) -> Iterator[Item]:
    """Every record of every input, in order. Never raises for bad input files.

    With `known`, each line of a JSONL file is hashed first: a line `known` holds is yielded
    as a `KnownRecord`, unparsed; the other records carry their line's digest.
    """
    for path in paths:
        yield from _iter_one(path, selector, stream_path, progress, known)
        if progress is not None:
            progress.finished += input_size(path)
            progress.current = None


def _iter_one(
    path: str,
    selector: Selector | None,
    stream_path: str | None,
    progress: InputProgress | None = None,
    known: KnownLine | None = None,
) -> Iterator[Item]:
    try:
        if path == STDIN:
            yield from _iter_stream(STDIN, stdin_bytes(), selector, sniff=True)
            return
        with Path(path).open("rb") as fh:
            if progress is not None:
                progress.current = fh
            wrong = wrong_encoding(path, fh.peek(4)[:4])
            if wrong is not None:
                yield wrong
                return
            if path.lower().endswith(JSONL_SUFFIXES):
                lines = lines_of(fh) if is_unsized(fh) else fh
                yield from jsonl_items(path, lines, known=known, selector=selector)
            elif _should_stream(path, fh, selector, stream_path):
                if stream_path is None:
                    yield from _iter_array(path, fh)
                else:
                    yield from _iter_streamed_array(path, fh, stream_path)
            else:
                yield from _iter_stream(
                    path, fh, selector, sniff=not path.lower().endswith(".json")
                )
    except OSError as err:
        yield unreadable(path, err)
    except MemoryError:
        yield _problem(
            path,
            "input.too-large",
            "the input does not fit in memory",
            "split it, or use JSONL or a top-level array (both are streamed)",
        )


def is_streamed(path: str, selector: Selector | None, stream_path: str | None) -> bool:
    """Would `iter_records` stream this file with ijson (a large array) instead of loading it?"""
    if path == STDIN or path.lower().endswith(JSONL_SUFFIXES):
        return False
    try:
        with Path(path).open("rb") as fh:
            return _should_stream(path, fh, selector, stream_path)
    except OSError:
        return False  # reading it again reports the problem


def _should_stream(
    path: str, fh: BinaryIO, selector: Selector | None, stream_path: str | None
) -> bool:
    if Path(path).stat().st_size < STREAM_THRESHOLD or (
        selector is not None and stream_path is None
    ):
        return False
    head = fh.peek(64) if hasattr(fh, "peek") else b""
    first = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return first == (b"{" if stream_path else b"[")


def _iter_stream(
    source: str, fh: BinaryIO, selector: Selector | None, *, sniff: bool
) -> Iterator[Item]:
    lines = sniff_jsonl(fh) if sniff else None
    if isinstance(lines, Iterator):  # JSONL: streamed line by line, memory stays flat
        yield from jsonl_items(source, lines, selector=selector)
    elif sniff:
        yield from sniffed_items(source, (lines or b"") + read_document(fh), selector)
    else:
        yield from document_items(source, (lines or b"") + read_document(fh), selector)


MAX_LINE_BYTES = 256 * 1024 * 1024
"""A JSONL line read from a stream (stdin, a FIFO, a file without a JSON suffix) is at most this
long: `/dev/zero` has no newline at all."""
MAX_UNSIZED_DOCUMENT = 256 * 1024 * 1024
"""A JSON document read from an input whose size cannot be known (stdin, a FIFO, a device)."""


def is_unsized(fh: BinaryIO) -> bool:
    """Is `fh` a FIFO, a device or a socket: no size to trust, no end to count on?"""
    try:
        return not stat.S_ISREG(os.fstat(fh.fileno()).st_mode)
    except (OSError, ValueError, io.UnsupportedOperation):
        return False


def read_document(fh: BinaryIO) -> bytes:
    """The rest of `fh`; from an unsized input at most MAX_UNSIZED_DOCUMENT bytes (OSError)."""
    if not is_unsized(fh):
        return fh.read()
    data = fh.read(MAX_UNSIZED_DOCUMENT + 1)
    if len(data) > MAX_UNSIZED_DOCUMENT:
        raise OSError(errno.EFBIG, f"the document is longer than {MAX_UNSIZED_DOCUMENT:,} bytes")
    return data


SNIFF_LINES = 1000
"""Blank lines skipped, at most, looking for the first two lines that hold something."""


def sniff_jsonl(fh: BinaryIO) -> Iterator[bytes] | bytes:
    """JSONL is told by its first two lines that are not blank (the first one is JSON on its
    own): then all the lines of `fh` (those included, the rest read as they are needed);
    otherwise the bytes read so far (`sniffed_items` reads them as a document, or as JSONL
    when they are not one document)."""
    head, filled = b"", 0
    for _ in range(SNIFF_LINES + 2):
        line = fh.readline(MAX_LINE_BYTES + 1)
        if len(line) > MAX_LINE_BYTES:
            raise _long_line()
        head += line
        filled += bool(line.strip(b"\xef\xbb\xbf \t\r\n"))
        if not line or filled == 2:
            break
    return itertools.chain(io.BytesIO(head), lines_of(fh)) if _looks_like_jsonl(head) else head


def sniffed_items(source: str, data: bytes, selector: Selector | None) -> Iterator[Item]:
    """Input without a telling suffix (stdin, `x.txt`) whose first lines did not say JSONL: one
    JSON document, or, when it is not one and its lines hold JSON objects, JSONL whose bad
    lines are rejected records. A first line that is blank or malformed loses no record."""
    try:
        doc = parse_json(data)
    except ValueError as err:
        if _holds_jsonl_records(data):
            yield from jsonl_items(source, data.split(b"\n"), selector=selector)
        else:
            yield _malformed(source, data, err)
        return
    yield from _records_of(source, doc, selector)


def _holds_jsonl_records(data: bytes) -> bool:
    """Several lines, one of them a whole JSON object, and not an array laid out on lines."""
    text = data.lstrip(b"\xef\xbb\xbf \t\r\n").rstrip()
    if text.startswith(b"[") and text.endswith(b"]"):
        return False
    lines = [ln.strip() for ln in text.split(b"\n") if ln.strip()]
    if len(lines) < 2:
        return False
    for line in lines:
        if line.startswith(b"{") and line.endswith(b"}"):
            try:
                if isinstance(parse_json(line), dict):
                    return True
            except ValueError:
                continue
    return False


def lines_of(
    fh: BinaryIO, block: int = 1024 * 1024, max_line: int | None = None
) -> Iterator[bytes]:
    """The lines of `fh` (without their newline), read a block at a time: a pipe hands over
    a few kilobytes per read, and line by line that costs a tenth of the run. A line longer
    than `max_line` (default MAX_LINE_BYTES) raises OSError."""
    limit = MAX_LINE_BYTES if max_line is None else max_line
    pending: list[bytes] = []
    size = 0
    while data := fh.read(block):
        if b"\n" not in data:  # a long line: keep the pieces, join them once
            pending.append(data)
            size += len(data)
            if size > limit:
                raise _long_line(limit)
            continue
        lines = (b"".join(pending) + data).split(b"\n")
        rest = lines.pop()
        pending, size = [rest], len(rest)
        yield from lines
    rest = b"".join(pending)
    if rest:
        yield rest


def _long_line(limit: int = MAX_LINE_BYTES) -> OSError:
    return OSError(errno.EFBIG, f"a line is longer than {limit:,} bytes")


def document_items(source: str, data: bytes, selector: Selector | None) -> Iterator[Item]:
    """The records of one JSON document (the records selector picks them when given)."""
    try:
        doc = parse_json(data)
    except ValueError as err:
        yield _malformed(source, data, err)
        return
    yield from _records_of(source, doc, selector)


def _looks_like_jsonl(data: bytes) -> bool:
    lines = [ln for ln in data.lstrip(b"\xef\xbb\xbf").splitlines() if ln.strip()][:2]
    if len(lines) < 2:
        return False
    try:
        orjson.loads(lines[0])
    except orjson.JSONDecodeError:
        return False
    return True


def parse_json(data: bytes | str) -> Any:
    """Parse JSON text (a UTF-8 BOM is ignored); ValueError with a position when malformed."""
    if isinstance(data, bytes) and data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    raw = data if isinstance(data, bytes) else data.encode()
    if _LONG_DIGIT_RUN in raw.translate(_DIGITS_AS_ZERO):
        return _parse_big_ints(data)  # orjson turns integers beyond 64 bits into floats
    return _loads(data)


def _parse_big_ints(data: bytes | str) -> Any:
    """The standard library parser keeps integers beyond 64 bits exact (orjson makes floats)."""
    import json

    def reject(name: str) -> Any:
        raise ValueError(f"{name} is not valid JSON")

    def finite(text: str) -> float:
        value = float(text)
        if math.isinf(value):  # as orjson says: 1e400 is not a number a record can carry
            raise ValueError("number is infinity when parsed as double")
        return value

    text = data.decode("utf-8") if isinstance(data, bytes) else data
    try:
        doc = json.loads(text, parse_constant=reject, parse_float=finite)
    except RecursionError as err:
        raise ValueError("the document nests too deeply") from err
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(doc):
        raise ValueError("no low surrogate in string")  # as orjson says; it cannot be written
    return doc


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


def _has_lone_surrogate(doc: Any) -> bool:
    import json

    try:
        json.dumps(doc, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return True
    return False


def _malformed(source: str, data: bytes, err: ValueError) -> InputProblem:
    message = str(err).split(":", 1)[0] if isinstance(err, orjson.JSONDecodeError) else str(err)
    pos = getattr(err, "pos", None)
    where = ""
    if isinstance(pos, int):
        line = data.count(b"\n", 0, pos) + 1
        col = pos - (data.rfind(b"\n", 0, pos) + 1) + 1
        where = f" at line {line}, column {col}"
    hint = (
        "the file ends early: was it truncated?" if "EOF" in message or "end" in message else None
    )
    if not data.strip():
        return _problem(source, "input.empty", "the input is empty")
    return _problem(source, "input.malformed-json", f"not valid JSON{where}: {message}", hint)


def wrapper_list(data: Any) -> tuple[str, int] | None:
    """When `data` looks like a wrapper around a list of records (an API list response read
    as one record: an object with exactly one field holding a list of objects), that field
    and the list's length."""
    if not isinstance(data, dict):
        return None
    lists = [
        key
        for key, value in data.items()
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value[:20])
    ]
    return (lists[0], len(data[lists[0]])) if len(lists) == 1 else None


def _where_records_are(doc: Any) -> str:
    """What the document offers instead: the list it seems to wrap, else its keys."""
    found = wrapper_list(doc)
    if found is not None:
        name = found[0] if found[0].isidentifier() else orjson.dumps(found[0]).decode()
        return f"; the document holds a list of {found[1]} in {found[0]!r}: --records '{name}[]'"
    if isinstance(doc, dict) and doc:
        return f"; the document's keys: {', '.join(map(repr, list(doc)[:8]))}"
    return ""


def _records_of(source: str, doc: Any, selector: Selector | None) -> Iterator[Item]:
    selected = doc if selector is None else _selected(doc, selector)
    if isinstance(selected, Diagnostic):
        yield InputProblem(source, replace(selected, record=RecordRef(source, -1)))
    elif isinstance(selected, list):
        for i, value in enumerate(selected):
            yield Record(source, i, value)
    else:
        yield Record(source, 0, selected)


def _selected(doc: Any, selector: Selector) -> Any:
    """What the records selector picks in `doc`, or the Diagnostic (without a record) of a
    selector that fails or finds nothing."""
    try:
        selected = selector(doc)
    except Exception as err:  # the selector is a user expression
        return Diagnostic("input.selector-failed", f"the records selector failed: {err}")
    if selected is None:
        hint = "check `records:` in the mapping or --records" + _where_records_are(doc)
        return Diagnostic("input.no-records", "the records selector found nothing here", hint=hint)
    return selected


def line_digest(line: bytes) -> bytes:
    """The SHA-1 of a JSONL line with its newline (the last line of a file may lack it)."""
    return _sha1(line if line.endswith(b"\n") else line + b"\n").digest()


_sha1 = hashlib.sha1


def jsonl_items(
    source: str,
    lines: Iterable[bytes],
    index: int = 0,
    line_no: int = 1,
    known: KnownLine | None = None,
    selector: Selector | None = None,
) -> Iterator[Item]:
    """The records of JSONL `lines`, blank lines skipped (with `known`: see `iter_records`).

    `index` and `line_no` say where the first line sits in its file (a part read by a worker).
    With a records `selector`, each line is a document whose records it selects
    (`selected_jsonl_items`).
    """
    if selector is not None:
        yield from selected_jsonl_items(source, lines, selector, index, line_no)
        return
    digest = None
    for line in lines:
        if line and not line.isspace():  # (what `line.strip()` tells, without a copy)
            if line.startswith(b"\xef\xbb\xbf"):  # (parse_json's, for the first line's digest)
                line = line[3:]
            if known is not None:
                digest = line_digest(line)
                if known(digest, source, index):
                    yield KnownRecord(source, index, None)
                    index += 1
                    line_no += 1
                    continue
            try:  # parse_json, in place: a call less per line
                if _LONG_DIGIT_RUN in line.translate(_DIGITS_AS_ZERO):
                    yield Record(source, index, _parse_big_ints(line), digest)
                else:
                    yield Record(source, index, _loads(line), digest)
            except ValueError as err:
                problem = _malformed_line(_line_error(line, err), line_no)
                yield _bad_line(source, index, line, problem)
            index += 1
        line_no += 1


def selected_jsonl_items(
    source: str, lines: Iterable[bytes], selector: Selector, index: int = 0, line_no: int = 1
) -> Iterator[Item]:
    """The records a records selector picks in each JSONL line, as in a JSON document: a list
    is that many records, anything else one. Records are numbered through the file (`index`),
    as if the lines' records were one list. A line that is not JSON, or where the selector fails
    or finds nothing, is one rejected record whose diagnostic names its line. Lines carry no
    digest: a line is not one record here (`KnownLine` does not apply)."""
    return picked_items(source, picked_lines(lines, selector), index, line_no)


@dataclass(frozen=True, slots=True)
class Unpicked:
    """A JSONL line that is one rejected record: it is not JSON (`error`), or the selector
    failed or found nothing in it (`diagnostic`, not yet said of the line)."""

    error: ValueError | None = None
    diagnostic: Diagnostic | None = None

    def said_of(self, line_no: int) -> Diagnostic:
        """The diagnostic of the line, which is line `line_no` of its file."""
        if self.diagnostic is None:
            assert self.error is not None
            return _malformed_line(self.error, line_no)
        return replace(self.diagnostic, message=f"line {line_no}: {self.diagnostic.message}")


Picked = tuple[bytes, int, Any]
"""A non-blank JSONL line, its place among the lines given (0: the first), and what the records
selector picked in it: a list of records, one record, or `Unpicked`."""


def picked_lines(lines: Iterable[bytes], selector: Selector) -> Iterator[Picked]:
    """What the selector picks in each non-blank line."""
    for offset, line in enumerate(lines):
        if line and not line.isspace():
            try:
                selected = _selected(parse_json(line), selector)
            except ValueError as err:
                selected = Unpicked(error=_line_error(line, err))
            else:
                if isinstance(selected, Diagnostic):
                    selected = Unpicked(diagnostic=selected)
            yield line, offset, selected


def picked_count(picked: Iterable[Picked]) -> int:
    """The records `picked_items` numbers in these lines (a span's: its first index is known
    only once every span before it is counted)."""
    return sum(len(p) if isinstance(p, list) else 1 for _, _, p in picked)


def picked_items(
    source: str, picked: Iterable[Picked], index: int = 0, line_no: int = 1
) -> Iterator[Item]:
    """The records of picked lines, numbered from `index`; `line_no`: the first line's number."""
    for line, offset, selected in picked:
        if type(selected) is Unpicked:
            yield _bad_line(source, index, line, selected.said_of(line_no + offset))
            index += 1
        elif isinstance(selected, list):
            for value in selected:
                yield Record(source, index, value)
                index += 1
        else:
            yield Record(source, index, selected)
            index += 1


def _line_error(line: bytes, err: ValueError) -> ValueError:
    """The parse error of a line as without its line end, so that it reads the same wherever the
    line was cut (read with its newline, a line that ends inside a string fails on that newline,
    a control character; a worker's span holds it without)."""
    if not line.endswith((b"\n", b"\r")):
        return err
    try:
        parse_json(line.rstrip(b"\r\n"))
    except ValueError as bare:
        return bare
    return err


def _malformed_line(err: ValueError, line_no: int) -> Diagnostic:
    """The diagnostic of a JSONL line that does not parse (its record: `_bad_line`)."""
    reason = str(err).split(":", 1)[0]
    return Diagnostic("record.malformed-json", f"line {line_no} is not valid JSON: {reason}")


def _bad_line(source: str, index: int, line: bytes, diag: Diagnostic) -> BadRecord:
    """Line `line` of `source` as the rejected record `index`, with `diag` said of it."""
    text = line.decode("utf-8", "replace").rstrip("\r\n")
    return BadRecord(source, index, text, replace(diag, record=RecordRef(source, index)))


def _iter_streamed_array(
    source: str, fh: BinaryIO, stream_path: str | None, skip: int = 0
) -> Iterator[Item]:
    """Records of a large array with ijson; the first `skip` are parsed but not yielded."""
    import ijson  # type: ignore[import-untyped]  # (only large arrays are streamed)

    prefix = f"{stream_path}.item" if stream_path else "item"
    index = 0
    try:
        for index, value in enumerate(ijson.items(fh, prefix, use_float=True)):
            if index >= skip:
                yield Record(source, index, value)
    except (ijson.common.JSONError, UnicodeDecodeError) as err:  # bytes that are not UTF-8, too
        yield _problem(source, "input.malformed-json", *_streamed_problem(err, index))


def _streamed_problem(err: Exception, index: int) -> tuple[str, str]:
    """The message and hint of a large array that stops parsing after record `index`: the
    parser's first line (not its caret drawing), and what an early end means."""
    reason = (str(err).strip().splitlines() or ["not JSON"])[0]
    hint = "records before this point were processed"
    if "premature EOF" in reason or "incomplete JSON" in reason:
        return f"not valid JSON after record {index}: the file ends early ({reason})", (
            f"was it cut off while being written or copied? {hint}"
        )
    return f"not valid JSON after record {index}: {reason}", hint


def streamed_array_items(source: str, skip: int = 0) -> Iterator[Item]:
    """The records of a large top-level array read by ijson alone, from record `skip` on."""
    try:
        with Path(source).open("rb") as fh:
            yield from _iter_streamed_array(source, fh, None, skip)
    except OSError as err:
        yield unreadable(source, err)


ARRAY_SPAN_BYTES = 256 * 1024


def read_array_span(span: ArraySpan, fh: BinaryIO | None = None) -> list[Any]:
    """The elements of one span; ValueError if it is not a list of whole JSON values."""
    if fh is None:
        with Path(span.source).open("rb") as own:
            return read_array_span(span, own)
    fh.seek(span.start)
    data = fh.read(span.end - span.start)
    value = parse_json(b"[" + data + (b"" if span.last else b"]"))
    if not isinstance(value, list):
        raise ValueError("not an array")
    return value


def _iter_array(source: str, fh: BinaryIO) -> Iterator[Item]:
    """A large top-level array, span by span with orjson: as fast as a small file, and memory
    stays flat. From the first span that does not parse (a cut inside a string, or malformed
    JSON) ijson reads the file again and takes over, so the records and any error are exactly
    those of reading it with ijson alone."""
    from mapper.io.spans import array_spans  # (only for large arrays: not part of every start-up)

    index = 0
    for span in array_spans(fh, source, ARRAY_SPAN_BYTES):
        try:
            if span.rest:
                raise ValueError("no cut")
            values = read_array_span(span, fh)
        except ValueError:
            fh.seek(0)
            yield from _iter_streamed_array(source, fh, None, skip=index)
            return
        for value in values:
            yield Record(source, index, value)
            index += 1


def stream_path_of(base: tuple[str | int, ...] | None) -> str | None:
    """The ijson prefix for a plain projection selector such as `items[]` (None if not plain)."""
    if not base or not all(isinstance(p, str) and p.isidentifier() for p in base):
        return None
    return ".".join(str(p) for p in base)
