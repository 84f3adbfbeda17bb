"""Built-in sentences of everyday things: the competitors that keep a sound
off a thing the library has no sound of.

Placement shares each segment's probability between the scene's SFX
candidates and its "no SFX here" competitors (the ambiences, or
library/places.py). A thing on screen that no library sound is of (a tree,
a rock, a book) is neither an SFX nor its place: its probability went to the
SFX whose sentence lies nearest, and a sound was laid on a silent thing, or
a sound with no picture at all (a distractor) on whatever it half
resembled. The two of these sentences nearest a scene's frames (per
shortlist window, ``SyncParams.things``) join the softmax beside the
background, and never become events themselves.

A library that names a thing keeps it: a noun found among the words of the
library's SFX sentences and file names (or its plural) is left out, so a
"bottle clink" is not out-competed by "a bottle".

Chosen on the demo world's tuning films and tuning reels (text ranking):
the reels' false positives 15 -> 4 (hits 63 -> 56, SFX F1 0.85 -> 0.86), the
tuning films unchanged; checked on three more reels with a bar fixed
beforehand (+0.01): 0.82 -> 0.86, false positives 18 -> 7. Measured after:
the demo's held-out films unchanged, the lab world 0.797 -> 0.808 with its
distractors placed 7 -> 1.

Text ranking only (``Scorer.library``): beside audio keys, or the fused
keys of hybrid ranking, these sentences took more than they gave (demo
world, hybrid: SFX F1 0.87 -> 0.82, held out 0.80 -> 0.75).

The list is generic indoor and outdoor objects written for this project.
Nouns added while knowing the lab world's silent things (its cactus,
snowman and crate) were taken out again before the lab was measured.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the encoder pulls in torch
    from autofoley.library.text_index import LibraryIndex
    from autofoley.models.clip import ClipEncoder

THINGS: tuple[str, ...] = (
    "table", "chair", "sofa", "bed", "lamp", "shelf", "cupboard", "cabinet", "desk", "bench",
    "stool", "carpet", "rug", "curtain", "pillow", "blanket", "mirror", "picture", "painting",
    "poster", "vase", "plant", "flower", "pot", "tree", "bush", "grass", "leaf", "branch", "log",
    "stump", "rock", "stone", "boulder", "pebble", "sand", "shell", "hill", "mountain", "cloud",
    "fence", "wall", "pole", "post", "sign", "lamppost", "mailbox", "bin", "bucket", "barrel",
    "box", "basket", "bag", "suitcase", "backpack", "umbrella", "hat", "shoe", "coat", "shirt",
    "book", "magazine", "newspaper", "notebook", "pen", "pencil", "paper", "envelope", "card",
    "calendar", "map", "globe", "candle", "statue", "sculpture", "doll", "teddy bear", "toy",
    "ball", "kite", "balloon", "cushion", "towel", "plate", "bowl", "cup", "mug", "spoon", "fork",
    "knife", "pan", "jar", "tin", "can", "bread", "apple", "banana", "orange", "cake", "pizza",
    "sandwich", "cheese", "egg", "vegetable", "fruit", "bottle", "glass", "window", "roof",
    "chimney", "bridge", "tower", "tent", "flag", "ladder", "rope", "chain", "brick", "tile",
    "stairs",
)


def library_words(index: "LibraryIndex") -> set[str]:
    """Lower-case words of the library's SFX sentences and file names (an
    ambience's words describe its place: "trees" in a forest bed is not a
    sound of a tree)."""
    texts = (t for e, sentence in zip(index.entries, index.sentences)
             if e.kind == "sfx" for t in (sentence, e.path.stem))
    return {w for t in texts for w in re.findall(r"[a-z]+", t.lower())}


def thing_sentences(template: str, named: set[str]) -> list[str]:
    """Each thing the library does not name, in its sentence template ("a
    photo of a tree."). The article is always "a": with "an" before a vowel
    the small demo model took two of its tuning films' clocks for "an
    orange" or the like (tuning films 0.92 -> 0.87)."""
    return [template.format("a " + t) for t in THINGS if not {t, t + "s", t + "es"} & named]


def thing_keys(encoder: "ClipEncoder", template: str, index: "LibraryIndex",
               use_cache: bool = True) -> np.ndarray:
    """(things, D) L2-normalised text keys of the things ``index`` does not
    name (cached per model and sentence, as the library's)."""
    from autofoley.library.text_index import embed_sentences

    return embed_sentences(thing_sentences(template, library_words(index)), encoder, use_cache)
