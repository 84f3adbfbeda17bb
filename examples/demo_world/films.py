"""Short films of the demo world, rendered from a script, with exact ground truth.

A ``FilmSpec`` lists shots (a place and a duration, entered by a cut or a
dissolve) and object tracks (a class on screen from ``appear`` to ``leave``
seconds, moving in a straight line from ``start`` to ``end``). Every frame is
drawn with ``world.render_place`` / ``world.draw_object`` and piped as raw
RGB to ffmpeg (H.264, yuv420p, short GOP, mp4), with an optional quiet noise
bed as the audio stream.

The truth is computed from the frame grid, so it is exactly what was
rendered: a cut is the time of the first frame of the new shot (for a
dissolve, of its midpoint), and an event is the span of frames an object is
drawn in, clipped to its scene, so an object that stays on screen across a
cut makes two events. Times are seconds from the first frame.

Objects are placed near the middle of the frame: autofoley centre-crops
frames to a square before CLIP sees them, and a 16:9 frame loses its outer
22% on each side.
"""

from __future__ import annotations

import json
import math
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

from .world import CLASS_BY_NAME, PLACE_BY_NAME, draw_object, render_place

TRUTH_VERSION = 1


@dataclass(frozen=True)
class Shot:
    """A stretch of film in one place. ``transition`` is how the shot begins
    (ignored for the first): "cut", or "dissolve" lasting ``transition_duration``
    seconds centred on the boundary."""

    place: str
    duration: float  # seconds
    transition: str = "cut"
    transition_duration: float = 0.0


@dataclass(frozen=True)
class Track:
    """One object on screen from ``appear`` to ``leave`` (seconds, leave excluded),
    its centre moving linearly from ``start`` to ``end`` (frame fractions)."""

    cls: str
    appear: float
    leave: float
    start: tuple[float, float]
    end: tuple[float, float] | None = None  # None: does not move
    scale: float = 0.4  # largest extent / frame height
    angle: float = 0.0  # degrees, counter-clockwise


@dataclass(frozen=True)
class FilmSpec:
    name: str
    shots: tuple[Shot, ...]
    tracks: tuple[Track, ...]
    fps: Fraction = Fraction(25)
    size: tuple[int, int] = (320, 180)
    audio: bool = True  # a quiet pink-noise bed; False: no audio stream at all
    held_out: bool = False  # never used for tuning; for the final measurement only
    seed: int = 0
    note: str = ""

    @property
    def duration(self) -> float:
        return self.frame_count / self.fps

    @property
    def frame_count(self) -> int:
        return int(round(sum(s.duration for s in self.shots) * self.fps))


# --------------------------------------------------------------------------- truth


def _frame_at(seconds: float, fps: Fraction) -> int:
    """First frame shown at or after ``seconds`` (frame k is shown at k / fps)."""
    return math.ceil(seconds * fps - 1e-9)


def _boundaries(spec: FilmSpec) -> list[int]:
    """First frame of each shot, then the frame count."""
    out, at = [0], 0.0
    for shot in spec.shots[:-1]:
        at += shot.duration
        out.append(int(round(at * spec.fps)))
    out.append(spec.frame_count)
    return out


def _track_frames(spec: FilmSpec) -> list[tuple[int, int]]:
    """[first, stop) frames of each track; rendering and truth both use these."""
    end = spec.frame_count
    return [(min(_frame_at(t.appear, spec.fps), end), min(_frame_at(t.leave, spec.fps), end))
            for t in spec.tracks]


