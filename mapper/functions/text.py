"""String functions: concat(), format(), split(), case and whitespace, truncate(), URL joining."""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import unquote, urljoin

from jmespath.functions import signature

from mapper.errors import EvalError
from mapper.functions import inline
from mapper.functions.arguments import (
    NUMBER,
    STRING,
    STRING_OR_NULL,
    TEXTUAL,
    as_text,
    optional_args,
    repeated_args,
)

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{(\d{0,4})\}|[{}]")
_ABSOLUTE_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def render_template(template: str, args: Sequence[object]) -> str | None:
    """Fill `{}` / `{0}` placeholders (`{{`, `}}` are literal braces); None if a used arg is null.

    Raises:
        EvalError: function.format-invalid for a stray brace or a placeholder without argument.
    """
    pieces: list[str] = []
    pos = auto = 0
    for match in _PLACEHOLDER.finditer(template):
        pieces.append(template[pos : match.start()])
        pos = match.end()
        token, number = match.group(), match.group(1)
        if token in ("{{", "}}"):
            pieces.append(token[0])
            continue
        if number is None:
            raise EvalError(
                "function.format-invalid",
                f"unmatched {token!r} at column {match.start()} of the format template",
            )
        index = int(number) if number else auto
        auto += 0 if number else 1
        if index >= len(args):
            raise EvalError(
                "function.format-invalid",
                f"placeholder {token} has no argument ({len(args)} given)",
            )
        text = as_text(args[index])
        if text is None:
            return None
        pieces.append(text)
    pieces.append(template[pos:])
    return "".join(pieces)


def _whole(number: float) -> int | None:
    """A non-negative whole number as an int, else None."""
    if isinstance(number, int) and number >= 0:
        return number
    if isinstance(number, float) and number.is_integer() and number >= 0:
        return int(number)
    return None


