"""mapper vs jq, gojq and Python baselines, side by side, whole processes; and peak memory.

Run: ``.venv/bin/python -m benchmarks.run [--workloads w1,w2,w3] [--records N] [--repeat R]``
(see benchmarks/README.md). Not a test module (no ``test_`` prefix): pytest never collects it.
"""

from __future__ import annotations

import argparse
import compileall
import filecmp
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from benchmarks import gen

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_DATA = HERE / ".data"
MAPPER = str(ROOT / ".venv" / "bin" / "mapper")
if not Path(MAPPER).exists():
    MAPPER = shutil.which("mapper") or "mapper"
JQ = shutil.which("jq")
GOJQ = shutil.which("gojq")

WORKLOADS: dict[str, dict[str, Any]] = {
    "w1": {"write": gen.write_w1, "old_jq": HERE / "jq_old" / "w1.jq"},
    "w2": {"write": gen.write_w2, "old_jq": HERE / "jq_old" / "w2.jq"},
    "w3": {"write": gen.write_w3, "old_jq": None},
}

# Runs a command in a fresh parent, so RUSAGE_CHILDREN holds that command's processes only
# (mapper's workers included: they are waited for). CPU = user + system time of all of them.
_MEASURE = r"""
import json, os, resource, subprocess, sys, time
def stall():  # CPU pressure (PSI): microseconds runnable tasks waited for a CPU, machine-wide
    try:
        with open("/proc/pressure/cpu") as fh:
            return int(fh.readline().rsplit("total=", 1)[1])
    except (OSError, IndexError, ValueError):
        return None
load, psi = os.getloadavg()[0], stall()
t = time.perf_counter()
rc = subprocess.run(sys.argv[2:], stdout=open(sys.argv[1], "wb") if sys.argv[1] != "-" else None).returncode
wall = time.perf_counter() - t
psi_end = stall()
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": rc, "wall": wall, "cpu": ru.ru_utime + ru.ru_stime,
                  "maxrss_kb": ru.ru_maxrss, "load": load,
                  "stall": None if psi is None or psi_end is None else (psi_end - psi) / 1e6}))
"""


class Paths:
    """Where inputs and outputs go (`--data`, default benchmarks/.data, git-ignored)."""

    data = DEFAULT_DATA


def _relative(path: Path) -> str:
    """A path as recorded in results.json: never absolute, nothing machine-specific."""
    path = path.resolve()
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return "<data>/" + path.relative_to(Paths.data.resolve()).as_posix()


def _fs_type(path: Path) -> str:
    """File system type of the mount holding `path` (tmpfs, ext4, overlay, ...)."""
    best, kind = "", "unknown"
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            parts = line.split()
            if (
                len(parts) > 2
                and str(path.resolve()).startswith(parts[1])
                and len(parts[1]) > len(best)
            ):
                best, kind = parts[1], parts[2]
    except OSError:
        pass
    return kind


def measure(cmd: list[str], stdout: Path | None = None) -> dict[str, Any]:
    """Wall time, CPU time (user+sys), exit code, peak RSS (KiB) and 1-min load of `cmd`."""
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(stdout) if stdout else "-", *cmd],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,  # `python -m benchmarks.baselines`
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def same_objects(a: Path, b: Path) -> tuple[int, int]:
    """(lines that parse to equal JSON, lines compared); key order is ignored."""
    equal = total = 0
    with a.open("rb") as fa, b.open("rb") as fb:
        for la, lb in zip(fa, fb, strict=False):
            total += 1
            equal += orjson.loads(la) == orjson.loads(lb)
    return equal, max(total, sum(1 for _ in a.open("rb")), sum(1 for _ in b.open("rb")))


def _version(tool: str | None) -> str | None:
    if not tool:
        return None
    return subprocess.run([tool, "--version"], capture_output=True, text=True).stdout.strip()


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "jq": _version(JQ),
        "gojq": _version(GOJQ),
    }


def ensure(path: Path, write: Callable[[Path], Any]) -> None:
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        write(tmp)
        tmp.replace(path)


def precompile() -> None:
    """Write mapper's bytecode, as a regular install does: start-up is then that of a normal
    installation even where PYTHONDONTWRITEBYTECODE is set (an editable install writes none)."""
    compileall.compile_dir(str(ROOT / "mapper"), quiet=1)
    compileall.compile_dir(str(HERE), quiet=1)


def mapper_cmd(mapping: Path, src: Path, out: Path, workers: int) -> list[str]:
    cmd = [MAPPER, "run", str(mapping), str(src), "-o", str(out), "--quiet"]
    return [*cmd, "--workers", str(workers)] if workers > 1 else cmd


# ---------------------------------------------------------------- rows


