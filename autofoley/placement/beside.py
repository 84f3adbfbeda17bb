"""A second thing of one category beside the first.

Placement decodes one series per library category (matching.grouped_events):
the variants of one thing share the softmax, and summed they are one strong
signal, so a category sounds once at a time. Two things of one category on
screen together (a hammer beside a saw, a frog beside a snake) then get one
event, and the second is lost, although a square often sees it alone.

Here another UCS CatID of an event's category gets an event of its own where
the two squares tell the two things apart: one square sees it lead every
CatID at the release level (``release`` x ``threshold``) with the event's
own CatID under ``EXCLUSIVE`` x its share, while another square sees the
event's CatID lead the same way over it, for at least ``params.beside``
seconds. Two squares that each read one thing as a mix of two CatIDs (a fire
as burning and crackling) do not qualify, and neither does one square that
alone reads a thing otherwise (a cat for a horse): the other square must see
the first thing, clear of the second.

A file with no CatID (a legacy name) takes the CatID of the nearest
candidate of its category, by key, that has one.
"""

from __future__ import annotations

from collections import Counter
from typing import Callable

import numpy as np

from autofoley.placement.rank import label_matrix
from autofoley.placement.sync import Event, SyncParams, hysteresis_runs, merge_runs

# In the square that sees one thing, the other thing's share is under this
# fraction of it: the square holds one thing, not a mix of the two readings.
EXCLUSIVE = 0.25


def catids(sounds: list, keys: np.ndarray) -> list[str]:
    """Each candidate's CatID; a candidate without one borrows that of the
    nearest candidate (cosine of ``keys``, their key vectors) of its
    category that has one, else stands alone."""
    out = []
    for i, s in enumerate(sounds):
        if s.cat_id:
            out.append(s.cat_id)
            continue
        same = [j for j, t in enumerate(sounds) if t.cat_id and t.category == s.category]
        out.append(sounds[max(same, key=lambda j: float(keys[i] @ keys[j]))].cat_id
                   if same else f"#{i}")
    return out


def beside_events(events: list[Event], series: np.ndarray, squares: list[np.ndarray],
                  sounds: list, groups: list[str], ids: list[str], params: SyncParams,
                  step: float, pick: Callable, used: Counter) -> list[Event]:
    """The events of second things beside ``events`` (placed, one per group
    at a time): for each, runs where the squares (``squares``: each a (T, C)
    score series over the same columns as ``series``) see another CatID of
    its group (``groups``, ``ids``: each column's) apart from its own. Each
    new event's file is chosen by ``pick(means, keys, params, used)``
    (matching.pick, passed in: matching calls this module) among that
    CatID's files, and ``used`` is updated."""
    if len(squares) < 2 or params.beside <= 0 or not events:
        return []
    names, members = label_matrix(ids)  # (K, C)
    by_id = [sq @ members.T for sq in squares]  # (T, K) per square
    level = params.release * params.threshold
    need = max(1, int(round(params.beside / step)))
    gap = int(round(params.merge_gap / step))
    out = []
    for e in events:
        own = names.index(ids[e.candidate])
        span = slice(e.first, e.stop)
        for k, name in enumerate(names):
            cols = [c for c in range(len(sounds))
                    if ids[c] == name and groups[c] == groups[e.candidate]]
            if k == own or not cols:
                continue
            sees = [(_leads(b[span], k, own, level), _leads(b[span], own, k, level)) for b in by_id]
            apart = np.zeros(e.stop - e.first, bool)
            for r, (second, _) in enumerate(sees):
                first = np.any([f for q, (_, f) in enumerate(sees) if q != r], axis=0)
                apart |= second & first
            for f, s, _ in merge_runs(hysteresis_runs(apart.astype(np.float64), 0.5, 0.5), gap,
                                      params.merge_ratio):
                if s - f < need:
                    continue
                first, stop = e.first + f, e.first + s
                means = series[first:stop, cols].mean(axis=0)
                best = cols[pick(means, [sounds[c].key for c in cols], params, used)]
                used[sounds[best].key] += 1
                out.append(Event(best, first, stop, float(means.sum())))
    return out


def _leads(by_id: np.ndarray, k: int, other: int, level: float) -> np.ndarray:
    """(T,) whether CatID ``k`` leads every CatID at ``level`` or more with
    ``other`` under ``EXCLUSIVE`` x its share."""
    return ((by_id.argmax(axis=1) == k) & (by_id[:, k] >= level)
            & (by_id[:, other] < EXCLUSIVE * by_id[:, k]))
