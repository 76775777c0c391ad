"""One data-driven runner over every tests/cases/*.cases.yaml file (see mapper.authoring.cases).

`MAPPER_CASE=fields.cases.yaml pytest tests/test_cases.py` runs the cases of one file.
A case whose body has `xfail: "<reason>"` documents a known engine bug: it is expected to
fail (strictly, so a fix makes it pass loudly and the marker must then be removed).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from mapper.authoring.cases import CASE_SUFFIX, Case, load_cases, run_case
from mapper.functions import CUSTOM_FUNCTIONS
from mapper.model import OBJECT_TYPES

CASES_DIR = Path(__file__).resolve().parent / "cases"
MIN_CASES = 100


def _case_files() -> list[Path]:
    files = sorted(CASES_DIR.glob(f"*{CASE_SUFFIX}"))
    only = os.environ.get("MAPPER_CASE")
    return [f for f in files if f.name == only] if only else files


def _all_cases() -> tuple[list[Case], list[str]]:
    cases: list[Case] = []
    problems: list[str] = []
    for path in sorted(CASES_DIR.glob(f"*{CASE_SUFFIX}")):
        found, diags = load_cases(path)
        problems += [str(d) for d in diags]
        cases += found
    return cases, problems


def _params() -> list[object]:
    params: list[object] = []
    for path in _case_files():
        cases, diags = load_cases(path)
        if diags:  # an unreadable case file is itself a failing test
            params.append(pytest.param(None, "\n".join(map(str, diags)), id=f"{path.name}::<load>"))
        for case in cases:
            marks = []
            if case.spec.xfail:
                marks.append(pytest.mark.xfail(reason=case.spec.xfail, strict=True))
            params.append(pytest.param(case, None, id=case.id, marks=marks))
    return params


def _explain(case: Case) -> str:
    spec = case.spec
    parts = [f"case {case.id} (#{case.index})"]
    if spec.mapping is not None:
        parts.append("mapping:\n" + "\n".join(
            f"{n:3} | {line}" for n, line in enumerate(spec.mapping.splitlines(), 1)))
    if spec.given is not None:
        parts.append(f"given: {spec.given!r}")
    parts.append(f"expect: {spec.expect.model_dump(exclude_none=True)!r}")
    return "\n".join(parts)


@pytest.mark.parametrize(("case", "load_problem"), _params())
def test_case(case: Case | None, load_problem: str | None) -> None:
    assert case is not None, load_problem
    result = run_case(case)
    if not result.passed:
        pytest.fail(_explain(case) + "\n\nfailures:\n" + "\n\n".join(result.failures),
                    pytrace=False)


def test_case_files_load_and_are_enough() -> None:
    cases, problems = _all_cases()
    assert not problems, "\n".join(problems)
    assert len(cases) >= MIN_CASES, f"only {len(cases)} cases; keep at least {MIN_CASES}"
    titles = [c.id for c in cases]
    duplicates = sorted({t for t in titles if titles.count(t) > 1})
    assert not duplicates, f"duplicate case titles: {duplicates}"


def _mapping_texts() -> str:
    cases, _ = _all_cases()
    return "\n".join(c.spec.mapping or "" for c in cases)


def test_every_custom_function_is_used_by_a_case() -> None:
    text = _mapping_texts()
    missing = sorted(name for name in CUSTOM_FUNCTIONS
                     if not re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}\s*\(", text))
    assert not missing, f"no case calls these functions: {missing}"


def test_every_object_type_is_mapped_by_a_case() -> None:
    cases, _ = _all_cases()
    produced: set[str] = set()
    for case in cases:
        if case.spec.xfail or not case.spec.expect.objects:
            continue
        result = run_case(case)
        if result.passed:
            produced |= {o.type_name for r in result.results for o in r.objects}
    missing = sorted(set(OBJECT_TYPES) - produced)
    assert not missing, f"no passing case produces a valid object of these types: {missing}"
