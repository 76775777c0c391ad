"""One part of a run mapped anywhere: on a cluster worker, or in the client when it takes over.

A cluster task carries a `RunSpec` (the mapping's text and digest, the records selector, the
options) and a few `PartTask`s; it returns one `PartOutput` per part: the part's object lines and
reject lines as bytes, and its counts. A worker compiles each mapping once (`compiled`, a cache
keyed by path, content digest and options) and never receives generated code.

Where a JSONL span's records start (record index, line number) depends on every span before it.
The client hands that out when it knows it; otherwise a worker maps the span as if it started
at record 0 and says so (`based=False`). Objects never depend on where a record sits, only
diagnostics do (rejects, report examples), so the client keeps such a result unless it holds a
diagnostic, and maps that part again with the right start (rare: a part with a problem).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from mapper.errors import Diagnostic
from mapper.io.inputs import (
    STDIN,
    Reading,
    Selector,
    iter_records,
    jsonl_items,
    picked_count,
    picked_items,
    picked_lines,
    read_array_span,
    streamed_array_items,
    unreadable,
)
from mapper.io.lookups import LookupCache
from mapper.io.partfiles import write_part
from mapper.io.remote import is_url, read_url_span, url_items
from mapper.io.sinks import JsonlSink
from mapper.io.spans import ArraySpan, Span, read_span
from mapper.language.plan import Plan
from mapper.records import Item, KnownLine, MappedObject, Record, no_line_known
from mapper.run.parts import FilePart, Lines, Part
from mapper.run.pipeline import map_items
from mapper.run.policy import RunOptions
from mapper.run.report import RunReport

Base = tuple[int, int]
"""Where a part's records start in its file: (record index, lines before it)."""
Mark = tuple[int, object, str, int]
"""A record's `cursor:` value: (how many records' objects came before it and its own, the
value, the record's source, its index counted from the part's first record)."""


@dataclass(frozen=True)
class MappingRef:
    """A mapping file by path and content: what a worker compiles (and caches) itself."""

    path: str
    text: str
    digest: str

    @classmethod
    def of(cls, path: str | Path) -> MappingRef:
        """Read the mapping file (raises OSError)."""
        text = Path(path).read_text(encoding="utf-8")
        return cls(str(path), text, hashlib.sha256(text.encode()).hexdigest())


class Payloads(NamedTuple):
    """A record mapped by the clean shortcut: one payload per rule, in rule order, and the
    digest of its JSONL line (None for an element of an array). (Tuples cross to the client
    faster than slots dataclasses: pickle rebuilds them without a Python-level `__setstate__`.)"""

    payloads: list[dict[str, Any]]
    line: bytes | None


Batch = tuple[MappedObject, ...] | Payloads | list[Any]
"""One mapped record's objects, as a part hands them back: its objects (the general path), its
payloads (`Payloads`), or, as a list, the digest of its JSONL line followed by its objects as
the spec's `digester` worked them out (plain tuples: the cheapest to pickle)."""


def give(sink: Any, batch: Batch) -> None:
    """Hand one record's objects to a sink of the client (`write_payloads` for `Payloads`,
    `write_digested` for a list)."""
    kind = type(batch)
    if kind is list:
        sink.write_digested(batch[1:], batch[0])
    elif kind is Payloads:
        sink.write_payloads(batch.payloads, batch.line)  # type: ignore[union-attr]
    else:
        sink.write(batch)


@dataclass(frozen=True)
class UrlFile:
    """A whole input named by an fsspec URL, read by one worker (a JSON document)."""

    url: str


@dataclass(frozen=True)
class RunSpec:
    """What every part of one run shares."""

    mapping: MappingRef
    records: str | None
    options: RunOptions
    set_associations: bool
    objects: bool = False
    """Return the objects themselves (for a caller's own sink in the client), not JSON lines."""
    cursor: bool = False
    """Return each record's `cursor:` value too (for a sink that takes them: the sync stage)."""
    parts_at: str | None = None
    """The run's parts folder (a path or URL, `io.partfiles`): workers write each part's lines
    there and return the file names. None: the lines come back as bytes."""
    payloads: bool = False
    """Return a clean record's payloads with its line digest, as the sink's `write_payloads`
    takes them (the sync stage), not objects."""
    digests: bool = False
    """JSONL records carry their line's digest (the sync stage records them for its skip
    path: `run.pipeline.known_lines`)."""
    digester: Callable[[str, dict[str, Any]], Any] | None = None
    """With `payloads`: works each payload out for the sink's `write_digested` (the sync
    stage's `digester()`: `sync.digested`), so the client need not."""


