"""Atlassian Connect for `mapper serve`: the query string hash, the JWT checks, the
`installed`/`uninstalled` lifecycle and the app descriptor. Pure and I/O-free: the server
stores installations and reads key files; this module only decides.

**Query string hash** (`qsh`): sha256 hex of the canonical request
`METHOD&path&canonical-query`: the method upper-cased; the path relative to the app's base URL
(`base_path` stripped), `&` written `%26`, no trailing slash except for `/` itself, as the
server passes it (not decoded again here); the query parsed (`+` is a space), the `jwt`
parameter left out, every name and value percent-encoded per RFC 3986 (unreserved
`A-Z a-z 0-9 - . _ ~` stay, a space is `%20`, `*` is `%2A`), parameters sorted by encoded
name, a repeated parameter's encoded values sorted and joined by `,`, pairs joined by `&`.

**Webhook tokens**: HS256 only, signed with the installation's shared secret; `iss` must be a
client key the server knows; `exp` and `iat` are required and checked against the injected
`now` with a clock skew (30 s by default); `qsh` must match the request. `alg: none`, HS384/512
and RS256 are refused on the webhook path (reason `jwt-alg`).

**Lifecycle calls** (the rule, since Atlassian's public-key server is out of reach):

- the `clientKey` is already installed (a re-install, or an uninstall): the call must carry a
  JWT whose `iss` is that client key, either HS256 signed with the *stored* shared secret (what
  Connect sends without signed install) or RS256 verified by the configured public key;
- the `clientKey` is new (a first install): with a configured public key PEM
  (`LifecyclePolicy.public_key_pem`, the key Atlassian's key server publishes for the token's
  `kid`, saved to a file) the call must carry an RS256 JWT that verifies against it, with
  `aud` = the app's base URL and the right `qsh`; without one it is accepted only when the
  route allows first installs (`allow_first_install`, meant for the setup window: anyone who
  can reach the endpoint can then register a client key), and refused otherwise;
- an `uninstalled` call for an unknown client key is refused (nothing to remove).

A stored installation can therefore never be overwritten by an unauthenticated call.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal
from urllib.parse import parse_qs, parse_qsl, quote

import jwt

from mapper.errors import Diagnostic, InputError, RecordRef, UsageError

if TYPE_CHECKING:
    from mapper.serve.verify import Delivery, Secrets

DEFAULT_CLOCK_SKEW = 30.0
LifecycleEvent = Literal["installed", "uninstalled"]


# --- the query string hash ------------------------------------------------------------------


def _encode(text: str) -> str:
    """RFC 3986 percent-encoding: only the unreserved characters stay."""
    return quote(text, safe="")


def canonical_path(path: str, base_path: str = "") -> str:
    """The path relative to the app's base URL, as the canonical request writes it."""
    base = base_path.rstrip("/")
    if base and (path == base or path.startswith(base + "/")):
        path = path[len(base) :]
    path = path.replace("&", "%26")
    if not path.startswith("/"):
        path = "/" + path
    return path[:-1] if len(path) > 1 and path.endswith("/") else path


def canonical_query(query: str) -> str:
    """The query without `jwt`, encoded, sorted, repeated values joined by `,`."""
    grouped: dict[str, list[str]] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name != "jwt":
            grouped.setdefault(_encode(name), []).append(_encode(value))
    return "&".join(f"{name}={','.join(sorted(grouped[name]))}" for name in sorted(grouped))


def canonical_request(method: str, path: str, query: str, *, base_path: str = "") -> str:
    """`METHOD&path&query` as Connect's query string hash covers it."""
    return f"{method.upper()}&{canonical_path(path, base_path)}&{canonical_query(query)}"


def qsh(method: str, path: str, query: str, *, base_path: str = "") -> str:
    """The `qsh` claim a Connect JWT for this request must carry (sha256 hex)."""
    text = canonical_request(method, path, query, base_path=base_path)
    return hashlib.sha256(text.encode()).hexdigest()


# --- tokens --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """The outcome of checking one Connect JWT: `issuer` is the verified client key."""

    ok: bool
    reason: str | None
    issuer: str | None = None
    alg: str | None = None


