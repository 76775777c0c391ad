"""Stock jmespath vs mapper.jpcompile on typical mapping expressions.

Run: ``python -m benchmarks.bench_jpcompile [--quick]``. For each expression it times
``jmespath.compile(expr).search(record)`` (parsed once: the stock interpreter's best case) against
the compiled function on GitHub-shaped records, checks both give the same result, and prints
nanoseconds per call and the speed-up; the summary gives the total-time and geometric-mean
speed-ups over all expressions.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections.abc import Callable
from typing import Any

import jmespath

from mapper.jpcompile import compile_expression


def _person(rng: random.Random, i: int) -> dict[str, Any]:
    login = f"user{i}"
    return {
        "login": login,
        "id": 1000 + i,
        "type": "User",
        "site_admin": False,
        "html_url": f"https://github.com/{login}",
        "avatar_url": f"https://a/{login}.png",
    }


def _commit(rng: random.Random, i: int) -> dict[str, Any]:
    sha = f"{rng.getrandbits(160):040x}"
    name = rng.choice(["Ann Lee", "Bob Jones", "Cy Wu", "Di Rao"])
    files = [
        {
            "filename": f"src/mod{j}.py",
            "status": rng.choice(["modified", "added", "removed"]),
            "additions": rng.randint(0, 90),
            "deletions": rng.randint(0, 40),
            "changes": 0,
            "blob_url": f"https://github.com/acme/w/blob/{sha}/src/mod{j}.py",
        }
        for j in range(rng.randint(1, 8))
    ]
    return {
        "sha": sha,
        "node_id": f"C_{sha[:20]}",
        "commit": {
            "author": {
                "name": name,
                "email": f"{name.split()[0].lower()}@example.com",
                "date": f"2024-05-{1 + i % 28:02d}T09:14:03Z",
            },
            "committer": {
                "name": "GitHub",
                "email": "noreply@github.com",
                "date": "2024-05-02T09:14:03Z",
            },
            "message": f"Fix issue #{i}\n\nLonger description {i}",
            "tree": {"sha": f"{rng.getrandbits(160):040x}"},
            "comment_count": 0,
            "verification": {"verified": rng.random() < 0.5, "reason": "valid"},
        },
        "author": _person(rng, i % 7) if rng.random() < 0.8 else None,
        "committer": _person(rng, 99),
        "parents": [{"sha": f"{rng.getrandbits(160):040x}", "url": "https://x"}],
        "stats": {"total": 10, "additions": 7, "deletions": 3},
        "files": files,
    }


def _push(rng: random.Random, i: int) -> dict[str, Any]:
    commits = [
        {
            "id": f"{rng.getrandbits(160):040x}",
            "message": f"change {i}.{k}",
            "timestamp": f"2024-05-02T09:{k:02d}:03Z",
            "author": {"name": "Ann", "email": "ann@example.com" if k % 3 else None},
            "added": [],
            "removed": [],
            "modified": ["README.md"],
        }
        for k in range(rng.randint(1, 6))
    ]
    return {
        "ref": "refs/heads/main" if i % 2 else f"refs/tags/v{i}",
        "before": f"{rng.getrandbits(160):040x}",
        "after": f"{rng.getrandbits(160):040x}",
        "repository": {
            "id": 42,
            "name": "widget-service",
            "full_name": "acme/widget-service",
            "private": False,
            "owner": _person(rng, 1),
            "default_branch": "main",
        },
        "pusher": {"name": "ann", "email": "ann@example.com"},
        "sender": _person(rng, 2),
        "created": False,
        "deleted": False,
        "forced": False,
        "commits": commits,
        "head_commit": commits[-1],
    }


def _pull(rng: random.Random, i: int) -> dict[str, Any]:
    state = rng.choice(["open", "closed"])
    merged = state == "closed" and rng.random() < 0.7
    return {
        "id": 9000 + i,
        "number": i,
        "state": state,
        "title": f"PR {i}",
        "draft": False,
        "user": _person(rng, i % 5),
        "labels": [
            {"id": k, "name": n, "color": "ff0000"}
            for k, n in enumerate(rng.sample(["bug", "ui", "infra", "docs"], 2))
        ],
        "assignees": [_person(rng, k) for k in range(rng.randint(0, 3))],
        "created_at": "2024-05-01T00:00:00Z",
        "updated_at": "2024-05-03T00:00:00Z",
        "closed_at": "2024-05-04T00:00:00Z" if state == "closed" else None,
        "merged_at": "2024-05-04T00:00:00Z" if merged else None,
        "head": {
            "ref": "feature/x",
            "sha": "abc",
            "repo": {"full_name": "acme/widget-service", "owner": _person(rng, 1)},
        },
        "base": {"ref": "main", "sha": "def", "repo": {"full_name": "acme/widget-service"}},
    }


def _search(rng: random.Random, i: int) -> dict[str, Any]:
    return {
        "total_count": 8,
        "items": [
            {"id": 100 * i + k, "state": rng.choice(["open", "closed"]), "title": f"Issue {k}"}
            for k in range(8)
        ],
    }


RECORDS: dict[str, Callable[[random.Random, int], dict[str, Any]]] = {
    "commit": _commit,
    "push": _push,
    "pull": _pull,
    "search": _search,
}

# (record kind, expression)
EXPRESSIONS: list[tuple[str, str]] = [
    ("commit", "sha"),
    ("commit", "commit.author.date"),
    ("push", "repository.full_name"),
    ("pull", "head.repo.owner.login"),
    ("commit", '{"id": (sha), "name": (commit.author.name)}'),
    ("commit", "author.login || commit.author.email"),
    ("commit", "parents[0].sha"),
    ("push", "commits[].message"),
    ("pull", "labels[].name"),
    ("search", "items[?state=='open'].id"),
    ("commit", "length(files)"),
    ("commit", "sum(files[].additions)"),
    ("commit", "files[?status=='modified'].filename | sort(@)"),
    ("pull", "join(', ', assignees[].login)"),
    ("pull", "merged_at != null && state == 'closed'"),
    ("pull", "not_null(merged_at, closed_at, updated_at)"),
    ("pull", "to_string(number)"),
    ("push", "starts_with(ref, 'refs/heads/')"),
    ("push", "sort_by(commits, &timestamp)[-1].id"),
    ("push", "commits[?author.email != null] | length(@)"),
]


def _run(fn: Callable[[Any], Any], records: list[Any], loops: int) -> float:
    start = time.perf_counter()
    for _ in range(loops):
        for rec in records:
            fn(rec)
    return time.perf_counter() - start


def _loops(fn: Callable[[Any], Any], records: list[Any], seconds: float) -> int:
    loops = 1
    while _run(fn, records, loops) < seconds:
        loops *= 2
    return loops


def _time_pair(
    stock: Callable[[Any], Any], fast: Callable[[Any], Any], records: list[Any], seconds: float
) -> tuple[float, float]:
    """Nanoseconds per call of both functions: best of 5 interleaved rounds (load-robust)."""
    n_stock, n_fast = _loops(stock, records, seconds), _loops(fast, records, seconds)
    best_stock = best_fast = math.inf
    for _ in range(5):
        best_stock = min(best_stock, _run(stock, records, n_stock) / n_stock)
        best_fast = min(best_fast, _run(fast, records, n_fast) / n_fast)
    return best_stock / len(records) * 1e9, best_fast / len(records) * 1e9


def _say(line: str = "") -> None:
    sys.stdout.write(line + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter timings (smoke run)")
    parser.add_argument("--records", type=int, default=200, help="records per kind")
    args = parser.parse_args(argv)
    round_seconds = 0.01 if args.quick else 0.1
    rng = random.Random(20240502)
    data = {kind: [make(rng, i) for i in range(args.records)] for kind, make in RECORDS.items()}

    rows = []
    _say(f"{'expression':<48} {'jmespath ns':>12} {'compiled ns':>12} {'speed-up':>9}")
    for kind, text in EXPRESSIONS:
        records = data[kind]
        parsed = jmespath.compile(text)
        compiled = compile_expression(text)
        for rec in records:
            want, got = parsed.search(rec), compiled(rec)
            if json.dumps(want, sort_keys=True) != json.dumps(got, sort_keys=True):
                raise SystemExit(f"MISMATCH for {text!r}: {want!r} != {got!r}")
        stock, fast = _time_pair(parsed.search, compiled, records, round_seconds)
        rows.append((text, stock, fast))
        _say(f"{text[:48]:<48} {stock:>12.0f} {fast:>12.0f} {stock / fast:>8.1f}x")

    total_stock = sum(r[1] for r in rows)
    total_fast = sum(r[2] for r in rows)
    geo = math.exp(sum(math.log(r[1] / r[2]) for r in rows) / len(rows))
    _say(f"\n{len(rows)} expressions: all results identical to jmespath")
    _say(
        f"total per record set: jmespath {total_stock / 1000:.1f} us, "
        f"compiled {total_fast / 1000:.1f} us -> {total_stock / total_fast:.1f}x"
    )
    _say(
        f"geometric-mean speed-up: {geo:.1f}x "
        f"(min {min(r[1] / r[2] for r in rows):.1f}x, max {max(r[1] / r[2] for r in rows):.1f}x)"
    )


if __name__ == "__main__":
    main()
