"""Which vectors stand for the library when frames are ranked against it.

- ``text``: each sound's sentence through the CLIP text tower (zero-shot);
- ``audio``: each sound (each silence-split event of a file) through an
  audio encoder trained to project audio into the CLIP image space
  (Wilkins et al.);
- ``hybrid``: a weighted fusion of the two, per sound.

``auto`` picks ``hybrid`` when the registry (shipped, or the user's own from
``train --register``) holds a trained audio encoder for the chosen CLIP model
(or one is named), else ``text``.

Untagged sounds (``scan.is_tagged``: ``Audio 0012.wav`` in a folder that says
nothing) have no sentence worth a text key: text ranking leaves them out
(listed as skipped, with why), audio ranking treats them like any other, and
hybrid gives them, in place of their own text key, the text key of the
tagged sound nearest to them in audio (``nearest_tagged``, in the audio
backbone's own space where the index has it), so their fused
keys are made like the tagged sounds' and compete on one scale. With audio
and hybrid ranking they also take that nearest tagged sound's category
(``borrowed_categories``), so placement groups them with their kind.
``LibraryIndex.found_by`` says which keys stand for each entry ("text",
"audio" or "both"); events.json reports it per placed sound.

Hybrid fusion. Both kinds of key are compared with the same frame vector f,
so fusing the keys fuses the cosines: f . (w a + (1-w) t) = w f.a + (1-w) f.t.
Text and audio cosines live on different scales (a CLIP text-image cosine of
0.3 is high; an audio encoder's may spread over -1..1), so the audio keys are
first mapped affinely onto the text keys' distribution: centred on their
mean, scaled to the text keys' total spread (the root mean square distance
of a key from its mean, which is the expected spread of cosines for an
isotropic query), shifted to the text keys' mean. The fused cosines then sit
on the text scale, so the softmax temperature, threshold and minimum
similarity a model was tuned with keep their meaning. Adding a constant to
every key of a query changes no softmax ranking, so the centring itself
costs nothing in ranking.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

import numpy as np

from autofoley.errors import ModelError

if TYPE_CHECKING:  # importing them pulls in torch; the CLI reads only the constants
    from pathlib import Path

    from autofoley.library.scan import LibraryScan
    from autofoley.library.takes import SplitParams
    from autofoley.library.text_index import LibraryIndex

log = logging.getLogger("autofoley")

RANK_MODES = ("auto", "text", "audio", "hybrid")
DEFAULT_HYBRID_WEIGHT = 0.5  # weight of audio in hybrid fusion


def default_audio_model(clip_model: str) -> str | None:
    """The registry's trained audio encoder for ``clip_model``, if it ships one.

    Seeded-random test encoders (no weights) do not count: ranking by them
    would be noise.
    """
    from autofoley.models.registry import registry

    for name, entry in registry().get("audio", {}).items():
        if (entry.get("clip_model") == clip_model and entry.get("weights")
                and entry.get("projection_trained", True)):
            return name
    return None


def choose_rank(rank: str, clip_model: str, audio_model: str | None) -> tuple[str, str | None]:
    """Resolve ``--rank`` and ``--audio-model`` to (mode, audio model or None)."""
    if rank not in RANK_MODES:
        raise ModelError(f"unknown rank mode '{rank}'", None, f"use one of {', '.join(RANK_MODES)}")
    if rank == "text":
        return "text", None
    audio_model = audio_model or default_audio_model(clip_model)
    if rank == "auto":
        from autofoley.models.registry import needs_missing_aisfx

        if audio_model and needs_missing_aisfx(audio_model):
            log.warning("audio encoder '%s' needs the aisfx package's weights (pip install "
                        "--no-deps aisfx): ranking by text alone", audio_model)
            return "text", None
        return ("hybrid", audio_model) if audio_model else ("text", None)
    if audio_model is None:
        raise ModelError(f"--rank {rank} needs an audio encoder, and none ships for CLIP "
                         f"model '{clip_model}'", None,
                         "pass --audio-model (see 'autofoley models'), or use --rank text")
    return rank, audio_model


def fuse(text: "LibraryIndex", audio: "LibraryIndex",
         weight: float = DEFAULT_HYBRID_WEIGHT,
         tagged: np.ndarray | None = None,
         nearest: np.ndarray | None = None) -> "LibraryIndex":
    """Hybrid keys ``weight * audio' + (1 - weight) * text`` (see the module
    docstring for ``audio'``); for the entries ``tagged`` marks False, the
    text part is that of the tagged sound nearest in audio (``nearest``, as
    ``nearest_tagged`` finds it when not given). Both indexes must hold the
    same entries."""
    if [e.key for e in text.entries] != [e.key for e in audio.entries]:
        raise ValueError("text and audio indexes hold different entries")
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"hybrid weight {weight} is outside [0, 1]")
    t, a = text.vectors.astype(np.float64), audio.vectors.astype(np.float64)
    if len(t) == 0:
        return text
    tagged = np.ones(len(t), bool) if tagged is None else np.asarray(tagged, bool)
    # The mapping is learnt where both keys mean something: the tagged sounds.
    ref = tagged if tagged.sum() >= 2 else np.ones(len(t), bool)
    mean_t, mean_a = t[ref].mean(axis=0), a[ref].mean(axis=0)
    spread_t = np.sqrt(((t[ref] - mean_t) ** 2).sum(axis=1).mean())
    spread_a = np.sqrt(((a[ref] - mean_a) ** 2).sum(axis=1).mean())
    a_on_t = mean_t + (a - mean_a) * (spread_t / max(spread_a, 1e-12))
    if (~tagged).any() and tagged.any():
        # An untagged sound borrows the text of the tagged sound it sounds
        # most like, so its key is made like every other, of audio and text:
        # on audio alone it lost to the fused keys (demo world: never placed).
        # One neighbour: a mean over five mixed several classes' text and
        # blurred the key (demo world).
        nearest = nearest_tagged(a, tagged) if nearest is None else nearest
        t = t.copy()
        t[~tagged] = t[nearest] / np.linalg.norm(t[nearest], axis=1, keepdims=True).clip(1e-12)
    fused = (weight * a_on_t + (1.0 - weight) * t).astype(np.float32)
    found = ["audio" if not ok else "both" if 0.0 < weight < 1.0
             else "text" if weight == 0.0 else "audio" for ok in tagged]
    return dataclasses.replace(text, vectors=fused, found_by=found)


def nearest_tagged(audio: np.ndarray, tagged: np.ndarray) -> np.ndarray:
    """For each untagged entry, in order, the index of the tagged entry
    nearest to it in ``audio`` (cosine): what it borrows its text key and
    its category from. Empty when there is no untagged entry or no tagged one.

    ``audio`` is best the audio backbone's own embeddings
    (``AudioIndex.sounds``): which sound another sounds like is what the
    backbone was trained on. On the demo world's half-stripped library,
    borrowing from the nearest in the backbone's space instead of the
    projected keys' gave hybrid SFX F1 0.62 -> 0.72 on its tuning films
    (held out 0.58 -> 0.64)."""
    from autofoley.placement.rank import topk

    tagged = np.asarray(tagged, bool)
    if tagged.all() or not tagged.any():
        return np.zeros(0, np.int64)
    audio = np.asarray(audio, np.float32)
    known = np.flatnonzero(tagged)
    _, idx = topk(audio[~tagged], audio[known], 1)
    return known[idx[:, 0]]


def borrowed_categories(entries: list, tagged: np.ndarray, nearest: np.ndarray) -> list:
    """``entries`` with each untagged sound given the category of its
    ``nearest`` tagged sound (``nearest_tagged``), as its text key is borrowed.

    Placement groups sounds by category so that variants of one thing add up
    (placement/matching.py). Left UNCATEGORIZED, every untagged sound of the
    library fell in one group that summed unrelated things: on the lab
    world's half-stripped library hybrid SFX F1 was 0.63, 0.78 with the
    borrowed categories. The timeline's tracks and events.json show the
    borrowed category; ``found_by`` still says the sound was found by audio.
    """
    out = list(entries)
    for i, j in zip(np.flatnonzero(~np.asarray(tagged, bool)), nearest):
        out[i] = dataclasses.replace(out[i], category=entries[j].category)
    return out


@dataclasses.dataclass
class BuiltIndex:
    """A library made ready for ranking in one mode."""

    scan: "LibraryScan"  # entries: those of ``index`` (takes, for audio); skipped: all left out
    index: "LibraryIndex"
    embedded: int  # vectors computed now (audio takes, or new sentences); the rest were stored
    folder: "Path | None" = None  # the persistent audio index, when there is one
    files: "LibraryScan | None" = None  # the scan of whole files (index_library)


def build_library_index(scan: "LibraryScan", mode: str, clip, audio=None, *,
                        template: str | None = None, use_cache: bool = True,
                        split: "SplitParams | None" = None, store_dir: "Path | None" = None,
                        hybrid_weight: float = DEFAULT_HYBRID_WEIGHT, batch_size: int = 16,
                        reporter=None) -> BuiltIndex:
    """The vectors standing for ``scan``'s sounds in ``mode`` (text, audio or
    hybrid; resolve ``auto`` with ``choose_rank`` first).

    Audio and hybrid rank each take of a file (``split``; None: whole files)
    by its own audio embedding, kept in the persistent index
    (``index_store``). Text ranks whole files: takes of one file share one
    sentence, and identical keys would only split the softmax between them.
    """
    from autofoley.library.scan import DEFAULT_TEMPLATE, is_tagged
    from autofoley.library.text_index import build_index
    from autofoley.progress import NullReporter

    reporter = reporter or NullReporter()
    template = template or DEFAULT_TEMPLATE
    if mode not in ("text", "audio", "hybrid"):
        raise ValueError(f"mode must be text, audio or hybrid, not {mode!r}")
    audio_index = None
    if mode != "text":
        from autofoley.library.index_store import build_audio_index

        with reporter.stage("embed library audio") as update:
            audio_index = build_audio_index(scan, audio, store_dir=store_dir, split=split,
                                            batch_size=batch_size, progress=update,
                                            use_cache=use_cache, template=template,
                                            sounds=not all(map(is_tagged, scan.entries)))
        # Whether each sound says what it is: decided before the untagged
        # borrow a category below (a category would make them look tagged).
        tagged = np.array([is_tagged(e) for e in audio_index.entries], bool)
        nearest = nearest_tagged(audio_index.vectors if audio_index.sounds is None
                                 else audio_index.sounds, tagged)
        like: list[str | None] = [None] * len(tagged)
        for i, j in zip(np.flatnonzero(~tagged), nearest):
            like[i] = str(audio_index.entries[j].path)
        audio_index = dataclasses.replace(audio_index, sounds=None, entries=borrowed_categories(
            audio_index.entries, tagged, nearest), sounds_like=like)
        scan = dataclasses.replace(scan, entries=list(audio_index.entries),
                                   skipped=sorted([*scan.skipped, *audio_index.skipped],
                                                  key=lambda s: str(s[0])))
        if mode == "audio":
            audio_index = dataclasses.replace(audio_index,
                                              found_by=["audio"] * len(audio_index.entries))
            return BuiltIndex(scan, audio_index, audio_index.embedded, audio_index.folder)
    new = [0]

    def count(done: int, total: int) -> None:
        new[0] = total
        update(done, total)

    if mode == "text":
        tagged = np.array([is_tagged(e) for e in scan.entries], bool)
    if mode == "text" and not tagged.all():
        untagged = [e for e, ok in zip(scan.entries, tagged) if not ok]
        log.warning("%d sounds have no usable tags (e.g. %s): left out of text ranking; "
                    "--rank hybrid with a trained audio encoder finds them by their sound",
                    len(untagged), untagged[0].path.name)
        reason = "no usable tags: ranked only by its sound (--rank hybrid or audio)"
        scan = dataclasses.replace(
            scan, entries=[e for e, ok in zip(scan.entries, tagged) if ok],
            skipped=sorted([*scan.skipped, *((e.path, reason) for e in untagged)],
                           key=lambda s: str(s[0])))
    with reporter.stage("embed library") as update:
        text_index = build_index(scan, clip, template, use_cache, progress=count)
    if mode == "text":
        return BuiltIndex(scan, text_index, new[0])
    fused = fuse(text_index, audio_index, hybrid_weight, tagged, nearest)
    return BuiltIndex(scan, dataclasses.replace(fused, sounds_like=audio_index.sounds_like),
                      audio_index.embedded + new[0], audio_index.folder)


def index_library(root: "Path", csv_path: "Path | str | None", mode: str, clip, audio=None, *,
                  template: str | None = None, use_cache: bool = True,
                  split: "SplitParams | None" = None, store_dir: "Path | None" = None,
                  hybrid_weight: float = DEFAULT_HYBRID_WEIGHT, batch_size: int = 16,
                  reporter=None) -> BuiltIndex:
    """Scan the library at ``root`` and make it ready for ranking in ``mode``:
    the one way from a folder of sounds to their vectors (``score``,
    ``index`` and ``search`` all come through here)."""
    from pathlib import Path

    from autofoley.library.scan import scan_library
    from autofoley.progress import NullReporter

    reporter = reporter or NullReporter()
    with reporter.stage("scan library") as update:
        scan = scan_library(Path(root).expanduser(), csv_path, use_cache, progress=update)
    built = build_library_index(scan, mode, clip, audio, template=template, use_cache=use_cache,
                                split=split, store_dir=store_dir, hybrid_weight=hybrid_weight,
                                batch_size=batch_size, reporter=reporter)
    # The result keeps the scan's whole files (batch's library key is
    # computed from them) beside the entries ranked (takes, for audio).
    return dataclasses.replace(built, files=scan)
