"""`mapper index`, `mapper who-can-see` and `mapper can-see`: the local access graph."""

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mapper.cli.console import EXIT_IO, EXIT_MAPPING, EXIT_OK, EXIT_REJECTED, EXIT_USAGE, fail

if TYPE_CHECKING:
    import sqlite3

    from mapper.access.checks import AccessFindings

IndexOpt = Annotated[
    Path, typer.Option("--index", "-i", help="The access index (from `mapper index`).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON for scripts instead of a table.")]


def index(
    outputs: Annotated[
        list[str],
        typer.Argument(
            help="Run outputs: JSONL files, batch folders, sync output folders, or folders of "
            "them.",
            show_default=False,
        ),
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="The index file.")] = Path(
        "graph.db"
    ),
    strict: Annotated[
        bool, typer.Option("--strict", help="Principals that name no user/group exit 3.")
    ] = False,
    replicates_permissions: Annotated[
        bool,
        typer.Option(
            "--replicates-permissions",
            help="Report objects granted only to EVERYONE / ATLASSIAN_WORKSPACE.",
        ),
    ] = False,
) -> None:
    """Index the objects, users and groups of run outputs into an SQLite file; check principals.

    Example: `mapper index out/slack-*.jsonl -o graph.db`
    """
    from mapper.access.checks import PrincipalChecker
    from mapper.access.outputs import iter_entries, output_files
    from mapper.access.store import build_index
    from mapper.errors import OutputError

    checker = PrincipalChecker(strict=strict, replicates_permissions=replicates_permissions)
    try:
        _refuse_overwriting(output, output_files(outputs))
        stats = build_index(iter_entries(outputs), output, checker=checker)
    except OutputError as error:
        fail(EXIT_IO, list(error.diagnostics))
    show_findings(stats.findings)
    typer.echo(
        f"indexed {stats.objects:,} objects ({stats.principals:,} principals), "
        f"{stats.users:,} users, {stats.groups:,} groups ({stats.members:,} members) "
        f"into {stats.path}",
        err=True,
    )
    raise typer.Exit(EXIT_REJECTED if stats.findings.has_errors else EXIT_OK)


def _refuse_overwriting(output: Path, inputs: list[Path]) -> None:
    """-o naming one of the outputs read (a JSONL file, a batch file) is a usage error."""
    from mapper.errors import Diagnostic
    from mapper.io.atomic import overwritten_input

    clash = overwritten_input(output, inputs)
    if clash is not None:
        fail(EXIT_USAGE, [Diagnostic("usage.invalid", f"-o {output} would overwrite {clash}, "
                                     "which the index reads")])  # fmt: skip


def show_findings(findings: "AccessFindings") -> None:
    """The principal checks' examples and counts, on stderr."""
    from mapper.cli.console import show_diagnostics

    show_diagnostics(list(findings.diagnostics), max_errors=30)
    if findings.counts:
        counts = ", ".join(f"{code} {n:,}" for code, n in sorted(findings.counts.items()))
        typer.echo(f"access checks: {counts}", err=True)
    else:
        typer.echo("access checks: every USER/GROUP principal names a sent user/group", err=True)


def _open(path: Path) -> "sqlite3.Connection":
    from mapper.access.store import open_index
    from mapper.errors import OutputError

    try:
        return open_index(path)
    except OutputError as error:
        fail(EXIT_IO, list(error.diagnostics))


def who_can_see(
    object_id: Annotated[str, typer.Argument(help="The object's id.", show_default=False)],
    type_name: Annotated[
        str | None, typer.Option("--type", help="Object type, when several share the id.")
    ] = None,
    user: Annotated[
        str | None, typer.Option("--user", help="Answer for this user (externalId) only.")
    ] = None,
    db_path: IndexOpt = Path("graph.db"),
    as_json: JsonOpt = False,
) -> None:
    """Who can see an object, and why: each access control (AND), principal (OR), group and
    container.

    Example: `mapper who-can-see C05ENGPLT-1714564800.000200 -i graph.db`
    """
    from mapper.access import explain, graph
    from mapper.access.reads import find_objects

    db = _open(db_path)
    found = find_objects(db, object_id, type_name)
    if not found:
        fail(EXIT_MAPPING, message=f"no object {object_id!r} in {db_path}")
    if len(found) > 1:
        types = ", ".join(o.type for o in found)
        message = f"{object_id!r} is the id of several objects: give --type ({types})"
        fail(EXIT_USAGE, message=message)
    if user is not None:
        decision = graph.decide(db, found[0], user)
        _print(explain.decision_dict(decision), explain.decision_lines(decision), as_json)
        return
    audience = graph.audience(db, found[0])
    users = explain.user_rows(db, audience.users)
    _print(explain.audience_dict(audience, users), explain.audience_lines(audience, users), as_json)


def _print(data: dict[str, object], lines: list[str], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        typer.echo("\n".join(lines))


def can_see(
    user: Annotated[str, typer.Argument(help="The user's externalId.", show_default=False)],
    db_path: IndexOpt = Path("graph.db"),
    as_json: JsonOpt = False,
) -> None:
    """Every object a user can see, with the reason for each, streamed (JSONL with --json).

    Example: `mapper can-see U024BE7LH -i graph.db`
    """
    from mapper.access import explain, graph

    db = _open(db_path)
    count = 0
    for decision in graph.visible_to(db, user):
        count += 1
        if as_json:
            typer.echo(json.dumps(explain.decision_dict(decision), ensure_ascii=False))
        else:
            typer.echo("\t".join(explain.visible_row(decision)))
    typer.echo(f"{user} can see {count:,} object(s)", err=True)
