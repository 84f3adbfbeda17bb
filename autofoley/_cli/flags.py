"""Every flag the commands share, and the argparse types that check them.

Numbers are range-checked as they are parsed, so a mistyped value stops the
command at once with exit code 2 and one line naming the flag and its range,
before any model is loaded or any file written.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from autofoley.library.keys import DEFAULT_HYBRID_WEIGHT, RANK_MODES
from autofoley.library.scan import DEFAULT_TEMPLATE
from autofoley.models.registry import DEFAULT_CLIP_MODEL
from autofoley.options import (
    DEFAULT_AMBIENCE_GAIN_DB,
    DEFAULT_BATCH_SIZE,
    DEFAULT_LAYOUT,
    DEFAULT_REGION_STEP,
    DEFAULT_STEP,
    FRAME_FITS,
)
from autofoley.placement.scenes import (
    DEFAULT_GRADUAL_WINDOW,
    DEFAULT_MIN_SCENE_LEN,
    DEFAULT_THRESHOLD,
)
from autofoley.placement.sync import SyncParams

# --------------------------------------------------------------------------- types


def number(kind=float, low: float | None = None, high: float | None = None,
           low_open: bool = False, high_open: bool = False):
    """An argparse type: a finite ``kind`` (int or float) within the range.

    ``low_open``/``high_open`` exclude the bound itself. The error names the
    range, e.g. "must be a number > 0 (got 'nan')".
    """
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low:g}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {high:g}")
    noun = "a whole number" if kind is int else "a number"
    want = f"{noun} {' and '.join(parts)}" if parts else noun

    def parse(text: str):
        try:
            value = kind(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"must be {want} (got {text!r})") from None
        if kind is float and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be {want} (got {text!r})")
        if low is not None and (value < low or (low_open and value == low)):
            raise argparse.ArgumentTypeError(f"must be {want} (got {text!r})")
        if high is not None and (value > high or (high_open and value == high)):
            raise argparse.ArgumentTypeError(f"must be {want} (got {text!r})")
        return value

    parse.__name__ = "int" if kind is int else "float"  # argparse's "invalid int value" wording
    return parse


positive = number(float, 0.0, low_open=True)
non_negative = number(float, 0.0)
fraction = number(float, 0.0, 1.0)
count = number(int, 1)
non_negative_int = number(int, 0)


def choice(*names: str):
    """An argparse type accepting one of ``names``."""
    def parse(text: str) -> str:
        if text not in names:
            raise argparse.ArgumentTypeError(f"{text!r} is not one of {', '.join(names)}")
        return text
    return parse
decibels = number(float, -96.0, 24.0)


def timecode(text: str) -> str:
    """HH:MM:SS:FF (or ';' before the frames for drop-frame); whether the
    frames fit the film's rate is checked when the film is probed."""
    from autofoley.output.timeline import parse_timecode_fields

    try:
        parse_timecode_fields(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def export_formats(text: str) -> tuple[str, ...]:
    from autofoley.output.exports import parse_formats

    try:
        return parse_formats(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# --------------------------------------------------------------------------- flag groups


def add_common_flags(p: argparse.ArgumentParser,
                     json_help: str = "print a JSON summary on stdout") -> None:
    """--json, --quiet, --verbose, --config and --print-config, which every
    command takes."""
    p.add_argument("--json", action="store_true", help=json_help)
    p.add_argument("--quiet", "-q", action="store_true", help="no progress display")
    p.add_argument("--verbose", "-v", action="store_true", help="debug logging on stderr")
    p.add_argument("--config", type=Path, default=None, metavar="FILE",
                   help="TOML file of flag defaults, over ~/.config/autofoley/config.toml and "
                        "the nearest autofoley.toml (flags still win)")
    p.add_argument("--print-config", action="store_true",
                   help="print every setting, its value and where it came from, then stop")


def add_library_flags(p: argparse.ArgumentParser, positional: bool = False,
                      out: bool = True) -> None:
    """The library (``--library``, or a positional LIBRARY), its CSV sidecar
    and, with ``out``, the output folder."""
    if positional:
        p.add_argument("library", type=Path, help="folder of sound effects")
    else:
        # Not required by argparse: a config file may give it (check_required).
        p.add_argument("--library", "-l", type=Path, default=None,
                       help="folder of sound effects (required, here or in a config file)")
    p.add_argument("--library-csv", type=Path, default=None,
                   help="CSV sidecar of tags (default: library.csv or metadata.csv in the library)")
    if out:
        p.add_argument("--out", "-o", type=Path, default=None,
                       help="output folder (default: ./autofoley-out)")


def add_model_flags(p: argparse.ArgumentParser, rank: bool = True) -> None:
    """CLIP model flags, and (``rank``) how the library is ranked."""
    g = p.add_argument_group("model")
    g.add_argument("--clip-model", default=DEFAULT_CLIP_MODEL,
                   help="open_clip model name, a registry name (see 'autofoley models'), "
                        "or an open_clip model config .json (default: %(default)s)")
    g.add_argument("--clip-pretrained", default=None,
                   help="open_clip pretrained tag or local checkpoint (.safetensors / .pt); "
                        "'none' for random weights (timing only). Default: the model's "
                        "default tag (ViT-B-32: laion2b_s34b_b79k), downloaded once")
    g.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    g.add_argument("--batch-size", type=count, default=DEFAULT_BATCH_SIZE,
                   help="frames per encoder batch (default: %(default)s)")
    if not rank:
        return
    g.add_argument("--rank", choices=RANK_MODES, default="auto",
                   help="rank the library by CLIP text embeddings of its tags, by an audio "
                        "encoder's embeddings, or a fusion of both (default: hybrid when a "
                        "trained audio encoder for the CLIP model is registered, shipped or "
                        "yours, or --audio-model is given, else text)")
    g.add_argument("--audio-model", default=None,
                   help="audio encoder: a registry name (see 'autofoley models'; yours from "
                        "'autofoley train --register'), a .safetensors checkpoint from "
                        "'autofoley train', or cnn14:/path/Cnn14_mAP=0.431.pth")
    g.add_argument("--hybrid-weight", type=fraction, default=None,
                   help=f"weight of audio in --rank hybrid, 0..1 (default: {DEFAULT_HYBRID_WEIGHT})")
    g.add_argument("--no-split", action="store_true",
                   help="with audio ranking, keep each file whole instead of splitting it into "
                        "takes at silences")
    g.add_argument("--text-template", default=DEFAULT_TEMPLATE,
                   help="sentence template for zero-shot text ranking (default: %(default)r)")
    g.add_argument("--no-cache", action="store_true", help="neither read nor write caches")
    g.add_argument("--index", type=Path, default=None, metavar="FOLDER",
                   help="folder of the persistent audio index, shared by every run that names "
                        "it (default: one per model and split settings in the autofoley cache)")


def add_picture_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("picture")
    g.add_argument("--step", type=number(float, 0.01, 10.0), default=DEFAULT_STEP,
                   help="seconds per segment, 0.01-10 (default: %(default)s)")
    g.add_argument("--frame-fit", choices=FRAME_FITS, default=None,
                   help="fit frames to the encoder by centre crop (CLIP's own preprocessing) "
                        "or by padding (the whole frame stays visible); default: the model's "
                        "setting, else crop")
    g.add_argument("--scene-threshold", type=number(float, 0.0, 255.0, low_open=True),
                   default=DEFAULT_THRESHOLD,
                   help="PySceneDetect ContentDetector threshold, 0-255 (default: %(default)s)")
    g.add_argument("--min-scene-len", type=non_negative, default=DEFAULT_MIN_SCENE_LEN,
                   help="shortest scene, seconds (default: %(default)s)")
    g.add_argument("--dissolve-window", type=non_negative, default=DEFAULT_GRADUAL_WINDOW,
                   help="seconds between frames compared to find dissolves; 0: hard cuts only "
                        "(default: %(default)s)")
    g.add_argument("--dense", action="store_true",
                   help="encode every frame of the grid (default: only the frames that change; "
                        "the others are interpolated, within 0.02 cosine)")
    g.add_argument("--no-regions", action="store_true",
                   help="encode whole frames only: faster, but a second thing on screen is "
                        "often not heard, and SFX are not panned")
    g.add_argument("--region-step", type=number(float, 0.05, 10.0), default=DEFAULT_REGION_STEP,
                   help="seconds between encodings of the frame's two regions, 0.05-10 "
                        "(default: %(default)s)")


# The placement flags, SyncParams field -> (flag, type, help). Their defaults
# are None so that the model's and the user's settings apply unless a flag is
# given (options.py).
SYNC_FLAGS = {
    "threshold": ("--threshold", fraction,
                  "probability where an SFX event starts, 0..1 (t); with --decoder verified, "
                  "the level its rule weighs a run against"),
    "release": ("--release", fraction,
                "an event lasts while its probability stays above this x --threshold, 0..1"),
    "sure_lead": ("--sure-lead", non_negative,
                  "hysteresis: an event also starts below --threshold where a sound group "
                  "leads every other one for this many seconds, above the release level; "
                  "text ranking with the built-in things only (0: off)"),
    "beside": ("--beside", non_negative,
               "a second thing of an event's category (another UCS CatID) gets its own event "
               "where one square sees it and another square the first thing, each clear of "
               "the other, for this many seconds (0: off)"),
    "decoder": ("--decoder", choice("hysteresis", "verified", "stable"),
                "events by hysteresis; by hysteresis entered lower and kept by a learnt rule "
                "('verified': for a model weaker than the shipped ones); or Demarchi's "
                "threshold + stability runs ('stable')"),
    "stability": ("--stability", fraction,
                  "'stable' decoder: allowed deviation from the run mean, 0..1 (d)"),
    "temperature": ("--temperature", positive,
                    "softmax temperature over cosines, > 0 (default: the model's own, "
                    "1 / its logit scale)"),
    "min_event": ("--min-event", non_negative, "shortest SFX event, seconds"),
    "merge_gap": ("--merge-gap", non_negative, "merge same-sound events closer than this, seconds"),
    "merge_ratio": ("--merge-ratio", non_negative,
                    "... or closer than this x the shorter event"),
    "max_overlap": ("--max-overlap", count, "most SFX sounding at once (K), >= 1"),
    "shortlist_k": ("--shortlist-k", count, "candidates per shortlist window, >= 1"),
    "things": ("--silent-things", number(int, 0, 64),
               "built-in everyday things per shortlist window that compete so that a thing "
               "with no library sound gets none (text ranking), 0..64 (0: off)"),
    "min_similarity": ("--min-similarity", number(float, -1.0, 1.0),
                       "raw cosine a segment needs to count, -1..1 (default: off)"),
}
_SHORT = {"threshold": "-t", "stability": "-d"}


def add_sync_flags(p: argparse.ArgumentParser) -> None:
    d = SyncParams()
    g = p.add_argument_group("placement (defaults: these, or your 'tune --set-default' "
                             "settings)")
    for name, (flag, kind, text) in SYNC_FLAGS.items():
        default = getattr(d, name)
        names = [flag, _SHORT[name]] if name in _SHORT else [flag]
        g.add_argument(*names, dest=name, type=kind, default=None,
                       help=text if "default" in text else f"{text} (default {default})")
    g.add_argument("--no-variety", action="store_true",
                   help="give every event its group's best sound (default: the one used least "
                        "so far in the film among those nearly as good)")
    g.add_argument("--sync-config", type=Path, default=None,
                   help="JSON of placement settings (e.g. written by 'autofoley tune')")


def add_output_flags(p: argparse.ArgumentParser) -> None:
    """What a scoring run writes; shared by ``score`` and ``batch``."""
    g = p.add_argument_group("output")
    g.add_argument("--no-ambience", action="store_true", help="place no ambience beds")
    g.add_argument("--no-pan", action="store_true",
                   help="keep every SFX centred (default: panned to where its thing is on "
                        "screen, from the frame's regions)")
    g.add_argument("--ambience-gain", type=decibels, default=DEFAULT_AMBIENCE_GAIN_DB,
                   help="ambience level relative to SFX, dB, -96..24 (default: %(default)s)")
    g.add_argument("--no-render", action="store_true",
                   help="write only the timeline and events, no mix or scored film")
    g.add_argument("--stems", action="store_true", help="also write sfx and ambience stems")
    g.add_argument("--timecode", type=timecode, default=None,
                   help="timeline start timecode, e.g. 01:00:00:00 (';' before the frames: "
                        "drop-frame)")
    g.add_argument("--layout", default=DEFAULT_LAYOUT,
                   help="timeline track layout: a shipped one (standard, compact) or a template "
                        ".json; see timelines/README.md (default: %(default)s)")
    g.add_argument("--export", type=export_formats, default=(), metavar="FORMATS",
                   help="also write the timeline for other editors, comma-separated: "
                        "fcp7xml, aaf, edl, otioz, kdenlive, mlt, or all (adapters: "
                        "pip install 'autofoley[nle]')")
    g.add_argument("--no-report", action="store_true",
                   help="write no report (film.report.png / .html)")


def add_score_flags(p: argparse.ArgumentParser) -> None:
    """Everything ``score`` and ``batch`` share besides their inputs."""
    add_model_flags(p)
    add_picture_flags(p)
    add_sync_flags(p)
    add_output_flags(p)


def check_rank_flags(parser: argparse.ArgumentParser, args) -> None:
    """Flags that only mean something with another flag: a usage error (exit
    2) rather than a silently ignored value. Also the library, which a config
    file may give instead of the command line."""
    if hasattr(args, "library") and args.library is None:
        parser.error("--library is required (on the command line or in a config file)")
    if getattr(args, "hybrid_weight", None) is not None and args.rank not in ("hybrid", "auto"):
        parser.error(f"--hybrid-weight applies to --rank hybrid, not --rank {args.rank}")


def options_from_args(args):
    """The ``ScoreOptions`` of a ``score``/``batch``/``tune`` command line:
    what the user gave; the model's and the user's defaults are resolved by
    the library (``options.resolve_options``) for every caller alike."""
    from autofoley.options import ScoreOptions

    return ScoreOptions(
        step=args.step, batch_size=args.batch_size, frame_fit=args.frame_fit,
        scene_threshold=args.scene_threshold, min_scene_len=args.min_scene_len,
        dissolve_window=args.dissolve_window,
        regions=not args.no_regions, region_step=args.region_step, dense=args.dense,
        pan=not getattr(args, "no_pan", False),
        sync_config=str(args.sync_config) if args.sync_config else None,
        sync_overrides={**{k: getattr(args, k) for k in SYNC_FLAGS if getattr(args, k) is not None},
                        **({"variety": False} if getattr(args, "no_variety", False) else {})},
        text_template=args.text_template, rank=args.rank, audio_model=args.audio_model,
        hybrid_weight=(args.hybrid_weight if args.hybrid_weight is not None
                       else DEFAULT_HYBRID_WEIGHT),
        split=not args.no_split, index_dir=str(args.index) if args.index else None,
        ambience=not getattr(args, "no_ambience", False),
        ambience_gain_db=getattr(args, "ambience_gain", DEFAULT_AMBIENCE_GAIN_DB),
        render=not getattr(args, "no_render", False), stems=getattr(args, "stems", False),
        use_cache=not args.no_cache, start_timecode=getattr(args, "timecode", None),
        layout=getattr(args, "layout", DEFAULT_LAYOUT), exports=tuple(getattr(args, "export", ())),
        report=not getattr(args, "no_report", False))
