"""Language stage, compile step: `${name}` expansion of `define:` expressions.

Before an expression is parsed, each `${name}` in it is replaced by the `define:` expression
`name`, in parentheses; unknown names and definition loops become located diagnostics.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from mapper.errors import Diagnostic, Loc, SourceSpan
from mapper.language.expression_checks import suggest_name
from mapper.language.limits import MAX_EXPRESSION_CHARS, TooLong
from mapper.language.spec import ExprField

_MACRO = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_-]*)\}")


def expand_macros(
    defines: Mapping[str, Any],
    text: str,
    loc: Loc,
    span: SourceSpan | None,
    diags: list[Diagnostic],
    stack: tuple[str, ...] = (),
) -> str | None:
    """Replace each `${name}` by the `define:` expression `name`, in parentheses; None (and
    the problems added to `diags`) when a name is unknown or loops. Raises TooLong when the
    expanded text would pass MAX_EXPRESSION_CHARS."""
    problems: list[Diagnostic] = []
    grown = [len(text)]

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        inner = _macro_text(defines, name)
        problem: tuple[str, str, str | None] | None = None
        if name in stack:
            problem = (
                "spec.define-cycle",
                f"definitions loop: {' -> '.join((*stack, name))}",
                None,
            )
        elif inner is None:
            known = [k for k in defines if _macro_text(defines, k) is not None]
            hint = (
                suggest_name(name, known)
                or "`${name}` needs a `define:` entry that is an expression"
            )
            problem = ("spec.unknown-define", f"no `define:` expression named {name!r}", hint)
        if problem is not None:
            problems.append(
                Diagnostic(
                    problem[0],
                    problem[1],
                    loc=loc,
                    span=span,
                    expr=text,
                    expr_col=match.start(),
                    hint=problem[2],
                )
            )
            return "@"
        assert inner is not None
        expanded = (
            expand_macros(defines, inner, loc, span, diags, (*stack, name))
            if "${" in inner
            else inner
        )
        piece = f"({expanded if expanded is not None else '@'})"
        grown[0] += len(piece) - len(match.group(0))
        if grown[0] > MAX_EXPRESSION_CHARS:
            raise TooLong  # `${a}${a}` doubling: stop before the text is built
        return piece

    result = _MACRO.sub(one, text)
    diags.extend(problems)
    return None if problems else result


def _macro_text(defines: Mapping[str, Any], name: str) -> str | None:
    entry = defines.get(name)
    value = entry[0] if entry else None
    if isinstance(value, ExprField):
        return value.expr
    return value if isinstance(value, str) else None
