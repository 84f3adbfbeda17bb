"""From an SFX library and stock footage to audio-visual training pairs.

Wilkins et al.'s curation pipeline, in stages::

    library -> takes -> (kinds) -> sentences -> CLIP text vectors  \\
                                                                     > match per split -> pairs folder
    stock   -> 1 fps frames, up to k per video -> CLIP image vectors /

Every tagged sound, paired or not, is also written with its sentence's text
vector (``sounds.csv`` + ``texts.npy``): the language bridge ``train`` uses
on the whole library, since N=1 pairs only as many sounds as there are
distinct frames. Without stock footage only the bridge is written. Sounds
with no usable tags (``library.scan.is_tagged``) have no sentence to learn
from and are left out.

Audio files and videos are each assigned to train/val/test by a seeded hash
of their path, so the splits are disjoint in audio AND in footage, and an SFX
is only ever matched with frames of its own split. Matching is greedy by
descending cosine over every (SFX, frame) candidate under the pairing limit
N (each frame used by at most N SFX; None = no limit); each SFX also gets its
top-k frames as augmentation, which ignore N. The paper is silent on whether
augmentation frames count against N; here they do not, so N=1 keeps the
matched frames unique and k stays a pure augmentation knob.

Frame embeddings, LLM answers, text embeddings, take splits and library
scans are all cached, so ``curate`` called again with only ``n`` changed (the
paper's N ablation) redoes just the matching and the writing.
"""

from __future__ import annotations

import dataclasses
import heapq
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from autofoley.errors import LibraryError
from autofoley.library.index_store import split_scan
from autofoley.library.scan import (
    DEFAULT_TEMPLATE,
    is_tagged,
    scan_library,
    sentence_for,
)
from autofoley.library.takes import SplitParams
from autofoley.library.text_index import embed_sentences
from autofoley.progress import NullReporter
from autofoley.records import SoundEntry
from autofoley.training.llm import (
    LlmClient,
    classify_kinds,
    llm_sentences,
    save_llm_kinds,
)
from autofoley.training.pairs import SPLITS, Pair, Sound, write_pairs
from autofoley.training.splits import (
    DEFAULT_SPLITS,
    normalise_splits,
    relative_key,
    split_of,
)
from autofoley.training.stock import FIT, StockFrames, check_stock, stock_frames

if TYPE_CHECKING:  # the encoder pulls in torch; only its type is named here
    from autofoley.models.clip import ClipEncoder

log = logging.getLogger("autofoley")

SENTENCE_MODES = ("template", "llm")
# Human sounds and music are out of scope (paper, section 2.1). Music is a
# kind only the LLM classification gives; speech is a UCS category. MUSICAL
# stays: it holds instruments hit as objects (drums, bells), visible events.
DEFAULT_EXCLUDE_KINDS = ("music",)
DEFAULT_EXCLUDE_CATEGORIES = ("VOICES", "HUMAN")


@dataclass(frozen=True)
class CurateResult:
    out: Path
    manifest: dict
    pairs: list[Pair]
    skipped: list[tuple[Path, str]]  # sounds and media left out, with why
    timings: dict[str, float]

    @property
    def counts(self) -> dict:
        return self.manifest["counts"]

    def summary(self) -> dict:
        """What ``autofoley curate --json`` prints."""
        return {"out": str(self.out), "counts": self.counts,
                "skipped": [{"path": str(p), "reason": r} for p, r in self.skipped],
                "timings": {k: round(v, 3) for k, v in self.timings.items()}}


# --------------------------------------------------------------------------- entry point

