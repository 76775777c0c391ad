"""`mapper preview` and `mapper explain`: look at what a mapping makes of some records."""

import contextlib
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from mapper.cli.console import (
    ALLOWED_PATHS,
    EXIT_INTERRUPTED,
    EXIT_IO,
    EXIT_USAGE,
    ParamOpt,
    bind_params,
    compile_or_exit,
    err,
    fail,
    literal,
    out,
    show_alarms,
    show_diagnostics,
    usage_problems,
)
from mapper.errors import Diagnostic
from mapper.records import BadRecord, InputProblem, Item, Record, RecordResult

WatchOpt = Annotated[
    bool,
    typer.Option(
        "--watch", help="Show it again when the mapping or an input changes (Ctrl-C to stop)."
    ),
]


def read_items(plan: Any, inputs: list[str], records: str | None) -> tuple[list[Any], Any]:
    """(problems finding the inputs, their items); exits when no input is left or the
    selector is invalid."""
    from mapper.io.inputs import expand_inputs, iter_records
    from mapper.run.files import UsageError, reading_of

    paths, problems = expand_inputs(inputs)
    if problems and not paths:
        fail(EXIT_IO, [p.diagnostic for p in problems])
    try:
        reading = reading_of(plan, records)
    except UsageError as error:
        fail(EXIT_USAGE, *usage_problems(list(error.diagnostics)))
    return problems, iter_records(paths, **reading.kwargs())


def preview(
    mapping: Annotated[Path, typer.Argument(help="Mapping file.", show_default=False)],
    inputs: Annotated[list[str], typer.Argument(help="Input files.", show_default=False)],
    n: Annotated[int, typer.Option("-n", help="How many objects to show.", min=0)] = 5,
    as_json: Annotated[
        bool, typer.Option("--json", help="Raw JSON lines instead of panels.")
    ] = False,
    records: Annotated[str | None, typer.Option("--records", help="Records selector.")] = None,
    param: ParamOpt = [],  # noqa: B006
    strict: Annotated[
        bool, typer.Option("--strict", help="An optional field that fails rejects its object.")
    ] = False,
    watch: WatchOpt = False,
) -> None:
    """Show the first N mapped objects, one panel each; rejected records show their problems.

    With `--watch`, show them again whenever the mapping, a file it includes, a lookup table or
    an input changes (Ctrl-C to stop).

    Example: `mapper preview mappings/slack/messages.yaml samples/slack/export -n 3`
    """
    draw = partial(_preview, mapping, inputs, n, as_json, records, param, strict)
    if watch:
        watching(mapping, inputs, draw)  # until Ctrl-C
    draw()


def _preview(
    mapping: Path,
    inputs: list[str],
    n: int,
    as_json: bool,
    records: str | None,
    param: list[str],
    strict: bool,
) -> None:
    plan = compile_or_exit(mapping, cache=True)
    bind_params(plan, param)
    missing, items = read_items(plan, inputs, records)
    seen = _SeenItems(items)
    from mapper.run.pipeline import counts_line
    from mapper.run.pipeline import preview as preview_objects
    from mapper.run.policy import RunOptions

    options = RunOptions(strict=strict, params=plan.functions.params)
    objects, results, report = preview_objects(plan, seen, count=n, options=options)
    report.selector = records
    problems = [p.diagnostic for p in missing] + seen.problems
    if as_json:
        from mapper.cli.visible import visible_json

        for obj in objects:
            typer.echo(visible_json(json.dumps(obj.payload, ensure_ascii=False)))
        show_diagnostics([bad.diagnostic for bad in seen.bad])
        if not objects:  # nothing on stdout: say why on stderr
            show_diagnostics([d for r in results for d in r.diagnostics][:20])
    else:
        _show_panels(plan, objects, results, seen)
    if problems:
        show_diagnostics(problems)
    err.print(f"{len(objects)} object(s) from {literal(counts_line(report))}")
    show_alarms(report, plan)
    if problems:  # inputs that could not be found, read or parsed (a bad line is a rejected record)
        raise typer.Exit(EXIT_IO)


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
    plan: Any, objects: list[Any], results: list[RecordResult], seen: _SeenItems
) -> None:
    from mapper.cli import render  # rich, only when something is drawn

    for i, obj in enumerate(objects):
        out.print(render.object_panel(obj, _defaulted(plan, obj), i), soft_wrap=False)
    for panel in render.rejections(seen.records, results):
        out.print(panel, soft_wrap=False)


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
    param: ParamOpt = [],  # noqa: B006
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON document instead of the table.")
    ] = False,
    watch: WatchOpt = False,
) -> None:
    """For one record: a heading per object, then per field its status, value, expression and
    why it is null, defaulted or rejected.

    `--json` prints the record's outcome, every field trace and the problems as one JSON
    document on stdout, for scripts. `--watch` explains again whenever the mapping, a file it
    includes, a lookup table or an input changes (Ctrl-C to stop).

    Example:
    `mapper explain mappings/github/push.yaml samples/github/push-webhook.json --record 0`
    """
    draw = partial(_explain, mapping, inputs, record, field, records, param, as_json)
    if watch:
        watching(mapping, inputs, draw)  # until Ctrl-C
    draw()


