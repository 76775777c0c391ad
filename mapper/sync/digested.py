"""What a worker process works out of an object for the sync stage, so the stage need not.

When worker processes map a sync (`mapper sync --workers`, `--engine dask`), the stage in the
client decides, records and writes every object alone. A worker hands each object of a clean
record back `Digested`: its JSON as the body holds it (the stage adds it to a body as an
`orjson.Fragment`, without parsing or serialising it again), its id, content hash, sequence
number, lastUpdatedAt, references and composed-key digest, each as the stage's own functions
give them. The stage's loop for ids new to the state takes these as they are; any other path
(a known id, a carried container, a held object) parses the JSON back into the payload the
worker mapped (`payload`), and goes on as with any payload.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

import orjson

from mapper.model.identity import IDENTITY_KINDS
from mapper.sync.keys import Reference, references


class Digested(NamedTuple):
    """One object as a worker worked it out (see the module docstring). It crosses to the
    client as a plain tuple of these fields (`Digester`), its references as plain tuples of
    `Reference`'s: pickle writes and rebuilds those several times faster than named tuples or
    dataclasses (no Python-level `__reduce__`, `__new__` or `__setstate__` per object); the
    stage makes each a `Digested` again (`digested`)."""

    json: bytes
    """orjson's serialisation of the payload: what a body holds of it."""
    oid: str  # the id the state keys it by (`externalId` for a user or group), as text
    shown: Any  # the payload's `id` as it is (for messages)
    digest: bytes  # `stage.content_hash` under the run's excluded fields
    usn: int  # its updateSequenceNumber (0: none)
    cursor: str | None  # its lastUpdatedAt (None: none, or not text)
    refs: tuple[tuple[Any, ...], ...]  # a `Reference`'s fields each (`references_of`)
    own: int | None  # its composed key's digest (a type in COMPOSED), else None

    @property
    def payload(self) -> dict[str, Any]:
        """The payload itself, parsed from its JSON (a path that needs it)."""
        parsed: dict[str, Any] = orjson.loads(self.json)
        return parsed

    @property
    def fragment(self) -> orjson.Fragment:
        """The payload as a body takes it, serialised already."""
        return orjson.Fragment(self.json)


@dataclass(frozen=True)
class Digester:
    """The worker's side: `Digested` objects, with the run's excluded fields (picklable, so a
    cluster worker gets it with the run's spec)."""

    exclude: frozenset[str]

    @cached_property
    def _facts(self) -> Callable[[str, dict[str, Any]], tuple[bytes, int, str | None, Any]]:
        """What the stage works out itself of a new object (made once per process)."""
        from mapper.sync.stage import new_object_facts

        return new_object_facts(self.exclude)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Digester, (self.exclude,))  # (pickled without the function made here)

    def __call__(self, type_name: str, payload: dict[str, Any]) -> tuple[Any, ...] | None:
        """The object worked out, as the plain tuple of a `Digested`'s fields; None when it
        cannot be (an integer beyond 64 bits: the stage then takes the payload itself)."""
        digest, usn, cursor, own = self._facts(type_name, payload)
        try:  # (after the digest: the excluded fields are last, where the stage puts them)
            json = orjson.dumps(payload)
        except TypeError:
            return None
        oid = payload.get("externalId" if type_name in IDENTITY_KINDS else "id")
        oid = oid if type(oid) is str else str(oid)
        refs = tuple(tuple(ref) for ref in references(payload))
        return (json, oid, payload.get("id"), digest, usn, cursor, refs, own)  # (Digested's order)


def payload_of(payload: dict[str, Any] | Digested) -> dict[str, Any]:
    """The payload itself (parsed from a `Digested` object's JSON)."""
    return payload.payload if isinstance(payload, Digested) else payload


def body_of(payload: dict[str, Any] | Digested) -> Any:
    """What a body holds of the payload for orjson: itself, or a `Digested` object's JSON."""
    return payload.fragment if type(payload) is Digested else payload


def references_of(payload: dict[str, Any] | Digested) -> list[Reference]:
    """`keys.references` (worked out already for a `Digested` object)."""
    if isinstance(payload, Digested):
        return [_new_tuple(Reference, ref) for ref in payload.refs]
    return references(payload)


def digested(fields: tuple[Any, ...]) -> Digested:
    """A `Digested` of the plain tuple a `Digester` gave (no Python-level `__new__`)."""
    made: Digested = _new_tuple(Digested, fields)
    return made


_new_tuple = tuple.__new__
