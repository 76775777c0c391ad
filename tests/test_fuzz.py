"""Fuzzing: random and mutated inputs through every bundled mapping, the loader and the compiler.

Any outcome other than objects or diagnostics is a failure. CI runs the `ci` hypothesis profile;
the long profile (10,000 examples per target) is:

    MAPPER_HYPOTHESIS_PROFILE=long .venv/bin/python -m pytest tests/test_fuzz.py
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mapper.api import compile_path, compile_text
from mapper.engine.interpreter import evaluate
from mapper.language.plan import Plan
from mapper.records import Record

ROOT = Path(__file__).resolve().parents[1]
MAPPINGS = sorted(p for p in (ROOT / "mappings").rglob("*.yaml")
                  if not p.name.endswith(".cases.yaml") and p.name != "jobs.yaml"
                  and p.name not in ("connector.yaml", "serve.yaml")  # connector / server configs
                  and any(f"\n{key}:" in p.read_text(encoding="utf-8") for key in ("objects", "users", "groups")))
SAMPLES = sorted((ROOT / "samples").rglob("*.json"))

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=6),
    max_leaves=30,
)


@cache
def _plan(path: Path) -> Plan:
    plan, diags = compile_path(path)
    assert plan is not None, diags
    return plan


@cache
def _sample_records() -> list[Any]:
    out: list[Any] = []
    for path in SAMPLES:
        doc = json.loads(path.read_text(encoding="utf-8"))
        out.extend(doc if isinstance(doc, list) else [doc])
    return out


def _check(plan: Plan, data: Any) -> None:
    result = evaluate(plan, Record("fuzz", 0, data))
    assert result.outcome in ("mapped", "partial", "rejected", "filtered")
    assert result.items_in == len(result.objects) + len(result.rejected) + result.filtered
    for obj in result.objects:
        json.dumps(obj.payload)  # every object is JSON-serialisable


def _mutate(value: Any, path: list[int], replacement: Any) -> Any:
    """Replace one node of `value`, chosen by walking `path` through its containers."""
    if not path or not isinstance(value, dict | list) or not value:
        return replacement
    keys = list(value) if isinstance(value, dict) else list(range(len(value)))
    key = keys[path[0] % len(keys)]
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[key] = _mutate(value[key], path[1:], replacement)  # type: ignore[index]
    return copy


@pytest.mark.parametrize("mapping", MAPPINGS, ids=[str(p.relative_to(ROOT / "mappings")) for p in MAPPINGS])
@given(data=json_values)
def test_random_records_never_crash_a_bundled_mapping(mapping: Path, data: Any) -> None:
    _check(_plan(mapping), data)


@pytest.mark.parametrize("mapping", MAPPINGS, ids=[str(p.relative_to(ROOT / "mappings")) for p in MAPPINGS])
@given(index=st.integers(min_value=0), path=st.lists(st.integers(min_value=0), max_size=6),
       replacement=json_values)
def test_mutated_samples_never_crash_a_bundled_mapping(
    mapping: Path, index: int, path: list[int], replacement: Any
) -> None:
    records = _sample_records()
    record = records[index % len(records)]
    _check(_plan(mapping), _mutate(record, path, replacement))


@given(index=st.integers(min_value=0), position=st.integers(min_value=0),
       cut=st.integers(min_value=0, max_value=20), insert=st.text(max_size=8))
def test_mutated_mappings_never_crash_the_compiler(
    index: int, position: int, cut: int, insert: str
) -> None:
    text = MAPPINGS[index % len(MAPPINGS)].read_text(encoding="utf-8")
    at = position % (len(text) + 1)
    mutated = text[:at] + insert + text[at + cut:]
    plan, diags = compile_text(mutated, "mutated.yaml", base=MAPPINGS[index % len(MAPPINGS)].parent)
    assert plan is not None or any(d.is_error for d in diags)
    for d in diags:
        if d.expr is not None and d.expr_col is not None:
            assert 0 <= d.expr_col <= len(d.expr)