@dataclass(frozen=True)
class PartTask:
    """One part, its number in the run, and where its records start (None: not known yet)."""

    number: int
    part: Part | UrlFile
    base: Base | None


@dataclass
class PartOutput:
    """What mapping one part gave."""

    number: int
    objects: bytes = b""
    batches: list[Batch] = field(default_factory=list)
    """Each mapped record's objects, when the spec asks for objects (`Payloads` for a record
    the shortcut mapped, when it asks for payloads)."""
    marks: list[Mark] = field(default_factory=list)
    """Each mapped or filtered record's `cursor:` value, when the spec asks for them."""
    rejects: bytes = b""
    counts: RunReport = field(default_factory=lambda: RunReport(""))
    lookup_problems: list[Diagnostic] = field(default_factory=list)
    size: Base = (0, 0)
    """Records and lines in a span (elements in an array span): where the next span starts."""
    based: bool = True
    """Mapped with the right start (or one that cannot matter)."""
    unparsed: bool = False
    """An array span that does not parse: the client reads on with ijson, as one worker does."""
    skipped: bool = False
    """Not mapped: the part needs its start first (the rest of an array, read by ijson)."""
    objects_file: str | None = None
    """The part file in the spec's parts folder holding the object lines (then `objects` is
    empty)."""
    rejects_file: str | None = None
    """The part file holding the reject lines (then `rejects` is empty)."""
    write_error: str | None = None
    """Why the part files could not be written."""

    @property
    def has_diagnostics(self) -> bool:
        """Does any output of this part name records (then it depends on where they start)?"""
        c = self.counts
        return bool(
            self.rejects or self.rejects_file or c.problems or c.warnings or c.input_problems
        )


@dataclass
class Compiled:
    """A mapping compiled in this process, with what its parts share."""

    plan: Plan
    reading: Reading
    lookups: LookupCache


_CACHE: dict[tuple[object, ...], Compiled] = {}
"""A Dask worker's heap is twice a `--workers` process's (the distributed runtime); once a
mapping is compiled, what the process holds is moved out of the cycle collector's way
(`gc.freeze`), so its collections scan only what mapping the parts allocates."""
_LOCK = threading.Lock()  # a worker with several threads compiles each mapping once


def compiled(spec: RunSpec) -> Compiled:
    """The compiled mapping of `spec`, compiled once per process.

    Raises:
        SpecError: the mapping does not compile here.
    """
    key = _key(spec)
    with _LOCK:
        found = _CACHE.get(key)
        if found is None:
            found = _compile(spec)
            _CACHE[key] = found
            gc.freeze()  # see below
    return found


@contextlib.contextmanager
def seeded(spec: RunSpec, plan: Plan, reading: Reading) -> Iterator[None]:
    """This process's cache holds the plan compiled here while the block runs: worker
    processes forked in it inherit it and compile nothing (nor does `map_parts` here)."""
    key = _key(spec)
    lookups = LookupCache(plan.lookups, spec.options.lookups)
    with _LOCK:
        before = _CACHE.get(key)
        _CACHE[key] = Compiled(plan, reading, lookups)
    try:
        yield
    finally:
        with _LOCK:
            if before is None:
                _CACHE.pop(key, None)
            else:
                _CACHE[key] = before


def _key(spec: RunSpec) -> tuple[object, ...]:
    ref = spec.mapping
    return (ref.path, ref.digest, spec.records, tuple(spec.options.lookups.items()))


