"""Every bundled mapping: its fixture cases pass, it matches the JSON Schema, nothing is lost."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from mapper.authoring.cases import find_case_files, load_cases, run_case
from mapper.io.inputs import expand_inputs, iter_records
from mapper.language.spec import json_schema
from mapper.run.files import reading_of

ROOT = Path(__file__).resolve().parents[1]
MAPPINGS = ROOT / "mappings"
# `engine-pending.cases.yaml` files hold cases that wait for an engine change: not run yet.
PENDING = "engine-pending.cases.yaml"
CASE_FILES = [f for f in find_case_files([str(MAPPINGS)]) if f.name != PENDING]
CASES = [c for f in CASE_FILES for c in load_cases(f)[0]]
MAPPING_FILES = sorted(p for p in MAPPINGS.rglob("*.yaml")
                       if not p.name.endswith(".cases.yaml")
                       and p.name not in ("jobs.yaml", "connector.yaml")  # own schemas and tests
                       and "expected" not in p.parts)


def _is_library(data: dict[str, Any]) -> bool:
    return not any(key in data for key in ("objects", "users", "groups"))


def test_bundled_mappings_exist() -> None:
    assert len(MAPPING_FILES) >= 1
    assert CASES, "every bundled mapping needs fixture cases"


@pytest.mark.parametrize("case", CASES, ids=[f"{c.file.parent.name}/{c.id}" for c in CASES])
def test_bundled_case(case: Any) -> None:
    result = run_case(case)
    assert result.passed, "\n\n".join(result.failures)


@pytest.mark.parametrize("path", MAPPING_FILES, ids=[str(p.relative_to(MAPPINGS)) for p in MAPPING_FILES])
def test_mapping_matches_published_schema(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if _is_library(data):
        pytest.skip("an included definitions file, not a mapping")
    jsonschema.validate(data, json_schema())


def test_exported_schema_is_current() -> None:
    exported = json.loads((ROOT / "mapping.schema.json").read_text(encoding="utf-8"))
    assert exported == json_schema(), "run `mapper schema -o mapping.schema.json`"


@pytest.mark.parametrize("case", CASES, ids=[f"{c.file.parent.name}/{c.id}" for c in CASES])
def test_nothing_lost(case: Any) -> None:
    """Every record of the case's input comes back with exactly one outcome that its content
    proves: objects and no error (mapped), an error and no object (rejected), both with the
    rejected items named (partial), or neither (filtered)."""
    result = run_case(case)
    assert result.plan is not None, "\n".join(result.failures)
    assert len(result.results) == _records_given(case, result.plan)
    for res in result.results:
        errors = [d for d in res.diagnostics if d.is_error]
        if res.outcome == "mapped":
            assert res.objects and not errors
        elif res.outcome == "rejected":
            assert errors and not res.objects
        elif res.outcome == "partial":  # some items mapped, the others rejected on their own
            assert res.objects and errors and res.rejected
        else:
            assert res.outcome == "filtered" and not res.objects and not errors


def _records_given(case: Any, plan: Any) -> int:
    """How many records the case's input holds, counted without the case runner."""
    spec = case.spec
    if spec.given is not None:
        return len(spec.given) if isinstance(spec.given, list) else 1
    paths, _ = expand_inputs([str(case.file.parent / spec.input)])
    return sum(1 for _ in iter_records(paths, **reading_of(plan, spec.records).kwargs()))


def test_every_bundled_mapping_starts_with_the_schema_modeline() -> None:
    for path in MAPPING_FILES:
        text = path.read_text(encoding="utf-8")
        if _is_library(yaml.safe_load(text)):
            continue
        first = text.splitlines()[0]
        assert first == "# yaml-language-server: $schema=../../mapping.schema.json", path


@pytest.mark.parametrize(("rule", "where"), [
    ({"type": "atlassian:comit", "fields": {"id": "id"}}, ["objects", 0, "type"]),
    ({"type": "atlassian:commit", "fields": {"dispalyName": "x"}}, ["objects", 0, "fields"]),
    ({"type": "atlassian:commit", "fields": {"atlassian:commit": {"hsh": "id"}}},
     ["objects", 0, "fields", "atlassian:commit"]),
])
def test_the_schema_knows_types_and_fields(rule: dict[str, Any], where: list[Any]) -> None:
    """An editor flags a misspelt type, field or block key as it is typed."""
    schema = json_schema()
    assert schema["$id"].startswith("urn:") and "example" not in schema["$id"]
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(
        {"version": 1, "objects": [rule]}))
    assert [list(e.absolute_path) for e in errors] == [where]
