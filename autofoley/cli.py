"""The ``autofoley`` command: parses arguments, wires progress, calls the library.

Exit codes: 0 success; 2 usage error; 3 bad input (film, image, pairs
folder); 4 bad library; 5 model or weights problem; 6 output not writable;
7 ffmpeg missing or failing; 8 a batch finished with some films failed;
130 interrupted; 1 an unexpected error (a bug: the traceback is printed).
Results go to stdout (``--json``), everything else to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from pathlib import Path

from . import __version__
from .errors import AutofoleyError
from .rank_modes import DEFAULT_HYBRID_WEIGHT, RANK_MODES
from .registry import DEFAULT_CLIP_MODEL

log = logging.getLogger("autofoley")


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
    g.add_argument("--batch-size", type=int, default=64, help="frames per encoder batch")
    if not rank:
        return
    g.add_argument("--rank", choices=RANK_MODES, default="auto",
                   help="rank the library by CLIP text embeddings of its tags, by an audio "
                        "encoder's embeddings, or a fusion of both (default: audio when an "
                        "audio encoder ships for the CLIP model or --audio-model is given, "
                        "else text)")
    g.add_argument("--audio-model", default=None,
                   help="audio encoder: a registry name (see 'autofoley models'), a .safetensors "
                        "checkpoint from 'autofoley train', or cnn14:/path/Cnn14_mAP=0.431.pth")
    g.add_argument("--hybrid-weight", type=float, default=DEFAULT_HYBRID_WEIGHT,
                   help="weight of audio in --rank hybrid, 0..1 (default: %(default)s)")
    g.add_argument("--no-split", action="store_true",
                   help="with audio ranking, keep each file whole instead of splitting it into "
                        "events at silences")


def add_sync_flags(p: argparse.ArgumentParser) -> None:
    """Placement flags. Their defaults are None so that tuned settings (see
    settings.py) apply unless a flag is given."""
    from .sync import SyncParams

    d = SyncParams()
    g = p.add_argument_group("placement (Demarchi AutoSync; defaults: the model's tuned "
                             "settings, else these)")
    g.add_argument("--threshold", "-t", type=float,
                   help=f"softmax score a segment needs (t, default {d.threshold})")
    g.add_argument("--stability", "-d", type=float,
                   help=f"allowed deviation from the run mean, a fraction (d, default {d.stability})")
    g.add_argument("--temperature", type=float,
                   help=f"softmax temperature over cosines (default {d.temperature})")
    g.add_argument("--min-event", type=float,
                   help=f"shortest SFX event, seconds (default {d.min_event})")
    g.add_argument("--merge-gap", type=float,
                   help=f"merge same-sound events closer than this, seconds (default {d.merge_gap})")
    g.add_argument("--max-overlap", type=int,
                   help=f"most SFX sounding at once (K, default {d.max_overlap})")
    g.add_argument("--shortlist-k", type=int,
                   help=f"candidates per shortlist window (default {d.shortlist_k})")
    g.add_argument("--min-similarity", type=float,
                   help="raw cosine a segment needs to count (default: off)")
    g.add_argument("--sync-config", type=Path, default=None,
                   help="JSON of placement settings (e.g. written by 'autofoley tune')")


def add_picture_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("picture")
    g.add_argument("--step", type=float, default=0.1, help="seconds per segment (default: 0.1)")
    g.add_argument("--frame-fit", choices=("crop", "pad"), default=None,
                   help="fit frames to the encoder by centre crop (CLIP's own preprocessing) "
                        "or by padding (the whole frame stays visible); default: the model's "
                        "setting, else crop")
    g.add_argument("--scene-threshold", type=float, default=27.0,
                   help="PySceneDetect ContentDetector threshold (default: %(default)s)")
    g.add_argument("--min-scene-len", type=float, default=0.6,
                   help="shortest scene, seconds (default: %(default)s)")
    g.add_argument("--dissolve-window", type=float, default=0.5,
                   help="seconds between frames compared to find dissolves; 0: hard cuts only "
                        "(default: %(default)s)")


_SYNC_FLAGS = ("threshold", "stability", "temperature", "min_event", "merge_gap", "max_overlap",
               "shortlist_k", "min_similarity")


def frame_fit_from_args(args, spec_defaults: dict | None) -> str:
    return args.frame_fit or (spec_defaults or {}).get("frame_fit") or "crop"


def sync_from_args(args, spec_defaults: dict | None):
    from .rank_modes import choose_rank
    from .settings import resolve_sync

    rank, audio_model = choose_rank(args.rank, args.clip_model, args.audio_model)
    return resolve_sync(args.clip_model, spec_defaults, args.sync_config,
                        {k: getattr(args, k) for k in _SYNC_FLAGS}, rank, audio_model)


def add_output_flags(p: argparse.ArgumentParser) -> None:
    """What a scoring run writes; shared by ``score`` and ``batch``."""
    g = p.add_argument_group("output")
    g.add_argument("--no-ambience", action="store_true", help="place no ambience beds")
    g.add_argument("--ambience-gain", type=float, default=-12.0,
                   help="ambience level relative to SFX, dB (default: %(default)s)")
    g.add_argument("--no-render", action="store_true",
                   help="write only the timeline and events, no mix or scored film")
    g.add_argument("--stems", action="store_true", help="also write sfx and ambience stems")
    g.add_argument("--timecode", default=None, help="timeline start timecode, e.g. 01:00:00:00")
    g.add_argument("--layout", default="standard",
                   help="timeline track layout: a shipped one (standard, compact) or a template "
                        ".json; see timelines/README.md (default: %(default)s)")
    g.add_argument("--export", type=_export_formats, default=(), metavar="FORMATS",
                   help="also write the timeline for other editors, comma-separated: "
                        "fcp7xml, aaf, edl, otioz, kdenlive, mlt, or all (adapters: "
                        "pip install 'autofoley[nle]')")
    g.add_argument("--no-report", action="store_true",
                   help="write no report (film.report.png / .html)")
    g.add_argument("--text-template", default="a photo of {}.",
                   help="sentence template for zero-shot text ranking (default: %(default)r)")
    g.add_argument("--no-cache", action="store_true", help="neither read nor write caches")


def options_from_args(args, spec_defaults: dict | None):
    """The ScoreOptions of a ``score`` or ``batch`` command line, given the
    resolved model's defaults (tuned placement settings, frame fit)."""
    from .pipeline import ScoreOptions

    return ScoreOptions(step=args.step, batch_size=args.batch_size,
                        frame_fit=frame_fit_from_args(args, spec_defaults),
                        scene_threshold=args.scene_threshold, min_scene_len=args.min_scene_len,
                        dissolve_window=args.dissolve_window,
                        sync=sync_from_args(args, spec_defaults),
                        text_template=args.text_template, rank=args.rank,
                        audio_model=args.audio_model, hybrid_weight=args.hybrid_weight,
                        split=not args.no_split, ambience=not args.no_ambience,
                        ambience_gain_db=args.ambience_gain, render=not args.no_render,
                        stems=args.stems, use_cache=not args.no_cache,
                        start_timecode=args.timecode, layout=args.layout,
                        exports=tuple(args.export), report=not args.no_report)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autofoley",
                                     description="Score a video with sound effects from your SFX library.")
    parser.add_argument("--version", action="version", version=f"autofoley {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("score", help="score a film: timeline, events, mix, scored film")
    s.add_argument("film", type=Path, help="video file")
    s.add_argument("--library", "-l", type=Path, required=True, help="folder of sound effects")
    s.add_argument("--library-csv", type=Path, default=None,
                   help="CSV sidecar of tags (default: library.csv or metadata.csv in the library)")
    s.add_argument("--out", "-o", type=Path, default=None,
                   help="output folder (default: ./autofoley-out)")
    s.add_argument("--name", default=None, help="output file stem (default: the film's stem)")
    add_model_flags(s)
    add_picture_flags(s)
    add_sync_flags(s)
    add_output_flags(s)
    add_common_flags(s)

    e = sub.add_parser("evaluate", help="compare a written timeline with ground truth")
    e.add_argument("timeline", type=Path, help="the .otio written by 'autofoley score'")
    e.add_argument("--truth", type=Path, required=True, help="the film's ground-truth JSON")
    e.add_argument("--library-truth", type=Path, required=True,
                   help="JSON mapping library files to sound classes")
    add_common_flags(e)

    t = sub.add_parser("tune", help="grid-search placement settings on labelled films")
    t.add_argument("films", type=Path, nargs="+", help="labelled films")
    t.add_argument("--truth", type=Path, required=True,
                   help="folder holding <film stem>.json ground truth for each film")
    t.add_argument("--library", "-l", type=Path, required=True, help="folder of sound effects")
    t.add_argument("--library-csv", type=Path, default=None)
    t.add_argument("--library-truth", type=Path, required=True,
                   help="JSON mapping library files to sound classes")
    t.add_argument("--out", "-o", type=Path, default=Path("autofoley-tuned.json"),
                   help="where to write the chosen settings (default: %(default)s)")
    t.add_argument("--set-default", action="store_true",
                   help="also make them the defaults of this CLIP model and ranking (with "
                        "--rank audio/hybrid: of this audio model) for 'autofoley score'")
    add_model_flags(t)
    add_picture_flags(t)
    add_sync_flags(t)
    add_common_flags(t)

    # Commands defined in their own modules; each parser sets its handler.
    from .batch_cli import add_batch_parser
    from .curate_cli import add_curate_parser
    from .search_cli import add_index_parser, add_search_parser
    from .train_cli import add_eval_parser, add_train_parser

    add_batch_parser(sub)
    add_index_parser(sub)
    add_search_parser(sub)
    add_curate_parser(sub)
    add_train_parser(sub)
    add_eval_parser(sub)

    m = sub.add_parser("models", help="list the CLIP and audio models autofoley can use")
    add_common_flags(m)
    return parser


def _export_formats(text: str) -> tuple[str, ...]:
    from .exports import parse_formats

    try:
        return parse_formats(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_common_flags(p: argparse.ArgumentParser, json_help: str = "print a JSON summary on stdout") -> None:
    """--json, --quiet and --verbose, which every command takes."""
    p.add_argument("--json", action="store_true", help=json_help)
    p.add_argument("--quiet", "-q", action="store_true", help="no progress display")
    p.add_argument("--verbose", "-v", action="store_true", help="debug logging on stderr")


def cmd_score(args) -> int:
    from .clip_encoder import load_clip
    from .exports import check_adapters
    from .layout import load_layout
    from .pipeline import Scorer
    from .progress import NullReporter, RichReporter

    if not args.film.exists():
        # Checked before loading a model so the user hears about a typo at once.
        from .media import check_readable
        check_readable(args.film)
    # Likewise a bad --layout or a missing export adapter.
    load_layout(args.layout)
    check_adapters(args.export)
    show = not args.quiet and sys.stderr.isatty()
    reporter = RichReporter() if show else NullReporter()
    with reporter if show else contextlib.nullcontext():
        with reporter.stage("load model"):
            encoder = load_clip(args.clip_model, args.clip_pretrained, args.device)
        options = options_from_args(args, encoder.spec.defaults)
        scorer = Scorer(options=options, encoder=encoder)
        result = scorer.score(args.film, args.library, args.out, args.library_csv, reporter,
                              args.name)
    for path, reason in result.skipped_sounds:
        log.warning("skipped %s: %s", path, reason)
    summary = result.summary()
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{summary['sfx_placed']} SFX and {summary['ambience_beds']} ambience beds over "
              f"{summary['scenes']} scenes; wrote:", file=sys.stderr)
        for path in summary["outputs"].values():
            print(f"  {path}", file=sys.stderr)
    return 0


def cmd_evaluate(args) -> int:
    from .evaluate import evaluate_timeline

    m = evaluate_timeline(args.timeline, args.truth, args.library_truth)
    if args.json:
        print(json.dumps(m.to_dict(), indent=2))
        return 0
    print(format_metrics({args.timeline.stem: m}))
    return 0


def format_metrics(rows: dict) -> str:
    head = f"{'film':<24} {'cut F1':>7} {'SFX P':>7} {'SFX R':>7} {'SFX F1':>7} {'onset':>7} {'amb':>6}"
    lines = [head]
    for name, m in rows.items():
        onset = "-" if m.median_onset_error != m.median_onset_error else f"{m.median_onset_error:.2f}s"
        amb = "-" if m.ambience_accuracy != m.ambience_accuracy else f"{m.ambience_accuracy:.2f}"
        lines.append(f"{name:<24} {m.cut_f1:>7.2f} {m.sfx_precision:>7.2f} {m.sfx_recall:>7.2f} "
                     f"{m.sfx_f1:>7.2f} {onset:>7} {amb:>6}")
    return "\n".join(lines)


def cmd_tune(args) -> int:
    from .clip_encoder import load_clip
    from .evaluate import LibraryTruth
    from .pipeline import ScoreOptions, Scorer
    from .progress import NullReporter, RichReporter
    from .settings import model_defaults_path, save_sync
    from .tune import load_films, tune

    show = not args.quiet and sys.stderr.isatty()
    reporter = RichReporter() if show else NullReporter()
    with reporter if show else contextlib.nullcontext():
        encoder = load_clip(args.clip_model, args.clip_pretrained, args.device)
        start = sync_from_args(args, encoder.spec.defaults)
        scorer = Scorer(encoder=encoder, options=ScoreOptions(
            step=args.step, batch_size=args.batch_size,
            frame_fit=frame_fit_from_args(args, encoder.spec.defaults),
            scene_threshold=args.scene_threshold,
            min_scene_len=args.min_scene_len, dissolve_window=args.dissolve_window, sync=start,
            rank=args.rank, audio_model=args.audio_model, hybrid_weight=args.hybrid_weight,
            split=not args.no_split))
        _, index = scorer.library(args.library, args.library_csv, reporter)
        films = load_films(scorer, args.films, args.truth, reporter)
        with reporter.stage("grid search") as update:
            result = tune(films, index, LibraryTruth.load(args.library_truth), start,
                          progress=update)
    meta = {"model": args.clip_model, "model_identity": encoder.identity,
            "rank": scorer.options.rank, "audio_model": scorer.options.audio_model,
            "films": [str(f) for f in args.films], "loss": result.best_loss,
            "start_loss": result.start_loss, "points": result.points}
    save_sync(args.out, result.best, **meta)
    if args.set_default:
        save_sync(model_defaults_path(args.clip_model, scorer.options.rank,
                                      scorer.options.audio_model), result.best, **meta)
    if args.json:
        print(json.dumps({**result.to_dict(), "written": str(args.out)}, indent=2))
    else:
        print(f"loss {result.start_loss:.4f} -> {result.best_loss:.4f} over {result.points} "
              f"settings; wrote {args.out}", file=sys.stderr)
        print(format_metrics(result.best_metrics))
    return 0


def cmd_models(args) -> int:
    from .registry import registry

    import open_clip

    shipped = registry()
    rows = [{"name": k, "kind": "clip", "source": "autofoley",
             "description": v.get("description", "")} for k, v in shipped.get("clip", {}).items()]
    rows += [{"name": k, "kind": "audio", "source": "autofoley", "clip_model": v.get("clip_model"),
              "description": v.get("description", "")} for k, v in shipped.get("audio", {}).items()]
    rows += [{"name": m, "kind": "clip", "source": "open_clip",
              "pretrained": open_clip.list_pretrained_tags_by_model(m)} for m in open_clip.list_models()]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            extra = r.get("description") or ", ".join(r.get("pretrained", [])) or "-"
            print(f"{r['name']:<40} {r['kind']:<6} {r['source']:<10} {extra}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help(sys.stderr)
        return 2
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="autofoley: %(levelname)s: %(message)s", stream=sys.stderr)
    log.setLevel(logging.DEBUG if args.verbose else logging.INFO if not args.quiet else logging.WARNING)
    try:
        commands = {"score": cmd_score, "evaluate": cmd_evaluate, "tune": cmd_tune,
                    "models": cmd_models}
        handler = getattr(args, "handler", None) or commands[args.command]
        return handler(args)
    except AutofoleyError as exc:
        print(f"autofoley: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("autofoley: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
