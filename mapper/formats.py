"""Diagnostics for machines: JSON, SARIF 2.1.0 (code scanning) and GitHub workflow commands.

Pure functions from `Diagnostic`s to text; the CLI picks one with `--format`. Standard library
only, like `errors.py`, so choosing a format costs no start-up.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from mapper.errors import Diagnostic, format_loc, render

FORMATS = ("text", "json", "sarif", "github")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
TOOL_NAME = "mapper"
_SARIF_LEVEL = {"error": "error", "warning": "warning"}


def counts(diags: Iterable[Diagnostic]) -> tuple[int, int]:
    """(errors, warnings)."""
    items = list(diags)
    errors = sum(d.is_error for d in items)
    return errors, len(items) - errors


def closing_line(diags: Iterable[Diagnostic]) -> str:
    """`2 errors, 1 warning`: the last line of a text report."""
    errors, warnings = counts(diags)
    return f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"


def to_json(diags: Sequence[Diagnostic], **extra: Any) -> str:
    """One JSON document: every diagnostic (as in rejects files), the counts, and `extra`."""
    errors, warnings = counts(diags)
    doc = {"diagnostics": [d.to_dict() for d in diags], "errors": errors, "warnings": warnings}
    return json.dumps({**doc, **extra}, indent=2, ensure_ascii=False) + "\n"


def _message(diag: Diagnostic) -> str:
    """The message with its place in the mapping, the record (a run's rejects) and its hint,
    on one line."""
    where = f"{format_loc(diag.loc)}: " if diag.loc else ""
    hint = f" (hint: {diag.hint})" if diag.hint else ""
    record = f" [{diag.record.label}: {diag.record}]" if diag.record else ""
    return f"{where}{diag.message}{record}{hint}"


def _sarif_location(diag: Diagnostic) -> dict[str, Any]:
    if diag.span is None:
        source = diag.record.source if diag.record else "<unknown>"
        return {"physicalLocation": {"artifactLocation": {"uri": source}}}
    found: dict[str, Any] = {"artifactLocation": {"uri": diag.span.path}}
    if diag.span.line > 0:  # (a whole file has no region)
        found["region"] = {"startLine": diag.span.line, "startColumn": diag.span.col}
    return {"physicalLocation": found}


def to_sarif(diags: Sequence[Diagnostic], version: str) -> str:
    """A SARIF 2.1.0 log with one run: rule ids are the diagnostic codes."""
    codes = sorted({d.code for d in diags})
    rules = [
        {"id": code, "name": code, "shortDescription": {"text": code}} for code in codes
    ]
    results = [
        {
            "ruleId": d.code,
            "ruleIndex": codes.index(d.code),
            "level": _SARIF_LEVEL.get(d.severity, "error"),
            "message": {"text": _message(d)},
            "locations": [_sarif_location(d)],
        }
        for d in diags
    ]
    log = {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL_NAME,
                        "version": version,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def to_github(diags: Iterable[Diagnostic]) -> str:
    """GitHub Actions workflow commands: `::error file=F,line=L,col=C,title=CODE::message`."""
    lines = []
    for d in diags:
        props = []
        if d.span is not None:
            props.append(f"file={_escape_property(d.span.path)}")
            if d.span.line > 0:  # (a whole file has no line)
                props += [f"line={d.span.line}", f"col={d.span.col}"]
        props.append(f"title={_escape_property(d.code)}")
        level = "error" if d.is_error else "warning"
        lines.append(f"::{level} {','.join(props)}::{_escape_data(_message(d))}")
    return "".join(line + "\n" for line in lines)


def to_text(diags: Iterable[Diagnostic]) -> str:
    """Plain text, as `mapper validate` prints it without colour, and the closing count."""
    items = list(diags)
    return "".join(render(d) + "\n" for d in items) + closing_line(items) + "\n"


def render_as(fmt: str, diags: Sequence[Diagnostic], version: str) -> str:
    """`diags` in one of FORMATS but `text`, which the CLI draws itself."""
    if fmt == "json":
        return to_json(diags)
    if fmt == "sarif":
        return to_sarif(diags, version)
    if fmt == "github":
        return to_github(diags)
    return to_text(diags)
