"""mapper.jpcompile: differential tests against jmespath's own interpreter, plus API details.

The differential tests evaluate the same expression with ``jmespath.compile(expr).search`` and
with the compiled function on random JSON documents (hypothesis), and require the same result
(compared with types: 1, 1.0 and true differ) or the same exception type.
"""

from __future__ import annotations

import collections
import json
from typing import Any

import jmespath
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jmespath import exceptions as jexc
from jmespath import functions as jfunctions

from mapper.jpcompile import compile_ast, compile_expression


class CustomFunctions(jfunctions.Functions):
    """A tiny subclass: a zero-arg function, a checked one and a variadic one."""

    @jfunctions.signature()
    def _func_record(self) -> dict[str, Any]:
        return {"source": "test", "n": 1, "tags": ["x", "y"]}

    @jfunctions.signature({"types": ["string"]})
    def _func_shout(self, s: str) -> str:
        return s.upper() + "!"

    @jfunctions.signature({"types": ["number"]}, {"types": ["number"], "variadic": True})
    def _func_total(self, *nums: float) -> float:
        return sum(nums)


FNS = CustomFunctions()

EXPRESSIONS = [
    # paths, indexes, slices
    "a",
    "a.b",
    "a.b.c",
    "foo.bar.a",
    "@",
    "@.a",
    "a[0]",
    "a[-1]",
    "a[1].b",
    "[0]",
    "a[0][0]",
    "a[1:]",
    "a[::-1]",
    "a[:2].b",
    "a[-2:0:-1]",
    "a[::0]",
    '"foo"."bar"',
    # projections and flatten
    "a[*].b",
    "a[*].b.c",
    "*.a",
    "a.*",
    "a[].b",
    "a[][]",
    "a[*][*]",
    "a[*].b[0]",
    "*.*",
    "items[*].[id, name]",
    "a[].b[].c",
    "a[].[b, c]",
    "a.*.b | [0]",
    # filters
    "items[?state=='open'].id",
    "items[?n > `1`]",
    "a[?b]",
    "a[?!b]",
    "a[?b == c]",
    "a[?@ == `0`]",
    "a[?b != `false`]",
    "items[?id >= `1` && state != 'closed'].name",
    "a[?b || c].b",
    "a[?b < c]",
    "a[?b] | [0]",
    "items[?state == 'open'][]",
    # multi-select, pipes
    "{x: a, y: b.c}",
    "[a, b]",
    "a.{x: b, y: c}",
    "items[*].{n: name}",
    "[a, b][]",
    "a | b",
    "a[*].b | [0]",
    "a | [0] | b",
    # comparisons and logic
    "a == b",
    "a != b",
    "a < b",
    "a >= `1`",
    "a == `0`",
    "a == `true`",
    "a == `1.0`",
    "a == 'open'",
    "`0` == a",
    "!a",
    "!(a == b)",
    "a && b",
    "a || b",
    "!a || b && c",
    "a.b > a.c",
    # literals
    "`[1, 2]`",
    '`{"k": 1}`',
    "'raw'",
    "`null`",
    # functions
    "length(a)",
    "length(@)",
    "keys(@)",
    "values(a)",
    "sort(a)",
    "sort_by(items, &id)",
    "max_by(items, &id)",
    "min_by(items, &name)",
    "map(&id, items)",
    "join(', ', a)",
    "contains(a, 'open')",
    "starts_with(a, 'o')",
    "ends_with(name, 'n')",
    "to_string(a)",
    "to_number(a)",
    "to_array(a)",
    "not_null(a, b, `1`)",
    "type(a)",
    "abs(a)",
    "sum(a)",
    "avg(a)",
    "max(a)",
    "min(a)",
    "ceil(a)",
    "floor(a)",
    "reverse(a)",
    "merge(a, b)",
    "length(items[?state=='open'])",
    "a && unknown_fn(a)",
    "a || length(a, b)",
    "b && not_null()",
    "sort_by(items, &name)[*].id",
    "a[].to_string(@)",
    "a[].[@, b]",
    "contains(a, c)",
    "type()",
    "a || starts_with(a)",
    "sort_by(items)",
    # custom functions
    "record()",
    "record().tags[0]",
    "shout(a)",
    "items[*].shout(name)",
    "total(a, `1`, `2`)",
    "{r: record(), n: length(@)}",
]

KEYS = ["a", "b", "c", "foo", "bar", "items", "state", "id", "name", "n"]
NUMBERS = st.one_of(st.integers(-3, 5), st.sampled_from([0.0, 1.0, -2.5, 3.5]))
STRINGS = st.sampled_from(["", "open", "closed", "a", "on", "x y"])
SCALARS = st.one_of(NUMBERS, STRINGS, st.booleans(), st.none())


