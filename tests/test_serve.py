"""`mapper serve`: the config loader, and a real server process on 127.0.0.1 (HTTP, inbox,
worker, outbox), including a bounded load run and crash runs (SIGKILL) that must end with
every acknowledged delivery processed exactly once."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from mapper.errors import UsageError
from mapper.serve.config import load_config
from mapper.serve.outbox import ack_outbox, export_outbox, list_outbox
from tests.serve_support import (
    ROOT,
    SECRET,
    Server,
    concurrent,
    delivery_rows,
    headers,
    outbox_objects,
    push_body,
    send_all,
    split,
    write_config,
)

PUSH = ROOT / "mappings/github/push.yaml"

# -- the config loader: every problem located ---------------------------------------------------

GOOD_ROUTE = f"""\
  - path: /hooks/github
    source: github
    secret: {{env: GH_SECRET}}
    events: {{push: {PUSH}}}
"""
CONFIG_CASES = [
    ("unknown key", "routes:\n  - path: /h\n    source: github\n    event: {}\n",
     "serve.unknown-key", 7),
    ("unknown source", f"routes:\n  - path: /h\n    source: gitbub\n    events: {{push: {PUSH}}}\n",
     "serve.invalid-value", 6),
    ("secret unset", GOOD_ROUTE.replace("GH_SECRET", "NOT_SET_ANYWHERE").join(["routes:\n", ""]),
     "serve.secret-missing", 7),
    ("env and file", GOOD_ROUTE.replace("{env: GH_SECRET}", "{env: GH_SECRET, file: s.txt}")
     .join(["routes:\n", ""]), "serve.invalid-value", 7),
    ("missing mapping", GOOD_ROUTE.replace(str(PUSH), "nope.yaml").join(["routes:\n", ""]),
     "serve.missing-mapping", 8),
    ("duplicate path", "routes:\n" + GOOD_ROUTE + GOOD_ROUTE, "serve.duplicate-route", 9),
    ("reserved path", GOOD_ROUTE.replace("/hooks/github", "/metrics").join(["routes:\n", ""]),
     "serve.reserved-path", 5),
    ("bad path", GOOD_ROUTE.replace("/hooks/github", "hooks").join(["routes:\n", ""]),
     "serve.invalid-value", 5),
]  # fmt: skip


@pytest.mark.parametrize(("text", "code", "line"), [c[1:] for c in CONFIG_CASES],
                         ids=[c[0] for c in CONFIG_CASES])  # fmt: skip
def test_config_problems_are_located(tmp_path: Path, text: str, code: str, line: int) -> None:
    path = tmp_path / "serve.yaml"
    path.write_text("version: 1\ndata: d\nconnection_id: c\n" + text)
    config, diags = load_config(path, environ={"GH_SECRET": "x"})
    assert config is None
    found = [(d.code, d.span.line if d.span else None) for d in diags]
    assert (code, line) in found, found


def test_a_valid_config_reads_its_secret_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "s.txt").write_text("from-file\n")
    text = GOOD_ROUTE.replace("{env: GH_SECRET}", "{file: s.txt}")
    path = tmp_path / "serve.yaml"
    path.write_text("version: 1\ndata: d\nconnection_id: c\nroutes:\n" + text)
    config, diags = load_config(path, environ={})
    assert config is not None, diags
    route = config.routes[0]
    assert (route.secret, route.name, config.data) == (b"from-file", "hooks-github", tmp_path / "d")
    assert [m.key for m in route.mappings()] == ["hooks-github/push"]


def test_the_bundled_example_config_loads() -> None:
    config, diags = load_config(
        ROOT / "mappings/github/serve.yaml", environ={"GITHUB_WEBHOOK_SECRET": "x"}
    )
    assert config is not None, diags


def test_without_the_serve_extra_the_error_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mapper.serve.server import check_installed

    monkeypatch.setitem(sys.modules, "uvicorn", None)
    with pytest.raises(UsageError, match=r"pip install 'twg-mapper\[serve\]'"):
        check_installed()


# -- one server process: verification, limits, replay, outcomes, metrics, outbox ---------------


def _sent(
    server: Server, body: bytes, hdrs: dict[str, str], path: str = "/hooks/github"
) -> tuple[int, dict[str, Any]]:
    status, reply = server.request("POST", path, body, hdrs)
    return status, json.loads(reply)


BODY = push_body(1)
DEEP = b"[" * 30_000 + b"]" * 30_000  # (within max_body)
REQUESTS = [  # name, body, headers, status, outcome or error
    ("signed", BODY, headers(BODY, "r-1"), 202, "accepted"),
    ("replayed", BODY, headers(BODY, "r-1"), 200, "duplicate"),
    ("unsigned", BODY, {k: v for k, v in headers(BODY, "r-2").items() if "signature" not in k},
     401, "missing-signature"),
    ("tampered", BODY + b" ", headers(BODY, "r-3"), 401, "bad-signature"),
    ("wrong secret", BODY, headers(BODY, "r-4", secret="other"), 401, "bad-signature"),
    ("oversized", b"[" + b"0," * 40_000 + b"0]", headers(b"", "r-5"), 413, "too-large"),
    ("not json content type", BODY, {**headers(BODY, "r-6"), "content-type": "text/plain"},
     415, "unsupported-content-type"),
    ("not json", b"{nope", headers(b"{nope", "r-7"), 400, "not-json"),
    ("nested too deep to parse", DEEP, headers(DEEP, "r-10"), 400, "not-json"),
    ("unmapped event", b"{}", headers(b"{}", "r-8", event="ping"), 202, "filtered"),
    ("a second push", push_body(2), headers(push_body(2), "r-9"), 202, "accepted"),
]  # fmt: skip


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One server that has answered REQUESTS (in order) and mapped what it accepted."""
    folder = tmp_path_factory.mktemp("serve")
    with Server(write_config(folder, max_body=65_536, timeout=2)) as server:
        answers = {}
        for name, body, hdrs, *_ in REQUESTS:
            code, reply = _sent(server, body, hdrs)
            answers[name] = (code, reply.get("outcome", reply.get("error")))
        server.drained()
        yield server, folder / "data", answers


