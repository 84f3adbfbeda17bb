"""Scoring one film of a batch, wherever it runs, and the executor that runs
films in the driver itself.

An executor takes jobs from the driver and hands back outcomes; three exist,
each loading the model once: ``Inline`` here (``workers=0``: no isolation,
for debugging and tests), ``processes.Processes`` (worker processes on this
machine) and ``cluster.RayTasks`` (Ray, one film per task). All share this
interface::

    free() -> int                 films it can take now
    busy() -> list[dict]          the jobs in flight
    submit(job)                   start one film
    wait(timeout) -> [(job, outcome)]   outcomes ready within ``timeout`` s
    close()                       stop; films in flight are abandoned
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from autofoley.batch.keys import cached_library_key
from autofoley.cache import file_digest
from autofoley.errors import AutofoleyError
from autofoley.output.publish import publish, staging
from autofoley.progress import NullReporter

if TYPE_CHECKING:
    from autofoley.models.registry import ClipSpec
    from autofoley.options import ScoreOptions
    from autofoley.pipeline import Scorer


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker needs to build its Scorer and score films (picklable).

    ``clip`` and ``options`` are the driver's, already resolved: every worker
    scores with exactly the model and settings the settings key was made of.
    """

    clip: "ClipSpec"
    device: str
    options: "ScoreOptions"
    library: str
    csv_path: str | None
    out_dir: str
    settings_key: str
    threads: int | None = None  # torch threads; None leaves torch's default


def build_scorer(spec: WorkerSpec, index: int = 0) -> "Scorer":
    """The Scorer of worker number ``index``."""
    import torch

    from autofoley.models.clip import load_clip
    from autofoley.pipeline import Scorer

    if spec.threads:
        torch.set_num_threads(spec.threads)
    device = spec.device
    if device == "auto" and torch.cuda.is_available() and torch.cuda.device_count() > 1:
        device = f"cuda:{index % torch.cuda.device_count()}"  # spread workers over the GPUs
    return Scorer(options=spec.options, encoder=load_clip(spec.clip, device=device))


def score_one(scorer: "Scorer", spec: WorkerSpec, job: dict) -> dict:
    """Score ``job["path"]`` and publish its outputs into ``out_dir/job["out_rel"]``.

    Never raises for a bad film: the outcome's ``status`` is "done" or
    "failed" with a one-line ``error``. The film's size, mtime and digest are
    taken before scoring; if the film changes while it is scored, the digest
    is dropped so the next run scores it again.
    """
    t0 = time.perf_counter()
    out_root = Path(spec.out_dir)
    film = Path(job["path"])
    outcome: dict = {"rel": job["rel"], "status": "failed", "settings_key": spec.settings_key}
    reporter = NullReporter()
    try:
        before = stat_film(film)
        if before:
            outcome["size"], outcome["mtime_ns"] = before
            try:
                outcome["digest"] = file_digest(film)
            except OSError:
                pass  # the score below says why the film cannot be read
        with staging(out_root) as tmp:
            result = scorer.score(film, spec.library, tmp, spec.csv_path, reporter,
                                  name=job["name"])
            scan, _ = scorer.library(spec.library, spec.csv_path)
            outcome["library_key"] = cached_library_key(scan, scorer.options.text_template)
            if stat_film(film) != before:
                outcome["digest"] = None
            outputs = publish_film(result.outputs, out_root / job["out_rel"], out_root,
                                   job.get("outputs") or {})
        summary = result.summary()
        outcome.update(status="done", outputs=outputs, duration=summary["duration"],
                       scenes=summary["scenes"], sfx_placed=summary["sfx_placed"],
                       ambience_beds=summary["ambience_beds"])
    except AutofoleyError as exc:
        outcome["error"] = str(exc)
    except Exception as exc:  # a bug on one film must not end the night
        outcome["error"] = one_line(exc)
    outcome["seconds"] = round(time.perf_counter() - t0, 3)
    outcome["timings"] = {k: round(v, 3) for k, v in reporter.timings.items()}
    return outcome


def publish_film(outputs: dict[str, Path], dest: Path, out_root: Path,
                 old: dict[str, str] | None = None) -> dict[str, str]:
    """``output.publish.publish`` for the job store: the outputs it placed,
    '/'-separated and relative to ``out_root``, so the store survives the
    output folder being moved."""
    final = publish(outputs, dest, out_root, old)
    return {key: path.relative_to(out_root).as_posix() for key, path in final.items()}


def stat_film(path: Path) -> tuple[int, int] | None:
    """(size, mtime_ns), or None when the film cannot be stat'ed."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def one_line(exc: BaseException) -> str:
    """An unexpected exception as the one line a failed film's row holds."""
    lines = [l.strip() for l in str(exc).splitlines() if l.strip()]
    text = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    return text[:300]


def failed(job: dict, error: str) -> dict:
    """The outcome of a film whose worker gave none (it died, hung, was lost)."""
    return {"rel": job["rel"], "status": "failed", "error": error}


class Inline:
    """Films scored one at a time in the driver, by the driver's own Scorer."""

    def __init__(self, scorer: "Scorer", spec: WorkerSpec):
        self._scorer, self._spec, self._job = scorer, spec, None

    def free(self) -> int:
        return 0 if self._job else 1

    def busy(self) -> list[dict]:
        return [self._job] if self._job else []

    def submit(self, job: dict) -> None:
        self._job = job

    def wait(self, timeout: float) -> list[tuple[dict, dict]]:
        if self._job is None:
            return []
        outcome = score_one(self._scorer, self._spec, self._job)
        job, self._job = self._job, None
        return [(job, outcome)]

    def close(self) -> None:
        pass
