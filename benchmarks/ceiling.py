"""The most `--workers 2` can gain on this machine: two independent processes, side by side.

Run: ``.venv/bin/python -m benchmarks.ceiling [--records N] [--repeat R] [--workload w3]``.

Three contenders over the same JSONL input, in turns (best of R each):

* ``1 process``: ``mapper run`` (1 worker) over the whole input;
* ``2 independent processes``: two ``mapper run`` (1 worker each) started together, one per
  half of the input (split at a line boundary beforehand), timed until both have ended. No
  worker implementation can beat this: nothing is shared, split or joined;
* ``--workers 2``: ``mapper run --workers 2`` over the whole input.

And a control that touches no files: a pure-Python busy loop, one copy against two copies at
once. On a machine with two real cores, two copies take as long as one (ratio 2.00x). On a
virtual machine whose two vCPUs share a core or a memory bus they take longer, and that sets
the ceiling of every 2-process speed-up there.

Prints wall-clock seconds and the ratios, with the load average; writes
benchmarks/results-ceiling.json (``--out``). Not a test module: pytest never collects it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import run as bench

BUSY = "n = 0\nfor i in range(30_000_000):\n    n += i & 7\n"


def _wall(commands: list[list[str]]) -> float:
    """Seconds from starting every command together until the last one ends."""
    start = time.perf_counter()
    procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL) for cmd in commands]
    codes = [p.wait() for p in procs]
    took = time.perf_counter() - start
    if any(codes):
        raise SystemExit(f"a command failed ({codes}): {commands}")
    return took


def split(src: Path, halves: tuple[Path, Path]) -> None:
    """Write the first and second half of `src`'s lines."""
    lines = src.read_bytes().splitlines(keepends=True)
    middle = len(lines) // 2
    halves[0].write_bytes(b"".join(lines[:middle]))
    halves[1].write_bytes(b"".join(lines[middle:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workload", default="w3", choices=sorted(bench.WORKLOADS))
    parser.add_argument("--out", default=str(bench.HERE / "results-ceiling.json"))
    args = parser.parse_args()
    name, n = args.workload, args.records
    mapping = bench.HERE / f"{name}.yaml"
    data = bench.DEFAULT_DATA
    data.mkdir(parents=True, exist_ok=True)
    src = data / f"{name}-{n}.jsonl"
    bench.ensure(src, lambda p: bench.WORKLOADS[name]["write"](p, n))
    halves = (data / f"{name}-{n}-a.jsonl", data / f"{name}-{n}-b.jsonl")
    split(src, halves)
    bench.precompile()
    out = [data / f"ceiling-{i}.jsonl" for i in range(3)]
    contenders = {
        "1 process": [bench.mapper_cmd(mapping, src, out[0], 1)],
        "2 independent processes": [
            bench.mapper_cmd(mapping, halves[0], out[1], 1),
            bench.mapper_cmd(mapping, halves[1], out[2], 1),
        ],
        "--workers 2": [bench.mapper_cmd(mapping, src, out[0], 2)],
        "busy loop, 1 copy": [[sys.executable, "-c", BUSY]],
        "busy loop, 2 copies": [[sys.executable, "-c", BUSY]] * 2,
    }
    runs: dict[str, list[float]] = {label: [] for label in contenders}
    loads = []
    for turn in range(args.repeat):
        for label, commands in contenders.items():
            runs[label].append(_wall(commands))
            loads.append(os.getloadavg()[0])
        print(f"turn {turn + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in runs.items()),
              flush=True)  # fmt: skip
    whole = [json.loads(line) for line in out[0].read_bytes().splitlines()]
    parts = [json.loads(line) for p in out[1:] for line in p.read_bytes().splitlines()]
    for path in [*out, *halves]:
        for stale in (path, path.with_suffix(".report.json"), path.with_suffix(".rejects.jsonl")):
            stale.unlink(missing_ok=True)
    best = {label: min(times) for label, times in runs.items()}
    one = best["1 process"]
    result: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "workload": name,
        "records": n,
        "repeat": args.repeat,
        "load_avg_1m": [min(loads), max(loads)],
        "machine": bench.machine(),
        "same_objects": whole == parts,
        "best_seconds": {k: round(v, 3) for k, v in best.items()},
        "all_seconds": {k: [round(t, 3) for t in v] for k, v in runs.items()},
        "ceiling_ratio": round(one / best["2 independent processes"], 2),
        "workers_ratio": round(one / best["--workers 2"], 2),
        "busy_loop_ratio": round(2 * best["busy loop, 1 copy"] / best["busy loop, 2 copies"], 2),
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"\n{name} {n:,} records, best of {args.repeat}, load {min(loads):.2f}-{max(loads):.2f}")
    for label, seconds in best.items():
        print(f"  {label:<26} {seconds:7.3f} s")
    print(f"  ceiling (1 process / 2 independent processes): {result['ceiling_ratio']:.2f}x")
    print(f"  --workers 2 (1 process / --workers 2):         {result['workers_ratio']:.2f}x")
    print(f"  busy loop (2 copies' work / their time):       {result['busy_loop_ratio']:.2f}x")
    print(f"  same objects from the halves: {result['same_objects']}")


if __name__ == "__main__":
    main()