KeyLookup = Callable[[str, str], "bytes | str | None"]  # (alg, issuer) -> key, None: unknown


def query_param(query: str, name: str) -> str | None:
    """The first value of parameter `name` in a raw query string ("" if blank), or None."""
    values = parse_qs(query, keep_blank_values=True).get(name)
    return values[0] if values else None


def read_token(headers: Mapping[str, str], query: str) -> str | None:
    """The JWT of a request: `Authorization: JWT <token>`, else the `jwt` query parameter."""
    auth = headers.get("authorization", "")
    if auth[:4].lower() == "jwt ":
        return auth[4:].strip() or None
    return query_param(query, "jwt") or None


def _unverified(token: str) -> tuple[str, str] | str:
    """(alg, iss) read without checking the signature, or a failure reason."""
    try:
        parts = jwt.decode_complete(token, options={"verify_signature": False})
    except (jwt.PyJWTError, ValueError, TypeError):
        return "jwt-malformed"
    alg, issuer = parts["header"].get("alg"), parts["payload"].get("iss")
    if not isinstance(alg, str):
        return "jwt-alg"
    return (alg, issuer) if isinstance(issuer, str) and issuer else "jwt-unknown-issuer"


_NO_TIME_CHECKS = {
    "verify_exp": False, "verify_iat": False, "verify_nbf": False, "verify_aud": False,
    "verify_iss": False, "verify_sub": False, "verify_jti": False,
}  # fmt: skip  # the times are checked against the injected `now`


def _signed_claims(token: str, key: bytes | str, alg: str) -> dict[str, object] | str:
    """The claims if the signature verifies with `key` under `alg`, else a failure reason."""
    try:
        return jwt.decode(token, key, algorithms=[alg], options=_NO_TIME_CHECKS)  # type: ignore[arg-type]
    except jwt.InvalidSignatureError:
        return "jwt-bad-signature"
    except (jwt.PyJWTError, ValueError, TypeError):
        return "jwt-malformed"


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _time_problem(claims: Mapping[str, object], now: float, skew: float) -> str | None:
    exp, iat, nbf = (_number(claims.get(name)) for name in ("exp", "iat", "nbf"))
    if exp is None:
        return "jwt-missing-exp"
    if iat is None:
        return "jwt-missing-iat"
    if now > exp + skew:
        return "jwt-expired"
    if iat > now + skew:
        return "jwt-iat-future"
    if nbf is not None and nbf > now + skew:
        return "jwt-not-yet-valid"
    return None


def _audience_ok(claims: Mapping[str, object], audience: str | None) -> bool:
    if audience is None:
        return True
    aud = claims.get("aud")
    given = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    return any(isinstance(a, str) and a.rstrip("/") == audience.rstrip("/") for a in given)


@dataclass(frozen=True, slots=True)
class TokenRules:
    """What a token must satisfy besides its signature."""

    algorithms: frozenset[str] = frozenset({"HS256"})
    now: float = 0.0
    clock_skew: float = DEFAULT_CLOCK_SKEW
    base_path: str = ""
    audience: str | None = None  # required `aud` (RS256 lifecycle tokens), None: not checked


def check_token(
    token: str, method: str, path: str, query: str, keys: KeyLookup, rules: TokenRules
) -> TokenCheck:
    """Check a Connect JWT for one request; never raises for a bad token."""
    head = _unverified(token)
    if isinstance(head, str):
        return TokenCheck(False, head)
    alg, issuer = head
    if alg not in rules.algorithms:
        return TokenCheck(False, "jwt-alg", alg=alg)
    key = keys(alg, issuer)
    if key is None:
        return TokenCheck(False, "jwt-unknown-issuer", alg=alg)
    claims = _signed_claims(token, key, alg)
    if isinstance(claims, str):
        return TokenCheck(False, claims, alg=alg)
    problem = _time_problem(claims, rules.now, rules.clock_skew)
    if problem is None and not _audience_ok(claims, rules.audience):
        problem = "jwt-bad-audience"
    if problem is None:
        expected = qsh(method, path, query, base_path=rules.base_path).encode()
        given = claims.get("qsh")
        if not isinstance(given, str) or not hmac.compare_digest(given.encode(), expected):
            problem = "jwt-bad-qsh"
    return TokenCheck(problem is None, problem, issuer if problem is None else None, alg)


