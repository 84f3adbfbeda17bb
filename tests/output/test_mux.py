"""Muxing the mix into the film: picture untouched, mix first and default."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from autofoley.atomic import TMP_PREFIX
from autofoley.errors import ToolError
from autofoley.media.audio import load_audio
from autofoley.media.probe import probe, stream_packets, tool
from autofoley.output.mixdown import render_mix
from autofoley.output.mux import mux_mix, scored_name
from autofoley.records import Placement, SoundEntry

BURST_AT = 1.5  # seconds into the film where the mix has its only sound


def _ffmpeg(*args: str) -> None:
    subprocess.run([tool("ffmpeg"), "-v", "error", "-nostdin", "-y", *args], check=True,
                   timeout=300, stdin=subprocess.DEVNULL)


def _picture(rate: str) -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc2=size=320x240:rate={rate}"]


SINE = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]


@pytest.fixture(scope="module")
def films(tmp_path_factory):
    src = tmp_path_factory.mktemp("films")
    x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    _ffmpeg(*_picture("25"), *SINE, "-t", "4", *x264, "-c:a", "aac", str(src / "aac.mp4"))
    _ffmpeg(*_picture("25"), "-t", "4", *x264, str(src / "silent.mp4"))
    _ffmpeg(*_picture("30000/1001"), *SINE, "-t", "4", "-c:v", "prores_ks", "-profile:v", "0",
            "-c:a", "pcm_s16le", str(src / "ntsc.mov"))
    # MP2 sound cannot be copied into MP4: it is re-encoded to AAC there.
    _ffmpeg(*_picture("25"), *SINE, "-t", "4", *x264, "-c:a", "mp2", str(src / "mp2.mkv"))
    # FLAC copies into MP4 (ffmpeg still calls that experimental).
    _ffmpeg(*_picture("25"), *SINE, "-t", "4", *x264, "-c:a", "flac", str(src / "flac.mkv"))
    # MPEG-2 picture fits no MP4/MOV list: Matroska, which copies any sound.
    _ffmpeg(*_picture("25"), *SINE, "-t", "4", "-c:v", "mpeg2video", "-c:a", "mp2",
            str(src / "mpeg2.mkv"))
    # The mix: silence with one burst, rendered to the film's length.
    burst = np.random.default_rng(3).uniform(-0.5, 0.5, 4800).astype(np.float32)
    sf.write(src / "burst.wav", burst, 48000)
    sound = SoundEntry(path=src / "burst.wav", description="burst", category="TEST", kind="sfx",
                       duration=0.1, sample_rate=48000, channels=1)
    mixes = {}
    for name in ("aac.mp4", "silent.mp4", "ntsc.mov", "mp2.mkv", "flac.mkv", "mpeg2.mkv"):
        video = probe(src / name)
        placement = Placement(sound=sound, start=BURST_AT, end=BURST_AT + 0.1, source_in=0.0,
                              score=1.0, scene=0, role="sfx", fade_in=0.001, fade_out=0.01)
        mixes[name] = (video, render_mix([placement], video.duration,
                                         src / f"{name}.mix.wav").path)
    return mixes


def _audio_streams(path: Path) -> list[dict]:
    out = subprocess.run([tool("ffprobe"), "-v", "error", "-select_streams", "a", "-show_entries",
                          "stream=codec_name:stream_tags:stream_disposition=default",
                          "-print_format", "json", str(path)], capture_output=True, check=True,
                         timeout=300, stdin=subprocess.DEVNULL)
    return json.loads(out.stdout)["streams"]


def _start_time(path: Path, selector: str) -> float:
    out = subprocess.run([tool("ffprobe"), "-v", "error", "-select_streams", selector,
                          "-show_entries", "stream=start_time", "-of", "default=nw=1:nk=1", str(path)],
                         capture_output=True, check=True, text=True,
                         timeout=300, stdin=subprocess.DEVNULL)
    return float(out.stdout.split()[0])


def _title(stream: dict) -> str:
    tags = stream.get("tags", {})
    return tags.get("title") or tags.get("handler_name", "")


@pytest.mark.parametrize("name, suffix, original", [
    ("aac.mp4", ".mp4", "aac"),  # copied
    ("silent.mp4", ".mp4", None),
    ("ntsc.mov", ".mov", "pcm_s16le"),  # ProRes goes to MOV, PCM copied
    ("mp2.mkv", ".mp4", "aac"),  # h264 goes to MP4, MP2 encoded
    ("flac.mkv", ".mp4", "flac"),
    ("mpeg2.mkv", ".mkv", "mp2"),
])
def test_scored_film_keeps_the_picture_and_adds_the_mix(films, tmp_path, name, suffix, original):
    video, mix = films[name]
    out_name = scored_name(video, Path(name).stem)
    assert out_name == f"{Path(name).stem}.scored{suffix}"
    out = mux_mix(video, mix, tmp_path / out_name)

    assert out == tmp_path / out_name
    assert [p.name for p in tmp_path.iterdir()] == [out_name]  # no temporaries left
    # The picture is the source's, stream-copied: same codec, size and packets.
    assert stream_packets(out, "v:0") == stream_packets(video.path, "v:0")
    scored = probe(out)
    assert scored.fps == video.fps
    assert scored.duration == pytest.approx(video.duration, abs=1 / float(video.fps))

    streams = _audio_streams(out)
    assert len(streams) == (2 if original else 1)
    assert streams[0]["codec_name"] == "aac"
    assert _title(streams[0]) == "autofoley mix"
    assert streams[0]["disposition"]["default"] == 1
    if original:
        assert streams[1]["codec_name"] == original
        assert _title(streams[1]) == "original"
        assert streams[1]["disposition"]["default"] == 0

    # The first audio stream is the mix, in sync with the picture: its burst
    # plays BURST_AT after the film's origin. Matroska shifts every stream by
    # the AAC encoder delay (21 ms) instead of using an edit list as MP4 does,
    # so times are taken relative to the picture's own shift.
    heard = np.abs(load_audio(out, 48000).mean(axis=0))
    onset = _start_time(out, "a:0") + int(np.argmax(heard > 0.05)) / 48000
    shift = _start_time(out, "v:0") - _start_time(video.path, "v:0")
    assert onset - shift == pytest.approx(BURST_AT, abs=0.003)


def test_bad_mix_raises_and_leaves_nothing(films, tmp_path):
    video, _ = films["aac.mp4"]
    with pytest.raises(ToolError) as info:
        mux_mix(video, tmp_path / "no such mix.wav", tmp_path / "aac.scored.mp4")
    assert "no such mix.wav" in str(info.value)
    assert list(tmp_path.iterdir()) == []
    assert not any(p.name.startswith(TMP_PREFIX) for p in tmp_path.iterdir())


def test_container_choice(films):
    video, _ = films["aac.mp4"]
    for codec, suffix in [("h264", "mp4"), ("hevc", "mp4"), ("av1", "mp4"), ("vp9", "mp4"),
                          ("mjpeg", "mp4"), ("mpeg4", "mp4"), ("prores", "mov"),
                          ("dnxhd", "mov"), ("mpeg2video", "mkv"), ("vp8", "mkv")]:
        assert scored_name(dataclasses.replace(video, video_codec=codec), "f") == f"f.scored.{suffix}"


def test_unknown_container_is_refused(films, tmp_path):
    video, mix = films["aac.mp4"]
    with pytest.raises(ValueError, match=".avi"):
        mux_mix(video, mix, tmp_path / "film.avi")
