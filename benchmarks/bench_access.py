"""Access graph benchmark: index 1,000,000 objects with 10,000 users and 1,000 groups, then
time `who-can-see` (must answer in under 50 ms) and `can-see` (streamed: time to the first
object and to the last). Run: `python -m benchmarks.bench_access [--objects N]`.

The generated run: 10,000 spaces, each granted to one or two groups of about 50 members; 70 %
of the other objects are documents granted to CONTAINER (their space), 20 % to 2-5 users, 9 %
to a group AND CONTAINER, 1 % to EVERYONE. The outputs are JSONL files as `mapper run` writes
them (users and groups as `{"user": ...}` / `{"group": ...}` lines).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from mapper.access import explain, graph
from mapper.access.checks import PrincipalChecker
from mapper.access.outputs import iter_entries
from mapper.access.store import build_index, open_index

USERS, GROUPS, SPACES = 10_000, 1_000, 10_000


def _acl(*controls: list[dict[str, str]]) -> list[dict[str, Any]]:
    return [{"accessControls": [{"principals": c} for c in controls]}]


def _space(i: int, rng: random.Random) -> dict[str, Any]:
    groups = [{"type": "GROUP", "id": f"g{rng.randrange(GROUPS)}"} for _ in range(rng.randint(1, 2))]
    return {"id": f"s{i}", "displayName": f"Space {i}", "permissions": _acl(groups), "atlassian:space": {}}


def _document(i: int, rng: random.Random) -> dict[str, Any]:
    roll = rng.random()
    container = {"type": "CONTAINER"}
    if roll < 0.70:
        acl = _acl([container])
    elif roll < 0.90:
        acl = _acl([{"type": "USER", "id": f"u{rng.randrange(USERS)}"} for _ in range(rng.randint(2, 5))])
    elif roll < 0.99:
        acl = _acl([{"type": "GROUP", "id": f"g{rng.randrange(GROUPS)}"}], [container])
    else:
        acl = _acl([{"type": "EVERYONE"}])
    key = {"type": "atlassian:space", "value": {"entityId": f"s{rng.randrange(SPACES)}"}}
    return {"id": f"d{i}", "displayName": f"Doc {i}", "containerKey": key, "permissions": acl, "atlassian:document": {}}


def _identity_lines(rng: random.Random) -> Iterator[dict[str, Any]]:
    for u in range(USERS):
        yield {"user": {"externalId": f"u{u}", "displayName": f"User {u}", "emails": [{"value": f"u{u}@example.com"}]}}
    for g in range(GROUPS):
        members = [{"externalId": f"u{m}", "type": "USER"} for m in rng.sample(range(USERS), 50)]
        yield {"group": {"externalId": f"g{g}", "displayName": f"Group {g}", "members": members}}


def generate(folder: Path, objects: int) -> list[Path]:
    rng = random.Random(7)
    files = [folder / "identities.jsonl", folder / "objects.jsonl"]
    with files[0].open("wb") as fh:
        for line in _identity_lines(rng):
            fh.write(orjson.dumps(line) + b"\n")
    with files[1].open("wb") as fh:
        for i in range(SPACES):
            fh.write(orjson.dumps(_space(i, rng)) + b"\n")
        for i in range(objects - SPACES):
            fh.write(orjson.dumps(_document(i, rng)) + b"\n")
    return files


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        files = generate(folder, args.objects)
        size = sum(f.stat().st_size for f in files) / 1e6
        print(f"generated {args.objects:,} objects, {USERS:,} users, {GROUPS:,} groups ({size:,.0f} MB JSONL) in {time.perf_counter() - started:.1f}s")
        started = time.perf_counter()
        stats = build_index(iter_entries([str(f) for f in files]), folder / "graph.db", checker=PrincipalChecker())
        took = time.perf_counter() - started
        print(f"index: {stats.objects:,} objects, {stats.principals:,} principals, {stats.members:,} members in {took:.1f}s ({stats.objects / took:,.0f} objects/s); file {(folder / 'graph.db').stat().st_size / 1e6:,.0f} MB; checks: {dict(stats.findings.counts) or 'no findings'}")
        _queries(folder / "graph.db", args.objects)


def _queries(path: Path, objects: int) -> None:
    db = open_index(path)
    rng = random.Random(11)
    times = []
    for _ in range(300):
        object_id = f"d{rng.randrange(objects - SPACES)}"
        started = time.perf_counter()
        [ref] = graph.find_objects(db, object_id, None)
        audience = graph.audience(db, ref)
        explain.audience_lines(audience, explain.user_rows(db, audience.users))
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    print(f"who-can-see (300 random objects, answer and explanation): median {statistics.median(times):.2f} ms, p95 {times[int(len(times) * 0.95)]:.2f} ms, max {times[-1]:.2f} ms")
    decide = []
    for _ in range(300):
        ref = graph.find_objects(db, f"d{rng.randrange(objects - SPACES)}", None)[0]
        started = time.perf_counter()
        graph.decide(db, ref, f"u{rng.randrange(USERS)}")
        decide.append((time.perf_counter() - started) * 1000)
    decide.sort()
    print(f"who-can-see --user (300): median {statistics.median(decide):.2f} ms, max {decide[-1]:.2f} ms")
    for user in ("u1", "u4242"):
        started = time.perf_counter()
        first = None
        count = 0
        for _ in graph.visible_to(db, user):
            count += 1
            if first is None:
                first = time.perf_counter() - started
        total = time.perf_counter() - started
        print(f"can-see {user}: {count:,} objects; first after {1000 * (first or 0):.1f} ms, all in {total:.2f}s ({count / total:,.0f} objects/s)")


if __name__ == "__main__":
    main()
