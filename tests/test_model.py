"""Tests of mapper.model: the TWG object models, check_object and introspection."""



from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mapper.model import BLOCK_MODELS, OBJECT_TYPES
from mapper.model.common import TYPE_NAMES
from mapper.model.introspect import describe_type, known_keys, required_fields
from mapper.model.validate import check_object

DROP = object()  # marks a key to delete in an edit

ACL = [{"accessControls": [{"principals": [{"type": "ATLASSIAN_WORKSPACE"}]}]}]
COMMON: dict[str, Any] = {
    "schemaVersion": "1.0",
    "id": "obj-1",
    "updateSequenceNumber": 1,
    "displayName": "An object",
    "url": "https://example.com/obj-1",
    "createdAt": "2024-05-01T12:00:00Z",
    "lastUpdatedAt": "2024-05-02T08:00:00Z",
    "permissions": ACL,
}
REPO_KEY = {"type": "atlassian:repository", "value": {"repositoryId": "acme/mapper"}}
DOC_KEY = {"type": "atlassian:document", "value": {"entityId": "doc-1"}}
USER = {"externalId": "u-1"}

# Minimal valid payload per type: common properties plus type overrides and the block.
MINIMAL: dict[str, dict[str, Any]] = {
    "atlassian:document": {"atlassian:document": {
        "type": {"category": "DOCUMENT", "mimeType": "text/plain"},
        "content": {"mimeType": "text/plain", "text": "hello"}}},
    "atlassian:work-item": {"description": "Fix it"},
    "atlassian:message": {"containerKey": {"type": "atlassian:conversation",
                                           "value": {"entityId": "C1"}}},
    "atlassian:conversation": {"atlassian:conversation": {
        "type": "channel", "membershipType": "public", "workspace": "acme", "members": [USER]}},
    "atlassian:comment": {"parentKey": DOC_KEY},
    "atlassian:space": {"atlassian:space": {"key": "ENG", "spaceType": "global",
                                            "subtype": "knowledge"}},
    "atlassian:project": {"description": "A project", "createdBy": USER,
                          "atlassian:project": {"status": "ACTIVE"}},
    "atlassian:repository": {},
    "atlassian:commit": {"description": "Retry on 429", "containerKey": REPO_KEY},
    "atlassian:pull-request": {"containerKey": REPO_KEY, "atlassian:pull-request": {
        "displayId": "#1", "status": "OPEN", "sourceBranch": "feature", "destinationBranch": "main",
        "reviewers": []}},
    "atlassian:branch": {"containerKey": REPO_KEY},
    "atlassian:build": {"containerKey": REPO_KEY, "atlassian:build": {
        "pipelineId": "ci", "buildNumber": 7, "state": "SUCCESSFUL"}},
    "atlassian:deployment": {"description": "Deploy v1", "atlassian:deployment": {
        "deploymentSequenceNumber": 3, "state": "SUCCESSFUL"}},
    "atlassian:design": {"atlassian:design": {
        "liveEmbedUrl": "https://figma.com/embed/1", "status": "READY", "type": "FILE"}},
    "atlassian:video": {"atlassian:video": {
        "thumbnailUrl": "https://loom.com/t/1.png", "embedUrl": "https://loom.com/embed/1"}},
    "atlassian:calendar-event": {"atlassian:calendar-event": {
        "eventStartTime": "2024-05-01T09:00:00Z", "eventEndTime": "2024-05-01T10:00:00Z",
        "eventType": "meeting"}},
    "atlassian:customer-org": {},
    "atlassian:deal": {},
    "atlassian:remote-link": {"parentKey": DOC_KEY, "atlassian:remote-link": {"type": "link"}},
    "atlassian:test": {},
    "atlassian:test-execution": {},
    "atlassian:test-plan": {"atlassian:test-plan": {}},
    "atlassian:test-run": {"atlassian:test-run": {"status": "PASSED"}},
    "atlassian:test-status": {"atlassian:test-status": {"status": "PASSED"}},
}  # fmt: skip


def minimal(type_name: str) -> dict[str, Any]:
    """A fresh minimal valid payload of `type_name`."""
    return copy.deepcopy({**COMMON, **MINIMAL[type_name]})


def edited(type_name: str, edits: dict[tuple[Any, ...], Any]) -> dict[str, Any]:
    """The minimal payload with `edits` applied: path -> new value (or DROP to delete)."""
    payload = minimal(type_name)
    for path, value in edits.items():
        node = payload
        for part in path[:-1]:
            node = node.setdefault(part, {}) if isinstance(node, dict) else node[part]
        if value is DROP:
            del node[path[-1]]
        else:
            node[path[-1]] = value
    return payload


def find(diags: list[Any], code: str, loc: tuple[Any, ...]) -> Any:
    """The diagnostic with `code` at `loc`, failing with all diagnostics shown otherwise."""
    for diag in diags:
        if diag.code == code and diag.loc == loc:
            return diag
    pytest.fail(f"no {code} at {loc}; got {[(d.code, d.loc) for d in diags]}")


def assert_rejects(
    type_name: str, edits: dict[tuple[Any, ...], Any], code: str, loc: tuple[Any, ...]
) -> Any:
    out, diags = check_object(type_name, edited(type_name, edits))
    assert out is None
    diag = find(diags, code, loc)
    assert diag.is_error
    return diag


def assert_warns(
    type_name: str, edits: dict[tuple[Any, ...], Any], code: str, loc: tuple[Any, ...]
) -> None:
    out, diags = check_object(type_name, edited(type_name, edits))
    assert out is not None, [str(d) for d in diags]
    assert not find(diags, code, loc).is_error


# --- valid payloads ------------------------------------------------------------------------


def test_minimal_payloads_cover_every_type() -> None:
    assert set(MINIMAL) == set(OBJECT_TYPES) == set(TYPE_NAMES) == set(BLOCK_MODELS)


