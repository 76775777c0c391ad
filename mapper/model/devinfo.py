"""DevInfo object types: repository, commit, pull-request, branch, build and deployment."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from mapper.model.common import (
    EntityKey,
    RepositoryContainerKey,
    TwgModel,
    TwgObject,
    UserRef,
)
from mapper.model.scalars import Int, Name, Str, Timestamp, Url


class RepositoryBlock(TwgModel):
    """Fields of atlassian:repository."""

    TYPE_NAME: ClassVar[str] = "atlassian:repository"
    name: Str | None = Field(None, description="Name of the repository.")
    fork_of: Str | None = Field(None, description="Repository this one was forked from.")
    avatar: Url | None = Field(None, description="URL of the repository avatar.")
    avatar_description: Str | None = Field(None, description="Description of the avatar.")


class RepositoryObject(TwgObject):
    """A source repository; the container of commits, branches and pull requests."""

    TYPE_NAME: ClassVar[str] = "atlassian:repository"
    block: RepositoryBlock | None = Field(
        None, alias="atlassian:repository", description="Repository fields."
    )


class FileInfo(TwgModel):
    """A file changed by a commit."""

    path: Name = Field(description="Path of the file in the repository.")
    url: Url | None = Field(None, description="URL of the file at this commit.")
    change_type: Str | None = Field(None, description="Kind of change, e.g. MODIFIED.")
    lines_added: Int | None = Field(None, description="Lines added.")
    lines_removed: Int | None = Field(None, description="Lines removed.")


class CommitBlock(TwgModel):
    """Fields of atlassian:commit (all optional on the connector-reference page)."""

    TYPE_NAME: ClassVar[str] = "atlassian:commit"
    hash: Str | None = Field(None, description="Full commit hash.")
    display_id: Str | None = Field(None, description="Short hash shown to users.")
    message: Str | None = Field(None, description="Commit message.")
    author: UserRef | None = Field(None, description="Author of the commit.")
    flags: list[Str] | None = Field(None, description="Flags, e.g. MERGE_COMMIT.")
    file_count: Int | None = Field(None, description="Number of files changed.")
    author_timestamp: Timestamp | None = Field(None, description="When the commit was authored.")
    files: list[FileInfo] | None = Field(None, description="Files changed by the commit.")


class CommitObject(TwgObject):
    """A commit in a repository (DevInfo)."""

    TYPE_NAME: ClassVar[str] = "atlassian:commit"
    description: Name = Field(description="Required for commits: the commit message.")
    container_key: RepositoryContainerKey = Field(
        description="Required: the atlassian:repository of the commit."
    )
    block: CommitBlock | None = Field(None, alias="atlassian:commit", description="Commit fields.")


class Reviewer(TwgModel):
    """A reviewer of a pull request."""

    account_id: Str | None = Field(None, description="Atlassian account id.")
    external_id: Name = Field(description="User id in the source.")
    email: Str | None = Field(None, description="Email address.")
    approval_status: Str | None = Field(None, description="Review state, e.g. APPROVED.")
    name: Str | None = Field(None, description="Name of the reviewer.")


class PullRequestBlock(TwgModel):
    """Fields of atlassian:pull-request."""

    TYPE_NAME: ClassVar[str] = "atlassian:pull-request"
    title: Str | None = Field(None, description="Title of the pull request.")
    display_id: Name = Field(description="Id shown to users, e.g. '#42'.")
    status: Name = Field(description="OPEN, MERGED, DECLINED or UNKNOWN.")
    author: UserRef | None = Field(None, description="Author of the pull request.")
    comment_count: Int | None = Field(None, description="Number of comments.")
    source_branch: Name = Field(description="Branch being merged.")
    source_branch_url: Url | None = Field(None, description="URL of the source branch.")
    destination_branch: Name = Field(description="Branch merged into.")
    destination_branch_url: Url | None = Field(None, description="URL of the destination branch.")
    reviewers: list[Reviewer] = Field(description="Reviewers (may be empty).")
    task_count: Int | None = Field(None, description="Number of open tasks.")


class PullRequestObject(TwgObject):
    """A pull request in a repository (DevInfo)."""

    TYPE_NAME: ClassVar[str] = "atlassian:pull-request"
    container_key: RepositoryContainerKey = Field(
        description="Required: the atlassian:repository of the pull request."
    )
    block: PullRequestBlock = Field(
        alias="atlassian:pull-request", description="Pull-request fields."
    )


class LastCommit(TwgModel):
    """The newest commit on a branch."""

    id: Name = Field(description="Hash of the commit.")
    display_id: Str | None = Field(None, description="Short hash shown to users.")
    author_timestamp: Timestamp | None = Field(None, description="When it was authored.")
    message: Str | None = Field(None, description="Commit message.")


class BranchBlock(TwgModel):
    """Fields of atlassian:branch."""

    TYPE_NAME: ClassVar[str] = "atlassian:branch"
    name: Str | None = Field(None, description="Name of the branch.")
    last_commit: LastCommit | None = Field(None, description="Newest commit on the branch.")
    create_pull_request_url: Url | None = Field(None, description="URL to open a pull request.")


class BranchObject(TwgObject):
    """A branch in a repository (DevInfo)."""

    TYPE_NAME: ClassVar[str] = "atlassian:branch"
    container_key: RepositoryContainerKey = Field(
        description="Required: the atlassian:repository of the branch."
    )
    block: BranchBlock | None = Field(None, alias="atlassian:branch", description="Branch fields.")


class TestInfo(TwgModel):
    """Test results of a build."""

    __test__: ClassVar[bool] = False  # not a pytest test class despite its name
    total_number: Int = Field(description="Number of tests.")
    number_passed: Int = Field(description="Tests passed.")
    number_failed: Int = Field(description="Tests failed.")
    number_skipped: Int | None = Field(None, description="Tests skipped.")


class BuildCommitRef(TwgModel):
    """The commit a build ran on."""

    id: Str | None = Field(None, description="Commit hash.")
    repository_uri: Str | None = Field(None, description="URI of the repository.")


class BuildRefInfo(TwgModel):
    """The branch or tag a build ran on."""

    name: Str | None = Field(None, description="Name of the branch or tag.")
    uri: Str | None = Field(None, description="URI of the branch or tag.")


class BuildReference(TwgModel):
    """A commit and ref that a build ran on."""

    commit: BuildCommitRef | None = Field(None, description="The commit.")
    ref: BuildRefInfo | None = Field(None, description="The branch or tag.")


class BuildBlock(TwgModel):
    """Fields of atlassian:build."""

    TYPE_NAME: ClassVar[str] = "atlassian:build"
    pipeline_id: Name = Field(description="Id of the pipeline that ran the build.")
    build_number: Int = Field(description="Number of the build within the pipeline.")
    state: Name = Field(description="State of the build.")
    label: Str | None = Field(None, description="Label of the build.")
    duration: Int | None = Field(None, description="Duration of the build.")
    test_info: TestInfo | None = Field(None, description="Test results.")
    references: list[BuildReference] | None = Field(None, description="Commits and refs built.")


class BuildObject(TwgObject):
    """A CI build (DevInfo)."""

    TYPE_NAME: ClassVar[str] = "atlassian:build"
    container_key: EntityKey = Field(description="Required for builds: what the build belongs to.")
    block: BuildBlock = Field(alias="atlassian:build", description="Build fields.")


class Pipeline(TwgModel):
    """The pipeline that ran a deployment."""

    id: Str | None = Field(None, description="Id of the pipeline.")
    display_name: Str | None = Field(None, description="Name of the pipeline.")
    url: Url | None = Field(None, description="URL of the pipeline.")


class Environment(TwgModel):
    """The environment deployed to."""

    id: Str | None = Field(None, description="Id of the environment.")
    display_name: Str | None = Field(None, description="Name of the environment.")
    type: Str | None = Field(None, description="Type of the environment, e.g. production.")


class Command(TwgModel):
    """A command run by a deployment."""

    command: Str | None = Field(None, description="The command.")


class DeploymentBlock(TwgModel):
    """Fields of atlassian:deployment."""

    TYPE_NAME: ClassVar[str] = "atlassian:deployment"
    deployment_sequence_number: Int = Field(description="Sequence number of the deployment.")
    label: Str | None = Field(None, description="Label of the deployment.")
    state: Name = Field(description="PENDING, IN_PROGRESS, SUCCESSFUL, CANCELLED, FAILED, ...")
    duration: Int | None = Field(None, description="Duration of the deployment.")
    pipeline: Pipeline | None = Field(None, description="Pipeline that ran it.")
    environment: Environment | None = Field(None, description="Environment deployed to.")
    commands: list[Command] | None = Field(None, description="Commands run.")
    triggered_by: UserRef | None = Field(None, description="User who triggered it.")
    region: Str | None = Field(None, description="Region deployed to.")


class DeploymentObject(TwgObject):
    """A deployment to an environment (DevInfo)."""

    TYPE_NAME: ClassVar[str] = "atlassian:deployment"
    description: Name = Field(description="Required for deployments: what was deployed.")
    container_key: RepositoryContainerKey | None = Field(
        None, description="The atlassian:repository deployed from."
    )
    block: DeploymentBlock = Field(alias="atlassian:deployment", description="Deployment fields.")
