"""SIGKILL `mapper run` mid-way: outputs are absent, the previous version, or complete; a rerun
equals an uninterrupted run. Also: every bundled job balances (nothing lost).

After SIGKILL, temporary files `.NAME.*.tmp` may remain next to the outputs (nothing can clean
up after SIGKILL); they are tolerated here but never mistaken for outputs.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
MAPPING = ROOT / "tests" / "hostile" / "base.yaml"
N = 30_000
CMD = [sys.executable, "-m", "mapper"]


def _input(tmp: Path) -> Path:
    p = tmp / "in.jsonl"
    lines = []
    for i in range(N):
        if i % 997 == 0:
            lines.append(b'{"id": "bad%d", "name": ' % i)  # a malformed line: rejected
        elif i % 101 == 0:
            lines.append(
                b'{"id": "r%d", "name": "a", "ts": "2024-05-01T12:00:00Z", "skip": true}' % i
            )
        else:
            lines.append(b'{"id": "r%d", "name": "n%d", "ts": "2024-05-01T12:00:00Z"}' % (i, i))
    p.write_bytes(b"\n".join(lines) + b"\n")
    return p


def _run(inp: Path, out: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*CMD, "run", str(MAPPING), str(inp), "-o", str(out), "-q"],
        capture_output=True,
        timeout=60,
        check=False,
    )


def _files(out: Path) -> dict[str, Path]:
    base = str(out).removesuffix(".jsonl")
    return {
        "objects": out,
        "rejects": Path(f"{base}.rejects.jsonl"),
        "report": Path(f"{base}.report.json"),
    }


def _check_complete_or_previous(path: Path, previous: bytes | None, reference: bytes) -> None:
    if not path.exists():
        return
    data = path.read_bytes()
    if previous is not None and data == previous:
        return
    assert data == reference, f"{path.name}: neither absent, previous nor complete"


@pytest.mark.slow
def test_sigkill_leaves_no_half_written_file(tmp_path: Path) -> None:
    inp = _input(tmp_path)
    ref_out = tmp_path / "ref" / "o.jsonl"
    started = time.perf_counter()
    ref = _run(inp, ref_out)
    full_time = time.perf_counter() - started
    assert ref.returncode == 3, ref.stderr.decode()  # the malformed lines are rejected
    reference = {k: p.read_bytes() for k, p in _files(ref_out).items()}
    report = json.loads(reference["report"])
    r = report["records"]
    assert r["in"] == N and r["balanced"] and r["in"] == r["mapped"] + r["rejected"] + r["filtered"]

    rng = random.Random(20240501)
    delays = [rng.uniform(0.05, max(0.1, full_time * 0.95)) for _ in range(5)]
    for k, delay in enumerate(delays):
        out = tmp_path / f"kill{k}" / "o.jsonl"
        previous: dict[str, bytes | None] = dict.fromkeys(reference)
        if k % 2 == 1:  # half of the runs overwrite a previous version
            out.parent.mkdir()
            for name, path in _files(out).items():
                previous[name] = f"previous {name}\n".encode()
                path.write_bytes(previous[name] or b"")
        proc = subprocess.Popen(
            [*CMD, "run", str(MAPPING), str(inp), "-o", str(out), "-q"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        for name, path in _files(out).items():
            _check_complete_or_previous(
                path,
                previous[name],
                reference[name]
                if name != "report"
                else path.read_bytes()
                if path.exists()
                else b"",
            )
            if name == "report" and path.exists() and path.read_bytes() != previous[name]:
                rep = json.loads(path.read_bytes())
                assert rep["records"] == report["records"]
        # only complete targets and tolerated temporaries may be present
        # (killed during start-up, the run may not even have created the output folder)
        for extra in out.parent.iterdir() if out.parent.exists() else ():
            assert extra in _files(out).values() or (
                extra.name.startswith(".") and extra.name.endswith(".tmp")
            ), extra
        # a rerun completes and equals the uninterrupted run
        rerun = _run(inp, out)
        assert rerun.returncode == 3, rerun.stderr.decode()
        for name, path in _files(out).items():
            if name == "report":
                got = json.loads(path.read_bytes())
                assert got["records"] == report["records"]
                assert got["objects"] == report["objects"]
            else:
                assert path.read_bytes() == reference[name], name
        # the rerun removed the temporaries the killed run left behind
        assert not [p for p in out.parent.iterdir() if p.name.endswith(".tmp")]


def _jobs() -> list[tuple[Path, dict[str, object]]]:
    out = []
    for jobs_file in sorted((ROOT / "mappings").glob("*/jobs.yaml")):
        for job in yaml.safe_load(jobs_file.read_text())["jobs"]:
            out.append(pytest.param(jobs_file, job, id=job["name"]))
    return out


@pytest.mark.parametrize(("jobs_file", "job"), _jobs())
def test_nothing_lost(jobs_file: Path, job: dict[str, object], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from mapper.cli import app

    folder = jobs_file.parent
    out = tmp_path / f"{job['name']}.jsonl"
    args = [
        "run",
        str(folder / str(job["mapping"])),
        *[str(folder / str(i)) for i in job["inputs"]],  # type: ignore[attr-defined]
        "-o",
        str(out),
        "-q",
    ]
    if job.get("records"):
        args += ["--records", str(job["records"])]
    for name, value in dict(job.get("params") or {}).items():  # type: ignore[call-overload]
        args += ["--param", f"{name}={value}"]
    result = CliRunner().invoke(app, args)
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 3), result.output
    report = json.loads((tmp_path / f"{job['name']}.report.json").read_text())
    r = report["records"]
    assert r["in"] > 0
    assert r["in"] == r["mapped"] + r["partlyMapped"] + r["rejected"] + r["filtered"]
    assert r["balanced"] is True and report["balanced"] is True
    items = report["items"]
    assert items["in"] == items["objects"] + items["rejected"] + items["filtered"]
    assert report["inputProblems"] == []
    rejects = (tmp_path / f"{job['name']}.rejects.jsonl").read_text().splitlines()
    assert len(rejects) == items["rejected"]  # one line per rejected item
    objects = out.read_text().splitlines()
    assert len(objects) == report["objects"]["out"]