@pytest.mark.parametrize("type_name", sorted(OBJECT_TYPES))
def test_minimal_payload_is_valid(type_name: str) -> None:
    out, diags = check_object(type_name, minimal(type_name))
    assert [d for d in diags if d.is_error] == []
    assert out == {type_name: {}, **minimal(type_name)}  # the type block is always sent


@pytest.mark.parametrize("type_name", sorted(OBJECT_TYPES))
def test_registry_entry_is_documented(type_name: str) -> None:
    model = OBJECT_TYPES[type_name]
    assert type_name == model.TYPE_NAME
    assert model.__doc__
    assert model.__doc__.strip().splitlines()[0]
    assert any(info.alias == type_name for info in model.model_fields.values())


DOCUMENT_EXAMPLE = {
    "schemaVersion": "1.0", "id": "1AbCdEfGhIjK", "updateSequenceNumber": 1714564800000,
    "displayName": "Q2 launch plan", "description": "Launch checklist and owners.",
    "url": "https://drive.google.com/file/d/1AbCdEfGhIjK/view",
    "createdAt": "2024-04-02T08:15:30.123Z",
    "createdBy": {"externalId": "gdrive-user-104", "email": "dana@example.com"},
    "lastUpdatedAt": "2024-05-01T12:00:00Z", "lastUpdatedBy": {"externalId": "gdrive-user-221"},
    "owners": [{"externalId": "gdrive-user-104"}],
    "thumbnail": {"externalUrl": "https://drive.google.com/thumbnail?id=1AbCdEfGhIjK"},
    "parentKey": {"type": "atlassian:document", "value": {"entityId": "0Bx9FolderId"}},
    "permissions": [{"accessControls": [{"principals": [
        {"type": "USER", "id": "gdrive-user-104"}, {"type": "GROUP", "id": "mkt@example.com"}]}]}],
    "associations": [{"associationType": "issueIdOrKeys", "values": ["MKT-42"]}],
    "atlassian:document": {
        "type": {"category": "DOCUMENT", "mimeType": "application/vnd.google-apps.document",
                 "fileExtension": "gdoc", "iconUrl": "https://drive.example.com/icon.png"},
        "content": {"mimeType": "text/plain", "text": "Q2 launch plan."},
        "collaborators": [{"externalId": "gdrive-user-221"}], "byteSize": 48213,
        "labels": ["launch", "q2"],
        "exportLinks": [{"mimeType": "application/pdf", "url": "https://docs.example.com/x.pdf"}],
        "reactions": [{"reactionType": "thumbs-up", "total": 3}],
    },
}  # fmt: skip
MESSAGE_EXAMPLE = {
    "schemaVersion": "2.0", "id": "C024BE91L-1714564800.000200", "updateSequenceNumber": 1,
    "displayName": "Dana in #release", "description": "Deploy of MAP-17 is done.",
    "url": "https://acme.slack.com/archives/C024BE91L/p1714564800000200",
    "lastUpdatedAt": "2024-05-01T12:00:00.000Z", "createdAt": "2024-05-01T12:00:00.000Z",
    "createdBy": {"externalId": "U012AB3CD", "email": "dana@example.com"},
    "containerKey": {"type": "atlassian:conversation", "value": {"entityId": "C024BE91L"}},
    "permissions": [{"accessControls": [{"principals": [{"type": "CONTAINER"}]}]}],
    "associations": [{"associationType": "issueIdOrKeys", "values": ["MAP-17"]}],
    "atlassian:message": {
        "hidden": False, "isPinned": True, "lastActive": "2024-05-01T12:05:00Z",
        "attachments": [{"url": "https://files.slack.com/runbook.pdf", "title": "runbook.pdf",
                         "mimeType": "application/pdf", "byteSize": 20480}],
    },
}  # fmt: skip
COMMIT_EXAMPLE = {
    "schemaVersion": "1.0", "id": "acme/mapper@9fceb02", "updateSequenceNumber": 1714564692000,
    "displayName": "9fceb02 Retry on HTTP 429", "description": "Retry on HTTP 429\n\nFixes MAP-17.",
    "url": "https://github.com/acme/mapper/commit/9fceb02",
    "createdAt": "2024-05-01T11:58:12Z", "lastUpdatedAt": "2024-05-01T11:58:12Z",
    "createdBy": {"externalId": "gh-583231", "email": "lee@example.com"},
    "containerKey": REPO_KEY,
    "permissions": [{"accessControls": [{"principals": [{"type": "CONTAINER"}]}]}],
    "associations": [{"associationType": "issueIdOrKeys", "values": ["MAP-17"]}],
    "atlassian:commit": {
        "hash": "9fceb02d0ae598e95dc970b74767f19372d61af8", "displayId": "9fceb02",
        "message": "Retry on HTTP 429", "author": {"externalId": "gh-583231"}, "flags": [],
        "fileCount": 1, "authorTimestamp": "2024-05-01T11:58:12Z",
        "files": [{"path": "mapper/writer.py", "changeType": "MODIFIED", "linesAdded": 12,
                   "linesRemoved": 3, "url": "https://github.com/acme/mapper/blob/9fceb02/w.py"}],
    },
}  # fmt: skip


