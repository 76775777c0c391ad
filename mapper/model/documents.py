"""Document-like object types: atlassian:document and atlassian:remote-link (reference §3)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, field_validator

from mapper.model.common import EntityKey, Reaction, TwgModel, TwgObject, UserRef
from mapper.model.rules import DOCUMENT_CATEGORIES as DOCUMENT_CATEGORIES
from mapper.model.rules import check_category
from mapper.model.scalars import Int, Name, Str, Url


class DocumentType(TwgModel):
    """What kind of document this is."""

    category: Name = Field(description="DOCUMENT, SPREADSHEET, FOLDER, PDF, IMAGE, ... (any case).")
    mime_type: Name = Field(description="MIME type of the document.")
    icon_url: Url | None = Field(None, description="URL of an icon for the document type.")
    file_extension: Str | None = Field(None, description="File extension, e.g. 'pdf'.")

    @field_validator("category")
    @classmethod
    def _check_category(cls, value: str) -> str:
        return check_category(value)


class DocumentContent(TwgModel):
    """The document's content, as text or binary."""

    mime_type: Name = Field(description="MIME type of the content.")
    binary: Str | None = Field(None, description="Binary content (encoded as a string).")
    text: Str | None = Field(None, description="Plain-text content, indexed for search.")


class ExportLink(TwgModel):
    """A link to an exported rendition of the document."""

    mime_type: Str | None = Field(None, description="MIME type of the export.")
    url: Url = Field(description="URL of the export.")


class DocumentBlock(TwgModel):
    """Fields of atlassian:document."""

    TYPE_NAME: ClassVar[str] = "atlassian:document"
    type: DocumentType = Field(description="Category and MIME type of the document.")
    content: DocumentContent = Field(description="Content of the document.")
    collaborators: list[UserRef] | None = Field(None, description="Users who collaborate on it.")
    byte_size: Int | None = Field(None, description="Size of the document in bytes.")
    labels: list[Str] | None = Field(None, description="Labels of the document.")
    export_links: list[ExportLink] | None = Field(None, description="Exported renditions.")
    reactions: list[Reaction] | None = Field(None, description="Reaction counts.")


class DocumentObject(TwgObject):
    """A document, file or folder, e.g. a Google Drive file."""

    TYPE_NAME: ClassVar[str] = "atlassian:document"
    block: DocumentBlock = Field(alias="atlassian:document", description="Document fields.")


class RemoteLinkStatus(TwgModel):
    """Status lozenge of a remote link."""

    appearance: Name = Field(description="Appearance of the status lozenge.")
    label: Name = Field(description="Label of the status.")


class RemoteLinkBlock(TwgModel):
    """Fields of atlassian:remote-link."""

    TYPE_NAME: ClassVar[str] = "atlassian:remote-link"
    type: Name = Field(description="Type of the remote link.")
    status: RemoteLinkStatus | None = Field(None, description="Status of the linked item.")
    author: UserRef | None = Field(None, description="Author of the link.")
    category: Str | None = Field(None, description="Category of the link.")
    assignee: UserRef | None = Field(None, description="Assignee of the linked item.")


class RemoteLinkObject(TwgObject):
    """A link from an artefact to an item in another system."""

    TYPE_NAME: ClassVar[str] = "atlassian:remote-link"
    parent_key: EntityKey = Field(description="Required: the object the link belongs to.")
    block: RemoteLinkBlock = Field(alias="atlassian:remote-link", description="Remote-link fields.")
