"""Measure a written score against ground truth.

Ground truth is two JSON files:

* the film's: ``{"cuts": [s, ...], "scenes": [{"start", "end", "place"}],
  "events": [{"class", "sound_class", "start", "end"}]}`` where an event is
  an object's on-screen interval and ``sound_class`` is null for objects that
  make no sound;
* the library's: ``{relative path: {"sound_class", "kind", "place"}}``
  saying what each file is the sound of (``kind`` "distractor" for sounds
  with no visual counterpart).

Metrics: scene-cut precision / recall / F1 (a cut matches within 0.5 s);
SFX event precision / recall / F1 (a placed SFX is a hit when its sound class
equals an on-screen event's and their intervals have IoU >= 0.3; each truth
event matches once, so a second sound on one object is a false positive);
the median onset error of the hits; and the fraction of scenes whose
ambience is the one of the scene's place.

Detection is the looser figure: a placed SFX counts when its sound class is
that of an event it overlaps at all (the right sound while its object is on
screen), and an event is found when some such SFX overlaps it. Every false
positive of the strict figure gets a cause, to say where placement goes
wrong: ``wrong sound`` (over an on-screen object that sounds otherwise),
``second sound`` (another clip on an object already heard), ``misaligned``
(the right class and object, IoU under 0.3), ``silent object`` (over objects
that make no sound), ``distractor`` (a sound with no picture at all),
``nothing on screen``. A wrong sound also names the sound class of the
thing it was laid over (``over``), so that ``confusions`` can say which
things the model reads as which: a placement that follows the model cannot
refuse a confusion it is sure of, but the user can see it (and retrain the
model or retag the library).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from autofoley.errors import InputError

CUT_TOLERANCE = 0.5
MIN_IOU = 0.3


@dataclass(frozen=True)
class Placed:
    """A placed sound as evaluation sees it: file, role and synced interval."""

    file: str
    start: float
    end: float
    role: str


@dataclass
class Metrics:
    cut_precision: float
    cut_recall: float
    cut_f1: float
    sfx_precision: float
    sfx_recall: float
    sfx_f1: float
    median_onset_error: float  # seconds, over hits; nan when there is none
    ambience_accuracy: float  # nan when the truth has no scene place
    sfx_hits: int
    sfx_placed: int
    sfx_truth: int
    false_positives: list[dict] = field(default_factory=list)  # each with its "cause"
    missed: list[dict] = field(default_factory=list)
    detection_precision: float = float("nan")
    detection_recall: float = float("nan")
    detection_f1: float = float("nan")
    detection_hits: int = 0  # placed SFX over an on-screen object of their class
    detection_found: int = 0  # truth events with such an SFX over them

    @property
    def causes(self) -> dict[str, int]:
        """How many false positives of each cause."""
        out: dict[str, int] = {}
        for fp in self.false_positives:
            out[fp.get("cause", "?")] = out.get(fp.get("cause", "?"), 0) + 1
        return out

    @property
    def confusions(self) -> list[tuple[str, str, int]]:
        """(placed sound class, the class of the thing under it, count) of
        the wrong sounds, the commonest first."""
        out: dict[tuple[str, str], int] = {}
        for fp in self.false_positives:
            if fp.get("cause") == "wrong sound" and fp.get("over"):
                key = (str(fp.get("sound_class")), str(fp["over"]))
                out[key] = out.get(key, 0) + 1
        return [(a, b, n) for (a, b), n in sorted(out.items(), key=lambda x: (-x[1], x[0]))]

    def to_dict(self) -> dict:
        return {**{k: (None if isinstance(v, float) and np.isnan(v) else v)
                   for k, v in asdict(self).items()}, "false_positive_causes": self.causes,
                "confusions": [{"placed": a, "over": b, "count": n}
                               for a, b, n in self.confusions]}


class LibraryTruth:
    """Sound class of each library file, looked up by path suffix."""

    def __init__(self, mapping: dict[str, dict]):
        self._by_name: dict[str, list[tuple[str, dict]]] = {}
        for rel, info in mapping.items():
            rel = rel.replace("\\", "/")
            self._by_name.setdefault(Path(rel).name, []).append((rel, info))

    @classmethod
    def load(cls, path: str | Path) -> "LibraryTruth":
        return cls(_read_json(path))

    def lookup(self, file: str) -> dict:
        file = str(file).replace("\\", "/")
        for rel, info in self._by_name.get(Path(file).name, []):
            if file == rel or file.endswith("/" + rel):
                return info
        return {}


def f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def match_cuts(predicted: list[float], truth: list[float],
               tolerance: float = CUT_TOLERANCE) -> tuple[float, float, float]:
    """(precision, recall, F1) with one-to-one matching, nearest pairs first.
    With no cut on either side, the score is perfect."""
    pairs = sorted((abs(p - t), i, j) for i, p in enumerate(predicted)
                   for j, t in enumerate(truth) if abs(p - t) <= tolerance)
    used_p, used_t = set(), set()
    for _, i, j in pairs:
        if i not in used_p and j not in used_t:
            used_p.add(i)
            used_t.add(j)
    hits = len(used_p)
    precision = hits / len(predicted) if predicted else 1.0
    recall = hits / len(truth) if truth else 1.0
    return precision, recall, f1(precision, recall)


def iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0


def evaluate_placements(placed: list[Placed], cuts: list[float], truth: dict,
                        library: LibraryTruth, min_iou: float = MIN_IOU) -> Metrics:
    """All metrics for one film from placed sounds and predicted cut times."""
    cp, cr, cf = match_cuts(cuts, [float(c) for c in truth.get("cuts", [])])
    sfx = [p for p in placed if p.role == "sfx"]
    positives = [e for e in truth.get("events", []) if e.get("sound_class")]
    pairs = []
    for i, p in enumerate(sfx):
        cls = library.lookup(p.file).get("sound_class")
        for j, e in enumerate(positives):
            if cls and cls == e["sound_class"]:
                overlap = iou((p.start, p.end), (float(e["start"]), float(e["end"])))
                if overlap >= min_iou:
                    pairs.append((-overlap, i, j))
    used_p: dict[int, int] = {}
    used_t: set[int] = set()
    for _, i, j in sorted(pairs):
        if i not in used_p and j not in used_t:
            used_p[i] = j
            used_t.add(j)
    hits = len(used_p)
    precision = hits / len(sfx) if sfx else (1.0 if not positives else 0.0)
    recall = hits / len(positives) if positives else 1.0
    onsets = [abs(sfx[i].start - float(positives[j]["start"])) for i, j in used_p.items()]
    false_pos = [{"file": p.file, "start": p.start, "end": p.end,
                  "sound_class": library.lookup(p.file).get("sound_class")}
                 for i, p in enumerate(sfx) if i not in used_p]
    missed = [e for j, e in enumerate(positives) if j not in used_t]
    events = truth.get("events", [])
    matched = {j for j in used_p.values()}
    for fp in false_pos:
        fp["cause"] = _cause(fp, events, positives, matched, library)
        if fp["cause"] == "wrong sound":
            fp["over"] = _under(fp, positives)
    # Detection: any overlap with an on-screen object of the sound's class.
    over = [[j for j, e in enumerate(positives)
             if library.lookup(p.file).get("sound_class") == e["sound_class"]
             and min(p.end, float(e["end"])) > max(p.start, float(e["start"]))]
            for p in sfx]
    det_hits = sum(1 for js in over if js)
    found = len({j for js in over for j in js})
    det_p = det_hits / len(sfx) if sfx else (1.0 if not positives else 0.0)
    det_r = found / len(positives) if positives else 1.0
    return Metrics(cp, cr, cf, precision, recall, f1(precision, recall),
                   float(np.median(onsets)) if onsets else float("nan"),
                   _ambience_accuracy(placed, truth, library), hits, len(sfx), len(positives),
                   false_pos, missed, det_p, det_r, f1(det_p, det_r), det_hits, found)


def _under(fp: dict, positives: list[dict]) -> str:
    """The sound class of the sounding event a placed SFX overlaps most."""
    def overlap(e: dict) -> float:
        return min(fp["end"], float(e["end"])) - max(fp["start"], float(e["start"]))

    return max(positives, key=overlap)["sound_class"]


def _cause(fp: dict, events: list[dict], positives: list[dict], matched: set[int],
           library: LibraryTruth) -> str:
    """Why a placed SFX missed (see the module docstring)."""
    if library.lookup(fp["file"]).get("kind") == "distractor":
        return "distractor"
    under = [e for e in events
             if min(fp["end"], float(e["end"])) > max(fp["start"], float(e["start"]))]
    same = [j for j, e in enumerate(positives) if e in under
            and e["sound_class"] == fp["sound_class"]]
    if same:
        return "second sound" if all(j in matched for j in same) else "misaligned"
    if any(e.get("sound_class") for e in under):
        return "wrong sound"
    if under:
        return "silent object"
    return "nothing on screen"


def pooled(films: list[Metrics]) -> Metrics:
    """Totals over several films: SFX precision and recall from the pooled
    counts (a film with many events weighs more), the mean of the cut and
    ambience figures, the median of the films' onset errors."""
    hits = sum(m.sfx_hits for m in films)
    placed = sum(m.sfx_placed for m in films)
    truth = sum(m.sfx_truth for m in films)
    precision = hits / placed if placed else (1.0 if not truth else 0.0)
    recall = hits / truth if truth else 1.0

    def mean(values):
        values = [v for v in values if v == v]
        return float(np.mean(values)) if values else float("nan")

    onsets = [m.median_onset_error for m in films if m.median_onset_error == m.median_onset_error]
    det_hits = sum(m.detection_hits for m in films)
    found = sum(m.detection_found for m in films)
    det_p = det_hits / placed if placed else (1.0 if not truth else 0.0)
    det_r = found / truth if truth else 1.0
    return Metrics(mean(m.cut_precision for m in films), mean(m.cut_recall for m in films),
                   mean(m.cut_f1 for m in films), precision, recall, f1(precision, recall),
                   float(np.median(onsets)) if onsets else float("nan"),
                   mean(m.ambience_accuracy for m in films), hits, placed, truth,
                   [fp for m in films for fp in m.false_positives],
                   [e for m in films for e in m.missed], det_p, det_r, f1(det_p, det_r),
                   det_hits, found)


