"""The reading and authoring commands: preview, explain, test, init, batch, functions, types..."""

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from mapper.authoring.scaffold import starter_mapping
from mapper.engine.interpreter import Record, RecordResult
from mapper.engine.tracing import explain as explain_record
from mapper.errors import Diagnostic
from mapper.io.inputs import BadRecord, InputProblem, Item, parse_json
from mapper.run.pipeline import LookupCache
from mapper.run.pipeline import preview as preview_objects

if TYPE_CHECKING:  # the commands import their modules when they run: a shorter start-up
    from mapper.authoring.cases import Case, CaseResult
    from mapper.run.jobs import Job


def register(app: typer.Typer) -> None:
    """Add these commands to the app."""
    for command in (preview, explain, test, init, batch, functions, types, schema):
        app.command()(command)


def _cli() -> Any:
    """The cli module (imported late: it imports this module to register the commands)."""
    from mapper import cli

    return cli


def preview(
    mapping: Annotated[Path, typer.Argument(help="Mapping file.", show_default=False)],
    inputs: Annotated[list[str], typer.Argument(help="Input files.", show_default=False)],
    n: Annotated[int, typer.Option("-n", help="How many objects to show.", min=0)] = 5,
    as_json: Annotated[
        bool, typer.Option("--json", help="Raw JSON lines instead of panels.")
    ] = False,
    records: Annotated[str | None, typer.Option("--records", help="Records selector.")] = None,
) -> None:
    """Show the first N mapped objects, one panel each; rejected records show their problems.

    Example: `mapper preview mappings/slack/messages.yaml samples/slack/export -n 3`
    """
    cli = _cli()
    plan = cli._compile_or_exit(mapping)
    missing, items = cli._items(plan, inputs, records)
    seen = _SeenItems(items)
    objects, results = preview_objects(plan, seen, count=n)
    problems = [p.diagnostic for p in missing] + seen.problems
    if as_json:
        for obj in objects:
            typer.echo(json.dumps(obj.payload, ensure_ascii=False))
        cli.show_diagnostics([bad.diagnostic for bad in seen.bad])
    else:
        _show_panels(cli, plan, objects, results, seen)
    if problems:
        cli.show_diagnostics(problems)
    if not as_json:
        read, rejected = len(results) + len(seen.bad), seen.rejected(results)
        cli.err.print(f"{len(objects)} object(s) from {read} record(s) read; {rejected} rejected")
    if problems:  # inputs that could not be found, read or parsed (a bad line is a rejected record)
        raise typer.Exit(cli.EXIT_IO)


class _SeenItems:
    """Passes input items on, keeping what `preview` drops: input problems, unparsable records."""

    def __init__(self, items: Iterable[Item]) -> None:
        self.items = items
        self.records: list[Record | BadRecord] = []  # in input order
        self.bad: list[BadRecord] = []
        self.problems: list[Diagnostic] = []

    def __iter__(self) -> Iterator[Item]:
        for item in self.items:
            if isinstance(item, InputProblem):
                self.problems.append(item.diagnostic)
            else:
                self.records.append(item)
                if isinstance(item, BadRecord):
                    self.bad.append(item)
            yield item

    def rejected(self, results: list[RecordResult]) -> int:
        """Rejected records: those of `results` (the parsed ones) and those not parsed."""
        return sum(r.outcome == "rejected" for r in results) + len(self.bad)


def _show_panels(
    cli: Any, plan: Any, objects: list[Any], results: list[RecordResult], seen: _SeenItems
) -> None:
    from mapper.cli import render  # rich, only when something is drawn

    for i, obj in enumerate(objects):
        cli.out.print(render.object_panel(obj, _defaulted(plan, obj), i), soft_wrap=False)
    for panel in render.rejections(seen.records, results):
        cli.out.print(panel, soft_wrap=False)


def _defaulted(plan: Any, obj: Any) -> set[str]:
    """The top-level fields of `obj` holding their `default:` (not every field that has one)."""
    rule = next((r for r in plan.rules if r.name == obj.rule), None)
    children = rule.fields.children if rule is not None else ()
    return {
        key
        for key, node in children
        if node.has_default and isinstance(key, str) and obj.payload.get(key) == node.default
    }


