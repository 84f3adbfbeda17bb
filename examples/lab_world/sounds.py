"""Sounds of the lab world, synthesised with numpy: one voice per sound class.

Every function takes a ``numpy.random.Generator`` and a sample rate and
returns float32 samples in -1..1 (mono, or (n, 2) for ambiences). The
classes are made to be told apart by ear and by an audio encoder: a snake's
hiss is high band noise, a kettle a gliding whistle, a fan a mains hum under
a blade flutter, a horse triple hoof beats, a cat a formant-swept meow, a saw
rasping strokes, a frog pulsed buzzy croaks, a helicopter blade slaps over a
turbine whine, a hammer metallic knocks, a ship a low horn blast, a wind chime
inharmonic bells. Ambiences (desert, workshop, snowfield, office, harbour)
and distractors (crowd cheer, explosion, siren, wolf howl) likewise.

``performance(rng, sound_class, sr, seconds)`` fills a span of film time with
a class's sound: what a thing on screen for that long would make (used for
the films' own production sound).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
from scipy.signal import butter, sosfilt

# --------------------------------------------------------------------------- building blocks


def _n(sr: int, seconds: float) -> int:
    return max(1, int(round(sr * seconds)))


def _time(sr: int, seconds: float) -> np.ndarray:
    return np.arange(_n(sr, seconds)) / sr


def _band(x: np.ndarray, sr: int, lo: float | None, hi: float | None, order: int = 2) -> np.ndarray:
    """Butterworth filter: band-pass, low-pass (lo None) or high-pass (hi None)."""
    nyq = sr / 2 * 0.98
    if lo is not None and hi is not None:
        sos = butter(order, [max(lo, 5.0), min(hi, nyq)], "bandpass", fs=sr, output="sos")
    elif hi is not None:
        sos = butter(order, min(hi, nyq), "lowpass", fs=sr, output="sos")
    else:
        sos = butter(order, min(lo, nyq), "highpass", fs=sr, output="sos")
    return sosfilt(sos, x, axis=0)


def _noise(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.standard_normal(n)


def _brown(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Integrated white noise, high-passed so it does not wander off."""
    b = np.cumsum(rng.standard_normal(n)) / math.sqrt(sr)
    return _band(b, sr, 20.0, None)


def _osc(freq: np.ndarray | float, sr: int, n: int, phase: float = 0.0) -> np.ndarray:
    """Sine following ``freq`` (Hz, a constant or per sample)."""
    f = np.broadcast_to(np.asarray(freq, float), (n,))
    return np.sin(phase + 2 * np.pi * np.cumsum(f) / sr)


def _harmonics(freq, sr: int, n: int, count: int, tilt: float = 1.0, rng=None) -> np.ndarray:
    """Sum of ``count`` harmonics of ``freq`` with amplitudes 1/k**tilt (below Nyquist)."""
    f = np.broadcast_to(np.asarray(freq, float), (n,))
    base = 2 * np.pi * np.cumsum(f) / sr
    out = np.zeros(n)
    for k in range(1, count + 1):
        alive = (k * f) < sr / 2 * 0.9
        ph = rng.uniform(0, 2 * np.pi) if rng is not None else 0.0
        out += np.where(alive, np.sin(k * base + ph), 0.0) / k ** tilt
    return out


def _ramp(n: int, sr: int, attack: float, release: float) -> np.ndarray:
    """1 in the middle, linear ramps of ``attack`` / ``release`` seconds at the ends."""
    env = np.ones(n)
    a, r = min(n, _n(sr, attack)), min(n, _n(sr, release))
    env[:a] *= np.linspace(0, 1, a, endpoint=False)
    if r:
        env[n - r:] *= np.linspace(1, 0, r)
    return env


def _decay(n: int, sr: int, tau: float, attack: float = 0.001) -> np.ndarray:
    t = np.arange(n) / sr
    return np.minimum(1.0, t / max(attack, 1e-6)) * np.exp(-t / tau)


def _normal(x: np.ndarray, peak: float = 0.8) -> np.ndarray:
    m = float(np.max(np.abs(x))) if x.size else 0.0
    return (x * (peak / m) if m > 0 else x).astype(np.float32)


