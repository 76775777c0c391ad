"""Tests of mapper.functions: documented examples, edge cases, errors, determinism, fuzzing."""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any

import jmespath
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jmespath import exceptions, functions

from mapper.errors import EvalError
from mapper.functions import (
    CUSTOM_FUNCTIONS,
    FUNCTION_NAMES,
    EvalContext,
    MapperFunctions,
    arity,
    function_docs,
    make_options,
    timestamps,
)
from mapper.functions.arguments import OPTIONAL_TYPES, REPEATED_TYPES
from mapper.functions.docs import EXAMPLE_LOOKUPS, EXAMPLE_PARAMS, example_context, parse_doc
from mapper.functions.patterns import _compiled, repeat_cost

DOCS = {doc.name: doc for doc in function_docs()}
ALL_EXAMPLES = [example for doc in DOCS.values() for example in doc.examples]
EXAMPLES = [
    pytest.param(example, id=f"{doc.name}:{i}")
    for doc in DOCS.values()
    for i, example in enumerate(doc.examples)
]


def search(expr: str, data: Any = None, context: EvalContext | None = None) -> Any:
    fns = MapperFunctions()
    fns.context = context or example_context(data)
    fns.params = EXAMPLE_PARAMS
    return jmespath.compile(expr).search(data, options=make_options(fns))


def as_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, allow_nan=False)


def assert_maps(expr: str, expected: Any, data: Any = None) -> None:
    """`expr` on `data` gives `expected`, with the same JSON types (1 is not 1.0 or true)."""
    assert as_json(search(expr, data)) == as_json(expected), expr


def assert_raises(expr: str, error: type[Exception] | str, data: Any = None) -> None:
    """`expr` raises the jmespath error class `error`, or an EvalError whose code is `error`."""
    if isinstance(error, str):
        with pytest.raises(EvalError) as info:
            search(expr, data)
        assert info.value.code == error, expr
    else:
        with pytest.raises(error):
            search(expr, data)


# -- the documented examples run as tests -------------------------------------------------------


@pytest.mark.parametrize("example", EXAMPLES)
def test_documented_example(example: Any) -> None:
    assert as_json(search(example.expression, example.data)) == as_json(example.expected)


# -- registry and documentation ----------------------------------------------------------------


