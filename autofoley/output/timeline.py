"""Placements -> an OpenTimelineIO timeline an editor can open and re-cut.

The timeline runs at the film's own frame rate so every clip lands on a frame
the editor can see; sound positions are rounded to that grid (the caller has
snapped them already, the rounding only removes float noise). Tracks:

- "Picture": one clip, the whole film.
- the audio tracks of a layout template (layout.py; default ``standard``:
  "AMB 1", "AMB 2", then SFX tracks by category group), in A-number order.
  No two clips overlap or butt on one track.

Every track lasts exactly the film's length in frames (gaps between clips and
a trailing gap), so NLEs that align tracks by their ends stay in sync.

Clips are named after their SFX file, keep the whole file as handles
(``available_range``) and use the placed part (``source_range``). A fade of at
least one frame is an OTIO ``SMPTE_Dissolve`` transition between the clip and
the gap beside it (fade in: ``in_offset`` 0; fade out: ``out_offset`` 0), so
it needs no media handles; the exact fade lengths in seconds, shorter
anti-click fades included, are in the clip's metadata.

Scene markers, one convention: a marker at the start of *every* scene,
"Scene 1" at frame 0 included, so marker N is scene N and a cut is every marker
but the first. A marker is named after its scene's ambience
("Scene 3 — AMBForst_Forest Birds Wind"), spans its scene, and its metadata
holds start/end seconds.

Custom metadata (scores, alternates, fades, levels) survives only the native
``.otio``/``.otioz`` formats; exports.py says what each other format keeps.
"""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import opentimelineio as otio

from autofoley import __version__
from autofoley.atomic import atomic_path
from autofoley.library.ucs import parse_ucs_name
from autofoley.output.layout import Layout, load_layout
from autofoley.records import Placement, Scene, VideoInfo

ROLES = ("sfx", "ambience")
PICTURE_TRACK = "Picture"
SCENE_MARKER_COLOR = otio.schema.MarkerColor.GREEN
FADE_IN, FADE_OUT = "Fade In", "Fade Out"  # transition names


def file_in(placement: Placement) -> float:
    """Second of the sound *file* where a placement's playback begins.

    ``placement.source_in`` counts from the start of its library entry, which
    may itself start ``sound.offset`` seconds into the file (a file holding
    several events gives several entries). The timeline and the mixdown both
    use this one function so the editor hears what the mix plays.
    """
    return placement.sound.offset + placement.source_in


def build_timeline(video: VideoInfo, scenes: list[Scene], placements: list[Placement],
                   name: str, start_timecode: str | None = None,
                   layout: Layout | str | Path | None = None,
                   role_gain_db: dict[str, float] | None = None,
                   mix_gain_db: float = 0.0) -> otio.schema.Timeline:
    """Build the timeline of a scored film.

    ``placements`` are in timeline seconds; ``start_timecode`` ("01:00:00:00",
    ";" before the frames for drop-frame) sets the timeline's start;
    ``layout`` (a Layout, a shipped layout's name or a template path; default
    ``standard``) decides the audio tracks; ``role_gain_db`` ({"ambience":
    -12.0}) is the level the mix gives each role, recorded per clip as
    ``level_db`` so a player of the timeline can match the mix; ``mix_gain_db``
    is the one gain the mixdown applied to the whole mix (its normalisation),
    recorded in the timeline's metadata for the same reason. Clips reaching
    past the film's end are trimmed there (a frame-snapped end can pass a
    container duration that is not a whole number of frames). Raises
    ValueError for an unknown role, a negative start, or a bad range: those
    are caller bugs.
    """
    rate = float(video.fps)
    film_frames = _frames(video.duration, rate)
    layout = layout if isinstance(layout, Layout) else load_layout(layout)
    gains = {role: float((role_gain_db or {}).get(role, 0.0)) for role in ROLES}
    timeline = otio.schema.Timeline(name=name)
    timeline.metadata["autofoley"] = {
        "version": __version__,
        "film": str(video.path),
        "fps": f"{video.fps.numerator}/{video.fps.denominator}",
        "duration": video.duration,
        "width": video.width,
        "height": video.height,
        "layout": layout.name,
        "role_gain_db": gains,
        "mix_gain_db": float(mix_gain_db),
    }
    if start_timecode:
        timeline.global_start_time = _timecode(start_timecode, video.fps)

    _check(placements)
    timeline.tracks.append(_picture_track(video, rate, film_frames))
    for laid in layout.arrange(placements, video.fps):
        timeline.tracks.append(_audio_track(laid.name, list(laid.placements), rate, film_frames,
                                            gains))
    ambience = scene_ambience(placements)
    for scene in scenes:
        timeline.tracks.markers.append(_scene_marker(scene, rate, film_frames,
                                                     ambience.get(scene.index)))
    return timeline


