"""Hostile corpus (tests/hostile/cases.yaml): every case's exit code, diagnostic code, location,
no traceback, and for runs a balanced report. Big inputs are generated in tmp_path."""

from __future__ import annotations

import errno
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from mapper.cli import app

HERE = Path(__file__).parent / "hostile"
CASES: list[dict[str, Any]] = yaml.safe_load((HERE / "cases.yaml").read_text())["cases"]
GOOD = b'{"id": "r%d", "name": "a", "ts": "2024-05-01T12:00:00Z"}'


def _good(i: int) -> bytes:
    return GOOD % i


# ------------------------------------------------------------------ input generators
def _invalid_utf8(tmp: Path, name: str) -> Path:
    p = tmp / name
    p.write_bytes(b'{"id": "r1", "name": "a\xff\xfe", "ts": "2024-05-01T12:00:00Z"}')
    return p


def _invalid_utf8_jsonl(tmp: Path, name: str) -> Path:
    p = tmp / name
    p.write_bytes(_good(0) + b"\n" + b'{"id": "r1", "name": "\xc3\x28"}\n' + _good(2) + b"\n")
    return p


def _bom_json(tmp: Path, name: str) -> Path:
    p = tmp / name
    p.write_bytes(b"\xef\xbb\xbf" + _good(1))
    return p


def _bom_jsonl(tmp: Path, name: str) -> Path:
    p = tmp / name
    p.write_bytes(b"\xef\xbb\xbf" + _good(1) + b"\n" + _good(2) + b"\n")
    return p


def _deep_record() -> bytes:
    return b'{"id": "r1", "name": "a", "ts": "2024-05-01T12:00:00Z", "deep": ' + \
        b"[" * 10_000 + b"]" * 10_000 + b"}"


def _deep_jsonl(tmp: Path, name: str) -> Path:
    p = tmp / name
    p.write_bytes(_good(0) + b"\n" + _deep_record() + b"\n" + _good(2) + b"\n")
    return p


def _deep_json(tmp: Path, name: str) -> Path:
    p = tmp / name
    p.write_bytes(_deep_record())
    return p


def _huge_string(tmp: Path, name: str) -> Path:
    p = tmp / name
    with p.open("wb") as fh:
        fh.write(b'{"id": "r1", "ts": "2024-05-01T12:00:00Z", "name": "')
        chunk = b"x" * (1024 * 1024)
        for _ in range(100):
            fh.write(chunk)
        fh.write(b'"}\n')
    return p


def _regex_bomb(tmp: Path, name: str) -> Path:
    p = tmp / name
    lines = [{"id": "a", "x": "aaaa"}, {"id": "b", "x": "a" * 5000 + "!"}, {"id": "c", "x": "aaa"}]
    p.write_text("".join(json.dumps(r) + "\n" for r in lines))
    return p


def _long_regex_subject(tmp: Path, name: str) -> Path:
    p = tmp / name
    lines = [{"id": "a", "x": "a"}, {"id": "b", "x": "a" * 100_001}, {"id": "c", "x": "a" * 100_000}]
    p.write_text("".join(json.dumps(r) + "\n" for r in lines))
    return p


def _folder_mixed(tmp: Path, name: str) -> Path:
    folder = tmp / "inputs"
    folder.mkdir()
    (folder / "a.json").write_bytes(_good(1))
    (folder / "b.json").write_bytes(b'{"id": ')
    return folder


INPUTS = {f.__name__.lstrip("_"): f for f in (
    _invalid_utf8, _invalid_utf8_jsonl, _bom_json, _bom_jsonl, _deep_jsonl, _deep_json,
    _huge_string, _regex_bomb, _folder_mixed, _long_regex_subject)}


