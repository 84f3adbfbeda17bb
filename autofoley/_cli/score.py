"""``autofoley score``, ``evaluate`` and ``tune``."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from autofoley._cli.display import format_metrics, print_json, progress
from autofoley._cli.flags import (
    add_common_flags,
    add_library_flags,
    add_model_flags,
    add_picture_flags,
    add_score_flags,
    add_sync_flags,
    check_rank_flags,
    options_from_args,
)

log = logging.getLogger("autofoley")


def add_parsers(sub) -> None:
    s = sub.add_parser("score", help="score a film: timeline, events, mix, scored film")
    s.add_argument("film", type=Path, nargs="+", help="video file(s); the model loads once")
    add_library_flags(s)
    s.add_argument("--name", default=None,
                   help="output file stem, with one film (default: the film's stem)")
    add_score_flags(s)
    add_common_flags(s)
    s.set_defaults(handler=cmd_score, check=check_rank_flags)

    e = sub.add_parser("evaluate", help="compare a written timeline with ground truth")
    e.add_argument("timeline", type=Path, nargs="+",
                   help="the .otio written by 'autofoley score', several, or folders of them "
                        "(a batch's output folder)")
    e.add_argument("--truth", type=Path, required=True,
                   help="the film's ground-truth JSON, or a folder of <film stem>.json")
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


def cmd_score(args) -> int:
    from autofoley.errors import AutofoleyError, UsageError
    from autofoley.media.probe import check_readable
    from autofoley.models.clip import load_clip
    from autofoley.pipeline import Scorer, preflight

    if args.name and len(args.film) > 1:
        raise UsageError("--name names one film's outputs; several films keep their own names")
    options = options_from_args(args)
    # Checked before loading a model, so the user hears about a typo at once.
    for film in args.film:
        check_readable(film)
    preflight(options)
    summaries, failed = [], []
    with progress(args) as reporter:
        with reporter.stage("load model"):
            encoder = load_clip(args.clip_model, args.clip_pretrained, args.device)
        scorer = Scorer(options=options, encoder=encoder)
        for film in args.film:
            try:
                result = scorer.score(film, args.library, args.out, args.library_csv, reporter,
                                      args.name)
            except AutofoleyError as exc:
                if len(args.film) == 1:
                    raise
                # One bad film of several costs that film; the rest are scored.
                log.error("%s", exc)
                failed.append((film, exc))
                continue
            summaries.append(result.summary())
            if len(summaries) == 1:
                for path, reason in result.skipped_sounds:
                    log.warning("skipped %s: %s", path, reason)
    if args.json:
        print_json(summaries[0] if len(args.film) == 1 else
                   {"films": summaries,
                    "failed": [{"film": str(f), "error": str(e)} for f, e in failed]})
    else:
        for summary in summaries:
            print(f"{Path(summary['film']).name}: {summary['sfx_placed']} SFX and "
                  f"{summary['ambience_beds']} ambience beds over {summary['scenes']} scenes; "
                  "wrote:", file=sys.stderr)
            for path in summary["outputs"].values():
                print(f"  {path}", file=sys.stderr)
    return failed[0][1].exit_code if failed else 0


def cmd_evaluate(args) -> int:
    from autofoley.errors import UsageError
    from autofoley.evaluation.evaluate import evaluate_timeline, pooled

    timelines = []
    for path in args.timeline:
        timelines += sorted(path.rglob("*.otio")) if path.is_dir() else [path]
    if not timelines:
        raise UsageError("no .otio timelines found", args.timeline[0], "pass 'score' outputs")
    if args.truth.is_file() and len(timelines) > 1:
        raise UsageError("several timelines need --truth FOLDER of <film stem>.json", args.truth)
    rows = {}
    for timeline in timelines:
        truth = args.truth / f"{timeline.stem}.json" if args.truth.is_dir() else args.truth
        rows[timeline.stem if timeline.stem not in rows else str(timeline)] = \
            evaluate_timeline(timeline, truth, args.library_truth)
    if args.json:
        total = {f"all ({len(rows)} films)": pooled(list(rows.values()))} if len(rows) > 1 else {}
        print_json(next(iter(rows.values())).to_dict() if len(rows) == 1 else
                   {name: m.to_dict() for name, m in {**rows, **total}.items()})
        return 0
    print(format_metrics(rows))
    return 0


def cmd_tune(args) -> int:
    from autofoley.evaluation.ceiling import Ceiling, seen_events
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
        library = LibraryTruth.load(args.library_truth)
        with reporter.stage("grid search") as update:
            result = tune(films, index, library, start, progress=update)
        # What the model lets any settings find, at the best ones: misses it
        # never sees are the model's, not the settings'.
        seen = Ceiling()
        for f in films:
            seen.add(seen_events(f.vectors, f.step, f.scenes, f.regions, f.truth, index, library,
                                 result.best), result.best_metrics[f.name].missed)
    meta = {"model": encoder.spec.name, "model_identity": encoder.identity,
            "rank": scorer.options.rank, "audio_model": scorer.options.audio_model,
            "films": [str(f) for f in args.films], "loss": result.best_loss,
            "start_loss": result.start_loss, "points": result.points}
    # Written relative, like the shipped defaults: the temperature stays "the
    # model's own" unless the user gave one (tuning never changes it).
    best = result.best if args.temperature is not None else result.best.replace(temperature=None)
    save_sync(args.out, best, **meta)
    if args.set_default:
        save_sync(model_defaults_path(encoder.spec.name, scorer.options.rank,
                                      scorer.options.audio_model), best, **meta)
    if args.json:
        print_json({**result.to_dict(), "ceiling": seen.to_dict(), "written": str(args.out)})
    else:
        print(f"loss {result.start_loss:.4f} -> {result.best_loss:.4f} over {result.points} "
              f"settings; wrote {args.out}", file=sys.stderr)
        print(format_metrics(result.best_metrics))
        print(f"at these settings {seen.summary()}")
    return 0

