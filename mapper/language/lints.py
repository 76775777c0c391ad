"""Lints: expressions that are valid JMESPath but almost surely not what was meant.

Each lint is a small `lint_<what>(text, ast)` returning warnings with the column of the problem
in the expression (a caret) and the fixed expression as the hint. They run at compile time, so
`mapper validate` shows them before any record is read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from mapper.errors import Diagnostic
from mapper.language.calls import failing_calls, fix_hint, mask_strings

_ALL_CAPS = re.compile(r"[A-Z][A-Z0-9_]*")
_NOT_PATH = re.compile(r"!\s*([A-Za-z_][\w]*(?:\.[A-Za-z_]\w*|\[\d+\])+)")
_SPACED_KEY = re.compile(r"(?<=\.)([A-Za-z_]\w*)((?:[ \t]+[A-Za-z_]\w*)+)(?=\s*(?:\.|\)|,|\]|$))")
_WORD_OPS = frozenset({"eq", "ne"})
_ENUM_NAMES = frozenset(
    [
        "type",
        "subtype",
        "kind",
        "state",
        "status",
        "category",
        "object",
        "action",
        "event",
        "role",
        "visibility",
        "mode",
        "phase",
        "stage",
        "priority",
        "resolution",
        "level",
        "format",
    ]
)
_ENUM_SUFFIXES = ("_type", "Type", "_state", "State", "_status", "Status", "_kind", "Kind")


def _enum_like(node: Mapping[str, Any]) -> bool:
    """A field whose values are words (type, state, status, ...): compared with text."""
    while node.get("type") == "subexpression":
        node = node["children"][-1]
    name = str(node.get("value")) if node.get("type") == "field" else ""
    return name.lower() in _ENUM_NAMES or name.endswith(_ENUM_SUFFIXES)


def _walk(node: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(node, Mapping):
        yield node
        for child in node.get("children", ()):
            yield from _walk(child)


def lint_not_path(text: str, ast: Mapping[str, Any]) -> Iterator[Diagnostic]:
    """`!a.b` is `(!a).b` (always null): the `!` wants parentheses around the path."""
    if not any(
        n.get("type") in ("subexpression", "index_expression")
        and n["children"]
        and isinstance(n["children"][0], Mapping)
        and n["children"][0].get("type") == "not_expression"
        for n in _walk(ast)
    ):
        return
    found = _NOT_PATH.search(mask_strings(text))
    col = found.start() if found else max(text.find("!"), 0)
    fixed = text[: found.start()] + f"!({found.group(1)})" + text[found.end() :] if found else None
    yield Diagnostic(
        "expr.not-precedence",
        "`!` applies to the first name only: `!a.b` reads as `(!a).b`, which is always null",
        expr=text,
        expr_col=col,
        severity="warning",
        hint=f"write {fixed}" if fixed else "put the path in parentheses: !(a.b)",
    )


def lint_spaced_key(text: str, ast: Mapping[str, Any]) -> Iterator[Diagnostic]:
    """`properties.Last ordered.date` is two expressions (`properties.Last`, `ordered.date`):
    a key with a space must be quoted."""
    masked = mask_strings(text)
    for found in _SPACED_KEY.finditer(masked):
        key = text[found.start() : found.end()]
        if any(word in ("or", "and") for word in key.split()):
            continue
        fixed = text[: found.start()] + f'"{key}"' + text[found.end() :]
        yield Diagnostic(
            "expr.key-with-space",
            f"a key with a space must be quoted: `{key}` reads as separate names",
            expr=text,
            expr_col=found.start(),
            severity="warning",
            hint=f"write {fixed}",
        )
        return


def lint_caps_argument(text: str, ast: Mapping[str, Any]) -> Iterator[Diagnostic]:
    """`principal(CONTAINER)` reads a field named CONTAINER: a literal is meant."""
    masked = mask_strings(text)
    for node in _walk(ast):
        if node.get("type") != "function_expression":
            continue
        for arg in node["children"]:
            if not (
                isinstance(arg, Mapping)
                and arg.get("type") == "field"
                and _ALL_CAPS.fullmatch(str(arg.get("value")))
            ):
                continue
            word = str(arg["value"])
            at = re.search(rf"(?<![\w'\"]){re.escape(word)}(?![\w'\"])", masked)
            col = at.start() if at else 0
            fixed = text[:col] + f"'{word}'" + text[col + len(word) :] if at else None
            yield Diagnostic(
                "expr.looks-like-literal",
                f"`{word}` given to {node['value']}() reads the field {word!r} of the record",
                expr=text,
                expr_col=col,
                severity="warning",
                hint=f"write {fixed}" if fixed else f"quote it: '{word}'",
            )


def lint_bare_word_comparison(text: str, ast: Mapping[str, Any]) -> Iterator[Diagnostic]:
    """`state == open` compares with the field `open` (usually null): text must be quoted.

    Only where a word is meant: the other side is a field such as `type` or `state` (comparing
    two fields, `thread_ts == ts`, is common), or the word is ALL-CAPS, `true` or `false`."""
    masked = mask_strings(text)
    for node in _walk(ast):
        if node.get("type") != "comparator" or node.get("value") not in _WORD_OPS:
            continue
        left, right = node["children"]
        if right.get("type") != "field" or left.get("type") not in ("field", "subexpression"):
            continue
        word = str(right["value"])
        if word == "null":  # reads a field named null: null, as meant
            continue
        literal = word in ("true", "false")
        if not (literal or _ALL_CAPS.fullmatch(word) or _enum_like(left)):
            continue
        op = "==" if node["value"] == "eq" else "!="
        at = re.search(rf"{re.escape(op)}\s*({re.escape(word)})(?![\w'\"])", masked)
        col = at.start(1) if at else 0
        quoted = f"`{word}`" if literal else f"'{word}'"
        fixed = text[:col] + quoted + text[col + len(word) :] if at else None
        yield Diagnostic(
            "expr.bare-word-comparison",
            f"`{word}` is read as a field of the record, not as the text {word!r}",
            expr=text,
            expr_col=col,
            severity="warning",
            hint=(f"write {fixed}" if fixed else f"quote it: {quoted}")
            + f" (to compare with the field, write @.{word})",
        )


_WIDE = frozenset({"ATLASSIAN_WORKSPACE", "EVERYONE"})
_IDENTITY_LISTS = frozenset({"users", "groups"})


def _ends_in_identity_list(node: Mapping[str, Any]) -> str | None:
    """`users(...)`, `cond && groups(...)`: the function name whose result decides the branch."""
    while node.get("type") == "and_expression":
        node = node["children"][-1]
    if node.get("type") == "function_expression" and node.get("value") in _IDENTITY_LISTS:
        return str(node["value"])
    return None


def _grants_wide(node: Mapping[str, Any]) -> str | None:
    for sub in _walk(node):
        if sub.get("type") == "function_expression" and sub.get("value") == "principal":
            arg = sub["children"][0] if sub["children"] else {}
            literal = isinstance(arg, Mapping) and arg.get("type") == "literal"
            if literal and arg.get("value") in _WIDE:
                return str(arg["value"])
    return None


def lint_open_fallback(text: str, ast: Mapping[str, Any]) -> Iterator[Diagnostic]:
    """`private && users(owner) || [principal('ATLASSIAN_WORKSPACE')]` fails open: an empty
    id list is false, so a private object with no ids found becomes visible to everyone."""
    for node in _walk(ast):
        if node.get("type") != "or_expression":
            continue
        left, right = node["children"]
        name, wide = _ends_in_identity_list(left), _grants_wide(right)
        if name is None or wide is None:
            continue
        col = max(mask_strings(text).find("||"), 0)
        yield Diagnostic(
            "expr.open-fallback",
            f"when {name}() finds no ids it gives [], which is false, so `||` falls back to "
            f"{wide}: a private object whose ids are missing becomes visible to the workspace",
            expr=text,
            expr_col=col,
            severity="warning",
            hint=f"test the public case first: `public_flag && [principal('{wide}')] || "
            f"{name}(...)`, so missing ids leave the object unreadable instead of open",
        )
        return


def lint_or_not_recovered(text: str, ast: Mapping[str, Any]) -> Iterator[Diagnostic]:
    """`regex_extract(x, '(') || 'none'`: the left side calls a function with a constant
    pattern or template that always fails. `||` recovers from type errors only, not from such
    function errors (`function.regex-invalid`, `function.format-invalid`), so the default after
    it is never used: the field fails for every record that reaches the call."""
    calls = [n for n in _walk(ast) if n.get("type") == "function_expression"]
    left_sides = [n["children"][0] for n in _walk(ast) if n.get("type") == "or_expression"]
    under_or = {id(c) for side in left_sides for c in _walk(side)}
    for found in failing_calls(text, calls):
        if id(found.node) not in under_or:
            continue
        yield Diagnostic(
            "expr.or-not-recovered",
            f"{found.name}() always fails here ({found.reason}); `||` recovers from type errors "
            "only, so the default after it is never used",
            expr=text,
            expr_col=found.call_col or 0,
            severity="warning",
            hint=fix_hint(found.name),
        )


LINTS = (
    lint_not_path,
    lint_spaced_key,
    lint_caps_argument,
    lint_bare_word_comparison,
    lint_open_fallback,
    lint_or_not_recovered,
)


def lint_expression(text: str, ast: Mapping[str, Any]) -> Iterator[Diagnostic]:
    """Every lint, in order."""
    for lint in LINTS:
        yield from lint(text, ast)
