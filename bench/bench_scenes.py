#!/usr/bin/env python3
"""What the long-dissolve pass costs scene detection, and what it finds.

For each film, ``detect_scenes`` (no cache) runs with every pass (B, as
shipped) and without the long-dissolve pass (A: ``_dissolve_cuts`` made to
find nothing), alternated A B A B ... so a change of the machine's load hits
both alike. It prints each film's median seconds, B / A, seconds per film
minute, and the cut F1 of each against the film's truth when there is one
(``truth/<stem>.json`` beside ``films/``), with the load average.

    python bench/bench_scenes.py                       # the demo tuning reels 7-9 and the lab's long reel
    python bench/bench_scenes.py --films a.mp4 b.mp4 --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--films", nargs="*", type=Path, default=None)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()

    import autofoley.placement.scenes as scenes
    from autofoley.evaluation.evaluate import match_cuts
    from autofoley.media.probe import probe

    films = args.films or [*sorted((ROOT / "bench" / "out" / "reels" / "films").glob("*.mp4")),
                           ROOT / "examples" / "lab" / "films" / "lab_long_reel.mp4"]
    films = [f for f in films if f.is_file()]
    if not films:
        print("no films: write the reels first (python bench/bench_placement.py --worlds reels)",
              file=sys.stderr)
        return 2
    shipped = scenes._dissolve_cuts
    print(f"load average at start: {load()}; {os.cpu_count()} CPUs; {args.rounds} rounds, A B alternated")
    print(f"{'film':24s} {'minutes':>7s} {'A s':>6s} {'B s':>6s} {'B/A':>5s} {'B s/min':>7s} "
          f"{'cut F1 A':>8s} {'cut F1 B':>8s}")
    for film in films:
        duration = probe(film).duration
        seconds: dict[str, list[float]] = {"A": [], "B": []}
        found: dict[str, list[float]] = {}
        for _ in range(args.rounds):
            for run in ("A", "B"):
                scenes._dissolve_cuts = shipped if run == "B" else (lambda *a, **k: [])
                t0 = time.perf_counter()
                result = scenes.detect_scenes(film, duration)
                seconds[run].append(time.perf_counter() - t0)
                found[run] = [s.start for s in result[1:]]
        scenes._dissolve_cuts = shipped
        truth = film.parent.parent / "truth" / f"{film.stem}.json"
        f1 = {run: "-" for run in found}
        if truth.is_file():
            cuts = json.loads(truth.read_text())["cuts"]
            f1 = {run: f"{match_cuts(found[run], cuts)[2]:.3f}" for run in found}
        a, b = statistics.median(seconds["A"]), statistics.median(seconds["B"])
        print(f"{film.stem:24s} {duration / 60:7.2f} {a:6.2f} {b:6.2f} {b / a:5.2f} "
              f"{b / (duration / 60):7.2f} {f1['A']:>8s} {f1['B']:>8s}   load {load()}")
    print(f"load average at end: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
