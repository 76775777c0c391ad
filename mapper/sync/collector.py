"""The cycle collector during a sync run: no gen-0 collection per few records while the stage
holds a chunk.

CPython collects generation 0 when its count (allocations minus deallocations of tracked
objects) passes the threshold, 700 by default. A plain run frees each record's objects before
the next is mapped, so the count stays low and it seldom collects. The sync stage holds a
chunk's payloads (`stage.CHUNK` objects, a dozen containers or more each) until it decides
them: the count passes 700 every few records, each collection finds the held payloads alive
and promotes them, and the full collections walk the whole heap (100k W1 records: ~1,900
collections, 0.4 s CPU; 2,300 and 0.9 s with chunks of 1,000). The payloads hold no cycles, so
nothing is gained.

`fewer_collections` raises the gen-0 threshold above what a chunk holds while the run lasts and
puts back the thresholds it found, however the run ends. Cyclic garbage still goes (later).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

HELD_THRESHOLD = 100_000
"""The gen-0 threshold of a sync run: well above the tracked objects a chunk holds."""


@contextmanager
def fewer_collections(threshold: int = HELD_THRESHOLD) -> Iterator[None]:
    """Collect generation 0 only after `threshold` net allocations (never lowers a threshold
    that is already higher, and leaves a disabled collector disabled)."""
    found = gc.get_threshold()
    gc.set_threshold(max(found[0], threshold), *found[1:])
    try:
        yield
    finally:
        gc.set_threshold(*found)
