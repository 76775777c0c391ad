"""The official JMESPath compliance suite run against mapper.jpcompile.compile_expression.

The suite lives outside the repo (``../shared/jmespath-compliance`` from the repo root, or the
folder named by ``MAPPER_JMESPATH_COMPLIANCE``); the module is skipped when it is absent. Every
non-bench case must pass: results compare as canonical JSON (so ``1``, ``1.0`` and ``true`` differ),
and error cases must raise the matching jmespath exception at the same phase (compile or
evaluation) and of the same type as the stock ``jmespath`` interpreter.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jmespath
import pytest
from jmespath import exceptions as jexc

from mapper.jpcompile import compile_expression


def _suite_dir() -> Path:
    env = os.environ.get("MAPPER_JMESPATH_COMPLIANCE")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "shared" / "jmespath-compliance"


SUITE = _suite_dir()
if not SUITE.is_dir() or not any(SUITE.glob("*.json")):
    pytest.skip(
        f"JMESPath compliance suite not found at {SUITE} "
        "(set MAPPER_JMESPATH_COMPLIANCE to the folder holding its *.json files)",
        allow_module_level=True,
    )

# jmespath's lexer warns on the legacy `foo` literal syntax (JEP-12) before it goes on parsing; the
# project turns warnings into errors, which would cut the lexer short on those cases.
pytestmark = pytest.mark.filterwarnings(
    "ignore:deprecated string literal syntax:PendingDeprecationWarning"
)

# error category -> the jmespath exception class a case must raise
ERRORS: dict[str, type[BaseException]] = {
    "syntax": jexc.ParseError,
    "invalid-arity": jexc.ArityError,
    "invalid-type": jexc.JMESPathTypeError,
    "unknown-function": jexc.UnknownFunctionError,
    "invalid-value": ValueError,
}


def _cases() -> list[Any]:
    params = []
    for path in sorted(SUITE.glob("*.json")):
        if path.name == "schema.json":
            continue
        for si, suite in enumerate(json.loads(path.read_text(encoding="utf-8"))):
            for ci, case in enumerate(suite["cases"]):
                if "bench" in case:
                    continue
                case_id = f"{path.name}::{si}::{ci}::{case['expression']}"
                params.append(pytest.param(suite["given"], case, id=case_id))
    return params


CASES = _cases()


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _stock(expression: str, given: Any) -> tuple[str, Any]:
    """What jmespath itself does: ('compile'|'search', exception type) or ('ok', result)."""
    try:
        parsed = jmespath.compile(expression)
    except Exception as exc:
        return "compile", type(exc)
    try:
        return "ok", parsed.search(given)
    except Exception as exc:
        return "search", type(exc)


def test_suite_is_complete() -> None:
    assert len(CASES) > 800  # 892 non-bench cases at jmespath.test commit 53abcc3


@pytest.mark.parametrize(("given", "case"), CASES)
def test_compliance(given: Any, case: dict[str, Any]) -> None:
    expression = case["expression"]
    if "result" in case:
        fn = compile_expression(expression)
        assert _canonical(fn(given)) == _canonical(case["result"])
        return
    expected = ERRORS[case["error"]]
    phase, stock_type = _stock(expression, given)
    assert phase in ("compile", "search"), f"stock jmespath raised nothing for {expression!r}"
    if case["error"] == "syntax":
        assert phase == "compile"
    if phase == "compile":
        with pytest.raises(expected) as info:
            compile_expression(expression)
    else:
        fn = compile_expression(expression)
        with pytest.raises(expected) as info:
            fn(given)
    assert type(info.value) is stock_type
