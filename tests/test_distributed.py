"""`mapper run --engine dask` gives exactly what a 1-worker local run gives, on a LocalCluster.

The cases of tests/test_parallel.py (untidy JSONL, arrays in every layout, folders, mixed inputs)
run on a 2-process LocalCluster with tiny parts, against a local 1-worker run: output, rejects,
report and exit code must match byte for byte, including where --fail-fast and --max-errors
stop. Also: fsspec URL inputs and outputs (file:// on the process cluster, memory:// on a
threaded one), a worker killed mid-part, Ctrl-C, a mapping that differs per content, and the
message without dask.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("distributed")
pytest.importorskip("fsspec")

import fsspec
from distributed import Client, LocalCluster
from test_parallel import INPUTS, OPTIONS, REPOS, W1, _commits, _invoke, _repo, _run

from mapper.api import load
from mapper.io import inputs as sources
from mapper.run import parts, partwork
from mapper.run.files import RunRequest, Status, run_files
from mapper.run.partwork import MappingRef, RunSpec
from mapper.run.policy import ErrorPolicy, RunOptions

TIMEOUT_S = 120  # a cluster on a busy 2-core machine: generous, but every wait is bounded


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with (
        LocalCluster(
            host="127.0.0.1",
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
        ) as local,
        Client(local) as client,
    ):
        client.wait_for_workers(2, timeout=TIMEOUT_S)
        yield local


@pytest.fixture(autouse=True)
def _tiny_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client cuts the parts: tiny ones put records on both sides of every cut."""
    monkeypatch.setattr(parts, "SPAN_BYTES", 97)
    monkeypatch.setattr(parts, "PART_RECORDS", 3)
    monkeypatch.setattr(sources, "STREAM_THRESHOLD", 3000)


def _dask(mapping: Path, inputs: list, out: Path, address: str, *options: str) -> tuple:
    return _run(mapping, inputs, out, 1, "--engine", "dask", "--scheduler", address, *options)


CASES = [(case, option) for case in INPUTS for option in ("defaults", "max-errors-4")]
CASES += [
    ("untidy", "max-errors-0"),
    ("commits", "set-associations"),
    ("big-arrays", "max-errors-0"),
]


@pytest.mark.parametrize(("case", "option"), CASES)
def test_dask_gives_what_one_worker_gives(
    case: str, option: str, tmp_path: Path, cluster: LocalCluster
) -> None:
    mapping, make = INPUTS[case]
    inputs = make(tmp_path)
    one = _run(mapping, inputs, tmp_path / "one" / "o.jsonl", 1, *OPTIONS[option])
    assert one[2] is not None and one[4] is not None
    dask = _dask(
        mapping, inputs, tmp_path / "dask" / "o.jsonl", cluster.scheduler_address, *OPTIONS[option]
    )
    assert dask == one
    left = [p.name for p in (tmp_path / "dask").iterdir() if p.name.startswith(".")]
    assert not left  # no temporary file, no parts folder


@pytest.mark.parametrize("case", ["untidy", "pages", "big-arrays"])
def test_fail_fast_stops_at_the_same_record(
    case: str, tmp_path: Path, cluster: LocalCluster
) -> None:
    mapping, make = INPUTS[case]
    inputs = make(tmp_path)
    one = _run(mapping, inputs, tmp_path / "one" / "o.jsonl", 1, "--fail-fast")
    dask = _dask(
        mapping, inputs, tmp_path / "dask" / "o.jsonl", cluster.scheduler_address, "--fail-fast"
    )
    assert one[0] == dask[0] == Status.REJECTED
    assert dask[1:] == one[1:]  # the same diagnostics on stderr; no output file
    assert not list((tmp_path / "dask").iterdir())


