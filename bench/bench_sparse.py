#!/usr/bin/env python3
"""Encode only what changes (placement/sparse.py): what it encodes, what it
costs in accuracy, on every film of the demo and lab worlds.

For each film it embeds the 0.1 s grid twice, dense (every frame through the
image tower) and sparse (the shipped plan), and prints:

- the share of grid frames the sparse plan encoded (and reused as stills);
- the cosine error of the frames it did not encode against the dense grid:
  the largest (the bound) and the 99th percentile;
- whether placement is the same: the same sounds placed, each start and end
  within one 0.1 s segment of the dense run's (text ranking, shipped
  settings; regions on, as shipped, shared by both runs).

Quality only: no timing is printed (see bench_speed.py for the wall-clock
ratio against a naive pipeline). Embeddings come from the cache when warm.

    python bench/bench_sparse.py                   # both worlds
    python bench/bench_sparse.py --worlds demo --coarse 10
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
WORLDS = {
    "demo": ("autofoley-demo", None),
    "lab": (str(ROOT / "examples/lab/model/autofoley-lab.json"),
            str(ROOT / "examples/lab/model/autofoley-lab.safetensors")),
}


def same_placement(a, b, step: float) -> bool:
    key = lambda p: (str(p.sound.path), p.sound.offset, p.role)  # noqa: E731
    sa = sorted((p for p in a if p.role == "sfx"), key=lambda p: (key(p), p.start))
    sb = sorted((p for p in b if p.role == "sfx"), key=lambda p: (key(p), p.start))
    return len(sa) == len(sb) and all(
        key(x) == key(y) and abs(x.start - y.start) <= step + 1e-6
        and abs(x.synced_end - y.synced_end) <= step + 1e-6 for x, y in zip(sa, sb))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--worlds", default="demo,lab")
    p.add_argument("--coarse", type=int, default=None, help="segments between anchors")
    p.add_argument("--tolerance", type=float, default=None)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()

    from autofoley.media.probe import probe
    from autofoley.options import ScoreOptions
    from autofoley.pipeline import Scorer
    from autofoley.placement.embed import embed_film
    from autofoley.placement.matching import match_film
    from autofoley.placement.scenes import detect_scenes
    from autofoley.placement.sparse import SparsePlan, cut_segments

    plan = SparsePlan()
    if args.coarse is not None:
        plan = replace(plan, coarse=args.coarse)
    if args.tolerance is not None:
        plan = replace(plan, tolerance=args.tolerance)
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}; plan {plan}",
          file=sys.stderr)
    results = {}
    for world in args.worlds.split(","):
        model, weights = WORLDS[world]
        scorer = Scorer(model, weights, options=ScoreOptions(rank="text", frame_fit="pad"))
        opts = scorer.options
        _, index = scorer.library(ROOT / "examples" / world / "library")
        rows = []
        for film in sorted((ROOT / "examples" / world / "films").glob("*.mp4")):
            video = probe(film)
            scenes = detect_scenes(video.path, video.duration, opts.scene_threshold,
                                   opts.min_scene_len, opts.dissolve_window)
            dense = embed_film(video, scorer.encoder, opts.step, opts.batch_size, True,
                               opts.frame_fit)
            sparse = embed_film(video, scorer.encoder, opts.step, opts.batch_size, True,
                                opts.frame_fit, plan=plan, cuts=cut_segments(scenes, opts.step))
            _, _, full = scorer.analyse(film)  # regions, shared by both runs
            skipped = ~sparse.encoded
            cos = (dense.vectors * sparse.vectors).sum(axis=1)
            err = 1.0 - cos[skipped] if skipped.any() else np.zeros(1)
            placed = [match_film(f.vectors, f.step, scenes, index, opts.sync, video.fps,
                                 regions=full.regions).placements for f in (dense, sparse)]
            rows.append({"film": film.stem, "frames": len(cos),
                         "encoded": float(sparse.encoded.mean()),
                         "max_cos_error": float(err.max()),
                         "p99_cos_error": float(np.percentile(err, 99)),
                         "same_placement": same_placement(*placed, opts.step)})
        results[world] = rows
    if args.json:
        print(json.dumps({"plan": plan.__dict__, "worlds": results}, indent=1))
        return 0
    for world, rows in results.items():
        print(f"\nworld {world}")
        print(f"{'film':<24} {'frames':>6} {'encoded':>8} {'max err':>8} {'p99 err':>8} {'same':>5}")
        for r in rows:
            print(f"{r['film']:<24} {r['frames']:>6} {r['encoded']:>8.1%} {r['max_cos_error']:>8.4f} "
                  f"{r['p99_cos_error']:>8.4f} {'yes' if r['same_placement'] else 'NO':>5}")
        enc = sum(r["encoded"] * r["frames"] for r in rows) / sum(r["frames"] for r in rows)
        print(f"{'all':<24} {sum(r['frames'] for r in rows):>6} {enc:>8.1%} "
              f"{max(r['max_cos_error'] for r in rows):>8.4f}")
    print(f"\nload average {' '.join(f'{v:.2f}' for v in os.getloadavg())}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
