"""The fast path of `check_object`: one generated function per object type, no model objects.

`fast_check(type_name, payload)` validates and normalises a payload exactly as the pydantic
models do (`model_validate(...).to_payload()`, plus the advisories' warnings), or gives up and
returns None. It never reports errors itself: anything it does not accept (a wrong type, a
validator that raises, a key it does not know) makes it give up, and `check_object` then runs
the reference path, which produces the diagnostics. A payload the fast path accepts therefore
gets the same result as on the reference path, only sooner; `tests/test_fastcheck.py` checks
that difference by difference on generated payloads.

The code is generated from the models themselves (field order, aliases, required flags,
`Annotated` validators and constraints, field and model validators), so a new field needs no
change here. Validators that look at model instances have a dict twin in `DICT_VALIDATORS`;
a model whose validators or annotations this module does not understand gets no fast path
(`Unsupported`), and a test requires every object type to have one.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Union, cast, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.functional_validators import AfterValidator, BeforeValidator
from pydantic.types import StringConstraints

from mapper.errors import Diagnostic
from mapper.model import OBJECT_TYPES
from mapper.model.advisories import advise_object, advise_unnamed, advisors_of
from mapper.model.checks import _SIMPLE_URL, check_not_blank, check_url
from mapper.model.codewriter import GiveUp, Writer
from mapper.model.identity import IDENTITY_KINDS
from mapper.model.rules import DICT_VALIDATORS, SCALAR_VALIDATORS
from mapper.model.scalars import Kind

__all__ = [
    "DICT_VALIDATORS",
    "GiveUp",
    "Given",
    "Unsupported",
    "Writer",
    "built_model",
    "checked_value",
    "emit_object_from",
    "fast_check",
    "fast_checker",
    "model_of",
    "source_of",
]

Checker = Callable[[dict[str, Any], tuple[Any, ...], list[Diagnostic]], dict[str, Any]]


@dataclass(frozen=True)
class Given:
    """How the generated code gets one field's value.

    `var` is a Python expression for the raw value; `trusted` says it is null or already what
    the check would make of it (see TRUSTED_RESULTS) once it passes `guard`, if any. `fields`,
    instead of `var`, gives the fields of a nested object built in place (null when all of them
    are null), and `required` that such an object must not be null.
    """

    var: str = ""
    trusted: bool = False
    fields: dict[str, Given] | None = None
    required: bool = False
    guard: str = ""  # for a trusted value: a test it must still pass ({v} stands for it)


Getter = Callable[[str], Given | None]  # a field's alias -> how its value is given, or None


class Unsupported(Exception):
    """The generator cannot express a model's validation; that model gets no fast path."""


def _strip_optional(annotation: Any) -> tuple[Any, bool]:
    if get_origin(annotation) in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        if len(members) < len(get_args(annotation)):
            if len(members) != 1:
                raise Unsupported(f"optional union {annotation!r}")
            return members[0], True
    return annotation, False


def _split(annotation: Any, metadata: list[Any]) -> tuple[Any, list[Any]]:
    """Look through Annotated: (base annotation, all metadata outermost last)."""
    while get_origin(annotation) is Annotated:
        base, *extra = get_args(annotation)
        annotation, metadata = base, [*extra, *metadata]
    return annotation, metadata


def _value(w: Writer, annotation: Any, metadata: list[Any], var: str, loc: str, ind: int) -> str:
    """Emit code validating `var`; returns the name holding the normalised value.

    `loc` is a Python expression for the value's location; it is evaluated only when an
    advisor warns, so locations cost nothing on the common path.
    """
    annotation, metadata = _split(annotation, metadata)
    befores = [m.func for m in metadata if isinstance(m, BeforeValidator)]
    if len(befores) > 1:
        raise Unsupported("several before-validators")
    for func in befores:
        w.emit(ind, f"{var} = {w.bind('f', func)}({var})")
    out = _typed(w, annotation, var, loc, ind)
    for item in metadata:
        _constraint(w, item, out, ind)
    return out


def _constraint(w: Writer, item: Any, var: str, ind: int) -> None:
    if isinstance(item, Kind | BeforeValidator):
        return
    if isinstance(item, AfterValidator):
        _after(w, item.func, var, ind)
    elif isinstance(item, StringConstraints):
        if {k for k, v in vars(item).items() if v is not None} - {"min_length"}:
            raise Unsupported(f"string constraints {item!r}")
        w.emit(ind, f"if len({var}) < {int(item.min_length or 0)}: raise GiveUp")
    elif isinstance(item, annotated_types.Ge):
        w.emit(ind, f"if not {var} >= {w.bind('k', item.ge)}: raise GiveUp")
    elif isinstance(item, annotated_types.Le):
        w.emit(ind, f"if not {var} <= {w.bind('k', item.le)}: raise GiveUp")
    else:
        raise Unsupported(f"metadata {item!r}")