def _explain(
    mapping: Path,
    inputs: list[str],
    record: int,
    field: str | None,
    records: str | None,
    param: list[str],
    as_json: bool,
) -> None:
    plan = compile_or_exit(mapping, cache=True)
    bind_params(plan, param)
    missing, items = read_items(plan, inputs, records)
    target, met = _nth_record(items, record)
    problems = [p.diagnostic for p in missing] + met
    if problems:
        show_diagnostics(problems)
    if not isinstance(target, Record):
        _no_record(target, record)
    problems += _explain_record(plan, target, field, as_json=as_json)
    if problems:
        raise typer.Exit(EXIT_IO)


def watching(mapping: Path, inputs: list[str], draw: Callable[[], None]) -> NoReturn:
    """Draw, then clear the screen and draw again after every change of the files it reads.

    A mapping or input problem is shown (located, as without `--watch`) and the watch goes on;
    Ctrl-C exits 130 without a word. On stderr after each drawing: `watching N file(s) for
    changes (Ctrl-C to stop)`, the line a script waits for.
    """
    from mapper.api import compile_path
    from mapper.authoring.watch import changes, watched_files
    from mapper.io.inputs import STDIN

    if STDIN in inputs:
        fail(EXIT_USAGE, message="--watch reads its inputs again after each change: name "
             "files, not standard input (-)")

    def files() -> list[str]:
        plan, _ = compile_path(mapping, allow=tuple(ALLOWED_PATHS))  # for its lookup tables
        found = watched_files(mapping, inputs, plan, ALLOWED_PATHS)
        count[0] = len(found)
        return found

    count = [0]
    try:
        for changed in changes(files):
            if changed and out.is_terminal:
                out.clear()
            if changed:
                err.print(f"[dim]changed: {literal(', '.join(changed))}[/]")
            with contextlib.suppress(typer.Exit):  # its problems are printed: watch on
                draw()
            err.print(f"[dim]watching {count[0]} file(s) for changes (Ctrl-C to stop)[/]")
            sys.stdout.flush()
            sys.stderr.flush()
    except KeyboardInterrupt:
        pass  # the exit below is raised outside this block: no "interrupted" line
    raise typer.Exit(EXIT_INTERRUPTED)  # changes() never ends: only Ctrl-C gets here


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


def _no_record(target: BadRecord | None, position: int) -> NoReturn:
    """Exit 4: the input has no record at `position`, or that record is not JSON."""
    if target is None:
        fail(EXIT_IO, message=f"there is no record #{position} in the input")
    else:
        where = literal(f"{target.source} #{target.index}")
        fail(
            EXIT_IO,
            [target.diagnostic],
            f"record {where} is not valid JSON: nothing to explain",
        )
    raise AssertionError("unreachable")  # _fail exits


def _explain_record(
    plan: Any, target: Record, field: str | None, *, as_json: bool = False
) -> list[Diagnostic]:
    """Print the traces of one record; return the problems loading its lookup tables."""
    from mapper.engine.tracing import explain as explain_record
    from mapper.io.lookups import LookupCache

    cache = LookupCache(plan.lookups)
    lookups = cache.for_source(target.source) if plan.lookups else {}
    if cache.problems:
        show_diagnostics(cache.problems)
    result, traces = explain_record(plan, target, lookups=lookups)
    chosen = [t for t in traces if field is None or field in t.field]
    if as_json:
        typer.echo(_explanation_json(target, result, chosen))
        return list(cache.problems)
    from mapper.cli import render  # rich, only when something is drawn

    render.traces(out, chosen)
    where = literal(f"{target.source} #{target.index}")
    out.print(f"record {where}: {result.outcome}, {len(result.objects)} object(s)")
    if result.diagnostics:
        show_diagnostics(list(result.diagnostics))
    return list(cache.problems)


def _explanation_json(target: Record, result: Any, traces: list[Any]) -> str:
    """`explain --json`: the record, its outcome, the traces and the problems."""
    doc = {
        "record": {"source": target.source, "index": target.index},
        "outcome": result.outcome,
        "objects": len(result.objects),
        "fields": [
            {
                "rule": t.rule,
                "item": t.item,
                "type": t.type_name,
                "field": t.field,
                "loc": t.loc,
                "expression": t.source,
                "raw": t.raw,
                "final": t.final,
                "status": t.status,
                **({"reason": t.reason} if t.reason else {}),
                **({"cause": t.cause} if t.cause else {}),
            }
            for t in traces
        ],
        "diagnostics": [d.to_dict() for d in result.diagnostics],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False, default=str)
