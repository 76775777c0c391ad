"""Pattern functions: regex_* (the `regex` package, with a time limit) and jira_keys().

Regexes come from mapping authors, so a catastrophic pattern such as `(a+)+$` must not hang a
run: every match runs with a timeout (`REGEX_TIMEOUT_S`, read when a `MapperFunctions` is
created, overridable per instance), and subjects longer than `REGEX_MAX_INPUT` characters give
null. Compiled patterns are cached (256 most recent).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from jmespath.functions import signature

from mapper.errors import EvalError
from mapper.functions.arguments import STRING, STRING_OR_NULL, optional_args, repeated_args

if TYPE_CHECKING:
    import regex  # imported when a pattern is first compiled: it costs start-up time

REGEX_TIMEOUT_S = 0.1
REGEX_MAX_INPUT = 100_000  # characters
REGEX_MAX_PATTERN = 1_000  # characters
JIRA_KEYS_MAX_INPUT = 100_000  # characters scanned per string

# A Jira issue key: project key (upper-case letter, then upper-case letters, digits or `_`),
# `-`, number. Not preceded or followed by a letter or digit (`_`, `/`, `-` are boundaries).
# The project part is bounded so a long run of key characters cannot make the scan quadratic.
_JIRA_KEY = re.compile(r"(?=[A-Z])(?<![^\W_])[A-Z][A-Z0-9_]{1,255}-[0-9]++(?![^\W_])")
"""A key not preceded or followed by a letter or digit. The leading `(?=[A-Z])` changes nothing
but speed: the look-behind is only tried where a key can start."""


@functools.lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> regex.Pattern[str]:
    """Compile once; an invalid or over-long pattern raises EvalError(function.regex-invalid)."""
    if len(pattern) > REGEX_MAX_PATTERN:
        raise EvalError(
            "function.regex-invalid", f"regex pattern longer than {REGEX_MAX_PATTERN} characters"
        )
    import regex

    try:
        return regex.compile(pattern)
    except (regex.error, ValueError, OverflowError, RecursionError) as err:
        raise EvalError("function.regex-invalid", f"invalid regex {pattern!r}: {err}") from err


def _group_of(pattern: regex.Pattern[str], group: float | str | None) -> int | str:
    """The group to return: the given one, else 1 if the pattern has groups, else 0."""
    if group is None:
        return 1 if pattern.groups else 0
    if isinstance(group, float) and group.is_integer():
        group = int(group)
    if isinstance(group, str) and group in pattern.groupindex:
        return group
    if isinstance(group, int) and 0 <= group <= pattern.groups:
        return group
    raise EvalError("function.regex-invalid", f"the regex has no group {group!r}")


def _timeout_error(pattern: str) -> EvalError:
    return EvalError(
        "function.regex-timeout",
        f"regex {pattern!r} ran longer than the time limit; simplify the pattern",
    )


def _iter_strings(value: object) -> Iterator[str]:
    """The strings in `value` and its nested arrays, in order (iterative: any depth is fine)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, list):
            stack.extend(reversed(item))


def find_jira_keys(*values: object) -> list[str]:
    """Distinct Jira issue keys in strings or (nested) arrays of strings, in order of appearance."""
    if len(values) == 1 and type(values[0]) is str:  # the usual case: one message or title
        return list(dict.fromkeys(_JIRA_KEY.findall(values[0], 0, JIRA_KEYS_MAX_INPUT)))
    seen: dict[str, None] = {}
    for text in (s for value in values for s in _iter_strings(value)):
        for match in _JIRA_KEY.finditer(text, 0, JIRA_KEYS_MAX_INPUT):
            seen.setdefault(match.group())
    return list(seen)