def _add(out: np.ndarray, at: int, x: np.ndarray) -> None:
    """Mix ``x`` into ``out`` from sample ``at`` (clipped to ``out``)."""
    if at >= len(out):
        return
    x = x[: len(out) - at]
    out[at:at + len(x)] += x


def _smooth_random(rng: np.random.Generator, n: int, sr: int, rate: float) -> np.ndarray:
    """A slow random curve in 0..1, with about ``rate`` wiggles per second."""
    points = max(2, int(n / sr * rate) + 2)
    knots = rng.random(points)
    return np.interp(np.linspace(0, points - 1, n), np.arange(points), knots)


# --------------------------------------------------------------------------- sound classes


def snake_hiss(rng, sr: int, seconds: float = 2.0, rattle: bool = False, bright: float = 1.0) -> np.ndarray:
    n = _n(sr, seconds)
    lo, hi = 2500 * bright, min(10000 * bright, sr / 2 * 0.95)
    x = _band(_noise(rng, n), sr, lo, hi, order=3)
    env = _ramp(n, sr, rng.uniform(0.08, 0.25), rng.uniform(0.2, 0.5))
    env *= 0.75 + 0.25 * _smooth_random(rng, n, sr, 3.0)
    if rattle:
        t = np.arange(n) / sr
        rate = rng.uniform(38, 60)
        clicks = (np.sin(2 * np.pi * rate * t) > 0.6).astype(float)
        x = 0.5 * x + _band(_noise(rng, n) * clicks, sr, 1800, 7000, order=2)
    return _normal(x * env, rng.uniform(0.5, 0.8))


def kettle_whistle(rng, sr: int, seconds: float = 3.0, pitch: float = 2100.0, two_tone: bool = False) -> np.ndarray:
    n = _n(sr, seconds)
    t = np.arange(n) / sr
    rise = np.minimum(1.0, t / max(0.3, seconds * rng.uniform(0.3, 0.5)))
    freq = pitch * (0.82 + 0.18 * rise) * (1 + 0.012 * np.sin(2 * np.pi * rng.uniform(5, 7) * t))
    x = _osc(freq, sr, n, rng.uniform(0, 6.3)) + 0.12 * _osc(2 * freq, sr, n)
    if two_tone:
        x += 0.7 * _osc(freq * 1.19, sr, n)
    breath = _band(_noise(rng, n), sr, pitch * 0.7, pitch * 1.4, order=2)
    env = (0.15 + 0.85 * rise) * _ramp(n, sr, 0.05, rng.uniform(0.1, 0.4))
    return _normal((x + 0.4 * breath / (np.std(breath) + 1e-9) * 0.2) * env, rng.uniform(0.5, 0.8))


def fan_hum(rng, sr: int, seconds: float = 4.0, mains: float = 50.0, speed: float = 1.0) -> np.ndarray:
    n = _n(sr, seconds)
    t = np.arange(n) / sr
    hum = _harmonics(2 * mains, sr, n, 6, tilt=1.3, rng=rng)
    blade = 3 * speed * rng.uniform(7, 10)  # three blades
    air = _band(_noise(rng, n), sr, 150, 1800, order=2)
    air *= 0.65 + 0.35 * np.sin(2 * np.pi * blade * t)
    whine = 0.15 * _osc(rng.uniform(700, 1100) * speed, sr, n)
    x = 0.5 * hum / np.max(np.abs(hum)) + air / (np.std(air) * 4 + 1e-9) + whine
    return _normal(x * _ramp(n, sr, 0.3, 0.3), rng.uniform(0.45, 0.75))


def _hoof(rng, sr: int, weight: float) -> np.ndarray:
    n = _n(sr, 0.09)
    click = _band(_noise(rng, n), sr, 900, 2600, order=2) * _decay(n, sr, 0.008)
    t = np.arange(n) / sr
    body = np.sin(2 * np.pi * rng.uniform(160, 260) * t) * _decay(n, sr, 0.03)
    return weight * (0.5 * click / (np.max(np.abs(click)) + 1e-9) + body)


