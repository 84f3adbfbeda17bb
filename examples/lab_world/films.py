"""Films of the lab world: scripted shots rendered frame by frame, with exact truth.

A ``Film`` is a list of ``Shot``s (a place for some seconds, entered by a
cut, a dissolve or a fade through black, the camera optionally panning
across a backdrop wider than the frame) and ``Track``s (a thing on screen
from ``appear`` to ``leave``, inside one shot, its centre moving in a
straight line; an ``anchored`` thing stays put in the world, so a pan moves
it across the frame). Frames are piped as raw RGB into ffmpeg (H.264,
yuv420p, a key frame a second); the sound track is the production sound: the
places' ambiences and the things' own sounds, quiet, mono AAC.

The truth is computed from the same frame grid the renderer draws:

- ``cuts``: the first frame of every shot after the first (for a dissolve
  or a fade, the middle of the transition), in seconds;
- ``scenes``: start, end, place, ambience class, how the shot was entered
  (``transition``: start, cut, dissolve, fade; ``transition_span`` for the
  last two) and ``pan`` (frame widths the camera moves, + to the right);
- ``events``: one per track: class, sound class (null for silent things),
  start and end (the span of frames it is drawn in), scene, track, size
  (fraction of the frame height) and ``x``: ``[[t, x], ...]``, its centre's
  horizontal position (0 left, 1 right) every half second and at both ends.

Every film is ``held_out`` and has ``"world": "lab"``: nothing is tuned on it.
"""

from __future__ import annotations

import json
import math
import subprocess
import tempfile
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

from . import sounds as S
from .catalog import LOCALE, LOCALES, THING, THINGS
from .library import encode
from .pictures import paint_place, place_sprite

TRUTH_VERSION = 1
X_STEP = 0.5  # seconds between samples of a thing's position in the truth
AUDIO_RATE = 48000


@dataclass(frozen=True)
class Shot:
    place: str
    seconds: float
    enter: str = "cut"  # cut, dissolve or fade (through black); ignored for the first shot
    enter_seconds: float = 0.0  # length of the whole dissolve / fade
    pan: float = 0.0  # frame widths the camera moves during the shot (+ right, - left)


@dataclass(frozen=True)
class Track:
    thing: str
    appear: float  # seconds
    leave: float  # seconds (not included)
    x: float  # centre, fraction of the frame width, when it appears
    to_x: float | None = None  # when it leaves (moves linearly); None: does not move in the frame
    y: float | None = None  # centre height; None: the thing's usual height
    size: float | None = None  # fraction of the frame height; None: the thing's usual size
    tilt: float = 0.0
    anchored: bool = False  # fixed in the world: a panning camera moves it across the frame


@dataclass(frozen=True)
class Film:
    name: str
    shots: tuple[Shot, ...]
    tracks: tuple[Track, ...]
    fps: Fraction = Fraction(25)
    size: tuple[int, int] = (320, 180)
    note: str = ""
    look: int = 0  # seed offset of this film's pictures and sounds

    @property
    def frames(self) -> int:
        return int(round(sum(s.seconds for s in self.shots) * self.fps))


# --------------------------------------------------------------------------- frame grid


def _first_frame(seconds: float, fps: Fraction) -> int:
    """The first frame shown at or after ``seconds`` (frame k is shown at k / fps)."""
    return math.ceil(seconds * fps - 1e-9)


def _bounds(film: Film) -> list[int]:
    """First frame of every shot, then the frame count."""
    out, at = [0], 0.0
    for shot in film.shots[:-1]:
        at += shot.seconds
        out.append(int(round(at * film.fps)))
    return out + [film.frames]


def _shot_of(film: Film, track: Track) -> int:
    at = 0.0
    for i, shot in enumerate(film.shots):
        if at - 1e-9 <= track.appear < at + shot.seconds:
            return i
        at += shot.seconds
    raise ValueError(f"{film.name}: {track.thing} appears after the film ends")


