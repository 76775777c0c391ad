"""The compiled-mapping cache: a plan taken from it maps exactly as a freshly compiled one, and
it is never used when stale, corrupt or turned off."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from mapper.engine import plans
from mapper.engine.cache import freeze, thaw
from mapper.engine.plans import compile_path
from mapper.io import plancache
from mapper.io.plancache import PlanCache
from mapper.run.files import RunRequest, run_files
from mapper.run.jobs import load_jobs

ROOT = Path(__file__).resolve().parents[1]
JOBS, _ = load_jobs(sorted((ROOT / "mappings").glob("*/jobs.yaml")))
FAST = {"github-push", "jira-search", "confluence-pages-v2", "slack-messages"}


def _jobs(fast: bool) -> list[Any]:
    chosen = [job for job in JOBS if (job.name in FAST) == fast]
    return [pytest.param(job, id=job.name) for job in chosen]


def _outputs(plan: Any, job: Any, folder: Path) -> tuple[bytes, bytes]:
    out = folder / "out.jsonl"
    request = RunRequest(output=str(out), records=job.records, params=dict(job.params))
    run_files(plan, list(job.inputs), request, mapping=job.mapping)
    rejects = folder / "out.jsonl.rejects.jsonl"
    return out.read_bytes(), rejects.read_bytes() if rejects.exists() else b""


def _no_compiling(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any) -> Any:
        raise AssertionError("compiled although the cache holds the plan")

    monkeypatch.setattr(plans, "_compile_path", refuse)


def _same_as_cold(job: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cold, _ = compile_path(job.mapping)
    store = PlanCache(tmp_path / "cache")
    compile_path(job.mapping, cache=store)  # compiles and keeps
    _no_compiling(monkeypatch)
    warm, _ = compile_path(job.mapping, cache=store)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert _outputs(warm, job, tmp_path / "b") == _outputs(cold, job, tmp_path / "a")


@pytest.mark.parametrize("job", _jobs(fast=True))
def test_a_cached_plan_maps_byte_for_byte_as_a_fresh_one(
    job: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _same_as_cold(job, tmp_path, monkeypatch)


@pytest.mark.slow
@pytest.mark.parametrize("job", _jobs(fast=False))
def test_every_bundled_job_maps_the_same_from_the_cache(
    job: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _same_as_cold(job, tmp_path, monkeypatch)


def test_every_bundled_plan_can_be_kept() -> None:
    for job in JOBS:
        plan, diags = compile_path(job.mapping)
        assert plan is not None
        again, kept = thaw(freeze(plan, diags))
        assert again.rules and [r.name for r in again.rules] == [r.name for r in plan.rules]
        assert kept == diags


def _write_mapping(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "common.yaml").write_text(
        f"version: 1\ndefine:\n  title: \"'{name}'\"\n", encoding="utf-8"
    )
    mapping = folder / "repo.yaml"
    mapping.write_text(
        textwrap.dedent("""\
            version: 1
            include: [common.yaml]
            objects:
              - type: atlassian:repository
                fields:
                  id: full_name
                  displayName: {use: title}
                  url: html_url
                  createdAt: to_rfc3339(created_at)
                  lastUpdatedAt: to_rfc3339(updated_at)
                  permissions: permissions([principal('ATLASSIAN_WORKSPACE')])
            """),
        encoding="utf-8",
    )
    return mapping


RECORD = {
    "full_name": "acme/api",
    "html_url": "https://github.com/acme/api",
    "created_at": "2024-05-01T12:00:00Z",
    "updated_at": "2024-05-02T08:00:00Z",
}


def _title(plan: Any) -> str:
    from mapper.api import apply

    return str(apply(plan, RECORD).objects[0].payload["displayName"])


def test_a_changed_include_is_compiled_again(tmp_path: Path) -> None:
    mapping = _write_mapping(tmp_path / "m", "first")
    store = PlanCache(tmp_path / "cache")
    plan, _ = compile_path(mapping, cache=store)
    assert _title(plan) == "first"
    _write_mapping(tmp_path / "m", "second")  # same mapping file, another include
    plan, _ = compile_path(mapping, cache=store)
    assert _title(plan) == "second"
    assert len(list((tmp_path / "cache").glob("*.plan"))) == 1  # the stale entry was replaced


def test_a_missing_include_is_not_taken_from_the_cache(tmp_path: Path) -> None:
    mapping = _write_mapping(tmp_path / "m", "first")
    store = PlanCache(tmp_path / "cache")
    compile_path(mapping, cache=store)
    (tmp_path / "m" / "common.yaml").unlink()
    plan, diags = compile_path(mapping, cache=store)
    assert plan is None
    assert "spec.include-missing" in [d.code for d in diags]


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: b"", id="empty"),
        pytest.param(lambda data: data[: len(data) // 2], id="torn"),
        pytest.param(lambda data: b"garbage" * 100, id="foreign"),
        pytest.param(lambda data: data[:-40] + b"\x00" * 40, id="corrupt-tail"),
        pytest.param(lambda data: plancache.MAGIC + b"\x80\x05K\x01.", id="not-a-list"),
    ],
)
def test_a_damaged_entry_is_ignored(tmp_path: Path, damage: Any) -> None:
    mapping = _write_mapping(tmp_path / "m", "first")
    store = PlanCache(tmp_path / "cache")
    compile_path(mapping, cache=store)
    (entry,) = (tmp_path / "cache").glob("*.plan")
    entry.write_bytes(damage(entry.read_bytes()))
    plan, _ = compile_path(mapping, cache=store)
    assert plan is not None and _title(plan) == "first"


def test_another_mapper_or_python_does_not_use_the_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mapping = _write_mapping(tmp_path / "m", "first")
    store = PlanCache(tmp_path / "cache")
    compile_path(mapping, cache=store)
    assert store.lookup(str(mapping), ()) is not None
    monkeypatch.setattr(plancache, "_ENVIRONMENT", [b"mapper 9.9 on another Python"])
    assert store.lookup(str(mapping), ()) is None


_WRITER = """
import sys
from pathlib import Path
from mapper.io.plancache import PlanCache
from mapper.engine.cache import freeze
from mapper.engine.plans import compile_path

