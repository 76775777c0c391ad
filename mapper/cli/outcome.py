"""CLI, `run` and `batch`: what a finished run says on stderr (notes, problems, rejected
records, the summary, the files written) and gathers into a machine report."""

from pathlib import Path
from typing import TYPE_CHECKING

from mapper.cli.console import (
    EXIT_INTERRUPTED,
    EXIT_IO,
    EXIT_OK,
    EXIT_REJECTED,
    MachineReport,
    err,
    literal,
    show_diagnostics,
)
from mapper.errors import Diagnostic

if TYPE_CHECKING:  # the commands import the library when they run: a shorter start-up
    from mapper.run.files import RunRequest, RunResult

KEPT_REJECTS = 1000
"""`--diagnostics` reports the errors of this many rejected records (the rest: a count)."""


def show_result(
    result: "RunResult",
    *,
    quiet: bool,
    request: "RunRequest | None" = None,
    report: MachineReport | None = None,
) -> None:
    """Notes, what stopped the run, input problems, rejected records without a file, the
    summary and the files written. Errors always print; `quiet` hides notes and the summary.
    With a machine `report`, the problems are gathered into it too (and drawn on stderr only
    when the report does not go there)."""
    people = report is None or report.people
    quiet = quiet or not people  # a machine report on stderr goes there alone
    if not quiet:
        for note in result.notes:
            err.print(f"[yellow]note:[/] {note}")
    _problems(list(result.diagnostics), people, report)
    if result.stopped:
        if people:
            colour = "yellow" if result.status == EXIT_INTERRUPTED else "red"
            err.print(f"[{colour}]{result.stopped}[/]")
        return
    if not summarised(result):
        return
    _problems(list(result.report.input_problems), people, report)  # -q never hides an error
    if report is not None:
        report.add(_rejected(result, request))
    if people and (request is None or not request.rejects_path):
        _show_unkept(result)
    if result.access is not None:
        from mapper.cli.access import show_findings

        show_findings(result.access)
    if not quiet:
        from mapper.cli import render

        render.summary(err, result.report, ok=result.status == EXIT_OK)
        for label, path in _files_written(result, request):
            err.print(f"{label}: {literal(path)}")


def _problems(diags: list[Diagnostic], people: bool, report: MachineReport | None) -> None:
    if people:
        show_diagnostics(diags)
    if report is not None:
        report.add(diags)


def _rejected(result: "RunResult", request: "RunRequest | None") -> list[Diagnostic]:
    """The errors of the first rejected records (read back from the rejects file, the same for
    every engine; without one, those the run kept to show), and a note when more were
    rejected."""
    where = request.rejects_path if request is not None else None
    kept = result.rejected_shown
    if not kept and where and where in result.written:
        kept = _read_rejects(where, KEPT_REJECTS)
    found = [d for errors in kept for d in errors]
    more = result.report.records_with_errors - len(kept)
    if more > 0:
        see = f": see {where}" if where else ""
        text = f"{more:,} {'more ' if kept else ''}rejected record(s) not listed here{see}"
        found.append(Diagnostic("run.more-rejected", text, severity="warning"))
    return found


def _read_rejects(path: str, limit: int) -> list[list[Diagnostic]]:
    """The errors of the first `limit` lines of a rejects file, as they were reported."""
    from itertools import islice

    from mapper.io.sinks import errors_of_line

    try:
        with Path(path).open("rb") as fh:
            return [errors_of_line(line) for line in islice(fh, limit)]
    except (OSError, ValueError):
        return []


def summarised(result: "RunResult") -> bool:
    """True when `show_result` ends with the summary (the run went through to the end)."""
    done = result.status in (EXIT_OK, EXIT_REJECTED, EXIT_IO)
    return done and not result.stopped and not result.diagnostics


def _files_written(result: "RunResult", request: "RunRequest | None") -> list[tuple[str, str]]:
    """(what, path) of every file the run wrote: objects, rejects, report."""
    rejects = request.rejects_path if request is not None else None
    report = result.report_file
    named = [
        ("report" if path == report else "rejects" if path == rejects else "objects", path)
        for path in result.written
    ]
    if report and report not in result.written:
        named.append(("report", report))
    return named


def _show_unkept(result: "RunResult") -> None:
    """Without a rejects file (output on stdout), the reasons go to stderr: nothing is silent."""
    if not result.rejected_shown:
        return
    for errors in result.rejected_shown:  # record by record, in input order
        show_diagnostics(errors, max_errors=len(errors))
    count = result.report.records_with_errors
    shown = len(result.rejected_shown)
    first = "" if count <= shown else f" (the first {shown} shown)"
    what = "rejected" if not result.report.records_partial else "with rejected items"
    err.print(
        f"{count} record(s) {what}{first}; give --rejects FILE to keep them with their reasons"
    )
