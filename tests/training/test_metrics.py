"""Retrieval metrics against rankings worked out by hand.

The gallery is the standard basis, so a query row *is* its list of scores:
query [s_0, ..., s_{G-1}] scores s_j against gallery item j.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from autofoley.training.metrics import (
    exact_ranks,
    gallery_from_pairs,
    retrieval_metrics,
)


def _basis(n: int) -> np.ndarray:
    return np.eye(n, dtype=np.float32)


def test_hand_made_rankings():
    # 12 sounds: 0-5 of category a, 6-11 of category b.
    g_cat = ["a"] * 6 + ["b"] * 6
    down = np.arange(12, 0, -1, dtype=np.float32)  # item 0 best, item 11 worst
    up = np.arange(1, 13, dtype=np.float32)  # item 11 best
    queries = np.stack([down, down, up, up])
    q_cat = ["a", "b", "b", "a"]
    true = [2, 11, 7, 0]
    # ranks: 3 (items 0, 1 above), 12 (last), 5 (8, 9, 10, 11 above), 12
    assert exact_ranks(queries, _basis(12), true).tolist() == [3, 12, 5, 12]
    m = retrieval_metrics(queries, q_cat, _basis(12), g_cat, true)
    assert m.n == 4
    assert m.mr == 8.5  # median of 3, 5, 12, 12: the mean of the middle two
    assert m.r10 == 0.5  # queries 0 and 2
    # top 10 of `down` = items 0-9 (6 a, 4 b); of `up` = items 11-2 (4 a, 6 b)
    assert m.cat_p10 == pytest.approx((0.6 + 0.4 + 0.6 + 0.4) / 4)
    assert m.cat_r10 == 1.0


def test_category_recall_misses_when_no_top10_item_shares_the_category():
    g_cat = ["a"] * 10 + ["b"] * 4
    scores = np.arange(14, 0, -1, dtype=np.float32)[None]  # items 0-9 (all a) on top
    m = retrieval_metrics(scores, ["b"], _basis(14), g_cat, [13])
    assert (m.mr, m.r10, m.cat_r10, m.cat_p10) == (14.0, 0.0, 0.0, 0.0)
    m = retrieval_metrics(scores, ["a"], _basis(14), g_cat, [9])
    assert (m.mr, m.r10, m.cat_r10, m.cat_p10) == (10.0, 1.0, 1.0, 1.0)


def test_ties_rank_the_exact_item_optimistically():
    # items 1 and 2 tie with the true item 0; item 3 scores higher
    q = np.array([[0.5, 0.5, 0.5, 0.9]], np.float32)
    assert exact_ranks(q, _basis(4), [0]).tolist() == [2]
    assert exact_ranks(q, _basis(4), [2]).tolist() == [2]


def test_small_gallery_uses_all_items():
    # 4 items, 2 of the query's category: P@10 over the 4 = 0.5
    q = np.array([[1.0, 0.9, 0.8, 0.7]], np.float32)
    m = retrieval_metrics(q, ["a"], _basis(4), ["a", "b", "a", "b"], [0])
    assert (m.mr, m.r10, m.cat_r10, m.cat_p10) == (1.0, 1.0, 1.0, 0.5)


def test_chunked_equals_unchunked_and_a_full_sort():
    rng = np.random.default_rng(3)
    q = rng.standard_normal((37, 8)).astype(np.float32)
    g = rng.standard_normal((53, 8)).astype(np.float32)
    true = rng.integers(0, 53, 37)
    order = np.argsort(-(q @ g.T), axis=1)
    by_sort = np.argmax(order == true[:, None], axis=1) + 1
    assert np.array_equal(exact_ranks(q, g, true, chunk=5), by_sort)
    cats = [str(c) for c in rng.integers(0, 4, 53)]
    qc = [cats[t] for t in true]
    a = retrieval_metrics(q, qc, g, cats, true, query_chunk=6)
    b = retrieval_metrics(q, qc, g, cats, true)
    assert a == b
    p10 = np.mean([[cats[j] == qc[i] for j in order[i, :10]] for i in range(37)])
    assert b.cat_p10 == pytest.approx(p10)
    assert b.mr == float(np.median(by_sort))


def test_duplicate_sounds_share_one_gallery_item():
    p = [SimpleNamespace(audio="/x/a.wav", offset=0.0, duration=1.0),
         SimpleNamespace(audio="/x/b.wav", offset=0.0, duration=1.0),
         SimpleNamespace(audio="/x/a.wav", offset=0.0, duration=1.0),
         SimpleNamespace(audio="/x/a.wav", offset=2.0, duration=1.0)]
    owners, true = gallery_from_pairs(p)
    assert [o is p[i] for i, o in zip((0, 1, 3), owners)] == [True, True, True]
    assert true.tolist() == [0, 1, 0, 2]


def test_empty_and_bad_input():
    m = retrieval_metrics(np.zeros((0, 3)), [], np.zeros((2, 3)), ["a", "b"], [])
    assert m.n == 0 and np.isnan(m.mr)
    with pytest.raises(ValueError):
        retrieval_metrics(np.eye(2), ["a", "b"], np.eye(2), ["a", "b"], [0, 5])
