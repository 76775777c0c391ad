"""Commands built when they are used: `mapper run …` imports the run command's module only.

A typer app builds every command (its options, their types) before it parses anything, and
importing every command module pulls in most of the library: that start-up is paid by every
`mapper` call, `--help` and `--version` included. This group (click's "lazily loading
subcommands" pattern) knows the commands by name and builds one when click asks for it. The
top-level `--help` lists the commands with the help texts kept in the generated command table
(`mapper/_completion_table.py`, key `help`, made by `python -m mapper.cli.completion` and checked
by a test), so listing them builds none.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

COMMANDS: dict[str, str] = {  # name -> "module:attribute" in mapper.cli, in `--help` order
    "validate": "reference:validate",
    "run": "run:run_cmd",
    "preview": "inspect:preview",
    "explain": "inspect:explain",
    "eval": "evaluate:eval_cmd",
    "test": "authoring:test",
    "init": "authoring:init",
    "batch": "run:batch",
    "index": "access:index",
    "who-can-see": "access:who_can_see",
    "can-see": "access:can_see",
    "functions": "reference:functions",
    "types": "reference:types",
    "schema": "reference:schema",
    "docs": "connector:docs",
    "manifest": "connector:manifest",
    "connector-schema": "connector:connector_schema",
    "sync": "sync:sync",
    "sync-batch": "sync:sync_batch",
    "serve": "serve:serve",
    "state": "sync:state_app",  # command groups (a typer app each)
    "outbox": "serve:outbox_app",
}


def build(name: str) -> Any:
    """The click command `name`, built from its function (or its typer app, for a group)."""
    module, _, attr = COMMANDS[name].partition(":")
    target = getattr(importlib.import_module(f"mapper.cli.{module}"), attr)
    if isinstance(target, typer.Typer):
        return typer.main.get_command(target)
    holder = typer.Typer(rich_markup_mode=None, add_completion=False)
    holder.command(name)(target)
    return typer.main.get_command(holder)


class LazyGroup(TyperGroup):
    """The `mapper` group: each command is built on first use and kept."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = self.commands.get(cmd_name)
        if command is None and cmd_name in COMMANDS:
            command = self.commands[cmd_name] = build(cmd_name)
        return command

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The command list of `--help`, from the table's help texts (nothing is built)."""
        built = self.commands
        self.commands = {**{name: _listed(name) for name in COMMANDS}, **built}
        try:
            super().format_commands(ctx, formatter)
        finally:
            self.commands = built


def load_all(group: Any) -> dict[str, Any]:
    """Every command, built (for the command table's generator and tests)."""
    ctx = group.make_context("mapper", [], resilient_parsing=True)
    return {name: group.get_command(ctx, name) for name in group.list_commands(ctx)}


def _listed(name: str) -> Any:
    """A stand-in that carries only what the command list shows."""
    from mapper._completion_table import TABLE

    texts: dict[str, list[str | None]] = TABLE["help"]  # type: ignore[assignment]
    help_text, short_help = texts.get(name, ["", None])
    return TyperCommand(name, help=help_text, short_help=short_help)
