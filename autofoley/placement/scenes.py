"""Split a film into scenes with PySceneDetect's ContentDetector.

ContentDetector scores each frame's change in hue, saturation, luma and edges
against the previous one (0-255) and cuts where it exceeds ``threshold``
(27 in PySceneDetect and in Demarchi's pipeline). It reads the film at its own
frame rate (not our 0.1 s grid) so hard cuts land on the exact frame.

A dissolve changes each frame only a little, so frame-to-frame differences
never reach the threshold. A second pass compares frames ``gradual_window``
seconds apart (PySceneDetect's ``frame_skip``): there a dissolve is as large
a change as a cut. Its cuts that no first-pass cut explains (none within
``gradual_window`` x 2) are added; they are accurate to about the window.

A dissolve longer than about twice that window changes frames 0.5 s apart by
less than a third of the whole change, and neither pass sees it (a 1.6 s
dissolve between an office and a harbour; two 0.96 s dissolves on the demo
world's reel 12). PySceneDetect's ``frame_skip`` cannot simply be made longer:
it looks only at every window's frame, so the cut lands up to a window late
and a long dissolve fires twice. A third pass (``_dissolve_cuts``) decodes
small frames every 0.1 s and scores each against the one ``window`` seconds
earlier, sliding, as ContentDetector scores neighbours (the mean change of
hue, saturation and value); where that rises above the threshold it puts one
cut in the middle of the stretch, the dissolve's middle, unless a hard cut
falls inside it (then it is that cut), and in place of a gradual-pass cut
inside it (which marks where the dissolve began to show). Over 1-2 s a pan
or a thing crossing the frame changes as much, so a change counts only when
its middle frame is the mean of the frames either side, as in a dissolve (a
slow pan over a busy picture made two false cuts without that check).
"""

from __future__ import annotations

import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from autofoley.atomic import write_json
from autofoley.cache import cache_dir, file_digest, text_digest
from autofoley.errors import InputError
from autofoley.records import Scene

DEFAULT_THRESHOLD = 27.0
DEFAULT_MIN_SCENE_LEN = 0.6  # seconds: PySceneDetect's 15 frames at 25 fps
DEFAULT_GRADUAL_WINDOW = 0.5  # seconds between compared frames in the dissolve pass
# Seconds between the frames the long-dissolve pass compares; and its frame rate.
DISSOLVE_WINDOWS = (1.0, 2.0)
DISSOLVE_RATE = 10
DISSOLVE_SIZE = (128, 72)  # the frames it compares, in pixels
# A dissolve's middle frame is the mean of the frames either side of it; a pan's
# or a moving thing's is not. A change is a dissolve when the middle frame is
# off that mean by less than this share of how far apart the two sides are.
BLEND_TOLERANCE = 0.25
BLEND_SIZE = (16, 9)  # the frames kept for that check: 432 bytes each, 16 MB an hour of film
CACHE_VERSION = "scenes-4"  # bump when detection changes, so cached cuts are not reused

log = logging.getLogger("autofoley")


def detect_scenes(path: str | Path, duration: float, threshold: float = DEFAULT_THRESHOLD,
                  min_scene_len: float = DEFAULT_MIN_SCENE_LEN,
                  gradual_window: float = DEFAULT_GRADUAL_WINDOW,
                  use_cache: bool = False) -> list[Scene]:
    """Scenes covering [0, duration) in order; a film without cuts is one scene.
    ``gradual_window`` 0 turns both dissolve passes off. With ``use_cache`` the
    cuts are kept by the film's content and the settings, so scoring the
    film again does not read it again."""
    cuts = _all_cuts(path, threshold, min_scene_len, gradual_window, use_cache)
    return scenes_from_cuts(sorted(c for c in cuts if 0 < c < duration), duration)


def _all_cuts(path: str | Path, threshold: float, min_scene_len: float, gradual_window: float,
              use_cache: bool) -> list[float]:
    """The hard and the gradual passes' cuts, from the cache when it has them."""
    cache = None
    if use_cache:
        cache = cache_dir("scenes") / (text_digest(
            file_digest(path), f"{threshold:.6g}", f"{min_scene_len:.6g}",
            f"{gradual_window:.6g}", CACHE_VERSION) + ".json")
        try:
            return [float(c) for c in json.loads(cache.read_text(encoding="utf-8"))["cuts"]]
        except (OSError, ValueError, KeyError, TypeError):
            pass  # absent or damaged: detected again
    with ThreadPoolExecutor(max_workers=3) as pool:
        # Each pass decodes the whole film (OpenCV, ffmpeg), which releases
        # the GIL: side by side they take the time of the longest.
        hard = pool.submit(_cuts, path, threshold, min_scene_len, 0)
        gradual = pool.submit(_cuts, path, threshold, min_scene_len, gradual_window) \
            if gradual_window > 0 else None
        long = pool.submit(_dissolve_cuts, path, threshold) if gradual_window > 0 else None
        cuts = list(hard.result())
        soft = [c for c in (gradual.result() if gradual else [])
                if all(abs(c - h) > 2 * gradual_window for h in cuts)]
        for middle, first, last in long.result() if long else []:
            if any(first <= h <= last for h in cuts):
                continue  # a hard cut's own change
            # The gradual pass sees a dissolve where it starts to show, up to a
            # window late or early: its middle stands for it instead.
            soft = [c for c in soft if not first <= c <= last] + [middle]
        cuts += soft
    cuts.sort()
    if cache is not None:
        write_json(cache, {"cuts": cuts})
    return cuts


