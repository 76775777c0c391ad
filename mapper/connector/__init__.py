"""Teamwork Graph connectors built from mappings: connector files, lint, docs, manifest.

`check_connector(path)` loads a connector file, compiles its mappings and lints it;
`connector_docs` and `connector_manifest` render what a connector that checks out declares.
"""

from __future__ import annotations

from pathlib import Path

from mapper.connector.loader import LoadedConnector, is_connector_file
from mapper.errors import Diagnostic, SpecError

__all__ = ["LoadedConnector", "check_connector", "connector_docs", "connector_manifest",
           "is_connector_file", "load_checked"]


def check_connector(path: Path) -> tuple[LoadedConnector | None, list[Diagnostic]]:
    """Load, compile and lint a connector file; never raises for bad input.

    Returns:
        The connector (None when its shape is wrong) and every problem: its own, its
        mappings', and the lint's findings located in the connector file.
    """
    from mapper.connector.lint import lint_connector
    from mapper.connector.loader import load_connector

    connector, diags = load_connector(path)
    if connector is None:
        return None, diags
    return connector, diags + lint_connector(connector)


def load_checked(path: Path) -> tuple[LoadedConnector, list[Diagnostic]]:
    """A connector without errors, and its warnings.

    Raises:
        SpecError: with every error, when the connector file or a mapping has any.
    """
    connector, diags = check_connector(path)
    errors = [d for d in diags if d.is_error]
    if connector is None or errors:
        raise SpecError(errors)
    return connector, diags


def connector_docs(connector: LoadedConnector, *, fmt: str = "markdown") -> str:
    """The connector documentation as Markdown (`fmt="markdown"`) or HTML (`fmt="html"`)."""
    from mapper.connector.docs import connector_document
    from mapper.connector.document import RENDERERS

    return RENDERERS[fmt](connector_document(connector))


def connector_manifest(connector: LoadedConnector) -> str:
    """The Forge `graph:connector` module and scopes, as YAML."""
    from mapper.connector.manifest import manifest_yaml

    return manifest_yaml(connector)
