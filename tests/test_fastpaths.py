"""Differential tests of the small fast paths: each gives exactly its reference's result.

* timestamps: `_from_common` (datetime.fromisoformat) agrees with the general `_from_iso`
  parser, and `_parse_text` with the parser chain it short-cuts; `Instant.rfc3339()` and
  `epoch_ms()` agree with their former arithmetic; `epoch_ms_of` and the cached
  `to_rfc3339()` agree with `parse_instant`;
* `normalise_timestamp` returns canonical UTC text unchanged exactly when the parser would give
  it back, and `check_url`'s regex accept gives what the urlsplit checks give;
* the type-set shortcut of the extra-argument checks agrees with `check_type`, and
  `check_extras` with the former argument check;
* the principal dedup key agrees with `json_key`, and `principal_list` dedups like `json_key`;
* `jira_keys` of one string, `concat` of strings and `iter_ids` of strings agree with their
  general loops, and `parse_json` keeps every integer exact (its long-digit-run shortcut).
"""

from __future__ import annotations

import json
import re
import string
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from unittest import mock

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from jmespath import exceptions
from pydantic_core import PydanticCustomError

from mapper.functions import arguments
from mapper.functions.arguments import (
    Types,
    _accepted,
    _extras,
    as_id,
    as_text,
    check_type,
    iter_ids,
)
from mapper.functions.patterns import _JIRA_KEY, JIRA_KEYS_MAX_INPUT, find_jira_keys
from mapper.functions.principals import _key, principal_list
from mapper.functions.text import TextFunctions
from mapper.functions.timestamps import (
    EPOCH,
    Instant,
    TimestampFunctions,
    _from_common,
    _from_epoch,
    _from_iso,
    _from_rfc2822,
    _parse_text,
    _rfc3339_of_text,
    epoch_ms_of,
    parse_instant,
    rfc3339_text,
)
from mapper.functions.values import json_key
from mapper.io.inputs import parse_json
from mapper.model import checks as scalars  # the scalar fields' checks (`scalars` re-exports them)
from mapper.model.checks import _normalise_text, check_url, normalise_timestamp

NEVER = re.compile(r"(?!)")  # a regex that matches nothing: disables a fast accept

# --- strategies ------------------------------------------------------------------------------


def _digits(width: int, low: int, high: int) -> st.SearchStrategy[str]:
    """`width` digits, mostly in [low, high] (valid range), sometimes anything."""
    top = 10**width - 1
    values = st.integers(low, high) | st.integers(0, top) | st.sampled_from([0, top])
    return values.map(lambda n: str(n).zfill(width))


YEARS = _digits(4, 1, 9999) | st.sampled_from(["0001", "9999", "1970", "0000"])
MONTHS, DAYS = _digits(2, 1, 12), _digits(2, 1, 31)
HOURS, MINUTES = _digits(2, 0, 23), _digits(2, 0, 59)
FRACTIONS = st.just("") | st.text("0123456789", min_size=1, max_size=9).map(lambda f: "." + f)
OFFSETS = st.builds(lambda sign, hh, mm: f"{sign}{hh}:{mm}", st.sampled_from("+-"), HOURS, MINUTES)
ZONES = st.just("Z") | OFFSETS | st.sampled_from(["z", "", "+0200", "+02", " UTC", "+24:00"])


@st.composite
def common_timestamps(draw: st.DrawFn) -> str:
    """`YYYY-MM-DDThh:mm:ss[.f{1,9}](Z|±hh:mm)` with random digits, and near variants."""
    date = f"{draw(YEARS)}-{draw(MONTHS)}-{draw(DAYS)}"
    time = f"{draw(HOURS)}:{draw(MINUTES)}:{draw(MINUTES)}"
    sep = draw(st.sampled_from("TTTt "))
    return f"{date}{sep}{time}{draw(FRACTIONS)}{draw(ZONES)}"


@st.composite
def canonical_timestamps(draw: st.DrawFn) -> str:
    """`YYYY-MM-DDThh:mm:ss[.mmm]Z`: what `normalise_timestamp` returns, with any digits."""
    millis = draw(st.just("") | st.text("0123456789", min_size=3, max_size=3).map(".{}".format))
    date = f"{draw(YEARS)}-{draw(MONTHS)}-{draw(DAYS)}"
    return f"{date}T{draw(HOURS)}:{draw(MINUTES)}:{draw(MINUTES)}{millis}Z"


