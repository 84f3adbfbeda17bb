"""`autofoley score` end to end on synthetic media, and every bad input a user
can give: one-line error, meaningful exit code, nothing partial left behind."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import opentimelineio as otio
import pytest
import soundfile as sf
from synth import make_library

from autofoley import __version__
from autofoley._cli.main import main
from autofoley.media.probe import probe, stream_packets

TINY = ["--clip-model", "autofoley-tiny", "--quiet"]


def _film(path: Path, audio: bool = True, rate: str = "25", seconds: int = 6) -> Path:
    half = seconds / 2
    args = ["ffmpeg", "-v", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size=320x180:rate={rate}:duration={half}",
            "-f", "lavfi", "-i", f"smptebars=size=320x180:rate={rate}:duration={half}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=f=220:duration={seconds}"]
    args += ["-filter_complex", "[0:v][1:v]concat=n=2:v=1[v]", "-map", "[v]"]
    if audio:
        args += ["-map", "2:a", "-c:a", "aac"]
    args += ["-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)]
    subprocess.run(args, check=True, timeout=300, stdin=subprocess.DEVNULL)
    return path


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    root = tmp_path_factory.mktemp("media")
    make_library(root / "lib")
    return {"film": _film(root / "film.mp4"), "lib": root / "lib", "root": root}


def _tree_digest(path: Path) -> dict:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


def _run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and __version__ in capsys.readouterr().out


def test_score_end_to_end(media, tmp_path, capsys):
    before = _tree_digest(media["root"])
    out = tmp_path / "scored"
    code, stdout, _ = _run(["score", str(media["film"]), "--library", str(media["lib"]),
                            "--out", str(out), "--json", *TINY], capsys)
    assert code == 0
    summary = json.loads(stdout)
    # Hidden files are autofoley's own bookkeeping (the digests of what it wrote).
    assert sorted(n for n in os.listdir(out) if not n.startswith(".")) == sorted([
        "film.otio", "film.events.json", "film.mix.wav",
        "film.scored.mp4", "film.report.png", "film.report.html"])
    assert summary["scenes"] == 2
    assert Path(summary["outputs"]["timeline"]) == out / "film.otio"

    # The timeline loads, and its audio clips are exactly the events.
    tl = otio.adapters.read_from_file(str(out / "film.otio"))
    events = json.loads((out / "film.events.json").read_text())["events"]
    clips = []
    for track in tl.audio_tracks():
        for clip in track.find_clips():
            r = clip.range_in_parent()
            clips.append((clip.media_reference.target_url, round(r.start_time.to_seconds(), 4),
                          round(r.end_time_exclusive().to_seconds(), 4)))
            path = Path(unquote(urlparse(clip.media_reference.target_url).path))
            assert path.exists()
            assert clip.name == path.name
    expected = [(Path(e["file"]).as_uri(), round(e["start"], 4), round(e["end"], 4)) for e in events]
    assert sorted(clips) == sorted(expected)
    assert {e["kind"] for e in events} == {"sfx", "ambience"} or events
    assert len(tl.video_tracks()) == 1

    # The mix: 48 kHz stereo, exactly the film's length.
    video = probe(media["film"])
    info = sf.info(str(out / "film.mix.wav"))
    assert (info.samplerate, info.channels) == (48000, 2)
    assert info.frames == round(video.duration * 48000)
    mix, _ = sf.read(str(out / "film.mix.wav"))
    assert np.abs(mix).max() > 0.01  # ambience at least

    # The scored film: the same video stream (copied), the mix plus the original audio.
    assert stream_packets(out / "film.scored.mp4") == stream_packets(media["film"])
    streams = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a", "-show_entries",
                              "stream=index", "-of", "csv=p=0", str(out / "film.scored.mp4")],
                             capture_output=True, text=True,
                             timeout=300, stdin=subprocess.DEVNULL).stdout.split()
    assert len(streams) == 2

    # The user's media and library are untouched.
    assert _tree_digest(media["root"]) == before


def test_rescore_reuses_frame_embeddings(media, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("AUTOFOLEY_CACHE", str(tmp_path / "cache"))  # a first run, whatever ran before
    args = ["score", str(media["film"]), "--library", str(media["lib"]), "--no-render", "--json",
            *TINY]
    first = json.loads(_run([*args, "--out", str(tmp_path / "a")], capsys)[1])
    second = json.loads(_run([*args, "--out", str(tmp_path / "b"), "--threshold", "0.3",
                              "--no-variety"], capsys)[1])
    # The first run decoded and encoded (frames and regions), the second did neither.
    assert first["frames_cached"] is False
    assert first["decode_seconds"] > 0 and first["encode_seconds"] > 0
    assert second["decode_seconds"] == second["encode_seconds"] == 0
    assert second["frames_cached"] is True
    assert "embed frames" in second["timings"]
    assert not (tmp_path / "b" / "film.mix.wav").exists()  # --no-render
    assert (tmp_path / "b" / "film.otio").exists()
    # The settings used are in events.json: the flags given, the defaults otherwise.
    used = [json.loads((tmp_path / d / "film.events.json").read_text())["options"]["sync"]
            for d in ("a", "b")]
    assert used[0]["variety"] is True and used[1]["variety"] is False
    assert used[1]["threshold"] == 0.3


def test_film_without_audio_gets_one_audio_stream(media, tmp_path, capsys):
    film = _film(tmp_path / "silent.mp4", audio=False)
    code, _, _ = _run(["score", str(film), "--library", str(media["lib"]), "--out",
                       str(tmp_path / "o"), "--no-ambience", *TINY], capsys)
    assert code == 0
    assert probe(tmp_path / "o" / "silent.scored.mp4").has_audio
    assert stream_packets(tmp_path / "o" / "silent.scored.mp4", "a") [3] > 0


def test_ntsc_film_timeline_rate(media, tmp_path, capsys):
    film = _film(tmp_path / "ntsc.mp4", rate="30000/1001", audio=False)
    code, _, _ = _run(["score", str(film), "--library", str(media["lib"]), "--out",
                       str(tmp_path / "o"), "--no-render", *TINY], capsys)
    assert code == 0
    tl = otio.adapters.read_from_file(str(tmp_path / "o" / "ntsc.otio"))
    track = tl.video_tracks()[0]
    assert abs(track.duration().rate - 30000 / 1001) < 1e-9


# ------------------------------------------------------------------ bad input


def _cli(args, env=None):
    """Run the real console entry point: what a user sees, tracebacks included."""
    proc = subprocess.run([sys.executable, "-m", "autofoley", *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL,
                          timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def _assert_one_line_error(err: str, *needles: str):
    # Progress lines (INFO, every 30 s of a long stage) may come first on a slow machine.
    lines = [l for l in err.splitlines() if l.strip() and ": INFO: " not in l]
    assert len(lines) == 1, err
    assert lines[0].startswith("autofoley: error:") and "Traceback" not in err
    for n in needles:
        assert n in lines[0]


def test_missing_film(media, tmp_path):
    code, _, err = _cli(["score", str(tmp_path / "nope.mp4"), "--library", str(media["lib"]),
                         *TINY])
    assert code == 3, err
    _assert_one_line_error(err, "nope.mp4", "not found")


def test_not_a_video_and_audio_only(media, tmp_path):
    fake = tmp_path / "fake.mp4"
    fake.write_bytes(b"\x00" * 1000)
    code, _, err = _cli(["score", str(fake), "--library", str(media["lib"]), "--out",
                         str(tmp_path / "o"), *TINY])
    assert code == 3
    _assert_one_line_error(err, "fake.mp4")
    wav = next(media["lib"].rglob("*.wav"))
    code, _, err = _cli(["score", str(wav), "--library", str(media["lib"]), "--out",
                         str(tmp_path / "o"), *TINY])
    assert code == 3
    _assert_one_line_error(err, "no video stream")
    assert not any((tmp_path / "o").iterdir())  # nothing partial left behind


def test_video_with_no_frames(media, tmp_path):
    empty = tmp_path / "empty.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=64x64:rate=25:duration=1", "-frames:v", "0", "-c:v", "libx264",
                    str(empty)], check=False, timeout=300, stdin=subprocess.DEVNULL)
    if not empty.exists():
        empty.write_bytes(b"")
    code, _, err = _cli(["score", str(empty), "--library", str(media["lib"]), "--out",
                         str(tmp_path / "o"), *TINY])
    assert code == 3
    _assert_one_line_error(err, "empty.mp4")


def test_library_errors(media, tmp_path):
    code, _, err = _cli(["score", str(media["film"]), "--library", str(tmp_path / "nolib"), *TINY])
    assert code == 4
    _assert_one_line_error(err, "nolib")
    (tmp_path / "emptylib").mkdir()
    (tmp_path / "emptylib" / "readme.txt").write_text("no sounds here")
    code, _, err = _cli(["score", str(media["film"]), "--library", str(tmp_path / "emptylib"),
                         *TINY])
    assert code == 4
    _assert_one_line_error(err, "emptylib")


def test_broken_library_files_are_skipped_not_fatal(media, tmp_path, capsys):
    lib = tmp_path / "lib"
    make_library(lib)
    (lib / "GLASBrk_Broken File_AF_X.wav").write_bytes(b"RIFF\x00\x00garbage")
    (lib / "zero.flac").write_bytes(b"")
    code, stdout, _ = _run(["score", str(media["film"]), "--library", str(lib), "--out",
                            str(tmp_path / "o"), "--no-render", "--json", *TINY], capsys)
    assert code == 0
    skipped = {Path(s["file"]).name for s in json.loads(stdout)["skipped_sounds"]}
    assert {"GLASBrk_Broken File_AF_X.wav", "zero.flac"} <= skipped


def test_unwritable_output(media, tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    code, _, err = _cli(["score", str(media["film"]), "--library", str(media["lib"]), "--out",
                         str(blocker / "sub"), *TINY])
    assert code == 6
    _assert_one_line_error(err, "file.txt")


def test_absent_weights(media, tmp_path):
    code, _, err = _cli(["score", str(media["film"]), "--library", str(media["lib"]),
                         "--clip-model", "ViT-B-32", "--quiet"],
                        env={"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")})
    assert code == 5
    _assert_one_line_error(err, "ViT-B-32", "--clip-pretrained")


def test_failure_midway_leaves_nothing(media, tmp_path, monkeypatch, capsys):
    """A crash while writing outputs leaves no deliverable and no temp folder."""
    import autofoley.output.mux as mux

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(mux, "mux_mix", boom)
    out = tmp_path / "o"
    with pytest.raises(OSError):
        main(["score", str(media["film"]), "--library", str(media["lib"]), "--out", str(out),
              *TINY])
    assert list(out.iterdir()) == []


def test_a_failing_report_waits_for_the_mux_and_leaves_nothing(media, tmp_path, monkeypatch):
    """The mux runs beside the report; when the report fails, the error
    comes through and the staging folder is removed only after ffmpeg is done
    writing into it."""
    import threading

    import autofoley.output.mux as mux
    import autofoley.output.report as report

    real_mux = mux.mux_mix
    started, failed, seen = threading.Event(), threading.Event(), {}

    def mux_after_the_failure(video, mix, out):
        started.set()
        assert failed.wait(60)
        result = real_mux(video, mix, out)
        seen["staging still there"] = out.parent.is_dir()
        return result

    def failing_report(*a, **k):
        assert started.wait(60)
        failed.set()
        raise OSError("disk full")

    monkeypatch.setattr(mux, "mux_mix", mux_after_the_failure)
    monkeypatch.setattr(report, "write_report", failing_report)
    out = tmp_path / "o"
    with pytest.raises(OSError, match="disk full"):
        main(["score", str(media["film"]), "--library", str(media["lib"]), "--out", str(out),
              *TINY])
    assert seen == {"staging still there": True}
    assert list(out.iterdir()) == []


def test_models_lists_clip_and_audio_models(capsys):
    code, out, _ = _run(["models", "--json"], capsys)
    rows = {r["name"]: r for r in json.loads(out)}
    assert code == 0
    assert rows["autofoley-demo"]["kind"] == "clip" and rows["ViT-B-32"]["source"] == "open_clip"
    assert rows["audio-tiny-cnn14"]["kind"] == "audio"
    assert rows["audio-tiny-cnn14"]["clip_model"] == "autofoley-tiny"
