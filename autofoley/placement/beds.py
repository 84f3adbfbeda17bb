"""Turn events and per-scene ambience choices into Placements on the film's
frame grid, with fades, alternates and non-overlapping track numbers."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import numpy as np

from autofoley.placement.sync import Event
from autofoley.records import Placement, Scene, SoundEntry

CLICK_FADE = 0.01  # seconds: enough to avoid a click at a hard start/stop
TRIM_FADE = 0.1  # seconds: fade-out when a sound is cut short of its natural end


def frames(seconds: float, fps: Fraction) -> int:
    return int(round(seconds * fps))


def snap(seconds: float, fps: Fraction) -> float:
    """Seconds rounded to the nearest frame boundary of the film."""
    return float(Fraction(frames(seconds, fps)) / fps)


def sfx_placements(events: list[Event], sounds: list[SoundEntry], series: np.ndarray,
                   first_segment: int, scene: int, step: float, fps: Fraction,
                   n_alternates: int = 3) -> list[Placement]:
    """One placement per event. ``series`` is the scene's (T, C) score table,
    ``sounds[c]`` the entry of column c, ``first_segment`` the scene's offset
    in the film's segment grid.

    A sound longer than its event is trimmed at the event's end with a fade;
    a shorter one plays whole (its natural end is the right end).
    """
    out = []
    for e in events:
        sound = sounds[e.candidate]
        start_f = frames((first_segment + e.first) * step, fps)
        event_f = frames((first_segment + e.stop) * step, fps) - start_f
        sound_f = int(np.floor(sound.duration * fps + 1e-6))  # never past the file's end
        length_f = min(event_f, sound_f)
        if length_f <= 0:
            continue
        trimmed = sound_f > event_f
        length = float(length_f / fps)
        means = series[e.first:e.stop].mean(axis=0)
        order = [int(c) for c in np.argsort(-means, kind="stable") if c != e.candidate]
        alternates = tuple((str(sounds[c].path), float(means[c])) for c in order[:n_alternates])
        out.append(Placement(
            sound=sound,
            start=float(start_f / fps),
            end=float((start_f + length_f) / fps),
            source_in=0.0,
            score=float(e.score),
            scene=scene,
            role="sfx",
            fade_in=CLICK_FADE,
            fade_out=min(TRIM_FADE, length / 4) if trimmed else CLICK_FADE,
            alternates=alternates,
            event_end=float((start_f + event_f) / fps),
        ))
    return out


def ambience_placements(scene: Scene, sound: SoundEntry, score: float, fps: Fraction,
                        gain_db: float = 0.0, crossfade: float = 1.0,
                        alternates: tuple[tuple[str, float], ...] = ()) -> list[Placement]:
    """A bed over the whole scene; a sound shorter than the scene is looped,
    consecutive loops overlapping by ``crossfade`` seconds (they go on
    alternate tracks, as a sound editor checkerboards them)."""
    start_f, end_f = frames(scene.start, fps), frames(scene.end, fps)
    sound_f = int(np.floor(sound.duration * fps + 1e-6))
    if end_f <= start_f or sound_f <= 0:
        return []
    xfade_f = min(frames(crossfade, fps), sound_f // 4)
    out = []
    pos = start_f
    while pos < end_f:
        length_f = min(sound_f, end_f - pos)
        first, last = pos == start_f, pos + length_f >= end_f
        out.append(Placement(
            sound=sound,
            start=float(pos / fps),
            end=float((pos + length_f) / fps),
            source_in=0.0,
            score=float(score),
            scene=scene.index,
            role="ambience",
            fade_in=CLICK_FADE * 5 if first else float(xfade_f / fps),
            fade_out=CLICK_FADE * 5 if last else float(xfade_f / fps),
            gain_db=gain_db,
            alternates=alternates,
        ))
        if last:
            break
        pos += sound_f - xfade_f
    return out


def assign_tracks(placements: list[Placement], fps: Fraction) -> list[Placement]:
    """Give each placement the lowest track of its role free at its start, so
    no two clips overlap on one track (interval partitioning: the number of
    tracks equals the largest number of simultaneous placements)."""
    out = []
    for role in sorted({p.role for p in placements}):
        ends: list[int] = []  # per track: frame where its last clip ends
        for p in sorted((p for p in placements if p.role == role), key=lambda p: (p.start, p.end)):
            s = frames(p.start, fps)
            track = next((i for i, e in enumerate(ends) if e <= s), len(ends))
            if track == len(ends):
                ends.append(0)
            ends[track] = frames(p.end, fps)
            out.append(replace(p, track=track))
    return sorted(out, key=lambda p: (p.start, p.role, p.track))
