"""The fused fast paths give exactly what the field-by-field interpreter gives.

Three ways to build a rule's object: `checked` (built and validated in one generated function),
`fused` (built in one function, then `check_object`), and field by field. All three must give
the same objects, byte for byte once serialised, and the same diagnostics.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mapper.authoring.cases import find_case_files, load_cases, run_case
from mapper.engine.interpreter import evaluate
from mapper.language.plan import Plan
from mapper.records import Record, RecordResult
from mapper.run.pipeline import map_records

ROOT = Path(__file__).resolve().parents[1]
CASE_FILES = find_case_files([str(ROOT / "mappings"), str(ROOT / "tests" / "cases")])
CASES = [c for f in CASE_FILES for c in load_cases(f)[0]]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=20,
)


def _unfused(plan: Plan) -> Plan:
    rules = tuple(dataclasses.replace(r, fused=None, checked=None) for r in plan.rules)
    return dataclasses.replace(plan, rules=rules)


def _unchecked(plan: Plan) -> Plan:
    rules = tuple(dataclasses.replace(r, checked=None) for r in plan.rules)
    return dataclasses.replace(plan, rules=rules)


def _facts(result: RecordResult) -> tuple[Any, ...]:
    return (
        result.outcome,
        [json.dumps(o.payload) for o in result.objects],
        [
            (d.code, d.loc, d.message, d.record.pointer if d.record else "")
            for d in result.diagnostics
        ],
        result.filtered,
    )


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fused_matches_field_by_field_on_every_case(case: Any) -> None:
    fast = run_case(case)
    if fast.plan is None:
        pytest.skip("the case's mapping does not compile")
    records = [r.record for r in fast.results]
    expected = [_facts(r) for r in fast.results]
    assert [_facts(r) for r in map_records(_unfused(fast.plan), records)] == expected
    assert [_facts(r) for r in map_records(_unchecked(fast.plan), records)] == expected


def test_every_bundled_rule_has_the_checked_path() -> None:
    """The one-function path is not silently lost (it would only be slower, not wrong)."""
    bundled = [c for c in CASES if (ROOT / "mappings") in c.file.parents]
    plans = [run_case(c).plan for c in bundled]
    rules = [r for plan in plans if plan is not None for r in plan.rules]
    assert rules
    assert {"user", "group"} <= {r.type_name for r in rules}  # users:/groups: rules too
    assert [(r.type_name, r.name) for r in rules if r.checked is None] == []


def _noisy(record: Any, noise: Any) -> Any:
    if isinstance(record, dict) and isinstance(noise, dict):
        return {**record, **noise}
    return noise


@given(noise=json_values)
def test_fused_matches_on_random_records(noise: Any) -> None:
    from mapper.api import load

    plan = load(ROOT / "mappings" / "github" / "push.yaml")
    slow_plan, unchecked_plan = _unfused(plan), _unchecked(plan)

    base = json.loads((ROOT / "samples" / "github" / "push-webhook.json").read_text())
    for record in (noise, _noisy(base, noise), {**base, "commits": noise}):
        rec = Record("random", 0, record)
        expected = _facts(evaluate(plan, rec))
        assert _facts(evaluate(slow_plan, rec)) == expected
        assert _facts(evaluate(unchecked_plan, rec)) == expected


IDENTITY_SAMPLES = {  # users:/groups: rules (checked like object rules since they got fast paths)
    "jira/users.yaml": "jira/users-search.json",
    "jira/group-members.yaml": "jira/group-jira-developers-members.json",
}


@pytest.mark.parametrize("mapping", IDENTITY_SAMPLES)
@given(noise=json_values)
def test_identity_rules_match_on_random_records(mapping: str, noise: Any) -> None:
    from mapper.api import load

    plan = load(ROOT / "mappings" / mapping)
    slow_plan, unchecked_plan = _unfused(plan), _unchecked(plan)
    sample = json.loads((ROOT / "samples" / IDENTITY_SAMPLES[mapping]).read_text())
    base = sample[0] if isinstance(sample, list) else sample
    for record in (noise, _noisy(base, noise), {**base, "emailAddress": noise, "name": noise}):
        rec = Record("random", 0, record)
        expected = _facts(evaluate(plan, rec))
        assert _facts(evaluate(slow_plan, rec)) == expected
        assert _facts(evaluate(unchecked_plan, rec)) == expected


CONSTANTS = """
version: 1
objects:
  - type: atlassian:repository
    fields:
      id: "[`1`, 'x'] | join('-', [to_string(@[0]), @[1]])"
      displayName: "'fixed name'"
      url: concat('https://example.com/', id)
      createdAt: to_rfc3339('2024-05-01T12:00:00+02:00')
      lastUpdatedAt: to_rfc3339(`1714557600`)
      permissions: "permissions([principal('ATLASSIAN_WORKSPACE')], groups(['g1', 'g1']))"
      atlassian:repository:
        name: "{n: 'repo'}.n"
