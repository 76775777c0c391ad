"""Where a `mapper run --workers N` spends its wall clock: a timeline of one run, per process.

Run: ``.venv/bin/python -m benchmarks.timeline [--workers N] [--records N] [--workload w3]``.

The command runs in a child process whose mapper functions are wrapped to note when they are
entered and left (wall clock, and the process's own CPU time): the parent's start-up, the forks,
each worker's set-up, every part (and how long it waited for its turns), the workers' exit, the
join, the fsync and renames of the outputs, and the exit. The child's own start and end are
taken around it. CPU times do not depend on the machine's load; wall-clock gaps do (a core
busy with other work stretches them), so the load average is printed with the figures.
Not a test module (no ``test_`` prefix): pytest never collects it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import run as bench

# Runs in the child: wraps mapper's functions, then runs the command line as `mapper` does.
_HARNESS = r"""
import atexit, functools, json, os, sys, threading, time

EVENTS = open(sys.argv[1], "a", buffering=1)

def sched():  # this thread's time on a CPU and waiting for one (ns), from the scheduler
    try:
        with open(f"/proc/self/task/{threading.get_native_id()}/schedstat") as fh:
            run, wait = fh.read().split()[:2]
        return int(run) / 1e9, int(wait) / 1e9
    except (OSError, ValueError):
        return 0.0, 0.0

def note(event, **more):
    t = os.times()
    on_cpu, queued = sched()
    EVENTS.write(json.dumps({"t": time.time(), "pid": os.getpid(), "event": event,
                             "cpu": t.user + t.system, "on_cpu": on_cpu, "queued": queued,
                             **more}) + "\n")

note("python started")
atexit.register(note, "parent exits")

def wrap(module, name, label, *, args=None):
    original = getattr(module, name)
    @functools.wraps(original)
    def wrapper(*a, **kw):
        note(label + " >", **(args(*a) if args else {}))
        try:
            return original(*a, **kw)
        finally:
            note(label + " <", **(args(*a) if args else {}))
    setattr(module, name, wrapper)

import mapper.run.files as files
import mapper.run.parallel as parallel
import mapper.run.pool as pool
import mapper.io.atomic as atomic

wrap(files, "run_files", "run_files")
wrap(files, "_run_serial", "serial run")
wrap(parallel, "run_parallel", "run_parallel")
wrap(pool.Pool, "__init__", "fork workers")
wrap(pool.Pool, "close", "join workers")
wrap(parallel, "_init", "worker set-up")
wrap(parallel, "_work", "part", args=lambda task: {"part": task[0]})
wrap(atomic.OutputGroup, "publish", "fsync + rename")
wrap(files, "_finish", "report + publish")

claim = pool.Turns.claim
def timed_claim(self, number, amounts, restart=False):
    t = time.perf_counter()
    try:
        return claim(self, number, amounts, restart)
    finally:
        note("claimed", part=number, waited=time.perf_counter() - t, width=len(amounts))
pool.Turns.claim = timed_claim

serve = pool._serve
def noted_serve(*a):
    try:
        serve(*a)
    finally:
        note("worker exits")
pool._serve = noted_serve

sys.argv = ["mapper", *sys.argv[2:]]
from mapper._entry import main
main()
"""


def timeline(cmd: list[str]) -> tuple[list[dict[str, Any]], float, float, float]:
    """(events, start, end, CPU of all processes) of one run of the mapper command `cmd`."""
    with tempfile.NamedTemporaryFile("r", suffix=".jsonl") as fh:
        start = time.time()
        done = subprocess.run([sys.executable, "-c", _HARNESS, fh.name, *cmd[1:]], check=False)
        end = time.time()
        if done.returncode != 0:
            raise SystemExit(f"mapper failed ({done.returncode}): {' '.join(cmd)}")
        events = [json.loads(line) for line in fh.read().splitlines()]
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return events, start, end, ru.ru_utime + ru.ru_stime


def summary(events: list[dict[str, Any]], start: float, end: float) -> list[str]:
    """Per process: when it did what, and the CPU it used for it."""
    parent = events[0]["pid"]
    lines = []
    for e in events:
        if e["event"] in ("claimed", "part >", "part <"):
            continue
        who = "parent" if e["pid"] == parent else f"worker {e['pid']}"
        lines.append(f"{e['t'] - start:7.3f}  {who:<14} {e['event']:<22} cpu {e['cpu']:6.3f}")
    for pid in sorted({e["pid"] for e in events} - {parent}):
        mine = [e for e in events if e["pid"] == pid]
        parts = [e for e in mine if e["event"] == "part <"]
        begun = [e for e in mine if e["event"] == "part >"]
        waits = [e["waited"] for e in mine if e["event"] == "claimed"]
        offset_waits = [e["waited"] for e in mine if e["event"] == "claimed" and e["width"] == 1]
        if not parts:
            continue
        busy = sum(b["cpu"] for b in parts) - sum(b["cpu"] for b in begun)
        first, last = begun[0], parts[-1]
        span = last["t"] - first["t"]
        on_cpu = last["on_cpu"] - first["on_cpu"]
        queued = last["queued"] - first["queued"]
        lines.append(
            f"worker {pid}: {len(parts)} parts, first at {first['t'] - start:.3f}, last done "
            f"at {last['t'] - start:.3f}; CPU in parts {busy:.3f} s; waited for turns "
            f"{sum(waits):.3f} s ({sum(offset_waits):.3f} s for output offsets, in any thread)"
        )
        lines.append(
            f"  its main thread from first part to last: {span:.3f} s = {on_cpu:.3f} s on a CPU "
            f"+ {queued:.3f} s waiting for one + {span - on_cpu - queued:.3f} s idle"
        )
    lines.append(f"{end - start:7.3f}  the process has exited")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workload", default="w3", choices=sorted(bench.WORKLOADS))
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--output", default="/tmp/mapper-timeline.jsonl")
    args = parser.parse_args()
    bench.precompile()
    src = bench.DEFAULT_DATA / f"{args.workload}-{args.records}.jsonl"
    bench.ensure(src, lambda p: bench.WORKLOADS[args.workload]["write"](p, args.records))
    cmd = bench.mapper_cmd(
        bench.HERE / f"{args.workload}.yaml", src, Path(args.output), args.workers
    )
    load = os.getloadavg()[0]
    events, start, end, cpu = timeline(cmd)
    print("\n".join(summary(events, start, end)))
    print(f"wall {end - start:.3f} s, CPU {cpu:.3f} s, load {load:.2f} -> {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
