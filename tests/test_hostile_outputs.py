"""Hostile corpus, part two (tests/hostile/reliability.yaml): whole command lines with files
prepared by a named setup, the exit code, what the output says, and the files afterwards
(unchanged, absent, the records of a report). Runs in-process, in tmp_path."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from mapper.cli import app

HERE = Path(__file__).parent / "hostile"
CASES: list[dict[str, Any]] = yaml.safe_load((HERE / "reliability.yaml").read_text())["cases"]


def good(i: int, prefix: str = "r") -> str:
    return json.dumps({"id": f"{prefix}{i}", "name": "a", "ts": "2024-05-01T12:00:00Z"})


def lines(n: int, prefix: str = "r") -> str:
    return "".join(good(i, prefix) + "\n" for i in range(n))


# ------------------------------------------------------------------ setups
def _batch_input_in_output(tmp: Path) -> None:
    (tmp / "b").mkdir()
    (tmp / "b" / "setObjects-00003.json").write_text(lines(3))
    (tmp / "b" / "setObjects-00001.json").write_text("old\n")


def _previous_batches(tmp: Path) -> None:
    """A previous run left 3 batches; the new input has 150 good records and a bad one."""
    (tmp / "b").mkdir()
    for n in (1, 2, 3):
        (tmp / "b" / f"setObjects-0000{n}.json").write_text(f"previous {n}\n")
    (tmp / "b.report.json").write_text("previous report\n")
    (tmp / "b.rejects.jsonl").write_text("previous rejects\n")
    (tmp / "in.jsonl").write_text(lines(150) + "{bad\n" + lines(2, "z"))


def _previous_jsonl(tmp: Path) -> None:
    (tmp / "o.jsonl").write_text("previous objects\n")
    (tmp / "o.report.json").write_text("previous report\n")
    (tmp / "o.rejects.jsonl").write_text("previous rejects\n")
    (tmp / "in.jsonl").write_text(lines(3) + "{bad\n")


def _fifo_outputs(tmp: Path) -> None:
    os.mkfifo(tmp / "fifo")
    (tmp / "in.jsonl").write_text(lines(2))
    (tmp / "folder").mkdir()


def _fifo_input(tmp: Path) -> None:
    """A FIFO named *.jsonl (and one named *.json), fed by a thread once it is opened."""
    for name, text in (("f.jsonl", lines(5)), ("g.json", "[" + good(9) + "]")):
        os.mkfifo(tmp / name)

        def feed(path: Path = tmp / name, data: str = text) -> None:
            with path.open("w") as fh:  # blocks until mapper opens it for reading
                fh.write(data)

        threading.Thread(target=feed, daemon=True).start()


def _plain_inputs(tmp: Path) -> None:
    (tmp / "in.jsonl").write_text(lines(2))
    (tmp / "bad-first.txt").write_text("{\"id\": \n" + lines(3))
    (tmp / "blank-first.txt").write_text("\n\n" + lines(3))
    (tmp / "pretty.txt").write_text(json.dumps([json.loads(good(1))], indent=2))
    (tmp / "pretty-broken.txt").write_text('[\n  {"id": "r1"},\n  {"id": \n]\n')


def _dead_pid() -> int:
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


PLANTED = ("0000aaaa", "0000bbbb")
"""Tokens of the temporaries `_temporaries` plants in mapper's own pattern (`io.atomic`)."""


def _temporaries(tmp: Path) -> None:
    """Temporaries of a live process (kept), of a dead one (removed), and of other names
    that a glob of `*.jsonl` would match (kept: matched literally)."""
    (tmp / "in.jsonl").write_text(lines(2))
    live, dead = os.getppid(), _dead_pid()
    (tmp / "out").mkdir()
    for name in (f".a.jsonl.mapper-{live}-{PLANTED[0]}.tmp", f".a.jsonl.mapper-{dead}-{PLANTED[1]}.tmp",
                 f".b.jsonl.mapper-{dead}-{PLANTED[0]}.tmp", f".a.jsonl.x.mapper-{dead}-{PLANTED[0]}.tmp",
                 f".a.jsonl.{dead}.keep4.tmp", f".a.jsonl.mapper-{dead}-keep5.tmp"):
        (tmp / "out" / name).write_text("temporary\n")


def _jobs(tmp: Path) -> None:
    (tmp / "in.jsonl").write_text(lines(2))
    base = (HERE / "base.yaml").read_text()
    (tmp / "m.yaml").write_text(base)
    jobs = {"jobs": [{"name": n, "mapping": "m.yaml", "inputs": ["in.jsonl"]}
                     for n in ("x", "x.rejects", "y", "Y.rejects")]}
    (tmp / "jobs.yaml").write_text(yaml.safe_dump(jobs))
    globbing = {"jobs": [{"name": n, "mapping": "m.yaml", "inputs": ["in.jsonl"]}
                         for n in ("*", "[ab]", "a")]}
    (tmp / "glob-jobs.yaml").write_text(yaml.safe_dump(globbing))