def test_registry_names() -> None:
    builtins = set(functions.Functions.FUNCTION_TABLE)
    assert builtins | set(CUSTOM_FUNCTIONS) == FUNCTION_NAMES
    assert list(CUSTOM_FUNCTIONS) == sorted(CUSTOM_FUNCTIONS)
    # no built-in is silently replaced: only these, documented as forgiving versions (avg and
    # to_number: as the built-ins, but never infinity or NaN)
    assert builtins & set(CUSTOM_FUNCTIONS) == {"avg", "join", "max", "min", "sum", "to_number"}
    assert all(re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", name) for name in CUSTOM_FUNCTIONS)
    assert set(DOCS) == set(CUSTOM_FUNCTIONS)


@pytest.mark.parametrize("name", CUSTOM_FUNCTIONS)
def test_documented(name: str) -> None:
    doc = DOCS[name]
    assert doc.summary and doc.summary == doc.doc.splitlines()[0] and len(doc.summary) <= 100
    assert doc.examples, f"{name} needs at least one example"
    assert doc.signature.startswith(f"{name}(")
    assert " -> " in doc.signature


def _doc_params(signature: str) -> list[tuple[str, str, set[str]]]:
    """[(kind, name, types)] from `name(a: t|u, b?: t, c...: t) -> r`; kind '', '?' or '...'."""
    inner = signature[signature.index("(") + 1 : signature.rindex(")")]
    params = []
    for part in filter(None, (p.strip() for p in inner.split(","))):
        name, _, types = part.partition(": ")
        kind = "..." if name.endswith("...") else "?" if name.endswith("?") else ""
        params.append((kind, name.rstrip(".?"), set(types.split("|"))))
    return params


def _types(types: list[str]) -> set[str]:
    return set(types) or {"any"}


@pytest.mark.parametrize("name", CUSTOM_FUNCTIONS)
def test_signature_line_matches_registration(name: str) -> None:
    """The documented signature says what @signature / @optional_args / @repeated_args enforce."""
    method = MapperFunctions.FUNCTION_TABLE[name]["function"]
    sig = method.signature
    params = _doc_params(DOCS[name].signature)
    low, high = arity(name)
    plain = [p for p in params if p[0] == ""]
    optional = [p for p in params if p[0] == "?"]
    repeated = [p for p in params if p[0] == "..."]
    for (_, pname, types), entry in zip(plain, sig, strict=False):
        assert types == _types(entry["types"]), (name, pname)
    for (_, pname, types), expected in zip(optional, getattr(method, OPTIONAL_TYPES, ()), strict=True):
        assert types == _types(expected), (name, pname)
    if high is None:
        assert len(repeated) == 1 and len(plain) in (low, low - 1)
        assert repeated[0][2] == _types(getattr(method, REPEATED_TYPES))
    else:
        assert not repeated and len(plain) == low and len(optional) == high - low


@pytest.mark.parametrize("name", CUSTOM_FUNCTIONS)
def test_variadic_functions_check_their_extra_arguments(name: str) -> None:
    method = MapperFunctions.FUNCTION_TABLE[name]["function"]
    if method.signature and method.signature[-1].get("variadic"):
        assert hasattr(method, OPTIONAL_TYPES), f"{name}: add @optional_args or @repeated_args"


@pytest.mark.parametrize(
    ("name", "expected"),
    [("record", (0, 0)), ("lookup", (2, 2)), ("regex_extract", (2, 3)), ("user_ref", (1, 3)),
     ("truncate", (2, 3)), ("concat", (1, None)), ("format", (1, None)), ("lower", (1, 1))],
)  # fmt: skip
def test_arity(name: str, expected: tuple[int, int | None]) -> None:
    assert arity(name) == expected


def test_arity_of_builtins_and_unknown_names() -> None:
    assert arity("length") == (1, 1)
    assert arity("not_null") == (1, None)
    with pytest.raises(KeyError):
        arity("slugg")


def test_docstring_format_errors() -> None:
    with pytest.raises(ValueError, match="Signature"):
        parse_doc("f", "Summary.\n\nExamples:\n    f() => 1\n")
    with pytest.raises(ValueError, match="=>"):
        parse_doc("f", "Summary.\n\nSignature: f() -> number\n\nExamples:\n    f()\n")
    doc = parse_doc("f", "S.\n\nSignature: f(a: string,\n    b: string) -> string\n")
    assert doc.signature == "f(a: string, b: string) -> string" and doc.examples == ()


def test_make_options_and_context() -> None:
    fns = MapperFunctions()
    assert make_options(fns).custom_functions is fns
    assert isinstance(make_options().custom_functions, MapperFunctions)
    assert fns.context == EvalContext() and fns.context.lookups == {}
    fns.context = EvalContext({"repository": {"full_name": "acme/api"}}, "push.json")
    expr = jmespath.compile("record().repository.full_name")
    assert expr.search({}, options=make_options(fns)) == "acme/api"
    assert jmespath.compile("source()").search(None, options=make_options(fns)) == "push.json"


def test_context_defaults() -> None:
    context = EvalContext()
    assert search("[record(), source()]", {"x": 1}, context=context) == [None, ""]
    with pytest.raises(EvalError) as info:
        search("lookup('users', 'U1')", context=context)
    assert info.value.code == "function.unknown-lookup"
    with pytest.raises(EvalError) as info:
        search("lookup('user', 'U1')", context=context._replace(lookups=EXAMPLE_LOOKUPS))
    assert info.value.code == "function.unknown-lookup" and "did you mean 'users'" in info.value.message


# -- edge cases, one row per input ---------------------------------------------------------------

TIMESTAMPS = [
    ("'2024-05-01T12:00:00z'", "2024-05-01T12:00:00Z"),
    ("'2024-05-01t12:00:00Z'", "2024-05-01T12:00:00Z"),
    ("'2024-05-01T12:00Z'", "2024-05-01T12:00:00Z"),
    ("'2024-05-01T12:00:00,5Z'", "2024-05-01T12:00:00.500Z"),
    ("'2024-05-01T12:00:00.000Z'", "2024-05-01T12:00:00.000Z"),
    ("'2024-05-01T12:00:00.0009Z'", "2024-05-01T12:00:00.000Z"),
    ("'2024-05-01T12:00:00+02'", "2024-05-01T10:00:00Z"),
    ("'2024-05-01T01:00:00+05:30'", "2024-04-30T19:30:00Z"),
    ("'2024-12-31T23:30:00-01:00'", "2025-01-01T00:30:00Z"),
    ("'2024-05-01 12:00:00 GMT'", "2024-05-01T12:00:00Z"),
    ("'2024-05-01 12:00:00'", "2024-05-01T12:00:00Z"),
    ("'  2024-05-01  '", "2024-05-01T00:00:00Z"),
    ("'Wed, 01 May 2024 12:00:00 GMT'", "2024-05-01T12:00:00Z"),
    # four-digit years below 100 are those years, not 19xx/20xx (email.utils' two-digit rule)
    ("'Mon, 01 Jan 0001 00:00:00 -0100'", "0001-01-01T01:00:00Z"),
    ("'Mon, 01 Jan 0001 00:00:00 +1400'", None),  # before year 1 in UTC: not representable
    ("'01 Jan 0099 00:00:00 GMT'", "0099-01-01T00:00:00Z"),
    ("'Thu, 31 Dec 0068 23:59:59 +0000'", "0068-12-31T23:59:59Z"),
    ("'29 Feb 0004 00:00:00 GMT'", "0004-02-29T00:00:00Z"),
    ("'29 Feb 0100 00:00:00 GMT'", None),  # 100 is no leap year (2100 neither, 2000 is)
    ("'01 Jan 0000 00:00:00 GMT'", None),
    ("'01 Jan 0100 00:00:00 GMT'", "0100-01-01T00:00:00Z"),
    ("'01 May 2024 05:00:00 PDT'", "2024-05-01T12:00:00Z"),
    ("'Wed, 01 May 2024 12:00:00 CEST'", None),  # zone names email.utils does not know
    ("`0`", "1970-01-01T00:00:00Z"),
    ("`-1.5`", "1969-12-31T23:59:58.500Z"),
    ("`1714564800.0`", "2024-05-01T12:00:00.000Z"),
    ("`99999999999`", "5138-11-16T09:46:39Z"),  # just below the threshold: seconds
    ("`100000000000`", "1973-03-03T09:46:40.000Z"),  # the threshold: milliseconds
    ("'1714564800123.9'", "2024-05-01T12:00:00.123Z"),
    ("`-100000000000`", "1966-10-31T14:13:20.000Z"),
    ("`1e30`", None),
    ("`1e300`", None),
    ("'99999999999999999999999'", None),
    ("'2016-12-31T23:59:60Z'", None),  # leap second
    ("'2024-05-01T24:00:00Z'", None),
    ("'2024-13-01'", None),
    ("'2024-05-01T12:00:00+24:00'", None),
    ("'0001-01-01T00:30:00+01:00'", None),  # before year 1 in UTC
    ("'9999-12-31T23:30:00-01:00'", None),  # after year 9999 in UTC
    ("'2024-05-01T12'", None),
    ("'2024-5-1'", None),
    ("'20240501'", "1970-08-23T06:21:41Z"),  # all digits: epoch seconds, as documented
    ("''", None),
    ("'1714564800 '", "2024-05-01T12:00:00Z"),
    ("'-'", None),
    ("'1.2.3'", None),
    ("'٢٠٢٤-05-01'", None),  # non-ASCII digits
]


@pytest.mark.parametrize(("arg", "expected"), TIMESTAMPS)
def test_to_rfc3339(arg: str, expected: str | None) -> None:
    assert_maps(f"to_rfc3339({arg})", expected)


def test_to_rfc3339_long_strings_are_not_timestamps() -> None:
    assert_maps("to_rfc3339(@)", None, data="2024-05-01T12:00:00Z" + " " * 100)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [("to_epoch_ms('1970-01-01T00:00:00.001Z')", 1), ("to_epoch_ms(`-1.5`)", -1500),
     ("to_epoch_ms('2024-05-01')", 1714521600000), ("to_epoch_s(`-1.5`)", -2),
     ("to_epoch_ms(`null`)", None), ("to_epoch_s('x')", None),
     ("to_epoch_ms('Wed, 01 May 2024 12:00:00 +0000')", 1714564800000)],
)  # fmt: skip
def test_to_epoch(expr: str, expected: int | None) -> None:
    assert_maps(expr, expected)