# --- lifecycle -----------------------------------------------------------------------------


class LifecycleError(InputError):
    """A lifecycle body that is not a valid `installed`/`uninstalled` payload."""


@dataclass(frozen=True, slots=True)
class Installation:
    """One `installed`/`uninstalled` payload: who installed the app, and its shared secret."""

    event_type: str
    key: str  # the app key
    client_key: str
    base_url: str  # the product instance, e.g. https://example.atlassian.net
    shared_secret: str | None = None  # required for `installed`
    display_url: str | None = None
    product_type: str | None = None
    description: str | None = None
    cloud_id: str | None = None
    installation_id: str | None = None


_REQUIRED = ("eventType", "key", "clientKey", "baseUrl")
_OPTIONAL = {
    "sharedSecret": "shared_secret", "displayUrl": "display_url", "productType": "product_type",
    "description": "description", "cloudId": "cloud_id", "installationId": "installation_id",
}  # fmt: skip


def _problem(code: str, message: str, source: str, pointer: str = "") -> LifecycleError:
    return LifecycleError([Diagnostic(code, message, record=RecordRef(source, 0, pointer))])


def _payload(body: bytes, source: str) -> dict[str, object]:
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        where = f" (line {exc.lineno}, column {exc.colno})"
        raise _problem("lifecycle.not-json", f"the body is not JSON{where}", source) from None
    except ValueError:  # not UTF-8
        raise _problem("lifecycle.not-json", "the body is not UTF-8 JSON", source) from None
    except RecursionError:
        raise _problem("lifecycle.not-json", "the body is nested too deep", source) from None
    if not isinstance(data, dict):
        raise _problem("lifecycle.not-object", "the body is not a JSON object", source)
    return data


def parse_lifecycle(body: bytes, source: str = "<lifecycle>") -> Installation:
    """The installation an `installed`/`uninstalled` body describes; LifecycleError if malformed.

    Errors carry `source` and the JSON pointer of the offending field.
    """
    data = _payload(body, source)
    for name in (*_REQUIRED, *_OPTIONAL):
        value = data.get(name)
        if value is None and name in _REQUIRED:
            raise _problem("lifecycle.missing-field", f"{name!r} is required", source, f"/{name}")
        if value is not None and not (isinstance(value, str) and value.strip()):
            raise _problem("lifecycle.bad-field", f"{name!r} must be a non-empty string",
                           source, f"/{name}")  # fmt: skip
    event = str(data["eventType"])
    if event not in ("installed", "uninstalled"):
        raise _problem("lifecycle.bad-event-type",
                       f"eventType {event!r} is neither 'installed' nor 'uninstalled'",
                       source, "/eventType")  # fmt: skip
    if event == "installed" and data.get("sharedSecret") is None:
        raise _problem("lifecycle.missing-field", "'sharedSecret' is required for 'installed'",
                       source, "/sharedSecret")  # fmt: skip
    extra = {field: data.get(name) for name, field in _OPTIONAL.items()}
    return Installation(event, str(data["key"]), str(data["clientKey"]), str(data["baseUrl"]),
                        **extra)  # type: ignore[arg-type]  # fmt: skip


@dataclass(frozen=True, slots=True)
class LifecyclePolicy:
    """How a route authenticates lifecycle calls (see the module docstring)."""

    app_base_url: str  # the descriptor's baseUrl: the `aud` of RS256 lifecycle tokens
    public_key_pem: bytes | None = None  # verifies RS256 (signed-install) tokens
    allow_first_install: bool = False  # accept a new client key without a verifiable token
    clock_skew: float = DEFAULT_CLOCK_SKEW
    base_path: str = ""  # path prefix of the app's base URL, stripped for the qsh


@dataclass(frozen=True, slots=True)
class LifecycleVerdict:
    """Whether to store (installed) or forget (uninstalled) `installation`.

    `trust` says how it was authenticated: "HS256", "RS256" or "first-install".
    """

    ok: bool
    reason: str | None
    installation: Installation | None = None
    trust: str | None = None
    diagnostics: tuple[Diagnostic, ...] = ()


