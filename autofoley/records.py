"""Small typed records passed between the pipeline stages.

Data flows one way: frames -> embeddings -> similarities -> placements ->
timeline / mixdown. Every time is in seconds (float) unless a name says
otherwise; sample rates are in Hz.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path


@dataclass(frozen=True)
class VideoInfo:
    """What ffprobe tells about a film."""

    path: Path
    duration: float  # seconds of the container (or video stream when known)
    fps: Fraction  # nominal frame rate, e.g. Fraction(30000, 1001)
    width: int  # display width, after rotation metadata is applied
    height: int
    video_codec: str
    has_audio: bool
    rotation: int = 0  # degrees, as stored in the file

    @property
    def rate(self) -> float:
        return float(self.fps)


@dataclass(frozen=True)
class Scene:
    """A shot between two cuts, [start, end) in seconds."""

    index: int
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class SoundEntry:
    """One usable sound of the library.

    A file holding several events separated by silence may give several
    entries with the same ``path`` and different ``offset``/``duration``.
    """

    path: Path  # absolute path of the audio file
    description: str  # human text: tags or name, used to build the sentence
    category: str  # UCS category name (e.g. "GLASS") or folder-derived
    kind: str  # "sfx" or "ambience"
    duration: float  # seconds of this entry
    sample_rate: int
    channels: int
    offset: float = 0.0  # seconds into the file where the entry starts
    file_duration: float = 0.0  # seconds of the whole file (0 = same as duration)
    cat_id: str = ""  # UCS CatID, e.g. "GLASBreak", when known

    @property
    def key(self) -> str:
        """Stable identifier of the entry within a library."""
        return f"{self.path}#{self.offset:.3f}"

    @property
    def whole_file_duration(self) -> float:
        return self.file_duration or self.duration


@dataclass(frozen=True)
class Placement:
    """A sound placed on the timeline.

    ``start``/``end`` are timeline seconds (already snapped to the film's frame
    grid); ``source_in`` is the second of the *entry* where playback begins, so
    the second of the file is ``sound.offset + source_in``.
    """

    sound: SoundEntry
    start: float
    end: float
    source_in: float
    score: float  # mean softmax score over the event (ambience: cosine)
    scene: int  # index of the scene the placement starts in
    role: str  # "sfx" or "ambience"
    track: int = 0  # 0-based index within the role's tracks
    fade_in: float = 0.0
    fade_out: float = 0.0
    gain_db: float = 0.0
    alternates: tuple[tuple[str, float], ...] = field(default_factory=tuple)
    # End of the on-screen event the sound was synced to; a sound shorter than
    # its event ends (``end``) before it. 0 means the same as ``end``.
    event_end: float = 0.0
    # Stereo position over time: (seconds from ``start``, pan from -1 left to
    # +1 right) keyframes, linear between them; empty: centre.
    pan: tuple[tuple[float, float], ...] = field(default_factory=tuple)
    # "once" (one-shot, or long enough), "loop" (one of consecutive clips of a
    # continuous sound covering its event, or of a bed covering its scene:
    # ``loop_index`` 0, 1, ...).
    playback: str = "once"
    loop_index: int = 0
    # What the sound is, from its envelope (placement/sustain.py):
    # "continuous" (a hum, a hiss: it covers its action, looped if need be)
    # or "one-shot" (a hit, a bark: once at the onset). Beds are continuous.
    sustain: str = ""

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def synced_end(self) -> float:
        return self.event_end or self.end

    def to_json(self) -> dict:
        """The events.json form of a placement."""
        return {
            "file": str(self.sound.path),
            "start": round(self.start, 6),
            "end": round(self.end, 6),
            "event_end": round(self.synced_end, 6),
            "source_in": round(self.source_in, 6),
            "file_in": round(self.sound.offset + self.source_in, 6),
            "score": round(float(self.score), 6),
            "scene": self.scene,
            "category": self.sound.category,
            "kind": self.role,
            "track": self.track,
            "description": self.sound.description,
            "fade_in": self.fade_in,
            "fade_out": self.fade_out,
            "gain_db": self.gain_db,
            "alternates": [{"file": f, "score": round(float(s), 6)} for f, s in self.alternates],
            "pan": [[t, p] for t, p in self.pan],
            "playback": self.playback,
            "loop_index": self.loop_index,
            "sustain": self.sustain,
        }


def to_plain(obj) -> dict:
    """asdict() with Paths and Fractions made JSON-friendly."""
    out = asdict(obj)
    for k, v in out.items():
        if isinstance(v, Path):
            out[k] = str(v)
        elif isinstance(v, Fraction):
            out[k] = f"{v.numerator}/{v.denominator}"
    return out