@pytest.mark.parametrize(
    ("args", "expected"),
    [("'ABC-1x'", []), ("'xABC-1'", []), ("'1ABC-1'", []), ("'A-1'", []), ("'Abc-1'", []),
     ("'ABC-1_fix'", ["ABC-1"]), ("'feature_ABC-1'", ["ABC-1"]), ("'(ABC-1)'", ["ABC-1"]),
     ("'ABC-1,ABC-2;ABC-1'", ["ABC-1", "ABC-2"]), ("'ABC-DEF-12'", ["DEF-12"]),
     ("'MY_PROJ-7'", ["MY_PROJ-7"]), ("'A1-2'", ["A1-2"]), ("'ABC-1.5'", ["ABC-1"]),
     ("'éABC-1 ABC-2é'", []), ("'https://x.atlassian.net/browse/OPS-9'", ["OPS-9"]),
     ("`[[\"AB-1\", [\"AB-2\"]], 3, null, {\"k\": \"AB-3\"}]`", ["AB-1", "AB-2"]),
     ("`null`, 'AB-1', `[]`", ["AB-1"]), ("'ab-1'", []), ("upper('feature/ab-1')", ["AB-1"])],
)  # fmt: skip
def test_jira_keys(args: str, expected: list[str]) -> None:
    assert_maps(f"jira_keys({args})", expected)


def test_jira_keys_scan_is_linear_on_adversarial_input() -> None:
    """Adversarial input finds nothing (and finishes: a quadratic scan would hang here)."""
    assert search("jira_keys(@)", data="_A" * 200_000) == []
    assert search("jira_keys(@)", data="A" * 1_000_000 + "-1") == []  # past the scan limit


