"""Signals go to the main thread: the only one where Python acts on them."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

_STOP_SIGNALS = frozenset(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


@contextlib.contextmanager
def signals_to_main_thread() -> Iterator[None]:
    """Threads started inside do not take Ctrl-C, SIGTERM or SIGHUP: they inherit a mask that
    blocks them, so the kernel hands them to the main thread. Processes forked inside inherit it
    too, and call `unblock_stop_signals` once their own handlers are set: a signal that comes
    while one is forked waits until then (the parent's, until the block ends).

    Python acts on a signal in the main thread only. Were it delivered to a helper thread, the
    main thread would go on blocking in a read of standard input or a wait for the workers (the
    system call is not interrupted there) and see the signal only when that call returns: a
    Ctrl-C to `mapper run - --workers 2` was acted on only when the input ended.
    """
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no POSIX signal masks
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def unblock_stop_signals() -> None:
    """Take the stop signals again (in a process started inside `signals_to_main_thread`)."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)


@contextlib.contextmanager
def too_late_to_stop() -> Iterator[list[int]]:
    """Inside, Ctrl-C, SIGTERM and SIGHUP no longer stop the main thread: each is noted (the
    list gets its number) and the block goes on, so what it commits is committed whole. In
    another thread nothing changes (the signals go to the main thread)."""
    came: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield came
        return
    before = {number: signal.getsignal(number) for number in _STOP_SIGNALS}
    for number in _STOP_SIGNALS:
        signal.signal(number, lambda got, _frame: came.append(got))
    try:
        yield came
    finally:
        for number, handler in before.items():
            signal.signal(number, handler)
