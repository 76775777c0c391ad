"""Running the app: uvicorn on HOST:PORT, a readiness callback with the bound address.

starlette and uvicorn come with the `serve` extra; without it `serve` raises a UsageError that
says how to install them (the CLI exits 2). uvicorn handles SIGTERM and SIGINT: it stops
accepting, lets in-flight requests finish (up to `graceful` seconds), then the app's lifespan
stops the worker after its current batch.
"""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Callable

from mapper.errors import Diagnostic, OutputError, UsageError
from mapper.serve.config import ServeConfig

INSTALL_HINT = "install it with: pip install 'twg-mapper[serve]' (starlette, uvicorn, pyjwt)"


def _missing(error: ImportError) -> UsageError:
    message = f"mapper serve needs {error.name or 'starlette, uvicorn and pyjwt'}: {INSTALL_HINT}"
    return UsageError([Diagnostic("usage.invalid", message)])


def check_installed() -> None:
    """Raise UsageError (with the install command) when the serve extra is missing."""
    try:
        import jwt  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as error:
        raise _missing(error) from None


def serve(
    config: ServeConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    ready: Callable[[str, int], None] | None = None,
    graceful: float = 30.0,
    worker: bool = True,
) -> None:
    """Serve until SIGTERM/SIGINT; `ready(host, port)` once the socket accepts (port 0: any).

    Raises:
        UsageError: the serve extra is not installed.
        OutputError: the inbox cannot be created or opened in the data folder.
        OSError: the address cannot be bound.
    """
    check_installed()
    import uvicorn

    from mapper.serve.app import create_app

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # accepted connections inherit it: no 40 ms Nagle/delayed-ACK stall per keep-alive answer
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    bound = sock.getsockname()[1]
    try:
        app = create_app(config, worker=worker)
    except (OSError, sqlite3.Error) as error:
        sock.close()
        message = f"cannot open the inbox in {config.data}: {error}"
        raise OutputError([Diagnostic("output.write-failed", message)]) from None
    settings = uvicorn.Config(
        app, log_config=None, access_log=False, timeout_graceful_shutdown=int(graceful),
        lifespan="on", server_header=False,
    )  # fmt: skip

    class _Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started and ready is not None:
                ready(host, bound)

    try:
        _Server(settings).run(sockets=[sock])
    finally:
        sock.close()
