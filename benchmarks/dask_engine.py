"""`mapper run` on W1: 1 worker, `--workers 2`, and a 2-worker Dask LocalCluster, in one run.

Run: ``.venv/bin/python -m benchmarks.dask_engine [--records N] [--repeat R]``.

Rows (whole `mapper run` processes, JSONL file in, JSONL file out, rows taking turns):

* ``local-1``: one process;
* ``workers-2``: ``--workers 2``;
* ``dask-2``: ``--engine dask --scheduler ADDR`` against a 2-worker LocalCluster (processes,
  one thread each) started by this script before the runs; the cluster's start-up is not in the
  row, its workers' CPU time is (read from the worker processes before and after the run);
* ``dask-2-own-cluster``: ``--engine dask --workers 2``, mapper starting (and stopping) its own
  LocalCluster: the start-up a one-off run pays.

Every row records wall clock, CPU time (user + system of mapper, its children and, for the
Dask rows, the cluster's worker processes), mapper's own duration from its report, the 1-minute
load average before and after, and the peak RSS of each process (sampled every 0.1 s with
psutil, a dependency of distributed). Every output must be byte-identical to ``local-1``'s.
Figures go to benchmarks/results-dask.json. Not a test module: pytest never collects it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dask
import psutil
from distributed import Client, LocalCluster

from benchmarks import run as bench

MAPPING = bench.HERE / "w1.yaml"


class Sampler:
    """Peak RSS per process of a process tree (and of extra processes), sampled in a thread."""

    def __init__(self, root: int, extra: list[psutil.Process]) -> None:
        self.root, self.extra = root, extra
        self.peaks: dict[int, tuple[str, int]] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while not self.stop.wait(0.1):
            try:
                root = psutil.Process(self.root)
                procs = [root, *root.children(recursive=True), *self.extra]
            except psutil.Error:
                continue
            for proc in procs:
                try:
                    rss = proc.memory_info().rss
                    role = _role(proc)
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


def _role(proc: psutil.Process) -> str:
    cmd = " ".join(proc.cmdline())
    if "mapper run" in cmd or cmd.endswith("/mapper") or "/mapper run" in cmd:
        return "mapper"
    if "multiprocessing" in cmd or "spawn_main" in cmd:
        return "worker"
    return proc.name()


def _cpu(procs: list[psutil.Process]) -> float:
    total = 0.0
    for proc in procs:
        try:
            t = proc.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def run_row(label: str, cmd: list[str], out: Path, cluster: list[psutil.Process]) -> dict[str, Any]:
    load0 = os.getloadavg()[0]
    before = _cpu(cluster)
    started = time.perf_counter()
    child = psutil.Popen(cmd, stdout=subprocess.DEVNULL)
    sampler = Sampler(child.pid, cluster)
    child.wait()
    wall = time.perf_counter() - started
    peaks = sampler.finish()
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)  # cumulative: differences below
    if child.returncode != 0:
        raise SystemExit(f"{label} failed (exit {child.returncode}): {' '.join(cmd)}")
    report = json.loads(out.with_suffix(".report.json").read_text())
    return {
        "row": label,
        "wall_s": round(wall, 3),
        "children_cpu_total": ru.ru_utime + ru.ru_stime,
        "cluster_cpu_s": round(_cpu(cluster) - before, 3),
        "own_s": report["durationSeconds"],
        "records": report["records"]["in"],
        "load_1m_before": round(load0, 2),
        "load_1m_after": round(os.getloadavg()[0], 2),
        "peak_rss_mb": peaks,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--profile", action="store_true", help="keep Dask's worker profiler on (dask-2 row)"
    )
    parser.add_argument("--data", type=Path, default=bench.DEFAULT_DATA)
    parser.add_argument("--output", type=Path, default=bench.HERE / "results-dask.json")
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    src = args.data / f"w1-{args.records}.jsonl"
    bench.ensure(src, lambda p: bench.WORKLOADS["w1"]["write"](p, args.records))
    bench.precompile()
    profile = "on" if args.profile else "off"
    with (
        dask.config.set({"distributed.worker.profile.enabled": args.profile}),
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        client.wait_for_workers(2)
        pids = client.run(os.getpid)
        workers = [psutil.Process(pid) for pid in pids.values()]
        rows = {
            "local-1": [],
            "workers-2": ["--workers", "2"],
            "dask-2": ["--engine", "dask", "--scheduler", cluster.scheduler_address],
            "dask-2-own-cluster": ["--engine", "dask", "--workers", "2"],
        }
        results: dict[str, list[dict[str, Any]]] = {label: [] for label in rows}
        cpu_seen = 0.0
        for _ in range(args.repeat):
            for label, extra in rows.items():
                out = args.data / f"dask-{label}.jsonl"
                cmd = [bench.MAPPER, "run", str(MAPPING), str(src), "-o", str(out), "-q", *extra]
                watched = workers if label == "dask-2" else []
                row = run_row(label, cmd, out, watched)
                cumulative = row.pop("children_cpu_total")  # RUSAGE_CHILDREN only grows
                row["cpu_s"] = round(cumulative - cpu_seen + row["cluster_cpu_s"], 3)
                cpu_seen = cumulative
                row["records_per_s"] = round(row["records"] / row["wall_s"])
                row["records_per_cpu_s"] = round(row["records"] / row["cpu_s"])
                results[label].append(row)
                print(
                    f"{label:<20} {row['wall_s']:7.2f} s wall {row['cpu_s']:7.2f} s CPU "
                    f"{row['records_per_s']:>7,} rec/s  load {row['load_1m_before']:.2f}"
                    f"->{row['load_1m_after']:.2f}  rss {row['peak_rss_mb']}",
                    flush=True,
                )
    reference = (args.data / "dask-local-1.jsonl").read_bytes()
    identical = {
        label: (args.data / f"dask-{label}.jsonl").read_bytes() == reference for label in rows
    }
    best = {label: min(runs, key=lambda r: r["wall_s"]) for label, runs in results.items()}
    ratios = {
        "workers-2_vs_local-1_wall": round(
            best["local-1"]["wall_s"] / best["workers-2"]["wall_s"], 3
        ),
        "dask-2_vs_local-1_wall": round(best["local-1"]["wall_s"] / best["dask-2"]["wall_s"], 3),
        "dask-2_overhead_vs_workers-2_wall": round(
            best["dask-2"]["wall_s"] / best["workers-2"]["wall_s"] - 1, 3
        ),
        "dask-2_overhead_vs_workers-2_cpu": round(
            best["dask-2"]["cpu_s"] / best["workers-2"]["cpu_s"] - 1, 3
        ),
        "dask-2-own-cluster_overhead_vs_workers-2_wall": round(
            best["dask-2-own-cluster"]["wall_s"] / best["workers-2"]["wall_s"] - 1, 3
        ),
    }
    print(json.dumps({"byte_identical": identical, **ratios}, indent=2))
    for label in rows:
        (args.data / f"dask-{label}.jsonl").unlink()
    doc = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": bench.machine(),
        "records": args.records,
        "repeat": args.repeat,
        "dask_worker_profiler": profile,
        "byte_identical": identical,
        "ratios": ratios,
        "runs": results,
    }
    args.output.write_text(json.dumps(doc, indent=2) + "\n")
    if not all(identical.values()):
        raise SystemExit("outputs differ from the 1-worker run")


if __name__ == "__main__":
    main()