@pytest.mark.parametrize(
    ("type_name", "payload"),
    [
        pytest.param("atlassian:document", DOCUMENT_EXAMPLE, id="document-example"),
        pytest.param("atlassian:message", MESSAGE_EXAMPLE, id="message-example"),
        pytest.param("atlassian:commit", COMMIT_EXAMPLE, id="commit-example"),
    ],
)
def test_reference_example_round_trips(type_name: str, payload: dict[str, Any]) -> None:
    out, diags = check_object(type_name, copy.deepcopy(payload))
    assert diags == []
    assert out == payload


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("2024-05-01T12:00:00Z", "2024-05-01T12:00:00Z", id="utc"),
        pytest.param("2024-05-01T14:00:00+02:00", "2024-05-01T12:00:00Z", id="offset"),
        pytest.param("2024-01-01T00:30:00+01:00", "2023-12-31T23:30:00Z", id="offset-day-back"),
        pytest.param("2024-05-01T12:00:00-00:00", "2024-05-01T12:00:00Z", id="unknown-offset"),
        pytest.param("2024-05-01t12:00:00z", "2024-05-01T12:00:00Z", id="lower-case"),
        pytest.param("2024-05-01 12:00:00+00:00", "2024-05-01T12:00:00Z", id="space-separator"),
        pytest.param("2024-05-01T12:00:00.1Z", "2024-05-01T12:00:00.100Z", id="pad-millis"),
        pytest.param("2024-05-01T12:00:00.123456Z", "2024-05-01T12:00:00.123Z", id="cut-micros"),
        pytest.param("2024-05-01T12:00:00.000Z", "2024-05-01T12:00:00.000Z", id="zero-millis"),
        pytest.param("2024-05-01T12:00:00.5-05:30", "2024-05-01T17:30:00.500Z", id="neg-offset"),
    ],
)
def test_timestamps_are_normalised_to_utc(raw: str, expected: str) -> None:
    out, _ = check_object(
        "atlassian:commit",
        edited(
            "atlassian:commit", {("createdAt",): raw, ("atlassian:commit", "authorTimestamp"): raw}
        ),
    )
    assert out is not None
    assert out["createdAt"] == expected
    assert out["atlassian:commit"]["authorTimestamp"] == expected


@pytest.mark.parametrize(
    ("type_name", "edits"),
    [
        pytest.param("atlassian:document", {("atlassian:document", "type", "category"): "pdf"},
                     id="category-lower-case"),
        pytest.param("atlassian:document", {("atlassian:document", "type", "category"): "Folder"},
                     id="category-mixed-case"),
        pytest.param("atlassian:work-item", {("atlassian:work-item", "dueDate"): "2024-05-01"},
                     id="due-date-as-date"),
        pytest.param("atlassian:work-item", {("containerKey",): {
            "type": "atlassian:space", "value": {"entityId": "S1"}}}, id="work-item-in-space"),
        pytest.param("atlassian:deployment", {("containerKey",): REPO_KEY},
                     id="deployment-in-repository"),
        pytest.param("atlassian:message", {("containerKey",): DROP, ("parentKey",): {
            "type": "atlassian:conversation", "value": {"entityId": "C1"}}},
            id="message-with-parent-only"),
        pytest.param("atlassian:commit", {("updateSequenceNumber",): 2**63 - 1}, id="usn-max"),
        pytest.param("atlassian:commit", {("updateSequenceNumber",): 0}, id="usn-zero"),
        pytest.param("atlassian:commit", {("containerKey", "value"): {
            "repositoryId": "r", "commitHash": "h"}}, id="composed-key"),
        pytest.param("atlassian:repository", {("permissions",): [{"accessControls": [
            {"principals": [{"type": "USER", "id": f"u{i}"} for i in range(500)]}]}]},
            id="500-principals"),
        pytest.param("atlassian:repository", {("permissions",): [
            {"accessControls": [{"principals": [{"type": t}]}]}
            for t in ("EVERYONE", "ATLASSIAN_WORKSPACE", "CONTAINER")]}, id="id-less-principals"),
        pytest.param("atlassian:video", {("atlassian:video", "durationInSeconds"): 12.5},
                     id="float-number"),
        pytest.param("atlassian:deal", {("atlassian:deal", "entityExtendedValues"): {
            "a": [1, 2.5, None, True, {"b": "c"}]}}, id="free-form-json"),
        pytest.param("atlassian:repository", {("url",): "HTTP://EXAMPLE.com/x"},
                     id="upper-case-scheme"),
    ],
)  # fmt: skip
def test_accepts(type_name: str, edits: dict[tuple[Any, ...], Any]) -> None:
    out, diags = check_object(type_name, edited(type_name, edits))
    assert out is not None, [str(d) for d in diags]


def test_nulls_are_dropped_from_output() -> None:
    out, _ = check_object(
        "atlassian:repository",
        edited(
            "atlassian:repository",
            {("description",): None, ("atlassian:repository",): {"name": "x", "forkOf": None}},
        ),
    )
    assert out is not None
    assert "description" not in out
    assert out["atlassian:repository"] == {"name": "x"}


# --- rejections: (type, edits, code, loc) --------------------------------------------------

P0 = ("permissions", 0)
ACL0 = (*P0, "accessControls", 0)
PR0 = (*ACL0, "principals", 0)


def principals(*items: dict[str, Any]) -> list[dict[str, Any]]:
    """A permissions value with one access control holding `items`."""
    return [{"accessControls": [{"principals": list(items)}]}]


def nested_lists(depth: int) -> list[Any]:
    """A list nested `depth` levels deep."""
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


