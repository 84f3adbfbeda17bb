"""Frame embeddings of a film: decode (frames.py) -> CLIP image tower, cached.

The cache key is the film's content digest, the model identity, the time step
and the input size, so scoring the same film again with other thresholds or
another library costs no encoder work.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator

import numpy as np

from autofoley.atomic import atomic_path
from autofoley.cache import cache_dir, file_digest, text_digest
from autofoley.media.frames import FrameBatch, iter_frames, sample_times
from autofoley.records import VideoInfo

if TYPE_CHECKING:  # the encoder pulls in torch; only its type is named here
    from autofoley.models.clip import ClipEncoder


@dataclass(frozen=True)
class FrameEmbeddings:
    """``vectors[i]`` (L2-normalised) is the frame at ``times[i]`` seconds,
    the centre of segment [i*step, (i+1)*step)."""

    times: np.ndarray
    vectors: np.ndarray
    step: float
    cached: bool = False

    def __len__(self) -> int:
        return len(self.times)


def embed_film(video: VideoInfo, encoder: ClipEncoder, step: float = 0.1, batch_size: int = 64,
               use_cache: bool = True, fit: str = "crop",
               progress: Callable[[int, int], None] | None = None) -> FrameEmbeddings:
    """Embed one frame every ``step`` seconds of ``video``.

    ``progress(done, total)`` is called after every batch (frames).
    """
    total = len(sample_times(video.duration, step))
    path = None
    if use_cache:
        # Hashing the film reads it once more: only worth it when the cache is on.
        key = text_digest(file_digest(video.path), encoder.identity, f"{step:.6f}",
                          str(encoder.image_size), fit)
        path = cache_dir("frames") / f"{key}.npz"
    if path is not None and path.exists():
        try:
            with np.load(path) as z:
                times, vectors = z["times"], z["vectors"].astype(np.float32)
            if len(times) == total:
                if progress:
                    progress(total, total)
                return FrameEmbeddings(times, vectors, step, cached=True)
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache entry is recomputed
    times, vectors = [], []
    for batch in _prefetch(iter_frames(video.path, step, encoder.image_size, batch_size,
                                       duration=video.duration, fit=fit)):
        times.append(batch.times)
        vectors.append(encoder.encode_images(batch.pixels))
        if progress:
            progress(sum(len(t) for t in times), total)
    result = FrameEmbeddings(np.concatenate(times), np.concatenate(vectors), step)
    if path is not None:
        # float16 halves the cache; cosine ranks are unchanged at this precision.
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, times=result.times, vectors=result.vectors.astype(np.float16))
    return result


def _prefetch(batches: Iterator[FrameBatch], depth: int = 2) -> Iterator[FrameBatch]:
    """Read the next batches from ffmpeg in a thread while the encoder works,
    so decoding and encoding overlap instead of taking turns."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def reader():
        try:
            for b in batches:
                if stop.is_set():
                    break
                q.put(b)
            q.put(done)
        except BaseException as exc:  # handed to the consumer and raised there
            q.put(exc)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # drain so the reader can see ``stop`` and exit
            try:
                q.get(timeout=0.1)
            except queue.Empty:
                pass
        thread.join()
