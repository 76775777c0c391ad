"""Webhook verification (mapper/serve/verify.py): a table of deliveries per source kind —
genuine, unsigned, tampered, wrong secret, oversized, replayed — plus Slack's timestamp window
and url_verification, Graph's validationToken and clientState, and the Connect JWT checks.

Deliveries are built here the way each source builds them (real payloads from samples/ where
there is one); `now` is fixed, so nothing depends on the clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mapper.serve.connect import qsh
from mapper.serve.sources import KINDS
from mapper.serve.verify import (
    SOURCE_KINDS,
    Delivery,
    Reply,
    Verdict,
    VerifyOptions,
    verify,
)

ROOT = Path(__file__).resolve().parents[1]
NOW = 1_800_000_000.0
SECRET = b"route-secret-for-tests-0123456789abcdef"
OTHER = b"not-the-route-secret-0123456789abcdef!!"
CLIENT_KEY = "jira:4c5f9a1e-client-key"
CONNECT_SECRET = b"connect-shared-secret-" + b"0123456789abcdef" * 3  # HS512 wants >= 64 bytes
HOOK_PATH = {"jira": "/hooks/jira", "confluence": "/hooks/confluence"}


@dataclass
class FakeSecrets:
    shared_secret: bytes | None = SECRET
    installs: dict[str, bytes] = field(default_factory=lambda: {CLIENT_KEY: CONNECT_SECRET})

    def shared(self) -> bytes | None:
        return self.shared_secret

    def installation(self, client_key: str) -> bytes | None:
        return self.installs.get(client_key)


def sample(name: str) -> bytes:
    return (ROOT / "samples" / name).read_bytes()


SLACK_BODY = json.dumps({
    "token": "x", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
    "event_id": "Ev08MFMKH6", "event_time": 1_799_999_990,
    "event": {"type": "message", "channel": "C1", "user": "U1", "text": "hi", "ts": "1.2"},
}).encode()  # fmt: skip
GRAPH_ITEM = {
    "subscriptionId": "sub-1", "changeType": "created", "tenantId": "t-1",
    "resource": "teams('T')/channels('C')/messages('M')",
    "resourceData": {"id": "M", "@odata.type": "#Microsoft.Graph.chatMessage"},
    "subscriptionExpirationDateTime": "2027-01-15T23:00:00Z",
}  # fmt: skip
CONFLUENCE_BODY = json.dumps({"page": {"id": 42, "title": "Runbook"}, "timestamp": 1}).encode()

BODIES = {
    "github": sample("github/push-webhook.json"),
    "gitlab": sample("gitlab/push-webhook.json"),
    "bitbucket-cloud": sample("bitbucket-cloud/push-webhook.json"),
    "bitbucket-server": sample("bitbucket-server/refs-changed-webhook.json"),
    "slack": SLACK_BODY,
    "msgraph": json.dumps({"value": [GRAPH_ITEM]}).encode(),  # clientState added by `sign`
    "jira": sample("jira/webhook-issue-created.json"),
    "confluence": CONFLUENCE_BODY,
}
# What a genuine delivery of each kind identifies itself as: (delivery id, event).
EXPECTED = {
    "github": ("72d3162e-cc78-11e3-81ab-4c9367dc0958", "push"),
    "gitlab": ("13792a34-cac6-4fda-95a8-c58e00a3954e", "Push Hook"),
    "bitbucket-cloud": ("6b4c2b7e-5a44-4c4e-a2a1-3c1fe1f0c1a9", "repo:push"),
    "bitbucket-server": ("9f1c27a4-0b8e-4c3a-9d57-2f7f1c2b6e11", "repo:refs_changed"),
    "slack": ("Ev08MFMKH6", "message"),
    "msgraph": (None, "created"),  # the id is derived: checked in its own test
    "jira": ("wh-31337", "jira:issue_created"),
    "confluence": ("wh-4242", "page_created"),
}


def hex_hmac(secret: bytes, data: bytes) -> str:
    return hmac.new(secret, data, hashlib.sha256).hexdigest()


def connect_token(
    method: str = "POST",
    path: str = "/hooks/jira",
    query: str = "",
    *,
    secret: bytes = CONNECT_SECRET,
    alg: str = "HS256",
    **claims: object,
) -> str:
    body: dict[str, object] = {"iss": CLIENT_KEY, "iat": int(NOW), "exp": int(NOW) + 180,
                               "qsh": qsh(method, path, query)}  # fmt: skip
    body.update(claims)
    return jwt.encode({k: v for k, v in body.items() if v is not None}, secret, algorithm=alg)


def unsigned_token(**claims: object) -> str:
    """An `alg: none` token (PyJWT will not make one): header.payload. with no signature."""

    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    payload = {"iss": CLIENT_KEY, "iat": int(NOW), "exp": int(NOW) + 180,
               "qsh": qsh("POST", "/hooks/jira", ""), **claims}  # fmt: skip
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


def sign(kind: str, body: bytes | None = None, *, secret: bytes = SECRET, stamp: float = NOW,
         query: str = "") -> Delivery:  # fmt: skip
    """A delivery of `kind` as the source sends it, credentialed with `secret`."""
    body = BODIES[kind] if body is None else body
    ident, event = EXPECTED[kind]
    path = HOOK_PATH.get(kind, f"/hooks/{kind}")
    headers: dict[str, str]
    if kind == "github":
        headers = {"x-hub-signature-256": "sha256=" + hex_hmac(secret, body),
                   "x-github-delivery": str(ident), "x-github-event": str(event)}  # fmt: skip
    elif kind == "gitlab":
        headers = {"x-gitlab-token": secret.decode(), "x-gitlab-event-uuid": str(ident),
                   "x-gitlab-event": str(event)}  # fmt: skip
    elif kind.startswith("bitbucket"):
        id_header = "x-request-uuid" if kind == "bitbucket-cloud" else "x-request-id"
        headers = {"x-hub-signature": "sha256=" + hex_hmac(secret, body), id_header: str(ident),
                   "x-event-key": str(event)}  # fmt: skip
    elif kind == "slack":
        ts = str(int(stamp))
        base = b"v0:" + ts.encode() + b":" + body
        headers = {
            "x-slack-request-timestamp": ts,
            "x-slack-signature": "v0=" + hex_hmac(secret, base),
        }
    elif kind == "msgraph":
        data = json.loads(body)
        for item in data["value"]:
            item.setdefault("clientState", secret.decode())
        body = json.dumps(data).encode()
        headers = {"content-type": "application/json"}
    else:  # jira, confluence: the Connect shared secret signs the request line, not the body
        query = query or ("event=page_created" if kind == "confluence" else "")
        token = connect_token(
            "POST", path, query, secret=CONNECT_SECRET if secret == SECRET else secret
        )
        headers = {"authorization": f"JWT {token}", "x-atlassian-webhook-identifier": str(ident)}
    return Delivery("POST", path, query, headers, body)


def without(delivery: Delivery, *names: str) -> Delivery:
    return replace(delivery, headers={k: v for k, v in delivery.headers.items() if k not in names})


def with_headers(delivery: Delivery, **headers: str) -> Delivery:
    return replace(
        delivery,
        headers={**delivery.headers, **{k.replace("_", "-"): v for k, v in headers.items()}},
    )


def tamper(kind: str, body: bytes) -> bytes:
    """The body with one letter's case swapped (still valid JSON; Graph: another resource)."""
    if kind == "msgraph":
        return body.replace(b"messages('M')", b"messages('X')")
    at = next(i for i, b in enumerate(body) if chr(b).isalpha() and i > 2)
    return body[:at] + bytes([body[at] ^ 0x20]) + body[at + 1 :]