@dataclass
class Row:
    label: str
    kind: str  # mapper, naive, jq, hand
    make: Callable[[Path, Path], list[str]]  # (input, output) -> command
    stdout: bool = False  # the command writes its objects to standard output
    workers: int = 1


def rows_for(name: str, mapping: Path) -> list[Row]:
    """Every contender for one workload; jq/gojq rows only where the tool is installed."""
    py = [sys.executable, "-m", "benchmarks.baselines"]
    rows = [
        Row("mapper 1 worker", "mapper", lambda s, o: mapper_cmd(mapping, s, o, 1)),
        Row("mapper 2 workers", "mapper", lambda s, o: mapper_cmd(mapping, s, o, 2), workers=2),
        Row(
            "naive jmespath+pydantic",
            "naive",
            lambda s, o: [*py, "naive", name, str(s), str(o), str(mapping)],
        ),
    ]
    new_jq, old_jq = HERE / f"{name}.jq", WORKLOADS[name]["old_jq"]
    if JQ:
        rows.append(
            Row(
                "jq (expert program)",
                "jq",
                lambda s, o: [JQ, "-c", "-f", str(new_jq), str(s)],
                True,
            )
        )
        if old_jq:
            rows.append(
                Row(
                    "jq (old program)",
                    "jq",
                    lambda s, o: [JQ, "-c", "-f", str(old_jq), str(s)],
                    True,
                )
            )
    if GOJQ:  # the old programs use look-around, which gojq (Go's RE2 syntax) does not have
        rows.append(
            Row(
                "gojq (expert program)",
                "jq",
                lambda s, o: [GOJQ, "-c", "-f", str(new_jq), str(s)],
                True,
            )
        )
    rows.append(
        Row("hand-written orjson", "hand", lambda s, o: [*py, "hand", name, str(s), str(o)])
    )
    return rows


def run_row(row: Row, src: Path, dst: Path) -> dict[str, Any]:
    cmd = row.make(src, dst)
    m = measure(cmd, dst if row.stdout else None)
    if m["rc"] != 0:
        raise SystemExit(f"{row.label} failed (exit {m['rc']}): {' '.join(cmd)}")
    if row.kind == "mapper":
        report = json.loads(dst.with_suffix(".report.json").read_text())
        m["own_s"] = report["durationSeconds"]
        m["records"] = report["records"]
    return m


