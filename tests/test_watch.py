"""`--watch`: the change source (driven without sleeping), the files watched, and one real
`explain --watch` that is edited, broken, mended and stopped with Ctrl-C."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mapper.api import compile_path
from mapper.authoring.watch import changes, watched_files

ROOT = Path(__file__).resolve().parents[1]


class _Done(Exception):
    """No step left: ends a driven watch."""


def _write(name: str, text: str) -> Callable[[Path], None]:
    def act(d: Path) -> None:
        (d / name).write_text(text, encoding="utf-8")
    return act


def _replace(name: str, text: str) -> Callable[[Path], None]:
    """As editors save: a new file renamed over the old one."""
    def act(d: Path) -> None:
        (d / f".{name}.new").write_text(text, encoding="utf-8")
        os.replace(d / f".{name}.new", d / name)
    return act


def _read(name: str) -> Callable[[Path], None]:
    def act(d: Path) -> None:
        (d / name).read_text(encoding="utf-8")
    return act


def _both(*acts: Callable[[Path], None]) -> Callable[[Path], None]:
    def act(d: Path) -> None:
        for one in acts:
            one(d)
    return act


def _delete(name: str) -> Callable[[Path], None]:
    return lambda d: (d / name).unlink()


STEPS: list[tuple[str, Callable[[Path], None], list[str] | None]] = [
    ("nothing changes", _both(), None),
    ("a is written", _write("a", "longer text"), ["a"]),
    ("a is read", _read("a"), None),
    ("b is replaced by a rename", _replace("b", "b1"), ["b"]),
    ("both change", _both(_write("a", "x"), _write("b", "bb")), ["a", "b"]),
    ("a is deleted", _delete("a"), ["a"]),
    ("a comes back", _write("a", "again"), ["a"]),
    ("an unwatched file changes", _write("c", "c"), None),
]


def _collect(watch: Iterator[list[str]], seen: list[tuple[str, list[str] | None]]) -> None:
    """Record each change against the step before it, until the steps run out."""
    try:
        for changed in watch:
            seen[-1] = (seen[-1][0], [Path(p).name for p in changed])
    except _Done:
        return


def test_changes_are_seen_between_polls(tmp_path: Path) -> None:
    for name in "ab":
        (tmp_path / name).write_text(name, encoding="utf-8")
    files = [str(tmp_path / "a"), str(tmp_path / "b")]
    steps = list(STEPS)
    seen: list[tuple[str, list[str] | None]] = []

    def wait(_: float) -> None:  # the injectable poll: one step per poll, no sleeping
        if not steps:
            raise _Done
        name, act, _ = steps.pop(0)
        seen.append((name, None))
        act(tmp_path)

    watch = changes(lambda: files, wait=wait)
    assert next(watch) == []  # the first drawing comes at once
    _collect(watch, seen)
    assert seen == [(name, want) for name, _, want in STEPS]


def test_files_are_asked_again_after_a_change(tmp_path: Path) -> None:
    """An edited mapping may include a new file: it is watched from the next drawing on."""
    mapping, include = tmp_path / "m", tmp_path / "inc"
    mapping.write_text("1", encoding="utf-8")
    include.write_text("1", encoding="utf-8")
    watched = [str(mapping)]
    edits = [lambda: mapping.write_text("12", encoding="utf-8"),
             lambda: include.write_text("12", encoding="utf-8")]

    def wait(_: float) -> None:
        edits.pop(0)()

    watch = changes(lambda: list(watched), wait=wait)
    assert next(watch) == []
    assert next(watch) == [str(mapping)]
    watched.append(str(include))  # the mapping, drawn again, now includes it
    assert next(watch) == [str(include)]


@pytest.mark.parametrize(("mapping", "inputs", "expected"), [
    # a lookup table found above the input's folder
    ("mappings/slack/messages.yaml", ["samples/slack/export/general/2024-05-01.json"],
     ["mappings/slack/messages.yaml", "samples/slack/export/general/2024-05-01.json",
      "samples/slack/export/channels.json"]),
    # a folder of inputs: its files; the mapping folder's YAML (includes come from there)
    ("mappings/github/push.yaml", ["samples/github"],
     ["mappings/github/push.yaml", "mappings/github/common.yaml",
      "samples/github/push-webhook.json"]),
])
def test_watched_files(mapping: str, inputs: list[str], expected: list[str],
                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    plan, _ = compile_path(mapping)
    files = watched_files(Path(mapping), inputs, plan)
    assert {Path(f).resolve() for f in expected} <= {Path(f).resolve() for f in files}
    assert len(files) == len(set(files))


# --- one real watch ------------------------------------------------------------------------------

MAPPING = """\
version: 1
objects:
  - name: repo
    type: atlassian:repository
    fields:
      id: id
      displayName: {expr: NAME}
      url: url
      createdAt: to_rfc3339(created)
      lastUpdatedAt: to_rfc3339(created)
      permissions: permissions([principal('ATLASSIAN_WORKSPACE')])