def track_names(placements: list[Placement], fps: Fraction | float,
                layout: Layout | str | Path | None = None) -> list[str]:
    """The timeline track of each placement (same order), as ``build_timeline``
    lays them out with the same ``layout``."""
    layout = layout if isinstance(layout, Layout) else load_layout(layout)
    where: dict[int, list[str]] = {}  # by object: one placement may be listed twice
    for laid in layout.arrange(placements, fps):
        for p in laid.placements:
            where.setdefault(id(p), []).append(laid.name)
    return [where[id(p)].pop(0) for p in placements]


def scene_ambience(placements: list[Placement]) -> dict[int, Placement]:
    """Scene index -> the first ambience bed placed in it."""
    out: dict[int, Placement] = {}
    for p in sorted((p for p in placements if p.role == "ambience"), key=lambda p: p.start):
        out.setdefault(p.scene, p)
    return out


def short_sound_name(path: str | Path) -> str:
    """A sound's name as an editor reads it: ``CatID_FXName`` for a UCS file
    name ("AMBForst_Forest Birds Wind"), else the file's stem."""
    ucs = parse_ucs_name(Path(path).name)
    return f"{ucs.cat_id}_{ucs.fx_name}" if ucs else Path(path).stem


def write_timeline(timeline: otio.schema.Timeline, path: str | Path) -> Path:
    """Write ``timeline`` as native ``.otio`` JSON, atomically; returns the path."""
    path = Path(path)
    # The adapter is picked from the suffix, so the temporary name keeps ".otio".
    with atomic_path(path, suffix=".otio") as tmp:
        otio.adapters.write_to_file(timeline, str(tmp))
    return path


def read_placements(path: str | Path) -> list[dict]:
    """Audio clips of an ``.otio`` file, track by track, in timeline order.

    Each is ``{track, name, file, start, end, source_in, role, event_end}``:
    ``start``/``end`` are timeline seconds from the first frame
    (``global_start_time`` is not added), ``source_in`` is seconds into the
    file, ``file`` a local path; ``role`` ("sfx"/"ambience") and ``event_end``
    come from autofoley's clip metadata (None for clips it did not write).
    """
    timeline = otio.adapters.read_from_file(str(path))
    out: list[dict] = []
    for track in timeline.audio_tracks():
        for clip in track.find_clips(shallow_search=True):
            placed = clip.range_in_parent()
            ref = clip.media_reference
            url = getattr(ref, "target_url", "") or ""
            meta = clip.metadata.get("autofoley", {})
            out.append({
                "track": track.name,
                "name": clip.name,
                "file": _url_to_path(url),
                "start": placed.start_time.to_seconds(),
                "end": placed.end_time_exclusive().to_seconds(),
                "source_in": clip.source_range.start_time.to_seconds(),
                "role": meta.get("role"),
                "event_end": meta.get("event_end"),
                "loop_index": meta.get("loop_index") or 0,
            })
    return out


def _frames(seconds: float, rate: float) -> int:
    return int(round(seconds * rate))


def _rt(frames: float, rate: float) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(frames, rate)


def _range(start: float, duration: float, rate: float) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(_rt(start, rate), _rt(duration, rate))


_TIMECODE = re.compile(r"(\d{1,2}):(\d\d):(\d\d)([:;.])(\d{1,3})")
_DROP_RATES = (29.97, 59.94)


