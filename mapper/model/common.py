"""Common TWG properties and shared shapes: userReference, EntityKey, permissions, associations.

`TwgObject` holds the properties every object type shares (reference §1.1); each type's
full model subclasses it and adds one field, aliased by the type name, for its type block.
"""

from __future__ import annotations

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

from mapper.model.rules import MAX_PRINCIPALS as MAX_PRINCIPALS
from mapper.model.rules import PRINCIPALS_WITH_ID as PRINCIPALS_WITH_ID
from mapper.model.rules import PRINCIPALS_WITHOUT_ID as PRINCIPALS_WITHOUT_ID
from mapper.model.rules import TYPE_NAMES as TYPE_NAMES
from mapper.model.rules import check_key_type as check_key_type
from mapper.model.rules import check_key_value as check_key_value
from mapper.model.rules import check_placement as check_placement
from mapper.model.rules import check_principal as check_principal
from mapper.model.rules import check_principal_total as check_principal_total
from mapper.model.rules import check_user_ids as check_user_ids
from mapper.model.rules import check_values as check_values
from mapper.model.rules import non_empty as non_empty
from mapper.model.rules import type_name_hint as type_name_hint
from mapper.model.scalars import (
    MAX_LONG,
    Int,
    Kind,
    Name,
    Str,
    Timestamp,
    Url,
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


KeyValue = Annotated[dict[str, str], BeforeValidator(check_key_value), Kind("map[string]")]


class EntityKey(TwgModel):
    """A key of another TWG object, used by parentKey and containerKey (reference §1.3)."""

    KIND: ClassVar[str] = "EntityKey"
    EXPECTED_TYPE: ClassVar[str | None] = None
    type: Name = Field(description="Object type of the referenced object, e.g. atlassian:space.")
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


class Principal(TwgModel):
    """Who may see the object: USER, GROUP, EVERYONE, ATLASSIAN_WORKSPACE or CONTAINER."""

    type: Name = Field(description="USER, GROUP, EVERYONE, ATLASSIAN_WORKSPACE or CONTAINER.")
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
        """The ingestion JSON of this object: one element of setObjects `objects`; the type
        block is always there, `{}` when it has no field."""
        out = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        out.setdefault(self.TYPE_NAME, {})
        return out
