"""The sync stage: per finished object, decide whether it is sent, and with which number.

It sits in front of the setObjects batch sink as a `Sink`. Objects arrive one record's group at
a time; they are decided in chunks so the state is read with one query per type and chunk:

* new id (or one the state deleted): **created**, sent;
* same content hash as last emitted: **unchanged**, not sent (its number stays);
* changed: **updated** and sent (upsert, mirror), or **held back** (append never re-emits);
* a changed object whose updateSequenceNumber is not greater than the one last emitted gets
  last + 1 (`sync.sequence-raised`), so Teamwork Graph's last-write-wins keeps it;
* an id seen twice in one run is `sync.duplicate-id`; the later one wins (it is decided against
  the earlier one, so it gets a greater number when it differs);
* a parentKey/containerKey whose target is neither emitted in this run nor known in the state
  is `sync.dangling-reference`; when the target's type is one this run produces, the object
  waits until the end of the run, so it lands in a later batch than its container.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import Enum
from typing import Any

import orjson

from mapper.errors import Diagnostic
from mapper.io.sinks import Sink
from mapper.records import MappedObject
from mapper.sync.crash import crash_point
from mapper.sync.report import SyncReport
from mapper.sync.state import StateStore, StoredObject

HASH_EXCLUDED = frozenset({"updateSequenceNumber"})
"""Fields left out of the content hash: they change without the object changing."""
CHUNK = 1000  # objects decided together
CRASH_AFTER_OBJECTS = 100  # where the `objects-written` crash point is
REFERENCE_FIELDS = ("parentKey", "containerKey")

Key = tuple[str, str]  # (object type, id)


class Mode(str, Enum):
    """The sync fidelity a connector declares (manifest `capabilities.syncFidelity`)."""

    append = "append"  # new objects only
    upsert = "upsert"  # new and changed objects
    mirror = "mirror"  # new, changed and deleted objects


def canonical_json(payload: dict[str, Any], exclude: frozenset[str] = HASH_EXCLUDED) -> bytes:
    """The payload as JSON with sorted keys, without the excluded top-level fields."""
    kept = dict(payload)
    for name in exclude:
        kept.pop(name, None)
    try:
        return orjson.dumps(kept, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # integers beyond 64 bits
        import json

        return json.dumps(kept, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def content_hash(payload: dict[str, Any], exclude: frozenset[str] = HASH_EXCLUDED) -> bytes:
    """SHA-1 of the canonical JSON (a fingerprint, not a security measure: the fastest of
    hashlib's digests here, and 160 bits make a collision between two versions of one object
    practically impossible)."""
    return hashlib.sha1(canonical_json(payload, exclude)).digest()


def references(payload: dict[str, Any]) -> list[tuple[str, Key]]:
    """(field, (type, id)) of the parentKey/containerKey whose value has one field.

    A key with several value fields (e.g. a commit's repositoryId + commitHash) does not name
    the target's `id` directly and is not checked.
    """
    found = []
    for name in REFERENCE_FIELDS:
        key = payload.get(name)
        if isinstance(key, dict) and isinstance(key.get("value"), dict):
            values = list(key["value"].values())
            if len(values) == 1 and isinstance(values[0], str) and isinstance(key.get("type"), str):
                found.append((name, (key["type"], values[0])))
    return found


def epoch_ms(stamp: object) -> int | None:
    """Milliseconds of an RFC 3339 timestamp (the objects' lastUpdatedAt), or None."""
    if not isinstance(stamp, str):
        return None
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return int(when.timestamp() * 1000) if when.tzinfo else None


def is_later(stamp: str, than: str) -> bool:
    """True when timestamp `stamp` is after `than` ("" is before everything).

    Validated objects carry UTC timestamps (`...Z`, milliseconds when the source has them), so
    the text compares like the instant but for the fraction: `00Z` vs `00.5Z`.
    """
    if not than:
        return epoch_ms(stamp) is not None
    if stamp.endswith("Z") and than.endswith("Z"):
        if stamp[:19] != than[:19]:
            return stamp[:19] > than[:19]
        return float("0" + stamp[19:-1]) > float("0" + than[19:-1])
    return (epoch_ms(stamp) or 0) > (epoch_ms(than) or 0)


class SyncStage:
    """A `Sink` that decides per object what reaches `sink` and records it in the state."""

    def __init__(
        self,
        store: StateStore,
        sink: Sink,
        report: SyncReport,
        *,
        mode: Mode,
        produced_types: Iterable[str],
        exclude: frozenset[str] = HASH_EXCLUDED,
    ) -> None:
        self.store = store
        self.sink = sink
        self.report = report
        self.mode = mode
        self.run = report.run
        self.produced = frozenset(produced_types)
        self.exclude = exclude
        self.pending: list[tuple[MappedObject, ...]] = []
        self.pending_count = 0
        self.rows: dict[str, dict[str, StoredObject]] = {}
        self.puts: dict[str, list[tuple[str, bytes, int, str | None]]] = {}
        self.touches: dict[str, list[tuple[str, str | None]]] = {}
        self.refs: dict[int, list[tuple[str, Key]]] = {}  # by id() of the chunk's objects
        self.cursor = ""
        self.held_seq = 0
        self.emitted = 0
        store.conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS held (seq INTEGER PRIMARY KEY, type TEXT NOT NULL, "
            "id TEXT NOT NULL, rule TEXT NOT NULL, pointer TEXT NOT NULL, payload BLOB NOT NULL)"
        )
        store.conn.execute("CREATE INDEX IF NOT EXISTS temp.held_key ON held (type, id)")

    # -- the Sink protocol ---------------------------------------------------------------------

    def write(self, objects: Iterable[MappedObject]) -> None:
        """Take one record's objects; they are decided when a chunk is full."""
        group = tuple(objects)
        self.pending.append(group)
        self.pending_count += len(group)
        if self.pending_count >= CHUNK:
            self.flush()

    @property
    def count(self) -> int:
        """Objects sent so far."""
        return self.emitted

    def close(self) -> None:
        """Decide what is pending, release the objects that waited for their container, and
        close the sink behind."""
        self.flush()
        self._release_held()
        self.sink.close()

    def abort(self) -> None:
        """Drop what is pending and the sink's output (the run's transaction is rolled back by
        its owner)."""
        self.pending = []
        self.sink.abort()

    def __enter__(self) -> SyncStage:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()

    # -- deciding ------------------------------------------------------------------------------

    def flush(self) -> None:
        """Decide the pending groups, send what must be sent, record it in the state."""
        groups, self.pending, self.pending_count = self.pending, [], 0
        if not groups:
            return
        self._load_rows(groups)
        decided = [
            [d for d in (self._decide(obj) for obj in group) if d is not None] for group in groups
        ]
        if any(decided):
            self._load_targets(decided)
            held = self._held_among(decided)
            later = {_key(o) for sent in decided for o in sent}
            for group, sent in zip(groups, decided, strict=True):
                later.difference_update(_key(o) for o in sent)
                if sent:
                    self._send(sent, {_key(o) for o in group}, held, later)
        self._save_rows()
        self.refs = {}

    def _send(
        self, sent: list[MappedObject], group: set[Key], held: set[Key], later: set[Key]
    ) -> None:
        now = self._place(sent, group, held, later)
        if now:
            self.sink.write(now)
            self._count_emitted(len(now))

    def _count_emitted(self, n: int) -> None:
        before, self.emitted = self.emitted, self.emitted + n
        if before < CRASH_AFTER_OBJECTS <= self.emitted:
            crash_point("objects-written")

    def _load_rows(self, groups: Sequence[Sequence[MappedObject]]) -> None:
        wanted: dict[str, set[str]] = {}
        for group in groups:
            for obj in group:
                wanted.setdefault(obj.type_name, set()).add(str(obj.payload.get("id")))
        self.rows = {t: self.store.claim(t, sorted(ids), self.run) for t, ids in wanted.items()}

    def _references(self, obj: MappedObject) -> list[tuple[str, Key]]:
        """`references(obj.payload)`, worked out once per object of the chunk."""
        found = self.refs.get(id(obj))
        if found is None:
            found = self.refs[id(obj)] = references(obj.payload)
        return found

    def _load_targets(self, groups: Sequence[Sequence[MappedObject]]) -> None:
        """Add the reference targets of the objects to send to the rows at hand."""
        wanted: dict[str, set[str]] = {}
        for group in groups:
            for obj in group:
                for _, (ttype, tid) in self._references(obj):
                    if tid not in self.rows.get(ttype, {}):
                        wanted.setdefault(ttype, set()).add(tid)
        for ttype, ids in wanted.items():
            self.rows.setdefault(ttype, {}).update(self.store.lookup(ttype, sorted(ids)))

    def _held_among(self, groups: Sequence[Sequence[MappedObject]]) -> set[Key]:
        """Reference targets of these groups that wait in the held table themselves."""
        if not self.held_seq:
            return set()
        targets = {t for g in groups for o in g for _, t in self._references(o)}
        found: set[Key] = set()
        for ttype, tid in targets:
            sql = "SELECT 1 FROM held WHERE type=? AND id=? LIMIT 1"
            if self.store.conn.execute(sql, (ttype, tid)).fetchone():
                found.add((ttype, tid))
        return found

    def _decide(self, obj: MappedObject) -> MappedObject | None:
        payload = obj.payload
        oid = str(payload.get("id"))
        digest = content_hash(payload, self.exclude)
        usn = payload.get("updateSequenceNumber")
        usn = usn if isinstance(usn, int) else 0
        cursor = payload.get("lastUpdatedAt")
        cursor = cursor if isinstance(cursor, str) else None
        self._advance_cursor(cursor)
        known = self.rows.setdefault(obj.type_name, {}).get(oid)
        counts = self.report.counts(obj.type_name)
        if known is not None and known.run == self.run:
            self._note("sync.duplicate-id", obj, "appears again in this run; the later one wins")
        if known is None or known.deleted:
            counts.created += 1
        elif digest == known.hash or self.mode is Mode.append:
            if digest == known.hash:  # same content and lastUpdatedAt; `claim` marked it seen
                counts.unchanged += 1
            else:
                counts.held_back += 1
                self.touches.setdefault(obj.type_name, []).append((oid, cursor))
            self.rows[obj.type_name][oid] = StoredObject(known.hash, known.usn, self.run, False)
            return None
        else:
            counts.updated += 1
        if known is not None and usn <= known.usn:
            self._note(
                "sync.sequence-raised", obj,
                f"changed, but its updateSequenceNumber {usn} is not greater than the "
                f"{known.usn} last emitted; sent as {known.usn + 1}",
            )  # fmt: skip
            usn = known.usn + 1
            payload = {**payload, "updateSequenceNumber": usn}
            obj = MappedObject(obj.type_name, obj.rule, payload, obj.pointer)
        self.rows[obj.type_name][oid] = StoredObject(digest, usn, self.run, False)
        self.puts.setdefault(obj.type_name, []).append((oid, digest, usn, cursor))
        return obj

    def _advance_cursor(self, cursor: str | None) -> None:
        if cursor is not None and is_later(cursor, self.cursor):
            self.cursor = cursor

    def _note(self, code: str, obj: MappedObject, what: str) -> None:
        oid = obj.payload.get("id")
        self.report.note(Diagnostic(code, f"{obj.type_name} {oid!r} {what}", severity="warning"))

    def _save_rows(self) -> None:
        for type_name, touched in self.touches.items():  # before puts: a put of one id wins
            self.store.touch(type_name, touched, self.run)
        for type_name, rows in self.puts.items():
            self.store.put(type_name, rows, self.run)
        self.touches, self.puts = {}, {}

    # -- references ----------------------------------------------------------------------------

    def _place(
        self, decided: list[MappedObject], group: set[Key], held: set[Key], later: set[Key]
    ) -> list[MappedObject]:
        """The objects to send now; the others wait in the held table for their container.

        `held`: keys waiting in the held table (grows here); `later`: keys of this chunk that
        are sent by a later group (their row already says "seen in this run").
        """
        now = []
        for obj in decided:
            missing = []
            waits = False
            for name, target in self._references(obj):
                if target in group:
                    continue  # same record, same batch
                if target in held or target in later:
                    waits = True
                elif not self._is_known(target):
                    waits = waits or target[0] in self.produced
                    missing.append((name, target))
            if waits:  # its references are checked again when it is released
                self._hold(obj)
                held.add(_key(obj))
                continue
            for name, target in missing:
                self._dangling(obj, name, target)
            now.append(obj)
        return now

    def _is_known(self, target: Key) -> bool:
        row = self.rows.get(target[0], {}).get(target[1])
        return row is not None and (not row.deleted or row.run == self.run)

    def _dangling(self, obj: MappedObject, name: str, target: Key) -> None:
        code = "sync.dangling-reference"
        if len(self.report.examples.get(code, ())) >= 3 and len(self.report.errors) >= 20:
            self.report.findings[code] += 1  # counted; its examples are already kept
            return
        diag = Diagnostic(
            "sync.dangling-reference",
            f"{obj.type_name} {obj.payload.get('id')!r}: {name} points at {target[0]} "
            f"{target[1]!r}, which is neither emitted in this run nor known in the state",
            severity="warning",
            hint="emit it in the same run, or in an earlier run on this state",
        )
        self.report.note(diag)
        if len(self.report.errors) < 20:  # shown when --strict fails the run
            self.report.errors.append(diag)

    def _hold(self, obj: MappedObject) -> None:
        self.held_seq += 1
        self.store.conn.execute(
            "INSERT INTO held VALUES (?, ?, ?, ?, ?, ?)",
            (self.held_seq, obj.type_name, str(obj.payload.get("id")), obj.rule, obj.pointer,
             orjson.dumps(obj.payload)),
        )  # fmt: skip

    def _release_held(self) -> None:
        """Send the held objects in the order they came, after every container of the run."""
        if not self.held_seq:
            return
        rows = self.store.conn.execute("SELECT type, rule, pointer, payload FROM held ORDER BY seq")
        for type_name, rule, pointer, data in _fetch_all(rows):
            obj = MappedObject(type_name, rule, orjson.loads(data), pointer)
            for name, target in references(obj.payload):
                self.rows[target[0]] = self.store.lookup(target[0], [target[1]])
                if not self._is_known(target):
                    self._dangling(obj, name, target)
            self.report.counts(type_name).reordered += 1
            self.sink.write([obj])
        self.store.conn.execute("DELETE FROM held")


def _key(obj: MappedObject) -> Key:
    return obj.type_name, str(obj.payload.get("id"))


def _fetch_all(cursor: sqlite3.Cursor) -> Iterable[Any]:
    """Rows in slices, so a long held table is not read into memory at once."""
    while rows := cursor.fetchmany(CHUNK):
        yield from rows
