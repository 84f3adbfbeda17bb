"""Encode only what changes: anchors, bisection, interpolation, stills, cuts."""

import numpy as np

from autofoley.placement.sparse import (
    DENSE,
    SparseEncoder,
    SparsePlan,
    StillRegions,
    cut_segments,
    is_still,
)
from autofoley.records import Scene

S = 32


def _film(n: int, box_from: int, box_to: int, step_at: int | None = None) -> np.ndarray:
    """A grey picture; a white box slides right from ``box_from`` to ``box_to``
    (segment indices); with ``step_at`` the background jumps there (a cut)."""
    frames = np.full((n, S, S, 3), 60, np.uint8)
    for i in range(n):
        if step_at is not None and i >= step_at:
            frames[i] = 180
        if box_from <= i < box_to:
            x = (i - box_from) % (S - 6)
            frames[i, 10:16, x:x + 6] = 255
    return frames


class _Tower:
    """A stand-in image tower: a fixed random projection of the pixels, so
    pictures that differ get embeddings that differ. It counts its frames."""

    def __init__(self):
        self.w = np.random.default_rng(0).normal(size=(S * S * 3, 16)).astype(np.float32)
        self.frames = 0

    def __call__(self, pixels):
        self.frames += len(pixels)
        v = (pixels.reshape(len(pixels), -1).astype(np.float32) / 255.0 - 0.3) @ self.w
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def _run(frames, plan, cuts=frozenset()):
    tower = _Tower()
    enc = SparseEncoder(tower, plan, cuts, batch_size=16)
    chunks = []
    for i in range(0, len(frames), 37):  # batches not aligned with anchors or chunks
        chunks += enc.add(frames[i:i + 37])
    chunks += enc.finish()
    vectors = np.concatenate([c[0] for c in chunks])
    encoded = np.concatenate([c[1] for c in chunks])
    return vectors, encoded, tower


def test_dense_plan_encodes_every_frame():
    frames = _film(100, 20, 60)
    vectors, encoded, tower = _run(frames, DENSE)
    assert encoded.all() and tower.frames == 100
    assert np.allclose(vectors, _Tower()(frames), atol=1e-6)


def test_still_stretches_cost_nothing_and_motion_is_encoded():
    frames = _film(200, 100, 140)  # 10 s still, 4 s of a moving box, 6 s still
    dense = _Tower()(frames)
    vectors, encoded, tower = _run(frames, SparsePlan(chunk=64))
    assert encoded[:100].sum() <= 3  # the still start: its first frame, little else
    assert encoded[100:140].mean() > 0.5  # the box moves every frame
    assert encoded.mean() < 0.35
    err = 1 - (vectors * dense).sum(axis=1)
    assert err[~encoded].max() < 0.02  # the bound the plan promises


def test_nothing_is_interpolated_across_a_cut():
    frames = _film(120, 200, 200, step_at=53)  # no box; the picture changes at 53
    cuts = cut_segments([Scene(0, 0.0, 5.3), Scene(1, 5.3, 12.0)], 0.1)
    assert cuts == frozenset({53})
    dense = _Tower()(frames)
    vectors, encoded, _ = _run(frames, SparsePlan(chunk=50), cuts)
    assert encoded[53] and encoded[:53].sum() == 1  # the new picture; the old side is still
    assert np.allclose(vectors, dense, atol=1e-5)  # each side is still: reused exactly


def test_a_fade_is_not_a_still():
    a = np.full((S, S, 3), 100, np.uint8)
    assert is_still(a, a.copy())
    assert not is_still(a + 3, a)  # every pixel a little brighter: a fade step
    b = a.copy()
    b[5:8, 5:8] = 250  # a small thing appears
    assert not is_still(b, a)


def test_still_region_squares_are_reused():
    tower = _Tower()
    stills = StillRegions(tower)
    squares = np.full((4, 3, S, S, 3), 60, np.uint8)
    squares[2:, 2, 4:12, 4:12] = 255  # something enters the right square at sample 2
    out = stills(squares[:2])
    out2 = stills(squares[2:])
    assert tower.frames == 3 + 1  # first sample's three squares, then the right one once
    assert np.allclose(out2[:, 0], out[0, 0]) and not np.allclose(out2[0, 2], out[0, 2])