def _cuts(path: str | Path, threshold: float, min_scene_len: float, window: float) -> list[float]:
    _quiet_decoders()
    from scenedetect import ContentDetector, SceneManager, open_video

    # PySceneDetect logs every pass at INFO to its own logger (set up on import).
    logging.getLogger("pyscenedetect").setLevel(logging.WARNING)
    try:
        video = open_video(str(path))
        skip = max(0, int(round(window * video.frame_rate)) - 1) if window > 0 else 0
        manager = SceneManager()
        manager.add_detector(ContentDetector(threshold=threshold, min_scene_len=float(min_scene_len)))
        manager.detect_scenes(video, frame_skip=skip)
        found = manager.get_scene_list(start_in_scene=True)
    except Exception as exc:  # OpenCV raises plain errors on unreadable input
        raise InputError(f"scene detection could not read the film ({exc})", path,
                         "check that the file is a complete, playable video") from None
    return [round(start.seconds, 6) for start, _ in found[1:]]


def _dissolve_cuts(path: str | Path, threshold: float,
                   windows: tuple[float, ...] = DISSOLVE_WINDOWS) -> list[tuple[float, float, float]]:
    """(middle, first, last) seconds of each change found where small HSV
    frames ``window`` seconds apart differ by more than ``threshold``
    (ContentDetector's scale: the mean absolute change of hue in 0-180,
    saturation and value in 0-255): its middle, and the first and last frames
    that took part in it. Shorter windows first; a longer window's change that
    overlaps one found is the same change. Frames are streamed: only the last
    window's are kept."""
    import subprocess

    import numpy as np
    from PIL import Image

    from autofoley.media.probe import tool

    width, height = DISSOLVE_SIZE
    steps = [max(1, int(round(w * DISSOLVE_RATE))) for w in windows]
    args = [tool("ffmpeg"), "-v", "error", "-nostdin", "-i", str(path), "-map", "0:v:0",
            "-vf", f"fps={DISSOLVE_RATE},scale={width}:{height}", "-f", "rawvideo",
            "-pix_fmt", "rgb24", "-"]
    size = width * height * 3
    recent: list[np.ndarray] = []
    tiny: list[np.ndarray] = []  # every frame, small, for the blend check
    scores: list[list[float]] = [[] for _ in steps]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL)
    try:
        while True:
            raw = proc.stdout.read(size)
            if len(raw) < size:
                break
            picture = Image.frombytes("RGB", (width, height), raw)
            tiny.append(np.asarray(picture.resize(BLEND_SIZE, Image.BILINEAR)))
            hsv = np.asarray(picture.convert("HSV"), np.float32)
            hsv[..., 0] *= 180.0 / 256.0  # PIL's hue is 0-255, OpenCV's (ContentDetector's) 0-180
            recent = (recent + [hsv])[-(max(steps) + 1):]
            for k, n in enumerate(steps):
                if len(recent) > n:
                    scores[k].append(float(np.abs(recent[-1] - recent[-1 - n]).mean()))
    finally:
        proc.stdout.close()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    found: list[tuple[float, float, float]] = []
    for n, series in zip(steps, scores):
        above = np.asarray(series) > threshold
        i = 0
        while i < len(above):
            if not above[i]:
                i += 1
                continue
            j = i
            while j < len(above) and above[j]:
                j += 1
            # Score m compares frame m with frame m + n, so a stretch i..j-1
            # above the threshold is a change centred half a window after its
            # middle (a dissolve longer than the window is a plateau, not a peak).
            middle = round(((i + j - 1) / 2 + n / 2) / DISSOLVE_RATE, 6)
            first, last = i / DISSOLVE_RATE, (j - 1 + n) / DISSOLVE_RATE
            if all(last < f or first > l for _, f, l in found) and \
                    _is_blend(tiny[i], tiny[(i + j - 1 + n) // 2], tiny[min(j - 1 + n, len(tiny) - 1)]):
                found.append((middle, first, last))
            i = j
    return found


def _is_blend(before: "np.ndarray", middle: "np.ndarray", after: "np.ndarray") -> bool:
    """Whether ``middle`` is (nearly) the mean of ``before`` and ``after``, as
    half-way through a dissolve, not a frame of a pan or of a thing moving
    across (uint8 RGB, one size)."""
    import numpy as np

    a, m, b = (x.astype(np.float32) for x in (before, middle, after))
    apart = float(np.abs(a - b).mean())
    return apart > 0 and float(np.abs(m - (a + b) / 2).mean()) < BLEND_TOLERANCE * apart


def _quiet_decoders() -> None:
    """FFmpeg inside OpenCV writes each complaint about a damaged frame
    straight to stderr (dozens of lines for a truncated film), under the
    progress display. Unless debug logging (``--verbose``) is on, it is asked
    for silence; the settings are read when OpenCV first opens a video, and
    a user's own values are kept. A film that cannot be read still fails
    with its one-line error."""
    if not log.isEnabledFor(logging.DEBUG):
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
        os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")


def scenes_from_cuts(cuts: list[float], duration: float) -> list[Scene]:
    """Scenes between consecutive cut times (seconds), first at 0, last to ``duration``."""
    bounds = [0.0, *[c for c in cuts if 0 < c < duration], duration]
    return [Scene(i, bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]