def bench_workload(name: str, n: int, repeat: int) -> tuple[dict[str, Any], list[str]]:
    """All rows of one workload, taking turns run by run (each row sees the same machine)."""
    mapping = HERE / f"{name}.yaml"
    data, out = Paths.data, Paths.data / "out"
    out.mkdir(parents=True, exist_ok=True)
    src = data / f"{name}-{n}.jsonl"
    ensure(src, lambda p: WORKLOADS[name]["write"](p, n))
    one = data / f"{name}-one.jsonl"  # the first record alone: start-up of each row
    with src.open("rb") as fh:
        one.write_bytes(fh.readline())
    size = src.stat().st_size
    print(
        f"\n{name.upper()}: {n:,} records, {size / 1e6:.1f} MB ({size / n:.0f} B/record), "
        f"{_fs_type(src)}; {repeat} runs per row, rows taking turns",
        flush=True,
    )
    rows = rows_for(name, mapping)
    if not JQ:
        print("  jq: skipped (not installed; `apt-get install jq`)", flush=True)
    if not GOJQ:
        print("  gojq: skipped (not installed; `apt-get install gojq`)", flush=True)
    dst = {
        r.label: out / f"{name}.{re.sub('[^a-z0-9]+', '-', r.label).strip('-')}.jsonl" for r in rows
    }
    runs: dict[str, list[dict[str, Any]]] = {r.label: [] for r in rows}
    starts: dict[str, list[dict[str, Any]]] = {r.label: [] for r in rows}
    for rep in range(repeat):
        for r in rows:
            starts[r.label].append(run_row(r, one, out / f"one.{name}.jsonl"))
            m = run_row(r, src, dst[r.label])
            runs[r.label].append(m)
            print(
                f"  run {rep + 1}  {r.label:<26} {m['wall']:7.2f} s wall {m['cpu']:7.2f} s CPU"
                f"  load {m['load']:.2f}  CPU stall {m['stall'] or 0:.2f} s",
                flush=True,
            )
    base = dst["mapper 1 worker"]
    problems: list[str] = []
    result_rows: dict[str, dict[str, Any]] = {}
    for r in rows:
        best = min(runs[r.label], key=lambda m: m["wall"])
        start = min(starts[r.label], key=lambda m: m["wall"])
        row: dict[str, Any] = {
            "seconds": round(best["wall"], 3),
            "cpu_s": round(best["cpu"], 3),
            "min_cpu_s": round(min(m["cpu"] for m in runs[r.label]), 3),
            "records_per_s": round(n / best["wall"]),
            "records_per_cpu_s": round(n / min(m["cpu"] for m in runs[r.label])),
            "load_avg_1m": round(best["load"], 2),
            "cpu_stall_s": None if best["stall"] is None else round(best["stall"], 2),
            "startup_s": round(start["wall"], 3),
            "startup_cpu_s": round(start["cpu"], 3),
            "all_seconds": [round(m["wall"], 3) for m in runs[r.label]],
            "peak_rss_mb": round(max(m["maxrss_kb"] for m in runs[r.label]) / 1024, 1),
            "output": _relative(dst[r.label]),
        }
        if r.kind == "mapper":
            row["mapper_reported_s"] = min(m["own_s"] for m in runs[r.label])
            rec = best["records"]
            row.update(mapped=rec["mapped"], rejected=rec["rejected"], filtered=rec["filtered"])
            if rec["mapped"] != n:
                problems.append(f"{name} {r.label}: mapped {rec['mapped']} of {n} records")
        if r.label != "mapper 1 worker":
            eq, tot = same_objects(dst[r.label], base)
            row["matches_mapper"] = [eq, tot]
            if eq != tot or tot != n:
                problems.append(f"{name} {r.label}: {eq}/{tot} objects equal to mapper's")
        result_rows[r.label] = row
    identical = filecmp.cmp(base, dst["mapper 2 workers"], shallow=False)
    if not identical:
        problems.append(f"{name}: 2-worker output is not byte-identical to the 1-worker output")
    jq_rate = result_rows.get("jq (expert program)", {}).get("records_per_s")
    hand_rate = result_rows["hand-written orjson"]["records_per_s"]
    jq_cpu = result_rows.get("jq (expert program)", {}).get("records_per_cpu_s")
    for row in result_rows.values():
        row["vs_jq"] = round(row["records_per_s"] / jq_rate, 2) if jq_rate else None
        row["vs_jq_cpu"] = round(row["records_per_cpu_s"] / jq_cpu, 2) if jq_cpu else None
        row["vs_hand"] = round(row["records_per_s"] / hand_rate, 2)
    return {
        "records": n,
        "input_bytes": size,
        "bytes_per_record": round(size / n),
        "input_fs": _fs_type(src),
        "mapping": _relative(mapping),
        "repeat": repeat,
        "two_workers_byte_identical": identical,
        "rows": result_rows,
    }, problems


def bench_big(gb: float) -> dict[str, Any]:
    target = int(gb * 1e9)
    path = Paths.data / f"big-{gb:g}gb.json"
    t = time.perf_counter()
    if not path.exists():
        print(f"big: generating a {gb:g} GB JSON array (streamed writes) ...", flush=True)
    ensure(path, lambda p: gen.write_big_array(p, target))
    gen_s = time.perf_counter() - t
    size = path.stat().st_size
    res: dict[str, Any] = {"input_gb": round(size / 1e9, 3), "generate_s": round(gen_s, 1)}
    outputs = []
    for workers in (1, 2):
        dst = Paths.data / "out" / f"big{workers}.jsonl"
        print(
            f"big: mapper run, {workers} worker(s), {size / 1e9:.2f} GB JSON array ...", flush=True
        )
        m = measure(mapper_cmd(HERE / "w1.yaml", path, dst, workers))
        report = json.loads(dst.with_suffix(".report.json").read_text())
        n = report["records"]["in"]
        key = "" if workers == 1 else "two_workers_"
        res.update(
            {
                "records": n,
                f"{key}seconds": round(m["wall"], 2),
                f"{key}cpu_s": round(m["cpu"], 2),
                f"{key}records_per_s": round(n / m["wall"]),
                f"{key}peak_rss_mb": round(m["maxrss_kb"] / 1024, 1),
                f"{key}load_avg_1m": round(m["load"], 2),
                f"{key}exit_code": m["rc"],
            }
        )
        print(
            f"  {n:,} records in {m['wall']:.1f} s ({n / m['wall']:,.0f} rec/s), CPU {m['cpu']:.1f} s, "
            f"peak RSS {m['maxrss_kb'] / 1024:.1f} MB, load {m['load']:.2f}, exit {m['rc']}",
            flush=True,
        )
        outputs.append(dst)
    res["two_workers_byte_identical"] = filecmp.cmp(*outputs, shallow=False)
    for dst in outputs:
        dst.unlink(missing_ok=True)  # each output is as large as the input
    return res


def _x(value: float | None) -> str:
    return f"{value:.2f}x" if value is not None else "-"


