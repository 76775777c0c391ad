"""The library's run use case, without the command line: outputs, rejects, report, status."""

from __future__ import annotations

import contextlib
import gc
import json
from pathlib import Path

import pytest

from mapper.api import load
from mapper.errors import InputError, UsageError
from mapper.io.lookups import LookupCache
from mapper.io.sinks import JsonlSink, RejectsSink
from mapper.records import Record
from mapper.run.files import RunRequest, Status, run_files
from mapper.run.pipeline import map_items, run
from mapper.run.policy import ErrorPolicy, RunOptions
from mapper.run.report import RunReport

ROOT = Path(__file__).resolve().parents[1]
REPOS = ROOT / "mappings" / "github" / "repository.yaml"
REPOS_IN = ROOT / "samples" / "github" / "org-repos.json"
GOOD = {"full_name": "acme/a", "html_url": "https://example.test/a", "name": "a", "id": 1,
        "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-02T00:00:00Z",
        "pushed_at": "2024-01-02T00:00:00Z", "private": False, "owner": {"login": "acme", "id": 9}}


def _jsonl(path: Path, records: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_a_clean_run_writes_objects_rejects_and_report(tmp_path: Path) -> None:
    out = tmp_path / "o" / "repos.jsonl"
    result = run_files(load(REPOS), [str(REPOS_IN)], RunRequest(output=str(out)))
    assert result.status is Status.OK
    lines = out.read_text().splitlines()
    assert len(lines) == result.report.objects_out == 4
    assert (tmp_path / "o" / "repos.rejects.jsonl").read_text() == ""
    report = json.loads((tmp_path / "o" / "repos.report.json").read_text())
    assert report["records"] == {"in": 4, "mapped": 4, "partlyMapped": 0, "rejected": 0,
                                 "filtered": 0, "balanced": True}
    assert result.written == [str(out), str(tmp_path / "o" / "repos.rejects.jsonl"),
                              str(tmp_path / "o" / "repos.report.json")]
    assert result.report_file == str(tmp_path / "o" / "repos.report.json")


def test_rejected_records_go_to_the_rejects_file_and_set_status_3(tmp_path: Path) -> None:
    inp = _jsonl(tmp_path / "in.jsonl", [GOOD, {"full_name": "acme/b"}])
    out = tmp_path / "o.jsonl"
    result = run_files(load(REPOS), [str(inp)], RunRequest(output=str(out)))
    assert result.status is Status.REJECTED
    assert result.report.records_in == 2 and result.report.records_rejected == 1
    (reject,) = [json.loads(line) for line in (tmp_path / "o.rejects.jsonl").read_text().splitlines()]
    assert reject["index"] == 1 and reject["record"] == {"full_name": "acme/b"}
    assert {d["code"] for d in reject["diagnostics"]} >= {"field.required"}


def test_fail_fast_writes_nothing_and_says_why(tmp_path: Path) -> None:
    inp = _jsonl(tmp_path / "in.jsonl", [GOOD, {"full_name": "acme/b"}])
    out = tmp_path / "out" / "o.jsonl"
    request = RunRequest(output=str(out), policy=ErrorPolicy.FAIL_FAST)
    result = run_files(load(REPOS), [str(inp)], request)
    assert result.status is Status.REJECTED
    assert result.stopped and "fail-fast" in result.stopped
    assert result.diagnostics and result.diagnostics[0].code == "field.required"
    assert not out.exists() and result.written == []


def test_an_output_that_names_the_input_is_refused(tmp_path: Path) -> None:
    inp = _jsonl(tmp_path / "in.jsonl", [GOOD])
    with pytest.raises(UsageError, match="would overwrite the input"):
        run_files(load(REPOS), [str(inp)], RunRequest(output=str(inp)))
    assert json.loads(inp.read_text()) == GOOD


def test_an_unknown_lookup_is_a_usage_error(tmp_path: Path) -> None:
    request = RunRequest(output=str(tmp_path / "o.jsonl"), lookups={"users": "u.json"})
    with pytest.raises(UsageError, match="no such lookup table"):
        run_files(load(REPOS), [str(REPOS_IN)], request)


def test_no_input_found_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        run_files(load(REPOS), [str(tmp_path / "nothing.json")],
                  RunRequest(output=str(tmp_path / "o.jsonl")))
    assert caught.value.diagnostics[0].code == "input.not-found"


def test_a_missing_input_beside_a_good_one_maps_the_good_one_and_sets_status_4(
    tmp_path: Path,
) -> None:
    out = tmp_path / "o.jsonl"
    result = run_files(load(REPOS), [str(REPOS_IN), str(tmp_path / "gone.json")],
                       RunRequest(output=str(out)))
    assert result.status is Status.IO
    assert result.report.records_mapped == 4
    assert [d.code for d in result.report.input_problems] == ["input.not-found"]


def test_batches_and_workers_notes(tmp_path: Path) -> None:
    request = RunRequest(output=str(tmp_path / "b"), format="batches", workers=2,
                         connection_id="c-1")
    result = run_files(load(REPOS), [str(REPOS_IN)], request)
    assert result.status is Status.OK
    body = json.loads((tmp_path / "b" / "setObjects-00001.json").read_text())
    assert body["connectionId"] == "c-1" and len(body["objects"]) == 4
    assert result.notes == ["--workers applies to JSONL output files; one process maps"]


def test_two_workers_give_the_one_worker_output(tmp_path: Path) -> None:
    inp = _jsonl(tmp_path / "in.jsonl", [GOOD] * 300 + [{"full_name": "x"}] + [GOOD] * 300)
    one = run_files(load(REPOS), [str(inp)], RunRequest(output=str(tmp_path / "one.jsonl")))
    two = run_files(load(REPOS), [str(inp)],
                    RunRequest(output=str(tmp_path / "two.jsonl"), workers=2), mapping=REPOS)
    assert one.status is two.status is Status.REJECTED
    assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "two.jsonl").read_bytes()
    assert (tmp_path / "one.rejects.jsonl").read_bytes() == (
        tmp_path / "two.rejects.jsonl"
    ).read_bytes()


