"""Named crash points, so tests can kill a real sync process at an exact step (no timing races).

With `MAPPER_SYNC_CRASH_AT=<point>` in the environment, the process sends itself SIGKILL when
it reaches that point. The points, in the order a run passes them: `objects-written` (the
first 100 objects are in the staging folder), `deletes-written`, `outputs-staged` (all
outputs are written and fsynced, not yet in place), `outputs-swapping` (the previous output
folder moved aside, the new one not yet in place), `outputs-committed` (outputs in place, the
state not yet committed) and `state-committed`.
"""

from __future__ import annotations

import os
import signal

CRASH_ENV = "MAPPER_SYNC_CRASH_AT"
POINTS = (
    "objects-written",
    "deletes-written",
    "outputs-staged",
    "outputs-swapping",
    "outputs-committed",
    "state-committed",
)


def crash_point(name: str) -> None:
    """Kill this process with SIGKILL when `MAPPER_SYNC_CRASH_AT` names this point."""
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
