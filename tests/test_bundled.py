"""Every bundled mapping: its fixture cases pass, it matches the JSON Schema, nothing is lost."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from mapper.authoring.cases import find_case_files, load_cases, run_case
from mapper.language.spec import json_schema

ROOT = Path(__file__).resolve().parents[1]
MAPPINGS = ROOT / "mappings"
CASES = [c for f in find_case_files([str(MAPPINGS)]) for c in load_cases(f)[0]]
MAPPING_FILES = sorted(p for p in MAPPINGS.rglob("*.yaml")
                       if not p.name.endswith(".cases.yaml") and p.name != "jobs.yaml"
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
    """Every record read ends up mapped, rejected or filtered."""
    result = run_case(case)
    outcomes = [r.outcome for r in result.results]
    assert all(o in ("mapped", "rejected", "filtered") for o in outcomes)
    mapped = sum(o == "mapped" for o in outcomes)
    rejected = sum(o == "rejected" for o in outcomes)
    filtered = sum(o == "filtered" for o in outcomes)
    assert len(result.results) == mapped + rejected + filtered
