"""Warnings for UNCONFIRMED TWG rules (reference §8): they flag, but never reject, an object.

Each advisor looks at one raw dict of the payload, matched to its model by
`introspect.iter_nested`, and yields warnings located relative to that dict. Working on the
raw payload means warnings are reported even when validation fails elsewhere.

This module imports no models (they are named): a plan kept by the compiled-mapping cache calls
the advisors from its generated code, and a clean run on it never loads pydantic.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from mapper.errors import Diagnostic

if TYPE_CHECKING:  # the advisors themselves need no pydantic: generated code calls them
    from pydantic import BaseModel

PULL_REQUEST_STATUSES = frozenset({"OPEN", "MERGED", "DECLINED", "UNKNOWN"})
"""Jira DevInfo values; UNCONFIRMED for TWG, so others are warnings."""
DEPLOYMENT_STATES = frozenset(
    {"PENDING", "IN_PROGRESS", "SUCCESSFUL", "CANCELLED", "FAILED", "ROLLED_BACK"}
)
"""Documented list, possibly incomplete; others are warnings."""

Advisor = Callable[["type[BaseModel]", dict[str, Any]], list[Diagnostic]]


def _warning(
    code: str, message: str, *loc: str, value: object = None, hint: str | None = None
) -> Diagnostic:
    return Diagnostic(code, message, loc=loc, hint=hint, severity="warning", value=value)


def advise_user_ref(_model: type[BaseModel], raw: dict[str, Any]) -> list[Diagnostic]:
    """Decision §8.7: a userReference should carry externalId."""
    if raw.get("externalId") is None and (raw.get("accountId") or raw.get("email")):
        return [
            _warning(
                "object.user-without-external-id",
                "userReference has no externalId",
                value=raw,
                hint="set externalId to the id sent via setUsers",
            )
        ]
    return []


def advise_principal(_model: type[BaseModel], raw: dict[str, Any]) -> list[Diagnostic]:
    """Decision §8.6: MUST_HAVE_VIEWED appears only on the old reference page."""
    if raw.get("type") == "MUST_HAVE_VIEWED":
        return [
            _warning(
                "object.unconfirmed-principal",
                "MUST_HAVE_VIEWED is undocumented in the current references",
                "type",
                value="MUST_HAVE_VIEWED",
                hint="prefer CONTAINER or explicit USER/GROUP principals",
            )
        ]
    return []


def _outside(
    raw: dict[str, Any], key: str, known: frozenset[str] | set[str], code: str, what: str
) -> list[Diagnostic]:
    """A warning when `raw[key]` is a non-empty string that is not one of `known`."""
    value = raw.get(key)
    if isinstance(value, str) and value and value not in known:
        message = f"{what} {value!r} is not one of {sorted(known)}"
        return [_warning(code, message, key, value=value)]
    return []


def advise_association(_model: type[BaseModel], raw: dict[str, Any]) -> list[Diagnostic]:
    """Reference §1.5: only issueIdOrKeys is a documented association type."""
    kind = raw.get("associationType")
    if isinstance(kind, str) and kind and kind != "issueIdOrKeys":
        return [
            _warning(
                "object.unconfirmed-association-type",
                f"association type {kind!r} is undocumented; only 'issueIdOrKeys' is",
                "associationType",
                value=kind,
            )
        ]
    return []


def advise_pull_request(_model: type[BaseModel], raw: dict[str, Any]) -> list[Diagnostic]:
    """Pull-request statuses other than the Jira DevInfo ones are UNCONFIRMED."""
    return _outside(
        raw, "status", PULL_REQUEST_STATUSES, "object.unknown-status", "pull-request status"
    )


def advise_deployment(_model: type[BaseModel], raw: dict[str, Any]) -> list[Diagnostic]:
    """Deployment states outside the documented list are UNCONFIRMED."""
    return _outside(raw, "state", DEPLOYMENT_STATES, "object.unknown-state", "deployment state")


def advise_document_content(_model: type[BaseModel], raw: dict[str, Any]) -> list[Diagnostic]:
    """Reference §1.7: the graph reportedly rejects document content without text or binary."""
    if not raw.get("text") and not raw.get("binary"):
        return [
            _warning(
                "object.empty-content",
                "document content has neither text nor binary",
                value=raw,
                hint="map a text summary into content.text",
            )
        ]
    return []


@functools.cache
def _requires_display_name(model: type[BaseModel]) -> bool:
    return model.model_fields["display_name"].is_required()


def advise_object(model: type[BaseModel], raw: dict[str, Any]) -> list[Diagnostic]:
    """An object without displayName shows up unnamed, even where the type does not require it."""
    if _requires_display_name(model):
        return []
    return advise_unnamed(model, raw)


def advise_unnamed(_model: type[BaseModel], raw: dict[str, Any]) -> list[Diagnostic]:
    """`advise_object` for a type whose displayName is optional (it needs no model: generated
    checks call it on a plan from the cache without loading pydantic)."""
    if raw.get("displayName") is None:
        return [_warning("object.missing-display-name", "object has no displayName", "displayName")]
    return []


def advise_message(_model: type[BaseModel], raw: dict[str, Any]) -> list[Diagnostic]:
    """A message's container is an atlassian:conversation in the official example."""
    key = raw.get("containerKey")
    kind = key.get("type") if isinstance(key, dict) else None
    if isinstance(kind, str) and kind != "atlassian:conversation":
        return [
            _warning(
                "object.unconfirmed-container-type",
                f"message containerKey type {kind!r} is not atlassian:conversation",
                "containerKey",
                "type",
                value=kind,
            )
        ]
    return []