@pytest.mark.parametrize(("name", "status", "outcome"), [(r[0], r[3], r[4]) for r in REQUESTS],
                         ids=[r[0] for r in REQUESTS])  # fmt: skip
def test_each_delivery_gets_its_answer(served: Any, name: str, status: int, outcome: str) -> None:
    assert served[2][name] == (status, outcome)


def test_refused_deliveries_change_nothing_and_a_replay_is_not_processed_again(served: Any) -> None:
    rows = delivery_rows(served[1])
    assert {d: s for d, (s, _) in rows.items()} == {
        "r-1": "mapped", "r-8": "filtered", "r-9": "mapped",
    }  # fmt: skip
    assert {d: n for d, (_, n) in rows.items()} == {"r-1": 1, "r-8": 0, "r-9": 1}


def test_a_body_that_never_arrives_times_out(served: Any) -> None:
    import socket

    with socket.create_connection(("127.0.0.1", served[0].port), timeout=30) as sock:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers(BODY, "r-slow").items())
        request = f"POST /hooks/github HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n{head}\r\n"
        sock.sendall(request.encode() + b"{")  # 1 of the 100 bytes, then nothing
        assert sock.recv(200).startswith(b"HTTP/1.1 408 ")
    assert "r-slow" not in delivery_rows(served[1])


def test_metrics_and_access_log(served: Any) -> None:
    server = served[0]
    status, text = server.request("GET", "/metrics")
    metrics = text.decode()
    assert status == 200
    for line in (
        'mapper_serve_deliveries_total{outcome="mapped",route="hooks-github"}',
        'mapper_serve_deliveries_total{outcome="duplicate",route="hooks-github"}',
        'mapper_serve_verification_failures_total{reason="bad-signature",route="hooks-github"}',
        "mapper_serve_inbox_depth 0",
        'mapper_serve_mapping_seconds_count{route="hooks-github"}',
    ):
        assert line in metrics, line
    access = [json.loads(line) for line in server.log if line.startswith("{")]
    assert {"status", "path", "route", "outcome", "ms"} <= set(access[0])
    joined = "".join(server.log)
    assert SECRET not in joined and "sha256=" not in joined and "widget-service" not in joined


