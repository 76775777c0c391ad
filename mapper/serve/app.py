"""The ASGI app: routes -> verify -> inbox (durable) -> 2xx; the worker maps in the background.

Per request, in this order: the route's concurrency slot (503 when none frees up within the
request timeout), the declared size (413), the content type (415), the body read within the
request timeout (408) and size limit (413), verification (401, nothing stored), a challenge
answered as the source expects, the JSON check (400), then one inbox commit and 202 — or
200 for a delivery id the route has seen before, which is not processed again. Events with
no mapping are stored as filtered and acknowledged. The access log (logger
`mapper.serve.access`) has one JSON line per request: never a body, a secret or a query.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import subprocess
import threading
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from mapper.serve import connect, process
from mapper.serve.config import CONNECT_SOURCES, ServeConfig, ServeRoute
from mapper.serve.inbox import FILTERED, PENDING, Entry, Inbox
from mapper.serve.metrics import Metrics
from mapper.serve.verify import Delivery, Verdict, VerifyOptions, verify
from mapper.serve.worker import Layout, Worker

access_log = logging.getLogger("mapper.serve.access")
_SECRET_WORDS = ("signature", "token", "secret", "authorization", "cookie", "jwt")


@dataclass(frozen=True)
class RouteSecrets:
    """A route's secrets: its shared one, and Connect installations' from the inbox."""

    secret: bytes | None
    inbox: Inbox

    def shared(self) -> bytes | None:
        return self.secret

    def installation(self, client_key: str) -> bytes | None:
        return self.inbox.installation_secret(client_key)


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers stored with a delivery: content type, user agent, x-* without secrets."""
    return {
        name: value for name, value in headers.items()
        if name in {"content-type", "user-agent"}
        or (name.startswith("x-") and not any(w in name for w in _SECRET_WORDS))
    }  # fmt: skip


