"""Region evidence: squares along the frame, and the pan they give a sound."""

import subprocess
from fractions import Fraction

import numpy as np
import pytest

from autofoley.media.frames import REGIONS, iter_frames
from autofoley.placement.regions import Regions, on_grid, pan_keyframes, region_centres


def test_region_centres_follow_the_frame_shape():
    c = region_centres(1920, 1080)
    side = 1080 / 1920
    assert np.allclose(c, [side / 2, 1 - side / 2])
    assert np.allclose(region_centres(1080, 1920), 0.5)  # portrait: no left and right


def test_regions_on_the_segment_grid():
    rows = on_grid(4, 0.5, 22, 0.1)
    assert [int(v) for v in rows] == [0] * 5 + [1] * 5 + [2] * 5 + [3] * 7  # the tail: the last
    samples = np.arange(4)[:, None, None] * np.ones((1, REGIONS, 2))
    r = Regions(samples, rows, region_centres(1920, 1080))
    assert r.count == REGIONS and r.view(slice(4, 7), 1)[:, 0].tolist() == [0, 1, 1]


def test_pan_follows_the_region_that_sees_the_sound():
    # Seen by the left square, then by both (it is in the middle), then the right one.
    w = np.zeros((60, REGIONS))
    w[:20, 0], w[20:40], w[40:, -1] = 0.9, 0.9, 0.9
    keys = pan_keyframes(w, region_centres(1920, 1080), 0.1)
    pans = [p for _, p in keys]
    assert keys[0][0] == 0.0 and abs(keys[-1][0] - 5.9) < 1e-9
    assert pans[0] < -0.3 and pans[-1] > 0.3 and abs(pans[len(pans) // 2]) < 0.15
    assert all(b >= a - 1e-9 for a, b in zip(pans, pans[1:]))  # left to right, no jitter
    assert pan_keyframes(np.zeros((10, REGIONS)), region_centres(1920, 1080), 0.1) == ((0.0, 0.0),)


def test_regions_fit_decodes_squares_along_the_frame(tmp_path):
    """A white box in the left third, then the right third, of a 16:9 film:
    it is in the first square of the regions fit, then in the last."""
    film = tmp_path / "box.mp4"
    box = ("drawbox=x=20:y=60:w=40:h=40:color=white:t=fill:enable='lt(t,1)',"
           "drawbox=x=260:y=60:w=40:h=40:color=white:t=fill:enable='gte(t,1)'")
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-f", "lavfi", "-i",
                    "color=c=black:s=320x180:r=25:d=2", "-vf", box, "-pix_fmt", "yuv420p",
                    str(film)], check=True, timeout=60, stdin=subprocess.DEVNULL)
    batches = list(iter_frames(film, 0.5, 32, 8, duration=2.0, fit="regions"))
    pixels = np.concatenate([b.pixels for b in batches])
    assert pixels.shape == (4, 32, 32 * REGIONS, 3)
    squares = pixels.reshape(4, 32, REGIONS, 32, 3).mean(axis=(1, 3, 4))  # (t, region)
    assert squares[0, 0] > 8 and squares[0, -1] < 2  # t=0.25 s: left square only
    assert squares[3, -1] > 8 and squares[3, 0] < 2  # t=1.75 s: right square only


