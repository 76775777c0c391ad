"""Jobs files of `mapper batch`: YAML -> checked `Job`s, every problem a located diagnostic.

A jobs file is `jobs: [{name, mapping, inputs: [...], records?, params?}]`; paths are relative
to it.
Reading and positions come from the loader and the shape is the pydantic model `JobsFile`, so
problems render as `file:line:col: loc: code`, like those of mapping files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

from mapper.errors import Diagnostic, Loc, SourceSpan
from mapper.language.loader import SourceMap, parse_yaml, read_mapping_file
from mapper.language.shapes import Shape, valid_items, validate_shape

UNREADABLE = "jobs.unreadable"  # the OS refused the file: an I/O failure, not a bad jobs file
MAX_NAME_BYTES = 200  # NAME.rejects.jsonl must still fit the usual 255-byte file-name limit
_UNSAFE_NAME = re.compile(r"[/\\\x00-\x1f\x7f]")
_CODES, _OTHER = {"too_short": "empty", "string_too_short": "empty"}, "wrong-type"


def check_name(name: str) -> str:
    """A job name must be usable as a file name: the output is DIR/NAME.jsonl (`batch`), the
    folder DIR/NAME and the state STATE/NAME.db (`sync-batch`)."""
    if name in (".", "..") or _UNSAFE_NAME.search(name) or len(name.encode()) > MAX_NAME_BYTES:
        hint = (
            f"a job's files are named after it (DIR/NAME.jsonl, or DIR/NAME and STATE/NAME.db "
            f"for sync-batch): no '/', '\\' or control characters, at most {MAX_NAME_BYTES} bytes"
        )
        message = f"job name {name!r} cannot be used as a file name"
        raise PydanticCustomError("jobs.invalid-name", message, {"hint": hint})
    return name


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class JobSpec(Shape):
    """One job, e.g. `- {name: push, mapping: push.yaml, inputs: [push.json]}`."""

    name: Annotated[Text, AfterValidator(check_name)]
    mapping: Text
    inputs: list[Text] = Field(min_length=1, description="a list of at least one input")
    records: Text | None = None
    params: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="values of the mapping's `params:`"
    )


class JobsFile(Shape):
    """A jobs file: start it with `jobs:`, a list of jobs."""

    jobs: list[JobSpec] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class Job:
    """One job: map `inputs` with `mapping` into `DIR/NAME.jsonl` (paths already resolved)."""

    name: str
    mapping: Path
    inputs: tuple[str, ...]
    records: str | None
    loc: Loc
    span: SourceSpan | None
    params: tuple[tuple[str, str], ...] = ()


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
    diags.extend(check_output_names(jobs))
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
    diags += validate_shape(JobsFile, data, smap, prefix="jobs", kinds=_CODES, other=_OTHER)[1]
    valid = valid_items(JobSpec, data, "jobs", diags)  # to check names across files even then
    return tuple(_job(path.parent, i, spec, smap) for i, spec in valid), diags


def _read_problem(problem: Diagnostic) -> Diagnostic:
    if problem.code != "spec.unreadable":
        return problem  # too large, not UTF-8: the file was read, its content is wrong
    message = problem.message.replace("cannot read mapping", "cannot read jobs file", 1)
    return replace(problem, code=UNREADABLE, message=message)


def _job(base: Path, index: int, spec: JobSpec, smap: SourceMap) -> Job:
    return Job(
        name=spec.name,
        mapping=base / spec.mapping,
        inputs=tuple(str(base / i) for i in spec.inputs),
        records=spec.records,
        loc=("jobs", index, "name"),
        span=smap.span(("jobs", index, "name")),
        params=tuple((k, _text(v)) for k, v in spec.params.items()),
    )


def _text(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


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


def output_names(name: str) -> tuple[str, ...]:
    """The files a job writes into the output folder."""
    return (f"{name}.jsonl", f"{name}.rejects.jsonl", f"{name}.report.json")


def check_output_names(jobs: Iterable[Job]) -> Iterator[Diagnostic]:
    """Two jobs must not write one file: jobs `x` and `x.rejects` both write x.rejects.jsonl."""
    writer: dict[str, Job] = {}
    for job in jobs:
        for file in output_names(job.name):
            seen = writer.setdefault(file.casefold(), job)
            if seen is not job and seen.name.casefold() != job.name.casefold():
                yield Diagnostic(
                    "jobs.output-collision",
                    f"job {job.name!r} would write {file}, which job {seen.name!r} writes",
                    loc=job.loc,
                    span=job.span,
                    hint=f"rename one of them; the other is at {seen.span}",
                )
