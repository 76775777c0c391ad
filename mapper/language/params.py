"""Mapping parameters: the values given per run (`--param NAME=VALUE`), checked and typed.

`resolve_params` turns the text given for each declared parameter into its value (numbers,
booleans), fills defaults, and reports an unknown name (with did-you-mean), a missing required
parameter or a value of the wrong type: all before any record is read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mapper.errors import Diagnostic, suggest
from mapper.language.plan import Param

_BOOLEANS = {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False}


def _typed(param: Param, text: str) -> tuple[Any, str | None]:
    """The value of `text` for `param`, or a reason it is not one."""
    if param.type == "string":
        return text, None
    if param.type == "boolean":
        value = _BOOLEANS.get(text.strip().lower())
        return (value, None) if value is not None else (None, "true or false")
    try:
        number: int | float = int(text) if param.type == "integer" else float(text)
    except ValueError:
        return None, "an integer" if param.type == "integer" else "a number"
    if isinstance(number, float) and number.is_integer() and "." not in text and "e" not in text:
        number = int(number)
    return number, None


def resolve_params(
    params: tuple[Param, ...], given: Mapping[str, Any], option: str = "--param"
) -> tuple[dict[str, Any], list[Diagnostic]]:
    """The values of every declared parameter, and the problems (usage errors) found."""
    declared = {p.name: p for p in params}
    problems: list[Diagnostic] = []
    values: dict[str, Any] = {}
    for name, text in given.items():
        param = declared.get(name)
        if param is None:
            hint = suggest(name, declared) or (
                f"the mapping declares {', '.join(declared)}"
                if declared
                else "the mapping declares no `params:`"
            )
            problems.append(
                Diagnostic("param.unknown", f"{option} {name}: no such parameter; {hint}")
            )
            continue
        value, wanted = _typed(param, str(text) if not isinstance(text, str) else text)
        if wanted is not None:
            problems.append(
                Diagnostic(
                    "param.invalid",
                    f"{option} {name}={text}: the parameter is {param.type}: give {wanted}",
                )
            )
        values[name] = value
    for param in params:
        if param.name in values:
            continue
        if param.required:
            about = f" ({param.description})" if param.description else ""
            problems.append(
                Diagnostic(
                    "param.missing",
                    f"the mapping needs the parameter {param.name!r}{about}: "
                    f"give {option} {param.name}=VALUE",
                    span=param.span,
                )
            )
        else:
            values[param.name] = param.default
    return values, problems
