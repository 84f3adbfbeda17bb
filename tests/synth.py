"""Synthetic test media: a small, realistic SFX library made with numpy.

``make_library(root)`` writes sounds named and organised the way commercial
libraries are (UCS names, category folders, a CSV sidecar, a BWF description)
in the formats found in the wild, and returns what a scan should report for
each file. The signals are crude imitations (a noise burst with glassy
partials, knocks, a barking tone pattern...), good enough to look and sound
like the real thing in a spectrogram and in end-to-end tests.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import lfilter

# --------------------------------------------------------------------------- RIFF helpers


def riff_chunk(chunk_id: bytes, payload: bytes) -> bytes:
    """One RIFF chunk: id, little-endian size, payload, pad byte if odd."""
    return chunk_id + struct.pack("<I", len(payload)) + payload + (b"\0" if len(payload) % 2 else b"")


def bext_payload(description: str | bytes, originator: str = "autofoley tests",
                 coding_history: str = "") -> bytes:
    """A BWF bext chunk body (EBU Tech 3285 v2 layout, 602 bytes + history)."""
    desc = description.encode("latin-1") if isinstance(description, str) else description
    return (desc[:256].ljust(256, b"\0")
            + originator.encode("ascii")[:32].ljust(32, b"\0")  # Originator
            + b"\0" * 32  # OriginatorReference
            + b"2024-01-01" + b"12:00:00"  # OriginationDate, OriginationTime
            + struct.pack("<II", 0, 0)  # TimeReference low, high (samples)
            + struct.pack("<H", 2)  # Version
            + b"\0" * 64  # UMID
            + b"\0" * 10  # loudness values
            + b"\0" * 180  # reserved
            + coding_history.encode("ascii"))


def info_payload(**fields: str) -> bytes:
    """A LIST chunk body of type INFO, e.g. info_payload(INAM="title")."""
    body = b"INFO"
    for key, value in fields.items():
        body += riff_chunk(key.encode("ascii"), value.encode("latin-1") + b"\0")
    return body


def fmt_payload(sample_rate: int, channels: int, bits: int = 16) -> bytes:
    block = channels * bits // 8
    return struct.pack("<HHIIHH", 1, channels, sample_rate, sample_rate * block, block, bits)


def pcm16(data: np.ndarray) -> bytes:
    """(frames, channels) float in [-1, 1] -> interleaved 16-bit PCM bytes."""
    return (np.clip(data, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def wav_bytes(data: np.ndarray, sample_rate: int, before_data: tuple[bytes, ...] = (),
              after_data: tuple[bytes, ...] = ()) -> bytes:
    """A 16-bit PCM RIFF WAV with extra (already framed) chunks around ``data``."""
    data = data[:, None] if data.ndim == 1 else data
    body = (b"WAVE" + riff_chunk(b"fmt ", fmt_payload(sample_rate, data.shape[1]))
            + b"".join(before_data) + riff_chunk(b"data", pcm16(data)) + b"".join(after_data))
    return b"RIFF" + struct.pack("<I", len(body)) + body


def write_bwf(path: Path, data: np.ndarray, sample_rate: int, description: str) -> None:
    """A Broadcast WAV (16-bit) whose bext Description is ``description``."""
    path.write_bytes(wav_bytes(data, sample_rate, (riff_chunk(b"bext", bext_payload(description)),)))


# --------------------------------------------------------------------------- signals


def _t(sr: int, dur: float) -> np.ndarray:
    return np.arange(int(round(sr * dur))) / sr


def _decay(t: np.ndarray, start: float, tau: float) -> np.ndarray:
    """Exponential decay from ``start`` seconds, zero before it."""
    return np.where(t >= start, np.exp(-np.clip(t - start, 0, None) / tau), 0.0)


def _norm(x: np.ndarray, peak: float = 0.5) -> np.ndarray:
    return x * (peak / max(np.max(np.abs(x)), 1e-9))


def _stereo(x: np.ndarray, rng: np.random.Generator, width: float = 0.15) -> np.ndarray:
    """Mono -> (frames, 2) with a little decorrelated noise for width."""
    side = width * np.std(x) * rng.standard_normal(len(x))
    return np.stack([x + side, x - side], axis=1)


def _lowpass(x: np.ndarray, alpha: float) -> np.ndarray:
    """One-pole low-pass; alpha near 1 = darker."""
    return lfilter([1 - alpha], [1, -alpha], x)


def glass_break(sr: int, rng: np.random.Generator, dur: float = 1.2) -> np.ndarray:
    t = _t(sr, dur)
    x = rng.standard_normal(len(t)) * _decay(t, 0.05, 0.04)
    for _ in range(12):  # glassy inharmonic partials ringing out
        f = rng.uniform(2500, 9000)
        x += 0.3 * np.sin(2 * np.pi * f * t) * _decay(t, 0.05, rng.uniform(0.05, 0.3))
    for start in rng.uniform(0.25, 1.0, 6):  # falling shards
        x += 0.2 * np.sin(2 * np.pi * rng.uniform(3000, 7000) * t) * _decay(t, start, 0.02)
    return _norm(x)


def door_knock(sr: int, rng: np.random.Generator, dur: float = 1.5) -> np.ndarray:
    t = _t(sr, dur)
    x = np.zeros_like(t)
    for start in (0.10, 0.42, 0.74):
        x += np.sin(2 * np.pi * 180 * t) * _decay(t, start, 0.03)
        x += 0.5 * rng.standard_normal(len(t)) * _decay(t, start, 0.004)
    return _norm(x)


def dog_bark(sr: int, rng: np.random.Generator, dur: float = 1.0) -> np.ndarray:
    t = _t(sr, dur)
    x = np.zeros_like(t)
    for start in (0.05, 0.45):
        local = np.clip(t - start, 0, None)
        f0 = 350 + 300 * np.exp(-local / 0.06)  # pitch falls through the bark
        phase = 2 * np.pi * np.cumsum(f0) / sr
        env = (t >= start) * (1 - np.exp(-local / 0.008)) * np.exp(-local / 0.09)
        x += env * sum(np.sin(k * phase) / k for k in range(1, 7))
        x += 0.2 * env * rng.standard_normal(len(t))
    return _norm(x)


def engine_hum(sr: int, rng: np.random.Generator, dur: float = 2.5) -> np.ndarray:
    t = _t(sr, dur)
    firing = 1 + 0.4 * np.sin(2 * np.pi * 25 * t)
    x = firing * sum(np.sin(2 * np.pi * 42 * k * t) / k for k in range(1, 8))
    x += 0.3 * _lowpass(rng.standard_normal(len(t)), 0.97)
    return _norm(x)


def _chirps(sr: int, t: np.ndarray, starts, rng: np.random.Generator) -> np.ndarray:
    x = np.zeros_like(t)
    for start in starts:
        local = t - start
        inside = (local >= 0) & (local < 0.06)
        f = rng.uniform(3000, 4000) + 1500 * local / 0.06  # upward sweep
        envelope = np.sin(np.pi * np.clip(local / 0.06, 0, 1))
        x += inside * envelope * np.sin(2 * np.pi * np.cumsum(f * inside) / sr)
    return x


def bird_chirps(sr: int, rng: np.random.Generator, dur: float = 1.0) -> np.ndarray:
    t = _t(sr, dur)
    return _norm(_chirps(sr, t, (0.05, 0.15, 0.25, 0.6, 0.7), rng))


def forest_bed(sr: int, rng: np.random.Generator, dur: float = 4.0) -> np.ndarray:
    t = _t(sr, dur)
    air = _lowpass(rng.standard_normal(len(t)), 0.9)
    return _norm(air + 0.5 * _chirps(sr, t, np.sort(rng.uniform(0, dur - 0.1, 10)), rng), 0.3)


def city_traffic(sr: int, rng: np.random.Generator, dur: float = 4.0) -> np.ndarray:
    t = _t(sr, dur)
    rumble = _lowpass(rng.standard_normal(len(t)), 0.995)
    swell = 1 + 0.5 * np.sin(2 * np.pi * 0.3 * t)  # a car passing now and then
    return _norm(rumble * swell, 0.3)


def whoosh(sr: int, rng: np.random.Generator, dur: float = 0.6) -> np.ndarray:
    t = _t(sr, dur)
    noise = rng.standard_normal(len(t))
    return _norm(_lowpass(noise, 0.8) * np.sin(np.pi * t / dur) ** 2)


def metal_clang(sr: int, rng: np.random.Generator, dur: float = 0.8) -> np.ndarray:
    t = _t(sr, dur)
    x = sum(np.sin(2 * np.pi * f * t) * _decay(t, 0.02, 0.25) for f in (523, 1187, 1931, 2811))
    return _norm(x + 0.3 * rng.standard_normal(len(t)) * _decay(t, 0.02, 0.005))


# --------------------------------------------------------------------------- library

# (relative path, synth, seconds, rate Hz, stereo, soundfile format, subtype,
#  expected category, expected kind, a word the description must contain)
_SOUNDS = [
    ("Glass/GLASBrk_Bottle Smash Concrete_AF_SynthFX.wav", glass_break, 1.2, 48000, True,
     "WAV", "PCM_24", "GLASS", "sfx", "shatter"),
    ("Doors/DOORWood_Door Knock Three Times_AF_SynthFX.wav", door_knock, 1.5, 44100, False,
     "BWF", "PCM_16", "DOORS", "sfx", "knuckles"),
    ("Animals/ANMLDog_Dog Bark Medium_AF_SynthFX.flac", dog_bark, 1.0, 48000, False,
     "FLAC", "PCM_16", "ANIMALS", "sfx", "bark"),
    ("Vehicles/VEHCar_Engine Idle Hum_AF_SynthFX.ogg", engine_hum, 2.5, 44100, True,
     "OGG", "VORBIS", "VEHICLES", "sfx", "engine"),
    ("Birds/BIRDSong_Bird Chirps Short_AF_SynthFX.wav", bird_chirps, 1.0, 48000, True,
     "WAV", "FLOAT", "BIRDS", "sfx", "chirps"),
    ("Metal/metal_clang-02.wav", metal_clang, 0.8, 44100, False,
     "WAV", "PCM_16", "METAL", "sfx", "clang"),
    ("Whoosh Fast.wav", whoosh, 0.6, 48000, False,
     "WAV", "PCM_16", "UNCATEGORIZED", "sfx", "whoosh"),
    ("Ambience/AMBForst_Morning Birds Distant_AF_SynthFX.flac", forest_bed, 4.0, 48000, True,
     "FLAC", "PCM_24", "AMBIENCE", "ambience", "birds"),
    ("Ambience/City Traffic Rumble.wav", city_traffic, 4.0, 44100, True,
     "WAV", "PCM_16", "AMBIENCE", "ambience", "traffic"),
]

BEXT_DESCRIPTION = "Knuckles knocking on a wooden door, three knocks, close mic"

# Library-style sidecar: mixed-case headers, semicolon-separated tags, one row
# by relative path, one by bare file name.
LIBRARY_CSV = (
    "File,Description,Tags,Category,Kind\n"
    "Glass/GLASBrk_Bottle Smash Concrete_AF_SynthFX.wav,,glass; bottle; smash; shatter,GLASS,\n"
    "City Traffic Rumble.wav,,city; traffic; rumble; distant cars,,atmos\n"
)


def make_library(root: Path, sr_variants: bool = True) -> dict[Path, dict]:
    """Write the synthetic library under ``root`` and describe it.

    ``sr_variants`` mixes 44.1 and 48 kHz files; False writes all at 48 kHz.
    Returns {absolute path: {"category", "kind", "sample_rate", "channels",
    "duration" (seconds), "format", "subtype", "word"}}, where "word" is a
    word the scanned description must contain. Also writes ``library.csv``.
    """
    root = Path(root)
    rng = np.random.default_rng(1234)
    written: dict[Path, dict] = {}
    for (rel, synth, dur, sr, stereo, fmt, subtype, category, kind, word) in _SOUNDS:
        sr = sr if sr_variants else 48000
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        mono = synth(sr, rng, dur)
        data = _stereo(mono, rng) if stereo else mono[:, None]
        if fmt == "BWF":
            write_bwf(path, data, sr, BEXT_DESCRIPTION)
        else:
            sf.write(str(path), data, sr, format=fmt, subtype=subtype)
        written[path.resolve()] = {
            "category": category, "kind": kind, "sample_rate": sr, "channels": data.shape[1],
            "duration": len(mono) / sr, "format": "WAV" if fmt == "BWF" else fmt,
            "subtype": subtype, "word": word,
        }
    (root / "library.csv").write_text(LIBRARY_CSV, encoding="utf-8")
    return written
