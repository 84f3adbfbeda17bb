"""The OTIO timeline: positions to the frame, whole-film tracks, media, markers.

Track layouts themselves (which category goes where) are tested in
test_layouts.py; here the ``compact`` layout keeps track names simple."""

from __future__ import annotations

import dataclasses
import subprocess
from fractions import Fraction
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import numpy as np
import opentimelineio as otio
import pytest
import soundfile as sf

from autofoley.atomic import TMP_PREFIX
from autofoley.media.probe import probe, tool
from autofoley.output.timeline import build_timeline, read_placements, write_timeline
from autofoley.records import Placement, Scene, SoundEntry

NTSC = Fraction(30000, 1001)


def _film(path: Path, rate: str, seconds: float) -> Path:
    subprocess.run([tool("ffmpeg"), "-v", "error", "-nostdin", "-y", "-f", "lavfi",
                    "-i", f"testsrc2=size=320x240:rate={rate}", "-t", str(seconds),
                    "-c:v", "libx264", "-preset", "ultrafast", str(path)], check=True,
                   timeout=300, stdin=subprocess.DEVNULL)
    return path


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    root = tmp_path_factory.mktemp("timeline")
    ntsc = probe(_film(root / "ntsc film.mp4", "30000/1001", 4))
    pal = probe(_film(root / "pal.mp4", "25", 4))
    rng = np.random.default_rng(1)
    sounds = {}
    # Names with a space and non-ASCII letters exercise the file:// URL encoding.
    for name, seconds, kind in [("door slam é.wav", 1.0, "sfx"), ("glass #1.wav", 2.5, "sfx"),
                                ("room tone.wav", 3.0, "ambience")]:
        path = root / name
        sf.write(path, (0.1 * rng.standard_normal(int(seconds * 44100))).astype("float32"), 44100)
        sounds[name] = SoundEntry(path=path, description=f"{name} described", category="TEST",
                                  kind=kind, duration=seconds, sample_rate=44100, channels=1)
    # An entry that starts 1.0 s into its file (a file holding several events).
    glass = sounds["glass #1.wav"]
    sounds["glass second event"] = dataclasses.replace(glass, offset=1.0, duration=1.5,
                                                       file_duration=2.5)
    return root, ntsc, pal, sounds


def _at(frame: int, fps: Fraction) -> float:
    """Seconds of a frame, as the caller's snapping produces them."""
    return float(frame / fps)


def _placements(sounds, fps):
    door, glass, glass2, room = (sounds["door slam é.wav"], sounds["glass #1.wav"],
                                 sounds["glass second event"], sounds["room tone.wav"])
    f = lambda n: _at(n, fps)  # noqa: E731
    return [
        Placement(door, f(10), f(25), 0.0, 0.91, 0, "sfx", track=0, fade_out=0.05,
                  alternates=(("/lib/other.wav", 0.5),)),
        Placement(glass, f(25), f(40), 0.2, 0.80, 0, "sfx", track=0),  # butts against the door
        Placement(glass2, f(30), f(60), 0.25, 0.70, 1, "sfx", track=1, gain_db=-3.0),
        Placement(door, f(70), f(85), 0.1, 0.60, 2, "sfx", track=1),
        Placement(room, f(0), f(89), 0.0, 0.40, 0, "ambience", fade_in=0.5, fade_out=0.5),
    ]


def _scenes(video):
    return [Scene(0, 0.0, 1.5), Scene(1, 1.5, 2.6), Scene(2, 2.6, video.duration)]


def _url_path(url: str) -> Path:
    return Path(url2pathname(urlparse(url).path))


