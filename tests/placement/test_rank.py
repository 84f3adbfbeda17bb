"""Ranking: chunked exact top-k equals dense ranking; shortlists keep events."""

import numpy as np

from autofoley.placement.rank import (
    scene_shortlist,
    scene_slices,
    softmax_series,
    topk,
    window_means,
)
from autofoley.records import Scene


def _unit(rng, n, d):
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_topk_chunked_equals_dense():
    rng = np.random.default_rng(0)
    q, keys = _unit(rng, 17, 32), _unit(rng, 1000, 32)
    dense = q @ keys.T
    expect_i = np.argsort(-dense, axis=1, kind="stable")[:, :10]
    for chunk in (7, 64, 5000):
        s, i = topk(q, keys, 10, chunk=chunk)
        assert np.array_equal(i, expect_i)
        assert np.allclose(s, np.take_along_axis(dense, expect_i, axis=1), atol=1e-6)


def test_topk_k_larger_than_library():
    rng = np.random.default_rng(1)
    s, i = topk(_unit(rng, 2, 8), _unit(rng, 3, 8), 10)
    assert i.shape == (2, 3) and sorted(i[0]) == [0, 1, 2]


def test_shortlist_contains_brief_event_candidate():
    # 100 segments of "background" b; for 5 segments the frame is exactly key 7.
    rng = np.random.default_rng(2)
    keys = _unit(rng, 50, 16)
    frames = np.repeat(keys[3:4], 100, axis=0)
    frames[40:45] = keys[7]
    short = scene_shortlist(frames, keys, k=4, window=10)
    assert 3 in short and 7 in short
    # The dense argmax of every segment is in the shortlist (small case).
    assert set(np.argmax(frames @ keys.T, axis=1)) <= set(short)


def test_window_means_are_normalised():
    rng = np.random.default_rng(3)
    m = window_means(_unit(rng, 25, 8), 10)
    assert m.shape == (3, 8)
    assert np.allclose(np.linalg.norm(m, axis=1), 1)


def test_softmax_rows_sum_to_one_and_follow_temperature():
    frames = np.array([[1.0, 0.0], [0.0, 1.0]])
    keys = np.array([[1.0, 0.0], [0.6, 0.8]])
    p = softmax_series(frames, keys, 0.01)
    assert np.allclose(p.sum(axis=1), 1)
    assert p[0, 0] > 0.99
    assert softmax_series(frames, keys, 10.0)[0, 0] < 0.52


def test_scene_slices_by_segment_centre():
    scenes = [Scene(0, 0.0, 1.0), Scene(1, 1.0, 2.55), Scene(2, 2.55, 3.0)]
    sl = scene_slices(scenes, 30, 0.1)
    assert [(s.start, s.stop) for s in sl] == [(0, 10), (10, 25), (25, 30)]
