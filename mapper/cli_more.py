"""The reading and authoring commands: preview, explain, test, init, batch, functions, types..."""


import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from mapper.cases import coverage, find_case_files, load_cases, run_case
from mapper.explain import explain as explain_record
from mapper.interpreter import Record
from mapper.pipeline import LookupCache
from mapper.pipeline import preview as preview_objects
from mapper.scaffold import starter_mapping
from mapper.sources import parse_json


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
    n: Annotated[int, typer.Option("-n", help="How many objects to show.")] = 5,
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
    _problems, items = cli._items(plan, inputs, records)
    objects, results = preview_objects(plan, items, count=n)
    if as_json:
        for obj in objects:
            typer.echo(json.dumps(obj.payload, ensure_ascii=False))
        return
    defaulted = {
        c.loc[-1]
        for r in plan.rules
        for _, c in r.fields.children
        if c.has_default and isinstance(c.loc[-1], str)
    }
    from mapper import render  # rich, only when something is drawn

    for i, obj in enumerate(objects):
        cli.out.print(render.object_panel(obj, defaulted, i))
    for result in results:
        if result.outcome == "rejected":
            cli.out.print(render.rejected_panel(result))
    read = len(results)
    cli.err.print(
        f"{len(objects)} object(s) from {read} record(s) read; "
        f"{sum(r.outcome == 'rejected' for r in results)} rejected"
    )


def explain(
    mapping: Annotated[Path, typer.Argument(help="Mapping file.", show_default=False)],
    inputs: Annotated[list[str], typer.Argument(help="Input files.", show_default=False)],
    record: Annotated[int, typer.Option("--record", help="0-based record index.")] = 0,
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
    _problems, items = cli._items(plan, inputs, records)
    target = next(
        (it for i, it in enumerate(items) if i == record and isinstance(it, Record)), None
    )
    if target is None:
        cli._fail(cli.EXIT_IO, message=f"there is no record #{record} in the input")
        return
    lookups = LookupCache(plan.lookups).for_source(target.source) if plan.lookups else {}
    result, traces = explain_record(plan, target, lookups=lookups)
    chosen = [t for t in traces if field is None or field in t.field]
    from mapper import render  # rich, only when something is drawn

    render.traces(cli.out, chosen)
    cli.out.print(
        f"record {target.source} #{target.index}: {result.outcome}, {len(result.objects)} object(s)"
    )
    if result.diagnostics:
        cli.show_diagnostics(list(result.diagnostics))


def test(
    paths: Annotated[list[str], typer.Argument(help="Case files or folders.", show_default=False)],
    update: Annotated[bool, typer.Option("--update", help="Rewrite expected files.")] = False,
) -> None:
    """Run fixture cases (*.cases.yaml): diffs on failure, field coverage at the end.

    Example: `mapper test mappings/`
    """
    cli = _cli()
    results, failed = [], 0
    for path in find_case_files(paths):
        cases, problems = load_cases(path)
        cli.show_diagnostics(problems)
        failed += len(problems)
        for case in cases:
            res = run_case(case, update=update)
            results.append(res)
            mark = "[green]PASS[/]" if res.passed else "[red]FAIL[/]"
            cli.out.print(f"{mark} {case.id}" + (" [yellow](updated)[/]" if res.updated else ""))
            for failure in res.failures:
                from rich.panel import Panel  # rich, only when something is drawn

                cli.out.print(Panel(failure, border_style="red"))
            failed += not res.passed
    _print_coverage(cli, coverage(results))
    cli.out.print(f"{len(results) - failed} passed, {failed} failed")
    raise typer.Exit(cli.EXIT_MAPPING if failed or not results else cli.EXIT_OK)


def _print_coverage(cli, table: dict[str, tuple[set[str], set[str]]]) -> None:  # type: ignore[no-untyped-def]
    for mapping, (every, hit) in sorted(table.items()):
        pct = 100.0 * len(hit) / len(every) if every else 100.0
        cli.out.print(f"coverage {mapping}: {len(hit)}/{len(every)} fields ({pct:.0f}%)")
        for name in sorted(every - hit):
            cli.out.print(f"  [dim]never non-null:[/] {name}")


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
        from mapper.errors import suggest

        cli._fail(
            cli.EXIT_USAGE,
            message=f"unknown type {type_name!r}; "
            f"{suggest(type_name, OBJECT_TYPES) or 'see `mapper types`'}",
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
        from mapper.sinks import write_atomic

        try:
            write_atomic(output, text.encode())
        except OutputError as error:
            cli._fail(cli.EXIT_IO, list(error.diagnostics))
        cli.err.print(f"wrote {output}; next: mapper preview {output} {sample}")


def batch(
    jobs_files: Annotated[
        list[Path], typer.Argument(help="Jobs files (YAML).", show_default=False)
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output folder.")] = Path("out"),
) -> None:
    """Run every job of jobs files (mapping + inputs), e.g. all bundled mappings on their samples.

    A jobs file holds `jobs: [{name, mapping, inputs: [...], records?}]`, paths relative to it.

    Example: `mapper batch mappings/*/jobs.yaml -o out`
    """
    cli = _cli()
    worst = cli.EXIT_OK
    for jobs in jobs_files:
        try:
            spec = yaml.safe_load(jobs.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as error:
            cli._fail(cli.EXIT_IO, message=f"cannot read jobs file {jobs}: {error}")
        for job in spec.get("jobs", []):
            worst = max(worst, _run_job(cli, jobs.parent, job, output))
    raise typer.Exit(worst)


def _run_job(cli, base: Path, job: dict, output: Path) -> int:  # type: ignore[no-untyped-def,type-arg]
    mapping = base / job["mapping"]
    inputs = [str(base / i) for i in job["inputs"]]
    target = output / f"{job['name']}.jsonl"
    cli.err.rule(f"{job['name']}: {mapping}")
    try:
        cli.run_cmd(
            mapping,
            inputs,
            str(target),
            cli.Format.jsonl,
            job.get("records"),
            None,
            None,
            [],
            False,
            None,
            None,
            [],
            cli.AssocForm.array,
            1,
            False,
        )
    except typer.Exit as done:
        cli.err.print(f"objects: {target}")
        return done.exit_code or 0
    return 0


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
        from mapper.errors import suggest

        cli._fail(
            cli.EXIT_USAGE, message=f"unknown type {name!r}; {suggest(name, OBJECT_TYPES) or ''}"
        )

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
    from mapper.spec import json_schema

    text = json.dumps(json_schema(), indent=2) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    from mapper.errors import OutputError
    from mapper.sinks import write_atomic

    try:
        write_atomic(output, text.encode())
    except OutputError as error:
        _cli()._fail(_cli().EXIT_IO, list(error.diagnostics))
