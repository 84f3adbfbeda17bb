"""Find and call ffmpeg / ffprobe, and probe films.

Debian's ``ffmpeg`` package (or any build on PATH) is required: moviepy's
bundled binary ships no ffprobe. ``AUTOFOLEY_FFMPEG`` / ``AUTOFOLEY_FFPROBE``
point at other builds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

from autofoley.errors import InputError, ToolError
from autofoley.records import VideoInfo

# Suffixes taken for films when a folder is searched (batch, curate's stock).
VIDEO_EXTENSIONS = (".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".mxf", ".mpg", ".mpeg",
                    ".mts", ".m2ts", ".ts", ".wmv", ".flv", ".3gp", ".ogv")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")

_INSTALL_HINT = "install ffmpeg (e.g. 'apt-get install ffmpeg' or 'brew install ffmpeg')"


def tool(name: str) -> str:
    """Absolute path of ``ffmpeg`` or ``ffprobe``, or a ToolError with the remedy."""
    env = os.environ.get(f"AUTOFOLEY_{name.upper()}")
    found = env or shutil.which(name)
    if not found:
        raise ToolError(f"{name} was not found on PATH", remedy=_INSTALL_HINT)
    return found


# Seconds an ffprobe of one file may take; a healthy probe takes milliseconds,
# so only a stalled read (a network mount gone away) gets near it.
PROBE_TIMEOUT_S = 60.0


def capture(args: list[str], timeout: float, path: str | Path | None = None
            ) -> subprocess.CompletedProcess:
    """Run a tool with stdin closed and its output captured; a ToolError
    naming the tool and ``path`` when it runs past ``timeout`` seconds (it is
    killed: nothing an external program does may hang autofoley)."""
    try:
        return subprocess.run(args, capture_output=True, stdin=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ToolError(f"{Path(args[0]).name} ran past {timeout:.0f} s and was stopped", path,
                        "check that the file is on a reachable disk and not still being written"
                        ) from None


def run_tool(args: list[str], what: str, path: str | Path | None = None,
             timeout: float = 600.0) -> subprocess.CompletedProcess:
    """Run ffmpeg/ffprobe quietly; on failure raise with ffmpeg's last line."""
    proc = capture(args, timeout, path)
    if proc.returncode != 0:
        last = _last_line(proc.stderr)
        raise ToolError(f"{what} failed: {last}", path)
    return proc


def _last_line(stderr: bytes) -> str:
    lines = [l.strip() for l in stderr.decode("utf-8", "replace").splitlines() if l.strip()]
    return lines[-1] if lines else "no message"


def check_readable(path: str | Path, what: str = "film") -> Path:
    path = Path(path).expanduser()
    if not path.exists():
        raise InputError(f"{what} not found", path, "check the path")
    if path.is_dir():
        raise InputError(f"is a folder, not a {what} file", path, "pass a file")
    if not path.is_file():
        # A FIFO or a device would block ffprobe for ever.
        raise InputError(f"is not a regular file (a pipe, socket or device), not a {what}", path,
                         "pass a file")
    if not os.access(path, os.R_OK):
        raise InputError(f"{what} is not readable", path, "fix its permissions")
    return path.resolve()


def probe(path: str | Path) -> VideoInfo:
    """Duration, frame rate, display size, codec and audio presence of a film."""
    path = check_readable(path)
    args = [tool("ffprobe"), "-v", "error", "-print_format", "json",
            "-show_format", "-show_streams", str(path)]
    proc = capture(args, PROBE_TIMEOUT_S, path)
    if proc.returncode != 0:
        raise InputError(f"not a video ffmpeg can read ({_last_line(proc.stderr)})", path,
                         "pass a video file (mp4, mov, mkv, webm, ...)")
    info = json.loads(proc.stdout or b"{}")
    streams = info.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"
                  and not s.get("disposition", {}).get("attached_pic")), None)
    if video is None:
        raise InputError("has no video stream", path, "pass a video file, not audio or an image")
    fps = _frame_rate(video)
    duration = _duration(video, info.get("format", {}))
    if duration <= 0 or fps <= 0:
        raise InputError("video stream has no frames or no duration", path,
                         "check that the file is complete (re-export or re-download it)")
    rotation = _rotation(video)
    width, height = int(video.get("width", 0)), int(video.get("height", 0))
    if rotation % 180:
        width, height = height, width
    return VideoInfo(
        path=path,
        duration=duration,
        fps=fps,
        width=width,
        height=height,
        video_codec=str(video.get("codec_name", "unknown")),
        has_audio=any(s.get("codec_type") == "audio" for s in streams),
        rotation=rotation,
    )


def _frame_rate(stream: dict) -> Fraction:
    # r_frame_rate is the stream's base rate; avg_frame_rate is better for
    # variable-rate phone footage. Prefer avg when it is sane.
    for key in ("avg_frame_rate", "r_frame_rate"):
        value = stream.get(key, "0/0")
        try:
            num, den = (int(x) for x in value.split("/"))
        except ValueError:
            continue
        if num > 0 and den > 0 and num / den <= 1000:
            return _snap_rate(Fraction(num, den))
    return Fraction(0)


def _snap_rate(rate: Fraction) -> Fraction:
    """Snap a measured average rate to the NTSC/film rate it stands for."""
    for std in (Fraction(24000, 1001), Fraction(30000, 1001), Fraction(60000, 1001),
                Fraction(24), Fraction(25), Fraction(30), Fraction(50), Fraction(60)):
        if abs(float(rate) - float(std)) < 0.005:
            return std
    return rate.limit_denominator(1001)


def _duration(stream: dict, fmt: dict) -> float:
    for value in (stream.get("duration"), fmt.get("duration")):
        try:
            d = float(value)
        except (TypeError, ValueError):
            continue
        if d > 0:
            return d
    return 0.0


def _rotation(stream: dict) -> int:
    tags = stream.get("tags", {})
    if "rotate" in tags:
        try:
            return int(float(tags["rotate"])) % 360
        except ValueError:
            return 0
    for side in stream.get("side_data_list", []):
        if "rotation" in side:
            return int(side["rotation"]) % 360
    return 0


def stream_packets(path: str | Path, selector: str = "v:0") -> tuple[str, int, int, int]:
    """(codec, width, height, packet count) of one stream, for identity checks."""
    args = [tool("ffprobe"), "-v", "error", "-select_streams", selector, "-count_packets",
            "-show_entries", "stream=codec_name,width,height,nb_read_packets",
            "-print_format", "json", str(path)]
    s = json.loads(run_tool(args, "ffprobe", path).stdout)["streams"][0]
    return s["codec_name"], int(s.get("width", 0)), int(s.get("height", 0)), int(s["nb_read_packets"])