def horse_gallop(rng, sr: int, seconds: float = 3.0, gait: str = "gallop") -> np.ndarray:
    n = _n(sr, seconds)
    out = np.zeros(n)
    if gait == "gallop":
        period, beats = rng.uniform(0.42, 0.55), (0.0, 0.08, 0.17)
    elif gait == "canter":
        period, beats = rng.uniform(0.55, 0.7), (0.0, 0.12, 0.22)
    elif gait == "trot":
        period, beats = rng.uniform(0.45, 0.55), (0.0, 0.25)
    else:  # walk
        period, beats = rng.uniform(0.9, 1.1), (0.0, 0.25, 0.5, 0.75)
    at = rng.uniform(0.0, 0.05)
    while at < seconds - 0.1:
        for b in beats:
            k = _n(sr, at + b * (period if gait == "walk" else 1.0) + rng.normal(0, 0.006))
            _add(out, k, _hoof(rng, sr, rng.uniform(0.6, 1.0)))
        at += period
    return _normal(out, rng.uniform(0.6, 0.85))


def _meow(rng, sr: int, seconds: float, f0: float) -> np.ndarray:
    n = _n(sr, seconds)
    u = np.linspace(0, 1, n)
    contour = f0 * (1 + 0.55 * np.sin(np.pi * u ** 0.8) - 0.15 * u)
    formant = 700 + 1400 * np.sin(np.pi * np.clip(u * 1.2, 0, 1))  # "m-ee-ow"
    base = 2 * np.pi * np.cumsum(contour) / sr
    x = np.zeros(n)
    for k in range(1, 16):
        fk = k * contour
        gain = np.exp(-((fk - formant) / 600.0) ** 2) + 0.3 / k
        x += np.where(fk < sr / 2 * 0.9, gain * np.sin(k * base), 0.0)
    return x * _ramp(n, sr, 0.05, seconds * 0.35)


def cat_meow(rng, sr: int, meows: int = 1, gap: float = 0.2, pitch: float = 480.0) -> np.ndarray:
    parts = []
    for i in range(meows):
        parts.append(_meow(rng, sr, rng.uniform(0.55, 0.95), pitch * rng.uniform(0.9, 1.1)))
        if i < meows - 1:
            parts.append(np.zeros(_n(sr, gap * rng.uniform(0.8, 1.2))))
    return _normal(np.concatenate(parts), rng.uniform(0.55, 0.8))


def saw_cutting(rng, sr: int, seconds: float = 3.0, stroke: float = 0.42, coarse: float = 1.0) -> np.ndarray:
    n = _n(sr, seconds)
    out = np.zeros(n)
    at, push = rng.uniform(0, 0.05), True
    while at < seconds - 0.1:
        length = stroke * rng.uniform(0.85, 1.15)
        m = _n(sr, length)
        t = np.arange(m) / sr
        teeth = rng.uniform(140, 220) / coarse
        rasp = (np.sin(2 * np.pi * teeth * t) > 0.3).astype(float)
        x = _band(_noise(rng, m), sr, 1200 if push else 800, 6000 if push else 3500, order=2) * rasp
        x *= np.sin(np.pi * np.linspace(0, 1, m)) ** 0.7 * (1.0 if push else 0.55)
        _add(out, _n(sr, at), x)
        at += length + rng.uniform(0.02, 0.06)
        push = not push
    return _normal(out, rng.uniform(0.5, 0.8))


def _croak(rng, sr: int, f0: float) -> np.ndarray:
    seconds = rng.uniform(0.22, 0.38)
    n = _n(sr, seconds)
    t = np.arange(n) / sr
    buzz = _harmonics(f0 * (1 - 0.1 * t / seconds), sr, n, 12, tilt=0.7, rng=rng)
    pulses = 0.5 + 0.5 * np.sign(np.sin(2 * np.pi * rng.uniform(22, 32) * t))
    x = _band(buzz * pulses, sr, 250, 1500, order=2)
    return x * _ramp(n, sr, 0.01, 0.05)


