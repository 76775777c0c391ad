"""Pydantic models of Teamwork Graph objects and the registry of object types.

`OBJECT_TYPES` maps each type name to its full object model (common properties plus the type
block under the type name); `BLOCK_MODELS` maps it to the block model alone (None when the
type documents no block fields). Validation lives in `mapper.model.validate`, field
documentation in `mapper.model.introspect`.
"""

from __future__ import annotations

from pydantic import BaseModel

from mapper.model.common import TwgObject
from mapper.model.crm import CustomerOrgBlock, CustomerOrgObject, DealBlock, DealObject
from mapper.model.devinfo import (
    BranchBlock,
    BranchObject,
    BuildBlock,
    BuildObject,
    CommitBlock,
    CommitObject,
    DeploymentBlock,
    DeploymentObject,
    PullRequestBlock,
    PullRequestObject,
    RepositoryBlock,
    RepositoryObject,
)
from mapper.model.documents import (
    DocumentBlock,
    DocumentObject,
    RemoteLinkBlock,
    RemoteLinkObject,
)
from mapper.model.media import (
    CalendarEventBlock,
    CalendarEventObject,
    DesignBlock,
    DesignObject,
    VideoBlock,
    VideoObject,
)
from mapper.model.messages import (
    CommentBlock,
    CommentObject,
    ConversationBlock,
    ConversationObject,
    MessageBlock,
    MessageObject,
)
from mapper.model.testing import (
    TestExecutionBlock,
    TestExecutionObject,
    TestObject,
    TestPlanObject,
    TestRunBlock,
    TestRunObject,
    TestStatusBlock,
    TestStatusObject,
)
from mapper.model.work import (
    ProjectBlock,
    ProjectObject,
    SpaceBlock,
    SpaceObject,
    WorkItemBlock,
    WorkItemObject,
)

__all__ = ["BLOCK_MODELS", "OBJECT_TYPES", "TwgObject"]

OBJECT_TYPES: dict[str, type[TwgObject]] = {
    "atlassian:document": DocumentObject,
    "atlassian:work-item": WorkItemObject,
    "atlassian:message": MessageObject,
    "atlassian:conversation": ConversationObject,
    "atlassian:comment": CommentObject,
    "atlassian:space": SpaceObject,
    "atlassian:project": ProjectObject,
    "atlassian:repository": RepositoryObject,
    "atlassian:commit": CommitObject,
    "atlassian:pull-request": PullRequestObject,
    "atlassian:branch": BranchObject,
    "atlassian:build": BuildObject,
    "atlassian:deployment": DeploymentObject,
    "atlassian:design": DesignObject,
    "atlassian:video": VideoObject,
    "atlassian:calendar-event": CalendarEventObject,
    "atlassian:customer-org": CustomerOrgObject,
    "atlassian:deal": DealObject,
    "atlassian:remote-link": RemoteLinkObject,
    "atlassian:test": TestObject,
    "atlassian:test-execution": TestExecutionObject,
    "atlassian:test-plan": TestPlanObject,
    "atlassian:test-run": TestRunObject,
    "atlassian:test-status": TestStatusObject,
}
"""Object type name -> full object model (common properties plus the type block)."""

BLOCK_MODELS: dict[str, type[BaseModel] | None] = {
    "atlassian:document": DocumentBlock,
    "atlassian:work-item": WorkItemBlock,
    "atlassian:message": MessageBlock,
    "atlassian:conversation": ConversationBlock,
    "atlassian:comment": CommentBlock,
    "atlassian:space": SpaceBlock,
    "atlassian:project": ProjectBlock,
    "atlassian:repository": RepositoryBlock,
    "atlassian:commit": CommitBlock,
    "atlassian:pull-request": PullRequestBlock,
    "atlassian:branch": BranchBlock,
    "atlassian:build": BuildBlock,
    "atlassian:deployment": DeploymentBlock,
    "atlassian:design": DesignBlock,
    "atlassian:video": VideoBlock,
    "atlassian:calendar-event": CalendarEventBlock,
    "atlassian:customer-org": CustomerOrgBlock,
    "atlassian:deal": DealBlock,
    "atlassian:remote-link": RemoteLinkBlock,
    "atlassian:test": None,
    "atlassian:test-execution": TestExecutionBlock,
    "atlassian:test-plan": None,
    "atlassian:test-run": TestRunBlock,
    "atlassian:test-status": TestStatusBlock,
}
"""Object type name -> type block model; None when the type documents no block fields."""