def test_standard_output_keeps_the_first_rejections_to_show(
    tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    inp = _jsonl(tmp_path / "in.jsonl", [{"full_name": str(i)} for i in range(25)])
    result = run_files(load(REPOS), [str(inp)], RunRequest(output="-", shown_rejects=3))
    assert result.status is Status.REJECTED
    assert len(result.rejected_shown) == 3 and result.report.records_rejected == 25
    assert result.written == [] and result.report_file is None
    assert capfdbinary.readouterr().out == b""


def test_progress_hook_sees_every_record(tmp_path: Path) -> None:
    inp = _jsonl(tmp_path / "in.jsonl", [GOOD] * 7)
    seen: list[int] = []
    run_files(load(REPOS), [str(inp)], RunRequest(output=str(tmp_path / "o.jsonl")),
              progress=lambda n, _inputs: seen.append(n))
    assert seen == list(range(1, 8))


@pytest.mark.parametrize("option", ["output", "rejects", "report"])
def test_an_output_that_names_the_mapping_is_refused(tmp_path: Path, option: str) -> None:
    mapping = _mapping_copy(tmp_path)
    before = mapping.read_bytes()
    outputs = {"output": str(tmp_path / "o.jsonl"), option: str(mapping)}
    with pytest.raises(UsageError, match="would overwrite the mapping"):
        run_files(load(mapping), [str(REPOS_IN)], RunRequest(**outputs), mapping=mapping)
    assert mapping.read_bytes() == before


@pytest.mark.parametrize("option", ["output", "rejects", "report"])
def test_an_output_that_names_a_file_the_mapping_includes_is_refused(tmp_path: Path, option: str) -> None:
    mapping = _mapping_copy(tmp_path)
    before = (tmp_path / "common.yaml").read_bytes()
    outputs = {"output": str(tmp_path / "o.jsonl"), option: str(tmp_path / "common.yaml")}
    with pytest.raises(UsageError, match="would overwrite the mapping's include"):
        run_files(load(mapping), [str(REPOS_IN)], RunRequest(**outputs), mapping=mapping)
    assert (tmp_path / "common.yaml").read_bytes() == before


def test_an_output_that_names_a_lookup_table_is_refused(tmp_path: Path) -> None:
    mapping = _mapping_copy(tmp_path, "lookups:\n  names: {file: names.json, key: id}\n")
    table = tmp_path / "names.json"
    table.write_text("[]")
    request = RunRequest(output=str(tmp_path / "o.jsonl"), rejects=str(table),
                         lookups={"names": str(table)})
    with pytest.raises(UsageError, match="would overwrite the lookup table 'names'"):
        run_files(load(mapping), [str(REPOS_IN)], request)
    assert table.read_text() == "[]"


def _mapping_copy(folder: Path, extra: str = "") -> Path:
    """The repository mapping copied into `folder` (with its include), plus top-level `extra`."""
    (folder / "common.yaml").write_text((REPOS.parent / "common.yaml").read_text())
    mapping = folder / "m.yaml"
    mapping.write_text(REPOS.read_text().replace("\nobjects:", f"\n{extra}objects:", 1))
    return mapping


def test_batches_to_standard_output_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="writes a folder"):
        run_files(load(REPOS), [str(REPOS_IN)], RunRequest(output="-", format="batches"))


