"""regex_* patterns on the standard `re` engine (mapper.functions.linear): which are accepted,
and that the accepted ones give exactly what the `regex` engine gives."""

from __future__ import annotations

import pytest
import regex
from hypothesis import assume, given
from hypothesis import strategies as st

from mapper.functions import MapperFunctions
from mapper.functions.linear import is_linear, linear_re

ACCEPTED = [
    "#([0-9]+)",
    "^refs/heads/(.+)$",
    "id=(?P<id>[0-9]+)",
    "^Merge ",
    "x",
    "a[^a]*a",
    "ab*$",
    "a.b",
    "#([0-9]+) item$",
    "^([0-9]+)[.]([0-9]+)",
    "\\Afix[(]([a-z]+)[)]: ",
    "[A-Z][a-z]{0,3}-[0-9]+",
    "v[0-9]+?[.]",
    "x[^xy]*?y",
]

REFUSED = [
    # quadratic or worse with re (backtracking, or the scan from every start position)
    "a*b",
    "a+b",
    "[0-9]+[.][0-9]+",
    "(a+)+b",
    "(a|a)*",
    "(a|aa)+c",
    "a*a*b",
    "^a*a*b",
    "^[a-z]*[a-c]+$",
    "x?x?x?x?x?x?x?x?x?x?y",
    "[^x]*x",
    "a[^b]*ba*c",
    "a.{0,300}b",
    # semantics not verified equal in both engines
    "\\d+",
    "x\\w",
    "x\\s",
    "a\\b",
    "(?i)abc",
    "(?s)a.b",
    "(?m)^a",
    "(a)\\1",
    "a(?=b)",
    "(?<!x)a",
    "a++",
    "(?>a)b",
    "[[:alpha:]]",
    "(?:ab|cd)",
    # can match the empty string
    "a?",
    "^",
    "(?:)",
    # invalid in one engine or both
    "(",
    "\\p{L}",
]


@pytest.mark.parametrize("pattern", ACCEPTED)
def test_accepted(pattern: str) -> None:
    assert is_linear(pattern)
    assert linear_re(pattern) is not None


@pytest.mark.parametrize("pattern", REFUSED)
def test_refused(pattern: str) -> None:
    assert not is_linear(pattern)


FUNCTIONS = MapperFunctions()


def _by_regex(pattern: str, text: str) -> list[object]:
    """What the functions returned before: the regex engine, called directly."""
    compiled = regex.compile(pattern)
    group = 1 if compiled.groups else 0
    found = compiled.search(text)
    return [
        found is not None,
        None if found is None else found.group(group),
        [m for m in (m.group(group) for m in compiled.finditer(text)) if m is not None],
        compiled.sub("<>", text),
    ]


def _by_functions(pattern: str, text: str) -> list[object]:
    call = FUNCTIONS.call_function
    return [
        call("regex_test", [text, pattern]),
        call("regex_extract", [text, pattern]),
        call("regex_find_all", [text, pattern]),
        call("regex_replace", [text, pattern, "<>"]),
    ]


ALPHABET = st.sampled_from(
    [*"abcxy#-_.:/()[] 0123456789AZ\n\r\t", "é", "\u00e9", "\u0131", "\u212a", "\ud800", "٣"]
)
TEXTS = st.text(ALPHABET, max_size=60)


def _adversarial(pattern: str) -> list[str]:
    """Long runs of each literal character of the pattern, alone and with a tail."""
    chars = {c for c in pattern if c.isprintable()} | {"\n"}
    return [c * 500 + tail for c in chars for tail in ("", "\n", "!", c + "x")]


@pytest.mark.parametrize("pattern", ACCEPTED)
@given(text=TEXTS)
def test_accepted_patterns_match_as_regex_does(pattern: str, text: str) -> None:
    assert _by_functions(pattern, text) == _by_regex(pattern, text)


@pytest.mark.parametrize("pattern", ACCEPTED)
def test_accepted_patterns_on_adversarial_texts(pattern: str) -> None:
    for text in _adversarial(pattern):
        assert _by_functions(pattern, text) == _by_regex(pattern, text)


ATOMS = ["a", "b", "x", "[ab]", "[^a]", "[a-c]", ".", "\\n", "é", "[^\\n]", "\\.", "\\u0131"]
QUANTIFIERS = ["", "", "*", "+", "?", "{1,2}", "{2}", "*?", "+?", "??"]
EDGES = ["", "^", "\\A", "$", "\\Z"]


@st.composite
def patterns(draw: st.DrawFn) -> str:
    """Random patterns, mostly inside the accepted syntax, some groups and anchors."""
    parts = []
    for _ in range(draw(st.integers(1, 5))):
        part = draw(st.sampled_from(ATOMS)) + draw(st.sampled_from(QUANTIFIERS))
        if draw(st.integers(0, 5)) == 0:
            part = draw(st.sampled_from(["(", "(?:", "(?P<g>"])) + part + ")"
        parts.append(part)
    pattern = draw(st.sampled_from(EDGES[:3])) + "".join(parts) + draw(st.sampled_from(EDGES))
    return pattern if pattern.count("(?P<g>") <= 1 else pattern.replace("(?P<g>", "(")


@given(pattern=patterns(), texts=st.lists(TEXTS, min_size=1, max_size=5))
def test_random_accepted_patterns_match_as_regex_does(pattern: str, texts: list[str]) -> None:
    assume(is_linear(pattern))
    for text in texts + _adversarial(pattern)[:6]:
        assert _by_functions(pattern, text) == _by_regex(pattern, text), (pattern, text)


def test_replacement_with_group_references_stays_on_regex() -> None:
    """Only a literal replacement takes the `re` path (templates are not verified equal);
    a bad reference is still regex's error."""
    assert FUNCTIONS.call_function("regex_replace", ["#12", "#([0-9]+)", "n\\1"]) == "n12"
    with pytest.raises(Exception, match="invalid replacement"):
        FUNCTIONS.call_function("regex_replace", ["#12", "#([0-9]+)", "\\9"])