def test_timeline_positions_tracks_media_and_markers(media):
    root, video, _, sounds = media
    rate = float(NTSC)
    assert video.fps == NTSC
    placements = _placements(sounds, video.fps)
    film_frames = round(video.duration * rate)

    tl = build_timeline(video, _scenes(video), placements, "ntsc", start_timecode="01:00:00:00",
                        layout="compact", role_gain_db={"ambience": -12.0})
    out = write_timeline(tl, root / "ntsc.otio")
    assert [p.name for p in root.iterdir() if p.name.startswith(TMP_PREFIX)] == []
    loaded = otio.adapters.read_from_file(str(out))

    assert [t.name for t in loaded.tracks] == ["Picture", "AMB 1", "AMB 2", "SFX 1", "SFX 2"]
    assert loaded.global_start_time == otio.opentime.RationalTime(108000, rate)
    assert loaded.global_start_time.rate == 30000 / 1001  # exact, not 29.97

    for track in loaded.tracks:
        # Every track lasts exactly the film, and nothing in it overlaps.
        assert track.duration() == otio.opentime.RationalTime(film_frames, rate)
        cursor = 0
        for item in track:
            if isinstance(item, otio.schema.Transition):
                continue  # transitions take no time on the track
            r = item.range_in_parent()
            assert r.start_time.rate == rate and r.duration.rate == rate
            assert r.start_time.value == cursor and r.duration.value > 0
            cursor = r.end_time_exclusive().value
        assert cursor == film_frames

    picture = loaded.video_tracks()[0].find_clips()[0]
    assert _url_path(picture.media_reference.target_url) == video.path
    assert picture.source_range.duration.value == film_frames
    assert picture.media_reference.available_range == picture.source_range

    by_track = {t.name: list(t.find_clips(shallow_search=True)) for t in loaded.audio_tracks()}
    # The glass butts against the door, so it goes to the next track: clips
    # never butt on a track.
    expected = {"SFX 1": [placements[0], placements[2], placements[3]], "SFX 2": [placements[1]],
                "AMB 1": placements[4:], "AMB 2": []}
    for name, plist in expected.items():
        clips = by_track[name]
        assert len(clips) == len(plist)
        for clip, p in zip(clips, plist):
            r = clip.range_in_parent()
            assert r.start_time.value == round(p.start * rate)
            assert r.end_time_exclusive().value == round(p.end * rate)
            assert clip.name == p.sound.path.name
            ref = clip.media_reference
            path = _url_path(ref.target_url)
            assert path.exists() and path == p.sound.path
            assert ref.available_range.start_time.value == 0
            assert ref.available_range.duration.to_seconds() == pytest.approx(
                p.sound.whole_file_duration, abs=1e-9)
            # In-point counts from the file's start: the entry offset is added.
            assert clip.source_range.start_time.to_seconds() == pytest.approx(
                p.sound.offset + p.source_in, abs=1e-9)
            meta = clip.metadata["autofoley"]
            assert meta["score"] == pytest.approx(p.score)
            assert meta["role"] == p.role and meta["scene"] == p.scene
            assert meta["category"] == "TEST" and meta["description"].endswith("described")
            assert meta["fade_in"] == p.fade_in and meta["fade_out"] == p.fade_out
            assert meta["gain_db"] == p.gain_db and meta["entry_offset"] == p.sound.offset
            assert meta["level_db"] == p.gain_db + (-12.0 if p.role == "ambience" else 0.0)
            assert meta["sample_rate"] == 44100 and meta["channels"] == 1
            # OTIO hands metadata back as its own containers: compare as plain ones.
            assert [dict(a) for a in meta["alternates"]] == [
                {"file": f, "score": s} for f, s in p.alternates]

    # Fades of a frame or more are transitions against the gap beside the clip;
    # the room tone starts at frame 0 (no gap before it), so only its fade out is one.
    fades = {t.name: [(x.name, x.in_offset.value, x.out_offset.value)
                      for x in t if isinstance(x, otio.schema.Transition)]
             for t in loaded.audio_tracks()}
    assert fades["AMB 1"] == [("Fade Out", round(0.5 * rate), 0)]
    assert fades["SFX 1"] == [("Fade Out", 1, 0)]  # the door's 0.05 s is one frame
    assert fades["SFX 2"] == [] and fades["AMB 2"] == []

    markers = loaded.tracks.markers
    # A scene's marker is named after its ambience.
    assert [m.name for m in markers] == ["Scene 1 \u2014 room tone", "Scene 2", "Scene 3"]
    for m, s in zip(markers, _scenes(video)):
        assert m.marked_range.start_time.value == round(s.start * rate)
        assert m.marked_range.start_time.rate == rate
        assert m.metadata["autofoley"]["start"] == s.start
        assert m.metadata["autofoley"]["end"] == s.end
    assert loaded.metadata["autofoley"]["fps"] == "30000/1001"


