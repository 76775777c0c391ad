"""`mapper state retire`: delete bodies for every id a state holds, for a source that is no
longer synced (a job taken out of a connector, a mapping replaced by another).

Its objects, users and groups would otherwise stay in Teamwork Graph: no later run of that
state sees them gone. The bodies go to an output folder written as a sync run writes its own
(staged, fsynced, swapped in whole), then the state marks every id deleted, in one
transaction committed after the folder is in place: a crash leaves the state as it was, and
running it again writes the same bodies.
"""

from __future__ import annotations

import json
from pathlib import Path

from mapper.io.atomic import write_atomic
from mapper.sync.deletes import delete_bodies, write_delete_bodies
from mapper.sync.outputs import RunFolder
from mapper.sync.runner import OUTPUT_FILES, REPORT_FILE
from mapper.sync.seen import Seen
from mapper.sync.state import StateStore, sqlite_errors, state_error


def retire(path: str | Path, output: str | Path) -> dict[str, int]:
    """Write delete bodies for every live id of the state into `output`, then mark them
    deleted; the number of ids per type.

    Raises:
        SyncStateError: the state is missing, locked, damaged or unwritable.
        OutputError: the output folder cannot be written (or holds foreign files).
    """
    if not Path(path).exists():
        raise state_error("sync.state-missing", path, "no such file")
    store = StateStore.open_for_run(path, None)
    folder: RunFolder | None = None
    try:
        folder = RunFolder(output, OUTPUT_FILES)
        nothing = Seen()  # (no id is seen: every live one goes)
        with sqlite_errors(path):
            connection = store.meta.get("connectionId", "")
            pairs = store.iter_unseen(nothing)
            counts, written = write_delete_bodies(folder.staging, delete_bodies(pairs), connection)
            store.mark_deleted(nothing)
        report = {"retired": {"state": str(path), "connectionId": connection, "byType": counts,
                              "batches": written}}  # fmt: skip
        write_atomic(folder.staging / REPORT_FILE, json.dumps(report, indent=2).encode() + b"\n")
        folder.commit()
        store.commit()
        return counts
    except BaseException:
        if folder is not None:
            folder.abort()
        raise
    finally:
        store.close()
