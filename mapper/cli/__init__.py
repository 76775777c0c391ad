"""The `mapper` command line: a thin typed layer over the library; it alone picks exit codes.

One module per command group, composed by `mapper.cli.lazy` (which imports a module only when
one of its commands runs): `run` (run, batch), `inspect` (preview, explain), `evaluate` (eval),
`authoring` (test, init), `reference` (validate, functions, types, schema), `access` (index,
who-can-see, can-see), `connector` (docs, manifest, connector-schema), `sync` (sync, state),
`serve` (serve, outbox). Each command parses its options, calls the library and prints; none
calls another command.
Exit codes: 0 ok; 1 invalid mapping or failed test; 2 usage error; 3 records rejected;
4 input/output problem; 130 interrupted.
"""

import errno
import signal
from pathlib import Path
from typing import Annotated

import typer

from mapper import __version__
from mapper.cli.console import ALLOWED_PATHS
from mapper.cli.console import (
    EXIT_INTERRUPTED as EXIT_INTERRUPTED,
)
from mapper.cli.console import (
    EXIT_IO as EXIT_IO,
)
from mapper.cli.console import (
    EXIT_MAPPING as EXIT_MAPPING,
)
from mapper.cli.console import (
    EXIT_OK as EXIT_OK,
)
from mapper.cli.console import (
    EXIT_REJECTED as EXIT_REJECTED,
)
from mapper.cli.console import (
    EXIT_USAGE as EXIT_USAGE,
)
from mapper.cli.console import err as err
from mapper.cli.console import out as out
from mapper.cli.lazy import LazyGroup

app = typer.Typer(
    name="mapper",
    no_args_is_help=True,
    cls=LazyGroup,
    rich_markup_mode=None,  # click's plain help: typer's rich help imports rich, markdown, pygments
    help="Turn raw JSON into validated Atlassian Teamwork Graph objects with YAML mappings.",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mapper {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
    allow_path: Annotated[
        list[Path],
        typer.Option(
            "--allow-path",
            help="A folder outside the mapping's own that its `include:` files may come from.",
        ),
    ] = [],  # noqa: B006
) -> None:
    """Turn raw JSON into validated Atlassian Teamwork Graph objects with YAML mappings."""
    ALLOWED_PATHS[:] = allow_path




EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: the reader of stdout went away (`| head -1`)


def main() -> None:
    """Console-script entry point (through `mapper._entry`, which catches what start-up meets).

    click turns Ctrl-C into "Aborted!" and a closed stdout into exit 1; the documented codes are
    130 and 141.
    """
    for stop in (signal.SIGTERM, signal.SIGHUP):  # stop a run as Ctrl-C does (exit 130)
        signal.signal(stop, _interrupt)
    try:
        app()  # rich's Console honours NO_COLOR itself
    except SystemExit as stop:
        cause = _cause(stop)
        if isinstance(cause, KeyboardInterrupt):
            err.print("[yellow]interrupted[/]")
            raise SystemExit(EXIT_INTERRUPTED) from None
        if isinstance(cause, BrokenPipeError) or (
            isinstance(cause, OSError) and cause.errno == errno.EPIPE
        ):
            raise SystemExit(EXIT_BROKEN_PIPE) from None
        raise


def _cause(error: BaseException) -> BaseException | None:
    """The first Ctrl-C or broken pipe in the chain of exceptions that led to `error`."""
    seen = error.__cause__ or error.__context__
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt | OSError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)
