"""What diagnostics say: one row per mapping (+ record) -> code, location, and a phrase that
must appear in the message or the hint. Codes and locations are API; the phrases pin down the
wording that tells users what went wrong (missing vs null vs unreadable, JSON values, ...)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mapper.api import apply, compile_text
from mapper.cli import app
from mapper.errors import Diagnostic, format_loc

HEAD = """\
version: 1
defaults:
  url: "'https://x.test/o'"
  createdAt: "'2024-05-01T12:00:00Z'"
  lastUpdatedAt: "'2024-05-01T12:00:00Z'"
  permissions: "permissions([principal('EVERYONE')])"
objects:
  - type: {type}
    fields:
"""  # the rule's fields start on line 10, column 7
DEAL = "atlassian:deal"
PR = "atlassian:pull-request"
PR_HEAD = """\
containerKey: "entity_key_as('atlassian:repository', 'repositoryId', 'r')"
id: id
displayName: "'pr'"
"""
PR_BLOCK = """\
atlassian:pull-request:
  displayId: "'#1'"
  sourceBranch: "'a'"
  destinationBranch: "'b'"
  reviewers: "`[]`"
"""


def mapping(type_name: str, fields: str) -> str:
    return HEAD.format(type=type_name) + textwrap.indent(fields, " " * 6)


def _text(diag: Diagnostic) -> str:
    return f"{diag.message}\n{diag.hint or ''}"


# --- record problems: (type, fields, record) -> code, field, pointer, phrase ------------------

RUNTIME: list[Any] = [
    # 1. a required value that is present but unreadable is not "missing"
    pytest.param(DEAL, "id: id\ndisplayName: name\ncreatedAt: to_rfc3339(t)\n",
                 {"id": "a", "name": "n", "t": "2024-13-45"},
                 "field.required", "createdAt", "/t",
                 'to_rfc3339 gave null: "2024-13-45" is not a timestamp it can read',
                 id="unreadable-timestamp"),
    pytest.param(DEAL, "id: id\ndisplayName: name\ncreatedAt: to_rfc3339(t)\n",
                 {"id": "a", "name": "n", "t": "2024-13-45"},
                 "field.required", "createdAt", "/t", "see `mapper functions to_rfc3339`",
                 id="unreadable-timestamp-hint"),
    pytest.param(DEAL, "id: id\ndisplayName: name\ncreatedAt: to_rfc3339(t)\n",
                 {"id": "a", "name": "n"},
                 "field.required", "createdAt", "/t", "the expression gave null (missing)",
                 id="missing-timestamp"),
    pytest.param(DEAL, "id: id\ndisplayName: name\ncreatedAt: to_rfc3339(t)\n",
                 {"id": "a", "name": "n", "t": None},
                 "field.required", "createdAt", "/t", "(null in the record)",
                 id="null-timestamp"),
    pytest.param(DEAL, "id: id\ndisplayName: name\nlastUpdatedAt: to_epoch_ms(t)\n",
                 {"id": "a", "name": "n", "t": "soon"},
                 "field.required", "lastUpdatedAt", "/t", 'to_epoch_ms gave null: "soon"',
                 id="unreadable-epoch"),
    pytest.param(DEAL, "id: id\ndisplayName: name\ncreatedAt: to_rfc3339(a.t)\n",
                 {"id": "a", "name": "n", "a": None},
                 "field.required", "createdAt", "/a/t", "(null in the record)",
                 id="null-on-the-way"),
    pytest.param(DEAL, "id: id\ndisplayName: name.first\n",
                 {"id": "a", "name": {"last": "x"}},
                 "field.required", "displayName", "/name/first",
                 "the expression gave null (missing)", id="missing-plain-path"),
    pytest.param(DEAL, "id: id\ndisplayName: \"regex_extract(name, '(\\\\d+)')\"\n",
                 {"id": "a", "name": "abc"},
                 "field.required", "displayName", "/name", 'regex_extract gave null for "abc"',
                 id="other-function-null"),
    pytest.param(DEAL, "id: id\ndisplayName: to_str(name)\n",
                 {"id": "a", "name": {"first": "Dana"}},
                 "field.required", "displayName", "/name",
                 'to_str gave null: {"first": "Dana"} is not a string, number or boolean',
                 id="to-str-object"),
    pytest.param(DEAL, "id: id\ndisplayName: {expr: name, omit_empty: true}\n",
                 {"id": "a", "name": ""},
                 "field.required", "displayName", "/name",
                 'the expression gave "", which `omit_empty` treats as null', id="omit-empty"),
    pytest.param(DEAL, "id: id\ndisplayName: {coalesce: [name, title]}\n", {"id": "a"},
                 "field.required", "displayName", "/name", "(missing, null)",
                 id="coalesce-keeps-generic-wording"),
    pytest.param(DEAL, "id: upper(name)\ndisplayName: \"'d'\"\n", {"name": {"x": 1}},
                 "field.required", "id", "/name", "the expression failed",
                 id="failed-not-null"),
    # 2. type errors show values as JSON, shortened
    pytest.param(DEAL, "id: upper(name)\ndisplayName: \"'d'\"\n", {"name": {"x": [1, True, None]}},
                 "expr.type-error", "id", "/name",
                 'upper() expects a string or null, got an object: {"x": [1, true, null]}',
                 id="type-error-object"),
    pytest.param(DEAL, "id: id\ndisplayName: \"'d'\"\ndescription: abs(n)\n", {"id": "a", "n": True},
                 "expr.type-error", "description", "/n",
                 "abs() expects a number, got a boolean: true", id="type-error-boolean"),
    pytest.param(DEAL, "id: id\ndisplayName: \"'d'\"\ndescription: abs(n)\n", {"id": "a", "n": "5"},
                 "expr.type-error", "description", "/n", 'got a string: "5"',
                 id="type-error-numeric-string"),
    pytest.param(DEAL, "id: id\ndisplayName: \"'d'\"\ndescription: abs(n)\n", {"id": "a"},
                 "expr.type-error", "description", "/n", "abs() expects a number, got null",
                 id="type-error-null"),
    pytest.param(DEAL, "id: id\ndisplayName: \"'d'\"\ndescription: abs(n)\n",
                 {"id": "a", "n": "x" * 500},
                 "expr.type-error", "description", "/n", '…" (500 characters)',
                 id="type-error-long-value"),
    pytest.param(DEAL, "id: id\ndisplayName: \"'d'\"\ndescription: \"join(', ', tags)\"\n",
                 {"id": "a", "tags": ["x", 5]},
                 "expr.type-error", "description", "/tags",
                 "join() expects an array of strings, got an array holding a number: 5",
                 id="type-error-array-element"),
    # 3. a bare type name inside a record's EntityKey
    pytest.param(DEAL, "id: id\ndisplayName: name\nparentKey: \"entity_key('commit', id)\"\n",
                 {"id": "a", "name": "n"}, "object.entity-key", "parentKey", "",
                 "did you mean 'atlassian:commit'?", id="bare-type-in-entity-key"),
    # 4. a block built from one expression: the model reports the key it lacks
    pytest.param(PR, PR_HEAD + "atlassian:pull-request: pr\n",
                 {"id": "a", "pr": {"displayId": "#1", "sourceBranch": "a",
                                    "destinationBranch": "b", "reviewers": []}},
                 "object.missing", "atlassian:pull-request", "/pr/status",
                 "missing required field 'status'", id="block-from-one-expression"),
]


@pytest.mark.parametrize(
    ("type_name", "fields", "record", "code", "field", "pointer", "phrase"), RUNTIME
)
def test_record_diagnostic_wording(type_name: str, fields: str, record: dict[str, Any],
                                   code: str, field: str, pointer: str, phrase: str) -> None:
    plan, diags = compile_text(mapping(type_name, fields))
    assert plan is not None, "\n".join(map(str, diags))
    result = apply(plan, record)
    found = [d for d in result.diagnostics if d.code == code and d.loc[-1] == field]
    assert found, "\n".join(map(str, result.diagnostics))
    assert found[0].record is not None and found[0].record.pointer == pointer
    assert phrase in _text(found[0]), str(found[0])
    assert "None" not in found[0].message and "True" not in found[0].message


# --- mapping problems: (type, fields) -> code, loc, line:col, phrase --------------------------

COMPILE: list[Any] = [
    # 3. a bare type name suggests the prefixed one; no close match points at the list
    pytest.param("commit", "id: id\n", "object.unknown-type", "objects[0].type", None,
                 "did you mean 'atlassian:commit'?", id="bare-type-name"),
    pytest.param("atlassian:xyzzy", "id: id\n", "object.unknown-type", "objects[0].type", None,
                 "see `mapper types` for the list", id="unknown-type-no-match"),
    pytest.param("atlassian:comit", "id: id\n", "object.unknown-type", "objects[0].type", None,
                 "did you mean 'atlassian:commit'?", id="misspelt-type"),
    # 4. a required key of the type block that the mapping never writes
    pytest.param(PR, PR_HEAD + PR_BLOCK, "object.unmapped-required",
                 "objects[0].fields.atlassian:pull-request", (13, 7),
                 "atlassian:pull-request requires 'status', which is not mapped",
                 id="block-without-status"),
    pytest.param(DEAL, "id: id\ndisplayName: name\n"
                 "permissions: [{accessControls: [{principals: [{id: \"'u'\"}]}]}]\n",
                 "object.unmapped-required",
                 "objects[0].fields.permissions[0].accessControls[0].principals[0]", None,
                 "requires 'type'", id="nested-literal-without-type"),
    # 5. a misspelt field option where the type takes a scalar is not an object literal
    pytest.param(DEAL, "id: {exp: id}\ndisplayName: name\n", "spec.unknown-key",
                 "objects[0].fields.id.exp", (10, 12), "did you mean 'expr'?",
                 id="exp-for-expr"),
    pytest.param(DEAL, "id: {exp: id}\ndisplayName: name\n", "spec.unknown-key",
                 "objects[0].fields.id.exp", None, "'id' holds a string, not an object",
                 id="exp-for-expr-says-why"),
    pytest.param(DEAL, "id: id\ndisplayName: {cosnt: Deal}\n", "spec.unknown-key",
                 "objects[0].fields.displayName.cosnt", (11, 21), "did you mean 'const'?",
                 id="cosnt-for-const"),
    pytest.param(DEAL, "id: id\ndisplayName: {Expr: name, default: x}\n", "spec.unknown-key",
                 "objects[0].fields.displayName.Expr", None, "did you mean 'expr'?",
                 id="capitalised-expr"),
    pytest.param(DEAL, "id: id\ndisplayName: {default: Untitled}\n", "spec.missing-key",
                 "objects[0].fields.displayName", (11, 7), "needs `expr`, `use` or `coalesce`",
                 id="policy-without-source"),
    pytest.param(DEAL, "id: id\ndisplayName: name\nowners: [{externalId: a}, {exp: b}]\n",
                 "object.unknown-field", "objects[0].fields.owners.exp", None,
                 "did you mean 'expr'?", id="object-typed-field-keeps-unknown-field"),
    pytest.param(DEAL, "id: id\ndisplayName: {expr: name, defualt: x}\n", "spec.unknown-key",
                 "objects[0].fields.displayName.defualt", (11, 33), "did you mean 'default'?",
                 id="misspelt-policy-key"),
]


@pytest.mark.parametrize(("type_name", "fields", "code", "loc", "line_col", "phrase"), COMPILE)
def test_mapping_diagnostic_wording(type_name: str, fields: str, code: str, loc: str,
                                    line_col: tuple[int, int] | None, phrase: str) -> None:
    _plan, diags = compile_text(mapping(type_name, fields))
    found = [d for d in diags if d.code == code and format_loc(d.loc) == loc]
    assert found, "\n".join(map(str, diags))
    assert phrase in _text(found[0]), str(found[0])
    if line_col is not None:
        assert found[0].span is not None
        assert (found[0].span.line, found[0].span.col) == line_col


LEGIT = [  # object literals where the model takes an object: no new problems
    pytest.param(DEAL, "id: id\ndisplayName: name\nthumbnail: {externalUrl: thumb}\n",
                 id="thumbnail"),
    pytest.param(DEAL, "id: id\ndisplayName: name\n"
                 "containerKey: {type: \"'atlassian:space'\", value: {exp: space}}\n",
                 id="entity-key-value-is-free-form"),
    pytest.param(PR, PR_HEAD + PR_BLOCK + "  status: \"'OPEN'\"\n", id="complete-block"),
    pytest.param(DEAL, "id: id\ndisplayName: name\ncreatedBy: {externalId: user}\n",
                 id="user-ref"),
]


@pytest.mark.parametrize(("type_name", "fields"), LEGIT)
def test_object_literals_still_compile(type_name: str, fields: str) -> None:
    plan, diags = compile_text(mapping(type_name, fields))
    assert plan is not None and not [d for d in diags if d.is_error], "\n".join(map(str, diags))


# --- the command line: unknown type names ---------------------------------------------------

CLI = [
    pytest.param(["types", "commit"], "unknown type 'commit'; did you mean 'atlassian:commit'?",
                 id="types-bare-name"),
    pytest.param(["types", "xyzzy"], "unknown type 'xyzzy'; see `mapper types` for the list",
                 id="types-no-match"),
    pytest.param(["init", "{sample}", "--type", "commit"], "did you mean 'atlassian:commit'?",
                 id="init-bare-name"),
    pytest.param(["init", "{sample}", "--type", "xyzzy"], "see `mapper types` for the list",
                 id="init-no-match"),
]


@pytest.mark.parametrize(("args", "phrase"), CLI)
def test_cli_unknown_type_wording(args: list[str], phrase: str, tmp_path: Path) -> None:
    sample = tmp_path / "sample.json"
    sample.write_text(json.dumps({"id": 1}), encoding="utf-8")
    result = CliRunner().invoke(app, [a.format(sample=sample) for a in args])
    assert result.exit_code == 2
    assert phrase in result.stderr


def test_a_huge_key_is_shown_short() -> None:
    """A 100,000-character field name is named by its start and its length, in the location
    and in the message (found by the second outside attack: 200 KB of stderr)."""
    from mapper.api import compile_text

    key = "k" * 100_000
    fields = f"      ? {key}\n      : id\n"  # a YAML implicit key is at most 1024 characters
    text = f"version: 1\nobjects:\n  - type: atlassian:repository\n    fields:\n{fields}"
    _plan, diags = compile_text(text)
    (unknown,) = [d for d in diags if d.code == "object.unknown-field"]
    shown = str(unknown)
    assert len(shown) < 400 and "(100000 characters)" in shown
