"""The timeline in the formats editors import, through OpenTimelineIO's adapters.

| format   | file              | adapter (pip)                 | for                      |
|----------|-------------------|-------------------------------|--------------------------|
| fcp7xml  | film.xml          | otio-fcp-adapter              | Premiere, Resolve, FCP 7 |
| aaf      | film.aaf          | otio-aaf-adapter              | Avid, Pro Tools, Resolve |
| edl      | film.edls/*.edl   | otio-cmx3600-adapter          | conform tools, any NLE   |
| otioz    | film.otioz        | built into OpenTimelineIO     | OTIO tools, with sounds  |
| kdenlive | film.kdenlive     | otio-kdenlive-adapter         | Kdenlive < 25.04         |
| mlt      | film.mlt          | autofoley's writer (mlt.py)   | Shotcut, melt            |

Each format keeps clip positions, durations, in-points, clip names and media
paths (to the frame). What a format cannot hold is logged as one warning line
when it is written (``dropped_by``): custom metadata (scores, alternates)
lives only in ``.otio``/``.otioz``; see README "Exports" for the full table.

Per format, on a copy of the timeline:

- fcp7xml: fades become FCP 7 audio cross fades (0 dB, linear like the mix's)
  instead of the adapter's default video "Cross Dissolve"; levels become an
  "Audio Levels" clip filter; sound files are described as audio (the adapter
  would guess "video" for .flac/.ogg).
- aaf: fades become AAF Mono Audio Dissolves (the adapter needs their
  definitions in the transition's metadata); sound files carry their sample
  rate and channel count; mob ids are generated (``use_empty_mob_ids``).
- edl: CMX 3600 holds one track, so each audio track with clips is its own
  EDL in ``film.edls/`` (``A03 SFX Foley 1.edl``); record timecode starts at
  the timeline's start timecode. Fades are left out (the adapter cannot write
  a fade to or from a gap).
- otioz: the sound files are bundled; the film is not (it can be gigabytes and
  the editor has it): its clip keeps the path in a MissingReference's
  ``original_target_url``. Files sharing a name are bundled under unique names.
- kdenlive: transitions are left out (the adapter cannot write them and says
  so on stdout); adapters that print are silenced so ``--json`` stays clean.
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import opentimelineio as otio

from autofoley.atomic import _FILE_MODE, TMP_PREFIX, atomic_path, ensure_dir
from autofoley.errors import ToolError
from autofoley.output.mlt import timeline_to_mlt

log = logging.getLogger("autofoley")

NLE_EXTRA = "pip install 'autofoley[nle]'"


@dataclass(frozen=True)
class Format:
    name: str
    suffix: str  # appended to the film's name; ".edls" is a folder
    adapter: str | None  # OTIO adapter name; None: written by autofoley itself
    package: str | None  # the pip package holding the adapter


FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("fcp7xml", ".xml", "fcp_xml", "otio-fcp-adapter"),
    Format("aaf", ".aaf", "AAF", "otio-aaf-adapter"),
    Format("edl", ".edls", "cmx_3600", "otio-cmx3600-adapter"),
    Format("otioz", ".otioz", "otioz", None),
    Format("kdenlive", ".kdenlive", "kdenlive", "otio-kdenlive-adapter"),
    Format("mlt", ".mlt", None, None),
)}

# AAF's standard operation definition for an audio fade / cross-fade.
_AAF_MONO_AUDIO_DISSOLVE = "0c3bea41-fc05-11d2-8a29-0050040ef7d2"


@dataclass
class ExportResult:
    format: str
    path: Path
    dropped: list[str] = field(default_factory=list)  # what the format could not hold
    note: str = ""  # how the format holds the timeline, when it is not one file


def parse_formats(text: str | Iterable[str]) -> tuple[str, ...]:
    """``"fcp7xml,aaf"`` (or a list of names; ``all`` for every format) ->
    validated, de-duplicated format names in order. ValueError names the
    unknown ones."""
    parts = text.split(",") if isinstance(text, str) else list(text)
    names: list[str] = []
    for part in (p.strip().lower() for p in parts):
        if not part:
            continue
        for name in (FORMATS if part == "all" else [part]):
            if name not in FORMATS:
                raise ValueError(f"unknown export format {part!r} "
                                 f"(choose from {', '.join(FORMATS)}, or all)")
            if name not in names:
                names.append(name)
    return tuple(names)


def check_adapters(formats: Iterable[str]) -> None:
    """Raise a ToolError naming the extra to install when an adapter is missing.

    Called before any scoring work, so a missing plugin costs nothing.
    """
    available = set(otio.adapters.available_adapter_names())
    missing = [FORMATS[f] for f in formats
               if FORMATS[f].adapter and FORMATS[f].adapter not in available]
    if missing:
        names = ", ".join(f"{f.name} ({f.package})" for f in missing)
        raise ToolError(f"the OpenTimelineIO adapter for --export {names} is not installed",
                        remedy=NLE_EXTRA)


def output_name(fmt: str, name: str) -> str:
    """File (or folder, for edl) name of an export of the film ``name``."""
    return name + FORMATS[fmt].suffix


def export_timeline(timeline: otio.schema.Timeline, fmt: str, out_dir: str | Path,
                    name: str | None = None, warn: bool = True) -> ExportResult:
    """Write ``timeline`` in format ``fmt`` into ``out_dir`` as
    ``{name}{suffix}`` (``name`` defaults to the timeline's), atomically.

    With ``warn``, logs one warning line listing what the format dropped.
    Raises ToolError when the format's adapter is not installed.
    """
    check_adapters([fmt])
    out_dir = ensure_dir(Path(out_dir))
    dest = out_dir / output_name(fmt, name or timeline.name)
    dropped, note = dropped_by(timeline, fmt), ""
    if fmt == "edl":
        written = _write_edls(timeline, dest)
        note = f"{written} EDL(s), one per audio track with clips (CMX 3600 holds one track)"
    elif fmt == "mlt":
        with atomic_path(dest, suffix=".mlt") as tmp:
            tmp.write_text(timeline_to_mlt(timeline), encoding="utf-8")
    else:
        prepared = {"fcp7xml": _for_fcp, "aaf": _for_aaf, "otioz": _for_otioz,
                    "kdenlive": _without_transitions}[fmt](timeline)
        with contextlib.ExitStack() as stack:
            tmp = stack.enter_context(atomic_path(dest))
            tmp.unlink()  # the otioz adapter refuses to overwrite, even an empty file
            kwargs = {"use_empty_mob_ids": True} if fmt == "aaf" else {}
            if fmt == "otioz":
                prepared = _unique_media_names(prepared, stack)
            _quietly(otio.adapters.write_to_file, prepared, str(tmp),
                     adapter_name=FORMATS[fmt].adapter, **kwargs)
    if warn and (dropped or note):
        log.warning("export %s: %s: %s", fmt, dest.name,
                    "; ".join(filter(None, [note, dropped and "dropped " + ", ".join(dropped)])))
    return ExportResult(fmt, dest, dropped, note)


def dropped_by(timeline: otio.schema.Timeline, fmt: str) -> list[str]:
    """What writing ``timeline`` as ``fmt`` loses, listing only what it has."""
    has = _features(timeline)
    lost: list[tuple[str, str]] = {
        "fcp7xml": [("track_names", "track names (FCP 7 XML tracks have none)"),
                    ("metadata", "clip metadata (scores, alternates)")],
        "aaf": [("markers", "scene markers"), ("levels", "clip levels"),
                ("metadata", "clip metadata (scores, alternates)")],
        "edl": [("fades", "fades"), ("levels", "clip levels"), ("markers", "scene markers"),
                ("metadata", "clip metadata (scores, alternates)")],
        "otioz": [("picture", "the film itself (not bundled; its path is kept)")],
        "kdenlive": [("fades", "fades"), ("levels", "clip levels"),
                     ("timecode", "the start timecode"),
                     ("metadata", "clip metadata (scores, alternates)")],
        "mlt": [("markers", "scene markers"), ("timecode", "the start timecode"),
                ("metadata", "clip metadata (scores, alternates)")],
    }[fmt]
    return [text for key, text in lost if has[key]]


def _features(timeline: otio.schema.Timeline) -> dict[str, bool]:
    clips = list(timeline.find_clips())
    audio = [c for t in timeline.audio_tracks() for c in t.find_clips(shallow_search=True)]
    return {
        "track_names": any(t.name for t in timeline.tracks),
        "metadata": any(c.metadata.get("autofoley") for c in clips),
        "markers": bool(timeline.tracks.markers),
        "levels": any(float(c.metadata.get("autofoley", {}).get("level_db", 0.0)) != 0.0
                      for c in audio),
        "fades": any(isinstance(x, otio.schema.Transition)
                     for t in timeline.audio_tracks() for x in t),
        "timecode": timeline.global_start_time is not None,
        "picture": bool(timeline.video_tracks() and timeline.video_tracks()[0].find_clips()),
    }


def _quietly(fn, *args, **kwargs):
    """Run an adapter with its prints (banners, "to be added" notes) sent to
    the debug log instead of stdout, which ``--json`` owns."""
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            return fn(*args, **kwargs)
    finally:
        for line in out.getvalue().splitlines():
            if line.strip() and set(line.strip()) != {"!"}:
                log.debug("adapter: %s", line.strip())


def _without_transitions(timeline: otio.schema.Timeline) -> otio.schema.Timeline:
    tl = copy.deepcopy(timeline)
    for track in tl.tracks:
        for item in [x for x in track if isinstance(x, otio.schema.Transition)]:
            track.remove(item)
    return tl


def _audio_clips(tl: otio.schema.Timeline):
    for track in tl.audio_tracks():
        yield from track.find_clips(shallow_search=True)


def _for_fcp(timeline: otio.schema.Timeline) -> otio.schema.Timeline:
    # The adapter builds its XML elements from each object's "fcp_xml"
    # metadata first and fills in only what is missing from it.
    tl = copy.deepcopy(timeline)
    for track in tl.audio_tracks():
        for item in track:
            if isinstance(item, otio.schema.Transition):
                item.metadata["fcp_xml"] = {"effect": {
                    "name": "Cross Fade (0dB)", "effectid": "KGAudioTransCrossFade0dB",
                    "effecttype": "transition", "mediatype": "audio"}}
    for clip in _audio_clips(tl):
        meta = clip.metadata.get("autofoley", {})
        fcp = {"sourcetrack": {"mediatype": "audio", "trackindex": "1"}}
        level = float(meta.get("level_db", 0.0))
        if level:
            fcp["filter"] = {"effect": {
                "name": "Audio Levels", "effectid": "audiolevels",
                "effectcategory": "audiolevels", "effecttype": "audiolevels",
                "mediatype": "audio",
                "parameter": {"parameterid": "level", "name": "Level", "valuemin": "0",
                              "valuemax": "3.98109", "value": f"{10 ** (level / 20):.6f}"}}}
        clip.metadata["fcp_xml"] = fcp
        if "sample_rate" in meta:
            clip.media_reference.metadata["fcp_xml"] = {"media": {"audio": {
                "samplecharacteristics": {"samplerate": str(meta["sample_rate"])},
                "channelcount": str(meta["channels"])}}}
    return tl


def _for_aaf(timeline: otio.schema.Timeline) -> otio.schema.Timeline:
    tl = copy.deepcopy(timeline)
    for track in tl.audio_tracks():
        for item in track:
            if isinstance(item, otio.schema.Transition):
                # The writer takes the effect's definition from here and the
                # cut point (frames from the transition's start) as AAF has it.
                item.metadata["AAF"] = {
                    "CutPoint": int(item.in_offset.value),
                    "PointList": [{"Time": "0", "Value": "0"}, {"Time": "1", "Value": "1"}],
                    "OperationGroup": {"Operation": {
                        "Identification": _AAF_MONO_AUDIO_DISSOLVE,
                        "Name": "Mono Audio Dissolve",
                        "Description": "Fade between a sound and silence",
                        "DataDefinition": {"Name": "Sound"}, "IsTimeWarp": False, "Bypass": 1,
                        "NumberInputs": 2, "OperationCategory": "OperationCategory_Effect"}},
                }
    for clip in _audio_clips(tl):
        meta = clip.metadata.get("autofoley", {})
        if "sample_rate" in meta:
            clip.media_reference.metadata["AAF"] = {"EssenceDescription": {
                "SampleRate": int(meta["sample_rate"]),
                "AudioSamplingRate": int(meta["sample_rate"]),
                "Channels": int(meta["channels"])}}
    return tl


def _for_otioz(timeline: otio.schema.Timeline) -> otio.schema.Timeline:
    tl = copy.deepcopy(timeline)
    for track in tl.video_tracks():
        for clip in track.find_clips(shallow_search=True):
            ref = clip.media_reference
            url = getattr(ref, "target_url", None)
            if url:
                clip.media_reference = otio.schema.MissingReference(
                    name=ref.name, available_range=ref.available_range,
                    metadata={"original_target_url": url,
                              "missing_reference_because": "the film is not bundled"})
    return tl


def _unique_media_names(tl: otio.schema.Timeline, stack: contextlib.ExitStack):
    """The otioz bundle stores media by base name and refuses two files with
    one name (``Bark.wav`` from two folders): point the clashing ones at
    uniquely named links in a temporary folder, so each is bundled once."""
    by_name: dict[str, set[str]] = {}
    refs = [c.media_reference for c in tl.find_clips()
            if isinstance(c.media_reference, otio.schema.ExternalReference)]
    for ref in refs:
        path = otio.url_utils.filepath_from_url(ref.target_url)
        by_name.setdefault(os.path.basename(path), set()).add(path)
    clashes = {n: sorted(p) for n, p in by_name.items() if len(p) > 1}
    if not clashes:
        return tl
    links = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="autofoley-otioz-")))
    renamed: dict[str, str] = {}
    taken = set(by_name)
    for name, paths in clashes.items():
        stem, ext = os.path.splitext(name)
        for i, path in enumerate(paths[1:], start=2):
            while f"{stem} ({i}){ext}" in taken:
                i += 1
            new = f"{stem} ({i}){ext}"
            taken.add(new)
            link = links / new
            try:
                link.symlink_to(path)
            except OSError:
                shutil.copyfile(path, link)
            renamed[path] = link.as_uri()
    for ref in refs:
        path = otio.url_utils.filepath_from_url(ref.target_url)
        if path in renamed:
            ref.target_url = renamed[path]
    return tl


def _write_edls(timeline: otio.schema.Timeline, folder: Path) -> int:
    """One CMX 3600 EDL per audio track that has clips; returns how many.

    The adapter writes the first track of a timeline and wants exactly one
    video track, so each EDL is written from a timeline holding the audio
    track (first) and an empty video track. Its record timecode counts from
    the timeline's start timecode: a leading gap of that length does it.
    """
    rate = timeline.duration().rate
    start = timeline.global_start_time
    written = 0
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(_staged_dir(folder)))
        for n, track in enumerate(timeline.audio_tracks(), start=1):
            if not track.find_clips(shallow_search=True):
                continue
            one = otio.schema.Timeline(name=f"{timeline.name} {track.name}")
            copy_ = copy.deepcopy(track)
            for item in [x for x in copy_ if isinstance(x, otio.schema.Transition)]:
                copy_.remove(item)
            if start is not None and start.value > 0:
                copy_.insert(0, otio.schema.Gap(source_range=otio.opentime.TimeRange(
                    otio.opentime.RationalTime(0, rate), start.rescaled_to(rate))))
            one.tracks.append(copy_)
            one.tracks.append(otio.schema.Track(kind=otio.schema.TrackKind.Video))
            text = _quietly(otio.adapters.write_to_string, one, "cmx_3600", rate=rate)
            safe = "".join(ch if ch.isalnum() or ch in " -_" else "_" for ch in track.name)
            (tmp / f"A{n:02d} {safe}.edl").write_text(text, encoding="utf-8")
            written += 1
    return written


@contextlib.contextmanager
def _staged_dir(dest: Path):
    """A folder built beside ``dest`` and renamed into place when complete."""
    tmp = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=dest.parent))
    os.chmod(tmp, _FILE_MODE | (_FILE_MODE & 0o444) >> 2)  # as mkdir would: x where r
    try:
        yield tmp
        if dest.exists():
            shutil.rmtree(dest)
        tmp.replace(dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
