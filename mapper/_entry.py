"""The `mapper` console script: imports nothing before it can catch Ctrl-C and a closed pipe.

Ctrl-C at any moment (start-up included) exits 130 with one line and no traceback; a reader
that goes away (`mapper run ... -o - | head -1`) ends the run quietly with 141 (128 + SIGPIPE),
as other Unix tools do. A shell-completion request is answered from a table when it can be
(`mapper._completion`: no typer, pydantic or engine imported).
"""

from __future__ import annotations

import os
import sys

EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


def main() -> None:
    """Run the command line."""
    try:
        if "_MAPPER_COMPLETE" in os.environ:  # a TAB press: answered without typer if it can be
            from mapper._completion import main as complete

            if complete():
                return
        from mapper.cli import main as run_cli

        run_cli()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(EXIT_INTERRUPTED) from None
    except BrokenPipeError:
        _silence_stdout()
        raise SystemExit(EXIT_BROKEN_PIPE) from None


def _silence_stdout() -> None:
    """Point stdout at /dev/null: flushing it at exit would fail again."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
