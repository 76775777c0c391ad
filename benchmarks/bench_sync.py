"""`mapper sync` throughput, state size and memory, against a plain `mapper run` of the same input.

Run: ``.venv/bin/python -m benchmarks.bench_sync [--records N] [--repeat K] [--workers W]``
(default 1,000,000 W1 records, best of 3, W 2). Three syncs in mirror mode: into an empty state,
an unchanged re-run, and a re-run with 1 % of the records changed and 1 % gone; each repetition
starts from a copy of the state the previous step left. Then the first sync once more with
`--workers W`, against a plain run with 1 worker and one with W. Each row is compared with a plain `mapper run`
(1 worker, JSONL output) of the same input, best of the same number of runs, in the same
invocation. Wall clock and CPU time (user + system of the whole process) are both recorded,
with the load average: on a shared machine the CPU time compares the work done, and wall clock
is mostly queueing. Figures land in ``benchmarks/sync_results.json`` (``--out`` to change).
Not a test module: pytest never collects it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from benchmarks import gen
from benchmarks.run import DEFAULT_DATA as DATA
from benchmarks.run import HERE, MAPPER, machine, precompile

MAPPING = HERE / "w1.yaml"

# Runs a command in a fresh parent: wall time, CPU time (user + system) and peak RSS of it alone.
_MEASURE = r"""
import json, resource, subprocess, sys, time
t = time.perf_counter()
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
wall = time.perf_counter() - t
use = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": rc, "wall": wall, "cpu": use.ru_utime + use.ru_stime,
                  "maxrss_kb": use.ru_maxrss}))
"""


def measure(cmd: list[str]) -> dict[str, Any]:
    """Wall time, CPU time, exit code and peak RSS (KiB) of `cmd`."""
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, *cmd], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def write_variant(src: Path, dst: Path, share: float = 0.01) -> tuple[int, int]:
    """`src` with every 1/share-th record changed and the one after it gone."""
    step = round(1 / share)
    changed = gone = 0
    with src.open("rb") as fh, dst.open("wb", buffering=1 << 20) as out:
        for i, line in enumerate(fh):
            if i % step == 1:
                gone += 1
                continue
            if i % step == 0:
                rec = orjson.loads(line)
                rec["commit"]["message"] = "Changed: " + rec["commit"]["message"]
                line = orjson.dumps(rec) + b"\n"
                changed += 1
            out.write(line)
    return changed, gone


def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the least CPU time, with the highest peak RSS of all of them."""
    chosen = dict(min(runs, key=lambda r: r["cpu"]))
    chosen["maxrss_kb"] = max(r["maxrss_kb"] for r in runs)
    return chosen


def plain(src: Path, work: Path, repeat: int, workers: int = 1) -> dict[str, Any]:
    """A plain `mapper run` of `src` (JSONL output, `workers` processes), best of `repeat`."""
    out = work / "plain.jsonl"
    cmd = [MAPPER, "run", str(MAPPING), str(src), "-o", str(out), "--quiet"]
    cmd += ["--workers", str(workers)]
    runs = [measure(cmd) for _ in range(repeat)]
    out.unlink(missing_ok=True)
    return best(runs)


def sync(
    src: Path, work: Path, start: Path | None, repeat: int, workers: int = 1
) -> dict[str, Any]:
    """`mapper sync` in mirror mode from the state `start` (None: empty), best of `repeat`."""
    state = work / "state.db"
    cmd = [MAPPER, "sync", str(MAPPING), str(src), "--state", str(state)]
    cmd += ["-o", str(work / "out"), "--mode", "mirror", "--connection-id", "bench", "--quiet"]
    cmd += ["--workers", str(workers)]
    runs = []
    for _ in range(repeat):
        state.unlink(missing_ok=True)
        if start is not None:
            shutil.copyfile(start, state)
        result = measure(cmd)
        report = json.loads((work / "out" / "report.json").read_text())
        result["sync"] = report["sync"]["total"]
        result["records"] = report["run"]["records"]["in"]
        runs.append(result)
    return best(runs)