def curate(library: str | Path, stock: str | Path | None, out: str | Path, clip: ClipEncoder, *,
           n: int | None = 1, k: int = 10, frames_per_video: int | None = 10, fps: float = 1.0,
           sentences: str = "template", llm: LlmClient | None = None, specificity: str = "medium",
           classify: bool = False, exclude_kinds: Sequence[str] = DEFAULT_EXCLUDE_KINDS,
           exclude_categories: Sequence[str] = DEFAULT_EXCLUDE_CATEGORIES,
           splits: Sequence[float] = DEFAULT_SPLITS, seed: int = 0, split_takes: bool = True,
           library_csv: str | Path | None = None, batch_size: int = 64, use_cache: bool = True,
           fit: str = FIT, reporter=None) -> CurateResult:
    """Pair the SFX of ``library`` with frames of the videos and stills in
    ``stock``; write the pairs folder ``out`` (see pairs.py).

    ``n``: pairing limit, the most SFX one frame may be matched to (None: no
    limit). ``k``: augmentation frames per SFX besides the matched one.
    ``frames_per_video``: random frames kept per video (None: all) from one
    every 1/``fps`` seconds. ``sentences``: "template" (offline) or "llm"
    (needs ``llm``; ``specificity`` picks the prompt analogies).
    ``classify``: ask ``llm`` for each sound's kind (SFX / ambience / music,
    majority of three), store it for scoring (library/kinds.py) and use it
    for ``exclude_kinds``. ``exclude_categories``: category names (UCS or
    CSV), case-insensitive. ``splits``: train/val/test fractions.
    ``split_takes``: cut multi-take files into one SFX per take.
    ``stock`` None: no pairs, only the sounds and their sentences (the
    language bridge). ``fit``: how frames become the encoder's square (the
    model's own frame fit).
    """
    if n is not None and n < 1:
        raise ValueError("n (pairing limit) must be >= 1, or None for no limit")
    if k < 0:
        raise ValueError("k must be >= 0")
    if frames_per_video is not None and frames_per_video < 1:
        raise ValueError("frames_per_video must be >= 1, or None for all")
    if fps <= 0:
        raise ValueError("fps must be positive")
    if sentences not in SENTENCE_MODES:
        raise ValueError(f"sentences must be one of {SENTENCE_MODES}, not {sentences!r}")
    if (sentences == "llm" or classify) and llm is None:
        raise ValueError("sentences='llm' and classify=True need an LlmClient")
    fractions = normalise_splits(splits)
    reporter = reporter or NullReporter()
    stock = check_stock(stock) if stock is not None else None
    out = Path(out).expanduser()
    skipped: list[tuple[Path, str]] = []

    with reporter.stage("scan library") as update:
        scan = scan_library(library, library_csv, use_cache=use_cache, progress=update)
    if split_takes:
        # One entry per take, as the paper segments multi-event files; split
        # results are shared with 'autofoley index' through the same cache.
        with reporter.stage("split takes", len(scan.entries)) as update:
            scan = split_scan(scan, SplitParams(), use_cache=use_cache, progress=update)
    skipped += scan.skipped
    entries = list(scan.entries)
    kinds_source = "library"
    if classify:
        with reporter.stage("classify kinds") as update:
            voted = classify_kinds(entries, llm, progress=update)
            save_llm_kinds(scan.root, entries, voted)
        entries = [dataclasses.replace(e, kind=voted.get(e.key, e.kind)) for e in entries]
        kinds_source = "llm"
    entries, excluded = filter_entries(entries, exclude_kinds, exclude_categories)
    if not entries:
        raise LibraryError("every sound was excluded by kind or category", scan.root,
                           "loosen --exclude-kind / --exclude-category")
    untagged = [e for e in entries if not is_tagged(e)]
    if untagged:
        log.info("%d sounds have no usable tags (e.g. %s): left out of training; ranking "
                 "finds them by their sound", len(untagged), untagged[0].path.name)
        entries = [e for e in entries if is_tagged(e)]
        if not entries:
            raise LibraryError("no sound has usable tags to learn from", scan.root,
                               "tag some sounds (names, a CSV sidecar) and curate again")

    fallbacks = 0
    with reporter.stage("sentences") as update:
        def template(e: SoundEntry) -> str:
            return sentence_for(e, DEFAULT_TEMPLATE)
        if sentences == "llm":
            texts, fallbacks = llm_sentences(entries, llm, template, specificity, progress=update)
            if fallbacks:
                log.warning("LLM gave no usable sentence for %d of %d sounds; used template sentences",
                            fallbacks, len(entries))
        else:
            texts = [template(e) for e in entries]
    with reporter.stage("embed sentences") as update:
        text_vectors = embed_sentences(texts, clip, use_cache=use_cache, progress=update)

    sound_skips = len(skipped)
    if stock is not None:
        frames = stock_frames(stock, clip, frames_per_video=frames_per_video, fps=fps,
                              splits=fractions, seed=seed, use_cache=use_cache,
                              batch_size=batch_size, fit=fit, reporter=reporter)
    else:
        frames = StockFrames(np.zeros((0, text_vectors.shape[1]), np.float32), [],
                             np.zeros(0), [], 0, 0)
    skipped += frames.skipped

    audio_split = [split_of("audio", relative_key(e.path, scan.root), fractions, seed)
                   for e in entries]
    pairs: list[Pair] = []
    counts: dict = {name: {} for name in ("sfx", "pairs", "unmatched", "videos", "frames_per_split")}
    with reporter.stage("match", len(SPLITS)) as update:
        for done, name in enumerate(SPLITS, 1):
            rows = [i for i, s in enumerate(audio_split) if s == name]
            cols = np.array([j for j, s in enumerate(frames.split) if s == name], np.int64)
            matches = match(text_vectors[rows], frames.vectors[cols], n=n, k=k)
            for i, m in zip(rows, matches):
                if m is None:
                    continue
                ids, scores = m
                e = entries[i]
                pairs.append(Pair(pair_id=0, audio=e.path, offset=e.offset, duration=e.duration,
                                  sentence=texts[i], category=e.category, kind=e.kind, split=name,
                                  frame_ids=tuple(int(cols[j]) for j in ids), scores=scores))
            counts["sfx"][name] = len(rows)
            counts["pairs"][name] = sum(m is not None for m in matches)
            counts["unmatched"][name] = len(rows) - counts["pairs"][name]
            counts["videos"][name] = len({v for v, s in zip(frames.video, frames.split) if s == name})
            counts["frames_per_split"][name] = len(cols)
            update(done, len(SPLITS))
    pairs = [dataclasses.replace(p, pair_id=i) for i, p in enumerate(pairs)]
    counts.update({"excluded": excluded, "skipped_sounds": sound_skips,
                   "skipped_media": len(frames.skipped), "stills": frames.stills,
                   "media": frames.videos, "llm_fallbacks": fallbacks,
                   "distinct_matched_frames": len({p.frame_ids[0] for p in pairs})})
    counts["untagged"] = len(untagged)
    sounds = [Sound(i, e.path, e.offset, e.duration, t, e.category, e.kind, sp)
              for i, (e, t, sp) in enumerate(zip(entries, texts, audio_split))]
    for name in SPLITS:
        if stock is not None and counts["sfx"][name] and not counts["frames_per_split"][name]:
            log.warning("the %s split has %d sounds but no stock video: add footage or change "
                        "--splits", name, counts["sfx"][name])

    manifest = {
        "format": "autofoley-pairs",
        "clip_model": clip.spec.name, "clip_identity": clip.identity, **clip_source(clip.spec),
        "n": n, "k": k, "frames_per_video": frames_per_video, "fps": float(fps),
        "sentences": sentences, "seed": seed,
        "splits": dict(zip(SPLITS, (round(f, 6) for f in fractions))),
        "counts": counts, "library": str(scan.root),
        "stock": str(stock) if stock is not None else None,
        "specificity": specificity if sentences == "llm" else None,
        "llm": llm.identity if llm is not None and (sentences == "llm" or classify) else None,
        "kinds": kinds_source, "split_takes": split_takes, "fit": fit, "template": DEFAULT_TEMPLATE,
        "exclude_kinds": sorted(exclude_kinds), "exclude_categories": sorted(c.upper() for c in exclude_categories),
    }
    with reporter.stage("write pairs"):
        frame_rows = list(zip(frames.video, frames.time.tolist(), frames.split))
        write_pairs(out, manifest, frames.vectors, frame_rows, pairs, sounds, text_vectors)
        manifest["counts"].update({"frames": len(frames.vectors), "pairs_total": len(pairs),
                                   "sounds_total": len(sounds)})
    return CurateResult(out.resolve(), manifest, pairs, skipped, dict(reporter.timings)
                        if hasattr(reporter, "timings") else {})


