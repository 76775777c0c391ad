"""Bundled mappings take what their payloads do not hold as required parameters (issue 14): a
run without them is a usage error naming each one, and every job and README command that runs
them gives values."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from mapper.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")

# mapping -> (a sample it reads, the parameters it requires)
PARAMETERISED = {
    "slack/channels.yaml": ("slack/export/channels.json", ["workspace_url"]),
    "slack/messages.yaml": ("slack/export/general", ["workspace_url"]),
    "slack/events-message.yaml": ("slack/events/message-event.json", ["workspace_url"]),
    "bitbucket-server/commits.yaml": (
        "bitbucket-server/commits.json", ["base_url", "project_key", "repo_slug", "repository_id"]
    ),
    "bitbucket-server/project-access.yaml": (
        "bitbucket-server/project-permissions-users.json", ["project_key"]
    ),
    "bitbucket-server/group-members.yaml": (
        "bitbucket-server/group-platform-devs-members.json", ["group_name"]
    ),
    "google-drive/group-members.yaml": (
        "google-drive/directory-group-members.json", ["group_email"]
    ),
    "github/collaborators.yaml": ("github/collaborators-infra-terraform.json", ["repo"]),
    "gitlab/members.yaml": ("gitlab/project-4211-members-all.json", ["project"]),
    "confluence/group-members.yaml": ("confluence/group-engineering-members.json", ["group_id"]),
}


def _declared(mapping: Path) -> list[str]:
    return sorted((yaml.safe_load(mapping.read_text(encoding="utf-8")) or {}).get("params", {}))


def test_the_table_names_every_bundled_mapping_with_params() -> None:
    with_params = {
        str(p.relative_to(ROOT / "mappings"))
        for p in (ROOT / "mappings").glob("*/*.yaml")
        if not p.name.endswith(".cases.yaml") and p.name != "jobs.yaml" and _declared(p)
    }
    assert with_params == set(PARAMETERISED)


@pytest.mark.parametrize("mapping", PARAMETERISED)
def test_a_run_without_the_parameters_is_a_usage_error(mapping: str, tmp_path: Path) -> None:
    sample, params = PARAMETERISED[mapping]
    assert _declared(ROOT / "mappings" / mapping) == sorted(params)
    args = ["run", str(ROOT / "mappings" / mapping), str(ROOT / "samples" / sample)]
    result = CliRunner().invoke(app, [*args, "-o", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 2, result.output
    for name in params:
        assert f"param.missing: the mapping needs the parameter '{name}'" in result.output
    assert not list(tmp_path.iterdir())  # nothing read, nothing written


@pytest.mark.parametrize("mapping", PARAMETERISED)
def test_every_job_and_readme_command_gives_the_parameters(mapping: str) -> None:
    _, params = PARAMETERISED[mapping]
    folder, name = mapping.split("/")
    jobs = yaml.safe_load((ROOT / "mappings" / folder / "jobs.yaml").read_text())["jobs"]
    runs = [job for job in jobs if job["mapping"] == name]
    assert runs, f"no job runs {mapping}"
    for job in runs:
        assert sorted(job.get("params", {})) == sorted(params), job["name"]
    commands = re.findall(rf"`mapper run mappings/{re.escape(mapping)} [^`]*`", README)
    assert commands, f"the README runs {mapping} nowhere"
    for command in commands:
        assert all(f"--param {p}=" in command for p in params), command
