"""Per-record cost of a mapping, in-process: CPU time per record and optionally a profile.

    python -m benchmarks.profile MAPPING INPUT.jsonl [--profile] [--repeat R] [--stages]

Runs `mapper.run.files.run_files` (the code path of `mapper run`, 1 worker, JSONL in and out)
and prints CPU microseconds per record (best of R). `--stages` times parsing, evaluation and
serialisation on their own. `--profile` prints the cProfile top 30 (tottime). Not a test module.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import resource
import tempfile
from pathlib import Path

import orjson


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _whole(mapping: str, src: str, out: str) -> float:
    from mapper.engine.plans import load
    from mapper.run.files import RunRequest, run_files

    plan = load(mapping)
    t = _cpu()
    result = run_files(plan, [src], RunRequest(output=out))
    assert result.report.records_mapped > 0, result.status
    return _cpu() - t


def _stages(mapping: str, src: str) -> dict[str, float]:
    from mapper.engine.interpreter import evaluate
    from mapper.engine.plans import load
    from mapper.io.sinks import dumps_line
    from mapper.records import Record

    plan = load(mapping)
    lines = Path(src).read_bytes().splitlines()
    t = _cpu()
    data = [orjson.loads(line) for line in lines]
    parse = _cpu() - t
    records = [Record(src, i, d) for i, d in enumerate(data)]
    t = _cpu()
    results = [evaluate(plan, r) for r in records]
    evaluate_s = _cpu() - t
    t = _cpu()
    for res in results:
        for obj in res.objects:
            dumps_line(obj.payload)
    dump = _cpu() - t
    return {"parse": parse, "evaluate": evaluate_s, "serialise": dump}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mapping")
    parser.add_argument("input")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--stages", action="store_true")
    args = parser.parse_args()
    with Path(args.input).open("rb") as fh:
        n = sum(1 for _ in fh)
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "out.jsonl")
        if args.profile:
            prof = cProfile.Profile()
            prof.runcall(_whole, args.mapping, args.input, out)
            pstats.Stats(prof).sort_stats("tottime").print_stats(30)
            return
        best = min(_whole(args.mapping, args.input, out) for _ in range(args.repeat))
        print(f"whole run: {best / n * 1e6:.2f} us CPU per record ({n} records)")
    if args.stages:
        stages = [_stages(args.mapping, args.input) for _ in range(args.repeat)]
        for key in stages[0]:
            print(f"  {key}: {min(s[key] for s in stages) / n * 1e6:.2f} us per record")


if __name__ == "__main__":
    main()