def _track_frames(film: Film, track: Track) -> tuple[int, int]:
    return (min(_first_frame(track.appear, film.fps), film.frames),
            min(_first_frame(track.leave, film.fps), film.frames))


def _pan_offset(film: Film, shot: int, k: int, bounds: list[int]) -> float:
    """Frame widths the camera has moved at frame ``k`` (clamped to the shot)."""
    pan = film.shots[shot].pan
    if not pan:
        return 0.0
    lo, hi = bounds[shot], bounds[shot + 1]
    u = min(1.0, max(0.0, (k - lo) / max(1, hi - lo - 1)))
    return pan * u


def _x_at(film: Film, track: Track, k: int, bounds: list[int]) -> float:
    """The thing's centre in frame widths at frame ``k`` (may leave 0..1 a little)."""
    first, stop = _track_frames(film, track)
    if track.anchored:
        shot = _shot_of(film, track)
        return track.x - (_pan_offset(film, shot, k, bounds) - _pan_offset(film, shot, first, bounds))
    if track.to_x is None:
        return track.x
    u = min(1.0, max(0.0, (k - first) / max(1, stop - 1 - first)))
    return track.x + (track.to_x - track.x) * u


def _y_size(track: Track) -> tuple[float, float]:
    t = THING[track.thing]
    return (track.y if track.y is not None else sum(t.height) / 2,
            track.size if track.size is not None else sum(t.size) / 2)


# --------------------------------------------------------------------------- truth


def check(film: Film) -> None:
    """Refuse scripts the truth could not describe exactly."""
    w, h = film.size
    if w % 2 or h % 2:
        raise ValueError(f"{film.name}: yuv420p needs an even frame size, not {w}x{h}")
    for i, shot in enumerate(film.shots):
        if shot.place not in LOCALE:
            raise ValueError(f"{film.name}: unknown place {shot.place!r}")
        if shot.enter not in ("cut", "dissolve", "fade"):
            raise ValueError(f"{film.name}: a shot is entered by cut, dissolve or fade, not {shot.enter!r}")
        if i and shot.enter != "cut" and not shot.enter_seconds > 0:
            raise ValueError(f"{film.name}: shot {i} needs enter_seconds for its {shot.enter}")
    starts = np.cumsum([0.0] + [s.seconds for s in film.shots])
    for track in film.tracks:
        if track.thing not in THING:
            raise ValueError(f"{film.name}: unknown thing {track.thing!r}")
        i = _shot_of(film, track)
        if not starts[i] <= track.appear < track.leave <= starts[i + 1] + 1e-9:
            raise ValueError(f"{film.name}: {track.thing} at {track.appear}-{track.leave} s leaves its shot")


def film_truth(film: Film) -> dict:
    """The ground truth of ``film`` (no rendering needed)."""
    check(film)
    fps, bounds = film.fps, _bounds(film)

    def sec(frame) -> float:
        return round(float(Fraction(frame) / fps), 6)

    scenes = []
    for i, shot in enumerate(film.shots):
        scene = {"start": sec(bounds[i]), "end": sec(bounds[i + 1]), "place": shot.place,
                 "ambience": LOCALE[shot.place].ambience,
                 "transition": "start" if i == 0 else shot.enter, "pan": shot.pan}
        if i and shot.enter != "cut":
            half = _half(film, i)
            scene["transition_span"] = [sec(bounds[i] - half), sec(bounds[i] + half)]
        scenes.append(scene)
    events = []
    for index, track in enumerate(film.tracks):
        first, stop = _track_frames(film, track)
        if stop <= first:
            continue
        steps = int(float(Fraction(stop - first) / fps) / X_STEP) + 1
        samples = sorted({min(stop - 1, first + _first_frame(j * X_STEP, fps)) for j in range(steps)} | {stop - 1})
        y, size = _y_size(track)
        events.append({
            "class": track.thing, "sound_class": THING[track.thing].sound,
            "start": sec(first), "end": sec(stop), "scene": _shot_of(film, track), "track": index,
            "size": round(size, 4), "y": round(y, 4), "moving": _moves(film, track),
            "x": [[sec(k), round(min(1.0, max(0.0, _x_at(film, track, k, bounds))), 4)] for k in samples],
        })
    events.sort(key=lambda e: (e["start"], e["track"]))
    return {
        "version": TRUTH_VERSION,
        "world": "lab",
        "film": film.name,
        "duration": sec(bounds[-1]),
        "fps": f"{fps.numerator}/{fps.denominator}",
        "frames": bounds[-1],
        "width": film.size[0],
        "height": film.size[1],
        "has_audio": True,
        "held_out": True,
        "note": film.note,
        "cuts": [sec(b) for b in bounds[1:-1]],
        "scenes": scenes,
        "events": events,
    }


