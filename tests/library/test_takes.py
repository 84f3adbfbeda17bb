"""Silence splitting: takes of a multi-take file become entries of their own."""

from pathlib import Path

import numpy as np
import pytest

from autofoley.errors import InputError
from autofoley.library.takes import SplitParams, split_by_silence, split_entries
from autofoley.records import SoundEntry

SR = 8000
BURSTS = [(0.5, 1.0), (2.0, 2.3), (3.5, 4.2)]  # seconds


def three_bursts(sr: int = SR, length: float = 5.0) -> np.ndarray:
    rng = np.random.default_rng(7)
    x = np.zeros(int(length * sr), np.float32)
    for a, b in BURSTS:
        n = int(b * sr) - int(a * sr)
        x[int(a * sr):int(b * sr)] = 0.5 * rng.standard_normal(n)
    # A quiet room under it all, well below the threshold.
    return x + 1e-4 * rng.standard_normal(len(x)).astype(np.float32)


def test_three_bursts_give_three_takes():
    p = SplitParams()
    segs = split_by_silence(three_bursts(), SR, p)
    assert len(segs) == 3
    for (t0, t1), (a, b) in zip(segs, BURSTS):
        assert t0 == pytest.approx(a - p.padding, abs=0.02)
        assert t1 == pytest.approx(b + p.padding, abs=0.02)


def test_silent_and_continuous_files():
    assert split_by_silence(np.zeros(SR, np.float32), SR) == []
    assert split_by_silence(np.zeros(0, np.float32), SR) == []
    tone = np.sin(np.arange(2 * SR) / SR * 2 * np.pi * 440).astype(np.float32)
    assert split_by_silence(tone, SR) == [(0.0, 2.0)]
    # A short pause does not cut; a lead-in, however short, is trimmed so the
    # take starts at its onset (what placement syncs to the picture).
    x = tone.copy()
    x[:int(0.2 * SR)] = 0
    x[SR:int(1.3 * SR)] = 0
    pad = SplitParams().padding
    assert split_by_silence(x, SR) == [pytest.approx((0.2 - pad, 2.0), abs=0.011)]


def test_clicks_alone_stay_one_take():
    x = np.zeros(3 * SR, np.float32)
    for t in (0.5, 1.2, 1.9, 2.6):
        x[int(t * SR):int(t * SR) + 80] = 0.8  # 10 ms ticks, 0.7 s apart
    segs = split_by_silence(x, SR)
    assert len(segs) == 1
    pad = SplitParams().padding
    assert segs[0][0] == pytest.approx(0.5 - pad, abs=0.011)
    assert segs[0][1] == pytest.approx(2.61 + pad, abs=0.011)  # from the first tick to the last


def test_short_take_among_long_ones_is_dropped():
    x = three_bursts()
    x[int(1.6 * SR):int(1.6 * SR) + 40] = 0.9  # a 5 ms click between takes
    assert len(split_by_silence(x, SR)) == 3


def _entry(name: str, kind: str = "sfx", duration: float = 5.0) -> SoundEntry:
    return SoundEntry(path=Path("/lib") / name, description=name, category="TEST", kind=kind,
                      duration=duration, sample_rate=48000, channels=2, file_duration=duration)


def test_split_entries():
    def load(path, sr, offset=0.0, duration=None):
        assert sr == SplitParams().rate
        if path.name == "broken.wav":
            raise InputError("audio could not be decoded", path, "re-export it")
        if path.name == "highpitch.wav":  # all of it above the 8 kHz decode's band
            return np.zeros((2, 5 * sr), np.float32)
        return np.stack([three_bursts(sr)] * 2)  # stereo: split on the mean

    entries = [_entry("takes.wav"), _entry("bed.wav", "ambience"), _entry("broken.wav"),
               _entry("highpitch.wav"), _entry("long.wav", duration=3600.0)]
    skipped = []
    out = split_entries(entries, SplitParams(), load=load, skipped=skipped)
    takes = [e for e in out if e.path.name == "takes.wav"]
    pad = SplitParams().padding
    assert [e.offset for e in takes] == pytest.approx([0.5 - pad, 2.0 - pad, 3.5 - pad], abs=0.02)
    assert all(e.file_duration == 5.0 and 0 < e.duration < 1 for e in takes)
    assert len({e.key for e in takes}) == 3
    # A file the scan let through is never dropped here: reading as silence
    # at the splitting rate, it stays whole.
    assert [(e.path.name, e.offset, e.duration) for e in out if e.path.name != "takes.wav"] == [
        ("bed.wav", 0.0, 5.0), ("highpitch.wav", 0.0, 5.0), ("long.wav", 0.0, 3600.0)]
    reasons = dict((p.name, r) for p, r in skipped)
    assert set(reasons) == {"broken.wav"} and "could not be decoded" in reasons["broken.wav"]


