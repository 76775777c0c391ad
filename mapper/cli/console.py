"""What every command shares: the consoles, exit codes, printing diagnostics, failing cleanly.

Exit codes: 0 ok; 1 invalid mapping or failed test; 2 usage error; 3 records rejected;
4 input/output problem; 130 interrupted.
"""

import os
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from mapper.errors import Diagnostic
from mapper.language.plan import Plan
from mapper.run.status import Status

EXIT_OK, EXIT_MAPPING, EXIT_USAGE = Status.OK, Status.MAPPING_INVALID, Status.USAGE
EXIT_REJECTED, EXIT_IO, EXIT_INTERRUPTED = Status.REJECTED, Status.IO, Status.INTERRUPTED


LOG_WIDTH = 120
"""The width of tables written to a file or a pipe (a CI log), unless COLUMNS says otherwise."""


class LazyConsole:
    """A rich `Console` made on first use: a `--quiet` run never imports rich (about 20 ms)."""

    def __init__(self, **options: Any) -> None:
        object.__setattr__(self, "_options", options)
        object.__setattr__(self, "_console", None)

    def get(self) -> Any:
        """The console itself (made now if it was not yet)."""
        if self._console is None:
            from rich.console import Console

            console = Console(**self._options)
            if not console.is_terminal and "COLUMNS" not in os.environ:
                console.width = max(console.width, LOG_WIDTH)  # (rich says 80: tables cut)
            object.__setattr__(self, "_console", console)
        return self._console

    def made(self) -> bool:
        """True once the console exists (made, or put in place: `scripts/screenshots.py`)."""
        return self._console is not None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.get(), name, value)


out: Any = LazyConsole(highlight=False, soft_wrap=True)
err: Any = LazyConsole(stderr=True, highlight=False, soft_wrap=True)


def show_alarms(report: Any, plan: Any) -> None:
    """Warn when most records were filtered or rejected (even with --quiet: nothing silent)."""
    from mapper.cli.visible import visible
    from mapper.run.alarms import alarms

    for text in alarms(report, plan):  # an example item may hold terminal escapes
        err.print(f"[yellow]warning:[/] {literal(visible(text))}")


def literal(text: str) -> str:
    """`text` escaped for rich markup: paths, names and values may hold `[...]`."""
    from rich.markup import escape  # rich, only when something is printed

    return escape(text)


def show_diagnostics(diags: list[Diagnostic], max_errors: int = 50) -> None:
    """Print problems on stderr (rich, imported then, draws them on a terminal)."""
    if not diags:
        return
    from mapper.cli.plain import write_diagnostics

    if not err.made() and write_diagnostics(diags, max_errors):  # plain text: no rich needed
        return
    from mapper.cli import render

    render.diagnostics(err, diags, max_errors)


def fail(code: int, diags: list[Diagnostic] | None = None, message: str | None = None) -> NoReturn:
    """Print the problems and a closing message, then exit with `code`."""
    if diags:
        show_diagnostics(diags)
    if message:
        err.print(message)
    raise typer.Exit(code)


ALLOWED_PATHS: list[Path] = []
"""Folders outside a mapping's own tree that its includes may come from (`--allow-path`)."""


def compile_or_exit(
    mapping: Path, *, cache: bool = False, report: "MachineReport | None" = None
) -> Plan:
    """The compiled mapping; its problems printed (exit 1 when it does not compile), or, with
    a machine `report`, collected into it (and reported before exiting).

    With `cache`, through the compiled-mapping cache (unless `MAPPER_NO_CACHE` turns it off).
    """
    from mapper.engine.plans import compile_path

    store = None
    if cache:
        from mapper.io.plancache import open_cache

        store = open_cache()
    plan, diags = compile_path(mapping, allow=tuple(ALLOWED_PATHS), cache=store)
    if report is not None:
        report.add(diags)
    people = report is None or report.people
    if plan is not None:
        if people:
            show_diagnostics(diags)
        return plan
    missing = unreadable(diags, mapping)
    if people:
        show_diagnostics(diags)
        if not missing:  # (an unreadable mapping's one diagnostic names it and says why)
            err.print(f"[red]{literal(str(mapping))}: the mapping is invalid[/]")
    if report is not None:
        report.emit()
    raise typer.Exit(EXIT_IO if missing else EXIT_MAPPING)


def unreadable(diags: list[Diagnostic], mapping: Path) -> bool:
    """True when the mapping file itself could not be read (missing, a folder, no access)."""
    from mapper.language.mapfiles import UNREADABLE

    return any(
        d.code == UNREADABLE and d.span is not None and d.span.path == str(mapping) for d in diags
    )


class DiagFormat(str, Enum):
    """How diagnostics are printed: for people (text) or for machines."""

    text = "text"
    json = "json"
    sarif = "sarif"
    github = "github"


FormatOpt = Annotated[
    DiagFormat,
    typer.Option(
        "--format",
        "--diagnostics",  # the name `mapper run` uses (its --format is the output's)
        help="Diagnostics as text (people), json, sarif (SARIF 2.1.0) or github (annotations).",
    ),
]


