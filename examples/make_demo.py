#!/usr/bin/env python3
"""Write the demo world to disk: an SFX library, films and their ground truth.

    python examples/make_demo.py [--out examples/demo] [--seed 0]
    python examples/make_demo.py --reels bench/out/reels   # the tuning reels only
    python examples/make_demo.py --reels DIR --reel-seeds 22-30   # fresh reels to check a change on

Layout of ``--out``:

    library/             the SFX library (UCS names, category folders, library.csv)
    truth/library.json   what each library file really is (kept out of the library)
    films/<name>.mp4     the demo films
    truth/<name>.json    cuts, scenes and on-screen events of each film

Training images are not written: the CLIP trainer renders them on the fly
with ``demo_world.world.dataset``. The same seed writes the same library
bytes and the same film content. Needs ffmpeg on PATH.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from demo_world import films, sounds  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "demo",
                        help="output folder (default: examples/demo)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the sounds and of the films' look; the films' scripts stay the same "
                             "(default: 0)")
    parser.add_argument("--reels", type=Path, metavar="DIR",
                        help="write only the tuning reels (films.tuning_reel, more tuning films than "
                             "the five) into DIR/films and DIR/truth, and nothing else")
    parser.add_argument("--reel-seeds", type=films.parse_seeds, default=films.REEL_SEEDS, metavar="SEEDS",
                        help="with --reels: which reels, e.g. 22-30 or 13,14,15 (default: the tuning "
                             "reels, " + ",".join(map(str, films.REEL_SEEDS)) + "); reels of other seeds "
                             "are fresh films to check a change chosen on the tuning reels")
    parser.add_argument("--films", nargs="*", metavar="NAME",
                        help=f"only these films (default: all: {', '.join(films.FILM_BY_NAME)})")
    args = parser.parse_args(argv)
    if shutil.which("ffmpeg") is None:
        print("error: ffmpeg was not found on PATH (install it, e.g. 'apt-get install ffmpeg')",
              file=sys.stderr)
        return 1
    if args.reels:
        return write_reels(args.reels, args.reel_seeds)
    chosen = films.FILMS if not args.films else [films.FILM_BY_NAME[n] for n in args.films]

    out: Path = args.out
    started = time.perf_counter()
    library = out / "library"
    if library.exists():  # a stale file from an older plan would be scanned as part of it
        shutil.rmtree(library)
    truth = sounds.write_library(library, args.seed)
    sounds.write_truth(out / "truth" / "library.json", truth)
    kinds = {k: sum(1 for v in truth.values() if v["kind"] == k) for k in ("sfx", "ambience", "distractor")}
    print(f"library: {len(truth)} files ({kinds['sfx']} sfx, {kinds['ambience']} ambiences, "
          f"{kinds['distractor']} distractors), {_size(library) / 1e6:.1f} MB "
          f"[{time.perf_counter() - started:.1f} s]")

    for spec in chosen:
        t0 = time.perf_counter()
        spec = dataclasses.replace(spec, seed=spec.seed + 1000 * args.seed)
        film, truth_path = films.make_film(spec, out / "films", out / "truth")
        info = films.film_truth(spec)
        tags = ", ".join(t for t, on in (("held out", spec.held_out), ("no audio", not spec.audio)) if on)
        print(f"film {spec.name}: {info['duration']:.1f} s at {info['fps']} fps, {len(info['scenes'])} shots, "
              f"{len(info['events'])} events{f' ({tags})' if tags else ''}, "
              f"{film.stat().st_size / 1e3:.0f} kB [{time.perf_counter() - t0:.1f} s]")

    print(f"wrote {out} ({_size(out) / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s")
    return 0


def write_reels(out: Path, seeds: tuple[int, ...] = films.REEL_SEEDS) -> int:
    """Reels of these seeds, films and truth; the demo library is the one they are scored with."""
    for seed in seeds:
        t0 = time.perf_counter()
        spec = films.tuning_reel(seed)
        film, _ = films.make_film(spec, out / "films", out / "truth")
        print(f"reel {spec.name}: {spec.note}, {film.stat().st_size / 1e3:.0f} kB "
              f"[{time.perf_counter() - t0:.1f} s]")
    return 0


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


if __name__ == "__main__":
    sys.exit(main())
