"""Pydantic models of Teamwork Graph objects and the registry of object types.

`OBJECT_TYPES` maps each type name to its full object model (common properties plus the type
block under the type name); `BLOCK_MODELS` maps it to the block model alone (None when the
type documents no block fields). Validation lives in `mapper.model.validate`, field
documentation in `mapper.model.introspect`.

A model's module is imported when its type is first looked up: a run imports the models of the
types its mapping makes, not all 24 (start-up time); importing this package (or a pydantic-free
module of it, such as `codewriter`) imports no pydantic at all.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the models are imported with the first type looked up (PEP 562 below)
    from pydantic import BaseModel

    from mapper.model.common import TwgObject as TwgObject

__all__ = ["BLOCK_MODELS", "OBJECT_TYPES", "TwgObject"]

_WHERE: dict[str, tuple[str, str, str | None]] = {
    "atlassian:document": ("documents", "DocumentObject", "DocumentBlock"),
    "atlassian:work-item": ("work", "WorkItemObject", "WorkItemBlock"),
    "atlassian:message": ("messages", "MessageObject", "MessageBlock"),
    "atlassian:conversation": ("messages", "ConversationObject", "ConversationBlock"),
    "atlassian:comment": ("messages", "CommentObject", "CommentBlock"),
    "atlassian:space": ("work", "SpaceObject", "SpaceBlock"),
    "atlassian:project": ("work", "ProjectObject", "ProjectBlock"),
    "atlassian:repository": ("devinfo", "RepositoryObject", "RepositoryBlock"),
    "atlassian:commit": ("devinfo", "CommitObject", "CommitBlock"),
    "atlassian:pull-request": ("devinfo", "PullRequestObject", "PullRequestBlock"),
    "atlassian:branch": ("devinfo", "BranchObject", "BranchBlock"),
    "atlassian:build": ("devinfo", "BuildObject", "BuildBlock"),
    "atlassian:deployment": ("devinfo", "DeploymentObject", "DeploymentBlock"),
    "atlassian:design": ("media", "DesignObject", "DesignBlock"),
    "atlassian:video": ("media", "VideoObject", "VideoBlock"),
    "atlassian:calendar-event": ("media", "CalendarEventObject", "CalendarEventBlock"),
    "atlassian:customer-org": ("crm", "CustomerOrgObject", "CustomerOrgBlock"),
    "atlassian:deal": ("crm", "DealObject", "DealBlock"),
    "atlassian:remote-link": ("documents", "RemoteLinkObject", "RemoteLinkBlock"),
    "atlassian:test": ("testing", "TestObject", None),
    "atlassian:test-execution": ("testing", "TestExecutionObject", "TestExecutionBlock"),
    "atlassian:test-plan": ("testing", "TestPlanObject", None),
    "atlassian:test-run": ("testing", "TestRunObject", "TestRunBlock"),
    "atlassian:test-status": ("testing", "TestStatusObject", "TestStatusBlock"),
}
"""Object type name -> (module in mapper.model, object model, block model or None)."""


class _Models(Mapping[str, Any]):
    """A read-only registry that imports a model's module on first lookup."""

    def __init__(self, part: int) -> None:
        self._part = part  # 1: the object model, 2: the block model
        self._loaded: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        try:
            return self._loaded[name]
        except KeyError:
            where = _WHERE[name]  # KeyError for an unknown type, as a dict would raise
        attr = where[self._part]
        model = None
        if attr is not None:
            model = getattr(importlib.import_module(f"mapper.model.{where[0]}"), attr)
        self._loaded[name] = model
        return model

    def __contains__(self, name: object) -> bool:
        return name in _WHERE

    def __iter__(self) -> Iterator[str]:
        return iter(_WHERE)

    def __len__(self) -> int:
        return len(_WHERE)


OBJECT_TYPES: Mapping[str, type[TwgObject]] = _Models(1)
"""Object type name -> full object model (common properties plus the type block)."""

BLOCK_MODELS: Mapping[str, type[BaseModel] | None] = _Models(2)
"""Object type name -> type block model; None when the type documents no block fields."""


def __getattr__(name: str) -> Any:
    """`TwgObject`, imported when first used (PEP 562)."""
    if name != "TwgObject":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from mapper.model.common import TwgObject

    return TwgObject
