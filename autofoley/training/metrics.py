"""Frame -> audio retrieval metrics, as in Wilkins et al. 2023 (Table 1).

Each query is the frame of one audio-visual pair; the gallery is the audio of
all pairs of the same split, ranked by cosine similarity to the frame.

- MR (median rank): the median, over queries, of the 1-based rank of the
  query's own ("exact") audio. With an even number of queries it is the mean
  of the two middle ranks, so it can end in .5.
- R@10: the fraction of queries whose exact audio is in the top 10.
- category R@10: the fraction of queries with at least one top-10 result of
  the exact audio's category.
- category P@10: the mean fraction of the top 10 results in that category
  (the paper's headline metric and our model-selection metric).

Ties: the rank of the exact audio is 1 + the number of gallery items scoring
strictly higher, so items tying with it do not push it down (with float
embeddings a tie only happens between identical items). The top-10 lists of
the category metrics come from ``rank.topk`` (ties at the 10th place broken
by gallery order). With fewer than 10 gallery items the category metrics use
the whole gallery (P@10 divides by the gallery size).

Duplicates: ``gallery_from_pairs`` keeps one gallery item per distinct sound
(file, offset, duration); pairs sharing a sound point at that one item, so a
duplicate never competes with itself for the exact match. Every pair is one
query, even when two pairs share a frame (each with its own exact audio).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

from autofoley.placement.rank import topk

K = 10


@dataclass(frozen=True)
class RetrievalMetrics:
    mr: float  # median rank of the exact audio, 1-based
    r10: float  # fraction with the exact audio in the top 10
    cat_r10: float  # fraction with any top-10 result of the right category
    cat_p10: float  # mean fraction of the top 10 in the right category
    n: int  # queries

    def to_dict(self) -> dict:
        return asdict(self)


def exact_ranks(queries: np.ndarray, gallery: np.ndarray, true_index: np.ndarray,
                chunk: int = 8192) -> np.ndarray:
    """1-based rank of ``gallery[true_index[i]]`` for each query row, by dot
    product: 1 + how many gallery rows score strictly higher. Visits the
    gallery ``chunk`` rows at a time (memory O(queries x chunk))."""
    q = np.asarray(queries, np.float32)
    g = np.asarray(gallery, np.float32)
    true_index = np.asarray(true_index, np.int64)
    true_scores = np.einsum("ij,ij->i", q, g[true_index])
    above = np.zeros(len(q), np.int64)
    rows = np.arange(len(q))
    for lo in range(0, len(g), chunk):
        s = q @ g[lo:lo + chunk].T
        # The true item never counts against itself (its score here may
        # differ from true_scores in the last bit).
        mine = (true_index >= lo) & (true_index < lo + s.shape[1])
        s[rows[mine], true_index[mine] - lo] = -np.inf
        above += (s > true_scores[:, None]).sum(axis=1)
    return above + 1


def retrieval_metrics(query_vecs: np.ndarray, query_categories: Sequence[str],
                      gallery_vecs: np.ndarray, gallery_categories: Sequence[str],
                      true_index: Sequence[int], k: int = K,
                      query_chunk: int = 4096) -> RetrievalMetrics:
    """MR, R@k, category R@k and category P@k of frame -> audio retrieval.

    ``query_vecs`` (Q, D) and ``gallery_vecs`` (G, D) should be L2-normalised
    (scores are dot products); ``true_index[i]`` is the gallery row of query
    i's exact audio; categories are compared as strings. Exact: every query
    against every gallery item, ``query_chunk`` queries at a time.
    """
    q = np.asarray(query_vecs, np.float32)
    g = np.asarray(gallery_vecs, np.float32)
    true_index = np.asarray(true_index, np.int64)
    if len(q) == 0 or len(g) == 0:
        return RetrievalMetrics(float("nan"), float("nan"), float("nan"), float("nan"), 0)
    if len(query_categories) != len(q) or len(true_index) != len(q):
        raise ValueError("query_categories and true_index need one entry per query")
    if len(gallery_categories) != len(g):
        raise ValueError("gallery_categories needs one entry per gallery row")
    if true_index.min() < 0 or true_index.max() >= len(g):
        raise ValueError("true_index points outside the gallery")
    # Categories as integer codes, so the top-k comparison is one array op.
    names = {c: i for i, c in enumerate(sorted(set(map(str, gallery_categories))
                                               | set(map(str, query_categories))))}
    g_cat = np.array([names[str(c)] for c in gallery_categories], np.int64)
    q_cat = np.array([names[str(c)] for c in query_categories], np.int64)
    k = min(k, len(g))
    ranks = np.empty(len(q), np.int64)
    hits = np.empty(len(q), np.float64)
    any_hit = np.empty(len(q), bool)
    for lo in range(0, len(q), query_chunk):
        sl = slice(lo, lo + query_chunk)
        ranks[sl] = exact_ranks(q[sl], g, true_index[sl])
        _, idx = topk(q[sl], g, k)
        same = g_cat[idx] == q_cat[sl, None]
        hits[sl] = same.sum(axis=1) / k
        any_hit[sl] = same.any(axis=1)
    return RetrievalMetrics(mr=float(np.median(ranks)), r10=float(np.mean(ranks <= k)),
                            cat_r10=float(np.mean(any_hit)), cat_p10=float(np.mean(hits)),
                            n=int(len(q)))


def gallery_from_pairs(pairs: Sequence) -> tuple[list, np.ndarray]:
    """The distinct sounds of ``pairs`` (objects with ``audio``, ``offset``,
    ``duration``) in first-seen order, and each pair's index among them."""
    keys: dict[tuple, int] = {}
    owners = []
    true_index = np.empty(len(pairs), np.int64)
    for i, p in enumerate(pairs):
        key = (str(p.audio), round(float(p.offset), 6),
               None if p.duration is None else round(float(p.duration), 6))
        if key not in keys:
            keys[key] = len(owners)
            owners.append(p)
        true_index[i] = keys[key]
    return owners, true_index
