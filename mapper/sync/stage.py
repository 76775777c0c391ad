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
  waits until the end of the run, so it lands in a later batch than its container. A composed
  key (`keys.py`) is checked at the end of the run, against the state and everything the run
  sent.

Users and groups (`users:` / `groups:` rules) are decided the same way, named by their
`externalId` (kept as the types "user" and "group"), and sent to their own bodies; their
number is guarded only when the payload has one (a user may, a group has none).

The stage takes a record's objects as `MappedObject`s (`write`) or, from the run's shortcut for
records that map cleanly, as bare payloads in rule order with their input line's digest
(`write_payloads`). Inside, an object is an `Entry` tuple. An unchanged object costs one digest
and one read: nothing is written. A line whose objects the state holds unchanged is not even
mapped (`known_line`, the skip path: `lines.py`).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from datetime import datetime
from enum import Enum
from itertools import chain
from typing import Any, Protocol

import orjson

from mapper.errors import Diagnostic
from mapper.io.sinks import Companion
from mapper.model.identity import IDENTITY_KINDS
from mapper.records import KnownLine, MappedObject, no_line_known
from mapper.sync.crash import crash_point
from mapper.sync.cursor import CursorMax, cursor_value
from mapper.sync.digested import (
    Digested,
    Digester,
    digested,
    payload_of,
    references_of,
)
from mapper.sync.elsewhere import Elsewhere
from mapper.sync.fresh import FreshIds
from mapper.sync.keys import COMPOSED, Reference, own_key, references
from mapper.sync.report import MAX_EXAMPLES, SyncReport, TypeCounts
from mapper.sync.seen import Seen
from mapper.sync.state import Row, StateStore, StoredObject

_dumps, _SORT_KEYS, _sha1 = orjson.dumps, orjson.OPT_SORT_KEYS, hashlib.sha1

HASH_EXCLUDED = frozenset({"updateSequenceNumber"})
"""Fields left out of the content hash: they change without the object changing."""
CHUNK = 100
"""Objects decided together. Small, so a chunk's payloads are still in the CPU's caches when
they are decided: 1,000 made the first sync of 100k W1 records ~15 % slower (the same number
of instructions, each chunk's payloads fetched from memory again)."""
CRASH_AFTER_OBJECTS = 100  # where the `objects-written` crash point is
FAST_NEW = True
"""Decide the ids new to the state in `_decide_chunk`'s loop (False: each by `_decide`, the
general path; the tests compare the two)."""
KEY_INDEX_LATE = True
"""A run into an empty state builds the state's (type, id) index at the end (False: it keeps
the index from the start, as any other run; the tests compare the two)."""

DUPLICATE = "appears again in this run; the later wins"
Key = tuple[str, str]  # (object type, id)
Entry = tuple[str, str, Any, str, str, bytes | None]
"""type, rule, payload, pointer, id, the digest of the input line (None: not a clean record).
The payload is a dict, or a `Digested` object in its place (a worker worked it out,
`write_digested`): the loop for new ids takes that as it is, any other path its payload
(`_plain`)."""


CARRIED = {
    "atlassian:commit": "atlassian:repository",
    "atlassian:pull-request": "atlassian:repository",
}
"""Types whose container must be sent in the same payload (the reference), and its type."""
CONTAINERS = frozenset(CARRIED.values())
"""Types carried by others: the state keeps the payload last sent of each (`payloads`)."""


class Mode(str, Enum):
    """The sync fidelity a connector declares (manifest `capabilities.syncFidelity`)."""

    append = "append"  # new objects only
    upsert = "upsert"  # new and changed objects
    mirror = "mirror"  # new, changed and deleted objects


def canonical_json(payload: dict[str, Any], exclude: frozenset[str] = HASH_EXCLUDED) -> bytes:
    """The payload as JSON with sorted keys, without the excluded top-level fields."""
    if exclude.isdisjoint(payload):
        return _sorted_json(payload)
    kept = {k: v for k, v in payload.items() if k not in exclude}
    return _sorted_json(kept)


