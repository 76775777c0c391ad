"""The record and result types every stage hands on: input items, mapped objects, outcomes.

`io.inputs` yields `Item`s (a `Record`, a `BadRecord` that is not JSON, or an `InputProblem`
for a whole input); `engine.interpreter` turns a `Record` into a `RecordResult`; sinks write
its `MappedObject`s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from mapper.errors import Diagnostic


@dataclass(frozen=True, slots=True)
class Record:
    """One input record: where it came from and its parsed JSON."""

    source: str
    index: int
    data: Any


@dataclass(frozen=True, slots=True)
class MappedObject:
    """One validated object, ready to serialise: its type, the rule that made it, the payload."""

    type_name: str
    rule: str
    payload: dict[str, Any]
    pointer: str = ""  # where in the record the item came from ("" = the whole record)


Outcome = Literal["mapped", "rejected", "filtered"]


@dataclass(frozen=True, slots=True)
class RecordResult:
    """What one record became: objects, diagnostics, and how many items rules filtered."""

    record: Record
    objects: tuple[MappedObject, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    filtered: int = 0
    filtered_by: tuple[str, ...] = ()

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        """The error diagnostics (warnings excluded)."""
        return tuple(d for d in self.diagnostics if d.is_error)

    @property
    def outcome(self) -> Outcome:
        """rejected if any error; mapped if it produced objects; otherwise filtered."""
        for diag in self.diagnostics:
            if diag.is_error:
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