def advise_group(_model: type[BaseModel], raw: dict[str, Any]) -> list[Diagnostic]:
    """A group that lists a member twice (a user in two of the lists a mapping joins): sent
    as it is, which the reference does not say Teamwork Graph accepts."""
    members = raw.get("members")
    seen: set[tuple[object, object]] = set()
    found = []
    for index, member in enumerate(members if isinstance(members, list) else ()):
        if not isinstance(member, dict):
            continue
        key = (member.get("type"), member.get("externalId"))
        if key in seen:
            found.append(_warning(
                "identity.duplicate-member",
                f"member {key[0]} {key[1]!r} is listed more than once",
                "members", str(index), value=member.get("externalId"),
                hint="make the ids unique first: `uniq(ids)[].{externalId: @, type: 'USER'}`",
            ))  # fmt: skip
        seen.add(key)
    return found


def _name(model: type) -> str:
    return f"{model.__module__}.{model.__qualname__}"


ADVISORS: dict[str, Advisor] = {
    "mapper.model.common.UserRef": advise_user_ref,
    "mapper.model.common.Principal": advise_principal,
    "mapper.model.common.Association": advise_association,
    "mapper.model.devinfo.PullRequestBlock": advise_pull_request,
    "mapper.model.devinfo.DeploymentBlock": advise_deployment,
    "mapper.model.documents.DocumentContent": advise_document_content,
    "mapper.model.common.TwgObject": advise_object,
    "mapper.model.messages.MessageObject": advise_message,
    "mapper.model.identity.GroupPayload": advise_group,
}
"""Model (or base class), by qualified name -> advisor run on every raw dict matching it.

Names, not classes: the models of types a run does not make are never imported."""


@functools.cache
def advisors_of(model: type[BaseModel]) -> tuple[Advisor, ...]:
    """The advisors run on raw dicts of `model` (its own and its base classes')."""
    names = (_name(base) for base in model.__mro__)
    return tuple(ADVISORS[name] for name in names if name in ADVISORS)


@functools.cache
def _is_advised(model: type[BaseModel]) -> bool:
    """True if the model, or a model nested in it, has an advisor (others need no walk)."""
    from mapper.model.introspect import nested_models

    return bool(advisors_of(model)) or any(_is_advised(n) for _, n, _ in nested_models(model))


def advise(model: type[BaseModel], payload: dict[str, Any]) -> Iterator[Diagnostic]:
    """All warnings for a raw payload of the full object `model`, located inside the payload."""
    from mapper.model.introspect import iter_nested

    for nested, raw, loc in iter_nested(model, payload, descend=_is_advised):
        for advisor in advisors_of(nested):
            for diag in advisor(nested, raw):
                yield diag.within(*loc) if loc else diag
