"""`Record` has its own `__init__` (one is made per input record); it must still behave as the
frozen dataclass it is declared as, field for field, like one with the generated `__init__`."""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any

import pytest

from mapper.records import KnownRecord, Record


@dataclasses.dataclass(frozen=True, slots=True)
class Reference:
    source: str
    index: int
    data: Any
    line: bytes | None = None


ARGS = [("a.jsonl", 0, {"x": 1}), ("b", 7, [1, 2], b"\x00" * 20), ("-", 3, None, None)]


@pytest.mark.parametrize("args", ARGS)
def test_a_record_is_the_frozen_dataclass_it_declares(args: tuple[Any, ...]) -> None:
    record, reference = Record(*args), Reference(*args)
    assert dataclasses.astuple(record) == dataclasses.astuple(reference)
    assert repr(record) == repr(reference).replace("Reference", "Record")
    assert record == Record(*args) and record != Record("other", *args[1:])
    assert pickle.loads(pickle.dumps(record)) == record
    assert dataclasses.replace(record, index=99).index == 99
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.data = "changed"  # type: ignore[misc]
    assert Record(source=args[0], index=args[1], data=args[2]) == Record(*args[:3])


def test_a_known_record_is_made_the_same_way() -> None:
    known = KnownRecord("a.jsonl", 4, None, b"digest")
    assert isinstance(known, Record) and type(known) is KnownRecord
    assert (known.source, known.index, known.data, known.line) == ("a.jsonl", 4, None, b"digest")
    assert known != Record("a.jsonl", 4, None, b"digest")  # (dataclass equality: same class)
