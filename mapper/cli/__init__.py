"""The `mapper` command line: a thin typed layer over the library; it alone picks exit codes.

One module per command group, composed here: `run` (run, batch), `inspect` (preview,
explain), `authoring` (test, init), `reference` (validate, functions, types, schema). Each
command parses its options, calls the library and prints; none calls another command.
Exit codes: 0 ok; 1 invalid mapping or failed test; 2 usage error; 3 records rejected;
4 input/output problem; 130 interrupted.
"""

import signal
from typing import Annotated

import typer

from mapper import __version__
from mapper.cli import authoring, connector, inspect, reference, run, sync
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

app = typer.Typer(
    name="mapper",
    no_args_is_help=True,
    rich_markup_mode="markdown",
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
) -> None:
    """Turn raw JSON into validated Atlassian Teamwork Graph objects with YAML mappings."""


COMMANDS = (  # in the order `mapper --help` lists them
    ("validate", reference.validate),
    ("run", run.run_cmd),
    ("preview", inspect.preview),
    ("explain", inspect.explain),
    ("test", authoring.test),
    ("init", authoring.init),
    ("batch", run.batch),
    ("functions", reference.functions),
    ("types", reference.types),
    ("schema", reference.schema),
    *connector.COMMANDS,
)
for name, command in COMMANDS:
    app.command(name)(command)
sync.register(app)  # mapper sync, mapper state ...


def main() -> None:
    """Console-script entry point: SIGTERM and SIGHUP stop a run as Ctrl-C does (exit 130,
    temporary files removed, previous outputs kept)."""
    for stop in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop, _interrupt)
    app()  # rich's Console honours NO_COLOR itself


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)
