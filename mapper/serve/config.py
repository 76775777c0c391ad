"""Server configuration: YAML -> `ServeConfig` (routes, secrets, mappings per event), located.

Reading and positions come from the mapping loader and the shape is checked by pydantic via
`validate_shape`, so problems render as `file:line:col: loc: code` like those of mapping, jobs
and connector files. Each mapping a route names is loaded and compiled once here; a secret is
named (an environment variable or a file), never written in the YAML, and read at start-up.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from mapper.errors import Diagnostic, SourceSpan
from mapper.language.compiler import compile_mapping_file
from mapper.language.loader import parse_yaml
from mapper.language.mapfiles import read_mapping_file
from mapper.language.plan import Plan
from mapper.language.shapes import Shape, validate_shape
from mapper.language.sourcemap import SourceMap
from mapper.serve.sources import KINDS

SOURCE_KINDS = tuple(KINDS)
CONNECT_SOURCES = ("jira", "confluence")  # Atlassian Connect apps: lifecycle routes, JWTs

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
ConnectKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
RoutePath = Annotated[str, StringConstraints(pattern=r"^/[A-Za-z0-9._~/-]*$")]
_KINDS = {"literal_error": "invalid-value", "string_pattern_mismatch": "invalid-value"}


class SecretRef(Shape):
    """Where a route's secret is read from: an environment variable or a file (never inline)."""

    env: Name | None = Field(None, description="Environment variable holding the secret.")
    file: Name | None = Field(None, description="File holding the secret (relative to config).")

    @model_validator(mode="after")
    def _one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("name exactly one of env: or file:")
        return self


class Limits(Shape):
    """Request limits (per route, or the defaults of every route)."""

    max_body_bytes: int = Field(1_048_576, gt=0, description="Larger bodies get 413.")
    request_timeout: float = Field(10.0, gt=0, description="Seconds to read a body (408).")
    concurrency: int = Field(32, gt=0, description="Requests of one route handled at once.")
    queue_timeout: float | None = Field(
        None, gt=0, description="Seconds a request waits for a free slot before 503 "
        "(default: request_timeout).",
    )  # fmt: skip
    content_types: list[Name] = Field(
        ["application/json"], description="Accepted Content-Type values (else 415)."
    )


class ConnectApp(Shape):
    """A `jira`/`confluence` route is an Atlassian Connect app: how its lifecycle is trusted."""

    base_url: Name = Field(description="The app's baseUrl (its descriptor's; the JWT audience).")
    public_key: SecretRef | None = Field(
        None, description="Atlassian's RS256 public key (PEM) that signs lifecycle calls."
    )
    allow_first_install: bool = Field(
        False, description="Accept a new client key without a verifiable token (setup only)."
    )
    key: ConnectKey | None = Field(
        None, description="The app key in the descriptor (default: mapper- + the route name)."
    )
    name: Name | None = Field(None, description="The app name (default: mapper serve ROUTE).")
    scopes: list[Name] = Field(["READ"], description="The descriptor's scopes.")


class Route(Shape):
    """One webhook endpoint: its path, source kind, secret and mappings per event type."""

    path: RoutePath = Field(description="URL path the source posts to, e.g. /hooks/github.")
    name: Name | None = Field(None, description="Route name in metrics and state (default: path).")
    source: str = Field(description=f"Source kind: {', '.join(SOURCE_KINDS)}.")
    secret: SecretRef | None = Field(None, description="The shared secret (env: or file:).")
    events: dict[Name, Name | list[Name]] = Field(
        description="Event type -> mapping file(s), relative to the config file."
    )
    limits: Limits | None = Field(None, description="Overrides of the top-level limits.")
    params: dict[Name, str] = Field(
        {}, description="Values of the mappings' `params:` (e.g. workspace_url)."
    )
    connect: ConnectApp | None = Field(None, description="Required for jira and confluence.")
    ack: Literal["stored", "mapped"] = Field(
        "stored",
        description="stored: answer once the delivery is in the inbox; mapped: once the worker "
        "has mapped it too (the answer carries the outcome; 202 if that takes longer than "
        "the request timeout).",
    )

    @field_validator("source")
    @classmethod
    def _known_source(cls, value: str) -> str:
        if value not in SOURCE_KINDS:
            raise ValueError(f"unknown source {value!r}; known: {', '.join(SOURCE_KINDS)}")
        return value

    @model_validator(mode="after")
    def _connect_app(self) -> Route:
        if (self.source in CONNECT_SOURCES) != (self.connect is not None):
            raise ValueError(
                f"a {self.source} route {'needs' if self.connect is None else 'takes no'} "
                "connect: {base_url: ...} (Connect apps only: jira, confluence)"
            )
        return self


