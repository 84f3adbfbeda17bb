"""Built-in place sentences: the "no SFX here" competitors of a library
that holds no ambience.

Placement lets a scene's best ambiences compete with the SFX in every
segment's softmax (``SyncParams.background``): on a frame that shows only a
place, the place takes the probability and no SFX crosses the threshold.
A library of SFX alone has no ambience to do that, and every frame then
goes to some SFX. Without their ambiences, the demo world's tuning films
fell from SFX F1 0.92 to 0.74 (silent things and empty places given
sounds) and the lab world from 0.78 to 0.49 (85 distractors placed). These
sentences take the ambiences' place there: 0.87 and 0.81 (chosen on the
demo's tuning films; the lab measured after).

With ambiences in the library they are not used: added beside the demo's
own, they made its tuning films worse (0.92 -> 0.84).

The list is generic scene categories, indoor and outdoor, in the spirit of
the Places365 categories (Zhou et al. 2017), written for this project; no
film or world decided it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the encoder pulls in torch
    from autofoley.models.clip import ClipEncoder

PLACES: tuple[str, ...] = (
    "airport terminal", "alley", "amusement park", "apartment building", "aquarium",
    "art gallery", "attic", "auditorium", "bakery", "balcony", "ballroom", "bamboo forest",
    "bar", "barn", "basement", "bathroom", "beach", "bedroom", "boardwalk", "bookstore",
    "bridge", "bus station", "cafeteria", "campsite", "canyon", "castle", "cave", "church",
    "classroom", "cliff", "coast", "conference room", "construction site", "corridor",
    "courtyard", "desert", "dining room", "downtown street", "farm", "field", "forest",
    "forest path", "garage", "garden", "gas station", "gymnasium", "harbor", "highway",
    "hospital", "hotel room", "ice rink", "jungle", "kitchen", "lake", "laundromat",
    "library", "living room", "lobby", "locker room", "marsh", "market", "mountain",
    "museum", "ocean", "office", "parking lot", "park", "pasture", "playground", "pond",
    "restaurant", "river", "road", "shop", "shower", "ski slope", "snowfield", "stadium",
    "staircase", "street", "subway station", "supermarket", "swimming pool", "temple",
    "train station", "tundra", "valley", "village", "volcano", "waterfall", "warehouse",
    "wheat field", "workshop", "yard",
)


def place_sentences(template: str) -> list[str]:
    """Each place in the library's sentence template ("a photo of a beach.")."""
    return [template.format(("an " if p[0] in "aeiou" else "a ") + p) for p in PLACES]


def place_keys(encoder: "ClipEncoder", template: str, use_cache: bool = True) -> np.ndarray:
    """(len(PLACES), D) L2-normalised text keys of the place sentences
    (cached per model and sentence, as the library's)."""
    from autofoley.library.text_index import embed_sentences

    return embed_sentences(place_sentences(template), encoder, use_cache)
