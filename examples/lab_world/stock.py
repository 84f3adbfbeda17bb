"""A stock-footage pool of the lab world: short clips and stills, with truth.

Stock footage, unlike a film, is one shot of one subject: a place with
nothing in it (10%), two things (25%) or one thing (the rest), sounding or
silent, in any of the lab places. A clip lasts 3-6 s and its things either
drift in a straight line or jitter in place (a small shake and sway); a
still is one picture. Sizes and positions vary from clip to clip, off centre
too. ``write_stock(root, seed)`` writes ``videos/clip_NNN.mp4`` (h264 through
an ffmpeg pipe) and ``stills/still_NNN.png`` and returns, and writes to
``stock_truth.json`` beside them, what each file shows. ``autofoley curate``
only reads media files, so the truth can sit in the pool.

Pictures are drawn by the lab world's own code (``pictures.paint_place`` for
the backdrop, ``pictures.place_sprite`` for the things), as its films are, so
the pool looks like the films and the lab CLIP model's training pictures
without being either.

Frames are 16:9 (192x108: the films' aspect at a size that is cheap to
render and still larger than the lab model's 80 px input). ``fit`` says how
the frames will be squared for CLIP: ``"crop"`` (what ``autofoley curate``
does) keeps every thing's centre inside the middle square a centre crop
keeps, so the truth holds for the cropped frame; ``"pad"`` (letterboxing, as
the lab model was trained) lets things go anywhere across the frame.
"""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import numpy as np
from PIL import Image

from .catalog import LOCALE, LOCALES, THING, THINGS
from .pictures import paint_place, place_sprite

TRUTH_NAME = "stock_truth.json"
SIZE = (192, 108)  # 16:9 like the lab films, a third of their pixels
FPS = 10
FITS = ("crop", "pad")
TIMEOUT = 120.0  # seconds one clip's ffmpeg may take; a few hundred kB of raw video takes well under one
_EDGE = 0.03  # a thing's box may stick out of the frame by this much (frame fractions), as in training pictures


def _x_range(size: float, aspect: float, fit: str) -> tuple[float, float]:
    """Where a thing's centre may be (fractions of the frame width).

    Its box (``size`` in frame heights) stays in the frame up to ``_EDGE``;
    with ``fit="crop"`` its centre also stays inside the middle square a
    centre crop keeps, with a small margin so it is not cut in half.
    """
    half = size / 2 / aspect
    lo, hi = half - _EDGE, 1 - half + _EDGE
    lo, hi = max(lo, 0.1), min(hi, 0.9)
    if fit == "crop":
        keep = 0.5 / aspect  # half the crop's width, in frame widths
        lo, hi = max(lo, 0.5 - keep + 0.04), min(hi, 0.5 + keep - 0.04)
    if lo > hi:  # a thing wider than the room it has: centre it
        lo = hi = 0.5
    return lo, hi


