"""The processing loop: inbox entries -> the sync stage -> numbered outbox folders.

One round takes the oldest pending deliveries, groups them by the mapping their route gives
their event, and runs one sync (`mapper.sync.runner.sync_files`, upsert, partial: a webhook
never shows a deletion) per mapping: each delivery body is one input file named after its
inbox id, so a line of the run's rejects file names the delivery it belongs to. The state is
one file per (route, mapping) under DATA/state/.

The order makes a crash anywhere harmless:

1. record the batch (its members) as running — one inbox transaction;
2. `sync_files` into DATA/outbox/SEQ: outputs committed, then the state (its own order);
3. record each member's outcome, the batch done, and settle the deliveries — one transaction.

After a crash, a running batch whose state run was committed is finished from its folder
(step 3 only); any other is run again into the same folder, and since its state was not
committed, it decides and writes the same objects. Nothing is emitted twice, no sequence
number goes back.
"""

from __future__ import annotations

import fcntl
import json
import logging
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from mapper.errors import MapperError
from mapper.serve.config import RouteMapping, ServeConfig
from mapper.serve.inbox import FILTERED, INBOX_FILE, Entry, Inbox
from mapper.sync.runner import REJECTS_FILE, REPORT_FILE, SyncRequest, sync_files
from mapper.sync.stage import Mode
from mapper.sync.state import StateStore

log = logging.getLogger("mapper.serve.worker")


LOCK_FILE = "worker.lock"
TRANSIENT = frozenset({"sync.state-locked"})
"""Sync failures that pass (another process holds the state: `mapper state forget`, a
`mapper sync` run by hand): the batch stays running, and is run again after a pause."""


class StateBusy(OSError):
    """A batch's sync met a transient failure (`TRANSIENT`): the round fails, is retried."""


def _locked(lock: BinaryIO) -> bool:
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Layout:
    """Where the server keeps its data, under the config's `data:` folder."""

    root: Path

    @property
    def inbox(self) -> Path:
        return self.root / INBOX_FILE

    def state(self, mapping: str) -> Path:
        return self.root / "state" / f"{mapping}.db"

    def outbox(self, seq: int) -> Path:
        return self.root / "outbox" / f"{seq:08d}"

    def staging(self, seq: int) -> Path:
        return self.root / "staging" / f"{seq:08d}"


Observer = Callable[[Entry, str], None]
"""Told (delivery, outcome) per settled delivery (the metrics, a request waiting for it)."""


