"""`mapper serve` over real HTTP for the sources the GitHub-style tests leave out: a Jira
Connect app (its descriptor, the lifecycle, a JWT-signed webhook mapped), Slack Events API
deliveries, Microsoft Graph change notifications, and the 503 of a route whose concurrency is
full. One server process on 127.0.0.1, started by the fixture and stopped after."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

import jwt
import pytest

from mapper.serve import connect
from mapper.serve.config import ServeConfig, load_config
from tests.serve_support import (
    ROOT,
    SECRET,
    Server,
    delivery_rows,
    headers,
    outbox_objects,
    push_body,
    write_config,
)

APP_URL = "https://hooks.example.com"
SLACK = "https://acme-corp.slack.com/"
CLIENT_KEY = "jira:4c5f9a1e-client-key"
SHARED = "connect-shared-secret-" + "0123456789abcdef" * 3
CONFIG = f"""\
version: 1
data: data
connection_id: sources
routes:
  - path: /hooks/jira
    source: jira
    ack: mapped
    connect: {{base_url: '{APP_URL}', allow_first_install: true, key: mapper-jira-test}}
    events:
      'jira:issue_updated': {ROOT / "mappings/jira/webhook-issue-created.yaml"}
      comment_created: {ROOT / "mappings/jira/webhook-comment.yaml"}
  - path: /hooks/slack
    source: slack
    ack: mapped
    secret: {{env: SERVE_TEST_SECRET}}
    params: {{workspace_url: "https://acme-corp.slack.com"}}
    events: {{message: {ROOT / "mappings/slack/events-message.yaml"}}}
  - path: /hooks/graph
    source: msgraph
    secret: {{env: SERVE_TEST_SECRET}}
    events: {{}}
  - path: /hooks/narrow
    source: github
    secret: {{env: SERVE_TEST_SECRET}}
    limits: {{concurrency: 1, queue_timeout: 0.05, request_timeout: 60}}
    events: {{push: {ROOT / "mappings/github/push.yaml"}}}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("sources")
    (folder / "serve.yaml").write_text(CONFIG)
    with Server(folder / "serve.yaml") as running:
        yield running, folder / "data"


def _loaded(folder: Path, text: str, environ: dict[str, str] | None = None) -> ServeConfig:
    """A config file with `text` in `folder`, loaded (it must be valid)."""
    path = folder / "serve.yaml"
    path.write_text(text)
    config, diags = load_config(path, environ=environ)
    assert config is not None, diags
    return config


def _post(server: Server, path: str, body: bytes, hdrs: dict[str, str]) -> tuple[int, bytes]:
    return server.request("POST", path, body, {"content-type": "application/json", **hdrs})


# -- Jira: the descriptor, the lifecycle it names, a signed webhook mapped -------------------


def _jwt(method: str, path: str, secret: str, **claims: object) -> str:
    now = int(time.time())
    body = {"iss": CLIENT_KEY, "iat": now, "exp": now + 60, "qsh": connect.qsh(method, path, "")}
    return "JWT " + jwt.encode({**body, **claims}, secret, algorithm="HS256")


def test_jira_descriptor_lifecycle_and_a_signed_issue_updated_is_mapped(server: Any) -> None:
    running, data = server
    status, raw = running.request("GET", "/hooks/jira/atlassian-connect.json")
    assert status == 200
    app = json.loads(raw)
    assert (app["key"], app["baseUrl"], app["authentication"]) == (
        "mapper-jira-test", APP_URL, {"type": "jwt"},
    )  # fmt: skip
    lifecycle = app["lifecycle"]
    assert lifecycle == {"installed": "/hooks/jira/installed",
                         "uninstalled": "/hooks/jira/uninstalled"}  # fmt: skip
    hooks = app["modules"]["webhooks"]
    assert hooks == [{"event": "jira:issue_updated", "url": "/hooks/jira"},
                     {"event": "comment_created", "url": "/hooks/jira"}]  # fmt: skip
    # the URLs the descriptor names are the server's routes (base_url has no path here)
    installed = {"eventType": "installed", "key": app["key"], "clientKey": CLIENT_KEY,
                 "baseUrl": "https://acme.atlassian.net", "sharedSecret": SHARED}  # fmt: skip
    assert _post(running, lifecycle["installed"], json.dumps(installed).encode(), {})[0] == 204
    sample = json.loads((ROOT / "samples/jira/webhook-issue-created.json").read_bytes())
    body = json.dumps({**sample, "webhookEvent": "jira:issue_updated"}).encode()
    url = hooks[0]["url"]
    signed = {"authorization": _jwt("POST", url, SHARED),
              "x-atlassian-webhook-identifier": "jira-wh-1"}  # fmt: skip
    status, reply = _post(running, url, body, signed)
    assert (status, json.loads(reply)) == (200, {"delivery": "jira-wh-1", "outcome": "mapped"})
    wrong_qsh = {**signed, "authorization": _jwt("POST", url, SHARED, qsh="0" * 64),
                 "x-atlassian-webhook-identifier": "jira-wh-2"}  # fmt: skip
    assert _post(running, url, body, wrong_qsh)[0] == 401
    rows = delivery_rows(data)
    assert rows["jira-wh-1"] == ("mapped", 1) and "jira-wh-2" not in rows


