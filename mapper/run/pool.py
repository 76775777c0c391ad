"""Worker processes for `mapper.run.parallel`: each with its own pipe, results back in task order.

Unlike `multiprocessing.Pool` there are no helper threads (its worker handler spins while results
wait to be read), a worker that dies stops the run instead of hanging it, and a worker whose
parent is gone (killed) stops instead of waiting forever. `Turns` hands out running totals in
task order across the workers. A worker that is let finish (`Pool.close(graceful=True)`) sends
back what its `finish` hook returns, once it has run every task it was given.
"""

from __future__ import annotations

import os
import signal
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from mapper.errors import Diagnostic, OutputError
from mapper.io.atomic import output_error
from mapper.signals import signals_to_main_thread, unblock_stop_signals

PATIENCE_S = 1.0  # how often a waiting worker checks that its parent still lives
TASKS_PER_WORKER = 1  # with two (one waiting behind the one being mapped) a worker waited for
# the other to begin the part before its own: 0.16 s idle per worker (W3 100k at load 2), 0.06 s

Task = tuple[int, Any]  # (number, payload); numbers run 0, 1, 2, ...


class Turns:
    """Running totals handed out in part order, across processes.

    Part k waits until parts 0..k-1 have claimed, then gets the totals of their amounts. A part
    that starts a new file restarts the totals.
    """

    def __init__(self, ctx: Any, width: int) -> None:
        self.cond = ctx.Condition()
        self.turn = ctx.RawValue("q", 0)
        self.totals = ctx.RawArray("q", width)
        self.parent = os.getpid()

    def claim(self, number: int, amounts: tuple[int, ...], restart: bool = False) -> list[int]:
        """The totals before part `number`; adds its `amounts` for the parts after it."""
        with self.cond:
            while self.turn.value != number:
                if not self.cond.wait(PATIENCE_S):
                    _exit_if_orphaned(self.parent)
            base = [0] * len(amounts) if restart else list(self.totals)
            for i, amount in enumerate(amounts):
                self.totals[i] = base[i] + amount
            self.turn.value = number + 1
            self.cond.notify_all()
        return base


STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
"""Signals the command line treats as Ctrl-C: the run stops and leaves no partial output."""


@dataclass
class _Finished:
    """A worker's last message: what its `finish` hook returned."""

    value: Any


@dataclass
class _Failure:
    """A worker's unexpected exception (a bug), sent back as text."""

    number: int
    text: str


def _exit_if_orphaned(parent: int) -> None:
    """A worker whose parent is gone (killed) stops instead of waiting forever."""
    if os.getppid() != parent:
        os._exit(1)