class Worker:
    """Maps inbox entries through the sync stage, one batch per mapping at a time."""

    def __init__(
        self, config: ServeConfig, *, observe: Observer | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:  # fmt: skip
        self.config = config
        self.clock = clock  # epoch seconds: retention ages are measured with it
        self.pruned_at: float | None = None  # when the last retention pass ran
        self.pruned = 0  # deliveries removed by retention so far
        self.layout = Layout(config.data)
        self.inbox = Inbox(self.layout.inbox)
        self.observe = observe
        self.wake = threading.Event()
        self.stop = threading.Event()
        self.idle = threading.Event()  # set when a round found nothing pending
        self.failures = 0  # rounds that raised (shown by /healthz)

    def close(self) -> None:
        self.inbox.close()

    def serve_forever(self) -> None:
        """Recover, then process until `stop` is set; the current batch always finishes.

        One worker maps a data folder at a time: an exclusive lock on `DATA/worker.lock`
        (flock, released by the kernel when a process dies). A worker that finds it taken (a
        second server on the folder, or a previous one's worker finishing its batch) waits,
        polling: its server stores deliveries, and the worker holding the lock maps them.
        """
        self.config.data.mkdir(parents=True, exist_ok=True)
        with (self.config.data / LOCK_FILE).open("a+b") as lock:
            while not _locked(lock):
                if self.stop.wait(self.config.worker.poll_interval):
                    return
            self._serve()

    def _serve(self) -> None:
        failed = True  # start as after a failure: recover first
        while not self.stop.is_set():
            try:
                if failed:
                    self.recover()  # a batch the failure left running is finished or re-run
                    failed = False
                taken = self.round()
            except Exception as error:  # a full disk or a bug must not stop intake: retry later
                if isinstance(error, OSError | sqlite3.Error):
                    log.error("the worker round failed (%s); retrying", error)
                else:
                    log.exception("the worker round failed; retrying")
                self.failures += 1
                failed = True
                self.stop.wait(max(1.0, self.config.worker.poll_interval))
                continue
            if not taken:
                self._retain()
                self.idle.set()
                self.wake.wait(self.config.worker.poll_interval)
                self.wake.clear()

    def _retain(self) -> None:
        """A retention pass, when the inbox config keeps deliveries for a limited age and the
        last pass is `prune_interval` old (a failure is logged; intake goes on)."""
        keep, now = self.config.inbox.keep_seconds(), self.clock()
        due = self.pruned_at is None or now - self.pruned_at >= self.config.inbox.prune_interval
        if keep is None or not due:
            return
        self.pruned_at = now
        try:
            removed = self.inbox.prune(now - keep)
        except sqlite3.Error as error:
            log.error("the retention pass failed (%s); retrying later", error)
            return
        self.pruned += removed
        if removed:
            log.info("retention: removed %d processed deliveries older than %gs", removed, keep)

    def recover(self) -> None:
        """Finish or re-run the batches a crash left running."""
        for batch in self.inbox.running():
            mapping = self._mapping(batch.mapping)
            entries = self.inbox.entries(batch.members)
            if mapping is None:  # the config no longer has it: its deliveries are filtered
                for entry in entries:
                    self.inbox.filter_out(entry.id, f"mapping {batch.mapping} left the config")
                self.inbox.finish_batch(batch.seq, batch.mapping, {}, 0)
                continue
            if self._committed(batch.seq, mapping):
                self._finish(batch.seq, mapping, entries)
            else:
                self._run(batch.seq, mapping, entries)
            self._settle(entries)

    def round(self) -> int:
        """Process the oldest pending deliveries; returns how many were taken."""
        entries = self.inbox.pending(self.config.worker.batch_size)
        groups: dict[str, tuple[RouteMapping, list[Entry]]] = {}
        for entry in entries:
            mappings = self._mappings_of(entry)
            for mapping in mappings:
                groups.setdefault(mapping.key, (mapping, []))[1].append(entry)
        for key, (mapping, members) in groups.items():
            done = self.inbox.done_for(key, [e.id for e in members])
            todo = [e for e in members if e.id not in done]
            if todo:
                seq = self.inbox.start_batch(key, [e.id for e in todo])
                self._run(seq, mapping, todo)
        self._settle(entries)
        return len(entries)

    def _mappings_of(self, entry: Entry) -> tuple[RouteMapping, ...]:
        route = self.config.by_name(entry.route)
        mappings = route.events.get(entry.event or "", ()) if route else ()
        if not mappings:
            self.inbox.filter_out(entry.id, f"no mapping for event {entry.event}")
            self._observed(entry, FILTERED)
        return mappings

    def _settle(self, entries: list[Entry]) -> None:
        expected = {}
        for entry in entries:
            route = self.config.by_name(entry.route)
            count = len(route.events.get(entry.event or "", ())) if route else 0
            if count:
                expected[entry.id] = count
        by_id = {e.id: e for e in entries}
        for delivery, status in self.inbox.settle(expected):
            self._observed(by_id[delivery], status)

    def _observed(self, entry: Entry, outcome: str) -> None:
        if self.observe is not None:
            self.observe(entry, outcome)

    def _mapping(self, key: str) -> RouteMapping | None:
        for route in self.config.routes:
            for mapping in route.mappings():
                if mapping.key == key:
                    return mapping
        return None

    def _committed(self, seq: int, mapping: RouteMapping) -> bool:
        """True when the batch's sync run reached its state (so its folder is final)."""
        report = self.layout.outbox(seq) / REPORT_FILE
        state = self.layout.state(mapping.key)
        if not report.is_file() or not state.is_file():
            return False
        run = int(json.loads(report.read_bytes())["sync"]["run"])
        store = StateStore.open_for_reading(state)
        try:
            return store.next_run() > run
        finally:
            store.close()

    def _run(self, seq: int, mapping: RouteMapping, entries: list[Entry]) -> None:
        staging = self.layout.staging(seq)
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        inputs = []
        for entry in entries:
            path = staging / f"{entry.id}.json"
            path.write_bytes(entry.body)
            inputs.append(str(path))
        state = self.layout.state(mapping.key)
        state.parent.mkdir(parents=True, exist_ok=True)
        request = SyncRequest(
            state=state, output=self.layout.outbox(seq), mode=Mode.upsert,
            connection_id=self.config.connection_id, partial=True, params=dict(mapping.params),
            elsewhere=self._other_states(mapping),
        )  # fmt: skip
        try:
            sync_files(mapping.plan, inputs, request)
        except MapperError as error:
            if any(d.code in TRANSIENT for d in error.diagnostics):
                raise StateBusy(error.diagnostics[0].message) from error  # (the batch waits)
            reason = "; ".join(f"{d.code}: {d.message}" for d in error.diagnostics)
            log.error("batch %d (%s) failed: %s", seq, mapping.key, reason)
            failed = {e.id: [f"sync failed: {reason}"] for e in entries}
            self.inbox.finish_batch(seq, mapping.key, failed, 0)
            return
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        self._finish(seq, mapping, entries)

    def _other_states(self, mapping: RouteMapping) -> tuple[Path, ...]:
        """The states of the config's other mappings: a reference to what they hold is not
        dangling, and a pull request carries the repository another route's mapping sent."""
        keys = {m.key for route in self.config.routes for m in route.mappings()}
        return tuple(self.layout.state(key) for key in sorted(keys - {mapping.key}))

    def _finish(self, seq: int, mapping: RouteMapping, entries: list[Entry]) -> None:
        folder = self.layout.outbox(seq)
        outcomes: dict[int, list[str]] = {e.id: [] for e in entries}
        rejects = folder / REJECTS_FILE
        lines = rejects.read_bytes().splitlines() if rejects.is_file() else []
        for line in lines:
            entry = json.loads(line)
            if entry.get("heldBack"):  # waits for its parent: not the delivery's fault
                continue
            delivery = int(Path(entry["source"]).stem)
            index, pointer = entry.get("index"), entry.get("pointer", "")
            for diag in entry.get("diagnostics", []):
                where = f"record {index}{' ' + pointer if pointer else ''}"
                outcomes.setdefault(delivery, []).append(
                    f"{where}: {diag.get('code')}: {diag.get('message')}"
                )
        report = json.loads((folder / REPORT_FILE).read_bytes())
        totals = report["sync"].get("total", {})
        objects = sum(int(totals.get(k, 0)) for k in ("created", "updated", "carried"))
        self.inbox.finish_batch(seq, mapping.key, outcomes, objects)
