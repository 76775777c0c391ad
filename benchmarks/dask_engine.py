"""`mapper run` on W1: 1 worker, `--workers 2`, and a 2-worker Dask LocalCluster, in one run.

Run: ``.venv/bin/python -m benchmarks.dask_engine [--records N] [--repeat R] [--rows a,b]``.

Rows (whole `mapper run` processes, JSONL file in, JSONL file out, rows taking turns):

* ``local-1``: one process;
* ``workers-2``: ``--workers 2``;
* ``dask-2``: ``--engine dask --scheduler ADDR`` against a 2-worker LocalCluster (processes,
  one thread each, no dashboard, mapper's `CLUSTER_CONFIG`) that this script starts in a process of its own before the
  runs (`--serve-cluster`); the cluster's start-up is not in the row, the CPU time of all its
  processes during the row is (the scheduler and the nannies share the LocalCluster's process,
  the workers are its children);
* ``dask-2-own-cluster``: ``--engine dask --workers 2``, mapper starting (and stopping) its own
  LocalCluster: the start-up a one-off run pays.

Every row records wall clock, CPU time (user + system of mapper, its children and, for the
``dask-2`` row, every process of the cluster, with the split by role), mapper's own duration
from its report, the 1-minute load average before and after, and the peak RSS of each process
(sampled every 0.1 s with psutil, a dependency of distributed). The best run of a row is the
one with the least CPU time (wall clock on a shared 2-core machine is mostly queueing). Every
output must be byte-identical to ``local-1``'s. Figures go to benchmarks/results-dask.json.
Not a test module: pytest never collects it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from benchmarks import run as bench

MAPPING = bench.HERE / "w1.yaml"
ROWS = ("local-1", "workers-2", "dask-2", "dask-2-own-cluster")


def serve_cluster() -> None:
    """The `--serve-cluster` process: a 2-worker LocalCluster until standard input closes."""
    import dask
    from distributed import LocalCluster

    from mapper.run.distributed import CLUSTER_CONFIG

    with (
        dask.config.set(CLUSTER_CONFIG),  # as mapper's own LocalCluster
        LocalCluster(
            host="127.0.0.1",
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        ) as cluster,
    ):
        cluster.wait_for_workers(2)
        print(cluster.scheduler_address, flush=True)
        sys.stdin.read()


def _tree(root: psutil.Process) -> dict[int, tuple[str, psutil.Process]]:
    """Every process of the cluster by pid, with its role: the LocalCluster's own process runs
    the scheduler and the nannies; the workers are its children."""
    found = {root.pid: ("scheduler+nannies", root)}
    for worker in root.children(recursive=True):
        found[worker.pid] = ("worker", worker)
    return found


class Sampler:
    """Peak RSS per process of a process tree (and of extra processes), sampled in a thread."""

    def __init__(self, root: int, extra: dict[int, tuple[str, psutil.Process]]) -> None:
        self.root, self.extra = root, extra
        self.peaks: dict[int, tuple[str, int]] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while not self.stop.wait(0.1):
            try:
                root = psutil.Process(self.root)
                procs = [("mapper", p) for p in [root, *root.children(recursive=True)]]
            except psutil.Error:
                continue
            for role, proc in [*procs, *self.extra.values()]:
                try:
                    rss = proc.memory_info().rss
                except psutil.Error:
                    continue
                old = self.peaks.get(proc.pid, (role, 0))
                self.peaks[proc.pid] = (role, max(old[1], rss))

    def finish(self) -> dict[str, float]:
        self.stop.set()
        self.thread.join()
        out: dict[str, float] = {}
        for n, (role, rss) in enumerate(sorted(self.peaks.values())):
            out[f"{role}-{n}"] = round(rss / 2**20, 1)
        return out


def _cpu(procs: dict[int, tuple[str, psutil.Process]]) -> dict[str, float]:
    """User + system CPU seconds so far, added up by role (and the system part by itself)."""
    total: dict[str, float] = {}
    for role, proc in procs.values():
        try:
            t = proc.cpu_times()
        except psutil.Error:
            continue
        total[role] = total.get(role, 0.0) + t.user + t.system
        total[f"{role} (sys)"] = total.get(f"{role} (sys)", 0.0) + t.system
    return total


def run_row(
    label: str, cmd: list[str], out: Path, cluster: dict[int, tuple[str, psutil.Process]]
) -> dict[str, Any]:
    load0 = os.getloadavg()[0]
    before = _cpu(cluster)
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)  # cumulative: differences below
    started = time.perf_counter()
    child = psutil.Popen(cmd, stdout=subprocess.DEVNULL)
    sampler = Sampler(child.pid, cluster)
    child.wait()
    wall = time.perf_counter() - started
    peaks = sampler.finish()
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    if child.returncode != 0:
        raise SystemExit(f"{label} failed (exit {child.returncode}): {' '.join(cmd)}")
    after = _cpu(cluster)
    split = {
        "mapper": ru.ru_utime + ru.ru_stime - ru0.ru_utime - ru0.ru_stime,
        "mapper (sys)": ru.ru_stime - ru0.ru_stime,
    }
    split |= {role: after[role] - before.get(role, 0.0) for role in after}
    report = json.loads(out.with_suffix(".report.json").read_text())
    cpu = sum(v for role, v in split.items() if not role.endswith("(sys)"))
    return {
        "row": label,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "cpu_by_role_s": {role: round(v, 3) for role, v in split.items()},
        "own_s": report["durationSeconds"],
        "records": report["records"]["in"],
        "records_per_s": round(report["records"]["in"] / wall),
        "records_per_cpu_s": round(report["records"]["in"] / cpu),
        "load_1m_before": round(load0, 2),
        "load_1m_after": round(os.getloadavg()[0], 2),
        "peak_rss_mb": peaks,
    }


def _ratios(best: dict[str, dict[str, Any]]) -> dict[str, float]:
    ratios: dict[str, float] = {}

    def put(name: str, a: str, b: str, key: str, minus: int = 0) -> None:
        if a in best and b in best:
            ratios[name] = round(best[a][key] / best[b][key] - minus, 3)

    put("workers-2_vs_local-1_wall", "local-1", "workers-2", "wall_s")
    put("dask-2_vs_local-1_wall", "local-1", "dask-2", "wall_s")
    for row in ("dask-2", "dask-2-own-cluster"):
        put(f"{row}_overhead_vs_workers-2_cpu", row, "workers-2", "cpu_s", 1)
        put(f"{row}_overhead_vs_workers-2_wall", row, "workers-2", "wall_s", 1)
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--rows", default=",".join(ROWS), help="rows to run (comma-separated)")
    parser.add_argument("--data", type=Path, default=bench.DEFAULT_DATA)
    parser.add_argument("--output", type=Path, default=bench.HERE / "results-dask.json")
    parser.add_argument("--serve-cluster", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_cluster:
        serve_cluster()
        return
    labels = [label for label in ROWS if label in args.rows.split(",")]
    args.data.mkdir(parents=True, exist_ok=True)
    src = args.data / f"w1-{args.records}.jsonl"
    bench.ensure(src, lambda p: bench.WORKLOADS["w1"]["write"](p, args.records))
    bench.precompile()
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.dask_engine", "--serve-cluster"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        address = server.stdout.readline().strip()  # printed once the workers are up
        cluster = _tree(psutil.Process(server.pid))
        extra = {
            "local-1": [],
            "workers-2": ["--workers", "2"],
            "dask-2": ["--engine", "dask", "--scheduler", address],
            "dask-2-own-cluster": ["--engine", "dask", "--workers", "2"],
        }
        results: dict[str, list[dict[str, Any]]] = {label: [] for label in labels}
        for _ in range(args.repeat):
            for label in labels:
                out = args.data / f"dask-{label}.jsonl"
                cmd = [bench.MAPPER, "run", str(MAPPING), str(src), "-o", str(out), "-q"]
                watched = cluster if label == "dask-2" else {}
                row = run_row(label, [*cmd, *extra[label]], out, watched)
                results[label].append(row)
                print(
                    f"{label:<20} {row['wall_s']:7.2f} s wall {row['cpu_s']:7.2f} s CPU "
                    f"{row['cpu_by_role_s']}  load {row['load_1m_before']:.2f}"
                    f"->{row['load_1m_after']:.2f}  rss {row['peak_rss_mb']}",
                    flush=True,
                )
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=60)
    reference = (args.data / f"dask-{labels[0]}.jsonl").read_bytes()
    identical = {
        label: (args.data / f"dask-{label}.jsonl").read_bytes() == reference for label in labels
    }
    best = {label: min(runs, key=lambda r: r["cpu_s"]) for label, runs in results.items()}
    ratios = _ratios(best)
    print(json.dumps({"byte_identical": identical, **ratios}, indent=2))
    for label in labels:
        (args.data / f"dask-{label}.jsonl").unlink()
    doc = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": bench.machine(),
        "records": args.records,
        "repeat": args.repeat,
        "best_of": "least CPU time",
        "byte_identical": identical,
        "ratios": ratios,
        "runs": results,
    }
    args.output.write_text(json.dumps(doc, indent=2) + "\n")
    if not all(identical.values()):
        raise SystemExit("outputs differ from the first row's")


if __name__ == "__main__":
    main()