def _ambience_accuracy(placed: list[Placed], truth: dict, library: LibraryTruth) -> float:
    scenes = [s for s in truth.get("scenes", []) if s.get("place")]
    if not scenes:
        return float("nan")
    beds = [p for p in placed if p.role == "ambience"]
    if not beds:  # scored without ambience: nothing to judge
        return float("nan")
    right = 0
    for s in scenes:
        start, end = float(s["start"]), float(s["end"])
        overlap: dict[str, float] = {}
        for b in beds:
            o = min(b.end, end) - max(b.start, start)
            if o > 0:
                place = library.lookup(b.file).get("place") or ""
                overlap[place] = overlap.get(place, 0.0) + o
        if overlap and max(overlap, key=overlap.get) == s["place"]:
            right += 1
    return right / len(scenes)


def read_timeline(path: str | Path) -> tuple[list[Placed], list[float]]:
    """Placed sounds and cut times (scene markers after the first) of an .otio."""
    import opentimelineio as otio

    from autofoley.output.timeline import read_placements

    path = Path(path)
    if not path.is_file():
        raise InputError("timeline not found", path, "pass the .otio that 'autofoley score' wrote")
    try:
        clips = read_placements(path)
        timeline = otio.adapters.read_from_file(str(path))
    except Exception as exc:  # OTIO raises its own exception types for bad files
        raise InputError(f"not a readable OpenTimelineIO file ({exc})", path,
                         "pass the .otio that 'autofoley score' wrote") from None
    # A loop's clips are one placed sound: its first clip carries the event.
    placed = [Placed(c["file"], c["start"], c["event_end"] or c["end"], c["role"] or "sfx")
              for c in clips if not (c["role"] == "sfx" and c.get("loop_index"))]
    starts = sorted(m.marked_range.start_time.to_seconds() for m in timeline.tracks.markers)
    return placed, [s for s in starts if s > 1e-6]


def evaluate_timeline(timeline: str | Path, truth: str | Path, library_truth: str | Path) -> Metrics:
    placed, cuts = read_timeline(timeline)
    return evaluate_placements(placed, cuts, _read_json(truth), LibraryTruth.load(library_truth))


def _read_json(path: str | Path) -> dict:
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("ground-truth file not found", path, "check the path") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"ground-truth file is not valid JSON ({exc})", path,
                         "fix or regenerate it") from None
