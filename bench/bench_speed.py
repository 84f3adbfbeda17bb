#!/usr/bin/env python3
"""autofoley against the naive pipeline (``naive_pipeline.py``), first run, one film.

Runs, alternated round by round so a change of the machine's load hits them
alike (A B C A B C ...):

- A: ``python bench/naive_pipeline.py FILM`` (moviepy, one frame at a time);
- B: ``autofoley score FILM --no-cache --dense`` (every frame of the grid);
- C: ``autofoley score FILM --no-cache`` (as shipped: only what changes).

Both autofoley runs use an empty cache of their own (a first run: the
library's text is embedded too) and write the mix and the scored film, as
the naive script does. It prints each run's wall time, the medians, the
ratios naive / autofoley, the share of the 0.1 s grid autofoley encoded, and
for each autofoley run its end-to-end time over the seconds it spent decoding
and encoding frames and regions (``decode_seconds`` + ``encode_seconds`` of
``score --json``): what the run costs beyond the work any scorer must do.
With ``--check-error`` it then embeds the film dense and sparse through the
library and prints the cosine error of the frames not encoded (max, p99).
The load average is printed beside every figure.

The film: ``--film``, else 60 s made of two lab-world films (a camera pan,
cuts) with ffmpeg into ``bench/out/speed/film60.mp4``.

    python bench/bench_speed.py                                  # ViT-B-32, random weights
    python bench/bench_speed.py --rounds 3 --check-error
    python bench/bench_speed.py --clip-pretrained random-file     # weights loaded from a file
    python bench/bench_speed.py --clip-model autofoley-demo --clip-pretrained "" --library examples/demo/library
    python bench/bench_speed.py --film examples/lab/films/lab_long_reel.mp4 --runs naive,autofoley

``--runs`` leaves out some of A, B and C (a long film's dense run costs minutes and
says nothing about the shipped ratio).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAB = ROOT / "examples" / "lab"


def load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def make_film(path: Path) -> Path:
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    a, b = LAB / "films" / "lab_snow_pan.mp4", LAB / "films" / "lab_desert_workshop.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", "-i", str(a), "-i", str(b),
                    "-filter_complex", "[0:v][0:a][1:v][1:a]concat=n=2:v=1:a=1[v][a]",
                    "-map", "[v]", "-map", "[a]", "-t", "60", "-c:v", "libx264",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", str(path)],
                   check=True, timeout=600, stdin=subprocess.DEVNULL)
    return path


def naive_clip(model: str, pretrained: str | None) -> list[str]:
    """The naive script's model flags: open_clip knows no registry name, so
    one (``autofoley-demo``) becomes its config .json and weights file."""
    from autofoley.models.registry import resolve_clip

    spec = resolve_clip(model, pretrained or None)
    name = str(spec.config_path) if spec.config_path is not None else spec.name
    return ["--clip-model", name, "--clip-pretrained", spec.pretrained or "none"]


def random_weights(model: str, work: Path) -> Path:
    """The model's seeded random weights (as ``--clip-pretrained none`` builds
    them) in a .safetensors, written once: loading a file is what a user's run
    does, and building a random model costs what loading does not."""
    path = work / f"{Path(model).stem}.random.safetensors"
    if not path.is_file():
        from safetensors.torch import save_file

        from autofoley.models.clip import load_clip

        work.mkdir(parents=True, exist_ok=True)
        state = load_clip(model, "none", "cpu").model.state_dict()
        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    return path


def timed(cmd: list[str], env: dict, timeout: float) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd[:4])}...\n{proc.stderr[-800:]}")
    return seconds, proc.stdout


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--film", type=Path, default=None)
    p.add_argument("--library", type=Path, default=LAB / "library")
    p.add_argument("--clip-model", default="ViT-B-32")
    p.add_argument("--clip-pretrained", default="none",
                   help="weights: a tag or file; 'none': random weights built at every start; "
                        "'random-file': the model's seeded random weights saved once to a "
                        ".safetensors under --work, which both sides load as a user loads "
                        "real weights")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--timeout", type=float, default=1800.0)
    p.add_argument("--work", type=Path, default=ROOT / "bench" / "out" / "speed")
    p.add_argument("--check-error", action="store_true")
    p.add_argument("--runs", default="naive,dense,autofoley",
                   help="which runs, comma-separated: naive, dense, autofoley (default: %(default)s)")
    args = p.parse_args()
    chosen = {"naive": "naive", "dense": "autofoley --dense", "autofoley": "autofoley"}
    wanted = [w.strip() for w in args.runs.split(",") if w.strip()]
    if not wanted or any(w not in chosen for w in wanted):
        p.error(f"--runs takes {', '.join(chosen)}")

    film = args.film or make_film(args.work / "film60.mp4")
    if args.clip_pretrained == "random-file":
        args.clip_pretrained = str(random_weights(args.clip_model, args.work))
    model = ["--clip-model", args.clip_model] + (
        ["--clip-pretrained", args.clip_pretrained] if args.clip_pretrained else [])
    cli = [shutil.which("autofoley") or sys.executable, *([] if shutil.which("autofoley") else
                                                          ["-m", "autofoley"])]
    naive_model = naive_clip(args.clip_model, args.clip_pretrained)
    runs = {
        "naive": lambda out: [sys.executable, str(ROOT / "bench" / "naive_pipeline.py"), str(film),
                              "--library", str(args.library), "--out", str(out / "naive.mp4"),
                              *naive_model],
        "autofoley --dense": lambda out: cli + ["score", str(film), "--library", str(args.library),
                                                "--out", str(out), "--no-cache", "--dense",
                                                "--quiet", "--json", *model],
        "autofoley": lambda out: cli + ["score", str(film), "--library", str(args.library),
                                        "--out", str(out), "--no-cache", "--quiet", "--json",
                                        *model],
    }
    runs = {chosen[w]: runs[chosen[w]] for w in chosen if w in wanted}
    times: dict[str, list[float]] = {k: [] for k in runs}
    loads: dict[str, list[str]] = {k: [] for k in runs}
    encoded = {}
    work: dict[str, list[float]] = {k: [] for k in runs}  # decode + encode seconds per run
    stages: dict[str, list[dict]] = {k: [] for k in runs}  # score --json timings per run
    print(f"film {film}, {args.clip_model} ({args.clip_pretrained or 'registry weights'}), "
          f"{args.rounds} rounds; load average at start {load()}", flush=True)
    for r in range(args.rounds):
        for name, make in runs.items():
            with tempfile.TemporaryDirectory() as tmp:
                env = {**os.environ, "AUTOFOLEY_CACHE": str(Path(tmp) / "cache"),
                       "AUTOFOLEY_CONFIG": str(Path(tmp) / "config")}
                out = Path(tmp) / "out"
                out.mkdir()
                seconds, stdout = timed(make(out), env, args.timeout)
            times[name].append(seconds)
            loads[name].append(load())
            note = ""
            if name.startswith("autofoley"):
                summary = json.loads(stdout)
                encoded[name] = summary.get("frames_encoded", 1.0)
                work[name].append(summary["decode_seconds"] + summary["encode_seconds"])
                stages[name].append(summary["timings"])
                note = (f"   decode + encode {work[name][-1]:.1f} s, end to end / that "
                        f"{seconds / work[name][-1]:.2f}")
            print(f"round {r + 1}: {name:<18} {seconds:7.1f} s{note}   load {loads[name][-1]}",
                  flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    print()
    for name in runs:
        share = f", {encoded[name]:.0%} of the grid encoded" if name in encoded else ""
        if work[name]:
            # Per round, so each ratio's two figures come from one run.
            ratio = statistics.median(t / w for t, w in zip(times[name], work[name]))
            share += (f", decode + encode median {statistics.median(work[name]):.1f} s, "
                      f"end to end / (decode + encode) {ratio:.2f}")
        print(f"{name:<18} median {med[name]:7.1f} s{share}")
    for name, runs_timings in stages.items():
        if runs_timings:
            # Where the time goes; the rest of the wall time is Python's start and imports.
            parts = {k: statistics.median(t.get(k, 0.0) for t in runs_timings)
                     for k in runs_timings[0]}
            print(f"{name:<18} stages (median s): "
                  + ", ".join(f"{k} {v:.1f}" for k, v in parts.items() if v >= 0.05))
    for name in ("autofoley --dense", "autofoley"):
        if "naive" in med and name in med:
            print(f"naive / {name + ':':<18} {med['naive'] / med[name]:.2f} x")
    print(f"load average at end {load()}")
    if args.check_error:
        import numpy as np

        from autofoley.media.probe import probe
        from autofoley.models.clip import load_clip
        from autofoley.placement.embed import embed_film
        from autofoley.placement.scenes import detect_scenes
        from autofoley.placement.sparse import SparsePlan, cut_segments

        enc = load_clip(args.clip_model, args.clip_pretrained or None)
        video = probe(film)
        scenes = detect_scenes(video.path, video.duration)
        dense = embed_film(video, enc, 0.1, 64, False)
        sparse = embed_film(video, enc, 0.1, 64, False, plan=SparsePlan(),
                            cuts=cut_segments(scenes, 0.1))
        err = 1 - (dense.vectors * sparse.vectors).sum(axis=1)[~sparse.encoded]
        print(f"cosine error of the {len(err)} frames not encoded: max {err.max():.4f}, "
              f"p99 {np.percentile(err, 99):.4f} ({sparse.encoded.mean():.0%} encoded); "
              f"load {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