def plan_item(rng: np.random.Generator, things: list[str] | None = None, place: str | None = None, *,
              still: bool = False, size: tuple[int, int] = SIZE, fit: str = "crop") -> dict:
    """A clip's (or a still's) place, things and motion, drawn from ``rng``.

    10% show the place only, 25% two things, the rest one; ``things`` /
    ``place`` force them. Each track has its thing's ``size`` (frame
    heights), ``tilt``, ``facing`` and its centre's ``start`` and ``end``
    (frame fractions); a drifting thing moves from one to the other, a
    jittering one (``end`` equal to ``start``) shakes around it by
    ``jitter``. A still's things stand still.
    """
    if fit not in FITS:
        raise ValueError(f"fit must be one of {FITS}, not {fit!r}")
    if place is None:
        place = LOCALES[int(rng.integers(len(LOCALES)))].name
    elif place not in LOCALE:
        raise ValueError(f"unknown place {place!r}; known: {', '.join(LOCALE)}")
    if things is None:
        u = rng.random()
        count = 0 if u < 0.1 else 2 if u < 0.35 else 1
        things = [THINGS[int(i)].name for i in rng.choice(len(THINGS), count, replace=False)]
    unknown = [t for t in things if t not in THING]
    if unknown or len(things) > 2:
        raise ValueError(f"a stock item shows up to two known things, not {things}")
    aspect = size[0] / size[1]
    duration = 0.0 if still else round(float(rng.uniform(3.0, 6.0)), 1)
    tracks = []
    for i, name in enumerate(things):
        t = THING[name]
        # Two things share the frame, so each is smaller than one alone.
        scale = rng.uniform(0.55, 0.75) if len(things) == 2 else rng.uniform(0.75, 1.1)
        side = float(rng.uniform(*t.size) * scale)
        y = float(np.clip(rng.uniform(*t.height), side / 2 - 0.05, 1 - side / 2 + 0.05))
        lo, hi = _x_range(side, aspect, fit)
        if len(things) == 2:  # each keeps to its own side, so the two never cross
            room = (hi - lo) * 0.3
            lo, hi = (lo, lo + room) if i == 0 else (hi - room, hi)
        x = float(rng.uniform(lo, hi))
        drift = not still and rng.random() < 0.5
        to_x, to_y, jitter = x, y, 0.0
        if drift:
            step = float(rng.uniform(0.06, 0.25)) * (1 if rng.random() < 0.5 else -1)
            # Turn back rather than run into the edge of the allowed range.
            if not lo <= x + step <= hi:
                step = -step
            to_x = float(np.clip(x + step, lo, hi))
            to_y = float(np.clip(y + rng.uniform(-0.04, 0.04), side / 2 - 0.05, 1 - side / 2 + 0.05))
        elif not still:
            jitter = float(rng.uniform(0.004, 0.015))
        facing = (1 if to_x >= x else -1) if drift else (1 if rng.random() < 0.5 else -1)
        tracks.append({"thing": name, "size": round(side, 4), "tilt": round(float(rng.uniform(-12, 12)), 1),
                       "facing": facing, "start": [round(x, 4), round(y, 4)], "end": [round(to_x, 4), round(to_y, 4)],
                       "jitter": round(jitter, 4), "moving": bool(drift and abs(to_x - x) > 1e-3)})
    return {"place": place, "things": list(things), "tracks": tracks, "duration": duration}


def render_item(plan: dict, seed: tuple[int, ...] | list[int], size: tuple[int, int] = SIZE, fps: int = FPS):
    """Yield the item's frames as PIL RGB images (one for a still)."""
    w, h = size
    background = paint_place(np.random.default_rng([*seed, 0]), w, h, plan["place"])
    frames = max(1, round(plan["duration"] * fps))
    # A sprite is drawn once per pixel size, tilt and facing; a fresh generator
    # of the same seed for every draw keeps its look (colours, details) when a
    # sway asks for a new tilt.
    caches: list[dict] = [{} for _ in plan["tracks"]]
    for f in range(frames):
        u = f / max(1, frames - 1)
        image = background.copy()
        for i, t in enumerate(plan["tracks"]):
            phase = 2 * math.pi * (0.9 + 0.4 * i) * f / fps  # two things do not shake in step
            shake = t["jitter"] * math.sin(phase)
            x = t["start"][0] + (t["end"][0] - t["start"][0]) * u + shake
            y = t["start"][1] + (t["end"][1] - t["start"][1]) * u + t["jitter"] * 0.5 * math.cos(1.7 * phase)
            # The sway is in whole degrees so a jittering thing needs only a few sprites.
            tilt = t["tilt"] + round(200 * shake)
            place_sprite(image, np.random.default_rng([*seed, 1, i]), t["thing"], x, y, t["size"],
                         tilt, t["facing"], cache=caches[i])
        yield image