"""


def test_constant_fields_are_evaluated_and_checked_once() -> None:
    from mapper.api import compile_text

    plan, diags = compile_text(CONSTANTS)
    assert plan is not None, diags
    source = plan.rules[0].checked.__mapper_source__  # type: ignore[union-attr]
    assert "'ATLASSIAN_WORKSPACE'" in source and "'2024-05-01T10:00:00Z'" in source
    assert "fixed name" in source
    slow_plan, unchecked_plan = _unfused(plan), _unchecked(plan)
    for data in ({"id": "r1"}, None, [], {"id": None}, "text", {"id": 7}):
        rec = Record("constants", 0, data)
        expected = _facts(evaluate(plan, rec))
        assert _facts(evaluate(slow_plan, rec)) == expected
        assert _facts(evaluate(unchecked_plan, rec)) == expected
    first = evaluate(plan, Record("constants", 0, {"id": "r1"})).objects[0].payload
    second = evaluate(plan, Record("constants", 1, {"id": "r2"})).objects[0].payload
    assert first["permissions"] == second["permissions"]
    assert first["permissions"] is not second["permissions"]  # a fresh value per object


PRINCIPAL_SOURCES = st.recursive(
    st.sampled_from([
        "users(ids)", "groups(ids)", "users(id)", "principal('user', id)", "principal('EVERYONE')",
        "principal('everyone', id)", "principal('nope', id)", "principal('MUST_HAVE_VIEWED')",
        "principal(kind, id)", "`null`", "null", "`{}`", "obj", "ids",
    ]),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.tuples(inner, inner).map(lambda t: f"(flag && {t[0]} || {t[1]})"),
        st.tuples(inner, inner).map(lambda t: f"({t[0]} || {t[1]})"),
        inner.map(lambda t: f"(flag && {t})"),
    ),
    max_leaves=5,
)
IDS = st.none() | st.text(max_size=3) | st.integers(0, 9) | st.lists(
    st.none() | st.text(max_size=3) | st.integers(0, 999) | st.just({}), max_size=4
) | st.integers(400, 600).map(lambda n: [f"u{i}" for i in range(n)])
PERMISSION_RECORDS = st.fixed_dictionaries({
    "ids": IDS, "id": IDS,
    "flag": st.sampled_from([True, False, None, {}, [], "", "x", 0]),
    "kind": st.sampled_from(["USER", "group", "nope", None, "MUST_HAVE_VIEWED"]),
    "obj": st.sampled_from([{}, {"type": "USER"}, {"type": "USER", "id": "u"}, None, []]),
})


def _permissions_plan(expression: str) -> Plan:
    from mapper.api import compile_text

    text = CONSTANTS.replace(
        "permissions([principal('ATLASSIAN_WORKSPACE')], groups(['g1', 'g1']))",
        f"permissions({expression})".replace('"', '\\\\"'),
    )
    plan, diags = compile_text(text)
    assert plan is not None, diags
    return plan


@given(expression=PRINCIPAL_SOURCES, record=PERMISSION_RECORDS)
def test_trusted_permissions_match_the_checked_path(expression: str, record: Any) -> None:
    """permissions() results taken with only a count check are exactly what a full check gives."""
    plan = _permissions_plan(expression)
    rec = Record("permissions", 0, record)
    expected = _facts(evaluate(_unfused(plan), rec))
    assert _facts(evaluate(plan, rec)) == expected
    assert _facts(evaluate(_unchecked(plan), rec)) == expected


@pytest.mark.parametrize(("expression", "trusted"), [
    ("repository.private && users(author.login) || [principal('ATLASSIAN_WORKSPACE')]", True),
    ("users(ids), groups(id), [principal('user', id), `null`]", True),
    ("principal('everyone', id)", True),
    ("[principal('user', id), null]", False),  # `null` here is a field of the record
    ("flag && users(ids)", False),  # a falsy `flag` such as {} would be taken as a principal
    ("principal('nope', id)", False),
    ("principal('MUST_HAVE_VIEWED')", False),  # valid, with a warning
    ("obj", False),
])
def test_which_permissions_are_trusted(expression: str, trusted: bool) -> None:
    from mapper.engine.guarantees import PRINCIPALS_GUARD

    source = _permissions_plan(expression).rules[0].checked.__mapper_source__  # type: ignore[union-attr]
    guard = PRINCIPALS_GUARD.split("{v}")[1]
    assert (guard in source) is trusted


# --- one evaluation per expression text, and the clean-record shortcut of the pipeline ----------

REPEATED = """
version: 1
objects:
  - type: atlassian:commit
    fields:
      id: sha
      displayName: first_line(msg)
      description:
        expr: first_line(msg)
        omit_empty: true
      url: concat('https://example.com/', sha)
      createdAt: to_rfc3339(at)
      lastUpdatedAt: to_rfc3339(at)
      createdBy: user_ref(login || email, email)
      containerKey: "entity_key_as('atlassian:repository', 'repositoryId', repo)"
      permissions: "permissions([principal('EVERYONE')])"
      atlassian:commit:
        hash: sha
        author: user_ref(login || email, email)
        authorTimestamp: to_rfc3339(at)
