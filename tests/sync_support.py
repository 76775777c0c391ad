"""Helpers shared by the sync tests: a small mapping, running a sync, reading its output."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mapper
from mapper.sync.runner import SyncRequest, SyncResult, sync_files
from mapper.sync.stage import Mode

MAPPING = """\
version: 1
name: sync-test
objects:
  - type: atlassian:space
    where: kind == 'space'
    fields:
      id: id
      displayName: title
      url: "concat('https://example.test/s/', id)"
      createdAt: to_rfc3339(ts)
      lastUpdatedAt: to_rfc3339(ts)
      permissions: "permissions([principal('ATLASSIAN_WORKSPACE')])"
      atlassian:space: {key: id, spaceType: "'global'", subtype: "'wiki'"}
  - type: atlassian:document
    where: kind != 'space'
    fields:
      id: id
      displayName: title
      url: "concat('https://example.test/d/', id)"
      createdAt: to_rfc3339(ts)
      lastUpdatedAt: to_rfc3339(ts)
      updateSequenceNumber: {coalesce: [usn, "to_epoch_ms(ts)"]}
      parentKey: {expr: "parent && entity_key('atlassian:space', parent)"}
      permissions: "permissions([principal('ATLASSIAN_WORKSPACE')])"
      atlassian:document:
        type: {const: {category: DOCUMENT, mimeType: text/plain}}
        content: {const: {mimeType: text/plain, text: x}}
"""


def doc(oid: str, title: str = "t", day: int = 1, **extra: Any) -> dict[str, Any]:
    """One source record of the test mapping (a document unless kind='space')."""
    return {"id": oid, "title": title, "ts": f"2024-01-{day:02d}T00:00:00Z", **extra}


@dataclass
class Output:
    """What one sync run wrote."""

    result: SyncResult
    sets: list[dict[str, Any]]  # setObjects objects, in batch order
    set_batches: list[dict[str, Any]]
    deletes: list[dict[str, Any]]  # deleteObjects bodies, in order


def write_mapping(folder: Path) -> Path:
    """The test mapping, written into `folder`."""
    path = folder / "m.yaml"
    path.write_text(MAPPING)
    return path


def write_records(path: Path, records: list[dict[str, Any]]) -> Path:
    """Records as a JSONL file."""
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def sync(
    folder: Path, records: list[dict[str, Any]], mode: Mode = Mode.mirror, **options: Any
) -> Output:
    """Run one sync of `records` with the state and output folder inside `folder`."""
    plan = mapper.load(folder / "m.yaml" if (folder / "m.yaml").exists() else write_mapping(folder))
    inputs = write_records(folder / "in.jsonl", records)
    options.setdefault("connection_id", "conn-1")
    request = SyncRequest(state=folder / "s.db", output=folder / "out", mode=mode, **options)
    result = sync_files(plan, [str(inputs)], request)
    return read_output(folder / "out", result)


def read_output(out: Path, result: SyncResult) -> Output:
    """The setObjects and delete bodies of an output folder."""
    batches = _lines(out / "setObjects.jsonl")
    sets = [o for b in batches for o in b["objects"]]
    return Output(result, sets, batches, _lines(out / "deleteObjects.jsonl"))


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def deleted_ids(output: Output) -> list[str]:
    """Every id in the delete batches."""
    return [i for body in output.deletes for i in body["externalIds"]]
