"""Test-management object types: test, test-execution, test-plan, test-run, test-status.

`atlassian:test` and `atlassian:test-plan` have no documented block fields; their block is an
optional empty object.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from mapper.model.common import TwgModel, TwgObject, UserRef
from mapper.model.scalars import Int, Name, Str, Timestamp


class EmptyBlock(TwgModel):
    """A type block without documented fields; only `{}` is accepted."""


class TestObject(TwgObject):
    """A test case (no documented type fields)."""

    __test__: ClassVar[bool] = False  # not a pytest test class despite its name
    TYPE_NAME: ClassVar[str] = "atlassian:test"
    block: EmptyBlock | None = Field(None, alias="atlassian:test", description="No fields.")


class TestExecutionBlock(TwgModel):
    """Fields of atlassian:test-execution."""

    __test__: ClassVar[bool] = False
    TYPE_NAME: ClassVar[str] = "atlassian:test-execution"
    status: Str | None = Field(None, description="Status of the execution.")
    version: Str | None = Field(None, description="Version under test.")
    environment: Str | None = Field(None, description="Environment of the execution.")


class TestExecutionObject(TwgObject):
    """An execution of a set of tests."""

    __test__: ClassVar[bool] = False
    TYPE_NAME: ClassVar[str] = "atlassian:test-execution"
    block: TestExecutionBlock | None = Field(
        None, alias="atlassian:test-execution", description="Test-execution fields."
    )


class TestPlanObject(TwgObject):
    """A test plan (no documented type fields)."""

    __test__: ClassVar[bool] = False
    TYPE_NAME: ClassVar[str] = "atlassian:test-plan"
    block: EmptyBlock | None = Field(None, alias="atlassian:test-plan", description="No fields.")


class TestRunBlock(TwgModel):
    """Fields of atlassian:test-run."""

    __test__: ClassVar[bool] = False
    TYPE_NAME: ClassVar[str] = "atlassian:test-run"
    status: Name = Field(description="Status of the run.")
    assignee: UserRef | None = Field(None, description="User the run is assigned to.")
    started_at: Timestamp | None = Field(None, description="When the run started.")
    finished_at: Timestamp | None = Field(None, description="When the run finished.")
    version: Str | None = Field(None, description="Version under test.")
    environment: Str | None = Field(None, description="Environment of the run.")


class TestRunObject(TwgObject):
    """One run of a test."""

    __test__: ClassVar[bool] = False
    TYPE_NAME: ClassVar[str] = "atlassian:test-run"
    block: TestRunBlock = Field(alias="atlassian:test-run", description="Test-run fields.")


class TestStatusBlock(TwgModel):
    """Fields of atlassian:test-status."""

    __test__: ClassVar[bool] = False
    TYPE_NAME: ClassVar[str] = "atlassian:test-status"
    status: Name = Field(description="Name of the status.")
    status_precedence: Int | None = Field(None, description="Rank of the status.")
    version: Str | None = Field(None, description="Version the status applies to.")
    environment: Str | None = Field(None, description="Environment the status applies to.")


class TestStatusObject(TwgObject):
    """A test status definition."""

    __test__: ClassVar[bool] = False
    TYPE_NAME: ClassVar[str] = "atlassian:test-status"
    block: TestStatusBlock = Field(alias="atlassian:test-status", description="Test-status fields.")