def test_a_closed_or_full_standard_output_is_an_output_error(tmp_path: Path) -> None:
    """`-o -` onto a closed or full stdout: exit 4 with a diagnostic, never a traceback."""
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "mapper", "run", str(REPOS), str(REPOS_IN), "-o", "-"]
    closed = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            close_fds=True, preexec_fn=lambda: __import__("os").close(1),
                            check=False)
    assert closed.returncode == 4, closed.stderr
    assert b"cannot write standard output: it is closed" in closed.stderr
    if Path("/dev/full").exists():
        with Path("/dev/full").open("wb") as full:
            filled = subprocess.run(cmd, stdout=full, stderr=subprocess.PIPE, check=False)
        assert filled.returncode == 4, filled.stderr
        assert b"Traceback" not in filled.stderr and b"No space left" in filled.stderr


def test_a_run_stopped_by_an_interrupt_leaves_no_input_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The files a run reads are closed when it stops early, not when the collector finds
    them (an unclosed one surfaced as a ResourceWarning at a random later test)."""
    import mapper.run.pipeline as pipeline

    inp = _jsonl(tmp_path / "in.jsonl", [GOOD, {**GOOD, "id": 2}, {**GOOD, "id": 3}])
    opened: list[object] = []
    real_open = Path.open

    def tracking_open(self: Path, *args: object, **kwargs: object) -> object:
        fh = real_open(self, *args, **kwargs)  # type: ignore[call-overload]
        if self.name == "in.jsonl":
            opened.append(fh)
        return fh

    real_account = pipeline.account
    calls = []
    interrupt = KeyboardInterrupt()  # (kept: its traceback holds the run's frames)

    def interrupted(*args: object) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise interrupt
        real_account(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "open", tracking_open)
    monkeypatch.setattr(pipeline, "account", interrupted)
    monkeypatch.setattr(pipeline, "skip_clean", lambda plan, items, *a, **k: items)
    request = RunRequest(output=str(tmp_path / "o.jsonl"))
    gc.disable()  # (the collector would close a file that the run left open)
    try:
        result = run_files(load(REPOS), [str(inp)], request)
        assert result.status is Status.INTERRUPTED
        assert opened and all(fh.closed for fh in opened)  # type: ignore[attr-defined]
    finally:
        gc.enable()


class _Watched:
    """Records to map that note whether the run closed them."""

    def __init__(self, records: list[object]) -> None:
        self.items = iter(
            [Record("in.jsonl", i, r) for i, r in enumerate(records)]
        )
        self.closed = False

    def __iter__(self) -> _Watched:
        return self

    def __next__(self) -> Record:
        return next(self.items)

    def close(self) -> None:
        self.closed = True


class _Broken(Exception):
    pass


def _failing_sink(after: int) -> JsonlSink:
    sink = JsonlSink("", lines=[])
    real = sink.write
    count = [0]

    def write(obj: object) -> None:
        count[0] += 1
        if count[0] > after:
            raise _Broken
        real(obj)  # type: ignore[arg-type]

    sink.write = write  # type: ignore[method-assign]
    return sink


@pytest.mark.parametrize("after", [0, 1, 99])
def test_the_pipeline_closes_the_records_it_was_given_however_it_ends(after: int) -> None:
    records = _Watched([GOOD, {**GOOD, "id": 2}])
    sink = _failing_sink(after)
    with contextlib.suppress(_Broken):
        run(load(REPOS), records, sink=sink, rejects=RejectsSink(None, lines=[]))
    assert records.closed


@pytest.mark.parametrize("after", [0, 99])
def test_a_part_closes_the_records_it_was_given_however_it_ends(after: int) -> None:
    plan = load(REPOS)
    records = _Watched([GOOD, {**GOOD, "id": 2}])
    with contextlib.suppress(_Broken):
        map_items(plan, records, RunOptions(), LookupCache(plan.lookups, {}), RunReport(""),
                  _failing_sink(after))
    assert records.closed


def test_batches_to_a_name_like_a_file_say_it_is_a_folder(tmp_path: Path) -> None:
    request = RunRequest(output=str(tmp_path / "b.json"), format="batches")
    result = run_files(load(REPOS), [str(REPOS_IN)], request)
    assert result.status is Status.OK and (tmp_path / "b.json").is_dir()
    assert "--format batches writes a folder: b.json/ holds the batch files" in result.notes


@pytest.mark.parametrize("workers", [1, 2])
def test_a_stop_signal_while_the_outputs_are_put_in_place_lets_the_run_finish(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    """Ctrl-C as the outputs are renamed: they all appear, the run ends normally, a note says."""
    import os
    import signal

    from mapper.io.atomic import AtomicFile

    inp = _jsonl(tmp_path / "in.jsonl", [GOOD, {**GOOD, "id": 2}])
    renamed = AtomicFile.publish

    def publish(self: AtomicFile) -> None:
        renamed(self)
        if self.path.name == "o.jsonl":  # the first of the run's files
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(AtomicFile, "publish", publish)
    request = RunRequest(output=str(tmp_path / "o.jsonl"), workers=workers)
    result = run_files(load(REPOS), [str(inp)], request)
    assert result.status is Status.OK
    assert any("stop signal" in note for note in result.notes)
    assert len((tmp_path / "o.jsonl").read_text().splitlines()) == 2
    assert json.loads((tmp_path / "o.report.json").read_text())["records"]["in"] == 2


def test_an_interrupt_once_the_outputs_are_in_place_says_they_are_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while the written objects' principals are checked: the outputs stay (complete),
    the status is 130, and the message says both (it said that nothing was written)."""
    import mapper.run.files as files

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(files, "_check_access", interrupted)
    inp = _jsonl(tmp_path / "in.jsonl", [GOOD])
    result = run_files(load(REPOS), [str(inp)], RunRequest(output=str(tmp_path / "o.jsonl")))
    assert result.status is Status.INTERRUPTED
    assert result.stopped is not None and "they are complete" in result.stopped
    assert len((tmp_path / "o.jsonl").read_text().splitlines()) == 1


