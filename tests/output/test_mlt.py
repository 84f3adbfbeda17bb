"""A real timeline engine plays the timeline: the .otio, converted to an MLT
project by autofoley/mlt.py and rendered headless by ``melt`` (the engine of
Kdenlive and Shotcut), sounds like autofoley's own mix: every SFX starts
within one video frame of where the mix has it, and the two correlate."""

from __future__ import annotations

import copy
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import opentimelineio as otio
import pytest
import soundfile as sf
from nle_media import SECONDS, make_delivery

from autofoley._cli.main import main
from autofoley.output.mlt import melt_path, render_audio, timeline_to_mlt, write_mlt
from autofoley.output.timeline import read_placements

SR = 48000
REPO = Path(__file__).resolve().parents[2]

needs_melt = pytest.mark.skipif(
    melt_path() is None,
    reason="melt (MLT) is not installed: apt-get install melt to run the real-engine check")


def _sfx_only(tl: otio.schema.Timeline) -> otio.schema.Timeline:
    """A copy with every track but the SFX ones disabled (muted in MLT)."""
    out = copy.deepcopy(tl)
    for track in out.audio_tracks():
        track.enabled = not track.name.startswith("AMB")
    return out


def _onset(x: np.ndarray, start: float, end: float) -> float:
    """Seconds where a sound placed at [start, end) first reaches a tenth of
    its peak, searched from a quarter second before its start."""
    i0 = max(0, int((start - 0.25) * SR))
    i1 = min(len(x), int(min(end, start + 1.0) * SR))
    level = np.abs(x[i0:i1]).max(axis=1)
    return (i0 + int(np.argmax(level > 0.1 * level.max()))) / SR