def show_machine_diagnostics(
    fmt: DiagFormat, diags: list[Diagnostic], *, file: Path | None = None, stderr: bool = False
) -> None:
    """In text, the closing `N errors, M warnings` line on stderr; in another format, every
    diagnostic on stdout (stderr with `stderr`), for a program to read. With `file`, the
    diagnostics in `fmt` go into that file (atomically) and the closing line to stderr."""
    from mapper import formats

    if fmt is DiagFormat.text and file is None:
        err.print(formats.closing_line(diags))
        return
    from mapper import __version__

    text = formats.render_as(fmt.value, diags, __version__)
    if file is None:
        typer.echo(text, nl=False, err=stderr)
        return
    write_or_echo(text, file)
    err.print(formats.closing_line(diags))


DiagnosticsOpt = Annotated[
    DiagFormat | None,
    typer.Option(
        "--diagnostics",
        help="The run's problems (mapping, inputs, rejected records) as text with the closing "
        "count, json, sarif (SARIF 2.1.0) or github (annotations), on stderr or into "
        "--diagnostics-file.",
        show_default=False,
    ),
]
DiagnosticsFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--diagnostics-file",
        help="Write the --diagnostics report into this file (default format: json).",
    ),
]


class MachineReport:
    """A run's diagnostics gathered for `--diagnostics`, reported once at the end."""

    def __init__(self, fmt: DiagFormat, file: Path | None) -> None:
        self.fmt, self.file = fmt, file
        self.diags: list[Diagnostic] = []

    @property
    def people(self) -> bool:
        """True when the problems are also drawn for people on stderr (not a machine format
        there)."""
        return self.file is not None or self.fmt is DiagFormat.text

    def add(self, diags: list[Diagnostic]) -> None:
        self.diags.extend(diags)

    def emit(self) -> None:
        """Print (or write) what was gathered, with the closing count."""
        show_machine_diagnostics(self.fmt, self.diags, file=self.file, stderr=True)


def machine_report(fmt: DiagFormat | None, file: Path | None) -> MachineReport | None:
    """The `--diagnostics`/`--diagnostics-file` report, or None (problems drawn for people)."""
    if fmt is None and file is None:
        return None
    return MachineReport(fmt or DiagFormat.json, file)


def parse_pairs(pairs: list[str], what: str) -> dict[str, str]:
    """NAME=VALUE options as a dict; anything else, and a NAME given twice with two values, is
    a usage error (which one was meant cannot be told)."""
    found: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            fail(EXIT_USAGE, message=f"{what} takes NAME=VALUE, got {pair!r}")
        if found.get(key, value) != value:
            fail(EXIT_USAGE, message=f"{what} {key} is given twice: {found[key]!r} and {value!r}")
        found[key] = value
    return found


def parse_properties(pairs: list[str]) -> dict[str, str]:
    """`--property` options: NAME=VALUE, at most the 5 setObjects takes (more: a usage error)."""
    from mapper.io.sinks import MAX_PROPERTIES

    found = parse_pairs(pairs, "--property")
    if len(found) > MAX_PROPERTIES:
        fail(EXIT_USAGE, message=f"--property: setObjects takes at most {MAX_PROPERTIES} "
             f"properties, {len(found)} were given")  # fmt: skip
    return found


class AssocForm(str, Enum):
    """Wire form of associations (`mapper run` and `mapper sync`)."""

    array = "array"
    set = "set"


MappingArg = Annotated[Path, typer.Argument(help="Mapping file (YAML).", show_default=False)]
InputsArg = Annotated[
    list[str],
    typer.Argument(
        help="JSON, JSON array, JSONL files, folders, globs, or - for stdin.", show_default=False
    ),
]
RecordsOpt = Annotated[
    str | None,
    typer.Option(
        "--records", help="JMESPath selecting the records inside each document, e.g. items[]."
    ),
]


def usage_problems(diags: list[Diagnostic]) -> tuple[list[Diagnostic], str | None]:
    """A usage error for `fail`: plain wording for option problems, located diagnostics (an
    expression with its caret) for the rest."""
    plain = [d for d in diags if d.code == "usage.invalid"]
    message = "\n".join(literal(d.message) for d in plain) or None
    return [d for d in diags if d.code != "usage.invalid"], message


ParamOpt = Annotated[
    list[str], typer.Option("--param", help="NAME=VALUE for a parameter under `params:`.")
]


def bind_params(plan: Any, pairs: list[str]) -> dict[str, Any]:
    """Resolve --param options against the mapping's `params:` and set them on the plan; a
    problem (unknown or missing parameter, wrong type) is a usage error (exit 2)."""
    from mapper.language.params import resolve_params

    values, problems = resolve_params(plan.params, parse_pairs(pairs, "--param"))
    if problems:
        fail(EXIT_USAGE, message="\n".join(literal(d.message) for d in problems))
    plan.functions.params = values
    return values


def refuse_output(output: Path | None, option: str = "-o") -> None:
    """Exit 4 before any work when `output` cannot be an output file (a FIFO, a device, a
    folder: `io.atomic.check_output`)."""
    from mapper.errors import OutputError
    from mapper.io.atomic import check_output

    try:
        if output is not None:
            check_output(output, option)
    except OutputError as error:
        fail(EXIT_IO, list(error.diagnostics))


def write_or_echo(text: str, output: Path | None) -> None:
    """`text` into the file `output` (atomically; exit 4 when it cannot be written), or on
    standard output when there is no file."""
    if output is None:
        typer.echo(text, nl=False)
        return
    from mapper.errors import OutputError
    from mapper.io.atomic import write_atomic

    try:
        write_atomic(output, text.encode())
    except OutputError as error:
        fail(EXIT_IO, list(error.diagnostics))
