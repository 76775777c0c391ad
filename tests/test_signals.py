"""`signals_to_main_thread`: helper threads never take the signals that stop a run."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import pytest

from mapper.io.atomic import AtomicFile
from mapper.signals import signals_to_main_thread

pytestmark = pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="POSIX only")
STOPS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]


def _mask_of_a_thread() -> set[int]:
    seen: set[int] = set()

    def look() -> None:
        seen.update(signal.pthread_sigmask(signal.SIG_BLOCK, []))

    thread = threading.Thread(target=look)
    thread.start()
    thread.join()
    return seen


@pytest.mark.parametrize("sig", STOPS)
def test_a_thread_started_inside_blocks_the_stop_signals(sig: signal.Signals) -> None:
    with signals_to_main_thread():
        inside = _mask_of_a_thread()
    assert sig in inside
    assert sig not in _mask_of_a_thread()  # threads started outside are as before


def test_the_main_thread_gets_its_mask_back() -> None:
    before = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    with signals_to_main_thread():
        assert set(STOPS) <= set(signal.pthread_sigmask(signal.SIG_BLOCK, []))
    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == before


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc")
def test_the_output_sync_thread_blocks_them(tmp_path: Path) -> None:
    """The thread that fsyncs a run's output while it is written (read from /proc)."""
    out = AtomicFile(tmp_path / "o.jsonl")
    out.sync_in_background(interval=60)
    try:
        assert out._syncing is not None
        thread, _ = out._syncing
        status = Path(f"/proc/self/task/{thread.native_id}/status").read_text()
        blocked = int(next(ln for ln in status.splitlines() if ln.startswith("SigBlk:")).split()[1],
                      16)
        assert all(blocked >> (sig - 1) & 1 for sig in STOPS)
    finally:
        out.abort()


def test_a_stop_signal_while_a_group_is_renamed_is_noted_and_the_renames_end_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C after the first of a run's files is renamed would leave it beside the previous
    run's others (a mix): it is noted, and every file is renamed."""
    import os

    from mapper.io.atomic import OutputGroup

    for name in ("a.jsonl", "b.jsonl"):
        (tmp_path / name).write_text("before\n")
    group = OutputGroup()
    for name in ("a.jsonl", "b.jsonl"):
        AtomicFile(tmp_path / name, group).write(b"after\n")
    renamed = AtomicFile.publish

    def publish(self: AtomicFile) -> None:
        renamed(self)
        if self.path.name == "a.jsonl":
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(AtomicFile, "publish", publish)
    group.publish()
    assert [(tmp_path / n).read_text() for n in ("a.jsonl", "b.jsonl")] == ["after\n"] * 2
    assert group.late_stops == [signal.SIGINT]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # given back
