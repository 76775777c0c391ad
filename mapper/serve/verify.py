"""Webhook verification for `mapper serve`: is a delivery genuine, and what is it?

`verify(kind, delivery, secrets, now=...)` is pure: the server hands it the raw request and the
route's secrets and gets a `Verdict` back; it never raises for a bad delivery, and every secret
comparison is `hmac.compare_digest`. A delivery that is `not ok` gets 401 and changes nothing;
`reason` is a short stable code for metrics and logs. Per kind (header names in `sources.py`):

- `github`: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`. The legacy SHA-1
  `X-Hub-Signature` is *not* accepted, not even when the 256 header is absent.
- `gitlab`: `X-Gitlab-Token` equals the secret. The token does not cover the body: a changed
  body still passes (HTTPS is what protects it).
- `bitbucket-cloud`, `bitbucket-server`: `X-Hub-Signature: sha256=<hex HMAC-SHA256>`.
- `slack`: `X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:" + timestamp + ":" + body)>`,
  `X-Slack-Request-Timestamp` within 5 minutes of `now` either way; a `url_verification` body is
  answered with its challenge (`reply`) only after the signature checks. The delivery id is the
  body's `event_id` (an interaction's `trigger_id` for form bodies).
- `msgraph`: a request with `?validationToken=` is answered with the token (that is how Graph
  validates a subscription: no secret is involved). A notification `{"value": [...]}` is genuine
  only if every item's `clientState` equals the secret. Graph sends no delivery id: the id is
  the sha256 hex of the items as canonical JSON (sorted keys, no spaces), so a redelivery gets
  the same id and two notifications with different content different ids (two with identical
  content carry the same information, and map to the same objects). `event` is the items'
  `lifecycleEvent`, else their common `changeType`, else `mixed`.
- `jira`, `confluence`: a Connect JWT (see `connect.py`): HS256 with the installation's shared
  secret, a known client key as `iss`, `qsh` over method, path and query, `exp`/`iat` within the
  clock skew. The JWT does not cover the body. `event` is the body's `webhookEvent`, else the
  `event` query parameter (which the qsh covers).

Delivery-id headers (GitHub, GitLab, Bitbucket, Jira) are not covered by any signature: deduping
on them stops a source's own redeliveries; a hostile replay of a genuine body maps to the same
objects again. Bodies larger than `VerifyOptions.max_body` are refused (`too-large`) before any
hashing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import parse_qs

from mapper.serve import connect
from mapper.serve.sources import KINDS

SOURCE_KINDS: tuple[str, ...] = tuple(KINDS)
SLACK_MAX_AGE = 300.0  # seconds, either way
DEFAULT_MAX_BODY = 25 * 1024 * 1024  # GitHub's cap on webhook payloads


@dataclass(frozen=True, slots=True)
class Delivery:
    """One HTTP request as received: header names lower-cased, the raw body."""

    method: str
    path: str  # no query; the Connect qsh uses it as given
    query: str  # raw query string, "" when none
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer the source expects at once instead of an acknowledgement (e.g. a challenge)."""

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
    reply: Reply | None = None  # answer with this and store nothing
    installation: str | None = None  # the Connect client key (jira, confluence)


class Secrets(Protocol):
    """Where a route's secrets come from (the server reads env or files; never YAML)."""

    def shared(self) -> bytes | None: ...  # HMAC key, token or clientState

    def installation(self, client_key: str) -> bytes | None: ...  # Connect shared secret


Check = Callable[[Delivery, bytes, float], Verdict]  # one shared-secret kind's check


@dataclass(frozen=True, slots=True)
class VerifyOptions:
    """Knobs a route may set; the defaults suit every kind."""

    max_body: int = DEFAULT_MAX_BODY
    clock_skew: float = connect.DEFAULT_CLOCK_SKEW  # JWT exp/iat slack (jira, confluence)
    base_path: str = ""  # the Connect app's base URL path, stripped for the qsh


DEFAULT_OPTIONS = VerifyOptions()


def refuse(reason: str) -> Verdict:
    """A verdict for a delivery that is not genuine (or cannot be checked)."""
    return Verdict(False, reason, None, None)


def _header(delivery: Delivery, name: str | None) -> str | None:
    return delivery.headers.get(name) or None if name else None


def _identified(kind: str, delivery: Delivery) -> Verdict:
    """An ok verdict with the delivery id and event from the headers `sources.KINDS` names."""
    source = KINDS[kind]
    return Verdict(True, None, _header(delivery, source.delivery_header),
                   _header(delivery, source.event_header))  # fmt: skip


def _same(given: bytes, expected: bytes) -> bool:
    return hmac.compare_digest(given, expected)


def _hmac_sha256(secret: bytes, data: bytes) -> bytes:
    return hmac.new(secret, data, hashlib.sha256).digest()


def _signature_problem(header: str | None, prefix: str, secret: bytes, data: bytes) -> str | None:
    """None if `header` is `prefix` + the hex HMAC-SHA256 of `data`, else the reason."""
    if not header:
        return "missing-signature"
    if not header.startswith(prefix):
        return "malformed-signature"
    try:
        given = bytes.fromhex(header[len(prefix) :])
    except ValueError:
        return "malformed-signature"
    return None if _same(given, _hmac_sha256(secret, data)) else "bad-signature"


def _hub_signed(kind: str, header: str) -> Check:
    def check(delivery: Delivery, secret: bytes, now: float) -> Verdict:
        del now
        problem = _signature_problem(_header(delivery, header), "sha256=", secret, delivery.body)
        return refuse(problem) if problem else _identified(kind, delivery)

    return check


