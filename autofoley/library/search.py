"""Search the library: which sounds fit a phrase, a picture or a film's frame.

Queries are CLIP vectors; the library index holds the sounds' vectors in the
same space (their sentences through the text tower, or audio embeddings
projected into the image space), so one exact top-k serves every query kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autofoley.errors import InputError
from autofoley.library.scan import DEFAULT_TEMPLATE, UNCATEGORIZED, sentence_for
from autofoley.library.text_index import LibraryIndex
from autofoley.media.frames import grab_frame
from autofoley.media.probe import check_readable, probe
from autofoley.placement.rank import topk
from autofoley.records import SoundEntry


@dataclass(frozen=True)
class Hit:
    """One found sound; ``rank`` counts from 1, ``score`` is a cosine."""

    entry: SoundEntry
    score: float
    rank: int

    @property
    def sustain(self) -> str:
        """``continuous`` or ``one-shot`` (placement/sustain.py): whether
        placement loops it over an action or plays it once. Read from the
        sound's envelope when asked, so ranking alone never decodes audio."""
        from autofoley.placement.sustain import CONTINUOUS, sustain_of

        return CONTINUOUS if self.entry.kind == "ambience" else sustain_of(self.entry)

    def to_json(self) -> dict:
        e = self.entry
        return {"rank": self.rank, "score": round(self.score, 6), "file": str(e.path),
                "offset": round(e.offset, 6), "end": round(e.offset + e.duration, 6),
                "duration": round(e.duration, 6), "category": e.category, "kind": e.kind,
                "description": e.description, "sustain": self.sustain}


def search(index: LibraryIndex, queries: np.ndarray, k: int = 10, kind: str | None = None,
           chunk: int | None = None) -> list[list[Hit]]:
    """The ``k`` best sounds for each query row (best first), by cosine.

    ``queries`` is (Q, D) or (D,), L2-normalised like the index. ``kind``
    ("sfx" or "ambience") keeps only sounds of that kind. Exact: keys are
    visited ``chunk`` rows at a time (``rank.topk``), so memory stays
    O(Q x (k + chunk)) whatever the library size; by default the chunk
    shrinks as Q grows so that stays near 64 MB (12 bytes a score with its
    index): bench/bench_search.py measured 2 GB for 1024 queries at 65536.
    """
    q = np.atleast_2d(np.asarray(queries, np.float32))
    if chunk is None:
        chunk = max(1024, min(65536, (64 << 20) // (12 * len(q))))
    if kind is None:
        rows = None
        keys = index.vectors
    else:
        rows = index.of_kind(kind)
        keys = index.vectors[rows]
    if len(keys) == 0 or k <= 0:
        return [[] for _ in q]
    scores, idx = topk(q, keys, k, chunk)
    if rows is not None:
        idx = rows[idx]
    return [[Hit(index.entries[i], float(s), r) for r, (s, i) in enumerate(zip(srow, irow), 1)]
            for srow, irow in zip(scores, idx)]


# --------------------------------------------------------------------------- queries


def text_query(clip, text: str, template: str = DEFAULT_TEMPLATE) -> np.ndarray:
    """(1, D) text-tower vector of a phrase, made into a sentence the way the
    library's tags are (``library.sentence_for``), so 'glass shatter' meets
    'a photo of glass shatter.' on both sides."""
    if not text.strip():
        raise InputError("the search text is empty", None, "pass --text with a few words")
    probe_entry = SoundEntry(path=Path(), description=text, category=UNCATEGORIZED, kind="sfx",
                             duration=0.0, sample_rate=0, channels=0)
    return clip.encode_texts([sentence_for(probe_entry, template)])


def image_query(clip, path: str | Path, fit: str = "crop") -> np.ndarray:
    """(1, D) image-tower vector of a picture file (PNG, JPEG...), fitted to
    the model's input exactly as film frames are (``frames.fit_filter``)."""
    path = check_readable(path, "image")
    return clip.encode_images(grab_frame(path, clip.image_size, fit, None))


def video_query(clip, film: str | Path, at: float, fit: str = "crop") -> np.ndarray:
    """(1, D) vector of the frame of ``film`` shown at ``at`` seconds,
    fitted as ``embed.embed_film`` fits frames (autorotation included)."""
    info = probe(film)
    if not 0 <= at <= info.duration:
        raise InputError(f"--at {at:g} s is outside the film (0 to {info.duration:.3f} s)",
                         info.path, "pass a time within the film")
    # Half a frame before the last one, so a time at the very end still
    # finds a frame to decode.
    at = min(at, max(0.0, info.duration - 0.5 / max(info.rate, 1.0)))
    return clip.encode_images(grab_frame(info.path, clip.image_size, fit, at))
