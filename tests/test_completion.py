"""Fast shell completion answers exactly as typer does, and its table is current."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mapper import _completion
from mapper.cli import app
from mapper.cli.completion import TABLE_FILE, build_table, render_table

ROOT = Path(__file__).resolve().parents[1]

LINES = [
    "mapper ",
    "mapper ru",
    "mapper v",
    "mapper zz",
    "mapper -",
    "mapper --",
    "mapper --allow-path x ",
    "mapper --allow-path x ru",
    "mapper --version ",
    "mapper run ",
    "mapper run -",
    "mapper run --",
    "mapper run --fo",
    "mapper run --format ",
    "mapper run --format j",
    "mapper run --format jsonl --",
    "mapper run -o out.jsonl -",
    "mapper run --output out.jsonl --",
    "mapper run -q --",
    "mapper run --param a=1 --param b=2 --pa",
    "mapper run --diagnostics ",
    "mapper run --diagnostics s",
    "mapper run --diagnostics-file ",
    "mapper run mappings/gi",
    "mapper run mappings/github/push.yaml ",
    "mapper run m.yaml in.json -o ",
    "mapper run --engine ",
    "mapper validate --format ",
    "mapper validate --",
    "mapper test --",
    "mapper explain --",
    "mapper preview ",
    "mapper types ",
    "mapper functions ",
    "mapper who-can-see --",
]
SHELLS = ["bash", "zsh", "fish"]


def _env(shell: str, line: str) -> dict[str, str]:
    env = {"_MAPPER_COMPLETE": f"complete_{shell}"}
    if shell == "bash":
        words = line.split()
        cword = len(words) - (0 if line.endswith(" ") else 1)
        env |= {"COMP_WORDS": line, "COMP_CWORD": str(cword)}
    else:
        env["_TYPER_COMPLETE_ARGS"] = line
        if shell == "fish":
            env["_TYPER_COMPLETE_FISH_ACTION"] = "get-args"
    return env


def _typer(env: dict[str, str]) -> tuple[str, int]:
    result = CliRunner().invoke(app, [], env=env, prog_name="mapper")
    return result.stdout, result.exit_code


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("line", LINES)
def test_fast_completion_answers_as_typer_does(shell: str, line: str) -> None:
    env = _env(shell, line)
    fast = _completion.answer(env)
    if fast is None:
        pytest.skip("left to typer")  # counted below: most lines must be answered fast
    assert fast == _typer(env)


def test_most_tabs_are_answered_without_typer() -> None:
    answered = [line for line in LINES if _completion.answer(_env("bash", line)) is not None]
    assert len(answered) >= len(LINES) - 3, sorted(set(LINES) - set(answered))


def test_the_completion_table_is_current() -> None:
    assert TABLE_FILE.read_text(encoding="utf-8") == render_table(build_table()), (
        "run: python -m mapper.cli.completion"
    )


def test_a_tab_imports_neither_typer_nor_the_engine() -> None:
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['mapper']\n"
        "from mapper._entry import main\n"
        "main()\n"
        "heavy = [m for m in ('typer', 'pydantic', 'rich', 'mapper.cli', 'mapper.engine')"
        " if m in sys.modules]\n"
        "sys.stderr.write(repr(heavy))\n"
    )
    env = {**os.environ, **_env("bash", "mapper ru")}
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0
    assert done.stdout == "run\n" and done.stderr == "[]"