def parse_timecode_fields(text: str) -> tuple[int, int, int, int, bool]:
    """(hours, minutes, seconds, frames, drop-frame) of "HH:MM:SS:FF" (";"
    before the frames: drop-frame), or a ValueError saying what is wrong."""
    m = _TIMECODE.fullmatch(text.strip())
    if not m:
        raise ValueError(f"timecode {text!r} is not HH:MM:SS:FF (e.g. 01:00:00:00)")
    h, mi, s, f = int(m[1]), int(m[2]), int(m[3]), int(m[5])
    if mi > 59 or s > 59:
        raise ValueError(f"timecode {text!r} has minutes or seconds above 59")
    return h, mi, s, f, m[4] == ";"


def check_timecode(text: str, fps: Fraction) -> None:
    """A ValueError unless ``text`` is a valid start timecode at ``fps``:
    frames below the nominal rate, drop-frame only at 29.97 or 59.94 fps."""
    _, _, _, frames, drop = parse_timecode_fields(text)
    rate = float(fps)
    nominal = round(rate)
    if nominal < 1 or frames >= nominal:
        raise ValueError(f"timecode {text!r} counts frames up to {frames}, but the film runs "
                         f"at {rate:.3f} fps")
    if drop and not any(abs(rate - r) < 0.01 for r in _DROP_RATES):
        raise ValueError(f"drop-frame timecode {text!r} (';') needs a 29.97 or 59.94 fps film, "
                         f"not {rate:.3f} fps")


def _timecode(text: str, fps: Fraction) -> otio.opentime.RationalTime:
    check_timecode(text, fps)
    rate = float(fps)
    try:
        return otio.opentime.from_timecode(text, rate)
    except ValueError:
        pass
    # OTIO knows only the SMPTE rates; phone and screen footage (15, 120 fps...)
    # counts timecode at its nominal whole rate, non-drop, as NLEs do.
    h, mi, s, f, _ = parse_timecode_fields(text)
    return _rt(((h * 60 + mi) * 60 + s) * round(rate) + f, rate)


def _picture_track(video: VideoInfo, rate: float, film_frames: int) -> otio.schema.Track:
    whole = _range(0, film_frames, rate)
    ref = otio.schema.ExternalReference(target_url=Path(video.path).resolve().as_uri(),
                                        available_range=whole)
    clip = otio.schema.Clip(name=Path(video.path).name, media_reference=ref, source_range=whole)
    track = otio.schema.Track(name=PICTURE_TRACK, kind=otio.schema.TrackKind.Video)
    track.append(clip)
    return track


def _check(placements: list[Placement]) -> None:
    for p in placements:
        if p.role not in ROLES:
            raise ValueError(f"placement of {p.sound.path.name} has unknown role {p.role!r}")
        if p.start < 0 or p.end <= p.start:
            raise ValueError(f"placement of {p.sound.path.name} has bad range "
                             f"{p.start:.3f}-{p.end:.3f} s")


def _audio_track(name: str, placements: list[Placement], rate: float, film_frames: int,
                 gains: dict[str, float]) -> otio.schema.Track:
    items: list = []  # gaps and (clip, placement) pairs, in order
    cursor = 0  # frame where the last item of the track ends
    previous: Placement | None = None
    for p in sorted(placements, key=lambda q: (q.start, q.end)):
        start = _frames(p.start, rate)
        # A sound shorter than half a frame still gets one frame rather than vanishing.
        end = min(max(_frames(p.end, rate), start + 1), film_frames)
        if start >= film_frames:
            continue
        if start < cursor:
            raise ValueError(f"placements overlap on {name}: {previous.sound.path.name} ends at "
                             f"{previous.end:.3f} s, {p.sound.path.name} starts at {p.start:.3f} s")
        if start > cursor:
            items.append(otio.schema.Gap(source_range=_range(0, start - cursor, rate)))
        items.append((_sound_clip(p, end - start, rate, gains[p.role]), p))
        cursor, previous = end, p
    if cursor < film_frames:
        items.append(otio.schema.Gap(source_range=_range(0, film_frames - cursor, rate)))

    track = otio.schema.Track(name=name, kind=otio.schema.TrackKind.Audio)
    for i, item in enumerate(items):
        if not isinstance(item, tuple):
            track.append(item)
            continue
        clip, p = item
        fade_in, fade_out = _fade_frames(p, int(clip.source_range.duration.value), rate)
        # Transitions only against gaps: no media handles needed, and a clip at
        # the track's very start or end keeps that fade in its metadata only.
        gap_before = i > 0 and isinstance(items[i - 1], otio.schema.Gap)
        gap_after = i + 1 < len(items) and isinstance(items[i + 1], otio.schema.Gap)
        if fade_in and gap_before:
            track.append(_fade(FADE_IN, 0, fade_in, p.fade_in, rate))
        track.append(clip)
        if fade_out and gap_after:
            track.append(_fade(FADE_OUT, fade_out, 0, p.fade_out, rate))
    return track