def _moves(film: Film, track: Track) -> bool:
    """Whether the thing's centre moves across the frame."""
    if track.anchored:
        return bool(film.shots[_shot_of(film, track)].pan)
    return track.to_x is not None and track.to_x != track.x


def _half(film: Film, shot: int) -> int:
    """Frames on each side of the boundary that a dissolve or fade into ``shot`` takes."""
    return max(1, int(round(film.shots[shot].enter_seconds * film.fps / 2)))


# --------------------------------------------------------------------------- pictures


class _Layers:
    """Draws the picture of one shot at any frame: its backdrop (panned) and its things."""

    def __init__(self, film: Film, seed: int):
        self.film, self.bounds = film, _bounds(film)
        w, h = film.size
        self.backdrops = []
        for i, shot in enumerate(film.shots):
            width = int(math.ceil(w * (1 + abs(shot.pan)))) + 2
            self.backdrops.append(paint_place(np.random.default_rng([seed, film.look, 1, i]), width, h, shot.place))
        self.by_shot: dict[int, list[int]] = {}
        for index, track in enumerate(film.tracks):
            self.by_shot.setdefault(_shot_of(film, track), []).append(index)
        self.spans = [_track_frames(film, t) for t in film.tracks]
        self.looks = [np.random.default_rng([seed, film.look, 2, i]) for i in range(len(film.tracks))]
        self.facing = [(1 if t.to_x >= t.x else -1) if t.to_x is not None
                       else (1 if np.random.default_rng([seed, film.look, 3, i]).random() < 0.5 else -1)
                       for i, t in enumerate(film.tracks)]
        self.caches: list[dict] = [{} for _ in film.tracks]

    def draw(self, shot: int, k: int) -> Image.Image:
        film = self.film
        w, h = film.size
        backdrop = self.backdrops[shot]
        pan = film.shots[shot].pan
        offset = _pan_offset(film, shot, k, self.bounds)
        # a left pan starts at the backdrop's right end and moves towards its left
        left = offset * w if pan >= 0 else backdrop.width - w - 2 + offset * w
        if pan:
            frame = backdrop.transform((w, h), Image.AFFINE, (1, 0, left, 0, 1, 0), resample=Image.BILINEAR)
        else:
            frame = backdrop.crop((0, 0, w, h))
        for index in self.by_shot.get(shot, []):
            first, stop = self.spans[index]
            if first <= k < stop:
                track = film.tracks[index]
                y, size = _y_size(track)
                place_sprite(frame, self.looks[index], track.thing, _x_at(film, track, k, self.bounds), y, size,
                             track.tilt, self.facing[index], cache=self.caches[index])
        return frame


