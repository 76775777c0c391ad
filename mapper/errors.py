"""Problems as data: locations, diagnostics, their rendering and the MapperError family.

Standard library only: every other module imports this one.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Loc = tuple[str | int, ...]
Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class SourceSpan:
    """A position in a text file (1-based line and column), e.g. a YAML node; line 0 names
    the whole file (`whole_file`: one that cannot be read has no line to point at)."""

    path: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}" if self.line > 0 else self.path

    @classmethod
    def parse(cls, text: str) -> SourceSpan | None:
        """`path:line:col`, as `str` gives it, back into a span (None: it is not one)."""
        path, _, col = text.rpartition(":")
        path, _, line = path.rpartition(":")
        if not (path and line.isdigit() and col.isdigit()):
            return None
        return cls(path, int(line), int(col))

    @classmethod
    def whole_file(cls, path: str) -> SourceSpan:
        """The span of a whole file."""
        return cls(path, 0, 0)


@dataclass(frozen=True, slots=True)
class RecordRef:
    """Where a record came from: input file, 0-based index, and a JSON pointer inside it."""

    source: str
    index: int
    pointer: str = ""

    def __str__(self) -> str:
        where = self.source if self.index < 0 else f"{self.source} #{self.index}"
        return f"{where} {self.pointer}" if self.pointer else where

    @property
    def label(self) -> str:
        """`record`, or `input` for a problem with a whole input file (index -1)."""
        return "input" if self.index < 0 else "record"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem, from a YAML typo to a bad timestamp in record 40,000.

    `code` is stable API (dotted, lower case); tests check codes and locations, never messages.
    """

    code: str
    message: str
    loc: Loc = ()
    span: SourceSpan | None = None
    expr: str | None = None
    expr_col: int | None = None
    record: RecordRef | None = None
    hint: str | None = None
    severity: Severity = "error"
    value: object = field(default=None, compare=False)

    def within(self, *prefix: str | int) -> Diagnostic:
        """A copy whose mapping location is prefixed (callers prepend, callees are relative)."""
        return replace(self, loc=(*prefix, *self.loc))

    @property
    def is_error(self) -> bool:
        """True for errors, False for warnings."""
        return self.severity == "error"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form used by rejects files and run reports."""
        out: dict[str, object] = {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
        }
        if self.loc:
            out["loc"] = format_loc(self.loc)
        if self.span:
            out["span"] = str(self.span)
        if self.expr is not None:
            out["expr"] = self.expr
            if self.expr_col is not None:
                out["exprCol"] = self.expr_col
        if self.record:
            out["record"] = {"source": self.record.source, "index": self.record.index}
            if self.record.pointer:
                out["record"]["pointer"] = self.record.pointer  # type: ignore[index]
        if self.hint:
            out["hint"] = self.hint
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Diagnostic:
        """A diagnostic back from its `to_dict` form (a rejects file's line): the place in the
        mapping comes back as one already formatted part, which renders the same."""
        rec = d.get("record")
        return cls(
            d["code"],
            d["message"],
            loc=(d["loc"],) if d.get("loc") else (),
            span=SourceSpan.parse(d.get("span", "")),
            expr=d.get("expr"),
            expr_col=d.get("exprCol"),
            record=RecordRef(rec["source"], rec["index"], rec.get("pointer", "")) if rec else None,
            hint=d.get("hint"),
            severity=d.get("severity", "error"),
        )

    def __str__(self) -> str:
        return render(self)


def format_loc(loc: Loc) -> str:
    """Render ("objects", 0, "fields", "url") as objects[0].fields.url (long keys cut short)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + short_name(part)
    return out


def short_name(name: str, limit: int = 60) -> str:
    """A user-given name as it is, or cut to `limit` characters with its length: a 100 KB
    key must not make a 100 KB message."""
    return name if len(name) <= limit else f"{name[:limit]}… ({len(name)} characters)"


def json_pointer(parts: Iterable[str | int]) -> str:
    """RFC 6901 pointer for a path of keys and indexes."""
    escaped = (str(p).replace("~", "~0").replace("/", "~1") for p in parts)
    return "".join("/" + p for p in escaped)


def show_value(value: object, limit: int = 60) -> str:
    """A record value as JSON (`null`, `true`, `"text"`), cut to about `limit` characters."""
    if isinstance(value, str) and len(value) > limit:
        return json.dumps(value[:limit], ensure_ascii=False)[:-1] + f'…" ({len(value)} characters)'
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[:limit] + "…"


def render(diag: Diagnostic) -> str:
    """Render one diagnostic: `file:line:col: loc: code: message`, the expression, a caret, hint."""
    head = []
    if diag.span:
        head.append(str(diag.span))
    if diag.loc:
        head.append(format_loc(diag.loc))
    label = diag.code if diag.is_error else f"warning: {diag.code}"
    lines = [": ".join([*head, label, diag.message])]
    if diag.expr is not None:
        lines.append("    " + diag.expr.replace("\n", " "))
        if diag.expr_col is not None:
            lines.append("    " + " " * diag.expr_col + "^")
    if diag.record:
        lines.append(f"    {diag.record.label}: {diag.record}")
    if diag.hint:
        lines.append(f"    hint: {diag.hint}")
    return "\n".join(lines)


def sort_key(diag: Diagnostic) -> tuple[str, int, int, str]:
    """Order diagnostics by file position, then code."""
    if diag.span:
        return (diag.span.path, diag.span.line, diag.span.col, diag.code)
    return ("", 0, 0, diag.code)


def format_diagnostics(diags: Iterable[Diagnostic], max_errors: int = 20) -> str:
    """Render a list of diagnostics sorted by position, ending with '... and N more'."""
    ordered = sorted(diags, key=sort_key)
    shown = [render(d) for d in ordered[:max_errors]]
    if len(ordered) > max_errors:
        shown.append(f"... and {len(ordered) - max_errors} more")
    return "\n".join(shown)


def suggest(name: str, known: Iterable[str]) -> str | None:
    """A did-you-mean hint for a misspelled name, or None."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


class EvalError(Exception):
    """Raised by a custom function for a problem that must become a located diagnostic."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class MapperError(Exception):
    """Base of the errors raised at the facade; carries the diagnostics."""

    def __init__(self, diagnostics: Iterable[Diagnostic], message: str | None = None) -> None:
        self.diagnostics = tuple(diagnostics)
        super().__init__(message or format_diagnostics(self.diagnostics))


class SpecError(MapperError):
    """The mapping is invalid: fix the mapping."""


class RecordError(MapperError):
    """A record was rejected under a fail-fast policy: fix or skip the data."""


class UsageError(MapperError):
    """A request that cannot run as given, found before any record is read: fix the command."""


class InputError(MapperError):
    """No input could be found or read: check the inputs."""


class OutputError(MapperError):
    """An output could not be written: check the destination."""


class SyncStateError(MapperError):
    """The sync state file is unreadable: repair or reset it."""
