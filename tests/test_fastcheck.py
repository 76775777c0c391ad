"""Differential tests of the generated fast path of `check_object` (`mapper.model.fastcheck`).

The reference is `check_object(type_name, payload, fast=False)`: the pydantic models plus the
advisories. Starting from valid payloads (every object of the bundled expected outputs, plus two
payloads per type synthesised from the model documentation) that hypothesis mutates at random
paths, this proves, for all 24 object types:

* soundness: whenever `fast_check` decides, the reference accepts the payload, with the same
  output bytes (values, JSON types and key order) and the same warnings;
* completeness: whenever the reference accepts a payload whose keys are all camelCase aliases,
  `fast_check` decides it (snake_case field names are deliberately left to the reference);
* `check_object` with its default fast path gives the reference's result on every payload;
* every type has a generated checker, and `fast_check` declines non-dicts and unknown types;
* the functions whose results the generated code takes without a check (`TRUSTED_RESULTS`)
  only ever return what the check would return unchanged, without a warning.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jmespath.exceptions import JMESPathError

from mapper.errors import Diagnostic
from mapper.functions.registry import MapperFunctions
from mapper.model import OBJECT_TYPES
from mapper.model.advisories import advise
from mapper.model.common import MAX_PRINCIPALS, Association, UserRef
from mapper.model.fastcheck import checked_value, fast_check, fast_checker, source_of
from mapper.model.introspect import FieldDoc, describe_type, iter_nested
from mapper.model.scalars import normalise_date_or_timestamp, normalise_timestamp
from mapper.model.trusted import TRUSTED_RESULTS, TRUSTED_WITH_LITERALS, trusts_call
from mapper.model.validate import check_object

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = sorted((ROOT / "mappings").glob("*/expected/*.jsonl"))
TYPES = sorted(OBJECT_TYPES)
DROP = object()  # marks a key to delete in an edit

Payload = dict[str, Any]
Loc = tuple[str | int, ...]

# --- valid payloads --------------------------------------------------------------------------


@cache
def corpus() -> dict[str, list[Payload]]:
    """Type name -> the objects of the bundled expected outputs (one JSON object per line)."""
    out: dict[str, list[Payload]] = {name: [] for name in TYPES}
    for path in EXPECTED:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            payload = json.loads(line)
            blocks = [key for key in payload if key.startswith("atlassian:")]
            if len(blocks) == 1 and blocks[0] in out:
                out[blocks[0]].append(payload)
    return out


PRINCIPALS_MINIMAL = [{"type": "USER", "id": "u-1"}]
PRINCIPALS_FULL = [
    {"type": "GROUP", "id": "g-1"}, {"type": "MUST_HAVE_VIEWED"}, {"type": "CONTAINER"},
]  # fmt: skip
SCALARS: dict[str, Any] = {
    "string": "s",
    "integer": 7,
    "boolean": True,
    "number": 1.5,
    "timestamp": "2024-05-01T14:00:00.123456+02:00",  # not canonical: normalisation is exercised
    "date-or-timestamp": "2024-05-01",
    "url": "https://x.example/p?q=1",
    "map[string]": {"entityId": "e-1"},
    "json": {"k": [1, None, "v"], "n": None},
}
"""A valid value of each scalar kind of `FieldDoc`."""
BY_NAME: dict[str, Any] = {"category": "document"}  # DocumentType.category (any case)


def _sample(doc: FieldDoc, full: bool, key_type: str) -> Any:
    """A valid value for one documented field (lists get one item, two when `full`)."""
    if doc.kind.startswith("list["):
        if doc.name == "principals":
            return copy.deepcopy(PRINCIPALS_FULL if full else PRINCIPALS_MINIMAL)
        item = _sample(FieldDoc(doc.name, True, doc.kind[5:-1], "", doc.children), full, key_type)
        return [item, copy.deepcopy(item)] if full else [item]
    if doc.kind == "EntityKey":
        return {"type": key_type, "value": {"entityId": "e-1"}}
    if doc.kind == "userRef" and not full:
        return {"externalId": "u-1"}
    if doc.is_object or doc.children:
        return _synthesise(doc.children, full, key_type)
    if doc.name in BY_NAME:
        return BY_NAME[doc.name]
    return copy.deepcopy(SCALARS[doc.kind])


def _synthesise(
    docs: tuple[FieldDoc, ...], full: bool, key_type: str, also: tuple[str, ...] = ()
) -> Payload:
    return {
        doc.name: _sample(doc, full, key_type)
        for doc in docs
        if full or doc.required or doc.name in also
    }


ALSO_REQUIRED = {"atlassian:message": ("containerKey",)}  # required by a model validator


@cache
def synthesised(type_name: str, full: bool) -> Payload:
    """A valid payload built from `describe_type`: required fields only, or every field."""
    for key_type in ("atlassian:space", "atlassian:repository"):  # restricted container keys
        also = ALSO_REQUIRED.get(type_name, ())
        payload = _synthesise(describe_type(type_name), full, key_type, also)
        if check_object(type_name, copy.deepcopy(payload), fast=False)[0] is not None:
            return payload
    raise AssertionError(f"cannot synthesise a valid {type_name} payload (full={full})")


@cache
def valid_payloads(type_name: str) -> tuple[Payload, ...]:
    return (synthesised(type_name, False), synthesised(type_name, True), *corpus()[type_name])


# --- the differential check ------------------------------------------------------------------


def uses_field_names(type_name: str, payload: object) -> bool:
    """True if a dict at a model position has a snake_case field name that is not its alias."""
    for model, raw, _ in iter_nested(OBJECT_TYPES[type_name], payload):
        names = {name for name, info in model.model_fields.items() if (info.alias or name) != name}
        if names & raw.keys():
            return True
    return False


def _diags(diags: list[Diagnostic]) -> list[tuple[Diagnostic, object]]:
    return [(diag, diag.value) for diag in diags]  # `value` is excluded from Diagnostic's __eq__


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)  # no sort_keys: key order is part of the bytes


def assert_agrees(type_name: str, payload: Payload) -> tuple[Payload, ...] | None:
    """Check fast_check and check_object against the reference; returns what fast_check decided."""
    before = _dumps(payload)
    ref_out, ref_diags = check_object(type_name, copy.deepcopy(payload), fast=False)
    decided = fast_check(type_name, payload)
    assert _dumps(payload) == before, "fast_check modified its input"
    if decided is not None:
        out, warns = decided
        rejected = [str(diag) for diag in ref_diags]
        assert ref_out is not None, f"fast path accepted what the reference rejects: {rejected}"
        assert _dumps(out) == _dumps(ref_out)
        assert out == ref_out
        assert _diags(warns) == _diags(ref_diags)
        assert all(not diag.is_error for diag in warns)
    elif ref_out is not None:
        assert uses_field_names(type_name, payload), "fast path declined a valid camelCase payload"
    out, diags = check_object(type_name, copy.deepcopy(payload))
    assert _dumps(out) == _dumps(ref_out)
    assert _diags(diags) == _diags(ref_diags)
    return decided


# --- mutations -------------------------------------------------------------------------------

TIMESTAMPS = [
    "2024-05-01T12:00:00Z", "2024-05-01T12:00:00.123Z", "2024-05-01T12:00:00+02:00",
    "2024-04-31T00:00:00Z", "2024-05-01T24:00:00Z", "2024-05-01", "0000-01-01T00:00:00Z",
    "0001-01-01T00:30:00+01:00", "9999-12-31T23:59:59.9999-01:00", "2024-05-01t12:00:00z",
    "2024-05-01 12:00:00.1Z", "2024-05-01T12:00:00", "2024-05-01T12:00:00+24:00",
]  # fmt: skip
URLS = [
    "https://x.example/a b", "HTTPS://X.EXAMPLE", "ftp://x", "/relative", "https://",
    "http://[::1]/", "https://user@host/p", "https://x.example:99999/", "http://x.example\t/",
    "https://x.example/\u00e9", "https://h\u00e9.example", "http://[::1", "https:x.example",
]  # fmt: skip
WORDS = [
    "USER", "user", "GROUP", "EVERYONE", "ATLASSIAN_WORKSPACE", "CONTAINER", "MUST_HAVE_VIEWED",
    "NOPE", "atlassian:repository", "atlassian:space", "atlassian:conversation",
    "atlassian:nope", "repo", "issueIdOrKeys", "OPEN", "MERGED", "SUCCESSFUL", "weird", "pdf",
    "DOCUMENT", "nope-category", "caf\u00e9 \U0001f600",
]  # fmt: skip
TRICKY: list[Any] = [
    "", "x", 0, -1, 2**63, 2**63 - 1, True, False, 1.5, 1.0, float("inf"), [], {}, [None],
    {"a": None}, {"entityId": ""}, {"entityId": 5}, [{"type": "EVERYONE"}], ["a", ""],
    *TIMESTAMPS, *URLS, *WORDS,
]  # fmt: skip


def _paths(node: object, loc: Loc = ()) -> list[Loc]:
    """Every location below `node` (not the root itself)."""
    items: list[tuple[str | int, Any]] = []
    if isinstance(node, dict):
        items = list(node.items())
    elif isinstance(node, list):
        items = list(enumerate(node))
    out: list[Loc] = []
    for key, child in items:
        out.append((*loc, key))
        out.extend(_paths(child, (*loc, key)))
    return out


def _get(node: Any, loc: Loc) -> Any:
    for part in loc:
        node = node[part]
    return node


def _containers(payload: Payload, kind: type) -> list[Loc]:
    return [loc for loc in [(), *_paths(payload)] if isinstance(_get(payload, loc), kind)]


def _snake(key: str) -> str:
    if key.startswith("atlassian:"):
        return "block"
    return re.sub(r"[A-Z]", lambda m: "_" + m[0].lower(), key)


def _principals(count: int, distinct: bool) -> list[dict[str, str]]:
    return [{"type": "USER", "id": f"u-{i if distinct else 0}"} for i in range(count)]


def mutate(payload: Payload, data: st.DataObject) -> None:
    """Apply one random mutation to `payload` in place."""
    op = data.draw(st.sampled_from([
        "delete", "null", "tricky", "tricky", "tricky", "unknown-key", "snake-key", "duplicate",
        "empty-list", "principals", "reorder",
    ]), label="op")  # fmt: skip
    paths = _paths(payload)
    if op in ("delete", "null", "tricky") and paths:
        loc = data.draw(st.sampled_from(paths), label="at")
        parent = _get(payload, loc[:-1])
        if op == "delete":
            del parent[loc[-1]]
        else:
            parent[loc[-1]] = None if op == "null" else copy.deepcopy(data.draw(
                st.sampled_from(TRICKY), label="value"))
    elif op in ("unknown-key", "snake-key", "reorder"):
        loc = data.draw(st.sampled_from(_containers(payload, dict)), label="at")
        node = _get(payload, loc)
        if op == "unknown-key":
            node["bogusKey"] = "x"
        elif op == "reorder":
            items = list(node.items())[::-1]
            node.clear()
            node.update(items)
        elif node:
            key = data.draw(st.sampled_from(sorted(node)), label="key")
            node[_snake(key)] = node.pop(key)
    elif op in ("duplicate", "empty-list") and (lists := _containers(payload, list)):
        node = _get(payload, data.draw(st.sampled_from(lists), label="at"))
        if op == "empty-list":
            node.clear()
        elif node:
            node.append(copy.deepcopy(data.draw(st.sampled_from(node), label="item")))
    elif op == "principals":
        found = [loc for loc in _containers(payload, list) if loc and loc[-1] == "principals"]
        if found:
            node = _get(payload, data.draw(st.sampled_from(found), label="at"))
            count = data.draw(st.sampled_from(
                [MAX_PRINCIPALS // 2, MAX_PRINCIPALS - 1, MAX_PRINCIPALS, MAX_PRINCIPALS + 1]))
            node[:] = _principals(count, data.draw(st.booleans(), label="distinct"))


# --- tests -----------------------------------------------------------------------------------


def test_every_type_has_a_generated_checker() -> None:
    assert set(TYPES) == set(OBJECT_TYPES) and len(TYPES) == 24
    for type_name in TYPES:
        assert fast_checker(type_name) is not None, type_name
        source = source_of(type_name)
        assert source.startswith("def check(raw, loc, warns):"), type_name
        compile(source, type_name, "exec")


def test_corpus_is_read() -> None:
    found = {name: len(items) for name, items in corpus().items() if items}
    assert len(EXPECTED) >= 40
    assert sum(found.values()) >= 100
    assert {"atlassian:commit", "atlassian:document", "atlassian:message"} <= set(found)


@pytest.mark.parametrize("type_name", TYPES)
def test_every_type_has_valid_payloads_decided_by_both_paths(type_name: str) -> None:
    payloads = valid_payloads(type_name)
    assert len(payloads) >= 2
    for payload in payloads:
        assert check_object(type_name, copy.deepcopy(payload), fast=False)[0] is not None
        assert assert_agrees(type_name, payload) is not None


@pytest.mark.parametrize("type_name", TYPES)
@given(data=st.data())
def test_fast_path_agrees_with_reference_on_mutated_payloads(
    type_name: str, data: st.DataObject
) -> None:
    payload = copy.deepcopy(data.draw(st.sampled_from(valid_payloads(type_name)), label="base"))
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        mutate(payload, data)
    assert_agrees(type_name, payload)


@given(type_name=st.sampled_from(TYPES), value=st.sampled_from(TRICKY), data=st.data())
def test_fast_path_agrees_on_every_tricky_value_at_every_position(
    type_name: str, value: Any, data: st.DataObject
) -> None:
    payload = synthesised(type_name, data.draw(st.booleans(), label="full"))
    payload = copy.deepcopy(payload)
    loc = data.draw(st.sampled_from(_paths(payload)), label="at")
    _get(payload, loc[:-1])[loc[-1]] = copy.deepcopy(value)
    assert_agrees(type_name, payload)


def _edited(type_name: str, edits: dict[Loc, Any], *, full: bool = True) -> Payload:
    payload = copy.deepcopy(synthesised(type_name, full))
    for loc, value in edits.items():
        parent = _get(payload, loc[:-1])
        if value is DROP:
            del parent[loc[-1]]
        else:
            parent[loc[-1]] = value
    return payload


def _permissions(*entries: list[int], distinct: bool = True) -> list[Any]:
    """Permission entries, each with access controls of the given numbers of principals."""
    return [{"accessControls": [{"principals": _principals(count, distinct)} for count in counts]}
            for counts in entries]


EXTENDED = ("atlassian:deal", "entityExtendedValues")
# (type, edits, whether the fast path decides): regressions and edge cases of the generator
REGRESSIONS: list[tuple[str, dict[Loc, Any], bool]] = [
    ("atlassian:commit", {("containerKey", "type"): "atlassian:space"}, False),
    ("atlassian:work-item", {("containerKey", "type"): "atlassian:repository"}, False),
    ("atlassian:work-item", {("parentKey", "type"): "atlassian:repository"}, True),
    ("atlassian:document", {("permissions",): _permissions([500])}, True),
    ("atlassian:document", {("permissions",): _permissions([501], distinct=False)}, False),
    ("atlassian:document", {("permissions",): _permissions([250, 250])}, True),
    ("atlassian:document", {("permissions",): _permissions([250, 251])}, False),
    ("atlassian:document", {("permissions",): _permissions([250], [250])}, True),
    ("atlassian:document", {("permissions",): _permissions([1], [500])}, False),
    ("atlassian:document", {("permissions",): _permissions([1, 0])}, False),
    ("atlassian:document", {("permissions",): []}, False),
    ("atlassian:document", {("atlassian:document", "type", "category"): "Pdf"}, True),
    ("atlassian:document", {("atlassian:document", "type", "category"): "pdfs"}, False),
    ("atlassian:document", {("atlassian:document", "content", "text"): ""}, True),
    ("atlassian:test", {("schema_version",): "1.0", ("schemaVersion",): DROP}, False),
    ("atlassian:test", {("block",): {}, ("atlassian:test",): DROP}, False),
    ("atlassian:test", {("atlassian:test",): {"x": 1}}, False),
    ("atlassian:test", {("createdBy",): {"external_id": "u"}}, False),
    ("atlassian:test", {("createdBy",): {"externalId": "u", "email": ""}}, False),
    ("atlassian:test", {("createdBy",): {"email": "e@x.example"}}, True),
    ("atlassian:test", {("createdBy",): None, ("owners",): None}, True),
    ("atlassian:test", {("updateSequenceNumber",): 2**63 - 1}, True),
    ("atlassian:test", {("updateSequenceNumber",): 2**63}, False),
    ("atlassian:test", {("updateSequenceNumber",): True}, False),
    ("atlassian:test", {("updateSequenceNumber",): 1.0}, False),
    ("atlassian:test", {("createdAt",): "2024-05-01T12:00:00.5-01:30"}, True),
    ("atlassian:test", {("createdAt",): "2024-04-31T00:00:00Z"}, False),
    ("atlassian:test", {("createdAt",): "0001-01-01T00:30:00+01:00"}, False),
    ("atlassian:test", {("url",): "HTTPS://X.EXAMPLE"}, True),
    ("atlassian:test", {("url",): "https://x.example/a b"}, False),
    ("atlassian:test", {("url",): "http://[::1]/"}, True),
    ("atlassian:test", {("displayName",): ""}, False),
    ("atlassian:test", {("displayName",): None}, True),
    ("atlassian:test", {("associations", 0, "values"): []}, False),
    ("atlassian:test", {("associations", 0, "associationType"): "issueIdOrKeys"}, True),
    ("atlassian:message", {("containerKey",): DROP, ("parentKey",): DROP}, False),
    ("atlassian:message", {("containerKey",): DROP}, True),
    ("atlassian:message", {("containerKey", "type"): "atlassian:conversation"}, True),
    ("atlassian:deal", {EXTENDED: {"a": None, "b": [None]}}, True),
    ("atlassian:deal", {EXTENDED: [2**64, {"x": 1.0}]}, True),
    ("atlassian:deal", {EXTENDED: float("inf")}, False),
    ("atlassian:deal", {("atlassian:deal", "opportunityAmount", "value"): 1}, True),
    ("atlassian:deal", {("atlassian:deal", "opportunityAmount", "value"): True}, False),
    ("atlassian:video", {("atlassian:video", "durationInSeconds"): 2**70}, True),
    ("atlassian:video", {("atlassian:video", "durationInSeconds"): float("-inf")}, False),
    ("atlassian:work-item", {("atlassian:work-item", "dueDate"): "2024-02-30"}, False),
    ("atlassian:work-item", {("atlassian:work-item", "dueDate"): "2024-02-29T23:00:00-02:00"},
     True),
    ("atlassian:pull-request", {("atlassian:pull-request", "status"): "weird"}, True),
    ("atlassian:pull-request", {("atlassian:pull-request", "reviewers"): []}, True),
    ("atlassian:deployment", {("atlassian:deployment", "state"): "weird"}, True),
    ("atlassian:conversation", {("atlassian:conversation", "members"): []}, True),
    ("atlassian:space", {("atlassian:space", "icon", "isDefault"): 1}, False),
]  # fmt: skip


@pytest.mark.parametrize(("type_name", "edits", "decided"), REGRESSIONS)
def test_regressions(type_name: str, edits: dict[Loc, Any], decided: bool) -> None:
    payload = _edited(type_name, edits)
    assert (assert_agrees(type_name, payload) is not None) is decided


@pytest.mark.parametrize("payload", [[], "x", None, 5, 1.5, True, ["a"]])
@pytest.mark.parametrize("type_name", ["atlassian:commit", "atlassian:test"])
def test_fast_check_declines_non_objects(type_name: str, payload: object) -> None:
    assert fast_check(type_name, payload) is None
    assert check_object(type_name, payload) == check_object(type_name, payload, fast=False)


@pytest.mark.parametrize(
    "type_name", ["atlassian:nope", "commit", "", "ATLASSIAN:COMMIT", None, 5, ("atlassian:test",)]
)
def test_fast_check_declines_unknown_types(type_name: Any) -> None:
    payload = copy.deepcopy(synthesised("atlassian:test", False))
    assert fast_check(type_name, payload) is None
    assert check_object(type_name, payload) == check_object(type_name, payload, fast=False)


@pytest.mark.parametrize("type_name", [["atlassian:test"], {"atlassian:test": 1}])
def test_unhashable_type_names_are_reported_like_the_reference(type_name: Any) -> None:
    # the reference reports object.unknown-type for a non-string type name
    payload = copy.deepcopy(synthesised("atlassian:test", False))
    assert fast_check(type_name, payload) is None
    assert check_object(type_name, payload) == check_object(type_name, payload, fast=False)


# --- results taken without a check (model/trusted.py TRUSTED_RESULTS) --------------------------

FUNCTIONS = MapperFunctions()
IDS = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
       | st.text(max_size=6) | st.sampled_from(["", " ", "ABC-1", "x@example.com"]))
TIMESTAMPISH = (st.text(max_size=30) | st.integers() | st.floats(allow_nan=False)
                | st.sampled_from(["2024-05-01T12:00:00+02:00", "2024-05-01", "1714564800.5",
                                   "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59.9999-01:00",
                                   "Wed, 01 May 2024 14:00:00 +0200", "2024-02-30T00:00:00Z"]))
ARGUMENTS: dict[str, st.SearchStrategy[list[Any]]] = {
    "to_rfc3339": st.tuples(TIMESTAMPISH).map(list),
    "user_ref": st.lists(IDS, min_size=1, max_size=3),
    "associations": st.tuples(IDS | st.lists(IDS, max_size=5)).map(list),
}


def _dumped(model: type[Any], value: dict[str, Any]) -> str:
    return json.dumps(model.model_validate(value).model_dump(mode="json", by_alias=True,
                                                            exclude_none=True))


def _holds(function: str, result: Any) -> None:
    """The claim of TRUSTED_RESULTS: the check would return `result` unchanged, no warning."""
    if function == "to_rfc3339":
        assert normalise_timestamp(result) == result == normalise_date_or_timestamp(result)
    elif function == "user_ref":
        assert _dumped(UserRef, result) == json.dumps(result)
        assert list(advise(UserRef, result)) == []
    elif function == "associations":
        assert isinstance(result, list) and result
        for item in result:
            assert _dumped(Association, item) == json.dumps(item)
            assert list(advise(Association, item)) == []
    else:
        raise AssertionError(f"no contract test for {function}")


def test_every_trusted_result_has_a_contract_test() -> None:
    assert set(ARGUMENTS) == set(TRUSTED_RESULTS)


@pytest.mark.parametrize("function", sorted(TRUSTED_RESULTS))
@given(data=st.data())
def test_trusted_results_need_no_check(function: str, data: st.DataObject) -> None:
    args = data.draw(ARGUMENTS[function])
    try:
        result = FUNCTIONS.call_function(function, args)
    except JMESPathError:
        return  # a type error is reported, never taken as a value
    if result is not None:
        _holds(function, result)


KEY_FIELDS = [("atlassian:commit", "container_key"), ("atlassian:message", "parent_key"),
              ("atlassian:message", "container_key"), ("atlassian:document", "container_key")]
KEY_TYPES = st.sampled_from([*TYPES, "atlassian:nope", "repository", ""])
KEY_NAMES = st.sampled_from(["repositoryId", "entityId", "", "x y"]) | st.text(max_size=4)


def test_every_literal_trusted_function_has_a_contract_test() -> None:
    assert set(TRUSTED_WITH_LITERALS) == {"entity_key", "entity_key_as"}


@given(where=st.sampled_from(KEY_FIELDS), kind=KEY_TYPES, name=KEY_NAMES,
       ids=st.lists(IDS, min_size=1, max_size=4), as_named=st.booleans())
def test_literal_trusted_results_need_no_check(
    where: tuple[str, str], kind: str, name: str, ids: list[Any], as_named: bool
) -> None:
    """Once the sample result for id "x" is trusted, every id gives a valid result too."""
    function, literals = ("entity_key_as", [kind, name]) if as_named else ("entity_key", [kind])
    model = OBJECT_TYPES[where[0]]
    sample = FUNCTIONS.call_function(function, [*literals, "x"])
    if not trusts_call(model, where[1], function, literals, sample):
        return
    for ident in ids:
        try:
            result = FUNCTIONS.call_function(function, [*literals, ident])
        except JMESPathError:
            continue
        if result is not None:
            ok, checked = checked_value(model, where[1], result)
            assert ok and json.dumps(checked) == json.dumps(result)


@pytest.mark.parametrize(("function", "literals", "where", "trusted"), [
    ("entity_key_as", ["atlassian:repository", "repositoryId"], KEY_FIELDS[0], True),
    ("entity_key_as", ["atlassian:space", "spaceId"], KEY_FIELDS[0], False),  # wrong container
    ("entity_key", ["atlassian:message"], KEY_FIELDS[1], True),
    ("entity_key", ["atlassian:nope"], KEY_FIELDS[1], False),  # unknown type
    ("entity_key", ["repository"], KEY_FIELDS[2], False),  # no atlassian: prefix
    ("entity_key", ["atlassian:space"], KEY_FIELDS[3], True),
])
def test_literal_trust_examples(
    function: str, literals: list[Any], where: tuple[str, str], trusted: bool
) -> None:
    sample = FUNCTIONS.call_function(function, [*literals, "x"])
    assert trusts_call(OBJECT_TYPES[where[0]], where[1], function, literals, sample) is trusted
