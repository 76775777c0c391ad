"""CLI, `run` and `batch`: the progress line drawn on a terminal while records are mapped."""

import time
from typing import TYPE_CHECKING, Any

from mapper.cli.console import err

if TYPE_CHECKING:  # the commands import the library when they run: a shorter start-up
    from mapper.io.inputs import InputProgress


class ProgressLine:
    """A progress line on a terminal (records, rate, share read, ETA); silent when piped."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled and err.is_terminal
        self.bar: Any = None
        self.task: Any = None
        self.started = time.perf_counter()
        self.shown = 0

    def __enter__(self) -> "ProgressLine":
        return self

    def tick(self, records: int, inputs: "InputProgress") -> None:
        """Move the line every 500 records (made on the first call)."""
        if not self.enabled or records - self.shown < 500:
            return
        self.shown = records
        if self.bar is None:
            self._start(inputs.total or None)
        rate = records / max(time.perf_counter() - self.started, 1e-9)
        self.bar.update(self.task, completed=inputs.done(), records=records, rate=rate)

    def _start(self, total: int | None) -> None:
        from rich.progress import (
            BarColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            TextColumn("{task.fields[records]:>10,} records  {task.fields[rate]:>8,.0f} rec/s"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=err.get(),
            transient=True,
        )
        from mapper.signals import signals_to_main_thread

        with signals_to_main_thread():  # its refresh thread must not take a Ctrl-C
            self.bar.__enter__()
        self.task = self.bar.add_task("mapping", total=total, records=0, rate=0.0)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)