class Intake:
    """The request side of the server: one inbox connection on the event loop."""

    def __init__(self, config: ServeConfig, metrics: Metrics) -> None:
        self.config = config
        self.metrics = metrics
        self.inbox = Inbox(Layout(config.data).inbox)
        self.slots = {r.name: asyncio.Semaphore(r.limits.concurrency) for r in config.routes}
        self.secrets = {r.name: RouteSecrets(r.secret, self.inbox) for r in config.routes}
        self.worker: Worker | None = None
        self.worker_pid: int | None = None  # the worker process (`worker: {process: true}`)
        self.child: subprocess.Popen[bytes] | None = None
        self.stopping = False
        self.waiting: dict[int, asyncio.Future[str]] = {}
        self.loop: asyncio.AbstractEventLoop | None = None

    async def handle(self, request: Request) -> Response:
        started = time.perf_counter()
        path = request.url.path
        route = self.config.route(path) or _connect_route(self.config, path)
        assert route is not None  # only configured paths reach here
        info: dict[str, object] = {"route": route.name}
        try:
            response = await self._guarded(route, request, info)
        except _Refused as refused:
            info["outcome"] = refused.reason
            if refused.status == 401:
                self.metrics.inc(
                    "mapper_serve_verification_failures_total",
                    route=route.name, reason=refused.reason,
                )  # fmt: skip
            self.metrics.delivered(route.name, "refused")
            response = JSONResponse({"error": refused.reason}, status_code=refused.status)
            if refused.status == 503:
                response.headers["retry-after"] = "1"
        _log(request, response.status_code, started, info)
        return response

    async def _guarded(
        self, route: ServeRoute, request: Request, info: dict[str, object]
    ) -> Response:
        slot, limits = self.slots[route.name], route.limits
        try:
            await asyncio.wait_for(slot.acquire(), limits.queue_timeout or limits.request_timeout)
        except TimeoutError:
            raise _Refused(503, "busy") from None
        self.metrics.add("mapper_serve_in_flight", 1, route=route.name)
        try:
            return await self._accept(route, request, info)
        finally:
            self.metrics.add("mapper_serve_in_flight", -1, route=route.name)
            slot.release()

    async def _received(self, route: ServeRoute, request: Request) -> Delivery:
        """The request with its body, within the route's limits (413, 415, 408)."""
        limits = route.limits
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limits.max_body_bytes:
            raise _Refused(413, "too-large")
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in limits.content_types and not _graph_validation(route, request):
            raise _Refused(415, "unsupported-content-type")
        try:
            body = await asyncio.wait_for(
                _read(request, limits.max_body_bytes), limits.request_timeout
            )
        except TimeoutError:
            raise _Refused(408, "timeout") from None
        headers = {k.lower(): v for k, v in request.headers.items()}
        return Delivery(request.method, request.url.path, request.url.query, headers, body)

    async def _verified(
        self, route: ServeRoute, request: Request
    ) -> tuple[bytes, dict[str, str], Verdict]:
        """The body within the limits, and the source's verdict on it (401 when refused)."""
        delivery = await self._received(route, request)
        options = VerifyOptions(max_body=route.limits.max_body_bytes, base_path=_base_path(route))
        secrets = self.secrets[route.name]
        verdict = verify(route.source, delivery, secrets, now=time.time(), options=options)
        if not verdict.ok:
            raise _Refused(401, verdict.reason or "unverified")
        return delivery.body, dict(delivery.headers), verdict

    async def _lifecycle(
        self, route: ServeRoute, request: Request, info: dict[str, object]
    ) -> Response:
        """Connect `installed` / `uninstalled`: keep or forget the installation's secret,
        as `connect.authenticate_lifecycle` decides (401 when it refuses, 400 when malformed)."""
        delivery = await self._received(route, request)
        settings = route.connect
        assert settings is not None  # lifecycle routes exist for Connect routes only
        policy = connect.LifecyclePolicy(
            settings.base_url, settings.public_key, settings.allow_first_install,
            base_path=_base_path(route),
        )  # fmt: skip
        action: connect.LifecycleEvent = (
            "installed" if delivery.path.endswith("/installed") else "uninstalled"
        )
        verdict = connect.authenticate_lifecycle(
            action, delivery, self.secrets[route.name], policy, now=time.time()
        )
        found = verdict.installation
        if not verdict.ok or found is None:
            status = 400 if verdict.reason == "malformed" else 401
            raise _Refused(status, verdict.reason or "unverified")
        if action == "installed":
            self.inbox.install(found.client_key, found.shared_secret or "", found.base_url)
        else:
            self.inbox.uninstall(found.client_key)
        info.update(outcome=action, installation=found.client_key, trust=verdict.trust)
        return Response(status_code=204)

    async def _accept(
        self, route: ServeRoute, request: Request, info: dict[str, object]
    ) -> Response:
        if request.url.path != route.path:
            return await self._lifecycle(route, request, info)
        body, headers, verdict = await self._verified(route, request)
        info.update(event=verdict.event, delivery=verdict.delivery_id)
        if verdict.reply is not None:
            info["outcome"] = "challenge"
            reply = verdict.reply
            return Response(reply.body, status_code=reply.status, media_type=reply.content_type)
        try:
            json.loads(body)
        except (ValueError, RecursionError):  # (RecursionError: nested too deep to parse)
            raise _Refused(400, "not-json") from None
        stored = self._store(route, verdict.delivery_id, verdict.event, headers, body, info)
        return await self._answer(route, *stored)

    async def _answer(self, route: ServeRoute, row: int | None, key: str, outcome: str) -> Response:
        """202 once stored; with `ack: mapped`, 200 with the outcome once the worker decided."""
        if row is not None and outcome == "accepted" and route.ack == "mapped":
            waiter = asyncio.get_running_loop().create_future()
            self.waiting[row] = waiter
            self._wake()
            try:
                outcome = await asyncio.wait_for(waiter, route.limits.request_timeout)
                return JSONResponse({"delivery": key, "outcome": outcome}, status_code=200)
            except TimeoutError:
                pass  # stored: the worker maps it later
            finally:
                self.waiting.pop(row, None)
        elif row is not None and outcome == "accepted":
            self._wake()
        return JSONResponse({"delivery": key, "outcome": outcome}, status_code=202 if row else 200)

    def _wake(self) -> None:
        if self.worker is not None:
            self.worker.idle.clear()
            self.worker.wake.set()

    def settled(self, entry: Entry, outcome: str) -> None:
        """Called by the worker thread per settled delivery: metrics, and a waiting request."""
        self.metrics.delivered(entry.route, outcome, time.time() - entry.received)
        waiter = self.waiting.get(entry.id)
        if waiter is not None and self.loop is not None:
            self.loop.call_soon_threadsafe(_resolve, waiter, outcome)

    def _store(
        self, route: ServeRoute, delivery_id: str | None, event: str | None,
        headers: dict[str, str], body: bytes, info: dict[str, object],
    ) -> tuple[int | None, str, str]:  # fmt: skip
        mapped = bool(route.events.get(event or ""))
        status, diags = (PENDING, []) if mapped else (FILTERED, [f"no mapping for event {event}"])
        key = delivery_id or f"generated-{uuid.uuid4().hex}"
        row = self.inbox.add(route.name, key, event, kept_headers(headers), body,
                             status=status, diagnostics=diags)  # fmt: skip
        outcome = ("accepted" if mapped else FILTERED) if row is not None else "duplicate"
        info["outcome"] = outcome
        self.metrics.delivered(route.name, outcome, 0.0 if outcome == FILTERED else None)
        return row, key, outcome

    async def healthz(self, request: Request) -> Response:
        """Liveness and inbox depth; `?wait=SECONDS` first waits (≤ 60 s) for an empty inbox."""
        await self._drained(request.query_params.get("wait", ""))
        alive = not self.stopping and (self.worker is None or not self.worker.stop.is_set())
        body: dict[str, object] = {
            "status": "ok" if alive else "stopping", "inboxDepth": self.inbox.depth(),
        }  # fmt: skip
        if self.worker is not None and self.worker.failures:
            body["workerFailures"] = self.worker.failures
        if self.worker_pid is not None:
            body["workerPid"] = self.worker_pid
        exited = None if self.child is None else self.child.poll()
        if exited is not None and not self.stopping:  # deliveries are stored, none is mapped
            body.update(status="worker-exited", workerExit=exited)
            return JSONResponse(body, status_code=503)
        return JSONResponse(body, status_code=200 if alive else 503)

    async def _drained(self, wait: str) -> None:
        try:
            seconds = min(float(wait or 0), 60.0)
        except ValueError:
            seconds = 0.0
        deadline = time.monotonic() + seconds
        if self.worker_pid is not None:  # another process maps: look at the inbox as it does
            while self.inbox.depth() and time.monotonic() < deadline:
                await asyncio.sleep(self.config.worker.poll_interval)
            return
        worker = self.worker
        while worker is not None and self.inbox.depth() and time.monotonic() < deadline:
            worker.idle.clear()  # set again once a round finds nothing pending
            remaining = deadline - time.monotonic()
            await asyncio.to_thread(worker.idle.wait, max(0.0, min(remaining, 1.0)))

    async def descriptor(self, request: Request) -> Response:
        """`GET PATH/atlassian-connect.json` of a Connect route: the app descriptor."""
        route = _connect_route(self.config, request.url.path)
        assert route is not None  # only Connect routes have this path
        return JSONResponse(route_descriptor(route))

    async def metrics_text(self, request: Request) -> Response:
        text = self.metrics.render(self.inbox.depth(), self.inbox.counts())
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")


