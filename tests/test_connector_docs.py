"""Connector docs, manifest and CLI: derived from the mappings, current for bundled connectors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jmespath
import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from mapper.api import compile_path
from mapper.cli import app
from mapper.connector import check_connector, connector_docs, connector_manifest, load_checked
from mapper.connector.document import Code, Document, Para, Section, Table, to_html, to_markdown
from mapper.connector.spec import json_schema
from mapper.connector.unparse import unparse
from tests.test_connector import BASE, REPOS, with_line, write_connector

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = sorted((ROOT / "mappings").glob("*/connector.yaml"))
OUTPUTS = {"docs.md": lambda c: connector_docs(c), "docs.html": lambda c: connector_docs(c, fmt="html"),
           "manifest.yml": connector_manifest}


def docs_of(tmp_path: Path, text: str, fmt: str = "markdown") -> str:
    connector, _warnings = load_checked(write_connector(tmp_path, text))
    return connector_docs(connector, fmt=fmt)


def permissions_section(markdown: str) -> str:
    return markdown.split("## 2. Permissions handling")[1].split("## 3.")[0]


# --- derived from the mappings -------------------------------------------------------------

def test_changing_a_mappings_permissions_changes_the_permissions_section(tmp_path: Path) -> None:
    before = permissions_section(docs_of(tmp_path, BASE))
    assert "users whose ids come from `owner`" in before
    assert "everyone in the Atlassian workspace" in before
    (tmp_path / "repos.yaml").write_text(REPOS.replace("users(owner)", "groups(org.teams[].slug)"))
    connector, _ = load_checked(tmp_path / "connector.yaml")
    after = permissions_section(connector_docs(connector))
    assert "groups whose ids come from `org.teams[].slug`" in after
    assert "users whose ids" not in after


def test_container_permissions_name_the_container(tmp_path: Path) -> None:
    mapping = REPOS.replace(
        "permissions(private && users(owner) || [principal('ATLASSIAN_WORKSPACE')])",
        "permissions([principal('CONTAINER')])").replace(
        "      url: url\n",
        "      url: url\n      containerKey: entity_key('atlassian:space', space)\n")
    write_connector(tmp_path, BASE)
    (tmp_path / "repos.yaml").write_text(mapping)
    connector, _ = load_checked(tmp_path / "connector.yaml")
    section = permissions_section(connector_docs(connector))
    assert "everyone who can see its container (`atlassian:space`)" in section


def test_not_replicating_says_workspace_wide(tmp_path: Path) -> None:
    section = permissions_section(docs_of(tmp_path, BASE))
    assert "**Permissions are not replicated.** All ingested data is visible to every user in the Atlassian workspace" in section


def test_replicating_names_the_identity_rules(tmp_path: Path) -> None:
    text = with_line("capabilities: {replicatesPermissions: true, syncFidelity: upsert}") + "users: [users.yaml]\n"
    section = permissions_section(docs_of(tmp_path, text))
    assert "not replicated" not in section
    assert "replicates source permissions" in section and "`users.yaml`" in section


def test_every_field_and_its_source_expression_is_listed(tmp_path: Path) -> None:
    scope = docs_of(tmp_path, BASE).split("## 1. Data scope")[1].split("## 2.")[0]
    for field, source in [("id", "id"), ("createdAt", "to_rfc3339(created)"),
                          ("lastUpdatedAt", "to_rfc3339(updated)"), ("url", "url")]:
        assert f"| `{field}` | `{source}` | yes |" in scope
    assert "| `displayName` | `name` | no |" in scope
    assert "`updateSequenceNumber` | epoch milliseconds of `lastUpdatedAt`" in scope


def test_a_connector_that_does_not_mirror_says_stale_data_stays(tmp_path: Path) -> None:
    text = docs_of(tmp_path, BASE)
    head, deletion = text.split("## 1.")[0], text.split("## 4. Data deletion")[1]
    for part in (head, deletion):  # prominently: at the top and in the deletion topic
        assert "> **Deletions are not synced.**" in part
        assert "disconnect the connector" in part
    assert "onConnectionChange DELETED signal stops ingestion" in deletion
    assert "Atlassian removes all data ingested by that connection" in deletion


def test_a_mirroring_connector_says_deletions_are_synced(tmp_path: Path) -> None:
    text = docs_of(tmp_path, with_line("capabilities: {syncFidelity: mirror}").replace(
        "sync: {", "sync: {state: state.json, "))
    assert "Deletions are not synced" not in text
    assert "Deletions are synced (mirror)" in text and "`state.json`" in text
    assert "onConnectionChange DELETED signal stops ingestion" in text


@pytest.mark.parametrize(("incremental", "expected"), [
    (False, "Each sync is a full re-ingestion"),
    (True, "A run sends only the records whose `updated` is newer than the cursor"),
])
def test_sync_behaviour_follows_the_incremental_setting(tmp_path: Path, incremental: bool, expected: str) -> None:
    text = BASE if not incremental else with_line(
        "capabilities: {syncFidelity: upsert, supportsIncrementalSync: true}").replace(
        "sync: {", "sync: {state: s.json, cursor: updated, ")
    assert expected in docs_of(tmp_path, text).split("## 3. Sync behaviour")[1]


def test_html_escapes_expressions(tmp_path: Path) -> None:
    html = docs_of(tmp_path, BASE, fmt="html")
    assert "<code>permissions(private &amp;&amp; users(owner) || [principal(&#x27;ATLASSIAN_WORKSPACE&#x27;)])</code>" in html
    assert html.startswith("<!DOCTYPE html>") and html.count("<section>") == html.count("</section>")


def test_markdown_code_spans_and_table_pipes() -> None:
    doc = Document("T", (Section("S", (Table(("a",), (((Code("a || `1`"),),),)),
                                       Para(("x_y ", Code("`b`"))))),))
    markdown = to_markdown(doc)
    assert "| `` a \\|\\| `1` `` |" in markdown and "x\\_y `` `b` ``" in markdown
    assert "<code>`b`</code>" in to_html(doc)


def test_docs_refuse_a_connector_with_errors(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["docs", str(write_connector(tmp_path, with_line("capabilities: {syncFidelity: mirror}")))])
    assert result.exit_code == 1
    assert "connector.mirror-without-state" in result.output


# --- manifest --------------------------------------------------------------------------------

def test_manifest_module_and_scopes(tmp_path: Path) -> None:
    connector, _ = load_checked(write_connector(tmp_path, BASE))
    data = yaml.safe_load(connector_manifest(connector))
    (module,) = data["modules"]["graph:connector"]
    assert module["key"] == "acme" and module["name"] == "Acme"
    assert module["objectTypes"] == ["atlassian:repository"]
    assert module["capabilities"] == {"replicatesPermissions": False, "syncFidelity": "upsert",
                                      "supportsIncrementalSync": False}
    assert set(module["icons"]) == {"light", "dark"}
    assert all("REPLACE-ME" in v for v in module["icons"].values())
    assert data["permissions"]["scopes"] == ["read:object:jira", "write:object:jira"]


def test_manifest_asks_for_delete_only_when_mirroring(tmp_path: Path) -> None:
    text = with_line("capabilities: {syncFidelity: mirror}").replace("sync: {", "sync: {state: s.json, ")
    connector, _ = load_checked(write_connector(tmp_path, text))
    scopes = yaml.safe_load(connector_manifest(connector))["permissions"]["scopes"]
    assert scopes == ["read:object:jira", "write:object:jira", "delete:object:jira"]


# --- bundled connectors ----------------------------------------------------------------------

def test_at_least_four_bundled_connectors_one_not_mirroring() -> None:
    assert len(BUNDLED) >= 4
    fidelities = [yaml.safe_load(p.read_text())["capabilities"]["syncFidelity"] for p in BUNDLED]
    assert "mirror" in fidelities and any(f != "mirror" for f in fidelities)


@pytest.mark.parametrize("path", BUNDLED, ids=[p.parent.name for p in BUNDLED])
def test_bundled_connector_is_clean(path: Path) -> None:
    _connector, diags = check_connector(path)
    assert diags == [], "\n".join(map(str, diags))


@pytest.mark.parametrize("path", BUNDLED, ids=[p.parent.name for p in BUNDLED])
def test_bundled_outputs_are_current(path: Path) -> None:
    connector, _ = load_checked(path)
    for name, render in OUTPUTS.items():
        committed = path.parent / "connector" / name
        assert committed.read_text(encoding="utf-8") == render(connector), (
            f"{committed} is stale: run `mapper docs` / `mapper manifest` (see README)")


@pytest.mark.parametrize("path", BUNDLED, ids=[p.parent.name for p in BUNDLED])
def test_bundled_connector_matches_published_schema(path: Path) -> None:
    jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), json_schema())


def test_published_schema_is_current() -> None:
    exported = json.loads((ROOT / "connector.schema.json").read_text(encoding="utf-8"))
    assert exported == json_schema(), "run `mapper connector-schema -o connector.schema.json`"


def iter_exprs(node: Any) -> Any:
    yield from node.exprs
    for _key, child in node.children:
        yield from iter_exprs(child)


def test_unparse_round_trips_every_bundled_expression() -> None:
    for path in BUNDLED:
        connector, _ = load_checked(path)
        for _mapping, plan in connector.plans:
            for rule in plan.rules:
                for expr in iter_exprs(rule.fields):
                    text = unparse(expr.ast)
                    assert jmespath.compile(text).parsed == expr.ast, (expr.text, text)


# --- CLI -------------------------------------------------------------------------------------

def test_cli_docs_manifest_and_validate(tmp_path: Path) -> None:
    runner, path = CliRunner(), ROOT / "mappings" / "google-drive" / "connector.yaml"
    docs = runner.invoke(app, ["docs", str(path)])
    assert docs.exit_code == 0 and docs.stdout.startswith("# Google Drive connector")
    html = runner.invoke(app, ["docs", str(path), "--format", "html", "-o", str(tmp_path / "d.html")])
    assert html.exit_code == 0 and (tmp_path / "d.html").read_text().startswith("<!DOCTYPE html>")
    manifest = runner.invoke(app, ["manifest", str(path)])
    assert manifest.exit_code == 0 and "graph:connector:" in manifest.stdout
    valid = runner.invoke(app, ["validate", str(path), str(ROOT / "mappings/google-drive/files-v3.yaml")])
    assert valid.exit_code == 0 and "connector, 1 mapping(s)" in valid.output
    assert runner.invoke(app, ["docs", str(tmp_path / "none.yaml")]).exit_code == 4


# (command, file of the connector's folder named by -o): the connector file, a mapping it
# lists, a file that mapping includes; each is read, so -o naming it is refused, unchanged
OVERWRITES = [(command, name) for command in ("docs", "manifest")
              for name in ("connector.yaml", "files-v3.yaml", "common.yaml")]


@pytest.mark.parametrize(("command", "name"), OVERWRITES)
def test_cli_output_never_replaces_a_file_the_connector_reads(tmp_path: Path, command: str, name: str) -> None:
    for path in (ROOT / "mappings" / "google-drive").glob("*.yaml"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    before = (tmp_path / name).read_bytes()
    result = CliRunner().invoke(app, [command, str(tmp_path / "connector.yaml"), "-o", str(tmp_path / name)])
    assert result.exit_code == 2, result.output
    assert f"would overwrite {tmp_path / name}" in result.output
    assert (tmp_path / name).read_bytes() == before


def test_cli_validate_reports_lint_findings(tmp_path: Path) -> None:
    path = write_connector(tmp_path, with_line("objectTypes: [atlassian:repository, atlassian:comit]"))
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert "connector.yaml:10:37: objectTypes[1]: connector.unsupported-type" in result.output
    assert "did you mean 'atlassian:commit'?" in result.output


@pytest.mark.parametrize("fmt", ["text", "json", "github", "sarif"])
def test_cli_validate_counts_a_connectors_problems_in_every_format(tmp_path: Path, fmt: str) -> None:
    path = write_connector(tmp_path, with_line("objectTypes: [atlassian:repository, atlassian:comit]"))
    result = CliRunner().invoke(app, ["validate", str(path), "--format", fmt])
    assert result.exit_code == 1
    codes = ["connector.empty-topic", "connector.unsupported-type"]  # (the fixture's own, and ours)
    if fmt == "text":
        assert "2 errors, 0 warnings" in result.output
    elif fmt == "json":
        found = json.loads(result.stdout)
        assert found["errors"] == 2 and sorted(d["code"] for d in found["diagnostics"]) == codes
    elif fmt == "github":
        lines = result.stdout.splitlines()
        assert len(lines) == 2 and all(line.startswith("::error ") for line in lines)
    else:
        (run,) = json.loads(result.stdout)["runs"]
        assert sorted(r["ruleId"] for r in run["results"]) == codes


def test_bundled_mappings_still_compile_alone() -> None:
    for path in BUNDLED:
        for entry in yaml.safe_load(path.read_text())["mappings"]:
            name = entry if isinstance(entry, str) else entry["file"]
            assert compile_path(path.parent / name)[0] is not None


UNPARSE = ["a.b[0].c", "a[*].b", "a[].b", "[?type == 'user' && !deleted].id", "record().x.y",
           "[user.login, assignees[].login][]", "(a || b).c", "a && (b || c)", "a || (b || c)",
           "x == `false` && y", "v[?t == 'a' || t == 'b'].[title, text][][].plain", "a[1:2].b",
           "a[::2]", "a.*.b", "a | [0]", "{x: a, \"y-z\": b}", "sort_by(a, &b)", "!(a || b)",
           "'it\\'s'", "'^https://x\\.com/'", "`{\"a\": 1}`", "[*].a", "@[0]"]


@pytest.mark.parametrize("text", UNPARSE)
def test_unparse_round_trips(text: str) -> None:
    tree = jmespath.compile(text).parsed
    assert jmespath.compile(unparse(tree)).parsed == tree


@pytest.mark.parametrize(("mode", "expected"), [
    ("append", "Updates do not propagate"),
    ("upsert", "Updates propagate last-write-wins"),
    ("mirror", "Updates propagate last-write-wins"),
])
def test_sync_behaviour_follows_the_fidelity(tmp_path: Path, mode: str, expected: str) -> None:
    text = with_line(f"capabilities: {{syncFidelity: {mode}}}").replace("sync: {", "sync: {state: s.json, ")
    sync = docs_of(tmp_path, text).split("## 3. Sync behaviour")[1].split("## 4.")[0]
    assert f"Sync fidelity: {mode} (" in sync and expected in sync


def test_readme_connector_example_matches_the_schema() -> None:
    import re

    blocks = re.findall(r"```yaml\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    (example,) = [b for b in blocks if "\nkey: google-drive" in b]
    jsonschema.validate(yaml.safe_load(example), json_schema())