class TextFunctions:
    """String helpers. Each returns null for a null subject string."""

    @signature({"types": STRING_OR_NULL})
    def _func_url_decode(self, text: str | None) -> str | None:
        """Decode %XX escapes of a URL or URL part (`%3A` -> `:`); `+` stays a plus sign.

        Signature: url_decode(text: string|null) -> string|null

        Examples:
            url_decode('19%3Aabc%40thread.tacv2') => "19:abc@thread.tacv2"
            url_decode('a+b%20c') => "a+b c"
            url_decode(missing) => null
        """
        return None if text is None else unquote(text)

    @inline.inline_code(inline.concat)
    @signature({"types": TEXTUAL, "variadic": True})
    @repeated_args(TEXTUAL)
    def _func_concat(self, *parts: str | float | None) -> str | None:
        """Join strings and numbers into one string; null if any part is null.

        Unlike `join('', [...])` it accepts numbers, and a missing part gives null rather than a
        broken URL or id: `concat('https://github.com/', repo, '/pull/', number)`. Wrap a part in
        `coalesce(part, '')` to make it optional.

        Signature: concat(parts...: string|number|null) -> string|null

        Examples:
            concat('https://github.com/', r, '/pull/', `7`) | data: {"r": "a/b"} => "https://github.com/a/b/pull/7"
            concat('C1-', ts) | data: {"ts": "1714564800.000200"} => "C1-1714564800.000200"
            concat('id-', missing) => null
            concat('a', coalesce(missing, '')) => "a"
        """
        for part in parts:
            if type(part) is not str:
                break
        else:
            return "".join(parts)  # type: ignore[arg-type]  # all strings: the usual case
        texts = [as_text(part) for part in parts]
        return None if any(text is None for text in texts) else "".join(texts)  # type: ignore[arg-type]

    @signature({"types": STRING_OR_NULL, "variadic": True})
    @repeated_args(TEXTUAL)
    def _func_format(self, template: str | None, *args: str | float | None) -> str | None:
        """Fill `{}` (next argument) and `{0}` (argument 0) placeholders of a template.

        Arguments may be strings or numbers. The result is null if the template or any argument
        a placeholder uses is null (unused arguments may be null). `{{` and `}}` write braces.
        A stray brace or a placeholder without argument is an error (function.format-invalid).

        Signature: format(template: string|null, args...: string|number|null) -> string|null

        Examples:
            format('{}/browse/{}', 'https://x.test', 'ABC-1') => "https://x.test/browse/ABC-1"
            format('{1}-{0}-{1}', 'a', `2`) => "2-a-2"
            format('{{{}}}', 'x') => "{x}"
            format('{0}/{1}', 'a', missing) => null
        """
        return None if template is None else render_template(template, args)

    @signature({"types": STRING_OR_NULL}, {"types": STRING})
    def _func_split(self, text: str | None, separator: str) -> list[str] | None:
        """Split a string at every `separator`; an empty separator splits on runs of whitespace.

        Signature: split(text: string|null, separator: string) -> array|null

        Examples:
            split('a,b,,c', ',') => ["a", "b", "", "c"]
            split('  bug  ui ', '') => ["bug", "ui"]
            split(labels, ',') => null
        """
        if text is None:
            return None
        return text.split(separator) if separator else text.split()

    @signature({"types": STRING_OR_NULL})
    def _func_lower(self, text: str | None) -> str | None:
        """Lower-case a string.

        Signature: lower(text: string|null) -> string|null

        Examples:
            lower('Open') => "open"
            lower(missing) => null
        """
        return None if text is None else text.lower()

    @signature({"types": STRING_OR_NULL})
    def _func_upper(self, text: str | None) -> str | None:
        """Upper-case a string.

        Signature: upper(text: string|null) -> string|null

        Examples:
            upper('merged') => "MERGED"
            upper(missing) => null
        """
        return None if text is None else text.upper()

    @signature({"types": STRING_OR_NULL})
    def _func_trim(self, text: str | None) -> str | None:
        """Remove leading and trailing whitespace.

        Signature: trim(text: string|null) -> string|null

        Examples:
            trim(`"  Q2 plan \\n"`) => "Q2 plan"
            trim(missing) => null
        """
        return None if text is None else text.strip()

    @signature({"types": STRING_OR_NULL}, {"types": STRING}, {"types": STRING})
    def _func_replace(self, text: str | None, old: str, new: str) -> str | None:
        """Replace every occurrence of the literal text `old` with `new` (empty `old`: no change).

        Signature: replace(text: string|null, old: string, new: string) -> string|null

        Examples:
            replace('refs/heads/main', 'refs/heads/', '') => "main"
            replace('a-b-c', '-', ' ') => "a b c"
            replace(missing, 'a', 'b') => null
        """
        if text is None:
            return None
        return text.replace(old, new) if old else text

    @inline.inline_code(inline.first_line)
    @signature({"types": STRING_OR_NULL})
    def _func_first_line(self, text: str | None) -> str | None:
        """The first non-blank line, trimmed (a commit subject); null if there is none.

        Signature: first_line(text: string|null) -> string|null

        Examples:
            first_line(`"\\nFix login (ABC-12)\\n\\nLong body"`) => "Fix login (ABC-12)"
            first_line('   ') => null
        """
        if text is None:
            return None
        head = text.partition("\n")[0]
        # every line break but \n is unprintable: a printable head is the first line
        if head.isprintable() and (first := head.strip()):
            return first
        return next((line.strip() for line in text.splitlines() if line.strip()), None)

    @inline.inline_code(inline.truncate)
    @signature({"types": STRING_OR_NULL}, {"types": NUMBER, "variadic": True})
    @optional_args(STRING)
    def _func_truncate(self, text: str | None, length: float, suffix: str = "") -> str | None:
        """Shorten a string to at most `length` characters, ending with `suffix` when cut.

        The result, suffix included, is never longer than `length`. A negative or fractional
        `length` gives null.

        Signature: truncate(text: string|null, length: number, suffix?: string) -> string|null

        Examples:
            truncate('Quarterly planning', `9`) => "Quarterly"
            truncate('Quarterly planning', `10`, '…') => "Quarterly…"
            truncate('short', `10`, '…') => "short"
            truncate('abc', `-1`) => null
        """
        limit = _whole(length)
        if text is None or limit is None:
            return None
        if len(text) <= limit:
            return text
        if len(suffix) >= limit:
            return text[:limit]
        return text[: limit - len(suffix)] + suffix

    @signature({"types": STRING_OR_NULL}, {"types": STRING_OR_NULL})
    def _func_url_join(self, base: str | None, path: str | None) -> str | None:
        """Append a path to a base URL with exactly one `/` between; absolute URLs pass through.

        The base keeps its own path (Confluence: `_links.base` + `_links.webui`); use
        url_resolve() for browser-style resolution. A path starting with `?` or `#` is appended
        as is; a protocol-relative `//host/...` takes the base's scheme. Null if the path is
        null, or if the base is null and the path is not absolute.

        Signature: url_join(base: string|null, path: string|null) -> string|null

        Examples:
            url_join('https://x.test/wiki', '/spaces/ENG') => "https://x.test/wiki/spaces/ENG"
            url_join('https://x.test/api/', 'files/1') => "https://x.test/api/files/1"
            url_join('https://x.test/wiki', 'https://cdn.test/a.png') => "https://cdn.test/a.png"
            url_join('https://x.test/wiki', '?page=2') => "https://x.test/wiki?page=2"
            url_join('https://x.test/wiki', '//cdn.test/a') => "https://cdn.test/a"
            url_join(missing, '/a') => null
        """
        if path is None or _ABSOLUTE_URL.match(path):
            return path
        if base is None:
            return None
        if path.startswith("//"):  # protocol-relative: takes the base's scheme
            return self._func_url_resolve(base, path)
        if path.startswith(("?", "#")) or not path:
            return base + path
        return base.rstrip("/") + "/" + path.lstrip("/")

    @signature({"types": STRING_OR_NULL}, {"types": STRING_OR_NULL})
    def _func_url_resolve(self, base: str | None, ref: str | None) -> str | None:
        """Resolve a link against a base URL the way a browser does (RFC 3986).

        An absolute path replaces the base's path, a relative one replaces its last segment.
        Null if either argument is null or the base is malformed.

        Signature: url_resolve(base: string|null, ref: string|null) -> string|null

        Examples:
            url_resolve('https://x.test/docs/a/b.html', '../c.png') => "https://x.test/docs/c.png"
            url_resolve('https://x.test/docs/a.html', '/raw/a') => "https://x.test/raw/a"
            url_resolve('https://x.test/', 'https://y.test/x') => "https://y.test/x"
        """
        if base is None or ref is None:
            return None
        try:
            return urljoin(base, ref)
        except ValueError:  # e.g. an unclosed IPv6 bracket
            return None