class Worker(Shape):
    """The background loop that maps inbox entries through the sync stage."""

    batch_size: int = Field(500, gt=0, description="Deliveries mapped per sync run at most.")
    poll_interval: float = Field(0.2, gt=0, description="Seconds between looks at the inbox.")
    process: bool = Field(
        False, description="Run the worker in its own process (the request process only "
        "verifies and stores); routes then cannot use ack: mapped.",
    )  # fmt: skip


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_age(text: str | float) -> float:
    """Seconds of an age: a number of seconds, or `N` + s/m/h/d (`7d`, `12h`); ValueError."""
    if isinstance(text, int | float):
        return float(text)
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", text)
    if found is None:
        raise ValueError(f"{text!r} is not an age (e.g. 7d, 12h, 30m, 3600s)")
    return float(found.group(1)) * _UNITS[found.group(2)]


class InboxSpec(Shape):
    """How long the inbox keeps processed deliveries."""

    keep: str | float | None = Field(
        "7d", description="Age (7d, 12h, 30m, seconds) after which processed deliveries are "
        "removed; null keeps them forever. A redelivery older than this is processed again.",
    )  # fmt: skip
    prune_interval: float = Field(
        300.0, gt=0, description="Seconds between the worker's retention passes."
    )

    @field_validator("keep")
    @classmethod
    def _age(cls, value: str | float | None) -> str | float | None:
        if value is not None and parse_age(value) <= 0:
            raise ValueError("keep must be a positive age")
        return value

    def keep_seconds(self) -> float | None:
        return None if self.keep is None else parse_age(self.keep)


class ServeSpec(Shape):
    """The whole `mapper serve` configuration file."""

    version: int = Field(1, ge=1, le=1)
    data: Name = Field(description="Folder of the inbox, states and outbox (relative to config).")
    connection_id: Name = Field(description="connectionId of every setObjects batch.")
    limits: Limits = Field(default_factory=Limits)
    worker: Worker = Field(default_factory=Worker)
    inbox: InboxSpec = Field(default_factory=InboxSpec)
    routes: list[Route] = Field(min_length=1)

    @model_validator(mode="after")
    def _ack_needs_the_worker_here(self) -> ServeSpec:
        if self.worker.process and any(r.ack == "mapped" for r in self.routes):
            raise ValueError("ack: mapped needs the worker in the server process (process: false)")
        return self


@dataclass(frozen=True, slots=True)
class RouteMapping:
    """One mapping of a route: its plan and the state file it syncs against."""

    key: str  # "ROUTE/STEM": the state file and the outbox name it writes
    plan: Plan
    params: tuple[tuple[str, str], ...] = ()  # the route's `params:`


@dataclass(frozen=True, slots=True)
class ConnectSettings:
    """A Connect route's lifecycle settings, its public key read."""

    base_url: str
    public_key: bytes | None
    allow_first_install: bool
    key: str = ""  # the descriptor's app key
    name: str = ""  # the descriptor's app name
    scopes: tuple[str, ...] = ("READ",)


@dataclass(frozen=True)
class ServeRoute:
    """A route ready to serve: its secret read, its mappings compiled."""

    name: str
    path: str
    source: str
    secret: bytes | None
    limits: Limits
    events: dict[str, tuple[RouteMapping, ...]]
    ack: str = "stored"
    connect: ConnectSettings | None = None

    def mappings(self) -> tuple[RouteMapping, ...]:
        """Every mapping of the route, each once."""
        seen: dict[str, RouteMapping] = {}
        for found in self.events.values():
            seen.update((m.key, m) for m in found)
        return tuple(seen.values())


@dataclass(frozen=True)
class ServeConfig:
    """A loaded configuration: where data goes, the routes, the worker settings."""

    path: Path
    data: Path
    connection_id: str
    worker: Worker
    routes: tuple[ServeRoute, ...]
    inbox: InboxSpec = field(default_factory=InboxSpec)

    def route(self, path: str) -> ServeRoute | None:
        return next((r for r in self.routes if r.path == path), None)

    def by_name(self, name: str) -> ServeRoute | None:
        return next((r for r in self.routes if r.name == name), None)


def load_config(
    path: Path, *, data: Path | None = None, environ: dict[str, str] | None = None
) -> tuple[ServeConfig | None, list[Diagnostic]]:
    """Read, shape-check and resolve a server configuration; never raises for bad input.

    Args:
        path: the config file; relative paths in it are relative to its folder.
        data: a data folder instead of the config's `data:`.
        environ: where `secret: {env: ...}` is looked up (default: os.environ).

    Returns:
        The configuration (None when it has any error) and every problem found, located in
        the config file, or in a mapping it names.
    """
    text, problem = read_mapping_file(path)
    if problem is not None:
        return None, [replace(problem, code=problem.code.replace("spec.", "serve.", 1))]
    folder = data
    data, smap, diags = parse_yaml(text or "", str(path))
    if data is None:
        empty = Diagnostic(
            "serve.empty", "the config file is empty", span=SourceSpan(str(path), 1, 1)
        )
        return None, [d for d in diags if d.code != "yaml.empty"] or [empty]
    spec, found = validate_shape(ServeSpec, data, smap, prefix="serve", kinds=_KINDS)
    diags += found
    if spec is None:
        return None, diags
    env = os.environ if environ is None else environ
    base = path.parent
    routes = tuple(_route(base, i, r, spec, smap, env, diags) for i, r in enumerate(spec.routes))
    _check_unique(routes, smap, diags)
    if any(d.is_error for d in diags):
        return None, diags
    folder = folder if folder is not None else base / spec.data
    config = ServeConfig(path, folder, spec.connection_id, spec.worker, routes, spec.inbox)
    return config, diags