def authenticate_lifecycle(
    event: LifecycleEvent,
    delivery: Delivery,
    secrets: Secrets,
    policy: LifecyclePolicy,
    *,
    now: float,
) -> LifecycleVerdict:
    """Decide one lifecycle call by the rule in the module docstring; never raises for it."""
    try:
        found = parse_lifecycle(delivery.body, delivery.path)
    except LifecycleError as exc:
        return LifecycleVerdict(False, "malformed", diagnostics=exc.diagnostics)
    if found.event_type != event:
        return LifecycleVerdict(False, "lifecycle-wrong-event", found)
    known = secrets.installation(found.client_key)
    token = read_token(delivery.headers, delivery.query)
    if known is None and event == "installed" and policy.public_key_pem is None:
        ok = policy.allow_first_install
        return LifecycleVerdict(ok, None if ok else "first-install-refused", found,
                                "first-install" if ok else None)  # fmt: skip
    if known is None and event == "uninstalled":
        return LifecycleVerdict(False, "unknown-installation", found)
    if token is None:
        return LifecycleVerdict(False, "missing-token", found)
    return _lifecycle_token(token, delivery, found, known, policy, now)


def _lifecycle_token(
    token: str,
    delivery: Delivery,
    found: Installation,
    known: bytes | None,
    policy: LifecyclePolicy,
    now: float,
) -> LifecycleVerdict:
    pem = policy.public_key_pem
    algorithms = frozenset({"HS256"} if known is not None else set()) | (
        {"RS256"} if pem is not None else set()
    )

    def keys(alg: str, issuer: str) -> bytes | None:
        if issuer != found.client_key:
            return None
        return pem if alg == "RS256" else known

    rs256 = _unverified(token)
    audience = policy.app_base_url if isinstance(rs256, tuple) and rs256[0] == "RS256" else None
    rules = TokenRules(algorithms, now, policy.clock_skew, policy.base_path, audience)
    check = check_token(token, delivery.method, delivery.path, delivery.query, keys, rules)
    if not check.ok:
        return LifecycleVerdict(False, check.reason, found)
    return LifecycleVerdict(True, None, found, check.alg)


# --- the descriptor ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AppInfo:
    """What the Connect descriptor says about the app."""

    key: str
    name: str
    base_url: str
    description: str | None = None
    vendor_name: str | None = None
    vendor_url: str | None = None
    scopes: tuple[str, ...] = ("READ",)
    installed_path: str = "/connect/installed"
    uninstalled_path: str = "/connect/uninstalled"
    signed_install: bool = False  # opt in to RS256-signed lifecycle calls


def _relative(url: str, what: str) -> str:
    if not url.startswith("/"):
        problem = Diagnostic(
            "descriptor.bad-url", f"{what} {url!r} must be a path relative to baseUrl"
        )
        raise UsageError([problem])
    return url


def descriptor(app: AppInfo, webhooks: Sequence[tuple[str, str]]) -> dict[str, object]:
    """The Connect app descriptor (only fields the Connect docs define) for these webhooks.

    `webhooks` are `(event, url)` pairs, `url` relative to `app.base_url`.
    """
    out: dict[str, object] = {"key": app.key, "name": app.name}
    if app.description:
        out["description"] = app.description
    if app.vendor_name or app.vendor_url:
        vendor = {"name": app.vendor_name, "url": app.vendor_url}
        out["vendor"] = {k: v for k, v in vendor.items() if v}
    out |= {
        "baseUrl": app.base_url.rstrip("/"),
        "authentication": {"type": "jwt"},
        "lifecycle": {
            "installed": _relative(app.installed_path, "installed"),
            "uninstalled": _relative(app.uninstalled_path, "uninstalled"),
        },
        "scopes": [s.upper() for s in app.scopes],
        "apiVersion": 1,
    }
    if app.signed_install:
        out["apiMigrations"] = {"signed-install": True}
    hooks = [{"event": event, "url": _relative(url, "webhook url")} for event, url in webhooks]
    out["modules"] = {"webhooks": hooks}
    return out
