"""Rank library sounds against frames: exact top-k, per-scene shortlists,
and the softmax similarity series that sync.py reads.

Every similarity is a cosine between L2-normalised vectors of one space (CLIP
image embeddings against CLIP text embeddings of the sounds' sentences, or
later audio embeddings projected into the image space).
"""

from __future__ import annotations

import numpy as np

from autofoley.records import Scene


def topk(queries: np.ndarray, keys: np.ndarray, k: int,
         chunk: int = 65536) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` keys by dot product for each query row.

    Keys are visited ``chunk`` rows at a time and only the running best
    ``k`` are kept, so memory is O(queries x (k + chunk)) whatever the
    library size. Returns (scores, indices), each (Q, k), best first.
    """
    q = np.asarray(queries, np.float32)
    n = len(keys)
    k = min(k, n)
    best_s = np.full((len(q), 0), -np.inf, np.float32)
    best_i = np.zeros((len(q), 0), np.int64)
    for lo in range(0, n, chunk):
        s = q @ np.asarray(keys[lo:lo + chunk], np.float32).T
        idx = np.arange(lo, lo + s.shape[1])
        s = np.concatenate([best_s, s], axis=1)
        i = np.concatenate([best_i, np.broadcast_to(idx, (len(q), len(idx)))], axis=1)
        if s.shape[1] > k:
            part = np.argpartition(-s, k - 1, axis=1)[:, :k]
            s = np.take_along_axis(s, part, axis=1)
            i = np.take_along_axis(i, part, axis=1)
        best_s, best_i = s, i
    order = np.argsort(-best_s, axis=1, kind="stable")
    return np.take_along_axis(best_s, order, axis=1), np.take_along_axis(best_i, order, axis=1)


def window_means(vectors: np.ndarray, window: int) -> np.ndarray:
    """Normalised means of consecutive ``window``-row blocks (the last may be shorter)."""
    starts = np.arange(0, len(vectors), window)
    sums = np.add.reduceat(vectors, starts, axis=0)
    return sums / np.linalg.norm(sums, axis=1, keepdims=True).clip(1e-12)


def scene_shortlist(frames: np.ndarray, keys: np.ndarray, k: int, window: int) -> np.ndarray:
    """Indices of the keys worth scoring densely in one scene.

    The union of the exact top-``k`` of each ``window``-segment mean: a
    brief on-screen event still gets its candidates (a scene-wide mean would
    dilute it), while the dense work is segments x shortlist, not segments x
    library.
    """
    if len(keys) == 0 or len(frames) == 0:
        return np.zeros(0, np.int64)
    _, idx = topk(window_means(frames, window), keys, k)
    return np.unique(idx)


def softmax_series(frames: np.ndarray, keys: np.ndarray, temperature: float) -> np.ndarray:
    """(T, C) softmax over the C candidates of each segment's cosine / temperature.

    The softmax makes scores comparable between segments and films (they
    sum to 1 per segment), which is what lets one threshold ``t`` work.
    """
    logits = (frames @ keys.T) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


def versus_background(frames: np.ndarray, keys: np.ndarray, background: np.ndarray,
                      temperature: float) -> np.ndarray:
    """(T, C): for each candidate alone, the softmax probability it beats the
    background keys, exp(s_c/T) / (exp(s_c/T) + sum_b exp(s_b/T)).

    Unlike ``softmax_series`` the candidates do not share one unit of mass,
    so two objects on screen at once can both score near 1.
    """
    s = (frames @ keys.T) / temperature
    b = (frames @ background.T) / temperature
    m = np.maximum(s, b.max(axis=1, keepdims=True))
    es = np.exp(s - m)
    return es / (es + np.exp(b[:, :, None] - m[:, None, :]).sum(axis=1))


def label_matrix(labels: list[str]) -> tuple[list[str], np.ndarray]:
    """The distinct labels of score columns, sorted, and the (K, C) 0/1
    matrix whose product with a (T, C) series sums each label's columns."""
    names = sorted(set(labels))
    return names, np.array([[c == n for c in labels] for n in names], np.float64)


def first_segment(t: float, step: float) -> int:
    """The first segment (of ``step`` seconds) whose centre is at or after
    ``t`` seconds."""
    return int(np.ceil(float(t) / step - 0.5 - 1e-9))


def scene_slices(scenes: list[Scene], n_segments: int, step: float) -> list[slice]:
    """Segment index range of each scene: the segments whose centre falls in it."""
    out = []
    for s in scenes:
        lo, hi = first_segment(s.start, step), first_segment(s.end, step)
        out.append(slice(max(lo, 0), min(max(hi, lo), n_segments)))
    return out
