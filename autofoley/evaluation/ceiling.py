"""What the model lets any placement find: the perception ceiling.

A placement decoder can only follow the model's evidence. An on-screen event
is *seen* when, in one view (the whole frame, or one region), the event's
sound class leads every other SFX candidate of its scene, and holds at least
``release`` x ``threshold`` of the probability, on at least ``min_event``
seconds of the event's span: what a continuing event must hold, and where
the lasting lead may start one (placement/sync.py). A class is its files'
summed probability, as a sound group is in placement; a file the library's
truth gives no class (a distractor) is a rival of its own.

An event the model never sees cannot be placed right by following its
evidence; one it sees and placement misses is placement's to win. So the
figures of a world split into what the model bounds and what placement
loses: ``bench/bench_ceiling.py`` prints both per world, and ``autofoley
tune`` for the user's own films (``Ceiling``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from autofoley.evaluation.evaluate import LibraryTruth
from autofoley.library.text_index import LibraryIndex
from autofoley.placement.matching import scene_evidence
from autofoley.placement.rank import first_segment, label_matrix, scene_slices
from autofoley.placement.regions import Regions
from autofoley.placement.sync import SyncParams
from autofoley.records import Scene


@dataclass(frozen=True)
class SeenEvent:
    """One sounding truth event and how long the model sees it."""

    sound_class: str
    start: float
    end: float
    seconds: float  # the most of its span one view sees it (leading, at the level)
    view: int | None  # that view: 0 the whole frame, r + 1 region r; None if never
    seen: bool  # seconds >= the minimum event


def seen_events(vectors: np.ndarray, step: float, scenes: list[Scene], regions: Regions | None,
                truth: dict, index: LibraryIndex, library: LibraryTruth,
                params: SyncParams) -> list[SeenEvent]:
    """Every sounding event of ``truth`` (a film's ground truth), in order,
    with whether the model's evidence on the film's embeddings sees it."""
    sfx_idx, amb_idx = index.of_kind("sfx"), index.of_kind("ambience")
    window = max(1, int(round(params.shortlist_window / step)))
    level = params.release * params.threshold
    need = max(1, int(round(params.min_event / step)))
    events = [e for e in truth.get("events", []) if e.get("sound_class")]
    counts = np.zeros((len(events), 1 + (regions.count if regions is not None else 0)), np.int64)
    for seg in scene_slices(scenes, len(vectors), step):
        spans = [(n, max(first_segment(e["start"], step), seg.start),
                  min(first_segment(e["end"], step), seg.stop)) for n, e in enumerate(events)]
        spans = [(n, lo, hi) for n, lo, hi in spans if hi > lo]
        if not spans or not len(sfx_idx):
            continue
        cand, per_view = scene_evidence(vectors[seg], regions, seg, index, sfx_idx, amb_idx,
                                        params, window)
        classes = [library.lookup(str(index.entries[i].path)).get("sound_class")
                   or f"file:{index.entries[i].key}" for i in cand]
        names, members = label_matrix(classes)  # (K, C)
        for v, scores in enumerate(per_view):
            by_class = scores @ members.T  # (T, K)
            leader = by_class.argmax(axis=1)
            top = by_class.max(axis=1)
            for n, lo, hi in spans:
                cls = events[n]["sound_class"]
                if cls not in names:
                    continue
                k = names.index(cls)
                rows = slice(lo - seg.start, hi - seg.start)
                counts[n, v] += int(np.sum((leader[rows] == k) & (top[rows] >= level)))
    out = []
    for e, row in zip(events, counts):
        best = int(row.argmax()) if row.size else 0
        seconds = float(row[best]) * step if row.size else 0.0
        out.append(SeenEvent(e["sound_class"], float(e["start"]), float(e["end"]), seconds,
                             best if seconds > 0 else None, bool(row.size and row[best] >= need)))
    return out


@dataclass
class Ceiling:
    """A set of films' sounding events against what the model sees of them."""

    events: int = 0
    seen: int = 0
    seen_in_regions_only: int = 0
    hits: int = 0  # events placed right
    hits_seen: int = 0  # ... of them seen
    seen_missed: list[SeenEvent] = field(default_factory=list)

    @property
    def bound_f1(self) -> float:
        """The F1 of placing every seen event right and nothing else."""
        return 2 * self.seen / (self.events + self.seen) if self.events else 1.0

    def add(self, seen: list[SeenEvent], missed: list[dict]) -> "Ceiling":
        """Count one film: its ``seen_events`` and the truth events its
        placement missed (``Metrics.missed``)."""
        lost = {(e["sound_class"], float(e["start"]), float(e["end"])) for e in missed}
        for s in seen:
            hit = (s.sound_class, s.start, s.end) not in lost
            self.events += 1
            self.seen += s.seen
            self.seen_in_regions_only += s.seen and s.view != 0
            self.hits += hit
            self.hits_seen += hit and s.seen
            if s.seen and not hit:
                self.seen_missed.append(s)
        return self

    def to_dict(self) -> dict:
        return {"events": self.events, "seen": self.seen,
                "seen_in_regions_only": self.seen_in_regions_only, "hits": self.hits,
                "hits_seen": self.hits_seen, "bound_f1": self.bound_f1,
                "seen_missed": [f"{s.sound_class} {s.start:.2f}-{s.end:.2f}"
                                for s in self.seen_missed]}

    def summary(self) -> str:
        """One line for people."""
        return (f"the model sees {self.seen} of {self.events} sounding events "
                f"({self.seen_in_regions_only} in a square only); placed right: {self.hits} "
                f"({self.hits_seen} of them seen); seen but missed: {len(self.seen_missed)}; "
                f"F1 if every seen event were placed and nothing else: {self.bound_f1:.3f}")
