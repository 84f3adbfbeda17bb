"""Render placements to a stereo WAV mix (and optional stems), block by block.

A 2-hour film at 48 kHz is 1.3 GB of float stereo, so the mix is never held
whole: it is summed in blocks of ``block_seconds``. Pass 1 sums every block to
find the peak; pass 2 sums them again and writes them with one global gain.
Decoded sounds are kept in a byte-bounded cache so each (file, in-point,
length) is normally decoded once per render, not once per block and pass.

Ambience beds longer than their file arrive already split by the caller into
consecutive placements, each with its own fades on the loop boundaries; this
module plays placements as given and never loops or crossfades by itself.
"""

from __future__ import annotations

import contextlib
import math
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import soundfile as sf

from autofoley.atomic import atomic_path
from autofoley.errors import InputError
from autofoley.media.audio import load_audio, to_stereo
from autofoley.output.timeline import file_in
from autofoley.records import Placement

STEMS = ("sfx", "ambience")  # stem index = role index
DEFAULT_FADE = 0.010  # seconds at both ends when a placement sets none: no clicks
CACHE_BYTES = 512 * 2**20  # decoded audio kept between blocks and passes
_WAV_LIMIT = 2**32 - 2**20  # bytes of data a plain RIFF/WAV header can describe


@dataclass(frozen=True)
class MixReport:
    """What ``render_mix`` wrote. Levels in dBFS / dB; ``samples`` per channel."""

    path: Path
    samples: int
    sample_rate: int  # Hz
    peak_dbfs_before: float  # sample peak of the summed mix before the gain (-inf if silent)
    gain_db_applied: float  # 0.0 or negative: the mix is never boosted
    stems: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)


@dataclass(frozen=True)
class _Voice:
    """One placement, resolved to samples."""

    key: tuple[str, float, float]  # (file, in-point s, length s): what to decode
    start: int  # first sample on the mix
    length: int  # samples it may play (its decoded audio can be shorter)
    gain: float  # linear: placement gain + role gain
    fade_in: int  # samples
    fade_out: int  # samples
    stem: int  # index into STEMS
    pan: tuple[tuple[int, float], ...] = ()  # (sample from start, -1..+1) keyframes; () centre


def render_mix(placements: list[Placement], duration: float, out_path: Path, sr: int = 48000,
               ambience_gain_db: float = -12.0, sfx_gain_db: float = 0.0,
               stems_dir: Path | None = None, peak_dbfs: float = -1.0,
               block_seconds: float = 30.0,
               progress: Callable[[int, int], None] | None = None) -> MixReport:
    """Mix ``placements`` into a stereo 24-bit WAV of ``duration`` seconds at ``sr`` Hz.

    The file holds exactly ``round(duration * sr)`` samples per channel. Each
    sound plays from its file at ``sound.offset + source_in`` for the
    placement's duration, with ``gain_db`` plus the role gain (dB) and linear
    fades (``fade_in``/``fade_out`` seconds; 10 ms at each end when both are 0).

    Level control is normalisation, not a limiter: when the summed peak would
    pass ``peak_dbfs`` the whole mix is turned down by one constant gain, else
    it is left as is (never boosted). A limiter would pump on loud hits and
    change the balance between sounds; one gain keeps every sound's relative
    level, which the editor set with ``gain_db``. With ``stems_dir`` the stems
    ``sfx.wav`` and ``ambience.wav`` get the same gain so they sum to the mix,
    and the gain also keeps each stem under ``peak_dbfs``.

    A sound that cannot be decoded (InputError) is left out and listed in
    ``MixReport.skipped``; the mix goes on. ``progress(done, total)`` is called
    after each block of each pass. Files are written atomically.
    """
    if duration <= 0 or sr <= 0 or block_seconds <= 0:
        raise ValueError("duration, sr and block_seconds must be positive")
    total = int(round(duration * sr))
    block = max(1, int(round(block_seconds * sr)))
    role_gain = {"sfx": sfx_gain_db, "ambience": ambience_gain_db}
    voices = [_voice(p, sr, role_gain) for p in placements]
    sounds = _SoundCache(sr)
    want_stems = stems_dir is not None
    n_blocks = max(1, math.ceil(total / block))
    ticks = _Ticker(progress, 2 * n_blocks)

    # Pass 1: the loudest sample of the mix (and of each stem, which must not
    # clip either once the common gain is applied).
    mix_peak = loudest = 0.0
    for b0 in range(0, total, block):
        stems = _render_block(voices, sounds, b0, min(b0 + block, total))
        mix_peak = max(mix_peak, _peak(stems.sum(axis=0)))
        loudest = max(loudest, mix_peak)
        if want_stems:
            loudest = max(loudest, *(_peak(s) for s in stems))
        ticks()
    ceiling = 10.0 ** (peak_dbfs / 20.0)
    gain = ceiling / loudest if loudest > ceiling else 1.0

    # Pass 2: the same blocks, turned down by the one gain, straight to disk.
    out_path = Path(out_path)
    stem_paths = [Path(stems_dir) / f"{name}.wav" for name in STEMS] if want_stems else []
    with contextlib.ExitStack() as stack:
        # All temporaries rename into place together on success, none on failure.
        tmps = [stack.enter_context(atomic_path(p, suffix=".wav")) for p in [out_path, *stem_paths]]
        writers = [stack.enter_context(_wav_writer(t, sr, total)) for t in tmps]
        for b0 in range(0, total, block):
            stems = _render_block(voices, sounds, b0, min(b0 + block, total)) * gain
            _write(writers[0], stems.sum(axis=0))
            for writer, stem in zip(writers[1:], stems):
                _write(writer, stem)
            ticks()

    return MixReport(
        path=out_path,
        samples=total,
        sample_rate=sr,
        peak_dbfs_before=20.0 * math.log10(mix_peak) if mix_peak > 0 else float("-inf"),
        gain_db_applied=20.0 * math.log10(gain),
        stems=stem_paths,
        skipped=sounds.skipped,
    )