"""
RECORD = {"id": "r1", "name": "first", "title": "second", "url": "https://x.test/r",
          "created": "2024-05-01T12:00:00Z"}
READY = "watching "
TIMEOUT_S = 60


def _lines(stream: object) -> queue.Queue[str | None]:
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in stream:  # type: ignore[attr-defined]
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _until_ready(lines: queue.Queue[str | None]) -> str:
    """The output up to the next readiness line (bounded by TIMEOUT_S, never a fixed sleep)."""
    got = []
    while True:
        line = lines.get(timeout=TIMEOUT_S)
        assert line is not None, "the watch ended early:\n" + "".join(got)
        got.append(line)
        if line.startswith(READY):
            return "".join(got)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child needs POSIX")
def test_explain_watch_redraws_survives_a_broken_mapping_and_stops_on_ctrl_c(
    tmp_path: Path,
) -> None:
    mapping, data = tmp_path / "m.yaml", tmp_path / "in.json"
    mapping.write_text(MAPPING.replace("NAME", "name"), encoding="utf-8")
    data.write_text(json.dumps(RECORD), encoding="utf-8")
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mapper", "explain", "--watch", str(mapping), str(data),
         "--field", "displayName"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    try:
        lines = _lines(proc.stdout)
        first = _until_ready(lines)
        assert '"first"' in first and "watching 2 file(s)" in first
        mapping.write_text(MAPPING.replace("NAME", "title"), encoding="utf-8")
        second = _until_ready(lines)
        assert "changed: " in second and '"second"' in second and '"first"' not in second
        mapping.write_text(MAPPING.replace("NAME", "title(("), encoding="utf-8")
        broken = _until_ready(lines)
        assert f"{mapping}:7:" in broken and "the mapping is invalid" in broken
        mapping.write_text(MAPPING.replace("NAME", "name"), encoding="utf-8")
        assert '"first"' in _until_ready(lines)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=TIMEOUT_S) == 130
        rest = []
        while (line := lines.get(timeout=TIMEOUT_S)) is not None:
            rest.append(line)
        assert rest == []  # quietly: no traceback, no "interrupted"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()


def test_watch_refuses_standard_input(tmp_path: Path) -> None:
    from test_cli import invoke

    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING.replace("NAME", "name"), encoding="utf-8")
    code, _, err = invoke("preview", "--watch", mapping, "-")
    assert code == 2 and "standard input" in err


def test_preview_watch_redraws_each_change_and_keeps_watching_a_broken_mapping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command's loop over a driven change source: each change is drawn again, a mapping
    that does not compile shows its located problem, Ctrl-C exits 130 without a word."""
    from test_cli import invoke

    import mapper.authoring.watch as watch

    mapping, data = tmp_path / "m.yaml", tmp_path / "in.json"
    mapping.write_text(MAPPING.replace("NAME", "name"), encoding="utf-8")
    data.write_text(json.dumps(RECORD), encoding="utf-8")
    edits = ["title((", "title"]  # break it, then mend it

    def driven(files: Callable[[], list[str]], **_: object) -> Iterator[list[str]]:
        assert str(mapping) in files() and str(data) in files()
        yield []
        for name in edits:
            mapping.write_text(MAPPING.replace("NAME", name), encoding="utf-8")
            yield [str(mapping)]
        raise KeyboardInterrupt

    monkeypatch.setattr(watch, "changes", driven)
    code, out, err = invoke("preview", "--watch", mapping, data)
    assert code == 130
    assert out.index("first") < out.index("second")  # drawn before and after the edits
    assert f"{mapping}:7:" in err and "the mapping is invalid" in err
    assert err.count("watching 2 file(s) for changes") == 3
    assert "interrupted" not in err
