"""An OTIO timeline as an MLT XML project: what Shotcut opens and ``melt`` plays.

MLT is the engine behind Shotcut and Kdenlive. The project holds a black
background track of the film's length, the picture (its own sound muted: the
editor hears the score, and the guide track stays in the film) and one
playlist per audio track, each summed into the output by a ``mix``
transition: without one per audio track MLT plays only the top track, which
is why the otio-mlt-adapter's projects render silent.

The whole output gets the mix's normalisation gain (``mix_gain_db`` in the
timeline's metadata), so melt plays at the mix's level and does not clip.
Each clip gets a ``volume`` filter at its level (``level_db`` from the clip's
autofoley metadata: placement gain plus role gain, e.g. -12 dB for beds; +3 dB
for a mono file, which MLT would otherwise play 3 dB lower than the mix) with
its fades as keyframes, one per frame, so the ramp is linear in amplitude as
in autofoley's own mix. Fades shorter than a frame are left out (MLT animates
per frame), so a sound starts on its frame at full level. Clips without
autofoley metadata take their fades from the OTIO transitions beside them.

``render_audio`` runs melt headless to a WAV (a timeout, stdin from
/dev/null: melt waits on a terminal otherwise).
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import opentimelineio as otio

from autofoley.atomic import atomic_path
from autofoley.errors import ToolError

log = logging.getLogger("autofoley")

FLOOR_DB = -90.0  # the level a fade starts from / ends at (MLT's level is in dB)
# MLT spreads a mono source over two channels at -3 dB each (equal power);
# autofoley's mix plays it at full level in both, so mono clips get +3 dB.
MONO_DB = 20.0 * math.log10(math.sqrt(2.0))
MELT_HINT = "install MLT's melt (e.g. 'apt-get install melt')"


def timeline_to_mlt(timeline: otio.schema.Timeline, picture: bool = True) -> str:
    """The MLT XML of ``timeline`` (frame rate and size from its autofoley
    metadata, else its rate and 1920x1080). ``picture=False`` leaves out the
    video track (an audio-only render need not decode the film)."""
    meta = timeline.metadata.get("autofoley", {})
    fps = _fps(meta.get("fps"), timeline.duration().rate)
    frames = int(round(timeline.duration().to_seconds() * fps))
    width, height = int(meta.get("width") or 1920), int(meta.get("height") or 1080)

    root = ET.Element("mlt", {"LC_NUMERIC": "C", "version": "7.0.0", "title": timeline.name,
                              "producer": "main_tractor"})
    g = math.gcd(width, height) or 1
    ET.SubElement(root, "profile", {
        "description": f"autofoley {width}x{height} {float(fps):.3f} fps",
        "width": str(width), "height": str(height), "progressive": "1",
        "sample_aspect_num": "1", "sample_aspect_den": "1",
        "display_aspect_num": str(width // g), "display_aspect_den": str(height // g),
        "frame_rate_num": str(fps.numerator), "frame_rate_den": str(fps.denominator),
        "colorspace": "709"})

    ids = _Ids()
    background = _producer(root, ids.next("black"), frames, {
        "mlt_service": "color", "resource": "black", "length": str(frames)})
    tracks: list[tuple[str, str]] = []  # (playlist id, hide)
    bg = ET.SubElement(root, "playlist", {"id": "background"})
    ET.SubElement(bg, "entry", {"producer": background, "in": "0", "out": str(frames - 1)})
    tracks.append(("background", ""))

    for track in timeline.tracks:
        is_audio = track.kind == otio.schema.TrackKind.Audio
        if not is_audio and not picture:
            continue
        pid = ids.next("playlist")
        playlist = ET.Element("playlist", {"id": pid})
        muted = not track.enabled
        _property(playlist, "shotcut:name", track.name)
        if is_audio:
            _property(playlist, "shotcut:audio", "1")
        items = list(track)
        for i, item in enumerate(items):
            if isinstance(item, otio.schema.Transition):
                continue
            length = _to_frames(item.source_range.duration if item.source_range
                                else item.duration(), fps)
            if isinstance(item, otio.schema.Clip) and _path(item) and item.enabled:
                src_in = _to_frames(item.source_range.start_time, fps)
                prod = _producer(root, ids.next("producer"), None, {
                    "mlt_service": "avformat", "resource": _path(item)},
                    name=item.name, audio_only=is_audio)
                entry = ET.SubElement(playlist, "entry", {
                    "producer": prod, "in": str(src_in), "out": str(src_in + length - 1)})
                if is_audio:
                    _volume(entry, item, items, i, length, fps)
            else:
                ET.SubElement(playlist, "blank", {"length": str(length)})
        root.append(playlist)
        # The picture's own sound is muted; audio files have no picture; a
        # disabled OTIO track is muted altogether.
        tracks.append((pid, "both" if muted else "video" if is_audio else "audio"))

    tractor = ET.SubElement(root, "tractor", {"id": "main_tractor", "in": "0",
                                              "out": str(frames - 1)})
    _property(tractor, "shotcut", "1")
    master = float(meta.get("mix_gain_db", 0.0))
    for pid, hide in tracks:
        ET.SubElement(tractor, "track", {"producer": pid, **({"hide": hide} if hide else {})})
    for n, (pid, hide) in enumerate(tracks):
        if hide == "video":  # an audio track: sum it into the output
            t = ET.SubElement(tractor, "transition", {"mlt_service": "mix", "a_track": "0",
                                                      "b_track": str(n), "always_active": "1",
                                                      "sum": "1"})
            _property(t, "mlt_service", "mix")
            _property(t, "always_active", "1")
            _property(t, "sum", "1")
    if master:  # the mix's normalisation: the same level, and no clipping
        f = ET.SubElement(tractor, "filter", {"mlt_service": "volume"})
        _property(f, "mlt_service", "volume")
        _property(f, "level", f"{master:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_mlt(timeline: otio.schema.Timeline, path: str | Path, picture: bool = True) -> Path:
    """Write ``timeline`` as an MLT XML project, atomically; returns the path."""
    path = Path(path)
    with atomic_path(path, suffix=".mlt") as tmp:
        tmp.write_text(timeline_to_mlt(timeline, picture), encoding="utf-8")
    return path


def melt_path() -> str | None:
    """Absolute path of ``melt`` (``AUTOFOLEY_MELT`` overrides), or None."""
    return os.environ.get("AUTOFOLEY_MELT") or shutil.which("melt")


def render_audio(project: str | Path, wav: str | Path, sample_rate: int = 48000,
                 timeout: float = 90.0, attempts: int = 3) -> Path:
    """Render an MLT project's sound to a 16-bit stereo WAV at ``sample_rate`` Hz
    with melt, headless. Raises ToolError when melt is missing or fails, or
    when every one of ``attempts`` tries hung past ``timeout`` seconds or
    left an unreadable file."""
    melt = melt_path()
    if not melt:
        raise ToolError("melt was not found on PATH", remedy=MELT_HINT)
    # -silent, not -quiet: no position display, but MLT's warnings and errors
    # stay on stderr for the message below.
    args = [melt, "-silent", str(project), "-consumer", f"avformat:{wav}", "acodec=pcm_s16le",
            "vn=1", f"ar={sample_rate}", "ac=2", "real_time=-2"]
    # Seen on a loaded machine, rarely: melt hung with no output (1 render in
    # 12), or exited 0 leaving an empty WAV (melt exits 0 even when a project
    # fails to load). The render is deterministic, so a hung or bad try is
    # killed and tried again; only the last failure is reported.
    said = ""
    for attempt in range(1, attempts + 1):
        try:
            proc = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            said = f"melt ran past {timeout:.0f} s"
            log.warning("%s rendering %s (try %d of %d)", said, project, attempt, attempts)
            continue
        if proc.returncode != 0 or not Path(wav).is_file():
            lines = [l for l in proc.stderr.decode("utf-8", "replace").splitlines() if l.strip()]
            raise ToolError(f"melt failed: {lines[-1] if lines else proc.returncode}", project)
        if _readable_wav(Path(wav)):
            return Path(wav)
        said = " | ".join(l for l in proc.stderr.decode("utf-8", "replace").splitlines()[-3:]
                          if l.strip())
        log.warning("melt wrote an unreadable %s (try %d of %d)%s", wav, attempt, attempts,
                    f": {said}" if said else "")
        said = f"melt wrote an unreadable WAV{': ' + said if said else ''}"
    raise ToolError(said or "melt failed", project, "run the same command again")


def _readable_wav(path: Path) -> bool:
    import soundfile as sf

    try:
        return sf.info(str(path)).frames > 0
    except (sf.LibsndfileError, RuntimeError, OSError):
        return False


class _Ids:
    def __init__(self):
        self.n = 0

    def next(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n}"


def _property(parent: ET.Element, name: str, value: str) -> None:
    ET.SubElement(parent, "property", {"name": name}).text = value


def _producer(root: ET.Element, pid: str, frames: int | None, props: dict,
              name: str | None = None, audio_only: bool = False) -> str:
    attrs = {"id": pid}
    if frames is not None:
        attrs.update({"in": "0", "out": str(frames - 1)})
    prod = ET.SubElement(root, "producer", attrs)
    for k, v in props.items():
        _property(prod, k, v)
    if name:
        _property(prod, "shotcut:caption", name)
    if audio_only:
        _property(prod, "video_index", "-1")
    return pid


def _volume(entry: ET.Element, clip: otio.schema.Clip, items: list, i: int, length: int,
            fps: Fraction) -> None:
    meta = clip.metadata.get("autofoley", {})
    level = float(meta.get("level_db", meta.get("gain_db", 0.0)))
    if int(meta.get("channels", 0)) == 1:
        level += MONO_DB
    if "fade_in" in meta:
        fade_in = int(round(float(meta["fade_in"]) * fps))
        fade_out = int(round(float(meta["fade_out"]) * fps))
    else:
        before = items[i - 1] if i > 0 else None
        after = items[i + 1] if i + 1 < len(items) else None
        is_fade = lambda x: isinstance(x, otio.schema.Transition)  # noqa: E731
        fade_in = _to_frames(before.out_offset, fps) if is_fade(before) else 0
        fade_out = _to_frames(after.in_offset, fps) if is_fade(after) else 0
    if fade_in + fade_out > length:
        fade_in = length * fade_in // (fade_in + fade_out)
        fade_out = length - fade_in
    if not fade_in and not fade_out and level == 0.0:
        return
    keys: dict[int, float] = {0: 1.0, length - 1: 1.0}
    # Linear in amplitude: one keyframe per frame of a fade.
    for k in range(fade_in + 1 if fade_in else 0):
        keys[k] = min(keys.get(k, 1.0), k / fade_in)
    for k in range(fade_out + 1 if fade_out else 0):
        keys[length - 1 - k] = min(keys.get(length - 1 - k, 1.0), k / fade_out)
    text = ";".join(f"{k}={_db(g) + level:.3f}" for k, g in sorted(keys.items()))
    f = ET.SubElement(entry, "filter", {"mlt_service": "volume"})
    _property(f, "mlt_service", "volume")
    _property(f, "level", text)


def _db(gain: float) -> float:
    return max(FLOOR_DB, 20.0 * math.log10(gain)) if gain > 0 else FLOOR_DB


def _fps(text: str | None, rate: float) -> Fraction:
    if text:
        num, _, den = str(text).partition("/")
        return Fraction(int(num), int(den or 1))
    return Fraction(rate).limit_denominator(1001)


def _to_frames(t: otio.opentime.RationalTime, fps: Fraction) -> int:
    return int(round(t.to_seconds() * fps))


def _path(clip: otio.schema.Clip) -> str | None:
    url = getattr(clip.media_reference, "target_url", None)
    if not url:
        return None
    parsed = urlparse(url)
    return url2pathname(parsed.path) if parsed.scheme == "file" else url