def explain(
    mapping: Annotated[Path, typer.Argument(help="Mapping file.", show_default=False)],
    inputs: Annotated[list[str], typer.Argument(help="Input files.", show_default=False)],
    record: Annotated[int, typer.Option("--record", help="0-based record index.", min=0)] = 0,
    field: Annotated[
        str | None, typer.Option("--field", help="Only fields containing this.")
    ] = None,
    records: Annotated[str | None, typer.Option("--records", help="Records selector.")] = None,
) -> None:
    """For one record, per field: expression, raw value, final value, and why.

    Example:
    `mapper explain mappings/github/push.yaml samples/github/push-webhook.json --record 0`
    """
    cli = _cli()
    plan = cli._compile_or_exit(mapping)
    missing, items = cli._items(plan, inputs, records)
    target, met = _nth_record(items, record)
    problems = [p.diagnostic for p in missing] + met
    if problems:
        cli.show_diagnostics(problems)
    if not isinstance(target, Record):
        _no_record(cli, target, record)
    problems += _explain_record(cli, plan, target, field)
    if problems:
        raise typer.Exit(cli.EXIT_IO)


def _nth_record(
    items: Iterable[Item], position: int
) -> tuple[Record | BadRecord | None, list[Diagnostic]]:
    """The record at `position` (a record that is not JSON counts; a whole-input problem does
    not) and the input problems met before it."""
    problems: list[Diagnostic] = []
    count = 0
    for item in items:
        if isinstance(item, InputProblem):
            problems.append(item.diagnostic)
        elif count == position:
            return item, problems
        else:
            count += 1
    return None, problems


def _no_record(cli: Any, target: BadRecord | None, position: int) -> NoReturn:
    """Exit 4: the input has no record at `position`, or that record is not JSON."""
    if target is None:
        cli._fail(cli.EXIT_IO, message=f"there is no record #{position} in the input")
    else:
        where = cli.literal(f"{target.source} #{target.index}")
        cli._fail(
            cli.EXIT_IO,
            [target.diagnostic],
            f"record {where} is not valid JSON: nothing to explain",
        )
    raise AssertionError("unreachable")  # _fail exits


def _explain_record(cli: Any, plan: Any, target: Record, field: str | None) -> list[Diagnostic]:
    """Print the traces of one record; return the problems loading its lookup tables."""
    cache = LookupCache(plan.lookups)
    lookups = cache.for_source(target.source) if plan.lookups else {}
    if cache.problems:
        cli.show_diagnostics(cache.problems)
    result, traces = explain_record(plan, target, lookups=lookups)
    chosen = [t for t in traces if field is None or field in t.field]
    from mapper.cli import render  # rich, only when something is drawn

    render.traces(cli.out, chosen)
    where = cli.literal(f"{target.source} #{target.index}")
    cli.out.print(f"record {where}: {result.outcome}, {len(result.objects)} object(s)")
    if result.diagnostics:
        cli.show_diagnostics(list(result.diagnostics))
    return list(cache.problems)


def test(
    paths: Annotated[list[str], typer.Argument(help="Case files or folders.", show_default=False)],
    update: Annotated[bool, typer.Option("--update", help="Rewrite expected files.")] = False,
) -> None:
    """Run fixture cases (*.cases.yaml): diffs on failure, field coverage at the end.

    A missing path exits 4; a failed case, a case file with problems or nothing to run exits 1.

    Example: `mapper test mappings/`
    """
    cli = _cli()
    from mapper.authoring.cases import coverage, load_cases, locate_case_files

    files, path_problems = locate_case_files(paths)
    cli.show_diagnostics(path_problems)
    results: list[CaseResult] = []
    bad_files = 0
    for path in files:
        cases, problems = load_cases(path)
        cli.show_diagnostics(problems)
        bad_files += bool(problems)
        results += [_run_and_show(cli, case, update) for case in cases]
    _print_coverage(cli, coverage(results))
    failed = sum(not r.passed for r in results)
    summary = f"{len(results) - failed} passed, {failed} failed"
    for n, what in ((bad_files, "file"), (len(path_problems), "path")):
        summary += f", {n} {what}{'s' * (n != 1)} with problems" if n else ""
    cli.out.print(summary)
    if any(d.code == "input.not-found" for d in path_problems):
        raise typer.Exit(cli.EXIT_IO)  # as `mapper run` does for a missing input
    is_bad = failed or bad_files or path_problems or not results
    raise typer.Exit(cli.EXIT_MAPPING if is_bad else cli.EXIT_OK)