DESCRIPTOR = "atlassian-connect.json"


def _connect_route(config: ServeConfig, path: str) -> ServeRoute | None:
    """The Connect route whose sub-path (`installed`, the descriptor, ...) `path` is."""
    parent = path.rsplit("/", 1)[0]
    found = (r for r in config.routes if r.source in CONNECT_SOURCES)
    return next((r for r in found if r.path.rstrip("/") == parent), None)


def route_descriptor(route: ServeRoute) -> dict[str, object]:
    """The Connect descriptor of a jira/confluence route: its lifecycle paths and one webhook
    per event of its event -> mapping table, every URL relative to the configured base_url.

    Confluence bodies carry no event name, so each of its webhook URLs gets `?event=NAME`.
    """
    settings = route.connect
    assert settings is not None  # Connect routes only
    local = connect.canonical_path(route.path, _base_path(route))
    app = connect.AppInfo(
        settings.key, settings.name, settings.base_url, scopes=settings.scopes,
        installed_path=f"{local.rstrip('/')}/installed",
        uninstalled_path=f"{local.rstrip('/')}/uninstalled",
        signed_install=settings.public_key is not None,
    )  # fmt: skip
    tagged = route.source == "confluence"
    hooks = [(e, f"{local}?event={quote(e)}" if tagged else local) for e in route.events]
    return connect.descriptor(app, hooks)