def render_frames(film: Film, seed: int = 0):
    """Every frame of ``film`` as a PIL RGB image, in order."""
    check(film)
    layers = _Layers(film, seed)
    bounds = layers.bounds
    for k in range(film.frames):
        shot = max(i for i in range(len(film.shots)) if bounds[i] <= k)
        frame = layers.draw(shot, k)
        for j in (shot, shot + 1):  # a transition into shot j spans its boundary
            if not 0 < j < len(film.shots) or film.shots[j].enter == "cut":
                continue
            half = _half(film, j)
            lo = bounds[j] - half
            if not lo <= k < bounds[j] + half:
                continue
            if film.shots[j].enter == "dissolve":
                alpha = (k - lo + 0.5) / (2 * half)
                before = layers.draw(j - 1, k) if shot == j else frame
                after = frame if shot == j else layers.draw(j, k)
                frame = Image.blend(before, after, alpha)
            else:  # fade to black, then up from black
                level = (bounds[j] - k - 0.5) / half if k < bounds[j] else (k - bounds[j] + 0.5) / half
                frame = Image.eval(frame, lambda v, f=max(0.0, min(1.0, level)): int(v * f))
        yield frame


# --------------------------------------------------------------------------- sound


def production_sound(film: Film, seed: int = 0) -> np.ndarray:
    """The film's own sound: each scene's ambience and each sounding thing, mono, quiet."""
    truth = film_truth(film)
    n = int(round(truth["duration"] * AUDIO_RATE))
    out = np.zeros(n, np.float32)
    for i, scene in enumerate(truth["scenes"]):
        rng = np.random.default_rng([seed, film.look, 4, i])
        lo, hi = int(scene["start"] * AUDIO_RATE), int(scene["end"] * AUDIO_RATE)
        pad = int(0.5 * AUDIO_RATE)
        a, b = max(0, lo - pad), min(n, hi + pad)
        bed = S.AMBIENCES[scene["ambience"]](rng, AUDIO_RATE, (b - a) / AUDIO_RATE).mean(axis=1)
        bed = bed[: b - a] * 0.18
        ramp = np.ones(b - a, np.float32)
        fade = min(pad * 2, (b - a) // 2)
        ramp[:fade] = np.linspace(0, 1, fade)
        ramp[len(ramp) - fade:] = np.linspace(1, 0, fade)
        out[a:a + len(bed)] += bed * ramp[: len(bed)]
    for event in truth["events"]:
        if not event["sound_class"]:
            continue
        rng = np.random.default_rng([seed, film.look, 5, event["track"]])
        lo = int(event["start"] * AUDIO_RATE)
        sound = S.performance(rng, event["sound_class"], AUDIO_RATE, event["end"] - event["start"]) * 0.5
        sound = sound[: n - lo]
        out[lo:lo + len(sound)] += sound
    peak = float(np.max(np.abs(out))) or 1.0
    return out * min(1.0, 0.7 / peak)


def make_film(film: Film, films_dir: str | Path, truth_dir: str | Path, seed: int = 0,
              ffmpeg: str = "ffmpeg", crf: int = 30) -> tuple[Path, Path]:
    """Render ``film`` to ``films_dir/<name>.mp4`` and its truth to ``truth_dir/<name>.json``.

    The encoders run single-threaded with bit-exact flags: the same script and
    seed give the same file on the same ffmpeg build.
    """
    films_dir, truth_dir = Path(films_dir), Path(truth_dir)
    films_dir.mkdir(parents=True, exist_ok=True)
    truth_dir.mkdir(parents=True, exist_ok=True)
    out = films_dir / f"{film.name}.mp4"
    truth = film_truth(film)
    w, h = film.size
    rate = f"{film.fps.numerator}/{film.fps.denominator}"
    with tempfile.TemporaryDirectory(prefix="lab-film-") as tmp:
        wav = Path(tmp) / "sound.wav"
        wav.write_bytes(encode(production_sound(film, seed), AUDIO_RATE, "wav", "PCM_16"))
        args = [ffmpeg, "-y", "-v", "error", "-nostdin", "-fflags", "+bitexact",
                "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", rate, "-i", "-",
                "-i", str(wav), "-map", "0:v", "-map", "1:a",
                "-c:v", "libx264", "-preset", "medium", "-crf", str(crf), "-g", str(int(round(film.fps))),
                "-pix_fmt", "yuv420p", "-threads", "1", "-flags:v", "+bitexact",
                "-c:a", "aac", "-b:a", "32k", "-ac", "1", "-flags:a", "+bitexact", "-shortest",
                "-map_metadata", "-1", "-movflags", "+faststart", str(out)]
        proc = subprocess.Popen(args, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            for frame in render_frames(film, seed):
                proc.stdin.write(frame.tobytes())
            proc.stdin.close()
        except BrokenPipeError:
            pass
        err = proc.stderr.read().decode("utf-8", "replace").strip()
        proc.stderr.close()
        if proc.wait() != 0:
            raise RuntimeError(f"ffmpeg failed on {film.name}: {err.splitlines()[-1:] or 'no message'}")
    path = truth_dir / f"{film.name}.json"
    path.write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    return out, path


# --------------------------------------------------------------------------- the films

NTSC_FILM = Fraction(24000, 1001)
T = Track

FILMS: list[Film] = [
    Film("lab_desert_workshop",
         note="hard cuts between desert and workshop; a silent cactus, a snake, a horse galloping across "
              "the frame past the cactus; a saw and a hammer at once; a helicopter flying across a snake; "
              "a fan beside a silent crate",
         shots=(Shot("desert", 12.0), Shot("workshop", 10.0), Shot("desert", 9.0), Shot("workshop", 9.0)),
         tracks=(T("cactus", 0.0, 12.0, 0.84), T("snake", 1.0, 6.0, 0.3, 0.42),
                 T("horse", 6.5, 11.5, 0.12, 0.45, size=0.7),
                 T("saw", 13.0, 18.0, 0.3, tilt=-12), T("hammer", 14.0, 20.5, 0.72, tilt=20),
                 T("helicopter", 23.0, 30.0, 0.85, 0.2), T("snake", 24.0, 29.0, 0.55),
                 T("fan", 32.0, 38.5, 0.3), T("crate", 31.5, 40.0, 0.76)),
         look=1),
    Film("lab_snow_pan",
         note="camera pans: across a snowfield (a silent snowman slides out of frame left, the camera follows "
              "a galloping horse, a helicopter flies across), along a harbour (a moored ship and a chime move with the pier); then "
              "still shots: a hovering helicopter and a horse, a frog beside a moored ship",
         shots=(Shot("snowfield", 15.0, pan=0.8), Shot("harbour", 12.0, pan=-0.5), Shot("snowfield", 9.0),
                Shot("harbour", 9.0)),
         tracks=(T("snowman", 0.0, 5.0, 0.3, anchored=True), T("horse", 5.5, 10.5, 0.45, 0.6),
                 T("helicopter", 11.0, 14.8, 0.2, 0.7),
                 T("ship", 15.5, 22.0, 0.22, anchored=True), T("chime", 21.0, 26.5, 0.1, anchored=True),
                 T("helicopter", 27.5, 32.5, 0.3), T("horse", 30.5, 35.5, 0.62, 0.86),
                 T("frog", 37.0, 42.0, 0.22), T("ship", 38.0, 44.0, 0.66, anchored=True)),
         look=2),
    Film("lab_office_dissolve",
         note="an office, a 1.6 s dissolve into a harbour, a cut back to the office; a fan and a cat at "
              "once, a kettle; a wind chime, a frog, a ship sailing; a cat walking, a kettle, a hammer",
         shots=(Shot("office", 14.0), Shot("harbour", 14.0, "dissolve", 1.6), Shot("office", 14.0)),
         tracks=(T("fan", 1.0, 9.0, 0.3), T("cat", 4.0, 12.5, 0.7), T("kettle", 9.5, 13.0, 0.42),
                 T("chime", 15.5, 21.0, 0.25), T("frog", 17.0, 24.0, 0.72), T("ship", 22.5, 27.0, 0.4, 0.56),
                 T("cat", 29.0, 35.0, 0.2, 0.38), T("kettle", 30.0, 37.0, 0.75), T("hammer", 37.5, 41.5, 0.5)),
         look=3),
    Film("lab_fade_black",
         note="fades through black (2.0 s, 1.6 s) between a workshop, a desert and a snowfield; every thing "
              "off centre, near the frame's edges: a saw, a hammer and a silent crate; a silent cactus, a "
              "snake, a horse; a silent snowman, a helicopter, a cat",
         shots=(Shot("workshop", 13.0), Shot("desert", 13.0, "fade", 2.0), Shot("snowfield", 14.0, "fade", 1.6)),
         tracks=(T("crate", 0.0, 11.5, 0.88), T("saw", 1.0, 6.0, 0.12, tilt=-10), T("hammer", 7.0, 11.5, 0.14),
                 T("cactus", 14.5, 25.0, 0.1), T("snake", 15.0, 20.0, 0.86), T("horse", 20.5, 24.5, 0.86, 0.45),
                 T("snowman", 27.0, 40.0, 0.88), T("helicopter", 28.0, 34.0, 0.12, 0.3), T("cat", 35.0, 39.5, 0.18)),
         look=4),
    Film("lab_harbour_23976",
         note="23.976 fps, 384x216; a ship sailing past a frog; a kettle and a chime in an office; a harbour "
              "pan with a moored silent crate and a cat; a horse galloping across a desert past a snake",
         fps=NTSC_FILM, size=(384, 216),
         shots=(Shot("harbour", 10.0), Shot("office", 10.0), Shot("harbour", 10.0, pan=0.4), Shot("desert", 10.0)),
         tracks=(T("ship", 0.5, 9.5, 0.3, 0.62), T("frog", 3.0, 8.0, 0.88),
                 T("kettle", 11.0, 17.0, 0.35), T("chime", 12.5, 19.0, 0.75),
                 T("crate", 20.0, 30.0, 0.72, anchored=True), T("cat", 21.0, 27.0, 0.18),
                 T("horse", 31.0, 38.0, 0.1, 0.88), T("snake", 33.0, 38.0, 0.4)),
         look=5),
    Film("lab_two_at_once",
         note="two sounding things on screen together in every shot, hard cuts: a fan and a kettle, a saw "
              "and a hammer, a ship and a chime, a helicopter and a horse, a snake and a frog, a cat and a "
              "hammer",
         shots=(Shot("office", 7.5), Shot("workshop", 7.5), Shot("harbour", 7.5), Shot("snowfield", 7.5),
                Shot("desert", 7.5), Shot("workshop", 7.5)),
         tracks=(T("fan", 0.5, 7.0, 0.25), T("kettle", 1.0, 6.5, 0.72),
                 T("saw", 8.0, 14.0, 0.7, tilt=8), T("hammer", 9.0, 14.5, 0.28, tilt=-15),
                 T("ship", 15.5, 22.0, 0.32), T("chime", 16.0, 21.5, 0.8),
                 T("helicopter", 23.0, 29.5, 0.25, 0.45), T("horse", 24.0, 29.0, 0.85, 0.72),
                 T("snake", 30.5, 37.0, 0.3), T("frog", 31.0, 36.0, 0.75),
                 T("cat", 38.0, 44.0, 0.68), T("hammer", 38.5, 44.5, 0.25)),
         look=6),
]

# Things a place tends to hold in the long reel (anything else may turn up too).
_AFFINITY = {
    "desert": ("snake", "horse", "helicopter", "cactus"),
    "workshop": ("saw", "hammer", "fan", "crate"),
    "snowfield": ("horse", "helicopter", "snowman"),
    "office": ("fan", "cat", "kettle", "chime"),
    "harbour": ("ship", "frog", "chime", "crate"),
}


def long_reel(target_sounding: int = 35, min_seconds: float = 300.0, script_seed: int = 2024) -> Film:
    """A reel of at least ``min_seconds`` written by a seeded script: shots of 6-11 s,
    mostly cuts with dissolves and fades, a quarter panning; none, one or two
    things a shot, some silent, some moving, some anchored to a panning world.
    Exactly ``target_sounding`` sounding events."""
    rng = np.random.default_rng(script_seed)
    shots: list[Shot] = []
    tracks: list[Track] = []
    at, place = 0.0, None
    while at < min_seconds:
        place = str(rng.choice([p.name for p in LOCALES if p.name != place]))
        seconds = float(np.round(rng.uniform(6.0, 11.0), 1))
        r = rng.random()
        enter = "cut" if not shots or r < 0.76 else "dissolve" if r < 0.88 else "fade"
        enter_seconds = float(np.round(rng.uniform(1.0, 2.0), 1)) if enter != "cut" else 0.0
        pan = float(np.round(rng.choice([-1, 1]) * rng.uniform(0.3, 0.7), 2)) if rng.random() < 0.25 else 0.0
        shots.append(Shot(place, seconds, enter, enter_seconds, pan))
        lo, hi = at + enter_seconds / 2 + 0.3, at + seconds - 1.3  # clear of transitions
        u = rng.random()
        count = 0 if u < 0.1 else 1 if u < 0.62 else 2
        xs = [float(rng.uniform(0.12, 0.88))] if count == 1 else \
            sorted([float(rng.uniform(0.12, 0.4)), float(rng.uniform(0.6, 0.88))], key=lambda _: rng.random())
        chosen: list[str] = []
        for x in xs[:count]:
            pool = _AFFINITY[place] if rng.random() < 0.65 else tuple(t.name for t in THINGS)
            pool = tuple(p for p in pool if p not in chosen) or tuple(t.name for t in THINGS if t.name not in chosen)
            thing = str(rng.choice(pool))
            chosen.append(thing)
            length = float(rng.uniform(3.0, max(3.2, hi - lo)))
            appear = float(np.round(rng.uniform(lo, max(lo, hi - length)), 2))
            leave = float(np.round(min(hi + 1.0, appear + length), 2))
            anchored = bool(pan) and rng.random() < 0.6
            to_x = None
            if not anchored and rng.random() < 0.35:
                to_x = float(np.clip(x + rng.choice([-1, 1]) * rng.uniform(0.2, 0.5), 0.08, 0.92))
            if anchored:  # keep it in frame while the camera moves
                x = float(np.clip(x, 0.1 + max(0.0, pan), 0.9 + min(0.0, pan)))
            tracks.append(Track(thing, appear, leave, round(x, 3), None if to_x is None else round(to_x, 3),
                                anchored=anchored, tilt=float(np.round(rng.uniform(-12, 12), 1))))
        at += seconds
    # Exactly the target number of sounding events: swap things deterministically.
    sounding = [i for i, t in enumerate(tracks) if THING[t.thing].sound]
    silent = [i for i, t in enumerate(tracks) if not THING[t.thing].sound]
    loud = [t.name for t in THINGS if t.sound]
    quiet = [t.name for t in THINGS if not t.sound]
    while len(sounding) > target_sounding:
        i = sounding.pop(int(rng.integers(len(sounding))))
        tracks[i] = replace(tracks[i], thing=str(rng.choice(quiet)))
    while len(sounding) < target_sounding and silent:
        i = silent.pop(int(rng.integers(len(silent))))
        tracks[i] = replace(tracks[i], thing=str(rng.choice(loud)))
        sounding.append(i)
    return Film("lab_long_reel", tuple(shots), tuple(tracks),
                note=f"a {at / 60:.1f}-minute reel from a seeded script: {len(shots)} shots (cuts, dissolves, "
                     f"fades through black, pans), {len(tracks)} things, {target_sounding} of them sounding",
                look=7)


FILMS.append(long_reel())
FILM_BY_NAME = {f.name: f for f in FILMS}
