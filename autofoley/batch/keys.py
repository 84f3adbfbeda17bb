"""The digests that decide whether a done film is scored again: one of the
library, one of the settings (the film's own is the job store's business)."""

from __future__ import annotations

import hashlib
import json
import os
from typing import TYPE_CHECKING

from autofoley.cache import text_digest

if TYPE_CHECKING:
    from autofoley.library.scan import LibraryScan
    from autofoley.options import ScoreOptions

# Options that change how fast a film is scored, not what its score is.
RUNTIME_OPTIONS = ("use_cache", "batch_size", "index_dir")


def settings_key(options: "ScoreOptions", model_identity: str) -> str:
    """Digest of everything that changes a film's score besides film and library:
    the options (less those that only change speed) and the model identity."""
    values = {k: v for k, v in options.to_dict().items() if k not in RUNTIME_OPTIONS}
    return text_digest(json.dumps(values, sort_keys=True, default=str), model_identity)


def library_key(scan: "LibraryScan", template: str) -> str:
    """Digest of the scanned library: each usable sound's path, size, mtime,
    kind, category and the sentence it is ranked by (so editing the CSV sidecar
    or the template counts as a change, and so does moving the library, since
    timelines reference sounds by absolute path)."""
    from autofoley.library.scan import sentence_for

    h = hashlib.blake2b(digest_size=16)
    for e in scan.entries:
        try:
            st = os.stat(e.path)
            stat = [st.st_size, st.st_mtime_ns]
        except OSError:
            stat = None
        h.update(json.dumps([str(e.path), stat, e.offset, e.duration, e.kind, e.category,
                             sentence_for(e, template)]).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


# id(scan) -> (scan, key); the scan is kept so a recycled id cannot match.
_LIBRARY_KEYS: dict[int, tuple[object, str]] = {}


def cached_library_key(scan: "LibraryScan", template: str) -> str:
    """library_key once per scan a worker's Scorer holds (stat'ing a large
    library for every film would cost more than the film)."""
    hit = _LIBRARY_KEYS.get(id(scan))
    if hit is None or hit[0] is not scan:
        hit = (scan, library_key(scan, template))
        _LIBRARY_KEYS[id(scan)] = hit
    return hit[1]
