"""Common TWG properties and shared shapes: userReference, EntityKey, permissions, associations.

`TwgObject` holds the properties every object type shares (reference §1.1); each type's
full model subclasses it and adds one field, aliased by the type name, for its type block.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from mapper.errors import suggest
from mapper.model.scalars import (
    MAX_LONG,
    Int,
    Kind,
    Name,
    Str,
    Timestamp,
    Url,
    fail,
)

__all__ = [
    "MAX_PRINCIPALS",
    "TYPE_NAMES",
    "AccessControl",
    "Association",
    "Attachment",
    "Contributor",
    "EntityKey",
    "Permission",
    "Principal",
    "Reaction",
    "RepositoryContainerKey",
    "SpaceContainerKey",
    "Thumbnail",
    "Timestamp",
    "TwgModel",
    "TwgObject",
    "UserRef",
]

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


class TwgModel(BaseModel):
    """Base of every TWG model: camelCase aliases, frozen, no unknown keys, strict scalars."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        strict=True,
        defer_build=True,  # validators are built on first use: runs seldom need them (fastcheck)
    )
    KIND: ClassVar[str] = "object"


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


class UserRef(TwgModel):
    """A user: at least one of externalId, accountId or email (reference §1.2)."""

    KIND: ClassVar[str] = "userRef"
    account_id: Str | None = Field(None, description="Atlassian account id.")
    email: Str | None = Field(None, description="The user's email address.")
    external_id: Str | None = Field(
        None, description="User id in the source; equals the externalId sent via setUsers."
    )

    @model_validator(mode="after")
    def _check_ids(self) -> UserRef:
        check_user_ids(self.account_id, self.email, self.external_id)
        return self


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


KeyValue = Annotated[dict[str, str], BeforeValidator(check_key_value), Kind("map[string]")]


class EntityKey(TwgModel):
    """A key of another TWG object, used by parentKey and containerKey (reference §1.3)."""

    KIND: ClassVar[str] = "EntityKey"
    EXPECTED_TYPE: ClassVar[str | None] = None
    type: Str = Field(description="Object type of the referenced object, e.g. atlassian:space.")
    value: KeyValue = Field(
        description="Fields identifying the object, e.g. {entityId} or {repositoryId}."
    )

    @field_validator("type")
    @classmethod
    def _check_type(cls, value: str) -> str:
        return check_key_type(value, cls.EXPECTED_TYPE)


class SpaceContainerKey(EntityKey):
    """An EntityKey that must reference an atlassian:space."""

    EXPECTED_TYPE: ClassVar[str | None] = "atlassian:space"


class RepositoryContainerKey(EntityKey):
    """An EntityKey that must reference an atlassian:repository."""

    EXPECTED_TYPE: ClassVar[str | None] = "atlassian:repository"


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


class Principal(TwgModel):
    """Who may see the object: USER, GROUP, EVERYONE, ATLASSIAN_WORKSPACE or CONTAINER."""

    type: Str = Field(description="USER, GROUP, EVERYONE, ATLASSIAN_WORKSPACE or CONTAINER.")
    id: Str | None = Field(None, description="External user or group id (USER and GROUP only).")

    @model_validator(mode="after")
    def _check_kind(self) -> Principal:
        check_principal(self.type, self.id)
        return self


class AccessControl(TwgModel):
    """Principals joined by OR."""

    principals: Annotated[
        list[Principal], AfterValidator(non_empty("object.permissions", "principals"))
    ] = Field(description="Principals, any of which grants access (OR).")


class Permission(TwgModel):
    """Access controls joined by AND (reference §1.4)."""

    access_controls: Annotated[
        list[AccessControl], AfterValidator(non_empty("object.permissions", "accessControls"))
    ] = Field(description="Access controls, all of which must grant access (AND).")


def check_values(values: list[str]) -> list[str]:
    """Require one or more non-empty association values."""
    if not values:
        raise fail("object.association", "association values needs at least one entry")
    for index, value in enumerate(values):
        if not value:
            raise fail("object.association", "association values must be non-empty", at=(index,))
    return values


class Association(TwgModel):
    """A generic link to other objects, e.g. Jira issue keys (reference §1.5)."""

    association_type: Name = Field(description="Only 'issueIdOrKeys' is documented.")
    values: Annotated[list[Str], AfterValidator(check_values)] = Field(
        description="Ids or keys of the associated objects, e.g. Jira issue keys."
    )


class Thumbnail(TwgModel):
    """A thumbnail image; only external URLs are supported."""

    external_url: Url = Field(description="External URL of the thumbnail image.")


class Attachment(TwgModel):
    """A file attached to an object (reference §1.6)."""

    url: Url = Field(description="URL of the attached file.")
    thumbnail_url: Url | None = Field(None, description="URL of a thumbnail of the file.")
    title: Name = Field(description="Title of the attachment.")
    mime_type: Str | None = Field(None, description="MIME type of the file.")
    byte_size: Int | None = Field(None, description="Size of the file in bytes.")


class Reaction(TwgModel):
    """A reaction count, e.g. three thumbs-up."""

    reaction_type: Name = Field(description="Kind of reaction, e.g. an emoji name.")
    total: Int = Field(description="Number of reactions of this kind.")


class Contributor(TwgModel):
    """A user who contributed to an object, with an interaction count."""

    user: UserRef = Field(description="The contributing user.")
    interaction_count: Int | None = Field(None, description="Number of interactions.")


def count_principals(permissions: list[Permission]) -> int:
    """Number of principals over all access controls of one object."""
    return sum(len(acl.principals) for entry in permissions for acl in entry.access_controls)


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


class TwgObject(TwgModel):
    """The common properties of every TWG object (reference §1.1)."""

    TYPE_NAME: ClassVar[str] = ""
    schema_version: Name = Field(description="Schema version of the object, e.g. '1.0'.")
    id: Name = Field(description="Id of the object in the source, unique per connection.")
    update_sequence_number: Annotated[int, Field(ge=0, le=MAX_LONG), Kind("integer")] = Field(
        description="Last write wins: a greater number is a more recent version."
    )
    display_name: Name | None = Field(None, description="Display name of the object.")
    description: Str | None = Field(None, description="Description of the object.")
    url: Url = Field(description="URL where the object is accessible in the source.")
    created_at: Timestamp = Field(description="When the object was created (RFC 3339).")
    created_by: UserRef | None = Field(None, description="User who created the object.")
    last_updated_at: Timestamp = Field(description="When the object was last updated.")
    last_updated_by: UserRef | None = Field(None, description="User who last updated it.")
    owners: list[UserRef] | None = Field(None, description="Users who own the object.")
    thumbnail: Thumbnail | None = Field(None, description="Thumbnail of the object.")
    parent_key: EntityKey | None = Field(None, description="Parent object; absent if standalone.")
    container_key: EntityKey | None = Field(None, description="Container the object belongs to.")
    permissions: Annotated[
        list[Permission], AfterValidator(non_empty("object.permissions", "permissions"))
    ] = Field(description="Access control lists: entries AND-ed, principals OR-ed.")
    associations: list[Association] | None = Field(None, description="Links to other objects.")

    @field_validator("permissions")
    @classmethod
    def _check_principal_count(cls, value: list[Permission]) -> list[Permission]:
        check_principal_total(count_principals(value))
        return value

    def to_payload(self) -> dict[str, Any]:
        """The ingestion JSON of this object: one element of setObjects `objects`."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
