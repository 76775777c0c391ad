"""Jobs files of `mapper batch`: YAML -> checked `Job`s, every problem a located diagnostic.

A jobs file is `jobs: [{name, mapping, inputs: [...], records?}]`; paths are relative to it.
Reading and positions come from the loader, so problems render as `file:line:col: loc: code`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mapper.errors import Diagnostic, Loc, SourceSpan, suggest
from mapper.loader import SourceMap, parse_yaml, read_mapping_file

UNREADABLE = "jobs.unreadable"  # the OS refused the file: an I/O failure, not a bad jobs file
REQUIRED_KEYS = ("name", "mapping", "inputs")
OPTIONAL_KEYS = ("records",)
MAX_NAME_BYTES = 200  # NAME.rejects.jsonl must still fit the usual 255-byte file-name limit
_UNSAFE_NAME = re.compile(r"[/\\\x00-\x1f\x7f]")
_JOB_SHAPE = "a map with name, mapping and inputs"
_JOB_EXAMPLE = "e.g. - {name: push, mapping: push.yaml, inputs: [push.json]}"


@dataclass(frozen=True, slots=True)
class Job:
    """One job: map `inputs` with `mapping` into `DIR/NAME.jsonl` (paths already resolved)."""

    name: str
    mapping: Path
    inputs: tuple[str, ...]
    records: str | None
    loc: Loc
    span: SourceSpan | None


def load_jobs(paths: Iterable[Path]) -> tuple[tuple[Job, ...], list[Diagnostic]]:
    """Read and check jobs files; never raises for bad input.

    Args:
        paths: jobs files, in run order.

    Returns:
        The jobs of every file, and every problem found (job names must be unique across files,
        since all jobs write into one folder). Run the jobs only when there is no problem.
    """
    jobs: list[Job] = []
    diags: list[Diagnostic] = []
    for path in paths:
        found, problems = load_jobs_file(path)
        jobs.extend(found)
        diags.extend(problems)
    diags.extend(check_unique_names(jobs))
    return tuple(jobs), diags


def load_jobs_file(path: Path) -> tuple[tuple[Job, ...], list[Diagnostic]]:
    """Read, parse and check one jobs file: its valid jobs, and every problem found."""
    text, problem = read_mapping_file(path)
    if problem is not None:
        return (), [_read_problem(problem)]
    data, smap, diags = parse_yaml(text or "", str(path))
    if data is None:  # a YAML error, or nothing but blanks, comments or `~`
        empty = Diagnostic("jobs.empty", "the jobs file is empty", span=SourceSpan(str(path), 1, 1))
        return (), [d for d in diags if d.code != "yaml.empty"] or [empty]
    diags += [smap.locate(d, prefer_key=d.code == "jobs.unknown-key") for d in check_jobs(data)]
    return _valid_jobs(path, data, smap, diags), diags


def _valid_jobs(path: Path, data: Any, smap: SourceMap, diags: list[Diagnostic]) -> tuple[Job, ...]:
    """The jobs without a problem (so that names are checked across files even then)."""
    entries = data.get("jobs") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return ()
    bad = {d.loc[:2] for d in diags}
    return tuple(
        _job(path.parent, i, raw, smap.span(("jobs", i, "name")))
        for i, raw in enumerate(entries)
        if ("jobs", i) not in bad
    )


def _read_problem(problem: Diagnostic) -> Diagnostic:
    if problem.code != "spec.unreadable":
        return problem  # too large, not UTF-8: the file was read, its content is wrong
    message = problem.message.replace("cannot read mapping", "cannot read jobs file", 1)
    return replace(problem, code=UNREADABLE, message=message)


def _job(base: Path, index: int, raw: dict[str, Any], span: SourceSpan | None) -> Job:
    return Job(
        name=raw["name"],
        mapping=base / raw["mapping"],
        inputs=tuple(str(base / i) for i in raw["inputs"]),
        records=raw.get("records"),
        loc=("jobs", index, "name"),
        span=span,
    )


def check_jobs(data: Any) -> Iterator[Diagnostic]:
    """Problems of a parsed jobs file, located by `loc` (the caller attaches spans)."""
    if not isinstance(data, dict):
        yield _wrong_type(data, "a map with a `jobs:` list", hint="start the file with `jobs:`")
        return
    yield from check_keys(data, ("jobs",), ())
    jobs = data.get("jobs", [])
    if not isinstance(jobs, list):
        yield _wrong_type(jobs, "a list of jobs").within("jobs")
        return
    if "jobs" in data and not jobs:
        yield Diagnostic("jobs.empty", "the jobs list is empty", loc=("jobs",))
    for i, job in enumerate(jobs):
        yield from (d.within("jobs", i) for d in check_job(job))


def check_job(job: Any) -> Iterator[Diagnostic]:
    """Problems of one entry of `jobs:`, relative to it."""
    if not isinstance(job, dict):
        yield _wrong_type(job, _JOB_SHAPE, hint=_JOB_EXAMPLE)
        return
    yield from check_keys(job, REQUIRED_KEYS, OPTIONAL_KEYS)
    for key, check in JOB_FIELDS.items():
        if key in job:
            yield from (d.within(key) for d in check(job[key]))


def check_keys(
    data: dict[str, Any], required: tuple[str, ...], optional: tuple[str, ...]
) -> Iterator[Diagnostic]:
    """Unknown keys (with did-you-mean) and missing required keys of one map."""
    known = (*required, *optional)
    for key in data:
        if key not in known:
            hint = suggest(key, known) or f"the keys are {', '.join(known)}"
            yield Diagnostic("jobs.unknown-key", f"unknown key {key!r}", loc=(key,), hint=hint)
    for key in required:
        if key not in data:
            yield Diagnostic("jobs.missing-key", f"required key {key!r} is missing")


def check_text(value: Any) -> Iterator[Diagnostic]:
    """A non-empty text."""
    if not isinstance(value, str):
        hint = "quote it to make it text" if isinstance(value, int | float | bool) else None
        yield _wrong_type(value, "text", hint=hint)
    elif not value.strip():
        yield Diagnostic("jobs.empty", "the text is empty")


def check_name(value: Any) -> Iterator[Diagnostic]:
    """A job name: text that can be a file name (the output is DIR/NAME.jsonl)."""
    problems = list(check_text(value))
    yield from problems
    if problems:
        return
    if value in (".", "..") or _UNSAFE_NAME.search(value) or len(value.encode()) > MAX_NAME_BYTES:
        yield Diagnostic(
            "jobs.invalid-name",
            f"job name {value!r} cannot be used as a file name",
            hint=f"the output is DIR/NAME.jsonl: no '/', '\\' or control characters, "
            f"at most {MAX_NAME_BYTES} bytes",
        )


def check_inputs(value: Any) -> Iterator[Diagnostic]:
    """A non-empty list of input paths; one text alone is an error, not a one-item list."""
    if isinstance(value, str):
        yield _wrong_type(value, "a list of input paths", hint=f"write a list: inputs: [{value}]")
        return
    if not isinstance(value, list):
        yield _wrong_type(value, "a list of input paths")
        return
    if not value:
        yield Diagnostic("jobs.empty", "the inputs list is empty", hint="list at least one input")
    for i, item in enumerate(value):
        yield from (d.within(i) for d in check_text(item))


JOB_FIELDS: dict[str, Callable[[Any], Iterator[Diagnostic]]] = {
    "name": check_name,
    "mapping": check_text,
    "inputs": check_inputs,
    "records": check_text,
}


def check_unique_names(jobs: Iterable[Job]) -> Iterator[Diagnostic]:
    """Two jobs with one name would write the same files (case-insensitive file systems too)."""
    first: dict[str, Job] = {}
    for job in jobs:
        seen = first.setdefault(job.name.casefold(), job)
        if seen is not job:
            yield Diagnostic(
                "jobs.duplicate-name",
                f"job name {job.name!r} is already used",
                loc=job.loc,
                span=job.span,
                hint=f"both jobs would write DIR/{job.name}.jsonl; the first is at {seen.span}",
            )


def _wrong_type(value: Any, expected: str, *, hint: str | None = None) -> Diagnostic:
    return Diagnostic("jobs.wrong-type", f"expected {expected}, got {_kind(value)}", hint=hint)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    return "a list" if isinstance(value, list) else "a map"  # YAML gives no other kinds