TIMESTAMP_TEXT = (
    common_timestamps()
    | canonical_timestamps()
    | st.text(max_size=40)
    | st.builds(lambda pad, text: pad + text + pad, st.sampled_from([" ", "\t", "\n"]),
                common_timestamps())
    | st.integers(-(10**14), 10**14).map(str)
    | st.just("2024-05-01T12:00:00Z" * 4)  # longer than parse_instant reads
    | st.builds(  # Slack `ts` shapes: ten digits, a separator, six (not always ASCII or a dot)
        lambda whole, sep, frac: f"{whole:010d}"[:10] + sep + f"{frac:06d}",
        st.integers(0, 10**10), st.sampled_from([".", ".", ",", " ", "\u0660"]), st.integers(0, 999_999),
    )
    | st.from_regex(r"\A[0-9\u0660-\u0669]{10}\.[0-9\u0660]{6}\Z")
)
NUMBERS = (
    st.integers(-(10**21), 10**21) | st.floats(allow_nan=False) | st.sampled_from([float("inf")])
)
UTC_ZONES = st.sampled_from([UTC, timezone(timedelta(0))])

# --- timestamps ------------------------------------------------------------------------------


def _old_rfc3339(instant: Instant) -> str:
    """Instant.rfc3339() as it was before it used datetime.isoformat."""
    a = instant.at
    text = f"{a.year:04d}-{a.month:02d}-{a.day:02d}T{a.hour:02d}:{a.minute:02d}:{a.second:02d}"
    return text + (f".{a.microsecond // 1000:03d}Z" if instant.has_fraction else "Z")


def _old_parse_text(value: str) -> Instant | None:
    """_parse_text as it was before `_from_common` short-cut it."""
    text = value.strip()
    return _from_epoch(text) or _from_iso(text) or _from_rfc2822(text)


def _same_instant(fast: Instant | None, slow: Instant | None) -> None:
    assert fast == slow
    if fast is not None and slow is not None:
        assert fast.at.utcoffset() == slow.at.utcoffset() == timedelta(0)
        assert fast.rfc3339() == slow.rfc3339()


@pytest.mark.parametrize(
    "text",
    ["2024-05-01T12:00:00Z", "2024-05-01T12:00:00.5+02:00", "2024-05-01T04:00:00.123456-08:00",
     "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z", "2024-02-29T00:00:00+23:59"],
)  # fmt: skip
def test_common_shape_takes_the_fast_path(text: str) -> None:
    assert _from_common(text) is not None
    _same_instant(_from_common(text), _from_iso(text))


@pytest.mark.parametrize(
    "text",
    ["2024-04-31T00:00:00Z", "2024-05-01T24:00:00Z", "2024-05-01T12:00:60Z",
     "0000-01-01T00:00:00Z", "0001-01-01T00:30:00+01:00", "9999-12-31T23:59:59-00:01",
     "2024-05-01T12:00:00.1234567Z", "2024-05-01t12:00:00Z", "2024-05-01T12:00:00+24:00"],
)  # fmt: skip
def test_uncommon_shapes_leave_the_fast_path(text: str) -> None:
    assert _from_common(text) is None
    assert _parse_text.__wrapped__(text) == _old_parse_text(text)


@given(text=common_timestamps() | st.text(max_size=40))
@example(text="2024-05-01T12:00:00.123456789+02:00")
@example(text="2024-05-01T12:00:00,5Z")
def test_from_common_agrees_with_from_iso(text: str) -> None:
    fast = _from_common(text)
    if fast is not None:
        _same_instant(fast, _from_iso(text))


@given(text=TIMESTAMP_TEXT)
def test_parse_text_agrees_with_the_former_parser_chain(text: str) -> None:
    _same_instant(_parse_text.__wrapped__(text), _old_parse_text(text))


