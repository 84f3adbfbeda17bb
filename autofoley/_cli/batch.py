"""``autofoley batch``: parse arguments, show progress, call ``batch.run_batch``.

``add_batch_parser(subparsers)`` adds the command to the ``autofoley`` parser
and ``cmd_batch(args)`` runs it, returning the exit code: 0 when every film
is done, 8 when some failed, otherwise the usual codes (see main.py).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
from pathlib import Path

from autofoley._cli.display import print_json, progress
from autofoley._cli.flags import (
    add_common_flags,
    add_library_flags,
    add_score_flags,
    check_rank_flags,
    non_negative_int,
    options_from_args,
    positive,
)
from autofoley.batch.discover import DEFAULT_EXTENSIONS
from autofoley.batch.report import EXIT_SOME_FAILED, BatchProgress, BatchReport
from autofoley.errors import UsageError

log = logging.getLogger("autofoley")


def add_batch_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``batch`` to an ``add_subparsers()`` object; return its parser."""
    b = subparsers.add_parser(
        "batch", help="score every video under a folder: unattended, resumable",
        description="Score every video under FOLDER into OUT/<film path without suffix>/. "
                    "Job states are kept in OUT: run the same command again after a crash or "
                    "kill and it finishes the work; films already done are scored again only "
                    "when the film, the library or the settings changed. Exit status: 0 all "
                    f"done, {EXIT_SOME_FAILED} some failed (see OUT/report.json).")
    b.add_argument("folder", type=Path, help="folder of films (searched recursively)")
    add_library_flags(b)
    g = b.add_argument_group("batch")
    g.add_argument("--ext", default=",".join(DEFAULT_EXTENSIONS),
                   help="comma-separated video extensions (default: %(default)s)")
    g.add_argument("--workers", "-j", type=non_negative_int, default=None,
                   help="worker processes, each loading the model once (default: 1; 0 scores "
                        "in this process); with --ray, the most films at once (default: the "
                        "cluster's GPUs, else CPUs)")
    g.add_argument("--retry-failed", action="store_true",
                   help="score the films that failed in earlier runs again")
    g.add_argument("--timeout", type=positive, default=None, metavar="SECONDS",
                   help="fail a film whose worker takes longer than this (default: no limit)")
    g.add_argument("--ray", default=None, metavar="ADDRESS",
                   help="score on Ray, one film per task: 'auto' (the cluster this machine "
                        "belongs to), 'local' (a private Ray here) or an address "
                        "(HOST:6379, ray://HOST:10001); needs autofoley[ray]")
    add_score_flags(b)
    add_common_flags(b, "print the report on stdout")
    b.set_defaults(handler=cmd_batch, check=check_rank_flags)
    return b


def cmd_batch(args) -> int:
    from autofoley.batch import run_batch
    from autofoley.progress import RichReporter

    extensions = [e.strip().lstrip(".") for e in args.ext.split(",") if e.strip()]
    if not extensions:
        raise UsageError("--ext names no extension", None, "e.g. --ext mp4,mov")
    with _sigterm_interrupts(), progress(args) as reporter:
        films = FilmBar(reporter) if isinstance(reporter, RichReporter) else FilmLog()
        report = run_batch(args.folder, args.library, args.out, clip_model=args.clip_model,
                           clip_pretrained=args.clip_pretrained, device=args.device,
                           options=options_from_args(args), csv_path=args.library_csv,
                           extensions=extensions, workers=args.workers,
                           retry_failed=args.retry_failed, ray=args.ray, timeout=args.timeout,
                           reporter=reporter, progress=films)
    print_summary(report)
    if args.json:
        print_json(report.to_dict())
    return report.exit_code


@contextlib.contextmanager
def _sigterm_interrupts():
    """A SIGTERM (a scheduler stopping the job) ends the batch like Ctrl-C:
    films in flight go back to pending and the report is written."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


# --------------------------------------------------------------------------- display


class FilmLog(BatchProgress):
    """Without a terminal: one log line per film (the batch log of the night)."""

    def begin(self, films: int, todo: int) -> None:
        log.info("%d films found, %d to score", films, todo)

    def film_finished(self, rel: str, outcome: dict) -> None:
        if outcome.get("status") == "done":
            log.info("done %s (%.1f s)", rel, outcome.get("seconds") or 0.0)
        else:
            log.info("failed %s: %s", rel, outcome.get("error"))


class FilmBar(BatchProgress):
    """On a terminal: a tally of the films (done, failed, left) under the
    driver's stages, both drawn by the one RichReporter."""

    def __init__(self, reporter):
        self._reporter = reporter
        self._tally = None

    def begin(self, films: int, todo: int) -> None:
        self._tally = self._reporter.tally("films", todo)

    def film_finished(self, rel: str, outcome: dict) -> None:
        if outcome.get("status") == "done":
            self._tally.add(True, f"{rel} ({outcome.get('seconds') or 0.0:.1f} s)")
        else:
            self._tally.add(False, f"{rel}: {outcome.get('error')}")


def print_summary(report: BatchReport, file=None) -> None:
    """The per-film table and the totals, on stderr."""
    from rich.console import Console
    from rich.table import Table

    console = Console(file=file or sys.stderr, highlight=False, soft_wrap=False,
                      width=None if (file or sys.stderr).isatty() else 160)
    table = Table(title=f"autofoley batch: {report.folder}", title_justify="left")
    for name, justify in (("film", "left"), ("status", "left"), ("duration", "right"),
                          ("scenes", "right"), ("SFX", "right"), ("time", "right"),
                          ("error", "left")):
        table.add_column(name, justify=justify, overflow="fold")
    for f in report.films:
        status = f["status"] if f["this_run"] or f["status"] != "done" else "done (unchanged)"
        style = {"failed": "red", "pending": "yellow"}.get(f["status"])
        error = f["error"] or ""
        if error.startswith(f["path"] + ": "):  # the film column already names it
            error = error[len(f["path"]) + 2:]
        table.add_row(f["film"], status, _secs(f["duration"]), _num(f["scenes"]),
                      _num(f["sfx_placed"]), _secs(f["seconds"]), error, style=style)
    console.print(table)
    c = report.counts
    console.print(f"{c['done']} done ({c['scored']} scored now, {c['unchanged']} unchanged), "
                  f"{c['failed']} failed, {c['pending']} pending"
                  f"{' (interrupted)' if report.interrupted else ''}; report: {report.report_path}")


def _secs(value) -> str:
    return "" if value is None else f"{value:.1f} s"


def _num(value) -> str:
    return "" if value is None else str(value)


def add_parsers(sub) -> None:
    add_batch_parser(sub)
