"""The checks of the TWG models' scalar values: RFC 3339 timestamps, URLs, numbers, JSON.

They are the models' validators (`model.scalars` puts them in the `Annotated` field types) and
the generated fast checks call them too (`model.fastcheck`), so this module imports no pydantic:
a plan kept by the compiled-mapping cache refers to these functions, and a clean run on it never
loads the models. A check that fails raises a `PydanticCustomError` (imported then) whose type
is the stable diagnostic code; `validate` turns it into a `Diagnostic`.
"""

from __future__ import annotations

import functools
import math
import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from mapper.errors import show_value

if TYPE_CHECKING:
    from pydantic_core import PydanticCustomError

MAX_LONG = 2**63 - 1
TIMESTAMP_HINT = "use the to_rfc3339() mapping function to build an RFC 3339 timestamp"
URL_HINT = "a relative link needs the source's base URL: join the base URL and the path"

_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]+))?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_NAIVE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?")
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


def fail(
    code: str, message: str, *, hint: str | None = None, at: tuple[str | int, ...] = ()
) -> PydanticCustomError:
    """Build a validation error whose type is the diagnostic `code`.

    Args:
        code: Stable diagnostic code, e.g. `object.timestamp`.
        message: Human-readable message (braces are safe: it is passed through the context).
        hint: Optional fix suggestion, copied to `Diagnostic.hint`.
        at: Extra location parts below the validated value (e.g. `("id",)` inside a principal).

    Returns:
        The error, for the caller to raise.
    """
    from pydantic_core import PydanticCustomError  # only when a value fails

    return PydanticCustomError(code, "{message}", {"message": message, "hint": hint, "at": at})


