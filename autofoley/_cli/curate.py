"""``autofoley curate``: parse arguments, show progress, call ``curate.curate``.

``add_curate_parser(subparsers)`` adds the command to the ``autofoley``
parser; ``cmd_curate(args)`` runs it and returns the exit code.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from autofoley._cli.display import print_json, progress
from autofoley._cli.flags import (
    FRAME_FITS,
    add_common_flags,
    add_model_flags,
    count,
    non_negative_int,
    positive,
)

log = logging.getLogger("autofoley")


def _or_unlimited(parse, words: tuple[str, ...]):
    """An argparse type: ``parse`` (a ``flags.number`` type), or one of
    ``words`` for no limit (None)."""

    def parse_or_none(text: str):
        if text.strip().lower() in words:
            return None
        try:
            return parse(text)
        except argparse.ArgumentTypeError as exc:
            raise argparse.ArgumentTypeError(f"{exc}; or '{words[0]}' for no limit") from None

    parse_or_none.__name__ = parse.__name__
    return parse_or_none


_limit = _or_unlimited(count, ("inf", "none", "unlimited"))
_frames = _or_unlimited(count, ("all", "inf"))


def _fractions(text: str) -> tuple[float, float, float]:
    from autofoley.training.splits import normalise_splits

    try:
        return normalise_splits([float(x) for x in text.split(",")])
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _names(values: list[str] | None) -> list[str]:
    """Repeated and comma-separated values as one list; 'none' clears it."""
    out: list[str] = []
    for value in values or ():
        for name in value.split(","):
            name = name.strip()
            if name.lower() == "none":
                out.clear()
            elif name:
                out.append(name)
    return out


def add_curate_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``curate`` to an ``add_subparsers()`` object; return its parser."""
    from autofoley.training.curate import (
        DEFAULT_EXCLUDE_CATEGORIES,
        DEFAULT_EXCLUDE_KINDS,
    )
    from autofoley.training.llm import (
        DEFAULT_KEY_ENV,
        DEFAULT_MODEL,
        DEFAULT_URL,
        SPECIFICITIES,
    )

    c = subparsers.add_parser(
        "curate", help="pair your SFX library with stock footage: a dataset to train an audio encoder",
        description="Match every SFX of the library with frames of stock videos and stills through "
                    "CLIP (text of the SFX's tags against frame images) and write a pairs folder "
                    "for 'autofoley train'. Audio files and videos are split into train/val/test "
                    "by a hash of their path, disjoint in both, and matched within their split. "
                    "Embeddings and LLM answers are cached: running again with another --n only "
                    "redoes the matching.")
    c.add_argument("--library", "-l", type=Path, required=True, help="folder of sound effects")
    c.add_argument("--library-csv", type=Path, default=None,
                   help="CSV sidecar of tags (default: library.csv or metadata.csv in the library)")
    c.add_argument("--stock", type=Path, default=None,
                   help="folder of stock videos (any format ffmpeg reads) and stills (png, jpg); "
                        "without it only the sounds and their sentences are written (train then "
                        "learns through language alone)")
    c.add_argument("--out", "-o", type=Path, required=True, help="pairs folder to write")
    g = c.add_argument_group("pairing")
    g.add_argument("--n", type=_limit, default=1, metavar="N",
                   help="pairing limit: the most SFX one frame may be matched to; 'inf' for no "
                        "limit (default: 1, every pair unique)")
    g.add_argument("--k", type=non_negative_int, default=10,
                   help="top frames per SFX kept as augmentation besides the matched one "
                        "(default: %(default)s)")
    g.add_argument("--frames-per-video", type=_frames, default=10, metavar="K",
                   help="random frames kept per video, or 'all' (default: %(default)s)")
    g.add_argument("--fps", type=positive, default=1.0, help="video sampling rate (default: %(default)s)")
    g.add_argument("--splits", type=_fractions, default=(0.8, 0.1, 0.1), metavar="TRAIN,VAL,TEST",
                   help="split fractions (default: 0.8,0.1,0.1)")
    g.add_argument("--seed", type=int, default=0, help="seed of splits and frame picks (default: 0)")
    g.add_argument("--whole-files", action="store_true",
                   help="one SFX per file instead of one per take (takes are cut at silences)")
    g.add_argument("--exclude-kind", action="append", metavar="KIND",
                   help=f"kinds to leave out, repeatable or comma-separated; 'none' for none "
                        f"(default: {','.join(DEFAULT_EXCLUDE_KINDS)})")
    g.add_argument("--exclude-category", action="append", metavar="CATEGORY",
                   help=f"categories to leave out (UCS names or CSV categories); 'none' for none "
                        f"(default: {','.join(DEFAULT_EXCLUDE_CATEGORIES)})")
    t = c.add_argument_group("sentences")
    t.add_argument("--sentences", choices=("template", "llm"), default="template",
                   help="how tags become the text CLIP matches: 'template' (offline, the tags "
                        "without recording jargon) or 'llm' (a sentence written by an LLM)")
    t.add_argument("--llm-url", default=DEFAULT_URL,
                   help="OpenAI-compatible API base (default: %(default)s; e.g. "
                        "http://localhost:8000/v1 for vLLM or llama.cpp)")
    t.add_argument("--llm-model", default=DEFAULT_MODEL, help="model name (default: %(default)s)")
    t.add_argument("--llm-key-env", default=DEFAULT_KEY_ENV, metavar="VAR",
                   help="environment variable holding the API key (default: %(default)s); the key "
                        "is never printed or written")
    t.add_argument("--llm-timeout", type=positive, default=30.0, help="seconds per request (default: 30)")
    t.add_argument("--llm-retries", type=non_negative_int, default=3,
                   help="retries of a failed or unusable answer, with backoff (default: 3)")
    t.add_argument("--llm-workers", type=count, default=4, help="requests in flight (default: 4)")
    t.add_argument("--specificity", choices=SPECIFICITIES, default="medium",
                   help="how much detail of the tags the LLM keeps (default: %(default)s)")
    t.add_argument("--classify-kinds", action="store_true",
                   help="ask the LLM whether each sound is an SFX, ambience or music (majority of "
                        "three answers); used by --exclude-kind and remembered for scoring (as user "
                        "data, kept when the cache is cleared)")
    add_model_flags(c, rank=False)
    c.add_argument("--frame-fit", choices=FRAME_FITS, default=None,
                   help="fit stock frames to the encoder by centre crop or by padding; default: "
                        "the model's setting, else crop (as 'score' sees films)")
    c.add_argument("--no-cache", action="store_true", help="ignore and do not write caches")
    add_common_flags(c, "print a JSON summary on stdout")
    c.set_defaults(handler=cmd_curate)
    return c


