"""The paired dataset ``autofoley curate`` writes and ``autofoley train`` reads.

A pairs folder holds six files::

    manifest.json  format "autofoley-pairs", version 2, how it was made, counts
    frames.npy     float16 (F, D) L2-normalised CLIP image embeddings
    frames.csv     frame_id,video,time,split
    pairs.csv      pair_id,audio,offset,duration,sentence,category,kind,split,frame_ids,scores
    texts.npy      float16 (S, D) L2-normalised CLIP text embeddings, row i of sounds.csv
    sounds.csv     sound_id,audio,offset,duration,sentence,category,kind,split

``sounds.csv`` lists every tagged sound curated, paired with a frame or not:
the language bridge ``train`` uses besides the pairs (each sound's audio is
trained towards the text embedding of its sentence, which lives in the same
space as the frames). Pairs are a subset of the sounds. Version 1 folders
(no sounds) are still read; they train on the pairs alone.

``video`` is relative to the stock folder, ``time`` in seconds; ``audio`` is
an absolute path, ``offset``/``duration`` the seconds of the take in it;
``frame_ids`` and ``scores`` are space-separated, best first: the frame the
SFX was matched to, then its top-k augmentation frames, with their cosines.

The files are written into a temporary folder inside the output folder and
renamed into place, the manifest last (and any old manifest removed first),
so a folder with a manifest always holds a complete, consistent set;
``load_pairs`` checks the counts the manifest records.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from autofoley.atomic import TMP_PREFIX, ensure_dir
from autofoley.errors import InputError

FORMAT = "autofoley-pairs"
VERSION = 2
READABLE_VERSIONS = (1, 2)
SPLITS = ("train", "val", "test")
FILES = ("manifest.json", "frames.npy", "frames.csv", "pairs.csv", "texts.npy", "sounds.csv")
FRAME_COLUMNS = ("frame_id", "video", "time", "split")
PAIR_COLUMNS = ("pair_id", "audio", "offset", "duration", "sentence", "category", "kind", "split",
                "frame_ids", "scores")
SOUND_COLUMNS = ("sound_id", "audio", "offset", "duration", "sentence", "category", "kind",
                 "split")


@dataclass(frozen=True)
class Pair:
    """One SFX (a take of an audio file) and the frames it was matched to."""

    pair_id: int
    audio: Path  # absolute path of the audio file
    offset: float  # seconds into the file where the take starts
    duration: float  # seconds of the take
    sentence: str  # the text CLIP matched with the frames
    category: str
    kind: str
    split: str  # "train", "val" or "test"
    frame_ids: tuple[int, ...]  # the matched frame, then the augmentation frames, best first
    scores: tuple[float, ...]  # cosine of each frame with the sentence, same order


@dataclass(frozen=True)
class Sound:
    """One tagged SFX (a take of an audio file) and its sentence; its text
    embedding is row ``sound_id`` of ``texts.npy``."""

    sound_id: int
    audio: Path
    offset: float
    duration: float
    sentence: str
    category: str
    kind: str
    split: str

    @property
    def key(self) -> tuple[str, float]:
        return str(self.audio), round(self.offset, 3)


@dataclass(frozen=True)
class PairsDataset:
    root: Path
    manifest: dict
    frames: np.ndarray  # (F, D) float32
    frame_video: list[str]  # relative to the stock folder
    frame_time: np.ndarray  # (F,) seconds
    frame_split: list[str]
    pairs: list[Pair]
    sounds: list[Sound] = field(default_factory=list)
    texts: np.ndarray | None = None  # (S, D) float32, row i for sounds[i]; None: version 1
    _by_video: dict = field(default_factory=dict, repr=False, compare=False)

    def split(self, name: str) -> list[Pair]:
        """The pairs of one split, in pair_id order."""
        if name not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, not {name!r}")
        return [p for p in self.pairs if p.split == name]

    def sounds_of(self, name: str) -> list[Sound]:
        """The sounds of one split, in sound_id order."""
        if name not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, not {name!r}")
        return [s for s in self.sounds if s.split == name]

    def video_frames(self, video: str) -> np.ndarray:
        """Frame ids (int64, ascending) of one stock video (or still)."""
        if not self._by_video:
            groups: dict[str, list[int]] = {}
            for i, v in enumerate(self.frame_video):
                groups.setdefault(v, []).append(i)
            self._by_video.update({v: np.array(ids, np.int64) for v, ids in groups.items()})
        return self._by_video.get(video, np.zeros(0, np.int64))


def write_pairs(root: str | Path, manifest: dict, frames: np.ndarray,
                frame_rows: Sequence[tuple[str, float, str]], pairs: Sequence[Pair],
                sounds: Sequence[Sound] = (), texts: np.ndarray | None = None) -> None:
    """Write a pairs folder at ``root`` (created if needed, files replaced).

    ``frame_rows[i]`` is (video, time, split) of ``frames[i]``; ``texts[i]``
    the text embedding of ``sounds[i]``. ``manifest`` gets "format",
    "version" and counts.frames / pairs_total / sounds_total set here.
    Raises OutputError when ``root`` cannot be written.
    """
    root = ensure_dir(root)
    frames = np.asarray(frames)
    if frames.ndim != 2 or len(frames) != len(frame_rows):
        raise ValueError(f"frames must be (F, D) with F = {len(frame_rows)} rows, not {frames.shape}")
    dim = frames.shape[1]
    texts = np.zeros((0, dim), np.float32) if texts is None else np.asarray(texts)
    if texts.ndim != 2 or len(texts) != len(sounds) or (len(texts) and texts.shape[1] != dim):
        raise ValueError(f"texts must be (S, {dim}) with S = {len(sounds)} rows, not {texts.shape}")
    if any(s.sound_id != i for i, s in enumerate(sounds)):
        raise ValueError("sound_id must be the row of each sound")
    for p in pairs:
        if len(p.frame_ids) != len(p.scores) or not p.frame_ids:
            raise ValueError(f"pair {p.pair_id}: frame_ids and scores must be non-empty and of one length")
        if max(p.frame_ids) >= len(frames) or min(p.frame_ids) < 0:
            raise ValueError(f"pair {p.pair_id}: frame id out of range")
    manifest = {**manifest, "format": FORMAT, "version": VERSION}
    manifest["counts"] = {**manifest.get("counts", {}), "frames": len(frames),
                          "pairs_total": len(pairs), "sounds_total": len(sounds)}
    tmp = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=root))
    try:
        with open(tmp / "frames.npy", "wb") as f:
            np.save(f, frames.astype(np.float16))
        _write_csv(tmp / "frames.csv", FRAME_COLUMNS,
                   ([i, v, f"{t:.3f}", s] for i, (v, t, s) in enumerate(frame_rows)))
        _write_csv(tmp / "pairs.csv", PAIR_COLUMNS, (
            [p.pair_id, str(p.audio), f"{p.offset:.6f}", f"{p.duration:.6f}", p.sentence, p.category,
             p.kind, p.split, " ".join(str(i) for i in p.frame_ids),
             " ".join(f"{s:.6f}" for s in p.scores)] for p in pairs))
        with open(tmp / "texts.npy", "wb") as f:
            np.save(f, texts.astype(np.float16))
        _write_csv(tmp / "sounds.csv", SOUND_COLUMNS, (
            [s.sound_id, str(s.audio), f"{s.offset:.6f}", f"{s.duration:.6f}", s.sentence,
             s.category, s.kind, s.split] for s in sounds))
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
                                           encoding="utf-8")
        # A reader must never pair a new manifest with old data or the reverse:
        # the manifest goes first and comes back last.
        (root / "manifest.json").unlink(missing_ok=True)
        for name in FILES[1:] + FILES[:1]:
            os.chmod(tmp / name, 0o644)
            os.replace(tmp / name, root / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write_csv(path: Path, header: Sequence[str], rows) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def load_pairs(root: str | Path) -> PairsDataset:
    """Read a pairs folder; InputError naming the file when it is missing,
    incomplete or of another format."""
    root = Path(root).expanduser()
    manifest_path = root / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("no manifest.json: not a pairs folder, or its writing did not finish",
                         root, "run 'autofoley curate --out' for this folder") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"manifest cannot be read ({exc})", manifest_path,
                         "run 'autofoley curate' again") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InputError(f"not an {FORMAT} manifest", manifest_path, "point at a folder written by 'autofoley curate'")
    version = manifest.get("version")
    if version not in READABLE_VERSIONS:
        raise InputError(f"pairs format version {version} is not supported (need "
                         f"{' or '.join(map(str, READABLE_VERSIONS))})",
                         manifest_path, "curate the dataset again with this autofoley")
    try:
        frames = np.load(root / "frames.npy").astype(np.float32)
        frame_rows = _read_csv(root / "frames.csv", FRAME_COLUMNS)
        pair_rows = _read_csv(root / "pairs.csv", PAIR_COLUMNS)
        video = [r["video"] for r in frame_rows]
        time = np.array([float(r["time"]) for r in frame_rows], np.float64)
        split = [r["split"] for r in frame_rows]
        pairs = [Pair(pair_id=int(r["pair_id"]), audio=Path(r["audio"]), offset=float(r["offset"]),
                      duration=float(r["duration"]), sentence=r["sentence"], category=r["category"],
                      kind=r["kind"], split=r["split"],
                      frame_ids=tuple(int(i) for i in r["frame_ids"].split()),
                      scores=tuple(float(s) for s in r["scores"].split()))
                 for r in pair_rows]
        sounds: list[Sound] = []
        texts = None
        if version >= 2:
            texts = np.load(root / "texts.npy").astype(np.float32)
            sounds = [Sound(sound_id=int(r["sound_id"]), audio=Path(r["audio"]),
                            offset=float(r["offset"]), duration=float(r["duration"]),
                            sentence=r["sentence"], category=r["category"], kind=r["kind"],
                            split=r["split"])
                      for r in _read_csv(root / "sounds.csv", SOUND_COLUMNS)]
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"pairs folder is damaged ({exc})", root, "run 'autofoley curate' again") from None
    counts = manifest.get("counts", {})
    if (frames.ndim != 2 or len(frames) != len(frame_rows) or counts.get("frames") != len(frames)
            or counts.get("pairs_total") != len(pairs)
            or any(i >= len(frames) for p in pairs for i in p.frame_ids)
            or (texts is not None and (len(texts) != len(sounds)
                                       or counts.get("sounds_total") != len(sounds)
                                       or any(s.sound_id != i for i, s in enumerate(sounds))))):
        raise InputError("pairs folder files do not agree with its manifest", root,
                         "run 'autofoley curate' again")
    return PairsDataset(root.resolve(), manifest, frames, video, time, split, pairs, sounds, texts)


def _read_csv(path: Path, columns: Sequence[str]) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in columns if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"{path.name} lacks columns {', '.join(missing)}")
        return list(reader)
