"""The demo world's sounds, synthesised with numpy/scipy, and the SFX library made of them.

Each sound class has its own recipe, built from what makes the real sound
recognisable: a bark is a short harmonic burst whose pitch jumps up and falls,
an engine a stack of firing-rate harmonics, a bell a set of inharmonic
partials ringing out, a clock a train of filtered clicks, a fire a low roar
with random pops. Every recipe takes a ``numpy.random.Generator`` and a
sample rate, so the same seed gives the same samples.

``write_library(root, seed)`` writes them the way a commercial library ships:
UCS file names in category folders, a mix of WAV (16/24-bit, 32-bit float,
with a BWF description), FLAC and Ogg Vorbis, mono and stereo, 44.1 and
48 kHz, a few files holding several takes separated by silence, and a
``library.csv`` sidecar whose tags describe the sound and its source. It
returns the ground truth: which sound class (or ambience place, or
distractor) each file holds.
"""

from __future__ import annotations

import csv
import io
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import soundfile as sf
from scipy.signal import butter, sosfilt

Synth = Callable[[np.random.Generator, int], np.ndarray]

CREATOR_ID = "DW"
SOURCE_ID = "DemoWorld"

# --------------------------------------------------------------------------- building blocks


def _t(sr: int, dur: float) -> np.ndarray:
    return np.arange(int(round(sr * dur))) / sr


def _filt(x: np.ndarray, sr: int, kind: str, freq, order: int = 2) -> np.ndarray:
    """Butterworth filter; ``freq`` in Hz (a pair for "bandpass")."""
    nyq = sr / 2
    wn = [f / nyq for f in freq] if isinstance(freq, (tuple, list)) else freq / nyq
    return sosfilt(butter(order, wn, btype=kind, output="sos"), x)


def _decay(t: np.ndarray, start: float, tau: float, attack: float = 0.002) -> np.ndarray:
    """Exponential decay from ``start`` seconds with a short linear attack; 0 before."""
    local = t - start
    rise = np.clip(local / attack, 0.0, 1.0)
    return np.where(local >= 0, rise * np.exp(-np.clip(local, 0, None) / tau), 0.0)


def _sweep(t: np.ndarray, freq: np.ndarray, sr: int) -> np.ndarray:
    """Phase (radians) of a tone whose instantaneous frequency is ``freq`` (Hz)."""
    return 2 * np.pi * np.cumsum(freq) / sr


def _peak(x: np.ndarray, peak: float) -> np.ndarray:
    return x * (peak / max(float(np.max(np.abs(x))), 1e-12))


def _fade(x: np.ndarray, sr: int, fade_in: float = 0.005, fade_out: float = 0.02) -> np.ndarray:
    """Short fades so no file starts or stops with a click."""
    x = x.copy()
    n_in, n_out = min(len(x), int(sr * fade_in)), min(len(x), int(sr * fade_out))
    if n_in:
        x[:n_in] *= np.linspace(0, 1, n_in)
    if n_out:
        x[-n_out:] *= np.linspace(1, 0, n_out)
    return x


