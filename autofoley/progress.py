"""Progress reporting for long stages: rich bars on a terminal, nothing otherwise.

The library takes any object with ``stage(name, total)``; the CLI passes a
RichReporter when stderr is a TTY and ``--quiet`` is off.
"""

from __future__ import annotations

import contextlib
import time
from typing import Callable, Iterator

Update = Callable[[int, int], None]


class NullReporter:
    """Times stages, shows nothing."""

    def __init__(self):
        self.timings: dict[str, float] = {}

    @contextlib.contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[Update]:
        t0 = time.perf_counter()
        try:
            yield lambda done, total=None: None
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t0


class RichReporter(NullReporter):
    """One rich progress bar per stage, on stderr."""

    def __init__(self, console=None):
        super().__init__()
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn,
                                   TextColumn, TimeElapsedColumn, TimeRemainingColumn)

        self._progress = Progress(SpinnerColumn(), TextColumn("{task.description:<18}"), BarColumn(),
                                  MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                                  console=console or Console(stderr=True), transient=False)

    def __enter__(self):
        self._progress.start()
        return self

    def __exit__(self, *exc):
        self._progress.stop()
        return False

    @contextlib.contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[Update]:
        task = self._progress.add_task(name, total=total)

        def update(done: int, total_now: int | None = None):
            self._progress.update(task, completed=done,
                                  total=total_now if total_now is not None else total)

        with super().stage(name, total):
            yield update
        t = self._progress.tasks[task]
        self._progress.update(task, completed=t.total if t.total else 1, total=t.total or 1)