def table(results: dict[str, Any]) -> None:
    print("\n" + "=" * 112)
    for name, w in results["workloads"].items():
        print(
            f"{name.upper()}: {w['records']:,} records, {w['bytes_per_record']} B/record, "
            f"input on {w['input_fs']}, best of {w['repeat']} runs (wall clock, whole process)"
        )
        print(
            f"  {'row':<26}{'rec/s':>9}{'wall s':>8}{'CPU s':>8}{'vs jq':>8}{'vs hand':>9}"
            f"{'rec/CPU-s':>10}{'vs jq':>7}{'start s':>9}{'own s':>7}{'load':>6}{'stall':>6}"
            f"{'matches':>16}"
        )
        for label, r in w["rows"].items():
            own = f"{r['mapper_reported_s']:.2f}" if "mapper_reported_s" in r else "-"
            match = "{}/{}".format(*r["matches_mapper"]) if "matches_mapper" in r else "(reference)"
            print(
                f"  {label:<26}{r['records_per_s']:>9,}{r['seconds']:>8.2f}{r['cpu_s']:>8.2f}"
                f"{_x(r['vs_jq']):>8}{_x(r['vs_hand']):>9}{r['records_per_cpu_s']:>10,}"
                f"{_x(r['vs_jq_cpu']):>7}{r['startup_s']:>9.3f}{own:>7}"
                f"{r['load_avg_1m']:>6.2f}{r['cpu_stall_s'] or 0:>6.1f}{match:>16}"
            )
        one, two = w["rows"]["mapper 1 worker"], w["rows"]["mapper 2 workers"]
        print(
            f"  2 workers vs 1: {one['seconds'] / two['seconds']:.2f}x wall clock, "
            f"{one['mapper_reported_s'] / two['mapper_reported_s']:.2f}x on mapper's own timing; "
            f"CPU {two['cpu_s'] / one['cpu_s']:.2f}x of 1 worker's; "
            f"byte-identical: {w['two_workers_byte_identical']}"
        )
        if "jq (old program)" in w["rows"]:
            old, new = w["rows"]["jq (old program)"], w["rows"]["jq (expert program)"]
            print(
                f"  jq CPU: old program {old['min_cpu_s']:.2f} s, expert {new['min_cpu_s']:.2f} s "
                f"({old['min_cpu_s'] / new['min_cpu_s']:.2f}x)"
            )
    big = results.get("big")
    if big:
        print(
            f"big single JSON array: {big['input_gb']} GB, {big['records']:,} records; "
            f"1 worker {big['seconds']} s ({big['records_per_s']:,} rec/s), peak RSS "
            f"{big['peak_rss_mb']} MB; 2 workers {big['two_workers_seconds']} s "
            f"({big['seconds'] / big['two_workers_seconds']:.2f}x), peak RSS "
            f"{big['two_workers_peak_rss_mb']} MB; byte-identical: "
            f"{big['two_workers_byte_identical']}"
        )
    m = results["machine"]
    print(
        f"machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, "
        f"{m['jq'] or 'jq not installed'}, {m['gojq'] or 'gojq not installed'}; "
        f"load average {results['load_avg_start']} at start, {results['load_avg_end']} at end"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--workloads", default="w1,w2,w3", help="comma-separated (default w1,w2,w3)"
    )
    parser.add_argument("--records", type=int, default=100_000, help="records per workload")
    parser.add_argument("--repeat", type=int, default=3, help="runs per row; the fastest counts")
    parser.add_argument(
        "--big-gb",
        type=float,
        default=0.0,
        help="size of a JSON array for a peak-RSS run (0: none)",
    )
    parser.add_argument(
        "--data", default=str(DEFAULT_DATA), help="directory for inputs and outputs"
    )
    parser.add_argument("--output", default=str(HERE / "results.json"))
    args = parser.parse_args()
    names = [w.strip().lower() for w in args.workloads.split(",") if w.strip()]
    unknown = [w for w in names if w not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {unknown}; choose from {sorted(WORKLOADS)}")
    Paths.data = Path(args.data)
    Paths.data.mkdir(parents=True, exist_ok=True)
    precompile()
    results: dict[str, Any] = {
        "machine": machine(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_avg_start": [round(x, 2) for x in os.getloadavg()],
        "workloads": {},
    }
    problems: list[str] = []
    for name in names:
        results["workloads"][name], found = bench_workload(name, args.records, args.repeat)
        problems += found
    if args.big_gb > 0:
        results["big"] = bench_big(args.big_gb)
    results["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    results["problems"] = problems
    Path(args.output).write_text(json.dumps(results, indent=2) + "\n")
    table(results)
    print(f"results: {args.output}")
    if problems:
        print("\nOUTPUTS DIFFER, the figures above do not compare the same work:", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
