"""Where the CPU time of a `--workers N` run goes: parent, workers, start-up; in-process.

    python -m benchmarks.workers_cpu MAPPING INPUT.jsonl [--workers N]

Prints the parent's CPU seconds (start-up: imports and compiling the mapping, then the run),
the workers' CPU seconds (together, from RUSAGE_CHILDREN), and the wall clock. On an idle
machine a run takes about start-up + (workers' CPU / N) + the parent's share; under load the
CPU figures still hold when the wall clock does not. Not a test module.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path


def _cpu(who: int) -> float:
    ru = resource.getrusage(who)
    return ru.ru_utime + ru.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mapping")
    parser.add_argument("input")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    wall = time.perf_counter()
    from mapper.engine.plans import load
    from mapper.run.files import RunRequest, run_files

    plan = load(args.mapping)
    startup = _cpu(resource.RUSAGE_SELF)
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "out.jsonl")
        result = run_files(plan, [args.input], RunRequest(output=out, workers=args.workers))
    wall = time.perf_counter() - wall
    parent = _cpu(resource.RUSAGE_SELF) - startup
    workers = _cpu(resource.RUSAGE_CHILDREN)
    n = result.report.records_in
    faults = (
        resource.getrusage(resource.RUSAGE_SELF).ru_minflt,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt,
    )
    print(
        f"{args.workers} worker(s), {n} records: start-up {startup:.2f} s CPU, parent run "
        f"{parent:.2f} s CPU, workers {workers:.2f} s CPU ({workers / n * 1e6:.1f} us/record), "
        f"wall {wall:.2f} s; minor page faults: parent {faults[0]:,}, workers {faults[1]:,}"
    )


if __name__ == "__main__":
    main()
