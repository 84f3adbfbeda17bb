"""Score a film end to end: the ``Scorer`` owns a loaded CLIP model and the
options, and runs the stages in order:

probe -> scenes -> frame embeddings -> library index -> matching ->
timeline -> mixdown -> mux.

Outputs are written into a hidden temporary folder inside ``out_dir`` and
renamed into place only when every one of them is complete, so a failure or a
kill never leaves a partial deliverable under its real name.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path

from autofoley import __version__
from autofoley.atomic import ensure_dir, write_json
from autofoley.background import in_background
from autofoley.errors import LibraryError, UsageError
from autofoley.library.keys import index_library
from autofoley.library.scan import LibraryScan
from autofoley.library.takes import SplitParams
from autofoley.library.text_index import LibraryIndex
from autofoley.media.probe import check_readable, probe
from autofoley.models.clip import ClipEncoder, load_clip
from autofoley.models.registry import DEFAULT_CLIP_MODEL
from autofoley.options import ScoreOptions, resolve_options
from autofoley.output.publish import clean_stale, publish, staging
from autofoley.placement.embed import FrameEmbeddings, embed_film, embed_regions
from autofoley.placement.matching import Matches, match_film
from autofoley.placement.scenes import detect_scenes
from autofoley.placement.sparse import DENSE, SparsePlan, cut_segments
from autofoley.progress import NullReporter
from autofoley.records import Placement, Scene, VideoInfo, to_plain

__all__ = ["DEFAULT_OUT", "ScoreOptions", "ScoreResult", "Scorer", "preflight", "score"]

log = logging.getLogger("autofoley")

DEFAULT_OUT = "autofoley-out"


@dataclass
class ScoreResult:
    video: VideoInfo
    scenes: list[Scene]
    placements: list[Placement]
    outputs: dict[str, Path]
    timings: dict[str, float]
    frames_cached: bool
    skipped_sounds: list[tuple[Path, str]] = field(default_factory=list)
    matches: Matches | None = None
    frames_encoded: float = 1.0  # share of the segment grid through the image tower
    # Seconds decoding frames and in the image tower, frames and regions
    # (0 from the cache): the work any scorer of the film must do.
    decode_seconds: float = 0.0
    encode_seconds: float = 0.0

    def summary(self) -> dict:
        """The ``--json`` form."""
        return {
            "film": str(self.video.path),
            "duration": self.video.duration,
            "fps": float(self.video.fps),
            "scenes": len(self.scenes),
            "sfx_placed": sum(p.role == "sfx" for p in self.placements),
            "ambience_beds": len({p.scene for p in self.placements if p.role == "ambience"}),
            "outputs": {k: str(v) for k, v in self.outputs.items()},
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "frames_cached": self.frames_cached,
            "frames_encoded": round(self.frames_encoded, 4),
            "decode_seconds": round(self.decode_seconds, 3),
            "encode_seconds": round(self.encode_seconds, 3),
            "skipped_sounds": [{"file": str(p), "reason": r} for p, r in self.skipped_sounds],
        }


class Scorer:
    """A loaded model plus options; call ``score()`` for each film.

    >>> scorer = Scorer("autofoley-tiny")
    >>> result = scorer.score("film.mp4", "~/SFX", "scored/")
    """

    def __init__(self, clip_model: str = DEFAULT_CLIP_MODEL, clip_pretrained: str | None = None,
                 device: str = "auto", options: ScoreOptions | None = None,
                 encoder: ClipEncoder | None = None, audio_encoder=None):
        self.encoder = encoder or load_clip(clip_model, clip_pretrained, device)
        options = options or ScoreOptions()
        if audio_encoder is not None and options.audio_model is None:
            options = replace(options, audio_model=audio_encoder.name)
        # Resolved once, here: rank "auto", the model's and the user's
        # placement defaults and frame fit, so events.json and the batch
        # settings key record what was really used.
        self.options = resolve_options(options, self.encoder.spec, self.encoder.logit_scale)
        preflight(self.options)
        self.audio_encoder = None
        if self.options.rank != "text":
            from autofoley.models.audio import check_for, load_audio_for

            if audio_encoder is None:
                audio_encoder = load_audio_for(self.options.audio_model, self.encoder)
            else:
                check_for(audio_encoder, self.encoder)
            self.audio_encoder = audio_encoder
        self._libraries: dict[tuple, tuple[LibraryScan, LibraryIndex]] = {}

    def library(self, root: str | Path, csv_path: str | Path | None = None,
                reporter=None) -> tuple[LibraryScan, LibraryIndex]:
        """Scan and embed a library once per Scorer (several films share it).

        With audio or hybrid ranking the index's entries are the takes of
        each file; sounds the audio encoder could not decode are added to
        the scan's ``skipped`` list.
        """
        reporter = reporter or NullReporter()
        opts = self.options
        key = (str(Path(root).expanduser().resolve()), str(csv_path), opts.text_template)
        if key not in self._libraries:
            built = index_library(
                Path(root), csv_path, opts.rank, self.encoder, self.audio_encoder,
                template=opts.text_template, use_cache=opts.use_cache,
                split=SplitParams() if opts.split else None, hybrid_weight=opts.hybrid_weight,
                store_dir=Path(opts.index_dir).expanduser() if opts.index_dir else None,
                reporter=reporter)
            scan = replace(built.files, skipped=built.scan.skipped)
            index = built.index
            if not len(index.of_kind("sfx")) and not len(index.of_kind("ambience")):
                raise LibraryError("no usable sounds", root, "point --library at a folder of SFX")
            if not len(index.of_kind("ambience")):
                # Nothing in the library stands for "no SFX here": built-in
                # place sentences do, in matching (library/places.py).
                from autofoley.library.places import place_keys

                log.info("the library holds no ambience: built-in place sentences stand for "
                         "\"no SFX here\" in placement")
                index = replace(index, places=place_keys(self.encoder, opts.text_template,
                                                         opts.use_cache))
            if opts.sync.things > 0 and opts.rank == "text":
                # Everyday things the library has no sound of compete beside
                # the background (library/things.py). Text ranking only: they
                # are sentences, and beside audio or fused keys they took more
                # than they gave (demo world, hybrid: SFX F1 0.87 -> 0.82).
                from autofoley.library.things import thing_keys

                index = replace(index, things=thing_keys(self.encoder, opts.text_template, index,
                                                         opts.use_cache))
            self._libraries[key] = (scan, index)
        return self._libraries[key]

    def analyse(self, film: str | Path, reporter=None) -> tuple[VideoInfo, list[Scene], FrameEmbeddings]:
        """The picture side alone: probe, scenes, frame embeddings (cached)."""
        reporter = reporter or NullReporter()
        opts = self.options
        with reporter.stage("probe"):
            video = probe(film)
        if opts.start_timecode:
            # Checked against the film's rate before any work, not at the end.
            from autofoley.output.timeline import check_timecode

            try:
                check_timecode(opts.start_timecode, video.fps)
            except ValueError as exc:
                raise UsageError(f"--timecode: {exc}", None,
                                 "pass HH:MM:SS:FF within the film's frame rate") from None
        with reporter.stage("scenes"):
            scenes = detect_scenes(video.path, video.duration, opts.scene_threshold,
                                   opts.min_scene_len, opts.dissolve_window, opts.use_cache)
        with reporter.stage("embed frames") as update:
            frames = embed_film(video, self.encoder, opts.step, opts.batch_size, opts.use_cache,
                                opts.frame_fit, progress=update,
                                plan=DENSE if opts.dense else SparsePlan(),
                                cuts=cut_segments(scenes, opts.step))
        if opts.regions:
            with reporter.stage("embed regions") as update:
                regions, sampled = embed_regions(video, self.encoder, opts.region_step,
                                                 opts.step, opts.batch_size, opts.use_cache,
                                                 progress=update)
            # The frames' timings count the regions' decoding and encoding too.
            frames = replace(frames, regions=regions,
                             decode_seconds=frames.decode_seconds + sampled.decode_seconds,
                             encode_seconds=frames.encode_seconds + sampled.encode_seconds)
        return video, scenes, frames

    def score(self, film: str | Path, library: str | Path, out_dir: str | Path | None = None,
              csv_path: str | Path | None = None, reporter=None,
              name: str | None = None) -> ScoreResult:
        """Score one film and write its deliverables into ``out_dir``.

        Writes ``{name}.otio``, ``{name}.events.json`` and, when rendering,
        ``{name}.mix.wav`` and ``{name}.scored.mp4`` (``.mov``/``.mkv`` when
        the video codec needs it); with ``options.report``
        ``{name}.report.png`` and ``.html``; one file (or folder) per format
        of ``options.exports``. ``name`` defaults to the film's stem.
        """
        reporter = reporter or NullReporter()
        opts = self.options
        # A film that cannot be read fails before the library is embedded.
        check_readable(Path(film).expanduser(), "film")
        out_dir = ensure_dir(Path(out_dir if out_dir is not None else DEFAULT_OUT).expanduser())
        clean_stale(out_dir)
        scan, index = self.library(library, csv_path, reporter)
        video, scenes, frames = self.analyse(film, reporter)
        name = name or video.path.stem
        with reporter.stage("match"):
            matches = match_film(frames.vectors, frames.step, scenes, index, opts.sync, video.fps,
                                 ambience=opts.ambience, regions=frames.regions, pan=opts.pan)
        with staging(out_dir) as tmp:
            outputs = self._write(video, scenes, matches.placements, tmp, name, reporter,
                                  matches, index)
            final = publish(outputs, out_dir)
        timings = dict(getattr(reporter, "timings", {}))
        return ScoreResult(video, scenes, matches.placements, final, timings, frames.cached,
                           list(scan.skipped), matches, frames.encoded_share,
                           frames.decode_seconds, frames.encode_seconds)

    def _write(self, video: VideoInfo, scenes: list[Scene], placements: list[Placement],
               tmp: Path, name: str, reporter, matches: Matches | None = None,
               index: LibraryIndex | None = None) -> dict[str, Path]:
        from autofoley.output.timeline import write_timeline

        opts = self.options
        outputs: dict[str, Path] = {}
        mix_gain_db = 0.0
        muxing: Future | None = None
        if opts.render:
            from autofoley.output.mixdown import render_mix
            from autofoley.output.mux import mux_mix, scored_name

            with reporter.stage("mixdown") as update:
                stems = tmp / f"{name}.stems" if opts.stems else None
                if stems:
                    stems.mkdir()
                report = render_mix(placements, video.duration, tmp / f"{name}.mix.wav",
                                    ambience_gain_db=opts.ambience_gain_db,
                                    sfx_gain_db=opts.sfx_gain_db, stems_dir=stems, progress=update)
                outputs["mix"] = report.path
                mix_gain_db = report.gain_db_applied
                if stems:
                    outputs["stems"] = stems
            # ffmpeg encodes the mix's AAC on one core while Python writes
            # the events, exports and report on the other; "mux" times the
            # wait for it.
            muxing = in_background(mux_mix, video, report.path, tmp / scored_name(video, name))
        try:
            timeline = self._write_documents(video, scenes, placements, tmp, name, reporter,
                                             matches, index, mix_gain_db, outputs)
        except BaseException:
            if muxing is not None:
                muxing.exception()  # the staging folder goes only once ffmpeg is done with it
            raise
        if muxing is not None:
            with reporter.stage("mux"):
                outputs["scored"] = muxing.result()
        with reporter.stage("timeline"):
            # The timeline goes last: its presence marks a complete set.
            write_timeline(timeline, tmp / f"{name}.otio")
            outputs["timeline"] = tmp / f"{name}.otio"
        return outputs

    def _write_documents(self, video: VideoInfo, scenes: list[Scene], placements: list[Placement],
                         tmp: Path, name: str, reporter, matches: Matches | None,
                         index: LibraryIndex | None, mix_gain_db: float,
                         outputs: dict[str, Path]):
        """events.json, the exports and the report into ``tmp`` (added to
        ``outputs``); returns the built timeline, which ``_write`` writes last."""
        from autofoley.output.layout import load_layout
        from autofoley.output.timeline import build_timeline, track_names

        opts = self.options
        with reporter.stage("events"):
            layout = load_layout(opts.layout)
            gains = {"sfx": opts.sfx_gain_db, "ambience": opts.ambience_gain_db}
            timeline = build_timeline(video, scenes, placements, name, opts.start_timecode,
                                      layout, gains, mix_gain_db)
            tracks = track_names(placements, video.fps, layout)
            events = {
                "autofoley_version": __version__,
                "film": to_plain(video),
                "model": self.encoder.identity,
                "options": _jsonable(opts.to_dict()),
                "layout": layout.name,
                "scenes": [to_plain(s) for s in scenes],
                # "key": which keys found the sound: its tags' text, its
                # audio, or both (hybrid); "sounds_like": for an untagged
                # sound, the tagged file whose text and category it took.
                "events": [{**p.to_json(), "timeline_track": t,
                            "key": index.found_by_of(p.sound) if index else "text",
                            **_sounds_like(index, p.sound)}
                           for p, t in zip(placements, tracks)],
            }
            write_json(tmp / f"{name}.events.json", events)
            outputs["events"] = tmp / f"{name}.events.json"
        if opts.exports:
            from autofoley.output.exports import export_timeline

            with reporter.stage("export"):
                for fmt in opts.exports:
                    outputs[fmt] = export_timeline(timeline, fmt, tmp, name).path
        if opts.report:
            from autofoley.output.report import write_report

            with reporter.stage("report"):
                write_report(tmp / f"{name}.report.png", video, scenes, placements,
                             matches.series if matches else [],
                             index.entries if index else [], opts.step, opts.sync.threshold,
                             tracks, tmp / f"{name}.report.html", name)
                outputs["report"] = tmp / f"{name}.report.png"
                outputs["report_html"] = tmp / f"{name}.report.html"
        return timeline


def preflight(options: ScoreOptions) -> None:
    """Everything about ``options`` that can fail, checked before any work:
    a bad layout or a missing export adapter. Raises the error the run
    would have raised at its end."""
    from autofoley.output.exports import check_adapters
    from autofoley.output.layout import load_layout

    load_layout(options.layout)
    check_adapters(options.exports)


def score(film: str | Path, library: str | Path, out_dir: str | Path | None = None,
          clip_model: str = DEFAULT_CLIP_MODEL, options: ScoreOptions | None = None,
          **kwargs) -> ScoreResult:
    """Score one film with a model loaded for this call (``Scorer`` keeps it
    loaded across films); ``kwargs`` go to ``Scorer``."""
    return Scorer(clip_model, options=options, **kwargs).score(film, library, out_dir)


def _sounds_like(index: LibraryIndex | None, sound) -> dict:
    like = index.sounds_like_of(sound) if index is not None else None
    return {"sounds_like": like} if like else {}


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value
