"""The shape of a case file (`*.cases.yaml`) and reading it into checked `Case`s.

A case names a mapping (`mapping:` text, whose line numbers count from its first line, or a
`mapping_file:`), its input (`given:` records, or an `input:` path with an optional `records:`
selector) and what it must give (`expect:` objects compared in output order on the keys they
list, a JSONL `file:` rewritten by --update, `diagnostics:`, `mapped`/`rejected`/`filtered`
counts, `partial` records, `items_rejected` and `held_back` candidates); `xfail:` says why
it is expected to fail. A case with problems (unknown keys, values of
the wrong kind, missing files: each located at line:col) does not run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field

from mapper.errors import Diagnostic, SourceSpan
from mapper.io.inputs import expand_inputs
from mapper.language.loader import parse_yaml
from mapper.language.mapfiles import read_mapping_file
from mapper.language.shapes import Shape, list_at, valid_items, validate_shape

CASE_SUFFIX = ".cases.yaml"
# Keys a case may hold only one of: (keys, is one of them required).
CASE_CHOICES = ((("mapping", "mapping_file"), True), (("given", "input"), False))


class ExpectedDiagnostic(Shape):
    """A diagnostic that must be found: only the keys given are compared."""

    code: str | None = None
    severity: str | None = None
    loc: str | None = Field(None, description="text such as objects[0].fields.id")
    line: int | None = None
    col: int | None = None
    expr_col: int | None = None
    pointer: str | None = None
    index: int | None = None


class Expect(Shape):
    """What running the case must give: objects, file, diagnostics and record counts."""

    objects: list[Any] | None = None
    file: str | None = None
    diagnostics: list[ExpectedDiagnostic] | None = None
    rejected: int | None = None
    filtered: int | None = None
    mapped: int | None = None
    partial: int | None = Field(None, description="records partly mapped")
    items_rejected: int | None = Field(None, description="object candidates rejected")
    held_back: int | None = Field(None, description="valid objects held back (together)")


class CaseSpec(Shape):
    """One case: a mapping, its input and what it must give."""

    title: str | None = None
    mapping: str | None = Field(None, description="YAML text: write `mapping: |`, then the mapping")
    mapping_file: str | None = None
    given: list[Any] | dict[str, Any] | None = Field(None, description="a list of records")
    input: str | None = None
    records: str | None = None
    params: dict[str, str | int | float | bool] | None = Field(
        None, description="values of the mapping's `params:`, as `--param` gives them"
    )
    expect: Expect = Field(description="`expect: {}` only compiles the mapping")
    xfail: str | None = None


class CaseFile(Shape):
    """A case file: `cases:`, a list of cases."""

    cases: list[CaseSpec]


@dataclass
class Case:
    """One case, as read from a case file."""

    title: str
    file: Path
    index: int
    spec: CaseSpec
    span: SourceSpan | None = None
    """Where the case starts in its file."""

    @property
    def id(self) -> str:
        """Readable test id: `<folder>/<file>::<title>` (two systems' `commits.cases.yaml`
        differ by their folder)."""
        folder = self.file.parent.name or self.file.resolve().parent.name
        return f"{folder}/{self.file.name}::{self.title}"


def find_case_files(paths: list[str]) -> list[Path]:
    """Case files named directly or found (recursively) in folders (see `locate_case_files`)."""
    return locate_case_files(paths)[0]


def locate_case_files(paths: list[str]) -> tuple[list[Path], list[Diagnostic]]:
    """Case files named directly or found (recursively) in folders, and the paths that gave none.

    A path that does not exist is an `input.not-found` problem (as for `mapper run`); a folder
    without case files is `case.none-found`.
    """
    found: list[Path] = []
    problems: list[Diagnostic] = []
    for name in paths:
        path = Path(name)
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            inside = sorted(path.rglob(f"*{CASE_SUFFIX}"))
            found.extend(inside)
            if not inside:
                problems.append(
                    Diagnostic("case.none-found", f"no *{CASE_SUFFIX} files under {name}")
                )
        else:
            problems.extend(p.diagnostic for p in expand_inputs([name])[1])
    return found, problems


def load_cases(path: Path) -> tuple[list[Case], list[Diagnostic]]:
    """Read the cases of one file (through the loader, so errors carry line:col).

    Returns the cases without problems and every problem found; a case with problems is left
    out, so a misspelt expectation can never pass unnoticed.
    """
    text, problem = read_mapping_file(path)
    if problem:
        return [], [problem]
    data, smap, diags = parse_yaml(text or "", str(path))
    if diags:
        return [], diags
    _, problems = validate_shape(CaseFile, data, smap, prefix="case")
    for i, body in enumerate(list_at(data, "cases")):
        found = check_case(body, path.parent)
        problems += [smap.locate(d.within("cases", i)) for d in found]
    cases = [
        Case(spec.title or f"case {i}", path, i, spec, smap.span(("cases", i)))
        for i, spec in valid_items(CaseSpec, data, "cases", problems)
    ]
    return cases, problems


def check_case(body: Any, base: Path) -> Iterator[Diagnostic]:
    """The problems of one case that are not its shape: keys it needs exactly one of, and the
    files it names."""
    if not isinstance(body, dict):
        return
    for keys, required in CASE_CHOICES:
        yield from _check_choice(body, keys, required=required)
    yield from _check_files(body, base)


def _check_choice(
    body: dict[str, Any], keys: tuple[str, ...], *, required: bool
) -> Iterator[Diagnostic]:
    present = [k for k in body if k in keys and body[k] is not None]  # the later one is reported
    either = " or ".join(f"`{k}:`" for k in keys)
    if len(present) > 1:
        yield Diagnostic(
            "case.conflicting-keys", f"a case takes {either}, not both", loc=(present[-1],)
        )
    elif required and not present:
        yield Diagnostic("case.missing-key", f"a case needs {either}")


def _check_files(body: dict[str, Any], base: Path) -> Iterator[Diagnostic]:
    mapping = body.get("mapping_file")
    if isinstance(mapping, str) and not (base / mapping).is_file():
        yield Diagnostic(
            "case.mapping-not-found",
            f"no mapping file {mapping!r}{_looked_for(base, mapping)}",
            loc=("mapping_file",),
            hint="`mapping_file:` is relative to the folder of the case file",
        )
    given = body.get("input")
    if isinstance(given, str):
        for problem in expand_inputs([str(base / given)])[1]:
            yield Diagnostic(
                "case.input-not-found",
                f"input {given!r}: {problem.diagnostic.message}{_looked_for(base, given)}",
                loc=("input",),
                hint="`input:` is relative to the folder of the case file",
            )


def _looked_for(base: Path, name: str) -> str:
    target = str(base / name)
    return f" (looked for {target})" if target != name else ""
