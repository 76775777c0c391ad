"""Text from data made safe to print: control characters shown as escapes (no rich needed)."""

import re

_UNSEEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""Control characters (all but newline and tab) and bidirectional overrides: printed as they
are, data could move the cursor, clear the screen, retitle the window or reorder the text."""


def visible(text: str) -> str:
    """`text` with control characters written as escapes (`\x1b`, `\u202e`) a terminal shows
    as text instead of obeying them."""
    return _UNSEEN.sub(_escape, text)


def visible_json(text: str) -> str:
    """JSON text with the control characters JSON leaves raw (DEL, C1, bidi) as `\\uXXXX`."""
    return _UNSEEN.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _escape(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