def film_truth(spec: FilmSpec) -> dict:
    """The ground truth of ``spec``, as written next to the film (no rendering needed)."""
    _check(spec)
    fps = spec.fps
    bounds = _boundaries(spec)

    def sec(frame: int | float) -> float:
        return round(float(Fraction(frame) / fps), 6)

    scenes = []
    for i, shot in enumerate(spec.shots):
        scene = {"start": sec(bounds[i]), "end": sec(bounds[i + 1]), "place": shot.place,
                 "ambience": PLACE_BY_NAME[shot.place].ambience,
                 "transition": "start" if i == 0 else shot.transition}
        if i and shot.transition == "dissolve":
            half = shot.transition_duration * fps / 2
            scene["transition_span"] = [sec(int(round(bounds[i] - half))), sec(int(round(bounds[i] + half)))]
        scenes.append(scene)
    events = []
    for index, (first, stop) in enumerate(_track_frames(spec)):
        track = spec.tracks[index]
        for i in range(len(spec.shots)):
            lo, hi = max(first, bounds[i]), min(stop, bounds[i + 1])
            if lo < hi:
                events.append({"class": track.cls, "sound_class": CLASS_BY_NAME[track.cls].sound,
                               "start": sec(lo), "end": sec(hi), "scene": i, "track": index})
    events.sort(key=lambda e: (e["start"], e["track"]))
    return {
        "version": TRUTH_VERSION,
        "film": spec.name,
        "duration": sec(bounds[-1]),
        "fps": f"{fps.numerator}/{fps.denominator}",
        "frames": bounds[-1],
        "width": spec.size[0],
        "height": spec.size[1],
        "has_audio": spec.audio,
        "held_out": spec.held_out,
        "cuts": [sec(b) for b in bounds[1:-1]],
        "scenes": scenes,
        "events": events,
    }


def _check(spec: FilmSpec) -> None:
    for shot in spec.shots:
        if shot.place not in PLACE_BY_NAME:
            raise ValueError(f"{spec.name}: unknown place {shot.place!r}")
        if shot.transition not in ("cut", "dissolve"):
            raise ValueError(f"{spec.name}: transition must be 'cut' or 'dissolve', not {shot.transition!r}")
    for track in spec.tracks:
        if track.cls not in CLASS_BY_NAME:
            raise ValueError(f"{spec.name}: unknown object class {track.cls!r}")
        if not track.leave > track.appear:
            raise ValueError(f"{spec.name}: track {track.cls} leaves before it appears")
    w, h = spec.size
    if w % 2 or h % 2:
        raise ValueError(f"{spec.name}: yuv420p needs an even width and height, not {w}x{h}")


# --------------------------------------------------------------------------- rendering


def render_frames(spec: FilmSpec):
    """Yield every frame of the film as a PIL RGB image, in order."""
    _check(spec)
    bounds = _boundaries(spec)
    backgrounds = [render_place(np.random.default_rng([spec.seed, 1, i]), spec.size, shot.place)
                   for i, shot in enumerate(spec.shots)]
    spans = _track_frames(spec)
    fps = spec.fps
    for k in range(spec.frame_count):
        i = max(j for j in range(len(spec.shots)) if bounds[j] <= k)
        frame = _draw(spec, backgrounds[i], k, spans)
        # A dissolve blends the neighbouring shot in over frames around the boundary.
        for j in (i, i + 1):
            if 0 < j < len(spec.shots) and spec.shots[j].transition == "dissolve":
                span = spec.shots[j].transition_duration * fps
                alpha = float((k - (bounds[j] - span / 2)) / span) if span else 1.0
                if 0.0 < alpha < 1.0:
                    other = _draw(spec, backgrounds[j - 1 if j == i else j], k, spans)
                    a, b = (other, frame) if j == i else (frame, other)
                    frame = Image.blend(a, b, alpha)
        yield frame


def _draw(spec: FilmSpec, background: Image.Image, k: int, spans: list[tuple[int, int]]) -> Image.Image:
    """Frame ``k``: the background with every track on screen at that frame."""
    frame = background.copy()
    t = float(Fraction(k) / spec.fps)
    for index, (track, (first, stop)) in enumerate(zip(spec.tracks, spans)):
        if not first <= k < stop:
            continue
        end = track.end or track.start
        u = min(1.0, max(0.0, (t - track.appear) / (track.leave - track.appear)))
        x = track.start[0] + (end[0] - track.start[0]) * u
        y = track.start[1] + (end[1] - track.start[1]) * u
        facing = 1 if end[0] >= track.start[0] else -1
        # The same generator every frame: the object keeps its look as it moves.
        draw_object(frame, np.random.default_rng([spec.seed, 2, index]), track.cls, x, y,
                    track.scale, track.angle, facing=facing)
    return frame


