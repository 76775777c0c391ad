"""The worker in its own process (`worker: {process: true}`): the request process only verifies
and stores, so mapping never holds its interpreter (the GIL) while it answers.

The server starts `python -c 'from mapper.serve.process import main; main(...)'` with the config
path, the data folder and its own pid. The child loads the same config (the environment, and so
the secrets, are inherited) and runs `Worker.serve_forever` over the shared SQLite inbox (WAL:
one writer at a time, readers never blocked). It polls the inbox every `poll_interval` (no wake
across processes), stops after its current batch on SIGTERM, and stops by itself when its
parent is gone (the server was killed). An exclusive lock on `DATA/worker.lock` (flock, released
by the kernel when a process dies) makes sure that a worker left finishing its batch after a
SIGKILL of its server never runs beside the next server's worker.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from mapper.serve.config import ServeConfig, load_config
from mapper.serve.worker import Worker

log = logging.getLogger("mapper.serve.worker")


def spawn(config: ServeConfig) -> subprocess.Popen[bytes]:
    """Start the worker process of `config` (its stderr is the server's)."""
    code = "import sys; from mapper.serve.process import main; main(sys.argv[1:])"
    args = [str(config.path), str(config.data), str(os.getpid())]
    return subprocess.Popen([sys.executable, "-c", code, *args], stdin=subprocess.DEVNULL)


def stop(child: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    """Ask the worker process to finish its batch and exit; wait for it."""
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)
    try:
        child.wait(timeout)
    except subprocess.TimeoutExpired:
        child.kill()  # a batch that long is re-run from the inbox by the next worker
        child.wait()


def main(argv: list[str]) -> None:
    """The worker process: CONFIG DATA PARENT_PID."""
    config_path, data, parent = Path(argv[0]), Path(argv[1]), int(argv[2])
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    logging.getLogger("mapper.serve").addHandler(handler)
    config, diags = load_config(config_path, data=data)
    if config is None:  # the server loaded it a moment ago: only a file changed in between
        for diag in diags:
            log.error("worker: %s", diag)
        return
    worker = Worker(config)

    def halt(*_: object) -> None:
        worker.stop.set()
        worker.wake.set()

    signal.signal(signal.SIGTERM, halt)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the server, which stops us
    orphan = threading.Thread(target=_watch_parent, args=(parent, worker), daemon=True)
    orphan.start()
    try:
        worker.serve_forever()  # (waits for the lock a previous server's worker holds)
    finally:
        worker.close()


def _watch_parent(parent: int, worker: Worker) -> None:
    """Stop the worker once the server process is gone (it was killed: nobody will stop us)."""
    while not worker.stop.wait(0.5):
        if os.getppid() != parent:
            worker.stop.set()
            worker.wake.set()
