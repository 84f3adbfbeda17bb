"""Continuous or one-shot, from the envelope (tags only when it cannot tell),
and what placement does with each: loop to cover the action, or play once."""

from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf

from autofoley.placement.beds import sfx_placements
from autofoley.placement.sustain import CONTINUOUS, ONE_SHOT, from_words, sustain_of
from autofoley.placement.sync import Event
from autofoley.records import SoundEntry

SR = 16000


def _sound(path: Path, audio: np.ndarray, description: str = "") -> SoundEntry:
    sf.write(path, audio.astype(np.float32), SR)
    return SoundEntry(path, description, "TEST", "sfx", len(audio) / SR, SR, 1)


def test_envelope_decides(tmp_path):
    rng = np.random.default_rng(0)
    t = np.arange(2 * SR) / SR
    hum = _sound(tmp_path / "a.wav", 0.3 * np.sin(2 * np.pi * 120 * t))
    hit = _sound(tmp_path / "b.wav", 0.8 * rng.standard_normal(2 * SR) * np.exp(-t / 0.05))
    # The words say the opposite: the envelope wins when it can tell.
    hum_named_hit = _sound(tmp_path / "c.wav", 0.3 * np.sin(2 * np.pi * 120 * t), "metal hit")
    assert sustain_of(hum) == CONTINUOUS
    assert sustain_of(hit) == ONE_SHOT
    assert sustain_of(hum_named_hit) == CONTINUOUS


def test_words_decide_when_the_envelope_cannot(tmp_path):
    missing = SoundEntry(tmp_path / "gone.wav", "fridge hum, steady drone", "TEST", "sfx", 3.0,
                         SR, 1)
    assert sustain_of(missing) == CONTINUOUS
    assert from_words("door knock single") == ONE_SHOT
    assert from_words("hiss then hit") is None  # says both: no answer
    assert from_words("footsteps gravel") is None


def _events_to_placements(sound: SoundEntry, seconds: float):
    series = np.ones((int(seconds * 10), 1))
    return sfx_placements([Event(0, 0, int(seconds * 10), 0.9)], [sound], series, 0, 0, 0.1,
                          Fraction(25))


def test_continuous_sound_loops_over_its_action(tmp_path):
    t = np.arange(SR) / SR  # 1 s of hum under a 4.4 s action
    hum = _sound(tmp_path / "hum.wav", 0.3 * np.sin(2 * np.pi * 120 * t))
    clips = _events_to_placements(hum, 4.4)
    assert len(clips) >= 5 and {c.playback for c in clips} == {"loop"}
    assert {c.sustain for c in clips} == {CONTINUOUS}
    assert {c.to_json()["sustain"] for c in clips} == {CONTINUOUS}
    assert [c.loop_index for c in clips] == list(range(len(clips)))
    assert clips[0].start == 0.0 and abs(clips[-1].end - 4.4) < 1e-9
    assert all(b.start < a.end for a, b in zip(clips, clips[1:]))  # crossfaded, no hole
    assert all(abs(c.synced_end - 4.4) < 1e-9 for c in clips)


def test_one_shot_plays_once_at_the_onset(tmp_path):
    rng = np.random.default_rng(1)
    t = np.arange(SR) / SR
    hit = _sound(tmp_path / "hit.wav", 0.8 * rng.standard_normal(SR) * np.exp(-t / 0.05))
    clips = _events_to_placements(hit, 4.4)
    assert len(clips) == 1 and clips[0].playback == "once"
    assert clips[0].sustain == ONE_SHOT and clips[0].to_json()["sustain"] == ONE_SHOT
    assert clips[0].start == 0.0 and abs(clips[0].end - 1.0) < 1e-9
    assert abs(clips[0].synced_end - 4.4) < 1e-9


def test_a_continuous_sound_long_enough_plays_once_and_says_it_is_continuous(tmp_path):
    t = np.arange(5 * SR) / SR
    hum = _sound(tmp_path / "hum.wav", 0.3 * np.sin(2 * np.pi * 120 * t))
    clips = _events_to_placements(hum, 3.0)
    assert len(clips) == 1 and clips[0].playback == "once" and clips[0].sustain == CONTINUOUS


def test_beds_are_continuous_and_their_loops_say_so(tmp_path):
    from autofoley.placement.beds import ambience_placements
    from autofoley.records import Scene

    t = np.arange(2 * SR) / SR
    bed = _sound(tmp_path / "bed.wav", 0.1 * np.sin(2 * np.pi * 200 * t))
    clips = ambience_placements(Scene(0, 0.0, 7.0), bed, 0.3, Fraction(25))
    assert len(clips) >= 4 and {c.sustain for c in clips} == {CONTINUOUS}
    assert {c.playback for c in clips} == {"loop"}
    assert [c.loop_index for c in clips] == list(range(len(clips)))
    short = ambience_placements(Scene(0, 0.0, 1.5), bed, 0.3, Fraction(25))
    assert len(short) == 1 and short[0].playback == "once" and short[0].sustain == CONTINUOUS