"""

commit_records = st.fixed_dictionaries(
    {},
    optional={
        "sha": st.sampled_from(["abc", "", "x y"]) | json_values,
        "msg": st.text(alphabet="ab \n\r\u2028", max_size=8) | json_values,
        "at": st.sampled_from(["2024-05-01T12:00:00Z", "2024-05-01T14:00:00.5+02:00", "x", ""])
        | json_values,
        "login": st.sampled_from(["u1", ""]) | json_values,
        "email": st.sampled_from(["u@example.com", ""]) | json_values,
        "repo": st.sampled_from(["r1", 7]) | json_values,
    },
)


def test_a_repeated_expression_is_evaluated_once_per_record() -> None:
    from mapper.api import compile_text

    plan, diags = compile_text(REPEATED)
    assert plan is not None, diags
    source = plan.rules[0].checked.__mapper_source__  # type: ignore[union-attr]
    # the expressions' statements are written into the rule's function, each text once, and
    # each field of the record is read once: sha, msg, at, login, email, repo
    assert "(item)" not in source.replace("type(item)", "").replace("def fused(item)", "")
    for name in ("first_line", "concat", "to_rfc3339", "entity_key_as"):
        assert source.count(f"'{name}')") == 1, name  # its argument check
    assert source.count("'user_ref')") == 2  # (two arguments)
    for key in ("sha", "msg", "at", "login", "email", "repo"):
        assert source.count(f".get({key!r})") == 1, key


@given(record=commit_records)
def test_repeated_expressions_match_field_by_field(record: Any) -> None:
    """A value shared by several fields keeps each field's own policy (omit_empty, required)."""
    from mapper.api import compile_text

    plan, _ = compile_text(REPEATED)
    assert plan is not None
    rec = Record("random", 0, record)
    expected = _facts(evaluate(_unfused(plan), rec))
    assert _facts(evaluate(plan, rec)) == expected
    assert _facts(evaluate(_unchecked(plan), rec)) == expected


def _pipeline_lines(plan: Plan, records: list[Any]) -> tuple[list[bytes], dict[str, Any]]:
    from mapper.io.sinks import JsonlSink, RejectsSink
    from mapper.run.pipeline import run

    lines: list[bytes] = []
    items = [Record("random", i, r) for i, r in enumerate(records)]
    sink, rejects = JsonlSink("", lines=lines), RejectsSink(None, lines=[])
    report = run(plan, items, sink=sink, rejects=rejects)
    assert sink.count == report.objects_out
    return lines, report.to_dict()