def test_url_inputs_and_outputs(tmp_path: Path, cluster: LocalCluster) -> None:
    """file:// URLs with a glob, read by the worker processes; the output written through fsspec."""
    mapping, make = INPUTS["several-files"]
    inputs = make(tmp_path)
    one = _run(mapping, inputs, tmp_path / "one" / "o.jsonl", 1)
    out = tmp_path / "url" / "o.jsonl"
    code, _ = _invoke(
        "run",
        mapping,
        f"file://{tmp_path}/in*.ndjson",
        "-o",
        f"file://{out}",
        "-q",
        "--engine",
        "dask",
        "--scheduler",
        cluster.scheduler_address,
    )
    assert code == one[0]
    assert out.read_bytes() == one[2]
    report = json.loads((tmp_path / "url" / "o.report.json").read_text())
    assert report["records"] == one[4]["records"]
    rejects = (tmp_path / "url" / "o.rejects.jsonl").read_bytes()
    assert rejects.count(b"\n") == one[3].count(b"\n") and b"file://" in rejects


def test_memory_urls_on_a_threaded_cluster(tmp_path: Path) -> None:
    """memory:// is per process: workers in threads share it with the test."""
    mapping, make = INPUTS["untidy"]
    (local,) = make(tmp_path)
    one = _run(mapping, [local], tmp_path / "one" / "o.jsonl", 1)
    mem = fsspec.filesystem("memory")
    mem.pipe("/dask-test/in/a.jsonl", local.read_bytes())
    with LocalCluster(n_workers=2, processes=False, dashboard_address=":0") as threaded:
        request = RunRequest(
            output="memory://dask-test/out/o.jsonl",
            engine="dask",
            scheduler=threaded.scheduler_address,
        )
        result = run_files(
            load(mapping), ["memory://dask-test/in/*.jsonl"], request, mapping=mapping
        )
        assert result.status == one[0]
        assert mem.cat_file("/dask-test/out/o.jsonl") == one[2]
        assert result.report.to_dict()["records"] == one[4]["records"]
        failed = RunRequest(
            output="memory://dask-test/out/f.jsonl",
            engine="dask",
            scheduler=threaded.scheduler_address,
            policy=ErrorPolicy.FAIL_FAST,
        )
        stopped = run_files(
            load(mapping), ["memory://dask-test/in/a.jsonl"], failed, mapping=mapping
        )
        assert stopped.status == Status.REJECTED
        assert not [p for p in mem.find("/dask-test/out") if "/f." in p]  # nothing, no temporary
    mem.rm("/dask-test", recursive=True)


