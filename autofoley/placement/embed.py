"""Frame embeddings of a film: decode (frames.py) -> CLIP image tower, cached.

The cache key is the film's content digest, the model identity, the time step
and the input size, so scoring the same film again with other thresholds or
another library costs no encoder work.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator

import numpy as np

from autofoley.atomic import atomic_path
from autofoley.cache import cache_dir, file_digest, text_digest
from autofoley.media.frames import REGIONS, FrameBatch, iter_frames, sample_times
from autofoley.placement.regions import Regions, on_grid, region_centres
from autofoley.placement.sparse import DENSE, SparseEncoder, SparsePlan, StillRegions
from autofoley.records import VideoInfo

if TYPE_CHECKING:  # the encoder pulls in torch; only its type is named here
    from autofoley.models.clip import ClipEncoder


@dataclass(frozen=True)
class FrameEmbeddings:
    """``vectors[i]`` (L2-normalised) is the frame at ``times[i]`` seconds,
    the centre of segment [i*step, (i+1)*step). With the ``regions`` fit it
    holds one vector per region of the frame: (T, REGIONS, D)."""

    times: np.ndarray
    vectors: np.ndarray
    step: float
    cached: bool = False
    # Region evidence on the same grid (placement/regions.py), when asked for.
    regions: Regions | None = None
    # Which rows went through the image tower (sparse.py); None: all of them.
    encoded: np.ndarray | None = None
    # Seconds spent decoding frames and in the image tower (0 when cached):
    # the work the run cannot avoid, against which its overhead is measured.
    decode_seconds: float = 0.0
    encode_seconds: float = 0.0

    @property
    def encoded_share(self) -> float:
        return 1.0 if self.encoded is None else float(np.mean(self.encoded))

    def __len__(self) -> int:
        return len(self.times)


def embed_film(video: VideoInfo, encoder: ClipEncoder, step: float = 0.1, batch_size: int = 64,
               use_cache: bool = True, fit: str = "crop",
               progress: Callable[[int, int], None] | None = None,
               plan: SparsePlan = DENSE, cuts: frozenset[int] = frozenset()) -> FrameEmbeddings:
    """Embed one frame every ``step`` seconds of ``video``.

    ``progress(done, total)`` is called after every batch (frames decoded
    and judged). ``fit`` is ``crop``, ``pad`` or ``regions`` (squares
    along the frame, each encoded: placement/regions.py). With a sparse
    ``plan`` (sparse.py) only the frames that change are encoded; ``cuts``
    (segment indices where a scene starts) are never interpolated across.
    """
    total = len(sample_times(video.duration, step))
    if fit == "regions":
        plan = DENSE  # regions are already a coarse grid of their own
    path = None
    if use_cache:
        # Hashing the film reads it once more: only worth it when the cache is on.
        parts = [file_digest(video.path), encoder.identity, f"{step:.6f}",
                 str(encoder.image_size), fit]
        if not plan.dense:
            parts += [plan.key(), ",".join(map(str, sorted(cuts)))]
        elif fit == "regions":
            parts.append(f"still-squares-{REGIONS}")
        path = cache_dir("frames") / f"{text_digest(*parts)}.npz"
    if path is not None and path.exists():
        try:
            with np.load(path) as z:
                times, vectors = z["times"], z["vectors"].astype(np.float32)
                encoded = z["encoded"] if "encoded" in z.files else None
            if len(times) == total:
                if progress:
                    progress(total, total)
                return FrameEmbeddings(times, vectors, step, cached=True, encoded=encoded)
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache entry is recomputed
    times, vectors, masks = [], [], []
    # Regions are a coarse grid already; of them, only squares that change are encoded.
    stills = StillRegions(encoder.encode_images) if fit == "regions" else None
    clock = Stopwatch()
    sparse = SparseEncoder(lambda px: clock.run("encode", _encode, encoder, px, stills), plan,
                           cuts, batch_size)
    decoded = 0
    for batch in _prefetch(clock.each("decode", iter_frames(
            video.path, step, encoder.image_size, batch_size, duration=video.duration, fit=fit))):
        times.append(batch.times)
        decoded += len(batch.times)
        for vecs, mask in sparse.add(batch.pixels):
            vectors.append(vecs)
            masks.append(mask)
        if progress:
            progress(decoded, total)
    for vecs, mask in sparse.finish():
        vectors.append(vecs)
        masks.append(mask)
    encoded = None if plan.dense else np.concatenate(masks)
    # float16 halves the cache. Every run works on the float16 values, cached
    # or not: a first run on float32 placed an event differently from every
    # later run on its cache (a score 0.8 under the threshold and 0.8 over
    # it), one hit in 65 on the demo world's reels 10-12.
    half = np.concatenate(vectors).astype(np.float16)
    result = FrameEmbeddings(np.concatenate(times), half.astype(np.float32), step,
                             encoded=encoded, decode_seconds=clock.seconds["decode"],
                             encode_seconds=clock.seconds["encode"])
    if path is not None:
        extra = {"encoded": encoded} if encoded is not None else {}
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, times=result.times, vectors=half, **extra)
    return result


def embed_regions(video: VideoInfo, encoder: ClipEncoder, region_step: float, step: float,
                  batch_size: int = 64, use_cache: bool = True,
                  progress: Callable[[int, int], None] | None = None
                  ) -> tuple[Regions, FrameEmbeddings]:
    """The film's regions every ``region_step`` s, encoded and put on
    the ``step`` grid of its frames (placement/regions.py); and the samples
    as ``embed_film`` returned them (their timings)."""
    sampled = embed_film(video, encoder, region_step, batch_size, use_cache, "regions", progress)
    n = len(sample_times(video.duration, step))
    return Regions(sampled.vectors, on_grid(len(sampled.vectors), region_step, n, step),
                   region_centres(video.width, video.height)), sampled


class Stopwatch:
    """Seconds spent per kind of work, summed over calls and threads."""

    def __init__(self):
        self.seconds: dict[str, float] = {"decode": 0.0, "encode": 0.0}

    def run(self, kind: str, fn, *args):
        t0 = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self.seconds[kind] += time.perf_counter() - t0

    def each(self, kind: str, items: Iterator) -> Iterator:
        """``items``, timing how long each takes to arrive."""
        it = iter(items)
        while True:
            t0 = time.perf_counter()
            try:
                item = next(it)
            except StopIteration:
                return
            finally:
                self.seconds[kind] += time.perf_counter() - t0
            yield item


def _encode(encoder: ClipEncoder, pixels: np.ndarray, stills: StillRegions | None) -> np.ndarray:
    """Frames through the tower; with ``stills``, the regions fit's squares
    (N, S, REGIONS x S, 3) -> (N, REGIONS, D), still squares reused."""
    if stills is None:
        return encoder.encode_images(pixels)
    n, size = len(pixels), pixels.shape[1]
    return stills(pixels.reshape(n, size, REGIONS, size, 3).swapaxes(1, 2))


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
