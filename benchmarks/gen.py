"""Deterministic workload generators for benchmarks.run (fixed seed, streaming writes)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson

SEED = 20240501
NAMES = ["Ann Lee", "Bob Jones", "Cy Wu", "Di Rao", "Eve Park", "Femi Ade", "Gus Olsen"]
REPOS = [f"acme/{n}" for n in ("web", "api", "infra", "mobile", "docs", "billing", "search")]
PROJECTS = ["PROJ", "WEB", "API", "OPS", "BILL"]
WORDS = [
    "fix",
    "update",
    "add",
    "remove",
    "refactor",
    "bump",
    "cleanup",
    "handle",
    "improve",
    "rename",
    "move",
    "test",
    "docs",
    "login",
    "cache",
    "timeout",
    "retry",
    "parser",
    "config",
    "build",
    "release",
    "migrate",
    "schema",
    "index",
]
OFFSETS = [
    timedelta(hours=h, minutes=m) for h, m in ((0, 0), (2, 0), (-7, 0), (5, 30), (-3, -30), (9, 0))
]
BASE = datetime(2024, 1, 1, tzinfo=UTC)


def _iso(rng: random.Random, when: datetime) -> str:
    off = rng.choice(OFFSETS)
    local = when.astimezone(timezone(off))
    return local.isoformat()  # "2024-05-01T14:58:12+02:00"


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def commit(rng: random.Random, i: int) -> dict[str, Any]:
    """One GitHub REST `commits` list item (~700 bytes) plus the repository it belongs to."""
    sha = f"{rng.getrandbits(160):040x}"
    name = rng.choice(NAMES)
    login = name.split()[0].lower() + str(rng.randint(1, 40))
    email = f"{login}@example.com"
    repo = rng.choice(REPOS)
    authored = BASE + timedelta(seconds=rng.randint(0, 300 * 86400))
    committed = authored + timedelta(seconds=rng.randint(0, 3 * 86400))
    title = _sentence(rng, rng.randint(3, 8)).capitalize()
    if rng.random() < 0.6:
        keys = " ".join(
            f"{rng.choice(PROJECTS)}-{rng.randint(1, 9999)}" for _ in range(rng.randint(1, 2))
        )
        title = f"{keys} {title}"
    message = title + ("\n\n" + _sentence(rng, rng.randint(5, 15)) if rng.random() < 0.5 else "")
    files = [
        {
            "filename": f"src/{rng.choice(WORDS)}/{rng.choice(WORDS)}.py",
            "status": rng.choice(("modified", "added", "removed")),
            "additions": rng.randint(0, 90),
            "deletions": rng.randint(0, 40),
        }
        for _ in range(rng.randint(0, 3))
    ]
    return {
        "sha": sha,
        "commit": {
            "author": {"name": name, "email": email, "date": _iso(rng, authored)},
            "committer": {"name": name, "email": email, "date": _iso(rng, committed)},
            "message": message,
            "comment_count": rng.randint(0, 3),
        },
        "html_url": f"https://github.com/{repo}/commit/{sha}",
        "author": {"login": login, "id": 1000 + i % 5000, "type": "User"},
        "repository": {"full_name": repo, "private": rng.random() < 0.3},
        "files": files,
    }


def messages(rng: random.Random, n: int) -> Iterator[dict[str, Any]]:
    """n Slack-export-like messages: threads (roots with replies), edits, reactions, pins."""
    channels = [f"C0{rng.randint(10**7, 10**8 - 1)}" for _ in range(20)]
    users = [f"U0{rng.randint(10**7, 10**8 - 1)}" for _ in range(200)]
    clock = 1_704_067_200.0  # 2024-01-01
    open_threads: list[tuple[str, str]] = []  # (channel, root ts)
    for _ in range(n):
        clock += rng.uniform(0.5, 120.0)
        ts = f"{clock:.6f}"
        user = rng.choice(users)
        text = _sentence(rng, rng.randint(4, 25))
        if rng.random() < 0.3:
            text = f"{rng.choice(PROJECTS)}-{rng.randint(1, 9999)} " + text
        msg: dict[str, Any] = {"type": "message", "user": user, "text": text, "ts": ts}
        if open_threads and rng.random() < 0.35:
            channel, root = rng.choice(open_threads)
            msg["thread_ts"] = root
            msg["parent_user_id"] = rng.choice(users)
        else:
            channel = rng.choice(channels)
            if rng.random() < 0.2:
                msg["thread_ts"] = ts
                msg["reply_count"] = rng.randint(1, 5)
                msg["latest_reply"] = f"{clock + rng.uniform(60, 3600):.6f}"
                open_threads.append((channel, ts))
                if len(open_threads) > 50:
                    open_threads.pop(0)
        msg["channel"] = channel
        if rng.random() < 0.1:
            msg["edited"] = {"user": user, "ts": f"{clock + rng.uniform(1, 600):.6f}"}
        if rng.random() < 0.3:
            msg["reactions"] = [
                {
                    "name": rng.choice(("+1", "eyes", "tada")),
                    "count": 1,
                    "users": [rng.choice(users)],
                }
            ]
        if rng.random() < 0.02:
            msg["pinned_to"] = [channel]
        yield msg


W3_OFFSETS = [
    timedelta(hours=h, minutes=m) for h, m in ((2, 0), (-7, 0), (5, 30), (-3, -30), (9, 0), (1, 0))
]
W3_REPOS = [
    (27_193_779 + 7_919 * k, f"acme/{name}")
    for k, name in enumerate(
        ("web", "api", "infra", "mobile", "docs", "billing", "search", "auth", "etl", "ui")
    )
]


def _w3_date(rng: random.Random, when: datetime) -> str:
    """Half `Z` (as GitHub's REST API writes them), half `+hh:mm` / `-hh:mm` (as git does)."""
    if rng.random() < 0.5:
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return when.astimezone(timezone(rng.choice(W3_OFFSETS))).isoformat()


def _w3_message(rng: random.Random) -> str:
    """A commit message; 60 % carry Jira keys (in the subject, a branch name, a trailer)."""
    title = _sentence(rng, rng.randint(3, 7)).capitalize()
    body = _sentence(rng, rng.randint(4, 12)) if rng.random() < 0.5 else ""
    roll = rng.random()
    key = f"{rng.choice(PROJECTS)}-{rng.randint(1, 9999)}"
    if roll < 0.3:
        title = f"{key} {title}"
    elif roll < 0.4:
        title = f"[{key}] {title} ({key})"  # the same key twice: reported once
    elif roll < 0.5:
        title = f"Merge branch 'feature/{key}-{rng.choice(WORDS)}'"
    elif roll < 0.6:
        body = (
            body + "\n\n" if body else ""
        ) + f"Refs: {key}, {rng.choice(PROJECTS)}-{rng.randint(1, 99)}"
    return title + ("\n\n" + body if body else "")


def commit_w3(rng: random.Random, i: int) -> dict[str, Any]:
    """A GitHub REST `commits` list item trimmed to ~730 bytes, with its `repository`.

    15 % have `author: null` (the commit email belongs to no GitHub account): createdBy then
    falls back to the email. 30 % of the repositories are private.
    """
    sha = f"{rng.getrandbits(160):040x}"
    name = rng.choice(NAMES)
    login = name.split()[0].lower() + str(rng.randint(1, 40))
    email = f"{login}@example.com"
    repo_id, repo = rng.choice(W3_REPOS)
    authored = BASE + timedelta(seconds=rng.randint(0, 300 * 86400))
    committed = authored + timedelta(seconds=rng.randint(0, 3 * 86400))
    author = (
        None
        if rng.random() < 0.15
        else {"login": login, "id": 1000 + i % 5000, "type": "User", "site_admin": False}
    )
    return {
        "sha": sha,
        "node_id": f"C_kwDO{rng.getrandbits(120):030x}",
        "commit": {
            "author": {"name": name, "email": email, "date": _w3_date(rng, authored)},
            "committer": {"name": name, "email": email, "date": _w3_date(rng, committed)},
            "message": _w3_message(rng),
            "tree": {"sha": f"{rng.getrandbits(160):040x}"},
            "comment_count": rng.randint(0, 3),
        },
        "html_url": f"https://github.com/{repo}/commit/{sha}",
        "author": author,
        "parents": [{"sha": f"{rng.getrandbits(160):040x}"}],
        "repository": {"id": repo_id, "full_name": repo, "private": rng.random() < 0.3},
    }


def write_w3(path: Path, n: int) -> None:
    rng = random.Random(SEED + 3)
    with path.open("wb", buffering=1 << 20) as fh:
        for i in range(n):
            fh.write(orjson.dumps(commit_w3(rng, i)) + b"\n")


def write_w1(path: Path, n: int) -> None:
    rng = random.Random(SEED)
    with path.open("wb", buffering=1 << 20) as fh:
        for i in range(n):
            fh.write(orjson.dumps(commit(rng, i)) + b"\n")


def write_w2(path: Path, n: int) -> None:
    rng = random.Random(SEED + 1)
    with path.open("wb", buffering=1 << 20) as fh:
        for msg in messages(rng, n):
            fh.write(orjson.dumps(msg) + b"\n")


def write_big_array(path: Path, target_bytes: int) -> int:
    """A single top-level JSON array of W1 records, written record by record. Returns the count."""
    rng = random.Random(SEED + 2)
    size, i = 0, 0
    with path.open("wb", buffering=1 << 20) as fh:
        fh.write(b"[\n")
        while size < target_bytes:
            line = (b",\n" if i else b"") + orjson.dumps(commit(rng, i))
            fh.write(line)
            size += len(line)
            i += 1
        fh.write(b"\n]\n")
    return i
