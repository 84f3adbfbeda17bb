"""From a 0.1 s score series to events: one on-screen action, one event.

Scores are probabilities (matching.py turns cosines into them with the
model's own temperature), so the thresholds here mean the same for every
model. Three decoders:

- ``hysteresis`` (default): an event starts where a score rises above
  ``threshold`` and lasts while it stays above ``release`` x ``threshold``.
  A score that dips for a moment in the middle of an action does not cut
  it in two, which the single threshold of the paper does.
- ``verified``: runs as ``hysteresis`` finds them, entered lower
  (``verify.ENTRY`` x ``threshold``), each kept or dropped by a small learnt
  rule over its features (verify.py): a weaker model's true things that peak
  under the threshold are found. Not the default: on the lab world it placed
  one sound fewer right (docs/placement.md, "The event verifier").
- ``stable``: AutoSync (Demarchi, section 4.4): runs above ``threshold``
  whose segments stay within ``stability`` x the run's mean (t=0.1, d=0.5 in
  the paper). A sudden jump of the score starts a new event.

Around either: runs of one sound apart by a gap shorter than ``merge_gap``
seconds, or than ``merge_ratio`` x the shorter run, are joined (the gap a
flicker leaves scales with the action), runs shorter than ``min_event``
are dropped, and at most K events overlap.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

from autofoley.placement import verify


@dataclass(frozen=True)
class SyncParams:
    """Placement settings. Times in seconds."""

    threshold: float = 0.8  # an event starts where a score rises above this probability
    release: float = 0.5  # hysteresis: ... and lasts while it stays above release x threshold
    # ... or, below the threshold, where it is the leading sound group on every
    # segment of a run above release x threshold this many seconds long
    # ("hysteresis" decoder; 0: off). The frame's probability is shared with
    # the place (ambiences, built-in things), which a plain shot of a thing
    # can hold half of; an action no other sound rivals for seconds is as
    # sure as one that crossed the threshold. Only where the built-in things
    # compete (matching.match_film): else a silent thing's nearest sound leads.
    sure_lead: float = 2.0
    # A second thing of an event's category (another UCS CatID) gets its own
    # event where one square sees it and another square the first thing, each
    # clear of the other, for this many seconds (beside.py); 0: off.
    beside: float = 2.0
    # "hysteresis"; "verified": hysteresis runs entered lower, kept by a learnt
    # rule (verify.py); "stable": Demarchi's threshold + stability runs.
    decoder: str = "hysteresis"
    stability: float = 0.5  # d ("stable" decoder): a run goes on while |s - mean| <= d * mean
    # Softmax temperature over cosines; None: the model's own, 1 / its
    # learnt logit scale, the scale its similarities were trained on.
    temperature: float | None = None
    min_event: float = 1.0  # shorter runs are dropped
    merge_gap: float = 0.3  # same-sound runs this close are merged ...
    merge_ratio: float = 0.5  # ... and so are runs apart by less than this x the shorter one
    max_overlap: int = 2  # K: at most this many SFX sound at once
    shortlist_k: int = 8  # exact top-k per shortlist window
    shortlist_window: float = 1.0  # seconds per shortlist query
    min_similarity: float = -1.0  # raw cosine floor for a segment to count (off by default)
    group_by: str = "category"  # "category": one event per library category at a time; "none"
    background: bool = True  # ambiences compete in the softmax as "no SFX here"
    # Built-in everyday things (library/things.py) nearest each shortlist
    # window that compete beside the background, so a thing no library
    # sound is of does not take the nearest sound (text ranking); 0: none.
    things: int = 2
    # "softmax": Demarchi's softmax over all candidates (simultaneous objects
    # compete); "vs_background": each candidate against the background alone
    # (a two-way softmax with the scene's ambiences), so two objects on screen
    # can both score high.
    score_mode: str = "softmax"
    # Variety: an event goes to the sound of its group placed least so far in
    # the film among those whose evidence over it is at least ``release`` x the
    # best one's (matching.grouped_events); False: always the best.
    variety: bool = True

    def replace(self, **changes) -> "SyncParams":
        return SyncParams(**{**asdict(self), **changes})

    @classmethod
    def from_dict(cls, data: dict) -> "SyncParams":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Event:
    """Candidate ``candidate`` is on for segments [first, stop)."""

    candidate: int
    first: int
    stop: int
    score: float  # mean score over the event's segments

    @property
    def length(self) -> int:
        return self.stop - self.first


def find_runs(scores: np.ndarray, threshold: float, stability: float) -> list[tuple[int, int, float]]:
    """Runs of one series: (first, stop, mean) with every score > ``threshold``
    and within ``stability`` x the running mean of the run before it.

    A segment above the threshold that breaks stability ends the run and
    starts the next one, so a sudden jump is a new event, not a longer one.
    """
    runs = []
    first, total = -1, 0.0
    for i, s in enumerate(np.asarray(scores, np.float64)):
        if s > threshold:
            if first >= 0:
                mean = total / (i - first)
                if abs(s - mean) <= stability * mean:
                    total += s
                    continue
                runs.append((first, i, mean))
            first, total = i, s
        elif first >= 0:
            runs.append((first, i, total / (i - first)))
            first = -1
    if first >= 0:
        runs.append((first, len(scores), total / (len(scores) - first)))
    return runs


def hysteresis_runs(scores: np.ndarray, enter: float, leave: float,
                    leads: np.ndarray | None = None, lead_len: int = 0) -> list[tuple[int, int, float]]:
    """Runs of one series that rise above ``enter`` and last while above
    ``leave`` (<= ``enter``): (first, stop, mean). With ``leads`` (per
    segment, whether this series beats every rival), a run at least
    ``lead_len`` segments long that leads on all of them enters too.

    A run is extended backwards over the segments above ``leave`` before
    its entry, so it starts where the action does, not where it became sure.
    """
    s = np.asarray(scores, np.float64)
    above = s > leave
    runs = []
    i, n = 0, len(s)
    while i < n:
        if not above[i]:
            i += 1
            continue
        j = i
        while j < n and above[j]:
            j += 1
        if s[i:j].max() > enter or (leads is not None and j - i >= max(lead_len, 1)
                                     and leads[i:j].all()):
            runs.append((i, j, float(s[i:j].mean())))
        i = j
    return runs


def merge_runs(runs: list[tuple[int, int, float]], gap: int,
               ratio: float = 0.0) -> list[tuple[int, int, float]]:
    """Join runs separated by at most ``gap`` segments, or by at most
    ``ratio`` x the shorter of the two (length-weighted mean)."""
    out: list[tuple[int, int, float]] = []
    for first, stop, mean in runs:
        if out and first - out[-1][1] <= max(gap, ratio * min(stop - first, out[-1][1] - out[-1][0])):
            f0, s0, m0 = out[-1]
            n0, n1 = s0 - f0, stop - first
            out[-1] = (f0, stop, (m0 * n0 + mean * n1) / (n0 + n1))
        else:
            out.append((first, stop, mean))
    return out


def detect_events(series: np.ndarray, params: SyncParams, step: float,
                  views: tuple[np.ndarray, np.ndarray] | None = None,
                  weighed: list | None = None) -> list[Event]:
    """Events of every candidate column of a (T, C) score series, at most
    ``max_overlap`` at any segment, the strongest (score x length) kept first.

    ``views``: the same columns scored by the whole frame alone and by the
    best square alone, which the ``verified`` decoder weighs (``series``
    stands for both when there are no squares). Each run it weighs is
    appended to ``weighed`` as (column, first, stop, features, kept)."""
    min_len = max(1, int(round(params.min_event / step)))
    gap = int(round(params.merge_gap / step))
    frame, squares = views if views is not None else (series, series)
    events = []
    leading = leaders(series) if params.decoder == "hysteresis" and params.sure_lead > 0 else None
    lead_len = int(round(params.sure_lead / step))
    for c in range(series.shape[1]):
        runs = merge_runs(column_runs(series[:, c], params,
                                      None if leading is None else leading[:, c], lead_len),
                          gap, params.merge_ratio)
        for f, s, m in runs:
            if s - f < min_len:
                continue
            if params.decoder == "verified":
                x = verify.run_features(series, frame, squares, c, f, s, step, params.threshold)
                kept = verify.keep(x)
                if weighed is not None:
                    weighed.append((c, f, s, x, kept))
                if not kept:
                    continue
            events.append(Event(c, f, s, m))
    return limit_overlap(events, params.max_overlap, len(series))


def leaders(series: np.ndarray) -> np.ndarray:
    """(T, C) bool: whether each column beats every other column on each
    segment (a lone column always does)."""
    if series.shape[1] < 2:
        return np.ones(series.shape, bool)
    top2 = np.sort(series, axis=1)[:, -2:]
    return (series == top2[:, 1:]) & (top2[:, 1:] > top2[:, :1])


def column_runs(scores: np.ndarray, params: SyncParams, leads: np.ndarray | None = None,
                lead_len: int = 0) -> list[tuple[int, int, float]]:
    if params.decoder == "verified":
        return hysteresis_runs(scores, verify.ENTRY * params.threshold,
                               params.release * params.threshold)
    if params.decoder == "hysteresis":
        return hysteresis_runs(scores, params.threshold, params.release * params.threshold,
                               leads, lead_len)
    if params.decoder == "stable":
        return find_runs(scores, params.threshold, params.stability)
    raise ValueError(f"unknown decoder {params.decoder!r}")


def limit_overlap(events: list[Event], k: int, n_segments: int) -> list[Event]:
    """Greedy by strength: keep an event only if every segment it covers has
    fewer than ``k`` kept events."""
    load = np.zeros(n_segments + 1, np.int32)
    kept = []
    for e in sorted(events, key=lambda e: (-e.score * e.length, e.first, e.candidate)):
        if load[e.first:e.stop].max(initial=0) < k:
            load[e.first:e.stop] += 1
            kept.append(e)
    return sorted(kept, key=lambda e: (e.first, e.candidate))