@given(at=st.datetimes(timezones=UTC_ZONES), has_fraction=st.booleans())
@example(at=datetime(1, 1, 1, tzinfo=UTC), has_fraction=True)
@example(at=datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), has_fraction=True)
@example(at=datetime(999, 5, 1, 12, 0, 0, 999, tzinfo=UTC), has_fraction=True)
def test_instant_formatting_agrees_with_the_former_arithmetic(
    at: datetime, has_fraction: bool
) -> None:
    instant = Instant(at, has_fraction)
    assert instant.rfc3339() == _old_rfc3339(instant)
    assert instant.epoch_ms() == (at - EPOCH) // timedelta(milliseconds=1)


@given(value=TIMESTAMP_TEXT | NUMBERS | st.sampled_from([None, True, [], {}]))
@example(value="2024-04-31T00:00:00Z")
@example(value="0000-01-01T00:00:00.000Z")
def test_epoch_ms_of_agrees_with_parse_instant(value: Any) -> None:
    instant = parse_instant(value)
    assert epoch_ms_of(value) == (None if instant is None else instant.epoch_ms())


@given(value=TIMESTAMP_TEXT | NUMBERS | st.sampled_from([None, True, "", " "]))
def test_to_rfc3339_agrees_with_parse_instant_also_when_cached(value: Any) -> None:
    instant = parse_instant(value)
    expected = None if instant is None else instant.rfc3339()
    functions = TimestampFunctions()
    assert functions._func_to_rfc3339(value) == expected
    assert functions._func_to_rfc3339(value) == expected  # the second call is a cache hit


# --- model scalars ---------------------------------------------------------------------------


def _outcome(check: Callable[[Any], Any], value: Any) -> tuple[Any, ...]:
    try:
        return ("ok", check(value))
    except PydanticCustomError as err:
        return ("error", err.type, err.message())


@given(text=canonical_timestamps() | common_timestamps())
@example(text="2024-04-31T00:00:00Z")
@example(text="2024-05-01T24:00:00.000Z")
@example(text="2024-02-29T23:59:59.999Z")
@example(text="2023-02-29T00:00:00Z")
@example(text="0000-01-01T00:00:00Z")
def test_normalise_timestamp_agrees_with_the_parser(text: str) -> None:
    assert _outcome(normalise_timestamp, text) == _outcome(_normalise_text.__wrapped__, text)


def test_canonical_timestamps_take_the_fast_path() -> None:
    text = "2024-05-01T12:00:00.123Z"
    assert scalars._CANONICAL.fullmatch(text) and scalars._is_real_utc(text)
    assert normalise_timestamp(text) == text
    assert not scalars._is_real_utc("2024-04-31T00:00:00Z")


def _reference_check_url(value: str) -> tuple[Any, ...]:
    with mock.patch.object(scalars, "_SIMPLE_URL", NEVER):
        return _outcome(check_url, value)


HOST_CHARS = string.ascii_letters + string.digits + ".-@[]:_"
URLS = st.builds(
    lambda scheme, host, port, path: f"{scheme}://{host}{port}{path}",
    st.sampled_from(["http", "https", "HTTP", "Https", "hTTpS", "ftp", "httpss", "", "h ttp"]),
    st.text(HOST_CHARS, max_size=12),
    st.just("") | st.integers(0, 9_999_999).map(lambda port: f":{port}") | st.just(":"),
    st.just("") | st.builds(str.__add__, st.sampled_from("/?#"), st.text(max_size=15)),
)


@given(value=URLS | st.text(max_size=30))
@example(value="https://x.example/a b")
@example(value="https://x.example:99999/p?q=1#f")
@example(value="HTTPS://X.EXAMPLE")
@example(value="http://x.example/\u00e9\u2028")
@example(value="https://x.example/\x1c")
@example(value="https://x.example\u3000/")
def test_check_url_fast_accept_agrees_with_the_urlsplit_checks(value: str) -> None:
    fast = _outcome(check_url, value)
    if scalars._SIMPLE_URL.fullmatch(value):
        assert fast == ("ok", value)
    assert fast == _reference_check_url(value)