def _fade_frames(p: Placement, length: int, rate: float) -> tuple[int, int]:
    """Whole-frame fade lengths (sub-frame anti-click fades round to 0), both
    fitting inside the clip."""
    fade_in, fade_out = _frames(p.fade_in, rate), _frames(p.fade_out, rate)
    if fade_in + fade_out > length:
        fade_in = length * fade_in // (fade_in + fade_out)
        fade_out = length - fade_in
    return fade_in, fade_out


def _fade(name: str, in_frames: int, out_frames: int, seconds: float,
          rate: float) -> otio.schema.Transition:
    return otio.schema.Transition(
        name=name, transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
        in_offset=_rt(in_frames, rate), out_offset=_rt(out_frames, rate),
        metadata={"autofoley": {"fade": "in" if name == FADE_IN else "out",
                                "seconds": float(seconds)}})


def _sound_clip(p: Placement, frames: int, rate: float, role_gain: float) -> otio.schema.Clip:
    sound = p.sound
    # The whole file is available so an editor can slip the sound; its length
    # and the in-point stay sub-frame (exact audio sync), positions are whole frames.
    ref = otio.schema.ExternalReference(
        target_url=Path(sound.path).resolve().as_uri(),
        available_range=_range(0, sound.whole_file_duration * rate, rate),
    )
    clip = otio.schema.Clip(name=Path(sound.path).name, media_reference=ref,
                            source_range=_range(file_in(p) * rate, frames, rate))
    clip.metadata["autofoley"] = {
        "score": float(p.score),
        "category": sound.category,
        "cat_id": sound.cat_id,
        "kind": sound.kind,
        "role": p.role,
        "track": p.track,
        "scene": p.scene,
        "description": sound.description,
        "fade_in": float(p.fade_in),
        "fade_out": float(p.fade_out),
        "gain_db": float(p.gain_db),
        "level_db": float(p.gain_db + role_gain),  # what the mix plays it at, before normalising
        "sample_rate": int(sound.sample_rate),
        "channels": int(sound.channels),
        "alternates": [{"file": str(f), "score": float(s)} for f, s in p.alternates],
        "entry_offset": float(sound.offset),
        "source_in": float(p.source_in),  # seconds from the entry, as in events.json
        "event_end": float(p.synced_end),
        # Stereo position keyframes (seconds from the clip's start, -1 left to
        # +1 right); the mix plays them. NLE formats without pan automation
        # keep them here only.
        "pan": [[float(t), float(v)] for t, v in p.pan],
        "playback": p.playback,
        "loop_index": int(p.loop_index),
        "sustain": p.sustain,
    }
    return clip


def _scene_marker(scene: Scene, rate: float, film_frames: int,
                  ambience: Placement | None) -> otio.schema.Marker:
    start = min(_frames(scene.start, rate), film_frames)
    end = min(max(_frames(scene.end, rate), start), film_frames)
    name = f"Scene {scene.index + 1}"
    meta = {"scene": scene.index, "start": float(scene.start), "end": float(scene.end)}
    if ambience is not None:
        name += f" \u2014 {short_sound_name(ambience.sound.path)}"
        meta["ambience"] = str(ambience.sound.path)
    return otio.schema.Marker(name=name, marked_range=_range(start, end - start, rate),
                              color=SCENE_MARKER_COLOR, metadata={"autofoley": meta})


def _url_to_path(url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme in ("", "file"):
        # url2pathname undoes the percent-encoding of Path.as_uri().
        return url2pathname(parsed.path) if parsed.scheme else url
    return url