def clip_source(spec) -> dict:
    """How to load the pairs' CLIP model again (``eval``'s text row): its
    config file when it was given as one, and weights the user chose (a
    shipped model's own weights come with its name)."""
    from autofoley.models.registry import RANDOM_WEIGHTS

    config = str(spec.config_path) if spec.source == "config" and spec.config_path else None
    if spec.source == "registry":
        pretrained = spec.pretrained if spec.pretrained and not spec.sha256 else None
    else:  # a config or an open_clip name always names its weights, "none" for random
        pretrained = spec.pretrained or RANDOM_WEIGHTS
    return {"clip_config": config, "clip_pretrained": pretrained}


# --------------------------------------------------------------------------- sounds

def filter_entries(entries: Sequence[SoundEntry], exclude_kinds: Sequence[str] = (),
                   exclude_categories: Sequence[str] = ()) -> tuple[list[SoundEntry], dict[str, int]]:
    """Entries whose kind and category are not excluded, and how many of each were."""
    kinds = {k.lower() for k in exclude_kinds}
    cats = {c.upper() for c in exclude_categories}
    kept, by_kind, by_cat = [], 0, 0
    for e in entries:
        if e.kind.lower() in kinds:
            by_kind += 1
        elif e.category.upper() in cats:
            by_cat += 1
        else:
            kept.append(e)
    return kept, {"kind": by_kind, "category": by_cat}


