"""`mapper test` and `mapper init`: check fixture cases, start a mapping from a sample."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mapper.cli.console import (
    EXIT_IO,
    EXIT_MAPPING,
    EXIT_OK,
    EXIT_USAGE,
    DiagFormat,
    FormatOpt,
    err,
    fail,
    literal,
    out,
    refuse_output,
    show_diagnostics,
    show_machine_diagnostics,
    write_or_echo,
)
from mapper.errors import Diagnostic

if TYPE_CHECKING:  # the commands import their modules when they run: a shorter start-up
    from mapper.authoring.cases import Case, CaseResult


def test(
    paths: Annotated[list[str], typer.Argument(help="Case files or folders.", show_default=False)],
    update: Annotated[bool, typer.Option("--update", help="Rewrite expected files.")] = False,
    fmt: FormatOpt = DiagFormat.text,
    junit: Annotated[
        Path | None, typer.Option("--junit", help="Also write the results as JUnit XML here.")
    ] = None,
) -> None:
    """Run fixture cases (*.cases.yaml): diffs on failure, field coverage at the end.

    A missing path exits 4; a failed case, a case file with problems or nothing to run exits 1.
    `--format json|sarif|github` prints case-file problems and failed cases (`case.failed`,
    at the case's line) on stdout for machines; the PASS/FAIL lines then go to stderr.

    Example: `mapper test mappings/`
    """
    from mapper.authoring.cases import coverage, load_cases, locate_case_files

    refuse_output(junit, "--junit")
    console = out if fmt is DiagFormat.text else err
    files, path_problems = locate_case_files(paths)
    show_diagnostics(path_problems)
    results: list[CaseResult] = []
    problems: list[Diagnostic] = list(path_problems)
    bad_files = 0
    for path in files:
        cases, found = load_cases(path)
        show_diagnostics(found)
        problems += found
        bad_files += bool(found)
        results += [_run_and_show(case, update, console) for case in cases]
    _print_coverage(coverage(results), console)
    failed = sum(not r.passed for r in results)
    if failed and not update and any(_differs(r) for r in results):
        console.print("[yellow]hint:[/] run with --update to accept the new output")
    summary = f"{len(results) - failed} passed, {failed} failed"
    for n, what in ((bad_files, "file"), (len(path_problems), "path")):
        summary += f", {n} {what}{'s' * (n != 1)} with problems" if n else ""
    console.print(summary)
    if fmt is not DiagFormat.text:
        show_machine_diagnostics(fmt, problems + [_failed(r) for r in results if not r.passed])
    if junit is not None:
        _write_junit(junit, results, problems)
    if any(d.code == "input.not-found" for d in path_problems):
        raise typer.Exit(EXIT_IO)  # as `mapper run` does for a missing input
    is_bad = failed or bad_files or path_problems or not results
    raise typer.Exit(EXIT_MAPPING if is_bad else EXIT_OK)


def _differs(result: "CaseResult") -> bool:
    return any(f.startswith("output differs from") for f in result.failures)


def _failed(result: "CaseResult") -> Diagnostic:
    """A failed case as a diagnostic at the case's line, for machine formats."""
    from mapper.errors import SourceSpan

    case = result.case
    span = case.span or SourceSpan(str(case.file), 1, 1)
    first = result.failures[0].split("\n")[0] if result.failures else "failed"
    return Diagnostic("case.failed", f"case {case.title!r} failed: {first}", span=span)


def _write_junit(path: Path, results: "list[CaseResult]", problems: list[Diagnostic]) -> None:
    from mapper.authoring.junit import junit_xml
    from mapper.errors import OutputError
    from mapper.io.atomic import write_atomic

    try:
        write_atomic(path, junit_xml(results, problems))
    except OutputError as error:
        fail(EXIT_IO, list(error.diagnostics))


def _run_and_show(case: "Case", update: bool, console: Any) -> "CaseResult":
    """Run one case and print PASS/FAIL, then each failure in a panel that wraps long lines,
    its diff coloured (expected in red, actual in green)."""
    from rich.panel import Panel  # rich, only when something is drawn

    from mapper.authoring.cases import run_case

    res = run_case(case, update=update)
    mark = "[green]PASS[/]" if res.passed else "[red]FAIL[/]"
    updated = " [yellow](updated)[/]" if res.updated else ""
    console.print(f"{mark} {literal(case.id)}{updated}")
    from mapper.authoring.cases import case_notes

    for note in case_notes(res):
        err.print(f"    [yellow]note:[/] {literal(note)}")
    for failure in res.failures:
        # soft_wrap=False: the consoles are made with soft_wrap=True, which crops panel text
        panel = Panel(_coloured_diff(failure), border_style="red")
        console.print(panel, soft_wrap=False)
    return res


_DIFF_STYLES = (("+++", "bold"), ("---", "bold"), ("@@", "cyan"), ("+", "green"), ("-", "red"))


def _coloured_diff(failure: str) -> Any:
    from rich.text import Text

    text = Text(overflow="fold")
    for i, line in enumerate(failure.split("\n")):
        style = next((s for prefix, s in _DIFF_STYLES if line.startswith(prefix)), "")
        text.append(("\n" if i else "") + line, style=style if i else "")
    return text


def _print_coverage(table: dict[str, tuple[set[str], set[str]]], console: Any) -> None:
    escape = literal
    for mapping, (every, hit) in sorted(table.items()):
        pct = 100.0 * len(hit) / len(every) if every else 100.0
        console.print(f"coverage {escape(mapping)}: {len(hit)}/{len(every)} fields ({pct:.0f}%)")
        for name in sorted(every - hit):
            console.print(f"  [dim]never non-null:[/] {escape(name)}")


def init(
    sample: Annotated[
        Path, typer.Argument(help="A sample payload (JSON or JSONL).", show_default=False)
    ],
    type_name: Annotated[str, typer.Option("--type", help="Object type, e.g. atlassian:document.")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here (default stdout).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite the output file if it exists.")
    ] = False,
) -> None:
    """Write a starter mapping guessed from a sample's keys, with a comment on each field.

    Values it cannot guess are `{const: REPLACE-ME}`: `mapper validate` lists each of them as a
    `field.placeholder` error until it is mapped. An existing output file is kept unless
    `--force` is given (exit 2).

    Example: `mapper init samples/github/pulls.json --type atlassian:pull-request -o pulls.yaml`
    """
    from mapper.model import OBJECT_TYPES

    if type_name not in OBJECT_TYPES:
        from mapper.model.common import type_name_hint

        fail(
            EXIT_USAGE, message=f"unknown type {type_name!r}; {type_name_hint(type_name)}"
        )
    from mapper.errors import InputError

    refuse_output(output)
    if output is not None and output.exists() and not force:
        fail(EXIT_USAGE, message=f"{literal(str(output))} exists; give --force to overwrite it")
    from mapper.authoring.scaffold import read_sample, starter_mapping
    from mapper.language.constants import PLACEHOLDER

    try:
        sample_data = read_sample(sample)
    except InputError as error:
        fail(EXIT_IO, list(error.diagnostics))
    schema = _schema_path(output.parent if output is not None else Path.cwd())
    text = starter_mapping(sample_data, type_name, schema=schema)
    if output is None:
        typer.echo(text, nl=False)
        return
    write_or_echo(text, output)
    todo = text.count(f"{{const: {PLACEHOLDER}}}")
    where = literal(str(output))
    err.print(
        f"wrote {where}; next: replace its {todo} {PLACEHOLDER} placeholder(s) "
        f"(`mapper validate {where}` lists them), then `mapper preview {where} {sample}`"
        if todo
        else f"wrote {where}; next: mapper preview {where} {sample}"
    )
    schema_file = output.parent / schema
    if not schema_file.exists():  # the modeline names it: say how to make it
        err.print(f"editor completion: mapper schema -o {literal(str(schema_file))}")


def _schema_path(folder: Path) -> str:
    """mapping.schema.json relative to `folder`: the nearest one in it or a parent (a checkout
    of this repository), else `mapping.schema.json` next to the mapping (`mapper schema -o`)."""
    import os

    start = folder.resolve()
    for parent in (start, *start.parents):
        if (parent / "mapping.schema.json").is_file():
            return Path(os.path.relpath(parent / "mapping.schema.json", start)).as_posix()
    return "mapping.schema.json"