C, D = "atlassian:commit", "atlassian:document"
REJECTS = [
    # common properties
    ("schema-version-missing", C, {("schemaVersion",): DROP}, "object.missing", ("schemaVersion",)),
    ("schema-version-empty", C, {("schemaVersion",): ""}, "object.invalid-value", ("schemaVersion",)),
    ("schema-version-number", C, {("schemaVersion",): 1}, "object.invalid-type", ("schemaVersion",)),
    ("id-missing", C, {("id",): DROP}, "object.missing", ("id",)),
    ("id-null", C, {("id",): None}, "object.missing", ("id",)),
    ("id-empty", C, {("id",): ""}, "object.invalid-value", ("id",)),
    ("id-number", C, {("id",): 42}, "object.invalid-type", ("id",)),
    ("usn-missing", C, {("updateSequenceNumber",): DROP}, "object.missing", ("updateSequenceNumber",)),
    ("usn-negative", C, {("updateSequenceNumber",): -1}, "object.invalid-value", ("updateSequenceNumber",)),
    ("usn-too-big", C, {("updateSequenceNumber",): 2**63}, "object.invalid-value", ("updateSequenceNumber",)),
    ("usn-bool", C, {("updateSequenceNumber",): True}, "object.invalid-type", ("updateSequenceNumber",)),
    ("usn-string", C, {("updateSequenceNumber",): "5"}, "object.invalid-type", ("updateSequenceNumber",)),
    ("usn-float", C, {("updateSequenceNumber",): 1.5}, "object.invalid-type", ("updateSequenceNumber",)),
    ("url-missing", C, {("url",): DROP}, "object.missing", ("url",)),
    ("url-relative-path", C, {("url",): "/acme/mapper"}, "object.url", ("url",)),
    ("url-no-scheme", C, {("url",): "github.com/acme"}, "object.url", ("url",)),
    ("url-protocol-relative", C, {("url",): "//github.com/acme"}, "object.url", ("url",)),
    ("url-ftp", C, {("url",): "ftp://example.com/x"}, "object.url", ("url",)),
    ("url-mailto", C, {("url",): "mailto:a@example.com"}, "object.url", ("url",)),
    ("url-no-host", C, {("url",): "https:///x"}, "object.url", ("url",)),
    ("url-space", C, {("url",): "https://example.com/a b"}, "object.url", ("url",)),
    ("url-number", C, {("url",): 5}, "object.invalid-type", ("url",)),
    ("created-missing", C, {("createdAt",): DROP}, "object.missing", ("createdAt",)),
    ("created-null", C, {("createdAt",): None}, "object.missing", ("createdAt",)),
    ("created-epoch", C, {("createdAt",): 1714564800}, "object.timestamp", ("createdAt",)),
    ("created-epoch-float", C, {("createdAt",): 1.5}, "object.timestamp", ("createdAt",)),
    ("created-bool", C, {("createdAt",): True}, "object.timestamp", ("createdAt",)),
    ("created-date-only", C, {("createdAt",): "2024-05-01"}, "object.timestamp", ("createdAt",)),
    ("created-naive", C, {("createdAt",): "2024-05-01T12:00:00"}, "object.timestamp", ("createdAt",)),
    ("created-text", C, {("createdAt",): "yesterday"}, "object.timestamp", ("createdAt",)),
    ("created-month-13", C, {("createdAt",): "2024-13-01T00:00:00Z"}, "object.timestamp", ("createdAt",)),
    ("created-bad-offset", C, {("createdAt",): "2024-05-01T00:00:00+24:00"}, "object.timestamp", ("createdAt",)),
    ("created-overflow", C, {("createdAt",): "0001-01-01T00:00:00+01:00"}, "object.timestamp", ("createdAt",)),
    ("updated-missing", C, {("lastUpdatedAt",): DROP}, "object.missing", ("lastUpdatedAt",)),
    ("updated-basic-format", C, {("lastUpdatedAt",): "20240501T120000Z"}, "object.timestamp", ("lastUpdatedAt",)),
    ("display-name-empty", C, {("displayName",): ""}, "object.invalid-value", ("displayName",)),
    ("thumbnail-relative", C, {("thumbnail",): {"externalUrl": "/t.png"}}, "object.url", ("thumbnail", "externalUrl")),
    ("unknown-top-field", C, {("dispalyName",): "x"}, "object.unknown-field", ("dispalyName",)),
    ("other-types-block", D, {("atlassian:commit",): {}}, "object.unknown-field", ("atlassian:commit",)),
    # permissions
    ("permissions-missing", C, {("permissions",): DROP}, "object.missing", ("permissions",)),
    ("permissions-empty", C, {("permissions",): []}, "object.permissions", ("permissions",)),
    ("permissions-single-object", C, {("permissions",): ACL[0]}, "object.invalid-type", ("permissions",)),
    ("access-controls-empty", C, {("permissions",): [{"accessControls": []}]}, "object.permissions", (*P0, "accessControls")),
    ("principals-empty", C, {("permissions",): principals()}, "object.permissions", (*ACL0, "principals")),
    ("user-without-id", C, {("permissions",): principals({"type": "USER"})}, "object.principal", (*PR0, "id")),
    ("user-empty-id", C, {("permissions",): principals({"type": "USER", "id": ""})}, "object.principal", (*PR0, "id")),
    ("group-without-id", C, {("permissions",): principals({"type": "GROUP"})}, "object.principal", (*PR0, "id")),
    ("group-id-number", C, {("permissions",): principals({"type": "GROUP", "id": 7})}, "object.invalid-type", (*PR0, "id")),
    ("everyone-with-id", C, {("permissions",): principals({"type": "EVERYONE", "id": "x"})}, "object.principal", (*PR0, "id")),
    ("workspace-with-id", C, {("permissions",): principals({"type": "ATLASSIAN_WORKSPACE", "id": "x"})}, "object.principal", (*PR0, "id")),
    ("container-with-id", C, {("permissions",): principals({"type": "CONTAINER", "id": "x"})}, "object.principal", (*PR0, "id")),
    ("principal-unknown-type", C, {("permissions",): principals({"type": "ROLE", "id": "x"})}, "object.principal", (*PR0, "type")),
    ("principal-type-missing", C, {("permissions",): principals({"id": "x"})}, "object.missing", (*PR0, "type")),
    ("principal-extra-key", C, {("permissions",): principals({"type": "USER", "id": "x", "name": "n"})}, "object.unknown-field", (*PR0, "name")),
    ("too-many-principals", C, {("permissions",): [{"accessControls": [{"principals": [{"type": "GROUP", "id": f"g{i}"} for i in range(300)]}]}] * 2}, "object.too-many-principals", ("permissions",)),
    # userReference
    ("user-ref-empty", C, {("createdBy",): {}}, "object.user-ref", ("createdBy",)),
    ("user-ref-empty-external-id", C, {("createdBy",): {"externalId": ""}}, "object.user-ref", ("createdBy", "externalId")),
    ("user-ref-empty-email", C, {("createdBy",): {"externalId": "u", "email": ""}}, "object.user-ref", ("createdBy", "email")),
    ("user-ref-old-field", C, {("createdBy",): {"externalId": "u", "userName": "x"}}, "object.unknown-field", ("createdBy", "userName")),
    ("user-ref-string", C, {("createdBy",): "u-1"}, "object.invalid-type", ("createdBy",)),
    ("owner-empty", C, {("owners",): [USER, {}]}, "object.user-ref", ("owners", 1)),
    ("nested-user-ref", C, {("atlassian:commit", "author"): {}}, "object.user-ref", ("atlassian:commit", "author")),
    # EntityKey
    ("key-type-no-prefix", C, {("parentKey",): {"type": "document", "value": {"entityId": "d"}}}, "object.entity-key", ("parentKey", "type")),
    ("key-type-unknown", C, {("parentKey",): {"type": "atlassian:issue", "value": {"entityId": "d"}}}, "object.entity-key", ("parentKey", "type")),
    ("key-value-empty", C, {("parentKey",): {"type": D, "value": {}}}, "object.entity-key", ("parentKey", "value")),
    ("key-value-string", C, {("parentKey",): {"type": D, "value": "d"}}, "object.entity-key", ("parentKey", "value")),
    ("key-value-number-field", C, {("parentKey",): {"type": D, "value": {"entityId": 5}}}, "object.entity-key", ("parentKey", "value", "entityId")),
    ("key-value-empty-field", C, {("containerKey", "value"): {"repositoryId": ""}}, "object.entity-key", ("containerKey", "value", "repositoryId")),
    ("key-value-missing", C, {("parentKey",): {"type": D}}, "object.missing", ("parentKey", "value")),
    ("key-extra-field", C, {("containerKey", "repositoryId"): "r"}, "object.unknown-field", ("containerKey", "repositoryId")),
    # associations
    ("association-values-empty", C, {("associations",): [{"associationType": "issueIdOrKeys", "values": []}]}, "object.association", ("associations", 0, "values")),
    ("association-value-empty", C, {("associations",): [{"associationType": "issueIdOrKeys", "values": ["A-1", ""]}]}, "object.association", ("associations", 0, "values", 1)),
    ("association-type-missing", C, {("associations",): [{"values": ["A-1"]}]}, "object.missing", ("associations", 0, "associationType")),
    ("association-set-form", C, {("associations",): {"set": []}}, "object.invalid-type", ("associations",)),
    # blocks
    ("block-missing", D, {(D,): DROP}, "object.missing", (D,)),
    ("block-not-object", D, {(D,): []}, "object.invalid-type", (D,)),
    ("block-field-typo", C, {(C, "hsah"): "abc"}, "object.unknown-field", (C, "hsah")),
    ("block-nested-typo", C, {(C, "files"): [{"pth": "a"}]}, "object.unknown-field", (C, "files", 0, "pth")),
    ("block-timestamp-number", C, {(C, "authorTimestamp"): 1714564800}, "object.timestamp", (C, "authorTimestamp")),
    ("block-int-string", C, {(C, "fileCount"): "3"}, "object.invalid-type", (C, "fileCount")),
    ("block-bool-string", "atlassian:message", {("atlassian:message", "hidden"): "false"}, "object.invalid-type", ("atlassian:message", "hidden")),
    ("document-category", D, {(D, "type", "category"): "BLOG"}, "object.category", (D, "type", "category")),
    ("document-content-missing", D, {(D, "content"): DROP}, "object.missing", (D, "content")),
    ("document-icon-relative", D, {(D, "type", "iconUrl"): "icon.png"}, "object.url", (D, "type", "iconUrl")),
    # type overrides (§2, decision §8.9)
    ("work-item-display-name", "atlassian:work-item", {("displayName",): DROP}, "object.required-by-type", ("displayName",)),
    ("work-item-description", "atlassian:work-item", {("description",): DROP}, "object.required-by-type", ("description",)),
    ("work-item-description-null", "atlassian:work-item", {("description",): None}, "object.required-by-type", ("description",)),
    ("work-item-container", "atlassian:work-item", {("containerKey",): {"type": "atlassian:project", "value": {"entityId": "P"}}}, "object.container-type", ("containerKey", "type")),
    ("work-item-due-date", "atlassian:work-item", {("atlassian:work-item", "dueDate"): "2024-02-30"}, "object.timestamp", ("atlassian:work-item", "dueDate")),
    ("commit-description", C, {("description",): DROP}, "object.required-by-type", ("description",)),
    ("commit-container-missing", C, {("containerKey",): DROP}, "object.required-by-type", ("containerKey",)),
    ("commit-container-type", C, {("containerKey",): {"type": "atlassian:space", "value": {"entityId": "S"}}}, "object.container-type", ("containerKey", "type")),
    ("pull-request-container", "atlassian:pull-request", {("containerKey",): DROP}, "object.required-by-type", ("containerKey",)),
    ("pull-request-status", "atlassian:pull-request", {("atlassian:pull-request", "status"): DROP}, "object.missing", ("atlassian:pull-request", "status")),
    ("pull-request-reviewer", "atlassian:pull-request", {("atlassian:pull-request", "reviewers"): [{"name": "x"}]}, "object.missing", ("atlassian:pull-request", "reviewers", 0, "externalId")),
    ("branch-container", "atlassian:branch", {("containerKey",): DROP}, "object.required-by-type", ("containerKey",)),
    ("branch-container-type", "atlassian:branch", {("containerKey",): DOC_KEY}, "object.container-type", ("containerKey", "type")),
    ("build-container", "atlassian:build", {("containerKey",): DROP}, "object.required-by-type", ("containerKey",)),
    ("build-number-string", "atlassian:build", {("atlassian:build", "buildNumber"): "7"}, "object.invalid-type", ("atlassian:build", "buildNumber")),
    ("deployment-description", "atlassian:deployment", {("description",): DROP}, "object.required-by-type", ("description",)),
    ("deployment-container", "atlassian:deployment", {("containerKey",): DOC_KEY}, "object.container-type", ("containerKey", "type")),
    ("project-created-by", "atlassian:project", {("createdBy",): DROP}, "object.required-by-type", ("createdBy",)),
    ("project-description", "atlassian:project", {("description",): DROP}, "object.required-by-type", ("description",)),
    ("project-status", "atlassian:project", {("atlassian:project", "status"): DROP}, "object.missing", ("atlassian:project", "status")),
    ("space-display-name", "atlassian:space", {("displayName",): DROP}, "object.required-by-type", ("displayName",)),
    ("video-display-name", "atlassian:video", {("displayName",): DROP}, "object.required-by-type", ("displayName",)),
    ("customer-org-display-name", "atlassian:customer-org", {("displayName",): DROP}, "object.required-by-type", ("displayName",)),
    ("deal-display-name", "atlassian:deal", {("displayName",): DROP}, "object.required-by-type", ("displayName",)),
    ("comment-parent", "atlassian:comment", {("parentKey",): DROP}, "object.required-by-type", ("parentKey",)),
    ("remote-link-parent", "atlassian:remote-link", {("parentKey",): DROP}, "object.required-by-type", ("parentKey",)),
    ("message-placement", "atlassian:message", {("containerKey",): DROP}, "object.required-by-type", ("containerKey",)),
    ("conversation-members", "atlassian:conversation", {("atlassian:conversation", "members"): DROP}, "object.missing", ("atlassian:conversation", "members")),
    ("design-embed-relative", "atlassian:design", {("atlassian:design", "liveEmbedUrl"): "embed/1"}, "object.url", ("atlassian:design", "liveEmbedUrl")),
    ("video-cue-time-string", "atlassian:video", {("atlassian:video", "textTracks"): [{"cues": [{"startTimeInSeconds": "1", "text": "hi"}]}]}, "object.invalid-type", ("atlassian:video", "textTracks", 0, "cues", 0, "startTimeInSeconds")),
    ("video-duration-bool", "atlassian:video", {("atlassian:video", "durationInSeconds"): True}, "object.invalid-type", ("atlassian:video", "durationInSeconds")),
    ("event-start-naive", "atlassian:calendar-event", {("atlassian:calendar-event", "eventStartTime"): "2024-05-01T09:00"}, "object.timestamp", ("atlassian:calendar-event", "eventStartTime")),
    ("test-plan-has-no-fields", "atlassian:test-plan", {("atlassian:test-plan", "status"): "x"}, "object.unknown-field", ("atlassian:test-plan", "status")),
    ("test-run-status", "atlassian:test-run", {("atlassian:test-run", "status"): DROP}, "object.missing", ("atlassian:test-run", "status")),
    ("deal-json-too-deep", "atlassian:deal", {("atlassian:deal", "entityExtendedValues"): nested_lists(80)}, "object.invalid-value", ("atlassian:deal", "entityExtendedValues")),
    ("deal-closed-at", "atlassian:deal", {("atlassian:deal", "dealClosedAt"): "2024-05-01"}, "object.timestamp", ("atlassian:deal", "dealClosedAt")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("type_name", "edits", "code", "loc"),
    [pytest.param(*row[1:], id=row[0]) for row in REJECTS],
)
def test_rejects(
    type_name: str, edits: dict[tuple[Any, ...], Any], code: str, loc: tuple[Any, ...]
) -> None:
    assert_rejects(type_name, edits, code, loc)


@pytest.mark.parametrize(
    ("type_name", "edits", "loc", "hint"),
    [
        pytest.param(C, {("url",): "/acme"}, ("url",), "base URL", id="relative-url"),
        pytest.param(C, {("createdAt",): 17}, ("createdAt",), "to_rfc3339()", id="timestamp"),
        pytest.param(C, {("dispalyName",): "x"}, ("dispalyName",), "'displayName'", id="top"),
        pytest.param(C, {(C, "hsah"): "x"}, (C, "hsah"), "'hash'", id="block"),
        pytest.param(C, {(C, "files"): [{"pth": "a"}]}, (C, "files", 0, "pth"), "'path'",
                     id="nested"),
        pytest.param(D, {(C,): {}}, (C,), "'atlassian:document'", id="wrong-block"),
        pytest.param(C, {("permissions",): principals({"type": "user", "id": "u"})},
                     (*PR0, "type"), "'USER'", id="principal-case"),
        pytest.param(C, {("parentKey",): {"type": "commit", "value": {"x": "y"}}},
                     ("parentKey", "type"), "'atlassian:commit'", id="key-prefix"),
        pytest.param(C, {("parentKey",): {"type": "atlassian:repo", "value": {"x": "y"}}},
                     ("parentKey", "type"), "'atlassian:repository'", id="key-type"),
        pytest.param(D, {(D, "type", "category"): "spredsheet"}, (D, "type", "category"),
                     "'SPREADSHEET'", id="category"),
    ],
)  # fmt: skip
def test_rejection_hints(
    type_name: str, edits: dict[tuple[Any, ...], Any], loc: tuple[Any, ...], hint: str
) -> None:
    diag = next(d for d in check_object(type_name, edited(type_name, edits))[1] if d.loc == loc)
    assert diag.hint is not None
    assert hint in diag.hint


@pytest.mark.parametrize(
    ("edits", "loc", "value"),
    [
        pytest.param({("createdAt",): 17}, ("createdAt",), 17, id="timestamp"),
        pytest.param({("permissions",): principals({"type": "EVERYONE", "id": "x"})},
                     (*PR0, "id"), "x", id="principal-id"),
        pytest.param({("containerKey", "value"): {"repositoryId": 5}},
                     ("containerKey", "value", "repositoryId"), 5, id="key-value-field"),
        pytest.param({(C, "hsah"): "abc"}, (C, "hsah"), "abc", id="unknown-field"),
    ],
)  # fmt: skip
def test_diagnostic_carries_offending_value(
    edits: dict[tuple[Any, ...], Any], loc: tuple[Any, ...], value: object
) -> None:
    diags = check_object(C, edited(C, edits))[1]
    assert find(diags, next(d.code for d in diags if d.loc == loc), loc).value == value


@pytest.mark.parametrize(
    ("type_name", "hint"),
    [
        pytest.param("commit", "'atlassian:commit'", id="missing-prefix"),
        pytest.param("atlassian:comit", "'atlassian:commit'", id="typo"),
        pytest.param("atlassian:customer-organization", "'atlassian:customer-org'", id="alias"),
    ],
)
def test_unknown_type(type_name: str, hint: str) -> None:
    out, diags = check_object(type_name, minimal(C))
    assert out is None
    assert [d.code for d in diags] == ["object.unknown-type"]
    assert diags[0].hint is not None
    assert hint in diags[0].hint


@pytest.mark.parametrize("payload", [[], "x", None, 5], ids=["list", "string", "null", "number"])
def test_non_object_payload(payload: Any) -> None:
    out, diags = check_object(C, payload)
    assert out is None
    assert [d.code for d in diags] == ["object.invalid-type"]


# --- warnings (UNCONFIRMED rules never reject) ---------------------------------------------

PR, DEP, MSG = "atlassian:pull-request", "atlassian:deployment", "atlassian:message"
WARNS = [
    ("user-without-external-id", C, {("createdBy",): {"accountId": "5b57"}}, "object.user-without-external-id", ("createdBy",)),
    ("email-only-owner", C, {("owners",): [USER, {"email": "a@example.com"}]}, "object.user-without-external-id", ("owners", 1)),
    ("nested-user-without-external-id", C, {(C, "author"): {"email": "a@example.com"}}, "object.user-without-external-id", (C, "author")),
    ("must-have-viewed", C, {("permissions",): principals({"type": "MUST_HAVE_VIEWED"})}, "object.unconfirmed-principal", (*PR0, "type")),
    ("association-type", C, {("associations",): [{"associationType": "serviceIdOrKeys", "values": ["s"]}]}, "object.unconfirmed-association-type", ("associations", 0, "associationType")),
    ("pull-request-status", PR, {(PR, "status"): "open"}, "object.unknown-status", (PR, "status")),
    ("deployment-state", DEP, {(DEP, "state"): "DONE"}, "object.unknown-state", (DEP, "state")),
    ("message-container", MSG, {("containerKey",): {"type": "atlassian:space", "value": {"entityId": "S"}}}, "object.unconfirmed-container-type", ("containerKey", "type")),
    ("document-empty-content", D, {(D, "content"): {"mimeType": "text/plain"}}, "object.empty-content", (D, "content")),
    ("missing-display-name", "atlassian:repository", {("displayName",): DROP}, "object.missing-display-name", ("displayName",)),
    ("missing-display-name-test", "atlassian:test", {("displayName",): None}, "object.missing-display-name", ("displayName",)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("type_name", "edits", "code", "loc"),
    [pytest.param(*row[1:], id=row[0]) for row in WARNS],
)
def test_warns(
    type_name: str, edits: dict[tuple[Any, ...], Any], code: str, loc: tuple[Any, ...]
) -> None:
    assert_warns(type_name, edits, code, loc)


def test_warnings_are_reported_alongside_errors() -> None:
    payload = edited(C, {("createdAt",): 5, ("createdBy",): {"email": "a@example.com"}})
    out, diags = check_object(C, payload)
    assert out is None
    assert {(d.code, d.severity) for d in diags} == {
        ("object.timestamp", "error"),
        ("object.user-without-external-id", "warning"),
    }


def test_required_display_name_is_an_error_not_a_warning() -> None:
    diags = check_object("atlassian:space", edited("atlassian:space", {("displayName",): DROP}))[1]
    assert [d.code for d in diags] == ["object.required-by-type"]


# --- introspection -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_name", "expected"),
    [
        pytest.param(C, {"description", "containerKey"}, id="commit"),
        pytest.param(D, {D}, id="document-block"),
        pytest.param("atlassian:work-item", {"displayName", "description"}, id="work-item"),
        pytest.param("atlassian:project", {"displayName", "description", "createdBy",
                                           "atlassian:project"}, id="project"),
        pytest.param(PR, {"containerKey", PR}, id="pull-request"),
        pytest.param("atlassian:comment", {"parentKey"}, id="comment"),
    ],
)  # fmt: skip
def test_required_fields(type_name: str, expected: set[str]) -> None:
    common = {
        "schemaVersion",
        "id",
        "updateSequenceNumber",
        "url",
        "createdAt",
        "lastUpdatedAt",
        "permissions",
    }
    assert required_fields(type_name) == frozenset(common | expected)


@pytest.mark.parametrize(
    ("type_name", "path", "expected"),
    [
        pytest.param(C, (), {"displayName", "containerKey", C}, id="top"),
        pytest.param(C, (C,), {"hash", "displayId", "authorTimestamp", "files"}, id="block"),
        pytest.param(C, (C, "files"), {"path", "url", "changeType", "linesAdded"}, id="list"),
        pytest.param(C, (C, "files", 0), {"path"}, id="list-index"),
        pytest.param(C, ("createdBy",), {"externalId", "accountId", "email"}, id="user-ref"),
        pytest.param(C, ("permissions", "accessControls", "principals"), {"type", "id"},
                     id="principals"),
        pytest.param(C, ("containerKey",), {"type", "value"}, id="entity-key"),
        pytest.param("atlassian:test-plan", ("atlassian:test-plan",), set(), id="empty-block"),
    ],
)  # fmt: skip
def test_known_keys(type_name: str, path: tuple[str, ...], expected: set[str]) -> None:
    keys = known_keys(type_name, path)
    assert keys is not None
    assert expected <= keys
    if not expected:
        assert keys == frozenset()


@pytest.mark.parametrize(
    ("type_name", "path"),
    [
        pytest.param(C, ("containerKey", "value"), id="entity-key-value"),
        pytest.param(C, ("id",), id="scalar"),
        pytest.param(C, ("nope",), id="unknown-key"),
        pytest.param(C, (D,), id="other-block"),
        pytest.param("atlassian:deal", ("atlassian:deal", "entityExtendedValues"), id="free-json"),
        pytest.param("atlassian:nope", (), id="unknown-type"),
    ],
)
def test_known_keys_is_none(type_name: str, path: tuple[str, ...]) -> None:
    assert known_keys(type_name, path) is None


@pytest.mark.parametrize(
    ("path", "kind", "required"),
    [
        pytest.param(("createdAt",), "timestamp", True, id="timestamp"),
        pytest.param(("url",), "url", True, id="url"),
        pytest.param(("updateSequenceNumber",), "integer", True, id="integer"),
        pytest.param(("displayName",), "string", False, id="string"),
        pytest.param(("createdBy",), "userRef", False, id="user-ref"),
        pytest.param(("owners",), "list[userRef]", False, id="user-ref-list"),
        pytest.param(("containerKey",), "EntityKey", True, id="entity-key"),
        pytest.param(("permissions",), "list[object]", True, id="permissions"),
        pytest.param((C,), "object", False, id="block"),
        pytest.param((C, "authorTimestamp"), "timestamp", False, id="block-timestamp"),
        pytest.param((C, "files"), "list[object]", False, id="block-list"),
    ],
)
def test_describe_type(path: tuple[str, ...], kind: str, required: bool) -> None:
    docs = describe_type(C)
    for part in path:
        doc = next(d for d in docs if d.name == part)
        docs = doc.children
    assert (doc.kind, doc.required) == (kind, required)
    assert doc.description


def test_describe_unknown_type() -> None:
    with pytest.raises(KeyError, match="atlassian:commit"):
        describe_type("atlassian:comit")


@pytest.mark.parametrize("type_name", sorted(OBJECT_TYPES))
def test_block_doc_matches_block_model(type_name: str) -> None:
    block = next(d for d in describe_type(type_name) if d.name == type_name)
    model = BLOCK_MODELS[type_name]
    names = {info.alias or name for name, info in model.model_fields.items()} if model else set()
    assert {child.name for child in block.children} == names


# --- robustness ----------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)  # fmt: skip
TYPES = st.sampled_from(sorted(OBJECT_TYPES))
FUZZ = settings(
    database=None
)


def _paths(type_name: str) -> list[tuple[str, ...]]:
    """Every key path of the type's field tree (lists looked through)."""
    out: list[tuple[str, ...]] = []

    def walk(docs: Any, prefix: tuple[str, ...]) -> None:
        for doc in docs:
            out.append((*prefix, doc.name))
            walk(doc.children, (*prefix, doc.name))

    walk(describe_type(type_name), ())
    return out


def _assert_well_formed(out: Any, diags: Any) -> None:
    assert out is None or isinstance(out, dict)
    assert (out is None) == any(d.is_error for d in diags)


@FUZZ
@given(TYPES, st.dictionaries(st.text(max_size=12), JSON, max_size=6))
def test_check_object_never_raises_on_arbitrary_json(
    type_name: str, payload: dict[str, Any]
) -> None:
    _assert_well_formed(*check_object(type_name, payload))


@FUZZ
@given(TYPES, st.data())
def test_check_object_never_raises_on_mutated_payloads(type_name: str, data: st.DataObject) -> None:
    payload = minimal(type_name)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(type_name)))
        payload = edited_payload(payload, path, data.draw(JSON))
    out, diags = check_object(type_name, payload)
    _assert_well_formed(out, diags)
    if out is not None:
        assert check_object(type_name, out)[0] == out


