#!/usr/bin/env python3
"""Write a lab-world stock-footage pool (and more SFX library variants) for ``autofoley curate``.

    python examples/make_lab_stock.py OUT [--seed 0] [--videos 160] [--stills 80]
                                          [--library-seeds 1-3] [--workers N] [--fit crop|pad]

writes ``OUT/stock/``: short h264 clips (``videos/clip_NNN.mp4``, 3-6 s,
192x108, 10 fps) and PNG stills (``stills/still_NNN.png``) of the lab world
(``examples/lab_world/stock.py``: one shot of one subject, none of them the
lab films), with ``stock_truth.json`` saying what each shows. With
``--library-seeds``, also ``OUT/library/``: one variant of the lab SFX
library per seed in ``seedN/`` subfolders, one merged ``library.csv`` at the
top (paths prefixed ``seedN/``), and ``OUT/library_truth.json``. Nothing
here is committed: the pool is generated on demand and is the same for the
same seed (and ffmpeg build).

Then, to curate pairs for the lab model::

    autofoley curate --library examples/lab/library --stock OUT/stock --out OUT/pairs \\
        --clip-model examples/lab/model/autofoley-lab.json \\
        --clip-pretrained examples/lab/model/autofoley-lab.safetensors

(``--library OUT/library`` instead trains on the seeded variants and keeps the
lab library itself out of training.) ``autofoley curate`` centre-crops frames
to the model's square; ``--fit crop`` (the default) keeps every thing inside
that crop, ``--fit pad`` spreads things across the whole frame, for a
letterboxing curate.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from lab_world import library  # noqa: E402
from lab_world.stock import FITS, write_stock  # noqa: E402
from make_stock import merge_variants, parse_seeds  # noqa: E402

# make_stock.write_libraries is bound to the demo world's library writer, so
# the lab's variants and their merge are written here; only the seed parser
# is shared.


def _write_variant(job: tuple[Path, int]) -> dict:
    root, seed = job
    return library.write_library(root / f"seed{seed}", seed)


def write_libraries(root: Path, seeds: list[int], workers: int = 1) -> dict:
    """One lab library variant per seed under ``root/seedN`` (``workers``
    processes) and one merged ``library.csv``: a library scan reads only the
    top-level sidecar, so the per-seed ones are folded into it and removed.
    Returns the truth keyed by path relative to ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    jobs = [(root, seed) for seed in seeds]
    if workers > 1 and len(jobs) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(min(workers, len(jobs))) as pool:
            variants = list(pool.map(_write_variant, jobs))
    else:
        variants = [_write_variant(job) for job in jobs]
    return merge_variants(root, seeds, variants)


def _leftovers(out: Path, stock_truth: dict, seeds: list[int] | None) -> list[str]:
    """Files of an earlier, larger run that curate would still read."""
    stock = out / "stock"
    extra = [p.relative_to(out).as_posix() for folder in ("videos", "stills") if (stock / folder).is_dir()
             for p in sorted((stock / folder).iterdir()) if p.relative_to(stock).as_posix() not in stock_truth]
    if seeds is not None and (out / "library").is_dir():
        keep = {f"seed{s}" for s in seeds}
        extra += [p.relative_to(out).as_posix() + "/" for p in sorted((out / "library").iterdir())
                  if p.is_dir() and p.name not in keep]
    return extra


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", type=Path, help="output folder")
    p.add_argument("--seed", type=int, default=0, help="seed of the stock pool (default: %(default)s)")
    p.add_argument("--videos", type=int, default=160, help="clips of 3-6 s (default: %(default)s)")
    p.add_argument("--stills", type=int, default=80, help="PNG stills (default: %(default)s)")
    p.add_argument("--library-seeds", default=None, metavar="SEEDS",
                   help="also write a lab library variant per seed, e.g. 1-3 or 1,2,3")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="processes rendering clips and libraries (default: all cores)")
    p.add_argument("--fit", choices=FITS, default="crop",
                   help="how frames will be squared for CLIP: keep things in the centre crop, "
                        "or anywhere for letterboxing (default: %(default)s)")
    args = p.parse_args(argv)
    if args.videos < 0 or args.stills < 0 or args.workers < 1:
        p.error("--videos and --stills must be >= 0 and --workers >= 1")
    if shutil.which("ffmpeg") is None:
        print("error: ffmpeg was not found on PATH (install it, e.g. 'apt-get install ffmpeg')", file=sys.stderr)
        return 1
    seeds = parse_seeds(args.library_seeds) if args.library_seeds else None
    if args.library_seeds and not seeds:
        p.error(f"--library-seeds {args.library_seeds!r} names no seed")
    t0 = time.perf_counter()
    truth = write_stock(args.out / "stock", args.seed, args.videos, args.stills, args.workers, fit=args.fit)
    t1 = time.perf_counter()
    print(f"stock: {args.videos} clips and {args.stills} stills in {args.out / 'stock'} [{t1 - t0:.1f} s]")
    counts = [sum(len(v["things"]) == n for v in truth.values()) for n in (0, 1, 2)]
    silent = sum(len(v["sounds"]) < len(v["things"]) for v in truth.values())
    print(f"  {counts[0]} show a place only, {counts[1]} one thing, {counts[2]} two; "
          f"{silent} show a silent thing; truth in stock/stock_truth.json")
    if seeds:
        lib_truth = write_libraries(args.out / "library", seeds, args.workers)
        library.write_truth(args.out / "library_truth.json", lib_truth)
        print(f"library: {len(lib_truth)} files from seeds {seeds} in {args.out / 'library'} "
              f"[{time.perf_counter() - t1:.1f} s]")
    extra = _leftovers(args.out, truth, seeds)
    if extra:  # curate walks the folders, so these would be read without any truth
        print(f"warning: {len(extra)} file(s) from an earlier run are not part of this pool "
              f"(e.g. {extra[0]}); remove them or write to a fresh folder", file=sys.stderr)
    print(f"done in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