def write_clip(path: Path, plan: dict, seed: tuple[int, ...] | list[int], size: tuple[int, int] = SIZE,
               fps: int = FPS, ffmpeg: str = "ffmpeg", timeout: float = TIMEOUT) -> None:
    """Encode the clip to ``path`` (h264, yuv420p, one thread, bit-exact flags).

    The frames are rendered first and handed to ffmpeg in one
    ``subprocess.run``: its ``communicate`` feeds stdin while draining
    stderr (no pipe deadlock), closes stdin for ffmpeg to finish, and kills
    ffmpeg if it outlives ``timeout``. A clip is a few MB of raw RGB, so
    holding it is cheap. A failed encode leaves no partial file behind.
    """
    w, h = size
    raw = b"".join(frame.tobytes() for frame in render_item(plan, seed, size, fps))
    args = [ffmpeg, "-y", "-v", "error", "-nostdin", "-fflags", "+bitexact",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(fps), "-i", "-",
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "26", "-pix_fmt", "yuv420p",
            "-threads", "1", "-flags:v", "+bitexact", "-map_metadata", "-1", str(path)]
    try:
        done = subprocess.run(args, input=raw, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        path.unlink(missing_ok=True)
        raise RuntimeError(f"ffmpeg took over {timeout:.0f} s on {path.name}") from None
    if done.returncode != 0:
        path.unlink(missing_ok=True)
        err = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RuntimeError(f"ffmpeg failed on {path.name}: {err[-1] if err else 'no message'}")


def write_still(path: Path, plan: dict, seed: tuple[int, ...] | list[int], size: tuple[int, int] = SIZE) -> None:
    """The item's one picture as a PNG."""
    image: Image.Image = next(render_item({**plan, "duration": 0.0}, seed, size, 1))
    image.save(path, optimize=False)


def write_stock(root: str | Path, seed: int = 0, videos: int = 160, stills: int = 80, workers: int = 1, *,
                size: tuple[int, int] = SIZE, fps: int = FPS, fit: str = "crop", ffmpeg: str = "ffmpeg",
                forced: list[tuple[str | None, list[str] | None]] | None = None) -> dict:
    """Write the pool under ``root`` and return its truth.

    Truth: {relative path: {"kind": "video" | "still", "place", "ambience",
    "things": [names on screen the whole time], "sounds": [their sound
    classes, silent things left out], "duration": seconds (0 for a still),
    "tracks": [per thing: size, start and end centre, moving]}}, also
    written to ``root/stock_truth.json``. ``forced`` lists (place, things)
    for the first items (clips, then stills; None draws it), for tests that
    need a given subject. ``workers`` > 1 renders in that many processes;
    every item has its own generator, so the files are the same either way.
    """
    if fit not in FITS:
        raise ValueError(f"fit must be one of {FITS}, not {fit!r}")
    if size[0] % 2 or size[1] % 2:
        raise ValueError(f"yuv420p needs an even frame size, not {size[0]}x{size[1]}")
    root = Path(root)
    (root / "videos").mkdir(parents=True, exist_ok=True)
    (root / "stills").mkdir(parents=True, exist_ok=True)
    forced = list(forced or [])
    jobs = [(root, seed, videos, i, size, fps, fit, ffmpeg, forced[i] if i < len(forced) else None)
            for i in range(videos + stills)]
    if workers > 1 and len(jobs) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(min(workers, len(jobs))) as pool:
            items = list(pool.map(_write_item, jobs, chunksize=4))
    else:
        items = [_write_item(job) for job in jobs]
    truth = dict(sorted(items))
    (root / TRUTH_NAME).write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return truth


def _write_item(job) -> tuple[str, dict]:
    """Item ``i`` of the pool: clip i, or still i - videos. Returns (path, truth)."""
    root, seed, videos, i, size, fps, fit, ffmpeg, force = job
    is_video = i < videos
    index = i if is_video else i - videos
    # Clips and stills draw from separate streams, so adding clips leaves the stills as they were.
    key = [seed, 1 if is_video else 2, index]
    place, things = force if force else (None, None)
    plan = plan_item(np.random.default_rng(key), things, place, still=not is_video, size=size, fit=fit)
    if is_video:
        rel = f"videos/clip_{index:03d}.mp4"
        write_clip(root / rel, plan, key, size, fps, ffmpeg)
    else:
        rel = f"stills/still_{index:03d}.png"
        write_still(root / rel, plan, key, size)
    return rel, {
        "kind": "video" if is_video else "still",
        "place": plan["place"],
        "ambience": LOCALE[plan["place"]].ambience,
        "things": plan["things"],
        "sounds": [THING[t].sound for t in plan["things"] if THING[t].sound],
        "duration": plan["duration"],
        "tracks": [{k: t[k] for k in ("thing", "size", "start", "end", "moving")} for t in plan["tracks"]],
    }