def test_check_url_fast_accept_is_taken() -> None:
    assert scalars._SIMPLE_URL.fullmatch("https://x.example/p?q=1")
    assert not scalars._SIMPLE_URL.fullmatch("https://x.example:8080/p")  # the port is checked
    assert _reference_check_url("https://x.example/a b")[0] == "error"
    assert _reference_check_url("https://x.example:8080/p")[0] == "ok"
    for bad in ("https://x.example:99999/", "https://x.example:0/", "https://:80/", "https://u@/"):
        assert _reference_check_url(bad)[0] == "error", bad


# --- extra-argument checks -------------------------------------------------------------------

TYPE_CONSTANTS: dict[str, Types] = {
    name: value
    for name, value in vars(arguments).items()
    if name.isupper() and isinstance(value, list) and all(isinstance(t, str) for t in value)
}
JSON_VALUES: list[Any] = [
    "", "x", 0, 1, -1, 2**70, 1.5, -0.0, float("inf"), True, False, None, [], [1, "a"], {},
    {"a": 1},
]  # fmt: skip


def _type_checks(value: Any, types: Types) -> bool:
    try:
        check_type("f", value, types)
    except exceptions.JMESPathTypeError:
        return False
    return True


def test_type_constants_are_found() -> None:
    names = {"ANY", "STRING", "STRING_OR_NULL", "NUMBER", "TEXTUAL", "ARRAY_OR_NULL", "IDS"}
    assert names | {"PRINCIPALS"} <= set(TYPE_CONSTANTS)


@pytest.mark.parametrize("name", sorted(TYPE_CONSTANTS))
def test_accepted_types_agree_with_check_type(name: str) -> None:
    types = TYPE_CONSTANTS[name]
    accepted = _accepted(types)
    for value in JSON_VALUES:
        fast = True if accepted is None else type(value) in accepted
        assert fast == _type_checks(value, types), (name, value)
    assert accepted is None or accepted  # a constant that accepts nothing would be a typo


def _reference_check_args(
    name: str, args: Sequence[Any], fixed: int, optional: tuple[Types, ...], repeated: Types | None
) -> None:
    """The extra-argument check as it was before the type-set shortcut."""
    if repeated is None and len(args) > fixed + len(optional):
        raise exceptions.ArityError(fixed + len(optional), len(args), name)
    for index in range(fixed, len(args)):
        extra = index - fixed
        check_type(name, args[index], optional[extra] if extra < len(optional) else repeated or [])


def _raised(call: Callable[[], Any]) -> tuple[Any, ...]:
    try:
        call()
    except exceptions.JMESPathError as err:
        return (type(err), str(err))
    return ("ok",)


CONSTANTS = st.sampled_from(sorted(TYPE_CONSTANTS)).map(TYPE_CONSTANTS.__getitem__)
ARGUMENTS = st.sampled_from([*JSON_VALUES, OrderedDict(a=1), (1, 2), b"x", object()])


@given(
    fixed=st.integers(0, 2),
    optional=st.lists(CONSTANTS, max_size=3).map(tuple),
    repeated=st.none() | CONSTANTS,
    args=st.lists(ARGUMENTS, max_size=6),
)
def test_extra_argument_checks_agree_with_the_former_check(
    fixed: int, optional: tuple[Types, ...], repeated: Types | None, args: list[Any]
) -> None:
    def _func_f(self: object, *args: Any) -> tuple[Any, ...]:
        return args

    checked = _extras(optional, repeated)(_func_f)
    checked.signature = [{"types": []}] * fixed  # type: ignore[attr-defined]  # as @signature
    expected = _raised(lambda: _reference_check_args("f", args, fixed, optional, repeated))
    assert _raised(lambda: checked(None, *args)) == expected
    assert _raised(lambda: checked(None, *args)) == expected  # `fixed` is read once


# --- principal dedup -------------------------------------------------------------------------

KEYS = st.sampled_from(["type", "id", "name", "x"])
FLAT_VALUES = st.sampled_from(["USER", "GROUP", "EVERYONE", "u1", "u2", "", "1", "\u00e9"])
OTHER_VALUES = st.sampled_from([1, 1.0, True, None, [], ["u1"], {"id": "u1"}, {}, 2**70])
FLAT = st.dictionaries(KEYS, FLAT_VALUES, max_size=3)
MIXED = st.dictionaries(KEYS, FLAT_VALUES | OTHER_VALUES, max_size=3)
PRINCIPAL = FLAT | MIXED


