"""Encode only what changes: which frames of the segment grid go through the
image tower, and how the others get their embeddings.

With a real-size image tower the encoder is nearly all of a run's cost, and
most of a film's 0.1 s frames say what their neighbours say. Frames are
decoded on the whole grid (decoding is cheap), then, chunk by chunk:

1. **Anchors** are encoded: every ``coarse``-th segment, both sides of every
   scene cut (nothing is ever interpolated across a cut) and each chunk's
   last frame.
2. Between two anchors, the frames are **interpolated** (normalised linear
   mix of the anchors' embeddings) when the anchors agree (cosine above
   ``1 - tolerance``) and no frame between them strays from the pixel mix of
   the anchors by more than ``pixel_tolerance`` (mean absolute difference of a
   16 x 16 grey thumbnail, 0-1). Otherwise the middle frame is encoded and
   both halves are judged again (bisection), down to single frames.
3. A frame whose pixels are the same as the last encoded frame's, but for
   coding noise (at most ``still_pixels`` of its pixels differ by more than
   ``STILL_LEVEL`` of 255, and on average by at most ``STILL_MEAN``: a still
   shot, a held frame), **reuses** its
   embedding without encoding. A thumbnail is too coarse for this: a small
   thing moving changes the embedding and hardly the thumbnail.

``bench/bench_sparse.py`` checks the bound this gives: the cosine error of
the frames not encoded against the dense grid, and identical placement.
``SparsePlan(coarse=1)`` encodes every frame (``--dense``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from autofoley.placement.rank import first_segment

THUMB = 32  # thumbnail side, pixels
STILL_LEVEL = 16  # of 255: a pixel changed by more than this is a change, not coding noise
STILL_MEAN = 1.0  # of 255: a still's mean change (coding noise is well under it)


@dataclass(frozen=True)
class SparsePlan:
    coarse: int = 5  # segments between anchors (0.5 s at the 0.1 s step)
    tolerance: float = 0.01  # anchors this close in cosine are interpolated between
    pixel_tolerance: float = 0.02  # ... unless a frame between strays this far (0-1)
    local_pixels: float = 0.002  # ... or this share of its thumbnail's pixels stray locally
    still_pixels: float = 0.0005  # a frame differing from the last encoded one in this
    # share of its pixels or fewer (by more than STILL_LEVEL) reuses its embedding
    chunk: int = 320  # segments decoded and judged together (memory: one chunk of pixels)

    @property
    def dense(self) -> bool:
        return self.coarse <= 1

    def key(self) -> str:
        """What the plan adds to a cache key: other settings, other embeddings."""
        if self.dense:
            return "dense"
        return (f"sparse-{self.coarse}-{self.tolerance:g}-{self.pixel_tolerance:g}-"
                f"{self.local_pixels:g}-{self.still_pixels:g}-{THUMB}-{STILL_MEAN:g}")


DENSE = SparsePlan(coarse=1)


def cut_segments(scenes, step: float) -> frozenset[int]:
    """Segment index where each scene after the first starts (the first
    segment whose centre is in it, as ``rank.scene_slices`` counts)."""
    return frozenset(first_segment(s.start, step) for s in scenes[1:])


def thumbnails(pixels: np.ndarray) -> np.ndarray:
    """(N, THUMB, THUMB) float32 grey thumbnails, 0-1, of uint8 (N, S, S, 3) frames."""
    n, size = len(pixels), pixels.shape[1]
    grey = pixels.astype(np.float32).mean(axis=3) / 255.0
    if size % THUMB == 0:
        b = size // THUMB
        return grey.reshape(n, THUMB, b, THUMB, b).mean(axis=(2, 4))
    idx = (np.arange(THUMB) * size) // THUMB
    return grey[:, idx][:, :, idx]


class SparseEncoder:
    """Feed it decoded frames in order (``add``); it encodes what the plan
    says and returns every frame's embedding, in order, as chunks complete.

    ``encode(pixels) -> (N, D)`` is the image tower; ``cuts`` are segment
    indices where a new scene starts.
    """

    def __init__(self, encode: Callable[[np.ndarray], np.ndarray], plan: SparsePlan,
                 cuts: set[int] | frozenset[int] = frozenset(), batch_size: int = 64):
        self.encode, self.plan, self.cuts, self.batch_size = encode, plan, set(cuts), batch_size
        self.pixels: list[np.ndarray] = []  # the pending chunk's frames
        self.first = 0  # segment index of pixels[0]
        # The previous chunk's last frame: (embedding, thumbnail); and the last
        # frame that went through the tower: (embedding, pixels).
        self.carry: tuple[np.ndarray, np.ndarray] | None = None
        self.last_encoded: tuple[np.ndarray, np.ndarray] | None = None

    def add(self, pixels: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Frames in; (embeddings, encoded mask) of every completed chunk out."""
        if self.plan.dense:  # nothing to judge: straight through, batch by batch
            self.first += len(pixels)
            return [(self._run(pixels), np.ones(len(pixels), bool))] if len(pixels) else []
        out = []
        for frame in pixels:
            self.pixels.append(frame)
            if len(self.pixels) >= self.plan.chunk:
                out.append(self._flush())
        return out

    def finish(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [self._flush()] if self.pixels else []

    def _run(self, frames: np.ndarray) -> np.ndarray:
        return np.concatenate([self.encode(frames[i:i + self.batch_size])
                               for i in range(0, len(frames), self.batch_size)])

    def _flush(self) -> tuple[np.ndarray, np.ndarray]:
        frames = np.stack(self.pixels)
        self.pixels = []
        n, first = len(frames), self.first
        self.first += n
        thumbs = thumbnails(frames)
        emb: list[np.ndarray | None] = [None] * n
        done = np.zeros(n, bool)
        # Position -1 is the previous chunk's last frame, when there is one.
        prev = self.carry

        def vec(i):
            return prev[0] if i < 0 else emb[i]

        def thumb(i):
            return prev[1] if i < 0 else thumbs[i]

        anchors = {i for i in range(n) if (first + i) % self.plan.coarse == 0}
        anchors |= {i for i in range(n) if first + i in self.cuts or first + i + 1 in self.cuts}
        anchors.add(n - 1)
        if prev is None:
            anchors.add(0)
        self._encode_some(sorted(anchors), frames, thumbs, emb, done, prev)
        start = -1 if prev is not None else 0
        todo = list(zip([start] + sorted(anchors), sorted(anchors)))
        todo = [(a, b) for a, b in todo if b - a > 1]
        while todo:
            mids, nxt = [], []
            for a, b in todo:
                # Both sides of a cut are anchors: no interval spans one.
                if self._agree(vec(a), vec(b), thumb(a), thumb(b), thumbs[a + 1:b]):
                    w = (np.arange(a + 1, b) - a) / (b - a)
                    mix = (1 - w)[:, None] * vec(a)[None] + w[:, None] * vec(b)[None]
                    mix /= np.linalg.norm(mix, axis=1, keepdims=True).clip(1e-12)
                    for k, i in enumerate(range(a + 1, b)):
                        emb[i] = mix[k]
                else:
                    m = (a + b) // 2
                    mids.append(m)
                    nxt += [(a, m), (m, b)]
            self._encode_some(mids, frames, thumbs, emb, done, prev)
            todo = [(a, b) for a, b in nxt if b - a > 1]
        out = np.stack(emb).astype(np.float32)
        self.carry = (out[-1], thumbs[-1])
        if done.any():
            k = int(np.flatnonzero(done)[-1])
            self.last_encoded = (out[k], frames[k].copy())
        return out, done

    def _agree(self, ea, eb, ta, tb, between) -> bool:
        if float(ea @ eb) < 1.0 - self.plan.tolerance:
            return False
        if not len(between):
            return True
        w = (np.arange(1, len(between) + 1) / (len(between) + 1))[:, None, None]
        dev = np.abs(between - ((1 - w) * ta[None] + w * tb[None]))
        # On average (a pan, a change of light), and locally: a small thing
        # passing between two anchors changes a few thumbnail pixels a lot.
        return (float(dev.mean(axis=(1, 2)).max()) <= self.plan.pixel_tolerance
                and float((dev > STILL_LEVEL / 255).mean(axis=(1, 2)).max()) <= self.plan.local_pixels)

    def _encode_some(self, idx, frames, thumbs, emb, done, prev) -> None:
        """Encode frames ``idx`` of the chunk, except stills: a frame whose
        pixels match the last frame before it that went (or goes, in this
        call) through the tower reuses that frame's embedding."""
        idx = sorted(i for i in idx if emb[i] is None)
        if not idx:
            return
        through = set(np.flatnonzero(done).tolist())  # encoded, or queued below
        need, copies = [], {}
        for i in idx:
            before = [k for k in through if k < i]
            if before:
                k = max(before)
                ref_pixels = frames[k]
            else:
                k = None
                ref_pixels = self.last_encoded[1] if self.last_encoded is not None else None
            if ref_pixels is not None and self._still(frames[i], ref_pixels):
                copies[i] = k
            else:
                need.append(i)
                through.add(i)
        if need:
            vecs = self._run(frames[need])
            for i, v in zip(need, vecs):
                emb[i] = v
                done[i] = True
        for i, k in copies.items():
            emb[i] = emb[k] if k is not None else self.last_encoded[0]

    def _still(self, frame: np.ndarray, ref: np.ndarray) -> bool:
        return is_still(frame, ref, self.plan.still_pixels)


def is_still(frame: np.ndarray, ref: np.ndarray, still_pixels: float = SparsePlan.still_pixels) -> bool:
    """The same picture as ``ref`` but for coding noise (uint8 (S, S, 3) each)."""
    diff = np.abs(frame.astype(np.int16) - ref.astype(np.int16))
    # Few pixels changed, and no slow change of the whole picture (a fade
    # moves every pixel by less than STILL_LEVEL a frame).
    return (float((diff.max(axis=-1) > STILL_LEVEL).mean()) <= still_pixels
            and float(diff.mean()) <= STILL_MEAN)


class StillRegions:
    """Region squares through the tower only when they change: each of the
    frame's squares is compared with the last one encoded at its place, and
    a still square reuses that embedding (a locked-off shot's empty corner
    costs nothing after its first sample)."""

    def __init__(self, encode: Callable[[np.ndarray], np.ndarray]):
        self.encode = encode
        self.last: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # region -> (pixels, vector)

    def __call__(self, squares: np.ndarray) -> np.ndarray:
        """uint8 (N, REGIONS, S, S, 3) -> (N, REGIONS, D)."""
        n, regions = squares.shape[:2]
        source: dict[tuple[int, int], tuple[int, int] | None] = {}
        ref: dict[int, tuple[np.ndarray, tuple[int, int] | None]] = {
            r: (px, None) for r, (px, _) in self.last.items()}
        need = []
        for i in range(n):
            for r in range(regions):
                if r in ref and is_still(squares[i, r], ref[r][0]):
                    source[i, r] = ref[r][1]  # None: the vector kept from an earlier call
                else:
                    need.append((i, r))
                    source[i, r] = (i, r)
                    ref[r] = (squares[i, r], (i, r))
        vectors = {}
        if need:
            out = self.encode(np.stack([squares[i, r] for i, r in need]))
            vectors = dict(zip(need, out))
        result = np.stack([np.stack([vectors[source[i, r]] if source[i, r] is not None
                                     else self.last[r][1] for r in range(regions)])
                           for i in range(n)])
        for r in range(regions):
            if r in ref and ref[r][1] is not None:
                self.last[r] = (ref[r][0].copy(), vectors[ref[r][1]])
        return result
