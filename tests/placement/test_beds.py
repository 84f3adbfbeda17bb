"""Events -> placements: frame snapping, trimming, ambience loops, tracks,
and the whole matching stage on hand-made embeddings."""

from fractions import Fraction
from pathlib import Path

import numpy as np

from autofoley.library.text_index import LibraryIndex
from autofoley.placement.beds import (
    ambience_placements,
    assign_tracks,
    frames,
    sfx_placements,
)
from autofoley.placement.matching import match_film
from autofoley.placement.sync import Event, SyncParams
from autofoley.records import Scene, SoundEntry


def _sound(name, duration, kind="sfx"):
    return SoundEntry(Path(f"/lib/{name}.wav"), name, "TEST", kind, duration, 48000, 1)


def test_sfx_trimmed_to_event_or_whole():
    fps = Fraction(30)  # 0.1 s = 3 frames: the segment grid is on the frame grid
    sounds = [_sound("long", 5.0), _sound("short", 0.5)]
    series = np.zeros((30, 2))
    series[5:15, 0] = 0.8
    series[5:15, 1] = 0.1
    ev = [Event(0, 5, 15, 0.8), Event(1, 20, 30, 0.7)]
    p = sfx_placements(ev, sounds, series, first_segment=10, scene=1, step=0.1, fps=fps)
    assert (p[0].start, p[0].end) == (1.5, 2.5)  # (10+5)*0.1 .. (10+15)*0.1
    assert p[0].fade_out > 0.05  # trimmed: fades out
    assert (p[1].start, p[1].end) == (3.0, 3.5)  # short sound plays whole
    assert p[0].alternates[0][0] == "/lib/short.wav"
    assert p[0].scene == 1 and p[0].role == "sfx"


def test_a_take_shorter_than_its_event_plays_on_into_its_file(monkeypatch):
    """Audio ranking picks takes (one chirp of a file of chirps): the take
    says which file and where to start, the file gives the length, as a
    whole file does with text ranking. A take that ends its file, or one
    longer than its event, is left as it is."""
    import dataclasses

    import autofoley.placement.beds as beds

    monkeypatch.setattr(beds, "sustain_of", lambda sound: "one-shot")
    fps = Fraction(30)
    chirp = dataclasses.replace(_sound("chirps", 0.3), offset=0.5, file_duration=4.0)
    last = dataclasses.replace(_sound("chirps", 0.3), offset=3.7, file_duration=4.0)
    series = np.full((30, 2), 0.5)
    p = sfx_placements([Event(0, 0, 30, 0.8)], [chirp, last], series, first_segment=0,
                       scene=0, step=0.1, fps=fps)
    assert (p[0].start, p[0].end) == (0.0, 3.0)  # 3 s of the file from the chirp on
    assert p[0].sound.offset == 0.5 and p[0].sound.duration == 3.5
    assert p[0].fade_out > 0.05  # trimmed at the event's end
    p = sfx_placements([Event(1, 0, 30, 0.8)], [chirp, last], series, first_segment=0,
                       scene=0, step=0.1, fps=fps)
    assert (p[0].start, p[0].end) == (0.0, 0.3)  # nothing after it: plays whole
    p = sfx_placements([Event(0, 0, 2, 0.8)], [chirp, last], series, first_segment=0,
                       scene=0, step=0.1, fps=fps)
    assert p[0].sound.duration == 0.3  # longer than its event: the take alone


def test_a_take_starts_at_a_whole_frame_of_its_file():
    """Takes start anywhere (found at silences); NLEs and MLT cut files at
    whole frames, so the clip's in-point is the frame before the take,
    within its silent padding, and the mix plays the same."""
    import dataclasses

    for fps in (Fraction(25), Fraction(30000, 1001)):
        take = dataclasses.replace(_sound("takes", 0.6), offset=1.53, file_duration=4.0)
        p = sfx_placements([Event(0, 0, 5, 0.8)], [take], np.full((5, 1), 0.8),
                           first_segment=0, scene=0, step=0.1, fps=fps)[0]
        file_in = Fraction(p.sound.offset + p.source_in).limit_denominator(10**6)
        assert (file_in * fps).limit_denominator(1000).denominator == 1, (fps, file_in)
        assert -1 / float(fps) < p.source_in <= 0
    whole = _sound("whole", 2.0)
    p = sfx_placements([Event(0, 0, 5, 0.8)], [whole], np.full((5, 1), 0.8),
                       first_segment=0, scene=0, step=0.1, fps=Fraction(25))[0]
    assert p.source_in == 0.0


def test_times_snap_to_ntsc_frames():
    fps = Fraction(30000, 1001)
    p = sfx_placements([Event(0, 3, 13, 0.5)], [_sound("a", 9.0)], np.ones((20, 1)), 0, 0, 0.1, fps)[0]
    for t in (p.start, p.end):
        assert abs(t * fps - round(t * fps)) < 1e-9


def test_ambience_loops_cover_scene_with_crossfades():
    fps = Fraction(25)
    beds = ambience_placements(Scene(0, 2.0, 12.0), _sound("amb", 4.0, "ambience"), 0.3, fps,
                               crossfade=1.0)
    assert beds[0].start == 2.0 and beds[-1].end == 12.0
    for a, b in zip(beds, beds[1:]):
        assert abs((a.end - b.start) - 1.0) < 1e-9  # overlap = crossfade
        assert a.fade_out == b.fade_in == 1.0
    tracks = assign_tracks(beds, fps)
    assert [p.track for p in tracks] == [0, 1, 0, 1][: len(tracks)]


def test_assign_tracks_never_overlaps():
    fps = Fraction(25)
    rng = np.random.default_rng(0)
    ps = []
    for i in range(40):
        s = float(rng.integers(0, 200)) / 25
        ps += sfx_placements([Event(0, 0, 10, 0.5)], [_sound(f"s{i}", 1.0 + i % 3)],
                             np.ones((10, 1)), int(s * 10), 0, 0.1, fps)
    out = assign_tracks(ps, fps)
    for t in {p.track for p in out}:
        on = sorted((p for p in out if p.track == t), key=lambda p: p.start)
        assert all(frames(a.end, fps) <= frames(b.start, fps) for a, b in zip(on, on[1:]))


def test_match_film_places_the_right_sound_at_the_right_time():
    """Frames equal to a sound's vector for 2 s -> that sound, at those 2 s."""
    rng = np.random.default_rng(4)
    d = 32
    vecs = rng.standard_normal((6, d)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    entries = [_sound(f"sfx{i}", 3.0) for i in range(4)] + \
              [_sound("amb0", 20.0, "ambience"), _sound("amb1", 20.0, "ambience")]
    index = LibraryIndex(entries, [e.description for e in entries], vecs)
    step = 0.1
    background = vecs[5] * 0.2 + rng.standard_normal(d).astype(np.float32) * 0.01
    film = np.repeat(background[None], 100, axis=0)
    film[30:50] = vecs[2]
    film /= np.linalg.norm(film, axis=1, keepdims=True)
    scenes = [Scene(0, 0.0, 10.0)]
    m = match_film(film, step, scenes, index, SyncParams(), Fraction(25))
    sfx = [p for p in m.placements if p.role == "sfx"]
    assert any(p.sound.description == "sfx2" and abs(p.start - 3.0) < 0.11
               and abs(p.end - 5.0) < 0.11 for p in sfx)
    amb = [p for p in m.placements if p.role == "ambience"]
    assert amb and all(p.sound.description == "amb1" for p in amb)
    assert amb[0].start == 0.0 and amb[-1].end == 10.0
