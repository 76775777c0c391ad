"""The ids a run recorded of a type the state held no row of when the run began.

Such an id can be in the state only if this run put it there, so the sync stage asks this
index, not the state, whether an id is known: a miss (nearly every id of a first sync) costs no
query, and a hit gives the row's number, by which the row is read (the rowid: no index on
(type, id) needed, so a first sync into an empty state can leave that index out and build it
once at the end, `StateStore.drop_key_index`).

It is a hash table in three arrays, by `hash(id)` (the process's own string hash: the index
lives as long as the run): `heads` holds per bucket the last entry put there, each entry its
id's hash, its row number and the entry before it in the bucket. At a million ids it takes
about 32 MB; an id costs three appends and no Python object of its own.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from typing import Any

HEAD_BITS = 20
"""log2 of the buckets (8 MiB of heads): about one entry per bucket at a million ids."""


class FreshIds:
    """hash(id) -> row numbers of the ids recorded (an exact hash, so a hit is nearly always the
    id itself; the caller compares the ids of the rows it reads)."""

    __slots__ = ("hashes", "heads", "mask", "nexts", "numbers")

    def __init__(self, bits: int | None = None) -> None:
        bits = HEAD_BITS if bits is None else bits
        self.heads = array("q", bytes(8 << bits))  # bucket -> 1 + the entry last put there
        self.mask = (1 << bits) - 1
        self.hashes = array("q")  # per entry: hash(id)
        self.numbers = array("q")  # per entry: the row number
        self.nexts = array("q")  # per entry: 1 + the entry before it in its bucket (0: none)

    def add(self, oid: str, n: int) -> None:
        """Record that row `n` holds `oid`."""
        self.add_rows([(oid, n)])

    def add_rows(self, rows: Iterable[tuple[Any, ...]]) -> None:
        """Record each (id, row number, ...) (e.g. the rows a chunk puts)."""
        heads, mask, hashes, numbers, nexts = (
            self.heads, self.mask, self.hashes, self.numbers, self.nexts
        )  # fmt: skip
        entry = len(numbers)
        for row in rows:
            digest = hash(row[0])
            bucket = digest & mask
            nexts.append(heads[bucket])
            hashes.append(digest)
            numbers.append(row[1])
            entry += 1
            heads[bucket] = entry

    def rows_of(self, ids: Iterable[str]) -> list[int]:
        """The row numbers that may hold one of `ids` (each once; none for an id never added)."""
        heads, hashes, numbers, nexts, mask = (
            self.heads, self.hashes, self.numbers, self.nexts, self.mask
        )  # fmt: skip
        found: list[int] = []
        for oid in [i for i in ids if heads[hash(i) & mask]]:  # (most buckets are empty)
            digest = hash(oid)
            entry = heads[digest & mask]
            while entry:
                if hashes[entry - 1] == digest:
                    found.append(numbers[entry - 1])
                entry = nexts[entry - 1]
        return sorted(set(found)) if len(found) > 1 else found