def _compare(mix: np.ndarray, melt: np.ndarray) -> tuple[float, float, float]:
    """(waveform correlation, envelope correlation, gain) after aligning levels:
    autofoley normalises its mix, melt does not."""
    n = min(len(mix), len(melt))
    a, b = mix[:n].ravel(), melt[:n].ravel()
    gain = float(a @ b / (a @ a))
    wave = float(np.corrcoef(a, b)[0, 1])
    win = SR // 100  # 10 ms
    env = lambda x: np.abs(x[: n // win * win]).mean(axis=1).reshape(-1, win).mean(axis=1)  # noqa: E731
    return wave, float(np.corrcoef(env(mix), env(melt))[0, 1]), gain


def _lag(mix: np.ndarray, melt: np.ndarray, t0: float, t1: float) -> tuple[int, float]:
    """Samples by which melt trails the mix between ``t0`` and ``t1`` seconds,
    and their correlation once shifted by it."""
    a, b = mix[int(t0 * SR):int(t1 * SR), 0], melt[int(t0 * SR):int(t1 * SR), 0]
    c = np.fft.irfft(np.fft.rfft(b, 2 * len(a)) * np.conj(np.fft.rfft(a, 2 * len(a))))
    lag = int(np.argmax(c))
    lag = lag - 2 * len(a) if lag > len(a) else lag
    n = len(a) - abs(lag)
    a, b = (a[:n], b[lag:lag + n]) if lag >= 0 else (a[-lag:], b[:n])
    return lag, float(np.corrcoef(a, b)[0, 1])


def _onset_errors(sfx_stem: np.ndarray, melt_sfx: np.ndarray, clips: list[dict]) -> list[float]:
    return [_onset(melt_sfx, c["start"], c["end"]) - _onset(sfx_stem, c["start"], c["end"])
            for c in clips if c["role"] == "sfx"]


@needs_melt
def test_melt_plays_the_timeline_like_the_mix(tmp_path):
    d = make_delivery(tmp_path)  # with autofoley's mix and stems
    tl = otio.adapters.read_from_file(str(d.otio_path))  # the written timeline, as a user has it
    write_mlt(tl, tmp_path / "film.mlt")
    write_mlt(_sfx_only(tl), tmp_path / "sfx.mlt", picture=False)
    render_audio(tmp_path / "film.mlt", tmp_path / "melt.wav", timeout=60)
    render_audio(tmp_path / "sfx.mlt", tmp_path / "melt_sfx.wav", timeout=60)

    mix, _ = sf.read(tmp_path / "mix.wav")
    melt, sr = sf.read(tmp_path / "melt.wav")
    assert sr == SR and abs(len(melt) - len(mix)) <= SR // 25  # the film's length, to a frame
    wave, env, gain = _compare(mix, melt)
    lag, shifted = _lag(mix, melt, 5.0, 7.9)  # the city bed alone: noise from a 44.1 kHz file
    print(f"\nsynthetic: waveform r={wave:.4f}, envelope r={env:.4f}, melt/mix gain {gain:.3f}; "
          f"44.1 kHz bed: melt lags {lag} samples, r={shifted:.4f} once aligned")
    assert env > 0.95 and 0.9 < gain / wave < 1.1  # same shape, same level (mix gain applied)
    # melt's resampler delays a 44.1 kHz file by a few samples (under 1 ms): a
    # noise bed decorrelates sample by sample, so the whole waveform's r is
    # lower than the envelope's; aligned by that lag the bed matches.
    assert 0 <= lag <= SR // 1000 and shifted > 0.95
    assert wave > 0.8

    sfx, _ = sf.read(tmp_path / "sfx.wav")
    melt_sfx, _ = sf.read(tmp_path / "melt_sfx.wav")
    errors = _onset_errors(sfx, melt_sfx, read_placements(d.otio_path))
    print("onset errors (ms):", [round(e * 1000, 2) for e in errors])
    assert len(errors) == len(d.sfx)
    assert max(abs(e) for e in errors) <= 1 / 25  # within one video frame
    # The SFX-only render is silent where the mix has only ambience.
    assert np.abs(melt_sfx[int(7.5 * SR):]).max() < 1e-3


def test_mlt_project_structure(tmp_path):
    """Runs without melt: one mix transition per audio track (MLT sums
    nothing without them), the picture's own sound muted, levels and fades
    as volume keyframes."""
    d = make_delivery(tmp_path)
    tl = otio.adapters.read_from_file(str(d.otio_path))
    root = ET.fromstring(timeline_to_mlt(tl))
    tractor = root.find("tractor")
    tracks = tractor.findall("track")
    audio = [i for i, t in enumerate(tracks) if t.get("hide") == "video"]
    mixes = [t for t in tractor.findall("transition") if t.get("mlt_service") == "mix"]
    assert len(audio) == len(tl.audio_tracks())
    assert sorted(int(m.get("b_track")) for m in mixes) == audio
    assert all(m.get("a_track") == "0" and m.get("sum") == "1" for m in mixes)
    assert tracks[1].get("hide") == "audio"  # the picture
    assert int(tractor.get("out")) == round(SECONDS * 25) - 1
    levels = [f.find("property[@name='level']").text for f in root.iter("filter")]
    # Ambience beds at -12 dB, with a linear fade in keyframes; the second door at -3 dB.
    assert any(re.search(r"=-12\.000(;|$)", l) for l in levels)
    assert any(re.search(r"=0\.010(;|$)", l) for l in levels)  # the door: -3 dB, +3.01 dB for mono
    master = tractor.find("filter/property[@name='level']")
    assert float(master.text) == pytest.approx(tl.metadata["autofoley"]["mix_gain_db"], abs=1e-3)
    muted = ET.fromstring(timeline_to_mlt(_sfx_only(tl))).find("tractor").findall("track")
    assert sum(t.get("hide") == "both" for t in muted) == 2  # AMB 1, AMB 2


@needs_melt
def test_the_scored_demo_film_plays_in_melt(tmp_path, capsys):
    """The real pipeline's own output: the demo film scored with --export mlt."""
    out = tmp_path / "out"
    code = main(["score", str(REPO / "examples/demo/films/forest_city_beach.mp4"),
                 "--library", str(REPO / "examples/demo/library"), "--clip-model",
                 "autofoley-demo", "--out", str(out), "--export", "mlt", "--stems", "--quiet",
                 "--no-report"])
    assert code == 0
    capsys.readouterr()
    render_audio(out / "forest_city_beach.mlt", tmp_path / "melt.wav", timeout=60)
    mix, _ = sf.read(out / "forest_city_beach.mix.wav")
    melt, _ = sf.read(tmp_path / "melt.wav")
    wave, env, gain = _compare(mix, melt)

    tl = otio.adapters.read_from_file(str(out / "forest_city_beach.otio"))
    write_mlt(_sfx_only(tl), tmp_path / "sfx.mlt", picture=False)
    render_audio(tmp_path / "sfx.mlt", tmp_path / "melt_sfx.wav", timeout=60)
    sfx, _ = sf.read(out / "forest_city_beach.stems" / "sfx.wav")
    melt_sfx, _ = sf.read(tmp_path / "melt_sfx.wav")
    errors = _onset_errors(sfx, melt_sfx, read_placements(out / "forest_city_beach.otio"))
    print(f"\ndemo film: waveform r={wave:.4f}, envelope r={env:.4f}, gain {gain:.3f}, "
          f"onset errors (ms) {[round(e * 1000, 2) for e in errors]}")  # shown with -s
    assert wave > 0.9 and env > 0.9
    assert errors and max(abs(e) for e in errors) <= 1 / 25


def test_an_unreadable_render_is_tried_again(tmp_path, monkeypatch):
    import subprocess

    import autofoley.output.mlt as mlt
    from autofoley.errors import ToolError

    calls = []

    def fake_run(args, **kwargs):
        out = Path(args[args.index("-consumer") + 1].split(":", 1)[1])
        calls.append(out)
        if len(calls) == 1 or "always-bad" in out.name:
            out.write_bytes(b"RIFF\x00\x00")  # what a broken render looks like
        else:
            sf.write(out, np.zeros((4800, 2)), 48000, subtype="PCM_16")
        return subprocess.CompletedProcess(args, 0, b"", b"")

    monkeypatch.setattr(mlt, "melt_path", lambda: "melt")
    monkeypatch.setattr(mlt.subprocess, "run", fake_run)
    assert render_audio(tmp_path / "p.mlt", tmp_path / "ok.wav") == tmp_path / "ok.wav"
    assert len(calls) == 2 and sf.info(str(tmp_path / "ok.wav")).frames == 4800
    with pytest.raises(ToolError, match="unreadable WAV"):
        render_audio(tmp_path / "p.mlt", tmp_path / "always-bad.wav")
    assert len(calls) == 5  # 2 above, then 3 tries


def test_a_hung_render_is_killed_and_tried_again(tmp_path, monkeypatch):
    """melt hung now and then on a loaded machine: a real process that sleeps
    past the timeout on its first run is killed, and the second run's WAV is
    returned; one that always hangs ends in a ToolError, never a hang."""
    import autofoley.output.mlt as mlt
    from autofoley.errors import ToolError

    marker = tmp_path / "ran-once"
    fake = tmp_path / "melt"
    # Standard library only: it starts in milliseconds even on a busy machine.
    fake.write_text(f"""#!{sys.executable} -S
import pathlib, sys, time, wave
out = pathlib.Path(sys.argv[sys.argv.index("-consumer") + 1].split(":", 1)[1])
marker = pathlib.Path({str(marker)!r})
if not marker.exists() or "always" in out.name:
    marker.touch()
    time.sleep(600)
with wave.open(str(out), "wb") as w:
    w.setnchannels(2); w.setsampwidth(2); w.setframerate(48000)
    w.writeframes(bytes(4 * 4800))
""")
    fake.chmod(0o755)
    monkeypatch.setattr(mlt, "melt_path", lambda: str(fake))
    # Generous for a Python start on a busy machine, far below the sleep.
    wav = render_audio(tmp_path / "p.mlt", tmp_path / "ok.wav", timeout=20)
    assert sf.info(str(wav)).frames == 4800
    with pytest.raises(ToolError, match="ran past"):
        render_audio(tmp_path / "p.mlt", tmp_path / "always.wav", timeout=1, attempts=2)