def _voice(p: Placement, sr: int, role_gain: dict[str, float]) -> _Voice:
    if p.role not in role_gain:
        raise ValueError(f"placement of {p.sound.path.name} has unknown role {p.role!r}")
    fade_in, fade_out = p.fade_in, p.fade_out
    if fade_in <= 0 and fade_out <= 0:
        fade_in = fade_out = DEFAULT_FADE
    return _Voice(
        key=(str(p.sound.path), round(file_in(p), 6), round(p.duration, 6)),
        start=int(round(p.start * sr)),
        length=max(0, int(round(p.duration * sr))),
        gain=10.0 ** ((p.gain_db + role_gain[p.role]) / 20.0),
        fade_in=max(0, int(round(fade_in * sr))),
        fade_out=max(0, int(round(fade_out * sr))),
        stem=STEMS.index(p.role),
        pan=tuple((int(round(t * sr)), float(v)) for t, v in p.pan),
    )


def _render_block(voices: list[_Voice], sounds: "_SoundCache", b0: int, b1: int) -> np.ndarray:
    """Samples [b0, b1) of every stem: float32 (stems, 2, b1 - b0), before the gain."""
    out = np.zeros((len(STEMS), 2, b1 - b0), dtype=np.float32)
    for v in voices:
        if v.length <= 0 or v.start >= b1 or v.start + v.length <= b0:
            continue
        audio = sounds.get(v.key)
        if audio is None:
            continue
        n = min(v.length, audio.shape[1])
        i0, i1 = max(0, b0 - v.start), min(n, b1 - v.start)
        if i1 <= i0:
            continue
        chunk = audio[:, i0:i1] * np.float32(v.gain)
        _fade(chunk, i0, n, v.fade_in, v.fade_out)
        if v.pan:
            _pan(chunk, i0, v.pan)
        out[v.stem, :, v.start + i0 - b0: v.start + i1 - b0] += chunk
    return out