TEXT = [
    ("concat('a', `1.5`, `-2`, `3.0`)", "a1.5-23"),
    ("concat('only')", "only"),
    ("concat('a', '')", "a"),
    ("format('{}', `null`)", None),
    ("format('x', `null`)", "x"),
    ("format(`null`, 'a')", None),
    ("format('{0}{}{}', 'a', 'b')", "aab"),
    ("format('}}{{')", "}{"),
    ("split('a', ',')", ["a"]),
    ("split('', ',')", [""]),
    ("split('', '')", []),
    ("replace('aaa', '', 'b')", "aaa"),
    ("first_line('')", None),
    ("first_line(`\"a\\r\\nb\"`)", "a"),
    ("truncate('abc', `0`)", ""),
    ("truncate('abcdef', `2`, '...')", "ab"),
    ("truncate('abcdef', `4.0`, '~')", "abc~"),
    ("truncate('abc', `2.5`)", None),
    ("truncate(`null`, `2`)", None),
    ("url_join('https://x.test/', '/a/')", "https://x.test/a/"),
    ("url_join('https://x.test/a', '')", "https://x.test/a"),
    ("url_join(`null`, 'https://y.test/')", "https://y.test/"),
    ("url_join('https://x.test', `null`)", None),
    ("url_join('https://x.test', '#top')", "https://x.test#top"),
    ("url_resolve('http://[::1', 'a')", None),
    ("url_resolve(`null`, 'a')", None),
    ("html_to_text('')", ""),
    ("html_to_text('<pre>a\n  b</pre>c')", "a\nb\nc"),
    ("html_to_text('<p>x<![CDATA[if (a<b) {\n}]]></p>')", "xif (a<b) {\n}"),
    ("html_to_text('<ac:structured-macro><ac:parameter ac:name=\"t\">info</ac:parameter>"
     "<ac:rich-text-body><p>Note</p></ac:rich-text-body></ac:structured-macro>')", "Note"),
    ("html_to_text('a&nbsp;&nbsp;b &lt;c&gt;')", "a b <c>"),
    ("html_to_text('<style>p{}</style><div>a</div>\n\n<div> b </div>')", "a\nb"),
    ("html_to_text('<![foo[bar]]>')", None),
    ("html_to_text('<b>unclosed')", "unclosed"),
]


@pytest.mark.parametrize(("expr", "expected"), TEXT)
def test_text(expr: str, expected: Any) -> None:
    assert_maps(expr, expected)


def test_html_to_text_size_limit() -> None:
    assert search("html_to_text(@)", data="<p>x</p>" * 300_000) is None


REGEX = [
    ("regex_extract('ab', '(x)?b')", None),  # group 1 did not take part
    ("regex_extract('ab', '(x)?b', `0`)", "b"),
    ("regex_extract('ab', '(a)(b)', `2.0`)", "b"),
    ("regex_extract(`null`, '(')", None),  # null subject: the pattern is not even compiled
    ("regex_find_all('ab', '(x)?b')", []),
    ("regex_find_all('a1b2', '[a-z](\\d)')", ["1", "2"]),
    ("regex_replace('abc', 'b', '[\\g<0>]')", "a[b]c"),
    ("regex_test('', '^$')", True),
]


@pytest.mark.parametrize(("expr", "expected"), REGEX)
def test_regex(expr: str, expected: Any) -> None:
    assert_maps(expr, expected)


@pytest.mark.parametrize(
    "expr",
    ["regex_test('a', '(')", "regex_extract('a', '(a)', `2`)", "regex_extract('a', 'a', 'nope')",
     "regex_extract('a', 'a', `-1`)", "regex_replace('a', 'a', '\\9')", "regex_find_all('a', '[')",
     "regex_test('a', @)"],
)  # fmt: skip
def test_regex_invalid(expr: str) -> None:
    assert_raises(expr, "function.regex-invalid", data="x" * 1001)


@pytest.mark.parametrize(
    "expr", ["regex_test(@, 'a')", "regex_replace(@, 'a', 'b')", "regex_extract(@, 'a')",
             "regex_find_all(@, 'a')"])
def test_regex_over_long_subject_is_an_error_not_a_silent_null(expr: str) -> None:
    """Over 100,000 characters the regex_* functions do not match: said, never a quiet null."""
    assert_raises(expr, "function.regex-input-too-long", data="a" * 100_001)
    assert search("regex_test(@, 'a$')", data="a" * 100_000) is True  # the limit itself is fine


def test_regex_patterns_are_compiled_once() -> None:
    _compiled.cache_clear()
    search("[regex_test('a', 'x+'), regex_test('b', 'x+'), regex_find_all('c', 'x+')]", {})
    info = _compiled.cache_info()
    assert (info.misses, info.hits) == (1, 2) and info.maxsize == 256


@pytest.mark.parametrize("pattern", [
    "(?:(?:(?:a{1000}){1000}){1000}){1000}", "a{4294967294}", "(?:a{1000}){101}",
    "(?:x{400}|y{400}){300}", "[ab]{100001}"])
def test_regex_whose_counted_repeats_expand_too_far_is_refused_at_once(pattern: str) -> None:
    """The regex package expands counted repeats when it compiles (27 s and 4 GB for the
    first): refused before compiling, and the failure is cached (once per run, not per record)."""
    _compiled.cache_clear()
    for _ in range(3):
        assert_raises(f"regex_test('a', '{pattern}')", "function.regex-invalid")
    assert _compiled.cache_info().misses == 1


