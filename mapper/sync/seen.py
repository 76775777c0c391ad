"""Which state rows a run saw: a bitmap over the rows' numbers (`objects.n`).

A run marks a row seen without writing it, so an unchanged re-run writes nothing per object.
The bitmap of a million rows is 125 kB, and kept zlib-compressed in the run's `runs.seen`
(a run that saw everything, or nearly nothing, compresses to a few hundred bytes).
"""

from __future__ import annotations

import zlib

GROW = 1 << 14  # bytes added when a number beyond the end is marked


class Seen:
    """A set of row numbers, as bits."""

    __slots__ = ("bits",)

    def __init__(self, size: int = 0, bits: bytearray | None = None) -> None:
        self.bits = bits if bits is not None else bytearray((size >> 3) + 1)

    def add(self, n: int) -> None:
        """Mark row `n` seen."""
        i = n >> 3
        if i >= len(self.bits):
            self.bits.extend(bytes(i - len(self.bits) + GROW))
        self.bits[i] |= 1 << (n & 7)

    def __contains__(self, n: int) -> bool:
        i = n >> 3
        return i < len(self.bits) and bool(self.bits[i] >> (n & 7) & 1)

    def to_blob(self) -> bytes:
        """The compressed form stored in `runs.seen`."""
        return zlib.compress(bytes(self.bits.rstrip(b"\0")), 6)

    @classmethod
    def from_blob(cls, blob: bytes) -> Seen:
        """The bitmap stored by `to_blob`."""
        return cls(bits=bytearray(zlib.decompress(blob)))
