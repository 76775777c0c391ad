"""The table behind fast shell completion (`mapper/_completion.py`), made from the typer app.

A TAB press runs `mapper` with `_MAPPER_COMPLETE` set. Answering it through typer imports typer,
pydantic and every command module (about 0.3 s); the console script answers the common cases
(command names, option names, an option's choices, nothing for a file argument) from this table
instead, and leaves the rest to typer. The table holds what typer itself answers, already
formatted for each shell, so both give the same output (tests/test_completion.py compares
them); `python -m mapper.cli.completion` rewrites it, and a test fails when it is stale.
"""

from __future__ import annotations

import pprint
from pathlib import Path
from typing import Any

from mapper._completion import names_in_order

TABLE_FILE = Path(__file__).resolve().parent.parent / "_completion_table.py"
SHELLS = ("bash", "zsh", "fish")
HEADER = '''"""Shell completion answers, made by `python -m mapper.cli.completion` (do not edit)."""

# fmt: off
'''


def _classes() -> dict[str, Any]:
    from typer._completion_classes import BashComplete, FishComplete, ZshComplete

    return {"bash": BashComplete, "zsh": ZshComplete, "fish": FishComplete}


def build_table() -> dict[str, Any]:
    """What typer answers for each command and option, formatted for each shell."""
    from typer.main import get_command

    from mapper.cli import app
    from mapper.cli.lazy import load_all

    cli = get_command(app)
    commands = load_all(cli)
    shells = {name: cls(cli, {}, "mapper", "_MAPPER_COMPLETE") for name, cls in _classes().items()}

    help_names = list((app.info.context_settings or {})["help_option_names"])

    def items(args: list[str], incomplete: str) -> list[list[str]]:
        found = shells["bash"].get_completions(list(args), incomplete)
        made = [[item.value, *(shells[s].format_completion(item) for s in SHELLS[1:])]
                for item in found]  # fmt: skip
        # click orders the help option's names as a set does, which differs from process to
        # process: the table keeps them as configured, `mapper._completion` redoes click's order
        return names_in_order(made, help_names, help_names)

    ctx = cli.make_context("mapper", [], resilient_parsing=True)
    top = _params(cli, ctx)
    table: dict[str, Any] = {
        "commands": items([], ""),
        "options": items([], "-"),
        "values": {name: items([name], "") for name in top["values"]},
        "top_values": top["values"],
        "help_names": help_names,
        "leaves": {},
        "help": {name: [cmd.help or "", cmd.short_help] for name, cmd in commands.items()},
    }
    for name, command in sorted(commands.items()):
        if hasattr(command, "commands"):
            continue  # a group (sync, state): typer answers
        sub = command.make_context(name, [], parent=ctx, resilient_parsing=True)
        params = _params(command, sub)
        table["leaves"][name] = {
            "options": items([name], "-"),
            "params": params["names"],
            "multiple": params["multiple"],
            "values": {opt: items([name, opt], "") for opt in params["values"]},
            "choice_args": params["choice_args"],
        }
    return table


def _params(command: Any, ctx: Any) -> dict[str, Any]:
    """Option names -> param name, which take a value, which may repeat, and whether a
    positional argument has choices to complete."""
    names: dict[str, str] = {}
    values: list[str] = []
    multiple: list[str] = []
    choice_args = False
    for param in command.get_params(ctx):
        if param.param_type_name != "option":
            choice_args |= bool(param.shell_complete(ctx, ""))
            continue
        for opt in [*param.opts, *param.secondary_opts]:
            names[opt] = param.name
            if not (param.is_flag or param.count):
                values.append(opt)
        if param.multiple:
            multiple.append(param.name)
    return {"names": names, "values": values, "multiple": multiple, "choice_args": choice_args}


def render_table(table: dict[str, Any]) -> str:
    """The table as the source of `mapper/_completion_table.py`."""
    return HEADER + "TABLE = " + pprint.pformat(table, width=100, sort_dicts=True) + "\n"


def main() -> None:
    """Rewrite `mapper/_completion_table.py` from the app."""
    TABLE_FILE.write_text(render_table(build_table()), encoding="utf-8")


if __name__ == "__main__":
    main()
