#!/usr/bin/env python3
"""Time the audio encoders on a synthetic SFX library, in one run.

What it measures
----------------
A library of ``--files`` sounds (default 200) is written once into the work
folder: WAV and FLAC, 22.05/44.1/48/96 kHz, mono and stereo, lengths drawn
log-uniformly from 0.2 s to 20 s (median about 2 s, like an SFX library),
noise bursts, tones and sweeps. Then, for each model:

- **index**: ``index_store.build_audio_index`` over the library, whole files
  (no silence split), into a fresh store: what ``autofoley index`` does
  (decode, resample, mono, embed ``--batch-size`` sounds at a time, write
  shards and manifest);
- **end to end**: ``encode_file`` on every file, one after the other (decode,
  resample to the model's rate, mix to mono, embed one file at a time);
- **decode only**: ``load_audio`` + mono mix of every file at the model's rate;
- **encoder only**: ``encode`` on the already-decoded audio, ``--batch-size``
  windows at a time (the raw forward, windowing and pooling included).

Throughput is in audio-hours per minute of wall time (library duration /
time). The key figures are index / encoder only (what decoding, resampling
and the store cost the indexer on top of the network) and end to end /
encoder only (the same, embedding one file at a time).
Models: ``aisfx`` (the real pretrained backbone, when the aisfx wheel is
installed) and ``cnn14`` (the full-size published architecture, 80 M
parameters, with random weights: its speed does not depend on them), or any
``--model`` names ``load_audio_encoder`` accepts. Each model first encodes
one file so no timing pays first-call set-up.

How to run
----------
    python bench/bench_audio_encoder.py                     # ~3 min on 2 cores
    python bench/bench_audio_encoder.py --files 50 --model audio-tiny-cnn14
    python bench/bench_audio_encoder.py --work bench/out --json

The machine's load moves absolute numbers a lot; compare ratios within a run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from autofoley.media.audio import load_audio
from autofoley.models.audio import AudioEncoder, load_audio_encoder

LIBRARY_MARK = ".bench-audio-library-v1"
RATES = (22050, 44100, 48000, 96000)


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def make_library(folder: Path, count: int) -> list[Path]:
    """Write ``count`` synthetic sounds (reused when already there)."""
    mark = folder / f"{LIBRARY_MARK}-{count}"
    files = sorted(folder.glob("sfx_*.*"))
    if mark.exists() and len(files) == count:
        return files
    for f in files:
        f.unlink()
    rng = np.random.default_rng(7)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        sr = int(rng.choice(RATES))
        channels = int(rng.choice((1, 2)))
        seconds = float(np.exp(rng.uniform(np.log(0.2), np.log(20.0))))
        n = int(sr * seconds)
        t = np.arange(n) / sr
        kind = i % 3
        if kind == 0:
            wave = rng.standard_normal(n) * np.exp(-t / max(0.05, seconds / 4))
        elif kind == 1:
            wave = np.sin(2 * np.pi * rng.uniform(80, 4000) * t)
        else:
            wave = np.sin(2 * np.pi * (100 * t + rng.uniform(500, 3000) * t ** 2 / (2 * seconds)))
        wave = 0.4 * wave / (np.abs(wave).max() + 1e-9)
        data = np.stack([wave] * channels, axis=1).astype(np.float32)
        ext = "flac" if i % 4 == 3 else "wav"
        sf.write(folder / f"sfx_{i:04d}.{ext}", data, sr, subtype="PCM_24" if ext == "wav" else "PCM_16")
    mark.touch()
    return sorted(folder.glob("sfx_*.*"))


def library_seconds(files: list[Path]) -> float:
    return sum(sf.info(str(f)).duration for f in files)


def _timed(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def bench_model(enc: AudioEncoder, folder: Path, files: list[Path], batch_size: int,
                repeat: int) -> dict:
    from autofoley.library.index_store import build_audio_index
    from autofoley.library.scan import scan_library

    enc.encode_file(files[0])  # warm-up
    sr = enc.sample_rate
    scan = scan_library(folder, use_cache=False)

    def index():
        # use_cache=False: a fresh throw-away store each time, shards and all.
        return build_audio_index(scan, enc, split=None, batch_size=batch_size, use_cache=False)

    def decode():
        out = []
        for f in files:
            data = load_audio(f, sr=sr)
            out.append(data.mean(axis=0) if data.shape[0] > 1 else data[0])
        return out

    t_idx, _ = _timed(index, repeat)
    t_e2e, _ = _timed(lambda: [enc.encode_file(f) for f in files], repeat)
    t_dec, waves = _timed(decode, repeat)
    t_enc, _ = _timed(lambda: enc.encode(waves, batch_size=batch_size), repeat)
    return {"index_s": t_idx, "end_to_end_s": t_e2e, "decode_only_s": t_dec,
            "encoder_only_s": t_enc}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--model", action="append",
                    help="model to time (repeatable); default: aisfx (if installed) and cnn14")
    ap.add_argument("--work", type=Path, help="keep the library here and reuse it")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--threads", type=int, help="torch.set_num_threads")
    ap.add_argument("--repeat", type=int, default=1, help="time each stage N times, keep the fastest")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    models = args.model
    if not models:
        from autofoley.models.backbones.aisfx import installed_checkpoint

        models = (["aisfx"] if installed_checkpoint() else []) + ["cnn14-full-random"]
        if "aisfx" not in models:
            log("aisfx wheel not installed: skipping it (pip install --no-deps aisfx)")

    with tempfile.TemporaryDirectory(prefix="autofoley-bench-audio-") as tmp:
        folder = args.work / "audio-library" if args.work else Path(tmp)
        log(f"library of {args.files} files in {folder}")
        files = make_library(folder, args.files)
        seconds = library_seconds(files)
        log(f"{seconds / 60:.1f} min of audio")
        results = {}
        for name in models:
            log(f"loading {name}")
            start = time.perf_counter()
            enc = _load(name, args.device)
            load_s = time.perf_counter() - start
            log(f"timing {name} on {enc.device}")
            r = bench_model(enc, folder, files, args.batch_size, args.repeat)
            r["load_s"] = load_s
            for key in ("index", "end_to_end", "decode_only", "encoder_only"):
                r[f"{key}_audio_h_per_min"] = seconds / 3600 / (r[f"{key}_s"] / 60)
            r["index_over_encoder"] = r["index_s"] / r["encoder_only_s"]
            r["end_to_end_over_encoder"] = r["end_to_end_s"] / r["encoder_only_s"]
            r["end_to_end_over_decode_plus_encoder"] = r["end_to_end_s"] / (
                r["decode_only_s"] + r["encoder_only_s"])
            results[name] = r

    meta = {"files": len(files), "audio_seconds": seconds, "threads": torch.get_num_threads(),
            "loadavg": os.getloadavg(), "batch_size": args.batch_size}
    if args.json:
        print(json.dumps({"meta": meta, "models": results}, indent=2))
        return 0
    print(f"library: {meta['files']} files, {seconds / 60:.1f} min of audio; "
          f"torch threads {meta['threads']}; load average {meta['loadavg'][0]:.2f}")
    head = f"{'model':<20} {'stage':<14} {'seconds':>9} {'audio h/min':>12}"
    print(head)
    print("-" * len(head))
    for name, r in results.items():
        for key in ("index", "end_to_end", "decode_only", "encoder_only"):
            print(f"{name:<20} {key.replace('_', ' '):<14} {r[key + '_s']:>9.2f} "
                  f"{r[key + '_audio_h_per_min']:>12.2f}")
        print(f"{name:<20} load {r['load_s']:.2f} s; index / encoder only "
              f"{r['index_over_encoder']:.2f}; end to end / encoder only "
              f"{r['end_to_end_over_encoder']:.2f}; end to end / (decode + encoder) "
              f"{r['end_to_end_over_decode_plus_encoder']:.2f}")
    return 0


def _load(name: str, device: str) -> AudioEncoder:
    """``cnn14-full-random``: the published Cnn14 architecture and front end
    with seeded random weights (no checkpoint needed to time it)."""
    if name != "cnn14-full-random":
        return load_audio_encoder(name, device=device)
    from autofoley.models.registry import AudioSpec, _audio_config

    config, path = _audio_config("configs/audio-cnn14.json")
    return load_audio_encoder(AudioSpec(name, "cnn14", config, "registry", config_path=path),
                              device=device)


if __name__ == "__main__":
    sys.exit(main())
