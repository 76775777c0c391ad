"""Helpers of the `mapper serve` tests and benchmark: a real server process, signed senders.

The server runs as `python -m mapper serve CONFIG --port 0`; the helper reads its stderr up to
the readiness line (which names the bound port) and then drains it in a thread, so the test
never sleeps to wait for it. Senders use http.client with keep-alive, on 127.0.0.1 only.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SECRET = "test-webhook-secret"
SAMPLE = json.loads((ROOT / "samples/github/push-webhook.json").read_bytes())
READY = re.compile(r"listening on http://[^:]+:(\d+)")

CONFIG = """\
version: 1
data: data
connection_id: serve-test
limits: {{max_body_bytes: {max_body}, concurrency: 64, request_timeout: {timeout}}}
worker: {{batch_size: {batch}, poll_interval: 0.05, process: {process}}}
routes:
  - path: /hooks/github
    source: github
    ack: {ack}
    secret: {{env: SERVE_TEST_SECRET}}
    events:
      push: {mapping}
"""


def write_config(
    folder: Path,
    *,
    max_body: int = 1_048_576,
    batch: int = 200,
    ack: str = "stored",
    timeout: float = 10,
    process: bool = False,
    mapping: Path = ROOT / "mappings/github/push.yaml",
) -> Path:
    """A config in `folder` serving GitHub pushes through the bundled push mapping (or
    `mapping`)."""
    path = folder / "serve.yaml"
    path.write_text(
        CONFIG.format(
            max_body=max_body,
            batch=batch,
            mapping=mapping,
            ack=ack,
            timeout=timeout,
            process=str(process).lower(),
        )
    )
    return path


def push_body(n: int, commits: int = 2) -> bytes:
    """The bundled push sample made unique: commit ids of delivery `n`, a later pushed_at."""
    body = copy.deepcopy(SAMPLE)
    template = body["commits"][0]
    body["commits"] = []
    for j in range(commits):
        commit = copy.deepcopy(template)
        commit["id"] = hashlib.sha1(f"{n}-{j}".encode()).hexdigest()
        body["commits"].append(commit)
    body["head_commit"] = body["commits"][-1]
    body["repository"]["pushed_at"] = 1714569621 + n
    return json.dumps(body).encode()


def headers(
    body: bytes, delivery: str, event: str = "push", secret: str = SECRET
) -> dict[str, str]:
    sig = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "content-type": "application/json", "x-github-event": event,
        "x-github-delivery": delivery, "x-hub-signature-256": sig,
    }  # fmt: skip


@dataclass
class Server:
    """A `mapper serve` process; `port` once it is ready, its stderr lines in `log`."""

    config: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    log: list[str] = field(default_factory=list)
    proc: subprocess.Popen[str] | None = None
    drainer: threading.Thread | None = None

    def start(self, timeout: float = 60) -> Server:
        env = {**os.environ, "SERVE_TEST_SECRET": SECRET, **self.env}
        cmd = [sys.executable, "-m", "mapper", "serve", str(self.config), "--port", "0"]
        self.proc = subprocess.Popen(
            cmd, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
        )
        assert self.proc.stderr is not None
        deadline = time.monotonic() + timeout
        for line in self.proc.stderr:  # blocks on the next line: the readiness signal
            self.log.append(line)
            found = READY.search(line)
            if found:
                self.port = int(found.group(1))
                break
            assert time.monotonic() < deadline, "the server did not start"
        else:
            raise AssertionError("the server exited before it was ready:\n" + "".join(self.log))
        self.drainer = threading.Thread(target=self._drain, daemon=True)
        self.drainer.start()
        return self

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        try:
            for line in self.proc.stderr:
                self.log.append(line)
        except ValueError:  # closed by stop()
            return

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        if self.drainer is not None:
            self.drainer.join(timeout)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        return code

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.stop(signal.SIGKILL)

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def request(
        self, method: str, path: str, body: bytes | None = None, hdrs: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        conn = self.connection()
        try:
            conn.request(method, path, body=body, headers=hdrs or {})
            reply = conn.getresponse()
            return reply.status, reply.read()
        finally:
            conn.close()

    def drained(self, timeout: float = 60) -> dict[str, Any]:
        """Wait (server-side) until the inbox is empty; the health body."""
        deadline = time.monotonic() + timeout
        while True:
            status, body = self.request("GET", "/healthz?wait=10")
            health: dict[str, Any] = json.loads(body)
            if status == 200 and health["inboxDepth"] == 0:
                return health
            assert time.monotonic() < deadline, f"the inbox did not drain: {health}"


def send_all(server: Server, items: list[tuple[str, bytes]], acked: list[str],
             stop: threading.Event | None = None, latencies: list[float] | None = None) -> None:  # fmt: skip
    """Post each (delivery id, body) in order over one keep-alive connection; record acks.

    A connection error (the server was killed) ends the sender: what is not in `acked` is the
    sender's to retry.
    """
    conn = server.connection()
    try:
        for delivery, body in items:
            if stop is not None and stop.is_set():
                return
            started = time.perf_counter()
            try:
                conn.request("POST", "/hooks/github", body=body, headers=headers(body, delivery))
                reply = conn.getresponse()
                reply.read()
            except (OSError, http.client.HTTPException):
                return
            if latencies is not None:
                latencies.append(time.perf_counter() - started)
            if reply.status in (200, 202):
                acked.append(delivery)
    finally:
        conn.close()


def concurrent(server: Server, plan: list[list[tuple[str, bytes]]], **kw: Any) -> list[str]:
    """One sender thread per list in `plan`; the delivery ids acknowledged."""
    acked: list[str] = []
    threads = [threading.Thread(target=send_all, args=(server, p, acked), kwargs=kw) for p in plan]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return acked


def split(items: list[Any], parts: int) -> list[list[Any]]:
    return [items[i::parts] for i in range(parts)]


def outbox_objects(data: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(batch seq, object) of every done batch's setObjects bodies, in send order."""
    import sqlite3

    conn = sqlite3.connect(data / "inbox.db")
    try:
        seqs = [
            r[0] for r in conn.execute("SELECT seq FROM batches WHERE status='done' ORDER BY seq")
        ]
    finally:
        conn.close()
    for seq in seqs:
        path = data / "outbox" / f"{seq:08d}" / "setObjects.jsonl"
        for line in path.read_bytes().splitlines() if path.is_file() else []:
            for obj in json.loads(line)["objects"]:
                yield seq, obj


def delivery_rows(data: Path) -> dict[str, tuple[str, int]]:
    """delivery id -> (status, number of outcome rows)."""
    import sqlite3

    conn = sqlite3.connect(data / "inbox.db")
    try:
        rows = conn.execute(
            "SELECT d.delivery_id, d.status, (SELECT count(*) FROM outcomes o WHERE o.delivery=d.id)"
            " FROM deliveries d"
        ).fetchall()
    finally:
        conn.close()
    return {d: (s, n) for d, s, n in rows}