def test_outbox_export_gives_each_batch_once_and_ack_removes_it(
    served: Any, tmp_path: Path
) -> None:
    data = served[1]
    ready = list_outbox(data)
    assert ready and all(e.state == "ready" for e in ready)
    files = export_outbox(data, tmp_path / "out")
    assert files == sorted(files) and files
    objects = [o for f in files for o in json.loads(f.read_bytes())["objects"]]
    assert Counter(o["id"] for o in objects)["acme/widget-service"] == 2  # pushed again later
    assert export_outbox(data, tmp_path / "again") == []
    acked = ack_outbox(data, ready[-1].batch.seq)
    assert acked == [e.batch.seq for e in ready] and list_outbox(data) == []


def test_a_route_sends_users_before_the_objects(tmp_path: Path) -> None:
    """A mapping with `users:` rules: the outbox exports setUsers bodies first (names sort in
    send order: parts are numbered across the operations of a batch)."""
    mapping = tmp_path / "push-users.yaml"
    mapping.write_text((ROOT / "mappings/github/push.yaml").read_text() + (
        "users:\n  - fields:\n      externalId: sender.login\n"
        "      emails: \"[{value: pusher.email, primary: `true`}]\"\n"
    ))  # fmt: skip
    with Server(write_config(tmp_path, mapping=mapping)) as server:
        body = push_body(1)
        assert _sent(server, body, headers(body, "u-1"))[0] == 202
        server.drained()
    data = tmp_path / "data"
    (entry,) = list_outbox(data)
    assert entry.bodies["setUsers"] == 1 and entry.set_bodies >= 1
    files = export_outbox(data, tmp_path / "out")
    assert [f.name.split(".")[1] for f in files] == ["setUsers"] + ["setObjects"] * entry.set_bodies
    assert files == sorted(files)
    (sent,) = json.loads(files[0].read_bytes())["users"]
    assert sent == {"externalId": "octo-alice",
                    "emails": [{"value": "alice.chen@example.com", "primary": True}]}  # fmt: skip


def test_outbox_ack_refuses_unexported_batches(served: Any) -> None:
    server, data, _ = served
    body = push_body(3)
    assert _sent(server, body, headers(body, "r-10"))[0] == 202
    server.drained()
    with pytest.raises(UsageError, match="not exported"):
        ack_outbox(data, 10**6)


def test_ack_mapped_answers_with_the_outcome(tmp_path: Path) -> None:
    bad = json.loads(push_body(5))
    del bad["repository"]["full_name"]  # the repository id: its objects are rejected
    with Server(write_config(tmp_path, ack="mapped")) as server:
        good, rejected = push_body(4), json.dumps(bad).encode()
        assert _sent(server, good, headers(good, "m-1")) == (
            200, {"delivery": "m-1", "outcome": "mapped"},
        )  # fmt: skip
        assert _sent(server, rejected, headers(rejected, "m-2"))[1]["outcome"] == "rejected"
        assert list_outbox(tmp_path / "data")  # in the outbox before the answer
    rows = delivery_rows(tmp_path / "data")
    assert rows == {"m-1": ("mapped", 1), "m-2": ("rejected", 1)}
    import sqlite3

    conn = sqlite3.connect(tmp_path / "data" / "inbox.db")
    (diags,) = conn.execute("SELECT diagnostics FROM deliveries WHERE delivery_id='m-2'").fetchone()
    conn.close()
    assert json.loads(diags) and all(d.startswith("record 0") for d in json.loads(diags)), diags


# -- load and crash: every acknowledged delivery processed exactly once ----------------------


def _items(count: int, prefix: str = "d") -> list[tuple[str, bytes]]:
    return [(f"{prefix}{n}", push_body(n)) for n in range(count)]


