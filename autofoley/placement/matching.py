"""Choose and place sounds for a whole film: per scene, SFX from the
similarity series (rank.py + sync.py) and one ambience bed.

Pure numpy on cached embeddings: no decoding, no encoder. That is what makes
re-scoring with other settings, and grid-search tuning, cheap.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from autofoley.library.text_index import LibraryIndex
from autofoley.placement.beds import ambience_placements, assign_tracks, sfx_placements
from autofoley.placement.beside import beside_events, catids
from autofoley.placement.rank import (
    scene_shortlist,
    scene_slices,
    softmax_series,
    topk,
    versus_background,
)
from autofoley.placement.regions import Regions, pan_keyframes, picture_edges
from autofoley.placement.sync import Event, SyncParams, detect_events, limit_overlap
from autofoley.records import Placement, Scene

# Used when the settings leave the temperature to a model that did not say
# (``Scorer`` fills in the loaded model's own): a trained CLIP's 1 / 100.
CLIP_TEMPERATURE = 0.01


@dataclass(frozen=True)
class SceneSeries:
    """The score table of one scene, kept for reports and tuning."""

    scene: int
    first_segment: int
    candidates: np.ndarray  # library indices of the columns
    series: np.ndarray  # (T_scene, C) softmax scores


@dataclass(frozen=True)
class WeighedRun:
    """A run the ``verified`` decoder weighed (sync.py): its span in the
    film, the sounds of its group, its features (verify.FEATURES) and
    whether it became an event (before at most K overlap)."""

    start: float
    end: float
    sounds: tuple
    features: np.ndarray
    kept: bool


@dataclass
class Matches:
    placements: list[Placement]
    series: list[SceneSeries] = field(default_factory=list)
    weighed: list[WeighedRun] = field(default_factory=list)


def match_film(vectors: np.ndarray, step: float, scenes: list[Scene], index: LibraryIndex,
               params: SyncParams, fps: Fraction, ambience: bool = True,
               n_alternates: int = 3, regions: Regions | None = None,
               pan: bool = True, weigh: bool = False) -> Matches:
    """Placements for the film whose frame embeddings are ``vectors`` (one row
    per ``step``-second segment).

    With ``regions`` (placement/regions.py, on the same grid), a sound's
    score on a segment is the best of the whole frame's and each region's,
    and, with ``pan``, each placed sound gets pan keyframes from where its
    regions see it. With ``weigh``, ``Matches.weighed`` holds every run the
    ``verified`` decoder weighed (what examples/train_event_verifier.py fits on).
    """
    sfx_idx = index.of_kind("sfx")
    amb_idx = index.of_kind("ambience")
    has_background = len(amb_idx) > 0 or (index.places is not None and len(index.places) > 0)
    if not (_background_competes(params) and has_background and _things_join(index, params)):
        # A lasting lead says "a thing with a sound" only where the built-in
        # things compete (text ranking): without them a silent thing's nearest
        # sound leads as long as it is on screen (the demo's rock, with hybrid
        # ranking, became thunder).
        params = params.replace(sure_lead=0.0)
    window = max(1, int(round(params.shortlist_window / step)))
    placements: list[Placement] = []
    kept: list[SceneSeries] = []
    used: Counter[str] = Counter()  # events given to each sound so far (variety)
    weighed: list[WeighedRun] = []
    for scene, seg in zip(scenes, scene_slices(scenes, len(vectors), step)):
        frames = vectors[seg]
        if len(frames) == 0:
            continue
        if len(sfx_idx):
            cand, per_view = scene_evidence(frames, regions, seg, index, sfx_idx, amb_idx, params,
                                            window)
            series = np.max(per_view, axis=0)
            sounds = [index.entries[i] for i in cand]
            squares = np.max(per_view[1:], axis=0) if len(per_view) > 1 else per_view[0]
            runs: list | None = [] if weigh else None
            events = grouped_events(series, sounds, params, step, used, (per_view[0], squares), runs)
            if events and params.beside > 0 and params.group_by == "category" and len(per_view) > 2:
                extra = beside_events(events, series, per_view[1:], sounds,
                                      _group_keys(sounds, params),
                                      catids(sounds, index.vectors[cand]), params, step, pick, used)
                if extra:
                    events = limit_overlap(events + extra, params.max_overlap, len(series))
            weighed += [WeighedRun((seg.start + first) * step, (seg.start + stop) * step,
                                   tuple(group), x, ok) for group, first, stop, x, ok in runs or ()]
            if regions is not None:
                keys = _group_keys(sounds, params)
                events = picture_edges(events, frames, frame_saw(events, per_view[0], keys, params),
                                       regions.segments_per_sample // 2,
                                       [keys[e.candidate] for e in events])
            pans = None
            if regions is not None and pan:
                by_region = np.stack(per_view[1:], axis=2)  # (T, C, REGIONS)
                pans = [pan_keyframes(by_region[e.first:e.stop, e.candidate], regions.centres,
                                      step) for e in events]
            placements += sfx_placements(events, sounds, series, seg.start, scene.index, step, fps,
                                         n_alternates, pans)
            kept.append(SceneSeries(scene.index, seg.start, cand, series))
        if ambience and len(amb_idx):
            mean = frames.mean(axis=0)
            mean /= max(np.linalg.norm(mean), 1e-12)
            scores, best = topk(mean[None], index.vectors[amb_idx], 1 + n_alternates)
            chosen = index.entries[amb_idx[best[0, 0]]]
            alternates = tuple((str(index.entries[amb_idx[b]].path), float(s))
                               for s, b in zip(scores[0, 1:], best[0, 1:]))
            placements += ambience_placements(scene, chosen, float(scores[0, 0]), fps,
                                              alternates=alternates)
    return Matches(assign_tracks(placements, fps), kept, weighed)


def scene_evidence(frames: np.ndarray, regions: Regions | None, seg: slice, index: LibraryIndex,
                   sfx_idx: np.ndarray, amb_idx: np.ndarray, params: SyncParams,
                   window: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """One scene's SFX candidates (library indices among ``sfx_idx``: the
    union of every view's shortlist) and their (T, C) softmax scores in each
    view: the whole frame (``frames``, the scene's segments ``seg``) first,
    then each region."""
    views = [frames] + ([regions.view(seg, r) for r in range(regions.count)]
                        if regions is not None else [])
    cand = sfx_idx[np.unique(np.concatenate([
        scene_shortlist(v, index.vectors[sfx_idx], params.shortlist_k, window) for v in views]))]
    return cand, [sfx_series(v, index, cand, amb_idx, params, window) for v in views]


def sfx_series(frames: np.ndarray, index: LibraryIndex, cand: np.ndarray, amb_idx: np.ndarray,
               params: SyncParams, window: int) -> np.ndarray:
    """(T, C) softmax scores of the SFX candidates ``cand``.

    With ``params.background``, the scene's best ambiences join the softmax
    as competitors that never become events: on a frame that shows only a
    place, the place's ambience takes the probability mass and no SFX crosses
    the threshold, whatever the model's similarity scale. A library with no
    ambience has built-in place sentences for that (``index.places``); the
    ``params.things`` built-in everyday things nearest the frames
    (``index.things``) join them, so a thing no library sound is of takes its
    own share instead of giving it to the nearest sound.
    """
    keys = index.vectors[cand]
    background = index.vectors[amb_idx] if len(amb_idx) or index.places is None \
        else index.places
    use_bg = _background_competes(params) and len(background)
    bg = background[scene_shortlist(frames, background, params.shortlist_k, window)] \
        if use_bg else background[:0]
    if use_bg and _things_join(index, params):
        bg = np.concatenate([bg, index.things[scene_shortlist(frames, index.things, params.things,
                                                              window)]])
    temperature = params.temperature or CLIP_TEMPERATURE
    if params.score_mode == "vs_background" and len(bg):
        series = versus_background(frames, keys, bg, temperature)
    elif params.score_mode in ("softmax", "vs_background"):
        series = softmax_series(frames, np.concatenate([keys, bg]), temperature)[:, :len(cand)]
    else:
        raise ValueError(f"unknown score_mode {params.score_mode!r}")
    if params.min_similarity > -1.0:
        series = np.where(frames @ keys.T >= params.min_similarity, series, 0.0)
    return series


def _background_competes(params: SyncParams) -> bool:
    return params.background or params.score_mode == "vs_background"


def _things_join(index: LibraryIndex, params: SyncParams) -> bool:
    """Whether the built-in things join a competing background (``sfx_series``)."""
    return params.things > 0 and index.things is not None and len(index.things) > 0


def frame_saw(events: list[Event], frame_series: np.ndarray, keys: list[str],
              params: SyncParams) -> np.ndarray:
    """(events, 2): whether the whole frame alone gave each event's group
    (``keys``: each column's) the release level on the event's first and on
    its last segment; an edge it saw is on the 0.1 s grid already, and
    ``picture_edges`` leaves it."""
    level = params.release * params.threshold
    out = np.zeros((len(events), 2), bool)
    for n, e in enumerate(events):
        cols = [i for i, k in enumerate(keys) if k == keys[e.candidate]]
        out[n] = frame_series[np.ix_([e.first, e.stop - 1], cols)].sum(axis=1) >= level
    return out


def _group_keys(sounds: list, params: SyncParams) -> list[str]:
    if params.group_by == "none":
        return [f"#{i}" for i in range(len(sounds))]
    return [getattr(s, params.group_by, "") or f"#{i}" for i, s in enumerate(sounds)]


def grouped_events(series: np.ndarray, sounds: list, params: SyncParams, step: float,
                   used: Counter | None = None,
                   views: tuple[np.ndarray, np.ndarray] | None = None,
                   weighed: list | None = None) -> list[Event]:
    """Events found on per-group series (the sum of a group's columns), each
    given to one file of its group (``pick``).

    Variants of one sound (three dog barks) split the softmax between them;
    summed, they are one strong signal, and an object gets one sound, not
    one per variant. ``group_by="none"`` makes every file its own group.
    ``used`` counts the events each sound (``SoundEntry.key``) was given
    earlier in the film; it is updated. ``views``: the same columns scored by
    the whole frame alone and by the best square alone (``detect_events``).
    Each run the decoder weighed is appended to ``weighed`` as (the sounds of
    its group, first, stop, features, kept).
    """
    runs: list | None = [] if weighed is not None else None
    if params.group_by == "none":
        out = detect_events(series, params, step, views, runs)
        if weighed is not None:
            weighed += [([sounds[c]], f, s, x, k) for c, f, s, x, k in runs]
        return out
    keys = _group_keys(sounds, params)
    groups = sorted(set(keys))
    members = [[i for i, k in enumerate(keys) if k == g] for g in groups]

    def by_group(x: np.ndarray) -> np.ndarray:
        return np.stack([x[:, m].sum(axis=1) for m in members], axis=1)

    grouped = by_group(series)
    grouped_views = None if views is None else (by_group(views[0]), by_group(views[1]))
    used = Counter() if used is None else used
    out = []
    events = detect_events(grouped, params, step, grouped_views, runs)
    if weighed is not None:
        weighed += [([sounds[i] for i in members[c]], f, s, x, k) for c, f, s, x, k in runs]
    for e in events:
        cols = members[e.candidate]
        best = cols[pick(series[e.first:e.stop, cols].mean(axis=0),
                         [sounds[c].key for c in cols], params, used)]
        used[sounds[best].key] += 1
        out.append(Event(best, e.first, e.stop, e.score))
    return out


def pick(means: np.ndarray, keys: list[str], params: SyncParams, used: Counter) -> int:
    """Which of a group's sounds an event gets, from their mean scores over it.

    The best one; with ``params.variety``, the one used least so far in the
    film among those at least ``params.release`` x as strong as the best
    (as present as a continuing event must be), the stronger on a tie. A
    dog seen five times is not the same bark five times, as a sound editor
    would not lay it, and a sound far weaker than the best is never taken.
    """
    best = int(np.argmax(means))
    if not params.variety:
        return best
    close = [i for i, m in enumerate(means) if m >= params.release * means[best]]
    return min(close, key=lambda i: (used[keys[i]], -float(means[i]), i))
