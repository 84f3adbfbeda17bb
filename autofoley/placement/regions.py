"""Evidence per region of the frame, and the stereo position it gives a sound.

A whole-frame embedding is dominated by its largest object: with two things
on screen, the second barely moves the frame's similarity to its sound, and
one softmax gives it none of the mass. Two squares along the frame's long
axis (its first and last square, the shape CLIP was trained on) are
encoded as well, at a coarser step than the frames (``region_step``); each
region scores the candidates as a frame does, and a sound's evidence is the
best of the frame and its regions. Where its evidence sits across the regions
is where the thing is: that gives the sound its pan.

A region sample stands for its whole ``region_step``, so an event only the
regions see starts and ends up to half a step from where the thing enters
and leaves (at the start, a median 0.12 s off and a 90th percentile of
0.44 s on the demo world's tuning reels, whose things come and go at any
time). Those edges are moved to where the whole frame's picture changes
most within that half step (``picture_edges``): the frame is on the 0.1 s
grid and changes when something enters or leaves it, even where it does
not recognise what.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from autofoley.media.frames import REGIONS
from autofoley.placement.sync import Event

PAN_STEP = 0.5  # seconds between pan keyframes
PAN_SMOOTH = 1.0  # seconds: the position is averaged over this window (no jitter)


@dataclass(frozen=True)
class Regions:
    """Region embeddings for the film's segment grid: region ``r`` of segment
    ``i`` is ``samples[rows[i], r]`` (samples are coarser than segments, and
    a 2-hour film's regions repeated onto its grid would be ten times their
    size); ``centres[r]`` is the region's centre across the frame, 0 (left
    edge) to 1 (right edge)."""

    samples: np.ndarray  # (S, REGIONS, D)
    rows: np.ndarray  # (T,) sample of each segment
    centres: np.ndarray  # (REGIONS,)

    @property
    def count(self) -> int:
        return self.samples.shape[1]

    @property
    def segments_per_sample(self) -> int:
        """How many grid segments one region sample stands for (the median:
        the film's last sample may stand for a shorter or longer tail)."""
        return int(round(float(np.median(np.bincount(self.rows))))) if len(self.rows) else 1

    def view(self, seg: slice, region: int) -> np.ndarray:
        """(segments, D): region ``region`` of the segments ``seg``."""
        return self.samples[self.rows[seg], region]


def region_centres(width: int, height: int) -> np.ndarray:
    """Horizontal centres of the squares, as fractions of the width.

    In a portrait frame the squares run top to bottom and say nothing about
    left and right: every centre is the middle.
    """
    if width <= height or width <= 0:
        return np.full(REGIONS, 0.5)
    side = height / width
    return np.linspace(side / 2, 1 - side / 2, REGIONS)


def on_grid(n_samples: int, region_step: float, n_segments: int, step: float) -> np.ndarray:
    """For each ``step``-second segment, the region sample (taken every
    ``region_step`` s) it falls in."""
    centres = (np.arange(n_segments) + 0.5) * step
    return np.clip((centres / region_step).astype(np.int64), 0, max(0, n_samples - 1))


def picture_edges(events: list[Event], frames: np.ndarray, seen: np.ndarray,
                  window: int, groups: list[str]) -> list[Event]:
    """Events whose start or end the whole frame did not see, with that edge
    moved to the frame's largest picture change (cosine distance of
    consecutive frame embeddings) within ``window`` segments of it.

    ``seen[i]`` is (first, last): whether the whole frame alone gave event
    ``i``'s group its release level on its first and on its last segment;
    an edge it saw is on the 0.1 s grid already and stays. ``frames`` are one
    scene's frame embeddings, so a cut is never a change found here; an
    event at the scene's first segment is moved too (the region sample it
    came from stands for a second that may begin before the thing is there).
    An event never grows into another event of its group (``groups[i]``:
    event ``i``'s) and keeps at least one segment.
    """
    n = len(frames)
    if window < 1 or n < 2:
        return events
    change = np.r_[0.0, 1.0 - np.einsum("td,td->t", frames[1:], frames[:-1])]

    def largest(lo: int, hi: int, keep: int) -> int:
        """The segment in [lo, hi) where the picture changes most, else ``keep``."""
        if hi <= lo:
            return keep
        best = lo + int(np.argmax(change[lo:hi]))
        return best if change[best] > 0.0 else keep

    firsts: list[int] = []
    last_stop: dict[str, int] = {}
    for e, (saw_first, _), group in zip(events, seen, groups):
        first = e.first if saw_first else largest(
            max(1, e.first - window, last_stop.get(group, 0)), min(n, e.first + window + 1, e.stop - 1),
            e.first)
        firsts.append(first)
        last_stop[group] = e.stop
    out: list[Event] = []
    for i, (e, (_, saw_last), group) in enumerate(zip(events, seen, groups)):
        stop = e.stop
        if not saw_last and stop < n:
            later = [firsts[j] for j in range(i + 1, len(events)) if groups[j] == group]
            # A change at segment s: the picture is new from s on, so the event stops there.
            stop = largest(max(firsts[i] + 1, stop - window), min(n, stop + window + 1, *later[:1]), stop)
        out.append(Event(e.candidate, firsts[i], stop, e.score))
    return out


def pan_keyframes(weights: np.ndarray, centres: np.ndarray, step: float) -> tuple[tuple[float, float], ...]:
    """Pan keyframes of one event from its regions' scores ``weights``
    (T_event, REGIONS): (seconds from the event's start, pan from -1 left to
    +1 right), every ``PAN_STEP`` s and at the end.

    The position is the score-weighted mean of the region centres, smoothed
    over ``PAN_SMOOTH`` s; segments where no region sees the sound take the
    mean position of the event (centre if none does).
    """
    w = np.clip(np.asarray(weights, np.float64), 0.0, None)
    if w.size == 0:
        return ()
    total = w.sum(axis=1)
    seen = total > 1e-6
    if not seen.any():
        return ((0.0, 0.0),)
    x = np.where(seen, (w * centres).sum(axis=1) / np.maximum(total, 1e-12),
                 (w[seen] * centres).sum() / w[seen].sum())
    half = max(0, int(round(PAN_SMOOTH / step / 2)))
    kernel = np.ones(2 * half + 1)
    padded = np.pad(x, half, mode="edge")
    x = np.convolve(padded, kernel / kernel.sum(), mode="valid")
    pan = np.clip(2.0 * x - 1.0, -1.0, 1.0)
    every = max(1, int(round(PAN_STEP / step)))
    keep = sorted(set(range(0, len(pan), every)) | {len(pan) - 1})
    return tuple((round(i * step, 3), round(float(pan[i]), 3)) for i in keep)