def _describe(value: object) -> str:
    """Name a JSON value's type for messages."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return f"a {type(value).__name__}"


def _timestamp_error(value: object) -> PydanticCustomError:
    """The error for a value that is not an RFC 3339 instant, with a specific message."""
    if not isinstance(value, str):
        message = f"timestamps must be RFC 3339 strings, got {_describe(value)}"
    elif _DATE.fullmatch(value):
        message = f"{value!r} is a date without a time; an RFC 3339 instant is needed"
    elif _NAIVE.fullmatch(value):
        message = f"{value!r} has no UTC offset; add 'Z' or a numeric offset such as '+02:00'"
    else:
        message = f"{value!r} is not an RFC 3339 timestamp"
    return fail("object.timestamp", message, hint=TIMESTAMP_HINT)


def _offset(text: str) -> timezone:
    """Parse `Z` or `+hh:mm` into a timezone (ValueError when out of range)."""
    if text in ("Z", "z"):
        return UTC
    hours, minutes = int(text[1:3]), int(text[4:6])
    if minutes >= 60:
        raise ValueError("offset minutes out of range")
    sign = -1 if text[0] == "-" else 1
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _format_utc(moment: datetime, fraction: str | None) -> str:
    """Render a UTC datetime as `YYYY-MM-DDThh:mm:ss[.mmm]Z` (decision §8.1)."""
    millis = f".{(fraction + '00')[:3]}" if fraction else ""
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}{millis}Z"
    )


def normalise_timestamp(value: object) -> str:
    """Validate an RFC 3339 instant and return it in UTC with a `Z` suffix.

    Fractional seconds are truncated or padded to exactly three digits when present and
    omitted when absent. Numbers, dates without a time and naive datetimes are rejected.

    Args:
        value: The raw JSON value.

    Returns:
        The normalised timestamp string.

    Raises:
        PydanticCustomError: `object.timestamp`, with a hint naming `to_rfc3339()`.
    """
    if not isinstance(value, str):
        raise _timestamp_error(value)
    if _CANONICAL.fullmatch(value) and _is_real_utc(value):
        return value  # already normalised: what _normalise_text would return
    return _normalise_text(value)


_CANONICAL = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{3})?Z")


def _is_real_utc(text: str) -> bool:
    """True when a canonical-looking timestamp names a real instant (no 31 April, no hour 24)."""
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


@functools.lru_cache(maxsize=8192)
def _normalise_text(value: str) -> str:
    """normalise_timestamp for text; pure, so repeated timestamps are looked up, not parsed."""
    match = _RFC3339.fullmatch(value)
    if match is None:
        raise _timestamp_error(value)
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    try:
        local = datetime(year, month, day, hour, minute, second, tzinfo=_offset(match[8]))
        moment = local.astimezone(UTC)
    except (ValueError, OverflowError) as err:
        raise fail(
            "object.timestamp", f"{value!r} is out of range: {err}", hint=TIMESTAMP_HINT
        ) from err
    return _format_utc(moment, match[7])


def normalise_date_or_timestamp(value: object) -> str:
    """Accept a calendar date `YYYY-MM-DD` unchanged, otherwise normalise an RFC 3339 instant.

    Used for due dates, which sources (e.g. Jira) often give as plain dates.

    Raises:
        PydanticCustomError: `object.timestamp` for anything else.
    """
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            date.fromisoformat(value)
        except ValueError as err:
            raise fail(
                "object.timestamp", f"{value!r} is not a valid date", hint=TIMESTAMP_HINT
            ) from err
        return value
    return normalise_timestamp(value)


def check_url(value: str) -> str:
    """Require an absolute http(s) URL without whitespace; return it unchanged.

    Raises:
        PydanticCustomError: `object.url`; relative links get a hint about the base URL.
    """
    if _SIMPLE_URL.fullmatch(value):
        return value  # scheme http(s), a plain host, no whitespace: what the checks below accept
    try:
        parts = urlsplit(value)
    except ValueError as err:
        raise fail("object.url", f"{value!r} is not a valid URL: {err}") from err
    if not parts.scheme:
        raise fail(
            "object.url", f"{value!r} is a relative link; an absolute URL is needed", hint=URL_HINT
        )
    if parts.scheme.lower() not in ("http", "https"):
        raise fail("object.url", f"{value!r} must use http or https, not {parts.scheme!r}")
    if not parts.netloc or not parts.hostname:
        raise fail("object.url", f"{value!r} has no host")
    try:
        port = parts.port
    except ValueError as err:  # not a number, or beyond 65535
        raise fail("object.url", f"{value!r} has an invalid port: {err}") from err
    if port == 0:
        raise fail("object.url", f"{value!r} has an invalid port: 0")
    if _WHITESPACE.search(value):
        raise fail(
            "object.url", f"{value!r} contains whitespace", hint="percent-encode spaces as %20"
        )
    return value


_WHITESPACE = re.compile(r"\s")
_SIMPLE_URL = re.compile(
    r"(?:[Hh][Tt][Tt][Pp][Ss]?)://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?:[/?#]\S*)?"
)
"""A host of letters, digits, dots and hyphens and no port: valid as it is (a URL with a port
takes the checks, which read the port)."""


def check_number(value: object) -> object:
    """Accept a finite JSON number (booleans are not numbers).

    Raises:
        PydanticCustomError: `object.invalid-type` or `object.invalid-value`.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail("object.invalid-type", f"expected a number, got {_describe(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise fail("object.invalid-value", "numbers must be finite")
    return value


MAX_JSON_DEPTH = 64


def _json_problem(value: object) -> str | None:
    """Why `value` is not plain JSON (None when it is), walking without recursion."""
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return f"JSON nested deeper than {MAX_JSON_DEPTH} levels"
        if isinstance(item, dict):
            if not all(isinstance(key, str) for key in item):
                return "JSON object keys must be strings"
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, float) and not math.isfinite(item):
            return "numbers must be finite"
        elif item is not None and not isinstance(item, str | int | float):
            return f"{_describe(item)} is not a JSON value"
    return None


def check_json(value: object) -> object:
    """Accept any plain JSON value (free-form fields), bounded in depth.

    Raises:
        PydanticCustomError: `object.invalid-value`.
    """
    problem = _json_problem(value)
    if problem is not None:
        raise fail("object.invalid-value", problem)
    return value


def check_not_blank(value: str) -> str:
    """Require some text that is not only whitespace (an id or name of spaces names nothing).

    Raises:
        PydanticCustomError: `object.blank`.
    """
    if value.isspace():
        raise fail("object.blank", f"{show_value(value)} is only whitespace")
    return value
