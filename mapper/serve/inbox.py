"""The inbox: every accepted delivery, durable (SQLite WAL, synchronous FULL) before its 2xx.

One SQLite file holds four tables:

- `deliveries`: body, the headers that matter, delivery id, event, received time, and the
  outcome once processed (pending → mapped | rejected | filtered, with diagnostics);
  UNIQUE(route, delivery_id) makes a redelivery an acknowledged no-op;
- `batches`: one sync run of the worker (route mapping, members, outbox folder, status
  running → done, exported, acked); the outbox is the list of done batches;
- `outcomes`: per (delivery, mapping) what that mapping made of it;
- `installations`: Connect installations (client key → shared secret, base URL).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

INBOX_FILE = "inbox.db"
PENDING, MAPPED, REJECTED, FILTERED = "pending", "mapped", "rejected", "filtered"
OUTCOMES = (MAPPED, REJECTED, FILTERED)
_ENTRY = "id, route, delivery_id, event, received, body"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
  id INTEGER PRIMARY KEY, route TEXT NOT NULL, delivery_id TEXT NOT NULL, event TEXT,
  received REAL NOT NULL, headers TEXT NOT NULL, body BLOB NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending', diagnostics TEXT, processed REAL,
  UNIQUE (route, delivery_id));
CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries (status, id);
CREATE TABLE IF NOT EXISTS batches (
  seq INTEGER PRIMARY KEY, mapping TEXT NOT NULL, members TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'running', created REAL NOT NULL, finished REAL,
  objects INTEGER NOT NULL DEFAULT 0, exported REAL, acked REAL);
CREATE TABLE IF NOT EXISTS outcomes (
  delivery INTEGER NOT NULL, mapping TEXT NOT NULL, batch INTEGER NOT NULL,
  outcome TEXT NOT NULL, diagnostics TEXT, PRIMARY KEY (delivery, mapping));
CREATE TABLE IF NOT EXISTS installations (
  client_key TEXT PRIMARY KEY, shared_secret TEXT NOT NULL, base_url TEXT,
  installed REAL NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class Entry:
    """One stored delivery, as the worker reads it."""

    id: int
    route: str
    delivery_id: str
    event: str | None
    received: float
    body: bytes


@dataclass(frozen=True, slots=True)
class Batch:
    """One sync run of the worker: the deliveries it mapped and the outbox folder it wrote."""

    seq: int
    mapping: str
    members: tuple[int, ...]
    status: str
    created: float
    objects: int
    exported: float | None
    acked: float | None


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating) the inbox; WAL with synchronous FULL: a commit survives a power cut."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.executescript(_SCHEMA)
    return conn


class Inbox:
    """One connection to the inbox file (one per thread: the server's and the worker's)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = connect(path)

    def close(self) -> None:
        self.conn.close()

    # -- intake -------------------------------------------------------------------------------

    def add(
        self, route: str, delivery_id: str, event: str | None, headers: Mapping[str, str],
        body: bytes, *, status: str = PENDING, diagnostics: Sequence[str] = (),
    ) -> int | None:  # fmt: skip
        """Store one delivery durably; its inbox id, or None when (route, delivery_id) was
        stored before."""
        now = time.time()
        cursor = self.conn.execute(
            "INSERT OR IGNORE INTO deliveries (route, delivery_id, event, received, headers, body,"
            " status, diagnostics, processed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (route, delivery_id, event, now, json.dumps(dict(headers)), body, status,
             json.dumps(list(diagnostics)) if diagnostics else None,
             None if status == PENDING else now),
        )  # fmt: skip
        return cursor.lastrowid if cursor.rowcount == 1 else None

    # -- the worker ---------------------------------------------------------------------------

    def pending(self, limit: int) -> list[Entry]:
        rows = self.conn.execute(
            f"SELECT {_ENTRY} FROM deliveries WHERE status='pending' ORDER BY id LIMIT ?",
            (limit,),
        )
        return [Entry(*row) for row in rows]

    def entries(self, ids: Iterable[int]) -> list[Entry]:
        wanted = sorted(set(ids))
        marks = ",".join("?" * len(wanted))
        rows = self.conn.execute(
            f"SELECT {_ENTRY} FROM deliveries WHERE id IN ({marks}) ORDER BY id",
            wanted,
        )
        return [Entry(*row) for row in rows]

    def done_for(self, mapping: str, ids: Sequence[int]) -> set[int]:
        """The deliveries among `ids` that `mapping` has already decided."""
        marks = ",".join("?" * len(ids))
        rows = self.conn.execute(
            f"SELECT delivery FROM outcomes WHERE mapping=? AND delivery IN ({marks})",
            (mapping, *ids),
        )
        return {row[0] for row in rows}

    def start_batch(self, mapping: str, members: Sequence[int]) -> int:
        cursor = self.conn.execute(
            "INSERT INTO batches (mapping, members, created) VALUES (?, ?, ?)",
            (mapping, json.dumps(list(members)), time.time()),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def running(self) -> list[Batch]:
        return self._batches("WHERE status='running'")

    def finish_batch(
        self, seq: int, mapping: str, outcomes: Mapping[int, list[str]], objects: int
    ) -> None:
        """Record a batch's outcome per member, idempotently, in one transaction."""
        with self._transaction():
            for delivery, diags in outcomes.items():
                self.conn.execute(
                    "INSERT OR REPLACE INTO outcomes VALUES (?, ?, ?, ?, ?)",
                    (delivery, mapping, seq, REJECTED if diags else MAPPED,
                     json.dumps(diags) if diags else None),
                )  # fmt: skip
            self.conn.execute(
                "UPDATE batches SET status='done', finished=?, objects=? WHERE seq=?",
                (time.time(), objects, seq),
            )

    def settle(self, expected: Mapping[int, int]) -> list[tuple[int, str]]:
        """Give each delivery whose every mapping has decided its final status.

        Args:
            expected: delivery -> how many mappings its event has.

        Returns:
            (delivery, status) of the deliveries settled now.
        """
        settled = []
        with self._transaction():
            for delivery, count in expected.items():
                rows = self.conn.execute(
                    "SELECT outcome, diagnostics FROM outcomes WHERE delivery=?", (delivery,)
                ).fetchall()
                if len(rows) < count:
                    continue
                diags = [d for _, text in rows if text for d in json.loads(text)]
                status = REJECTED if any(o == REJECTED for o, _ in rows) else MAPPED
                cursor = self.conn.execute(
                    "UPDATE deliveries SET status=?, diagnostics=?, processed=? WHERE id=? AND"
                    " status='pending'",
                    (status, json.dumps(diags) if diags else None, time.time(), delivery),
                )
                if cursor.rowcount:
                    settled.append((delivery, status))
        return settled

    def filter_out(self, delivery: int, reason: str) -> None:
        self.conn.execute(
            "UPDATE deliveries SET status='filtered', diagnostics=?, processed=? WHERE id=?",
            (json.dumps([reason]), time.time(), delivery),
        )

    # -- reading ------------------------------------------------------------------------------

    def prune(self, before: float) -> int:
        """Remove processed deliveries received before `before` (epoch seconds) and their
        outcome rows; pending ones and batches stay. Returns how many were removed."""
        done = "status IN ('mapped', 'rejected', 'filtered') AND received < ?"
        with self._transaction():
            self.conn.execute(
                f"DELETE FROM outcomes WHERE delivery IN (SELECT id FROM deliveries WHERE {done})",
                (before,),
            )
            cursor = self.conn.execute(f"DELETE FROM deliveries WHERE {done}", (before,))
        return cursor.rowcount

    def depth(self) -> int:
        row = self.conn.execute("SELECT count(*) FROM deliveries WHERE status='pending'")
        return int(row.fetchone()[0])

    def counts(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT status, count(*) FROM deliveries GROUP BY status")
        return dict(rows.fetchall())

    def statuses(self) -> dict[str, tuple[str, str | None]]:
        """delivery id -> (status, diagnostics JSON), every route (for tests and inspection)."""
        rows = self.conn.execute("SELECT route, delivery_id, status, diagnostics FROM deliveries")
        return {f"{r}/{d}": (s, diags) for r, d, s, diags in rows}

    def batches(self) -> list[Batch]:
        return self._batches("WHERE status='done'")

    def _batches(self, where: str) -> list[Batch]:
        rows = self.conn.execute(
            "SELECT seq, mapping, members, status, created, objects, exported, acked"
            f" FROM batches {where} ORDER BY seq"
        )
        return [
            Batch(seq, m, tuple(json.loads(members)), s, c, o, e, a)
            for seq, m, members, s, c, o, e, a in rows
        ]

    def mark(self, column: str, seqs: Iterable[int]) -> None:
        """Set `exported` or `acked` of done batches, in one transaction."""
        assert column in {"exported", "acked"}
        with self._transaction():
            now = time.time()
            for seq in seqs:
                self.conn.execute(f"UPDATE batches SET {column}=? WHERE seq=?", (now, seq))

    # -- Connect installations ------------------------------------------------------------------

    def install(self, client_key: str, shared_secret: str, base_url: str | None) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO installations VALUES (?, ?, ?, ?)",
            (client_key, shared_secret, base_url, time.time()),
        )

    def uninstall(self, client_key: str) -> None:
        self.conn.execute("DELETE FROM installations WHERE client_key=?", (client_key,))

    def installation_secret(self, client_key: str) -> bytes | None:
        row = self.conn.execute(
            "SELECT shared_secret FROM installations WHERE client_key=?", (client_key,)
        ).fetchone()
        return None if row is None else str(row[0]).encode()

    def _transaction(self) -> _Transaction:
        return _Transaction(self.conn)


class _Transaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *rest: object) -> None:
        self.conn.execute("COMMIT" if kind is None else "ROLLBACK")
