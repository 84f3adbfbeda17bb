"""Where autofoley keeps what it can compute again: frame and text embeddings,
library scans, downloaded weights (open_clip keeps its own under the HF cache).

``AUTOFOLEY_CACHE`` overrides the location; otherwise ``$XDG_CACHE_HOME/autofoley``
or ``~/.cache/autofoley``. Nothing in here is ever needed for correctness:
deleting the folder only costs time.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

_CHUNK = 1 << 22


def cache_root() -> Path:
    env = os.environ.get("AUTOFOLEY_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "autofoley"


def cache_dir(*parts: str) -> Path:
    path = cache_root().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_digest(path: str | Path) -> str:
    """blake2b of a file's bytes: the identity of a film's content.

    Hashing a whole film runs at disk speed (about 1 GB/s), tiny next to
    embedding its frames, and unlike size+mtime it survives copies and renames.
    """
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def text_digest(*parts: str) -> str:
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        h.update(p.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()
