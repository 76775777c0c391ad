"""Atlassian Connect (mapper/serve/connect.py): the canonical request and qsh, lifecycle
payloads, how lifecycle calls are authenticated, the descriptor; and the kinds table
(mapper/serve/sources.py) the README shows.

The seed document (shared/seeds/001, "Introduction to Atlassian Connect") gives no qsh example,
so the canonical requests below are known answers worked out by hand from the rules in
connect.py's docstring, and each qsh literal is `printf '%s' CANONICAL | sha256sum`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from urllib.parse import urlencode

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given
from hypothesis import strategies as st

from mapper.errors import UsageError
from mapper.serve.connect import (
    AppInfo,
    Installation,
    LifecycleError,
    LifecyclePolicy,
    authenticate_lifecycle,
    canonical_request,
    descriptor,
    parse_lifecycle,
    qsh,
)
from mapper.serve.sources import KINDS, describe_kinds
from mapper.serve.verify import SOURCE_KINDS, Delivery

ROOT = Path(__file__).resolve().parents[1]
NOW = 1_800_000_000

CANONICAL = [
    # (method, path, query, base_path, canonical request) — each worked out by hand:
    ("get", "/path/to/service",
     "zee_last=param&repeated=parameter%202&first=param&repeated=parameter%201&jwt=abc", "",
     # method upper-cased; jwt dropped; names sorted; repeated values sorted, joined by ","
     "GET&/path/to/service&first=param&repeated=parameter%201,parameter%202&zee_last=param"),
    ("POST", "", "", "", "POST&/&"),  # an empty path is "/"
    ("POST", "/", "", "", "POST&/&"),  # "/" keeps its slash
    ("POST", "/hooks/jira/", "", "", "POST&/hooks/jira&"),  # a trailing slash goes
    ("POST", "/app/hooks/jira", "", "/app", "POST&/hooks/jira&"),  # relative to the base URL
    ("POST", "/app", "", "/app/", "POST&/&"),
    ("POST", "/application/x", "", "/app", "POST&/application/x&"),  # not under /app
    ("POST", "/a&b", "", "", "POST&/a%26b&"),  # "&" in the path is %26
    ("GET", "/x", "q=a+b%2Ac~d%2F", "", "GET&/x&q=a%20b%2Ac~d%2F"),  # RFC 3986: + is a space
    ("GET", "/x", "flag&b=", "", "GET&/x&b=&flag="),  # blank values kept as "name="
    ("GET", "/x", "name=%C3%A9t%C3%A9", "", "GET&/x&name=%C3%A9t%C3%A9"),  # UTF-8 bytes
    ("GET", "/x", "a%20b=1&a=2", "", "GET&/x&a=2&a%20b=1"),  # sorted by encoded name
    ("GET", "/x", "jwt=a&jwt=b", "", "GET&/x&"),  # every jwt value dropped
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "query", "base", "expected"), CANONICAL)
def test_canonical_request(method: str, path: str, query: str, base: str, expected: str) -> None:
    assert canonical_request(method, path, query, base_path=base) == expected


QSH = [
    ("GET", "/", "", "c88caad15a1c1a900b8ac08aa9686f4e8184539bea1deda36e2f649430df3239"),
    ("POST", "/hooks/jira", "", "4127a3fc5343142d97b53d00161ec7b5ef4b7532351abf4639b8b88d66829f40"),
    ("get", "/path/to/service",
     "zee_last=param&repeated=parameter%202&first=param&repeated=parameter%201",
     "e52bb281606c3bd9ca16cfe96fe2df78f5d9ffa126f06befd750dfa10fa1a897"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "query", "expected"), QSH)
def test_qsh_known_answers(method: str, path: str, query: str, expected: str) -> None:
    assert qsh(method, path, query) == expected


params = st.lists(st.tuples(st.text(min_size=1, max_size=8), st.text(max_size=8)), max_size=6)


@given(pairs=params, order=st.randoms(use_true_random=False), token=st.text(max_size=20))
def test_qsh_ignores_parameter_order_and_the_jwt_parameter(
    pairs: list[tuple[str, str]], order: object, token: str
) -> None:
    pairs = [(k, v) for k, v in pairs if k != "jwt"]
    query = urlencode(pairs)
    shuffled = list(pairs)
    order.shuffle(shuffled)  # type: ignore[attr-defined]
    with_jwt = urlencode([*shuffled, ("jwt", token)])
    assert qsh("POST", "/x", with_jwt) == qsh("POST", "/x", query)


# --- lifecycle payloads -----------------------------------------------------------------------

INSTALLED = {
    "key": "twg-mapper", "clientKey": "jira:client-1", "sharedSecret": "s" * 64,
    "baseUrl": "https://example.atlassian.net", "displayUrl": "https://jira.example.com",
    "productType": "jira", "description": "Atlassian JIRA at https://example.atlassian.net",
    "eventType": "installed", "cloudId": "cloud-1", "serverVersion": "100264",
}  # fmt: skip
UNINSTALLED = {k: v for k, v in INSTALLED.items() if k != "sharedSecret"} | {
    "eventType": "uninstalled"
}


def body(data: object) -> bytes:
    return json.dumps(data).encode()


def test_parse_installed() -> None:
    assert parse_lifecycle(body(INSTALLED)) == Installation(
        "installed", "twg-mapper", "jira:client-1", "https://example.atlassian.net", "s" * 64,
        "https://jira.example.com", "jira", "Atlassian JIRA at https://example.atlassian.net",
        "cloud-1",
    )  # fmt: skip
    assert parse_lifecycle(body(UNINSTALLED)).shared_secret is None


MALFORMED_LIFECYCLE = [
    (b"{not json", "lifecycle.not-json", ""),
    (b"\xff", "lifecycle.not-json", ""),
    (b"[" * 30_000 + b"]" * 30_000, "lifecycle.not-json", ""),  # nested too deep to parse
    (b"[1]", "lifecycle.not-object", ""),
    (body({**INSTALLED, "clientKey": None}), "lifecycle.missing-field", "/clientKey"),
    (body({k: v for k, v in INSTALLED.items() if k != "baseUrl"}), "lifecycle.missing-field", "/baseUrl"),
    (body({**INSTALLED, "clientKey": 7}), "lifecycle.bad-field", "/clientKey"),
    (body({**INSTALLED, "displayUrl": " "}), "lifecycle.bad-field", "/displayUrl"),
    (body({**INSTALLED, "eventType": "enabled"}), "lifecycle.bad-event-type", "/eventType"),
    (body({k: v for k, v in INSTALLED.items() if k != "sharedSecret"}), "lifecycle.missing-field",
     "/sharedSecret"),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "code", "pointer"), MALFORMED_LIFECYCLE)
def test_malformed_lifecycle_bodies_are_located(raw: bytes, code: str, pointer: str) -> None:
    with pytest.raises(LifecycleError) as caught:
        parse_lifecycle(raw, "POST /connect/installed")
    (problem,) = caught.value.diagnostics
    assert problem.code == code
    assert problem.record is not None
    assert (problem.record.source, problem.record.pointer) == ("POST /connect/installed", pointer)


def test_not_json_says_where() -> None:
    with pytest.raises(LifecycleError, match=r"line 2, column 1"):
        parse_lifecycle(b'{"key": 1,\n}')


# --- authenticating lifecycle calls -----------------------------------------------------------

OLD_SECRET = b"o" * 64
APP_URL = "https://mapper.example.com"


class Stored:
    def __init__(self, installs: dict[str, bytes]) -> None:
        self.installs = installs

    def shared(self) -> bytes | None:
        return None

    def installation(self, client_key: str) -> bytes | None:
        return self.installs.get(client_key)


@pytest.fixture(scope="module")
def keypair() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())  # fmt: skip
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)  # fmt: skip
    return private, public


def lifecycle_call(
    payload: dict[str, object], key: bytes | None, alg: str = "HS256", **claims: object
) -> Delivery:
    event = str(payload["eventType"])
    path = f"/connect/{event}"
    headers = {"content-type": "application/json"}
    if key is not None:
        token_claims = {"iss": payload["clientKey"], "iat": NOW, "exp": NOW + 180,
                        "qsh": qsh("POST", path, "")} | claims  # fmt: skip
        if alg == "RS256":
            token_claims.setdefault("aud", APP_URL)
        headers["authorization"] = "JWT " + jwt.encode(token_claims, key, algorithm=alg)
    return Delivery("POST", path, "", headers, body(payload))


KNOWN = {"jira:client-1": OLD_SECRET}
HS_CASES = [
    # (case, payload, stored installs, signing key, allow first installs, reason or trust)
    ("first install allowed", INSTALLED, {}, None, True, "first-install"),
    ("first install refused", INSTALLED, {}, None, False, "first-install-refused"),
    ("re-install signed with the stored secret", INSTALLED, KNOWN, OLD_SECRET, False, "HS256"),
    ("re-install signed with the new secret", INSTALLED, KNOWN, b"s" * 64, True, "jwt-bad-signature"),
    ("re-install without a token", INSTALLED, KNOWN, None, True, "missing-token"),
    ("uninstall signed", UNINSTALLED, KNOWN, OLD_SECRET, False, "HS256"),
    ("uninstall unsigned", UNINSTALLED, KNOWN, None, False, "missing-token"),
    ("uninstall of an unknown client", UNINSTALLED, {}, OLD_SECRET, True, "unknown-installation"),
    ("alg none on a re-install", INSTALLED, KNOWN, OLD_SECRET, False, "jwt-alg"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "payload", "stored", "key", "first", "outcome"), HS_CASES,
                         ids=[c[0] for c in HS_CASES])  # fmt: skip
def test_lifecycle_hs256(case: str, payload: dict[str, object], stored: dict[str, bytes],
                         key: bytes | None, first: bool, outcome: str) -> None:  # fmt: skip
    delivery = lifecycle_call(payload, key)
    if case.startswith("alg none"):
        _, claims, _ = delivery.headers["authorization"][4:].split(".")
        none = jwt.utils.base64url_encode(b'{"alg":"none","typ":"JWT"}').decode()
        delivery = Delivery(delivery.method, delivery.path, "", {"authorization": f"JWT {none}.{claims}."},
                            delivery.body)  # fmt: skip
    policy = LifecyclePolicy(APP_URL, allow_first_install=first)
    event = "installed" if payload is INSTALLED else "uninstalled"
    verdict = authenticate_lifecycle(event, delivery, Stored(stored), policy, now=NOW)
    assert (verdict.trust if verdict.ok else verdict.reason) == outcome, case
    assert verdict.installation is not None and verdict.installation.client_key == "jira:client-1"


def test_token_issuer_must_be_the_body_client_key() -> None:
    delivery = lifecycle_call(INSTALLED, OLD_SECRET, iss="jira:other")
    policy = LifecyclePolicy(APP_URL)
    stored = Stored({"jira:client-1": OLD_SECRET, "jira:other": OLD_SECRET})
    verdict = authenticate_lifecycle("installed", delivery, stored, policy, now=NOW)
    assert verdict.reason == "jwt-unknown-issuer"


def test_lifecycle_event_must_match_the_endpoint() -> None:
    verdict = authenticate_lifecycle("uninstalled", lifecycle_call(INSTALLED, None), Stored({}),
                                     LifecyclePolicy(APP_URL, allow_first_install=True), now=NOW)  # fmt: skip
    assert verdict.reason == "lifecycle-wrong-event"


def test_malformed_lifecycle_body_is_refused_with_its_diagnostics() -> None:
    delivery = Delivery("POST", "/connect/installed", "", {}, b"[]")
    verdict = authenticate_lifecycle("installed", delivery, Stored({}),
                                     LifecyclePolicy(APP_URL, allow_first_install=True), now=NOW)  # fmt: skip
    assert (verdict.ok, verdict.reason) == (False, "malformed")
    assert [d.code for d in verdict.diagnostics] == ["lifecycle.not-object"]


RS_CASES = [
    ("first install, signed install", {}, {}, "RS256"),
    ("re-install, signed install", KNOWN, {}, "RS256"),
    ("wrong audience", {}, {"aud": "https://evil.example.com"}, "jwt-bad-audience"),
    ("no audience", {}, {"aud": None}, "jwt-bad-audience"),
    ("wrong qsh", {}, {"qsh": qsh("POST", "/connect/uninstalled", "")}, "jwt-bad-qsh"),
    ("expired", {}, {"exp": NOW - 60}, "jwt-expired"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "stored", "claims", "outcome"), RS_CASES,
                         ids=[c[0] for c in RS_CASES])  # fmt: skip
def test_lifecycle_rs256(case: str, stored: dict[str, bytes], claims: dict[str, object],
                         outcome: str, keypair: tuple[bytes, bytes]) -> None:  # fmt: skip
    private, public = keypair
    delivery = lifecycle_call(INSTALLED, private, "RS256", **claims)
    if claims.get("aud", 1) is None:  # re-sign without aud
        token_claims = {"iss": "jira:client-1", "iat": NOW, "exp": NOW + 180,
                        "qsh": qsh("POST", "/connect/installed", "")}  # fmt: skip
        token = jwt.encode(token_claims, private, algorithm="RS256")
        delivery = Delivery(
            "POST", delivery.path, "", {"authorization": f"JWT {token}"}, delivery.body
        )
    policy = LifecyclePolicy(APP_URL, public_key_pem=public)
    verdict = authenticate_lifecycle("installed", delivery, Stored(stored), policy, now=NOW)
    assert (verdict.trust if verdict.ok else verdict.reason) == outcome, case


def test_rs256_signed_by_another_key_is_refused(keypair: tuple[bytes, bytes]) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())  # fmt: skip
    policy = LifecyclePolicy(APP_URL, public_key_pem=keypair[1], allow_first_install=True)
    verdict = authenticate_lifecycle("installed", lifecycle_call(INSTALLED, pem, "RS256"),
                                     Stored({}), policy, now=NOW)  # fmt: skip
    assert verdict.reason == "jwt-bad-signature"


def test_with_a_public_key_a_first_install_needs_a_token(keypair: tuple[bytes, bytes]) -> None:
    policy = LifecyclePolicy(APP_URL, public_key_pem=keypair[1], allow_first_install=True)
    verdict = authenticate_lifecycle("installed", lifecycle_call(INSTALLED, None), Stored({}),
                                     policy, now=NOW)  # fmt: skip
    assert verdict.reason == "missing-token"


def test_hs256_token_signed_with_the_public_key_is_refused(keypair: tuple[bytes, bytes]) -> None:
    """The algorithm-confusion attack: HS256 keyed with the (public) PEM text."""
    header = jwt.utils.base64url_encode(b'{"alg":"HS256","typ":"JWT"}')
    claims = {"iss": "jira:client-1", "iat": NOW, "exp": NOW + 180,
              "qsh": qsh("POST", "/connect/installed", "")}  # fmt: skip
    payload = jwt.utils.base64url_encode(json.dumps(claims).encode())
    signature = hmac.new(keypair[1], header + b"." + payload, hashlib.sha256).digest()
    token = b".".join([header, payload, jwt.utils.base64url_encode(signature)]).decode()
    delivery = Delivery("POST", "/connect/installed", "", {"authorization": f"JWT {token}"},
                        body(INSTALLED))  # fmt: skip
    policy = LifecyclePolicy(APP_URL, public_key_pem=keypair[1])
    verdict = authenticate_lifecycle("installed", delivery, Stored({}), policy, now=NOW)
    assert verdict.reason == "jwt-alg"  # a new client key: only RS256 is allowed


# --- the descriptor ---------------------------------------------------------------------------


def test_descriptor() -> None:
    app = AppInfo("twg-mapper", "TWG mapper", "https://mapper.example.com/", "Maps Jira to TWG",
                  "Example Co", "https://example.com", ("read",), signed_install=True)  # fmt: skip
    hooks = [("jira:issue_created", "/hooks/jira"), ("comment_created", "/hooks/jira")]
    assert descriptor(app, hooks) == {
        "key": "twg-mapper",
        "name": "TWG mapper",
        "description": "Maps Jira to TWG",
        "vendor": {"name": "Example Co", "url": "https://example.com"},
        "baseUrl": "https://mapper.example.com",
        "authentication": {"type": "jwt"},
        "lifecycle": {"installed": "/connect/installed", "uninstalled": "/connect/uninstalled"},
        "scopes": ["READ"],
        "apiVersion": 1,
        "apiMigrations": {"signed-install": True},
        "modules": {"webhooks": [{"event": "jira:issue_created", "url": "/hooks/jira"},
                                 {"event": "comment_created", "url": "/hooks/jira"}]},
    }  # fmt: skip
    minimal = descriptor(AppInfo("k", "n", "https://x"), [])
    assert "vendor" not in minimal and "apiMigrations" not in minimal
    assert minimal["modules"] == {"webhooks": []}


def test_descriptor_refuses_absolute_webhook_urls() -> None:
    with pytest.raises(UsageError) as caught:
        descriptor(AppInfo("k", "n", "https://x"), [("jira:issue_created", "https://evil/x")])
    assert [d.code for d in caught.value.diagnostics] == ["descriptor.bad-url"]


# --- the kinds table --------------------------------------------------------------------------


def test_every_kind_has_a_row() -> None:
    assert tuple(KINDS) == SOURCE_KINDS
    assert all(f"| `{kind}` |" in describe_kinds() for kind in SOURCE_KINDS)


def test_readme_shows_the_kinds_table() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert describe_kinds() in readme