def _gitlab(delivery: Delivery, secret: bytes, now: float) -> Verdict:
    del now
    token = _header(delivery, "x-gitlab-token")
    if token is None:
        return refuse("missing-token")
    if not _same(token.encode("utf-8", "surrogateescape"), secret):
        return refuse("bad-token")
    return _identified("gitlab", delivery)


def _json(body: bytes) -> object:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # (nested too deep to parse)
        return None


def _field(data: object, *path: str) -> str | None:
    for name in path:
        data = data.get(name) if isinstance(data, dict) else None
    return data if isinstance(data, str) and data else None


def _slack(delivery: Delivery, secret: bytes, now: float) -> Verdict:
    stamp = _header(delivery, "x-slack-request-timestamp")
    if stamp is None:
        return refuse("missing-timestamp")
    if not (stamp.isascii() and stamp.isdigit()):
        return refuse("malformed-timestamp")
    base = b"v0:" + stamp.encode() + b":" + delivery.body
    problem = _signature_problem(_header(delivery, "x-slack-signature"), "v0=", secret, base)
    if problem:
        return refuse(problem)
    if abs(now - int(stamp)) > SLACK_MAX_AGE:
        return refuse("stale-timestamp")
    return _slack_content(delivery.body)


def _slack_content(body: bytes) -> Verdict:
    data = _json(body)
    if isinstance(data, dict):
        if data.get("type") == "url_verification":
            challenge = _field(data, "challenge")
            if challenge is None:
                return refuse("malformed")
            reply = Reply(200, "text/plain", challenge.encode())
            return Verdict(True, None, None, "url_verification", reply)
        event = _field(data, "event", "type") or _field(data, "type")
        return Verdict(True, None, _field(data, "event_id"), event)
    form = parse_qs(body.decode("utf-8", "replace"))
    if "payload" in form:  # interactivity: a JSON payload in a form field
        payload = _json(form["payload"][0].encode())
        return Verdict(True, None, _field(payload, "trigger_id"), _field(payload, "type"))
    if "command" in form:  # a slash command
        trigger = form.get("trigger_id") or [""]
        return Verdict(True, None, trigger[0] or None, "slash_command")
    return refuse("malformed")


def _graph_validation(query: str) -> Reply | None:
    token = connect.query_param(query, "validationToken")
    return None if token is None else Reply(200, "text/plain", token.encode())


def _graph_event(items: list[dict[str, object]]) -> str:
    lifecycle = {str(item["lifecycleEvent"]) for item in items if "lifecycleEvent" in item}
    changes = {str(item.get("changeType")) for item in items}
    names = lifecycle or changes
    return names.pop() if len(names) == 1 else "mixed"


def _msgraph(delivery: Delivery, secret: bytes, now: float) -> Verdict:
    del now
    data = _json(delivery.body)
    items = data.get("value") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        return refuse("malformed")
    for item in items:
        state = item.get("clientState")
        if not isinstance(state, str):
            return refuse("missing-client-state")
        if not _same(state.encode("utf-8", "surrogateescape"), secret):
            return refuse("bad-client-state")
    canonical = json.dumps(items, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    delivery_id = hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
    return Verdict(True, None, delivery_id, _graph_event(items))


def _connect(kind: str, delivery: Delivery, secrets: Secrets, now: float,
             options: VerifyOptions) -> Verdict:  # fmt: skip
    token = connect.read_token(delivery.headers, delivery.query)
    if token is None:
        return refuse("missing-token")

    def keys(alg: str, issuer: str) -> bytes | None:
        del alg
        return secrets.installation(issuer)

    rules = connect.TokenRules(frozenset({"HS256"}), now, options.clock_skew, options.base_path)
    check = connect.check_token(token, delivery.method, delivery.path, delivery.query, keys, rules)
    if not check.ok:
        return refuse(check.reason or "jwt-invalid")
    event = _field(_json(delivery.body), "webhookEvent")
    event = event or connect.query_param(delivery.query, "event") or None
    delivery_id = _header(delivery, KINDS[kind].delivery_header)
    return Verdict(True, None, delivery_id, event, installation=check.issuer)


_SHARED_SECRET: Mapping[str, Check] = {
    "github": _hub_signed("github", "x-hub-signature-256"),
    "gitlab": _gitlab,
    "bitbucket-cloud": _hub_signed("bitbucket-cloud", "x-hub-signature"),
    "bitbucket-server": _hub_signed("bitbucket-server", "x-hub-signature"),
    "slack": _slack,
    "msgraph": _msgraph,
}


def verify(
    kind: str,
    delivery: Delivery,
    secrets: Secrets,
    *,
    now: float,
    options: VerifyOptions = DEFAULT_OPTIONS,
) -> Verdict:
    """Check one delivery of source `kind` (one of SOURCE_KINDS); never raises for a bad one.

    `now` is the current time in epoch seconds (injected, so tests are deterministic).
    """
    if kind not in KINDS:
        return refuse("unsupported-source")
    if len(delivery.body) > options.max_body:
        return refuse("too-large")
    if kind == "msgraph" and (reply := _graph_validation(delivery.query)) is not None:
        return Verdict(True, None, None, "validation", reply)
    if kind in ("jira", "confluence"):
        return _connect(kind, delivery, secrets, now, options)
    secret = secrets.shared()
    if not secret:
        return refuse("no-secret")
    return _SHARED_SECRET[kind](delivery, secret, now)
