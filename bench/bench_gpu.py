#!/usr/bin/env python3
"""Decode and encode frames per second on a CUDA GPU: one command, ready for
when a GPU is at hand (on a machine without one it says so and exits 0).

On a GPU the image tower is fast and decoding becomes the bound. This prints,
for one film (``--film``, else the 60 s film of ``bench_speed.py``):

- decoding to the model's input, frames/s: ffmpeg on the CPU (the pipeline's
  ``iter_frames``), and ffmpeg with ``-hwaccel cuda`` (NVDEC) when this
  ffmpeg has it;
- the image tower alone on decoded frames, frames/s, fp32 and fp16 autocast,
  at batch sizes 32, 64, 128 and 256;
- ``embed_film`` (decoding and encoding overlapped, dense grid), frames/s.

    python bench/bench_gpu.py --clip-model ViT-B-32 --clip-pretrained none
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--film", type=Path, default=None)
    p.add_argument("--clip-model", default="ViT-B-32")
    p.add_argument("--clip-pretrained", default="none")
    p.add_argument("--step", type=float, default=0.1)
    args = p.parse_args()

    import numpy as np
    import torch

    if not torch.cuda.is_available():
        print("no CUDA device here: nothing to measure (run this on a GPU machine)")
        return 0
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_speed import make_film

    from autofoley.media.frames import fit_filter, iter_frames
    from autofoley.media.probe import probe
    from autofoley.models.clip import load_clip
    from autofoley.placement.embed import embed_film

    film = args.film or make_film(ROOT / "bench" / "out" / "speed" / "film60.mp4")
    video = probe(film)
    enc = load_clip(args.clip_model, args.clip_pretrained or None, "cuda")
    size = enc.image_size
    print(f"{torch.cuda.get_device_name()}, {args.clip_model}, film {film.name} "
          f"({video.duration:.0f} s), load average {os.getloadavg()[0]:.2f}")

    t0 = time.perf_counter()
    frames = np.concatenate([b.pixels for b in iter_frames(film, args.step, size, 64,
                                                           duration=video.duration)])
    cpu = len(frames) / (time.perf_counter() - t0)
    print(f"decode, ffmpeg on the CPU:        {cpu:8.0f} frames/s")
    rate = f"1/{args.step}" if args.step else "10"
    cmd = ["ffmpeg", "-v", "error", "-nostdin", "-hwaccel", "cuda", "-i", str(film), "-vf",
           f"fps={rate}," + fit_filter(size, "crop"), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, timeout=600, stdin=subprocess.DEVNULL)
    if proc.returncode == 0:
        n = len(proc.stdout) // (size * size * 3)
        print(f"decode, ffmpeg -hwaccel cuda:     {n / (time.perf_counter() - t0):8.0f} frames/s")
    else:
        print(f"decode, ffmpeg -hwaccel cuda:     not available "
              f"({proc.stderr.decode(errors='replace').strip().splitlines()[-1:]})")

    x = torch.from_numpy(frames).to("cuda")
    for half in (False, True):
        for batch in (32, 64, 128, 256):
            with torch.inference_mode(), torch.autocast("cuda", dtype=torch.float16, enabled=half):
                def run():
                    for i in range(0, len(x), batch):
                        t = x[i:i + batch].permute(0, 3, 1, 2).float().div_(255)
                        enc.model.encode_image((t - enc.mean) / enc.std)
                    torch.cuda.synchronize()
                run()  # warm-up
                t0 = time.perf_counter()
                run()
                fps = len(x) / (time.perf_counter() - t0)
            print(f"encode {'fp16' if half else 'fp32'}, batch {batch:3d}:         {fps:8.0f} frames/s")
    t0 = time.perf_counter()
    out = embed_film(video, enc, args.step, 128, use_cache=False)
    print(f"embed_film (overlapped, dense):    {len(out) / (time.perf_counter() - t0):8.0f} frames/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
