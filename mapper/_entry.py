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

_QUICK_EXIT: list[bool] = []  # set by a command whose files are all closed when it ends


def exit_quickly() -> None:
    """Let the process end without tearing the interpreter down once this command is done.

    Freeing every object and module at exit costs a 100k-record `mapper run` about 45 ms (of a
    1.3 s run with two workers); a command calls this when everything it wrote is closed.
    """
    _QUICK_EXIT.append(True)


def main() -> None:
    """Run the command line."""
    try:
        if "_MAPPER_COMPLETE" in os.environ:  # a TAB press: answered without typer if it can be
            from mapper._completion import main as complete

            if complete():
                return
        from mapper.cli import main as run_cli

        run_cli()
    except SystemExit as done:
        if _QUICK_EXIT:
            _exit_now(done.code)  # returns when the process cannot end that way
        raise
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(EXIT_INTERRUPTED) from None
    except BrokenPipeError:
        _silence_stdout()
        raise SystemExit(EXIT_BROKEN_PIPE) from None


def _exit_now(code: object) -> None:
    """Run the exit handlers, flush the standard streams and end the process (`os._exit`):
    what a normal exit does, less freeing the heap. Not while other threads run, nor for an
    exit that prints its code (text), nor when a stream cannot be flushed.

    The exit status is decided: from here on a stop signal is ignored (a KeyboardInterrupt
    out of the exit handlers would end the process killed by SIGINT, with no status of ours).
    The usual exit, where this returns, keeps Ctrl-C: it may wait for other threads."""
    threading = sys.modules.get("threading")
    if not (code is None or isinstance(code, int)):
        return
    if threading is not None and threading.active_count() > 1:
        return
    import atexit
    import signal

    stops = [getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n)]
    before = {number: signal.signal(number, signal.SIG_IGN) for number in stops}
    atexit._run_exitfuncs()  # run once: the usual exit, if it comes, finds none left
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        for number, handler in before.items():
            signal.signal(number, handler)
        return  # a closed pipe or stream: the usual exit reports it
    os._exit(code or 0)


def _silence_stdout() -> None:
    """Point stdout at /dev/null: flushing it at exit would fail again."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