def cmd_curate(args) -> int:
    from autofoley.models.clip import load_clip
    from autofoley.training.curate import (
        DEFAULT_EXCLUDE_CATEGORIES,
        DEFAULT_EXCLUDE_KINDS,
        curate,
    )
    from autofoley.training.llm import LlmClient

    exclude_kinds = _names(args.exclude_kind) if args.exclude_kind else list(DEFAULT_EXCLUDE_KINDS)
    exclude_categories = (_names(args.exclude_category) if args.exclude_category
                          else list(DEFAULT_EXCLUDE_CATEGORIES))
    client = None
    if args.sentences == "llm" or args.classify_kinds:
        client = LlmClient(url=args.llm_url, model=args.llm_model, key_env=args.llm_key_env,
                           timeout=args.llm_timeout, retries=args.llm_retries,
                           workers=args.llm_workers,
                           use_cache=not args.no_cache)
    with progress(args) as reporter:
        with reporter.stage("load model"):
            clip = load_clip(args.clip_model, args.clip_pretrained, args.device)
        fit = args.frame_fit or (clip.spec.defaults or {}).get("frame_fit") or "crop"
        result = curate(args.library, args.stock, args.out, clip, n=args.n, k=args.k,
                        frames_per_video=args.frames_per_video, fps=args.fps,
                        sentences=args.sentences, llm=client, specificity=args.specificity,
                        classify=args.classify_kinds, exclude_kinds=exclude_kinds,
                        exclude_categories=exclude_categories, splits=args.splits, seed=args.seed,
                        split_takes=not args.whole_files, library_csv=args.library_csv,
                        batch_size=args.batch_size, use_cache=not args.no_cache, fit=fit,
                        reporter=reporter)
    if client is not None and client.disabled:
        log.warning("LLM stopped answering (%s): sentences fell back to the template", client.disabled)
    summary = result.summary()
    if client is not None:
        summary["llm"] = {"calls": client.calls, "cache_hits": client.cache_hits,
                          "fallbacks": client.failures}
    if args.json:
        print_json(summary)
    else:
        print(format_counts(result.counts, result.out), file=sys.stderr)
    return 0


def format_counts(counts: dict, out: Path) -> str:
    """The human summary: pairs per split and what ran short."""
    lines = [(f"wrote {out}: {counts.get('sounds_total', 0)} tagged sounds, "
              f"{counts.get('pairs_total', 0)} pairs over {counts.get('frames', 0)} frames")]
    for name in ("train", "val", "test"):
        lines.append(f"  {name:<5} {counts['pairs'][name]:>6} pairs  {counts['sfx'][name]:>6} SFX  "
                     f"{counts['videos'][name]:>5} videos  {counts['frames_per_split'][name]:>6} frames"
                     + (f"  {counts['unmatched'][name]} SFX unmatched (frames ran out under --n)"
                        if counts["unmatched"][name] else ""))
    excluded = counts.get("excluded", {})
    if any(excluded.values()):
        lines.append(f"  excluded: {excluded.get('kind', 0)} by kind, {excluded.get('category', 0)} by category")
    if counts.get("skipped_sounds") or counts.get("skipped_media"):
        lines.append(f"  skipped: {counts.get('skipped_sounds', 0)} sounds, "
                     f"{counts.get('skipped_media', 0)} stock files (see --json or --verbose)")
    if counts.get("untagged"):
        lines.append(f"  {counts['untagged']} sounds without usable tags left out (ranking finds "
                     "them by their sound)")
    if counts.get("llm_fallbacks"):
        lines.append(f"  {counts['llm_fallbacks']} sentences fell back to the template")
    return "\n".join(lines)


def add_parsers(sub) -> None:
    add_curate_parser(sub)
