"""The run's cursor from a mapping's `cursor:` values: the highest one, compared by kind.

The run stage evaluates the mapping's `cursor:` expression on each input record and hands the
value over (`SyncStage.take_cursor`); here the values are only compared, never evaluated:

* a number (not a boolean) is a **number**, compared numerically;
* a string in RFC 3339 form with an offset (`2024-05-01T10:00:00+02:00`, `...Z`) is a **time**,
  normalised to UTC (`2024-05-01T08:00:00Z`) and compared as the instant;
* any other string is a **string**, compared by plain string order;
* null (a missing value) is skipped; anything else (a boolean, list, object) is
  `sync.cursor-invalid` and skipped.

Values of two kinds in one run are `sync.cursor-mixed`: the highest is then undefined, and the
run does not advance the cursor.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from mapper.errors import Diagnostic, RecordRef, show_value

Kind = Literal["number", "time", "string"]
LAST_UPDATED = "lastUpdatedAt"  # the cursor's origin when the mapping defines none
CURSOR_KIND = "cursorKind"  # state meta: how the stored cursor compares (absent: a time)
CURSOR_ORIGIN = "cursorOrigin"  # state meta: the `cursor:` it came from (absent: lastUpdatedAt)
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})\Z"
)
_CODE_MIXED, _CODE_INVALID = "sync.cursor-mixed", "sync.cursor-invalid"
_NUMBER = (int, float)  # exact types: a bool is an int subclass, and no cursor value


@dataclass(frozen=True, slots=True)
class CursorValue:
    """One comparable cursor value: its kind and the key it sorts by."""

    kind: Kind
    key: Any  # a number, a UTC datetime or the string

    @property
    def text(self) -> str:
        """What the state stores and `since` receives (made only for the highest value)."""
        if self.kind == "number":
            return json.dumps(self.key)
        return _utc_text(self.key) if self.kind == "time" else str(self.key)


def cursor_value(value: object) -> CursorValue | None:
    """The comparable form of a `cursor:` value; None for a value that is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return CursorValue("number", value)
    if not isinstance(value, str):
        return None
    if _RFC3339.match(value):
        try:
            when = datetime.fromisoformat(value.replace("z", "Z")).astimezone(UTC)
        except ValueError:  # e.g. month 13: not a time after all
            return CursorValue("string", value)
        return CursorValue("time", when)
    return CursorValue("string", value)


def stored_value(text: str, kind: str) -> CursorValue | None:
    """The cursor a state stored (its text and kind) in comparable form; None when empty."""
    if not text:
        return None
    if kind == "number":
        return cursor_value(json.loads(text))
    found = cursor_value(text)
    return found if found is not None and found.kind == kind else CursorValue("string", text)


def _utc_text(when: datetime) -> str:
    text = when.strftime("%Y-%m-%dT%H:%M:%S")
    if when.microsecond:
        text += f".{when.microsecond:06d}".rstrip("0")
    return text + "Z"


@dataclass
class CursorMax:
    """The highest `cursor:` value of one run's records, and what got in the way."""

    expr: str  # the mapping's `cursor:` text (the cursor's origin)
    best: CursorValue | None = None
    mixed: bool = False
    findings: list[Diagnostic] = field(default_factory=list)

    def take(self, value: object, source: str, index: int) -> None:
        """Take one record's value (null: the record has none)."""
        if value is None:
            return
        best = self.best
        if type(value) in _NUMBER and best is not None and best.kind == "number":
            if value > best.key:  # (the common case: no CursorValue made for a lower one)
                self.best = CursorValue("number", value)
            return
        found = cursor_value(value)
        if found is None:
            self._warn(_CODE_INVALID, f"is {show_value(value, 60)}: not a number or a string",
                       source, index)  # fmt: skip
            return
        if best is None:
            self.best = found
        elif found.kind != best.kind:
            if not self.mixed:
                self._warn(_CODE_MIXED, f"is a {found.kind} ({found.text!r}), but an earlier "
                           f"record's is a {best.kind} ({best.text!r})", source, index)  # fmt: skip
            self.mixed = True
        elif found.key > best.key:
            self.best = found

    @property
    def highest(self) -> CursorValue | None:
        """The highest value, or None (no value, or values of two kinds)."""
        return None if self.mixed else self.best

    def _warn(self, code: str, what: str, source: str, index: int) -> None:
        hint = "make `cursor:` give one kind: e.g. to_number(ts), or a timestamp with an offset"
        diag = Diagnostic(
            code, f"the record's cursor ({self.expr}) {what}", loc=("cursor",),
            record=RecordRef(source, index), severity="warning", hint=hint,
        )  # fmt: skip
        self.findings.append(diag)


def advanced(before: CursorValue | None, seen: CursorValue | None) -> CursorValue | None:
    """The cursor after a complete run: `seen` when it is higher than `before` (or `before` is
    of another kind, i.e. the mapping's cursor changed); else `before`."""
    if seen is None:
        return before
    if before is None or before.kind != seen.kind or seen.key > before.key:
        return seen
    return before