@pytest.mark.parametrize("pan_on", [True, False])
def test_match_film_pans_a_thing_crossing_the_frame(pan_on):
    """End to end through matching: a thing seen by the left region, then the
    right one, gets pan keyframes from left to right (none with pan off)."""
    from pathlib import Path

    from autofoley.library.text_index import LibraryIndex
    from autofoley.placement.matching import match_film
    from autofoley.placement.sync import SyncParams
    from autofoley.records import Scene, SoundEntry

    rng = np.random.default_rng(0)
    vecs = np.linalg.qr(rng.normal(size=(16, 5)))[0].T.astype(np.float32)  # 5 orthonormal
    entries = [SoundEntry(Path("/lib/dog.wav"), "dog", "ANIMALS", "sfx", 9.0, 48000, 1),
               SoundEntry(Path("/lib/bell.wav"), "bell", "BELLS", "sfx", 9.0, 48000, 1),
               SoundEntry(Path("/lib/park.wav"), "park", "AMBIENCE", "ambience", 9.0, 48000, 1)]
    index = LibraryIndex(entries, ["dog", "bell", "park"], vecs[:3])
    t = 60
    frames = np.repeat(vecs[2:3], t, axis=0)  # the park; the dog is small in the whole frame
    frames[10:50] = 0.3 * vecs[0] + vecs[2]
    frames /= np.linalg.norm(frames, axis=1, keepdims=True)
    regions = np.repeat(vecs[2][None, None], t, axis=0).repeat(REGIONS, axis=1)
    for i in range(10, 50):  # the dog crosses: left square, then the right one
        r = min(REGIONS - 1, (i - 10) * REGIONS // 40)
        regions[i, r] = vecs[0] + 0.3 * vecs[2]
    regions /= np.linalg.norm(regions, axis=2, keepdims=True)
    m = match_film(frames, 0.1, [Scene(0, 0.0, 6.0)], index, SyncParams(temperature=0.1),
                   Fraction(25), ambience=False,
                   regions=Regions(regions, np.arange(t), region_centres(1920, 1080)), pan=pan_on)
    dogs = [p for p in m.placements if p.sound.description == "dog"]
    assert len(dogs) == 1 and abs(dogs[0].start - 1.0) < 0.15
    if pan_on:
        pans = [v for _, v in dogs[0].pan]
        assert pans[0] < -0.2 and pans[-1] > 0.2
    else:
        assert dogs[0].pan == ()


def _switch(t: int, at: int, dim: int = 8) -> np.ndarray:
    """(t, dim) unit frames: one picture, then another from segment ``at``."""
    frames = np.zeros((t, dim), np.float32)
    frames[:at, 0], frames[at:, 1] = 1.0, 1.0
    return frames


def test_edges_only_regions_saw_move_to_where_the_picture_changes():
    from autofoley.placement.regions import picture_edges
    from autofoley.placement.sync import Event

    def seen(*pairs):
        return np.array(pairs, bool).reshape(-1, 2)

    frames = _switch(30, 13)  # something enters at 1.3 s
    event = Event(0, 10, 25, 0.9)  # the region sample for 1-2 s saw it: the event starts at 1.0 s
    moved = picture_edges([event], frames, seen(False, True), 5, ["dog"])
    assert [(e.first, e.stop) for e in moved] == [(13, 25)]
    # The whole frame saw it begin: its start is on the grid already.
    assert picture_edges([event], frames, seen(True, True), 5, ["dog"]) == [event]
    # Nothing changes within half a region sample: the start stays.
    assert picture_edges([event], _switch(30, 17), seen(False, True), 5, ["dog"])[0].first == 10
    # It leaves at 2.2 s, where the event (regions, a sample a second) ended at 2.5 s.
    leaves = picture_edges([event], _switch(30, 22), seen(True, False), 5, ["dog"])
    assert [(e.first, e.stop) for e in leaves] == [(10, 22)]
    # Never into an earlier event of its group, which ended at segment 12.
    frames = _switch(30, 11)
    frames[13:, 2] = 0.5  # a smaller change at 1.3 s
    frames /= np.linalg.norm(frames, axis=1, keepdims=True)
    earlier = Event(1, 2, 12, 0.9)
    out = picture_edges([earlier, event], frames, seen(True, True, False, True), 5, ["dog", "dog"])
    assert out[1].first == 13
    out = picture_edges([earlier, event], frames, seen(True, True, False, True), 5, ["dog", "bell"])
    assert out[1].first == 11  # another group's event does not hold it back
    # Nor does an event's end grow into the next event of its group.
    frames = _switch(30, 14)
    first, second = Event(0, 2, 11, 0.9), Event(0, 12, 25, 0.9)
    out = picture_edges([first, second], frames, seen(True, False, True, True), 5, ["dog", "dog"])
    assert out[0].stop == 11
    out = picture_edges([first, second], frames, seen(True, False, True, True), 5, ["dog", "bell"])
    assert out[0].stop == 14


def test_match_film_places_a_thing_beside_another_where_it_enters_and_leaves():
    """End to end: a dog that only the right square sees, sampled once a
    second, is there from 1.3 s to 4.5 s; its sound starts and ends there,
    not at the samples' 1.0 s and 5.0 s."""
    from pathlib import Path

    from autofoley.library.text_index import LibraryIndex
    from autofoley.placement.matching import match_film
    from autofoley.placement.sync import SyncParams
    from autofoley.records import Scene, SoundEntry

    rng = np.random.default_rng(1)
    vecs = np.linalg.qr(rng.normal(size=(16, 5)))[0].T.astype(np.float32)
    entries = [SoundEntry(Path("/lib/dog.wav"), "dog", "ANIMALS", "sfx", 9.0, 48000, 1),
               SoundEntry(Path("/lib/park.wav"), "park", "AMBIENCE", "ambience", 9.0, 48000, 1)]
    index = LibraryIndex(entries, ["dog", "park"], vecs[[0, 2]])
    t = 60
    frames = np.repeat(vecs[2:3], t, axis=0)
    frames[13:45] += 0.3 * vecs[0]  # the dog is small in the whole frame: it never wins there
    frames /= np.linalg.norm(frames, axis=1, keepdims=True)
    samples = np.repeat(vecs[2][None, None], 6, axis=0).repeat(REGIONS, axis=1)  # one a second
    samples[1:5, -1] = vecs[0] + 0.3 * vecs[2]  # the right square sees the dog in samples 1-4
    samples /= np.linalg.norm(samples, axis=2, keepdims=True)
    regions = Regions(samples, on_grid(6, 1.0, t, 0.1), region_centres(1920, 1080))
    m = match_film(frames, 0.1, [Scene(0, 0.0, 6.0)], index, SyncParams(temperature=0.1),
                   Fraction(25), ambience=False, regions=regions)
    dogs = [p for p in m.placements if p.sound.description == "dog"]
    assert len(dogs) == 1 and abs(dogs[0].start - 1.3) < 0.05
    assert abs(dogs[0].synced_end - 4.5) < 0.05