def _json(depth: int) -> st.SearchStrategy[Any]:
    """JSON values whose dicts always have "b" and "c" (and maybe more known keys)."""
    if depth == 0:
        return SCALARS
    inner = _json(depth - 1)
    obj = st.fixed_dictionaries(
        {"b": inner, "c": inner},
        optional=dict.fromkeys(("a", "foo", "id", "name", "state", "n"), inner),
    )
    # weighted towards objects, so that paths like a.b.c often lead somewhere
    return st.one_of(
        obj,
        obj,
        st.lists(inner, min_size=1, max_size=3),
        SCALARS,
        st.lists(NUMBERS, max_size=4),
        st.lists(STRINGS, max_size=4),
    )


JSON = _json(3)
ITEM = st.fixed_dictionaries(
    {"state": STRINGS, "id": NUMBERS, "name": STRINGS},
    optional={"n": SCALARS, "b": _json(1), "c": _json(1)},
)
RECORD = st.fixed_dictionaries(
    {"a": JSON, "b": _json(2), "c": _json(2), "foo": JSON, "items": st.lists(ITEM, max_size=5)},
    optional={k: _json(2) for k in ("bar", "state", "id", "name", "n")},
)
DOCS = st.one_of(RECORD, RECORD, RECORD, JSON)


def _outcome(fn: Any, data: Any) -> tuple[str, Any]:
    try:
        result = fn(data)
    except Exception as exc:
        return "raise", type(exc)
    return "ok", json.dumps(result)  # keeps 1 / 1.0 / true apart, and dict key order


def _check(expression: str, data: Any, functions: jfunctions.Functions | None = None) -> None:
    options = jmespath.Options(custom_functions=functions)
    try:
        parsed = jmespath.compile(expression)
    except jexc.JMESPathError as exc:
        with pytest.raises(type(exc)):
            compile_expression(expression, functions)
        return
    want = _outcome(lambda d: parsed.search(d, options=options), data)
    got = _outcome(compile_expression(expression, functions), data)
    assert got == want, f"{expression!r} on {data!r}"


def _subvalues(value: Any) -> list[Any]:
    out = [value]
    for child in (
        value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    ):
        out += _subvalues(child)
    return out


def _contexts(doc: Any, limit: int = 10) -> list[Any]:
    """The document, its sub-values, and records holding them under the keys expressions use."""
    subs = _subvalues(doc)[:limit]
    wrapped = [
        {"a": x, "b": y, "c": x, "foo": {"bar": x}, "items": x, "name": y, "n": y}
        for x, y in zip(subs, subs[1:] + subs[:1], strict=True)
    ]
    return subs + wrapped


# Example budget: 60 + 90 documents/expression sets (each checked over many contexts), ~3 s.

@given(doc=DOCS)
def test_fixed_expressions_match_jmespath(doc: Any) -> None:
    for data in _contexts(doc):
        for expression in EXPRESSIONS:
            _check(expression, data, FNS)


# ---------------------------------------------------------------- random expressions
FIELDS = st.sampled_from(["a", "b", "c", "items", "state", "id", "n"])
LITERALS = st.sampled_from(
    ["`0`", "`1`", "`true`", "`false`", "`null`", "'open'", "`2.5`", "`[1]`", "`{}`", "''"]
)
SUFFIXES = st.sampled_from(["[0]", "[-1]", "[1]", "[*]", "[]", ".*", "[1:]", "[::-1]", "[:2]"])
COMPARATORS = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
FUNCTIONS_1 = st.sampled_from(
    ["length", "to_array", "max", "to_string", "keys", "type", "reverse", "sum", "abs", "sort"]
)
FUNCTIONS_2 = st.sampled_from(["not_null", "contains", "merge", "starts_with"])


def _extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(inner, FIELDS).map(lambda t: f"{t[0]}.{t[1]}"),
        st.tuples(inner, SUFFIXES).map("".join),
        st.tuples(inner, inner).map(lambda t: f"{t[0]}[?{t[1]}]"),
        st.tuples(inner, COMPARATORS, inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(inner, inner).map(lambda t: f"({t[0]} | {t[1]})"),
        st.tuples(inner, inner).map(lambda t: f"[{t[0]}, {t[1]}]"),
        st.tuples(inner, inner).map(lambda t: f"{{x: {t[0]}, y: {t[1]}}}"),
        st.tuples(inner, st.sampled_from(["||", "&&"]), inner).map(lambda t: f"({' '.join(t)})"),
        inner.map(lambda e: f"!{e}"),
        st.tuples(FUNCTIONS_1, inner).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(FUNCTIONS_2, inner, inner).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        st.tuples(inner, FIELDS).map(lambda t: f"sort_by({t[0]}, &{t[1]})"),
    )