def _symlinked_include(tmp: Path) -> None:
    (tmp / "outside").mkdir()
    (tmp / "outside" / "lib.yaml").write_text("version: 1\ndefine:\n  x: id\n")
    (tmp / "sub").mkdir()
    (tmp / "sub" / "lib.yaml").symlink_to(tmp / "outside" / "lib.yaml")
    text = (HERE / "base.yaml").read_text().replace("version: 1\n", "version: 1\ninclude: [lib.yaml]\n")
    (tmp / "sub" / "m.yaml").write_text(text)


def _items(tmp: Path, *counts: int) -> None:
    (tmp / "in.jsonl").write_text("".join(json.dumps({"items": list(range(n))}) + "\n"
                                          for n in counts))


def _million_items(tmp: Path) -> None:
    _items(tmp, 1_000_000, 2)


def _many_items(tmp: Path) -> None:
    _items(tmp, 10_000)


def _items_over_the_limit(tmp: Path) -> None:
    _items(tmp, 10_001, 1)


def _many_rules(tmp: Path) -> None:
    rule = "  - {type: atlassian:repository, fields: {id: id}}\n"  # short: 10,000 fit in 2 MiB
    (tmp / "m.yaml").write_text("version: 1\n# 10,000 rules\nobjects:\n" + rule * 10_000)


SETUPS: dict[str, Callable[[Path], None]] = {f.__name__.lstrip("_"): f for f in (
    _million_items, _many_items, _items_over_the_limit, _many_rules, _symlinked_include,
    _batch_input_in_output, _previous_batches, _previous_jsonl, _fifo_outputs, _fifo_input,
    _plain_inputs, _temporaries, _jobs)}


# ------------------------------------------------------------------ runner
def _argv(case: dict[str, Any], tmp: Path) -> list[str]:
    def fill(arg: Any) -> str:
        return str(arg).replace("{here}", str(HERE)).replace("{tmp}", str(tmp))

    return [fill(a) for a in case["argv"]]


def _snapshot(tmp: Path, names: list[str]) -> dict[str, bytes | None]:
    return {n: (tmp / n).read_bytes() if (tmp / n).is_file() else None for n in names}


def test_corpus_is_named() -> None:
    names = [c["name"] for c in CASES]
    assert len(set(names)) == len(names)
    for case in CASES:
        assert isinstance(case["exit"], int)
        assert case["exit"] == 0 or {"says", "code", "rejected_reason", "problem"} & case.keys(), case["name"]


@pytest.mark.parametrize("case", [pytest.param(c, id=c["name"]) for c in CASES])
def test_reliability_case(
    case: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    if "setup" in case:
        SETUPS[case["setup"]](tmp_path)
    for name, text in case.get("files", {}).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    before = _snapshot(tmp_path, case.get("unchanged", []))
    if "cwd" in case:
        monkeypatch.chdir(tmp_path / case["cwd"])
    result = CliRunner().invoke(app, _argv(case, tmp_path), input=case.get("stdin"))
    text = result.output
    assert "Traceback" not in text, text
    assert result.exit_code == case["exit"], (result.exit_code, text, result.exception)
    for said in [case["says"]] if isinstance(case.get("says"), str) else case.get("says", []):
        assert said in text, text
    if "code" in case:
        assert case["code"] in text, text
    for unsaid in case.get("not_says", []):
        assert unsaid not in text, text
        for written in tmp_path.rglob("o.*"):
            assert unsaid not in written.read_text(errors="replace"), written
    assert _snapshot(tmp_path, case.get("unchanged", [])) == before
    for name in case.get("absent", []):
        assert not (tmp_path / name).exists(), name
    for name in case.get("present", []):
        assert (tmp_path / name).exists(), name
    if "records" in case or "lookup_files" in case or "problem" in case:
        report = json.loads((tmp_path / case.get("report", "o.report.json")).read_text())
        assert report.get("lookupFiles", {}) == {
            k: [str(tmp_path / f) if f != "/dev/zero" else f for f in v]
            for k, v in case.get("lookup_files", {}).items()}
        if "problem" in case:
            assert case["problem"] in [p["code"] for p in report["inputProblems"]], report
    if "records" in case:
        r = report["records"]
        assert r["in"] == r["mapped"] + r["rejected"] + r["filtered"]
        assert {k: r[k] for k in ("in", "mapped", "rejected", "filtered")} == case["records"]
    if "rejected_reason" in case:
        rejects = (tmp_path / case.get("rejects", "o.rejects.jsonl")).read_text().splitlines()
        codes = [d["code"] for line in rejects for d in json.loads(line)["diagnostics"]]
        assert case["rejected_reason"] in codes, codes
    planted = ("keep", *PLANTED)  # temporaries the setup made
    leftovers = [p.name for p in tmp_path.rglob(".*.tmp") if not any(w in p.name for w in planted)]
    assert not leftovers, leftovers
    kept = [p.name for p in tmp_path.rglob(".*.tmp") if p.name not in leftovers]
    assert len(kept) == case.get("temporaries_kept", 0), kept


# ------------------------------------------------------------------ real processes
def _mapper(args: list[str], *, prelude: str = "", **kwargs: Any) -> Any:
    import subprocess
    import sys

    code = f"import sys\n{prelude}\nfrom mapper._entry import main\nsys.argv = ['mapper', *{args!r}]\nmain()\n"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120,
                          check=False, **kwargs)