def _serve(
    conn: Connection,
    parent: int,
    setup: Callable[..., None],
    setup_args: tuple[Any, ...],
    work: Callable[[Task], Any],
    finish: Callable[[], Any],
) -> None:
    """A worker process: run `work` on the tasks the parent sends until it sends None, then
    send back what `finish` returns."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    for stop in STOP_SIGNALS:  # the parent's handlers would turn them into Ctrl-C here
        signal.signal(stop, signal.SIG_DFL)
    unblock_stop_signals()  # blocked while the parent forked (mapper.signals)
    setup(*setup_args)
    while True:
        while not conn.poll(PATIENCE_S):
            _exit_if_orphaned(parent)
        try:
            task = conn.recv()
        except EOFError:  # the parent is gone
            return
        try:
            result = work(task) if task is not None else _Finished(finish())
        except Exception:  # a bug: the parent reports it and stops the run
            result = _Failure(-1 if task is None else task[0], traceback.format_exc())
        try:
            conn.send(result)
        except OSError:  # the parent is gone
            return
        if task is None:
            return


class Pool:
    """Worker processes that run `work(task)`; results come back in task order.

    Every result must have a `number` attribute: the number of its task. A worker is sent its
    next task when it has sent the result of the one before: it takes the parts in the order
    they are handed out (the worker after it never waits for a part that has not begun).
    """

    def __init__(
        self,
        ctx: Any,
        workers: int,
        setup: Callable[..., None],
        setup_args: tuple[Any, ...],
        work: Callable[[Task], Any],
        output: str,
        finish: Callable[[], Any] = lambda: None,
    ) -> None:
        self.output = output  # named in the error when a worker dies ("": they write none)
        self.conns: list[Connection] = []
        self.processes: list[Any] = []
        try:  # a Ctrl-C while forking comes when all are started: they are stopped
            with signals_to_main_thread():
                for _ in range(workers):
                    mine, theirs = ctx.Pipe()
                    args = (theirs, os.getpid(), setup, setup_args, work, finish)
                    process = ctx.Process(target=_serve, args=args, daemon=True)
                    process.start()
                    theirs.close()
                    self.conns.append(mine)
                    self.processes.append(process)
        except BaseException:
            self.close(graceful=False)
            raise

    def imap(self, tasks: Iterable[Task], window: int) -> Iterator[Any]:
        """Results of `tasks` in order; at most `window` tasks in flight, one per worker. A
        worker whose result came back is given its next task before the caller works on that
        result (else, with one worker, it would wait for the caller)."""
        pending = iter(tasks)
        held = dict.fromkeys(self.conns, 0)
        ready: dict[int, Any] = {}
        sent = done = 0
        task = next(pending, None)
        while True:
            while task is not None and sent - done < window:
                conn = min(self.conns, key=held.__getitem__)
                if held[conn] >= TASKS_PER_WORKER:
                    break
                self._send(conn, task)
                held[conn] += 1
                sent += 1
                task = next(pending, None)
            if done == sent:
                return
            if done not in ready:
                for conn, res in self._receive():
                    ready[res.number] = res
                    held[conn] -= 1
                continue  # (the workers that are free get their next task first)
            res = ready.pop(done)
            done += 1
            if isinstance(res, _Failure):
                raise RuntimeError(f"a worker process failed on part {res.number}:\n{res.text}")
            yield res

    def _receive(self) -> list[tuple[Connection, Any]]:
        ready = wait([*self.conns, *(p.sentinel for p in self.processes)])
        got = []
        for conn, process in zip(self.conns, self.processes, strict=True):
            if conn in ready:
                try:
                    got.append((conn, conn.recv()))
                except (EOFError, OSError):
                    raise self._died(process) from None
            elif process.sentinel in ready:
                raise self._died(process)
        return got

    def _send(self, conn: Connection, task: Task | None) -> None:
        try:
            conn.send(task)
        except OSError:
            raise self._died(self.processes[self.conns.index(conn)]) from None

    def _died(self, process: Any) -> OutputError:
        process.join(PATIENCE_S)
        reason = f"a worker process stopped (exit code {process.exitcode})"
        if not self.output:  # (the workers hand their objects back: no file of theirs)
            return OutputError([Diagnostic("run.worker-died", f"{reason}: the run stopped")])
        return output_error(self.output, reason)

    def close(self, graceful: bool) -> list[Any]:
        """Stop the workers: let them finish the tasks they hold (graceful: the values their
        `finish` hooks return) or terminate them. Once closed, closing again does nothing."""
        pairs = list(zip(self.conns, self.processes, strict=True))
        for conn, process in pairs:
            if graceful:
                self._send(conn, None)
            else:
                process.terminate()
        try:
            return [self._finished(conn, process) for conn, process in pairs] if graceful else []
        finally:
            for conn, process in pairs:
                process.join()
                conn.close()
            self.conns, self.processes = [], []  # (closing again does nothing)

    def _finished(self, conn: Connection, process: Any) -> Any:
        """What a worker's `finish` hook returned (results still on their way are dropped)."""
        while True:
            try:
                got = conn.recv()
            except (EOFError, OSError):
                raise self._died(process) from None
            if isinstance(got, _Finished):
                return got.value
            if isinstance(got, _Failure) and got.number < 0:
                raise RuntimeError(f"a worker process failed as it finished:\n{got.text}")