@st.composite
def principal_pairs(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two principals, often equal (a reordered copy) or nearly equal."""
    first = draw(PRINCIPAL)
    how = draw(st.sampled_from(["independent", "reordered", "changed"]))
    if how == "independent":
        return first, draw(PRINCIPAL)
    second = dict(reversed(first.items()))
    if how == "changed":
        second[draw(KEYS)] = draw(FLAT_VALUES | OTHER_VALUES)
    return first, second


@given(pair=principal_pairs())
@example(pair=({"id": "1"}, {"id": 1}))
@example(pair=({"id": 1}, {"id": 1.0}))
@example(pair=({"id": 1}, {"id": True}))
@example(pair=({}, {}))
def test_principal_key_agrees_with_json_key(pair: tuple[dict[str, Any], dict[str, Any]]) -> None:
    first, second = pair
    same = _key(first) == _key(second)
    assert same == (json_key(first) == json_key(second))
    if all(type(v) is str for v in (*first.values(), *second.values())):
        assert same == (first == second)


def _reference_principal_list(*groups: object) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for group in groups:
        for item in group if isinstance(group, list) else [group]:
            if item is not None:
                seen.setdefault(json_key(item), dict(item))
    return list(seen.values())


GROUPS = st.lists(st.none() | PRINCIPAL | st.lists(st.none() | PRINCIPAL, max_size=6), max_size=4)


@given(groups=GROUPS)
@example(groups=[[{"type": "USER", "id": "u1"}, {"id": "u1", "type": "USER"}], {"id": 1}])
def test_principal_list_dedups_like_json_key(groups: list[Any]) -> None:
    found = principal_list("permissions", *groups)
    expected = _reference_principal_list(*groups)
    assert json.dumps(found) == json.dumps(expected)  # same survivors, in order, keys in order
    originals = [id(item) for group in groups for item in (group if isinstance(group, list)
                                                            else [group])]
    assert all(id(item) not in originals for item in found)  # copies, not the inputs


# --- text functions and input parsing ----------------------------------------------------------

KEYISH = st.text(alphabet="ABCXYZ_-0123456789 abc/\n(é", max_size=60)
PARTS = st.lists(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    max_size=5,
)


@given(text=KEYISH)
@example(text="ABC-1 ABC-1 xABC-2 DEF_2-9x (GH-7)")
def test_jira_keys_of_one_string_agree_with_the_general_scan(text: str) -> None:
    general: dict[str, None] = {}
    for match in _JIRA_KEY.finditer(text, 0, JIRA_KEYS_MAX_INPUT):
        general.setdefault(match.group())
    assert find_jira_keys(text) == list(general)
    assert find_jira_keys([text]) == list(general)  # the general path itself


JIRA_KEY_REFERENCE = re.compile(r"(?<![^\W_])[A-Z][A-Z0-9_]{1,255}-[0-9]++(?![^\W_])")


@given(text=KEYISH | st.text(max_size=40))
@example(text="xABC-1 ABC-12x _AB-3 é-AB-4 AB-5_ ÉAB-6 ab-7 A-8 AB-9-10")
@example(text="AB-1\nCD-2 \u0661EF-3 \u00e9GH-4 IJ-5\u0661 KL-6\u00e9 .MN-7")
def test_jira_key_pattern_agrees_with_the_plain_one(text: str) -> None:
    assert _JIRA_KEY.findall(text) == JIRA_KEY_REFERENCE.findall(text)


@given(parts=PARTS)
@example(parts=["a", None])
@example(parts=["a", True, 2, 2.0, 2.5])
def test_concat_agrees_with_joining_texts(parts: list[Any]) -> None:
    texts = [as_text(part) for part in parts]
    expected = None if any(t is None for t in texts) else "".join(t or "" for t in texts)
    assert TextFunctions()._func_concat.__wrapped__(TextFunctions(), *parts) == expected


@given(values=st.lists(st.text(alphabet="ab", max_size=2), max_size=6) | st.text(max_size=3))
@example(values=["", "a", "a", "b", ""])
def test_iter_ids_of_strings_agrees_with_the_general_loop(values: Any) -> None:
    items = values if isinstance(values, list) else [values]
    seen: dict[str, None] = {}
    for item in items:
        text = as_id(item)
        if text is not None:
            seen.setdefault(text)
    assert iter_ids("f", values) == list(seen)


BIG_INTS = st.integers() | st.integers(-(2**70), 2**70) | st.sampled_from(
    [2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**18, -(10**19)]
)


@given(numbers=st.lists(BIG_INTS, max_size=4), text=st.text(alphabet="0123456789 x", max_size=25))
def test_parse_json_keeps_every_integer_exact(numbers: list[int], text: str) -> None:
    data = json.dumps({"n": numbers, "s": text}).encode()
    assert parse_json(data) == json.loads(data)
    assert [type(n) for n in parse_json(data)["n"]] == [int] * len(numbers)


# --- round 2: first_line's printable head, as_id of a string, the remembered instants ----------

LINES = st.text(alphabet=" \t\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029ab\u00e9", max_size=12)


@given(text=LINES | st.text(max_size=12))
@example(text="\n\nFix it\n")
@example(text="a\u2028b\nc")
@example(text="  \r\nx")
def test_first_line_agrees_with_splitlines(text: str) -> None:
    expected = next((line.strip() for line in text.splitlines() if line.strip()), None)
    assert TextFunctions()._func_first_line(text) == expected


@given(value=st.text(max_size=4) | PARTS.map(lambda parts: parts[0] if parts else None))
def test_as_id_agrees_with_as_text(value: Any) -> None:
    """as_id is as_text less what is no id: booleans, and empty or whitespace-only text."""
    text = None if isinstance(value, bool) else as_text(value)
    expected = text if text and not text.isspace() else None
    assert as_id(value) == expected


@given(value=TIMESTAMP_TEXT | NUMBERS)
@example(value="1969-12-31T23:59:59.9999+00:00")
@example(value="2024-05-01T14:00:00.123456+02:00")
def test_epoch_ms_of_a_to_rfc3339_result_agrees_with_parse_instant(value: Any) -> None:
    """updateSequenceNumber takes the instant to_rfc3339() remembered: the same number."""
    text = TimestampFunctions()._func_to_rfc3339(value)
    if text is None:
        return
    instant = parse_instant(text)
    assert instant is not None
    assert epoch_ms_of(text) == instant.epoch_ms()


def test_to_rfc3339_remembers_the_instants_of_its_results() -> None:
    from mapper.functions import timestamps

    text = TimestampFunctions()._func_to_rfc3339("2031-05-01T14:00:00.5+02:00")
    assert text == "2031-05-01T12:00:00.500Z"
    assert text in timestamps._INSTANT_OF_RESULT


@given(value=TIMESTAMP_TEXT)
@example(value="0001-01-01T00:00:00+01:00")  # before year 1 in UTC
@example(value="9999-12-31T23:59:59-01:00")  # after 9999 in UTC
@example(value="2024-05-01T12:00:00+02:60")  # fromisoformat takes minute 60
@example(value="2024-05-01T12:00:00+24:00")
@example(value="2024-05-01T12:00:00-23:59")
@example(value="2024-02-30T00:00:00Z")
@example(value="2024-05-01T24:00:00Z")
@example(value="2024-05-01 12:00:00+02:00")
@example(value="2024-05-01T12:00:0\u0660Z")
@example(value="2024-05-01T12:00:00z")
@example(value="1969-12-31T23:59:59+00:01")
@example(value="2024-05-01T12:00:00-00:00")
@example(value="2024-05-01T12:00:00+23:59")
@example(value="2024-05-01T12:00:00+05:3\u0660")  # a zone digit that is not ASCII
@example(value="2024-05-01T12:00:00+05-30")
@example(value="2024-05-01T12:00:00Z+05:")
@example(value="1714557600.123456")
@example(value="0000000000.000000")
@example(value="9999999999.999999")
@example(value="171455760\u0660.123456")  # a digit that is not ASCII
@example(value="1714557600.12345\u0660")
@example(value=" 714557600.123456")
@example(value="-714557600.123456")
def test_rfc3339_text_agrees_with_the_reference(value: str) -> None:
    """to_rfc3339's fast paths (whole seconds with `Z` or `±hh:mm`, a Slack `ts`) give the reference's text,
    and the instant it remembers gives the same updateSequenceNumber."""
    expected = _rfc3339_of_text.__wrapped__(value) if len(value) <= 64 else None
    got = rfc3339_text(value)
    assert got == expected
    if got is not None:
        instant = parse_instant(got)
        assert instant is not None
        assert epoch_ms_of(got) == instant.epoch_ms()


def test_rfc3339_text_takes_the_fast_path() -> None:
    """The everyday shapes do not reach the reference (which would make the test above moot)."""
    with mock.patch("mapper.functions.timestamps._rfc3339_of_text", side_effect=AssertionError):
        assert rfc3339_text("2024-05-01T12:00:00Z") == "2024-05-01T12:00:00Z"
        assert rfc3339_text("2024-05-01T01:30:00+02:00") == "2024-04-30T23:30:00Z"
        assert rfc3339_text("1969-12-31T23:59:59-00:01") == "1970-01-01T00:00:59Z"
        assert rfc3339_text("1714557600.123456") == "2024-05-01T10:00:00.123Z"  # Slack `ts`


@given(value=KEYISH | st.lists(KEYISH | st.none(), max_size=3) | st.none())
@example(value="ABC-1 ABC-1 xABC-2 DEF_2-9x (GH-7)")
@example(value="no keys here")
@example(value=["AB-1", None, ["CD-2", "AB-1"]])
def test_jira_associations_agrees_with_the_composition(value: Any) -> None:
    """associations(jira_keys(x)) compiled as one call gives the two functions' result."""
    from mapper.functions.refs import RefFunctions, jira_associations

    expected = RefFunctions()._func_associations(find_jira_keys(value))
    assert jira_associations(value) == expected


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"m": "MAP-1 and MAP-2, MAP-1"}, [{"associationType": "issueIdOrKeys",
                                            "values": ["MAP-1", "MAP-2"]}]),
        ({"m": "none"}, None),
        ({"m": ["AB-1", "xB-2"]}, [{"associationType": "issueIdOrKeys", "values": ["AB-1"]}]),
        ({}, None),
    ],
)
def test_associations_of_jira_keys_compiles_to_one_call(record: Any, expected: Any) -> None:
    from mapper.functions.refs import jira_associations
    from mapper.functions.registry import MapperFunctions
    from mapper.jpcompile import compile_expression

    compiled = compile_expression("associations(jira_keys(m))", MapperFunctions())
    assert compiled(record) == expected
    assert jira_associations.__name__ in compiled.__jmespath_source__ or any(
        value is jira_associations for value in compiled.__globals__.values()
    )


