"""Turn events and per-scene ambience choices into Placements on the film's
frame grid, with fades, alternates and non-overlapping track numbers."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import numpy as np

from autofoley.placement.sustain import CONTINUOUS, sustain_of
from autofoley.placement.sync import Event
from autofoley.records import Placement, Scene, SoundEntry

CLICK_FADE = 0.01  # seconds: enough to avoid a click at a hard start/stop
TRIM_FADE = 0.1  # seconds: fade-out when a sound is cut short of its natural end
LOOP_CROSSFADE = 0.25  # seconds between loops of a continuous SFX (beds use 1 s)


def frames(seconds: float, fps: Fraction) -> int:
    return int(round(seconds * fps))


def snap(seconds: float, fps: Fraction) -> float:
    """Seconds rounded to the nearest frame boundary of the film."""
    return float(Fraction(frames(seconds, fps)) / fps)


def sfx_placements(events: list[Event], sounds: list[SoundEntry], series: np.ndarray,
                   first_segment: int, scene: int, step: float, fps: Fraction,
                   n_alternates: int = 3,
                   pans: list[tuple[tuple[float, float], ...]] | None = None) -> list[Placement]:
    """One placement per event. ``series`` is the scene's (T, C) score table,
    ``sounds[c]`` the entry of column c, ``first_segment`` the scene's offset
    in the film's segment grid.

    A sound longer than its event is trimmed at the event's end with a fade.
    A take (one sound of a file split at silences, audio ranking) shorter
    than its event plays on into the rest of its file, as a whole file does
    with text ranking: the take chose the file and where to start, the file
    gives the length (one chirp of a file of chirps is not a bird on screen
    for 3 s). A sound still shorter than its event plays whole when it is a
    one-shot (its natural end is the right end); a continuous one
    (sustain.py) is looped until the event ends: consecutive clips of the
    file overlapping by a crossfade, as a sound editor lays them,
    ``playback="loop"``. Every clip starts at a whole frame of its file
    (``frame_lead``).
    """
    out = []
    for n, e in enumerate(events):
        sound = played_span(sounds[e.candidate], (e.stop - e.first) * step)
        start_f = frames((first_segment + e.first) * step, fps)
        event_f = frames((first_segment + e.stop) * step, fps) - start_f
        sound_f = int(np.floor(sound.duration * fps + 1e-6))  # never past the file's end
        if min(event_f, sound_f) <= 0:
            continue
        means = series[e.first:e.stop].mean(axis=0)
        order = [int(c) for c in np.argsort(-means, kind="stable") if c != e.candidate]
        alternates = tuple((str(sounds[c].path), float(means[c])) for c in order[:n_alternates])
        # Every SFX is classified (tens a film), so events.json and the
        # timeline say what each is, not only what was looped.
        sustain = sustain_of(sound)
        loop = sound_f < event_f and sustain == CONTINUOUS
        clips, xfade = loop_clips(start_f, start_f + event_f, sound_f, fps, LOOP_CROSSFADE) \
            if loop else ([(start_f, min(event_f, sound_f))], 0.0)
        pan = pans[n] if pans else ()
        lead = frame_lead(sound, fps)
        for i, (pos, length_f) in enumerate(clips):
            length = float(length_f / fps)
            last = i == len(clips) - 1
            trimmed = last and length_f < sound_f
            offset = float((pos - start_f) / fps)
            out.append(Placement(
                sound=sound,
                start=float(pos / fps),
                end=float((pos + length_f) / fps),
                source_in=-lead,
                score=float(e.score),
                scene=scene,
                role="sfx",
                fade_in=CLICK_FADE if i == 0 else xfade,
                fade_out=(min(TRIM_FADE, length / 4) if trimmed else CLICK_FADE) if last
                else xfade,
                alternates=alternates,
                event_end=float((start_f + event_f) / fps),
                pan=shift_pan(pan, offset),
                playback="loop" if loop else "once",
                loop_index=i,
                sustain=sustain,
            ))
    return out


def frame_lead(sound: SoundEntry, fps: Fraction) -> float:
    """Seconds from the last frame boundary of the file before ``sound``'s
    offset to the offset (0 for a whole file). A take found at silences
    starts anywhere; every NLE (and MLT) cuts a file at whole frames, so the
    clip starts that much earlier, in the take's silent padding, and the
    editor hears exactly what the mix plays."""
    first = int(np.floor(float(sound.offset) * float(fps) + 1e-6))
    return max(0.0, float(sound.offset - Fraction(first) / fps))


def played_span(sound: SoundEntry, event_seconds: float) -> SoundEntry:
    """``sound``, or, when it is a take shorter than ``event_seconds``, the
    take and the rest of its file after it (trimmed at the event's end like
    any longer sound)."""
    rest = sound.whole_file_duration - sound.offset
    if sound.duration >= event_seconds or rest <= sound.duration + 1e-6:
        return sound
    return replace(sound, duration=rest)


def shift_pan(pan: tuple[tuple[float, float], ...], offset: float) -> tuple[tuple[float, float], ...]:
    """Keyframes of a clip starting ``offset`` s into its event's."""
    if not pan or offset <= 0:
        return pan
    at = np.interp(offset, [t for t, _ in pan], [v for _, v in pan])
    return ((0.0, round(float(at), 3)),) + tuple((round(t - offset, 3), v) for t, v in pan
                                                  if t > offset + 1e-9)


def loop_clips(start_f: int, end_f: int, sound_f: int, fps: Fraction,
               crossfade: float) -> tuple[list[tuple[int, int]], float]:
    """A ``sound_f``-frame sound looped over frames [start_f, end_f): the
    clips' (start frame, length) and the crossfade in seconds, each next
    clip starting that long (at most a quarter of the sound) before the
    last one ends."""
    xfade_f = min(frames(crossfade, fps), sound_f // 4)
    out = []
    pos = start_f
    while pos < end_f and sound_f > 0:
        length_f = min(sound_f, end_f - pos)
        out.append((pos, length_f))
        if pos + length_f >= end_f:
            break
        pos += sound_f - xfade_f
    return out, float(xfade_f / fps)


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
    clips, xfade = loop_clips(start_f, end_f, sound_f, fps, crossfade)
    return [Placement(
        sound=sound,
        start=float(pos / fps),
        end=float((pos + length_f) / fps),
        source_in=0.0,
        score=float(score),
        scene=scene.index,
        role="ambience",
        fade_in=CLICK_FADE * 5 if i == 0 else xfade,
        fade_out=CLICK_FADE * 5 if i == len(clips) - 1 else xfade,
        gain_db=gain_db,
        alternates=alternates,
        playback="loop" if len(clips) > 1 else "once",
        loop_index=i,
        sustain=CONTINUOUS,
    ) for i, (pos, length_f) in enumerate(clips)]


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
