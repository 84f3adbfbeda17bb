"""What a batch tells as it goes (``BatchProgress``) and what it leaves
(``BatchReport``, written to ``out/report.json``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from autofoley import __version__
from autofoley.atomic import write_json

if TYPE_CHECKING:
    from autofoley.batch.jobs import FilmFile, JobStore, SyncPlan

REPORT_NAME = "report.json"
EXIT_SOME_FAILED = 8


class BatchProgress:
    """Hooks a front end implements to show a batch's progress; these do nothing."""

    def begin(self, films: int, todo: int) -> None:
        """``films`` found, ``todo`` of them to score in this run."""

    def film_started(self, rel: str) -> None:
        pass

    def film_finished(self, rel: str, outcome: dict) -> None:
        """``outcome["status"]`` is "done" or "failed" (with ``outcome["error"]``)."""

    def end(self) -> None:
        pass


@dataclass
class BatchReport:
    """What a batch run left: every film's state, and the run's counts."""

    folder: Path
    out: Path
    films: list[dict]
    counts: dict[str, int]
    started: float  # unix seconds
    finished: float
    model: str
    library: str
    library_key: str
    settings_key: str
    interrupted: bool = False
    gone: list[str] = field(default_factory=list)  # in the job store, no longer in the folder
    skipped_sounds: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)

    @property
    def report_path(self) -> Path:
        return self.out / REPORT_NAME

    @property
    def exit_code(self) -> int:
        """0 when every film is done, EXIT_SOME_FAILED (8) when some failed."""
        return EXIT_SOME_FAILED if self.counts.get("failed") else 0

    def to_dict(self) -> dict:
        return {
            "autofoley_version": __version__,
            "folder": str(self.folder),
            "out": str(self.out),
            "library": self.library,
            "model": self.model,
            "library_key": self.library_key,
            "settings_key": self.settings_key,
            "started": _iso(self.started),
            "finished": _iso(self.finished),
            "seconds": round(self.finished - self.started, 3),
            "interrupted": self.interrupted,
            "counts": self.counts,
            "films": self.films,
            "gone": self.gone,
            "skipped_sounds": [{"file": f, "reason": r} for f, r in self.skipped_sounds],
        }


@dataclass
class RunFacts:
    """What the driver knows of this run besides the job store's rows."""

    folder: Path
    out: Path
    model: str  # the CLIP model's identity
    library: Path
    library_key: str
    settings_key: str
    plan: "SyncPlan"
    reclaimed: list[str]
    skipped_sounds: list  # (path, reason) of the library's scan
    started: float
    attempted: set[str] = field(default_factory=set)  # claimed by this run
    why: dict[str, str] = field(default_factory=dict)  # rel -> why this run scores it


def write_report(store: "JobStore", films: list["FilmFile"], run: RunFacts,
                 interrupted: bool) -> BatchReport:
    """The report of this run, from the job store as it is now; also written
    to ``out/report.json``."""
    rows = store.rows(f.rel for f in films)
    entries = [_film_entry(r, run) for r in rows]
    states = [r["state"] for r in rows]
    counts = {
        "films": len(rows),
        "done": states.count("done"),
        "failed": states.count("failed"),
        "pending": states.count("pending") + states.count("running"),
        "scored": sum(e["this_run"] and e["status"] == "done" for e in entries),
        "failed_this_run": sum(e["this_run"] and e["status"] == "failed" for e in entries),
        "unchanged": len(run.plan.unchanged),
        "reclaimed": len(run.reclaimed),
    }
    report = BatchReport(run.folder, run.out, entries, counts, run.started, time.time(), run.model,
                         str(run.library.resolve()), run.library_key, run.settings_key,
                         interrupted, run.plan.gone,
                         [(str(p), r) for p, r in run.skipped_sounds])
    write_json(run.out / REPORT_NAME, report.to_dict())
    return report


def _film_entry(row: dict, run: RunFacts) -> dict:
    this_run = row["rel"] in run.attempted
    return {
        "film": row["rel"],
        "path": row["path"],
        "status": row["state"],
        "this_run": this_run,
        # why it was (or, when pending, is to be) scored: new, film changed, retry...
        "why": run.why.get(row["rel"]) if this_run else row["reason"],
        "error": row["error"],
        "duration": row["duration"],
        "scenes": row["scenes"],
        "sfx_placed": row["sfx_placed"],
        "seconds": row["seconds"],
        "attempts": row["attempts"],
        "completions": row["completions"],
        "finished": _iso(row["finished_at"]),
        "out_dir": row["out_rel"],
        "outputs": row["outputs"],
    }


def _iso(t: float | None) -> str | None:
    return None if t is None else time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(t))
