"""Code templates: the usual case of a builder written out in generated code (mapper.jpcompile).

A template is attached to a `_func_*` method with `@inline_code(template)`. When an expression
calls that method (and the function table still holds it, so a subclass overriding the method
loses its template), `mapper.jpcompile` asks the template for statements instead of emitting
the call itself:

    template(emitter, args, constants, out, call) -> lines | None

`args` are the atoms (variables or constant names) holding the arguments, after jmespath's type
checks; `constants[i]` is `(True, value)` when argument i is a constant known while compiling,
else `(False, None)`; `out` is the variable to assign; `call` the expression calling the method.
The lines (relative indentation, four spaces a level) must assign `out` on every path. None
means "no template for these arguments": the call is emitted as usual.

Every template tests for the everyday shape of its arguments (a non-blank string id, a list of
one principal...) and builds the result directly; anything else goes to `call`. So a template
gives exactly what the method returns, never raises where the method would not, and costs
only the tests it makes. `tests/test_fastpaths.py` holds each template to its method.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

Method = TypeVar("Method", bound=Callable[..., Any])
Constants = list[tuple[bool, Any]]

INLINE_CODE = "inline_code"  # attribute of a `_func_*` method: its template
_INT_LIMIT = 10**18  # ints below this (in absolute value) are made text by str() alone


class Emitter(Protocol):
    def const(self, value: Any, inline: bool = True) -> str:
        """A Python expression for `value` in the generated code."""


Template = Callable[[Emitter, list[str], Constants, str, str], list[str] | None]


def inline_code(template: Template) -> Callable[[Method], Method]:
    """Attach `template` to the decorated `_func_*` method (outermost decorator)."""

    def attach(method: Method) -> Method:
        setattr(method, INLINE_CODE, template)
        return method

    return attach


def _id(atom: str) -> str:
    """A test true when `atom` holds a non-blank string (what `as_id` keeps as it is)."""
    return f"type({atom}) is str and {atom} and not {atom}.isspace()"


def _fallback(out: str, call: str) -> list[str]:
    return ["else:", f"    {out} = {call}"]


def _text_constant(constants: Constants, i: int) -> str | None:
    known, value = constants[i]
    return value if known and type(value) is str else None


def user_ref(
    e: Emitter, args: list[str], constants: Constants, out: str, call: str
) -> list[str] | None:
    """user_ref(id) and user_ref(id, email) with a string id (and a string or null email)."""
    if len(args) == 1:
        return [
            f"if {_id(args[0])}:",
            f"    {out} = {{'externalId': {args[0]}}}",
            *_fallback(out, call),
        ]
    if len(args) != 2:
        return None
    ext, email = args
    return [
        f"if {_id(ext)} and ({email} is None or type({email}) is str):",
        f"    if {email} and not {email}.isspace():",
        f"        {out} = {{'email': {email}, 'externalId': {ext}}}",
        "    else:",
        f"        {out} = {{'externalId': {ext}}}",
        *_fallback(out, call),
    ]


def entity_key_as(
    e: Emitter, args: list[str], constants: Constants, out: str, call: str
) -> list[str] | None:
    """entity_key_as('type', 'field', id) with a literal type and field, and a string or int id."""
    kind, field = _text_constant(constants, 0), _text_constant(constants, 1)
    if not kind or not field or field.isspace():
        return None
    ident = args[2]
    return [
        f"if {_id(ident)}:",
        f"    {out} = {{'type': {kind!r}, 'value': {{{field!r}: {ident}}}}}",
        f"elif type({ident}) is int and {-_INT_LIMIT} < {ident} < {_INT_LIMIT}:",
        f"    {out} = {{'type': {kind!r}, 'value': {{{field!r}: str({ident})}}}}",
        *_fallback(out, call),
    ]


def permissions(
    e: Emitter, args: list[str], constants: Constants, out: str, call: str
) -> list[str] | None:
    """permissions(principals) given one list of one principal object."""
    if len(args) != 1:
        return None
    x = args[0]
    return [
        f"if type({x}) is list and len({x}) == 1 and type({x}[0]) is dict:",
        f"    {out} = [{{'accessControls': [{{'principals': [dict({x}[0])]}}]}}]",
        *_fallback(out, call),
    ]


def principal(
    e: Emitter, args: list[str], constants: Constants, out: str, call: str
) -> list[str] | None:
    """principal('TYPE') and principal('TYPE', id) with a literal type."""
    from mapper.functions.principals import TYPES_WITHOUT_ID

    kind = _text_constant(constants, 0)
    if not kind or len(args) > 2:
        return None
    kind = kind.upper()
    if kind in TYPES_WITHOUT_ID:
        return [f"{out} = {{'type': {kind!r}}}"]
    if len(args) != 2:
        return None
    ident = args[1]
    return [
        f"if {_id(ident)}:",
        f"    {out} = {{'type': {kind!r}, 'id': {ident}}}",
        *_fallback(out, call),
    ]


def principals_of(kind: str) -> Template:
    """users(id) / groups(id) of one string id."""

    def template(
        e: Emitter, args: list[str], constants: Constants, out: str, call: str
    ) -> list[str] | None:
        x = args[0]
        return [
            f"if {_id(x)}:",
            f"    {out} = [{{'type': {kind!r}, 'id': {x}}}]",
            *_fallback(out, call),
        ]

    return template


def concat(
    e: Emitter, args: list[str], constants: Constants, out: str, call: str
) -> list[str] | None:
    """concat(...) of literal strings and strings or ints read from the record."""
    parts: list[str] = []
    tests: list[str] = []
    for atom, (known, value) in zip(args, constants, strict=True):
        if known:
            if type(value) is not str:
                return None
            parts.append(repr(value))
            continue
        small_int = f"type({atom}) is int and {-_INT_LIMIT} < {atom} < {_INT_LIMIT}"
        tests.append(f"(type({atom}) is str or {small_int})")
        parts.append(f"({atom} if type({atom}) is str else str({atom}))")
    if not tests or len(args) > 8:
        return None
    return [f"if {' and '.join(tests)}:", f"    {out} = {' + '.join(parts)}", *_fallback(out, call)]


def truncate(
    e: Emitter, args: list[str], constants: Constants, out: str, call: str
) -> list[str] | None:
    """truncate(text, `N`) with a literal whole length and no suffix, of a string."""
    known, limit = constants[1] if len(args) == 2 else (False, None)
    if not known or type(limit) is not int or limit < 0:
        return None
    text = args[0]
    return [
        f"if type({text}) is str:",
        f"    {out} = {text} if len({text}) <= {limit} else {text}[:{limit}]",
        *_fallback(out, call),
    ]


def first_line(
    e: Emitter, args: list[str], constants: Constants, out: str, call: str
) -> list[str] | None:
    """first_line(text) of a string whose first line (up to `\\n`) is printable and not blank."""
    text = args[0]
    return [
        f"{out} = None",
        f"if type({text}) is str:",
        f"    {out} = {text}.partition('\\n')[0]",
        f"    {out} = {out}.strip() if {out}.isprintable() else None",
        f"if not {out}:",
        f"    {out} = {call}",
    ]


def to_rfc3339(
    e: Emitter, args: list[str], constants: Constants, out: str, call: str
) -> list[str] | None:
    """to_rfc3339(text): the string case without the method's own call."""
    from mapper.functions.timestamps import rfc3339_text

    text = args[0]
    return [f"{out} = {e.const(rfc3339_text)}({text}) if type({text}) is str else {call}"]