def test_params_identity_changes_with_settings():
    assert SplitParams().identity() == SplitParams().identity()
    assert SplitParams().identity() != SplitParams(threshold_db=-40).identity()


# ---------------------------------------------------------------- short one-shots (issue 15)


def _one_shots(root: Path) -> None:
    """Loud, short one-shots as real libraries hold them, and two files with
    nothing to place."""
    import soundfile as sf

    def write(name, x, sr, subtype="PCM_16"):
        sf.write(str(root / name), x.astype(np.float32), sr, subtype=subtype)

    sr = 11025  # a 40 ms click, 11.025 kHz, with a little silence around it
    x = np.zeros(int(0.2 * sr))
    n = int(0.04 * sr)
    x[int(0.05 * sr):int(0.05 * sr) + n] = 0.9 * np.sign(np.sin(np.arange(n) * 0.7))
    write("HandClap.wav", x, sr)
    sr = 44100  # a 60 ms blip, the whole file
    t = np.arange(int(0.06 * sr)) / sr
    write("blip.wav", 0.5 * np.sin(2 * np.pi * 880 * t), sr)
    sr = 44100  # a 0.2 s tabla stroke: a fast-decaying low tone
    t = np.arange(int(0.2 * sr)) / sr
    write("tabla_ke3.flac", np.sin(2 * np.pi * 180 * t) * np.exp(-t / 0.03), sr)
    write("digital_silence.wav", np.zeros(44100), 44100)
    write("dither_only.wav", 1e-5 * np.random.default_rng(0).standard_normal(44100), 44100,
          "FLOAT")


def test_short_one_shots_give_a_take_on_every_path(tmp_path):
    from autofoley.library.scan import scan_library

    _one_shots(tmp_path)
    scan = scan_library(tmp_path, use_cache=False)
    shots = {"HandClap.wav", "blip.wav", "tabla_ke3.flac"}
    # Text ranking keeps whole files: the scan's entries are what it ranks.
    assert {e.path.name for e in scan.entries} == shots
    reasons = {p.name: r for p, r in scan.skipped}
    assert reasons["digital_silence.wav"].startswith("silent")
    assert reasons["dither_only.wav"].startswith("too quiet")
    # Audio ranking splits into takes: every one-shot gives one, at its onset.
    skipped = []
    takes = split_entries(scan.entries, SplitParams(), skipped=skipped)
    assert not skipped
    by_name = {e.path.name: e for e in takes}
    assert set(by_name) == shots and len(takes) == 3
    assert by_name["HandClap.wav"].offset == pytest.approx(0.05 - SplitParams().padding, abs=0.015)
    # The click plus padding, and the resampler's ringing at the 8 kHz decode.
    assert 0.04 <= by_name["HandClap.wav"].duration <= 0.1
    assert 0.05 <= by_name["blip.wav"].duration <= 0.07
    assert by_name["tabla_ke3.flac"].offset == 0.0


def test_a_lone_click_is_one_take():
    x = np.zeros(SR)
    x[1000:1300] = 0.8  # 300 samples: far below min_segment
    segs = split_by_silence(x, SR)
    assert len(segs) == 1 and segs[0][1] - segs[0][0] < SplitParams().min_segment


def test_split_cache_key_changed_for_the_one_shot_rule():
    import json

    assert json.loads(SplitParams().identity())["version"] >= 5