@pytest.mark.parametrize(("pattern", "cost"), [
    ("a{3}", 3), ("\\d{4}-\\d{2}", 7), ("[{1000}]{5}", 5), ("\\{1000\\}", 6),
    ("a{1000}b{1000}", 2000), ("(?:a{100}){1000}", 101_000), ("x{2,}", 2), ("a{,50}", 50)])
def test_regex_repeat_cost(pattern: str, cost: int) -> None:
    assert repeat_cost(pattern) == cost


class _PausablePattern:
    """A compiled pattern whose timer, like the regex package's, counts every pause inside the
    call, and which allocates tracked objects while it runs: a collection would run then."""

    matching = False

    def __init__(self, real: Any) -> None:
        self.real = real
        self.groups = real.groups

    def _budget(self, timeout: float) -> float:
        start = time.perf_counter()
        _PausablePattern.matching = True
        garbage = [[] for _ in range(2_000)]  # a collection runs here, unless it is paused
        del garbage
        _PausablePattern.matching = False
        left = timeout - (time.perf_counter() - start)
        if left <= 0:
            raise TimeoutError("regex timed out")
        return left

    def search(self, text: str, timeout: float) -> Any:
        return self.real.search(text, timeout=self._budget(timeout))

    def finditer(self, text: str, timeout: float) -> Any:
        return self.real.finditer(text, timeout=self._budget(timeout))

    def sub(self, replacement: str, text: str, timeout: float) -> Any:
        return self.real.sub(replacement, text, timeout=self._budget(timeout))


@pytest.mark.parametrize("expr", ["regex_find_all(@, '[a-z]\\d')", "regex_replace(@, '\\d', 'x')",
                                  "regex_extract(@, '(a)1')", "regex_test(@, 'a1')"])
