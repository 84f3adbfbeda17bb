"""The WAV mixdown: length, format, timing, levels, blocks, stems, bad sounds."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import autofoley.output.mixdown as mixdown
from autofoley.output.mixdown import render_mix
from autofoley.records import Placement, SoundEntry

SR = 48000
LSB = 2.0 ** -23  # one step of 24-bit PCM, full scale = 1.0


def _entry(path: Path, kind: str = "sfx", offset: float = 0.0) -> SoundEntry:
    info = sf.info(str(path))
    return SoundEntry(path=path, description=path.stem, category="TEST", kind=kind,
                      duration=info.duration - offset, sample_rate=info.samplerate,
                      channels=info.channels, offset=offset, file_duration=info.duration)


def _place(sound: SoundEntry, start: float, seconds: float, role: str = "sfx", **kw) -> Placement:
    return Placement(sound=sound, start=start, end=start + seconds, source_in=kw.pop("source_in", 0.0),
                     score=0.5, scene=0, role=role, **kw)


@pytest.fixture(scope="module")
def sounds(tmp_path_factory):
    root = tmp_path_factory.mktemp("sounds")
    rng = np.random.default_rng(7)
    out = {}
    # 0.2 s of silence, then a 60 ms noise burst with a hard onset: the entry
    # starting at 0.2 s must sound exactly at its placement's start.
    lead = np.zeros(int(0.2 * SR), dtype=np.float32)
    burst = (0.5 * rng.uniform(-1, 1, int(0.06 * SR))).astype(np.float32)
    sf.write(root / "burst_lead.wav", np.concatenate([lead, burst]), SR)
    # A stereo 44.1 kHz burst: resampled on the way into the 48 kHz mix.
    b441 = (0.5 * rng.uniform(-1, 1, (int(0.06 * 44100), 2))).astype(np.float32)
    sf.write(root / "burst_441.wav", b441, 44100)
    # Steady noise for level checks (RMS over windows, no fades in the way).
    sf.write(root / "noise.wav", (0.05 * rng.standard_normal(SR)).astype(np.float32), SR,
             subtype="FLOAT")
    # A loud sine: three of them together clip before normalisation.
    t = np.arange(SR) / SR
    sf.write(root / "loud.wav", (0.9 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), SR,
             subtype="FLOAT")
    # A constant level shows the fade envelope itself.
    sf.write(root / "flat.wav", np.full(SR, 0.5, dtype=np.float32), SR, subtype="FLOAT")
    (root / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot audio at all" * 10)
    for path in root.iterdir():
        if path.name != "broken.wav":
            out[path.stem] = _entry(path)
    out["burst_entry"] = _entry(root / "burst_lead.wav", offset=0.2)
    out["broken"] = SoundEntry(path=root / "broken.wav", description="broken", category="TEST",
                               kind="sfx", duration=1.0, sample_rate=SR, channels=1)
    out["missing"] = dataclasses.replace(out["broken"], path=root / "not there.wav")
    return out


def _read(path: Path) -> np.ndarray:
    data, sr = sf.read(str(path), dtype="float64", always_2d=True)
    assert sr == SR
    return data


def _onset(mono: np.ndarray, near: float, window: float = 0.05) -> float:
    """Seconds of the first sample near ``near`` louder than a tenth of the local peak."""
    a, b = int((near - window) * SR), int((near + window) * SR)
    seg = np.abs(mono[a:b])
    return (a + int(np.argmax(seg > 0.1 * seg.max()))) / SR


def _rms_db(x: np.ndarray) -> float:
    return 10 * np.log10(np.mean(x ** 2))


def test_length_format_and_onsets(sounds, tmp_path):
    duration = 4.004  # 120 frames at 29.97 fps: 192192 samples
    starts = [0.5, 1.2345, 2.0, 3.1]
    placements = [
        _place(sounds["burst_entry"], starts[0], 0.06),  # entry offset 0.2 s into the file
        _place(sounds["burst_lead"], starts[1], 0.06, source_in=0.2),  # same audio via source_in
        _place(sounds["burst_441"], starts[2], 0.06),  # resampled 44.1 -> 48 kHz
        _place(sounds["burst_entry"], starts[3], 0.06, fade_in=0.001, fade_out=0.01),
    ]
    out = tmp_path / "mix.wav"
    report = render_mix(placements, duration, out)
    info = sf.info(str(out))
    assert (info.samplerate, info.channels, info.subtype, info.format) == (SR, 2, "PCM_24", "WAV")
    assert info.frames == report.samples == round(duration * SR) == 192192
    assert report.skipped == [] and report.gain_db_applied == 0.0
    mono = _read(out).mean(axis=1)
    # The default 10 ms linear fade-in reaches a tenth of the level after about
    # 1 ms (later on a quiet first sample); a 1 ms fade-in after 0.1 ms.
    for start, late in zip(starts, [0.003, 0.003, 0.003, 0.0005]):
        assert 0 <= _onset(mono, start) - start < late
    # Silence everywhere else.
    assert np.abs(mono[: int(0.45 * SR)]).max() == 0.0
    assert [p.name for p in tmp_path.iterdir()] == ["mix.wav"]


def test_ambience_is_quieter_by_the_role_gain(sounds, tmp_path):
    noise = sounds["noise"]
    placements = [_place(noise, 0.5, 1.0, fade_in=0.01, fade_out=0.01),
                  _place(dataclasses.replace(noise, kind="ambience"), 2.0, 1.0, role="ambience",
                         fade_in=0.01, fade_out=0.01)]
    report = render_mix(placements, 3.5, tmp_path / "mix.wav", ambience_gain_db=-12.0,
                        sfx_gain_db=-2.0)
    mix = _read(tmp_path / "mix.wav")
    sfx_db = _rms_db(mix[int(0.6 * SR): int(1.4 * SR)])
    amb_db = _rms_db(mix[int(2.1 * SR): int(2.9 * SR)])
    assert report.gain_db_applied == 0.0
    assert amb_db - sfx_db == pytest.approx(-10.0, abs=0.05)  # same noise, same samples


def test_placement_gain_and_never_boost(sounds, tmp_path):
    noise = sounds["noise"]
    report = render_mix([_place(noise, 0.0, 1.0, gain_db=-6.0, fade_in=0.01, fade_out=0.01)],
                        1.0, tmp_path / "mix.wav", peak_dbfs=-1.0)
    mix = _read(tmp_path / "mix.wav")
    source, _ = sf.read(str(noise.path), dtype="float64")
    assert report.gain_db_applied == 0.0  # a quiet mix is left quiet
    assert _rms_db(mix[SR // 10: SR * 9 // 10, 0]) - _rms_db(source[SR // 10: SR * 9 // 10]) \
        == pytest.approx(-6.0, abs=0.01)


@pytest.mark.parametrize("fade_in, fade_out", [(0.1, 0.2), (0.0, 0.0), (0.3, 0.3), (0.0, 0.05)])
def test_fades_are_linear_ramps(sounds, tmp_path, fade_in, fade_out):
    length = 0.4
    p = _place(sounds["flat"], 0.5, length, fade_in=fade_in, fade_out=fade_out)
    # Blocks of 37 ms cut the ramps in many places.
    render_mix([p], 1.5, tmp_path / "mix.wav", block_seconds=0.037)
    got = _read(tmp_path / "mix.wav")[int(0.5 * SR): int(0.9 * SR), 0]
    n = int(length * SR)
    i = np.arange(n)
    if fade_in == fade_out == 0:
        fade_in = fade_out = 0.010  # the default against clicks
    env = np.ones(n)
    if fade_in:
        env = np.minimum(env, i / min(int(fade_in * SR), n))
    if fade_out:
        env = np.minimum(env, (n - 1 - i) / min(int(fade_out * SR), n))
    assert np.abs(got - 0.5 * env).max() < 2 * LSB


def test_peak_is_normalised_down_to_the_ceiling(sounds, tmp_path):
    loud = sounds["loud"]
    placements = [_place(loud, 0.2, 1.0, track=i) for i in range(3)]
    report = render_mix(placements, 1.5, tmp_path / "mix.wav", peak_dbfs=-1.0)
    mix = _read(tmp_path / "mix.wav")
    peak = np.abs(mix).max()
    assert report.peak_dbfs_before == pytest.approx(20 * np.log10(2.7), abs=0.01)
    assert report.gain_db_applied == pytest.approx(-1.0 - report.peak_dbfs_before, abs=1e-6)
    assert peak <= 10 ** (-1 / 20) + LSB
    assert peak > 10 ** (-1 / 20) - 0.001  # turned down to the ceiling, not below it
    assert np.abs(mix).max() < 1.0


def test_blocks_give_the_same_mix_as_one_block(sounds, tmp_path):
    placements = [
        _place(sounds["loud"], 0.1, 1.0, fade_in=0.3, fade_out=0.2),
        _place(sounds["loud"], 0.5, 0.9, track=1, gain_db=-3.0),
        _place(sounds["noise"], 0.0, 2.3, role="ambience", fade_in=0.5, fade_out=0.5),
        _place(sounds["burst_441"], 1.7, 0.06),
    ]
    small = render_mix(placements, 2.5, tmp_path / "small.wav", block_seconds=0.37,
                       stems_dir=tmp_path / "small")
    big = render_mix(placements, 2.5, tmp_path / "big.wav", block_seconds=1000,
                     stems_dir=tmp_path / "big")
    assert small.gain_db_applied == big.gain_db_applied < 0
    for a, b in [("small.wav", "big.wav"), ("small/sfx.wav", "big/sfx.wav"),
                 ("small/ambience.wav", "big/ambience.wav")]:
        da, _ = sf.read(str(tmp_path / a), dtype="int32")
        db, _ = sf.read(str(tmp_path / b), dtype="int32")
        assert np.array_equal(da, db)


def test_stems_sum_to_the_mix(sounds, tmp_path):
    placements = [_place(sounds["loud"], 0.0, 1.0), _place(sounds["loud"], 0.3, 1.0, track=1),
                  _place(sounds["noise"], 0.0, 1.5, role="ambience", gain_db=12.0)]
    report = render_mix(placements, 1.5, tmp_path / "mix.wav", stems_dir=tmp_path / "stems")
    assert report.stems == [tmp_path / "stems" / "sfx.wav", tmp_path / "stems" / "ambience.wav"]
    mix = _read(tmp_path / "mix.wav")
    sfx, amb = (_read(p) for p in report.stems)
    assert report.gain_db_applied < 0
    assert np.abs(sfx).max() > 0.1 and np.abs(amb).max() > 0.01
    # Each file is rounded to 24 bits on its own: at most a step or two apart.
    assert np.abs(sfx + amb - mix).max() <= 2 * LSB
    assert max(np.abs(sfx).max(), np.abs(amb).max()) <= 10 ** (-1 / 20) + LSB
    assert sorted(p.name for p in (tmp_path / "stems").iterdir()) == ["ambience.wav", "sfx.wav"]


def test_undecodable_sounds_are_skipped_not_fatal(sounds, tmp_path):
    placements = [_place(sounds["broken"], 0.1, 0.5), _place(sounds["missing"], 0.2, 0.5),
                  _place(sounds["burst_entry"], 1.0, 0.06)]
    report = render_mix(placements, 2.0, tmp_path / "mix.wav", block_seconds=0.25)
    skipped = dict(report.skipped)
    assert set(skipped) == {str(sounds["broken"].path), str(sounds["missing"].path)}
    assert all(reason for reason in skipped.values())
    mono = _read(tmp_path / "mix.wav").mean(axis=1)
    assert 0 <= _onset(mono, 1.0) - 1.0 < 0.003
    assert np.abs(mono[: int(0.9 * SR)]).max() == 0.0


def test_each_sound_is_decoded_once_per_render(sounds, tmp_path, monkeypatch):
    calls = []
    real = mixdown.load_audio

    def counting(path, sr, offset, duration):
        calls.append((str(path), offset, duration))
        return real(path, sr, offset, duration)

    monkeypatch.setattr(mixdown, "load_audio", counting)
    noise = sounds["noise"]
    placements = [_place(noise, t, 0.5) for t in (0.0, 0.7, 1.4, 2.1)]  # one key, 4 times
    placements.append(_place(sounds["broken"], 0.3, 0.5))
    ticks = []
    render_mix(placements, 3.0, tmp_path / "mix.wav", block_seconds=0.2,
               progress=lambda done, total: ticks.append((done, total)))
    assert sorted(set(calls)) == sorted(calls) and len(calls) == 2
    assert ticks[-1] == (30, 30) and len(ticks) == 30  # 15 blocks, two passes


def test_unknown_role_is_a_caller_bug(sounds, tmp_path):
    bad = dataclasses.replace(_place(sounds["noise"], 0.0, 0.5), role="dialogue")
    with pytest.raises(ValueError, match="dialogue"):
        render_mix([bad], 1.0, tmp_path / "mix.wav")
    assert list(tmp_path.iterdir()) == []


def test_a_failure_while_writing_leaves_nothing_behind(sounds, tmp_path):
    def stop_in_pass_two(done, total):
        if done == total // 2 + 2:  # two blocks of the mix and stems already written
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        render_mix([_place(sounds["noise"], 0.0, 1.0)], 2.0, tmp_path / "mix.wav",
                   stems_dir=tmp_path / "stems", block_seconds=0.25, progress=stop_in_pass_two)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_pan_moves_a_sound_from_left_to_right_at_constant_power(tmp_path):
    """A thing crossing the frame left to right: the channel balance of its
    sound in the mix goes from left to right, and its power stays put."""
    rng = np.random.default_rng(3)
    noise = tmp_path / "steady.wav"
    sf.write(noise, (0.1 * rng.standard_normal(4 * SR)).astype(np.float32), SR, subtype="FLOAT")
    p = _place(_entry(noise), 0.0, 4.0, pan=((0.0, -1.0), (4.0, 1.0)))
    render_mix([p], 4.0, tmp_path / "mix.wav", peak_dbfs=0.0)
    mix, _ = sf.read(tmp_path / "mix.wav", dtype="float32")
    windows = [mix[int(a * SR): int((a + 0.5) * SR)] for a in np.arange(0.0, 4.0, 0.5)]
    balance = [float(np.sqrt((w[:, 1] ** 2).mean()) - np.sqrt((w[:, 0] ** 2).mean())) /
               float(np.sqrt((w ** 2).sum(axis=1).mean())) for w in windows]
    assert balance[0] < -0.7 and balance[-1] > 0.7
    assert all(b > a for a, b in zip(balance, balance[1:]))  # left to right, every half second
    power = [float((w ** 2).sum(axis=1).mean()) for w in windows]
    assert max(power) / min(power) < 1.25


def test_no_pan_keeps_both_channels_equal(tmp_path):
    rng = np.random.default_rng(4)
    noise = tmp_path / "steady.wav"
    sf.write(noise, (0.1 * rng.standard_normal(SR)).astype(np.float32), SR, subtype="FLOAT")
    render_mix([_place(_entry(noise), 0.0, 1.0)], 1.0, tmp_path / "mix.wav", peak_dbfs=0.0)
    mix, _ = sf.read(tmp_path / "mix.wav", dtype="float32")
    assert np.allclose(mix[:, 0], mix[:, 1], atol=LSB * 2)
