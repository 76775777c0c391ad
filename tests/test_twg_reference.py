"""Every object the bundled jobs and the test cases produce, checked by an independent checker
written from ../shared/teamwork-graph.md (§1.1 common properties, §1.3 keys, §1.4 permissions,
§2 per-type overrides), without using mapper/model: if the models and this table disagree, one
of them is wrong."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from mapper.authoring.cases import load_cases, run_case
from mapper.engine.plans import compile_path
from mapper.model.identity import IDENTITY_KINDS
from mapper.run.files import RunRequest, run_files
from mapper.run.jobs import load_jobs

ROOT = Path(__file__).resolve().parents[1]

# §1.1: required for every object (a string must not be empty)
COMMON_REQUIRED = ("schemaVersion", "id", "updateSequenceNumber", "url", "createdAt",
                   "lastUpdatedAt", "permissions")
# §1.1 and §2: what some types require on top
TYPE_REQUIRED: dict[str, tuple[str, ...]] = {
    "atlassian:work-item": ("displayName", "description"),
    "atlassian:space": ("displayName",),
    "atlassian:project": ("displayName", "description", "createdBy"),
    "atlassian:commit": ("description", "containerKey"),
    "atlassian:pull-request": ("containerKey",),
    "atlassian:build": ("containerKey",),
    "atlassian:deployment": ("description",),
    "atlassian:video": ("displayName",),
    "atlassian:customer-org": ("displayName",),
    "atlassian:deal": ("displayName",),
}
# §2: the type a container must have, when there is one
CONTAINER_TYPE = {
    "atlassian:commit": "atlassian:repository",
    "atlassian:pull-request": "atlassian:repository",
    "atlassian:deployment": "atlassian:repository",
    "atlassian:work-item": "atlassian:space",
}
STRINGS = ("schemaVersion", "id", "displayName", "description", "url", "createdAt",
           "lastUpdatedAt")
PRINCIPALS_WITH_ID = {"USER", "GROUP"}
PRINCIPALS_WITHOUT_ID = {"EVERYONE", "ATLASSIAN_WORKSPACE", "CONTAINER",
                         "MUST_HAVE_VIEWED"}  # §1.4: old page only, UNCONFIRMED (mapper warns)
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
MAX_PRINCIPALS = 500


def problems(obj: dict[str, Any], type_name: str) -> list[str]:
    """What the reference says is wrong with one ingestion-ready object."""
    found = []
    blocks = [k for k in obj if k.startswith("atlassian:")]
    if blocks != [type_name] or not isinstance(obj[type_name], dict):
        found.append(f"the type block {type_name!r} must be there, alone, as an object: {blocks}")
    for key in (*COMMON_REQUIRED, *TYPE_REQUIRED.get(type_name, ())):
        if obj.get(key) is None:
            found.append(f"{key} is required")
    required = {*COMMON_REQUIRED, *TYPE_REQUIRED.get(type_name, ())}
    for key in STRINGS:
        if key in obj and not isinstance(obj[key], str):
            found.append(f"{key} must be a string: {obj[key]!r}")
        elif key in required and key in obj and not obj[key]:
            found.append(f"{key} must be a non-empty string: {obj[key]!r}")
    if not isinstance(obj.get("updateSequenceNumber"), int):
        found.append("updateSequenceNumber must be an integer")
    for key in ("createdAt", "lastUpdatedAt"):
        if isinstance(obj.get(key), str) and not RFC3339.fullmatch(obj[key]):
            found.append(f"{key} is not RFC 3339: {obj[key]!r}")
    if isinstance(obj.get("url"), str) and not re.match(r"https?://[^/\s]+", obj["url"]):
        found.append(f"url must be an absolute http(s) URL: {obj['url']!r}")
    for key in ("parentKey", "containerKey"):
        if key in obj:
            found += _key(obj[key], key)
    wanted = CONTAINER_TYPE.get(type_name)
    if wanted and isinstance(obj.get("containerKey"), dict) and obj["containerKey"].get("type") != wanted:
        found.append(f"containerKey must be of type {wanted}")
    found += _permissions(obj.get("permissions"))
    for key in ("createdBy", "lastUpdatedBy"):
        if key in obj:
            found += _user(obj[key], key)
    for i, owner in enumerate(obj.get("owners") or []):
        found += _user(owner, f"owners[{i}]")
    return found


def _key(key: Any, where: str) -> list[str]:
    if not isinstance(key, dict) or set(key) != {"type", "value"}:
        return [f"{where} must be {{type, value}}: {key!r}"]
    if not isinstance(key["type"], str) or not key["type"].startswith("atlassian:"):
        return [f"{where}.type must start with atlassian: ({key['type']!r})"]
    if not isinstance(key["value"], dict) or not key["value"]:
        return [f"{where}.value must be a non-empty object"]
    return []


def _permissions(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        return ["permissions must be a non-empty list"]
    found, total = [], 0
    for entry in value:
        controls = entry.get("accessControls") if isinstance(entry, dict) else None
        if not isinstance(controls, list) or not controls:
            found.append(f"a permissions entry needs accessControls: {entry!r}")
            continue
        for control in controls:
            principals = control.get("principals") if isinstance(control, dict) else None
            if not isinstance(principals, list) or not principals:
                found.append(f"an access control needs principals: {control!r}")
                continue
            for p in principals:
                total += 1
                kind = p.get("type") if isinstance(p, dict) else None
                if kind in PRINCIPALS_WITH_ID:
                    if not isinstance(p.get("id"), str) or not p["id"]:
                        found.append(f"a {kind} principal needs an id: {p!r}")
                elif kind in PRINCIPALS_WITHOUT_ID:
                    if "id" in p:
                        found.append(f"a {kind} principal takes no id: {p!r}")
                else:
                    found.append(f"unknown principal type: {p!r}")
    if total > MAX_PRINCIPALS:
        found.append(f"{total} principals: at most {MAX_PRINCIPALS}")
    return found


def _user(value: Any, where: str) -> list[str]:
    ids = ("accountId", "email", "externalId")
    if not isinstance(value, dict) or not any(isinstance(value.get(k), str) and value[k] for k in ids):
        return [f"{where} must be a userReference with an id: {value!r}"]
    return []


def _job_objects(tmp: Path) -> list[tuple[str, dict[str, Any]]]:
    jobs, diags = load_jobs(sorted(ROOT.glob("mappings/*/jobs.yaml")))
    assert not diags, diags
    out: list[tuple[str, dict[str, Any]]] = []
    for job in jobs:
        plan, problems_ = compile_path(job.mapping)
        assert plan is not None, problems_
        target = tmp / f"{job.name}.jsonl"
        request = RunRequest(output=str(target), records=job.records, params=dict(job.params))
        run_files(plan, list(job.inputs), request, mapping=job.mapping)
        for line in target.read_text(encoding="utf-8").splitlines():
            obj = json.loads(line)
            if set(obj) in ({"user"}, {"group"}):
                continue  # a setUsers/setGroups payload, not an object (tests/test_access.py)
            out.append((job.name, obj))
    return out


def _type_of(obj: dict[str, Any]) -> str:
    blocks = [k for k in obj if k.startswith("atlassian:")]
    return blocks[0] if blocks else "?"


def test_every_bundled_job_object_passes_the_reference(tmp_path: Path) -> None:
    objects = _job_objects(tmp_path)
    assert len(objects) > 100
    bad = [(name, obj.get("id"), p) for name, obj in objects if (p := problems(obj, _type_of(obj)))]
    assert not bad, bad[:5]


def test_every_case_object_passes_the_reference() -> None:
    files = sorted((ROOT / "tests/cases").glob("*.cases.yaml")) + sorted(
        ROOT.glob("mappings/*/*.cases.yaml"))
    seen = 0
    bad = []
    for path in files:
        cases, _ = load_cases(path)
        for case in cases:
            result = run_case(case)
            for rec in result.results:
                for obj in rec.objects:
                    if obj.type_name in IDENTITY_KINDS:
                        continue  # users and groups are not objects (tests/test_access.py)
                    seen += 1
                    if found := problems(obj.payload, obj.type_name):
                        bad.append((case.id, obj.payload.get("id"), found))
    assert seen > 200
    assert not bad, bad[:5]


@pytest.mark.parametrize(("change", "expected"), [
    (lambda o: o.pop("atlassian:work-item"), "type block"),
    (lambda o: o.update(description=""), "description must be a non-empty string"),
    (lambda o: o.update(displayName=""), "displayName must be a non-empty string"),
    (lambda o: o.update(containerKey={"type": "atlassian:project", "value": {"entityId": "p"}}),
     "containerKey must be of type atlassian:space"),
    (lambda o: o.update(permissions=[{"accessControls": [{"principals": [{"type": "USER"}]}]}]),
     "needs an id"),
])
def test_the_reference_checker_finds_what_it_should(change: Any, expected: str) -> None:
    obj = {"schemaVersion": "1.0", "id": "W-1", "updateSequenceNumber": 1, "displayName": "W",
           "description": "d", "url": "https://x.test/w", "createdAt": "2024-05-01T12:00:00Z",
           "lastUpdatedAt": "2024-05-01T12:00:00Z",
           "permissions": [{"accessControls": [{"principals": [{"type": "EVERYONE"}]}]}],
           "atlassian:work-item": {}}
    assert problems(obj, "atlassian:work-item") == []
    change(obj)
    assert any(expected in p for p in problems(obj, "atlassian:work-item"))
