"""Timestamp parsing and the to_rfc3339() / to_epoch_ms() / to_epoch_s() functions.

Every accepted input becomes an `Instant`: a UTC datetime plus whether the source carried a
fraction of a second. Output follows the project decision: RFC 3339 UTC with `Z`, and exactly
three fraction digits (milliseconds, truncated) when the source had a fraction.

Decisions:
- Epoch numbers (and numeric strings) with an absolute value of at least 100,000,000,000
  (`EPOCH_MS_THRESHOLD`, 1e11) are milliseconds, smaller ones seconds: 1e11 s is in the year 5138,
  1e11 ms is 1973-03-03, so only millisecond timestamps before March 1973 are misread.
  Epoch milliseconds and floats always carry a fraction (`.000` when zero); integer seconds don't.
- A date-time without a zone is read as UTC, never as the machine's local time, so results do
  not depend on where the tool runs. Append the zone first when the source is local time, e.g.
  `to_rfc3339(concat(start, '+02:00'))`.
- A date alone is midnight UTC. Leap seconds (`:60`) and out-of-range dates give null.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import NamedTuple

from jmespath.functions import signature

from mapper.functions import inline

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
EPOCH_MS_THRESHOLD = 100_000_000_000
_MAX_LENGTH = 64  # longer strings are not timestamps; don't run regexes over them

_NUMERIC = re.compile(r"(?P<sign>[+-]?)(?P<int>\d{1,20})(?:\.(?P<frac>\d*))?", re.ASCII)
_ISO = re.compile(
    r"(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})"
    r"(?:[Tt ](?P<h>\d{2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<frac>\d+))?)?"
    r" ?(?P<zone>[Zz]|UTC|GMT|(?P<sign>[+-])(?P<zh>\d{2})(?::?(?P<zm>\d{2}))?)?)?",
    re.ASCII,
)
_RFC2822 = re.compile(
    r"(?:[A-Za-z]{3}, ?)?\d{1,2} [A-Za-z]{3} (?P<year>\d{4}) \d{2}:\d{2}(?::\d{2})?"
    r"(?: [+-]\d{4}| UTC?| GMT| Z| [AECMP][SD]T)?",  # the zone names email.utils knows
    re.ASCII,
)


_COMMON = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)
"""The everyday shape (`2024-05-01T12:00:00.123+02:00`), which `datetime.fromisoformat`
reads exactly like `_from_iso` does, in C; anything else takes the general parser."""


_MILLISECOND = timedelta(milliseconds=1)


def _format_utc(at: datetime, has_fraction: bool) -> str:
    text = at.isoformat()  # YYYY-MM-DDThh:mm:ss[.ffffff]+00:00 (no timespec: faster)
    if not has_fraction:
        return text[:19] + "Z"
    return (text[:23] if at.microsecond else text[:19] + ".000") + "Z"


class Instant(NamedTuple):
    """A point in time in UTC, and whether its source had a fraction of a second."""

    at: datetime
    has_fraction: bool

    def rfc3339(self) -> str:
        """`2024-05-01T12:00:00Z`, or `2024-05-01T12:00:00.123Z` when the source had a fraction."""
        return _format_utc(self.at, self.has_fraction)

    def epoch_ms(self) -> int:
        """Milliseconds since 1970-01-01T00:00:00Z (floored)."""
        return (self.at - EPOCH) // _MILLISECOND


def _from_epoch(text: str) -> Instant | None:
    match = _NUMERIC.fullmatch(text)
    if match is None:
        return None
    whole, frac = int(match["int"]), match["frac"]
    if whole >= EPOCH_MS_THRESHOLD:
        millis, has_fraction = whole, True
    else:
        millis, has_fraction = whole * 1000 + int((frac or "")[:3].ljust(3, "0")), frac is not None
    try:
        at = EPOCH + timedelta(milliseconds=-millis if match["sign"] == "-" else millis)
    except OverflowError:
        return None
    return Instant(at, has_fraction)


def _zone(match: re.Match[str]) -> timezone | None:
    if match["sign"] is None:
        return UTC  # Z, UTC, GMT, or no zone at all (read as UTC, see the module docstring)
    hours, minutes = int(match["zh"]), int(match["zm"] or 0)
    if hours > 23 or minutes > 59:
        return None
    offset = timedelta(hours=hours, minutes=minutes)
    return timezone(-offset if match["sign"] == "-" else offset)


def _common_utc(text: str) -> tuple[datetime, bool] | None:
    """(the UTC datetime, has a fraction) of the everyday shape; None leaves it to the parser."""
    match = _COMMON.fullmatch(text)
    if match is None:
        return None
    try:
        return datetime.fromisoformat(text).astimezone(UTC), match[1] is not None
    except (ValueError, OverflowError):
        return None


def _from_common(text: str) -> Instant | None:
    found = _common_utc(text)
    return None if found is None else Instant(*found)


def _from_iso(text: str) -> Instant | None:
    match = _ISO.fullmatch(text)
    zone = None if match is None else _zone(match)
    if match is None or zone is None:
        return None
    frac = match["frac"]
    fields = ("y", "mo", "d", "h", "mi", "s")
    year, month, day, hour, minute, second = (int(match[k] or 0) for k in fields)
    micro = int((frac or "")[:6].ljust(6, "0"))
    try:
        local = datetime(year, month, day, hour, minute, second, micro, tzinfo=zone)
        return Instant(local.astimezone(UTC), frac is not None)
    except (ValueError, OverflowError):  # day 31 of April, hour 24, a year-1 date east of UTC
        return None


def _from_rfc2822(text: str) -> Instant | None:
    found = _RFC2822.fullmatch(text)
    if found is None:
        return None
    from email.utils import parsedate_to_datetime  # imported here: it costs start-up time

    try:
        # email.utils reads years below 100 as 19xx/20xx (two-digit years); ours has 4 digits
        at = parsedate_to_datetime(text).replace(year=int(found["year"]))
        aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
        return Instant(aware.astimezone(UTC), False)
    except (ValueError, TypeError, OverflowError, IndexError):
        return None


def parse_instant(value: object) -> Instant | None:
    """An `Instant` from any supported timestamp form, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return _from_epoch(str(value)) if abs(value) < 10**20 else None
    if isinstance(value, float):
        from decimal import Decimal  # (a float epoch is rare: not imported with the functions)

        text = format(Decimal(repr(value)), "f")  # positional, no float rounding surprises
        return _from_epoch(text if "." in text else text + ".0")
    if not isinstance(value, str) or len(value) > _MAX_LENGTH:
        return None
    return _parse_text(value)