def _install_killer(flag: str) -> None:
    """On a worker: the first task that maps part 4 kills its worker process (once per run)."""
    original = partwork.map_parts

    def killing(spec: RunSpec, tasks: tuple) -> list:
        if any(t.number == 4 for t in tasks):
            try:
                os.close(os.open(flag, os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                pass
            else:
                os._exit(1)
        return original(spec, tasks)

    partwork.map_parts = killing


def test_a_killed_worker_loses_and_repeats_nothing(
    tmp_path: Path, cluster: LocalCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cloudpickle

    inputs = _commits(tmp_path)
    monkeypatch.setattr(parts, "SPAN_BYTES", 5000)
    one = _run(W1, inputs, tmp_path / "one" / "o.jsonl", 1)
    flag = tmp_path / "killed"
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        with Client(cluster.scheduler_address) as client:
            client.run(_install_killer, str(flag))
            dask = _dask(W1, inputs, tmp_path / "dask" / "o.jsonl", cluster.scheduler_address)
            client.wait_for_workers(2, timeout=TIMEOUT_S)  # the nanny restarted it
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert flag.exists(), "no worker was killed"
    assert dask == one


def test_ctrl_c_leaves_no_output(tmp_path: Path, cluster: LocalCluster) -> None:
    inputs = [str(p) for p in _commits(tmp_path)]
    out = tmp_path / "out" / "o.jsonl"

    def interrupt(records: int, _: object) -> None:
        raise KeyboardInterrupt

    request = RunRequest(output=str(out), engine="dask", scheduler=cluster.scheduler_address)
    result = run_files(load(W1), inputs, request, mapping=W1, progress=interrupt)
    assert result.status == Status.INTERRUPTED
    assert not out.parent.exists() or not list(out.parent.iterdir())


def test_a_worker_compiles_each_mapping_once_per_content(tmp_path: Path) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text(REPOS.read_text())
    spec = RunSpec(MappingRef.of(mapping), None, RunOptions(), False)
    assert partwork.compiled(spec) is partwork.compiled(spec)
    mapping.write_text(REPOS.read_text().replace("unnamed", "anonymous"))
    changed = RunSpec(MappingRef.of(mapping), None, RunOptions(), False)
    assert changed.mapping.digest != spec.mapping.digest
    assert partwork.compiled(changed) is not partwork.compiled(spec)


def test_without_dask_the_engine_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs = INPUTS["plain"][1](tmp_path)
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    code, err = _invoke("run", REPOS, *inputs, "-o", tmp_path / "o.jsonl", "--engine", "dask")
    assert code == 2
    assert "pip install 'twg-mapper[dask]'" in err
    assert not (tmp_path / "o.jsonl").exists()


def test_url_inputs_need_the_dask_engine(tmp_path: Path) -> None:
    code, err = _invoke("run", REPOS, "memory://x/in.jsonl", "-o", tmp_path / "o.jsonl")
    assert code == 2
    assert "--engine dask" in err


def _install_failure() -> None:
    """On a worker: every task fails (a bug, or a mapping that cannot compile there)."""
    original = partwork.map_parts

    def failing(spec: RunSpec, tasks: tuple) -> list:
        raise RuntimeError("boom")

    failing.original = original  # type: ignore[attr-defined]
    partwork.map_parts = failing


def _remove_failure() -> None:
    partwork.map_parts = getattr(partwork.map_parts, "original", partwork.map_parts)


def test_a_task_that_keeps_failing_stops_the_run_without_output(
    tmp_path: Path, cluster: LocalCluster
) -> None:
    import cloudpickle

    inputs = INPUTS["plain"][1](tmp_path)
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        with Client(cluster.scheduler_address) as client:
            client.run(_install_failure)
            try:
                code, err = _invoke(
                    "run",
                    REPOS,
                    *inputs,
                    "-o",
                    tmp_path / "out" / "o.jsonl",
                    "-q",
                    "--engine",
                    "dask",
                    "--scheduler",
                    cluster.scheduler_address,
                )
            finally:
                client.run(_remove_failure)
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert code == 4
    assert "cluster.task-failed" in err and "boom" in err
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_an_unreachable_scheduler_is_an_io_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mapper.run import distributed

    monkeypatch.setattr(distributed, "CONNECT_TIMEOUT_S", 1)
    inputs = INPUTS["plain"][1](tmp_path)
    code, err = _invoke(
        "run",
        REPOS,
        *inputs,
        "-o",
        tmp_path / "o.jsonl",
        "--engine",
        "dask",
        "--scheduler",
        "tcp://127.0.0.1:9",
    )
    assert code == 4
    assert "cluster.unreachable" in err
    assert not (tmp_path / "o.jsonl").exists()


def _sync_runs_alike(
    tmp_path: Path, cluster: LocalCluster, mapping: str, runs: list[list[dict]], *options: str
) -> list[dict]:
    """Sync each run's records locally and on the cluster, each side with its own state: the
    bodies and exit codes must be the same, run after run. Per run: (exit code, bodies)."""
    from sync_support import write_records

    for engine in ("local", "dask"):
        (tmp_path / engine).mkdir()
        (tmp_path / engine / "m.yaml").write_text(mapping)
    done = []
    for n, records in enumerate(runs):
        seen = {}
        for engine in ("local", "dask"):
            tmp = tmp_path / engine
            src = write_records(tmp / "in.jsonl", records)
            extra = ["--connection-id", "c"] if n == 0 else []
            if engine == "dask":
                extra += ["--engine", "dask", "--scheduler", cluster.scheduler_address]
            code, _ = _invoke(
                "sync", tmp / "m.yaml", src, "--state", tmp / "s.db", "-o", tmp / "out",
                "--mode", "mirror", "-q", *options, *extra,
            )  # fmt: skip
            bodies = {p.name: p.read_bytes() for p in (tmp / "out").glob("*Objects.jsonl")}
            seen[engine] = (code, bodies)
        assert seen["dask"] == seen["local"], f"run {n}"
        done.append(seen["local"])
    return done


def test_sync_maps_on_the_cluster_and_applies_the_state_here(
    tmp_path: Path, cluster: LocalCluster
) -> None:
    """`mapper sync --engine dask`: the same bodies and state as a local sync, run after run."""
    from sync_support import MAPPING, doc

    runs = [[doc(f"d{i}") for i in range(30)], [doc(f"d{i}") for i in range(30)]]
    runs.append([doc(f"d{i}") for i in range(0, 30, 2)])  # a mirror run deletes the odd ones
    done = _sync_runs_alike(tmp_path, cluster, MAPPING, runs)
    assert done[-1][1]["deleteObjects.jsonl"]


CURSOR_VALUES = [  # numbers across many tiny parts, then a text and a boolean among them
    [5, 12, None, 9, *range(20), 3.5],
    [4, *range(10), "x", 2, True, 7],
]


@pytest.mark.parametrize("values", CURSOR_VALUES, ids=["numbers", "mixed and invalid"])
@pytest.mark.parametrize("path", ["general path", "shortcut"])
def test_sync_on_the_cluster_computes_the_mappings_cursor(
    tmp_path: Path, cluster: LocalCluster, path: str, values: list
) -> None:
    """The workers hand each record's `cursor:` value back: the cursor, its findings and the
    records they name are a local sync's."""
    from sync_support import sync
    from test_sync_cursor import MAPPINGS, records, write

    seen = {}
    for engine in ("local", "dask"):
        (tmp_path / engine).mkdir()
        write(tmp_path / engine, MAPPINGS[path]("upd"))
        extra = {"engine": "dask", "scheduler": cluster.scheduler_address} if engine == "dask" else {}
        report = sync(tmp_path / engine, records(values), **extra).result.sync
        named = json.dumps(report.examples).replace(str(tmp_path / engine), "")
        seen[engine] = (report.cursor_after, dict(report.findings), named)
    assert seen["dask"] == seen["local"]
    assert seen["local"][0] or seen["local"][1]  # (each case moves the cursor or says why not)


def test_run_on_dask_is_run_files_on_the_cluster(tmp_path: Path, cluster: LocalCluster) -> None:
    from mapper.run.distributed import run_on_dask

    inputs = INPUTS["plain"][1](tmp_path)
    one = _run(REPOS, inputs, tmp_path / "one" / "o.jsonl", 1)
    out = tmp_path / "lib" / "o.jsonl"
    request = RunRequest(output=str(out))
    result = run_on_dask(
        REPOS, [str(p) for p in inputs], request, scheduler=cluster.scheduler_address
    )
    assert result.status == one[0]
    assert out.read_bytes() == one[2]
    assert (tmp_path / "lib" / "o.rejects.jsonl").read_bytes() == one[3]


def test_a_cluster_sync_records_the_line_digests_a_local_rerun_skips(
    tmp_path: Path, cluster: LocalCluster
) -> None:
    """The workers hand back each line's digest with its payloads: the state a cluster sync
    leaves holds them, and a local re-run on it maps no line."""
    import sqlite3

    inputs = _commits(tmp_path)
    common = ["--state", tmp_path / "s.db", "--mode", "mirror", "-q"]
    dask = ["--engine", "dask", "--scheduler", cluster.scheduler_address, "--connection-id", "c"]
    code, _ = _invoke("sync", W1, *inputs, "-o", tmp_path / "a", *common, *dask)
    assert code == 0
    rows = sqlite3.connect(tmp_path / "s.db").execute("SELECT line FROM objects").fetchall()
    assert len(rows) == 150
    assert all(line is not None for (line,) in rows)
    code, _ = _invoke("sync", W1, *inputs, "-o", tmp_path / "b", *common)
    assert code == 0
    report = json.loads((tmp_path / "b" / "report.json").read_text())
    assert report["sync"]["recordsKnown"] == 150


def test_objects_worked_out_on_the_cluster_sync_as_local_objects_run_after_run(
    tmp_path: Path, cluster: LocalCluster
) -> None:
    """A clean mapping's objects come back worked out (`sync.digested`): on a state that
    holds them, changed, unchanged, twice in a run or gone, they are decided as a local
    sync decides its own."""
    from sync_support import doc
    from test_sync_workers import CHAIN

    def chain(ids: list[int], title: str = "t") -> list[dict]:
        return [doc(f"d{i}", title=title if i % 4 == 0 else "t", next=f"d{i + 1}") for i in ids]

    runs = [chain(list(range(20))), chain([*range(20), 3], "changed"), chain(list(range(0, 20, 2)))]
    done = _sync_runs_alike(tmp_path, cluster, CHAIN, runs, "--allow-mass-delete")
    assert all(bodies for _, bodies in done)  # (each run sends something)


STOPS = [("--max-errors", "1"), ("--fail-fast",)]


@pytest.mark.parametrize("stop", STOPS)
def test_a_stop_on_the_runs_own_cluster_prints_only_mappers_words(
    tmp_path: Path, stop: tuple[str, ...]
) -> None:
    """A stop cancels the tasks still in flight; closing the run's own LocalCluster under one
    that still ran logged `distributed.worker.state_machine - WARNING - ... ended with
    CancelledError` on the user's terminal (its workers share it). Now the run waits for them:
    stderr holds mapper's own words only. A real process, so the workers' stderr is seen."""
    import subprocess

    lines = [_repo(i, bad=i >= 2000 and i % 500 == 0) for i in range(60_000)]  # 8 MB: 2 tasks
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"\n".join(lines) + b"\n")
    env = {**os.environ, "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-m", "mapper", "run", str(REPOS), str(src), "-o", str(tmp_path / "o.jsonl"),
         "--engine", "dask", "--workers", "2", "-q", *stop],
        capture_output=True, text=True, timeout=TIMEOUT_S, env=env,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    for word in ("CancelledError", "Traceback", "distributed."):
        assert word not in done.stderr, done.stderr


def test_a_records_selector_on_jsonl_reads_each_line_on_the_cluster(
    tmp_path: Path, cluster: LocalCluster
) -> None:
    """`--records` picks the records of every JSONL line on the cluster too (the file goes to a
    worker whole: its lines are not its records), as one local process does."""
    from test_jsonl_records import LINES

    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(LINES * 20) + "\n", encoding="utf-8")
    selector = ("--records", "items[]")
    one = _run(REPOS, [src], tmp_path / "one" / "o.jsonl", 1, *selector)
    dask = _dask(REPOS, [src], tmp_path / "dask" / "o.jsonl", cluster.scheduler_address, *selector)
    assert one[4]["records"]["in"] == 7 * 20 and one[4]["balanced"]
    assert dask[0] == one[0] == 3 and dask[2:] == one[2:]


def test_a_failed_report_leaves_the_previous_runs_files(
    tmp_path: Path, cluster: LocalCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The objects and rejects the cluster's parts were joined into are renamed with the report:
    when the report cannot be written, the previous run's three files stay, never a mix."""
    from benchmarks import gen
    from mapper.errors import Diagnostic, OutputError
    from mapper.run import files

    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    gen.write_w1(first, 20)
    gen.write_w1(second, 30)
    out = tmp_path / "out" / "o.jsonl"
    request = RunRequest(output=str(out), engine="dask", scheduler=cluster.scheduler_address)
    assert run_files(load(W1), [str(first)], request, mapping=W1).status == Status.OK
    before = {p.name: p.read_bytes() for p in out.parent.iterdir()}
    assert set(before) == {"o.jsonl", "o.rejects.jsonl", "o.report.json"}

    def full_disk(*_: object) -> None:
        raise OutputError([Diagnostic("output.failed", "no space left on device")])

    monkeypatch.setattr(files, "write_atomic", full_disk)
    result = run_files(load(W1), [str(second)], request, mapping=W1)
    assert result.status == Status.IO
    assert {p.name: p.read_bytes() for p in out.parent.iterdir()} == before
