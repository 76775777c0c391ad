"""Shell completion without typer: a TAB press answered from `_completion_table` in a few ms.

Handles `complete_bash`, `complete_zsh` and `complete_fish` for command names, option names
(those already given are not offered again, as click does), an option's choices, and nothing
for a file or free-text argument (the shell then completes file names). Anything else (a
command group, `--opt=value`, `--`, an argument with choices) returns None, and typer answers.
Standard library only.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from typing import Any

Item = list[str]  # [value, zsh form, fish form]
_COLUMN = {"bash": 0, "zsh": 1, "fish": 2}


def answer(env: Mapping[str, str]) -> tuple[str, int] | None:
    """(what to print, exit code) for the completion request in `env`, or None."""
    instruction, _, shell = env.get("_MAPPER_COMPLETE", "").partition("_")
    if instruction != "complete" or shell not in _COLUMN:
        return None
    words = _words(shell, env)
    if words is None:
        return None
    found = _complete(*words)
    if found is None:
        return None
    return _format(shell, found, env)


def _words(shell: str, env: Mapping[str, str]) -> tuple[list[str], str] | None:
    """(complete args after the program name, the incomplete word), as typer splits them."""
    try:
        if shell == "bash":
            words = _split(env["COMP_WORDS"])
            cword = int(env["COMP_CWORD"])
            return words[1:cword], (words[cword] if cword < len(words) else "")
        line = env.get("_TYPER_COMPLETE_ARGS", "")
        args = _split(line)[1:]
        if args and not line.endswith(" "):
            return args[:-1], args[-1]
        return args, ""
    except (KeyError, ValueError):
        return None


def _split(text: str) -> list[str]:
    """click's split_arg_string: shell words; an unclosed quote keeps what was typed."""
    lex = shlex.shlex(text, posix=True)
    lex.whitespace_split = True
    lex.commenters = ""
    out: list[str] = []
    try:
        for token in lex:
            out.append(token)
    except ValueError:
        out.append(lex.token)
    return out


def _table() -> dict[str, Any]:
    from mapper._completion_table import TABLE

    return TABLE


def _complete(args: list[str], incomplete: str) -> list[Item] | None:
    if "=" in incomplete or "--" in args or incomplete == "=":
        return None
    table = _table()
    at = 0
    while at < len(args) and args[at].startswith("-"):  # options before the command
        if args[at] not in table["top_values"]:
            return None  # --version, --help...: eager options act even on a TAB (typer's way)
        at += 2
    option = incomplete.startswith("-")
    if at > len(args):  # the value of a top-level option
        return None if option else _prefixed(table["values"][args[-1]], incomplete)
    if at == len(args):
        return _prefixed(table["options" if option else "commands"], incomplete)
    leaf = table["leaves"].get(args[at])
    if leaf is None:
        return None  # a group, or no such command: typer says what it says
    return _in_command(leaf, args[at + 1 :], incomplete)


def _in_command(leaf: dict[str, Any], rest: list[str], incomplete: str) -> list[Item] | None:
    if any("=" in arg and arg.startswith("-") for arg in rest):
        return None
    if incomplete.startswith("-"):
        used = _given(leaf, rest)
        return [
            item
            for item in _prefixed(leaf["options"], incomplete)
            if leaf["params"].get(item[0]) not in used
        ]
    if rest and rest[-1] in leaf["values"]:
        return _prefixed(leaf["values"][rest[-1]], incomplete)
    return None if leaf["choice_args"] else []


def _given(leaf: dict[str, Any], rest: list[str]) -> set[str]:
    """Params given on the line that may not repeat (click offers them no more)."""
    used, skip = set(), False
    for arg in rest:
        if skip:
            skip = False
            continue
        name = leaf["params"].get(arg)
        if name is not None and name not in leaf["multiple"]:
            used.add(name)
        skip = arg in leaf["values"]
    return used


def _prefixed(items: list[Item], incomplete: str) -> list[Item]:
    return [item for item in _help_as_click(items) if item[0].startswith(incomplete)]


def _help_as_click(items: list[Item]) -> list[Item]:
    """The help option's names in click's order: that of a set of them, in this process."""
    names = _table()["help_names"]
    return names_in_order(items, names, list(set(names)))


def names_in_order(items: list[Item], names: list[str], order: list[str]) -> list[Item]:
    """`items`, with those whose value is one of `names` rearranged (in their places) to `order`."""
    slots = [i for i, item in enumerate(items) if item[0] in names]
    ordered = sorted((items[i] for i in slots), key=lambda item: order.index(item[0]))
    out = list(items)
    for slot, item in zip(slots, ordered, strict=True):
        out[slot] = item
    return out


def _format(shell: str, items: list[Item], env: Mapping[str, str]) -> tuple[str, int]:
    shown = [item[_COLUMN[shell]] for item in items]
    if shell == "bash":
        return "\n".join(shown) + "\n", 0
    if shell == "zsh":
        text = "_arguments '*: :((" + "\n".join(shown) + "))'" if shown else "_files"
        return text + "\n", 0
    action = env.get("_TYPER_COMPLETE_FISH_ACTION", "")
    if action == "is-args":
        return "", 0 if shown else 1
    return ("\n".join(shown) if action == "get-args" and shown else "") + "\n", 0


def main() -> bool:
    """Answer a completion request from the table; False when typer must answer it."""
    found = answer(os.environ)
    if found is None:
        return False
    text, code = found
    os.write(1, text.encode())
    if code:
        raise SystemExit(code)
    return True
