"""Large JSON arrays are read span by span with orjson; the records and errors must be exactly
those of reading the file with ijson alone (`sources.streamed_array_items`), in every layout.
Two known differences, where ijson fails and orjson (the parser of every other input) does not:
integers beyond 64 bits, and lone surrogate escapes.

Layouts: one element per line, indented (json.dumps indent=1/2/4), nested objects laid out
like top-level ones (cuts that fall inside an element), strings holding `},{` and escaped
newlines, a single line (no cut: ijson streams it), truncated and corrupted files. Span sizes
are tiny so that every file is cut many times.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mapper.io import inputs as sources
from mapper.io import spans as cutting
from mapper.io.inputs import _iter_array, read_array_span, streamed_array_items
from mapper.io.spans import ArraySpan, array_spans

TRICKY = ["},{", '"},\n{"', '\\"},{', "[1,{}]", "é", "😀", "a\nb", "", " ,\n{"]


def _record(rng: random.Random, i: int) -> dict[str, Any]:
    return {
        "id": i,
        "s": rng.choice(TRICKY) * rng.randint(0, 3),
        "n": rng.choice([1, -0.5, 1e300, 2**62, 3.14159, 0, 1e-7, -12345678901234, True, None]),
        "nest": [{"a": rng.choice(TRICKY)}] * rng.randint(0, 2),
    }


def _dumps(value: Any, indent: int | None = None) -> str:
    # Raw UTF-8, no \\uXXXX escapes: a damaged surrogate pair escape would make a lone surrogate,
    # which orjson (like every other input path of mapper) accepts and ijson rejects.
    return json.dumps(value, indent=indent, ensure_ascii=False)


def _layout(records: list[dict[str, Any]], layout: str) -> bytes:
    if layout == "one per line":
        return ("[\n" + ",\n".join(_dumps(r) for r in records) + "\n]\n").encode()
    if layout == "single line":
        return _dumps(records).encode()
    if layout == "nested at the same indent":  # a cut inside an element: the span does not parse
        inner = ",\n".join(_dumps(r) for r in records)
        return f'[\n{{"wrap": [\n{inner}\n]}},\n{{"id": "last"}}\n]'.encode()
    return _dumps(records, int(layout.split()[-1])).encode()


LAYOUTS = [
    "one per line",
    "single line",
    "nested at the same indent",
    "indent 1",
    "indent 2",
    "indent 4",
]


def _both(data: bytes, size: int, tmp: Path) -> tuple[list, list]:
    """(records read span by span, records read by ijson alone)."""
    path = tmp / "array.json"
    path.write_bytes(data)
    with pytest.MonkeyPatch.context() as patch, path.open("rb") as fh:
        patch.setattr(sources, "ARRAY_SPAN_BYTES", size)
        spanned = list(_iter_array(str(path), fh))
    return spanned, list(streamed_array_items(str(path)))


@given(
    seed=st.integers(0, 10_000),
    layout=st.sampled_from(LAYOUTS),
    size=st.integers(1, 300),
    damage=st.sampled_from(["none", "truncated", "corrupted"]),
)
def test_spans_read_what_ijson_reads(
    seed: int,
    layout: str,
    size: int,
    damage: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    rng = random.Random(seed)
    data = _layout([_record(rng, i) for i in range(rng.randint(0, 15))], layout)
    if damage == "truncated":
        data = data[: rng.randint(1, len(data))]
    elif damage == "corrupted":
        at = rng.randrange(len(data))
        data = data[:at] + rng.choice([b"}", b"{", b'"', b",", b"x"]) + data[at + 1 :]
    spanned, streamed = _both(data, size, tmp_path_factory.mktemp("a"))
    assert spanned == streamed


def test_spans_are_cut_between_elements_and_cover_the_array(tmp_path: Path) -> None:
    rng = random.Random(3)
    data = _layout([_record(rng, i) for i in range(200)], "indent 2")
    path = tmp_path / "a.json"
    path.write_bytes(data)
    with path.open("rb") as fh:
        spans = list(array_spans(fh, str(path), 500))
        assert len(spans) > 20 and not any(s.rest for s in spans)
        assert [s.first for s in spans] == [True] + [False] * (len(spans) - 1)
        assert [s.last for s in spans] == [False] * (len(spans) - 1) + [True]
        assert all(data[s.end : s.end + 1] == b"," for s in spans[:-1])
        assert [s.start for s in spans[1:]] == [s.end + 1 for s in spans[:-1]]
        records = [r for s in spans for r in read_array_span(s, fh)]
    assert records == json.loads(data)


def test_an_array_on_one_line_is_left_to_ijson(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_bytes(json.dumps([{"a": i} for i in range(100)]).encode())
    with path.open("rb") as fh:
        assert [s.rest for s in array_spans(fh, str(path), 50)] == [True]


def test_no_cut_within_reach_leaves_the_rest_to_ijson(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = {"text": "x" * 5000}
    data = _layout([{"a": 1}, {"a": 2}, big, {"a": 3}], "one per line")
    monkeypatch.setattr(cutting, "ARRAY_CUT_SEARCH", 2)
    path = tmp_path / "a.json"
    path.write_bytes(data)
    with path.open("rb") as fh:
        spans = list(array_spans(fh, str(path), 10))
    assert spans[-1].rest and spans[-1].end == len(data)
    spanned, streamed = _both(data, 10, tmp_path)
    assert spanned == streamed and len(spanned) == 4


def test_integers_beyond_64_bits_stay_exact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ijson alone fails on them ("integer overflow"); spans parse them like small files do."""
    data = _layout([{"n": 2**70}, {"n": -(2**64)}], "one per line")
    spanned, streamed = _both(data, 5, tmp_path)
    assert [r.data["n"] for r in spanned] == [2**70, -(2**64)]
    assert streamed[-1].diagnostic.code == "input.malformed-json"


def test_a_span_that_is_not_a_list_of_values_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_bytes(b'[\n{"a": 1},\n{"b": ')
    with path.open("rb") as fh, pytest.raises(ValueError, match="unexpected end"):
        read_array_span(ArraySpan(str(path), 2, path.stat().st_size, True, True), fh)


@pytest.mark.parametrize(
    ("cut", "says"),
    [("end", "the file ends early (parse error: premature EOF)"),
     ("colon", "object key and value must be separated by a colon")],
)
def test_a_streamed_array_that_stops_parsing_says_why_in_one_line(
    tmp_path: Path, cut: str, says: str
) -> None:
    from mapper.records import InputProblem

    text = "[" + ",".join(f'{{"id": "{i}"}}' for i in range(50)) + "]"
    text = text[: len(text) // 2] if cut == "end" else text.replace('"id": "30"', '"id" "30"')
    path = tmp_path / "big.json"
    path.write_text(text)
    *records, problem = streamed_array_items(str(path))
    assert isinstance(problem, InputProblem) and len(records) >= 20
    message = problem.diagnostic.message
    assert says in message and "\n" not in message and "right here" not in message