_INTERRUPT_AT = """
class _Hook:
    def find_spec(self, name, path=None, target=None):
        if name == {module!r}:
            raise KeyboardInterrupt  # as if Ctrl-C arrived while this module is imported
        return None
sys.meta_path.insert(0, _Hook())
"""


@pytest.mark.parametrize("module", ["mapper.language.loader", "mapper.run.files", "typer",
                                    "mapper.engine.cache"])  # fmt: skip
def test_ctrl_c_during_start_up_exits_130_without_traceback(tmp_path: Path, module: str) -> None:
    import os

    (tmp_path / "in.jsonl").write_text(lines(2))
    args = ["run", str(HERE / "base.yaml"), str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "o")]
    # a compiled-mapping cache of its own, empty: the mapping is loaded (a hit would not)
    env = {**os.environ, "MAPPER_CACHE_DIR": str(tmp_path / "cache")}
    proc = _mapper(args, prelude=_INTERRUPT_AT.format(module=module), env=env)
    assert proc.returncode == 130, proc.stderr
    assert b"Traceback" not in proc.stderr
    assert b"interrupted" in proc.stderr
    assert [p for p in tmp_path.iterdir() if p.name != "cache"] == [tmp_path / "in.jsonl"]


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("command", ["run", "preview"])
def test_closed_stdin_is_an_input_problem(tmp_path: Path, command: str, workers: str) -> None:
    args = [command, str(HERE / "base.yaml"), "-"]
    args += ["-o", str(tmp_path / "o.jsonl"), "--workers", workers] if command == "run" else []
    proc = _mapper(args, stdin=None, prelude="sys.stdin.close(); sys.stdin = None")
    assert proc.returncode == 4, proc.stderr
    assert b"Traceback" not in proc.stderr
    assert b"standard input is closed" in proc.stderr


def test_sigpipe_exits_141_quietly(tmp_path: Path) -> None:
    """`mapper run ... -o - | head -1`: the reader goes away; exit 141, no traceback."""
    import subprocess
    import sys

    (tmp_path / "in.jsonl").write_text(lines(20_000))
    code = ("import sys\nfrom mapper._entry import main\n"
            f"sys.argv = ['mapper', 'run', {str(HERE / 'base.yaml')!r}, "
            f"{str(tmp_path / 'in.jsonl')!r}, '-o', '-', '-q']\nmain()\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith(b"{")  # the run has started writing
    proc.stdout.close()  # like `head -1`
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 141, stderr
    assert b"Traceback" not in stderr
    assert stderr.strip() == b""


@pytest.mark.parametrize("how", ["named", "jsonl-symlink", "jsonl-symlink-2-workers", "stdin"])
def test_dev_zero_as_input_is_read_bounded(tmp_path: Path, how: str) -> None:
    """/dev/zero has no size and no newline: it is read up to the line limit (256 MiB) and
    refused, in a process whose memory is capped at 2 GiB."""
    import resource
    import subprocess
    import sys

    (tmp_path / "z.jsonl").symlink_to("/dev/zero")
    source = {"named": "/dev/zero", "stdin": "-"}.get(how, str(tmp_path / "z.jsonl"))
    args = ["run", str(HERE / "base.yaml"), source, "-o", str(tmp_path / "o.jsonl"), "-q"]
    args += ["--workers", "2"] if how.endswith("2-workers") else []
    code = f"import sys\nfrom mapper._entry import main\nsys.argv = ['mapper', *{args!r}]\nmain()\n"

    def cap() -> None:
        limit = 2 * 1024**3
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    with Path("/dev/zero").open("rb") as zero:
        proc = subprocess.run([sys.executable, "-c", code], stdin=zero, capture_output=True,
                              timeout=120, check=False, preexec_fn=cap)
    assert proc.returncode == 4, proc.stderr[-2000:]
    assert b"Traceback" not in proc.stderr
    report = json.loads((tmp_path / "o.report.json").read_text())
    assert "a line is longer than 268,435,456 bytes" in report["inputProblems"][0]["message"]


_INTERRUPT_AT_EXIT = """
import atexit, os, signal
atexit.register(lambda: os.kill(os.getpid(), signal.SIGINT))  # Ctrl-C as the process ends
"""


def test_ctrl_c_as_the_process_ends_keeps_the_runs_exit_status(tmp_path: Path) -> None:
    """The run has finished and its status is decided: a Ctrl-C while the exit handlers run
    changes nothing (it was a KeyboardInterrupt out of them, with a traceback)."""
    (tmp_path / "in.jsonl").write_text(lines(2))
    args = ["run", str(HERE / "base.yaml"), str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "o")]
    proc = _mapper(args, prelude=_INTERRUPT_AT_EXIT)
    assert proc.returncode == 0, proc.stderr
    assert b"Traceback" not in proc.stderr
    assert len((tmp_path / "o").read_text().splitlines()) == 2