def _sorted_json(value: dict[str, Any]) -> bytes:
    try:
        return _dumps(value, option=_SORT_KEYS)
    except TypeError:  # integers beyond 64 bits
        import json

        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def content_hash(payload: dict[str, Any], exclude: frozenset[str] = HASH_EXCLUDED) -> bytes:
    """SHA-1 of the canonical JSON (a fingerprint, not a security measure: the fastest of
    hashlib's digests here, and 160 bits make a collision between two versions of one object
    practically impossible)."""
    return hashlib.sha1(canonical_json(payload, exclude)).digest()


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
        sink: PayloadSink,
        report: SyncReport,
        *,
        mode: Mode,
        rules: Sequence[tuple[str, str]],
        exclude: frozenset[str] = HASH_EXCLUDED,
        cursor: CursorMax | None = None,
        line_key: str = "",
        elsewhere: Elsewhere | None = None,
    ) -> None:
        self.store = store
        self.elsewhere = elsewhere
        """The batch's other states: a reference to what they hold live is not dangling."""
        self.known_elsewhere: set[Key] = set()
        self.sink = sink
        self.report = report
        self.mode = mode
        self.run = report.run
        self.rules = tuple(rules)  # (type, rule name) of the plan's rules, for `write_payloads`
        self.produced = frozenset(type_name for type_name, _ in rules)
        self.id_keys = tuple(_id_key(type_name) for type_name, _ in rules)
        self.identities = self.produced & IDENTITY_KINDS.keys()
        """The identity kinds the run makes ("user", "group"): sent in their own bodies."""
        self.exclude = exclude
        self.seen = Seen(store.next_n)
        self.pending: list[list[Entry]] = []
        self.pending_count = 0
        self.pending_keys: set[Key] = set()  # (kept only when lines can be known: `skipping`)
        self.pending_marks: list[str | None] = []  # per pending group: its `cursor:` value
        self.group_open = False  # the last pending group waits for its record's `cursor:` value
        self.mark: str | None = None  # the `cursor:` value of the group being decided
        self.rows: dict[str, dict[str, StoredObject]] = {}
        self.puts: dict[str, list[Row]] = {}
        self.touches: list[tuple[int, str | None]] = []  # (row number, cursor)
        self.relines: list[tuple[bytes, str | None, int]] = []
        """(line, mark, row number) of unchanged objects made by another line this run."""
        self.refs: dict[int, list[Reference]] = {}  # by id() of the chunk's payloads
        self.type_counts: dict[str, TypeCounts] = {}
        self.cursor = ""  # the highest lastUpdatedAt
        self.cursor_max = cursor
        """The highest value of the mapping's `cursor:` (the run stage hands the values in)."""
        self.held_seq = 0
        self.companions: dict[Key, dict[str, Any] | None] = {}
        """Containers to carry: the payload this run sent, or the one last sent that this state
        or another of the batch holds (None: none is held; looked up once per run)."""
        self.kept_payloads: list[tuple[int, bytes]] = []  # (row number, JSON) to save
        self.carrying = False  # a container is known (with its payload or not): `_needs` looks
        self.deferred = 0  # composed-key references waiting for the end of the run
        self.emitted = 0
        self.fresh = {t: FreshIds() for t in self.produced if t not in store.type_ids}
        """Per type the state held no row of when the run began: the ids this run recorded
        (any other is certainly not in the state: no query needed)."""
        for statement in _TEMP_TABLES:
            store.conn.execute(statement)
        if store.meta.get("lineKey", "") != line_key:  # digests of another mapping or mapper
            store.forget_lines()
            store.set_meta("lineKey", line_key)
        empty = not store.type_ids
        if empty:  # no line can be known: the line index is built at the end, in one pass,
            store.drop_line_index()  # and so is the key index (every type is in `fresh`)
            if KEY_INDEX_LATE:
                store.drop_key_index()
        self.skipping = bool(line_key) and not empty
        self.known_line: KnownLine | None = None if not line_key else (
            self._known_line if self.skipping else no_line_known
        )  # fmt: skip
        """The skip path's check for the reader (None: this run records no line digests)."""
        self.rule_tids = sorted(store.type_ids.get(t, -1) for t, _ in self.rules)

    # -- the Sink protocol ---------------------------------------------------------------------

    def write(self, objects: Iterable[MappedObject]) -> None:
        """Take one record's objects; they are decided when a chunk is full."""
        group: list[Entry] = [
            (o.type_name, o.rule, o.payload, o.pointer, _id(o.payload, _id_key(o.type_name)), None)
            for o in objects
        ]
        self._add(group)

    def write_payloads(self, payloads: list[dict[str, Any]], line: bytes | None = None) -> None:
        """Take one record's payloads, one per rule in rule order (the run's shortcut), with the
        digest of its input line when the reader gave it."""
        group = []
        for (t, r), key, p in zip(self.rules, self.id_keys, payloads, strict=True):
            oid = p.get(key)
            group.append((t, r, p, "", oid if type(oid) is str else str(oid), line))
        self._add(group)

    def digester(self) -> Digester | None:
        """What worker processes use to work objects out for `write_digested` (None: the
        bodies rewrite associations into the set form, which takes the payloads themselves)."""
        if getattr(self.sink, "set_associations", False):
            return None
        return Digester(self.exclude)

    def write_digested(self, objects: Sequence[tuple[Any, ...]], line: bytes | None = None) -> None:
        """Take one record's objects as a worker worked them out (`write_payloads`' payloads,
        each the plain tuple a `digested.Digester` gives)."""
        group: list[Entry] = []
        for (t, r), fields in zip(self.rules, objects, strict=True):
            d = digested(fields)
            group.append((t, r, d, "", d.oid, line))
        self._add(group)

    def _add(self, group: list[Entry]) -> None:
        if group:
            if self.pending_count >= CHUNK:  # (before: the new group waits for its cursor value)
                self.flush()
            self.pending.append(group)
            self.pending_marks.append(None)
            self.group_open = True
            self.pending_count += len(group)
            if self.skipping:
                self.pending_keys.update((e[0], e[4]) for e in group)

    def _known_line(self, line: bytes, source: str, index: int) -> bool:
        """True when the state holds this input line's objects as it maps them now: they are
        counted unchanged and marked seen, and the line is not mapped (`lines.py`)."""
        rows = self.store.line_objects(line)
        if len(rows) != len(self.rule_tids):
            return False
        seen, pending, names = self.seen, self.pending_keys, self.store.type_names
        for tid, oid, n, deleted, _, _ in rows:
            if deleted or n in seen or (names[tid], oid) in pending:
                return False  # (decided by the general path, in the run's order)
        if sorted(row[0] for row in rows) != self.rule_tids:
            return False  # (not the plan's types: the key rules it out, but it is one compare)
        for tid, _, n, _, cursor, _ in rows:
            seen.add(n)
            type_name = names[tid]
            (self.type_counts.get(type_name) or self._counts(type_name)).unchanged += 1
            if cursor is not None and cursor != self.cursor:
                self._take_stamp(cursor)
        if self.cursor_max is not None:  # the value the record's `cursor:` gave when it was mapped
            mark = rows[0][5]
            self.cursor_max.take(None if mark is None else json.loads(mark), source, index)
        self.report.records_known += 1
        return True

    def take_cursor(self, value: object, source: str, index: int) -> None:
        """Take the value of the mapping's `cursor:` for one record that was mapped or filtered
        (ignored when the run was not given a `CursorMax`)."""
        if self.cursor_max is None:
            return
        self.cursor_max.take(value, source, index)
        if not self.group_open:  # (a filtered record: it has no objects)
            return
        self.group_open = False
        if value is None:
            return
        if cursor_value(value) is None:  # a finding each run: its line is not recorded
            self.pending[-1] = [(*e[:5], None) for e in self.pending[-1]]
        else:
            self.pending_marks[-1] = json.dumps(value)

    @property
    def count(self) -> int:
        """Objects sent so far."""
        return self.emitted

    def close(self) -> None:
        """Decide what is pending, release the objects that waited for their container, check
        the composed-key references, and close the sink behind."""
        self.flush()
        self._release_held()
        self._check_deferred()
        self.store.ensure_key_index()
        self.store.ensure_line_index()
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
        marks, self.pending_marks, self.group_open = self.pending_marks, [], False
        self.pending_keys.clear()
        if not groups:
            return
        self._load_rows(groups)
        decided = self._decide_chunk(groups, marks)
        if self.identities:
            decided = self._send_identities(decided)
        if self.mode is not Mode.append:
            decided = [  # (only a record with objects not sent can carry one of them)
                self._carry(g, sent) if sent and len(sent) < len(g) else sent
                for g, sent in zip(groups, decided, strict=True)
            ]
        refs = {id(e): references_of(e[2]) for sent in decided for e in sent}
        self.refs = refs
        if refs:
            distinct = set(chain.from_iterable(refs.values()))  # (a few containers, often)
            self._load_targets(distinct)
            self._load_companions(distinct)
            if any(ref.type in self.produced for ref in distinct):  # then the order matters
                self._send_in_order(groups, decided)  # (held objects are of produced types)
            else:
                self._send_unordered(decided, self._unknown_among(distinct))
        self._save_rows()
        self.refs = {}

    def _send_identities(self, decided: list[list[Entry]]) -> list[list[Entry]]:
        """Send the users and groups to send to their own bodies; the objects are left. (They
        reference nothing that the state checks: a group's members name users by externalId.)"""
        kept = []
        for sent in decided:
            objects = []
            for entry in sent:
                if entry[0] in IDENTITY_KINDS:
                    self.sink.add_identities(entry[0], [entry[2]])
                    self._count_emitted(1)
                else:
                    objects.append(entry)
            kept.append(objects)
        return kept

    def _carry(self, group: list[Entry], sent: list[Entry]) -> list[Entry]:
        """A commit's (a pull request's) repository travels "as a separate entity in the same
        payload": an unchanged one mapped from the same record goes with it again, with the
        number last sent for it. (Not in append mode, which never re-emits a known id.)"""
        wanted = {
            (ref.type, ref.id)
            for entry in sent
            if entry[0] in CARRIED
            for ref in references_of(entry[2])
            if ref.field == "containerKey" and ref.type == CARRIED[entry[0]] and ref.id
        }
        if not wanted:
            return sent
        wanted.difference_update(_key(e) for e in sent)
        extra = [self._again(e) for e in group if _key(e) in wanted]
        return [*extra, *sent] if extra else sent

    def _again(self, entry: Entry) -> Entry:
        """An unchanged entry sent again: with the number the state holds for it, counted."""
        type_name, rule, payload, pointer, oid, line = _plain(entry)
        known = self.rows[type_name].get(oid)
        counts = self.type_counts.get(type_name) or self._counts(type_name)
        counts.carried += 1
        if known is not None and payload.get("updateSequenceNumber") != known.usn:
            payload = {**payload, "updateSequenceNumber": known.usn}
        return (type_name, rule, payload, pointer, oid, line)

    def _send_in_order(self, groups: list[list[Entry]], decided: list[list[Entry]]) -> None:
        """Send the groups so that a reference to an object of this run is sent after it."""
        held = self._held_among()
        later = {_key(e) for sent in decided for e in sent}
        for group, sent in zip(groups, decided, strict=True):
            if sent:
                later.difference_update(_key(e) for e in sent)
                self._send(sent, {_key(e) for e in group}, held, later)

    def _send_unordered(self, decided: list[list[Entry]], unknown: AbstractSet[Reference]) -> None:
        """Send the groups as they come: no reference points at a type this run produces (what
        `_place` does then, without the sets it needs for the order). `unknown`: the chunk's
        references whose target is neither known nor sent (each decided once, not per object)."""
        refs, counted_only = self.refs, self._dangling_counted_only
        quiet, quietly = counted_only(), 0  # (then a dangling reference is only counted)
        groups = []
        carrying = self.carrying and self.mode is not Mode.append  # (never re-emits a known id)
        needs: list[list[Companion]] = []
        for sent in decided:
            if not sent:
                continue
            for entry in sent:
                for ref in refs[id(entry)]:
                    if ref.id is None:
                        self._defer(entry, ref)
                    elif ref in unknown:
                        if quiet:
                            quietly += 1
                        else:
                            self._dangling(entry, ref)
                            quiet = counted_only()
            groups.append([e[2] for e in sent])  # (a Digested one too: `bodies`)
            if carrying:
                needs.append(self._needs(sent))
        if quietly:
            self.report.findings[_DANGLING] += quietly
        if groups:
            placed = self.sink.add_groups(groups, needs if carrying else None)
            self._count_emitted(sum(map(len, groups)))
            self._count_carried(placed)

    def _unknown_among(self, refs: AbstractSet[Reference]) -> set[Reference]:
        """The one-field references whose target is neither in the state nor sent by the run."""
        known = self._is_known
        return {ref for ref in refs if ref.id is not None and not known((ref.type, ref.id))}

    def _send(
        self, sent: list[Entry], group: AbstractSet[Key], held: AbstractSet[Key],
        later: AbstractSet[Key],
    ) -> None:  # fmt: skip
        now = self._place(sent, group, held, later)
        if now:
            placed = self.sink.add([e[2] for e in now], self._needs(now))
            self._count_emitted(len(now))
            self._count_carried(placed)

    def _needs(self, sent: list[Entry]) -> list[Companion]:
        """The containers to send with these objects, one record's: each commit's (pull
        request's) repository that is not among them, when a state holds its payload; one that
        is known without it is `sync.not-carried`."""
        if not self.carrying or self.mode is Mode.append:  # (append never re-emits a known id)
            return []
        needs: list[Companion] = []
        have = None
        for entry in sent:
            wanted = CARRIED.get(entry[0])
            if wanted is None:
                continue
            for ref in self.refs.get(id(entry)) or references_of(entry[2]):
                if ref.field != "containerKey" or ref.type != wanted or not ref.id:
                    continue
                key = (ref.type, ref.id)
                have = have or {_key(e) for e in sent}
                if key in have or key not in self.companions:
                    continue
                payload = self.companions[key]
                if payload is not None:
                    needs.append((key, payload))
                    have.add(key)
                elif self._is_known(key):
                    self._note_not_carried(entry, ref)
        return needs

    def _note_not_carried(self, entry: Entry, ref: Reference) -> None:
        self._note(
            "sync.not-carried", entry,
            f"is sent without its {ref.type} {ref.id!r} in the same body: the state knows it, "
            "but not the payload last sent (it was sent by an older mapper; it is carried once "
            "its own mapping sends it again)",
        )  # fmt: skip

    def _count_carried(self, placed: list[str]) -> None:
        """Count the companions the sink put in its bodies (`_needs`)."""
        for type_name in placed:
            (self.type_counts.get(type_name) or self._counts(type_name)).carried += 1
        if placed:
            self._count_emitted(len(placed))

    def _load_companions(self, refs: Iterable[Reference]) -> None:
        """Find the payloads last sent of the containers these references name, not yet looked
        up in this run: in the state, then in the batch's other states."""
        wanted: dict[str, list[str]] = {}
        for ref in refs:
            container = ref.field == "containerKey" and ref.type in CONTAINERS and ref.id
            if container and (ref.type, ref.id) not in self.companions:
                wanted.setdefault(ref.type, []).append(ref.id)  # type: ignore[arg-type]
        for type_name, ids in wanted.items():
            ids = list(dict.fromkeys(ids))
            found = self.store.payloads_of(type_name, ids)
            if self.elsewhere:
                rest = [i for i in ids if i not in found]
                found.update(self.elsewhere.payloads_of(type_name, rest))
            for oid in ids:
                sent = found.get(oid)
                key = (type_name, oid)
                self.companions[key] = None if sent is None else orjson.loads(sent[1])
                self.carrying = self.carrying or sent is not None or self._is_known(key)

    def _keep_payload(self, type_name: str, oid: str, n: int, payload: Any) -> None:
        """A container this run sends: carried as sent from now on, and kept in the state."""
        plain = payload_of(payload) if type(payload) is Digested else payload
        self.companions[(type_name, oid)] = plain
        self.kept_payloads.append((n, _json(payload)))
        self.carrying = True

    def _count_emitted(self, n: int) -> None:
        before, self.emitted = self.emitted, self.emitted + n
        if before < CRASH_AFTER_OBJECTS <= self.emitted:
            crash_point("objects-written")

    def _load_rows(self, groups: Sequence[Sequence[Entry]]) -> None:
        wanted: dict[str, list[str]] = {}
        for group in groups:
            for entry in group:
                ids = wanted.get(entry[0])
                if ids is None:
                    ids = wanted[entry[0]] = []
                ids.append(entry[4])
        rows = self.rows = {}
        for type_name, ids in wanted.items():
            rows[type_name] = self._lookup(type_name, ids)

    def _lookup(self, type_name: str, ids: Sequence[str]) -> dict[str, StoredObject]:
        """`store.lookup`; of a type new to the state, only the rows this run recorded, found
        by number (most often none: no query)."""
        fresh = self.fresh.get(type_name)
        if fresh is None:
            return self.store.lookup(type_name, ids)
        numbers = fresh.rows_of(ids)
        return self.store.lookup_rows(type_name, numbers, ids) if numbers else {}

    def _references(self, entry: Entry) -> list[Reference]:
        """The references of an object of the chunk (worked out once, in `flush`)."""
        return self.refs[id(entry)]

    def _load_targets(self, refs: AbstractSet[Reference]) -> None:
        """Add the targets of the chunk's (distinct) references to the rows at hand."""
        wanted: dict[str, set[str]] = {}
        for ref in refs:
            if ref.id is not None and ref.id not in self.rows.get(ref.type, ()):
                wanted.setdefault(ref.type, set()).add(ref.id)
        for ttype, ids in wanted.items():
            found = self._lookup(ttype, list(ids))
            self.rows.setdefault(ttype, {}).update(found)
            if self.elsewhere:  # (another job of the batch may hold the target)
                self._look_elsewhere(ttype, [i for i in ids if i not in found or found[i].deleted])

    def _look_elsewhere(self, type_name: str, ids: list[str]) -> None:
        """Note which of these targets another state of the batch holds live."""
        assert self.elsewhere is not None
        new = [i for i in ids if (type_name, i) not in self.known_elsewhere]
        held = self.elsewhere.knows(type_name, new) if new else set()
        self.known_elsewhere.update((type_name, i) for i in held)

    def _held_among(self) -> set[Key]:
        """Reference targets of the chunk that wait in the held table themselves."""
        if not self.held_seq:
            return set()
        targets = {(r.type, r.id) for found in self.refs.values() for r in found if r.id}
        found: set[Key] = set()
        for ttype, tid in targets:
            sql = "SELECT 1 FROM held WHERE type=? AND id=? LIMIT 1"
            if self.store.conn.execute(sql, (ttype, tid)).fetchone():
                found.add((ttype, tid))
        return found

    def _take_stamp(self, cursor: str) -> None:
        """Move the run's cursor to this lastUpdatedAt when it is later."""
        last = self.cursor
        if len(cursor) == len(last) and cursor[-1] == last[-1] == "Z":
            if cursor > last:  # the same UTC layout: the text compares as the time
                self.cursor = cursor
        elif is_later(cursor, last):
            self.cursor = cursor

    def _decide_chunk(
        self, groups: list[list[Entry]], marks: list[str | None]
    ) -> list[list[Entry]]:
        """Decide the chunk's groups: per group, the entries to send. An id the state does not
        hold (nor an earlier object of the run) is created: decided here, in one loop (with
        `FAST_NEW`); any other goes through `_decide`."""
        decide, digest_of = self._decide, self._digest
        rows_of, type_counts, puts, fast = self.rows, self.type_counts, self.puts, FAST_NEW
        exclude, store, seen = self.exclude, self.store, self.seen
        only = next(iter(exclude)) if len(exclude) == 1 else None  # (the one field left out)
        bits, with_marks = seen.bits, self.cursor_max is not None  # (no `cursor:`: no marks)
        decided = []
        for group, mark in zip(groups, marks, strict=True):
            self.mark = mark
            sent = []
            for entry in group:
                type_name, _, payload, _, oid, line = entry
                known_rows = rows_of[type_name]
                if not fast or oid in known_rows:
                    if (done := decide(_plain(entry))) is not None:
                        sent.append(done)
                    bits = seen.bits
                    continue
                # created: `_decide` for an id the state does not hold, inlined: the digest,
                # the cursor, a new number marked seen, the row (`_record`)
                if type(payload) is Digested:  # (worked out by a worker)
                    digest, usn = payload.digest, payload.usn
                    cursor, ref = payload.cursor, payload.own
                else:
                    digest, usn, cursor, ref = _facts(type_name, payload, only, digest_of)
                if cursor is not None and cursor != self.cursor:
                    self._take_stamp(cursor)
                (type_counts.get(type_name) or self._counts(type_name)).created += 1
                n = store.next_n
                store.next_n = n + 1
                if (n >> 3) < len(bits):
                    bits[n >> 3] |= 1 << (n & 7)
                else:
                    seen.add(n)
                    bits = seen.bits
                known_rows[oid] = _new_tuple(StoredObject, (digest, usn, n, False, line))
                if type_name in CONTAINERS:
                    self._keep_payload(type_name, oid, n, payload)
                row: Row = (oid, n, _blob(digest), usn, cursor, ref, line and _blob(line))
                if with_marks:
                    row += (mark,)
                (puts.get(type_name) or puts.setdefault(type_name, [])).append(row)
                sent.append(entry)
            decided.append(sent)
        return decided

    def _cursor_of(self, payload: dict[str, Any]) -> str | None:
        """The object's lastUpdatedAt (None when it has none), the run's cursor moved to it."""
        cursor = payload.get("lastUpdatedAt")
        if type(cursor) is not str:
            return None
        if cursor != self.cursor:
            self._take_stamp(cursor)
        return cursor

    def _new_number(self) -> int:
        """The next row number of the state, marked seen by this run."""
        store = self.store
        n = store.next_n
        store.next_n = n + 1
        self.seen.add(n)
        return n

    def _record(
        self, type_name: str, oid: str, payload: dict[str, Any], n: int, digest: bytes,
        usn: int, cursor: str | None, line: bytes | None,
    ) -> None:  # fmt: skip
        """Keep an object to send: its row for the rest of the run, and the row to put."""
        self.rows[type_name][oid] = _new_tuple(StoredObject, (digest, usn, n, False, line))
        if type_name in CONTAINERS:
            self._keep_payload(type_name, oid, n, payload)
        ref = own_key(type_name, payload) if type_name in COMPOSED else None
        row: Row = (oid, n, _blob(digest), usn, cursor, ref, line and _blob(line))
        if self.cursor_max is not None:
            row += (self.mark,)
        puts = self.puts
        (puts.get(type_name) or puts.setdefault(type_name, [])).append(row)

    def _decide(self, entry: Entry) -> Entry | None:
        type_name, rule, payload, pointer, oid, line = entry
        digest = self._digest(payload)
        cursor = self._cursor_of(payload)
        known = self.rows[type_name].get(oid)
        counts = self.type_counts.get(type_name) or self._counts(type_name)
        seen = self.seen
        if known is None:
            n = self._new_number()
            counts.created += 1
        else:
            n = known.n
            if n in seen:  # (a user or group listed again as it was is no finding: members)
                if type_name not in IDENTITY_KINDS or digest != known.hash:
                    self._note("sync.duplicate-id", entry, DUPLICATE)
            else:
                seen.add(n)
            if known.deleted:
                counts.created += 1
            elif digest == known.hash:
                counts.unchanged += 1
                if line is not None and line != known.line:  # (the same object, another line)
                    self.relines.append((line, self.mark, n))
                return None
            elif self.mode is Mode.append:
                counts.held_back += 1
                self.touches.append((n, cursor))
                return None
            else:
                counts.updated += 1
        usn = payload.get("updateSequenceNumber")
        numbered = isinstance(usn, int) or type_name not in IDENTITY_KINDS
        usn = usn if isinstance(usn, int) else 0
        if not numbered and known is not None:  # (kept: a later number must still exceed it)
            usn = known.usn
        elif known is not None and usn <= known.usn:
            what = "comes back after its delete" if known.deleted else "changed"
            self._note(
                "sync.sequence-raised", entry,
                f"{what}, but its updateSequenceNumber {usn} is not greater than the "
                f"{known.usn} last emitted; sent as {known.usn + 1}",
            )  # fmt: skip
            usn = known.usn + 1
            payload = {**payload, "updateSequenceNumber": usn}
            entry = (type_name, rule, payload, pointer, oid, line)
        self._record(type_name, oid, payload, n, digest, usn, cursor, line)
        return entry

    def _digest(self, payload: dict[str, Any]) -> bytes:
        """`content_hash(payload)` (`digest_in_place`)."""
        return digest_in_place(payload, self.exclude)

    def _counts(self, type_name: str) -> TypeCounts:
        counts = self.type_counts[type_name] = self.report.counts(type_name)
        return counts

    def _note(self, code: str, entry: Entry, what: str) -> None:
        self.report.note(Diagnostic(code, f"{entry[0]} {entry[4]!r} {what}", severity="warning"))

    def _save_rows(self) -> None:
        if self.touches:  # before puts: a put of one id wins
            self.store.touch(self.touches, self.run)
        if self.relines:
            self.store.set_lines(self.relines)
        for type_name, rows in self.puts.items():
            fresh = self.fresh.get(type_name)
            if fresh is not None:  # (before `put`, which may sort the rows)
                fresh.add_rows(rows)
            self.store.put(type_name, rows, self.run, marks=self.cursor_max is not None)
        if self.kept_payloads:
            self.store.put_payloads(self.kept_payloads)
            self.kept_payloads = []
        self.touches, self.puts, self.relines = [], {}, []

    # -- references ----------------------------------------------------------------------------

    def _place(
        self,
        decided: list[Entry],
        group: AbstractSet[Key],
        held: AbstractSet[Key],
        later: AbstractSet[Key],
    ) -> list[Entry]:
        """The objects to send now; the others wait in the held table for their container.

        `held`: keys waiting in the held table (grows here); `later`: keys of this chunk that
        are sent by a later group (their row already says "seen in this run").
        """
        now = []
        for entry in decided:
            missing = []  # (composed keys are checked at the end, once it is sent)
            waits = False
            for ref in self._references(entry):
                if ref.id is None:
                    missing.append(ref)
                    continue
                target = (ref.type, ref.id)
                if target in group:
                    continue  # same record, same batch
                if target in held or target in later:
                    waits = True
                elif not self._is_known(target):
                    waits = waits or ref.type in self.produced
                    missing.append(ref)
            if waits:  # its references are checked again when it is released
                self._hold(entry)
                assert isinstance(held, set)  # (only an ordered chunk holds back: its set)
                held.add(_key(entry))
                continue
            for ref in missing:
                if ref.id is None:
                    self._defer(entry, ref)
                else:
                    self._dangling(entry, ref)
            now.append(entry)
        return now

    def _is_known(self, target: Key) -> bool:
        row = self.rows.get(target[0], {}).get(target[1])
        if row is not None and (not row.deleted or row.n in self.seen):
            return True
        return target in self.known_elsewhere

    def _dangling_counted_only(self) -> bool:
        """True when a dangling reference is only counted: its examples are already kept, and
        so are the errors shown when --strict fails the run (both only grow)."""
        report = self.report
        return len(report.examples.get(_DANGLING, ())) >= MAX_EXAMPLES and len(report.errors) >= 20

    def _dangling(self, entry: Entry, ref: Reference) -> None:
        code = _DANGLING
        if self._dangling_counted_only():
            self.report.findings[code] += 1  # counted; its examples are already kept
            return
        diag = Diagnostic(
            code,
            f"{entry[0]} {_shown_id(entry[2])!r}: {ref.field} points at {ref.type} "
            f"{ref.shown!r}, which is neither emitted in this run nor known in the state",
            severity="warning",
            hint="emit it in the same run, or in an earlier run on this state",
        )
        self.report.note(diag)
        if len(self.report.errors) < 20:  # shown when --strict fails the run
            self.report.errors.append(diag)

    def _defer(self, entry: Entry, ref: Reference) -> None:
        """A composed-key reference: checked at the end of the run (or not at all)."""
        if ref.ref is None:
            self._note(
                "sync.unchecked-reference", entry,
                f"{ref.field}: a {ref.type} key of the fields {ref.shown} is not checked "
                "(mapper knows how the objects of that type are keyed only for "
                f"{', '.join(sorted(COMPOSED))})",
            )  # fmt: skip
            return
        self.deferred += 1
        self.store.conn.execute(
            "INSERT INTO deferred VALUES (?, ?, ?, ?, ?, ?, 0)",
            (ref.type, ref.ref, entry[0], entry[4], ref.field, ref.shown),
        )

    def _check_deferred(self) -> None:
        """Report the composed-key references whose target is neither sent by this run nor
        live in the state (both are in the state by now)."""
        if not self.deferred:
            return
        conn = self.store.conn
        self.store.index_refs()
        for (ttype,) in conn.execute("SELECT DISTINCT type FROM deferred").fetchall():
            sql = "SELECT DISTINCT ref FROM deferred WHERE type=?"
            refs = [r for (r,) in conn.execute(sql, (ttype,)).fetchall()]
            live = self.store.live_refs(ttype, refs)
            if self.elsewhere:
                live |= self.elsewhere.live_refs(ttype, [r for r in refs if r not in live])
            missing = [(ttype, r) for r in refs if r not in live]
            conn.executemany("UPDATE deferred SET missing=1 WHERE type=? AND ref=?", missing)
        sql = "SELECT source_type, source_id, field, type, shown FROM deferred WHERE missing=1"
        for source_type, source_id, name, ttype, shown in _slices(conn.execute(sql), flat=True):
            entry = (source_type, "", {"id": source_id}, "", source_id, None)
            self._dangling(entry, Reference(name, ttype, None, None, shown))
        conn.execute("DELETE FROM deferred")

    def _hold(self, entry: Entry) -> None:
        self.held_seq += 1
        type_name, rule, payload, pointer, oid, _ = entry
        self.store.conn.execute(
            "INSERT INTO held VALUES (?, ?, ?, ?, ?, ?)",
            (self.held_seq, type_name, oid, rule, pointer, _json(payload)),
        )

    def _release_held(self) -> None:
        """Send the held objects in the order they came, after every container of the run."""
        if not self.held_seq:
            return
        sql = "SELECT type, rule, pointer, payload, id FROM held ORDER BY seq"
        for type_name, rule, pointer, data, oid in _slices(self.store.conn.execute(sql), flat=True):
            entry = (type_name, rule, orjson.loads(data), pointer, oid, None)
            for ref in references(entry[2]):
                if ref.id is None:
                    self._defer(entry, ref)
                    continue
                self.rows[ref.type] = self._lookup(ref.type, [ref.id])
                if self.elsewhere:
                    self._look_elsewhere(ref.type, [ref.id])
                if not self._is_known((ref.type, ref.id)):
                    self._dangling(entry, ref)
            self.report.counts(type_name).reordered += 1
            self._load_companions(references_of(entry[2]))
            self._count_carried(self.sink.add([entry[2]], self._needs([entry])))
            self._count_emitted(1)
        self.store.conn.execute("DELETE FROM held")