def _after(w: Writer, func: Any, var: str, ind: int) -> None:
    """Call an after-validator; the two that check every id, name and URL are written inline
    (the value is a str here: `_typed` checked it). check_not_blank rejects only whitespace,
    which GiveUp leaves to the usual path to report; check_url accepts what `_SIMPLE_URL`
    matches without more ado (tests/test_fastcheck.py compares the results with pydantic's)."""
    if func is check_not_blank:
        w.emit(ind, f"if {var}.isspace(): raise GiveUp")
    elif func is check_url:
        simple = w.bind("k", _SIMPLE_URL.fullmatch)
        w.emit(ind, f"if {simple}({var}) is None: {var} = {w.bind('f', func)}({var})")
    else:
        w.emit(ind, f"{var} = {w.bind('f', func)}({var})")


def _typed(w: Writer, annotation: Any, var: str, loc: str, ind: int) -> str:
    origin = get_origin(annotation)
    if annotation in (str, int, bool):
        w.emit(ind, f"if type({var}) is not {annotation.__name__}: raise GiveUp")
        return var
    if annotation is Any:
        return var
    if origin in (Union, types.UnionType) and set(get_args(annotation)) == {int, float}:
        w.emit(ind, f"if type({var}) is not int and type({var}) is not float: raise GiveUp")
        return var
    if origin is list:
        return _list(w, get_args(annotation)[0], var, loc, ind)
    if origin is dict and get_args(annotation) == (str, str):
        w.emit(ind, f"if type({var}) is not dict: raise GiveUp")
        w.emit(ind, f"for k_, v_ in {var}.items():")
        w.emit(ind + 1, "if type(k_) is not str or type(v_) is not str: raise GiveUp")
        return f"dict({var})"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _model(w, annotation, var, loc, ind)
    raise Unsupported(f"annotation {annotation!r}")


def _list(w: Writer, item_type: Any, var: str, loc: str, ind: int) -> str:
    out, index, item = w.fresh("l"), w.fresh("i"), w.fresh("x")
    w.emit(ind, f"if type({var}) is not list: raise GiveUp")
    w.emit(ind, f"{out} = []")
    w.emit(ind, f"for {index}, {item} in enumerate({var}):")
    inner = _value(w, item_type, [], item, f"(*{loc}, {index})", ind + 1)
    w.emit(ind + 1, f"{out}.append({inner})")
    return out


def _model(w: Writer, model: type[BaseModel], var: str, loc: str, ind: int) -> str:
    """Emit the checks of one model inline; returns the name of its output dict."""
    if model in w.open:
        raise Unsupported(f"{model.__name__} is recursive")
    w.open.append(model)
    out = w.fresh("o")
    aliases = frozenset(info.alias or field for field, info in model.model_fields.items())
    w.emit(ind, f"if type({var}) is not dict or not {var}.keys() <= {w.bind('keys', aliases)}:")
    w.emit(ind + 1, "raise GiveUp")
    for advisor in advisors_of(model):
        found = w.fresh("w")
        w.emit(ind, f"for {found} in {w.bind('a', advisor)}({w.bind('M', model)}, {var}):")
        w.emit(ind + 1, f"warns.append({found}.within(*{loc}) if {loc} else {found})")
    _fields(w, model, lambda alias: Given(f"{var}.get({alias!r})"), out, loc, ind)
    w.open.pop()
    return out


def _fields(
    w: Writer, model: type[BaseModel], source: Getter, out: str, loc: str, ind: int
) -> None:
    """Emit `out = {...}`: every field of `model` read via `source`, checked, in model order."""
    w.emit(ind, f"{out} = {{}}")
    field_checks = _field_validators(model)
    for field, info in model.model_fields.items():
        _field(w, info, field, field_checks.get(field, []), (source, out, loc), ind)
    for check in _model_validators(model):
        w.emit(ind, f"{w.bind('v', check)}({out})")


