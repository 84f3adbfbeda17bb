"""Decode sound files to float32 arrays at a chosen rate.

libsndfile (soundfile) reads WAV/AIFF/FLAC/OGG/MP3 of any bit depth without a
subprocess; anything it cannot open goes through an ffmpeg pipe. Resampling is
polyphase (scipy), exact for the usual 44.1/48/96 kHz ratios.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf

from autofoley.errors import InputError
from autofoley.media.probe import PROBE_TIMEOUT_S, capture, tool

log = logging.getLogger("autofoley")

# A file whose loudest sample stays below this holds no sound worth placing
# (dither, hum of an empty track); every ranking path skips it, saying so.
AUDIBLE_FLOOR_DBFS = -70.0

AUDIO_EXTENSIONS = (".wav", ".wave", ".bwf", ".aif", ".aiff", ".aifc", ".flac", ".ogg", ".oga",
                    ".opus", ".mp3", ".m4a")


@dataclass(frozen=True)
class AudioInfo:
    sample_rate: int
    channels: int
    frames: int

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0


def audio_info(path: str | Path) -> AudioInfo:
    """Rate, channel count and length of a sound file; InputError if unreadable."""
    path = Path(path)
    try:
        with _open(path) as f:
            if f.frames > 0:
                return AudioInfo(int(f.samplerate), int(f.channels), int(f.frames))
    except (sf.LibsndfileError, RuntimeError, OSError):
        pass
    return _ffprobe_info(path)


def _open(path: Path) -> sf.SoundFile:
    """libsndfile on ``path``; through an open file when the name is not
    valid in the file system's encoding (libsndfile takes only encodable
    names, and a library copied from another system may hold such names)."""
    try:
        return sf.SoundFile(str(path))
    except UnicodeEncodeError:
        return sf.SoundFile(open(path, "rb"))  # noqa: SIM115 - SoundFile closes it


def peak_dbfs(path: str | Path, floor_db: float = AUDIBLE_FLOOR_DBFS,
              block: int = 1 << 16) -> float:
    """The file's peak level in dBFS, or at least ``floor_db``'s worth: the
    read stops at the first block that reaches the floor, so an ordinary
    sound costs one block. ``-inf`` for digital silence. InputError when the
    file cannot be decoded."""
    path = Path(path)
    floor = 10 ** (floor_db / 20)
    peak = 0.0
    try:
        with _open(path) as f:
            for chunk in f.blocks(blocksize=block, dtype="float32", always_2d=True):
                finite = chunk[np.isfinite(chunk)]
                if finite.size:
                    peak = max(peak, float(np.max(np.abs(finite))))
                if peak >= floor:
                    break
    except (sf.LibsndfileError, RuntimeError, OSError):
        data = load_audio(path, 8000)
        peak = float(np.max(np.abs(data))) if data.size else 0.0
    return 20 * math.log10(peak) if peak > 0 else -math.inf


def audibility(path: str | Path, floor_db: float = AUDIBLE_FLOOR_DBFS) -> str | None:
    """Why the file holds nothing to place ("silent", "too quiet"), or None
    when it has sound above ``floor_db``."""
    level = peak_dbfs(path, floor_db)
    if level == -math.inf:
        return "silent (every sample is zero)"
    if level < floor_db:
        return f"too quiet (peak {level:.0f} dBFS, below the {floor_db:g} dBFS floor)"
    return None


def load_audio(path: str | Path, sr: int = 48000, offset: float = 0.0,
               duration: float | None = None) -> np.ndarray:
    """Decode ``duration`` seconds from ``offset`` at ``sr`` Hz.

    Returns float32 of shape (channels, samples); an empty read gives
    (channels, 0). Raises InputError naming the file when it cannot be decoded.
    """
    data, file_sr = load_native(path, offset, duration)
    if file_sr != sr and data.shape[1]:
        from scipy.signal import (
            resample_poly,  # here: importing scipy.signal takes seconds
        )

        ratio = Fraction(sr, file_sr).limit_denominator(1000)
        data = resample_poly(data, ratio.numerator, ratio.denominator, axis=1).astype(np.float32)
    return np.ascontiguousarray(data, dtype=np.float32)


def load_native(path: str | Path, offset: float = 0.0,
                duration: float | None = None) -> tuple[np.ndarray, int]:
    """(float32 (channels, samples), the file's own rate): ``load_audio``
    without resampling, for what does not need a given rate (an envelope)."""
    path = Path(path)
    try:
        data, file_sr = _read_soundfile(path, offset, duration)
    except (sf.LibsndfileError, RuntimeError, OSError):
        data, file_sr = _read_ffmpeg(path, offset, duration)
    if not np.isfinite(data).all():
        # Float files can hold NaN or Inf (a crashed render): they would click
        # at full scale in the mix and defeat its peak normalisation.
        log.warning("%s: NaN or infinite samples replaced by silence", path)
        data = np.nan_to_num(data, nan=0.0, posinf=0.0, neginf=0.0)
    return data, file_sr


def frame_rms(mono: np.ndarray, sr: int, frame: float) -> tuple[np.ndarray, int]:
    """RMS of each ``frame``-second frame of a mono signal (the last one
    padded with silence) and the frame's length in samples: the level
    envelope takes splitting and sustain classification read."""
    x = np.asarray(mono, np.float32).reshape(-1)
    hop = max(1, int(round(frame * sr)))
    n = -(-len(x) // hop)
    frames = np.zeros(n * hop, np.float32)
    frames[:len(x)] = x
    return np.sqrt(np.mean(frames.reshape(n, hop).astype(np.float64) ** 2, axis=1)), hop


def to_stereo(data: np.ndarray) -> np.ndarray:
    """Mono -> both sides; stereo as is; more channels -> L/R of a plain average
    of the odd and even channels (no layout is assumed)."""
    if data.shape[0] == 1:
        return np.repeat(data, 2, axis=0)
    if data.shape[0] == 2:
        return data
    return np.stack([data[0::2].mean(axis=0), data[1::2].mean(axis=0)])


def _read_soundfile(path: Path, offset: float, duration: float | None) -> tuple[np.ndarray, int]:
    with _open(path) as f:
        rate = f.samplerate
        start = int(round(offset * rate))
        if start:
            f.seek(min(start, f.frames))
        frames = -1 if duration is None else int(round(duration * rate))
        data = f.read(frames=frames, dtype="float32", always_2d=True)
    return data.T, rate


def _ffprobe_info(path: Path) -> AudioInfo:
    args = [tool("ffprobe"), "-v", "error", "-select_streams", "a:0", "-show_entries",
            "stream=sample_rate,channels,duration:format=duration", "-of", "default=nw=1", str(path)]
    proc = capture(args, PROBE_TIMEOUT_S, path)
    values: dict[str, str] = {}
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition("=")
        # Matroska/WebM streams report duration=N/A: fall back to the format's.
        if value != "N/A":
            values.setdefault(key, value)
    try:
        rate, channels = int(values["sample_rate"]), int(values["channels"])
        duration = float(values.get("duration", "nan"))
    except (KeyError, ValueError):
        raise InputError("not an audio file that can be decoded", path,
                         "re-export it as WAV or FLAC, or remove it from the library") from None
    if not duration > 0:
        raise InputError("audio file is empty", path, "remove it from the library")
    return AudioInfo(rate, channels, int(duration * rate))


def _read_ffmpeg(path: Path, offset: float, duration: float | None) -> tuple[np.ndarray, int]:
    info = _ffprobe_info(path)
    args = [tool("ffmpeg"), "-v", "error", "-nostdin"]
    if offset:
        args += ["-ss", f"{offset:.6f}"]
    args += ["-i", str(path)]
    if duration is not None:
        args += ["-t", f"{duration:.6f}"]
    args += ["-map", "0:a:0", "-f", "f32le", "-acodec", "pcm_f32le", "-"]
    # Decoding runs at hundreds of times real time; allow for slow disks.
    length = duration if duration is not None else info.frames / max(info.sample_rate, 1)
    proc = capture(args, 60.0 + length, path)
    if proc.returncode != 0:
        raise InputError("audio could not be decoded", path,
                         "re-export it as WAV or FLAC, or remove it from the library")
    data = np.frombuffer(proc.stdout, dtype=np.float32)
    data = data[: len(data) - len(data) % info.channels].reshape(-1, info.channels).T
    return data, info.sample_rate