def make_film(spec: FilmSpec, out_dir: str | Path, truth_dir: str | Path | None = None,
              ffmpeg: str = "ffmpeg", crf: int = 28) -> tuple[Path, Path]:
    """Render ``spec`` to ``out_dir/<name>.mp4`` and its truth to ``<truth_dir>/<name>.json``.

    ``truth_dir`` defaults to ``out_dir`` (the truth next to the film). The
    encoder runs single-threaded with bit-exact flags, so the same spec
    gives the same file on the same ffmpeg build.
    """
    out_dir = Path(out_dir)
    truth_dir = Path(truth_dir) if truth_dir is not None else out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    truth_dir.mkdir(parents=True, exist_ok=True)
    film = out_dir / f"{spec.name}.mp4"
    truth_path = truth_dir / f"{spec.name}.json"
    truth = film_truth(spec)
    w, h = spec.size
    fps = f"{spec.fps.numerator}/{spec.fps.denominator}"
    args = [ffmpeg, "-y", "-v", "error", "-nostdin", "-fflags", "+bitexact",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", fps, "-i", "-"]
    if spec.audio:
        args += ["-f", "lavfi", "-i",
                 f"anoisesrc=d={truth['duration']:.6f}:c=pink:r=48000:a=0.02:s={spec.seed + 1}"]
    args += ["-map", "0:v"] + (["-map", "1:a"] if spec.audio else [])
    gop = max(1, int(round(spec.fps)))  # one key frame a second: cheap, exact seeking
    args += ["-c:v", "libx264", "-preset", "medium", "-crf", str(crf), "-g", str(gop),
             "-pix_fmt", "yuv420p", "-threads", "1", "-flags:v", "+bitexact"]
    if spec.audio:
        args += ["-c:a", "aac", "-b:a", "32k", "-ac", "1", "-flags:a", "+bitexact"]
    args += ["-map_metadata", "-1", "-movflags", "+faststart", str(film)]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for frame in render_frames(spec):
            proc.stdin.write(frame.tobytes())
    except BrokenPipeError:
        pass  # ffmpeg quit early: its error is on stderr
    try:
        # communicate() closes stdin (ignoring a broken pipe) and waits, never forever.
        _, err = proc.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise RuntimeError(f"ffmpeg did not finish {spec.name} within 600 s") from None
    stderr = err.decode("utf-8", "replace")
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed on {spec.name}: {stderr.strip().splitlines()[-1:] or 'no message'}")
    truth_path.write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    return film, truth_path


# --------------------------------------------------------------------------- the films

NTSC = Fraction(30000, 1001)

FILMS: list[FilmSpec] = [
    FilmSpec(
        "forest_city_beach",
        note="three places, hard cuts; a dog walks by next to a rock (silent); a car, then a bird",
        shots=(Shot("forest", 8.0), Shot("city", 6.0), Shot("beach", 6.0)),
        tracks=(
            Track("rock", 0.0, 8.0, (0.62, 0.76), scale=0.28),
            Track("dog", 1.0, 6.0, (0.36, 0.66), (0.56, 0.66), scale=0.42),
            Track("car", 9.0, 13.0, (0.36, 0.72), (0.64, 0.72), scale=0.5),
            Track("bird", 15.0, 19.0, (0.42, 0.36), (0.58, 0.3), scale=0.32, angle=8),
        ),
        seed=11,
    ),
    FilmSpec(
        "city_traffic",
        note="a car visible 15.5 s across a cut between two street shots (two events), a dog "
             "beside it; a phone and a clock at once in a kitchen; a tree (silent) in a forest",
        shots=(Shot("city", 12.0), Shot("city", 6.0), Shot("kitchen", 7.0), Shot("forest", 5.0)),
        tracks=(
            Track("car", 0.5, 16.0, (0.36, 0.72), (0.5, 0.72), scale=0.4),
            Track("dog", 3.0, 9.0, (0.68, 0.7), (0.64, 0.7), scale=0.3),
            Track("phone", 19.0, 24.0, (0.4, 0.55), scale=0.4, angle=-10),
            Track("clock", 20.0, 25.0, (0.62, 0.32), scale=0.32),
            Track("tree", 25.6, 29.6, (0.5, 0.52), scale=0.55),
        ),
        seed=12,
    ),
    FilmSpec(
        "beach_dissolve",
        note="a campfire on the beach; a 1.2 s dissolve into a forest with a bell; a cut to a "
             "kitchen with a book (silent) and a bottle",
        shots=(Shot("beach", 9.0), Shot("forest", 8.0, "dissolve", 1.2), Shot("kitchen", 7.0)),
        tracks=(
            Track("fire", 1.0, 8.0, (0.5, 0.66), scale=0.46),
            Track("bell", 10.5, 15.5, (0.4, 0.5), (0.56, 0.5), scale=0.36, angle=12),
            Track("book", 17.5, 23.5, (0.42, 0.62), scale=0.36, angle=-6),
            Track("bottle", 18.0, 22.0, (0.62, 0.54), scale=0.42),
        ),
        seed=13,
    ),
    FilmSpec(
        "kitchen_ntsc",
        note="29.97 fps; a door with a drum beside it, a car in the street, a clock and a bottle "
             "in a kitchen, a bird on the beach",
        fps=NTSC,
        shots=(Shot("kitchen", 6.0), Shot("city", 5.0), Shot("kitchen", 5.0), Shot("beach", 4.0)),
        tracks=(
            Track("door", 0.5, 5.5, (0.38, 0.5), scale=0.55),
            Track("drum", 2.0, 5.0, (0.62, 0.66), scale=0.34),
            Track("car", 6.5, 10.5, (0.36, 0.7), (0.64, 0.7), scale=0.48),
            Track("clock", 11.0, 15.8, (0.6, 0.3), scale=0.3),
            Track("bottle", 11.5, 15.5, (0.4, 0.6), (0.48, 0.6), scale=0.4),
            Track("bird", 16.5, 19.5, (0.44, 0.34), (0.56, 0.4), scale=0.3),
        ),
        seed=14,
    ),
    FilmSpec(
        "silent_reel",
        note="no audio stream; a phone in the street, a rock (silent) and a dog on the beach, a "
             "drum in the forest",
        audio=False,
        shots=(Shot("city", 6.0), Shot("beach", 6.0), Shot("forest", 6.0)),
        tracks=(
            Track("phone", 1.0, 5.0, (0.5, 0.55), scale=0.42),
            Track("rock", 6.5, 11.5, (0.6, 0.76), scale=0.3),
            Track("dog", 7.0, 11.0, (0.4, 0.68), (0.46, 0.68), scale=0.38),
            Track("drum", 13.0, 17.0, (0.5, 0.62), scale=0.4),
        ),
        seed=15,
    ),
    FilmSpec(
        "held_out_park",
        held_out=True,
        note="five shots, one dissolve; a tree (silent) for a whole shot, a bird, a car driving "
             "by, a dog; a clock and a bell; a fire visible 12 s across a cut; a bottle; a drum "
             "and a book (silent)",
        shots=(Shot("forest", 7.0), Shot("city", 8.0), Shot("kitchen", 6.0, "dissolve", 1.0),
               Shot("beach", 7.0), Shot("forest", 7.0)),
        tracks=(
            Track("tree", 0.0, 7.0, (0.62, 0.5), scale=0.5),
            Track("bird", 1.0, 6.0, (0.4, 0.36), (0.48, 0.3), scale=0.3),
            Track("car", 7.5, 14.5, (0.35, 0.76), (0.65, 0.76), scale=0.44),
            Track("dog", 10.0, 14.0, (0.58, 0.46), (0.5, 0.46), scale=0.3),
            Track("clock", 15.5, 20.5, (0.6, 0.32), scale=0.32),
            Track("bell", 16.0, 19.0, (0.4, 0.55), scale=0.34),
            Track("fire", 22.0, 34.0, (0.5, 0.66), scale=0.42),
            Track("bottle", 24.0, 27.0, (0.36, 0.6), scale=0.36),
            Track("book", 30.0, 34.5, (0.64, 0.72), scale=0.3),
        ),
        seed=16,
    ),
    FilmSpec(
        "held_out_street",
        held_out=True,
        fps=NTSC,
        note="29.97 fps; a car visible 11 s across a cut between two street shots, a door; a "
             "phone and a bottle in a kitchen; a bird and a rock (silent) on the beach",
        shots=(Shot("city", 8.0), Shot("city", 6.0), Shot("kitchen", 7.0), Shot("beach", 7.0)),
        tracks=(
            Track("car", 0.0, 11.0, (0.4, 0.72), (0.6, 0.72), scale=0.44),
            Track("door", 9.5, 13.5, (0.36, 0.46), scale=0.5),
            Track("phone", 15.0, 20.0, (0.38, 0.56), scale=0.38, angle=15),
            Track("bottle", 16.0, 19.0, (0.62, 0.56), scale=0.4),
            Track("bird", 22.0, 26.0, (0.4, 0.36), (0.56, 0.32), scale=0.3),
            Track("rock", 21.5, 27.5, (0.62, 0.76), scale=0.3),
        ),
        seed=17,
    ),
]

# --------------------------------------------------------------------------- tuning reels

REEL_SEEDS = (7, 8, 9)  # the tuning reels; other seeds give fresh reels to check a change on


def parse_seeds(text: str) -> tuple[int, ...]:
    """Reel seeds from "22-30", "13,14,15" or a mix ("7-9,13")."""
    seeds: list[int] = []
    for part in text.split(","):
        lo, dash, hi = part.strip().partition("-")
        try:
            first, last = int(lo), int(hi if dash else lo)
        except ValueError:
            raise ValueError(f"not a seed or a range of seeds: {part.strip()!r}") from None
        if last < first:
            raise ValueError(f"empty range of seeds: {part.strip()!r}")
        seeds += range(first, last + 1)
    return tuple(dict.fromkeys(seeds))


def tuning_reel(seed: int = 7, minutes: float = 3.0) -> FilmSpec:
    """A tuning film written by a seeded script: shots of 5-9 s in the four
    places (cuts, a tenth dissolves), none, one or two things a shot (two side
    by side in a third of them), a third of them moving. ``held_out`` is False.

    Why: the five tuning films above hold 20 sounding events, and shipped
    placement misses two of them; a mechanism that finds more of the rest (a
    second thing beside a first, a small thing against its place) cannot show
    its gain there, only its false positives. Three reels add about 70 events
    of the same world to choose on; the held-out films and the lab world stay
    for measuring. Written by ``make_demo.py --reels``, not shipped."""
    rng = np.random.default_rng(seed)
    shots: list[Shot] = []
    tracks: list[Track] = []
    at, place = 0.0, None
    names = [c.name for c in CLASS_BY_NAME.values()]
    while at < minutes * 60.0:
        place = str(rng.choice([p for p in PLACE_BY_NAME if p != place]))
        seconds = float(np.round(rng.uniform(5.0, 9.0), 1))
        dissolve = bool(shots) and rng.random() < 0.1
        shots.append(Shot(place, seconds, "dissolve" if dissolve else "cut", 1.0 if dissolve else 0.0))
        lo, hi = at + (0.8 if dissolve else 0.3), at + seconds - 0.3
        u = rng.random()
        count = 0 if u < 0.12 else 1 if u < 0.67 else 2
        xs = [float(rng.uniform(0.3, 0.7))] if count == 1 else [float(rng.uniform(0.22, 0.4)),
                                                                  float(rng.uniform(0.6, 0.78))]
        chosen: list[str] = []
        for x in xs[:count]:
            thing = str(rng.choice([n for n in names if n not in chosen]))
            chosen.append(thing)
            length = float(rng.uniform(3.0, max(3.1, hi - lo)))
            appear = float(np.round(rng.uniform(lo, max(lo, hi - length)), 2))
            leave = float(np.round(min(hi, appear + length), 2))
            y = float(np.round(rng.uniform(0.4, 0.7), 2))
            end = None
            if rng.random() < 0.33:
                end = (float(np.clip(x + rng.choice([-1, 1]) * rng.uniform(0.08, 0.2), 0.15, 0.85)), y)
            tracks.append(Track(thing, appear, leave, (round(x, 3), y), end,
                                scale=float(np.round(rng.uniform(0.28, 0.5), 2)),
                                angle=float(np.round(rng.uniform(-12, 12), 1))))
        at += seconds
    return FilmSpec(f"tuning_reel_{seed}", tuple(shots), tuple(tracks), seed=100 + seed,
                    note=f"a {at / 60:.1f}-minute tuning reel from a seeded script: {len(shots)} shots, "
                         f"{len(tracks)} things")


FILM_BY_NAME = {f.name: f for f in FILMS}
