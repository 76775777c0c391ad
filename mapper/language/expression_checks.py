"""Language stage, check step: static checks of one parsed expression, each a located diagnostic.

jmespath only notices unknown functions and wrong arity when a call runs, on the branch that
runs; these checks walk the parsed tree instead, so `draft && slugg(title)` fails at load time.
The lints (`lints.py`) run last, as warnings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from mapper.errors import Diagnostic, suggest
from mapper.functions import FUNCTION_NAMES, arity
from mapper.language.calls import failing_calls, fix_hint
from mapper.language.lints import lint_expression
from mapper.paths import plain_path

_ALL_CAPS = re.compile(r"^[A-Z][A-Z0-9_]*$")


def iter_function_calls(node: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every function_expression node of a parsed JMESPath tree."""
    if node.get("type") == "function_expression":
        yield node
    for child in node.get("children", ()):
        if isinstance(child, Mapping):  # slice children are plain ints or None
            yield from iter_function_calls(child)


def _column_of_call(text: str, name: str, occurrence: int) -> int | None:
    matches = list(re.finditer(rf"(?<![A-Za-z0-9_]){re.escape(name)}\s*\(", text))
    return matches[occurrence].start() if occurrence < len(matches) else None


def check_functions(text: str, ast: Mapping[str, Any]) -> Iterator[Diagnostic]:
    """Unknown function names and wrong numbers of arguments."""
    seen: dict[str, int] = {}
    for call in iter_function_calls(ast):
        name = call["value"]
        col = _column_of_call(text, name, seen.get(name, 0))
        seen[name] = seen.get(name, 0) + 1
        if name not in FUNCTION_NAMES:
            yield Diagnostic(
                "expr.unknown-function",
                f"unknown function {name}()",
                expr=text,
                expr_col=col,
                hint=suggest(name, FUNCTION_NAMES),
            )
            continue
        problem = _arity_problem(name, len(call.get("children", ())))
        if problem:
            yield Diagnostic(
                "expr.arity",
                problem,
                expr=text,
                expr_col=col,
                hint=f"see `mapper functions {name}`",
            )


def _arity_problem(name: str, given: int) -> str | None:
    low, high = arity(name)
    if given < low:
        least = "at least " if high != low else ""
        return f"{name}() takes {least}{low} argument(s), {given} given"
    if high is not None and given > high:
        most = "at most " if high != low else ""
        return f"{name}() takes {most}{high} argument(s), {given} given"
    return None


def check_lookups(
    text: str, ast: Mapping[str, Any], lookup_names: frozenset[str]
) -> Iterator[Diagnostic]:
    """lookup('table', key) must name a table declared under `lookups:`."""
    for call in iter_function_calls(ast):
        args = call.get("children", ())
        if call["value"] != "lookup" or not args or args[0].get("type") != "literal":
            continue
        table = args[0].get("value")
        if table not in lookup_names:
            yield Diagnostic(
                "expr.unknown-lookup",
                f"no lookup table named {table!r}",
                expr=text,
                expr_col=text.find(str(table)),
                hint=suggest(str(table), lookup_names) or "declare it under `lookups:`",
            )


def check_params(
    text: str, ast: Mapping[str, Any], param_names: frozenset[str]
) -> list[Diagnostic]:
    """param('name') must name a parameter declared under `params:`, as a literal."""
    found = []
    for call in iter_function_calls(ast):
        args = call.get("children", ())
        if call["value"] != "param" or not args:
            continue
        name = args[0].get("value") if args[0].get("type") == "literal" else None
        if not isinstance(name, str):
            found.append(
                Diagnostic(
                    "expr.param-name",
                    "param() takes the parameter's name as quoted text, e.g. param('base_url')",
                    expr=text,
                    expr_col=max(text.find("param("), 0),
                )
            )
        elif name not in param_names:
            found.append(
                Diagnostic(
                    "expr.unknown-param",
                    f"no parameter named {name!r}",
                    expr=text,
                    expr_col=text.find(name),
                    hint=suggest(name, param_names) or "declare it under `params:`",
                )
            )
    return found


def check_literal_lookalike(text: str, ast: Mapping[str, Any]) -> Iterator[Diagnostic]:
    """Warn when a bare ALL-CAPS word is read as a record field (it is probably meant as text)."""
    if ast.get("type") == "field" and _ALL_CAPS.match(text.strip()):
        word = text.strip()
        yield Diagnostic(
            "expr.looks-like-literal",
            f"`{word}` reads the field {word!r} of the record",
            expr=text,
            expr_col=0,
            severity="warning",
            hint=f"to write the text {word}, use '{word}' (quoted) or {{const: {word}}}",
        )


def check_constant_arguments(text: str, ast: Mapping[str, Any]) -> Iterator[Diagnostic]:
    """A constant regex pattern or `format` template that is invalid: the call fails for every
    record that reaches it (`regex_extract(name, '(')`), so it is a compile-time error, with
    the caret on the argument."""
    for found in failing_calls(text, iter_function_calls(ast)):
        what = "pattern" if found.name.startswith("regex_") else "template"
        yield Diagnostic(
            "expr.invalid-argument",
            f"the {what} given to {found.name}() is invalid, so the call fails at run time "
            f"({found.reason})",
            expr=text,
            expr_col=found.argument_col,
            hint=fix_hint(found.name),
        )


def check_expression(
    text: str, ast: Mapping[str, Any], lookup_names: frozenset[str]
) -> Iterator[Diagnostic]:
    """All expression-level checks, in order."""
    yield from check_functions(text, ast)
    yield from check_lookups(text, ast, lookup_names)
    yield from check_literal_lookalike(text, ast)
    yield from check_constant_arguments(text, ast)
    yield from lint_expression(text, ast)


_BARE_TYPE = re.compile(r"(?<!['\w])(atlassian:[a-z-]+)")


def literal_hint(text: str, token: str | None = None) -> str | None:
    """A hint for text that fails to parse, most often literal text written as an expression."""
    if token is not None and re.fullmatch(r"-?\d+(\.\d+)?", str(token)):
        return f"numbers inside an expression are JSON literals in backticks: `{token}`"
    bare = _BARE_TYPE.search(text)
    if bare and "(" in text:
        return f"write literal text inside an expression in single quotes: '{bare.group(1)}'"
    if "(" not in text and (":" in text or " " in text.strip() or text.startswith(("http", "/"))):
        return f"to write literal text, quote it as '{text}' or use {{const: {text}}}"
    return None


def suggest_name(name: str, known: Iterable[str]) -> str | None:
    """Did-you-mean for a user-chosen name."""
    return suggest(name, known)


def value_path(ast: Mapping[str, Any]) -> tuple[str | int, ...] | None:
    """The record path an expression reads its value from, when that is unambiguous.

    A plain path (`a.b[0]`), or a function call whose only record-reading argument is a plain
    path (`to_rfc3339(commit.author.date)`, `to_int(size)`); None otherwise.
    """
    path = plain_path(ast)
    if path is not None or ast.get("type") != "function_expression":
        return path
    reads = [a for a in ast.get("children", ()) if a.get("type") not in ("literal", "raw_string")]
    if len(reads) != 1:
        return None
    return value_path(reads[0])