def run(
    kind: str, delivery: Delivery, secrets: FakeSecrets | None = None, **options: Any
) -> Verdict:
    return verify(
        kind, delivery, secrets or FakeSecrets(), now=NOW, options=VerifyOptions(**options)
    )


CREDENTIAL_HEADERS = {
    "github": ("x-hub-signature-256",), "gitlab": ("x-gitlab-token",),
    "bitbucket-cloud": ("x-hub-signature",), "bitbucket-server": ("x-hub-signature",),
    "slack": ("x-slack-signature",), "jira": ("authorization",), "confluence": ("authorization",),
}  # fmt: skip
UNSIGNED_REASON = {
    "github": "missing-signature", "gitlab": "missing-token", "bitbucket-cloud": "missing-signature",
    "bitbucket-server": "missing-signature", "slack": "missing-signature",
    "msgraph": "missing-client-state", "jira": "missing-token", "confluence": "missing-token",
}  # fmt: skip
WRONG_SECRET_REASON = {
    "gitlab": "bad-token",
    "msgraph": "bad-client-state",
    "jira": "jwt-bad-signature",
    "confluence": "jwt-bad-signature",
}


def unsigned(kind: str) -> Delivery:
    if kind == "msgraph":
        return Delivery("POST", "/hooks/msgraph", "", {}, BODIES["msgraph"])
    return without(sign(kind), *CREDENTIAL_HEADERS[kind])