# ------------------------------------------------------------------ mapping generators
def _billion_laughs() -> bytes:
    lines = ['version: 1', 'a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    prev = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 10) + "]")
        prev = name
    lines.append("objects: []")
    return ("\n".join(lines) + "\n").encode()


def _too_large() -> bytes:
    base = (HERE / "base.yaml").read_bytes()
    return base + b"# " + b"x" * (2 * 1024 * 1024) + b"\n"


def _too_deep() -> bytes:
    return b"version: 1\nname: " + b"[" * 150 + b"]" * 150 + b"\nobjects: []\n"


def _latin1() -> bytes:
    return "version: 1\nname: caf\u00e9\nobjects: []\n".encode("latin-1")


MAPPINGS = {f.__name__.lstrip("_"): f for f in (_billion_laughs, _too_large, _too_deep, _latin1)}


# ------------------------------------------------------------------ runner
def _params() -> list[Any]:
    out = []
    for case in CASES:
        marks = []
        if case.get("xfail"):
            marks.append(pytest.mark.xfail(strict=True, reason=case["xfail"]))
        if case.get("slow"):
            marks.append(pytest.mark.slow)
        out.append(pytest.param(case, id=case["name"], marks=marks))
    return out


def test_corpus_is_big_and_named() -> None:
    names = [c["name"] for c in CASES]
    assert len(names) >= 40
    assert len(set(names)) == len(names)
    for case in CASES:
        assert case["cmd"] in ("validate", "run")
        assert isinstance(case["exit"], int)
        assert case["exit"] == 0 or "code" in case, case["name"]


def _output_path(tmp: Path, kind: str) -> Path:
    if kind == "out":
        return tmp / "out" / "o.jsonl"
    if kind == "missing_dir":
        return tmp / "not" / "yet" / "there" / "o.jsonl"
    if kind == "under_file":
        (tmp / "plain-file").write_text("x")
        return tmp / "plain-file" / "o.jsonl"
    if kind == "devfull_symlink":
        link = tmp / "out" / "o.jsonl"
        link.parent.mkdir()
        link.symlink_to("/dev/full")
        return link
    if kind == "descriptor_symlink":  # (under pytest, fd 1 is a capture file: a regular file)
        link = tmp / "out" / "o.jsonl"
        link.parent.mkdir()
        link.symlink_to("/proc/self/fd/1")
        return link
    if kind == "dev_fd":
        return Path("/dev/fd/1")
    raise AssertionError(kind)


@pytest.mark.parametrize("case", _params())
def test_hostile(case: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # any payload that writes a relative file lands here
    if "mapping_text" in case or "mapping_gen" in case:
        mapping = tmp_path / "m.yaml"
        if "mapping_gen" in case:
            mapping.write_bytes(MAPPINGS[case["mapping_gen"]]())
        else:
            mapping.write_bytes(case["mapping_text"].encode())
    else:
        mapping = HERE / case.get("mapping", "base.yaml")

    if case["cmd"] == "validate":
        args = ["validate", str(mapping)]
        output = None
    else:
        name = case.get("input_name", "in.jsonl")
        if "input_gen" in case:
            inp = INPUTS[case["input_gen"]](tmp_path, name)
        elif "input_path" in case:
            inp = tmp_path / case["input_path"]
        else:
            inp = tmp_path / name
            inp.write_bytes(case.get("input_text", "").encode())
        output = _output_path(tmp_path, case.get("output", "out"))
        args = ["run", str(mapping), str(inp), "-o", str(output)]

    started = time.perf_counter()
    result = CliRunner().invoke(app, args)
    took = time.perf_counter() - started
    text = result.output
    assert "Traceback" not in text
    assert result.exit_code == case["exit"], (result.exit_code, text, result.exception)
    if "max_seconds" in case:
        assert took < case["max_seconds"]

    code, loc = case.get("code"), case.get("loc")
    base = str(output).removesuffix(".jsonl") if output else None
    report = rejects = None
    if base and Path(f"{base}.report.json").exists():
        report = json.loads(Path(f"{base}.report.json").read_text())
        rejects = [json.loads(line) for line in Path(f"{base}.rejects.jsonl").read_text().splitlines()]

    if loc is None:
        pass
    elif loc.startswith("m.yaml:"):
        assert f"{loc}" in text and code in text, text
        assert any(line.startswith(str(mapping)) and loc.split(":", 1)[1] in line and code in line
                   for line in text.splitlines()) or loc == "m.yaml:", text
        if loc == "m.yaml:":
            assert any(line.startswith(f"{mapping}:") and code in line for line in text.splitlines())
    elif loc.startswith("record:"):
        index = int(loc.split(":")[1])
        assert rejects is not None
        hits = [r for r in rejects if r["index"] == index]
        assert hits, rejects
        assert any(d["code"] == code and d.get("record", {}).get("index") == index
                   for d in hits[0]["diagnostics"]), hits[0]["diagnostics"]
    elif loc == "input":
        assert report is not None
        problems = report["inputProblems"]
        assert any(p["code"] == code and p["record"]["index"] == -1 for p in problems), problems
    elif loc == "output":
        assert code in text, text
    else:
        raise AssertionError(loc)

    if case.get("no_file"):
        assert not (tmp_path / case["no_file"]).exists()

    if case["cmd"] == "run" and report is not None:
        r = report["records"]
        assert r["balanced"] is True
        assert r["in"] == r["mapped"] + r["partlyMapped"] + r["rejected"] + r["filtered"]
        assert len(rejects or []) == report["items"]["rejected"]  # one line per rejected item
        if "records" in case:
            assert {k: r[k] for k in ("in", "mapped", "rejected", "filtered")} == case["records"]
        assert output is not None
        assert not list(output.parent.glob(".*.tmp")), "temporary files left behind"
        if output.exists():
            objects = [json.loads(line) for line in output.read_text().splitlines()]
            assert len(objects) == report["objects"]["out"]
            if "expect_ids" in case:
                assert [o["id"] for o in objects] == case["expect_ids"]
        if case.get("output") == "devfull_symlink":
            assert not output.is_symlink()
    elif "records" in case or "expect_ids" in case:
        raise AssertionError(f"no report written: {text}")


# ------------------------------------------------------------------ disk full (monkeypatched)
def _enospc(*_: Any, **__: Any) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class _FullFile:
    """A file object whose writes fail with ENOSPC, like a full disk."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def write(self, data: bytes) -> int:
        _enospc()
        return 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@pytest.mark.parametrize("where", ["fsync", "write"])
def test_disk_full(where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mapper.io.atomic as sinks

    inp = tmp_path / "in.jsonl"
    inp.write_bytes(b"".join(_good(i) + b"\n" for i in range(50)))
    out = tmp_path / "out" / "o.jsonl"
    out.parent.mkdir()
    out.write_text("previous\n")
    if where == "fsync":
        monkeypatch.setattr(sinks.os, "fsync", _enospc)
    else:
        real_fdopen = os.fdopen
        monkeypatch.setattr(sinks.os, "fdopen", lambda *a, **k: _FullFile(real_fdopen(*a, **k)))
    result = CliRunner().invoke(app, ["run", str(HERE / "base.yaml"), str(inp), "-o", str(out)])
    assert result.exit_code == 4, (result.output, result.exception)
    assert "Traceback" not in result.output
    assert "output.write-failed" in result.output
    assert out.read_text() == "previous\n"  # the previous version is untouched
    assert sorted(p.name for p in out.parent.iterdir()) == ["o.jsonl"]  # no .tmp left


@pytest.mark.parametrize("failing", ["report", "rejects", "objects"])
@pytest.mark.parametrize("workers", [1, 2])
def test_disk_full_at_the_end_keeps_the_previous_set(
    failing: str, workers: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The three files of a run are renamed together: when one cannot be written (the disk
    fills up while the report is written), none of the new ones appears."""
    import mapper.io.atomic as atomic

    inp = tmp_path / "in.jsonl"
    inp.write_bytes(b"".join(_good(i) + b"\n" for i in range(20)) + b"{bad\n")
    out = tmp_path / "o.jsonl"
    previous = {"o.jsonl": "old objects\n", "o.rejects.jsonl": "old rejects\n",
                "o.report.json": "old report\n"}
    for name, text in previous.items():
        (tmp_path / name).write_text(text)
    target = {"report": "o.report.json", "rejects": "o.rejects.jsonl", "objects": "o.jsonl"}
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if Path(f"/proc/self/fd/{fd}").readlink().name.startswith(f".{target[failing]}."):
            _enospc()
        real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    args = ["run", str(HERE / "base.yaml"), str(inp), "-o", str(out), "--workers", str(workers)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 4, (result.output, result.exception)
    assert "output.write-failed" in result.output
    assert {p.name: p.read_text() for p in tmp_path.iterdir() if p.name != "in.jsonl"} == previous


def test_rejects_lines_are_json_even_with_infinity_and_big_integers() -> None:
    """A value a function made infinite, beside an integer beyond 64 bits: still JSON (null,
    as orjson writes it), never `Infinity`; a lone surrogate is written as its escape."""
    from mapper.io.sinks import dumps_line

    line = dumps_line({"f": float("inf"), "g": [float("-inf"), float("nan")], "n": 2**70})
    assert json.loads(line, parse_constant=lambda c: pytest.fail(c)) == {
        "f": None, "g": [None, None], "n": 2**70}
    assert json.loads(dumps_line({"s": "\ud800", "n": 2**70})) == {"s": "\ud800", "n": 2**70}
