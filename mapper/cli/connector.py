"""`mapper docs`, `manifest` and `connector-schema`, and the connector part of `validate`."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mapper.cli.console import (
    EXIT_IO,
    EXIT_MAPPING,
    EXIT_USAGE,
    fail,
    literal,
    show_diagnostics,
    write_or_echo,
)

if TYPE_CHECKING:
    from mapper.connector import LoadedConnector
    from mapper.errors import Diagnostic


class DocFormat(str, Enum):
    """Output formats of `mapper docs`."""

    markdown = "markdown"
    html = "html"


ConnectorArg = Annotated[
    Path, typer.Argument(help="Connector file (connector.yaml).", show_default=False)
]
OutputOpt = Annotated[Path | None, typer.Option("-o", "--output", help="Write to a file.")]


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
    _refuse_overwriting(output, checked)
    _write(connector_docs(checked, fmt=fmt.value), output)


def manifest(connector: ConnectorArg, output: OutputOpt = None) -> None:
    """Write the Forge `graph:connector` module and scopes (YAML for manifest.yml).

    Example: `mapper manifest mappings/github/connector.yaml`
    """
    from mapper.connector import connector_manifest

    checked = _checked_or_exit(connector)
    _refuse_overwriting(output, checked)
    _write(connector_manifest(checked), output)


def connector_schema(output: OutputOpt = None) -> None:
    """Print the JSON Schema of connector files (for YAML editor completion).

    Example: `mapper connector-schema -o connector.schema.json`
    """
    import json

    from mapper.connector.spec import json_schema

    _write(json.dumps(json_schema(), indent=2) + "\n", output)


def check_connector_file(path: Path, _document: object = None) -> tuple[list[Diagnostic], str]:
    """`mapper validate` on a connector file: its problems (its mappings' too), and what it
    is when it has none."""
    from mapper.connector import check_connector

    connector, diags = check_connector(path)
    if connector is None:
        return diags, ""
    types = ", ".join(connector.spec.objectTypes)
    return diags, f"connector, {len(connector.mappings)} mapping(s) → {types}"


def _checked_or_exit(path: Path) -> LoadedConnector:
    from mapper.connector import check_connector

    if not path.is_file():
        fail(EXIT_IO, message=f"[red]{literal(str(path))}: no such file[/]")
    connector, diags = check_connector(path)
    if any(d.code == "connector.unreadable" for d in diags):  # an I/O failure, not a bad file
        fail(EXIT_IO, diags)
    if connector is None or any(d.is_error for d in diags):
        fail(EXIT_MAPPING, diags, f"[red]{literal(str(path))}: the connector is invalid[/]")
    show_diagnostics(diags)
    return connector


def _refuse_overwriting(output: Path | None, connector: LoadedConnector) -> None:
    """-o naming a file the connector was read from (it, a mapping, an include): exit 2."""
    from mapper.errors import Diagnostic
    from mapper.io.atomic import overwritten_input

    clash = None if output is None else overwritten_input(output, connector.files)
    if clash is not None:
        message = f"-o {output} would overwrite {clash}, which the connector is read from"
        fail(EXIT_USAGE, [Diagnostic("usage.invalid", message, hint="name another file")])


def _write(text: str, output: Path | None) -> None:
    write_or_echo(text, output)
