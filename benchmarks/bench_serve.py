"""`mapper serve`: acknowledgements per second and their latency, with and without mapping in
the request path.

Run: ``.venv/bin/python -m benchmarks.bench_serve [--deliveries N] [--senders 4]`` (default
2,000 deliveries of the bundled GitHub push sample, each made unique). A real server process on
127.0.0.1 per scenario:

- ``stored``: the route answers once the delivery is committed to the inbox (the default);
  the worker maps in the background, on the same 2 cores;
- ``mapped``: the route has ``ack: mapped``: the answer waits until the worker has mapped the
  delivery into the outbox (mapping in the request path);
- ``process``: as ``stored``, with ``worker: {process: true}``: the worker maps in its own
  process, so the request process only verifies and stores (the CPU figure adds the worker's).

Per scenario: acknowledgements/s and p50/p99 latency (wall clock, seen by the senders), the
time until the inbox is empty, and the server's CPU time (user + system, /proc) — on a
shared machine the CPU time is the comparable figure. The load average is recorded beside.
Figures land in ``benchmarks/serve_results.json``. Not a test module: pytest never collects it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.serve_support import Server, concurrent, push_body, split, write_config

HERE = Path(__file__).resolve().parent


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def scenario(mode: str, deliveries: int, senders: int) -> dict[str, Any]:
    items = [(f"b{n}", push_body(n)) for n in range(deliveries)]
    ack, process = ("stored", True) if mode == "process" else (mode, False)
    with (
        tempfile.TemporaryDirectory() as tmp,
        Server(write_config(Path(tmp), ack=ack, batch=500, process=process)) as server,
    ):
        assert server.proc is not None
        worker = server.drained().get("workerPid")
        pids = [server.proc.pid, *([worker] if worker else [])]
        cpu0, started = sum(map(_cpu, pids)), time.perf_counter()
        latencies: list[float] = []
        acked = concurrent(server, split(items, senders), latencies=latencies)
        sent = time.perf_counter() - started
        server.drained(timeout=600)
        drained = time.perf_counter() - started
        cpu = sum(map(_cpu, pids)) - cpu0
    return {
        "mode": mode, "deliveries": deliveries, "senders": senders, "acked": len(acked),
        "acks_per_s_wall": round(len(acked) / sent, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(_quantile(latencies, 0.99) * 1000, 2),
        "until_inbox_empty_s_wall": round(drained, 2),
        "server_cpu_s": round(cpu, 2),
        "server_cpu_ms_per_delivery": round(cpu * 1000 / deliveries, 3),
        "loadavg_1m_after": round(os.getloadavg()[0], 2),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--mode", action="append", choices=("stored", "mapped", "process"))
    parser.add_argument("--out", type=Path, default=HERE / "serve_results.json")
    args = parser.parse_args()
    rows = []
    for mode in args.mode or ("stored", "mapped", "process"):
        before = os.getloadavg()[0]
        row = {
            "loadavg_1m_before": round(before, 2),
            **scenario(mode, args.deliveries, args.senders),
        }
        print(json.dumps(row))
        rows.append(row)
    result = {"when": datetime.now(UTC).isoformat(timespec="seconds"), "cores": os.cpu_count(),
              "rows": rows}  # fmt: skip
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
