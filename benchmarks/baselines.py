"""The Python baselines of benchmarks.run, each run as its own process (whole-process timing).

    python -m benchmarks.baselines hand  WORKLOAD IN OUT           # hand-written, orjson
    python -m benchmarks.baselines naive WORKLOAD IN OUT MAPPING   # json + jmespath + pydantic

* hand: what a good engineer writes for one known input: orjson, a hand-coded dict per record,
  a precompiled `re` for the Jira keys, no validation. Nothing from mapper is imported.
* naive: `json.loads` per line, `jmespath.search(expr, record)` per field of the YAML mapping
  (mapper's JMESPath functions), the pydantic model of the type per object, `json.dumps`.

Not a test module (no ``test_`` prefix): pytest never collects it.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

# A Jira key as it appears in commit messages and chat text: plain, no look-around. On the
# generated inputs it finds exactly what mapper's jira_keys() finds (the benchmark checks it).
JIRA_KEY = re.compile(r"[A-Z][A-Z0-9_]+-[0-9]+")


def jira_keys(text: str) -> list[str]:
    return list(dict.fromkeys(JIRA_KEY.findall(text)))


def _utc(text: str) -> tuple[str, int]:
    """An ISO 8601 date with `Z` or `+hh:mm` -> (RFC 3339 UTC, epoch milliseconds)."""
    when = datetime.fromisoformat(text)
    ms = int(when.timestamp()) * 1000
    if text[-1] == "Z":
        return text, ms
    return when.astimezone(UTC).isoformat()[:19] + "Z", ms


def _slack(ts: str) -> tuple[str, int]:
    sec, _, frac = ts.partition(".")
    ms = (frac + "000")[:3]
    when = datetime.fromtimestamp(int(sec), UTC).isoformat()[:19]
    return f"{when}.{ms}Z", int(sec) * 1000 + int(ms)


def _associations(out: dict[str, Any], text: str) -> None:
    keys = jira_keys(text)
    if keys:
        out["associations"] = [{"associationType": "issueIdOrKeys", "values": keys}]


def hand_w1(rec: dict[str, Any]) -> dict[str, Any]:
    c = rec["commit"]
    sha, login, msg = rec["sha"], rec["author"]["login"], c["message"]
    who = {"email": c["author"]["email"], "externalId": login}
    created, _ = _utc(c["author"]["date"])
    updated, usn = _utc(c["committer"]["date"])
    repo = rec["repository"]
    principal = (
        {"type": "USER", "id": login} if repo["private"] else {"type": "ATLASSIAN_WORKSPACE"}
    )
    out = {
        "schemaVersion": "1.0",
        "id": sha,
        "updateSequenceNumber": usn,
        "displayName": msg.split("\n", 1)[0].strip(),
        "description": msg,
        "url": rec["html_url"],
        "createdAt": created,
        "createdBy": who,
        "lastUpdatedAt": updated,
        "containerKey": {
            "type": "atlassian:repository",
            "value": {"repositoryId": repo["full_name"]},
        },
        "permissions": [{"accessControls": [{"principals": [principal]}]}],
    }
    _associations(out, msg)
    out["atlassian:commit"] = {
        "hash": sha,
        "displayId": sha[:7],
        "message": msg,
        "author": who,
        "fileCount": len(rec["files"]),
        "authorTimestamp": created,
    }
    return out


def hand_w2(rec: dict[str, Any]) -> dict[str, Any]:
    ch, ts, text = rec["channel"], rec["ts"], rec.get("text") or ""
    created, _ = _slack(ts)
    edited = (rec.get("edited") or {}).get("ts")
    updated, usn = _slack(edited or ts)
    out: dict[str, Any] = {
        "schemaVersion": "1.0",
        "id": f"{ch}-{ts}",
        "updateSequenceNumber": usn,
        "displayName": f"{rec['user']} in {ch}",
        "url": f"https://acme-corp.slack.com/archives/{ch}/p{ts.replace('.', '')}",
        "createdAt": created,
        "createdBy": {"externalId": rec["user"]},
        "lastUpdatedAt": updated,
        "containerKey": {"type": "atlassian:conversation", "value": {"entityId": ch}},
        "permissions": [{"accessControls": [{"principals": [{"type": "ATLASSIAN_WORKSPACE"}]}]}],
    }
    if text:
        out["description"] = text
    thread = rec.get("thread_ts")
    if thread and thread != ts:
        out["parentKey"] = {"type": "atlassian:message", "value": {"entityId": f"{ch}-{thread}"}}
    _associations(out, text)
    latest = rec.get("latest_reply")
    out["atlassian:message"] = {
        "isPinned": bool(rec.get("pinned_to")),
        "lastActive": _slack(latest)[0] if latest else updated,
    }
    return out


def hand_w3(rec: dict[str, Any]) -> dict[str, Any]:
    c = rec["commit"]
    sha, msg, author, user = rec["sha"], c["message"], c["author"], rec["author"]
    email = author["email"]
    who = {"email": email, "externalId": user["login"] if user else email}
    date = author["date"]
    created = date if date[-1] == "Z" else _utc(date)[0]
    updated, usn = _utc(c["committer"]["date"])
    repo = rec["repository"]
    rid = str(repo["id"])
    principal = {"type": "GROUP", "id": "repo-" + rid} if repo["private"] else {"type": "EVERYONE"}
    out = {
        "schemaVersion": "1.0",
        "id": sha,
        "updateSequenceNumber": usn,
        "displayName": msg.split("\n", 1)[0].strip(),
        "description": msg,
        "url": rec["html_url"],
        "createdAt": created,
        "createdBy": who,
        "lastUpdatedAt": updated,
        "containerKey": {"type": "atlassian:repository", "value": {"repositoryId": rid}},
        "permissions": [{"accessControls": [{"principals": [principal]}]}],
        "atlassian:commit": {
            "hash": sha,
            "displayId": sha[:7],
            "author": who,
            "authorTimestamp": created,
        },
    }
    _associations(out, msg)
    return out


HAND: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "w1": hand_w1,
    "w2": hand_w2,
    "w3": hand_w3,
}


def hand(fn: Callable[[dict[str, Any]], dict[str, Any]], src: Path, dst: Path) -> int:
    n = 0
    loads, dumps = orjson.loads, orjson.dumps
    with src.open("rb") as fin, dst.open("wb", buffering=1 << 20) as fout:
        for line in fin:
            fout.write(dumps(fn(loads(line))) + b"\n")
            n += 1
    return n


# ---------------------------------------------------------------- naive


def _fields(
    node: dict[str, Any], prefix: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], str, bool]]:
    """(path, expression, omit_empty) for every field of a mapping rule."""
    out = []
    for key, value in node.items():
        if isinstance(value, str):
            out.append(((*prefix, key), value, False))
        elif isinstance(value, dict) and "expr" in value:
            out.append(((*prefix, key), value["expr"], bool(value.get("omit_empty"))))
        elif isinstance(value, dict):
            out.extend(_fields(value, (*prefix, key)))
        else:
            raise ValueError(f"naive baseline does not handle {key}: {value!r}")
    return out


def naive(mapping: Path, src: Path, dst: Path) -> int:
    """json.loads, jmespath.search per field (mapper's functions), pydantic model, json.dumps."""
    import jmespath
    import yaml

    from mapper.functions import MapperFunctions
    from mapper.functions.context import EvalContext
    from mapper.model import OBJECT_TYPES

    spec = yaml.safe_load(mapping.read_text())
    rule = spec["objects"][0]
    model = OBJECT_TYPES[rule["type"]]
    fields = _fields(rule["fields"])
    funcs = MapperFunctions()
    options = jmespath.Options(custom_functions=funcs)
    n = 0
    with src.open("rb") as fin, dst.open("w", encoding="utf-8") as fout:
        for index, line in enumerate(fin):
            rec = json.loads(line)
            funcs.context = EvalContext(rec, str(src), index)
            payload: dict[str, Any] = {}
            for path, expr, omit_empty in fields:
                value = jmespath.search(expr, rec, options)
                if value is None or (omit_empty and value in ("", [], {})):
                    continue
                target = payload
                for part in path[:-1]:
                    target = target.setdefault(part, {})
                target[path[-1]] = value
            payload.setdefault("schemaVersion", "1.0")
            updated = datetime.fromisoformat(payload["lastUpdatedAt"].replace("Z", "+00:00"))
            payload["updateSequenceNumber"] = int(updated.timestamp() * 1000)
            obj = model.model_validate(payload).to_payload()
            fout.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
            n += 1
    return n


def main(argv: list[str]) -> None:
    kind, workload, src, dst = argv[:4]
    if kind == "hand":
        hand(HAND[workload], Path(src), Path(dst))
    elif kind == "naive":
        naive(Path(argv[4]), Path(src), Path(dst))
    else:
        raise SystemExit(f"unknown baseline {kind!r} (hand or naive)")


if __name__ == "__main__":
    main(sys.argv[1:])
