"""The outbox: the setObjects and delete batches the worker's sync runs wrote, in order.

Each done batch of the inbox is one folder DATA/outbox/SEQ (a sync output folder). `export`
writes every batch body of the batches not exported yet as its own file, named so that the
names sort in send order (SEQ-PART.setUsers.json, SEQ-PART.setGroups.json before
SEQ-PART.setObjects.json: the parts of a batch are numbered across its operations), and then
marks them exported: a batch is exported exactly once (a crash between the two rewrites the
same files under the same names). `ack` tells the server an ingesting process has taken the
batches up to SEQ: their folders are removed and they leave the list.
"""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from mapper.errors import Diagnostic, OutputError, UsageError
from mapper.io.atomic import write_atomic
from mapper.serve.inbox import Batch, Inbox
from mapper.serve.worker import Layout
from mapper.sync.bodies import BODY_FILES

KINDS = tuple((name, name.removesuffix(".jsonl")) for name in BODY_FILES)
"""(file of a sync output folder, operation), in send order."""


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One batch of the outbox, with its body counts per operation (in send order)."""

    batch: Batch
    bodies: dict[str, int]

    @property
    def set_bodies(self) -> int:
        """setObjects bodies."""
        return self.bodies.get("setObjects", 0)

    @property
    def delete_bodies(self) -> int:
        """deleteObjects bodies."""
        return self.bodies.get("deleteObjects", 0)

    @property
    def state(self) -> str:
        if self.batch.acked is not None:
            return "acked"
        return "exported" if self.batch.exported is not None else "ready"


def _open(data: Path) -> Inbox:
    layout = Layout(data)
    if not layout.inbox.is_file():
        message = f"{layout.inbox} does not exist: no server has run with this data folder"
        raise UsageError([Diagnostic("usage.invalid", message)])
    try:
        return Inbox(layout.inbox)
    except (OSError, sqlite3.Error) as error:
        message = f"cannot open {layout.inbox}: {error}"
        raise OutputError([Diagnostic("output.write-failed", message)]) from None


def _bodies(folder: Path, name: str) -> list[bytes]:
    path = folder / name
    return [line for line in path.read_bytes().splitlines() if line] if path.is_file() else []


def list_outbox(data: Path, *, include_acked: bool = False) -> list[OutboxEntry]:
    """The done batches, oldest first (acked ones only when asked)."""
    inbox = _open(data)
    try:
        batches = inbox.batches()
    finally:
        inbox.close()
    layout = Layout(data)
    found = []
    for batch in batches:
        if batch.acked is not None and not include_acked:
            continue
        folder = layout.outbox(batch.seq)
        counts = {kind: len(_bodies(folder, name)) for name, kind in KINDS}
        found.append(OutboxEntry(batch, counts))
    return found


def export_outbox(data: Path, dest: Path) -> list[Path]:
    """Write each body of the batches not exported yet to `dest`; returns the files, in order.

    Raises:
        UsageError: the data folder holds no inbox.
        OutputError: a file could not be written (nothing is marked exported then).
    """
    written: list[Path] = []
    exported: list[int] = []
    layout = Layout(data)
    for entry in list_outbox(data):
        if entry.batch.exported is not None:
            continue
        folder = layout.outbox(entry.batch.seq)
        bodies = ((kind, body) for name, kind in KINDS for body in _bodies(folder, name))
        for part, (kind, body) in enumerate(bodies, 1):
            path = dest / f"{entry.batch.seq:08d}-{part:04d}.{kind}.json"
            try:
                dest.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise OutputError(
                    [Diagnostic("output.write-failed", f"cannot write {dest}: {err}")]
                ) from err
            write_atomic(path, body + b"\n")
            written.append(path)
        exported.append(entry.batch.seq)
    inbox = _open(data)
    try:
        inbox.mark("exported", exported)
    finally:
        inbox.close()
    return written


def ack_outbox(data: Path, through: int) -> list[int]:
    """Acknowledge the exported batches up to `through`; returns their numbers.

    Raises:
        UsageError: the data folder holds no inbox, or a batch up to `through` is not exported.
    """
    entries = [e for e in list_outbox(data) if e.batch.seq <= through]
    unexported = [e.batch.seq for e in entries if e.batch.exported is None]
    if unexported:
        message = f"batch {unexported[0]} is not exported yet: export before acknowledging"
        raise UsageError([Diagnostic("usage.invalid", message)])
    seqs = [e.batch.seq for e in entries]
    inbox = _open(data)
    try:
        inbox.mark("acked", seqs)
    finally:
        inbox.close()
    layout = Layout(data)
    for seq in seqs:
        shutil.rmtree(layout.outbox(seq), ignore_errors=True)
    return seqs
