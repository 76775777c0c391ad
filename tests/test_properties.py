"""Robustness properties (hypothesis, bounded by the profile in tests/conftest.py).

* `evaluate` never raises for any JSON record: it gives objects or diagnostics;
* any string used as an expression compiles to a Plan or to diagnostics whose `expr_col` lies
  inside the text;
* any YAML-ish text through `compile_text` gives a Plan or diagnostics, never an exception.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mapper.api import compile_text
from mapper.engine.interpreter import evaluate
from mapper.language.plan import Plan
from mapper.records import Record, RecordResult

_COMMON = """version: 1
defaults:
  url: "url_join('https://x.test', to_str(id))"
  createdAt: {expr: "to_rfc3339(created)", default: "2024-05-01T12:00:00Z"}
  lastUpdatedAt: {coalesce: ["to_rfc3339(updated)", "'2024-05-01T12:00:00Z'"]}
  permissions: "permissions(users(viewers) || [principal('EVERYONE')])"
"""

MAPPINGS = {
    "deal": _COMMON + """objects:
  - type: atlassian:deal
    fields:
      id: to_str(id)
      displayName: {coalesce: [name, "'untitled'"]}
      description: {expr: "html_to_text(to_str(body))", omit_empty: true}
      owners: user_refs(owners)
      associations: associations(jira_keys(to_str(name), to_str(body)))
""",
    "commits": _COMMON + """objects:
  - type: atlassian:commit
    each: commits[]
    where: "!skip"
    fields:
      id: "concat(to_str(record().repo), '@', to_str(id))"
      description: "first_line(to_str(message))"
      containerKey: "entity_key_as('atlassian:repository', 'repositoryId', to_str(record().repo))"
      atlassian:commit:
        hash: to_str(id)
        displayId: "truncate(to_str(id), `7`)"
""",
    "document": _COMMON + """objects:
  - type: atlassian:document
    fields:
      id: to_str(id)
      displayName: name
      atlassian:document:
        type: {category: "mime_category(mime)", mimeType: mime}
        content: {mimeType: "'text/plain'", text: "regex_replace(to_str(body), '\\\\s+', ' ')"}
""",
}

_PLANS: dict[str, Plan] = {}


def _plan(name: str) -> Plan:
    if name not in _PLANS:
        plan, diags = compile_text(MAPPINGS[name], f"{name}.yaml")
        assert plan is not None, "\n".join(map(str, diags))
        _PLANS[name] = plan
    return _PLANS[name]


_SCALARS = (st.none() | st.booleans() | st.integers(-(2**63), 2**63)
            | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30))
_JSON = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)
_KEYS = st.sampled_from(["id", "name", "body", "owners", "viewers", "created", "updated", "mime",
                         "commits", "repo", "message", "skip", "url"])
_RECORDS = st.dictionaries(_KEYS, _JSON, max_size=8) | _JSON
_COMMITS = st.fixed_dictionaries({"repo": _JSON, "commits": st.lists(
    st.dictionaries(_KEYS, _JSON, max_size=5) | _JSON, max_size=4)})


def _check_result(result: RecordResult, record: Record) -> None:
    assert isinstance(result, RecordResult)
    assert result.record is record
    assert result.outcome in ("mapped", "rejected", "filtered")
    if result.outcome == "rejected":
        assert not result.objects and result.errors
    for obj in result.objects:
        json.dumps(obj.payload)  # JSON-ready


@pytest.mark.parametrize("name", sorted(MAPPINGS))
@given(data=_RECORDS)
def test_evaluate_never_raises_on_random_records(name: str, data: object) -> None:
    record = Record("random", 0, data)
    _check_result(evaluate(_plan(name), record), record)


@given(data=_COMMITS)
def test_evaluate_never_raises_on_random_each_items(data: object) -> None:
    record = Record("random", 3, data)
    _check_result(evaluate(_plan("commits"), record), record)


_EXPR_CHARS = st.sampled_from([*list("abcxyz_.[]{}()*?|&!<>=@`'\",:- 0123456789"), "lower(", "concat(", "slugg(", "lookup('t', ", "record()", "&&", "||"])
_EXPRESSIONS = st.lists(_EXPR_CHARS, max_size=20).map("".join) | st.text(max_size=25)


# jmespath warns (PendingDeprecationWarning) on `not json` literals; the compiler lets that
# warning through instead of turning it into a diagnostic (reported), so it is ignored here.
@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
@given(text=_EXPRESSIONS)
def test_random_expressions_give_a_plan_or_located_diagnostics(text: str) -> None:
    mapping = (_COMMON + "objects:\n  - type: atlassian:deal\n    fields:\n      id: id\n"
               f"      displayName: {json.dumps(text)}\n")
    plan, diags = compile_text(mapping, "random.yaml")
    errors = [d for d in diags if d.is_error]
    assert (plan is None) == bool(errors)
    for d in diags:
        if d.expr_col is not None:
            assert d.expr is not None
            assert 0 <= d.expr_col <= len(d.expr), str(d)


_YAML_PIECES = st.sampled_from([
    "version: 1\n", "version: 2\n", "objects:\n", "  - type: atlassian:deal\n", "    fields:\n",
    "      id: id\n", "      id: id\n", "define:\n", "  a: {use: a}\n", "  - ", "\t", ": ", "- ",
    "{", "}", "[", "]", "&x ", "*x ", "<<: *x\n", "!!python/object:os.system x\n", "'", '"',
    "\n", "  ", "include: [nope.yaml]\n", "records: items[\n", "1: x\n", "~\n", "? ", "|\n",
    "defaults: {url: 1}\n", "lookups: {t: {file: f, key: k}}\n", "      displayName: OPEN\n",
])
_YAML_TEXTS = st.lists(_YAML_PIECES, max_size=14).map("".join) | st.text(max_size=60)


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
@given(text=_YAML_TEXTS)
def test_random_yaml_texts_never_raise(text: str) -> None:
    plan, diags = compile_text(text, "random.yaml")
    assert plan is not None or any(d.is_error for d in diags)
    for d in diags:
        str(d)  # every diagnostic renders
