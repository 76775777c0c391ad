"""Diagnostics as lines of text, and writing them without rich where rich would write plain text.

`diagnostic_lines` is what `render.diagnostics` draws (each line with its style). When standard
error is no terminal (nor made to look like one: `FORCE_COLOR`, `TTY_COMPATIBLE=1`) and is
UTF-8, rich writes those lines as they are, so `write_diagnostics` writes them itself and a run
whose mapping has warnings needs no rich (about 25 ms of start-up); `console.show_diagnostics`
takes this way only while no rich console exists (one put in place records what is drawn). A
line with a tab is left to rich, which expands tabs by display width (tests/test_startup.py
compares both ways).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator

from mapper.cli.visible import visible
from mapper.errors import Diagnostic, render, sort_key

ERROR, WARNING, CARET = "red", "yellow", "cyan"


def diagnostic_lines(
    diags: Iterable[Diagnostic], max_errors: int = 50
) -> Iterator[tuple[str, str]]:
    """(line, style) for diagnostics sorted by position: heads red (errors) or yellow, carets
    cyan; at most `max_errors` diagnostics, then how many more there are."""
    ordered = sorted(diags, key=sort_key)
    for d in ordered[:max_errors]:
        head, *rest = visible(render(d)).split("\n")
        yield head, ERROR if d.is_error else WARNING
        for line in rest:
            yield line, CARET if line.strip() == "^" else ""
    if len(ordered) > max_errors:
        yield f"... and {len(ordered) - max_errors} more", ""


def plain_stderr() -> bool:
    """True when rich would write standard error as plain text (see the module docstring)."""
    if "FORCE_COLOR" in os.environ or os.environ.get("TTY_COMPATIBLE") == "1":
        return False
    stream = sys.stderr
    try:
        if stream is None or stream.isatty():
            return False
    except (AttributeError, ValueError):
        return False
    return (getattr(stream, "encoding", None) or "").lower().replace("_", "-") in ("utf-8", "utf8")


def write_diagnostics(diags: Iterable[Diagnostic], max_errors: int = 50) -> bool:
    """Write the diagnostics on a plain standard error; False (nothing written) when that is
    rich's to do."""
    if not plain_stderr():
        return False
    lines = [line for line, _ in diagnostic_lines(diags, max_errors)]
    if any("\t" in line for line in lines):
        return False
    sys.stderr.write("".join(line + "\n" for line in lines))
    sys.stderr.flush()
    return True