def _exactly_once(data: Path, items: list[tuple[str, bytes]]) -> None:
    rows = delivery_rows(data)
    assert {d for d, _ in items} <= set(rows)
    assert Counter(s for s, _ in rows.values()) == Counter({"mapped": len(rows)})
    assert all(n == 1 for _, n in rows.values())
    seen = Counter[str]()
    usn: dict[str, int] = {}
    for _, obj in outbox_objects(data):
        seen[obj["id"]] += 1
        before = usn.get(obj["id"])
        assert before is None or obj["updateSequenceNumber"] > before, obj["id"]
        usn[obj["id"]] = obj["updateSequenceNumber"]
    commits = {o for o in seen if "@" in o}
    assert len(commits) == 2 * len(items)  # every commit of every delivery
    assert all(seen[c] == 1 for c in commits)  # none emitted twice


def test_load_four_senders_every_delivery_processed_once(tmp_path: Path) -> None:
    items = _items(400)
    with Server(write_config(tmp_path)) as server:
        acked = concurrent(server, split(items, 4))
        server.drained()
        assert sorted(acked) == sorted(d for d, _ in items)
    _exactly_once(tmp_path / "data", items)


def test_two_servers_on_one_data_folder_map_every_delivery_once(tmp_path: Path) -> None:
    """Both workers took the same pending deliveries: one sync found the state locked and its
    batch rejected deliveries the other had mapped (`sync failed: sync.state-locked`, never
    retried). One worker maps a data folder at a time; the other server only stores."""
    items = _items(120)
    config = write_config(tmp_path, batch=10)
    with Server(config) as first, Server(config) as second:
        acked: list[str] = []
        senders = [threading.Thread(target=send_all, args=(server, part, acked))
                   for server, part in zip((first, second, first, second), split(items, 4), strict=True)]  # fmt: skip
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        first.drained()
        assert sorted(acked) == sorted(d for d, _ in items)
    rows = delivery_rows(tmp_path / "data")
    assert {d: s for d, (s, _) in rows.items()} == {d: "mapped" for d, _ in items}
    _exactly_once(tmp_path / "data", items)


@pytest.mark.slow
def test_load_20000_deliveries(tmp_path: Path) -> None:
    items = _items(20_000)
    latencies: list[float] = []
    with Server(write_config(tmp_path, batch=500)) as server:
        acked = concurrent(server, split(items, 4), latencies=latencies)
        server.drained(timeout=600)
    assert len(acked) == len(items)
    _exactly_once(tmp_path / "data", items)


class _Acks(list[str]):
    """Acknowledged delivery ids; `reached` is set once there are `threshold` of them."""

    def __init__(self, threshold: int) -> None:
        super().__init__()
        self.threshold = threshold
        self.reached = threading.Event()
        self._lock = threading.Lock()

    def append(self, item: str) -> None:
        with self._lock:
            super().append(item)
            if len(self) >= self.threshold:
                self.reached.set()


CRASHES = [  # how the server stops: by the test during the load, or by itself at a sync step
    ("sigkill-during-load", {}, signal.SIGKILL, False),
    ("sigterm-during-load", {}, signal.SIGTERM, False),
    ("outputs-committed", {"MAPPER_SYNC_CRASH_AT": "outputs-committed"}, None, False),
    ("state-committed", {"MAPPER_SYNC_CRASH_AT": "state-committed"}, None, False),
    # the worker in its own process: the killed server's worker finishes its batch while the
    # next server starts; its lock keeps the two workers from overlapping
    ("sigkill-worker-process", {}, signal.SIGKILL, True),
]


@pytest.mark.parametrize(("env", "kill", "process"), [c[1:] for c in CRASHES],
                         ids=[c[0] for c in CRASHES])  # fmt: skip