def frog_croak(rng, sr: int, croaks: int = 3, gap: float = 0.35, pitch: float = 190.0) -> np.ndarray:
    parts = []
    for i in range(croaks):
        parts.append(_croak(rng, sr, pitch * rng.uniform(0.92, 1.08)))
        if i < croaks - 1:
            parts.append(np.zeros(_n(sr, gap * rng.uniform(0.8, 1.25))))
    return _normal(np.concatenate(parts), rng.uniform(0.55, 0.8))


def helicopter_rotor(rng, sr: int, seconds: float = 4.0, rate: float = 13.0, pass_by: bool = False) -> np.ndarray:
    n = _n(sr, seconds)
    out = np.zeros(n)
    slap_len = _n(sr, 0.05)
    at = 0.0
    while at < seconds:
        slap = _band(_noise(rng, slap_len), sr, 60, 900, order=2) * _decay(slap_len, sr, 0.012)
        _add(out, _n(sr, at), slap * rng.uniform(0.8, 1.0))
        at += 1.0 / rate * rng.uniform(0.98, 1.02)
    out = out / (np.max(np.abs(out)) + 1e-9)
    rumble = _band(_brown(rng, n, sr), sr, None, 200)
    whine = _osc(rng.uniform(3800, 5200), sr, n) * 0.06
    x = out + 0.5 * rumble / (np.max(np.abs(rumble)) + 1e-9) + whine
    env = _ramp(n, sr, 0.4, 0.5)
    if pass_by:
        u = np.linspace(-1, 1, n)
        env *= 0.2 + 0.8 * np.exp(-(u / 0.45) ** 2)
    return _normal(x * env, rng.uniform(0.55, 0.8))


def _knock(rng, sr: int, metal: float) -> np.ndarray:
    n = _n(sr, 0.35)
    t = np.arange(n) / sr
    thud = _band(_noise(rng, n), sr, None, 500) * _decay(n, sr, 0.015)
    thud /= np.max(np.abs(thud)) + 1e-9
    ring = np.zeros(n)
    f = rng.uniform(1300, 2400)
    for ratio, amp, tau in ((1.0, 1.0, 0.09), (2.71, 0.5, 0.05), (5.2, 0.3, 0.03), (8.9, 0.15, 0.02)):
        ring += amp * np.sin(2 * np.pi * f * ratio * t) * _decay(n, sr, tau)
    return 0.8 * thud + metal * ring


def hammer_hit(rng, sr: int, hits: int = 1, spacing: float = 0.5, metal: float = 0.7) -> np.ndarray:
    out = np.zeros(_n(sr, spacing * (hits - 1) + 0.4))
    for i in range(hits):
        _add(out, _n(sr, i * spacing * rng.uniform(0.92, 1.08)) if i else 0,
             _knock(rng, sr, metal) * rng.uniform(0.75, 1.0))
    return _normal(out, rng.uniform(0.6, 0.9))


def ship_horn(rng, sr: int, seconds: float = 3.0, pitch: float = 110.0, blasts: int = 1) -> np.ndarray:
    pieces = []
    for b in range(blasts):
        length = seconds if blasts == 1 else seconds / blasts * 0.7
        n = _n(sr, length)
        x = _harmonics(pitch, sr, n, 14, tilt=1.0, rng=rng) + _harmonics(pitch * 1.004, sr, n, 14, tilt=1.0, rng=rng)
        x = _band(x, sr, None, 1600) * _ramp(n, sr, 0.15, 0.25)
        pieces.append(x)
        if b < blasts - 1:
            pieces.append(np.zeros(_n(sr, seconds / blasts * 0.3)))
    dry = np.concatenate(pieces + [np.zeros(_n(sr, 0.8))])
    wet = dry.copy()
    for delay, gain in ((0.23, 0.3), (0.47, 0.18), (0.71, 0.1)):  # harbour echoes
        d = _n(sr, delay)
        wet[d:] += gain * dry[:-d]
    return _normal(wet, rng.uniform(0.6, 0.85))


