"""The webhook source kinds `mapper serve` verifies: one table the verifier, the server and the
README share (which header carries the credential, the delivery id and the event type).

Pure data: `verify.py` reads its header names from `KINDS`; `describe_kinds()` renders the
table the README's "Webhook verification" section shows (a test keeps the two equal).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class SourceKind:
    """How one source authenticates and labels its webhook deliveries."""

    kind: str
    title: str
    credential: str  # where the credential travels, as a user reads it
    delivery_header: str | None  # lower-cased header carrying the delivery id (None: from body)
    delivery_from: str  # where the delivery id comes from, as a user reads it
    event_header: str | None  # lower-cased header carrying the event type (None: from body)
    event_from: str  # where the event type comes from, as a user reads it
    checks: str  # what is checked, one line
    body_signed: bool  # True when the credential covers the raw body byte for byte


_HMAC_BODY = "HMAC-SHA256 of the raw body, `sha256=` + hex"

_TABLE = (
    SourceKind(
        "github", "GitHub", "`X-Hub-Signature-256`", "x-github-delivery",
        "`X-GitHub-Delivery`", "x-github-event", "`X-GitHub-Event`",
        _HMAC_BODY + " (the legacy SHA-1 `X-Hub-Signature` is refused)", True,
    ),
    SourceKind(
        "gitlab", "GitLab", "`X-Gitlab-Token`", "x-gitlab-event-uuid",
        "`X-Gitlab-Event-UUID`", "x-gitlab-event", "`X-Gitlab-Event`",
        "the token equals the secret (it does not cover the body)", False,
    ),
    SourceKind(
        "bitbucket-cloud", "Bitbucket Cloud", "`X-Hub-Signature`", "x-request-uuid",
        "`X-Request-UUID`", "x-event-key", "`X-Event-Key`", _HMAC_BODY, True,
    ),
    SourceKind(
        "bitbucket-server", "Bitbucket Server / Data Center", "`X-Hub-Signature`",
        "x-request-id", "`X-Request-Id`", "x-event-key", "`X-Event-Key`", _HMAC_BODY, True,
    ),
    SourceKind(
        "slack", "Slack", "`X-Slack-Signature`, `X-Slack-Request-Timestamp`", None,
        "body `event_id`", None, "body `event.type` (else `type`)",
        "`v0=` + hex HMAC-SHA256 of `v0:timestamp:body`; timestamp within 5 minutes;"
        " `url_verification` answered with its challenge after the check", True,
    ),
    SourceKind(
        "msgraph", "Microsoft Graph", "body `value[].clientState`", None,
        "sha256 of the notification items", None, "body `changeType` (or `lifecycleEvent`)",
        "every item's `clientState` equals the secret; `?validationToken=` echoed", False,
    ),
    SourceKind(
        "jira", "Jira (Connect app)", "`Authorization: JWT …` or `?jwt=`",
        "x-atlassian-webhook-identifier", "`X-Atlassian-Webhook-Identifier`", None,
        "body `webhookEvent` (else `?event=`)",
        "HS256 with the installation's shared secret; `iss` a known client key; `qsh` of"
        " method, path and query; `exp`/`iat` within the clock skew", False,
    ),
    SourceKind(
        "confluence", "Confluence (Connect app)", "`Authorization: JWT …` or `?jwt=`",
        "x-atlassian-webhook-identifier", "`X-Atlassian-Webhook-Identifier`", None,
        "body `webhookEvent` (else `?event=`)", "as Jira", False,
    ),
)  # fmt: skip

KINDS = MappingProxyType({k.kind: k for k in _TABLE})


def describe_kinds() -> str:
    """The kinds as a Markdown table: kind, credential, delivery id, event, what is checked."""
    rows = ["| kind | credential | delivery id | event | checked |", "|---|---|---|---|---|"]
    rows += [
        f"| `{k.kind}` | {k.credential} | {k.delivery_from} | {k.event_from} | {k.checks} |"
        for k in _TABLE
    ]
    return "\n".join(rows) + "\n"