def _base_path(route: ServeRoute) -> str:
    """The path of a Connect app's base URL (stripped for the qsh); "" for other routes."""
    if route.connect is None:
        return ""
    return urlsplit(route.connect.base_url).path.rstrip("/")


def _graph_validation(route: ServeRoute, request: Request) -> bool:
    """Graph's subscription validation: a POST with `?validationToken=`, text/plain, no body."""
    return route.source == "msgraph" and "validationToken" in request.query_params


def _resolve(waiter: asyncio.Future[str], outcome: str) -> None:
    if not waiter.done():
        waiter.set_result(outcome)


async def _read(request: Request, limit: int) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _Refused(413, "too-large")
        chunks.append(chunk)
    return b"".join(chunks)


def _log(request: Request, status: int, started: float, info: dict[str, object]) -> None:
    if not access_log.isEnabledFor(logging.INFO):
        return
    entry = {
        "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "method": request.method,
        "path": request.url.path, "status": status,
        "ms": round((time.perf_counter() - started) * 1000, 2),
        "client": request.client.host if request.client else None,
        **{k: v for k, v in info.items() if v is not None},
    }  # fmt: skip
    access_log.info(json.dumps(entry))


def create_app(config: ServeConfig, *, worker: bool = True) -> Starlette:
    """The server for `config`; with `worker`, the processing loop runs beside it."""
    metrics = Metrics()
    intake = Intake(config, metrics)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        thread = child = None
        intake.loop = asyncio.get_running_loop()
        if worker and config.worker.process:
            child = intake.child = process.spawn(config)
            intake.worker_pid = child.pid
        elif worker:
            intake.worker = Worker(config, observe=intake.settled)
            thread = threading.Thread(
                target=intake.worker.serve_forever, name="mapper-serve-worker", daemon=True
            )
            thread.start()
        try:
            yield
        finally:
            intake.stopping = True
            if child is not None:
                await asyncio.to_thread(process.stop, child)
            if intake.worker is not None and thread is not None:
                intake.worker.stop.set()  # the current batch finishes; the inbox stays whole
                intake.worker.wake.set()
                await asyncio.to_thread(thread.join)
                intake.worker.close()
            intake.inbox.close()

    routes = [Route(r.path, intake.handle, methods=["POST"]) for r in config.routes]
    routes += [
        Route(f"{r.path.rstrip('/')}/{action}", intake.handle, methods=["POST"])
        for r in config.routes if r.source in CONNECT_SOURCES
        for action in ("installed", "uninstalled")
    ]  # fmt: skip
    routes += [
        Route(f"{r.path.rstrip('/')}/{DESCRIPTOR}", intake.descriptor, methods=["GET"])
        for r in config.routes if r.source in CONNECT_SOURCES
    ]  # fmt: skip
    routes += [
        Route("/healthz", intake.healthz, methods=["GET"]),
        Route("/metrics", intake.metrics_text, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
