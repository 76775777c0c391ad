"""Independent hostile corpus (attack2): runs the real CLI as a subprocess.

Cases live in tests/attack2/cases.yaml. Each case creates files in a fresh temp dir,
runs a shell snippet in which $MAPPER is `python -m mapper`, and checks what the README
promises: exit code, no traceback, report balance, no record lost, nothing outside the
named outputs touched. A case with `known_failure:` is a strict xfail.
"""

from __future__ import annotations

import base64
import fnmatch
import functools
import hashlib
import json
import os
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

CASES_FILE = Path(__file__).parent / "attack2" / "cases.yaml"
CASES: list[dict[str, Any]] = yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))["cases"]
MAPPER = f"{shlex.quote(sys.executable)} -m mapper"
IS_ROOT = os.geteuid() == 0
SETPRIV = shutil.which("setpriv")


@functools.cache
def _nobody_cannot_run_mapper() -> str | None:
    """Why uid 65534 cannot start mapper from this checkout (e.g. it lies under a private
    `mktemp -d` folder), or None when the permission cases can drop to it."""
    probe = subprocess.run(
        [SETPRIV or "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
         sys.executable, "-c", "import mapper"],
        capture_output=True, timeout=60, cwd="/",
    )  # fmt: skip
    if probe.returncode == 0:
        return None
    return probe.stderr.decode(errors="replace").strip().splitlines()[-1:][0] or "exit status"
MEM_LIMIT = 2 * 1024**3  # address space per case


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEM_LIMIT, MEM_LIMIT))
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024**2, 64 * 1024**2))


def _write(root: Path, rel: str, spec: Any) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(spec, str):
        p.write_bytes(spec.encode("utf-8"))
        return
    if "json" in spec:
        p.write_text(json.dumps(spec["json"], ensure_ascii=False), encoding="utf-8")
    elif "jsonl" in spec:
        p.write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in spec["jsonl"]),
            encoding="utf-8",
        )
    elif "b64" in spec:
        p.write_bytes(base64.b64decode(spec["b64"]))
    elif "text" in spec:
        p.write_bytes(spec["text"].encode(spec.get("encoding", "utf-8")))
    elif "py" in spec:  # a Python expression giving bytes or str
        v = eval(spec["py"], {"json": json})
        p.write_bytes(v if isinstance(v, bytes) else v.encode("utf-8"))
    else:
        raise ValueError(f"bad file spec for {rel}: {spec!r}")


def _snapshot(root: Path) -> dict[str, tuple[str, str]]:
    snap: dict[str, tuple[str, str]] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            if rel.startswith(".home") or "__pycache__" in rel:
                continue
            try:
                if p.is_symlink():
                    snap[rel] = ("link", str(p.readlink()))
                elif p.is_dir():
                    snap[rel] = ("dir", "")
                elif p.is_file():
                    try:
                        snap[rel] = ("file", hashlib.sha256(p.read_bytes()).hexdigest())
                    except PermissionError:
                        snap[rel] = ("file", "unreadable")
                else:
                    snap[rel] = ("special", "")
            except OSError as e:
                snap[rel] = ("error", str(e))
    return snap


def _env(case: dict[str, Any], root: Path) -> dict[str, str]:
    env = dict(os.environ)
    for k in ("PYTEST_CURRENT_TEST", "COLUMNS", "LINES", "FORCE_COLOR"):
        env.pop(k, None)
    env["HOME"] = str(root / ".home")
    (root / ".home").mkdir(exist_ok=True)
    env["MAPPER"] = MAPPER
    env["PY"] = shlex.quote(sys.executable)
    # as root, permission cases drop to uid 65534; as a normal user permissions apply already
    drop = f"{SETPRIV} --reuid=65534 --regid=65534 --clear-groups"
    env["ASNOBODY"] = drop if IS_ROOT and SETPRIV else ""
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    for k, v in (case.get("env") or {}).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = str(v)
    return env


def _count_lines(p: Path) -> int:
    if not p.exists():
        return 0
    return sum(1 for line in p.read_bytes().splitlines() if line.strip())