EXPRS = st.recursive(st.one_of(FIELDS, st.just("@"), LITERALS), _extend, max_leaves=8)



@given(
    expressions=st.lists(EXPRS, min_size=1, max_size=5), docs=st.lists(DOCS, min_size=1, max_size=3)
)
def test_random_expressions_match_jmespath(expressions: list[str], docs: list[Any]) -> None:
    for doc in docs:
        for data in _contexts(doc, limit=5):
            for expression in expressions:
                _check(expression, data)


# ---------------------------------------------------------------- the Inliner (engine.fusion)
SHARED_PATHS = st.sampled_from(
    ["a.b", "a.b.c", "a.c", "foo.bar", "b.b.b", "items[0].name", "a || b.c", "a.b && c.b"]
)
MAPPER_CALLS = st.sampled_from([
    "user_ref(a.b || c, c.b)", "concat('x-', a.b)", "first_line(name)", "to_rfc3339(a.c)",
    "permissions(a.b && groups(c.b) || [principal('EVERYONE')])", "truncate(foo.bar, `2`)",
    "entity_key_as('t', 'f', b.b)", "length(a.b) || a.b.c", "to_number(a) || b.c",
])
INLINED = st.one_of(EXPRS, SHARED_PATHS, MAPPER_CALLS)


def _inlined(texts: list[str], hoists: list[bool], functions: Any, forgive: Any) -> Any:
    """One function computing every expression, as engine.fusion writes a rule: hoisted
    expressions at the top level, the others under a condition (as a coalesce's are)."""
    from jmespath.parser import Parser

    from mapper.jpcompile import inliner

    gen = inliner(functions, forgive)
    lines, atoms = ["def run(item):"], []
    for i, (text, hoist) in enumerate(zip(texts, hoists, strict=True)):
        ast = Parser().parse(text).parsed
        if hoist:
            body, atom = gen.inline(ast, "item", 1, True)
            lines += body
            atoms.append(atom)
            continue
        lines += [f"    q{i} = None", f"    if q{i} is None:"]
        body, atom = gen.inline(ast, "item", 2, False)
        lines += [*body, f"        q{i} = {atom}"]
        atoms.append(f"q{i}")
    lines.append(f"    return [{', '.join(atoms)}]")
    namespace = dict(gen.namespace())
    exec("\n".join(lines), namespace)
    return namespace["run"]


@given(
    texts=st.lists(INLINED, min_size=1, max_size=6),
    hoists=st.lists(st.booleans(), min_size=6, max_size=6),
    docs=st.lists(DOCS, min_size=1, max_size=3),
)
def test_inlined_expressions_agree_with_their_compiled_functions(
    texts: list[str], hoists: list[bool], docs: list[Any]
) -> None:
    """Inlined together (field paths shared), expressions give what each compiled function
    gives, and raise only where one of those raises (the rule then takes its usual path)."""
    from mapper.functions.registry import MapperFunctions
    from mapper.language.expressions import FORGIVEN

    functions = MapperFunctions()
    try:
        run = _inlined(texts, hoists[: len(texts)], functions, FORGIVEN)
    except jexc.JMESPathError:
        return  # a syntax error: jmespath refuses it as well
    singles = [compile_ast(jmespath.compile(t).parsed, functions, forgive=FORGIVEN) for t in texts]
    for doc in docs:
        for data in _contexts(doc, limit=5):
            want = [_outcome(fn, data) for fn in singles]
            got = _outcome(run, data)
            if got[0] == "raise":
                assert any(w[0] == "raise" for w in want), (texts, data, got)
                continue
            assert got == ("ok", json.dumps([json.loads(w[1]) for w in want])), (texts, data)


# ---------------------------------------------------------------- API and corner cases
def test_compile_expression_is_cached_per_text_and_functions() -> None:
    assert compile_expression("a.b") is compile_expression("a.b")
    assert compile_expression("a.b", FNS) is not compile_expression("a.b")


def test_compile_ast_takes_jmespath_parser_output() -> None:
    ast = jmespath.parser.Parser().parse("items[?state=='open'].id").parsed
    fn = compile_ast(ast)
    assert fn({"items": [{"state": "open", "id": 1}, {"state": "x", "id": 2}]}) == [1]
    assert "def " in fn.__jmespath_source__  # type: ignore[attr-defined]