_CHIME_RATIOS = (1.0, 2.76, 5.40, 8.93)


def chime_ring(rng, sr: int, seconds: float = 3.0, strikes: int = 5, pitch: float = 1200.0) -> np.ndarray:
    n = _n(sr, seconds)
    out = np.zeros(n)
    scale = (1.0, 9 / 8, 5 / 4, 3 / 2, 5 / 3, 2.0)
    for s in range(strikes):
        at = 0.0 if s == 0 else rng.uniform(0.05, max(0.1, seconds - 1.0))
        m = n - _n(sr, at)
        if m <= 0:
            continue
        t = np.arange(m) / sr
        f = pitch * scale[int(rng.integers(len(scale)))]
        tone = np.zeros(m)
        for k, ratio in enumerate(_CHIME_RATIOS):
            if f * ratio < sr / 2 * 0.9:
                tone += (0.55 ** k) * np.sin(2 * np.pi * f * ratio * t) * _decay(m, sr, 1.4 / (1 + 1.5 * k))
        _add(out, _n(sr, at), tone * rng.uniform(0.5, 1.0))
    return _normal(out * _ramp(n, sr, 0.001, 0.3), rng.uniform(0.5, 0.8))


# --------------------------------------------------------------------------- distractors


def crowd_cheer(rng, sr: int, seconds: float = 3.5) -> np.ndarray:
    n = _n(sr, seconds)
    t = np.arange(n) / sr
    voices = np.zeros(n)
    for _ in range(24):
        f0 = rng.uniform(140, 380) * (1 + 0.03 * np.sin(2 * np.pi * rng.uniform(4, 7) * t))
        v = _harmonics(f0, sr, n, 8, tilt=1.2, rng=rng) * _smooth_random(rng, n, sr, 2.0)
        voices += v
    voices = _band(voices, sr, 300, 3500)
    claps = np.zeros(n)
    for _ in range(int(seconds * 60)):
        _add(claps, int(rng.integers(n)), _noise(rng, _n(sr, 0.01)) * _decay(_n(sr, 0.01), sr, 0.003))
    claps = _band(claps, sr, 1000, 8000)
    env = np.sin(np.pi * np.linspace(0, 1, n)) ** 0.5
    x = voices / (np.std(voices) + 1e-9) + 1.5 * claps / (np.std(claps) + 1e-9)
    return _normal(x * env, rng.uniform(0.6, 0.8))


def explosion(rng, sr: int, seconds: float = 3.0) -> np.ndarray:
    n = _n(sr, seconds)
    crack = _noise(rng, n) * _decay(n, sr, 0.02)
    boom = _band(_brown(rng, n, sr), sr, None, 160) * _decay(n, sr, seconds / 3, attack=0.01)
    boom /= np.max(np.abs(boom)) + 1e-9
    debris = np.zeros(n)
    for _ in range(40):
        at = int(abs(rng.normal(0.3, 0.4)) * sr)
        m = _n(sr, 0.03)
        _add(debris, at, _band(_noise(rng, m), sr, 800, 5000) * _decay(m, sr, 0.01) * rng.uniform(0.05, 0.3))
    return _normal(0.4 * crack / (np.max(np.abs(crack)) + 1e-9) + boom + debris, 0.9)


def siren(rng, sr: int, seconds: float = 3.5, yelp: bool = False) -> np.ndarray:
    n = _n(sr, seconds)
    t = np.arange(n) / sr
    period = rng.uniform(0.25, 0.35) if yelp else rng.uniform(2.2, 3.2)
    freq = 650 + 650 * (0.5 - 0.5 * np.cos(2 * np.pi * t / period))
    x = _harmonics(freq, sr, n, 5, tilt=1.6, rng=rng)
    return _normal(x * _ramp(n, sr, 0.1, 0.3), rng.uniform(0.5, 0.75))