def test_associations_of_jira_keys_keeps_the_type_error() -> None:
    from mapper.functions.registry import MapperFunctions
    from mapper.jpcompile import compile_expression

    compiled = compile_expression("associations(jira_keys(m))", MapperFunctions())
    with pytest.raises(exceptions.JMESPathTypeError):
        compiled({"m": {"not": "text"}})


# --- code templates (mapper.functions.inline): each gives what its method gives ----------------

TEMPLATE_VALUES = (
    st.none()
    | st.booleans()
    | st.sampled_from(["", " ", "\t", "u1", " u1 ", "EVERYONE", "a\nb", "\u2028x", "ABC-1"])
    | st.text(max_size=6)
    | st.integers(-(10**20), 10**20)
    | st.sampled_from([10**18, -(10**18), 10**18 - 1, 0, 7])
    | st.floats(allow_nan=False)
    | st.lists(
        st.none() | st.text(max_size=3) | st.integers(0, 9)
        | st.sampled_from([{}, {"type": "USER", "id": "u"}, {"type": "EVERYONE"}]),
        max_size=3,
    )
    | st.sampled_from([{}, {"type": "GROUP", "id": "g"}, {"a": [1]}])
)
TEMPLATED = [  # (expression over the record {"a": ..., "b": ...}, the template it must use)
    ("user_ref(a)", "'externalId': "),
    ("user_ref(a, b)", "'email': "),
    ("user_ref(a || b, b)", "'email': "),
    ("entity_key_as('atlassian:repository', 'repositoryId', a)", "'repositoryId': "),
    ("entity_key_as('t', ' ', a)", None),  # a blank field name: no template, the call decides
    ("permissions(a)", "'accessControls'"),
    ("permissions([principal('EVERYONE')])", "{'type': 'EVERYONE'}"),
    ("permissions(a && groups(concat('repo-', b)) || [principal('EVERYONE')])", "'GROUP'"),
    ("principal('user', a)", "'type': 'USER', 'id': "),
    ("principal('container', a)", "{'type': 'CONTAINER'}"),
    ("principal('group')", None),
    ("users(a)", "'USER'"),
    ("groups(a)", "'GROUP'"),
    ("concat('repo-', a)", "'repo-' + "),
    ("concat(a, '/', b, '#')", "'/' + "),
    ("concat(`1`, a)", None),  # a number literal: no template
    ("truncate(a, `7`)", "[:7]"),
    ("truncate(a, `0`)", "[:0]"),
    ("truncate(a, `2`, '…')", None),
    ("first_line(a)", ".partition("),
    ("to_rfc3339(a)", "if type("),
]