mapping, folder, rounds = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
store = PlanCache(folder)
with store.recording():
    plan, diags = compile_path(mapping)
frozen = freeze(plan, diags)
print("ready", flush=True)
sys.stdin.readline()  # both processes start writing together
for _ in range(rounds):
    store.store(mapping, (), frozen)
    got = store.lookup(mapping, ())
    assert got is None or len(got) == len(frozen), "a torn entry was read"
print("done", flush=True)
"""


def test_concurrent_writers_never_break_each_other(tmp_path: Path) -> None:
    mapping = _write_mapping(tmp_path / "m", "first")
    folder = tmp_path / "cache"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(mapping), str(folder), "40"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0 and out == "done\n"
    assert not list(folder.glob(".*.tmp"))  # no temporary file left behind
    plan, _ = compile_path(mapping, cache=PlanCache(folder))
    assert plan is not None and _title(plan) == "first"


def _cli(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> None:
    out = tmp_path / "out.jsonl"
    given = {**os.environ, "MAPPER_CACHE_DIR": str(tmp_path / "cache"), **(env or {})}
    cmd = [sys.executable, "-m", "mapper", "run", *args]
    cmd += ["mappings/github/push.yaml", "samples/github/push-webhook.json", "-o", str(out), "-q"]
    done = subprocess.run(cmd, cwd=ROOT, env=given, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("args", "env", "kept"),
    [
        pytest.param((), {}, 1, id="default"),
        pytest.param(("--no-cache",), {}, 0, id="--no-cache"),
        pytest.param((), {"MAPPER_NO_CACHE": "1"}, 0, id="MAPPER_NO_CACHE"),
    ],
)
def test_run_keeps_its_plan_unless_told_not_to(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str], kept: int
) -> None:
    _cli(tmp_path, *args, env=env)
    assert len(list((tmp_path / "cache").glob("*.plan"))) == kept


def test_cache_folder_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAPPER_CACHE_DIR", raising=False)
    monkeypatch.delenv("MAPPER_NO_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere/cache")
    if sys.platform not in ("win32", "darwin"):
        assert plancache.cache_dir() == Path("/somewhere/cache/mapper")
    monkeypatch.setenv("MAPPER_CACHE_DIR", "/elsewhere")
    assert plancache.cache_dir() == Path("/elsewhere")
    monkeypatch.setenv("MAPPER_NO_CACHE", "1")
    assert plancache.cache_dir() is None


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_mapping_that_is_no_regular_file_is_never_cached(tmp_path: Path) -> None:
    fifo = tmp_path / "m.yaml"
    os.mkfifo(fifo)
    store = PlanCache(tmp_path / "cache")
    assert store.lookup(str(fifo), ()) is None  # returns at once: the FIFO is not opened
    with store.recording():
        from mapper.language.mapfiles import READS

        reads = READS.get()
        assert reads is not None
        reads[str(fifo.resolve())] = b"version: 1\n"  # as if the loader had read it
    store.store(str(fifo), (), b"frozen")
    assert not (tmp_path / "cache").exists()


_MAPPING = "mappings/github/push.yaml"
_SAMPLE = "samples/github/push-webhook.json"


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("preview", _MAPPING, _SAMPLE), id="preview"),
        pytest.param(("explain", _MAPPING, _SAMPLE), id="explain"),
        pytest.param(("eval", "repository.name", _SAMPLE, "--mapping", _MAPPING),
                     id="eval"),
    ],
)
def test_the_inspecting_commands_keep_their_plan_too(tmp_path: Path, args: tuple[str, ...]) -> None:
    given = {**os.environ, "MAPPER_CACHE_DIR": str(tmp_path / "cache")}
    cmd = [sys.executable, "-m", "mapper", *args]
    done = subprocess.run(cmd, cwd=ROOT, env=given, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "cache").glob("*.plan"))) == 1
    again = subprocess.run(cmd, cwd=ROOT, env=given, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and again.stdout == done.stdout  # the same from the cache