def _run_and_show(cli: Any, case: "Case", update: bool) -> "CaseResult":
    """Run one case and print PASS/FAIL, then each failure in a panel that wraps long lines."""
    from rich.panel import Panel  # rich, only when something is drawn
    from rich.text import Text

    from mapper.authoring.cases import run_case

    res = run_case(case, update=update)
    mark = "[green]PASS[/]" if res.passed else "[red]FAIL[/]"
    updated = " [yellow](updated)[/]" if res.updated else ""
    cli.out.print(f"{mark} {cli.literal(case.id)}{updated}")
    for failure in res.failures:
        # soft_wrap=False: the consoles are made with soft_wrap=True, which crops panel text
        panel = Panel(Text(failure, overflow="fold"), border_style="red")
        cli.out.print(panel, soft_wrap=False)
    return res


def _print_coverage(cli: Any, table: dict[str, tuple[set[str], set[str]]]) -> None:
    escape = cli.literal
    for mapping, (every, hit) in sorted(table.items()):
        pct = 100.0 * len(hit) / len(every) if every else 100.0
        cli.out.print(f"coverage {escape(mapping)}: {len(hit)}/{len(every)} fields ({pct:.0f}%)")
        for name in sorted(every - hit):
            cli.out.print(f"  [dim]never non-null:[/] {escape(name)}")


def init(
    sample: Annotated[Path, typer.Argument(help="A sample payload (JSON).", show_default=False)],
    type_name: Annotated[str, typer.Option("--type", help="Object type, e.g. atlassian:document.")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here (default stdout).")
    ] = None,
) -> None:
    """Write a starter mapping guessed from a sample's keys, with a comment on each field.

    Example: `mapper init samples/github/pulls.json --type atlassian:pull-request -o pulls.yaml`
    """
    cli = _cli()
    from mapper.model import OBJECT_TYPES

    if type_name not in OBJECT_TYPES:
        from mapper.model.common import type_name_hint

        cli._fail(
            cli.EXIT_USAGE, message=f"unknown type {type_name!r}; {type_name_hint(type_name)}"
        )
    try:
        sample_data = parse_json(sample.read_bytes())
    except (OSError, ValueError) as error:
        cli._fail(cli.EXIT_IO, message=f"cannot read {sample}: {error}")
    text = starter_mapping(sample_data, type_name)
    if output is None:
        typer.echo(text, nl=False)
    else:
        from mapper.errors import OutputError
        from mapper.io.sinks import write_atomic

        try:
            write_atomic(output, text.encode())
        except OutputError as error:
            cli._fail(cli.EXIT_IO, list(error.diagnostics))
        todo = text.count("{const: REPLACE-ME}")
        cli.err.print(
            f"wrote {output}; next: replace its {todo} REPLACE-ME placeholder(s) "
            f"(`mapper validate {output}` lists them), then `mapper preview {output} {sample}`"
            if todo
            else f"wrote {output}; next: mapper preview {output} {sample}"
        )