def row(
    label: str, n: int, synced: dict[str, Any], base: dict[str, Any], state: Path
) -> dict[str, Any]:
    """One result row: rates (wall clock and CPU), ratios to the plain run, state size, RSS."""
    rate, base_rate = n / synced["wall"], n / base["wall"]
    cpu_rate, base_cpu_rate = n / synced["cpu"], n / base["cpu"]
    figures = {
        "run": label,
        "records": n,
        "seconds": round(synced["wall"], 2),
        "cpu_seconds": round(synced["cpu"], 2),
        "records_per_s": round(rate),
        "records_per_cpu_s": round(cpu_rate),
        "plain_run_seconds": round(base["wall"], 2),
        "plain_run_cpu_seconds": round(base["cpu"], 2),
        "ratio_to_plain_run": round(rate / base_rate, 2),
        "cpu_ratio_to_plain_run": round(cpu_rate / base_cpu_rate, 2),
        "peak_rss_mb": round(synced["maxrss_kb"] / 1024, 1),
        "plain_run_peak_rss_mb": round(base["maxrss_kb"] / 1024, 1),
        "state_file_mb": round(state.stat().st_size / 1e6, 1),
        "counts": synced["sync"],
        "exit": synced["rc"],
    }
    print(
        f"{label:<26} wall {rate:>7,.0f} rec/s (plain {base_rate:>7,.0f}) "
        f"{figures['ratio_to_plain_run']:.2f}x | CPU {cpu_rate:>7,.0f} rec/s "
        f"(plain {base_cpu_rate:>7,.0f}) {figures['cpu_ratio_to_plain_run']:.2f}x | "
        f"RSS {figures['peak_rss_mb']} MB | state {figures['state_file_mb']} MB | {synced['sync']}",
        flush=True,
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=str(HERE / "sync_results.json"))
    parser.add_argument(
        "--workers", type=int, default=2,
        help="also a first sync with this many worker processes (1: not)",
    )  # fmt: skip
    args = parser.parse_args()
    n = args.records
    precompile()  # (start-up as after a regular install, also where PYTHONDONTWRITEBYTECODE is set)
    DATA.mkdir(exist_ok=True)
    src, variant = DATA / f"w1-{n}.jsonl", DATA / f"w1-{n}-changed.jsonl"
    if not src.exists():
        gen.write_w1(src, n)
    changed, gone = write_variant(src, variant)
    work = DATA / "sync"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    state, start = work / "state.db", None
    rows = []
    load_before = os.getloadavg()
    for label, data in (
        ("first sync (empty state)", src),
        ("unchanged re-run", src),
        ("1% changed + 1% gone", variant),
    ):
        base = plain(data, work, args.repeat)
        synced = sync(data, work, start, args.repeat)
        rows.append(row(label, synced["records"], synced, base, state))
        if start is None:  # every later step starts from the state of the first sync
            start = work / "after-first.db"
            shutil.copyfile(state, start)
    if args.workers > 1:  # the first sync again, mapped by worker processes
        label = f"first sync, --workers {args.workers}"
        one = plain(src, work, args.repeat)
        synced = sync(src, work, None, args.repeat, args.workers)
        rows.append(row(f"{label} (vs plain 1)", synced["records"], synced, one, state))
        same = plain(src, work, args.repeat, args.workers)
        rows.append(row(f"{label} (vs plain {args.workers})", synced["records"], synced, same, state))
    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "best_of": args.repeat,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "variant": {"changed": changed, "gone": gone},
        "rows": rows,
    }
    print(f"load average before {results['load_average_before']}, "
          f"after {results['load_average_after']}")  # fmt: skip
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    shutil.rmtree(work / "out", ignore_errors=True)


if __name__ == "__main__":
    main()
