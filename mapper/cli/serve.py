"""`mapper serve` (live webhook intake) and `mapper outbox list|export|ack`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from mapper.cli.console import EXIT_IO, EXIT_MAPPING, EXIT_OK, EXIT_USAGE, err, fail, literal, out

T = TypeVar("T")
outbox_app = typer.Typer(
    name="outbox", no_args_is_help=True, rich_markup_mode=None,
    help="List, export and acknowledge the batches `mapper serve` wrote.",
)  # fmt: skip
DataArg = Annotated[
    Path,
    typer.Argument(help="The server's data folder (`data:` in its config).", show_default=False),
]


def serve(
    config: Annotated[Path, typer.Argument(help="Server config (YAML).", show_default=False)],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    data: Annotated[
        Path | None, typer.Option(help="Data folder instead of the config's `data:`.")
    ] = None,
    port: Annotated[
        int, typer.Option(help="Port (0: any free one, shown on start).", min=0)
    ] = 8080,
    access_log: Annotated[
        bool, typer.Option(help="One JSON line per request on stderr (no bodies, no secrets).")
    ] = True,
    graceful: Annotated[
        float, typer.Option(help="Seconds in-flight requests get on SIGTERM.", min=0)
    ] = 30.0,
) -> None:
    """Receive webhooks, verify them, store them durably, and map them into the outbox.

    Example: `mapper serve mappings/github/serve.yaml --data serve-data`
    """
    from mapper.errors import MapperError, UsageError
    from mapper.serve.config import load_config
    from mapper.serve.server import check_installed
    from mapper.serve.server import serve as run_server

    try:
        check_installed()
    except UsageError as error:
        fail(EXIT_USAGE, list(error.diagnostics))
    loaded, diags = load_config(config, data=data)
    if loaded is None:
        fail(EXIT_MAPPING, diags, f"[red]{literal(str(config))}: the config is invalid[/]")
    _logging(access_log)

    def ready(bound_host: str, bound_port: int) -> None:
        routes = ", ".join(r.path for r in loaded.routes)
        err.print(f"mapper serve: listening on http://{bound_host}:{bound_port} ({routes})")

    try:
        run_server(loaded, host=host, port=port, ready=ready, graceful=graceful)
    except KeyboardInterrupt:  # uvicorn re-raises the SIGTERM/SIGINT it handled gracefully
        err.print("mapper serve: stopped")
    except MapperError as error:
        fail(EXIT_IO, list(error.diagnostics))
    except OSError as error:
        fail(EXIT_IO, message=f"[red]cannot listen on {host}:{port}: {error.strerror or error}[/]")
    raise typer.Exit(EXIT_OK)


def _logging(access: bool) -> None:
    import logging

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    for name, level in (("mapper.serve.access", logging.INFO), ("mapper.serve", logging.WARNING)):
        logger = logging.getLogger(name)
        logger.setLevel(level if access or name != "mapper.serve.access" else logging.WARNING)
        logger.addHandler(handler)
        logger.propagate = False


@outbox_app.command("list")
def outbox_list(
    data: DataArg,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
    all_batches: Annotated[bool, typer.Option("--all", help="Acknowledged batches too.")] = False,
) -> None:
    """The batches the worker wrote, oldest first: sequence, mapping, bodies, state.

    Example: `mapper outbox list serve-data`
    """
    from mapper.serve.outbox import list_outbox

    entries = _or_exit(lambda: list_outbox(data, include_acked=all_batches))
    for e in entries:
        row = {
            "seq": e.batch.seq, "mapping": e.batch.mapping, "objects": e.batch.objects,
            **e.bodies, "state": e.state,
        }  # fmt: skip
        if as_json:
            typer.echo(json.dumps(row))
        else:
            others = "".join(
                f"{n} {kind}, " for kind, n in e.bodies.items()
                if n and kind not in ("setObjects", "deleteObjects")
            )  # fmt: skip
            out.print(
                f"{e.batch.seq:>8}  {e.state:<8}  {e.batch.objects:>6} sent  {others}"
                f"{e.set_bodies} setObjects, {e.delete_bodies} delete  {literal(e.batch.mapping)}"
            )
    if not entries and not as_json:
        err.print("the outbox is empty")


@outbox_app.command("export")
def outbox_export(
    data: DataArg,
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the body files.")],
) -> None:
    """Write each setObjects/delete body not exported yet as a file, named in send order.

    Example: `mapper outbox export serve-data -o to-send/`
    """
    from mapper.serve.outbox import export_outbox

    files = _or_exit(lambda: export_outbox(data, output))
    for path in files:
        typer.echo(str(path))
    err.print(f"{len(files)} file(s) exported")


@outbox_app.command("ack")
def outbox_ack(
    data: DataArg,
    through: Annotated[int, typer.Option(help="Acknowledge the batches up to this one.", min=1)],
) -> None:
    """Tell the server an ingesting process has sent the exported batches up to --through.

    Example: `mapper outbox ack serve-data --through 12`
    """
    from mapper.serve.outbox import ack_outbox

    seqs = _or_exit(lambda: ack_outbox(data, through))
    err.print(f"{len(seqs)} batch(es) acknowledged")


def _or_exit(call: Callable[[], T]) -> T:
    from mapper.errors import MapperError, UsageError

    try:
        return call()
    except UsageError as error:
        fail(EXIT_USAGE, list(error.diagnostics))
    except MapperError as error:
        fail(EXIT_IO, list(error.diagnostics))