def test_read_placements_round_trip(media):
    root, video, _, sounds = media
    placements = _placements(sounds, video.fps)
    path = write_timeline(build_timeline(video, [], placements, "rt", layout="compact"),
                          root / "rt.otio")
    rows = read_placements(path)
    assert [r["track"] for r in rows] == ["AMB 1"] + ["SFX 1"] * 3 + ["SFX 2"]
    order = [placements[i] for i in (4, 0, 2, 3, 1)]
    for row, p in zip(rows, order):
        assert row["name"] == p.sound.path.name
        assert Path(row["file"]) == p.sound.path
        assert row["start"] == pytest.approx(p.start, abs=1e-9)
        assert row["end"] == pytest.approx(p.end, abs=1e-9)
        assert row["source_in"] == pytest.approx(p.sound.offset + p.source_in, abs=1e-9)


def test_empty_timeline_still_has_the_layout_tracks(media):
    _, _, video, _ = media
    tl = build_timeline(video, [Scene(0, 0.0, video.duration)], [], "empty")
    assert [t.name for t in tl.tracks] == [
        "Picture", "AMB 1", "AMB 2", "SFX Foley 1", "SFX Foley 2", "SFX Hard FX 1",
        "SFX Hard FX 2", "SFX Vehicles 1", "SFX Vehicles 2", "SFX Animals 1", "SFX Animals 2",
        "SFX Nature", "SFX Weapons", "SFX Design", "SFX Human", "SFX Misc 1"]
    for track in tl.tracks:
        assert track.duration() == otio.opentime.RationalTime(100, 25)  # 4 s at 25 fps
    assert len(tl.tracks.markers) == 1 and tl.tracks.markers[0].name == "Scene 1"


def test_ambience_tracks_grow_past_the_pair(media):
    _, _, video, sounds = media
    room = sounds["room tone.wav"]
    placements = [Placement(room, 0.0, 2.0, x, 0.3, 0, "ambience") for x in (0.0, 0.5, 1.0)]
    tl = build_timeline(video, [], placements, "beds", layout="compact")
    assert [t.name for t in tl.tracks] == ["Picture", "AMB 1", "AMB 2", "AMB 3", "SFX 1"]
    assert [len(t.find_clips()) for t in tl.audio_tracks()] == [1, 1, 1, 0]


def test_overlapping_placements_never_share_a_track(media):
    _, _, video, sounds = media
    door = sounds["door slam é.wav"]
    # The matcher put both on its track 0; the layout still spreads them.
    placements = [Placement(door, 1.0, 1.6, 0.0, 0.9, 0, "sfx"),
                  Placement(door, 1.4, 1.8, 0.0, 0.9, 0, "sfx")]
    tl = build_timeline(video, [], placements, "ok", layout="compact")
    assert [len(t.find_clips()) for t in tl.audio_tracks()] == [0, 0, 1, 1]


def test_clip_past_the_film_end_is_trimmed(media):
    _, _, video, sounds = media
    door = sounds["door slam é.wav"]
    tl = build_timeline(video, [], [Placement(door, 3.6, 4.4, 0.0, 0.9, 0, "sfx"),
                                    Placement(door, 4.5, 4.9, 0.0, 0.9, 0, "sfx")], "end")
    sfx = next(t for t in tl.audio_tracks() if t.name == "SFX Misc 1")
    clips = list(sfx.find_clips())
    assert len(clips) == 1
    assert clips[0].range_in_parent().end_time_exclusive().value == 100
    assert sfx.duration().value == 100


def test_start_timecode_at_rates_otio_does_not_count(media):
    _, _, video, _ = media
    slow = dataclasses.replace(video, fps=Fraction(15))
    tl = build_timeline(slow, [], [], "15fps", start_timecode="01:00:00:05")
    assert tl.global_start_time == otio.opentime.RationalTime(3600 * 15 + 5, 15)
    with pytest.raises(ValueError):
        build_timeline(slow, [], [], "bad", start_timecode="01:00:00:20")


def test_unknown_role_is_a_caller_bug(media):
    _, _, video, sounds = media
    bad = Placement(sounds["door slam é.wav"], 1.0, 1.2, 0.0, 0.9, 0, "dialogue")
    with pytest.raises(ValueError, match="dialogue"):
        build_timeline(video, [], [bad], "bad")
