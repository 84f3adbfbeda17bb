"""``autofoley score``, ``evaluate``, ``tune`` and ``models``."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from autofoley._cli.display import format_metrics, progress
from autofoley._cli.flags import (add_common_flags, add_library_flags, add_model_flags,
                                  add_picture_flags, add_score_flags, add_sync_flags,
                                  check_rank_flags, options_from_args)

log = logging.getLogger("autofoley")


def add_parsers(sub) -> None:
    s = sub.add_parser("score", help="score a film: timeline, events, mix, scored film")
    s.add_argument("film", type=Path, help="video file")
    add_library_flags(s)
    s.add_argument("--name", default=None, help="output file stem (default: the film's stem)")
    add_score_flags(s)
    add_common_flags(s)
    s.set_defaults(handler=cmd_score, check=check_rank_flags)

    e = sub.add_parser("evaluate", help="compare a written timeline with ground truth")
    e.add_argument("timeline", type=Path, help="the .otio written by 'autofoley score'")
    e.add_argument("--truth", type=Path, required=True, help="the film's ground-truth JSON")
    e.add_argument("--library-truth", type=Path, required=True,
                   help="JSON mapping library files to sound classes")
    add_common_flags(e)
    e.set_defaults(handler=cmd_evaluate)

    t = sub.add_parser("tune", help="grid-search placement settings on labelled films")
    t.add_argument("films", type=Path, nargs="+", help="labelled films")
    t.add_argument("--truth", type=Path, required=True,
                   help="folder holding <film stem>.json ground truth for each film")
    add_library_flags(t, out=False)
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
    t.set_defaults(handler=cmd_tune, check=check_rank_flags)

    m = sub.add_parser("models", help="list the CLIP and audio models autofoley can use")
    add_common_flags(m)
    m.set_defaults(handler=cmd_models)


def cmd_score(args) -> int:
    from autofoley.media.probe import check_readable
    from autofoley.models.clip import load_clip
    from autofoley.pipeline import Scorer, preflight

    options = options_from_args(args)
    # Checked before loading a model, so the user hears about a typo at once.
    check_readable(args.film)
    preflight(options)
    with progress(args) as reporter:
        with reporter.stage("load model"):
            encoder = load_clip(args.clip_model, args.clip_pretrained, args.device)
        scorer = Scorer(options=options, encoder=encoder)
        result = scorer.score(args.film, args.library, args.out, args.library_csv, reporter,
                              args.name)
    for path, reason in result.skipped_sounds:
        log.warning("skipped %s: %s", path, reason)
    summary = result.summary()
    if args.json:
        print(json.dumps(summary, indent=2, allow_nan=False))
    else:
        print(f"{summary['sfx_placed']} SFX and {summary['ambience_beds']} ambience beds over "
              f"{summary['scenes']} scenes; wrote:", file=sys.stderr)
        for path in summary["outputs"].values():
            print(f"  {path}", file=sys.stderr)
    return 0


def cmd_evaluate(args) -> int:
    from autofoley.evaluation.evaluate import evaluate_timeline

    m = evaluate_timeline(args.timeline, args.truth, args.library_truth)
    if args.json:
        print(json.dumps(m.to_dict(), indent=2))
        return 0
    print(format_metrics({args.timeline.stem: m}))
    return 0


def cmd_tune(args) -> int:
    from autofoley.evaluation.evaluate import LibraryTruth
    from autofoley.evaluation.tune import load_films, tune
    from autofoley.models.clip import load_clip
    from autofoley.pipeline import Scorer
    from autofoley.placement.settings import model_defaults_path, save_sync

    with progress(args) as reporter:
        encoder = load_clip(args.clip_model, args.clip_pretrained, args.device)
        scorer = Scorer(encoder=encoder, options=options_from_args(args))
        start = scorer.options.sync
        _, index = scorer.library(args.library, args.library_csv, reporter)
        films = load_films(scorer, args.films, args.truth, reporter)
        with reporter.stage("grid search") as update:
            result = tune(films, index, LibraryTruth.load(args.library_truth), start,
                          progress=update)
    meta = {"model": encoder.spec.name, "model_identity": encoder.identity,
            "rank": scorer.options.rank, "audio_model": scorer.options.audio_model,
            "films": [str(f) for f in args.films], "loss": result.best_loss,
            "start_loss": result.start_loss, "points": result.points}
    save_sync(args.out, result.best, **meta)
    if args.set_default:
        save_sync(model_defaults_path(encoder.spec.name, scorer.options.rank,
                                      scorer.options.audio_model), result.best, **meta)
    if args.json:
        print(json.dumps({**result.to_dict(), "written": str(args.out)}, indent=2))
    else:
        print(f"loss {result.start_loss:.4f} -> {result.best_loss:.4f} over {result.points} "
              f"settings; wrote {args.out}", file=sys.stderr)
        print(format_metrics(result.best_metrics))
    return 0


def cmd_models(args) -> int:
    import open_clip

    from autofoley.models.registry import registry

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