@given(records=st.lists(commit_records, max_size=6))
def test_the_clean_record_shortcut_writes_what_evaluate_gives(records: list[Any]) -> None:
    from mapper.api import compile_text
    from mapper.io.sinks import dumps_line
    from mapper.run import pipeline

    plan, _ = compile_text(REPEATED)
    assert plan is not None
    assert pipeline.clean_path(plan, pipeline.JsonlSink("", lines=[])) is not None
    lines, report = _pipeline_lines(plan, records)
    expected = [
        dumps_line(o.payload) for r in records for o in evaluate(plan, Record("r", 0, r)).objects
    ]
    assert lines == expected
    general_lines, general_report = _pipeline_lines(_unchecked(plan), records)  # no shortcut
    assert lines == general_lines
    report.pop("durationSeconds"), general_report.pop("durationSeconds")
    assert report == general_report


@given(records=st.lists(commit_records, max_size=6))
def test_the_clean_record_shortcut_reports_progress_record_by_record(records: list[Any]) -> None:
    """Clean records are counted in one go, yet progress sees every record, in order."""
    from mapper.api import compile_text
    from mapper.io.sinks import JsonlSink, RejectsSink
    from mapper.run.pipeline import run

    plan, _ = compile_text(REPEATED)
    assert plan is not None
    seen: list[int] = []
    items = [Record("random", i, r) for i, r in enumerate(records)]
    report = run(
        plan, items, sink=JsonlSink("", lines=[]), rejects=RejectsSink(None, lines=[]),
        progress=seen.append,
    )
    assert seen == list(range(1, len(records) + 1))
    assert report.records_in == len(records)


CONTEXTUAL = REPEATED.replace(
    "      displayName: first_line(msg)\n",
    "      displayName: \"concat(source(), ' ', to_string(record().sha))\"\n",
)


def test_reads_context_finds_the_functions_that_read_it() -> None:
    from mapper.api import compile_text
    from mapper.language.reads import reads_context

    plain, _ = compile_text(REPEATED)
    contextual, _ = compile_text(CONTEXTUAL)
    assert plain is not None and contextual is not None
    assert not reads_context(plain.rules[0].fields)
    assert reads_context(contextual.rules[0].fields)  # inside concat(), in one field
    nested, _ = compile_text(REPEATED.replace("        hash: sha\n", "        hash: source()\n"))
    assert nested is not None and reads_context(nested.rules[0].fields)  # in a nested object


VALID_COMMIT = {"sha": "abc", "msg": "Fix", "at": "2024-05-01T12:00:00Z", "login": "u", "repo": "r"}


@given(more=st.lists(commit_records, max_size=4))
def test_the_clean_record_shortcut_gives_each_record_its_context(more: list[Any]) -> None:
    """A rule calling record() and source() gets the record's own on the shortcut too (and a
    rule that calls neither is not given one: the same lines either way)."""
    from mapper.api import compile_text
    from mapper.io.sinks import JsonlSink, RejectsSink
    from mapper.run.pipeline import run

    records = [{**VALID_COMMIT, "sha": "s1"}, *more, {**VALID_COMMIT, "sha": "s2"}]
    for text in (CONTEXTUAL, REPEATED):
        plan, _ = compile_text(text)
        assert plan is not None
        outputs = []
        for each in (plan, _unchecked(plan)):  # the shortcut, then the general path
            lines: list[bytes] = []
            items = [Record(f"in{i}.jsonl", 0, r) for i, r in enumerate(records)]
            run(each, items, sink=JsonlSink("", lines=lines), rejects=RejectsSink(None, lines=[]))
            outputs.append(lines)
        assert outputs[0] == outputs[1]
        if text is CONTEXTUAL:  # (the first and last records map)
            assert b'"displayName":"in0.jsonl s1"' in outputs[0][0]
            assert f'"displayName":"in{len(more) + 1}.jsonl s2"'.encode() in outputs[0][-1]