def test_crash_then_restart_processes_every_acknowledged_delivery_once(
    tmp_path: Path, env: dict[str, str], kill: signal.Signals | None, process: bool
) -> None:
    items = _items(240)
    config = write_config(tmp_path, batch=40, process=process)
    acked = _Acks(threshold=100)
    first = Server(config, env=env).start()
    try:
        senders = [
            threading.Thread(target=_send_into, args=(first, part, acked))
            for part in split(items, 4)
        ]
        for t in senders:
            t.start()
        if kill is not None:
            assert acked.reached.wait(120)
            first.proc.send_signal(kill)  # type: ignore[union-attr]
        expected = 0 if kill is signal.SIGTERM else -signal.SIGKILL  # SIGTERM: a graceful stop
        assert first.proc is not None and first.proc.wait(120) == expected
        for t in senders:
            t.join()
    finally:
        first.stop(signal.SIGKILL)
    running = _running_batches(tmp_path / "data")
    if kill is None:  # the worker died inside its first sync: that batch is left running
        assert running == 1
    else:
        assert 0 < len(acked) < len(items)  # the stop came during the load
        assert kill is signal.SIGKILL or running == 0  # a graceful stop finishes its batch
    taken = set(acked)
    with Server(config) as second:  # the sender retries what was not acknowledged, and a few more
        retry = [i for i in items if i[0] not in taken] + [i for i in items if i[0] in taken][:10]
        again = concurrent(second, split(retry, 4))
        assert sorted(again) == sorted(d for d, _ in retry)
        second.drained()
        assert second.stop() == 0  # SIGTERM: a graceful stop
    _exactly_once(tmp_path / "data", items)


def _running_batches(data: Path) -> int:
    import sqlite3

    conn = sqlite3.connect(data / "inbox.db")
    try:
        return int(
            conn.execute("SELECT count(*) FROM batches WHERE status='running'").fetchone()[0]
        )
    finally:
        conn.close()


def _send_into(server: Server, items: list[tuple[str, bytes]], acked: _Acks) -> None:
    from tests.serve_support import send_all

    send_all(server, items, acked)


# -- the command line and the stores, in process -------------------------------------------------


def test_cli_exit_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from typer.testing import CliRunner

    from mapper.cli import app

    monkeypatch.setenv("SERVE_TEST_SECRET", SECRET)
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\ndata: d\nconnection_id: c\nroutes: []\n")
    runner = CliRunner()
    result = runner.invoke(app, ["serve", str(bad)])
    assert (result.exit_code, "bad.yaml:4:9" in result.output) == (1, True), result.output
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = runner.invoke(app, ["serve", str(write_config(tmp_path)), "--port", port])
    assert result.exit_code == 4 and "cannot listen" in result.output, result.output
    (tmp_path / "file").write_text("")
    result = runner.invoke(app, ["serve", str(write_config(tmp_path)), "--port", "0",
                                 "--data", str(tmp_path / "file" / "data")])  # fmt: skip
    assert result.exit_code == 4 and "cannot open the inbox" in result.output, result.output
    result = runner.invoke(app, ["outbox", "list", str(tmp_path / "nothing")])
    assert result.exit_code == 2 and "no server has run" in result.output, result.output


def test_connect_installations_are_kept_per_client_key(tmp_path: Path) -> None:
    from mapper.serve.app import RouteSecrets
    from mapper.serve.inbox import Inbox

    inbox = Inbox(tmp_path / "inbox.db")
    try:
        secrets = RouteSecrets(None, inbox)
        inbox.install("jira:1", "s1", "https://a.example")
        inbox.install("jira:1", "s2", "https://a.example")  # a reinstall replaces the secret
        assert (secrets.installation("jira:1"), secrets.installation("jira:2")) == (b"s2", None)
        inbox.uninstall("jira:1")
        assert secrets.installation("jira:1") is None and secrets.shared() is None
    finally:
        inbox.close()


def test_connect_lifecycle_then_a_signed_jira_webhook(tmp_path: Path) -> None:
    """In process (ASGI, no worker): a first install (allowed for the setup window), a
    re-install without a token refused, a Jira webhook signed with the stored secret stored, an
    uninstall signed by the installation, and the same webhook refused afterwards."""
    path = tmp_path / "serve.yaml"
    jira = ROOT / "mappings/jira/webhook-issue-created.yaml"
    path.write_text(
        "version: 1\ndata: data\nconnection_id: c\nroutes:\n  - path: /hooks/jira\n"
        "    source: jira\n    connect: {base_url: 'https://app.example', allow_first_install: true}\n"
        f"    events: {{'jira:issue_created': {jira}}}\n"
    )
    config, diags = load_config(path)
    assert config is not None, diags
    from mapper.serve.app import create_app

    asyncio.run(_connect_calls(create_app(config, worker=False)))
    rows = delivery_rows(tmp_path / "data")
    assert rows == {"wh-1": ("pending", 0)}