def _route(
    base: Path, index: int, route: Route, spec: ServeSpec, smap: SourceMap,
    env: os._Environ[str] | dict[str, str], diags: list[Diagnostic],
) -> ServeRoute:  # fmt: skip
    loc = ("routes", index)
    name = route.name or _slug(route.path)
    secret = _secret(base, route.secret, env, smap, (*loc, "secret"), diags)
    compiled: dict[str, RouteMapping] = {}
    keys: dict[str, str] = {}  # state key -> the file that has it
    events: dict[str, tuple[RouteMapping, ...]] = {}
    for event, files in route.events.items():
        names = (files,) if isinstance(files, str) else files
        found = []
        for file in names:
            if file not in compiled:
                plan = _compile(base / file, smap, (*loc, "events", event), diags)
                if plan is None:
                    continue
                state_key = f"{name}/{_slug(Path(file).stem)}"
                if keys.setdefault(state_key, file) != file:
                    message = (
                        f"{keys[state_key]!r} and {file!r} are both called "
                        f"{Path(file).stem!r}: their state and outbox batches would be one"
                    )
                    where = (*loc, "events", event)
                    hint = "rename one of the files (the state is named after the file's stem)"
                    diag = Diagnostic("serve.duplicate-mapping", message, loc=where, hint=hint)
                    diags.append(smap.locate(diag))
                    continue
                compiled[file] = RouteMapping(state_key, plan, tuple(route.params.items()))
            found.append(compiled[file])
        # users and groups first: their batches are exported before the objects that name them
        found.sort(key=lambda mapping: not mapping.plan.identity_kinds)
        events[event] = tuple(found)
    limits = route.limits or spec.limits
    app = None
    if route.connect is not None:
        loc_key = (*loc, "connect", "public_key")
        pem = _secret(base, route.connect.public_key, env, smap, loc_key, diags)
        given = route.connect
        app = ConnectSettings(
            given.base_url, pem, given.allow_first_install, given.key or f"mapper-{name}"[:64],
            given.name or f"mapper serve {name}", tuple(given.scopes),
        )  # fmt: skip
    return ServeRoute(name, route.path, route.source, secret, limits, events, route.ack, app)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "root"


def _secret(
    base: Path, ref: SecretRef | None, env: os._Environ[str] | dict[str, str], smap: SourceMap,
    loc: tuple[str | int, ...], diags: list[Diagnostic],
) -> bytes | None:  # fmt: skip
    if ref is None:
        return None
    if ref.env is not None:
        value = env.get(ref.env)
        if not value:
            message = f"the environment variable {ref.env} (the route's secret) is not set"
            diags.append(smap.locate(Diagnostic("serve.secret-missing", message, loc=loc)))
            return None
        return value.encode()
    file = base / (ref.file or "")
    try:
        return file.read_bytes().strip()
    except OSError as err:
        message = f"cannot read the secret file {file}: {err.strerror or err}"
        diags.append(smap.locate(Diagnostic("serve.secret-missing", message, loc=loc)))
        return None


def _compile(
    path: Path, smap: SourceMap, loc: tuple[str | int, ...], diags: list[Diagnostic]
) -> Plan | None:
    if not path.is_file():
        message = f"mapping {str(path)!r} does not exist"
        diags.append(smap.locate(Diagnostic("serve.missing-mapping", message, loc=loc)))
        return None
    plan, errors = compile_mapping_file(path)
    diags.extend(errors)
    if plan is None:
        message = f"mapping {str(path)!r} has errors (reported in it)"
        diags.append(smap.locate(Diagnostic("serve.invalid-mapping", message, loc=loc)))
    return plan


RESERVED_PATHS = ("/healthz", "/metrics")


def _check_unique(routes: tuple[ServeRoute, ...], smap: SourceMap, diags: list[Diagnostic]) -> None:
    for index, route in enumerate(routes):
        if route.path in RESERVED_PATHS:
            message = f"{route.path} is the server's own endpoint; give the route another path"
            loc = ("routes", index, "path")
            diags.append(smap.locate(Diagnostic("serve.reserved-path", message, loc=loc)))
    for attr in ("path", "name"):
        seen: set[str] = set()
        for index, route in enumerate(routes):
            value = getattr(route, attr)
            if value in seen:
                message = f"two routes have the {attr} {value!r}"
                loc = ("routes", index, attr)
                diags.append(smap.locate(Diagnostic("serve.duplicate-route", message, loc=loc)))
            seen.add(value)
