"""setUsers and setGroups payloads (reference §4.5, §4.6): the users and groups that USER and
GROUP principals name, and their validation.

A USER or GROUP principal's `id` must be the exact `externalId` of a user or group sent with
setUsers / setGroups, else the object is silently invisible (reference §1.4). `IDENTITY_KINDS`
maps the rule kind of a mapping (`users:`, `groups:`) to its payload model and operation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationError

from mapper.errors import Diagnostic, suggest
from mapper.model.common import TwgModel, non_empty
from mapper.model.scalars import Bool, Int, Name, Str, Url

__all__ = [
    "GROUP",
    "IDENTITY_KINDS",
    "USER",
    "GroupMember",
    "GroupPayload",
    "IdentityKind",
    "UserPayload",
    "check_identity",
]

USER = "user"
GROUP = "group"


class Email(TwgModel):
    """One email address of a user."""

    value: Name = Field(description="The address.")
    primary: Bool | None = Field(None, description="Whether it is the primary address.")


class Photo(TwgModel):
    """One photo of a user."""

    value: Url = Field(description="URL of the photo.")
    type: Str | None = Field(None, description="e.g. photo or thumbnail.")


class PhoneNumber(TwgModel):
    """One phone number of a user."""

    type: Str | None = Field(None, description="e.g. work or mobile.")
    value: Name = Field(description="The number.")


class ExtendedProfile(TwgModel):
    """Work details of a user."""

    job_title: Str | None = None
    department: Str | None = None
    organization: Str | None = None
    location: Str | None = None
    phone_numbers: list[PhoneNumber] | None = None


class UserPayload(TwgModel):
    """A user for setUsers (reference §4.5): externalId and at least one email are required."""

    external_id: Name = Field(
        description="The user's id in the source: USER principals must use exactly this id."
    )
    emails: Annotated[list[Email], AfterValidator(non_empty("identity.emails", "emails"))] = Field(
        description="Email addresses, at least one."
    )
    nickname: Str | None = None
    display_name: Str | None = None
    photos: list[Photo] | None = None
    extended_profile: ExtendedProfile | None = None
    update_sequence_number: Int | None = None


class GroupMember(TwgModel):
    """A member of a group: a user (type USER) or, unconfirmed by the reference, a group."""

    external_id: Name = Field(description="externalId of the member user (or group).")
    type: Name = Field(description="USER (GROUP members are unconfirmed, §4.6).")
    update_sequence_number: Int | None = None
    display_name: Str | None = None


class GroupPayload(TwgModel):
    """A group for setGroups (reference §4.6)."""

    external_id: Name = Field(
        description="The group's id in the source: GROUP principals must use exactly this id."
    )
    display_name: Str | None = None
    members: list[GroupMember] | None = None


@dataclass(frozen=True, slots=True)
class IdentityKind:
    """One kind of identity rule: its payload model, the mapping key and the operation."""

    name: str  # "user" / "group": MappedObject.type_name and the JSONL line's key
    rules_key: str  # "users" / "groups": the mapping's top-level list
    operation: str  # "setUsers" / "setGroups"
    body_key: str  # "users" / "groups": the list in the operation's request body
    model: type[TwgModel]


IDENTITY_KINDS: dict[str, IdentityKind] = {
    USER: IdentityKind(USER, "users", "setUsers", "users", UserPayload),
    GROUP: IdentityKind(GROUP, "groups", "setGroups", "groups", GroupPayload),
}


def field_names(kind: str) -> tuple[str, ...]:
    """The camelCase top-level keys of a kind's payload."""
    model = IDENTITY_KINDS[kind].model
    return tuple(info.alias or name for name, info in model.model_fields.items())


def required_names(kind: str) -> frozenset[str]:
    """The top-level keys a kind's payload requires."""
    model = IDENTITY_KINDS[kind].model
    return frozenset(
        info.alias or name for name, info in model.model_fields.items() if info.is_required()
    )


def check_identity(kind: str, payload: object) -> tuple[dict[str, Any] | None, list[Diagnostic]]:
    """Validate a setUsers / setGroups payload: `(payload, warnings)` or `(None, diagnostics)`
    (the advisories' warnings among them)."""
    from mapper.model.advisories import advise

    model = IDENTITY_KINDS[kind].model
    if not isinstance(payload, dict):
        return None, [Diagnostic("object.invalid-type", f"a {kind} must be a JSON object")]
    warnings = list(advise(model, payload))
    try:
        obj = model.model_validate(payload)
    except ValidationError as err:
        errors = [_diagnostic(kind, detail) for detail in err.errors(include_url=False)]
        return None, [*errors, *warnings]
    return obj.model_dump(by_alias=True, exclude_none=True, mode="json"), warnings


def _diagnostic(kind: str, error: Any) -> Diagnostic:
    loc = tuple(error["loc"])
    kind_type = error["type"]
    if kind_type == "extra_forbidden":
        key = str(loc[-1])
        hint = suggest(key, field_names(kind)) if len(loc) == 1 else None
        return Diagnostic("object.unknown-field", f"unknown field {key!r}", loc=loc, hint=hint)
    if kind_type == "missing" or (error["input"] is None and loc and isinstance(loc[-1], str)):
        return Diagnostic("object.missing", f"missing required field {loc[-1]!r}", loc=loc)
    code = kind_type if kind_type.startswith(("object.", "identity.")) else "object.invalid-value"
    if kind_type.endswith("_type"):
        code = "object.invalid-type"
    return Diagnostic(code, error["msg"], loc=loc)