# --- the table every kind goes through ---------------------------------------------------------


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_genuine_delivery_is_ok_with_its_id_and_event(kind: str) -> None:
    verdict = run(kind, sign(kind))
    ident, event = EXPECTED[kind]
    assert verdict.ok and verdict.reason is None and verdict.reply is None
    assert verdict.event == event
    if kind != "msgraph":
        assert verdict.delivery_id == ident
    assert verdict.installation == (CLIENT_KEY if kind in ("jira", "confluence") else None)


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_unsigned_delivery_is_refused(kind: str) -> None:
    assert run(kind, unsigned(kind)) == Verdict(False, UNSIGNED_REASON[kind], None, None)


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_wrong_secret_is_refused(kind: str) -> None:
    verdict = run(kind, sign(kind, secret=OTHER))
    assert not verdict.ok
    assert verdict.reason == WRONG_SECRET_REASON.get(kind, "bad-signature")


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_tampered_body_fails_exactly_where_the_credential_covers_the_body(kind: str) -> None:
    genuine = sign(kind)
    tampered = replace(genuine, body=tamper(kind, genuine.body))
    assert tampered.body != genuine.body
    verdict = run(kind, tampered)
    if KINDS[kind].body_signed:
        assert (verdict.ok, verdict.reason) == (False, "bad-signature")
    else:  # documented: a token, clientState or Connect JWT does not cover the body
        assert verdict.ok


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_oversized_delivery_is_refused_before_any_check(kind: str) -> None:
    genuine = sign(kind)
    assert run(kind, genuine, max_body=len(genuine.body)).ok
    assert run(kind, genuine, max_body=len(genuine.body) - 1).reason == "too-large"


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_replayed_delivery_carries_the_same_delivery_id(kind: str) -> None:
    """The server dedups on the id: a redelivery must come out with the same one."""
    first, again = run(kind, sign(kind)), run(kind, sign(kind))
    assert first == again and first.delivery_id


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_no_configured_secret_refuses(kind: str) -> None:
    reason = "jwt-unknown-issuer" if kind in ("jira", "confluence") else "no-secret"
    assert run(kind, sign(kind), FakeSecrets(None, {})).reason == reason


def test_unknown_kind_is_refused_not_raised() -> None:
    assert run("svn", sign("github")).reason == "unsupported-source"


# --- malformed credentials: never an exception ------------------------------------------------

HUB = "x-hub-signature-256"
MALFORMED = [
    ("github", {HUB: "sha256=zz" + "0" * 62}, "malformed-signature"),
    ("github", {HUB: "sha1=" + "0" * 40}, "malformed-signature"),
    ("github", {HUB: "sha256="}, "bad-signature"),
    ("github", {HUB: "sha256=" + "ab" * 31}, "bad-signature"),  # one byte short
    ("github", {HUB: "sha256=é"}, "malformed-signature"),
    ("bitbucket-cloud", {"x-hub-signature": "sha1=" + "0" * 40}, "malformed-signature"),
    ("bitbucket-server", {"x-hub-signature": "not hex at all"}, "malformed-signature"),
    ("gitlab", {"x-gitlab-token": "é-not-ascii"}, "bad-token"),
    ("slack", {"x-slack-signature": "v1=" + "0" * 64}, "malformed-signature"),
    ("slack", {"x-slack-signature": "v0=xyz"}, "malformed-signature"),
    ("slack", {"x-slack-request-timestamp": "17e8"}, "malformed-timestamp"),
    ("slack", {"x-slack-request-timestamp": "١٢٣"}, "malformed-timestamp"),  # non-ASCII digits
    ("jira", {"authorization": "JWT not.a.token"}, "jwt-malformed"),
    ("jira", {"authorization": "JWT "}, "missing-token"),
    ("jira", {"authorization": "Bearer abc"}, "missing-token"),
    ("confluence", {"authorization": "JWT a.b"}, "jwt-malformed"),
]


