"""`mapper docs` and `mapper manifest`, and the connector part of `mapper validate`."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from mapper.connector import LoadedConnector


class DocFormat(str, Enum):
    """Output formats of `mapper docs`."""

    markdown = "markdown"
    html = "html"


ConnectorArg = Annotated[
    Path, typer.Argument(help="Connector file (connector.yaml).", show_default=False)
]
OutputOpt = Annotated[Path | None, typer.Option("-o", "--output", help="Write to a file.")]


def register(app: typer.Typer) -> None:
    """Add these commands to the app."""
    for command in (docs, manifest):
        app.command()(command)
    app.command("connector-schema")(connector_schema)


def _cli() -> Any:
    from mapper import cli

    return cli


def docs(
    connector: ConnectorArg,
    output: OutputOpt = None,
    fmt: Annotated[DocFormat, typer.Option("--format", help="markdown or html.")] = (
        DocFormat.markdown
    ),
) -> None:
    """Write the connector documentation (data scope, permissions, sync, deletion, controls).

    Example: `mapper docs mappings/github/connector.yaml -o docs.md`
    """
    from mapper.connector import connector_docs

    checked = _checked_or_exit(connector)
    _write(connector_docs(checked, fmt=fmt.value), output)


def manifest(connector: ConnectorArg, output: OutputOpt = None) -> None:
    """Write the Forge `graph:connector` module and scopes (YAML for manifest.yml).

    Example: `mapper manifest mappings/github/connector.yaml`
    """
    from mapper.connector import connector_manifest

    checked = _checked_or_exit(connector)
    _write(connector_manifest(checked), output)


def connector_schema(output: OutputOpt = None) -> None:
    """Print the JSON Schema of connector files (for YAML editor completion).

    Example: `mapper connector-schema -o connector.schema.json`
    """
    import json

    from mapper.connector.spec import json_schema

    _write(json.dumps(json_schema(), indent=2) + "\n", output)


def validate_connector(path: Path, max_errors: int) -> bool:
    """`mapper validate` on a connector file: print its problems; True when it has errors."""
    from mapper.connector import check_connector

    cli = _cli()
    connector, diags = check_connector(path)
    cli.show_diagnostics(diags, max_errors)
    failed = connector is None or any(d.is_error for d in diags)
    if not failed and connector is not None:
        types = ", ".join(connector.spec.objectTypes)
        name, count = cli.literal(str(path)), len(connector.mappings)
        cli.err.print(f"[green]✓[/] {name}: connector, {count} mapping(s) → {types}")
    return failed


def _checked_or_exit(path: Path) -> LoadedConnector:
    from mapper.connector import check_connector

    cli = _cli()
    if not path.is_file():
        cli._fail(cli.EXIT_IO, message=f"[red]{cli.literal(str(path))}: no such file[/]")
    connector, diags = check_connector(path)
    if connector is None or any(d.is_error for d in diags):
        message = f"[red]{cli.literal(str(path))}: the connector is invalid[/]"
        cli._fail(cli.EXIT_MAPPING, diags, message)
    assert connector is not None  # _fail exits
    if diags:
        cli.show_diagnostics(diags)
    return connector


def _write(text: str, output: Path | None) -> None:
    if output is None:
        typer.echo(text, nl=False)
        return
    from mapper.errors import OutputError
    from mapper.io.sinks import write_atomic

    try:
        write_atomic(output, text.encode())
    except OutputError as error:
        _cli()._fail(_cli().EXIT_IO, list(error.diagnostics))
