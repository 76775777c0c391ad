"""What the command-line tests share: a wide console and `invoke` (exit code, stdout, stderr)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from mapper import cli
from mapper.cli import app


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich tables wrap at 80 columns when not on a terminal; widen them so words stay whole.
    (A module that imports this fixture has it for every test.)"""
    monkeypatch.setattr(cli.out.get(), "width", 240)
    monkeypatch.setattr(cli.err.get(), "width", 240)


def invoke(*args: object, input: str | None = None) -> tuple[int, str, str]:
    """Run the app; return (exit code, stdout, stderr). Never a traceback, never a crash."""
    result = CliRunner().invoke(app, [str(a) for a in args], input=input)
    both = result.stdout + result.stderr
    assert "Traceback" not in both, both
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stdout, result.stderr
