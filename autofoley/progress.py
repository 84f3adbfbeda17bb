"""Progress reporting for long stages: rich bars on a terminal, periodic log
lines otherwise (a cron job's or a batch's log shows where a long run is).

The library takes any object with ``stage(name, total)``; the CLI passes a
RichReporter when stderr is a TTY and ``--quiet`` is off, a LogReporter
when it is not a TTY, a NullReporter with ``--quiet``. While a RichReporter
is shown, autofoley's log records are printed through its console, above
the bars, so no warning is drawn over. A RichReporter also
draws tallies (``tally``): a bar of items that each end done or failed, such
as a batch's films, with a line per item above the bars.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Callable, Iterator

Update = Callable[[int, int], None]

log = logging.getLogger("autofoley")


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


class LogReporter(NullReporter):
    """Without a terminal: a log line per stage still running after
    ``interval`` seconds, then one every ``interval``: the stage, the share
    done and the time left at the rate so far."""

    def __init__(self, interval: float = 30.0, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.interval, self._clock = interval, clock

    @contextlib.contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[Update]:
        start = self._clock()
        state = {"next": start + self.interval, "total": total}

        def update(done: int, total_now: int | None = None):
            if total_now is not None:
                state["total"] = total_now
            now = self._clock()
            if now < state["next"]:
                return
            state["next"] = now + self.interval
            log.info("%s", progress_line(name, done, state["total"], now - start))

        with super().stage(name, total):
            yield update


def progress_line(name: str, done: int, total: int | None, elapsed: float) -> str:
    """"embed frames: 45% (1234 of 2700), 2 min 10 s so far, about 2 min 40 s left"."""
    spent = _duration(elapsed)
    if not total:
        return f"{name}: {done} done, {spent} so far"
    share = min(max(done / total, 0.0), 1.0)
    left = f", about {_duration(elapsed * (1 - share) / share)} left" if share > 0 else ""
    return f"{name}: {share:.0%} ({done} of {total}), {spent} so far{left}"


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


class _ConsoleHandler(logging.Handler):
    """Log records printed through a rich console, so a live display
    redraws below them instead of over them."""

    def __init__(self, console):
        super().__init__()
        self.console = console
        self.setFormatter(logging.Formatter("autofoley: %(levelname)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.console.print(self.format(record), markup=False, highlight=False,
                               style="yellow" if record.levelno >= logging.WARNING else None)
        except Exception:  # noqa: BLE001 - logging must never break the run
            self.handleError(record)


class RichReporter(NullReporter):
    """One rich progress bar per stage, on stderr."""

    def __init__(self, console=None):
        super().__init__()
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.console = console or Console(stderr=True)
        self._progress = Progress(SpinnerColumn(), TextColumn("{task.description:<18}"), BarColumn(),
                                  MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                                  console=self.console, transient=False)

    def __enter__(self):
        self._progress.start()
        self._handler = _ConsoleHandler(self.console)
        self._propagate = log.propagate
        log.addHandler(self._handler)
        log.propagate = False  # the stderr handler would write under the live display
        return self

    def __exit__(self, *exc):
        log.removeHandler(self._handler)
        log.propagate = self._propagate
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

    def tally(self, name: str, total: int) -> "Tally":
        """A bar of ``total`` items, each of which ends done or failed; its
        line counts both and what is left (e.g. "films: 3 done, 1 failed,
        2 left"). It stays until the reporter is closed."""
        return Tally(self._progress, self.console, name, total)


class Tally:
    """A RichReporter's bar of items that end done or failed (see ``tally``)."""

    def __init__(self, progress, console, name: str, total: int):
        self.name, self.total = name, total
        self.done = self.failed = 0
        self._progress, self._console = progress, console
        # An empty tally is drawn complete rather than as a bar that never moves.
        self._task = progress.add_task(self._text(), total=max(total, 1),
                                       completed=0 if total else 1)

    def add(self, ok: bool, message: str) -> None:
        """Count one item, and print ``message`` (plain text) about it above the bars."""
        from rich.markup import escape

        if ok:
            self.done += 1
            self._console.print(f"[green]done[/green]   {escape(message)}", highlight=False)
        else:
            self.failed += 1
            self._console.print(f"[red]failed[/red] {escape(message)}", highlight=False)
        self._progress.update(self._task, completed=self.done + self.failed,
                              description=self._text())

    def _text(self) -> str:
        left = self.total - self.done - self.failed
        return f"{self.name}: {self.done} done, {self.failed} failed, {left} left"
