"""Stock footage as CLIP image vectors: the frames curate pairs sounds with.

Videos are sampled one frame every 1/fps seconds through the same path as
films (``placement.embed.embed_film``), and up to ``frames_per_video`` of
them kept at random (seeded by the video's path); a still is one frame,
decoded by the one picture decoder (``media.frames.grab_frame``), so a
still and a video frame of the same picture give the same vector. Both are
cached by content.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from autofoley.atomic import atomic_path
from autofoley.cache import cache_dir, file_digest, text_digest
from autofoley.errors import InputError, skip_reason
from autofoley.media.frames import grab_frame
from autofoley.media.probe import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, probe
from autofoley.placement.embed import embed_film
from autofoley.progress import NullReporter
from autofoley.training.splits import (
    DEFAULT_SPLITS,
    normalise_splits,
    relative_key,
    split_of,
)
from autofoley.walk import walk

if TYPE_CHECKING:  # the encoder pulls in torch; only its type is named here
    from autofoley.models.clip import ClipEncoder

log = logging.getLogger("autofoley")

FIT = "crop"  # CLIP's own preprocessing (frames.fit_filter); a model may ask for "pad"


@dataclass(frozen=True)
class StockFrames:
    """Sampled frames of a stock folder. Row i of ``vectors`` is the frame at
    ``time[i]`` seconds of ``video[i]`` (relative to the stock folder)."""

    vectors: np.ndarray  # (F, D) float32, L2-normalised
    video: list[str]
    time: np.ndarray  # (F,) seconds
    split: list[str]
    videos: int  # media files that gave frames (stills included)
    stills: int
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def check_stock(stock: str | Path) -> Path:
    path = Path(stock).expanduser()
    if not path.is_dir():
        raise InputError("stock folder not found" if not path.exists() else "stock is a file, not a folder",
                         path, "point --stock at a folder of videos and stills")
    return path.resolve()


def find_stock(stock: Path) -> tuple[list[Path], list[Path], list[tuple[Path, str]]]:
    """Videos and stills under ``stock`` (sorted; hidden files skipped), and
    what could not be looked at (unreadable folders, broken links), with why."""
    found = walk(stock, VIDEO_EXTENSIONS + IMAGE_EXTENSIONS)
    videos = [p for p in found.files if p.suffix.lower() in VIDEO_EXTENSIONS]
    stills = [p for p in found.files if p.suffix.lower() in IMAGE_EXTENSIONS]
    return videos, stills, found.problems


def stock_frames(stock: str | Path, clip: ClipEncoder, *, frames_per_video: int | None = 10,
                 fps: float = 1.0, splits: Sequence[float] = DEFAULT_SPLITS, seed: int = 0,
                 use_cache: bool = True, batch_size: int = 64, workers: int = 2,
                 fit: str = FIT, reporter=None) -> StockFrames:
    """Embed up to ``frames_per_video`` random frames (seeded) of each video,
    sampled one every 1/``fps`` s, and each still as one frame.

    A file that cannot be decoded is skipped with its reason; InputError when
    nothing usable is left. ``workers``: files decoded at once. ``fit``:
    how a frame becomes the encoder's square, as for films (the model's own
    frame fit, so stock and films are seen alike).
    """
    stock = check_stock(stock)
    reporter = reporter or NullReporter()
    fractions = normalise_splits(splits)
    videos, stills, problems = find_stock(stock)
    memo_key = None
    if use_cache:
        # The N ablation calls curate several times in one process: the same
        # stock, unchanged, is not probed and hashed again.
        try:
            stamps = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in videos + stills)
        except OSError:
            stamps = None
        if stamps is not None:
            memo_key = (str(stock), clip.identity, clip.image_size, fps, frames_per_video, seed,
                        fractions, fit, stamps)
            if memo_key in _FRAMES_MEMO:
                return _FRAMES_MEMO[memo_key]
    vectors, names, times = [], [], []
    skipped = list(problems)
    for path, reason in problems:
        log.warning("skipped %s: %s", path, reason)

    def embed(path: Path):
        try:
            return embed_film(probe(path), clip, step=1.0 / fps, batch_size=batch_size,
                              use_cache=use_cache, fit=fit)
        except InputError as exc:
            return exc

    with reporter.stage("stock videos", len(videos)) as update:
        # Stock clips are short: per file, starting ffprobe and ffmpeg costs
        # more than decoding. Two files in flight hide most of it (the
        # encoder releases the GIL); results are used in file order.
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(videos) or 1))) as pool:
            for done, (path, emb) in enumerate(zip(videos, pool.map(embed, videos)), 1):
                if isinstance(emb, InputError):
                    skipped.append((path, skip_reason(emb)))
                    log.warning("skipped %s: %s", path, skip_reason(emb))
                    continue
                rel = relative_key(path, stock)
                keep = _pick_frames(len(emb), frames_per_video, seed, rel)
                vectors.append(emb.vectors[keep])
                times.extend(float(t) for t in emb.times[keep])
                names.extend([rel] * len(keep))
                update(done, len(videos))
    n_videos = len(set(names))
    with reporter.stage("stock stills", len(stills)) as update:
        still_vectors, still_skipped = _embed_stills(stills, clip, batch_size, use_cache, workers, fit,
                                                     update)
    for path, vector in zip(stills, still_vectors):
        if vector is not None:
            vectors.append(vector[None])
            times.append(0.0)
            names.append(relative_key(path, stock))
    for path, reason in still_skipped:
        skipped.append((path, reason))
        log.warning("skipped %s: %s", path, reason)
    if not names:
        raise InputError("no usable video or still in the stock folder", stock,
                         "add videos (mp4, mov, mkv, ...) or stills (png, jpg)")
    matrix = np.concatenate(vectors).astype(np.float32)
    split = [split_of("video", v, fractions, seed) for v in names]
    n_stills = sum(v is not None for v in still_vectors)
    result = StockFrames(matrix, names, np.array(times, np.float64), split, n_videos + n_stills, n_stills,
                         skipped)
    if memo_key is not None:
        while len(_FRAMES_MEMO) >= _FRAMES_MEMO_SIZE:
            _FRAMES_MEMO.pop(next(iter(_FRAMES_MEMO)))
        _FRAMES_MEMO[memo_key] = result
    return result


_FRAMES_MEMO: dict[tuple, StockFrames] = {}
_FRAMES_MEMO_SIZE = 2


def _pick_frames(total: int, keep: int | None, seed: int, rel: str) -> np.ndarray:
    """Up to ``keep`` random frame indices of a video, ascending; seeded by the
    video's path, so adding footage never changes another video's frames."""
    if keep is None or total <= keep:
        return np.arange(total)
    rng = np.random.default_rng([seed, int(text_digest(rel)[:15], 16)])
    return np.sort(rng.choice(total, keep, replace=False))


def _embed_stills(paths: Sequence[Path], clip: ClipEncoder, batch_size: int, use_cache: bool,
                  workers: int, fit: str, progress) -> tuple[list[np.ndarray | None], list[tuple[Path, str]]]:
    """One vector per still (None when unreadable, with the reason in the
    second list, in path order), cached by content like film frames."""
    out: list[np.ndarray | None] = [None] * len(paths)
    reasons: dict[int, str] = {}
    cache_paths: dict[int, Path] = {}
    todo: list[int] = []
    for i, path in enumerate(paths):
        if use_cache:
            try:
                # The decoder is part of the key: vectors of stills decoded
                # another way (PIL, before grab_frame) differ slightly.
                key = text_digest(file_digest(path), clip.identity, "still", str(clip.image_size),
                                  fit, "grab_frame")
            except OSError as exc:
                reasons[i] = skip_reason(exc)
                continue
            cache_paths[i] = cache_dir("frames") / f"{key}.npy"
            if cache_paths[i].exists():
                try:
                    out[i] = np.load(cache_paths[i]).astype(np.float32)
                    continue
                except (OSError, ValueError):
                    pass
        todo.append(i)

    def decode(i: int):
        try:
            return grab_frame(paths[i], clip.image_size, fit, None)[0]
        except InputError as exc:
            return exc

    done = len(paths) - len(todo)
    if progress:
        progress(done, len(paths))
    # Each still is one ffmpeg process, whose start-up costs more than the
    # decoding: a few in flight hide most of it, as for stock videos.
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(todo) or 1))) as pool:
        for lo in range(0, len(todo), batch_size):
            chunk = todo[lo:lo + batch_size]
            decoded = list(pool.map(decode, chunk))
            good = [(i, px) for i, px in zip(chunk, decoded) if not isinstance(px, InputError)]
            for i, px in zip(chunk, decoded):
                if isinstance(px, InputError):
                    reasons[i] = skip_reason(px)
            if good:
                vectors = clip.encode_images(np.stack([px for _, px in good]))
                for (i, _), v in zip(good, vectors):
                    out[i] = v
                    if i in cache_paths:
                        with atomic_path(cache_paths[i]) as tmp:
                            with open(tmp, "wb") as f:
                                np.save(f, v.astype(np.float16))
            done += len(chunk)
            if progress:
                progress(done, len(paths))
    return out, [(paths[i], reasons[i]) for i in sorted(reasons)]