def wolf_howl(rng, sr: int, seconds: float = 3.0) -> np.ndarray:
    n = _n(sr, seconds)
    u = np.linspace(0, 1, n)
    t = np.arange(n) / sr
    lo, hi = rng.uniform(320, 380), rng.uniform(560, 660)
    contour = lo + (hi - lo) * np.minimum(1.0, u / 0.25) - (hi - lo) * 0.5 * np.maximum(0.0, (u - 0.7) / 0.3)
    contour *= 1 + 0.015 * np.sin(2 * np.pi * 5.5 * t)
    x = _harmonics(contour, sr, n, 6, tilt=1.8, rng=rng)
    breath = _band(_noise(rng, n), sr, 400, 2400) * 0.05
    return _normal((x + breath) * _ramp(n, sr, 0.15, 0.6), rng.uniform(0.55, 0.8))


# --------------------------------------------------------------------------- ambiences (stereo)


def _stereo(rng, sr: int, seconds: float, make: Callable[[np.random.Generator, int], np.ndarray],
            spread: float = 0.7) -> np.ndarray:
    """Two channels sharing ``1 - spread`` of one bed and each with its own."""
    n = _n(sr, seconds)
    common = make(np.random.default_rng(int(rng.integers(2**63))), n)
    left = make(np.random.default_rng(int(rng.integers(2**63))), n)
    right = make(np.random.default_rng(int(rng.integers(2**63))), n)
    x = np.stack([(1 - spread) * common + spread * left, (1 - spread) * common + spread * right], axis=1)
    x *= _ramp(n, sr, 0.4, 0.4)[:, None]
    return x


def desert_ambience(rng, sr: int, seconds: float = 10.0, gusts: float = 1.0) -> np.ndarray:
    def bed(g, n):
        wind = _band(_brown(g, n, sr), sr, 40, 500)
        wind /= np.std(wind) + 1e-9
        gust = 0.35 + 0.65 * _smooth_random(g, n, sr, 0.4 * gusts)
        sand = _band(_noise(g, n), sr, 3500, 9000) * 0.15
        return (wind * 0.3 + sand) * gust
    return _normal(_stereo(rng, sr, seconds, bed), rng.uniform(0.4, 0.6))


def workshop_ambience(rng, sr: int, seconds: float = 8.0, machine: float = 1.0) -> np.ndarray:
    mains = 60.0 if rng.random() < 0.5 else 50.0

    def bed(g, n):
        tone = _band(_noise(g, n), sr, 80, 2000) * 0.08
        hum = _harmonics(mains, sr, n, 5, tilt=1.0, rng=g) * 0.05 * machine
        hum *= 0.8 + 0.2 * _smooth_random(g, n, sr, 0.3)
        clanks = np.zeros(n)
        for _ in range(int(n / sr / 3)):
            m = _n(sr, 0.25)
            tt = np.arange(m) / sr
            ring = np.sin(2 * np.pi * g.uniform(600, 1600) * tt) * _decay(m, sr, 0.06)
            _add(clanks, int(g.integers(n)), 0.1 * ring)
        return tone + hum + clanks
    return _normal(_stereo(rng, sr, seconds, bed, spread=0.5), rng.uniform(0.35, 0.55))


def snowfield_ambience(rng, sr: int, seconds: float = 10.0, whistle: float = 1.0) -> np.ndarray:
    def bed(g, n):
        low = _band(_brown(g, n, sr), sr, 30, 250)
        low /= np.std(low) + 1e-9
        centre = g.uniform(700, 1100)
        whine = _band(_noise(g, n), sr, centre * 0.94, centre * 1.06, order=2)
        whine /= np.std(whine) + 1e-9
        gust = _smooth_random(g, n, sr, 0.3) ** 2
        return 0.15 * low + 0.12 * whistle * whine * gust
    return _normal(_stereo(rng, sr, seconds, bed, spread=0.8), rng.uniform(0.25, 0.4))


