"""The `mapper` command line: a thin typed layer over the library; it alone picks exit codes.

Exit codes: 0 ok; 1 invalid mapping or failed test; 2 usage error; 3 records rejected;
4 input/output problem; 130 interrupted.
"""

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from mapper import __version__
from mapper.api import compile_path
from mapper.errors import Diagnostic, MapperError, OutputError, RecordError, suggest
from mapper.io.inputs import STDIN, InputProgress, expand_inputs, iter_records, stream_path_of
from mapper.io.sinks import MAX_PROPERTIES, STDOUT, BatchSink, JsonlSink, RejectsSink, write_atomic
from mapper.language.checks import projection_base
from mapper.language.compiler import compile_standalone
from mapper.language.plan import Plan
from mapper.run.pipeline import ErrorPolicy, RunOptions, RunReport, run

EXIT_OK, EXIT_MAPPING, EXIT_USAGE, EXIT_REJECTED, EXIT_IO, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130
SHOWN_REJECTS = 20  # rejected records whose reasons are printed when there is no rejects file

app = typer.Typer(
    name="mapper",
    no_args_is_help=True,
    rich_markup_mode="markdown",
    help="Turn raw JSON into validated Atlassian Teamwork Graph objects with YAML mappings.",
    context_settings={"help_option_names": ["-h", "--help"]},
)


class LazyConsole:
    """A rich `Console` made on first use: a `--quiet` run never imports rich (about 20 ms)."""

    def __init__(self, **options: Any) -> None:
        object.__setattr__(self, "_options", options)
        object.__setattr__(self, "_console", None)

    def get(self) -> Any:
        """The console itself (made now if it was not yet)."""
        if self._console is None:
            from rich.console import Console

            object.__setattr__(self, "_console", Console(**self._options))
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.get(), name, value)


out: Any = LazyConsole(highlight=False, soft_wrap=True)
err: Any = LazyConsole(stderr=True, highlight=False, soft_wrap=True)


class Format(str, Enum):
    """Output formats of `mapper run`."""

    jsonl = "jsonl"
    batches = "batches"