def _jwt(method: str, path: str, key: str, secret: str) -> str:
    import time

    import jwt

    from mapper.serve import connect

    now = int(time.time())
    claims = {"iss": key, "iat": now, "exp": now + 60, "qsh": connect.qsh(method, path, "")}
    return "JWT " + jwt.encode(claims, secret, algorithm="HS256")


S1 = "s" * 40  # a shared secret as long as Connect's (PyJWT warns below 32 bytes)


async def _connect_calls(app: Any) -> None:
    import httpx

    transport = httpx.ASGITransport(app=app)
    life = {"key": "app", "clientKey": "k1", "baseUrl": "https://acme.atlassian.net"}
    installed = {**life, "eventType": "installed", "sharedSecret": S1}
    uninstalled = {**life, "eventType": "uninstalled"}
    webhook = (ROOT / "samples/jira/webhook-issue-created.json").read_bytes()
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:

        async def post(path: str, body: Any, auth: str | None = None) -> tuple[int, str]:
            hdrs = {"content-type": "application/json", "x-atlassian-webhook-identifier": "wh-1"}
            if auth:
                hdrs["authorization"] = auth
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            reply = await client.post(path, content=raw, headers=hdrs)
            return reply.status_code, reply.text

        assert (await post("/hooks/jira/installed", installed))[0] == 204  # first install
        assert (await post("/hooks/jira/installed", {**installed, "sharedSecret": "e" * 40}))[
            0
        ] == 401
        assert (await post("/hooks/jira/installed", {"eventType": "installed"}))[0] == 400
        signed = _jwt("POST", "/hooks/jira", "k1", S1)
        assert (await post("/hooks/jira", webhook, signed))[0] == 202
        assert (await post("/hooks/jira", webhook, _jwt("POST", "/hooks/jira", "k1", "e" * 40)))[
            0
        ] == 401
        bye = _jwt("POST", "/hooks/jira/uninstalled", "k1", S1)
        assert (await post("/hooks/jira/uninstalled", uninstalled, bye))[0] == 204
        code, text = await post("/hooks/jira", webhook, signed)
        assert code == 401, text  # the installation is gone


