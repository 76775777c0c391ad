"""The record and result types every stage hands on: input items, mapped objects, outcomes.

`io.inputs` yields `Item`s (a `Record`, a `BadRecord` that is not JSON, or an `InputProblem`
for a whole input; a `KnownRecord` is a record the sink already holds); `engine.interpreter`
turns a `Record` into a `RecordResult`; sinks write its `MappedObject`s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from mapper.errors import Diagnostic


@dataclass(frozen=True, slots=True, init=False)
class Record:
    """One input record: where it came from and its parsed JSON (`line`: the digest of its
    JSONL line, when the run asked the reader for it: `io.inputs.KnownLine`)."""

    source: str
    index: int
    data: Any
    line: bytes | None = None

    def __init__(self, source: str, index: int, data: Any, line: bytes | None = None) -> None:
        # one is made per input record: the slots' own setters, where a frozen dataclass's
        # __init__ calls object.__setattr__ per field (2.7k instructions per W3 record more)
        _set_source(self, source)
        _set_index(self, index)
        _set_data(self, data)
        _set_line(self, line)


_set_source, _set_index, _set_data, _set_line = (
    vars(Record)[name].__set__ for name in ("source", "index", "data", "line")
)


@dataclass(frozen=True, slots=True)
class KnownRecord(Record):
    """A JSONL line the run's sink already holds the objects of (the sync stage's skip path):
    not parsed (`data` is None), counted as a record that mapped cleanly. Only a run whose
    records go the clean path asks the reader for these (`run.pipeline.known_lines`)."""


@dataclass(frozen=True, slots=True)
class MappedObject:
    """One validated object, ready to serialise: its type, the rule that made it, the payload."""

    type_name: str
    rule: str
    payload: dict[str, Any]
    pointer: str = ""  # where in the record the item came from ("" = the whole record)


Outcome = Literal["mapped", "partial", "rejected", "filtered"]


@dataclass(frozen=True, slots=True)
class RejectedItem:
    """One object candidate that was rejected: an item of a rule's `each`, or the whole record
    (`item` None) for a rule without `each` or whose `each` failed. `held_back` is set when the
    item itself was valid but was held back with a failing one (`together: true`)."""

    rule: str
    item: int | None
    pointer: str
    data: Any
    diagnostics: tuple[Diagnostic, ...]
    held_back: bool = False


@dataclass(frozen=True, slots=True)
class RecordResult:
    """What one record became: objects, diagnostics, and the fate of every object candidate.

    Every candidate (an item of a rule's `each`, or the record for a rule without `each`) is
    counted in `items_in` and ends up in exactly one of `objects`, `rejected` or `filtered`.
    """

    record: Record
    objects: tuple[MappedObject, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    filtered: int = 0
    filtered_by: tuple[str, ...] = ()
    rejected: tuple[RejectedItem, ...] = ()
    items_in: int = 0
    filtered_example: tuple[str, str, Any] | None = None
    """The first item a `where` filtered: (rule, JSON pointer, the item)."""

    @property
    def held_back(self) -> int:
        """Valid objects not emitted because an object they go together with was rejected."""
        return sum(1 for r in self.rejected if r.held_back)

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        """The error diagnostics (warnings excluded)."""
        return tuple(d for d in self.diagnostics if d.is_error)

    @property
    def outcome(self) -> Outcome:
        """partial if some candidates were rejected and some mapped; rejected if candidates
        were rejected and none mapped; mapped if it produced objects; otherwise filtered."""
        if self.rejected:
            return "partial" if self.objects else "rejected"
        if not self.objects and any(d.is_error for d in self.diagnostics):
            return "rejected"
        return "mapped" if self.objects else "filtered"


@dataclass(frozen=True, slots=True)
class BadRecord:
    """A record that could not be parsed: it is counted and quarantined with its raw text."""

    source: str
    index: int
    raw: str
    diagnostic: Diagnostic


@dataclass(frozen=True, slots=True)
class InputProblem:
    """An input that could not be read at all (or stopped being readable part-way)."""

    source: str
    diagnostic: Diagnostic


Item = Record | BadRecord | InputProblem

KnownLine = Callable[[bytes, str, int], bool]
"""Told a JSONL line's digest (`io.inputs.line_digest`), its source and record index: True when
the run's sink already holds the objects that line maps to (it then counts them itself)."""


def no_line_known(_line: bytes, _source: str, _index: int) -> bool:
    """A `KnownLine` that knows no line: the reader gives each record its line's digest, and
    every line is mapped (an empty state's, a worker's)."""
    return False
