"""Conversation object types: atlassian:message, atlassian:conversation, atlassian:comment."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from mapper.model.common import (
    EntityKey,
    Reaction,
    TwgModel,
    TwgObject,
    UserRef,
    check_placement,
)
from mapper.model.scalars import Bool, Int, Name, Str, Timestamp, Url


class MessageAttachment(TwgModel):
    """A file attached to a message (only the URL is required)."""

    url: Url = Field(description="URL of the attached file.")
    thumbnail_url: Url | None = Field(None, description="URL of a thumbnail of the file.")
    title: Str | None = Field(None, description="Title of the attachment.")
    mime_type: Str | None = Field(None, description="MIME type of the file.")
    byte_size: Int | None = Field(None, description="Size of the file in bytes.")


class MessageBlock(TwgModel):
    """Fields of atlassian:message (the text goes in the common description)."""

    TYPE_NAME: ClassVar[str] = "atlassian:message"
    hidden: Bool | None = Field(None, description="True when the message is hidden.")
    is_pinned: Bool | None = Field(None, description="True when the message is pinned.")
    last_active: Timestamp | None = Field(None, description="Last activity on the message.")
    attachments: list[MessageAttachment] | None = Field(None, description="Attached files.")


class MessageObject(TwgObject):
    """A chat message, e.g. in a Slack channel; text goes in description."""

    TYPE_NAME: ClassVar[str] = "atlassian:message"
    block: MessageBlock | None = Field(
        None, alias="atlassian:message", description="Message fields."
    )

    @model_validator(mode="after")
    def _check_placement(self) -> MessageObject:
        check_placement(self.parent_key, self.container_key)
        return self


class ConversationBlock(TwgModel):
    """Fields of atlassian:conversation."""

    TYPE_NAME: ClassVar[str] = "atlassian:conversation"
    type: Name = Field(description="Kind of conversation, e.g. channel or direct message.")
    membership_type: Name = Field(description="How membership works, e.g. public or private.")
    workspace: Name = Field(description="Workspace the conversation belongs to.")
    topic: Str | None = Field(None, description="Topic of the conversation.")
    is_archived: Bool | None = Field(None, description="True when archived.")
    members: list[UserRef] = Field(description="Members of the conversation.")
    member_count: Int | None = Field(None, description="Number of members.")
    last_active: Timestamp | None = Field(None, description="Last activity in the conversation.")


class ConversationObject(TwgObject):
    """A conversation such as a chat channel or thread."""

    TYPE_NAME: ClassVar[str] = "atlassian:conversation"
    block: ConversationBlock = Field(
        alias="atlassian:conversation", description="Conversation fields."
    )


class CommentBlock(TwgModel):
    """Fields of atlassian:comment."""

    TYPE_NAME: ClassVar[str] = "atlassian:comment"
    text: Str | None = Field(None, description="Text of the comment.")
    reactions_v2: list[Reaction] | None = Field(None, description="Reaction counts.")


class CommentObject(TwgObject):
    """A comment on a pull request, work item or document."""

    TYPE_NAME: ClassVar[str] = "atlassian:comment"
    parent_key: EntityKey = Field(description="Required: the object commented on.")
    block: CommentBlock | None = Field(
        None, alias="atlassian:comment", description="Comment fields."
    )