def _run_signal_case(case: dict[str, Any], root: Path, env: dict[str, str]) -> tuple[int, str, str]:
    """Start the command with a pipe on stdin, feed lines, wait for a readiness condition
    (a new file in the folder, i.e. the output's temporary file), send the signal."""
    sig = case["signal"]
    pattern = sig.get("ready_glob", "*")
    before = {str(p) for p in root.glob(pattern)}
    proc = subprocess.Popen(
        ["bash", "-c", case["cmd"]],
        cwd=root,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_limits,
        start_new_session=True,
    )
    assert proc.stdin is not None
    for line in sig.get("feed", []):
        proc.stdin.write((json.dumps(line) + "\n").encode())
    proc.stdin.flush()
    deadline = time.monotonic() + 15
    ready = False
    while time.monotonic() < deadline:
        if {str(p) for p in root.glob(pattern)} - before:
            ready = True
            break
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    # the readiness condition says the run is past start-up and writing; the process is now
    # blocked reading stdin, so the signal lands mid-run deterministically.
    time.sleep(sig.get("settle", 0.3))
    extra = b""
    if sig.get("during"):  # another command while this one is mid-run
        r = subprocess.run(
            ["bash", "-c", sig["during"]],
            cwd=root,
            env=env,
            capture_output=True,
            timeout=30,
            preexec_fn=_limits,
        )
        extra += b"\n[during rc=%d]\n" % r.returncode + r.stderr
    if sig.get("name") and proc.poll() is None:
        signum = getattr(signal, "SIG" + sig["name"])
        if sig.get("target") == "main":  # only the main process, not its workers
            os.kill(proc.pid, signum)
        else:
            os.killpg(proc.pid, signum)
    try:
        for line in sig.get("feed_after", []):
            proc.stdin.write((json.dumps(line) + "\n").encode())
        proc.stdin.close()
    except BrokenPipeError:
        pass
    proc.stdin = None
    try:
        out, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return -999, out.decode(errors="replace"), err.decode(errors="replace") + "\n[timeout]"
    # all processes of the run (workers too) must be gone within about a second
    for _ in range(100):  # up to 5 s: the README says workers exit within about a second
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        err += b"\n[processes of the run still alive after exit]"
    assert ready, f"readiness condition {pattern!r} never met: {err[-2000:]!r}"
    err += extra
    if sig.get("rerun"):
        r = subprocess.run(
            ["bash", "-c", sig["rerun"]],
            cwd=root,
            env=env,
            capture_output=True,
            timeout=30,
            preexec_fn=_limits,
        )
        err += b"\n[rerun rc=%d]\n" % r.returncode + r.stderr
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def _params() -> list[Any]:
    out = []
    for c in CASES:
        marks = []
        if c.get("known_failure"):
            marks.append(pytest.mark.xfail(strict=True, reason=c["known_failure"]))
        out.append(pytest.param(c, id=c["id"], marks=marks))
    return out


def test_case_ids_unique() -> None:
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 60


@pytest.mark.parametrize("case", _params())
def test_attack2(case: dict[str, Any]) -> None:
    if case.get("needs_nonroot") and IS_ROOT and not SETPRIV:
        pytest.skip("running as root without setpriv: permission checks do not apply")
    if case.get("needs_nonroot") and IS_ROOT and (why := _nobody_cannot_run_mapper()):
        pytest.skip(f"uid 65534 cannot run mapper from this checkout ({why}): it lies in a "
                    "folder only root may enter")
    if case.get("needs_root") and not IS_ROOT:
        pytest.skip("needs root (mknod of a private device node)")
    root = Path(tempfile.mkdtemp(prefix="attack2-"))
    try:
        _run_case(case, root)
    finally:
        subprocess.run(["chmod", "-R", "u+rwX", str(root)], check=False)
        shutil.rmtree(root, ignore_errors=True)