@pytest.mark.parametrize("text", ["a.", "a[", "[?a", "foo(", "a[1:2:3:4]", "a ~ b", '"a"(b)'])
def test_syntax_errors_are_jmespath_parse_errors(text: str) -> None:
    with pytest.raises(jexc.ParseError):
        compile_expression(text)


def test_empty_expression_like_jmespath() -> None:
    with pytest.raises(jexc.EmptyExpressionError):
        jmespath.compile("")
    with pytest.raises(jexc.EmptyExpressionError):
        compile_expression("")


def test_function_errors_only_when_the_branch_runs() -> None:
    fn = compile_expression("a || nope(a)")
    assert fn({"a": 1}) == 1
    with pytest.raises(jexc.UnknownFunctionError):
        fn({"a": False})
    arity = compile_expression("a && length(a, a)")
    assert arity({}) is None
    with pytest.raises(jexc.ArityError):
        arity({"a": "x"})
    with pytest.raises(jexc.VariadictArityError):
        compile_expression("not_null()")({})
    with pytest.raises(jexc.JMESPathTypeError):
        compile_expression("length(a)")({"a": 5})
    with pytest.raises(jexc.JMESPathTypeError):
        compile_expression("sum(a)")({"a": [1, True]})


def test_zero_arg_custom_function() -> None:
    fn = compile_expression("{kind: record().source, id: id}", FNS)
    assert fn({"id": 7}) == {"kind": "test", "id": 7}
    with pytest.raises(jexc.UnknownFunctionError):
        compile_expression("record()")({})  # not a stock function


def test_overridden_stock_function_is_not_inlined() -> None:
    class LongLength(jfunctions.Functions):
        @jfunctions.signature({"types": ["string", "array", "object"]})
        def _func_length(self, arg: Any) -> int:
            return 100 * len(arg)

    assert compile_expression("length(a)", LongLength())({"a": [1, 2]}) == 200


def test_overridden_call_function_sees_every_call() -> None:
    seen = []

    class Spy(jfunctions.Functions):
        def call_function(self, function_name: str, resolved_args: Any) -> Any:
            seen.append(function_name)
            return super().call_function(function_name, resolved_args)

    fn = compile_expression("sort_by(items, &id)[0].id", Spy())
    assert fn({"items": [{"id": 2}, {"id": 1}]}) == 1
    assert seen == ["sort_by"]


def test_expref_protocol_for_custom_functions() -> None:
    class Apply(jfunctions.Functions):
        @jfunctions.signature({"types": ["expref"]}, {"types": []})
        def _func_apply(self, expref: Any, value: Any) -> Any:
            return expref.visit(expref.expression, value)

    fn = compile_expression("apply(&a.b, @)", Apply())
    assert fn({"a": {"b": 3}}) == 3
    with pytest.raises(jexc.JMESPathTypeError):
        compile_expression("apply(a, @)", Apply())({"a": 1})


def test_mappings_and_duck_typing_like_jmespath() -> None:
    class GetOnly:
        def get(self, key: str) -> str:
            return key * 2

    data = {"o": collections.OrderedDict(x=1), "g": GetOnly(), "l": [1, 2]}
    for text in ["o.x", "g.ab", "l.x", "o.*", "length(o)", "keys(o)", "g.ab.c"]:
        assert compile_expression(text)(data) == jmespath.compile(text).search(data), text


def test_literals_are_the_ast_objects_like_jmespath() -> None:
    fn = compile_expression("`[1, 2]`")
    assert fn(None) is fn(None) == [1, 2]


def test_slice_step_zero_raises_only_on_lists() -> None:
    fn = compile_expression("a[::0]")
    assert fn({"a": "text"}) is None
    with pytest.raises(ValueError, match="zero"):
        fn({"a": [1]})


def test_deep_nesting_is_split_into_functions() -> None:
    data: Any = 1
    for _ in range(60):
        data = [data]
    for text in [
        "a" + "[*]" * 40,
        ".".join(["a"] * 120),
        "(" * 30 + "a" + ")" * 30,
        "a" + "[?b]" * 25,
        "[" * 30 + "a" + "]" * 30,
        "a" + "[]" * 40,
    ]:
        doc = {"a": data}
        assert compile_expression(text)(doc) == jmespath.compile(text).search(doc), text


def test_jmespath_is_the_version_jpcompile_mirrors() -> None:
    """jpcompile reproduces jmespath 1.1.0 internals (`_equals`, `_is_comparable`, argument type
    checks); pyproject pins that version, and any other must be checked before it is allowed."""
    from importlib.metadata import version

    assert version("jmespath") == "1.1.0"