def _fade(chunk: np.ndarray, i0: int, n: int, fade_in: int, fade_out: int) -> None:
    """Apply, in place, linear ramps from 0 over the first ``fade_in`` samples and
    to 0 over the last ``fade_out`` samples of an ``n``-sample sound, of which
    ``chunk`` holds samples ``i0`` onwards. Where the ramps overlap the lower wins.

    Only the samples inside a ramp are touched: a 60 s ambience bed costs
    nothing between its fades.
    """
    i1 = i0 + chunk.shape[1]
    fade_in, fade_out = min(fade_in, n), min(fade_out, n)
    # Ramp regions [0, fade_in) and [n - fade_out, n); one span if they overlap.
    spans = [(0, fade_in), (n - fade_out, n)] if fade_in + fade_out <= n else [(0, n)]
    for a, b in spans:
        a, b = max(a, i0), min(b, i1)
        if b <= a:
            continue
        i = np.arange(a, b, dtype=np.float64)
        env = np.ones(b - a)
        if fade_in:
            env = np.minimum(env, i / fade_in)
        if fade_out:
            env = np.minimum(env, (n - 1 - i) / fade_out)
        chunk[:, a - i0: b - i0] *= env.astype(np.float32)


def _pan(chunk: np.ndarray, i0: int, keys: tuple[tuple[int, float], ...]) -> None:
    """Pan, in place, the stereo ``chunk`` (samples ``i0`` onwards of its
    sound) along the keyframes, linear between them, held past the ends.

    Equal power, scaled so the centre is unity (what an unpanned sound
    plays at): left gain sqrt(2) cos(theta), right sqrt(2) sin(theta),
    theta = (pan + 1) pi / 4. A sound crossing the frame keeps its loudness.
    """
    at, value = np.array([k[0] for k in keys], np.float64), np.array([k[1] for k in keys])
    i = np.arange(i0, i0 + chunk.shape[1], dtype=np.float64)
    theta = (np.interp(i, at, value) + 1.0) * (np.pi / 4)
    chunk[0] *= (np.sqrt(2.0) * np.cos(theta)).astype(np.float32)
    chunk[1] *= (np.sqrt(2.0) * np.sin(theta)).astype(np.float32)


def _peak(x: np.ndarray) -> float:
    return float(np.abs(x).max()) if x.size else 0.0


@contextlib.contextmanager
def _wav_writer(path: Path, sr: int, samples: int):
    # Plain WAV sizes are 32-bit; a very long mix (about 6 h at 48 kHz) needs RF64.
    fmt = "WAV" if samples * 2 * 3 < _WAV_LIMIT else "RF64"
    with sf.SoundFile(str(path), "w", samplerate=sr, channels=2, subtype="PCM_24",
                      format=fmt) as f:
        yield f


def _write(f: sf.SoundFile, stereo: np.ndarray) -> None:
    # The gain keeps the peak under the ceiling; the clip only guards a
    # ceiling set above 0 dBFS from integer wrap-around.
    f.write(np.clip(stereo, -1.0, 1.0).T)


class _SoundCache:
    """Decoded, stereo sounds by (file, in-point, length), least recently used out.

    Sounds are short, so a whole render usually fits and each is decoded once;
    the byte bound keeps a long film with thousands of distinct sounds from
    holding them all (an evicted one is decoded again in pass 2).
    """

    def __init__(self, sr: int, max_bytes: int = CACHE_BYTES):
        self.sr = sr
        self.max_bytes = max_bytes
        self.bytes = 0
        self.audio: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self.failed: dict[tuple, str] = {}
        self.decodes = 0  # number of load_audio calls, for tests and benchmarks

    @property
    def skipped(self) -> list[tuple[str, str]]:
        return [(key[0], reason) for key, reason in self.failed.items()]

    def get(self, key: tuple[str, float, float]) -> np.ndarray | None:
        if key in self.failed:
            return None
        if key in self.audio:
            self.audio.move_to_end(key)
            return self.audio[key]
        path, offset, duration = key
        self.decodes += 1
        try:
            audio = to_stereo(load_audio(path, self.sr, offset, duration))
        except InputError as exc:
            self.failed[key] = exc.message
            return None
        if audio.shape[1] == 0:
            self.failed[key] = f"no audio at {offset:.3f} s (past the end of the file)"
            return None
        audio = np.ascontiguousarray(audio[:, : int(round(duration * self.sr))])
        self.audio[key] = audio
        self.bytes += audio.nbytes
        while self.bytes > self.max_bytes and len(self.audio) > 1:
            _, old = self.audio.popitem(last=False)
            self.bytes -= old.nbytes
        return audio


class _Ticker:
    def __init__(self, progress: Callable[[int, int], None] | None, total: int):
        self.progress, self.total, self.done = progress, total, 0

    def __call__(self) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total)
