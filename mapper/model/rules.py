"""The rules of the shapes every object shares (userReference, EntityKey, principals,
associations), without pydantic: the models of `model.common` validate with them, and so does
the generated fast check (`DICT_VALIDATORS`), whose functions a plan kept by the
compiled-mapping cache refers to; a clean run on it never loads the models. A rule that fails
raises `checks.fail`'s `PydanticCustomError`.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable
from typing import Any

from mapper.errors import suggest
from mapper.model.checks import fail

MAX_PRINCIPALS = 500
TYPE_NAMES: tuple[str, ...] = (
    "atlassian:document",
    "atlassian:work-item",
    "atlassian:message",
    "atlassian:conversation",
    "atlassian:comment",
    "atlassian:space",
    "atlassian:project",
    "atlassian:repository",
    "atlassian:commit",
    "atlassian:pull-request",
    "atlassian:branch",
    "atlassian:build",
    "atlassian:deployment",
    "atlassian:design",
    "atlassian:video",
    "atlassian:calendar-event",
    "atlassian:customer-org",
    "atlassian:deal",
    "atlassian:remote-link",
    "atlassian:test",
    "atlassian:test-execution",
    "atlassian:test-plan",
    "atlassian:test-run",
    "atlassian:test-status",
)
"""Every object type name; `mapper.model.OBJECT_TYPES` has exactly these keys."""
PRINCIPALS_WITH_ID = frozenset({"USER", "GROUP"})
PRINCIPALS_WITHOUT_ID = frozenset(
    {"EVERYONE", "ATLASSIAN_WORKSPACE", "CONTAINER", "MUST_HAVE_VIEWED"}
)


def type_name_hint(name: str) -> str:
    """A hint for an unknown object type name: did-you-mean (the `atlassian:` prefix tried
    first, so `commit` suggests `atlassian:commit`), else where to find the list."""
    if f"atlassian:{name}" in TYPE_NAMES:
        return f"did you mean 'atlassian:{name}'?"
    longer = [known for known in TYPE_NAMES if name and known.startswith(name)]
    if len(longer) == 1:
        return f"did you mean {longer[0]!r}?"
    # compare without the shared prefix, which would make any name look close to every type
    bare = {known.removeprefix("atlassian:"): known for known in TYPE_NAMES}
    close = difflib.get_close_matches(name.removeprefix("atlassian:"), list(bare), n=1)
    return f"did you mean {bare[close[0]]!r}?" if close else "see `mapper types` for the list"


def non_empty(code: str, what: str) -> Callable[[list[Any]], list[Any]]:
    """An after-validator requiring a list with at least one element (error `code`)."""

    def check(items: list[Any]) -> list[Any]:
        if not items:
            raise fail(code, f"{what} needs at least one entry")
        return items

    return check


def check_user_ids(account_id: str | None, email: str | None, external_id: str | None) -> None:
    """Require at least one user id, and no empty one (reference §1.2)."""
    present = {"accountId": account_id, "email": email, "externalId": external_id}
    blank = [key for key, value in present.items() if value is not None and not value.strip()]
    if blank:
        key = blank[0]
        raise fail("object.user-ref", f"userReference {key} must not be empty or blank", at=(key,))
    if not (account_id or email or external_id):
        raise fail(
            "object.user-ref",
            "userReference needs externalId, accountId or email",
            hint="set externalId to the source's stable user id",
        )


def check_key_value(value: object) -> object:
    """Require an EntityKey value: an object of one or more non-empty string fields (§8.5)."""
    if not isinstance(value, dict) or not value:
        raise fail(
            "object.entity-key",
            "EntityKey value must be a non-empty object of strings",
            hint="e.g. {'entityId': 'the-id'}",
        )
    for key, item in value.items():
        if not isinstance(item, str) or not item or item.isspace():
            message = f"EntityKey value field {key!r} must be a non-blank string"
            raise fail("object.entity-key", message, at=(key,))
    return value


def check_key_type(value: str, expected: str | None) -> str:
    """Require a known `atlassian:` type, and `expected` when the key is restricted."""
    if not value.startswith("atlassian:"):
        raise fail(
            "object.entity-key",
            f"EntityKey type {value!r} must start with 'atlassian:'",
            hint=type_name_hint(value),
        )
    if value not in TYPE_NAMES:
        raise fail(
            "object.entity-key",
            f"unknown object type {value!r} in EntityKey",
            hint=type_name_hint(value),
        )
    if expected is not None and value != expected:
        message = f"containerKey type must be {expected!r}, not {value!r}"
        raise fail("object.container-type", message)
    return value


def check_principal(kind: str, principal_id: str | None) -> None:
    """Apply decision §8.6: USER and GROUP need an id, the other types carry none."""
    if kind in PRINCIPALS_WITH_ID:
        if not principal_id or principal_id.isspace():
            raise fail("object.principal", f"{kind} principal needs a non-blank id", at=("id",))
    elif kind in PRINCIPALS_WITHOUT_ID:
        if principal_id is not None:
            raise fail("object.principal", f"{kind} principal carries no id", at=("id",))
    else:
        known = sorted(PRINCIPALS_WITH_ID | PRINCIPALS_WITHOUT_ID)
        hint = f"did you mean {kind.upper()!r}?" if kind.upper() in known else suggest(kind, known)
        raise fail("object.principal", f"unknown principal type {kind!r}", hint=hint, at=("type",))


def check_values(values: list[str]) -> list[str]:
    """Require one or more non-empty association values."""
    if not values:
        raise fail("object.association", "association values needs at least one entry")
    for index, value in enumerate(values):
        if not value:
            raise fail("object.association", "association values must be non-empty", at=(index,))
    return values


def check_placement(parent_key: object, container_key: object) -> None:
    """A message needs a parentKey or a containerKey."""
    if parent_key is None and container_key is None:
        raise fail(
            "object.required-by-type",
            "a message needs a parentKey or a containerKey",
            hint="set containerKey to its atlassian:conversation",
            at=("containerKey",),
        )


def check_principal_total(total: int) -> None:
    """Allow at most MAX_PRINCIPALS principals per object."""
    if total > MAX_PRINCIPALS:
        message = f"{total} principals; at most {MAX_PRINCIPALS} are allowed per object"
        raise fail("object.too-many-principals", message)


def _principal_total(permissions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    total = sum(len(acl["principals"]) for entry in permissions for acl in entry["accessControls"])
    check_principal_total(total)
    return permissions


def _user_ids(out: dict[str, Any]) -> None:
    check_user_ids(out.get("accountId"), out.get("email"), out.get("externalId"))


def _principal_kind(out: dict[str, Any]) -> None:
    check_principal(out["type"], out.get("id"))


def _placement(out: dict[str, Any]) -> None:
    check_placement(out.get("parentKey"), out.get("containerKey"))


DOCUMENT_CATEGORIES = (
    "DOCUMENT",
    "SPREADSHEET",
    "PRESENTATION",
    "FOLDER",
    "PDF",
    "IMAGE",
    "VIDEO",
    "AUDIO",
    "ARCHIVE",
    "CODE",
    "OTHER",
)
"""Decision §8.3: accepted in any case."""


def check_category(value: str) -> str:
    """Accept the eleven category names of decision §8.3 in any case, unchanged."""
    if value.upper() not in DOCUMENT_CATEGORIES:
        hint = suggest(value.upper(), DOCUMENT_CATEGORIES)
        hint = hint or "use one of " + ", ".join(DOCUMENT_CATEGORIES)
        raise fail("object.category", f"unknown document category {value!r}", hint=hint)
    return value


DICT_VALIDATORS: dict[str, Callable[[Any], Any]] = {
    "TwgObject._check_principal_count": _principal_total,
    "UserRef._check_ids": _user_ids,
    "Principal._check_kind": _principal_kind,
    "MessageObject._check_placement": _placement,
}
"""Validator qualname -> the same rule on normalised dicts (model validators get the object's
output dict, field validators on model-valued fields get the field's output value)."""

SCALAR_VALIDATORS: dict[str, Callable[[Any], Callable[[Any], Any]]] = {
    "EntityKey._check_type": lambda model: functools.partial(
        check_key_type, expected=model.EXPECTED_TYPE
    ),
    "DocumentType._check_category": lambda _model: check_category,
}
"""Validator qualname -> (model -> the validator's rule for that model, as a function of this
module): a field validator on a string field, called so by generated checks without the model
class (a plan kept by the compiled-mapping cache then loads no pydantic)."""