def _run_case(case: dict[str, Any], root: Path) -> None:
    root.chmod(0o777)
    for rel, spec in (case.get("files") or {}).items():
        _write(root, rel, spec)
    env = _env(case, root)
    if case.get("setup"):
        subprocess.run(["bash", "-c", case["setup"]], cwd=root, env=env, check=True, timeout=30)
    before = _snapshot(root)
    t0 = time.monotonic()
    if case.get("signal"):
        rc, out, err = _run_signal_case(case, root, env)
    else:
        try:
            r = subprocess.run(
                ["bash", "-c", case["cmd"]],
                cwd=root,
                env=env,
                capture_output=True,
                timeout=case.get("timeout", 30),
                preexec_fn=_limits,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"timed out after {case.get('timeout', 30)} s")
        rc, out, err = (
            r.returncode,
            r.stdout.decode(errors="replace"),
            r.stderr.decode(errors="replace"),
        )
    elapsed = time.monotonic() - t0
    after = _snapshot(root)
    exp = case.get("expect") or {}
    ctx = f"\nrc={rc}\n--- stdout ---\n{out[:3000]}\n--- stderr ---\n{err[:3000]}"

    want_rc = exp.get("rc", 0)
    want = want_rc if isinstance(want_rc, list) else [want_rc]
    assert rc in want, f"exit code {rc}, expected {want}{ctx}"
    if exp.get("no_traceback", True):
        assert "Traceback" not in err and "Traceback" not in out, f"traceback{ctx}"
    for pat in exp.get("stderr_re", []):
        assert re.search(pat, err, re.M), f"stderr lacks /{pat}/{ctx}"
    for pat in exp.get("stderr_not_re", []):
        assert not re.search(pat, err, re.M), f"stderr has /{pat}/{ctx}"
    for pat in exp.get("stdout_re", []):
        assert re.search(pat, out, re.M), f"stdout lacks /{pat}/{ctx}"
    for pat in exp.get("stdout_not_re", []):
        assert not re.search(pat, out, re.M), f"stdout has /{pat}/{ctx}"
    if "max_stderr" in exp:
        assert len(err) <= exp["max_stderr"], f"stderr is {len(err)} chars{ctx}"
    if "max_seconds" in exp:
        assert elapsed <= exp["max_seconds"], f"took {elapsed:.1f}s{ctx}"

    # nothing outside the named outputs created, modified or deleted
    allowed = exp.get("may_change", [])
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    stray = [k for k in changed if not any(fnmatch.fnmatch(k, g) for g in allowed)]
    assert not stray, f"touched outside the named outputs: {stray}{ctx}"
    for rel in exp.get("exists", []):
        assert (root / rel).exists() or (root / rel).is_symlink(), f"{rel} missing{ctx}"
    for rel in exp.get("absent", []):
        assert not (root / rel).exists(), f"{rel} should not exist{ctx}"

    bal = exp.get("balance")
    if bal:
        rep = json.loads((root / bal["report"]).read_text(encoding="utf-8"))
        recs = rep["records"]
        partly = recs.get("partlyMapped", 0)  # records some of whose items were rejected
        assert recs["in"] == recs["mapped"] + partly + recs["rejected"] + recs["filtered"], ctx
        items = rep.get("items")
        if items is not None:  # one object candidate per item: in = objects + rejected + filtered
            assert items["in"] == items["objects"] + items["rejected"] + items["filtered"], ctx
        assert recs["balanced"] is True, ctx
        if "in" in bal:
            assert recs["in"] == bal["in"], f"report counts {recs['in']} records in{ctx}"
        for k in ("mapped", "rejected", "filtered"):
            if k in bal:
                assert recs[k] == bal[k], f"report {k}={recs[k]}, expected {bal[k]}{ctx}"
        if "out" in bal:
            n = _count_lines(root / bal["out"])
            assert n == rep["objects"]["out"], f"{n} lines vs objects.out{ctx}"
            if "objects" in bal:
                assert n == bal["objects"], f"{n} objects written{ctx}"
        if "rejects" in bal:
            n = _count_lines(root / bal["rejects"])
            wanted = items["rejected"] if items is not None else recs["rejected"]
            assert n == wanted, f"{n} reject lines vs rejected items={wanted}{ctx}"  # one per item
    if case.get("check_py"):
        ns = {
            "d": root,
            "json": json,
            "Path": Path,
            "rc": rc,
            "out": out,
            "err": err,
            "re": re,
            "os": os,
        }
        exec(case["check_py"], ns)