def _field(
    w: Writer,
    info: Any,
    field: str,
    checks: list[Callable[[Any], Any]],
    where: tuple[Getter, str, str],
    ind: int,
) -> None:
    source, out, loc = where
    alias = info.alias or field
    annotation, optional = _strip_optional(info.annotation)
    required = info.is_required()
    if not required and info.default is not None:
        raise Unsupported(f"{field}: default {info.default!r}")
    if required and optional:
        raise Unsupported(f"{field}: required but nullable")
    given = source(alias)
    if given is None:  # a field that is never there
        if required:
            raise Unsupported(f"required field {alias!r} is never given")
        return
    if given.fields is not None:
        _built_field(w, info, alias, given, (out, loc), ind)
        return
    var = w.fresh("r")
    w.emit(ind, f"{var} = {given.var}")
    if required:
        w.emit(ind, f"if {var} is None: raise GiveUp")
    else:
        w.emit(ind, f"if {var} is not None:")
        ind += 1
    if given.trusted:
        if given.guard:
            w.emit(ind, f"if not ({given.guard.format(v=var)}): raise GiveUp")
        w.emit(ind, f"{out}[{alias!r}] = {var}")
        return
    value = _value(w, annotation, list(info.metadata), var, f"(*{loc}, {alias!r})", ind)
    for check in checks:
        w.emit(ind, f"{value} = {w.bind('v', check)}({value})")
    w.emit(ind, f"{out}[{alias!r}] = {value}")


def _built_field(
    w: Writer, info: Any, alias: str, given: Given, where: tuple[str, str], ind: int
) -> None:
    """A nested object built in place from its fields' variables (see `Given.fields`)."""
    out, loc = where
    model = built_model(info)
    if model is None or given.fields is None:
        raise Unsupported(f"{alias!r} cannot be built in place")
    w.emit(ind, f"if {_presence(given)}:")
    value = _built(w, model, given.fields, f"(*{loc}, {alias!r})", ind + 1)
    w.emit(ind + 1, f"{out}[{alias!r}] = {value}")
    if info.is_required() or given.required:
        w.emit(ind, "else: raise GiveUp")


def _presence(given: Given) -> str:
    """A Python test: true when the object has at least one value (else it is null)."""
    if given.fields is None:
        return f"{given.var} is not None"
    return "(" + " or ".join([_presence(g) for g in given.fields.values()] or ["False"]) + ")"


def _built(w: Writer, model: type[BaseModel], given: dict[str, Given], loc: str, ind: int) -> str:
    """Check an object whose fields are in variables; its own advisors see the checked output."""
    known = {info.alias or name for name, info in model.model_fields.items()}
    if set(given) - known:
        raise Unsupported(f"unknown fields {sorted(set(given) - known)}")
    out, mark, found = w.fresh("o"), w.fresh("n"), w.fresh("w")
    advisors = advisors_of(model)
    if advisors:
        w.emit(ind, f"{mark} = len(warns)")
    _fields(w, model, given.get, out, loc, ind)
    if advisors:
        w.emit(ind, f"{found} = []")
        for advisor in advisors:
            if advisor is advise_object:  # (it has nothing to say about a named object)
                if model.model_fields["display_name"].is_required():
                    continue
                advisor = advise_unnamed
            call = f"{found} += {w.bind('a', advisor)}({w.bind('M', model)}, {out})"
            if advisor is advise_unnamed:
                call = f"if {out}.get('displayName') is None: {call}"
            w.emit(ind, call)
        located = f"[d.within(*{loc}) for d in {found}]" if loc != "()" else found
        w.emit(ind, f"if {found}: warns[{mark}:{mark}] = {located}")
    return out


def built_model(info: Any) -> type[BaseModel] | None:
    """The nested model of a field that can be built in place, else None.

    That is a field holding one model (optional or not) with no validator of its own.
    """
    annotation, metadata = _split(_strip_optional(info.annotation)[0], list(info.metadata))
    if any(not isinstance(item, Kind) for item in metadata):
        return None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def emit_object_from(w: Writer, type_name: str, given: dict[str, Given], ind: int) -> str:
    """Emit the checks of a whole object whose values are already in variables.

    For `mapper.engine.fusion`: `given` says, per field alias, how its value is given (fields not in
    it are never there). Objects built in place run their advisors on the checked output (the
    same values, minus nulls), and their warnings are put where the reference path puts them.
    Returns the name of the output dict; the code raises GiveUp on any doubt.

    Raises:
        Unsupported: the object cannot be checked this way (e.g. a required field is unmapped).
    """
    return _built(w, model_of(type_name), given, "()", ind)


def checked_value(model: type[BaseModel], field: str, value: Any) -> tuple[bool, Any]:
    """`(True, checked value)` when `value` passes the checks of `model.field` without a
    warning, else `(False, None)`. For values known before any record is read (constants)."""
    try:
        check = _field_checker(model, field)
        warns: list[Diagnostic] = []
        checked = check(value, warns)
    except Exception:  # Unsupported, GiveUp or a validator's error: not decided here
        return False, None
    return (not warns and checked is not None), checked