class PayloadSink(Protocol):
    """Where the sync stage sends the objects to emit (`bodies.SetObjectsLines`)."""

    def add(self, payloads: list[dict[str, Any]], needs: Sequence[Companion] = ()) -> list[str]: ...
    def add_groups(
        self, groups: list[list[dict[str, Any]]],
        needs: Sequence[Sequence[Companion]] | None = None,
    ) -> list[str]: ...  # fmt: skip
    def add_identities(self, kind: str, payloads: list[dict[str, Any]]) -> None: ...
    def close(self) -> None: ...
    def abort(self) -> None: ...


_TEMP_TABLES = (
    "CREATE TEMP TABLE IF NOT EXISTS held (seq INTEGER PRIMARY KEY, type TEXT NOT NULL, "
    "id TEXT NOT NULL, rule TEXT NOT NULL, pointer TEXT NOT NULL, payload BLOB NOT NULL)",
    "CREATE INDEX IF NOT EXISTS temp.held_key ON held (type, id)",
    "CREATE TEMP TABLE IF NOT EXISTS deferred (type TEXT NOT NULL, ref INTEGER NOT NULL, "
    "source_type TEXT NOT NULL, source_id TEXT NOT NULL, field TEXT NOT NULL, "
    "shown TEXT NOT NULL, missing INTEGER NOT NULL DEFAULT 0)",
)