def _compile(spec: RunSpec) -> Compiled:
    from mapper.engine.plans import compile_text
    from mapper.errors import SpecError
    from mapper.run.files import reading_of
    from mapper.run.parallel import _keep_freed_buffers

    _keep_freed_buffers()  # the malloc tuning of `--workers`, once per worker process
    ref = spec.mapping
    plan, diags = compile_text(ref.text, ref.path, base=Path(ref.path).parent)
    if plan is None:
        raise SpecError([d for d in diags if d.is_error])
    reading = reading_of(plan, spec.records)
    return Compiled(plan, reading, LookupCache(plan.lookups, spec.options.lookups))


def map_parts(spec: RunSpec, tasks: tuple[PartTask, ...]) -> list[PartOutput]:
    """The cluster task: map a few consecutive parts, in order.

    A span whose start is not given follows on from the span before it in the same task.
    """
    worker = compiled(spec)
    outputs: list[PartOutput] = []
    follows: dict[str, tuple[int, Base]] = {}  # source -> (end of the last span, next base)
    for task in tasks:
        part = task.part
        if isinstance(part, Span) and task.base is None:
            task = PartTask(task.number, part, _follow(part, follows))
        out = map_part(worker, spec, task)
        if isinstance(part, Span) and task.base is not None:
            after = (task.base[0] + out.size[0], task.base[1] + out.size[1])
            follows[part.source] = (part.end, after)
        outputs.append(out)
    return outputs


def _follow(part: Span, follows: dict[str, tuple[int, Base]]) -> Base | None:
    if part.start == 0:
        return (0, 0)
    end, base = follows.get(part.source, (-1, (0, 0)))
    return base if end == part.start else None


def map_part(worker: Compiled, spec: RunSpec, task: PartTask) -> PartOutput:
    """Map one part into object lines, reject lines and counts."""
    out = PartOutput(task.number)
    items = part_items(worker.reading, task, out, digests=spec.digests)
    if out.skipped:
        return out
    lines: list[bytes] = []
    sink: JsonlSink | _Kept = (
        _kept(spec, worker.plan, out, task)
        if spec.objects
        else JsonlSink("", set_associations=spec.set_associations, lines=lines)
    )
    out.rejects, out.lookup_problems = map_items(
        worker.plan, items, spec.options, worker.lookups, out.counts, sink
    )
    if spec.parts_at is None or spec.objects:
        out.objects = b"".join(lines)
        return out
    try:
        if lines:
            out.objects_file = write_part(spec.parts_at, task.number, "objects", lines)
        if out.rejects:
            out.rejects_file = write_part(spec.parts_at, task.number, "rejects", [out.rejects])
            out.rejects = b""
    except (OSError, ValueError) as err:
        out.write_error = getattr(err, "strerror", None) or str(err)
    return out


def _first_index(task: PartTask) -> int:
    """The record index this part's first record is given here (its real one, or 0 while the
    span's start is not known)."""
    part = task.part
    if isinstance(part, Span | ArraySpan):
        first = part.start == 0 if isinstance(part, Span) else part.first
        return 0 if first or task.base is None else task.base[0]
    return 0


def _kept(spec: RunSpec, plan: Plan, out: PartOutput, task: PartTask) -> _Kept:
    """The sink that keeps what the client's sink takes: objects or payloads, and marks."""
    kept: _Kept
    if spec.cursor:
        marks = _KeptPayloadsMarks if spec.payloads else _KeptMarks
        kept = marks(out.batches, out.marks, _first_index(task))
    else:
        kept = _KeptPayloads(out.batches) if spec.payloads else _Kept(out.batches)
    if spec.payloads and spec.digester is not None:
        assert isinstance(kept, _KeptPayloads)
        kept.digest = spec.digester
        kept.types = tuple(rule.type_name for rule in plan.rules)
    return kept


class _Kept:
    """A sink that keeps each record's objects, to send them to the client."""

    def __init__(self, batches: list[Batch]) -> None:
        self.batches = batches

    def write(self, objects: Iterable[MappedObject]) -> None:
        """Keep one record's objects together."""
        self.batches.append(tuple(objects))

    def close(self) -> None:
        """Nothing to flush."""

    def abort(self) -> None:
        """Nothing to discard."""


