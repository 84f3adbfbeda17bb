#!/usr/bin/env python3
"""How much of each world's misses the model decides, and how much placement loses.

For every world of ``bench_placement.py`` (the same films, models and
libraries; written and trained on first use), in process on the cached
embeddings (``score``'s cache: run bench_placement first, or this encodes),
with the shipped defaults and text ranking:

- **seen**: the sounding events the model's own evidence makes findable
  (``autofoley.evaluation.ceiling``: the event's class leads every other SFX
  class at release x threshold or more, in one view, for at least the
  minimum event length);
- **hits**: events placed right (the figure ``evaluate`` gives; this path
  gives ``score``'s placements, docs/placement.md "Tuning reels"), and how many of them
  were seen;
- **seen, missed**: what placement loses of what the model sees;
- **bound F1**: the F1 of placing every seen event right and nothing else,
  the best any decoder that follows the model could do on that world.

Prints a table and the load average; ``--json`` for machines.

    python bench/bench_ceiling.py --worlds demo,reels,lab,labtune
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_placement import SEEDS, WORLDS, World, ensure_world, load, log, reels_world  # noqa: E402


def world_options(world: World) -> tuple[str, str | None, str | None]:
    """(model, pretrained, frame fit) from the world's score flags."""
    args = list(world.model_args)

    def flag(name: str) -> str | None:
        return args[args.index(name) + 1] if name in args else None

    return flag("--clip-model"), flag("--clip-pretrained"), flag("--frame-fit")


def measure(world: World) -> dict:
    from autofoley.evaluation.ceiling import Ceiling, seen_events
    from autofoley.evaluation.evaluate import LibraryTruth
    from autofoley.evaluation.evaluate import pooled as pooled_metrics
    from autofoley.evaluation.tune import evaluate_params, load_films
    from autofoley.models.clip import load_clip
    from autofoley.options import ScoreOptions
    from autofoley.pipeline import Scorer

    model, pretrained, fit = world_options(world)
    scorer = Scorer(encoder=load_clip(model, pretrained, "cpu"),
                    options=ScoreOptions(rank="text", frame_fit=fit, render=False, report=False))
    _, index = scorer.library(world.library_dir, None, None)
    films = load_films(scorer, sorted((world.root / "films").glob("*.mp4")), world.root / "truth")
    library = LibraryTruth.load(world.library_truth)
    params = scorer.options.sync
    _, metrics = evaluate_params(films, index, library, params, ambience=False)
    ceiling, per_film = Ceiling(), {}
    for film in films:
        seen = seen_events(film.vectors, film.step, film.scenes, film.regions, film.truth, index,
                           library, params)
        ceiling.add(seen, metrics[film.name].missed)
        per_film[film.name] = Ceiling().add(seen, metrics[film.name].missed).to_dict()
    overall = pooled_metrics(list(metrics.values()))
    return {"model": world.model, **ceiling.to_dict(), "placed": overall.sfx_placed,
            "sfx_f1": overall.sfx_f1, "films": per_film}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--worlds", default="demo,lab",
                   help=f"comma-separated, of: {', '.join(WORLDS)} (default: %(default)s)")
    p.add_argument("--reel-seeds", default=None, metavar="SEEDS",
                   help="the reels world's films: reels of these seeds (e.g. 37-42), as "
                        "bench_placement.py's flag")
    p.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    args = p.parse_args(argv)
    names = [w.strip() for w in args.worlds.split(",") if w.strip()]
    bad = [n for n in names if n not in WORLDS]
    if bad:
        p.error(f"unknown world(s) {', '.join(bad)}; known: {', '.join(WORLDS)}")
    worlds = dict(WORLDS)
    if args.reel_seeds is not None:
        if not SEEDS.match(args.reel_seeds):
            p.error(f"--reel-seeds {args.reel_seeds!r}: give seeds like 37-42 or 13,14,15")
        worlds["reels"] = reels_world(args.reel_seeds)
    # The shipped settings only: no user defaults from this machine's config.
    os.environ["AUTOFOLEY_CONFIG"] = tempfile.mkdtemp(prefix="bench-ceiling-config-")
    start_load, started = load(), time.perf_counter()
    results = {}
    for name in names:
        ensure_world(worlds[name])
        log(f"{name}: measuring")
        results[worlds[name].name] = measure(worlds[name])
    summary = {"worlds": results, "load_average_start": start_load, "load_average_end": load(),
               "cpu_count": os.cpu_count(), "seconds": round(time.perf_counter() - started, 1)}
    if args.json:
        print(json.dumps(summary, indent=1))
        return 0
    print("| world | model | events | seen by the model | hits (of them seen) | placed | "
          "seen, missed | SFX F1 | bound F1 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, w in results.items():
        print(f"| {name} | {w['model']} | {w['events']} | {w['seen']} ({w['seen_in_regions_only']} "
              f"in a region only) | {w['hits']} ({w['hits_seen']}) | {w['placed']} | "
              f"{len(w['seen_missed'])} | {w['sfx_f1']:.3f} | {w['bound_f1']:.3f} |")
    print(f"\nload average (1, 5, 15 min): {start_load} at start, {summary['load_average_end']} at "
          f"end; {os.cpu_count()} CPUs; {summary['seconds']:.0f} s in all")
    for name, w in results.items():
        for film, row in w["films"].items():
            if row["seen_missed"]:
                print(f"{name} {film}: seen, missed: {', '.join(row['seen_missed'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