# -- Slack Events API ----------------------------------------------------------------------


def _slack(body: bytes, stamp: int | None = None) -> dict[str, str]:
    stamp = int(time.time()) if stamp is None else stamp
    base = b"v0:" + str(stamp).encode() + b":" + body
    sig = "v0=" + hmac.new(SECRET.encode(), base, hashlib.sha256).hexdigest()
    return {"x-slack-request-timestamp": str(stamp), "x-slack-signature": sig}


SLACK_EVENT = json.loads((ROOT / "samples/slack/events/message-event.json").read_bytes())


def test_slack_url_verification_event_callback_and_stale_timestamp(server: Any) -> None:
    running, data = server
    challenge = json.dumps({"token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkv",
                            "type": "url_verification"}).encode()  # fmt: skip
    status, reply = _post(running, "/hooks/slack", challenge, _slack(challenge))
    assert (status, reply) == (200, b"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkv")
    body = json.dumps(SLACK_EVENT).encode()
    status, reply = _post(running, "/hooks/slack", body, _slack(body))
    assert (status, json.loads(reply)) == (200, {"delivery": "Ev06TWG0001", "outcome": "mapped"})
    stale = dict(SLACK_EVENT, event_id="Ev0STALE")
    raw = json.dumps(stale).encode()
    status, reply = _post(running, "/hooks/slack", raw, _slack(raw, int(time.time()) - 301))
    assert status == 401 and json.loads(reply) == {"error": "stale-timestamp"}
    rows = delivery_rows(data)
    assert rows["Ev06TWG0001"] == ("mapped", 1) and "Ev0STALE" not in rows
    ids = {obj["id"] for _, obj in outbox_objects(data) if obj.get("url", "").startswith(SLACK)}
    assert ids == {"C024BE91L-1714554000.123459"}  # the export mapping's id for this message


# -- Microsoft Graph change notifications ---------------------------------------------------


def _graph(state: str, message: str) -> bytes:
    item = {
        "subscriptionId": "7f105c7d-2dc5-4530-97cd-4e7ae6534c07", "changeType": "created",
        "clientState": state, "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95",
        "resource": f"teams('fbe2bf47')/channels('19:4a95f7d8')/messages('{message}')",
        "subscriptionExpirationDateTime": "2027-01-15T23:00:00.0000000Z",
        "resourceData": {"id": message, "@odata.type": "#Microsoft.Graph.chatMessage",
                         "@odata.id": f"teams('fbe2bf47')/channels('19:4a95f7d8')/messages('{message}')"},
    }  # fmt: skip
    return json.dumps({"value": [item]}).encode()


def test_graph_validation_echo_and_client_state(server: Any) -> None:
    running, data = server
    plain = {"content-type": "text/plain; charset=utf-8"}  # as Graph sends it, with no body
    status, reply = running.request(
        "POST", "/hooks/graph?validationToken=Validation%3A+Token%21", b"", plain
    )
    assert (status, reply) == (200, b"Validation: Token!")
    status, reply = _post(running, "/hooks/graph", _graph(SECRET, "1616965872395"), {})
    assert status == 202 and json.loads(reply)["outcome"] == "filtered"  # ids only: no body
    delivery = json.loads(reply)["delivery"]
    status, reply = _post(running, "/hooks/graph", _graph("not-the-state", "1616965872396"), {})
    assert status == 401 and json.loads(reply) == {"error": "bad-client-state"}
    assert delivery_rows(data)[delivery] == ("filtered", 0)


# -- a route whose concurrency is full answers 503 -----------------------------------------


def _in_flight(running: Server, route: str) -> float:
    text = running.request("GET", "/metrics")[1].decode()
    prefix = f'mapper_serve_in_flight{{route="{route}"}} '
    return next((float(line[len(prefix):]) for line in text.splitlines()
                 if line.startswith(prefix)), 0.0)  # fmt: skip