def edited_payload(payload: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """Set `path` (creating objects, replacing non-objects on the way) to `value`."""
    node = payload
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[path[-1]] = value
    return payload


def test_a_model_module_is_imported_when_its_type_is_first_looked_up() -> None:
    """Start-up imports no object model; the registry still behaves like a read-only dict."""
    code = (
        "import sys, mapper.cli\n"
        "from mapper.model import OBJECT_TYPES, BLOCK_MODELS\n"
        "assert 'mapper.model.media' not in sys.modules\n"
        "assert 'atlassian:video' in OBJECT_TYPES and 'atlassian:nope' not in OBJECT_TYPES\n"
        "assert 'mapper.model.media' not in sys.modules\n"
        "video = OBJECT_TYPES['atlassian:video']\n"
        "assert 'mapper.model.media' in sys.modules and video.__name__ == 'VideoObject'\n"
        "assert BLOCK_MODELS['atlassian:test'] is None and OBJECT_TYPES.get('nope') is None\n"
        "assert len(OBJECT_TYPES) == len(list(OBJECT_TYPES.items())) == 24\n"
    )
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("owners", "message", "hint"),
    [
        ([None], "expected a user reference here, got null", "drop nulls with [?@]"),
        (["ada"], "expected a user reference here, got str", "build it with user_ref(...)"),
    ],
)
def test_an_object_where_a_builder_goes_is_said_in_the_mappings_words(
    owners: list[Any], message: str, hint: str
) -> None:
    """Not pydantic's 'a valid dictionary or instance of UserRef': authors never see classes."""
    diag = assert_rejects("atlassian:work-item", {("owners",): owners}, "object.invalid-type",
                          ("owners", 0))  # fmt: skip
    assert diag.message == message and hint in (diag.hint or "")
    assert "instance of" not in diag.message
