"""Split library files that hold several takes into one entry per take.

Commercial libraries often put several takes of a sound in one file ("Dog
Bark Medium Takes": three barks with silence between). Ranked whole, such a
file competes with one averaged embedding and is placed from its start,
silence included. Split on silence, each take becomes an entry of its own
(same path, its own ``offset``/``duration``), ranked and placed alone.

Splitting reads the file at a low rate (8 kHz mono): loudness over 10 ms
frames needs no high frequencies, and decoding is most of the cost.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from autofoley.errors import skip_reason
from autofoley.media.audio import frame_rms
from autofoley.records import SoundEntry

# Part of every cache key of split results: bump it when split_by_silence
# changes what it returns.
_VERSION = 5  # 5: a file of only short sounds keeps one take

Load = Callable[..., np.ndarray]  # load_audio(path, sr, offset, duration) -> (channels, samples)


@dataclass(frozen=True)
class SplitParams:
    """How a file is cut on silence. Every time is in seconds."""

    threshold_db: float = -45.0  # frame RMS relative to the file's peak below this is silence
    min_silence: float = 0.4  # shorter quiet stretches (a decay, a breath) do not split
    min_segment: float = 0.1  # shorter sounding stretches (a click) are dropped
    padding: float = 0.01  # kept each side of a take so its attack and tail are not clipped
    frame: float = 0.01  # RMS frame length
    rate: int = 8000  # Hz, decoding rate for splitting
    # Files longer than this are not split: they are field recordings or
    # beds with their own edit points, splitting them would flood the index
    # with hundreds of entries, and decoding them whole costs memory.
    max_file: float = 600.0

    def identity(self) -> str:
        """Stable text of the parameters, for cache keys."""
        return json.dumps({**dataclasses.asdict(self), "version": _VERSION}, sort_keys=True)


def split_by_silence(samples: np.ndarray, sr: int, params: SplitParams = SplitParams()
                     ) -> list[tuple[float, float]]:
    """(start, end) seconds of each sounding stretch of a mono signal.

    A frame is silent when its RMS is ``threshold_db`` below the file's peak
    sample. Only silences of at least ``min_silence`` separate takes; each
    take then runs from its first to its last loud frame (a short pause
    inside stays), plus ``padding``, never crossing the middle of a silence.
    Lead-in and tail silence are trimmed whatever their length: a take's
    start is its onset, which is what placement syncs to the picture. Takes
    shorter than ``min_segment`` are dropped beside longer ones; when all are
    that short (a single click, a clock's ticks) one take spans them all,
    however short: a one-shot is the very sound placement syncs to a frame.
    An all-silent signal gives []; one with no long silence gives
    [(0, length)].
    """
    x = np.asarray(samples, np.float32).reshape(-1)
    length = len(x) / sr if sr > 0 else 0.0
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    if not peak > 0:
        return []
    rms, hop = frame_rms(x / peak, sr, params.frame)
    n = len(rms)
    loud = 20 * np.log10(np.maximum(rms, 1e-12)) > params.threshold_db
    if not loud.any():
        return []
    # Runs of equal frames: boundaries where ``loud`` changes.
    edges = np.flatnonzero(np.diff(loud.astype(np.int8))) + 1
    starts = np.concatenate([[0], edges])
    ends = np.concatenate([edges, [n]])
    min_frames = params.min_silence / (hop / sr)
    # Sounding stretches between the silences long enough to cut at, as
    # [start, end, first loud, end of last loud] frames: a short pause
    # belongs to its take, but only loud frames count towards min_segment.
    takes: list[list[int]] = []
    for a, b in zip(starts, ends):
        if not loud[a] and b - a >= min_frames - 1e-9:
            continue
        if takes and takes[-1][1] == a:
            takes[-1][1] = b
        else:
            takes.append([a, b, n, 0])
        if loud[a]:
            takes[-1][2] = min(takes[-1][2], a)
            takes[-1][3] = b
    if all((t[3] - t[2]) * hop / sr < params.min_segment for t in takes):
        # Only clicks (one tick, a clock's ticks, a drip): the rhythm is the
        # sound, so the file stays one take from its first to its last click.
        takes = [[takes[0][0], takes[-1][1], takes[0][2], takes[-1][3]]]
    else:
        takes = [t for t in takes if (t[3] - t[2]) * hop / sr >= params.min_segment]
    out = []
    for i, (_, _, first, last) in enumerate(takes):
        t0, t1 = first * hop / sr, min(last * hop / sr, length)
        lo = 0.0 if i == 0 else (takes[i - 1][1] * hop / sr + t0) / 2
        hi = length if i == len(takes) - 1 else (t1 + takes[i + 1][0] * hop / sr) / 2
        out.append((round(float(max(lo, t0 - params.padding)), 6),
                    round(float(min(hi, t1 + params.padding)), 6)))
    return out


class SegmentCache(Protocol):
    """Where split results are remembered, by file content (see index_store)."""

    def segments_of(self, path: Path) -> list[tuple[float, float]] | None: ...

    def remember_segments(self, path: Path, segments: list[tuple[float, float]]) -> None: ...


def split_entries(entries: list[SoundEntry], params: SplitParams = SplitParams(),
                  load: Load | None = None, cache: SegmentCache | None = None,
                  skipped: list[tuple[Path, str]] | None = None,
                  progress: Callable[[int, int], None] | None = None) -> list[SoundEntry]:
    """One entry per take of every SFX file; ambience beds and files longer
    than ``params.max_file`` stay whole.

    A take is ``dataclasses.replace(entry, offset=..., duration=...,
    file_duration=entry.duration)``. A file that cannot be decoded gives no
    entry; it is appended to ``skipped`` (when given) as (path, one-line
    reason). Every other file gives at least one take (silent files never
    get here: the scan skips them, for every ranking path alike).
    ``load`` defaults to ``audio.load_audio``.
    """
    if load is None:
        from autofoley.media.audio import load_audio as load
    out: list[SoundEntry] = []
    for done, e in enumerate(entries, 1):
        if e.kind != "sfx" or e.offset or e.duration > params.max_file:
            out.append(e)
        else:
            segs = cache.segments_of(e.path) if cache is not None else None
            if segs is None:
                try:
                    data = load(e.path, params.rate)
                except Exception as exc:  # noqa: BLE001 - any decoder failure skips the file
                    if skipped is not None:
                        skipped.append((e.path, skip_reason(exc)))
                    segs = None
                else:
                    mono = data.mean(axis=0) if data.ndim == 2 else data
                    # A file the scan found audible keeps at least one take:
                    # a sound wholly above the splitting rate's band (a 5 kHz
                    # beep decoded at 8 kHz) reads as silence here.
                    segs = split_by_silence(mono, params.rate, params) or [(0.0, e.duration)]
                    if cache is not None:
                        cache.remember_segments(e.path, segs)
            for t0, t1 in segs or ():
                out.append(dataclasses.replace(e, offset=t0, duration=min(t1, e.duration) - t0,
                                               file_duration=e.duration))
        if progress:
            progress(done, len(entries))
    return out

