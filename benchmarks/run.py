"""mapper throughput and memory benchmark.

Run: ``.venv/bin/python -m benchmarks.run [--records N] [--big-gb X]`` (see benchmarks/README.md).
Not a test module (no ``test_`` prefix): pytest never collects it.
"""

from __future__ import annotations

import argparse
import compileall
import filecmp
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jmespath
import orjson
import yaml

from benchmarks import gen

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / ".data"
MAPPER = str(ROOT / ".venv" / "bin" / "mapper")
if not Path(MAPPER).exists():
    MAPPER = shutil.which("mapper") or "mapper"
JQ = shutil.which("jq")

# Runs a command in a fresh parent so RUSAGE_CHILDREN holds only that command's processes.
_MEASURE = r"""
import json, resource, subprocess, sys, time
t = time.perf_counter()
rc = subprocess.run(sys.argv[2:], stdout=open(sys.argv[1], "wb") if sys.argv[1] != "-" else None).returncode
wall = time.perf_counter() - t
print(json.dumps({"rc": rc, "wall": wall, "maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def _relative(path: Path) -> str:
    """A path as recorded in results.json: relative to the repository, never absolute."""
    return path.resolve().relative_to(ROOT).as_posix()


def measure(cmd: list[str], stdout: str = "-") -> dict[str, Any]:
    """Wall time, exit code and peak RSS (largest single process, KiB) of `cmd`."""
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, stdout, *cmd], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- (3) naive baseline


def _fields(
    node: dict[str, Any], prefix: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], str, bool]]:
    """(path, expression, omit_empty) for every field of a mapping rule."""
    out = []
    for key, value in node.items():
        if isinstance(value, str):
            out.append(((*prefix, key), value, False))
        elif isinstance(value, dict) and "expr" in value:
            out.append(((*prefix, key), value["expr"], bool(value.get("omit_empty"))))
        elif isinstance(value, dict):
            out.extend(_fields(value, (*prefix, key)))
        else:
            raise ValueError(f"naive baseline does not handle {key}: {value!r}")
    return out


def naive(mapping: Path, src: Path, dst: Path) -> int:
    """json.loads, jmespath.search per field (mapper's functions), pydantic model, json.dumps."""
    from mapper.functions import MapperFunctions
    from mapper.functions.context import EvalContext
    from mapper.model import OBJECT_TYPES

    spec = yaml.safe_load(mapping.read_text())
    rule = spec["objects"][0]
    model = OBJECT_TYPES[rule["type"]]
    fields = _fields(rule["fields"])
    funcs = MapperFunctions()
    options = jmespath.Options(custom_functions=funcs)
    n = 0
    with src.open("rb") as fin, dst.open("w", encoding="utf-8") as fout:
        for index, line in enumerate(fin):
            rec = json.loads(line)
            funcs.context = EvalContext(rec, str(src), index)
            payload: dict[str, Any] = {}
            for path, expr, omit_empty in fields:
                value = jmespath.search(expr, rec, options)
                if value is None or (omit_empty and value in ("", [], {})):
                    continue
                target = payload
                for part in path[:-1]:
                    target = target.setdefault(part, {})
                target[path[-1]] = value
            payload.setdefault("schemaVersion", "1.0")
            updated = datetime.fromisoformat(payload["lastUpdatedAt"].replace("Z", "+00:00"))
            payload["updateSequenceNumber"] = int(updated.timestamp() * 1000)
            obj = model.model_validate(payload).to_payload()
            fout.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
            n += 1
    return n


# ---------------------------------------------------------------- (5) hand-written Python


def _iso_utc(text: str) -> tuple[str, int]:
    when = datetime.fromisoformat(text).astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ"), int(when.timestamp()) * 1000


def _slack(ts: str) -> tuple[str, int]:
    sec, _, frac = ts.partition(".")
    ms = (frac + "000")[:3]
    when = datetime.fromtimestamp(int(sec), UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{when}.{ms}Z", int(sec) * 1000 + int(ms)


def _jira_keys(text: str) -> list[str]:
    from mapper.functions.patterns import find_jira_keys

    return find_jira_keys(text)


def hand_w1(rec: dict[str, Any]) -> dict[str, Any]:
    c = rec["commit"]
    login, email, msg = rec["author"]["login"], c["author"]["email"], c["message"]
    created, _ = _iso_utc(c["author"]["date"])
    updated, usn = _iso_utc(c["committer"]["date"])
    principals = (
        [{"type": "USER", "id": login}]
        if rec["repository"]["private"]
        else [{"type": "ATLASSIAN_WORKSPACE"}]
    )
    out = {
        "schemaVersion": "1.0",
        "id": rec["sha"],
        "updateSequenceNumber": usn,
        "displayName": msg.split("\n", 1)[0].rstrip(),
        "description": msg,
        "url": rec["html_url"],
        "createdAt": created,
        "createdBy": {"email": email, "externalId": login},
        "lastUpdatedAt": updated,
        "containerKey": {
            "type": "atlassian:repository",
            "value": {"repositoryId": rec["repository"]["full_name"]},
        },
        "permissions": [{"accessControls": [{"principals": principals}]}],
    }
    keys = _jira_keys(msg)
    if keys:
        out["associations"] = [{"associationType": "issueIdOrKeys", "values": keys}]
    out["atlassian:commit"] = {
        "hash": rec["sha"],
        "displayId": rec["sha"][:7],
        "message": msg,
        "author": {"email": email, "externalId": login},
        "fileCount": len(rec["files"]),
        "authorTimestamp": created,
    }
    return out


def hand_w2(rec: dict[str, Any]) -> dict[str, Any]:
    ch, ts, text = rec["channel"], rec["ts"], rec.get("text") or ""
    created, _ = _slack(ts)
    edited = (rec.get("edited") or {}).get("ts")
    updated, usn = _slack(edited or ts)
    out: dict[str, Any] = {
        "schemaVersion": "1.0",
        "id": f"{ch}-{ts}",
        "updateSequenceNumber": usn,
        "displayName": f"{rec['user']} in {ch}",
    }
    if text:
        out["description"] = text
    out.update(
        {
            "url": f"https://acme-corp.slack.com/archives/{ch}/p{ts.replace('.', '')}",
            "createdAt": created,
            "createdBy": {"externalId": rec["user"]},
            "lastUpdatedAt": updated,
            "containerKey": {"type": "atlassian:conversation", "value": {"entityId": ch}},
        }
    )
    thread = rec.get("thread_ts")
    if thread and thread != ts:
        out["parentKey"] = {"type": "atlassian:message", "value": {"entityId": f"{ch}-{thread}"}}
    out["permissions"] = [{"accessControls": [{"principals": [{"type": "ATLASSIAN_WORKSPACE"}]}]}]
    keys = _jira_keys(text)
    if keys:
        out["associations"] = [{"associationType": "issueIdOrKeys", "values": keys}]
    out["atlassian:message"] = {
        "isPinned": bool(rec.get("pinned_to")),
        "lastActive": _slack(rec.get("latest_reply") or edited or ts)[0],
    }
    return out


def hand(fn: Callable[[dict[str, Any]], dict[str, Any]], src: Path, dst: Path) -> int:
    n = 0
    with src.open("rb") as fin, dst.open("wb", buffering=1 << 20) as fout:
        for line in fin:
            fout.write(orjson.dumps(fn(orjson.loads(line))) + b"\n")
            n += 1
    return n


# ---------------------------------------------------------------- helpers


def same_objects(a: Path, b: Path) -> tuple[int, int]:
    """(lines that parse to equal JSON, lines compared); key order is ignored."""
    equal = total = 0
    with a.open("rb") as fa, b.open("rb") as fb:
        for la, lb in zip(fa, fb, strict=False):
            total += 1
            equal += orjson.loads(la) == orjson.loads(lb)
    return equal, max(total, sum(1 for _ in a.open("rb")), sum(1 for _ in b.open("rb")))


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
        "jq": _jq_version(),
    }


def _jq_version() -> str | None:
    if not JQ:
        return None
    return subprocess.run([JQ, "--version"], capture_output=True, text=True).stdout.strip()


def ensure(path: Path, write: Callable[[Path], Any]) -> None:
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        write(tmp)
        tmp.replace(path)


def precompile() -> None:
    """Write mapper's bytecode, as a regular install does: start-up is then that of a normal
    installation even where PYTHONDONTWRITEBYTECODE is set (an editable install writes none)."""
    compileall.compile_dir(str(ROOT / "mapper"), quiet=1)


def mapper_cmd(mapping: Path, src: Path, out: Path, workers: int) -> list[str]:
    cmd = [MAPPER, "run", str(mapping), str(src), "-o", str(out), "--quiet"]
    return [*cmd, "--workers", str(workers)] if workers > 1 else cmd


# ---------------------------------------------------------------- the workloads


def best_of(repeat: int, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The fastest of `repeat` runs (the least disturbed by the rest of the machine)."""
    return min((run() for _ in range(repeat)), key=lambda m: m["wall"])


def timed(fn: Callable[[], Any]) -> dict[str, Any]:
    t = time.perf_counter()
    fn()
    return {"wall": time.perf_counter() - t}


def startup(mapping: Path, repeat: int) -> float:
    """Seconds `mapper run` takes on a one-record input: imports, compiling the mapping, exit."""
    src = DATA / "one-record.jsonl"
    src.write_bytes(b"{}\n")
    out = DATA / "out" / "one-record.jsonl"
    return best_of(max(repeat, 3), lambda: measure(mapper_cmd(mapping, src, out, 1)))["wall"]


def bench_workload(
    name: str,
    mapping: Path,
    src: Path,
    n: int,
    jq_script: Path,
    handfn: Callable[[dict[str, Any]], dict[str, Any]],
    repeat: int,
) -> dict[str, Any]:
    out = DATA / "out"
    out.mkdir(exist_ok=True)
    rows: dict[str, dict[str, Any]] = {}

    def record(label: str, seconds: float, path: Path | None, **extra: Any) -> None:
        rows[label] = {
            "seconds": round(seconds, 3),
            "records_per_s": round(n / seconds),
            "output": _relative(path) if path else None,
            **extra,
        }
        print(f"  {label:<22} {seconds:8.2f} s  {n / seconds:>10,.0f} rec/s", flush=True)

    print(f"{name}: {n:,} records, {src.stat().st_size / 1e6:.1f} MB  ({src})", flush=True)
    start_s = startup(mapping, repeat)
    print(f"  mapper start-up        {start_s:8.2f} s  (a one-record run)", flush=True)
    mapper_runs: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
    for _ in range(repeat):  # 1 and 2 workers take turns, so both see the same machine
        for workers in (1, 2):
            dst = out / f"{name}.mapper{workers}.jsonl"
            cmd = mapper_cmd(mapping, src, dst, workers)
            m = measure(cmd)
            if m["rc"] != 0:
                raise SystemExit(f"mapper run failed (exit {m['rc']}): {' '.join(cmd)}")
            m["report"] = json.loads(dst.with_suffix(".report.json").read_text())
            mapper_runs[workers].append(m)
    for workers, runs in mapper_runs.items():
        m = min(runs, key=lambda r: r["wall"])
        recs = m["report"]["records"]
        record(
            f"mapper {workers} worker{'s' if workers > 1 else ''}",
            m["wall"],
            out / f"{name}.mapper{workers}.jsonl",
            mapper_reported_s=min(r["report"]["durationSeconds"] for r in runs),
            peak_rss_mb=round(max(r["maxrss_kb"] for r in runs) / 1024, 1),
            mapped=recs["mapped"],
            rejected=recs["rejected"],
            filtered=recs["filtered"],
        )
    one, two = out / f"{name}.mapper1.jsonl", out / f"{name}.mapper2.jsonl"
    identical = one.read_bytes() == two.read_bytes()
    print(f"  2-worker output byte-identical to 1-worker: {identical}", flush=True)

    dst = out / f"{name}.naive.jsonl"
    m = best_of(repeat, lambda: timed(lambda: naive(mapping, src, dst)))
    record("naive jmespath+pydantic", m["wall"], dst, matches_mapper=same_objects(dst, one))

    if JQ:
        dst = out / f"{name}.jq.jsonl"
        cmd = [JQ, "-c", "-f", str(jq_script), str(src)]
        m = best_of(repeat, lambda: measure(cmd, stdout=str(dst)))
        record(
            "jq",
            m["wall"],
            dst,
            peak_rss_mb=round(m["maxrss_kb"] / 1024, 1),
            matches_mapper=same_objects(dst, one),
        )
    else:
        print("  jq: skipped (not installed; `apt-get install jq`)", flush=True)

    dst = out / f"{name}.hand.jsonl"
    m = best_of(repeat, lambda: timed(lambda: hand(handfn, src, dst)))
    record("hand-written orjson", m["wall"], dst, matches_mapper=same_objects(dst, one))
    return {
        "records": n,
        "input_bytes": src.stat().st_size,
        "mapping": str(mapping.relative_to(ROOT)),
        "repeat": repeat,
        "startup_s": round(start_s, 3),
        "two_workers_byte_identical": identical,
        "runs": rows,
    }


def bench_big(gb: float) -> dict[str, Any]:
    target = int(gb * 1e9)
    path = DATA / f"big-{gb:g}gb.json"
    t = time.perf_counter()
    if not path.exists():
        print(f"big: generating a {gb:g} GB JSON array (streamed writes) ...", flush=True)
    ensure(path, lambda p: gen.write_big_array(p, target))
    gen_s = time.perf_counter() - t
    size = path.stat().st_size
    res: dict[str, Any] = {"input_gb": round(size / 1e9, 3), "generate_s": round(gen_s, 1)}
    outputs = []
    for workers in (1, 2):
        dst = DATA / "out" / f"big{workers}.jsonl"
        print(
            f"big: mapper run ({workers} worker{'s' if workers > 1 else ''}) on "
            f"{size / 1e9:.2f} GB single JSON array ...",
            flush=True,
        )
        m = measure(mapper_cmd(HERE / "w1.yaml", path, dst, workers))
        report = json.loads(dst.with_suffix(".report.json").read_text())
        n = report["records"]["in"]
        key = "" if workers == 1 else "two_workers_"
        res.update(
            {
                "records": n,
                f"{key}seconds": round(m["wall"], 2),
                f"{key}records_per_s": round(n / m["wall"]),
                f"{key}peak_rss_mb": round(m["maxrss_kb"] / 1024, 1),
                f"{key}exit_code": m["rc"],
            }
        )
        print(
            f"  {n:,} records in {m['wall']:.1f} s ({n / m['wall']:,.0f} rec/s), "
            f"peak RSS {m['maxrss_kb'] / 1024:.1f} MB, exit {m['rc']}",
            flush=True,
        )
        outputs.append(dst)
    res["two_workers_byte_identical"] = filecmp.cmp(*outputs, shallow=False)
    for dst in outputs:
        dst.unlink(missing_ok=True)  # each output is as large as the input
    return res


def table(results: dict[str, Any]) -> None:
    labels = list(next(iter(results["workloads"].values()))["runs"])
    print("\n" + "=" * 96)
    head = f"{'run':<24}" + "".join(
        f"{w + ' rec/s':>13}{'vs 1w':>8}{'vs hand':>9}" for w in results["workloads"]
    )
    print(head + f"{'matches mapper':>18}")
    for label in labels:
        line, match = f"{label:<24}", ""
        for w in results["workloads"].values():
            runs = w["runs"]
            r = runs.get(label)
            if r is None:
                line += f"{'skipped':>13}{'':>8}{'':>9}"
                continue
            base, handr = (
                runs["mapper 1 worker"]["records_per_s"],
                runs["hand-written orjson"]["records_per_s"],
            )
            line += f"{r['records_per_s']:>13,}{r['records_per_s'] / base:>7.2f}x{r['records_per_s'] / handr:>8.2f}x"
            if "matches_mapper" in r:
                eq, tot = r["matches_mapper"]
                match += f" {eq}/{tot}"
        print(line + f"{match:>18}")
    for name, w in results["workloads"].items():
        one, two = w["runs"]["mapper 1 worker"], w["runs"]["mapper 2 workers"]
        own1, own2 = one["mapper_reported_s"], two["mapper_reported_s"]
        print(
            f"{name}: 2 workers vs 1: {one['seconds'] / two['seconds']:.2f}x wall clock, "
            f"{own1 / own2:.2f}x on mapper's own timing ({own1} s vs {own2} s, no start-up); "
            f"start-up {w['startup_s']} s; output byte-identical: "
            f"{w['two_workers_byte_identical']}; peak RSS 1w {one['peak_rss_mb']} MB, "
            f"2w {two['peak_rss_mb']} MB; best of {w['repeat']} runs per row"
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
    print(f"machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, {m['jq']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--records", type=int, default=200_000, help="records per workload (W1, W2)"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per row; the fastest counts (default 3)"
    )
    parser.add_argument(
        "--big-gb",
        type=float,
        default=1.0,
        help="size of the big JSON array for the peak-RSS run; 0 skips it",
    )
    parser.add_argument("--output", default=str(HERE / "results.json"))
    args = parser.parse_args()
    DATA.mkdir(exist_ok=True)
    precompile()
    n = args.records
    w1, w2 = DATA / f"w1-{n}.jsonl", DATA / f"w2-{n}.jsonl"
    ensure(w1, lambda p: gen.write_w1(p, n))
    ensure(w2, lambda p: gen.write_w2(p, n))
    results: dict[str, Any] = {
        "machine": machine(),
        "started": datetime.now(UTC).isoformat(),
        "workloads": {},
    }
    results["workloads"]["W1"] = bench_workload(
        "W1", HERE / "w1.yaml", w1, n, HERE / "w1.jq", hand_w1, args.repeat
    )
    results["workloads"]["W2"] = bench_workload(
        "W2", HERE / "w2.yaml", w2, n, HERE / "w2.jq", hand_w2, args.repeat
    )
    if args.big_gb > 0:
        results["big"] = bench_big(args.big_gb)
    Path(args.output).write_text(json.dumps(results, indent=2) + "\n")
    table(results)
    print(f"results: {args.output}")


if __name__ == "__main__":
    main()