class _KeptMarks(_Kept):
    """A `_Kept` that also keeps each record's `cursor:` value, where it falls among the
    objects, with its index counted from the part's first record (the client adds where the
    part starts: a worker may not know)."""

    def __init__(self, batches: list[Batch], marks: list[Mark], first: int):
        super().__init__(batches)
        self.marks = marks
        self.first = first

    def take_cursor(self, value: object, source: str, index: int) -> None:
        """Keep one record's value (the pipeline calls this after writing its objects)."""
        self.marks.append((len(self.batches), value, source, index - self.first))


class _KeptPayloads(_Kept):
    """A `_Kept` that also takes the clean shortcut's payloads (the pipeline's `clean_path`
    maps a clean record straight into `write_payloads`: no objects are built), worked out by
    `digest` when the spec gives one."""

    digest: Callable[[str, dict[str, Any]], Any] | None = None
    types: tuple[str, ...] = ()  # (the plan's rules' types, with `digest`)

    def write_payloads(self, payloads: list[dict[str, Any]], line: bytes | None = None) -> None:
        """Keep one record's payloads, in rule order, with its line digest."""
        digest = self.digest
        if digest is not None:
            worked = [digest(t, p) for t, p in zip(self.types, payloads, strict=True)]
            if None not in worked:  # (else one of them cannot be: the payloads go as they are)
                self.batches.append([line, *worked])
                return
        self.batches.append(Payloads(payloads, line))


class _KeptPayloadsMarks(_KeptMarks, _KeptPayloads):
    """Payloads and `cursor:` values."""


def part_items(
    reading: Reading, task: PartTask, out: PartOutput, digests: bool = False
) -> Iterable[Item]:
    """The records of a part, read where this runs; sets `out.size`, `based`, `unparsed`.
    `digests`: JSONL records carry their line's digest (`Record.line`)."""
    part = task.part
    known = no_line_known if digests else None
    if isinstance(part, Span):
        return _span_items(part, task.base, out, known, reading.selector)
    if isinstance(part, ArraySpan):
        return _array_items(part, task.base, out)
    if isinstance(part, UrlFile):
        return url_items(part.url, reading.selector)
    if isinstance(part, FilePart):
        return iter_records(part.paths, **reading.kwargs(), known=known)
    if isinstance(part, Lines):  # (a piped input's lines carry no digest, as in one process)
        known = None if part.source == STDIN else known
        return jsonl_items(part.source, part.lines, part.index, part.line_no, known)
    return part


def _span_items(
    part: Span, base: Base | None, out: PartOutput, known: KnownLine | None,
    selector: Selector | None = None,
) -> Iterable[Item]:  # fmt: skip
    """The records of a JSONL span; under a records `selector`, those it picks in each line
    (how many is known once they are picked: they are, here; the lines carry no digest)."""
    try:
        span = read_url_span(part) if is_url(part.source) else read_span(part)
    except OSError as err:
        return [unreadable(part.source, err)]
    if part.start == 0:
        base = (0, 0)
    out.based = base is not None
    index, before = base or (0, 0)
    if selector is not None:
        picked = list(picked_lines(span.lines, selector))
        out.size = (picked_count(picked), span.line_count)
        return picked_items(part.source, picked, index, before + 1)
    out.size = (span.records, span.line_count)
    return jsonl_items(part.source, span.lines, index, before + 1, known)


def _array_items(part: ArraySpan, base: Base | None, out: PartOutput) -> Iterable[Item]:
    if part.first:
        base = (0, 0)
    out.based = base is not None
    index = (base or (0, 0))[0]
    if part.rest:
        if base is None:
            out.skipped = True  # ijson reads from record `index`: it must be known
            return []
        return streamed_array_items(part.source, skip=index)
    try:
        values = read_array_span(part)
    except ValueError:
        out.unparsed = True
        return []
    except OSError as err:
        return [unreadable(part.source, err)]
    out.size = (len(values), 0)
    return [Record(part.source, index + i, value) for i, value in enumerate(values)]


def rest_items(source: str, skip: int) -> Iterator[Item]:
    """The rest of a large array after a span that does not parse (ijson, from record `skip`)."""
    return streamed_array_items(source, skip=skip)