_DANGLING = "sync.dangling-reference"
_blob = bytearray  # a digest as a row binds it (`state.Row`)
_new_tuple = tuple.__new__  # a StoredObject without NamedTuple's Python-level __new__


def _id(payload: dict[str, Any], key: str = "id") -> str:
    oid = payload.get(key)
    return oid if type(oid) is str else str(oid)


def _id_key(type_name: str) -> str:
    """The payload field that names an object (`id`) or a user or group (`externalId`)."""
    return "externalId" if type_name in IDENTITY_KINDS else "id"


def _key(entry: Entry) -> Key:
    return entry[0], entry[4]


def digest_in_place(payload: dict[str, Any], exclude: frozenset[str]) -> bytes:
    """`content_hash(payload, exclude)`: the excluded fields are taken out for the digest and
    put back (at the end: the order of keys means nothing in JSON, but a body holds them
    there), without a copy."""
    if exclude.isdisjoint(payload):
        return _sha1(_sorted_json(payload)).digest()
    # (in sorted order: a set's order follows the process's string hashes, so the bodies of
    # two runs would hold the fields in another order)
    taken = [(name, payload.pop(name)) for name in sorted(exclude) if name in payload]
    digest = _sha1(_sorted_json(payload)).digest()
    payload.update(taken)
    return digest