def _brown(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Brown noise (integrated white noise, -6 dB/octave) above 20 Hz, unit deviation."""
    x = _filt(np.cumsum(rng.standard_normal(n)), sr, "highpass", 20.0, 2)
    return x / max(float(np.std(x)), 1e-12)


# --------------------------------------------------------------------------- sound classes


def dog_bark(rng: np.random.Generator, sr: int, barks: int = 1, size: str = "medium") -> np.ndarray:
    """Barks: harmonic bursts whose pitch leaps up then falls, through a formant."""
    base = {"small": 820.0, "medium": 560.0, "large": 330.0}[size]
    starts, t0 = [], 0.04
    for _ in range(barks):
        starts.append(t0)
        t0 += rng.uniform(0.32, 0.5)
    t = _t(sr, t0 + 0.3)
    x = np.zeros_like(t)
    for start in starts:
        length = rng.uniform(0.14, 0.24)
        local = np.clip(t - start, 0, None)
        f0 = base * rng.uniform(0.9, 1.1) * (0.62 + 0.55 * np.exp(-local / 0.05) - 0.3 * np.exp(-local / 0.008))
        phase = _sweep(t, f0, sr)
        release = np.exp(-np.clip(local - length * 0.4, 0, None) / (length * 0.3))
        env = (t >= start) * np.clip(local / 0.01, 0, 1) * release
        voice = sum(np.sin(k * phase) / k ** 0.7 for k in range(1, 9))
        x += env * (voice + 0.35 * rng.standard_normal(len(t)))
    x = 0.6 * _filt(x, sr, "bandpass", (base * 1.2, min(base * 5.5, sr / 2 - 100))) + 0.4 * x
    return _fade(_peak(x, 0.8), sr)


def car_engine(rng: np.random.Generator, sr: int, mode: str = "idle", dur: float = 3.0) -> np.ndarray:
    """An engine: firing-rate harmonics with rough amplitude, plus tyre/road noise.

    ``mode``: "idle" (steady), "pass" (swells and drops in pitch as it passes),
    "rev" (revs up and back).
    """
    t = _t(sr, dur)
    fire = rng.uniform(32, 45)
    gain = np.ones_like(t)
    road = 0.15
    if mode == "pass":
        centre, width = dur * rng.uniform(0.45, 0.55), dur * 0.16
        gain = 0.08 + np.exp(-0.5 * ((t - centre) / width) ** 2)
        freq = fire * 1.6 * (1 + 0.07 * np.tanh(-(t - centre) / (width * 0.5)))  # Doppler
        road = 0.5
    elif mode == "rev":
        bump = np.exp(-0.5 * ((t - dur * 0.4) / (dur * 0.15)) ** 2)
        freq = fire * (1 + 1.6 * bump)
        gain = 0.6 + 0.5 * bump
    else:
        freq = fire * (1 + 0.01 * np.sin(2 * np.pi * 0.7 * t))
    phase = _sweep(t, freq, sr)
    offsets = rng.uniform(0, 2 * np.pi, 12)
    x = sum(np.sin(k * phase + offsets[k - 1]) / k for k in range(1, 13))
    x *= 1 + 0.35 * np.sin(phase / 2)  # uneven cylinders: the engine's rumble
    x += road * 1.5 * _filt(rng.standard_normal(len(t)), sr, "bandpass", (150, 1500))
    return _fade(_peak(x * gain, 0.75), sr, 0.05, 0.2)


def bird_song(rng: np.random.Generator, sr: int, dur: float = 2.0, style: str = "chirps") -> np.ndarray:
    """Songbird phrases: fast frequency sweeps between 2.5 and 7 kHz, chirps or trills."""
    x = np.zeros(int(round(sr * dur)))
    start = rng.uniform(0.03, 0.1)
    while start < dur - 0.25:
        if style == "trill" or (style == "mixed" and rng.random() < 0.4):
            notes, length, gap = int(rng.integers(6, 14)), rng.uniform(0.018, 0.03), rng.uniform(0.012, 0.025)
        else:
            notes, length, gap = int(rng.integers(1, 4)), rng.uniform(0.05, 0.12), rng.uniform(0.04, 0.09)
        f_a, f_b = rng.uniform(2500, 4500), rng.uniform(4000, 7000)
        if rng.random() < 0.5:
            f_a, f_b = f_b, f_a
        for _ in range(notes):
            i0 = int(start * sr)
            local = np.arange(min(int(length * sr), len(x) - i0)) / sr
            u = local / length
            freq = (f_a + (f_b - f_a) * u) * (1 + 0.03 * np.sin(2 * np.pi * 60 * local))
            x[i0:i0 + len(local)] += np.sin(np.pi * u) ** 2 * np.sin(_sweep(local, freq, sr))
            start += length + gap
        start += rng.uniform(0.15, 0.45)
    return _fade(_peak(x, 0.7), sr)


def bell_ring(rng: np.random.Generator, sr: int, strikes: int = 1, pitch: float = 900.0,
              dur: float = 2.5) -> np.ndarray:
    """A hand bell: inharmonic partials, high ones dying first; one or several strikes."""
    t = _t(sr, dur)
    ratios = np.array([1.0, 2.03, 2.74, 3.9, 5.2, 6.7])
    amps = np.array([1.0, 0.7, 0.45, 0.35, 0.25, 0.15])
    f0 = pitch * rng.uniform(0.95, 1.05)
    x = np.zeros_like(t)
    start = 0.02
    for _ in range(strikes):
        force = rng.uniform(0.7, 1.0)
        for ratio, amp in zip(ratios, amps):
            f = f0 * ratio * (1 + rng.uniform(-0.003, 0.003))
            if f < sr / 2 - 500:
                x += force * amp * np.sin(2 * np.pi * f * t) * _decay(t, start, 1.4 / ratio ** 0.8)
        x += force * 0.3 * rng.standard_normal(len(t)) * _decay(t, start, 0.003)  # clapper hit
        start += rng.uniform(0.22, 0.35)
    return _fade(_peak(x, 0.7), sr)


def drum_hit(rng: np.random.Generator, sr: int, pattern: str = "single", dur: float = 0.8) -> np.ndarray:
    """A drum: a pitched thump falling in pitch, plus a burst of snare noise.

    ``pattern``: "single", "march" (a rudiment-like rhythm) or "tom" (low hits, no snare).
    """
    t = _t(sr, dur)
    if pattern == "march":
        beat = 0.25
        hits = [(0.03 + beat * i, 1.0 if i % 4 == 0 else 0.7) for i in range(int((dur - 0.4) / beat))]
        hits += [(h + beat / 2, 0.45) for h, _ in hits[1::2]]
    elif pattern == "tom":
        hits = [(0.03, 1.0), (0.45, 0.85), (0.75, 0.9)]
    else:
        hits = [(0.03, 1.0)]
    top, bottom, snare = (150.0, 60.0, 0.0) if pattern == "tom" else (210.0, 110.0, 0.8)
    x = np.zeros_like(t)
    for start, force in hits:
        local = np.clip(t - start, 0, None)
        freq = bottom + (top - bottom) * np.exp(-local / 0.03)
        body = np.sin(_sweep(t, freq * (t >= start), sr)) * _decay(t, start, 0.18 if pattern == "tom" else 0.09)
        wires = _filt(rng.standard_normal(len(t)), sr, "bandpass", (1500, 7000)) * _decay(t, start, 0.07)
        x += force * (body + snare * wires)
    return _fade(_peak(x, 0.85), sr)


def glass_clink(rng: np.random.Generator, sr: int, kind: str = "clink", dur: float = 0.8) -> np.ndarray:
    """Glass: bright inharmonic partials (clink), or a noise burst and falling shards (smash)."""
    t = _t(sr, dur)
    x = np.zeros_like(t)
    if kind == "smash":
        x += 3 * _filt(rng.standard_normal(len(t)), sr, "highpass", 2500) * _decay(t, 0.03, 0.06)
        for start in np.sort(rng.uniform(0.05, dur - 0.2, 18)):  # shards landing
            for f in rng.uniform(3000, min(11000, sr / 2 - 1000), 3):
                x += rng.uniform(0.1, 0.4) * np.sin(2 * np.pi * f * t) * _decay(t, start, rng.uniform(0.01, 0.05))
        return _fade(_peak(x, 0.85), sr)
    count = 2 if kind == "clinks" else 1
    start = 0.02
    for _ in range(count):
        for f in rng.uniform(2200, 7500, 6):
            x += rng.uniform(0.3, 1.0) * np.sin(2 * np.pi * f * t) * _decay(t, start, rng.uniform(0.06, 0.3))
        x += 0.5 * rng.standard_normal(len(t)) * _decay(t, start, 0.001)
        start += rng.uniform(0.25, 0.4)
    return _fade(_peak(x, 0.75), sr)


def door_knock(rng: np.random.Generator, sr: int, kind: str = "knock", dur: float = 1.2) -> np.ndarray:
    """A wooden door: knocks (damped low resonances), a creak (stick-slip pulses) or a slam."""
    t = _t(sr, dur)
    x = np.zeros_like(t)
    if kind == "creak":
        rate = 40 + 90 * (0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.3, 0.6) * t + rng.uniform(0, 6)))
        phase = np.cumsum(rate) / sr
        pulses = np.diff(np.floor(phase), prepend=0.0)  # one click per cycle of a wandering rate
        x = _filt(pulses, sr, "bandpass", (500, 1800), 2) + 0.5 * _filt(pulses, sr, "bandpass", (2200, 3200))
        x *= np.sin(np.pi * np.clip(t / dur, 0, 1)) ** 0.5
        return _fade(_peak(x, 0.7), sr)
    if kind == "slam":
        x += np.sin(2 * np.pi * 70 * t) * _decay(t, 0.03, 0.12)
        x += 1.5 * _filt(rng.standard_normal(len(t)), sr, "bandpass", (200, 4000)) * _decay(t, 0.03, 0.03)
        for start in (0.2, 0.27, 0.33):  # latch rattle
            x += 0.3 * np.sin(2 * np.pi * 1400 * t) * _decay(t, start, 0.015)
        return _fade(_peak(x, 0.85), sr)
    start = 0.04
    knocks = int(rng.integers(2, 5))
    body = rng.uniform(140, 220)
    for _ in range(knocks):
        x += np.sin(2 * np.pi * body * t) * _decay(t, start, 0.035)
        x += 0.5 * np.sin(2 * np.pi * body * 2.8 * t) * _decay(t, start, 0.02)
        x += 0.4 * _filt(rng.standard_normal(len(t)), sr, "bandpass", (600, 3000)) * _decay(t, start, 0.004)
        start += rng.uniform(0.17, 0.26)
    return _fade(_peak(x, 0.85), sr)


def clock_tick(rng: np.random.Generator, sr: int, interval: float = 0.5, dur: float = 3.0) -> np.ndarray:
    """A mechanical clock: short ringing clicks, tick and tock a little apart in pitch."""
    t = _t(sr, dur)
    x = np.zeros_like(t)
    tick, tock = rng.uniform(2800, 3600), rng.uniform(1800, 2400)
    start, i = 0.05, 0
    while start < dur - 0.05:
        f = tick if i % 2 == 0 else tock
        x += np.sin(2 * np.pi * f * t) * _decay(t, start, 0.008, 0.0005)
        x += 0.6 * np.sin(2 * np.pi * f * 1.7 * t) * _decay(t, start + 0.004, 0.005, 0.0005)
        start += interval * rng.uniform(0.99, 1.01)
        i += 1
    return _fade(_peak(x, 0.7), sr)


def fire_crackle(rng: np.random.Generator, sr: int, dur: float = 3.0, roar: float = 0.5) -> np.ndarray:
    """A wood fire: a low breathing roar and random crackles and pops."""
    t = _t(sr, dur)
    n = len(t)
    breath = 1 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.2, 0.5) * t)
    x = roar * 0.25 * _filt(rng.standard_normal(n), sr, "lowpass", 400) * breath
    x += roar * 0.05 * _filt(rng.standard_normal(n), sr, "bandpass", (800, 3000))  # hiss of the flames
    k = np.arange(int(0.012 * sr)) / sr
    for rate, decay, band, level in ((16, 0.0015, (1500, 9000), 1.0), (3, 0.004, (300, 2500), 1.6)):
        count = int(dur * rate * rng.uniform(0.7, 1.3))
        clicks = np.zeros(n)
        clicks[rng.integers(0, n - len(k), count)] = rng.uniform(0.2, 1.0, count) ** 2
        kernel = _filt(rng.standard_normal(len(k)), sr, "bandpass", band) * np.exp(-k / decay)
        x += level * np.convolve(clicks, kernel)[:n]  # each click: a short burst of bright noise
    return _fade(_peak(x, 0.8), sr, 0.05, 0.1)


def phone_ring(rng: np.random.Generator, sr: int, style: str = "digital", dur: float = 2.5) -> np.ndarray:
    """A phone ringing: "digital" (two-tone chirp), "bell" (old telephone bell trill)
    or "trill" (fast electronic warble); on in bursts, off in between."""
    t = _t(sr, dur)
    if style == "bell":
        on, off = 1.0, 0.5
        tremolo = (np.sin(2 * np.pi * 20 * t) > 0).astype(float)  # hammer between two gongs
        f = rng.uniform(1100, 1300)
        tone = sum(a * np.sin(2 * np.pi * f * r * t) for r, a in ((1, 1.0), (2.4, 0.5), (3.9, 0.3)))
        tone *= 0.3 + 0.7 * _filt(tremolo, sr, "lowpass", 150)
    elif style == "trill":
        on, off = 0.7, 0.35
        f = np.where(np.sin(2 * np.pi * 16 * t) > 0, 1400.0, 1750.0) * rng.uniform(0.95, 1.05)
        tone = np.sign(np.sin(_sweep(t, f, sr))) * 0.5
        tone = _filt(tone, sr, "lowpass", 5000)
    else:
        on, off = 0.8, 0.4
        f = np.where((t % 0.2) < 0.1, 880.0, 1320.0) * rng.uniform(0.97, 1.03)
        tone = np.sin(_sweep(t, f, sr)) + 0.3 * np.sin(2 * _sweep(t, f, sr))
    gate = ((t % (on + off)) < on).astype(float)
    gate = _filt(gate, sr, "lowpass", 80)
    return _fade(_peak(tone * gate, 0.7), sr)


# --------------------------------------------------------------------------- ambiences (stereo)


def _stereo_bed(rng: np.random.Generator, make: Callable[[np.random.Generator], np.ndarray],
                shared: float = 0.6) -> np.ndarray:
    """Two channels: a shared bed plus each side's own, so the image is wide."""
    common = make(rng)
    return np.stack([shared * common + (1 - shared) * make(rng),
                     shared * common + (1 - shared) * make(rng)], axis=1)


def forest_ambience(rng: np.random.Generator, sr: int, dur: float = 10.0, birds: float = 1.0) -> np.ndarray:
    """Wind in the trees, leaves rustling, distant birds."""
    t = _t(sr, dur)
    n = len(t)

    def wind(g: np.random.Generator) -> np.ndarray:
        swell = 0.6 + 0.4 * np.sin(2 * np.pi * g.uniform(0.05, 0.15) * t + g.uniform(0, 6))
        leaves = _filt(g.standard_normal(n), sr, "bandpass", (2000, 6000)) * (0.5 + 0.5 * np.sin(
            2 * np.pi * g.uniform(0.2, 0.5) * t) ** 2)
        return _filt(g.standard_normal(n), sr, "lowpass", 500) * swell * 2 + 0.4 * leaves

    x = _stereo_bed(rng, wind)
    if birds:
        for side in (0, 1):
            x[:, side] += birds * 0.2 * bird_song(rng, sr, dur, "mixed") * rng.uniform(0.5, 1.0)
    return _fade_stereo(_peak(x, 0.35), sr)


def city_ambience(rng: np.random.Generator, sr: int, dur: float = 10.0, busy: float = 1.0) -> np.ndarray:
    """Traffic rumble with cars passing now and then, far off."""
    t = _t(sr, dur)
    n = len(t)

    def rumble(g: np.random.Generator) -> np.ndarray:
        low = _filt(_brown(g, n, sr), sr, "lowpass", 250)
        mid = _filt(g.standard_normal(n), sr, "bandpass", (300, 1800)) * 0.3
        return low + mid

    x = _stereo_bed(rng, rumble, 0.7)
    for _ in range(int(busy * dur / 2.5)):  # passing cars, panned
        centre, width = rng.uniform(0, dur), rng.uniform(0.6, 1.4)
        swell = np.exp(-0.5 * ((t - centre) / width) ** 2)
        car = _filt(rng.standard_normal(n), sr, "bandpass", (120, 2500)) * swell
        pan = rng.uniform(0.2, 0.8)
        x[:, 0] += 0.7 * car * (1 - pan)
        x[:, 1] += 0.7 * car * pan
    return _fade_stereo(_peak(x, 0.35), sr)


def beach_ambience(rng: np.random.Generator, sr: int, dur: float = 12.0) -> np.ndarray:
    """Waves rolling in every few seconds over a steady surf hiss."""
    t = _t(sr, dur)
    n = len(t)
    env = np.zeros(n)
    start = rng.uniform(-2.0, 0.5)
    while start < dur:
        period = rng.uniform(4.0, 7.0)
        local = t - start
        rise = np.clip(local / (period * 0.45), 0, 1) ** 2  # the wave builds...
        fall = np.exp(-np.clip(local - period * 0.45, 0, None) / (period * 0.25))  # ...breaks and drains
        env += np.where(local >= 0, rise * fall, 0.0) * rng.uniform(0.7, 1.0)
        start += period

    def surf(g: np.random.Generator) -> np.ndarray:
        return _filt(g.standard_normal(n), sr, "bandpass", (250, 4000))

    x = _stereo_bed(rng, surf, 0.5) * (0.25 + env)[:, None]
    x += 0.5 * _stereo_bed(rng, lambda g: _filt(g.standard_normal(n), sr, "lowpass", 200), 0.5)
    return _fade_stereo(_peak(x, 0.35), sr)


def kitchen_ambience(rng: np.random.Generator, sr: int, dur: float = 8.0, hum: float = 1.0) -> np.ndarray:
    """Room tone of a kitchen: soft air, a fridge hum with its harmonics."""
    t = _t(sr, dur)
    n = len(t)
    mains = 50.0 if rng.random() < 0.5 else 60.0
    fridge = sum(a * np.sin(2 * np.pi * mains * k * t + k) for k, a in ((1, 1.0), (2, 0.6), (3, 0.35), (4, 0.2)))
    fridge *= hum * 0.12 * (1 + 0.05 * np.sin(2 * np.pi * 0.3 * t))

    def air(g: np.random.Generator) -> np.ndarray:
        return _filt(g.standard_normal(n), sr, "lowpass", 900) * 0.3 + 0.05 * g.standard_normal(n)

    x = _stereo_bed(rng, air, 0.5) + fridge[:, None]
    return _fade_stereo(_peak(x, 0.12), sr, 0.3, 0.3)


def _fade_stereo(x: np.ndarray, sr: int, fade_in: float = 0.5, fade_out: float = 0.5) -> np.ndarray:
    return np.stack([_fade(x[:, c], sr, fade_in, fade_out) for c in range(x.shape[1])], axis=1)


# --------------------------------------------------------------------------- distractors


def typewriter(rng: np.random.Generator, sr: int, dur: float = 3.0, carriage: bool = False) -> np.ndarray:
    """Typing: irregular key strikes (click + platen thunk); optionally a carriage return and ding."""
    t = _t(sr, dur)
    x = np.zeros_like(t)
    start = 0.05
    end = dur - (1.0 if carriage else 0.1)
    while start < end:
        x += 0.6 * _filt(rng.standard_normal(len(t)), sr, "bandpass", (1500, 6000)) * _decay(t, start, 0.003)
        x += np.sin(2 * np.pi * rng.uniform(180, 260) * t) * _decay(t, start + 0.004, 0.02)
        start += rng.gamma(4.0, 0.03)
    if carriage:
        for k in range(12):  # ratchet
            x += 0.3 * _filt(rng.standard_normal(len(t)), sr, "highpass", 2000) * _decay(t, end + 0.1 + 0.03 * k, 0.004)
        x += 0.5 * np.sin(2 * np.pi * 2600 * t) * _decay(t, end + 0.5, 0.3)
    return _fade(_peak(x, 0.75), sr)


def thunder(rng: np.random.Generator, sr: int, dur: float = 4.0, distance: str = "close") -> np.ndarray:
    """Thunder: a crack (close only) and a long rolling low rumble."""
    t = _t(sr, dur)
    n = len(t)
    roll = np.zeros(n)
    for _ in range(6):  # the rumble rolls: several swells
        c = rng.uniform(0.2, dur * 0.7)
        roll += rng.uniform(0.4, 1.0) * np.exp(-0.5 * ((t - c) / rng.uniform(0.2, 0.6)) ** 2)
    roll *= np.exp(-t / (dur * 0.5))
    x = _filt(_brown(rng, n, sr), sr, "lowpass", 180 if distance == "close" else 110) * roll * 3
    if distance == "close":
        x += 1.5 * _filt(rng.standard_normal(n), sr, "bandpass", (300, 6000)) * _decay(t, 0.08, 0.12)
    return _fade(_peak(x, 0.85), sr, 0.01, 0.3)


def laser(rng: np.random.Generator, sr: int, shots: int = 1, dur: float = 0.6) -> np.ndarray:
    """Sci-fi laser: fast downward pitch sweeps with a wobble."""
    t = _t(sr, dur)
    x = np.zeros_like(t)
    start = 0.02
    for _ in range(shots):
        length = rng.uniform(0.15, 0.28)
        local = np.clip(t - start, 0, None)
        freq = 300 + rng.uniform(2500, 4500) * np.exp(-local / (length * 0.3))
        freq *= 1 + 0.1 * np.sin(2 * np.pi * 45 * local)
        env = (t >= start) * np.exp(-local / (length * 0.5))
        x += env * np.sign(np.sin(_sweep(t, freq * (t >= start), sr))) * 0.5
        start += length + rng.uniform(0.05, 0.15)
    return _fade(_peak(_filt(x, sr, "lowpass", 8000), 0.7), sr)


def boing(rng: np.random.Generator, sr: int, dur: float = 1.0, wobble: float = 1.0) -> np.ndarray:
    """Cartoon spring: a tone bending up with a decaying fast vibrato."""
    t = _t(sr, dur)
    f = rng.uniform(180, 260) * (1 + 0.8 * (1 - np.exp(-t / 0.15)))
    f *= 1 + wobble * 0.25 * np.sin(2 * np.pi * 14 * t) * np.exp(-t / 0.5)
    x = np.sin(_sweep(t, f, sr)) + 0.3 * np.sin(3 * _sweep(t, f, sr))
    return _fade(_peak(x * _decay(t, 0.01, dur * 0.35), 0.7), sr)


# --------------------------------------------------------------------------- recipes by name

# Each sound class of world.CLASSES, each place ambience of world.PLACES and
# each distractor, with its default recipe: name -> f(rng, sr) -> samples
# (mono (n,) or stereo (n, 2) float in [-1, 1]).
RECIPES: dict[str, Synth] = {
    "dog_bark": lambda r, s: dog_bark(r, s, 2),
    "car_engine": lambda r, s: car_engine(r, s, "idle", 3.0),
    "bird_song": lambda r, s: bird_song(r, s, 2.0),
    "bell_ring": lambda r, s: bell_ring(r, s, 1),
    "drum_hit": lambda r, s: drum_hit(r, s, "single"),
    "glass_clink": lambda r, s: glass_clink(r, s, "clink"),
    "door_knock": lambda r, s: door_knock(r, s, "knock"),
    "clock_tick": lambda r, s: clock_tick(r, s, 0.5, 3.0),
    "fire_crackle": lambda r, s: fire_crackle(r, s, 3.0),
    "phone_ring": lambda r, s: phone_ring(r, s, "digital"),
    "forest_ambience": lambda r, s: forest_ambience(r, s, 8.0),
    "city_ambience": lambda r, s: city_ambience(r, s, 8.0),
    "beach_ambience": lambda r, s: beach_ambience(r, s, 8.0),
    "kitchen_ambience": lambda r, s: kitchen_ambience(r, s, 8.0),
    "typewriter": lambda r, s: typewriter(r, s, 3.0),
    "thunder": lambda r, s: thunder(r, s, 4.0),
    "laser": lambda r, s: laser(r, s, 2, 0.8),
    "boing": lambda r, s: boing(r, s, 1.0),
}
SOUND_CLASSES = ["dog_bark", "car_engine", "bird_song", "bell_ring", "drum_hit", "glass_clink", "door_knock",
                 "clock_tick", "fire_crackle", "phone_ring"]
AMBIENCES = ["forest_ambience", "city_ambience", "beach_ambience", "kitchen_ambience"]
DISTRACTORS = ["typewriter", "thunder", "laser", "boing"]


# --------------------------------------------------------------------------- the library


@dataclass(frozen=True)
class _File:
    """One library file: where it goes, how it is made, what it is."""

    folder: str  # category folder
    cat_id: str  # UCS CatID
    fx_name: str  # UCS FXName
    ext: str  # "wav", "flac" or "ogg"
    subtype: str  # PCM_16, PCM_24, FLOAT, VORBIS
    sr: int
    stereo: bool
    takes: tuple[Synth, ...]  # one synth per event; several = takes separated by silence
    tags: str  # library.csv description
    kind: str  # "sfx", "ambience" or "distractor"
    sound_class: str | None = None
    place: str | None = None
    source: str = ""  # what makes the sound, for people reading the truth file
    category: str = ""  # UCS category name (from the folder)

    @property
    def name(self) -> str:
        return f"{self.cat_id}_{self.fx_name}_{CREATOR_ID}_{SOURCE_ID}.{self.ext}"

    @property
    def path(self) -> str:
        return f"{self.folder}/{self.name}"


def _sfx(folder, cat_id, fx_name, ext, subtype, sr, stereo, takes, tags, sound_class, source):
    return _File(folder, cat_id, fx_name, ext, subtype, sr, stereo, tuple(takes), tags, "sfx",
                 sound_class=sound_class, source=source, category=folder)


def _amb(cat_id, fx_name, ext, subtype, sr, synth, tags, place, stereo=True):
    return _File("AMBIENCE", cat_id, fx_name, ext, subtype, sr, stereo, (synth,), tags, "ambience",
                 place=place, source=f"{place} ambience", category="AMBIENCE")


def _dis(folder, cat_id, fx_name, ext, subtype, sr, stereo, synth, tags, source):
    return _File(folder, cat_id, fx_name, ext, subtype, sr, stereo, (synth,), tags, "distractor",
                 source=source, category=folder)


def _plan() -> list[_File]:
    """Every file of the library. Synths are lambdas over (rng, sr); each file
    gets its own generator, so adding a file never changes the others."""
    A, V, B, BL, M = "ANIMALS", "VEHICLES", "BIRDS", "BELLS", "MUSICAL"
    G, D, C, F, P = "GLASS", "DOORS", "CLOCKS", "FIRE", "COMMUNICATIONS"
    return [
        # dog
        _sfx(A, "ANMLDog", "Dog Bark Medium Single", "wav", "PCM_16", 44100, False,
             [lambda r, s: dog_bark(r, s, 1, "medium")],
             "dog, bark, barking, single bark, canine, medium dog, pet, hound, outdoor, close mic",
             "dog_bark", "dog"),
        _sfx(A, "ANMLDog", "Dog Barks Small Aggressive", "flac", "PCM_16", 48000, True,
             [lambda r, s: dog_bark(r, s, 4, "small")],
             "dog, small dog, puppy, barks, barking, yapping, aggressive, canine, exterior, stereo",
             "dog_bark", "dog"),
        _sfx(A, "ANMLDog", "Dog Bark Large Double", "wav", "PCM_24", 48000, False,
             [lambda r, s: dog_bark(r, s, 2, "large")],
             "dog, large dog, hound, deep bark, double bark, woof, canine, exterior, 24 bit",
             "dog_bark", "dog"),
        _sfx(A, "ANMLDog", "Dog Bark Medium Takes", "wav", "PCM_16", 44100, False,
             [lambda r, s: dog_bark(r, s, 1, "medium")] * 3,
             "dog, bark, barks, barking, canine, medium dog, single barks, various takes",
             "dog_bark", "dog"),
        # car
        _sfx(V, "VEHCar", "Car Engine Idle Steady", "flac", "PCM_16", 44100, False,
             [lambda r, s: car_engine(r, s, "idle", 3.5)],
             "car, engine, idle, idling, motor running, vehicle, automobile, exterior, steady, stereo",
             "car_engine", "car"),
        _sfx(V, "VEHCar", "Car Pass By Medium Speed", "ogg", "VORBIS", 48000, True,
             [lambda r, s: car_engine(r, s, "pass", 4.0)],
             "car, pass by, passing, driving, engine, vehicle, automobile, road, street, doppler, "
             "exterior, left to right, stereo",
             "car_engine", "car"),
        _sfx(V, "VEHCar", "Car Engine Rev Up", "wav", "PCM_16", 44100, False,
             [lambda r, s: car_engine(r, s, "rev", 2.5)],
             "car, engine, rev, revving, accelerate, motor, vehicle, automobile, exhaust",
             "car_engine", "car"),
        # bird
        _sfx(B, "BIRDSong", "Songbird Chirps Short", "wav", "FLOAT", 48000, False,
             [lambda r, s: bird_song(r, s, 1.2, "chirps")],
             "bird, songbird, chirp, chirps, tweet, small bird, birdsong, outdoor, 32 bit float",
             "bird_song", "bird"),
        _sfx(B, "BIRDSong", "Songbird Trill Phrase", "flac", "PCM_16", 44100, True,
             [lambda r, s: bird_song(r, s, 2.5, "trill")],
             "bird, songbird, trill, song, singing, birdsong, warble, nature, stereo",
             "bird_song", "bird"),
        _sfx(B, "BIRDSong", "Canary Tweets Calls", "ogg", "VORBIS", 48000, False,
             [lambda r, s: bird_song(r, s, 3.0, "mixed")],
             "bird, canary, tweets, calls, chirping, yellow bird, songbird, small bird",
             "bird_song", "bird"),
        # bell
        _sfx(BL, "BELLHand", "Hand Bell Single Ring", "wav", "PCM_24", 44100, False,
             [lambda r, s: bell_ring(r, s, 1, 900.0, 2.0)],
             "bell, hand bell, ring, single ring, brass, metal, bright, ringing, ding",
             "bell_ring", "bell"),
        _sfx(BL, "BELLHand", "Hand Bell Ringing Shake", "flac", "PCM_16", 48000, True,
             [lambda r, s: bell_ring(r, s, 5, 780.0, 3.0)],
             "bell, hand bell, ringing, shake, repeated, brass bell, school bell, metal, stereo",
             "bell_ring", "bell"),
        _sfx(BL, "BELLHand", "Brass Bell Strikes Takes", "wav", "PCM_16", 44100, False,
             [lambda r, s: bell_ring(r, s, 1, 650.0, 1.6)] * 2,
             "bell, brass bell, strike, strikes, ring, metal, resonant, golden bell, takes",
             "bell_ring", "bell"),
        _sfx(BL, "BELLHand", "Small Bell Ding", "wav", "PCM_16", 48000, False,
             [lambda r, s: bell_ring(r, s, 1, 1500.0, 1.5)],
             "bell, small bell, ding, chime, ring, bright, metal, tinkle",
             "bell_ring", "bell"),
        # drum
        _sfx(M, "MUSCPerc", "Snare Drum Hit Single", "wav", "PCM_16", 44100, False,
             [lambda r, s: drum_hit(r, s, "single", 0.6)],
             "drum, snare drum, hit, single hit, percussion, stick, drumming, close mic",
             "drum_hit", "drum"),
        _sfx(M, "MUSCPerc", "Marching Drum Pattern", "flac", "PCM_16", 48000, True,
             [lambda r, s: drum_hit(r, s, "march", 3.0)],
             "drum, marching drum, snare, pattern, rhythm, percussion, drumming, drumsticks, stereo",
             "drum_hit", "drum"),
        _sfx(M, "MUSCPerc", "Tom Drum Hits Low", "ogg", "VORBIS", 44100, False,
             [lambda r, s: drum_hit(r, s, "tom", 1.5)],
             "drum, tom drum, low, hits, boom, percussion, floor tom, thump",
             "drum_hit", "drum"),
        # glass bottle
        _sfx(G, "GLASImpt", "Glass Bottle Clink Single", "wav", "FLOAT", 48000, False,
             [lambda r, s: glass_clink(r, s, "clink", 0.8)],
             "glass, bottle, glass bottle, clink, tap, impact, bright, single, 32 bit float",
             "glass_clink", "bottle"),
        _sfx(G, "GLASImpt", "Bottles Clinking Together", "flac", "PCM_16", 44100, True,
             [lambda r, s: glass_clink(r, s, "clinks", 1.2)],
             "glass, bottles, wine bottle, clinking, clink, knock together, glassware, stereo",
             "glass_clink", "bottle"),
        _sfx(G, "GLASBrk", "Glass Bottle Smash", "wav", "PCM_24", 48000, False,
             [lambda r, s: glass_clink(r, s, "smash", 1.2)],
             "glass, bottle, smash, break, shatter, glass bottle, debris, shards, crash, stereo",
             "glass_clink", "bottle"),
        _sfx(G, "GLASImpt", "Bottle Clinks Various Takes", "wav", "PCM_16", 44100, False,
             [lambda r, s: glass_clink(r, s, "clink", 0.7)] * 3,
             "glass, bottle, clinks, taps, glass bottle, impacts, various, takes",
             "glass_clink", "bottle"),
        # door
        _sfx(D, "DOORWood", "Wood Door Knock Three", "wav", "PCM_16", 48000, False,
             [lambda r, s: door_knock(r, s, "knock", 1.2)],
             "door, wood door, knock, knocking, knuckles, wooden, interior, close mic",
             "door_knock", "door"),
        _sfx(D, "DOORWood", "Wood Door Creak Open", "flac", "PCM_16", 44100, False,
             [lambda r, s: door_knock(r, s, "creak", 2.0)],
             "door, wooden door, creak, creaking, open, hinge, squeak, slow",
             "door_knock", "door"),
        _sfx(D, "DOORWood", "Wood Door Slam Close", "ogg", "VORBIS", 48000, True,
             [lambda r, s: door_knock(r, s, "slam", 1.0)],
             "door, wood door, slam, close, shut, impact, heavy, wooden, rattle, stereo",
             "door_knock", "door"),
        # clock
        _sfx(C, "CLOCKTick", "Wall Clock Ticking Steady", "wav", "PCM_16", 44100, False,
             [lambda r, s: clock_tick(r, s, 0.5, 3.0)],
             "clock, wall clock, tick, ticking, tick tock, mechanical, steady, time",
             "clock_tick", "clock"),
        _sfx(C, "CLOCKTick", "Clock Tick Tock Slow", "flac", "PCM_24", 48000, False,
             [lambda r, s: clock_tick(r, s, 1.0, 3.5)],
             "clock, tick tock, ticking, slow, pendulum, grandfather clock, mechanical",
             "clock_tick", "clock"),
        _sfx(C, "CLOCKTick", "Pocket Clock Ticking Fast", "wav", "PCM_16", 44100, True,
             [lambda r, s: clock_tick(r, s, 0.2, 1.5)],
             "clock, pocket watch, ticking, fast ticks, small clock, mechanical, close mic, stereo",
             "clock_tick", "clock"),
        # fire
        _sfx(F, "FIREBurn", "Campfire Burning Crackle", "flac", "PCM_16", 48000, True,
             [lambda r, s: fire_crackle(r, s, 4.0, 0.5)],
             "fire, campfire, burning, crackle, crackling, flames, wood fire, logs, outdoor, stereo",
             "fire_crackle", "fire"),
        _sfx(F, "FIRECrkl", "Fire Crackles Pops Close", "wav", "PCM_16", 44100, False,
             [lambda r, s: fire_crackle(r, s, 2.5, 0.15)],
             "fire, crackles, pops, crackling, embers, wood burning, fireplace, close",
             "fire_crackle", "fire"),
        _sfx(F, "FIREBurn", "Bonfire Roar Steady", "ogg", "VORBIS", 44100, True,
             [lambda r, s: fire_crackle(r, s, 4.0, 1.2)],
             "fire, bonfire, roar, burning, flames, large fire, steady, whoosh, stereo",
             "fire_crackle", "fire"),
        # phone
        _sfx(P, "COMMCell", "Cell Phone Ring Digital", "wav", "PCM_16", 48000, False,
             [lambda r, s: phone_ring(r, s, "digital", 2.5)],
             "phone, cell phone, mobile phone, ring, ringtone, ringing, digital, smartphone",
             "phone_ring", "phone"),
        _sfx(P, "COMMTelph", "Telephone Ring Bell Old", "flac", "PCM_16", 44100, False,
             [lambda r, s: phone_ring(r, s, "bell", 3.0)],
             "phone, telephone, ring, ringing, old phone, bell ringer, landline, vintage",
             "phone_ring", "phone"),
        _sfx(P, "COMMCell", "Mobile Phone Ringtone Trill", "ogg", "VORBIS", 48000, True,
             [lambda r, s: phone_ring(r, s, "trill", 2.2)],
             "phone, mobile phone, smartphone, ringtone, trill, ringing, electronic, stereo",
             "phone_ring", "phone"),
        # ambiences
        _amb("AMBForst", "Forest Birds Wind", "flac", "PCM_16", 44100,
             lambda r, s: forest_ambience(r, s, 7.0, 1.0),
             "forest, ambience, birds, wind, trees, leaves, woodland, nature, daytime, stereo", "forest"),
        _amb("AMBForst", "Woodland Breeze Leaves", "ogg", "VORBIS", 48000,
             lambda r, s: forest_ambience(r, s, 8.0, 0.4),
             "forest, woods, breeze, leaves rustling, wind, quiet, nature, ambience, atmos", "forest"),
        _amb("AMBUrbn", "City Street Traffic Distant", "ogg", "VORBIS", 44100,
             lambda r, s: city_ambience(r, s, 10.0, 1.0),
             "city, street, traffic, distant traffic, urban, cars, ambience, town, daytime, stereo", "city"),
        _amb("AMBTraf", "Street Traffic Rumble Busy", "ogg", "VORBIS", 48000,
             lambda r, s: city_ambience(r, s, 7.0, 2.0),
             "city, traffic, road, rumble, busy street, cars passing, urban, ambience", "city"),
        _amb("AMBSea", "Beach Waves Gentle Surf", "ogg", "VORBIS", 48000,
             lambda r, s: beach_ambience(r, s, 12.0),
             "beach, waves, surf, sea, ocean, shore, gentle, seaside, ambience, stereo", "beach"),
        _amb("AMBSea", "Seaside Shore Waves Wind", "ogg", "VORBIS", 44100,
             lambda r, s: beach_ambience(r, s, 8.0),
             "seaside, beach, shore, waves crashing, wind, sea, coast, ambience", "beach"),
        _amb("AMBRoom", "Kitchen Room Tone Fridge Hum", "ogg", "VORBIS", 48000,
             lambda r, s: kitchen_ambience(r, s, 8.0, 1.0),
             "kitchen, room tone, fridge hum, refrigerator, interior, quiet, domestic, ambience", "kitchen"),
        _amb("AMBRoom", "Kitchen Interior Quiet Air", "flac", "PCM_16", 44100,
             lambda r, s: kitchen_ambience(r, s, 6.0, 0.4),
             "kitchen, interior, room tone, air, quiet, house, domestic, ambience, mono", "kitchen",
             stereo=False),
        # distractors: sounds with nothing on screen to match
        _dis("MACHINES", "MACHOffi", "Typewriter Typing Fast", "wav", "PCM_16", 44100, False,
             lambda r, s: typewriter(r, s, 3.0, False),
             "typewriter, typing, keys, keystrokes, mechanical, office, vintage, fast", "typewriter"),
        _dis("MACHINES", "MACHOffi", "Typewriter Carriage Return", "flac", "PCM_16", 48000, False,
             lambda r, s: typewriter(r, s, 3.0, True),
             "typewriter, keys, carriage return, ding, typing, mechanical, office", "typewriter"),
        _dis("WEATHER", "WTHRThun", "Thunder Crack Rumble Close", "flac", "PCM_16", 44100, True,
             lambda r, s: thunder(r, s, 4.0, "close"),
             "thunder, thunderclap, crack, rumble, storm, weather, loud, close, stereo", "thunder"),
        _dis("WEATHER", "WTHRThun", "Thunder Rolling Distant", "ogg", "VORBIS", 44100, True,
             lambda r, s: thunder(r, s, 4.0, "distant"),
             "thunder, rolling thunder, distant, rumble, storm, weather, low", "thunder"),
        _dis("LASERS", "LASRGun", "Laser Gun Shot Zap", "wav", "FLOAT", 48000, False,
             lambda r, s: laser(r, s, 1, 0.5),
             "laser, laser gun, zap, shot, sci-fi, blaster, futuristic, weapon", "laser"),
        _dis("LASERS", "LASRGun", "Laser Blaster Burst", "wav", "PCM_16", 44100, True,
             lambda r, s: laser(r, s, 3, 1.2),
             "laser, blaster, burst, zaps, sci-fi, energy weapon, pew, futuristic, stereo", "laser"),
        _dis("CARTOON", "TOONBoing", "Cartoon Spring Boing", "wav", "PCM_16", 48000, False,
             lambda r, s: boing(r, s, 1.0, 1.0),
             "cartoon, boing, spring, bounce, comedy, toon, funny", "boing"),
        _dis("CARTOON", "TOONBoing", "Cartoon Boing Wobble", "ogg", "VORBIS", 44100, False,
             lambda r, s: boing(r, s, 1.3, 2.0),
             "cartoon, boing, wobble, spring, comic, toon, jaw harp, funny", "boing"),
    ]


# Silence between takes in a multi-take file, seconds.
TAKE_GAP = 1.0


def write_library(root: Path, seed: int) -> dict:
    """Write the demo SFX library under ``root`` and return its ground truth.

    Returns {relative POSIX path: {"sound_class": sound class or None,
    "kind": "sfx" | "ambience" | "distractor", "place": place or None,
    "source": what makes it, "category": UCS category, "duration": seconds,
    "events": [[start, end], ...] seconds of each take}} for every sound file.
    Also writes ``library.csv`` (path, description, category). The truth is
    not written into the library: see ``write_truth``.
    """
    root = Path(root)
    truth: dict[str, dict] = {}
    rows = []
    for index, item in enumerate(_plan()):
        rng = np.random.default_rng([seed, index])
        data, events = _render(item, rng)
        path = root / item.path
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_audio(path, data, item, rng)
        truth[item.path] = {
            "sound_class": item.sound_class, "kind": item.kind, "place": item.place,
            "source": item.source, "category": item.category,
            "duration": round(len(data) / item.sr, 6), "events": events,
        }
        rows.append((item.path, item.tags, item.category))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(("path", "description", "category"))
    writer.writerows(rows)
    (root / "library.csv").write_text(buf.getvalue(), encoding="utf-8")
    return truth


def write_truth(path: Path, truth: dict) -> None:
    """The truth mapping as JSON (kept outside the library so it stays realistic)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def _render(item: _File, rng: np.random.Generator) -> tuple[np.ndarray, list[list[float]]]:
    """(frames, channels) float samples and the [start, end] seconds of each take."""
    parts, events, at = [], [], 0
    for i, synth in enumerate(item.takes):
        take = synth(rng, item.sr)
        if take.ndim == 1:
            take = _widen(take, rng, item.sr) if item.stereo else take[:, None]
        elif not item.stereo:
            take = take.mean(axis=1, keepdims=True)
        if i:
            gap = int(round(item.sr * TAKE_GAP * rng.uniform(0.9, 1.1)))
            parts.append(np.zeros((gap, take.shape[1])))
            at += gap
        parts.append(take)
        events.append([round(at / item.sr, 6), round((at + len(take)) / item.sr, 6)])
        at += len(take)
    return np.concatenate(parts), events


def _widen(mono: np.ndarray, rng: np.random.Generator, sr: int) -> np.ndarray:
    """Mono -> stereo the way a spaced pair hears a source: a small delay and level
    difference between the sides."""
    delay = int(sr * rng.uniform(0.0002, 0.0008))
    other = np.concatenate([np.zeros(delay), mono[: len(mono) - delay]])
    left, right = (mono, other * 0.85) if rng.random() < 0.5 else (other * 0.85, mono)
    return np.stack([left, right], axis=1)


# --------------------------------------------------------------------------- writers
# libsndfile stamps float WAVs (PEAK chunk) and Ogg streams (serial number)
# with the clock or a random number; the library must be byte-identical for a
# seed, so WAV is written here and Ogg serial numbers are pinned.


def _write_audio(path: Path, data: np.ndarray, item: _File, rng: np.random.Generator) -> None:
    if item.ext == "wav":
        path.write_bytes(_wav_bytes(data, item.sr, item.subtype, item.tags))
    elif item.ext == "flac":
        sf.write(str(path), data, item.sr, format="FLAC", subtype=item.subtype)
    elif item.ext == "ogg":
        sf.write(str(path), data, item.sr, format="OGG", subtype="VORBIS")
        path.write_bytes(_pin_ogg_serial(path.read_bytes(), serial=int(rng.integers(1, 2**31))))
    else:
        raise ValueError(f"unsupported extension {item.ext!r}")


def _chunk(cid: bytes, payload: bytes) -> bytes:
    return cid + struct.pack("<I", len(payload)) + payload + (b"\0" if len(payload) % 2 else b"")


def _wav_bytes(data: np.ndarray, sr: int, subtype: str, description: str) -> bytes:
    """A Broadcast WAV: fmt, bext (carrying ``description``), data. PCM 16/24 or float 32."""
    channels = data.shape[1]
    clipped = np.clip(data, -1.0, 1.0)
    if subtype == "PCM_16":
        fmt_tag, bits = 1, 16
        samples = np.round(clipped * 32767).astype("<i2").tobytes()
    elif subtype == "PCM_24":
        fmt_tag, bits = 1, 24
        ints = np.round(clipped * 8388607).astype("<i4")
        samples = ints.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    elif subtype == "FLOAT":
        fmt_tag, bits = 3, 32
        samples = clipped.astype("<f4").tobytes()
    else:
        raise ValueError(f"unsupported WAV subtype {subtype!r}")
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", fmt_tag, channels, sr, sr * block, block, bits)
    bext = (description.encode("ascii", "replace")[:256].ljust(256, b"\0")
            + f"{SOURCE_ID} generator".encode("ascii").ljust(32, b"\0")  # Originator
            + b"\0" * 32  # OriginatorReference
            + b"2024-01-01" + b"00:00:00"  # fixed date: same seed, same bytes
            + struct.pack("<IIH", 0, 0, 1)  # TimeReference low/high, Version
            + b"\0" * 64 + b"\0" * 10 + b"\0" * 180)  # UMID, loudness, reserved
    chunks = [_chunk(b"fmt ", fmt), _chunk(b"bext", bext)]
    if fmt_tag == 3:  # non-PCM WAVs carry a fact chunk with the frame count
        chunks.append(_chunk(b"fact", struct.pack("<I", len(data))))
    chunks.append(_chunk(b"data", samples))
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _ogg_crc_table() -> list[int]:
    table = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else (r << 1)
        table.append(r & 0xFFFFFFFF)
    return table


_OGG_CRC = _ogg_crc_table()


def _ogg_crc(page: bytes) -> int:
    crc = 0
    for byte in page:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _OGG_CRC[((crc >> 24) ^ byte) & 0xFF]
    return crc


def _pin_ogg_serial(data: bytes, serial: int) -> bytes:
    """Rewrite the stream serial number of every Ogg page and fix the page CRCs."""
    out = bytearray(data)
    pos = 0
    while pos < len(out):
        if out[pos:pos + 4] != b"OggS":
            raise ValueError("not an Ogg page boundary")
        segments = out[pos + 26]
        lacing = out[pos + 27:pos + 27 + segments]
        end = pos + 27 + segments + sum(lacing)
        out[pos + 14:pos + 18] = struct.pack("<I", serial)
        out[pos + 22:pos + 26] = b"\0\0\0\0"
        out[pos + 22:pos + 26] = struct.pack("<I", _ogg_crc(bytes(out[pos:end])))
        pos = end
    return bytes(out)