@functools.lru_cache(maxsize=8192)
def _parse_text(value: str) -> Instant | None:
    """parse_instant for text; pure, so a timestamp seen again is not parsed again."""
    text = value.strip()
    return _from_common(text) or _from_epoch(text) or _from_iso(text) or _from_rfc2822(text)


_INSTANT_OF_RESULT: dict[str, int | datetime] = {}
"""Recent to_rfc3339() results -> their instant, as epoch milliseconds or as a UTC datetime
(whichever to_rfc3339() had at hand), so that `epoch_ms_of` (the derived
`updateSequenceNumber`) does not parse again the text to_rfc3339() just wrote."""
_MAX_REMEMBERED = 8192


def _remember(text: str, at: int | datetime) -> str:
    if len(_INSTANT_OF_RESULT) >= _MAX_REMEMBERED:
        _INSTANT_OF_RESULT.clear()
    _INSTANT_OF_RESULT[text] = at
    return text


@functools.lru_cache(maxsize=4096)
def _rfc3339_of_text(value: str) -> str | None:
    common = _common_utc(value)
    if common is not None:  # the everyday shape, straight to text
        at, has_fraction = common
        if not has_fraction and value[-1] == "Z":  # already RFC 3339 UTC: it is the result
            return _remember(value, at)
        return _remember(_format_utc(at, has_fraction), at)
    instant = _parse_text.__wrapped__(value)  # this cache is enough: skip the parser's
    return None if instant is None else _remember(instant.rfc3339(), instant.at)


_DAY_TEXT: dict[int, str] = {}  # days since 1970-01-01 -> "YYYY-MM-DDT"


def _day_text(days: int) -> str | None:
    try:
        text = date.fromordinal(days + _EPOCH_ORDINAL).isoformat() + "T"
    except (ValueError, OverflowError):
        return None
    if len(_DAY_TEXT) >= _MAX_REMEMBERED:
        _DAY_TEXT.clear()
    _DAY_TEXT[days] = text
    return text


