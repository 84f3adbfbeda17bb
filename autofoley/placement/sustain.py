"""Does a sound go on (a hum, a hiss, an engine) or happen once (a bark, a hit)?

Placement needs to know: a continuous sound covers its thing's whole time on
screen, looped when the take is shorter; a one-shot plays once at the onset.
The answer comes from the sound's envelope: a continuous sound stays near its
peak level for most of its length, a one-shot decays or stops. Words in its
tags decide only when the envelope cannot (too short to tell, or unreadable).

Only placed sounds and search hits are classified (tens per film, not the
whole library: reading every file's envelope at indexing would cost about
12 ms a file here, 20 minutes for a 100k-file library), each once per process.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from autofoley.errors import InputError
from autofoley.media.audio import frame_rms, load_native
from autofoley.records import SoundEntry

log = logging.getLogger("autofoley")

CONTINUOUS = "continuous"
ONE_SHOT = "one-shot"

FRAME = 0.05  # seconds per envelope frame
NEAR_PEAK_DB = 15.0  # a frame within this of the loudest frame is "sounding"
SUSTAINED = 0.6  # continuous when at least this share of frames is sounding ...
MIN_LENGTH = 1.0  # ... and the sound lasts at least this long (seconds)

_CONTINUOUS_WORDS = re.compile(
    r"\b(hum|hums|humming|hiss|hissing|drone|engine|idle|idling|rotor|wind|rain|crackl\w*|"
    r"bubbl\w*|loop|loops|looped|roomtone|room tone|whir\w*|buzz\w*|motor|running|flow\w*|"
    r"stream|purr\w*|rumble|sizzl\w*|spin\w*|steady|constant|ambien\w*)\b", re.I)
_ONE_SHOT_WORDS = re.compile(
    r"\b(hit|hits|impact|knock\w*|bark|barks|slam\w*|chime|clink\w*|crash\w*|shot|"
    r"pop|click\w*|single|stinger|thud|tap|whoosh|swish|punch|snap)\b", re.I)


def sustain_of(sound: SoundEntry) -> str:
    """``continuous`` or ``one-shot`` (see the module docstring)."""
    return _classify(str(sound.path), round(sound.offset, 3), round(sound.duration, 3),
                     sound.description or "")


@lru_cache(maxsize=4096)
def _classify(path: str, offset: float, duration: float, tags: str) -> str:
    share = _sounding_share(Path(path), offset, duration)
    if share is not None and duration >= MIN_LENGTH:
        return CONTINUOUS if share >= SUSTAINED else ONE_SHOT
    by_words = from_words(tags + " " + Path(path).stem.replace("_", " "))
    return by_words or ONE_SHOT


def from_words(text: str) -> str | None:
    """The class the words say, when they say one (and only one)."""
    cont, once = bool(_CONTINUOUS_WORDS.search(text)), bool(_ONE_SHOT_WORDS.search(text))
    if cont != once:
        return CONTINUOUS if cont else ONE_SHOT
    return None


def sounding_share(audio: np.ndarray, sr: int) -> float:
    """Share of ``FRAME``-second frames within ``NEAR_PEAK_DB`` of the
    loudest one, for float (channels, samples) ``audio``."""
    mono = np.asarray(audio, np.float64).mean(axis=0) if audio.ndim == 2 else np.asarray(audio)
    if len(mono) == 0:
        return 0.0
    rms, _ = frame_rms(mono, sr, FRAME)
    peak = rms.max()
    if peak <= 0:
        return 0.0
    level = 20 * np.log10(np.maximum(rms, 1e-12) / peak)
    return float((level >= -NEAR_PEAK_DB).mean())


def _sounding_share(path: Path, offset: float, duration: float) -> float | None:
    try:
        audio, sr = load_native(path, offset, duration or None)
    except (InputError, OSError, ValueError) as exc:
        log.debug("no envelope for %s (%s): classified by its words", path, exc)
        return None
    return sounding_share(audio, sr)
