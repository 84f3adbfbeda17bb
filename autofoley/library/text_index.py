"""The library as vectors in CLIP space, for ranking.

Zero-shot: each sound's tags become a sentence (``library.sentence_for``)
embedded by the CLIP text tower. Embeddings are cached per (model, sentence),
so after a library grows only the new sentences are embedded again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from autofoley.atomic import atomic_path
from autofoley.cache import cache_dir, text_digest
from autofoley.library.scan import DEFAULT_TEMPLATE, LibraryScan, sentence_for
from autofoley.records import SoundEntry

if TYPE_CHECKING:  # the encoder pulls in torch; only its type is named here
    from autofoley.models.clip import ClipEncoder



@dataclass(frozen=True)
class LibraryIndex:
    entries: list[SoundEntry]
    sentences: list[str]
    vectors: np.ndarray  # (N, D) float32, L2-normalised, row i for entries[i]
    # Which keys stand for each entry: "text", "audio" or "both" (hybrid);
    # None: all text.
    found_by: list[str] | None = None
    # For an untagged entry, the file of the tagged sound it sounds most like,
    # whose text and category it took (library/keys.py); None elsewhere.
    sounds_like: list[str | None] | None = None
    # Keys of built-in place sentences that compete with the SFX in place of
    # ambiences when the library holds none (library/places.py); else None.
    places: np.ndarray | None = None
    # Keys of built-in everyday things the library has no sound of, which
    # compete beside the background (library/things.py); None: none.
    things: np.ndarray | None = None

    def found_by_of(self, entry: SoundEntry) -> str:
        """The keys that stand for ``entry`` ("text" when unknown)."""
        row = self._row(entry)
        return "text" if self.found_by is None or row is None else self.found_by[row]

    def sounds_like_of(self, entry: SoundEntry) -> str | None:
        """The tagged file ``entry`` borrowed its text and category from, if it did."""
        row = self._row(entry)
        return None if self.sounds_like is None or row is None else self.sounds_like[row]

    def _row(self, entry: SoundEntry) -> int | None:
        if not hasattr(self, "_rows"):
            object.__setattr__(self, "_rows", {e.key: i for i, e in enumerate(self.entries)})
        return self._rows.get(entry.key)

    def of_kind(self, kind: str) -> np.ndarray:
        """Indices of the entries of one kind ("sfx" or "ambience")."""
        return np.array([i for i, e in enumerate(self.entries) if e.kind == kind], np.int64)


def build_index(scan: LibraryScan, encoder: ClipEncoder, template: str = DEFAULT_TEMPLATE,
                use_cache: bool = True, batch_size: int = 256,
                progress: Callable[[int, int], None] | None = None) -> LibraryIndex:
    """Each entry's sentence (``library.sentence_for``) through the CLIP text tower."""
    sentences = [sentence_for(e, template) for e in scan.entries]
    vectors = embed_sentences(sentences, encoder, use_cache, batch_size, progress)
    return LibraryIndex(list(scan.entries), sentences, vectors)


def embed_sentences(texts: list[str], encoder: ClipEncoder, use_cache: bool = True,
                    batch_size: int = 256,
                    progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """(N, D) float32 L2-normalised CLIP text embeddings of ``texts``.

    Cached per (model, sentence) in one store, so only sentences never seen
    with this model are embedded; ``progress(done, total)`` counts those.
    """
    folder = cache_dir("text", text_digest(encoder.identity)[:16])
    store = folder / "sentences.npz"
    known: dict[str, np.ndarray] = {}
    if use_cache and store.exists():
        try:
            with np.load(store) as z:
                known = dict(zip(z["keys"].tolist(), z["vectors"].astype(np.float32)))
        except (OSError, ValueError, KeyError):
            known = {}
    missing = sorted({s for s in texts if s not in known})
    for i in range(0, len(missing), batch_size):
        chunk = missing[i:i + batch_size]
        known.update(zip(chunk, encoder.encode_texts(chunk, batch_size)))
        if progress:
            progress(min(i + batch_size, len(missing)), len(missing))
    if use_cache and missing:
        keys = sorted(known)
        with atomic_path(store) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, keys=np.array(keys), vectors=np.stack([known[k] for k in keys]))
    if not texts:
        return np.zeros((0, encoder.embed_dim), np.float32)
    return np.stack([known[s] for s in texts]).astype(np.float32)
