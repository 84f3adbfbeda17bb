"""Bad input a new user gives: every case ends at once with one line naming
the file or flag and the remedy, the documented exit code, no traceback, no
hang and nothing half-written."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from synth import make_library

TINY = ["--clip-model", "autofoley-tiny", "--quiet"]
# Generous for a Python start on a loaded 2-core machine; a hang runs into it.
LIMIT_S = 240


def _film(path: Path, rate: str = "25", seconds: int = 3) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=size=160x90:rate={rate}:duration={seconds}", "-c:v", "libx264",
                    "-pix_fmt", "yuv420p", str(path)], check=True, stdin=subprocess.DEVNULL,
                   timeout=LIMIT_S)
    return path


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad-input")
    make_library(root / "lib", sr_variants=False)
    return {"film": _film(root / "film.mp4"), "lib": root / "lib", "root": root}


def _cli(args, cwd=None):
    proc = subprocess.run([sys.executable, "-m", "autofoley", *args], capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=LIMIT_S, cwd=cwd)
    return proc.returncode, proc.stdout, proc.stderr


def _one_line(err: str, *needles: str) -> str:
    # Progress lines (INFO, every 30 s of a long stage) may come first on a slow machine.
    lines = [line for line in err.splitlines() if line.strip() and ": INFO: " not in line]
    assert len(lines) == 1, err
    assert "Traceback" not in err and "error:" in lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("flags, flag", [
    (["--step", "0"], "--step"),
    (["--step", "-1"], "--step"),
    (["--timecode", "1:00"], "--timecode"),
    (["--timecode", "99:99:99:99"], "--timecode"),
    (["--rank", "hybrid", "--hybrid-weight", "2"], "--hybrid-weight"),
    (["--rank", "text", "--hybrid-weight", "0.7"], "--hybrid-weight"),
    (["--threshold", "nan"], "--threshold"),
    (["--threshold", "2"], "--threshold"),
    (["--temperature", "0"], "--temperature"),
    (["--max-overlap", "0"], "--max-overlap"),
    (["--sure-lead", "-1"], "--sure-lead"),
    (["--beside", "-2"], "--beside"),
    (["--scene-threshold", "-5"], "--scene-threshold"),
    (["--batch-size", "0"], "--batch-size"),
    (["--min-similarity", "inf"], "--min-similarity"),
])
def test_bad_numbers_are_usage_errors_before_any_work(flags, flag, tmp_path):
    # The film and library need not exist: flags are checked first.
    code, out, err = _cli(["score", "missing.mp4", "--library", "missing", *TINY,
                           "--out", str(tmp_path / "out"), *flags])
    assert code == 2
    _one_line(err, flag)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args, needle", [
    (["search", "--library", "L", "--text", "dog", "--at", "3"], "--at"),
    (["search", "--library", "L", "--video", "film.mp4"], "--at"),
    (["batch", "F", "--library", "L", "--workers", "-1"], "--workers"),
    (["search", "--library", "L", "--text", "dog", "-k", "0"], "-k"),
])
def test_usage_errors_of_other_commands(args, needle):
    code, _, err = _cli(args)
    assert code == 2
    _one_line(err, needle)


def test_drop_frame_timecode_at_25_fps_stops_before_any_work(media, tmp_path):
    out = tmp_path / "out"
    code, _, err = _cli(["score", str(media["film"]), "--library", str(media["lib"]), *TINY,
                         "--out", str(out), "--timecode", "01:00:00;00"])
    assert code == 2
    _one_line(err, "--timecode", "drop-frame")
    assert not list(out.glob("*.otio"))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_as_the_film_is_refused_not_waited_on(media, tmp_path):
    fifo = tmp_path / "f.mp4"
    os.mkfifo(fifo)
    code, _, err = _cli(["score", str(fifo), "--library", str(media["lib"]), *TINY,
                         "--out", str(tmp_path / "out")])
    assert code == 3
    _one_line(err, "f.mp4", "not a regular file")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_in_the_library_is_skipped_with_its_reason(tmp_path):
    from autofoley.library.scan import scan_library

    make_library(tmp_path / "lib", sr_variants=False)
    os.mkfifo(tmp_path / "lib" / "pipe.wav")
    scan = scan_library(tmp_path / "lib", use_cache=False)
    reasons = {p.name: r for p, r in scan.skipped}
    assert "not a regular file" in reasons["pipe.wav"]
    assert scan.entries


def test_a_file_name_that_is_not_utf8_is_read(tmp_path):
    from autofoley.library.scan import scan_library

    lib = tmp_path / "lib"
    lib.mkdir()
    sr = 44100
    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(sr) / sr)
    name = os.fsdecode(b"latin1_caf\xe9.wav")  # undecodable in UTF-8: a surrogate escape
    with open(os.path.join(os.fsencode(lib), b"latin1_caf\xe9.wav"), "wb") as fh:
        sf.write(fh, tone, sr, format="WAV")
    scan = scan_library(lib, use_cache=False)
    assert [e.path.name for e in scan.entries] == [name] and not scan.skipped
    from autofoley.media.audio import load_audio

    assert load_audio(scan.entries[0].path, 8000).shape == (1, 8000)


def test_a_sidecar_with_a_bom_and_a_stray_byte_keeps_its_tags(tmp_path):
    from autofoley.library.scan import scan_library

    lib = tmp_path / "lib"
    lib.mkdir()
    sf.write(str(lib / "take_01.wav"), 0.3 * np.sin(np.arange(8000) / 5), 8000)
    (lib / "metadata.csv").write_bytes(
        b"\xef\xbb\xbffile,description\ntake_01.wav,caf\xe9 door slam\n")
    scan = scan_library(lib, use_cache=False)
    assert len(scan.entries) == 1 and "door slam" in scan.entries[0].description


def test_a_broken_sidecar_that_was_only_found_is_a_warning(media, tmp_path, caplog):
    from autofoley.library.scan import scan_library

    make_library(tmp_path / "lib", sr_variants=False)
    (tmp_path / "lib" / "library.csv").write_text("name;what\nx;y\n")  # no file column
    scan = scan_library(tmp_path / "lib", use_cache=False)
    assert scan.entries
    assert any("library.csv" in r.getMessage() for r in caplog.records)


def test_nan_and_infinite_samples_are_cleaned_on_load(tmp_path):
    from autofoley.media.audio import load_audio

    x = np.full(4800, 0.25, np.float32)
    x[100], x[200], x[300] = np.nan, np.inf, -np.inf
    sf.write(str(tmp_path / "bad.wav"), x, 48000, subtype="FLOAT")
    data = load_audio(tmp_path / "bad.wav", 48000)
    assert np.isfinite(data).all() and data[0, 100] == 0 and data[0, 0] == pytest.approx(0.25)


def test_outputs_are_strict_json(tmp_path):
    from autofoley.atomic import write_json

    write_json(tmp_path / "x.json", {"a": math.nan, "b": [math.inf, 1.0]})
    text = (tmp_path / "x.json").read_text()
    assert json.loads(text, parse_constant=lambda c: pytest.fail(c)) == {"a": None,
                                                                          "b": [None, 1.0]}


def test_staging_left_by_a_killed_run_is_removed_but_a_live_one_is_kept(tmp_path):
    from autofoley.atomic import TMP_PREFIX
    from autofoley.output.publish import clean_stale

    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, timeout=LIMIT_S,
                              stdin=subprocess.DEVNULL).stdout.strip()
        (tmp_path / f"{TMP_PREFIX}{dead}-abc").mkdir()
        (tmp_path / f"{TMP_PREFIX}{dead}-abc" / "film.mix.wav").write_bytes(b"x" * 1000)
        (tmp_path / f"{TMP_PREFIX}{sleeper.pid}-def").mkdir()
        removed = clean_stale(tmp_path)
        assert [p.name for p in removed] == [f"{TMP_PREFIX}{dead}-abc"]
        assert (tmp_path / f"{TMP_PREFIX}{sleeper.pid}-def").is_dir()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_decoder_noise_of_a_truncated_film_stays_off_the_terminal(tmp_path):
    full = tmp_path / "full.ts"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=320x180:rate=25:duration=8", "-c:v", "libx264", "-pix_fmt",
                    "yuv420p", "-f", "mpegts", str(full)], check=True, timeout=LIMIT_S,
                   stdin=subprocess.DEVNULL)
    cut = tmp_path / "cut.ts"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 3])  # a copy that stopped
    code = f"from autofoley.placement.scenes import detect_scenes; detect_scenes({str(cut)!r}, 8.0)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=LIMIT_S, stdin=subprocess.DEVNULL)
    assert run.returncode == 0 and run.stderr.strip() == "", run.stderr
