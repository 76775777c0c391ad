"""Work-tracking object types: atlassian:work-item, atlassian:project and atlassian:space."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from mapper.model.common import (
    Attachment,
    SpaceContainerKey,
    TwgModel,
    TwgObject,
    UserRef,
)
from mapper.model.scalars import Bool, DateOrTimestamp, Int, Name, Str, Url


class WorkItemProject(TwgModel):
    """The project a work item belongs to."""

    id: Name = Field(description="Id of the project.")
    name: Name = Field(description="Name of the project.")


class WorkItemBlock(TwgModel):
    """Fields of atlassian:work-item."""

    TYPE_NAME: ClassVar[str] = "atlassian:work-item"
    due_date: DateOrTimestamp | None = Field(None, description="Due date (date or timestamp).")
    assignee: UserRef | None = Field(None, description="User the work item is assigned to.")
    status: Str | None = Field(None, description="Status of the work item (free text).")
    subtype: Str | None = Field(None, description="Kind of work item, e.g. bug or task.")
    team: Str | None = Field(None, description="Team responsible for the work item.")
    work_item_project: WorkItemProject | None = Field(None, description="Owning project.")
    collaborators: list[UserRef] | None = Field(None, description="Users working on the item.")
    exceeds_max_collaborators: Bool | None = Field(
        None, description="True when collaborators were truncated."
    )
    attachments: list[Attachment] | None = Field(None, description="Attached files.")


class WorkItemObject(TwgObject):
    """A work item such as an issue, task or ticket."""

    TYPE_NAME: ClassVar[str] = "atlassian:work-item"
    display_name: Name = Field(description="Required for work items: the title.")
    description: Name = Field(description="Required for work items: the body.")
    container_key: SpaceContainerKey | None = Field(
        None, description="The atlassian:space the work item belongs to."
    )
    block: WorkItemBlock | None = Field(
        None, alias="atlassian:work-item", description="Work-item fields."
    )


class ProjectAttachment(TwgModel):
    """A file attached to a project (all fields optional)."""

    url: Url | None = Field(None, description="URL of the attached file.")
    thumbnail_url: Url | None = Field(None, description="URL of a thumbnail of the file.")
    title: Str | None = Field(None, description="Title of the attachment.")
    mime_type: Str | None = Field(None, description="MIME type of the file.")
    byte_size: Int | None = Field(None, description="Size of the file in bytes.")
    file_type: Str | None = Field(None, description="File type of the attachment.")


class ProjectBlock(TwgModel):
    """Fields of atlassian:project."""

    TYPE_NAME: ClassVar[str] = "atlassian:project"
    key: Str | None = Field(None, description="Project key, e.g. 'MAP'.")
    due_date: DateOrTimestamp | None = Field(None, description="Due date (date or timestamp).")
    priority: Str | None = Field(None, description="Priority of the project.")
    assignee: UserRef | None = Field(None, description="User the project is assigned to.")
    status: Name = Field(description="Status of the project.")
    status_category: Str | None = Field(None, description="Category of the status.")
    attachments: list[ProjectAttachment] | None = Field(None, description="Attached files.")
    labels: list[Str] | None = Field(None, description="Labels of the project.")
    environment: Str | None = Field(None, description="Environment of the project.")
    resolution: Str | None = Field(None, description="Resolution of the project.")
    votes_count: Int | None = Field(None, description="Number of votes.")
    watchers_count: Int | None = Field(None, description="Number of watchers.")


class ProjectObject(TwgObject):
    """A project, e.g. in Jira Data Center."""

    TYPE_NAME: ClassVar[str] = "atlassian:project"
    display_name: Name = Field(description="Required for projects: the project name.")
    description: Name = Field(description="Required for projects: what the project is about.")
    created_by: UserRef = Field(description="Required for projects: who created it.")
    block: ProjectBlock = Field(alias="atlassian:project", description="Project fields.")


class SpaceIcon(TwgModel):
    """Icon of a space."""

    url: Url | None = Field(None, description="URL of the icon.")
    width: Int = Field(description="Width in pixels.")
    height: Int = Field(description="Height in pixels.")
    is_default: Bool = Field(description="True when the icon is the default one.")


class SpaceBlock(TwgModel):
    """Fields of atlassian:space."""

    TYPE_NAME: ClassVar[str] = "atlassian:space"
    key: Name = Field(description="Key of the space.")
    space_type: Name = Field(description="Type of the space.")
    subtype: Name = Field(description="Subtype of the space.")
    icon: SpaceIcon | None = Field(None, description="Icon of the space.")
    labels: list[Str] | None = Field(None, description="Labels of the space.")


class SpaceObject(TwgObject):
    """A space, like a Confluence space or a Jira project."""

    TYPE_NAME: ClassVar[str] = "atlassian:space"
    display_name: Name = Field(description="Required for spaces: the space name.")
    block: SpaceBlock = Field(alias="atlassian:space", description="Space fields.")
