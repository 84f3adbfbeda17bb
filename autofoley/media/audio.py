"""Decode sound files to float32 arrays at a chosen rate.

libsndfile (soundfile) reads WAV/AIFF/FLAC/OGG/MP3 of any bit depth without a
subprocess; anything it cannot open goes through an ffmpeg pipe. Resampling is
polyphase (scipy), exact for the usual 44.1/48/96 kHz ratios.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from autofoley.errors import InputError
from autofoley.media.probe import tool

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
        i = sf.info(str(path))
        if i.frames > 0:
            return AudioInfo(int(i.samplerate), int(i.channels), int(i.frames))
    except (sf.LibsndfileError, RuntimeError, OSError):
        pass
    return _ffprobe_info(path)


def load_audio(path: str | Path, sr: int = 48000, offset: float = 0.0,
               duration: float | None = None) -> np.ndarray:
    """Decode ``duration`` seconds from ``offset`` at ``sr`` Hz.

    Returns float32 of shape (channels, samples); an empty read gives
    (channels, 0). Raises InputError naming the file when it cannot be decoded.
    """
    path = Path(path)
    try:
        data, file_sr = _read_soundfile(path, offset, duration)
    except (sf.LibsndfileError, RuntimeError, OSError):
        data, file_sr = _read_ffmpeg(path, offset, duration)
    if file_sr != sr and data.shape[1]:
        ratio = Fraction(sr, file_sr).limit_denominator(1000)
        data = resample_poly(data, ratio.numerator, ratio.denominator, axis=1).astype(np.float32)
    return np.ascontiguousarray(data, dtype=np.float32)


def to_stereo(data: np.ndarray) -> np.ndarray:
    """Mono -> both sides; stereo as is; more channels -> L/R of a plain average
    of the odd and even channels (no layout is assumed)."""
    if data.shape[0] == 1:
        return np.repeat(data, 2, axis=0)
    if data.shape[0] == 2:
        return data
    return np.stack([data[0::2].mean(axis=0), data[1::2].mean(axis=0)])


def _read_soundfile(path: Path, offset: float, duration: float | None) -> tuple[np.ndarray, int]:
    with sf.SoundFile(str(path)) as f:
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
    proc = subprocess.run(args, capture_output=True, stdin=subprocess.DEVNULL)
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
    proc = subprocess.run(args, capture_output=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise InputError("audio could not be decoded", path,
                         "re-export it as WAV or FLAC, or remove it from the library")
    data = np.frombuffer(proc.stdout, dtype=np.float32)
    data = data[: len(data) - len(data) % info.channels].reshape(-1, info.channels).T
    return data, info.sample_rate