def test_a_failing_round_is_recovered_and_nothing_is_left_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In process: the first sync raises (a full disk, say); the worker logs it, recovers the
    batch it left running and maps everything once."""
    from mapper.serve import worker as worker_module
    from mapper.serve.inbox import Inbox

    monkeypatch.setenv("SERVE_TEST_SECRET", SECRET)
    config, diags = load_config(write_config(tmp_path))
    assert config is not None, diags
    real, calls = worker_module.sync_files, []

    def flaky(*args: Any, **kw: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise OSError(28, "No space left on device")
        return real(*args, **kw)

    monkeypatch.setattr(worker_module, "sync_files", flaky)
    inbox = Inbox(tmp_path / "data" / "inbox.db")
    for n in range(3):
        inbox.add("hooks-github", f"f-{n}", "push", {}, push_body(n))
    inbox.close()
    worker = worker_module.Worker(config)
    thread = threading.Thread(target=worker.serve_forever)
    thread.start()
    try:
        assert worker.idle.wait(60)  # set once a round finds nothing pending
    finally:
        worker.stop.set()
        worker.wake.set()
        thread.join(60)
        worker.close()
    assert worker.failures == 1 and len(calls) == 2
    assert _running_batches(tmp_path / "data") == 0
    _exactly_once(tmp_path / "data", [(f"f-{n}", b"") for n in range(3)])


# -- the other shared-secret kinds over real HTTP, with their bundled samples and mappings -------


def _hub(secret: str, body: bytes) -> str:
    import hashlib
    import hmac

    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


KIND_ROUTES = [  # kind, event, sample, mapping, headers(secret, body, delivery id)
    ("gitlab", "Push Hook", "gitlab/push-webhook.json", "gitlab/push.yaml",
     lambda sec, body, d: {"x-gitlab-token": sec, "x-gitlab-event": "Push Hook",
                           "x-gitlab-event-uuid": d}),
    ("gitlab", "Merge Request Hook", "gitlab/merge-request-webhook.json",
     "gitlab/merge-request-webhook.yaml",
     lambda sec, body, d: {"x-gitlab-token": sec, "x-gitlab-event": "Merge Request Hook",
                           "x-gitlab-event-uuid": d}),
    ("bitbucket-cloud", "repo:push", "bitbucket-cloud/push-webhook.json",
     "bitbucket-cloud/push.yaml",
     lambda sec, body, d: {"x-hub-signature": _hub(sec, body), "x-event-key": "repo:push",
                           "x-request-uuid": d}),
    ("bitbucket-server", "repo:refs_changed", "bitbucket-server/refs-changed-webhook.json",
     "bitbucket-server/refs-changed.yaml",
     lambda sec, body, d: {"x-hub-signature": _hub(sec, body), "x-event-key": "repo:refs_changed",
                           "x-request-id": d}),
]  # fmt: skip


@pytest.fixture(scope="module")
def kinds_served(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("kinds")
    routes = {}
    for kind, event, _, mapping, _ in KIND_ROUTES:
        routes.setdefault(kind, []).append(f"      '{event}': {ROOT / 'mappings' / mapping}\n")
    text = "version: 1\ndata: data\nconnection_id: kinds\nroutes:\n" + "".join(
        f"  - path: /hooks/{kind}\n    source: {kind}\n    secret: {{env: SERVE_TEST_SECRET}}\n"
        f"    events:\n{''.join(events)}"
        for kind, events in routes.items()
    )
    (folder / "serve.yaml").write_text(text)
    with Server(folder / "serve.yaml") as server:
        yield server, folder / "data"


@pytest.mark.parametrize("case", KIND_ROUTES, ids=[f"{c[0]}-{c[1]}" for c in KIND_ROUTES])
def test_each_kind_signed_refused_replayed_and_mapped(kinds_served: Any, case: Any) -> None:
    server, data = kinds_served
    kind, event, sample, _, sign = case
    body = (ROOT / "samples" / sample).read_bytes()
    path, delivery = f"/hooks/{kind}", f"{kind}-{event}"
    json_type = {"content-type": "application/json"}
    signed = {**json_type, **sign(SECRET, body, delivery)}
    assert _sent(server, body, signed, path) == (202, {"delivery": delivery, "outcome": "accepted"})
    assert _sent(server, body, signed, path)[1]["outcome"] == "duplicate"  # a redelivery
    wrong = {**json_type, **sign("not-the-secret", body, delivery + "-x")}
    status, _ = server.request("POST", path, body, wrong)
    assert status == 401
    unsigned = {k: v for k, v in sign(SECRET, body, delivery + "-y").items() if "token" not in k
                and "signature" not in k}  # fmt: skip
    assert server.request("POST", path, body, {**json_type, **unsigned})[0] == 401
    server.drained()
    rows = delivery_rows(data)
    assert rows[delivery] == ("mapped", 1)
    assert delivery + "-x" not in rows and delivery + "-y" not in rows


def test_two_mappings_of_one_name_on_a_route_are_refused(tmp_path: Path) -> None:
    from mapper.serve.config import load_config

    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "push.yaml").write_text(PUSH.read_text())
    config = write_config(tmp_path)
    text = config.read_text().replace(f"push: {PUSH}", "push: [a/push.yaml, b/push.yaml]")
    config.write_text(text)
    _, diags = load_config(config, environ={"SERVE_TEST_SECRET": "x"})
    assert [d.code for d in diags if d.is_error] == ["serve.duplicate-mapping"]


def test_a_routes_users_mapping_runs_before_its_objects_mapping(tmp_path: Path) -> None:
    from mapper.serve.config import load_config

    users = tmp_path / "users.yaml"
    users.write_text("version: 1\nusers:\n  - fields:\n      externalId: sender.login\n"
                     "      emails: \"[{value: pusher.email}]\"\n")  # fmt: skip
    config = write_config(tmp_path)
    config.write_text(config.read_text().replace(f"push: {PUSH}", f"push: [{PUSH}, users.yaml]"))
    loaded, diags = load_config(config, environ={"SERVE_TEST_SECRET": "x"})
    assert loaded is not None and not [d for d in diags if d.is_error]
    (route,) = loaded.routes
    assert [m.key.split("/")[1] for m in route.events["push"]] == ["users", "push"]


def test_a_route_carries_the_repository_another_routes_mapping_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In process: each mapping of the config has its own state, and the others' are the batch
    a sync asks (`sync.elsewhere`): a commit that a mapping without a repository rule sends is
    not dangling, and carries the repository the push route's mapping sent, in its body."""
    from mapper.serve import worker as worker_module
    from mapper.serve.inbox import Inbox

    rules = PUSH.read_text().split("\n  - name: ")
    commits_only = tmp_path / "commits-only.yaml"
    commits_only.write_text("\n  - name: ".join(r for r in rules if not r.startswith("repository")))
    config_text = write_config(tmp_path).read_text() + (
        "  - path: /hooks/commits\n    source: github\n    secret: {env: SERVE_TEST_SECRET}\n"
        f"    events:\n      push: {commits_only}\n"
    )
    (tmp_path / "serve.yaml").write_text(config_text)
    monkeypatch.setenv("SERVE_TEST_SECRET", SECRET)
    config, diags = load_config(tmp_path / "serve.yaml")
    assert config is not None, diags
    for route in ("hooks-github", "hooks-commits"):  # one after the other: the push first
        inbox = Inbox(tmp_path / "data" / "inbox.db")
        inbox.add(route, f"d-{route}", "push", {}, push_body(1))
        inbox.close()
        worker = worker_module.Worker(config)
        try:
            while worker.round():
                pass
        finally:
            worker.close()
    by_batch: dict[int, list[dict[str, Any]]] = {}
    for seq, obj in outbox_objects(tmp_path / "data"):
        by_batch.setdefault(seq, []).append(obj)
    first, second = (by_batch[seq] for seq in sorted(by_batch))
    (repository,) = [o for o in first if "atlassian:repository" in o]
    assert second[0] == repository and len(second) == len(first)  # its commits, and it again
    reports = sorted((tmp_path / "data" / "outbox").glob("*/report.json"))
    findings = [f["code"] for f in json.loads(reports[-1].read_text())["sync"]["findings"]]
    assert "sync.dangling-reference" not in findings