# --------------------------------------------------------------------------- matching

def match(text: np.ndarray, frames: np.ndarray, n: int | None = 1, k: int = 10,
          chunk: int = 1024) -> list[tuple[tuple[int, ...], tuple[float, ...]] | None]:
    """Pair each SFX (row of ``text``) with a frame (row of ``frames``) by cosine.

    Exact greedy under the pairing limit: candidates (sfx, frame) are taken
    in descending cosine (ties: lower sfx row, then lower frame row); a
    candidate is kept when the SFX has no frame yet and the frame has been
    used fewer than ``n`` times (None: no limit). Returns, per SFX, (frame
    rows, cosines): the matched frame then the ``k`` best other frames
    (augmentation, not limited by ``n``); None when frames ran out.

    Memory stays O(rows x L) with L = max(64, 2(k+1)) candidates per SFX:
    a row whose candidates are all used up is ranked again in full, which
    only happens when frames are scarce.
    """
    m, f = len(text), len(frames)
    if m == 0:
        return []
    if f == 0:
        return [None] * m
    width = min(f, max(64, 2 * (k + 1)))
    cand = np.empty((m, width), np.int64)
    score = np.empty((m, width), np.float32)
    for lo in range(0, m, chunk):
        sims = text[lo:lo + chunk] @ frames.T
        top = np.argpartition(-sims, width - 1, axis=1)[:, :width] if width < f else \
            np.broadcast_to(np.arange(f), sims.shape)
        top_scores = np.take_along_axis(sims, top, axis=1)
        # Sort by descending score, then ascending frame row: deterministic ties.
        order = np.lexsort((top, -top_scores), axis=1)
        cand[lo:lo + chunk] = np.take_along_axis(top, order, axis=1)
        score[lo:lo + chunk] = np.take_along_axis(top_scores, order, axis=1)

    full: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def row(i: int) -> tuple[np.ndarray, np.ndarray]:
        return full.get(i) or (cand[i], score[i])

    matched = np.full(m, -1, np.int64)
    if n is None:
        matched[:] = cand[:, 0]
    else:
        left = np.full(f, n, np.int64)
        pointer = np.zeros(m, np.int64)
        heap = [(-float(score[i, 0]), i, int(cand[i, 0])) for i in range(m)]
        heapq.heapify(heap)
        # Each heap entry is the best candidate of its SFX among frames that
        # had room when it was pushed; rooms only shrink, so a popped entry
        # whose frame still has room is the best remaining candidate overall.
        while heap:
            _, i, j = heapq.heappop(heap)
            if left[j] > 0:
                left[j] -= 1
                matched[i] = j
                continue
            ids, scores = row(i)
            p = int(pointer[i]) + 1
            while True:
                while p < len(ids) and left[ids[p]] == 0:
                    p += 1
                if p < len(ids) or len(ids) == f:
                    break
                sims = frames @ text[i]
                order = np.lexsort((np.arange(f), -sims))
                full[i] = ids, scores = order, sims[order].astype(np.float32)
                p = 0
            if p < len(ids):
                pointer[i] = p
                heapq.heappush(heap, (-float(scores[p]), i, int(ids[p])))
            if not left.any():
                break
    out: list[tuple[tuple[int, ...], tuple[float, ...]] | None] = []
    for i in range(m):
        j = int(matched[i])
        if j < 0:
            out.append(None)
            continue
        extra = [(int(a), float(s)) for a, s in zip(cand[i], score[i]) if a != j][:k]
        out.append(((j, *(a for a, _ in extra)),
                    (float(text[i] @ frames[j]), *(s for _, s in extra))))
    return out
