#!/usr/bin/env python3
"""Is exact search fast enough for a large library, or is an approximate
index (FAISS) needed?

What it measures
----------------
1. ``rank.topk`` over a synthetic library of ``--library`` rows x ``--dim``
   (default 300k x 512), kept as float16 in an ``.npy`` file and memory-
   mapped, as the index store keeps its shards, then as float32 in memory
   (what ``search`` gets from a LibraryIndex): latency per query batch of
   1, 64 and 1024 queries, for a few key chunk sizes, with the growth of
   peak RSS (``resource.getrusage``; a high-water mark, so only growth past
   the earlier peak shows) and the peak of numpy allocations
   (``tracemalloc``) during the call.
2. Scoring a film: ``--film-hours`` (default 2) at 0.1 s is 72k frame
   queries in ``--scenes`` (60) scenes. The shortlist path (per scene,
   ``rank.scene_shortlist`` of 1 s window means, then a dense softmax over
   the shortlist) against the dense path (every segment x every library
   row, then the softmax), whose time is estimated from a slice and
   extrapolated. Prints multiply-adds and times of both, and their ratios.

How to run
----------
    python bench/bench_search.py                 # about 2 min on 2 cores
    python bench/bench_search.py --library 100000 --film-hours 0.5
    python bench/bench_search.py --work bench/out   # keep the .npy for later runs

Figures go to stdout, progress to stderr. No asserts: read the figures.
The machine's load moves absolute numbers; compare ratios within a run.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from autofoley.placement.rank import scene_shortlist, softmax_series, topk


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def rss_mb() -> float:
    """Peak resident set size of this process so far, MB (Linux: KiB units)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def unit_rows(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def make_library(path: Path, n: int, dim: int, seed: int = 0) -> None:
    """n unit rows in clusters (a library has many takes of similar sounds), float16."""
    if path.exists() and np.load(path, mmap_mode="r").shape == (n, dim):
        return
    rng = np.random.default_rng(seed)
    centres = unit_rows(rng, 2000, dim)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=(n, dim))
    for lo in range(0, n, 50000):
        m = min(50000, n - lo)
        x = centres[rng.integers(0, len(centres), m)] + 0.6 * unit_rows(rng, m, dim)
        out[lo:lo + m] = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float16)
    out.flush()
    del out


def timed(fn, repeat: int = 1):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def bench_topk(keys: np.ndarray, dim: int, k: int, chunks: list[int], batches: list[int],
               what: str) -> None:
    rng = np.random.default_rng(1)
    print(f"\n== rank.topk, library {len(keys)} x {dim} {what}, k={k} ==")
    print(f"{'queries':>8} {'chunk':>8} {'seconds':>9} {'ms/query':>9} {'RSS peak +MB':>13} "
          f"{'numpy peak MB':>14}")
    for q in batches:
        queries = unit_rows(rng, q, dim)
        for chunk in chunks:
            before = rss_mb()
            tracemalloc.start()
            seconds, _ = timed(lambda: topk(queries, keys, k, chunk))
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(f"{q:>8} {chunk:>8} {seconds:>9.3f} {1000 * seconds / q:>9.2f} "
                  f"{rss_mb() - before:>13.0f} {peak / 2**20:>14.0f}", flush=True)


def bench_film(keys: np.ndarray, dim: int, hours: float, n_scenes: int, k: int, window: int,
               temperature: float, dense_sample: int) -> None:
    rng = np.random.default_rng(2)
    segments = int(hours * 3600 / 0.1)
    n = len(keys)
    print(f"\n== scoring a {hours:g} h film at 0.1 s: {segments} segments, {n_scenes} scenes, "
          f"library {n} ==")
    # Frames drift slowly within a scene around the scene's own direction.
    bounds = np.linspace(0, segments, n_scenes + 1).astype(int)
    frames = np.empty((segments, dim), np.float32)
    for s in range(n_scenes):
        a, b = bounds[s], bounds[s + 1]
        base = unit_rows(rng, 1, dim)
        x = base + 0.3 * unit_rows(rng, b - a, dim)
        frames[a:b] = x / np.linalg.norm(x, axis=1, keepdims=True)
    keys32 = np.asarray(keys, np.float32)  # the index as LibraryIndex holds it
    log("shortlist path...")
    t0 = time.perf_counter()
    shortlist_rows = 0
    macs = 0
    for s in range(n_scenes):
        scene = frames[bounds[s]:bounds[s + 1]]
        cand = scene_shortlist(scene, keys32, k, window)
        windows = -(-len(scene) // window)
        softmax_series(scene, keys32[cand], temperature)
        shortlist_rows += len(cand)
        macs += windows * n * dim + len(scene) * len(cand) * dim
    t_short = time.perf_counter() - t0
    log("dense slice...")
    sample = frames[:dense_sample]
    t0 = time.perf_counter()
    for lo in range(0, len(sample), 256):  # in blocks: a full (T, N) matrix would not fit
        softmax_series(sample[lo:lo + 256], keys32, temperature)
    t_dense = (time.perf_counter() - t0) * segments / len(sample)
    dense_macs = segments * n * dim
    print(f"shortlist: {shortlist_rows / n_scenes:.0f} candidates per scene (top-{k} of "
          f"{window}-segment windows), {macs / 1e9:.1f} G multiply-adds, {t_short:.1f} s")
    print(f"dense:     {dense_macs / 1e9:.1f} G multiply-adds, {t_dense:.1f} s (extrapolated "
          f"from {len(sample)} segments)")
    print(f"ratio dense / shortlist: {dense_macs / macs:.1f}x multiply-adds, "
          f"{t_dense / t_short:.1f}x time")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--library", type=int, default=300_000, help="library rows (default: %(default)s)")
    p.add_argument("--dim", type=int, default=512, help="embedding width (default: %(default)s)")
    p.add_argument("-k", type=int, default=10, help="top-k of a search (default: %(default)s)")
    p.add_argument("--chunks", default="8192,65536,300000",
                   help="key chunk sizes for topk, comma-separated (default: %(default)s)")
    p.add_argument("--batches", default="1,64,1024", help="query batch sizes (default: %(default)s)")
    p.add_argument("--film-hours", type=float, default=2.0)
    p.add_argument("--scenes", type=int, default=60)
    p.add_argument("--shortlist-k", type=int, default=8, help="as the demo model's default")
    p.add_argument("--window", type=int, default=10, help="segments per shortlist window (1 s)")
    p.add_argument("--dense-sample", type=int, default=1024,
                   help="segments timed for the dense estimate (default: %(default)s)")
    p.add_argument("--work", type=Path, default=None, help="keep the library .npy here")
    args = p.parse_args(argv)
    print(f"cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}, numpy {np.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.work or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"library-{args.library}x{args.dim}.npy"
        log(f"library {path}")
        make_library(path, args.library, args.dim)
        keys = np.load(path, mmap_mode="r")
        print(f"library file {path.stat().st_size / 2**20:.0f} MB float16; RSS before "
              f"{rss_mb():.0f} MB")
        chunks = [int(c) for c in args.chunks.split(",")]
        batches = [int(b) for b in args.batches.split(",")]
        bench_topk(keys, args.dim, args.k, chunks, batches, "float16 memmap")
        # What search() gets: LibraryIndex.vectors, float32 in memory.
        bench_topk(np.asarray(keys, np.float32), args.dim, args.k, chunks[:2], batches,
                   "float32 in memory")
        bench_film(keys, args.dim, args.film_hours, args.scenes, args.shortlist_k, args.window,
                   0.01, args.dense_sample)
        del keys
    print(f"\npeak RSS of the run {rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