def test_a_full_route_answers_503_until_its_slot_frees(server: Any) -> None:
    running, data = server
    body = push_body(7001)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers(body, "narrow-held").items())
    with socket.create_connection(("127.0.0.1", running.port), timeout=60) as held:
        request = (
            f"POST /hooks/narrow HTTP/1.1\r\nhost: x\r\ncontent-length: {len(body)}\r\n{head}\r\n"
        )
        half = len(body) // 2
        held.sendall(request.encode() + body[:half])  # holds the route's only slot
        deadline = time.monotonic() + 60
        while _in_flight(running, "hooks-narrow") < 1:  # the server's own signal, no sleep
            assert time.monotonic() < deadline, "the held request never took its slot"
        other = push_body(7002)
        conn = running.connection()
        try:
            conn.request("POST", "/hooks/narrow", other, headers(other, "narrow-extra"))
            reply = conn.getresponse()
            answer = (reply.status, reply.getheader("retry-after"), json.loads(reply.read()))
        finally:
            conn.close()
        assert answer == (503, "1", {"error": "busy"})
        held.sendall(body[half:])
        assert held.recv(200).startswith(b"HTTP/1.1 202 ")
    assert _in_flight(running, "hooks-narrow") == 0
    status, _ = _post(running, "/hooks/narrow", other, headers(other, "narrow-extra"))
    assert status == 202  # the slot is free again: the retry is taken
    assert {"narrow-held", "narrow-extra"} <= set(delivery_rows(data))
    text = running.request("GET", "/metrics")[1].decode()
    assert 'mapper_serve_deliveries_total{outcome="refused",route="hooks-narrow"}' in text


# -- the descriptor of a Confluence app under a base URL with a path (in process) -----------


def test_confluence_descriptor_tags_each_webhook_with_its_event(tmp_path: Path) -> None:
    from mapper.serve.app import route_descriptor

    config = _loaded(
        tmp_path,
        "version: 1\ndata: d\nconnection_id: c\nroutes:\n  - path: /app/hooks/confluence\n"
        "    source: confluence\n"
        "    connect: {base_url: 'https://x.example/app/', public_key: {env: PEM}}\n"
        f"    events: {{page_created: {ROOT / 'mappings/github/push.yaml'}}}\n",
        {"PEM": "not checked here"},
    )
    app = route_descriptor(config.routes[0])
    assert (app["key"], app["baseUrl"], app["apiMigrations"]) == (
        "mapper-app-hooks-confluence", "https://x.example/app", {"signed-install": True},
    )  # fmt: skip
    assert app["lifecycle"] == {"installed": "/hooks/confluence/installed",
                                "uninstalled": "/hooks/confluence/uninstalled"}  # fmt: skip
    assert app["modules"] == {
        "webhooks": [{"event": "page_created", "url": "/hooks/confluence?event=page_created"}]
    }


# -- inbox retention: processed deliveries older than `inbox: {keep:}` are pruned -----------

RETENTION = [  # status, received (days ago), kept after a 7-day pass
    ("mapped", 8, False), ("rejected", 8, False), ("filtered", 8, False),
    ("pending", 8, True), ("mapped", 6, True),
]  # fmt: skip


def test_prune_removes_only_old_processed_deliveries(tmp_path: Path) -> None:
    from mapper.serve.inbox import Inbox

    inbox = Inbox(tmp_path / "inbox.db")
    try:
        now = 1_800_000_000.0
        for n, (status, days, _) in enumerate(RETENTION):
            inbox.add("r", f"d{n}", "push", {}, b"{}", status=status)
            inbox.conn.execute("UPDATE deliveries SET received=? WHERE delivery_id=?",
                               (now - days * 86400, f"d{n}"))  # fmt: skip
        assert inbox.prune(now - 7 * 86400) == 3
        kept = set(inbox.statuses())
        assert kept == {f"r/d{n}" for n, (_, _, keep) in enumerate(RETENTION) if keep}
    finally:
        inbox.close()


AGES = [("7d", 604800.0), ("12h", 43200.0), ("30m", 1800.0), (90, 90.0), (None, None)]


@pytest.mark.parametrize(("keep", "seconds"), AGES)
def test_inbox_keep_ages(tmp_path: Path, keep: object, seconds: float | None) -> None:
    config = _loaded(
        tmp_path,
        f"version: 1\ndata: d\nconnection_id: c\ninbox: {{keep: {json.dumps(keep)}}}\nroutes:\n"
        f"  - path: /h\n    source: github\n    secret: {{env: S}}\n"
        f"    events: {{push: {ROOT / 'mappings/github/push.yaml'}}}\n",
        {"S": "x"},
    )
    assert config.inbox.keep_seconds() == seconds


def test_a_bad_keep_is_located(tmp_path: Path) -> None:
    path = tmp_path / "serve.yaml"
    path.write_text("version: 1\ndata: d\nconnection_id: c\ninbox: {keep: 7 weeks}\nroutes: []\n")
    config, diags = load_config(path)
    assert config is None
    assert any(d.span and d.span.line == 4 and "not an age" in d.message for d in diags), diags


