"""The public Python API and the package docstring example."""

from __future__ import annotations

import doctest

import pytest

import mapper
from mapper.errors import SpecError

MAPPING = """
version: 1
objects:
  - type: atlassian:document
    each: files[]
    fields:
      id: id
      displayName: name
      url: webViewLink
      createdAt: to_rfc3339(createdTime)
      lastUpdatedAt: to_rfc3339(modifiedTime)
      parentKey: entity_key('atlassian:document', parents[0])
      permissions: permissions(users(record().owner))
      atlassian:document:
        type: {category: mime_category(mimeType), mimeType: mimeType}
        content: {mimeType: "'text/plain'", text: name}
"""


def test_package_docstring_runs() -> None:
    failures, tried = doctest.testmod(mapper)
    assert tried > 0 and failures == 0


def test_compile_apply_and_apply_all() -> None:
    plan, diags = mapper.compile_text(MAPPING)
    assert plan is not None, diags
    record = {"owner": "u1", "files": [
        {"id": "f1", "name": "Plan", "webViewLink": "https://d.test/f1", "createdTime": 1714564800,
         "modifiedTime": "2024-05-01T14:00:00+02:00", "parents": ["p1"], "mimeType": "application/pdf"},
        {"id": "f2", "name": "Bad", "webViewLink": "relative/f2", "createdTime": 1,
         "modifiedTime": 2, "mimeType": "image/png"}]}
    result = mapper.apply(plan, record, source="drive.json")
    assert result.outcome == "partial"  # the bad item is rejected, its sibling is mapped
    assert [o.payload["id"] for o in result.objects] == ["f1"]
    [bad] = result.rejected
    assert (bad.item, bad.pointer, bad.data["id"]) == (1, "/files/1", "f2")
    codes = {d.code for d in result.errors}
    assert "object.url" in codes
    [err] = [d for d in result.errors if d.code == "object.url"]
    assert err.record is not None and err.record.pointer == "/files/1/webViewLink"
    record["files"].pop()
    [ok] = mapper.apply_all(plan, [record])
    payload = ok.objects[0].payload
    assert payload["parentKey"] == {"type": "atlassian:document", "value": {"entityId": "p1"}}
    assert payload["atlassian:document"]["type"]["category"] == "PDF"
    assert payload["lastUpdatedAt"] == "2024-05-01T12:00:00Z"


def test_load_raises_spec_error_with_all_diagnostics(tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nobjects:\n  - type: atlassian:docment\n    fields: {id: slugg(x)}\n")
    with pytest.raises(SpecError) as info:
        mapper.load(bad)
    codes = {d.code for d in info.value.diagnostics}
    assert "object.unknown-type" in codes
