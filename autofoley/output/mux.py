"""Put the mix into a copy of the film, beside its original sound.

The picture is stream-copied, never re-encoded: the scored film must look
exactly like the source. The mix becomes the first, default audio stream and
the film's own audio streams follow it, so a player starts with the score and
the original stays one menu away. No ``-shortest``: it would cut the picture
to the audio's length; the mix is rendered to the film's duration anyway.
"""

from __future__ import annotations

import json
from pathlib import Path

from autofoley.atomic import atomic_path
from autofoley.media.probe import run_tool, tool
from autofoley.records import VideoInfo

MIX_TITLE = "autofoley mix"
ORIGINAL_TITLE = "original"
AAC_BITRATE = "256k"
MUX_TIMEOUT = 600.0  # seconds, plus one per second of film
# ffmpeg's default AAC search ("twoloop") runs at about 17x real time on one
# core: 7 minutes of a 2-hour film, the slowest stage of a long run. "fast"
# is twice as quick; at 256 kbit/s its error is no larger (a mix decoded
# back: 34.3 dB SNR against twoloop's 34.0, bench/out/speed's film).
AAC = ["aac", "-aac_coder", "fast"]

# Video codecs each container takes as a plain stream copy.
MP4_VIDEO = {"h264", "hevc", "mpeg4", "av1", "vp9", "mjpeg"}
MOV_VIDEO = {"prores", "dnxhd"}

# Audio codecs of the original that copy into each container; others are
# encoded to AAC. Matroska takes everything.
_PCM = {f"pcm_{t}{e}" for t in ("s16", "s24", "s32", "f32") for e in ("le", "be")}
COPY_AUDIO = {
    "mp4": {"aac", "mp3", "ac3", "eac3", "alac", "opus", "flac"},
    "mov": {"aac", "mp3", "ac3", "eac3", "alac"} | _PCM,
    "matroska": None,
}
_CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}


def scored_name(video: VideoInfo, stem: str) -> str:
    """File name of the scored film: the container that copies its picture.

    ``{stem}.scored.mp4`` for h264/hevc/mpeg4/av1/vp9/mjpeg, ``.scored.mov``
    for ProRes/DNxHD, ``.scored.mkv`` for anything else.
    """
    if video.video_codec in MP4_VIDEO:
        return f"{stem}.scored.mp4"
    if video.video_codec in MOV_VIDEO:
        return f"{stem}.scored.mov"
    return f"{stem}.scored.mkv"


def mux_mix(video: VideoInfo, mix_path: Path, out_path: Path) -> Path:
    """Write ``out_path``: the film's picture (copied), the mix, the original audio.

    The container follows ``out_path``'s suffix (.mp4, .m4v, .mov or .mkv; see
    ``scored_name``). The mix is AAC at 256 kbit/s, titled "autofoley mix" and
    default; the original streams are titled "original" and copied when the
    container allows their codec, else encoded to AAC. Global metadata comes
    from the film. Written to a temporary name and renamed; raises ToolError
    with ffmpeg's last message if ffmpeg fails, leaving nothing behind.
    """
    out_path = Path(out_path)
    container = _CONTAINERS.get(out_path.suffix.lower())
    if container is None:
        raise ValueError(f"unsupported container {out_path.suffix!r}: use one of "
                         f"{', '.join(sorted(_CONTAINERS))}")
    if out_path.resolve() == Path(video.path).resolve():
        raise ValueError(f"{out_path}: the scored film cannot replace its source")
    originals = _audio_codecs(video.path) if video.has_audio else []
    allowed = COPY_AUDIO[container]

    args = [tool("ffmpeg"), "-v", "error", "-nostdin", "-y",
            "-i", str(video.path), "-i", str(mix_path),
            "-map", "0:v:0", "-map", "1:a:0", "-map", "0:a?",
            "-map_metadata", "0", "-c:v", "copy"]
    if container in ("mp4", "mov") and video.video_codec == "hevc":
        args += ["-tag:v", "hvc1"]  # Apple players open HEVC only under this tag
    args += ["-c:a:0", *AAC, "-b:a:0", AAC_BITRATE]
    args += _titles(0, MIX_TITLE) + ["-disposition:a:0", "default"]
    for i, codec in enumerate(originals, start=1):
        if allowed is None or codec in allowed:
            args += [f"-c:a:{i}", "copy"]
        else:
            args += [f"-c:a:{i}", *AAC, f"-b:a:{i}", AAC_BITRATE]
        args += _titles(i, ORIGINAL_TITLE) + [f"-disposition:a:{i}", "0"]
    if container == "mp4" and "flac" in originals:
        # ffmpeg 5/6 still mark FLAC in MP4 experimental; it plays in current
        # browsers and players, and keeps the original sound lossless.
        args += ["-strict", "experimental"]
    if container in ("mp4", "mov"):
        args += ["-movflags", "+faststart"]  # index first: plays while downloading

    with atomic_path(out_path, suffix=out_path.suffix) as tmp:
        # Encoding the mix takes time in proportion to the film: a fixed
        # timeout would kill the mux of a long film on a slow machine.
        run_tool(args + [str(tmp)], "muxing the mix into the film", out_path,
                 timeout=MUX_TIMEOUT + video.duration)
    return out_path


def _titles(index: int, title: str) -> list[str]:
    # MP4/MOV players show the handler name, Matroska ones the title.
    return [f"-metadata:s:a:{index}", f"title={title}",
            f"-metadata:s:a:{index}", f"handler_name={title}"]


def _audio_codecs(path: Path) -> list[str]:
    """Codec names of the film's audio streams, in order."""
    args = [tool("ffprobe"), "-v", "error", "-select_streams", "a",
            "-show_entries", "stream=codec_name", "-print_format", "json", str(path)]
    streams = json.loads(run_tool(args, "ffprobe", path).stdout or b"{}").get("streams", [])
    return [str(s.get("codec_name", "")) for s in streams]