class AssocForm(str, Enum):
    """Wire form of associations."""

    array = "array"
    set = "set"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mapper {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Turn raw JSON into validated Atlassian Teamwork Graph objects with YAML mappings."""


def literal(text: str) -> str:
    """`text` escaped for rich markup: paths, names and values may hold `[...]`."""
    from rich.markup import escape  # rich, only when something is printed

    return escape(text)


def show_diagnostics(diags: list[Diagnostic], max_errors: int = 50) -> None:
    """Print problems on stderr (rendering imports rich, so it waits until there is something)."""
    from mapper.cli import render

    render.diagnostics(err, diags, max_errors)


def _fail(code: int, diags: list[Diagnostic] | None = None, message: str | None = None) -> NoReturn:
    if diags:
        show_diagnostics(diags)
    if message:
        err.print(message)
    raise typer.Exit(code)


def _compile_or_exit(mapping: Path) -> Plan:
    plan, diags = compile_path(mapping)
    if plan is None:
        _fail(EXIT_MAPPING, diags, f"[red]{literal(str(mapping))}: the mapping is invalid[/]")
    if diags:
        show_diagnostics(diags)
    return plan


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


@app.command()
def validate(
    mappings: Annotated[list[Path], typer.Argument(help="Mapping files.", show_default=False)],
    max_errors: Annotated[int, typer.Option(help="Show at most this many problems.")] = 50,
) -> None:
    """Compile mappings and print every problem (file:line:col, caret, did-you-mean).

    Example: `mapper validate mappings/github/push.yaml`
    """
    failed = False
    for mapping in mappings:
        plan, diags = compile_path(mapping)
        if plan is None and [d.code for d in diags] == ["spec.no-objects"] and _is_library(mapping):
            name = literal(str(mapping))
            err.print(f"[green]✓[/] {name}: definitions only (used with `include:`)")
            continue
        show_diagnostics(diags, max_errors)
        failed |= plan is None
        if plan is not None:
            types = ", ".join(plan.object_types)
            err.print(f"[green]✓[/] {literal(str(mapping))}: {len(plan.rules)} rule(s) → {types}")
    raise typer.Exit(EXIT_MAPPING if failed else EXIT_OK)


def _is_library(path: Path) -> bool:
    from mapper.language.loader import parse_yaml, read_mapping_file

    text, _ = read_mapping_file(path)
    data, _smap, _diags = parse_yaml(text or "", str(path))
    return isinstance(data, dict) and "define" in data and "objects" not in data


def _selector(plan: Plan, records: str | None) -> tuple[Any, str | None]:
    expr = plan.records
    if records is not None:
        expr, diags = compile_standalone(records, plan.functions, "--records")
        if expr is None:
            _fail(EXIT_USAGE, diags)
    if expr is None:
        return None, None
    return expr.evaluate, stream_path_of(projection_base(expr.ast))


def _items(
    plan: Plan, inputs: list[str], records: str | None, progress: InputProgress | None = None
) -> Any:
    paths, problems, selector, stream = _inputs(plan, inputs, records)
    items = iter_records(paths, selector=selector, stream_path=stream, progress=progress)
    return problems, items


def _inputs(plan: Plan, inputs: list[str], records: str | None) -> Any:
    """(input files, problems finding them, records selector, its ijson path); exits when no
    input is left."""
    paths, problems = expand_inputs(inputs)
    if problems and not paths:
        _fail(EXIT_IO, [p.diagnostic for p in problems])
    return paths, problems, *_selector(plan, records)


def _parse_pairs(pairs: list[str], what: str) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            _fail(EXIT_USAGE, message=f"{what} takes NAME=VALUE, got {pair!r}")
        out[key] = value
    return out


def _lookup_files(plan: Plan, pairs: list[str]) -> dict[str, str]:
    """--lookup NAME=PATH pairs; a NAME the mapping does not declare is a usage error."""
    files = _parse_pairs(pairs, "--lookup")
    declared = [table.name for table in plan.lookups]
    for name in files:
        if name not in declared:
            hint = suggest(name, declared) or (
                f"the mapping declares {', '.join(declared)}"
                if declared
                else "the mapping declares no `lookups:`"
            )
            _fail(EXIT_USAGE, message=f"--lookup {name}: no such lookup table; {hint}")
    return files


@app.command("run")
def run_cmd(
    mapping: MappingArg,
    inputs: InputsArg,
    output: Annotated[
        str,
        typer.Option(
            "-o", "--output", help="Output file (jsonl), folder (batches), or - for stdout."
        ),
    ],
    fmt: Annotated[
        Format, typer.Option("--format", help="jsonl or setObjects batches.")
    ] = Format.jsonl,
    records: RecordsOpt = None,
    rejects: Annotated[
        str | None, typer.Option(help="Rejects file (default OUTPUT.rejects.jsonl).")
    ] = None,
    report: Annotated[
        str | None, typer.Option(help="Run report (default OUTPUT.report.json).")
    ] = None,
    lookup: Annotated[list[str], typer.Option(help="NAME=PATH for a `lookups:` table.")] = [],  # noqa: B006
    fail_fast: Annotated[
        bool, typer.Option("--fail-fast", help="Stop at the first rejected record.")
    ] = False,
    max_errors: Annotated[
        int | None,
        typer.Option(help="Tolerate this many rejected records; stop at the next one.", min=0),
    ] = None,
    connection_id: Annotated[str | None, typer.Option(help="connectionId for batches.")] = None,
    prop: Annotated[
        list[str], typer.Option("--property", help="KEY=VALUE tag for batches (≤5).")
    ] = [],  # noqa: B006
    associations: Annotated[
        AssocForm, typer.Option(help="array (documented) or set form.")
    ] = AssocForm.array,
    workers: Annotated[int, typer.Option(help="Worker processes (JSONL output).", min=1)] = 1,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary.")] = False,
) -> None:
    """Map every input record; write objects, rejected records and a run report.

    Example:
    `mapper run mappings/github/push.yaml samples/github/push-webhook.json -o out/push.jsonl`
    """
    props = _parse_pairs(prop, "--property")
    if len(props) > MAX_PROPERTIES:
        _fail(
            EXIT_USAGE, message=f"--property: setObjects takes at most {MAX_PROPERTIES} properties"
        )
    plan = _compile_or_exit(mapping)
    base = output.removesuffix(".jsonl") if output != STDOUT else "mapper-run"
    rejects_path = rejects or (f"{base}.rejects.jsonl" if output != STDOUT else None)
    report_path = report or (f"{base}.report.json" if output != STDOUT else None)
    options = RunOptions(
        ErrorPolicy.FAIL_FAST if fail_fast else ErrorPolicy.SKIP_RECORD,
        max_errors,
        _lookup_files(plan, lookup),
    )
    paths, problems, selector, stream = _inputs(plan, inputs, records)
    outputs = {"--rejects": rejects_path, "--report": report_path}
    _check_outputs({"-o": output if fmt is Format.jsonl else None, **outputs}, paths)
    input_progress = InputProgress(paths)
    set_assoc = associations is AssocForm.set
    parallel = fmt is Format.jsonl and output != STDOUT
    if workers > 1 and not parallel and not quiet:
        err.print("[yellow]note:[/] --workers applies to JSONL output files; one process maps")
    if fmt is Format.jsonl and (connection_id or props) and not quiet:
        err.print("[yellow]note:[/] --connection-id and --property apply to --format batches")
    if workers > 1 and parallel:
        result = _run_parallel(
            mapping, plan, paths, (selector, stream), output, rejects_path, options, workers,
            set_assoc, quiet, input_progress,
        )  # fmt: skip
    else:
        items = iter_records(paths, selector=selector, stream_path=stream, progress=input_progress)
        result = _run_serial(
            plan,
            items,
            output,
            fmt,
            rejects_path,
            options,
            connection_id,
            props,
            set_assoc,
            quiet,
            input_progress,
        )
    result.inputs = inputs
    result.input_problems[:0] = [p.diagnostic for p in problems]
    _finish(result, report_path, quiet)


def _check_outputs(outputs: dict[str, str | None], inputs: list[str]) -> None:
    """Usage error (exit 2) when an output file would replace an input or another output."""
    seen: dict[str, str] = {}
    real_inputs = {os.path.realpath(i): i for i in reversed(inputs) if i != STDIN}
    for option, path in outputs.items():
        if path is None or path == STDOUT:
            continue
        target = os.path.realpath(path)
        if target in seen:
            _fail(EXIT_USAGE, message=f"{option} and {seen[target]} name the same file: {path}")
        seen[target] = option
        clash = real_inputs.get(target)
        if clash is not None:
            _fail(EXIT_USAGE, message=f"{option} {path} would overwrite the input {clash}")


def _show_unkept(quarantine: RejectsSink) -> None:
    """Without a rejects file (output on stdout), the reasons go to stderr: nothing is silent."""
    for errors in quarantine.kept:  # record by record, in input order
        show_diagnostics(errors, max_errors=len(errors))
    shown = "" if quarantine.count <= quarantine.keep else f" (the first {quarantine.keep} shown)"
    err.print(
        f"{quarantine.count} record(s) rejected{shown}; give --rejects FILE to keep them "
        "with their reasons"
    )


def _run_serial(
    plan: Plan,
    items: Any,
    output: str,
    fmt: Format,
    rejects_path: str | None,
    options: RunOptions,
    connection_id: str | None,
    props: dict[str, str],
    set_assoc: bool,
    quiet: bool,
    input_progress: InputProgress | None = None,
) -> RunReport:
    try:
        sink: Any = (
            BatchSink(
                output, connection_id=connection_id, properties=props, set_associations=set_assoc
            )
            if fmt is Format.batches
            else JsonlSink(output, set_associations=set_assoc)
        )
        quarantine = RejectsSink(rejects_path, keep=0 if rejects_path else SHOWN_REJECTS)
    except MapperError as error:
        _fail(EXIT_IO, list(error.diagnostics))
    with (
        _progress(quiet, input_progress) as tick,
        _run_errors(lambda: sink.count),
        sink,
        quarantine,
    ):
        if isinstance(sink, JsonlSink):
            sink.sync_in_background()
        report = run(plan, items, sink=sink, rejects=quarantine, options=options, progress=tick)
    if quarantine.count and not rejects_path:
        _show_unkept(quarantine)
    return report


def _run_parallel(
    mapping: Path,
    plan: Plan,
    paths: list[str],
    reading: tuple[Any, str | None],
    output: str,
    rejects_path: str | None,
    options: RunOptions,
    workers: int,
    set_assoc: bool,
    quiet: bool,
    input_progress: InputProgress,
) -> RunReport:
    from mapper.run.parallel import run_parallel  # multiprocessing: only when needed
    from mapper.run.parts import Reading

    with _progress(quiet, input_progress) as tick, _run_errors(None):
        return run_parallel(
            mapping, plan, paths, output, rejects_path, options, workers, set_assoc,
            Reading(*reading), tick, input_progress,
        )  # fmt: skip
    raise AssertionError("unreachable")  # _run_errors exits on every exception


@contextlib.contextmanager
def _run_errors(objects: Callable[[], int] | None) -> Iterator[None]:
    """Turn what stops a run into its exit code and message; partial outputs are already gone."""
    try:
        yield
    except KeyboardInterrupt:
        done = f" after {objects()} objects" if objects else ""
        _fail(
            EXIT_INTERRUPTED,
            message=f"interrupted{done}: no output file was written (partial files removed)",
        )
    except RecordError as error:
        _fail(
            EXIT_REJECTED,
            list(error.diagnostics),
            "[red]stopped (--fail-fast): no output file was written[/]",
        )
    except OutputError as error:
        _fail(EXIT_IO, list(error.diagnostics))


class _progress:
    """A progress line on a terminal (records, rate, share read, ETA); silent when piped."""

    def __init__(self, quiet: bool, inputs: InputProgress | None = None) -> None:
        self.enabled = not quiet and err.is_terminal
        self.inputs = inputs
        self.bar: Any = None

    def __enter__(self) -> Any:
        if not self.enabled:
            return None
        from rich.progress import (
            BarColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        total = self.inputs.total if self.inputs and self.inputs.total else None
        self.bar = Progress(
            TextColumn("{task.fields[records]:>10,} records  {task.fields[rate]:>8,.0f} rec/s"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=err.get(),
            transient=True,
        )
        self.bar.__enter__()
        task = self.bar.add_task("mapping", total=total, records=0, rate=0.0)
        started = time.perf_counter()
        shown = 0

        def tick(n: int) -> None:
            nonlocal shown
            if n - shown >= 500:
                shown = n
                done = self.inputs.done() if self.inputs else None
                rate = n / max(time.perf_counter() - started, 1e-9)
                self.bar.update(task, completed=done, records=n, rate=rate)

        return tick

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


def _finish(result: RunReport, report_path: str | None, quiet: bool) -> None:
    if report_path:
        try:
            write_atomic(report_path, json.dumps(result.to_dict(), indent=2).encode() + b"\n")
        except OutputError as error:
            _fail(EXIT_IO, list(error.diagnostics))
    if not quiet:
        from mapper.cli import render

        render.summary(err, result)
        if report_path:
            err.print(f"report: {report_path}")
    if result.input_problems:
        raise typer.Exit(EXIT_IO)
    raise typer.Exit(EXIT_REJECTED if result.records_rejected else EXIT_OK)


from mapper.cli.more import register  # noqa: E402  (the other commands live in cli_more)

register(app)
from mapper.cli.sync import register as register_sync  # noqa: E402  (mapper sync, mapper state)

register_sync(app)


def main() -> None:
    """Console-script entry point."""
    app()  # rich's Console honours NO_COLOR itself
