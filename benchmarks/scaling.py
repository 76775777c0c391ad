"""How `mapper run` scales with the input: W3 records streamed through standard input, 10,000 to
10,000,000 of them, nothing kept on disk.

Run: ``.venv/bin/python -m benchmarks.scaling [--sizes 10000,100000,1000000,10000000]
[--repeat R] [--workers N]``.

The records are made on the fly by a second process (``--emit N``): a block of `BLOCK` W3
records from the fixed-seed generator (`gen.write_w3`, made once and kept in
``benchmarks/.data``), sent again and again, each copy with
the first 8 hex digits of its `sha` replaced by the copy's number, so every id is new and every
line keeps its length. (Generating each record afresh costs ~28 µs, more than mapping it: the
mapper would wait for its input.) The mapper reads `-` and writes `-o -`; this process reads its
output as it comes and counts the objects, so the 10M run writes nothing to disk. Each row:
wall clock, CPU (user + system of the mapper process alone, from `wait4`), records/s, peak RSS
of the mapper process, and the 1-minute load average before the run; the run fails (exit 1)
unless every record came out as one object and the mapper exited 0. Figures land in
``benchmarks/results-scaling.json``. Not a test module: pytest never collects it.
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

from benchmarks import gen
from benchmarks.run import DEFAULT_DATA as DATA
from benchmarks.run import HERE, MAPPER, machine, precompile

MAPPING = HERE / "w3.yaml"
BLOCK = 50_000  # records generated once, then sent again with new ids
SIZES = (10_000, 100_000, 1_000_000, 10_000_000)
CHUNK = 1 << 20


def block_file() -> Path:
    """The first `BLOCK` W3 records (those of `gen.write_w3`), made once and kept."""
    path = DATA / f"w3-{BLOCK}.jsonl"
    if not path.exists():
        DATA.mkdir(exist_ok=True)
        gen.write_w3(path, BLOCK)
    return path


def emit(n: int, out: Any) -> None:
    """Write `n` W3 records as JSONL to the binary stream `out`."""
    with block_file().open("rb") as fh:
        block = fh.readlines()[:n]
    head = b'{"sha":"'
    assert all(line.startswith(head) for line in block)  # the id's place in every line
    cut = len(head)
    sent = 0
    for copy in range(n // len(block) + 1):
        tag = b"%08x" % copy
        lines = block[: n - sent]
        if copy == 0:
            out.writelines(lines)
        else:
            out.writelines(line[:cut] + tag + line[cut + 8 :] for line in lines)
        sent += len(lines)
        if sent >= n:
            break
    out.flush()


def measure(n: int, workers: int) -> dict[str, Any]:
    """One streamed run of `n` records: wall, CPU and peak RSS of the mapper process."""
    load = os.getloadavg()[0]
    feeder = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.scaling", "--emit", str(n)], stdout=subprocess.PIPE
    )
    cmd = [MAPPER, "run", str(MAPPING), "-", "-o", "-", "--quiet", "--workers", str(workers)]
    started = time.perf_counter()
    mapper = subprocess.Popen(cmd, stdin=feeder.stdout, stdout=subprocess.PIPE)
    assert feeder.stdout is not None
    assert mapper.stdout is not None
    feeder.stdout.close()  # (the mapper holds the pipe now)
    objects = 0
    while chunk := mapper.stdout.read(CHUNK):
        objects += chunk.count(b"\n")
    _, status, usage = os.wait4(mapper.pid, 0)
    wall = time.perf_counter() - started
    mapper.returncode = os.waitstatus_to_exitcode(status)
    feeder.wait()
    cpu = usage.ru_utime + usage.ru_stime
    return {
        "records": n,
        "objects": objects,
        "exit": mapper.returncode,
        "seconds": round(wall, 2),
        "cpu_seconds": round(cpu, 2),
        "records_per_s": round(n / wall),
        "records_per_cpu_s": round(n / cpu),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "load": round(load, 2),
    }


def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the least CPU, with the highest peak RSS of all of them."""
    chosen = dict(min(runs, key=lambda r: r["cpu_seconds"]))
    chosen["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--repeat", type=int, default=1, help="runs per size (least CPU counts)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--emit", type=int, help=argparse.SUPPRESS)  # the feeder process
    parser.add_argument("--out", default=str(HERE / "results-scaling.json"))
    args = parser.parse_args()
    if args.emit is not None:
        emit(args.emit, sys.stdout.buffer)
        return
    precompile()
    block_file()
    measure(1, args.workers)  # (writes the compiled-mapping cache)
    start = best([measure(1, args.workers) for _ in range(max(3, args.repeat))])
    rows, ok = [], True
    print(f"W3 streamed through stdin, {args.workers} worker(s); least CPU of {args.repeat} run(s)")
    print(f"{'records':>12} {'wall s':>8} {'CPU s':>8} {'rec/s':>9} {'rec/CPU-s':>10} "
          f"{'µs/rec CPU':>11} {'minus start':>12} {'peak RSS MB':>12} {'load':>5}")  # fmt: skip
    print(f"{'1 (start-up)':>12} {start['seconds']:>8.2f} {start['cpu_seconds']:>8.2f} {'':>9} {'':>10} "
          f"{'':>11} {'':>12} {start['peak_rss_mb']:>12} {start['load']:>5}")  # fmt: skip
    for n in (int(s) for s in args.sizes.split(",")):
        row = best([measure(n, args.workers) for _ in range(args.repeat)])
        ok = ok and row["exit"] == 0 and row["objects"] == n
        rows.append(row)
        print(f"{n:>12,} {row['seconds']:>8.2f} {row['cpu_seconds']:>8.2f} "
              f"{row['records_per_s']:>9,} {row['records_per_cpu_s']:>10,} "
              f"{1e6 * row['cpu_seconds'] / n:>11.1f} "
              f"{1e6 * (row['cpu_seconds'] - start['cpu_seconds']) / n:>12.1f} {row['peak_rss_mb']:>12} "
              f"{row['load']:>5}{'' if row['objects'] == n else '  OBJECTS MISSING'}", flush=True)  # fmt: skip
    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "workers": args.workers,
        "best_of": args.repeat,
        "start_up": start,
        "rows": rows,
    }
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    if not ok:
        sys.exit("a run failed or lost records")


if __name__ == "__main__":
    main()
