#!/usr/bin/env python3
"""How placement holds up on other libraries than the one a world was made with.

Each world's films are scored as shipped (``bench_placement.py``, text ranking,
an empty ``AUTOFOLEY_CONFIG``) against variants of its library, written under
``--work`` from the world's own files (which are never changed):

``own``
    the world's library as it is;
``names-only``
    a copy without its CSV sidecar: each sound is described by its UCS name,
    embedded description or folders alone;
``no-ambience``
    a copy without its ambience beds (files and CSV rows): built-in place
    sentences compete as "no SFX here" instead (``library/places.py``);
``plus-other``
    the world's library plus the other world's whole library in ``OTHER/``
    (without its CSV), both truths merged: many sounds that are never on
    screen, worded for another model;
``thin-half``, ``thin``
    a copy in which a seeded half of the sounding things (``thin-half``) or
    every one (``thin``) keeps only its first ``THIN_KEEP`` files (by path):
    a library with many files of some things and few of others, as most
    are, where a thing's share of the softmax comes from fewer descriptions;
``pool``
    with ``--pool WORLD=DIR``: ``DIR/library`` and ``DIR/library_truth.json``,
    as ``examples/make_stock.py`` / ``examples/make_lab_stock.py`` write them
    (seeded variants of every file of the world's library).

It prints one table per world (variant | SFX F1 on all films | held out |
detection F1 | false positives, distractors among them) and the load average
before and after. The lab world is never tuned on: these figures measure, they
choose nothing.

    python bench/bench_libraries.py                          # both worlds, 6 variants each: about 1 min a variant and world (cached)
    python bench/bench_libraries.py --variants own,thin-half,thin
    python bench/bench_libraries.py --worlds demo --variants own,no-ambience
    python bench/bench_libraries.py --pool demo=bench/out/audio_rank/demo/pool --json
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORLDS = {"demo": ROOT / "examples" / "demo", "lab": ROOT / "examples" / "lab"}
OTHER = {"demo": "lab", "lab": "demo"}
VARIANTS = ("own", "names-only", "no-ambience", "plus-other", "thin-half", "thin", "pool")
SIDECAR = "library.csv"
THIN_KEEP = 2  # files each thinned thing keeps


def log(msg: str) -> None:
    print(f"[libraries] {msg}", file=sys.stderr, flush=True)


def load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def read_truth(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def write_truth(path: Path, truth: dict) -> Path:
    path.write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    return path


def fresh_copy(src: Path, dst: Path) -> Path:
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".autofoley*"))
    return dst


def drop_rows(csv_path: Path, gone: set[str]) -> None:
    """Remove the CSV rows whose path is in ``gone`` (library-relative, '/')."""
    with open(csv_path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    kept = [r for i, r in enumerate(rows) if i == 0 or not r or r[0] not in gone]
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(kept)


def remove(lib: Path, truth: dict, gone: set[str]) -> dict:
    """Delete ``gone`` (library-relative paths) from the copy ``lib`` and its
    CSV; the truth without them."""
    for rel in gone:
        (lib / rel).unlink()
    if (lib / SIDECAR).exists():
        drop_rows(lib / SIDECAR, gone)
    return {rel: info for rel, info in truth.items() if rel not in gone}


def thinned(truth: dict, half: bool) -> set[str]:
    """The files a thin variant removes: past the first ``THIN_KEEP`` (by
    path) of each sounding thing's SFX, for every thing or a seeded half."""
    files: dict[str, list[str]] = {}
    for rel, info in sorted(truth.items()):
        if info.get("sound_class") and info.get("kind") != "ambience":
            files.setdefault(info["sound_class"], []).append(rel)
    things = sorted(files)
    if half:
        random.Random(0).shuffle(things)
        things = things[:len(things) // 2]
    return {rel for thing in things for rel in files[thing][THIN_KEEP:]}


def make_variant(name: str, world: str, work: Path, pools: dict[str, Path]) -> tuple[Path, Path] | None:
    """(library folder, library truth) of one variant, written under ``work``;
    None when it cannot be made (a pool not given)."""
    root = WORLDS[world]
    library, truth_path = root / "library", root / "truth" / "library.json"
    out = work / world / name
    if name == "own":
        return library, truth_path
    if name == "pool":
        pool = pools.get(world)
        return (pool / "library", pool / "library_truth.json") if pool else None
    out.mkdir(parents=True, exist_ok=True)
    lib = fresh_copy(library, out / "library")
    truth = read_truth(truth_path)
    if name == "names-only":
        (lib / SIDECAR).unlink(missing_ok=True)
    elif name == "no-ambience":
        truth = remove(lib, truth, {rel for rel, info in truth.items() if info.get("kind") == "ambience"})
    elif name == "plus-other":
        other = WORLDS[OTHER[world]]
        shutil.copytree(other / "library", lib / "OTHER",
                        ignore=shutil.ignore_patterns(".autofoley*", SIDECAR))
        truth.update({f"OTHER/{rel}": info for rel, info in
                      read_truth(other / "truth" / "library.json").items()})
    elif name in ("thin-half", "thin"):
        truth = remove(lib, truth, thinned(truth, half=name == "thin-half"))
    else:
        raise ValueError(f"unknown variant {name!r}")
    return lib, write_truth(out / "library_truth.json", truth)


def score(world: str, name: str, library: Path, truth: Path, work: Path, timeout: float) -> dict:
    """bench_placement.py on every film of ``world`` against ``library``."""
    cmd = [sys.executable, str(ROOT / "bench" / "bench_placement.py"), "--worlds", world,
           "--library", str(library), "--library-truth", str(truth),
           "--out", str(work / world / name / "placement"), "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    text = proc.stdout
    start = text.find("{")
    try:
        summary = json.loads(text[start:]) if start >= 0 else {}
    except ValueError:
        summary = {}
    result = summary.get("worlds", {}).get(world)
    if not result:
        tail = (proc.stderr or text).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"{world} {name}: bench_placement exit {proc.returncode}: {tail[0]}")
    return result


def row(name: str, result: dict) -> dict:
    every, held = result.get("overall", {}), result.get("held_out", {})
    causes = every.get("false_positive_causes", {})
    return {"variant": name, "library": result.get("library"), "sfx_f1": every.get("sfx_f1"),
            "held_out_sfx_f1": held.get("sfx_f1"), "detection_f1": every.get("detection_f1"),
            "false_positives": sum(causes.values()), "distractors": causes.get("distractor", 0),
            "causes": causes}


def fmt(x) -> str:
    return "-" if x is None else f"{x:.2f}"


def table(world: str, rows: list[dict]) -> str:
    lines = [f"world {world} (text ranking, shipped settings)",
             f"{'library':<14} {'SFX F1':>7} {'held out':>9} {'det F1':>7} {'false pos':>10} {'distractors':>12}"]
    for r in rows:
        lines.append(f"{r['variant']:<14} {fmt(r['sfx_f1']):>7} {fmt(r['held_out_sfx_f1']):>9} "
                     f"{fmt(r['detection_f1']):>7} {r['false_positives']:>10} {r['distractors']:>12}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--worlds", default="demo,lab", help="comma-separated: demo, lab (default: %(default)s)")
    p.add_argument("--variants", default="own,names-only,no-ambience,plus-other,thin-half,thin,pool",
                   help="comma-separated, of: " + ", ".join(VARIANTS) + " (pool only with --pool)")
    p.add_argument("--pool", action="append", default=[], metavar="WORLD=DIR",
                   help="a pool of library variants for WORLD (DIR/library, DIR/library_truth.json)")
    p.add_argument("--work", type=Path, default=ROOT / "bench" / "out" / "libraries",
                   help="where the variants and outputs go (default: %(default)s)")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds per variant (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print every result as JSON on stdout")
    args = p.parse_args(argv)

    worlds = [w.strip() for w in args.worlds.split(",") if w.strip()]
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    bad = [w for w in worlds if w not in WORLDS] + [v for v in variants if v not in VARIANTS]
    if bad:
        p.error(f"unknown world or variant: {', '.join(bad)}")
    pools = {}
    for item in args.pool:
        world, _, folder = item.partition("=")
        if world not in WORLDS or not (Path(folder) / "library").is_dir():
            p.error(f"--pool {item}: expected WORLD=DIR with DIR/library (WORLD: demo or lab)")
        pools[world] = Path(folder)
    start_load, started = load(), time.perf_counter()
    log(f"load average {start_load}")
    results: dict[str, list[dict]] = {}
    for world in worlds:
        results[world] = []
        for name in variants:
            made = make_variant(name, world, args.work, pools)
            if made is None:
                log(f"{world} {name}: skipped (no --pool {world}=DIR)")
                continue
            log(f"{world} {name}: scoring against {made[0]} (load average {load()})")
            results[world].append(row(name, score(world, name, *made, args.work, args.timeout)))
    end_load = load()
    summary = {"worlds": results, "load_average_start": start_load, "load_average_end": end_load,
               "cpu_count": os.cpu_count(), "seconds": round(time.perf_counter() - started, 1)}
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        print("\n\n".join(table(w, rows) for w, rows in results.items()))
        print(f"\nload average (1, 5, 15 min): {start_load} at start, {end_load} at end; "
              f"{os.cpu_count()} CPUs; {summary['seconds']:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