def _call_outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", json.dumps(fn())
    except exceptions.JMESPathError as err:
        return "error", type(err).__name__


@pytest.mark.parametrize(("expression", "marker"), TEMPLATED)
def test_templated_calls_use_their_template(expression: str, marker: str | None) -> None:
    from mapper.functions.registry import MapperFunctions
    from mapper.jpcompile import compile_expression

    source = compile_expression(expression, MapperFunctions()).__jmespath_source__  # type: ignore[attr-defined]
    if marker is not None:
        assert marker in source
    else:
        assert "'type': " not in source and " + " not in source and "[:" not in source


@pytest.mark.parametrize(("expression", "marker"), TEMPLATED)
@given(a=TEMPLATE_VALUES, b=TEMPLATE_VALUES)
@example(a="u1", b="u@example.com")
@example(a=" ", b="u@example.com")
@example(a=12345, b=None)
@example(a=10**18, b=10**18 - 1)
@example(a=True, b=False)
@example(a="x" * 9, b="y")
@example(a="\u2028 \nsubject", b=None)
@example(a="2024-05-01T12:00:00+02:00", b=None)
@example(a=[{"type": "USER", "id": "u"}], b=None)
def test_templates_agree_with_their_methods(
    expression: str, marker: str | None, a: Any, b: Any
) -> None:
    """The compiled call (template) and jmespath's own call of the method give the same value
    or the same error, and share the same objects of the record (a copy stays a copy)."""
    import jmespath

    from mapper.functions.registry import MapperFunctions
    from mapper.jpcompile import compile_expression

    functions = MapperFunctions()
    record = {"a": a, "b": b}
    snapshot = json.dumps(record)
    compiled = compile_expression(expression, functions)
    expected = _call_outcome(
        lambda: jmespath.compile(expression).search(
            record, jmespath.Options(custom_functions=functions)
        )
    )
    assert _call_outcome(lambda: compiled(record)) == expected
    assert json.dumps(record) == snapshot
    if expected[0] == "ok":  # the same parts of the record (if any) are shared with it
        reference = jmespath.compile(expression).search(
            record, jmespath.Options(custom_functions=functions)
        )
        inside = _containers(record)
        assert _containers(compiled(record)) & inside == _containers(reference) & inside


def _containers(value: Any) -> set[int]:
    """The ids of every list and dict in `value`."""
    if not isinstance(value, list | dict):
        return set()
    found = {id(value)}
    for item in value.values() if isinstance(value, dict) else value:
        found |= _containers(item)
    return found


def test_a_subclass_overriding_a_templated_method_gets_its_own_method() -> None:
    from mapper.functions.registry import MapperFunctions
    from mapper.jpcompile import compile_expression

    class Mine(MapperFunctions):
        def _func_user_ref(self, *args: Any) -> Any:  # type: ignore[override]
            return "mine"

    Mine._func_user_ref.signature = MapperFunctions._func_user_ref.signature  # type: ignore[attr-defined]
    Mine.FUNCTION_TABLE = {}
    Mine._populate_function_table()  # type: ignore[attr-defined]
    assert compile_expression("user_ref(a)", Mine())({"a": "u1"}) == "mine"
