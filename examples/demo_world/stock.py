"""A stock-footage pool of the demo world: short clips and stills, with truth.

Stock footage, unlike a film, is one shot of one subject: each clip is a
place with nothing, one or two objects that drift across the frame or
jitter in place for 3-6 s, each still one picture. ``write_stock(root, seed)``
writes ``videos/clip_NNN.mp4`` (h264 through an ffmpeg pipe) and
``stills/still_NNN.png`` and returns, and writes to ``stock_truth.json``
beside them, what each file shows. ``autofoley curate`` only reads media
files, so the truth can sit in the pool.
"""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import numpy as np

from .world import CLASSES, PLACES, draw_object, render_place

TRUTH_NAME = "stock_truth.json"
SIZE = (128, 96)  # 4:3, so a centre crop to the encoder's square keeps the middle
FPS = 10
_OVERSAMPLE = 2  # drawn at twice the size and halved, as the demo CLIP was trained


def plan_clip(rng: np.random.Generator, objects: list[str] | None = None, place: str | None = None) -> dict:
    """A clip's place, objects and motion, drawn from ``rng``.

    10% show the place only, 25% two objects, the rest one; ``objects`` /
    ``place`` force them. Each object drifts from ``start`` to ``end`` (frame
    fractions) or jitters around ``start`` (``end`` equal to it).
    """
    if place is None:
        place = PLACES[int(rng.integers(len(PLACES)))].name
    if objects is None:
        u = rng.random()
        count = 0 if u < 0.1 else 2 if u < 0.35 else 1
        objects = [CLASSES[int(i)].name for i in rng.choice(len(CLASSES), count, replace=False)]
    tracks = []
    lanes = [0.5] if len(objects) == 1 else [0.36, 0.64]
    for name, cx in zip(objects, lanes):
        scale = rng.uniform(0.45, 0.65) if len(objects) == 1 else rng.uniform(0.35, 0.5)
        y = rng.uniform(0.4, 0.62)
        start = (cx + rng.uniform(-0.06, 0.06), y)
        drift = rng.random() < 0.5
        end = (start[0] + rng.uniform(-0.1, 0.1), y + rng.uniform(-0.05, 0.05)) if drift else start
        tracks.append({"object": name, "start": start, "end": end, "scale": scale,
                       "angle": rng.uniform(-12, 12), "jitter": 0.0 if drift else rng.uniform(0.005, 0.015)})
    return {"place": place, "objects": list(objects), "tracks": tracks,
            "duration": round(float(rng.uniform(3.0, 6.0)), 1)}


def render_clip(plan: dict, seed: tuple[int, ...], size: tuple[int, int] = SIZE, fps: int = FPS):
    """Yield the clip's frames as PIL RGB images."""
    w, h = size
    big = (w * _OVERSAMPLE, h * _OVERSAMPLE)
    background = render_place(np.random.default_rng([*seed, 0]), big, plan["place"])
    frames = max(1, int(round(plan["duration"] * fps)))
    for f in range(frames):
        u = f / max(1, frames - 1)
        image = background.copy()
        for i, t in enumerate(plan["tracks"]):
            wobble = t["jitter"] * math.sin(2 * math.pi * (1.3 + i) * f / fps)
            x = t["start"][0] + (t["end"][0] - t["start"][0]) * u + wobble
            y = t["start"][1] + (t["end"][1] - t["start"][1]) * u - wobble / 2
            # One generator per object and clip: the object keeps its look in every frame.
            draw_object(image, np.random.default_rng([*seed, 1, i]), t["object"], x, y, t["scale"],
                        t["angle"] + 40 * wobble, facing=1 if t["end"][0] >= t["start"][0] else -1)
        yield image.reduce(_OVERSAMPLE)


def write_clip(path: Path, plan: dict, seed: tuple[int, ...], size: tuple[int, int] = SIZE,
               fps: int = FPS, ffmpeg: str = "ffmpeg") -> None:
    """Encode the clip to ``path`` (h264, yuv420p, one thread, fast preset)."""
    w, h = size
    args = [ffmpeg, "-y", "-v", "error", "-nostdin", "-f", "rawvideo", "-pix_fmt", "rgb24",
            "-s", f"{w}x{h}", "-r", str(fps), "-i", "-", "-c:v", "libx264", "-preset", "veryfast",
            "-crf", "26", "-pix_fmt", "yuv420p", "-threads", "1", "-map_metadata", "-1", str(path)]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for frame in render_clip(plan, seed, size, fps):
            proc.stdin.write(frame.tobytes())
        proc.stdin.close()
    except BrokenPipeError:
        pass
    err = proc.stderr.read().decode("utf-8", "replace").strip()
    proc.stderr.close()
    if proc.wait() != 0:
        raise RuntimeError(f"ffmpeg failed on {path.name}: {err.splitlines()[-1:] or 'no message'}")


def write_still(path: Path, plan: dict, seed: tuple[int, ...], size: tuple[int, int] = SIZE) -> None:
    """The clip's first frame as a PNG."""
    first = next(render_clip({**plan, "duration": 0.0}, seed, size, 1))
    first.save(path, optimize=False)


def write_stock(root: str | Path, seed: int = 0, videos: int = 80, stills: int = 40,
                size: tuple[int, int] = SIZE, fps: int = FPS, ffmpeg: str = "ffmpeg",
                forced: list[tuple[str, list[str]]] | None = None, workers: int = 1) -> dict:
    """Write the pool under ``root`` and return its truth.

    Truth: {relative path: {"kind": "video" | "still", "place", "objects":
    [class names on screen the whole time], "duration": seconds}}, also
    written to ``root/stock_truth.json``. ``forced`` lists (place, objects)
    for the first items (clips, then stills), for tests that need a given
    subject. ``workers`` > 1 renders in that many processes; every item has
    its own generator, so the files are the same either way.
    """
    root = Path(root)
    (root / "videos").mkdir(parents=True, exist_ok=True)
    (root / "stills").mkdir(parents=True, exist_ok=True)
    forced = list(forced or [])
    jobs = [(root, seed, videos, i, size, fps, ffmpeg, forced[i] if i < len(forced) else None)
            for i in range(videos + stills)]
    if workers > 1 and len(jobs) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers) as pool:
            items = list(pool.map(_write_item, jobs, chunksize=4))
    else:
        items = [_write_item(job) for job in jobs]
    truth = dict(sorted(items))
    (root / TRUTH_NAME).write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return truth


def _write_item(job) -> tuple[str, dict]:
    """Item ``i`` of the pool: clip i, or still i - videos. Returns (path, truth)."""
    root, seed, videos, i, size, fps, ffmpeg, force = job
    is_video = i < videos
    index = i if is_video else i - videos
    key = (seed, 7 if is_video else 8, index)
    place, objects = force if force else (None, None)
    plan = plan_clip(np.random.default_rng(list(key)), objects, place)
    if is_video:
        rel = f"videos/clip_{index:03d}.mp4"
        write_clip(root / rel, plan, key, size, fps, ffmpeg)
    else:
        rel = f"stills/still_{index:03d}.png"
        write_still(root / rel, plan, key, size)
    return rel, {"kind": "video" if is_video else "still", "place": plan["place"],
                 "objects": plan["objects"], "duration": plan["duration"] if is_video else 0.0}
