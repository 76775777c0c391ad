"""Why `--workers 2` gains 1.9x in one run and nothing in another: 1 vs 2 workers under
different conditions, whole processes, runs taking turns.

Run: ``.venv/bin/python -m benchmarks.workers [--records N] [--repeat R]``, or
``... --records 1000000 --workloads w1,w2`` for only those workloads at N records.

Conditions: W3 with input and output on the data directory's file system and on tmpfs
(/dev/shm), W3 with mapper pinned to one CPU (`taskset -c 0`: what a second core busy with
other work leaves), and W1 at twice the records (the project's earlier setting). Each run
records wall clock, CPU time, mapper's own duration, the 1-minute load average and the CPU
pressure stall (PSI) during the run. Figures go to benchmarks/results-workers.json.
Not a test module (no ``test_`` prefix): pytest never collects it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import run as bench

TASKSET = shutil.which("taskset")


def condition(
    label: str, name: str, n: int, data: Path, repeat: int, pin: bool = False
) -> dict[str, Any]:
    mapping = bench.HERE / f"{name}.yaml"
    data.mkdir(parents=True, exist_ok=True)
    src = bench.DEFAULT_DATA / f"{name}-{n}.jsonl"
    bench.ensure(src, lambda p: bench.WORKLOADS[name]["write"](p, n))
    if data != bench.DEFAULT_DATA:
        copy = data / src.name
        if not copy.exists():
            shutil.copyfile(src, copy)
        src = copy
    runs: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
    for _ in range(repeat):
        for workers in (1, 2):
            out = data / f"workers-{name}-{workers}.jsonl"
            cmd = bench.mapper_cmd(mapping, src, out, workers)
            m = bench.measure([TASKSET, "-c", "0", *cmd] if pin else cmd)
            if m["rc"] != 0:
                raise SystemExit(f"mapper failed: {' '.join(cmd)}")
            m["own"] = json.loads(out.with_suffix(".report.json").read_text())["durationSeconds"]
            runs[workers].append(m)
            print(
                f"  {label:<34} {workers}w {m['wall']:6.2f} s wall {m['cpu']:6.2f} s CPU "
                f"own {m['own']:6.2f} s  load {m['load']:.2f}  stall {m['stall'] or 0:.2f} s",
                flush=True,
            )
    same = (data / f"workers-{name}-1.jsonl").read_bytes() == (
        data / f"workers-{name}-2.jsonl"
    ).read_bytes()
    for workers in (1, 2):
        (data / f"workers-{name}-{workers}.jsonl").unlink()
    best = {w: min(r, key=lambda m: m["wall"]) for w, r in runs.items()}
    res = {
        "workload": name,
        "records": n,
        "file_system": bench._fs_type(src),
        "pinned_to_one_cpu": pin,
        "byte_identical": same,
    }
    for w in (1, 2):
        res[f"w{w}"] = {
            "seconds": round(best[w]["wall"], 3),
            "cpu_s": round(best[w]["cpu"], 3),
            "own_s": min(m["own"] for m in runs[w]),
            "load_avg_1m": round(best[w]["load"], 2),
            "cpu_stall_s": None if best[w]["stall"] is None else round(best[w]["stall"], 2),
            "all_seconds": [round(m["wall"], 3) for m in runs[w]],
        }
    res["speedup_wall"] = round(res["w1"]["seconds"] / res["w2"]["seconds"], 2)
    res["speedup_own"] = round(res["w1"]["own_s"] / res["w2"]["own_s"], 2)
    return res


def conditions(n: int, tmpfs: Path) -> list[tuple[str, str, int, Path, bool]]:
    """(label, workload, records, data folder, pinned to one CPU) of the default run."""
    plan = [(f"W3 {n:,}, data dir", "w3", n, bench.DEFAULT_DATA, False)]
    if tmpfs.parent.is_dir():
        plan.append((f"W3 {n:,}, tmpfs", "w3", n, tmpfs, False))
    if TASKSET:
        plan.append((f"W3 {n:,}, data dir, one CPU", "w3", n, bench.DEFAULT_DATA, True))
    plan.append((f"W1 {2 * n:,}, data dir", "w1", 2 * n, bench.DEFAULT_DATA, False))
    return plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tmpfs", default="/dev/shm/mapper-bench")
    parser.add_argument("--output", default=str(bench.HERE / "results-workers.json"))
    parser.add_argument(
        "--workloads",
        help="only these workloads (comma-separated, e.g. w1,w2), each at --records on the data "
        "directory, instead of the four conditions",
    )
    args = parser.parse_args()
    unknown = set((args.workloads or "").split(",")) - set(bench.WORKLOADS) - {""}
    if unknown:
        parser.error(f"unknown workload(s) {sorted(unknown)}; choose from {sorted(bench.WORKLOADS)}")
    bench.precompile()
    n, r = args.records, args.repeat
    tmpfs = Path(args.tmpfs)
    results: dict[str, Any] = {
        "machine": bench.machine(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_avg_start": [round(x, 2) for x in os.getloadavg()],
        "conditions": {},
    }
    plan = conditions(n, tmpfs) if not args.workloads else [
        (f"{w.upper()} {n:,}, data dir", w, n, bench.DEFAULT_DATA, False)
        for w in args.workloads.split(",")
    ]  # fmt: skip
    for label, name, count, data, pin in plan:
        results["conditions"][label] = condition(label, name, count, data, r, pin)
    results["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    if tmpfs.exists():
        shutil.rmtree(tmpfs)
    Path(args.output).write_text(json.dumps(results, indent=2) + "\n")
    print("\n" + "=" * 100)
    print(
        f"{'condition':<34}{'1w s':>7}{'2w s':>7}{'wall':>7}{'own':>7}"
        f"{'1w CPU':>8}{'2w CPU':>8}{'load':>11}{'stall 2w':>10}"
    )
    for label, c in results["conditions"].items():
        one, two = c["w1"], c["w2"]
        print(
            f"{label:<34}{one['seconds']:>7.2f}{two['seconds']:>7.2f}{c['speedup_wall']:>6.2f}x"
            f"{c['speedup_own']:>6.2f}x{one['cpu_s']:>8.2f}{two['cpu_s']:>8.2f}"
            f"{one['load_avg_1m']:>7.2f}/{two['load_avg_1m']:<6.2f}{two['cpu_stall_s'] or 0:>8.2f}"
        )
    print(f"load average {results['load_avg_start']} at start, {results['load_avg_end']} at end")
    print(f"results: {args.output}")


if __name__ == "__main__":
    main()