def test_regex_timeout_does_not_count_garbage_collection(
    expr: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A collection that takes longer than the timeout, forced to run during the match, must
    not reject the record with function.regex-timeout: the collector is paused during it."""
    import gc

    import mapper.functions.patterns as patterns

    real = patterns._compiled
    monkeypatch.setattr(patterns, "_compiled", lambda p: _PausablePattern(real(p)))
    collections = []

    def slow_collection(phase: str, info: dict[str, Any]) -> None:
        if phase == "start" and _PausablePattern.matching:
            collections.append(info)
            time.sleep(0.15)  # longer than the 0.1 s regex timeout

    thresholds = gc.get_threshold()
    gc.collect()
    gc.callbacks.append(slow_collection)
    gc.set_threshold(100)
    try:
        assert search(expr, data="a1 " * 100) not in (None, [])
    finally:
        gc.callbacks.remove(slow_collection)
        gc.set_threshold(*thresholds)
    assert collections == []  # none ran during the match


@pytest.mark.parametrize(
    "expr",
    ["regex_test(@, '(a+)+$')", "regex_extract(@, '(a+)+$')", "regex_find_all(@, '(a|aa)+$')",
     "regex_replace(@, '(a+)+$', '')"],
)  # fmt: skip
def test_catastrophic_regex_times_out(expr: str) -> None:
    assert_raises(expr, "function.regex-timeout", data="a" * 5000 + "!")


def test_regex_timeout_is_per_instance(monkeypatch: pytest.MonkeyPatch) -> None:
    """The instance's timeout is the one each match gets (no wall-clock assertion: a busy
    machine must not fail a test)."""
    assert MapperFunctions().regex_timeout_s == 0.1
    fns = MapperFunctions(regex_timeout_s=0.01)
    import mapper.functions.patterns as patterns

    given: list[float] = []
    real = patterns._compiled

    class Spy:
        def __init__(self, compiled: Any) -> None:
            self.compiled = compiled

        def search(self, text: str, timeout: float) -> Any:
            given.append(timeout)
            return self.compiled.search(text, timeout=timeout)

    monkeypatch.setattr(patterns, "_compiled", lambda p: Spy(real(p)))
    with pytest.raises(EvalError) as caught:
        fns.call_function("regex_test", ["a" * 5000 + "!", "(a+)+$"])
    assert caught.value.code == "function.regex-timeout"
    assert given == [0.01]


VALUES = [
    ("to_int(' +5 ')", 5), ("to_int('-0')", 0), ("to_int('42.000')", 42), ("to_int('1e3')", None),
    ("to_int('0x1F')", None), ("to_int('1_000')", None), ("to_int('')", None),
    ("to_int('٤٢')", None), ("to_int(`9223372036854775807`)", 9223372036854775807),
    ("to_int(`9223372036854775808`)", None), ("to_int('-9223372036854775808')", -(2**63)),
    ("to_int(`1e300`)", None), ("to_int(`[1]`)", None), ("to_int(`null`)", None),
    ("to_str(`null`)", None), ("to_str(`[1]`)", None), ("to_str(`1e20`)", "1e+20"),
    ("to_str(`-0.0`)", "0"), ("to_str('')", ""),
    ("coalesce(`false`, 'x')", False), ("coalesce(`[]`)", []), ("coalesce(`null`)", None),
    ("compact(`[null, null]`)", []), ("uniq(`[1, 1.0, true, \"1\", null, null]`)", [1, 1.0, True, "1", None]),
]  # fmt: skip


@pytest.mark.parametrize(("expr", "expected"), VALUES)
def test_values(expr: str, expected: Any) -> None:
    assert_maps(expr, expected)


MIME = [
    ("IMAGE/PNG", "IMAGE"), ("image/svg+xml", "IMAGE"), ("application/ld+json", "CODE"),
    ("text/x-c++src", "CODE"), ("text/calendar", "DOCUMENT"), ("text/csv", "SPREADSHEET"),
    ("application/vnd.google-apps.form", "OTHER"), ("application/vnd.google-apps.shortcut", "OTHER"),
    ("", "OTHER"), ("not a mime", "OTHER"), ("application/x-tar", "ARCHIVE"),
    ("application/vnd.ms-excel", "SPREADSHEET"), ("application/vnd.ms-powerpoint", "PRESENTATION"),
    ("application/vnd.openxmlformats-officedocument.presentationml.presentation", "PRESENTATION"),
    ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "SPREADSHEET"),
    ("application/gzip", "ARCHIVE"), ("application/vnd.rar", "ARCHIVE"), ("text/html", "DOCUMENT"),
    ("text/plain", "DOCUMENT"), ("application/javascript", "CODE"), ("audio/ogg", "AUDIO"),
]  # fmt: skip


@pytest.mark.parametrize(("mime", "expected"), MIME)
def test_mime_category(mime: str, expected: str) -> None:
    assert search("mime_category(@)", data=mime) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a/b.c/file", None), ("C:\\dir\\y.TXT", "txt"), ("name.", None), ("x.tar.gz", "gz"),
     ("a.verylongextension12", None), ("report.pdf?x=1", None), ("", None), ("photo.JPEG", "jpeg")],
)  # fmt: skip
def test_file_extension(name: str, expected: str | None) -> None:
    assert search("file_extension(@)", data=name) == expected


BUILDERS = [
    ("user_ref(`0`)", {"externalId": "0"}),
    ("user_ref(`1.5`)", {"externalId": "1.5"}),
    ("user_ref('u', '', '')", {"externalId": "u"}),
    ("user_ref(`null`, 'a@b.c')", None),
    ("user_refs(`[]`)", []),
    ("user_refs(`7`)", [{"externalId": "7"}]),
    ("entity_key('', 'x')", None),
    ("entity_key('t', '')", None),
    ("entity_key(`null`, 'x')", None),
    ("entity_key_as('t', '', 'x')", None),
    ("entity_key_as('t', 'repositoryId', `5`)", {"type": "t", "value": {"repositoryId": "5"}}),
    ("entity_key_of('t', `{\"a\": {\"b\": 1}}`)", None),
    ("entity_key_of('t', `{\"a\": true}`)", None),
    ("entity_key_of('t', `{\"a\": \"\"}`)", None),
    ("entity_key_of(`null`, `{\"a\": \"x\"}`)", None),
    ("principal('user')", None),
    ("principal('')", None),
    ("principal(`null`, 'x')", None),
    ("principal('ROLE', 'r')", {"type": "ROLE", "id": "r"}),
    ("principal('atlassian_workspace')", {"type": "ATLASSIAN_WORKSPACE"}),
    ("principal('MUST_HAVE_VIEWED')", {"type": "MUST_HAVE_VIEWED"}),
    ("users(`[\"\", null]`)", []),
    ("groups(`null`)", None),
    ("permissions(`null`, `[]`)", None),
    ("permissions(principal('EVERYONE'), `[{\"type\": \"EVERYONE\"}]`, `[null]`)",
     [{"accessControls": [{"principals": [{"type": "EVERYONE"}]}]}]),
    ("permissions_all(principal('CONTAINER'))",
     [{"accessControls": [{"principals": [{"type": "CONTAINER"}]}]}]),
    ("permissions_all(users('u'), `[]`)", None),
    ("permissions_all(`null`)", None),
    ("associations(`null`)", None),
    ("associations('ABC-1')", [{"associationType": "issueIdOrKeys", "values": ["ABC-1"]}]),
    ("associations(`[\"A-1\", \"A-1\", null, \"\"]`)",
     [{"associationType": "issueIdOrKeys", "values": ["A-1"]}]),
    ("lookup('users', `null`)", None),
    ("lookup('users', 'nobody')", None),
]


@pytest.mark.parametrize(("expr", "expected"), BUILDERS)
def test_builders(expr: str, expected: Any) -> None:
    assert_maps(expr, expected)


def test_builders_copy_their_inputs() -> None:
    data = {"p": {"type": "USER", "id": "u"}}
    result = search("permissions(p)", data)
    result[0]["accessControls"][0]["principals"][0]["id"] = "changed"
    assert data["p"]["id"] == "u"


# -- errors: wrong types and arity are jmespath's own errors ---------------------------------------

TYPE_ERRORS = [
    "to_rfc3339(`true`)", "to_rfc3339(`[]`)", "lower(`1`)", "split('a', `null`)",
    "concat('a', `[1]`)", "concat(`true`)", "format('{}', `{}`)", "jira_keys(`{}`)",
    "jira_keys('a', `1`)", "regex_extract('a', 'a', `true`)", "truncate('a', `1`, `1`)",
    "user_ref('u', `1`)", "user_ref(`true`)", "user_refs(`[{\"id\": 1}]`)", "users(`[[1]]`)",
    "groups(`{}`)", "permissions(`[\"u1\"]`)", "permissions(`{}`, `1`)", "permissions_all(`\"u\"`)",
    "associations(`[{}]`)", "entity_key('t', `{}`)", "entity_key_of('t', `[]`)",
    "mime_category(`1`)", "lookup(`1`, 'a')", "compact(`{}`)", "uniq('a')",
    "principal('USER', `[]`)", "regex_test('a', `null`)", "url_join(`1`, 'a')",
]  # fmt: skip


@pytest.mark.parametrize("expr", TYPE_ERRORS)
def test_wrong_types_raise_jmespath_type_errors(expr: str) -> None:
    assert_raises(expr, exceptions.JMESPathTypeError)


ARITY_ERRORS = [
    "record('x')", "source(`1`)", "lookup('users')", "regex_extract('a', 'a', `1`, `2`)",
    "user_ref('a', 'b', 'c', 'd')", "principal('USER', 'a', 'b')", "truncate('a')",
    "concat()", "coalesce()", "to_rfc3339()", "to_rfc3339('a', 'b')", "permissions()",
]  # fmt: skip


@pytest.mark.parametrize("expr", ARITY_ERRORS)
def test_wrong_arity_raises_arity_errors(expr: str) -> None:
    assert_raises(expr, exceptions.ArityError)


@pytest.mark.parametrize(
    "expr", ["format('{')", "format('}')", "format('{0}{2}', 'a', 'b')", "format('{}{}', 'a')",
             "format('{x}', 'a')"],
)  # fmt: skip
def test_format_template_errors(expr: str) -> None:
    assert_raises(expr, "function.format-invalid")


# -- determinism -----------------------------------------------------------------------------------


def _clear_timestamp_caches() -> None:
    for value in vars(timestamps).values():
        if hasattr(value, "cache_clear"):
            value.cache_clear()


def test_results_do_not_depend_on_the_machine_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    exprs = [f"to_rfc3339({arg})" for arg, _ in TIMESTAMPS] + [
        f"{name}('2024-05-01T12:00:00')" for name in ("to_rfc3339", "to_epoch_ms", "to_epoch_s")
    ]
    _clear_timestamp_caches()
    before = [search(expr) for expr in exprs]
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")
    time.tzset()
    try:
        _clear_timestamp_caches()
        after = [search(expr) for expr in exprs]
    finally:
        monkeypatch.undo()
        time.tzset()
    assert before == after and os.environ.get("TZ") != "Pacific/Kiritimati"


def test_repeated_calls_give_equal_results() -> None:
    for example in ALL_EXAMPLES:
        first = search(example.expression, example.data)
        assert as_json(first) == as_json(search(example.expression, example.data)), example.text


# -- robustness: any JSON arguments give JSON or a jmespath error / EvalError -------------------

INTERESTING = st.sampled_from([
    "", " ", "2024-05-01T12:00:00Z", "2024-05-01 12:00:00 +0200", "1714564800.000200",
    "Wed, 01 May 2024 12:00:00 GMT", "ABC-1 feature/BB-2", "(a+)+$", "{}", "{0}", "{", "users",
    "U1", "USER", "EVERYONE", "<p>a<![CDATA[b]]></p>", "<![x[", "https://x.test/a", "//h/p",
    "image/png", "a.b", "\\1", "(?P<n>a)", "[", "9" * 30, "-1.5", "NaN", "\x00", "é",
])  # fmt: skip
SCALARS = (
    st.none() | st.booleans() | st.integers() | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40) | INTERESTING
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


BY_TYPE: dict[str, st.SearchStrategy[Any]] = {
    "string": st.text(max_size=40) | INTERESTING,
    "number": st.integers(-5, 5) | st.integers() | st.floats(allow_nan=False, allow_infinity=False),
    "null": st.none(),
    "boolean": st.booleans(),
    "array": st.lists(JSON, max_size=5),
    "array-number": st.lists(
        st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.just(8.99e307),
        max_size=5,
    ),
    "object": st.dictionaries(st.text(max_size=8), JSON, max_size=4),
}


def _param_types(name: str, index: int) -> list[str]:
    method = MapperFunctions.FUNCTION_TABLE[name]["function"]
    sig, optional = method.signature, getattr(method, OPTIONAL_TYPES, ())
    if index < len(sig):
        return list(sig[index]["types"])
    extra = index - len(sig)
    return list(optional[extra] if extra < len(optional) else getattr(method, REPEATED_TYPES))


def _arguments(name: str) -> st.SearchStrategy[list[Any]]:
    """Argument lists of a valid length: any JSON, or values of the declared types (mostly)."""
    low, high = arity(name)

    def typed(index: int) -> st.SearchStrategy[Any]:
        types = _param_types(name, index)
        return st.one_of([BY_TYPE[t] for t in types]) if types else JSON

    def of_length(n: int) -> st.SearchStrategy[list[Any]]:
        return st.lists(JSON, min_size=n, max_size=n) | st.tuples(*map(typed, range(n))).map(list)

    return st.integers(low, low + 3 if high is None else high).flatmap(of_length)


@pytest.mark.parametrize("name", CUSTOM_FUNCTIONS)
def test_any_json_arguments_give_json_or_a_known_error(name: str) -> None:
    fns = MapperFunctions()
    fns.context = EvalContext({"a": [1]}, "in.json", EXAMPLE_LOOKUPS)

    @given(_arguments(name))
    def check(args: list[Any]) -> None:
        try:
            result = fns.call_function(name, args)
        except (exceptions.JMESPathError, EvalError):
            return
        json.dumps(result, allow_nan=False)

    check()


@given(st.sampled_from(CUSTOM_FUNCTIONS).flatmap(lambda n: st.tuples(st.just(n), _arguments(n))))
def test_any_json_arguments_through_jmespath(call: tuple[str, list[Any]]) -> None:
    name, args = call
    expr = f"{name}({', '.join(f'@[{i}]' for i in range(len(args)))})"
    try:
        result = search(expr, args)
    except (exceptions.JMESPathError, EvalError):
        return
    json.dumps(result, allow_nan=False)


@pytest.mark.parametrize(("expr", "expected"), [
    ("user_ref(' ')", None),
    ("user_ref('o1', '  ', '\t')", {"externalId": "o1"}),
    ("user_refs(`[\" \", \"a\", \"\\n\"]`)", [{"externalId": "a"}]),
    ("users(`[\" \", \"u1\", \"\\t\"]`)", [{"type": "USER", "id": "u1"}]),
    ("groups(' ')", []),
    ("principal('USER', ' ')", None),
    ("entity_key('atlassian:space', ' ')", None),
    ("entity_key_as('atlassian:branch', ' ', 'x')", None),
    ("entity_key_as('atlassian:branch', 'repositoryId', '\t')", None),
    ("associations(`[\" \", \"ABC-1\"]`)", [{"associationType": "issueIdOrKeys", "values": ["ABC-1"]}]),
])  # fmt: skip
def test_builders_drop_blank_ids(expr: str, expected: Any) -> None:
    """Builder results skip validation (fastcheck TRUSTED_RESULTS), so they never carry an id
    of only whitespace: a blank id is no id."""
    assert search(expr) == expected


@pytest.mark.parametrize("values", [[0, ""], [0, "a"], ["a", 0]])
def test_max_and_min_of_a_number_and_text_are_type_errors(values: list[object]) -> None:
    """A number beside text that is no number is a type error naming the text (it raised
    StopIteration: found by hypothesis)."""
    for name in ("max", "min"):
        with pytest.raises(exceptions.JMESPathTypeError):
            jmespath.compile(f"{name}(@)").search(values, options=make_options(MapperFunctions()))


def test_a_sum_beyond_the_largest_float_is_an_error_not_infinity() -> None:
    """Two numbers near 1.8e308 add up to infinity, which no JSON holds (found by the
    hypothesis test above)."""
    assert_raises("sum(`[8.988465674311579e+307, 8.98846567431158e+307]`)",
                  "function.number-out-of-range")  # fmt: skip
    assert search("sum(`[1.5e308, -1.5e308]`)") == 0.0


@pytest.mark.parametrize(("expr", "expected"), [
    ("avg(`[8.988465674311579e+307, 8.98846567431158e+307]`)", 8.9884656743115795e+307),
    ("avg(`[1.7976931348623157e308, 1.7976931348623157e308, 0]`)", 1.1984620899082105e308),
    ("avg(`[1.7976931348623157e308, -1.7976931348623157e308]`)", 0.0),
    (f"avg(`[{10**400}, {10**400}]`)", 10**400),             # whole: an exact integer
    (f"avg(`[{10**400}, -{10**400}, 3]`)", 1.0),
    ("avg(`[1, 2, 3, 4]`)", 2.5),
    ("to_number('1e308')", 1e308),
    ("to_number('nan')", None),
    ("to_number('-Infinity')", None),
])  # fmt: skip
def test_avg_and_to_number_never_give_infinity(expr: str, expected: Any) -> None:
    """The stock avg() summed first: two numbers near 1.8e308 made infinity, and an integer
    beyond the largest float an OverflowError; stock to_number() read 'nan' and '1e400' as NaN
    and infinity. No JSON holds those; a finite mean is given exactly."""
    result = search(expr)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize("expr", [
    "to_number('1e400')",
    f"avg(`[{10**400}, 1.5]`)",                  # not whole, beyond the largest float
    f"sum(`[{10**400}, 1.5]`)",                  # (was an internal OverflowError)
])  # fmt: skip
def test_numbers_beyond_the_largest_float_are_out_of_range(expr: str) -> None:
    assert_raises(expr, "function.number-out-of-range")