@pytest.mark.parametrize(("kind", "headers", "reason"), MALFORMED)
def test_malformed_credentials_are_refused(kind: str, headers: dict[str, str], reason: str) -> None:
    assert run(kind, with_headers(sign(kind), **headers)).reason == reason


def test_github_legacy_sha1_alone_is_not_accepted() -> None:
    body = BODIES["github"]
    legacy = "sha1=" + hmac.new(SECRET, body, hashlib.sha1).hexdigest()
    delivery = with_headers(without(sign("github"), HUB), **{"x-hub-signature": legacy})
    assert run("github", delivery).reason == "missing-signature"


def test_upper_case_hex_signature_is_accepted() -> None:
    genuine = sign("github")
    upper = "sha256=" + genuine.headers[HUB].removeprefix("sha256=").upper()
    assert run("github", with_headers(genuine, **{HUB: upper})).ok


# --- Slack ------------------------------------------------------------------------------------

SLACK_WINDOW = [(-300, "ok"), (300, "ok"), (-301, "stale-timestamp"), (301, "stale-timestamp"),
                (-86_400, "stale-timestamp")]  # fmt: skip


@pytest.mark.parametrize(("offset", "outcome"), SLACK_WINDOW)
def test_slack_timestamp_window(offset: int, outcome: str) -> None:
    verdict = run("slack", sign("slack", stamp=NOW + offset))
    assert (verdict.reason or "ok") == outcome


