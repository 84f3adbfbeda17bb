"""Grid search of the placement settings on labelled films (Demarchi, 4.4).

Each film is analysed once (scenes + frame embeddings, from the cache when
warm); every grid point then costs only ``match_film`` and the metrics, pure
numpy. The proxy loss rewards the right sounds and penalises timing error:

    loss = mean over films of (1 - SFX F1) + 0.25 * min(1, median onset error / 1 s)

(a film with no hit counts the full timing penalty). The starting settings are
always one of the grid points, so tuning never returns a worse loss than them
on its training films.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from autofoley.evaluation.evaluate import (
    LibraryTruth,
    Metrics,
    Placed,
    evaluate_placements,
)
from autofoley.placement.matching import match_film
from autofoley.placement.regions import Regions
from autofoley.placement.sync import SyncParams

ONSET_WEIGHT = 0.25
ONSET_SCALE = 1.0  # seconds

# Settings that mean the same for every model: probabilities (the model's
# own temperature turns cosines into them), fractions and seconds. No raw
# cosine floor and no temperature: those are numbers of one model's scale.
DEFAULT_GRID: dict[str, list] = {
    "threshold": [0.5, 0.6, 0.7, 0.8, 0.9],
    "release": [0.3, 0.5, 0.7],
    "min_event": [0.5, 1.0, 1.5],
    "max_overlap": [1, 2, 3],
    "merge_ratio": [0.0, 0.5, 1.0],
}


@dataclass
class FilmData:
    """What tuning needs of one labelled film, computed once."""

    name: str
    vectors: np.ndarray
    step: float
    scenes: list
    fps: object
    truth: dict
    regions: Regions | None = None


@dataclass
class TuneResult:
    best: SyncParams
    best_loss: float
    start: SyncParams
    start_loss: float
    points: int
    best_metrics: dict[str, Metrics]
    start_metrics: dict[str, Metrics]

    def to_dict(self) -> dict:
        return {
            "best": self.best.to_dict(), "best_loss": self.best_loss,
            "start": self.start.to_dict(), "start_loss": self.start_loss,
            "points": self.points,
            "best_metrics": {k: v.to_dict() for k, v in self.best_metrics.items()},
            "start_metrics": {k: v.to_dict() for k, v in self.start_metrics.items()},
        }


def film_loss(m: Metrics) -> float:
    onset = m.median_onset_error
    timing = 1.0 if math.isnan(onset) else min(1.0, onset / ONSET_SCALE)
    return (1.0 - m.sfx_f1) + ONSET_WEIGHT * timing


def evaluate_params(films: list[FilmData], index, library: LibraryTruth,
                    params: SyncParams, ambience: bool = False) -> tuple[float, dict[str, Metrics]]:
    """Mean loss and per-film metrics of ``params``. Beds change no SFX
    figure, so the search leaves them out (``ambience``) and only the
    reported metrics place them."""
    metrics = {}
    for f in films:
        matches = match_film(f.vectors, f.step, f.scenes, index, params, f.fps, ambience=ambience,
                             regions=f.regions, pan=False)
        placed = [Placed(str(p.sound.path), p.start, p.synced_end, p.role)
                  for p in matches.placements if not (p.role == "sfx" and p.loop_index)]
        cuts = [s.start for s in f.scenes[1:]]
        metrics[f.name] = evaluate_placements(placed, cuts, f.truth, library)
    return float(np.mean([film_loss(m) for m in metrics.values()])), metrics


def tune(films: list[FilmData], index, library: LibraryTruth, start: SyncParams | None = None,
         grid: dict[str, list] | None = None,
         progress: Callable[[int, int], None] | None = None) -> TuneResult:
    """Exhaustive search; ties keep the earlier point (the start comes first)."""
    start = start or SyncParams()
    grid = grid or DEFAULT_GRID
    names = list(grid)
    points = [start] + [start.replace(**dict(zip(names, values)))
                        for values in itertools.product(*(grid[n] for n in names))]
    start_loss, start_metrics = evaluate_params(films, index, library, start)
    best, best_loss, best_metrics = start, start_loss, start_metrics
    for i, params in enumerate(points[1:], 1):
        loss, metrics = evaluate_params(films, index, library, params)
        if loss < best_loss - 1e-12:
            best, best_loss, best_metrics = params, loss, metrics
        if progress:
            progress(i, len(points) - 1)
    # Reported as 'evaluate' reports them: ambience accuracy included.
    _, best_metrics = evaluate_params(films, index, library, best, ambience=True)
    _, start_metrics = evaluate_params(films, index, library, start, ambience=True)
    return TuneResult(best, best_loss, start, start_loss, len(points), best_metrics, start_metrics)


def load_films(scorer, films: list[Path], truth_dir: Path,
               reporter=None) -> list[FilmData]:
    """Analyse each film (cached) and pair it with ``truth_dir/<stem>.json``."""
    import json

    from autofoley.errors import InputError

    out = []
    for film in films:
        truth_path = Path(truth_dir) / f"{Path(film).stem}.json"
        if not truth_path.is_file():
            raise InputError("no ground truth for this film", truth_path,
                             "put <film stem>.json in the --truth folder")
        video, scenes, frames = scorer.analyse(film, reporter)
        out.append(FilmData(Path(film).stem, frames.vectors, frames.step, scenes, video.fps,
                            json.loads(truth_path.read_text(encoding="utf-8")), frames.regions))
    return out