def batch(
    jobs_files: Annotated[
        list[Path], typer.Argument(help="Jobs files (YAML).", show_default=False)
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output folder.")] = Path("out"),
) -> None:
    """Run every job of jobs files (mapping + inputs), e.g. all bundled mappings on their samples.

    A jobs file holds `jobs: [{name, mapping, inputs: [...], records?}]`, paths relative to it;
    each job writes `DIR/NAME.jsonl`. All jobs files are checked first: if one has a problem,
    every problem is printed (file:line:col) and no job runs (exit 1; 4 if a file cannot be
    read). Otherwise the exit code is the worst of the jobs'.

    Example: `mapper batch mappings/*/jobs.yaml -o out`
    """
    cli = _cli()
    from mapper.run.jobs import UNREADABLE, load_jobs

    jobs, problems = load_jobs(jobs_files)
    if problems:
        code = cli.EXIT_IO if any(d.code == UNREADABLE for d in problems) else cli.EXIT_MAPPING
        cli._fail(code, problems, "[red]no job was run: fix the jobs file(s) and rerun[/]")
    codes: list[int] = []
    for job in jobs:
        codes.append(_run_job(cli, job, output))
        if codes[-1] == cli.EXIT_INTERRUPTED:
            break  # Ctrl-C stops the batch, not only the job that was running
    failed = sum(c not in (cli.EXIT_OK, cli.EXIT_REJECTED) for c in codes)
    cli.err.print(f"{len(codes)} of {len(jobs)} job(s) run, {failed} failed")
    raise typer.Exit(max(codes, default=cli.EXIT_OK))


def _run_job(cli, job: "Job", output: Path) -> int:  # type: ignore[no-untyped-def]
    """Run one job through `mapper run`; say where its objects are, or that it wrote none."""
    target = output / f"{job.name}.jsonl"
    before = _file_stamp(target)
    cli.err.rule(f"{job.name}: {job.mapping}")
    code: int = cli.EXIT_OK
    try:
        cli.run_cmd(
            mapping=job.mapping, inputs=list(job.inputs), output=str(target),
            fmt=cli.Format.jsonl, records=job.records, rejects=None, report=None, lookup=[],
            fail_fast=False, max_errors=None, connection_id=None, prop=[],
            associations=cli.AssocForm.array, workers=1, quiet=False,
        )  # fmt: skip
    except typer.Exit as done:
        code = done.exit_code or cli.EXIT_OK
    # exit 4 also follows a finished run when only some inputs could not be read
    if code in (cli.EXIT_OK, cli.EXIT_REJECTED) or _file_stamp(target) not in (None, before):
        cli.err.print(f"objects: {target}")
    else:
        name = cli.literal(job.name)
        cli.err.print(f"[red]job {name} failed (exit {code}): no objects written[/]")
    return code


def _file_stamp(path: Path) -> tuple[int, int] | None:
    """(inode, mtime) of a file, or None: outputs are replaced atomically, so both change."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_ino, stat.st_mtime_ns


def functions(
    name: Annotated[str | None, typer.Argument(help="One function.", show_default=False)] = None,
) -> None:
    """List the custom JMESPath functions: signature, summary, examples.

    Example: `mapper functions to_rfc3339`
    """
    from mapper.functions import function_docs

    cli = _cli()
    docs = function_docs()
    if name and name not in {d.name for d in docs}:
        from mapper.errors import suggest

        hint = suggest(name, [d.name for d in docs]) or "see `mapper functions`"
        cli._fail(cli.EXIT_USAGE, message=f"unknown function {name!r}; {hint}")
    for doc in docs:
        if name and doc.name != name:
            continue
        cli.out.print(f"[bold]{doc.signature}[/]\n  {doc.summary}")
        if name:
            cli.out.print(doc.doc)
        else:
            for example in doc.examples[:1]:
                cli.out.print(f"  [dim]e.g.[/] {example.text}")


def types(
    name: Annotated[str | None, typer.Argument(help="One object type.", show_default=False)] = None,
) -> None:
    """List the Teamwork Graph object types, or one type's fields (* = required).

    Example: `mapper types atlassian:commit`
    """
    from mapper.model import OBJECT_TYPES
    from mapper.model.introspect import describe_type

    cli = _cli()
    if name is None:
        for type_name, model in OBJECT_TYPES.items():
            cli.out.print(f"[bold]{type_name}[/]  {(model.__doc__ or '').strip().splitlines()[0]}")
        return
    if name not in OBJECT_TYPES:
        from mapper.model.common import type_name_hint

        cli._fail(cli.EXIT_USAGE, message=f"unknown type {name!r}; {type_name_hint(name)}")

    def show(fields, indent: int) -> None:  # type: ignore[no-untyped-def]
        for f in fields:
            star = "[red]*[/]" if f.required else " "
            cli.out.print(
                f"{' ' * indent}{star} [bold]{f.name}[/] [dim]{f.kind}[/]  {f.description}"
            )
            show(f.children, indent + 4)

    show(describe_type(name), 0)


def schema(
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write to a file.")] = None,
) -> None:
    """Print the JSON Schema of mapping files (for YAML editor completion).

    Example: `mapper schema -o mapping.schema.json`
    """
    from mapper.language.spec import json_schema

    text = json.dumps(json_schema(), indent=2) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    from mapper.errors import OutputError
    from mapper.io.sinks import write_atomic

    try:
        write_atomic(output, text.encode())
    except OutputError as error:
        _cli()._fail(_cli().EXIT_IO, list(error.diagnostics))