class PatternFunctions:
    """regex_test(), regex_extract(), regex_find_all(), regex_replace(), jira_keys()."""

    regex_timeout_s: float

    def _search(self, text: str, pattern: str) -> regex.Match[str] | None:
        compiled = compile_pattern(pattern)
        try:
            return compiled.search(text, timeout=self.regex_timeout_s)
        except TimeoutError as err:
            raise _timeout_error(pattern) from err

    @signature({"types": STRING_OR_NULL}, {"types": STRING})
    def _func_regex_test(self, text: str | None, pattern: str) -> bool | None:
        """True if the regex matches anywhere in the string (anchor with `^`/`$`).

        Useful in filters: `commits[?!regex_test(message, '^Merge ')]`.

        Signature: regex_test(text: string|null, pattern: string) -> boolean|null

        Examples:
            regex_test('Merge pull request #7', '^Merge ') => true
            regex_test('fix(ui): button', '(?i)^FIX') => true
            regex_test('docs', '^Merge ') => false
            regex_test(missing, 'x') => null
        """
        if text is None or len(text) > REGEX_MAX_INPUT:
            return None
        return self._search(text, pattern) is not None

    @signature({"types": STRING_OR_NULL}, {"types": STRING, "variadic": True})
    @optional_args(["number", "string"])
    def _func_regex_extract(
        self, text: str | None, pattern: str, group: float | str | None = None
    ) -> str | None:
        """The first match of a regex: by default group 1 if the pattern has groups, else the match.

        `group` may be a number (0 = whole match) or a group name. Null if nothing matches or the
        group did not take part in the match; an unknown group is function.regex-invalid.

        Signature: regex_extract(text: string|null, pattern: string, group?: number|string)
            -> string|null

        Examples:
            regex_extract('refs/heads/feature/BB-2', '^refs/heads/(.+)$') => "feature/BB-2"
            regex_extract('v1.2.3', '\\d+\\.\\d+') => "1.2"
            regex_extract('v1.2.3', '(\\d+)\\.(\\d+)', `2`) => "2"
            regex_extract('id=42', 'id=(?P<id>\\d+)', 'id') => "42"
            regex_extract('none', '\\d+') => null
        """
        if text is None or len(text) > REGEX_MAX_INPUT:
            return None
        chosen = _group_of(compile_pattern(pattern), group)
        match = self._search(text, pattern)
        return None if match is None else match.group(chosen)

    @signature({"types": STRING_OR_NULL}, {"types": STRING})
    def _func_regex_find_all(self, text: str | None, pattern: str) -> list[str] | None:
        """Every non-overlapping match: group 1 if the pattern has groups, else the whole match.

        Matches in which group 1 did not take part are left out.

        Signature: regex_find_all(text: string|null, pattern: string) -> array|null

        Examples:
            regex_find_all('#12 and #7', '#(\\d+)') => ["12", "7"]
            regex_find_all('a1b22', '\\d+') => ["1", "22"]
            regex_find_all('none', '\\d') => []
        """
        if text is None or len(text) > REGEX_MAX_INPUT:
            return None
        compiled = compile_pattern(pattern)
        group = 1 if compiled.groups else 0
        try:
            found = [m.group(group) for m in compiled.finditer(text, timeout=self.regex_timeout_s)]
        except TimeoutError as err:
            raise _timeout_error(pattern) from err
        return [item for item in found if item is not None]

    @signature({"types": STRING_OR_NULL}, {"types": STRING}, {"types": STRING})
    def _func_regex_replace(self, text: str | None, pattern: str, replacement: str) -> str | None:
        r"""Replace every match of a regex; `\1` or `\g<name>` in the replacement insert groups.

        Signature: regex_replace(text: string|null, pattern: string, replacement: string)
            -> string|null

        Examples:
            regex_replace(`"a  b\t c"`, '\s+', ' ') => "a b c"
            regex_replace('2024-05-01', '(\d+)-(\d+)-(\d+)', '\3.\2.\1') => "01.05.2024"
            regex_replace(missing, 'a', 'b') => null
        """
        if text is None or len(text) > REGEX_MAX_INPUT:
            return None
        compiled = compile_pattern(pattern)
        import regex

        try:
            return compiled.sub(replacement, text, timeout=self.regex_timeout_s)
        except TimeoutError as err:
            raise _timeout_error(pattern) from err
        except (regex.error, IndexError) as err:  # a bad group reference in the replacement
            raise EvalError("function.regex-invalid", f"invalid replacement: {err}") from err

    @signature({"types": ["string", "array", "null"], "variadic": True})
    @repeated_args(["string", "array", "null"])
    def _func_jira_keys(self, *values: str | list[object] | None) -> list[str]:
        """Distinct Jira issue keys found in strings or arrays of strings, in order of appearance.

        A key is `[A-Z][A-Z0-9_]+-[0-9]+` not preceded or followed by a letter or digit, so
        `feature/BB-2`, `ABC-12-fix-login` and `(ABC-1)` match but `xABC-1` and `ABC-1x` don't.
        Keys are upper case (as in Jira); `upper()` a lower-case branch name first if needed.
        Non-string array items are ignored; each string is scanned up to 100,000 characters.
        Look-alikes such as `UTF-8` are found too.

        Signature: jira_keys(values...: string|array|null) -> array

        Examples:
            jira_keys('ABC-1: fix login', 'feature/BB-2', 'bugfix/ABC-12-fix-login')
                => ["ABC-1", "BB-2", "ABC-12"]
            jira_keys(commits[].message) | data: {"commits": [{"message": "MAP-7 MAP-7 DEV_2-9"}]}
                => ["MAP-7", "DEV_2-9"]
            jira_keys('xABC-1 ABC-1x A-1 abc-1') => []
            jira_keys(missing) => []
        """
        return find_jira_keys(*values)
