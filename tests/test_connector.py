"""Connector files: shape errors and lint findings, each checked by code and location."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from mapper.connector import check_connector
from mapper.errors import Diagnostic

REPOS = """\
version: 1
objects:
  - type: atlassian:repository
    fields:
      id: id
      displayName: name
      url: url
      createdAt: to_rfc3339(created)
      lastUpdatedAt: to_rfc3339(updated)
      permissions: permissions(private && users(owner) || [principal('ATLASSIAN_WORKSPACE')])
"""
MAPPINGS = {
    "repos.yaml": REPOS,
    "public.yaml": REPOS.replace(
        "permissions(private && users(owner) || [principal('ATLASSIAN_WORKSPACE')])",
        "permissions([principal('ATLASSIAN_WORKSPACE')])"),
    "teams.yaml": REPOS.replace("users(owner)", "groups(team)"),
    "raw.yaml": REPOS.replace(
        "permissions(private && users(owner) || [principal('ATLASSIAN_WORKSPACE')])", "acl"),
    "repo-webhook.yaml": REPOS,
    "pages.yaml": REPOS.replace(
        "permissions(private && users(owner) || [principal('ATLASSIAN_WORKSPACE')])",
        "permissions([principal('CONTAINER')])\n      containerKey: entity_key('atlassian:space', space)"),
    "literal.yaml": REPOS.replace(
        "permissions(private && users(owner) || [principal('ATLASSIAN_WORKSPACE')])",
        "{const: [{accessControls: [{principals: [{type: ATLASSIAN_WORKSPACE}]}]}]}"),
    "written.yaml": REPOS.replace(
        "permissions(private && users(owner) || [principal('ATLASSIAN_WORKSPACE')])",
        "[{accessControls: [{principals: [{type: {const: EVERYONE}}]}]}]"),
    "users.yaml": (
        "version: 1\nusers:\n  - fields:\n      externalId: login\n      displayName: name\n"
        "      emails: \"[{value: email, primary: `true`}]\"\n"),
    "groups.yaml": (
        "version: 1\ngroups:\n  - fields:\n      externalId: slug\n"
        "      members: \"members[].{externalId: login, type: 'USER'}\"\n"),
    "broken-users.yaml": "version: 1\nusers:\n  - fields: {externalId: 'login ||'}\n",
}
BASE = """\
version: 1
key: acme
name: Acme
source: Acme Git
mappings: [repos.yaml]
objectTypes: [atlassian:repository]
capabilities: {replicatesPermissions: false, syncFidelity: upsert, supportsIncrementalSync: false}
sync: {schedule: {every: 1, unit: hours}}
scopes: {atlassian:repository: every repository}
controls: {scoping: a list of projects, permissions: none, pausing: disconnect}
"""


def write_connector(tmp_path: Path, text: str) -> Path:
    for name, mapping in MAPPINGS.items():
        (tmp_path / name).write_text(mapping, encoding="utf-8")
    path = tmp_path / "connector.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def findings(tmp_path: Path, text: str) -> list[Diagnostic]:
    _connector, diags = check_connector(write_connector(tmp_path, text))
    return diags


def with_line(line: str) -> str:
    """BASE with the top-level line starting like `line` replaced (or added)."""
    key = line.split(":", 1)[0] + ":"
    kept = [old for old in BASE.splitlines() if not old.startswith(key)]
    return "\n".join([*kept, line]) + "\n"


def test_the_base_connector_is_clean(tmp_path: Path) -> None:
    assert findings(tmp_path, BASE) == []


# (title, connector text, expected (code, loc) pairs, in any order; warnings included)
CASES = [
    ("capability keys outside the three accepted",
     with_line("capabilities: {replicatePermissions: true, syncFidelity: upsert}"),
     [("connector.unknown-capability", ("capabilities", "replicatePermissions"))]),
    ("a shape error: unknown key",
     with_line("mapings: [repos.yaml]"),
     [("connector.unknown-key", ("mapings",))]),
    ("a shape error: sync fidelity outside the enum",
     with_line("capabilities: {syncFidelity: mirrored}"),
     [("connector.invalid-value", ("capabilities", "syncFidelity"))]),
    ("replicatesPermissions while a rule grants only ATLASSIAN_WORKSPACE",
     with_line("capabilities: {replicatesPermissions: true, syncFidelity: upsert}")
     .replace("[repos.yaml]", "[public.yaml]"),
     [("connector.permissions-not-replicated", ("capabilities", "replicatesPermissions"))]),
    ("... also when the permissions are a literal",
     with_line("capabilities: {replicatesPermissions: true}").replace("[repos.yaml]", "[literal.yaml]"),
     [("connector.permissions-not-replicated", ("capabilities", "replicatesPermissions"))]),
    ("... or written as maps in the mapping",
     with_line("capabilities: {replicatesPermissions: true}").replace("[repos.yaml]", "[written.yaml]"),
     [("connector.permissions-not-replicated", ("capabilities", "replicatesPermissions"))]),
    ("replicatesPermissions while USER principals have no users rules",
     with_line("capabilities: {replicatesPermissions: true, syncFidelity: upsert}"),
     [("connector.missing-identity-rules", ("capabilities", "replicatesPermissions"))]),
    ("... located at an empty `users:` list when there is one",
     with_line("capabilities: {replicatesPermissions: true, syncFidelity: upsert}") + "users: []\n",
     [("connector.missing-identity-rules", ("users",))]),
    ("replicatesPermissions while GROUP principals have no groups rules",
     with_line("capabilities: {replicatesPermissions: true, syncFidelity: upsert}")
     .replace("[repos.yaml]", "[teams.yaml]") + "users: [users.yaml]\n",
     [("connector.missing-identity-rules", ("capabilities", "replicatesPermissions"))]),
    ("users rules that do not exist",
     BASE + "users: [users.yaml, nobody.yaml]\n",
     [("connector.missing-file", ("users", 1))]),
    ("users and groups files with their rules are clean",
     BASE + "users: [users.yaml]\ngroups: [groups.yaml]\n",
     []),
    ("an object mapping listed as users rules",
     BASE + "users: [users.yaml, repos.yaml]\n",
     [("connector.not-identity-rules", ("users", 1))]),
    ("users rules listed as groups rules",
     BASE + "groups: [users.yaml]\n",
     [("connector.not-identity-rules", ("groups", 0))]),
    ("users rules with errors: reported in the file, and located in the connector",
     BASE + "users: [broken-users.yaml]\n",
     [("expr.syntax", ("users", 0, "fields", "externalId")),
      ("object.unmapped-required", ("users", 0, "fields")),
      ("connector.invalid-mapping", ("users", 0))]),
    ("replicatesPermissions with permissions read from the data: a warning",
     with_line("capabilities: {replicatesPermissions: true, syncFidelity: upsert}")
     .replace("[repos.yaml]", "[raw.yaml]"),
     [("connector.permissions-unchecked", ("capabilities", "replicatesPermissions"))]),
    ("mirror without a state store",
     with_line("capabilities: {syncFidelity: mirror}"),
     [("connector.mirror-without-state", ("capabilities", "syncFidelity"))]),
    ("mirror with rules that can never see deletions",
     with_line("capabilities: {syncFidelity: mirror}")
     .replace("sync: {", "sync: {state: s.json, ")
     .replace("[repos.yaml]", "[repos.yaml, {file: repo-webhook.yaml, feed: events}]"),
     [("connector.mirror-blind-rules", ("mappings", 1))]),
    ("a webhook mapping declared a listing: a warning",
     BASE.replace("[repos.yaml]", "[repos.yaml, repo-webhook.yaml]"),
     [("connector.feed-looks-like-events", ("mappings", 1))]),
    ("incremental sync without a cursor (nor a state)",
     with_line("capabilities: {supportsIncrementalSync: true}"),
     [("connector.incremental-without-cursor", ("capabilities", "supportsIncrementalSync")),
      ("connector.incremental-without-state", ("capabilities", "supportsIncrementalSync"))]),
    ("a cursor that is not an expression",
     with_line("capabilities: {supportsIncrementalSync: true}")
     .replace("sync: {", "sync: {state: s.json, cursor: 'updated_at ||', "),
     [("expr.syntax", ("sync", "cursor"))]),
    ("a documented cursor that no mapping moves: a warning",
     with_line("capabilities: {supportsIncrementalSync: true}")
     .replace("sync: {", "sync: {state: s.json, cursor: created_at, "),
     [("connector.cursor-not-in-mapping", ("sync", "cursor"))]),
    ("... not when it is what a mapping's lastUpdatedAt comes from",
     with_line("capabilities: {supportsIncrementalSync: true}")
     .replace("sync: {", "sync: {state: s.json, cursor: updated, "), []),
    ("sync mode other than the declared fidelity",
     BASE.replace("sync: {", "sync: {mode: append, "),
     [("connector.mode-mismatch", ("sync", "mode"))]),
    ("a type declared but produced by no mapping",
     with_line("objectTypes: [atlassian:repository, atlassian:document]")
     .replace("scopes: {", "scopes: {atlassian:document: docs, "),
     [("connector.unproduced-type", ("objectTypes", 1))]),
    ("a type produced but not declared",
     with_line("objectTypes: []").replace("scopes: {atlassian:repository: every repository}",
                                          "scopes: {}"),
     [("connector.undeclared-type", ("mappings", 0))]),
    ("a type outside the supported set",
     with_line("objectTypes: [atlassian:repository, atlassian:repositori]")
     .replace("scopes: {", "scopes: {atlassian:repositori: x, "),
     [("connector.unsupported-type", ("objectTypes", 1))]),
    ("a scope for a type not declared",
     BASE.replace("scopes: {", "scopes: {atlassian:commit: x, "),
     [("connector.unknown-scope", ("scopes", "atlassian:commit"))]),
    ("documentation topics left empty",
     with_line("controls: {scoping: '  '}").replace("source: Acme Git\n", "")
     .replace("sync: {schedule: {every: 1, unit: hours}}", "sync: {}")
     .replace("scopes: {atlassian:repository: every repository}", "scopes: {}"),
     [("connector.empty-topic", ("source",)), ("connector.empty-topic", ("sync", "schedule")),
      ("connector.empty-topic", ("scopes",)), ("connector.empty-topic", ("controls", "scoping")),
      ("connector.empty-topic", ("controls", "permissions")),
      ("connector.empty-topic", ("controls", "pausing"))]),
    ("no capabilities at all: a warning",
     "\n".join(x for x in BASE.splitlines() if not x.startswith("capabilities")) + "\n",
     [("connector.no-capabilities", ())]),
    ("replicatesPermissions with CONTAINER grants whose container is not ingested: a warning",
     with_line("capabilities: {replicatesPermissions: true}").replace("[repos.yaml]", "[pages.yaml]"),
     [("connector.container-not-ingested", ("mappings", 0))]),
    ("a mapping that does not exist",
     BASE.replace("[repos.yaml]", "[repos.yaml, gone.yaml]"),
     [("connector.missing-mapping", ("mappings", 1))]),
]


@pytest.mark.parametrize(("title", "text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_finding(tmp_path: Path, title: str, text: str,
                 expected: list[tuple[str, tuple[str | int, ...]]]) -> None:
    found = findings(tmp_path, text)
    assert sorted((d.code, d.loc) for d in found) == sorted(expected), "\n".join(map(str, found))
    assert all(d.span is not None for d in found)
    assert all(d.span.path.endswith("connector.yaml") for d in found  # type: ignore[union-attr]
               if d.code.startswith("connector."))


def test_findings_are_located_at_the_claim(tmp_path: Path) -> None:
    text = with_line("capabilities:\n  replicatesPermissions: true\n  syncFidelity: mirror")
    found = {d.code: d for d in findings(tmp_path, text)}
    claim = found["connector.missing-identity-rules"]
    assert claim.span is not None and (claim.span.line, claim.span.col) == (11, 26)
    mirror = found["connector.mirror-without-state"]
    assert mirror.span is not None and (mirror.span.line, mirror.span.col) == (12, 17)


def test_unknown_capability_gets_did_you_mean(tmp_path: Path) -> None:
    (diag,) = findings(tmp_path, with_line("capabilities: {supportsIncrementalSynch: false}"))
    assert diag.hint == "did you mean 'supportsIncrementalSync'?"
    assert diag.span is not None and diag.span.line == 10


def test_workspace_only_hint_names_the_rule(tmp_path: Path) -> None:
    text = with_line("capabilities: {replicatesPermissions: true}").replace(
        "[repos.yaml]", "[public.yaml]")
    (diag,) = findings(tmp_path, text)
    assert "public.yaml:10:20" in (diag.hint or "")


def test_mapping_errors_are_reported_in_the_mapping(tmp_path: Path) -> None:
    path = write_connector(tmp_path, BASE)
    (tmp_path / "repos.yaml").write_text(REPOS.replace("to_rfc3339(created)", "to_rfc(created)"))
    connector, diags = check_connector(path)
    assert connector is not None
    assert [(d.code, Path(d.span.path).name) for d in diags if d.span] == [
        ("expr.unknown-function", "repos.yaml"), ("connector.invalid-mapping", "connector.yaml")]


def test_yaml_errors_and_empty_files(tmp_path: Path) -> None:
    assert [d.code for d in findings(tmp_path, "key: [unclosed\n")] == ["yaml.syntax"]
    assert [d.code for d in findings(tmp_path, "# nothing\n")] == ["connector.empty"]


def test_every_connector_code_is_documented_in_the_readme() -> None:
    import re

    root = Path(__file__).resolve().parents[1]
    source = "".join(p.read_text() for p in (root / "mapper" / "connector").glob("*.py"))
    codes = set(re.findall(r'"(connector\.[a-z-]+)"', source)) - {"connector.unknown-key"}
    readme = (root / "README.md").read_text()
    assert codes and all(f"`{code}`" in readme for code in codes), sorted(
        c for c in codes if f"`{c}`" not in readme)


def test_every_check_says_what_it_checks() -> None:
    from mapper.connector.lint import CHECKS

    assert all(check.__doc__ and check.__name__.startswith("check_") for check in CHECKS)
