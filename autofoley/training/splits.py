"""Which split (train, val, test) an audio file or a video belongs to.

A seeded hash of the file's path relative to its folder, per domain, so a
file's split never changes when other files come or go, and the splits are
disjoint in audio and in footage.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

from autofoley.cache import text_digest
from autofoley.training.pairs import SPLITS

DEFAULT_SPLITS = (0.8, 0.1, 0.1)


def normalise_splits(splits: Sequence[float]) -> tuple[float, float, float]:
    """(train, val, test) fractions summing to 1."""
    values = tuple(float(s) for s in splits)
    if len(values) != 3 or any(not math.isfinite(v) or v < 0 for v in values) or sum(values) <= 0:
        raise ValueError("splits must be three non-negative fractions (train, val, test), e.g. 0.8,0.1,0.1")
    total = sum(values)
    return tuple(v / total for v in values)  # type: ignore[return-value]


def split_of(domain: str, key: str, fractions: Sequence[float], seed: int = 0) -> str:
    """The split of one file: ``domain`` ("audio" or "video") and ``key``, its
    path relative to the library or stock folder."""
    u = int(text_digest(str(seed), domain, key)[:15], 16) / 16 ** 15
    edge = 0.0
    for name, fraction in zip(SPLITS, fractions):
        edge += fraction
        if u < edge:
            return name
    return next(name for name, f in zip(reversed(SPLITS), reversed(fractions)) if f > 0)


def relative_key(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` as a POSIX string (the absolute path when
    outside it): the key of ``split_of``, the same on every system."""
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return Path(path).as_posix()
