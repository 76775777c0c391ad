"""Worker processes for `mapper.run.parallel`: each with its own pipe, results back in task order.

Unlike `multiprocessing.Pool` there are no helper threads (its worker handler spins while results
wait to be read), a worker that dies stops the run instead of hanging it, and a worker whose
parent is gone (killed) stops instead of waiting forever. `Turns` hands out running totals in
task order across the workers.
"""

from __future__ import annotations

import os
import signal
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from mapper.errors import OutputError
from mapper.io.atomic import output_error
from mapper.signals import signals_to_main_thread, unblock_stop_signals

PATIENCE_S = 1.0  # how often a waiting worker checks that its parent still lives

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
) -> None:
    """A worker process: run `work` on the tasks the parent sends until it sends None."""
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
        if task is None:
            return
        try:
            result = work(task)
        except Exception:  # a bug: the parent reports it and stops the run
            result = _Failure(task[0], traceback.format_exc())
        try:
            conn.send(result)
        except OSError:  # the parent is gone
            return


class Pool:
    """Worker processes that run `work(task)`; results come back in task order.

    Every result must have a `number` attribute: the number of its task.
    """

    def __init__(
        self,
        ctx: Any,
        workers: int,
        setup: Callable[..., None],
        setup_args: tuple[Any, ...],
        work: Callable[[Task], Any],
        output: str,
    ) -> None:
        self.output = output  # named in the error when a worker dies
        self.conns: list[Connection] = []
        self.processes: list[Any] = []
        try:  # a Ctrl-C while forking comes when all are started: they are stopped
            with signals_to_main_thread():
                for _ in range(workers):
                    mine, theirs = ctx.Pipe()
                    args = (theirs, os.getpid(), setup, setup_args, work)
                    process = ctx.Process(target=_serve, args=args, daemon=True)
                    process.start()
                    theirs.close()
                    self.conns.append(mine)
                    self.processes.append(process)
        except BaseException:
            self.close(graceful=False)
            raise

    def imap(
        self, tasks: Iterable[Task], window: int, heavy: Callable[[Any], bool]
    ) -> Iterator[Any]:
        """Results of `tasks` in order; at most `window` tasks in flight.

        A worker holds up to two tasks, so it finds the next one waiting when it finishes one;
        but only one `heavy` task (large to send: the worker must be there to read it).
        """
        pending = iter(tasks)
        held = dict.fromkeys(self.conns, 0)
        ready: dict[int, Any] = {}
        sent = done = 0
        task = next(pending, None)
        while True:
            while task is not None and sent - done < window:
                conn = min(self.conns, key=held.__getitem__)
                if held[conn] >= (1 if heavy(task[1]) else 2):
                    break
                self._send(conn, task)
                held[conn] += 1
                sent += 1
                task = next(pending, None)
            if done == sent:
                return
            for conn, res in self._receive():
                ready[res.number] = res
                held[conn] -= 1
            while done in ready:
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

    def _send(self, conn: Connection, task: Task) -> None:
        try:
            conn.send(task)
        except OSError:
            raise self._died(self.processes[self.conns.index(conn)]) from None

    def _died(self, process: Any) -> OutputError:
        process.join(PATIENCE_S)
        reason = f"a worker process stopped (exit code {process.exitcode})"
        return output_error(self.output, reason)

    def close(self, graceful: bool) -> None:
        """Stop the workers: let them finish (graceful) or terminate them."""
        for conn, process in zip(self.conns, self.processes, strict=True):
            if graceful:
                conn.send(None)
            else:
                process.terminate()
        for conn, process in zip(self.conns, self.processes, strict=True):
            process.join()
            conn.close()
