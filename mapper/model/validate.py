"""Validation of one TWG object payload: pydantic errors become located, coded Diagnostics.

`check_object` is the single entry point; it never raises on any dict payload.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from mapper.errors import Diagnostic, Loc, suggest
from mapper.model import OBJECT_TYPES
from mapper.model.advisories import advise
from mapper.model.common import TwgObject, type_name_hint
from mapper.model.fastcheck import fast_check
from mapper.model.identity import IDENTITY_KINDS, check_identity
from mapper.model.introspect import known_keys
from mapper.paths import follow

__all__ = ["check_object", "to_diagnostic"]

COMMON_OPTIONAL = frozenset(
    info.alias or name for name, info in TwgObject.model_fields.items() if not info.is_required()
)
"""Common properties that only some types require (missing -> `object.required-by-type`)."""


def check_object(
    type_name: str, payload: dict[str, Any] | object, *, fast: bool = True
) -> tuple[dict[str, Any] | None, list[Diagnostic]]:
    """Validate a camelCase object payload (type block under the type name) and normalise it.

    Args:
        type_name: An `OBJECT_TYPES` key such as `atlassian:commit`, or `user` / `group`
            (`model.identity.IDENTITY_KINDS`) for a setUsers / setGroups payload.
        payload: The object as JSON data (anything else is reported, not raised).

    Returns:
        `(payload, diagnostics)`: the JSON-ready ingestion payload (timestamps in UTC, nulls
        dropped), or None when any diagnostic is an error; and every error and warning, each
        located by its path inside the payload.

    A valid payload is normally decided by the generated fast path (`fastcheck`), which gives
    the same result; `fast=False` always uses the pydantic models (the reference).
    """
    if isinstance(type_name, str) and type_name in IDENTITY_KINDS:  # from a users:/groups: rule
        return check_identity(type_name, payload)
    if fast:
        decided = fast_check(type_name, payload)
        if decided is not None:
            return decided
    model = OBJECT_TYPES.get(type_name) if isinstance(type_name, str) else None
    if model is None:
        return None, [_unknown_type(type_name)]
    if not isinstance(payload, dict):
        return None, [
            Diagnostic("object.invalid-type", "an object must be a JSON object", value=payload)
        ]
    warnings = list(advise(model, payload))
    try:
        obj = model.model_validate(payload)
    except ValidationError as err:
        errors = [to_diagnostic(model, detail) for detail in err.errors(include_url=False)]
        return None, [*errors, *warnings]
    return obj.to_payload(), warnings


def _unknown_type(type_name: object) -> Diagnostic:
    name = str(type_name)
    return Diagnostic(
        "object.unknown-type",
        f"unknown object type {name!r}",
        hint=type_name_hint(name),
        value=type_name,
    )


def to_diagnostic(model: type[TwgObject], error: ErrorDetails) -> Diagnostic:
    """Translate one pydantic error on a payload of `model` into a Diagnostic.

    Custom errors already carry their code (e.g. `object.timestamp`); built-in pydantic
    errors map to `object.missing`, `object.required-by-type`, `object.unknown-field`,
    `object.invalid-type` or `object.invalid-value`.
    """
    loc: Loc = tuple(error["loc"])
    if error["type"] == "extra_forbidden":
        return _unknown_field(model, loc, error["input"])
    if _is_missing(error, loc):
        return _missing(model, loc)
    ctx = error.get("ctx") or {}
    at = tuple(ctx.get("at") or ())
    message, hint = error["msg"], ctx.get("hint")
    if error["type"] == "model_type":  # pydantic names its class, which authors never see
        message, hint = _not_an_object(str(ctx.get("class_name", "")), error["input"])
    return Diagnostic(
        _code(error["type"]), message, loc=(*loc, *at), hint=hint, value=follow(error["input"], at)
    )


_BUILT_BY = {
    "UserRef": ("a user reference", "user_ref(...)"),
    "EntityKey": ("an entity key", "entity_key(...)"),
    "Principal": ("a principal", "principal(...)"),
    "Permission": ("a permission", "permissions(...)"),
}


def _not_an_object(class_name: str, given: object) -> tuple[str, str | None]:
    """What a `model_type` error says in the mapping's words: the object expected (and the
    builder that makes it), and what came instead."""
    what, builder = _BUILT_BY.get(class_name, (f"an object ({class_name})", None))
    got = "null" if given is None else type(given).__name__
    message = f"expected {what} here, got {got}"
    if given is None:
        hint = "an item's expression gave null: drop nulls with [?@], e.g. [user_ref(a.login)][?@]"
    elif builder:
        hint = f"build it with {builder}"
    else:
        hint = None
    return message, hint


def _code(error_type: str) -> str:
    """The diagnostic code of a pydantic error type."""
    if error_type.startswith("object."):
        return error_type
    if error_type.endswith("_type"):
        return "object.invalid-type"
    return "object.invalid-value"


def _is_missing(error: ErrorDetails, loc: Loc) -> bool:
    """True for an absent key, and for a null given where a value is required."""
    if error["type"] == "missing":
        return True
    return error["input"] is None and bool(loc) and isinstance(loc[-1], str)


def _missing(model: type[TwgObject], loc: Loc) -> Diagnostic:
    name = str(loc[-1]) if loc else ""
    if len(loc) == 1 and name in COMMON_OPTIONAL:
        return Diagnostic(
            "object.required-by-type", f"{model.TYPE_NAME} requires {name!r}", loc=loc
        )
    return Diagnostic("object.missing", f"missing required field {name!r}", loc=loc)


def _unknown_field(model: type[TwgObject], loc: Loc, value: object) -> Diagnostic:
    key = str(loc[-1]) if loc else ""
    hint: str | None
    if len(loc) == 1 and key in OBJECT_TYPES:
        hint = f"this object is {model.TYPE_NAME}; put its fields under {model.TYPE_NAME!r}"
    else:
        hint = suggest(key, known_keys(model.TYPE_NAME, loc[:-1]) or ())
    return Diagnostic(
        "object.unknown-field", f"unknown field {key!r}", loc=loc, hint=hint, value=value
    )