def rfc3339_text(value: str) -> str | None:
    """to_rfc3339() of a string (`_rfc3339_of_text`, the reference, for anything uncommon).

    A Slack `ts` (`1714557600.123456`) is put together from its digits (`_epoch_seconds_text`).
    Whole seconds with `Z` (`2024-05-01T12:00:00Z`) are their own result once
    `datetime.fromisoformat` has read them; with `+hh:mm`/`-hh:mm` the UTC text is put together
    from the epoch seconds. The shape is told by length and separators (fromisoformat reads
    ASCII digits only), cheaper than a regex; the zone's seconds come from `_OFFSETS`, not
    from the datetime. One parse either way, whose instant `epoch_ms_of` finds again (for
    `±hh:mm`, as the epoch milliseconds themselves). tests/test_fastpaths.py holds it to the
    reference.
    """
    n = len(value)
    if n == 17 and value[10] == "." and value.isascii():  # a Slack `ts`: epoch seconds.micros
        text = _epoch_seconds_text(value)
        if text is not None:
            return text
    if (n == 20 or n == 25) and value[4:17:3] == "--T::":
        try:
            at = _fromisoformat(value)
        except ValueError:
            at = None  # 31 April, hour 24, another shape: the reference decides
        if at is None:
            pass
        elif n == 20 and value[19] == "Z":
            return _remember(value, at)
        elif n == 25:
            zone = value[19:]
            offset = _OFFSETS.get(zone)
            if offset is None:
                offset = _offset(zone)
            if offset is not None:
                seconds = (
                    (at.toordinal() - _EPOCH_ORDINAL) * 86400
                    + at.hour * 3600
                    + at.minute * 60
                    + at.second
                    - offset
                )
                days, rest = divmod(seconds, 86400)
                day = _DAY_TEXT.get(days) or _day_text(days)
                if day is not None:
                    text = day + _HOUR_MINUTE[rest // 60] + _SECOND_Z[rest % 60]
                    if len(_INSTANT_OF_RESULT) >= _MAX_REMEMBERED:
                        _INSTANT_OF_RESULT.clear()
                    _INSTANT_OF_RESULT[text] = seconds * 1000
                    return text
    return _rfc3339_of_text(value) if n <= _MAX_LENGTH else None


@functools.lru_cache(maxsize=4096)
def _epoch_seconds_text(value: str) -> str | None:
    """to_rfc3339() of `SSSSSSSSSS.ffffff` (ten ASCII digits, a dot, six: epoch seconds below
    1e11, so not milliseconds, with a fraction), the milliseconds remembered; None for any
    other text. As `_from_epoch` + `Instant.rfc3339()`: the fraction truncated to 3 digits.
    Cached: a message's `ts` is often its edit and reply times too (`coalesce(edited.ts, ts)`)."""
    seconds, fraction = value[:10], value[11:14]
    if not (seconds.isdigit() and value[11:].isdigit()):
        return None
    days, rest = divmod(int(seconds), 86400)
    day = _DAY_TEXT.get(days) or _day_text(days)
    if day is None:
        return None
    text = day + _HOUR_MINUTE[rest // 60] + _SECOND_DOT[rest % 60] + fraction + "Z"
    return _remember(text, int(seconds) * 1000 + int(fraction))


_OFFSETS: dict[str, int] = {}  # "+hh:mm" / "-hh:mm" -> seconds east of UTC (at most 2,880)


def _offset(zone: str) -> int | None:
    """The seconds east of UTC of a zone `+hh:mm` or `-hh:mm` (ASCII digits, hh < 24,
    mm < 60), remembered; None for any other text (0 is `+00:00`, never None)."""
    hours, minutes = zone[1:3], zone[4:]
    if (
        len(zone) != 6
        or zone[0] not in "+-"
        or zone[3] != ":"
        or not (hours + minutes).isascii()
        or not (hours + minutes).isdigit()
        or hours > "23"
        or minutes > "59"
    ):
        return None
    seconds = int(hours) * 3600 + int(minutes) * 60
    _OFFSETS[zone] = seconds = -seconds if zone[0] == "-" else seconds
    return seconds


_HOUR_MINUTE = tuple(f"{h:02}:{m:02}:" for h in range(24) for m in range(60))
_SECOND_Z = tuple(f"{s:02}Z" for s in range(60))
_SECOND_DOT = tuple(f"{s:02}." for s in range(60))
_fromisoformat = datetime.fromisoformat


_CANONICAL_UTC = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{3})?Z")


def epoch_ms_of(value: object) -> int | None:
    """`parse_instant(value).epoch_ms()`, or None; quick for what to_rfc3339() returns."""
    if type(value) is str:
        known = _INSTANT_OF_RESULT.get(value)
        if known is not None:
            return known if type(known) is int else (known - EPOCH) // _MILLISECOND  # type: ignore[operator]
    if type(value) is str and _CANONICAL_UTC.fullmatch(value):
        try:
            return (datetime.fromisoformat(value) - EPOCH) // _MILLISECOND
        except ValueError:
            return None  # e.g. 31 April: parse_instant gives None too
    instant = parse_instant(value)
    return None if instant is None else instant.epoch_ms()


class TimestampFunctions:
    """to_rfc3339(), to_epoch_ms(), to_epoch_s()."""

    @inline.inline_code(inline.to_rfc3339)
    @signature({"types": ["string", "number", "null"]})
    def _func_to_rfc3339(self, value: str | float | None) -> str | None:
        """Normalise a timestamp to RFC 3339 UTC with a `Z` suffix; null if it is not one.

        Accepts ISO 8601 / RFC 3339 with `Z`, `+02:00`, `-0800`, `+02` or no zone (read as UTC);
        `YYYY-MM-DD HH:MM:SS UTC` and `... +0200` (GitHub/GitLab events); a date alone
        (midnight UTC); RFC 2822 (`Wed, 01 May 2024 12:00:00 GMT`); epoch seconds or
        milliseconds as numbers or numeric strings (>= 1e11 means milliseconds); Slack `ts`
        strings. A fraction of a second of any length becomes exactly 3 digits (truncated).

        Signature: to_rfc3339(value: string|number|null) -> string|null

        Examples:
            to_rfc3339('2024-05-01T12:00:00Z') => "2024-05-01T12:00:00Z"
            to_rfc3339('2024-05-01T12:00:00+02:00') => "2024-05-01T10:00:00Z"
            to_rfc3339('2024-05-01T04:00:00-0800') => "2024-05-01T12:00:00Z"
            to_rfc3339('2024-05-01T12:00:00.000+0000') => "2024-05-01T12:00:00.000Z"
            to_rfc3339('2024-04-02T08:15:30.123456789Z') => "2024-04-02T08:15:30.123Z"
            to_rfc3339('2024-05-01T12:00:00.5Z') => "2024-05-01T12:00:00.500Z"
            to_rfc3339('2024-05-01 12:00:00 UTC') => "2024-05-01T12:00:00Z"
            to_rfc3339('2024-05-01 14:00:00 +0200') => "2024-05-01T12:00:00Z"
            to_rfc3339('2024-05-01T12:00:00') => "2024-05-01T12:00:00Z"
            to_rfc3339('2024-05-01') => "2024-05-01T00:00:00Z"
            to_rfc3339('Wed, 01 May 2024 14:00:00 +0200') => "2024-05-01T12:00:00Z"
            to_rfc3339(`1714564800`) => "2024-05-01T12:00:00Z"
            to_rfc3339('1714564800') => "2024-05-01T12:00:00Z"
            to_rfc3339(`1714564800123`) => "2024-05-01T12:00:00.123Z"
            to_rfc3339('1714564800123') => "2024-05-01T12:00:00.123Z"
            to_rfc3339(`1714564800.25`) => "2024-05-01T12:00:00.250Z"
            to_rfc3339('1714564800.000200') => "2024-05-01T12:00:00.000Z"
            to_rfc3339(ts) | data: {"ts": "1714564800.999999"} => "2024-05-01T12:00:00.999Z"
            to_rfc3339('yesterday') => null
            to_rfc3339('2024-02-30') => null
            to_rfc3339(missing) => null
        """
        if type(value) is str:
            return rfc3339_text(value)
        instant = parse_instant(value)
        return None if instant is None else instant.rfc3339()

    @signature({"types": ["string", "number", "null"]})
    def _func_to_epoch_ms(self, value: str | float | None) -> int | None:
        """Milliseconds since the Unix epoch, from any form to_rfc3339() accepts; null otherwise.

        Sub-millisecond digits are truncated. Handy for `updateSequenceNumber`.

        Signature: to_epoch_ms(value: string|number|null) -> number|null

        Examples:
            to_epoch_ms('2024-05-01T12:00:00Z') => 1714564800000
            to_epoch_ms('2024-05-01T14:00:00.123+02:00') => 1714564800123
            to_epoch_ms('1714564800.000200') => 1714564800000
            to_epoch_ms(`1714564800`) => 1714564800000
            to_epoch_ms(`1714564800123`) => 1714564800123
            to_epoch_ms('soon') => null
        """
        instant = parse_instant(value)
        return None if instant is None else instant.epoch_ms()

    @signature({"types": ["string", "number", "null"]})
    def _func_to_epoch_s(self, value: str | float | None) -> int | None:
        """Whole seconds since the Unix epoch (floored), from any form to_rfc3339() accepts.

        Signature: to_epoch_s(value: string|number|null) -> number|null

        Examples:
            to_epoch_s('2024-05-01T12:00:00.999Z') => 1714564800
            to_epoch_s(`1714564800123`) => 1714564800
            to_epoch_s('') => null
        """
        instant = parse_instant(value)
        return None if instant is None else instant.epoch_ms() // 1000