def test_the_worker_prunes_with_its_clock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In process: the worker maps three deliveries; a retention pass at the real time keeps
    them, one 8 days later (the injected clock) removes them, and the delivery id is free."""
    import threading

    from mapper.serve import worker as worker_module
    from mapper.serve.inbox import Inbox

    monkeypatch.setenv("SERVE_TEST_SECRET", SECRET)
    config, diags = load_config(write_config(tmp_path))
    assert config is not None, diags
    inbox = Inbox(tmp_path / "data" / "inbox.db")
    for n in range(3):
        inbox.add("hooks-github", f"k-{n}", "push", {}, push_body(n))
    now = [time.time()]
    worker = worker_module.Worker(config, clock=lambda: now[0])
    thread = threading.Thread(target=worker.serve_forever)
    thread.start()
    try:
        assert worker.idle.wait(60)  # mapped, and a first pass that kept them (too young)
        assert worker.pruned == 0 and len(inbox.statuses()) == 3
        now[0] += 8 * 86400
        worker.idle.clear()
        worker.wake.set()
        assert worker.idle.wait(60)
        assert worker.pruned == 3 and inbox.statuses() == {}
        assert inbox.add("hooks-github", "k-0", "push", {}, b"{}") is not None  # id free again
    finally:
        worker.stop.set()
        worker.wake.set()
        thread.join(60)
        worker.close()
        inbox.close()


@pytest.mark.parametrize("route_path", ["/hooks/jira", "/hooks/jira/"])
def test_connect_sub_paths_with_or_without_a_trailing_slash(
    tmp_path: Path, route_path: str
) -> None:
    """In process (ASGI, no worker): the descriptor and the lifecycle of the route are found."""
    import asyncio

    import httpx

    from mapper.serve.app import create_app

    config = _loaded(
        tmp_path,
        f"version: 1\ndata: data\nconnection_id: c\nroutes:\n  - path: {route_path}\n"
        f"    source: jira\n    connect: {{base_url: '{APP_URL}', allow_first_install: true}}\n"
        f"    events: {{'jira:issue_created': {ROOT / 'mappings/jira/webhook-issue-created.yaml'}}}\n",
    )
    installed = {"eventType": "installed", "key": "k", "clientKey": CLIENT_KEY,
                 "baseUrl": "https://acme.atlassian.net", "sharedSecret": SHARED}  # fmt: skip

    async def calls() -> tuple[int, str, int]:
        transport = httpx.ASGITransport(app=create_app(config, worker=False))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            got = await client.get("/hooks/jira/atlassian-connect.json")
            life = got.json()["lifecycle"]["installed"]
            done = await client.post(life, json=installed)
            return got.status_code, life, done.status_code

    assert asyncio.run(calls()) == (200, "/hooks/jira/installed", 204)


# -- the worker in its own process ------------------------------------------------------------


def _exited(pid: int, timeout: float) -> bool:
    """Wait (no polling) until process `pid` has exited: a pidfd is readable then."""
    import select

    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], timeout)[0])
    finally:
        os.close(fd)


def test_a_worker_process_maps_and_outlives_a_killed_server_only_for_its_batch(
    tmp_path: Path,
) -> None:
    """`worker: {process: true}`: deliveries are mapped by the child process; SIGKILL of the
    server makes the child stop by itself; the next server's worker maps the rest, each once."""
    import signal

    from tests.serve_support import concurrent, split

    config = write_config(tmp_path, batch=20, process=True)
    items = [(f"p{n}", push_body(n)) for n in range(60)]
    with Server(config) as first:
        acked = concurrent(first, split(items[:30], 2))
        health = first.drained()
        pid = health["workerPid"]
        assert pid != first.proc.pid  # type: ignore[union-attr]
        first.proc.send_signal(signal.SIGKILL)  # type: ignore[union-attr]
        assert _exited(pid, 60), "the worker process outlived its server"
    with Server(config) as second:
        acked += concurrent(second, split(items[30:], 2))
        assert second.drained()["workerPid"] != pid
        metrics = second.request("GET", "/metrics")[1].decode()
        assert 'mapper_serve_inbox_deliveries{status="mapped"} 60' in metrics  # the child's work
        child = second.drained()["workerPid"]
        os.kill(child, signal.SIGKILL)
        assert _exited(child, 60)
        status, body = second.request("GET", "/healthz")
        assert (status, json.loads(body)["status"]) == (503, "worker-exited")
        assert second.stop() == 0  # SIGTERM: the server stops its worker, then exits
    assert sorted(acked) == sorted(d for d, _ in items)
    rows = delivery_rows(tmp_path / "data")
    assert rows == {d: ("mapped", 1) for d, _ in items}


def test_ack_mapped_needs_the_worker_in_process(tmp_path: Path) -> None:
    path = write_config(tmp_path, ack="mapped", process=True)
    config, diags = load_config(path, environ={"SERVE_TEST_SECRET": "x"})
    assert config is None and any("ack: mapped needs" in d.message for d in diags), diags