class _Collected:
    """A library caller's own sink: it keeps the objects it is given."""

    def __init__(self) -> None:
        self.objects: list[dict] = []
        self.closed = False

    def write(self, objects: object) -> None:
        self.objects.extend(o.payload for o in objects)  # type: ignore[attr-defined]

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        pass

    def __enter__(self) -> _Collected:
        return self

    def __exit__(self, kind: object, *_: object) -> None:
        self.close() if kind is None else self.abort()


@pytest.mark.parametrize("workers", [1, 2])
def test_a_callers_sink_keeps_the_first_rejections_to_show_with_any_worker_count(
    tmp_path: Path, workers: int
) -> None:
    records = [GOOD] * 200 + [{"full_name": str(i)} for i in range(25)] + [GOOD] * 200
    inp = _jsonl(tmp_path / "in.jsonl", records)
    sink = _Collected()
    request = RunRequest(output="-", sink=sink, workers=workers, shown_rejects=3)  # type: ignore[arg-type]
    result = run_files(load(REPOS), [str(inp)], request, mapping=REPOS)
    assert result.status is Status.REJECTED and sink.closed
    assert len(sink.objects) == 400 and result.report.records_rejected == 25
    assert len(result.rejected_shown) == 3
    shown = [d.record for errors in result.rejected_shown for d in errors]
    assert {(r.source, r.index) for r in shown if r} == {(str(inp), 200), (str(inp), 201), (str(inp), 202)}


@pytest.mark.parametrize("sink", [None, _Collected()], ids=["file", "callers-sink"])
def test_an_empty_output_path_is_refused_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sink: object
) -> None:
    monkeypatch.chdir(tmp_path)
    request = RunRequest(output="", sink=sink)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="output path is empty"):
        run_files(load(REPOS), [str(REPOS_IN)], request)
    assert list(tmp_path.iterdir()) == []


def test_an_empty_input_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="input path is empty"):
        run_files(load(REPOS), [""], RunRequest(output=str(tmp_path / "o.jsonl")))


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be-bom", "utf-32"])
@pytest.mark.parametrize(("name", "workers"), [("in.jsonl", 1), ("in.jsonl", 2), ("in.json", 1)])
def test_a_utf16_or_utf32_input_is_one_input_problem_naming_its_encoding(
    tmp_path: Path, encoding: str, name: str, workers: int
) -> None:
    """Read as UTF-8, each line would be a rejected record that says 'not valid UTF-8'."""
    text = "".join(json.dumps(GOOD) + "\n" for _ in range(3))
    data = ("\ufeff" + text).encode("utf-16-be") if encoding == "utf-16-be-bom" else text.encode(
        encoding
    )
    (tmp_path / name).write_bytes(data)
    request = RunRequest(output=str(tmp_path / "o.jsonl"), workers=workers)
    result = run_files(load(REPOS), [str(tmp_path / name)], request, mapping=REPOS)
    assert result.status is Status.IO
    assert [d.code for d in result.report.input_problems] == ["input.encoding"]
    assert "UTF-" + ("32" if encoding == "utf-32" else "16") in result.report.input_problems[0].message
    assert result.report.records_in == 0
