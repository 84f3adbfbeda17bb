"""Write a demo stock-footage pool (and a bigger SFX library) for ``autofoley curate``.

    python examples/make_stock.py OUT [--seed 0] [--videos 80] [--stills 40]
                                      [--library-seeds 1-5]

writes ``OUT/stock/`` (short h264 clips and PNG stills of the demo world, with
``stock_truth.json``) and, with ``--library-seeds``, ``OUT/library/``: one
variant of the demo SFX library per seed in ``seedN/`` subfolders, one merged
``library.csv`` at the top, and ``OUT/library_truth.json``. Several variants
give a train/val/test split disjoint in audio files enough sounds per split.
Nothing here is committed: the pool is generated on demand (about a minute on
two busy cores for the defaults) and is the same for the same seed.

Then::

    autofoley curate --library OUT/library --stock OUT/stock --out OUT/pairs \\
        --clip-model autofoley-demo
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from demo_world import sounds  # noqa: E402
from demo_world.stock import write_stock  # noqa: E402


def parse_seeds(text: str) -> list[int]:
    """'1-5' -> [1, 2, 3, 4, 5]; '1,3,7' -> [1, 3, 7]."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if "-" in part:
            lo, hi = (int(x) for x in part.split("-", 1))
            seeds.extend(range(lo, hi + 1))
        elif part:
            seeds.append(int(part))
    return seeds


def _write_variant(job: tuple[Path, int]) -> dict:
    root, seed = job
    return sounds.write_library(root / f"seed{seed}", seed)


def write_libraries(root: Path, seeds: list[int], workers: int = 1) -> dict:
    """One demo library variant per seed under ``root/seedN`` (``workers``
    processes), one merged library.csv (a scan reads only the top-level
    sidecar); returns the truth keyed by path relative to ``root``."""
    from concurrent.futures import ProcessPoolExecutor

    root.mkdir(parents=True, exist_ok=True)
    jobs = [(root, seed) for seed in seeds]
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(workers) as pool:
            variants = list(pool.map(_write_variant, jobs))
    else:
        variants = [_write_variant(job) for job in jobs]
    return merge_variants(root, seeds, variants)


def merge_variants(root: Path, seeds: list[int], variants: list[dict]) -> dict:
    """Fold the library variants written under ``root/seedN`` (each with its own
    library.csv and truth) into one top-level library.csv, since a scan reads
    only the top-level sidecar; return their truth keyed by path relative to
    ``root``. Shared with make_lab_stock.py."""
    truth: dict[str, dict] = {}
    header: list[str] = []
    rows: list[list[str]] = []
    for seed, variant in zip(seeds, variants):
        sub = root / f"seed{seed}"
        for rel, info in variant.items():
            truth[f"seed{seed}/{rel}"] = info
        with open(sub / "library.csv", encoding="utf-8", newline="") as f:
            reader = csv.reader(f)
            header = next(reader)
            rows.extend([f"seed{seed}/{r[0]}", *r[1:]] for r in reader)
        (sub / "library.csv").unlink()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    (root / "library.csv").write_text(buf.getvalue(), encoding="utf-8")
    return truth


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", type=Path, help="output folder")
    p.add_argument("--seed", type=int, default=0, help="seed of the stock pool (default: %(default)s)")
    p.add_argument("--videos", type=int, default=80, help="clips of 3-6 s (default: %(default)s)")
    p.add_argument("--stills", type=int, default=40, help="PNG stills (default: %(default)s)")
    p.add_argument("--library-seeds", default=None, metavar="SEEDS",
                   help="also write a library variant per seed, e.g. 1-5 or 1,2,3")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="processes rendering clips (default: all cores)")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    truth = write_stock(args.out / "stock", args.seed, args.videos, args.stills, workers=args.workers)
    t1 = time.perf_counter()
    print(f"stock: {args.videos} clips and {args.stills} stills in {args.out / 'stock'} [{t1 - t0:.1f} s]")
    empty = sum(not v["objects"] for v in truth.values())
    print(f"  {empty} show a place only; truth in stock/stock_truth.json")
    if args.library_seeds:
        seeds = parse_seeds(args.library_seeds)
        lib_truth = write_libraries(args.out / "library", seeds, args.workers)
        sounds.write_truth(args.out / "library_truth.json", lib_truth)
        print(f"library: {len(lib_truth)} files from seeds {seeds} in {args.out / 'library'} "
              f"[{time.perf_counter() - t1:.1f} s]")
    print(f"done in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
