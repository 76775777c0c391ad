"""Webhook verification: the interface the server codes against (GitHub only, a stand-in).

The verify helper's module of the same name replaces this one with every source kind; this
stand-in keeps the dataclasses and GitHub's `X-Hub-Signature-256` check so that the server,
its tests and its benchmark run before the two branches meet.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

SOURCE_KINDS = (
    "github", "gitlab", "bitbucket-cloud", "bitbucket-server", "slack", "msgraph", "jira",
    "confluence",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Delivery:
    """One HTTP request as received: header names lower-cased, the raw body."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer the source expects instead of a plain acknowledgement (e.g. a challenge)."""

    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a delivery is genuine, and what it is (its id and event type)."""

    ok: bool
    reason: str | None
    delivery_id: str | None
    event: str | None
    reply: Reply | None = None
    installation: str | None = None


class Secrets(Protocol):
    """Where a route's secrets come from: one shared secret, or one per Connect installation."""

    def shared(self) -> bytes | None: ...

    def installation(self, client_key: str) -> bytes | None: ...


def verify(kind: str, delivery: Delivery, secrets: Secrets, *, now: float) -> Verdict:
    """Check one delivery of source `kind`; never raises for a bad delivery."""
    del now
    if kind != "github":
        return Verdict(False, "unsupported-source", None, None)
    secret = secrets.shared()
    if secret is None:
        return Verdict(False, "no-secret", None, None)
    given = delivery.headers.get("x-hub-signature-256", "")
    if not given:
        return Verdict(False, "missing-signature", None, None)
    expected = "sha256=" + hmac.new(secret, delivery.body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return Verdict(False, "bad-signature", None, None)
    headers = delivery.headers
    return Verdict(True, None, headers.get("x-github-delivery"), headers.get("x-github-event"))
