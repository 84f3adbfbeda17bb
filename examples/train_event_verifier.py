"""Fit the rule of the ``verified`` decoder (autofoley/placement/verify.py).

    python examples/train_event_verifier.py            # writes autofoley/placement/verifier.json
    python examples/train_event_verifier.py --check    # fits again, compares, writes nothing

Every candidate run on the demo world's five tuning films and its tuning
reels 7-12 (written under ``bench/out/reels-7-12`` on first use, 1-2 min),
scored with the demo model and text ranking, is a sample: its features
(verify.FEATURES) and whether a thing of its sound's class is on screen during
it. A logistic regression (L2, C = 1, the intercept unpenalised) is fitted by
Newton's method; a run becomes an event where it gives more than 0.5.

Never fitted on: the held-out demo films, reels 13 onwards, the lab world, any
other model. Those are what docs/placement.md reports it on
("The event verifier").
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "autofoley" / "placement" / "verifier.json"
REELS = ROOT / "bench" / "out" / "reels-7-12"
C = 1.0
CUT = 0.5  # keep a run the rule gives more than this


def fit_logistic(x: np.ndarray, y: np.ndarray, c: float = C, steps: int = 50) -> tuple[np.ndarray, float]:
    """Weights and bias minimising 0.5 |w|^2 + c * sum of log losses (the
    bias unpenalised), by Newton's method."""
    a = np.hstack([x, np.ones((len(x), 1))])
    theta = np.zeros(a.shape[1])
    penalty = np.eye(a.shape[1]) / c
    penalty[-1, -1] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-a @ theta))
        grad = a.T @ (p - y) + penalty @ theta
        hess = a.T @ (a * (p * (1 - p))[:, None]) + penalty + 1e-9 * np.eye(len(theta))
        delta = np.linalg.solve(hess, grad)
        theta -= delta
        if np.abs(delta).max() < 1e-10:
            break
    return theta[:-1], float(theta[-1])


def samples() -> tuple[np.ndarray, np.ndarray, list[str]]:
    from autofoley.evaluation.evaluate import LibraryTruth
    from autofoley.options import ScoreOptions
    from autofoley.pipeline import Scorer
    from autofoley.placement.matching import match_film

    if not (REELS / "films").is_dir():
        subprocess.run([sys.executable, str(ROOT / "examples" / "make_demo.py"), "--reels", str(REELS),
                        "--reel-seeds", "7-12"], check=True, timeout=1800, stdin=subprocess.DEVNULL)
    demo = ROOT / "examples" / "demo"
    scorer = Scorer("autofoley-demo", options=ScoreOptions(rank="text"))
    params = scorer.options.sync.replace(decoder="verified")
    _, index = scorer.library(demo / "library")
    library = LibraryTruth.load(demo / "truth" / "library.json")
    films = [(f, demo / "truth") for f in sorted((demo / "films").glob("*.mp4"))]
    films += [(f, REELS / "truth") for f in sorted((REELS / "films").glob("*.mp4"))]
    xs, ys, names = [], [], []
    for film, truth_dir in films:
        truth = json.loads((truth_dir / f"{film.stem}.json").read_text())
        if truth.get("held_out"):
            continue
        names.append(film.stem)
        video, scenes, frames = scorer.analyse(film)
        matches = match_film(frames.vectors, frames.step, scenes, index, params, video.fps,
                             ambience=False, regions=frames.regions, pan=False, weigh=True)
        for run in matches.weighed:
            classes = {library.lookup(str(s.path)).get("sound_class") for s in run.sounds} - {None}
            xs.append(run.features)
            ys.append(any(e.get("sound_class") in classes
                          and min(run.end, float(e["end"])) > max(run.start, float(e["start"]))
                          for e in truth.get("events", [])))
        print(f"{film.stem}: {len(matches.weighed)} runs", file=sys.stderr)
    return np.array(xs), np.array(ys, float), names


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--check", action="store_true", help="fit again and compare with the shipped rule")
    args = p.parse_args()
    from autofoley.placement.verify import FEATURES

    x, y, names = samples()
    w, b = fit_logistic(x, y)
    fitted = {"features": list(FEATURES), "weights": [round(float(v), 6) for v in w],
              "bias": round(b, 6), "cut": CUT, "c": C, "runs": int(len(y)),
              "on_screen": int(y.sum()), "films": names,
              "fitted_by": "examples/train_event_verifier.py"}
    print(json.dumps({k: fitted[k] for k in ("weights", "bias", "runs", "on_screen")}))
    if args.check:
        shipped = json.loads(OUT.read_text())
        same = np.allclose(shipped["weights"], fitted["weights"], atol=1e-3) and \
            abs(shipped["bias"] - fitted["bias"]) < 1e-3
        print("the same as the shipped rule" if same else "differs from the shipped rule", file=sys.stderr)
        sys.exit(0 if same else 1)
    OUT.write_text(json.dumps(fitted, indent=1) + "\n")
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