@functools.cache
def _field_checker(model: type[BaseModel], field: str) -> Callable[[Any, list[Diagnostic]], Any]:
    info = model.model_fields[field]
    alias = info.alias or field
    w = Writer()
    w.emit(0, "def check(raw, warns):")
    w.emit(1, "out = {}")
    checks = _field_validators(model).get(field, [])
    _field(
        w, info, field, checks, (lambda key: Given("raw") if key == alias else None, "out", "()"), 1
    )
    w.emit(1, f"return out.get({alias!r})")
    return cast(Callable[[Any, list[Diagnostic]], Any], w.define("check", "field")[0])


def model_of(type_name: str) -> type[BaseModel]:
    """The full model of an object type, or the payload model of a `users:` / `groups:` rule's
    kind (`user`, `group`: validated as `model.identity.check_identity` does, whose
    `model_dump(by_alias=True, exclude_none=True, mode="json")` is what objects' `to_payload`
    makes too, bar the type block); KeyError when unknown."""
    model = OBJECT_TYPES.get(type_name)
    return model if model is not None else IDENTITY_KINDS[type_name].model


def _is_scalar(annotation: Any) -> bool:
    base, _ = _split(_strip_optional(annotation)[0], [])
    return base in (str, int, bool)


def _field_validators(model: type[BaseModel]) -> dict[str, list[Callable[[Any], Any]]]:
    out: dict[str, list[Callable[[Any], Any]]] = {}
    for name, dec in model.__pydantic_decorators__.field_validators.items():
        if dec.info.mode != "after":
            raise Unsupported(f"{name}: {dec.info.mode} field validator")
        for field in dec.info.fields:
            if _is_scalar(model.model_fields[field].annotation):
                check = _scalar_twin(model, dec.func)
            else:
                check = _dict_twin(dec.func)
            out.setdefault(field, []).append(check)
    return out


def _model_validators(model: type[BaseModel]) -> list[Callable[[Any], Any]]:
    out = []
    for name, dec in model.__pydantic_decorators__.model_validators.items():
        if dec.info.mode != "after":
            raise Unsupported(f"{name}: {dec.info.mode} model validator")
        out.append(_dict_twin(dec.func))
    if model.__pydantic_decorators__.validators or model.__pydantic_decorators__.root_validators:
        raise Unsupported("old-style validators")
    return out


def _scalar_twin(model: type[BaseModel], func: Any) -> Callable[[Any], Any]:
    """A field validator on a string field: its rule from `SCALAR_VALIDATORS`, else the bound
    classmethod itself (taking the value)."""
    qualname = getattr(getattr(func, "__func__", func), "__qualname__", "")
    twin = SCALAR_VALIDATORS.get(qualname)
    return func if twin is None else twin(model)


def _dict_twin(func: Any) -> Callable[[Any], Any]:
    qualname = getattr(getattr(func, "__func__", func), "__qualname__", repr(func))
    twin = DICT_VALIDATORS.get(qualname)
    if twin is None:
        raise Unsupported(f"validator {qualname} has no dict twin in DICT_VALIDATORS")
    return twin


@functools.cache
def _compiled(model: type[BaseModel]) -> tuple[Checker, str]:
    w = Writer()
    w.emit(0, "def check(raw, loc, warns):")
    out = _model(w, model, "raw", "loc", 1)
    w.emit(1, f"return {out}")
    return cast(tuple[Checker, str], w.define("check", model.__name__))


@functools.cache
def fast_checker(type_name: str) -> Checker | None:
    """The generated checker of an object type, or None (unknown type, or `Unsupported`)."""
    model = OBJECT_TYPES.get(type_name)
    if model is None:
        return None
    try:
        return _compiled(model)[0]
    except Unsupported:
        return None


def source_of(type_name: str) -> str:
    """The generated Python source for an object type (for debugging and tests).

    Raises:
        Unsupported: the type's models use something the generator cannot express.
    """
    return _compiled(OBJECT_TYPES[type_name])[1]


def fast_check(type_name: str, payload: object) -> tuple[dict[str, Any], list[Diagnostic]] | None:
    """`(normalised payload, warnings)` when the payload is valid, or None: ask the reference.

    None means only "not decided here": the payload may be valid (e.g. it uses snake_case
    field names, which pydantic also accepts) or not.
    """
    if type(type_name) is not str or type(payload) is not dict:
        return None
    checker = fast_checker(type_name)
    if checker is None:
        return None
    warns: list[Diagnostic] = []
    try:
        out = checker(payload, (), warns)
    except Exception:  # any doubt goes to the reference path, which reports it
        return None
    if type_name not in out:  # the type block is always sent, `{}` when empty (as to_payload)
        out[type_name] = {}
    return out, warns