def new_object_facts(
    exclude: frozenset[str],
) -> Callable[[str, dict[str, Any]], tuple[bytes, int, str | None, int | None]]:
    """`_facts` with the run's excluded fields bound (what a worker works out per object:
    `sync.digested`)."""
    only = next(iter(exclude)) if len(exclude) == 1 else None

    def digest_of(payload: dict[str, Any]) -> bytes:
        return digest_in_place(payload, exclude)

    def facts(type_name: str, payload: dict[str, Any]) -> tuple[bytes, int, str | None, int | None]:
        return _facts(type_name, payload, only, digest_of)

    return facts


def _facts(
    type_name: str, payload: dict[str, Any], only: str | None,
    digest_of: Callable[[dict[str, Any]], bytes],
) -> tuple[bytes, int, str | None, int | None]:  # fmt: skip
    """(content hash, updateSequenceNumber, lastUpdatedAt, composed-key digest) of a new
    object, as `Digested` holds them: `only`, the one excluded field (None: not one), is taken
    out for the hash and put back last; with several, `digest_of` takes them out."""
    if only is not None and only in payload:
        usn = payload.pop(only)
        try:
            digest = _sha1(_dumps(payload, option=_SORT_KEYS)).digest()
        except TypeError:
            digest = _sha1(_sorted_json(payload)).digest()
        finally:
            payload[only] = usn
        if only != "updateSequenceNumber":
            usn = payload.get("updateSequenceNumber")
    else:
        digest = digest_of(payload)
        usn = payload.get("updateSequenceNumber")
    cursor = payload.get("lastUpdatedAt")
    return (
        digest, usn if isinstance(usn, int) else 0, cursor if type(cursor) is str else None,
        own_key(type_name, payload) if type_name in COMPOSED else None,
    )  # fmt: skip


def _plain(entry: Entry) -> Entry:
    """The entry with its payload itself (parsed when a worker worked it out)."""
    payload = entry[2]
    if type(payload) is not Digested:
        return entry
    return (entry[0], entry[1], payload_of(payload), entry[3], entry[4], entry[5])


def _shown_id(payload: Any) -> Any:
    """The payload's `id` as it is (for messages)."""
    return payload.shown if type(payload) is Digested else payload.get("id")


def _json(payload: Any) -> bytes:
    """The payload as JSON (a held object waits as that)."""
    return payload.json if type(payload) is Digested else orjson.dumps(payload)


def _slices(cursor: sqlite3.Cursor, *, flat: bool = False) -> Iterator[Any]:
    """Rows in slices of CHUNK (or one by one with `flat`), so a long table is not read into
    memory at once."""
    while rows := cursor.fetchmany(CHUNK):
        if flat:
            yield from rows
        else:
            yield rows