def office_ambience(rng, sr: int, seconds: float = 8.0, chatter: float = 1.0) -> np.ndarray:
    def bed(g, n):
        hvac = _band(_noise(g, n), sr, 60, 900) * 0.2
        hum = _osc(120.0, sr, n) * 0.02
        keys = np.zeros(n)
        at = 0
        while True:
            at += int(sr * g.exponential(0.25))
            if at >= n:
                break
            m = _n(sr, 0.012)
            _add(keys, at, _band(_noise(g, m), sr, 2000, 6000) * _decay(m, sr, 0.003) * 0.25)
        t = np.arange(n) / sr
        murmur = _band(_noise(g, n), sr, 250, 2500) * (0.5 + 0.5 * np.sin(2 * np.pi * 4.0 * t + g.uniform(0, 6)))
        murmur *= _smooth_random(g, n, sr, 0.5) * 0.06 * chatter
        return hvac + hum + keys + murmur
    return _normal(_stereo(rng, sr, seconds, bed, spread=0.6), rng.uniform(0.35, 0.5))


def harbour_ambience(rng, sr: int, seconds: float = 12.0, gulls: float = 1.0) -> np.ndarray:
    def bed(g, n):
        water = _band(_noise(g, n), sr, 200, 1400)
        water /= np.std(water) + 1e-9
        laps = np.zeros(n)
        at = 0
        while at < n:
            m = _n(sr, g.uniform(0.3, 0.6))
            laps[at:at + m] += np.sin(np.pi * np.linspace(0, 1, m))[: n - at] * g.uniform(0.4, 1.0)
            at += m + int(sr * g.uniform(0.2, 0.9))
        out = 0.25 * water * (0.3 + laps)
        for _ in range(int(n / sr / 5 * gulls)):  # distant gulls
            m = _n(sr, 0.35)
            u = np.linspace(0, 1, m)
            cry = _harmonics(1800 - 700 * u, sr, m, 3, tilt=1.5, rng=g) * np.sin(np.pi * u)
            _add(out, int(g.integers(n)), 0.06 * cry)
        return out
    return _normal(_stereo(rng, sr, seconds, bed, spread=0.7), rng.uniform(0.4, 0.6))


AMBIENCES: dict[str, Callable] = {
    "desert_ambience": desert_ambience, "workshop_ambience": workshop_ambience,
    "snowfield_ambience": snowfield_ambience, "office_ambience": office_ambience,
    "harbour_ambience": harbour_ambience,
}


# --------------------------------------------------------------------------- film sound


def performance(rng: np.random.Generator, sound_class: str, sr: int, seconds: float) -> np.ndarray:
    """``seconds`` of what a thing of ``sound_class`` on screen sounds like (mono).

    Running sources sound the whole time; hits (hammer, chime, meow, croak)
    come at intervals across the span.
    """
    n = _n(sr, seconds)
    out = np.zeros(n, np.float32)
    if sound_class == "snake_hiss":
        x = snake_hiss(rng, sr, seconds, rattle=rng.random() < 0.3)
    elif sound_class == "kettle_whistle":
        x = kettle_whistle(rng, sr, seconds, pitch=rng.uniform(1800, 2400))
    elif sound_class == "fan_hum":
        x = fan_hum(rng, sr, seconds)
    elif sound_class == "horse_gallop":
        x = horse_gallop(rng, sr, seconds, gait="gallop" if rng.random() < 0.6 else "trot")
    elif sound_class == "saw_cutting":
        x = saw_cutting(rng, sr, seconds)
    elif sound_class == "helicopter_rotor":
        x = helicopter_rotor(rng, sr, seconds)
    elif sound_class == "ship_horn":
        x = ship_horn(rng, sr, max(1.0, min(seconds - 0.8, 4.0)))
    else:
        makers = {"cat_meow": lambda: cat_meow(rng, sr, 1),
                  "frog_croak": lambda: frog_croak(rng, sr, 2),
                  "hammer_hit": lambda: hammer_hit(rng, sr, 3, 0.45),
                  "chime_ring": lambda: chime_ring(rng, sr, 2.0, 3)}
        if sound_class not in makers:
            raise ValueError(f"unknown sound class {sound_class!r}")
        at = rng.uniform(0.1, 0.4)
        while at < seconds - 0.3:
            hit = makers[sound_class]()
            _add(out, _n(sr, at), hit)
            at += len(hit) / sr + rng.uniform(0.4, 1.2)
        return out
    _add(out, 0, x)
    return out