def test_a_state_another_process_holds_makes_the_batch_wait_not_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In process: `mapper state forget` (or a sync by hand) holds a route's state while the
    worker maps: the batch stays running and is run again once the state is free; its
    deliveries are mapped, never rejected as `sync.state-locked`."""
    import sqlite3

    from mapper.serve import worker as worker_module
    from mapper.serve.inbox import Inbox

    monkeypatch.setenv("SERVE_TEST_SECRET", SECRET)
    config, diags = load_config(write_config(tmp_path))
    assert config is not None, diags
    data = tmp_path / "data"
    worker = worker_module.Worker(config)
    try:
        inbox = Inbox(data / "inbox.db")
        inbox.add("hooks-github", "d-1", "push", {}, push_body(1))
        assert worker.round() == 1  # (makes the state)
        inbox.add("hooks-github", "d-2", "push", {}, push_body(2))
        inbox.close()
        holder = sqlite3.connect(data / "state/hooks-github/push.db", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process's write lock
        with pytest.raises(worker_module.StateBusy):
            worker.round()
        assert _running_batches(data) == 1
        holder.execute("ROLLBACK")
        holder.close()
        worker.recover()  # (what the worker does after a failed round, after a pause)
    finally:
        worker.close()
    assert _running_batches(data) == 0
    _exactly_once(data, [("d-1", b""), ("d-2", b"")])