def test_slack_url_verification_is_answered_only_when_signed() -> None:
    body = json.dumps(
        {
            "token": "x",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification",
        }
    ).encode()
    verdict = run("slack", sign("slack", body))
    assert verdict.ok and verdict.event == "url_verification" and verdict.delivery_id is None
    assert verdict.reply == Reply(
        200, "text/plain", b"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    )
    assert run("slack", without(sign("slack", body), "x-slack-signature")).reply is None
    assert run("slack", sign("slack", body, secret=OTHER)).reason == "bad-signature"


SLACK_BODIES = [
    (b'{"type": "url_verification"}', False, None, None),  # no challenge
    (b'{"type": "app_rate_limited", "minute_rate_limited": 1}', True, None, "app_rate_limited"),
    (b"command=%2Fdeploy&text=now&trigger_id=13345224609.738474920.8088930838d88f008e0", True,
     "13345224609.738474920.8088930838d88f008e0", "slash_command"),
    (b"payload=%7B%22type%22%3A%22block_actions%22%2C%22trigger_id%22%3A%22t-1%22%7D", True, "t-1",
     "block_actions"),
    (b"\xff\xfe not json, not a form", False, None, None),
    (b"[" * 30_000 + b"]" * 30_000, False, None, None),  # nested too deep to parse
]  # fmt: skip


@pytest.mark.parametrize(("body", "ok", "ident", "event"), SLACK_BODIES)
def test_slack_bodies(body: bytes, ok: bool, ident: str | None, event: str | None) -> None:
    verdict = run("slack", sign("slack", body))
    assert (verdict.ok, verdict.delivery_id, verdict.event) == (ok, ident, event)


# --- Microsoft Graph --------------------------------------------------------------------------


def test_graph_validation_token_is_echoed_url_decoded_without_a_secret() -> None:
    delivery = Delivery(
        "POST",
        "/hooks/msgraph",
        "validationToken=Validation%3A+Testing%20client+application",
        {},
        b"",
    )
    verdict = run("msgraph", delivery, FakeSecrets(None, {}))
    assert verdict == Verdict(True, None, None, "validation",
                              Reply(200, "text/plain", b"Validation: Testing client application"))  # fmt: skip


def graph(*items: dict[str, object]) -> bytes:
    return json.dumps({"value": list(items)}).encode()


GOOD = {**GRAPH_ITEM, "clientState": SECRET.decode()}
GRAPH_CASES = [
    (graph(GOOD, {**GOOD, "clientState": "forged"}), "bad-client-state"),
    (graph(GOOD, {**GOOD, "clientState": 7}), "missing-client-state"),
    (graph(), "malformed"),
    (b'{"value": "x"}', "malformed"),
    (b"[1, 2]", "malformed"),
    (b"{not json", "malformed"),
    (b"[" * 30_000 + b"]" * 30_000, "malformed"),  # nested too deep to parse
    (graph(GOOD, {**GOOD, "changeType": "deleted"}), "mixed"),
    (graph({**GOOD, "lifecycleEvent": "reauthorizationRequired"}), "reauthorizationRequired"),
]


@pytest.mark.parametrize(("body", "outcome"), GRAPH_CASES)
def test_graph_notifications(body: bytes, outcome: str) -> None:
    verdict = run("msgraph", Delivery("POST", "/hooks/msgraph", "", {}, body))
    assert (verdict.event if verdict.ok else verdict.reason) == outcome


def test_graph_delivery_id_is_the_hash_of_the_canonical_items() -> None:
    body = graph(GOOD)
    canonical = json.dumps([GOOD], sort_keys=True, separators=(",", ":"))
    verdict = run("msgraph", Delivery("POST", "/hooks/msgraph", "", {}, body))
    assert verdict.delivery_id == hashlib.sha256(canonical.encode()).hexdigest()
    spaced = json.dumps({"value": [GOOD]}, indent=4).encode()  # re-serialized: same id
    assert run("msgraph", Delivery("POST", "/", "", {}, spaced)).delivery_id == verdict.delivery_id
    other = graph({**GOOD, "changeType": "updated"})
    assert run("msgraph", Delivery("POST", "/", "", {}, other)).delivery_id != verdict.delivery_id


# --- Connect JWT (jira, confluence) -----------------------------------------------------------


def jira(token: str, query: str = "", path: str = "/hooks/jira") -> Delivery:
    headers = {"x-atlassian-webhook-identifier": "wh-1"}
    if token:
        headers["authorization"] = f"JWT {token}"
    return Delivery("POST", path, query, headers, BODIES["jira"])


JWT_CASES: list[tuple[str, Callable[[], Delivery], str]] = [
    ("genuine", lambda: jira(connect_token()), "ok"),
    ("wrong qsh (another path)", lambda: jira(connect_token(path="/hooks/other")), "jwt-bad-qsh"),
    ("wrong qsh (another method)", lambda: jira(connect_token(method="GET")), "jwt-bad-qsh"),
    ("qsh missing", lambda: jira(connect_token(qsh=None)), "jwt-bad-qsh"),
    ("context-qsh refused on webhooks", lambda: jira(connect_token(qsh="context-qsh")), "jwt-bad-qsh"),
    ("query not covered", lambda: jira(connect_token(), query="extra=1"), "jwt-bad-qsh"),
    ("unknown client key", lambda: jira(connect_token(iss="jira:someone-else")), "jwt-unknown-issuer"),
    ("no issuer", lambda: jira(connect_token(iss=None)), "jwt-unknown-issuer"),
    ("wrong shared secret", lambda: jira(connect_token(secret=OTHER)), "jwt-bad-signature"),
    ("expired beyond the skew", lambda: jira(connect_token(exp=int(NOW) - 31)), "jwt-expired"),
    ("expired within the skew", lambda: jira(connect_token(exp=int(NOW) - 29)), "ok"),
    ("exp missing", lambda: jira(connect_token(exp=None)), "jwt-missing-exp"),
    ("exp not a number", lambda: jira(connect_token(exp="tomorrow")), "jwt-missing-exp"),
    ("iat in the future", lambda: jira(connect_token(iat=int(NOW) + 31)), "jwt-iat-future"),
    ("iat missing", lambda: jira(connect_token(iat=None)), "jwt-missing-iat"),
    ("nbf in the future", lambda: jira(connect_token(nbf=int(NOW) + 600)), "jwt-not-yet-valid"),
    ("alg none", lambda: jira(unsigned_token()), "jwt-alg"),
    ("alg HS512", lambda: jira(connect_token(alg="HS512")), "jwt-alg"),
    ("token in the query, jwt excluded from qsh",
     lambda: jira("", query=f"jwt={connect_token()}"), "ok"),
    ("token in the query with other params",
     lambda: jira("", query=f"b=2&jwt={connect_token(query='a=1&b=2')}&a=1"), "ok"),
    ("no token", lambda: jira(""), "missing-token"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "make", "outcome"), JWT_CASES, ids=[c[0] for c in JWT_CASES])
def test_connect_jwt(case: str, make: Callable[[], Delivery], outcome: str) -> None:
    verdict = run("jira", make())
    assert (verdict.reason or "ok") == outcome, case
    assert verdict.installation == (CLIENT_KEY if verdict.ok else None)


def test_rs256_is_refused_on_the_webhook_path(rsa_key: bytes) -> None:
    token = connect_token(secret=rsa_key, alg="RS256")
    assert run("jira", jira(token)).reason == "jwt-alg"


def test_app_base_path_is_stripped_for_the_qsh() -> None:
    delivery = jira(connect_token(path="/hooks/jira"), path="/mapper/hooks/jira")
    assert run("jira", delivery).reason == "jwt-bad-qsh"
    assert run("jira", delivery, base_path="/mapper").ok


def test_clock_skew_is_configurable() -> None:
    delivery = jira(connect_token(exp=int(NOW) - 10))
    assert run("jira", delivery).ok
    assert run("jira", delivery, clock_skew=5).reason == "jwt-expired"


def test_connect_event_falls_back_to_the_signed_query() -> None:
    body_without_event = Delivery("POST", "/hooks/confluence", "event=page_created",
                                  sign("confluence").headers, CONFLUENCE_BODY)  # fmt: skip
    assert run("confluence", body_without_event).event == "page_created"


# --- properties -------------------------------------------------------------------------------

BODY_SIGNED = [k for k in SOURCE_KINDS if KINDS[k].body_signed]


@pytest.mark.parametrize("kind", BODY_SIGNED)
@given(data=st.data())
def test_any_single_byte_change_to_a_signed_body_fails(kind: str, data: st.DataObject) -> None:
    genuine = sign(kind)
    at = data.draw(st.integers(0, len(genuine.body) - 1), label="at")
    new = data.draw(st.integers(0, 255).filter(lambda b: b != genuine.body[at]), label="byte")
    changed = replace(genuine, body=genuine.body[:at] + bytes([new]) + genuine.body[at + 1 :])
    assert run(kind, changed).reason == "bad-signature"


header_values = st.text(max_size=40) | st.sampled_from(["sha256=", "v0=", "JWT ", "JWT a.b.c"])


@pytest.mark.parametrize("kind", SOURCE_KINDS)
@given(body=st.binary(max_size=200), values=st.lists(header_values, min_size=5, max_size=5),
       query=st.text(max_size=40))  # fmt: skip
def test_arbitrary_deliveries_never_raise(
    kind: str, body: bytes, values: list[str], query: str
) -> None:
    names = [
        "x-hub-signature-256",
        "x-hub-signature",
        "x-gitlab-token",
        "x-slack-signature",
        "authorization",
    ]
    headers = dict(zip(names, values, strict=True)) | {"x-slack-request-timestamp": str(int(NOW))}
    verdict = run(kind, Delivery("POST", "/hooks/x", query, headers, body))
    assert verdict.ok in (True, False)
    assert verdict.ok or verdict.reason


@pytest.fixture(scope="module")
def rsa_key() -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())  # fmt: skip


# A delivery "expires" only where the source signs a time: Slack's timestamp (5 minutes) and the
# Connect JWT's exp. The others sign no time, so their verdict cannot depend on the clock; their
# replays are stopped by the server's delivery-id dedup (the id is stable, tested above).
SIGNED_TIME = {"slack": "stale-timestamp", "jira": "jwt-expired", "confluence": "jwt-expired"}


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_expired_delivery(kind: str) -> None:
    genuine = sign(kind)
    later = verify(kind, genuine, FakeSecrets(), now=NOW + 3600)
    if kind in SIGNED_TIME:
        assert (later.ok, later.reason) == (False, SIGNED_TIME[kind])
    else:
        assert later == run(kind, genuine) and later.ok
