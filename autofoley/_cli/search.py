"""``autofoley index`` and ``autofoley search``: parse arguments, show
progress, call ``index_store`` and ``search``.

``add_index_parser(subparsers)`` / ``add_search_parser(subparsers)`` add the
commands to the ``autofoley`` parser; ``cmd_index(args)`` / ``cmd_search(args)``
run them and return the exit code. Results go to stdout (a plain table, or
JSON with ``--json``); progress, warnings and errors to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from autofoley._cli.display import print_json, progress
from autofoley._cli.flags import (
    add_common_flags,
    add_library_flags,
    add_model_flags,
    check_rank_flags,
    count,
    non_negative,
)
from autofoley.errors import UsageError
from autofoley.library.keys import choose_rank

log = logging.getLogger("autofoley")

KINDS = ("sfx", "ambience")


def _add_index_flags(p: argparse.ArgumentParser) -> None:
    """Flags shared by ``index`` and ``search``: what is indexed, and how.
    The model flags bring ``--rank``, ``--audio-model``, ``--hybrid-weight``,
    ``--no-split``, ``--text-template`` and ``--no-cache``."""
    add_model_flags(p)
    g = p.add_argument_group("index")
    g.add_argument("--audio-batch-size", type=count, default=16,
                   help="sounds per audio encoder batch (default: %(default)s)")
    add_common_flags(p, "print the result as JSON on stdout")


def add_index_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``index`` to an ``add_subparsers()`` object; return its parser."""
    p = subparsers.add_parser(
        "index", help="build or update the library index (only new or changed files are embedded)",
        description="Scan a library, split SFX files into takes on silence and embed every "
                    "take not yet in the index. Run it again after the library changes: "
                    "unchanged files cost nothing, and an interrupted run resumes.")
    add_library_flags(p, positional=True, out=False)
    _add_index_flags(p)
    p.set_defaults(handler=cmd_index, check=check_rank_flags)
    return p


def add_search_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``search`` to an ``add_subparsers()`` object; return its parser."""
    p = subparsers.add_parser(
        "search", help="find the library's sounds for a phrase, a picture or a film frame",
        description="Rank the library's sounds against one query; the index is brought up to "
                    "date first (see 'autofoley index').")
    add_library_flags(p, out=False)
    q = p.add_argument_group("query (one of)").add_mutually_exclusive_group(required=True)
    q.add_argument("--text", help="a phrase, e.g. 'glass shatter'")
    q.add_argument("--image", type=Path, help="a picture (PNG, JPEG)")
    q.add_argument("--video", type=Path, help="a film; with --at, the frame shown at that second")
    p.add_argument("--at", type=non_negative, default=None, metavar="SECONDS",
                   help="second of the --video frame to search with")
    p.add_argument("-k", type=count, default=10, help="how many sounds to list (default: %(default)s)")
    p.add_argument("--kind", choices=KINDS, default=None, help="only SFX, or only ambience beds")
    p.add_argument("--frame-fit", choices=("crop", "pad"), default=None,
                   help="fit --image/--video frames as 'score' does (default: the model's "
                        "setting, else crop)")
    _add_index_flags(p)
    p.set_defaults(handler=cmd_search, check=check_rank_flags)
    return p


# --------------------------------------------------------------------------- commands


@dataclass
class _Built:
    index: object  # LibraryIndex
    files: int
    new: int
    skipped: list
    folder: Path | None
    model: str


def _load_models(args, reporter, mode: str, audio_name: str | None, need_clip: bool):
    """(CLIP encoder or None, audio encoder or None) for ``mode``."""
    from autofoley.models.clip import load_clip

    clip = audio = None
    if need_clip:
        with reporter.stage("load model"):
            clip = load_clip(args.clip_model, args.clip_pretrained, args.device)
    if audio_name:
        from autofoley.models.audio import load_audio_encoder, load_audio_for

        with reporter.stage("load audio model"):
            audio = (load_audio_for(audio_name, clip, args.device) if clip is not None
                     else load_audio_encoder(audio_name, args.device))
    return clip, audio


def _build(args, reporter, mode: str, clip=None, audio=None) -> _Built:
    """Bring the index of ``args.library`` up to date, per ``args``."""
    from autofoley.library.keys import index_library
    from autofoley.library.takes import SplitParams

    built = index_library(
        args.library, args.library_csv, mode, clip, audio, template=args.text_template,
        use_cache=not args.no_cache, split=None if args.no_split else SplitParams(),
        store_dir=args.index, hybrid_weight=_hybrid_weight(args),
        batch_size=args.audio_batch_size, reporter=reporter)
    model = " + ".join(m.identity for m in (clip if mode != "audio" else None, audio) if m)
    return _Built(built.index, len(built.files.entries), built.embedded, built.scan.skipped,
                  built.folder, model)


def _hybrid_weight(args) -> float:
    from autofoley.library.keys import DEFAULT_HYBRID_WEIGHT

    return DEFAULT_HYBRID_WEIGHT if args.hybrid_weight is None else args.hybrid_weight


def cmd_index(args) -> int:
    mode, audio_name = choose_rank(args.rank, args.clip_model, args.audio_model)
    with progress(args) as reporter:
        clip, audio = _load_models(args, reporter, mode, audio_name, need_clip=mode != "audio")
        built = _build(args, reporter, mode, clip, audio)
    index = built.index
    # Sounds with no usable tags, found by their sound (audio and hybrid):
    # the kind each was given, from the tagged sound it sounds most like.
    untagged = [(e, like) for e, like in zip(index.entries, index.sounds_like or ()) if like]
    summary = {
        "library": str(Path(args.library).expanduser().resolve()),
        "rank": mode, "model": built.model,
        "index": str(built.folder) if built.folder else None,
        "files": built.files, "segments": len(index.entries), "new": built.new,
        "skipped": [{"file": str(p), "reason": r} for p, r in built.skipped],
        "untagged": [{"file": str(e.path), "offset": e.offset, "duration": e.duration,
                      "category": e.category, "sounds_like": like} for e, like in untagged],
    }
    if args.json:
        print_json(summary)
        return 0
    print(f"{summary['files']} files, {summary['segments']} segments ({summary['new']} newly "
          f"embedded), {len(built.skipped)} skipped" +
          (f"; index: {summary['index']}" if summary["index"] else ""))
    if untagged:
        kinds = Counter(e.category for e, _ in untagged)
        print(f"  {len(untagged)} segments without usable tags, found by their sound, as: " +
              ", ".join(f"{n} {c}" for c, n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))))
    for path, why in built.skipped:
        print(f"  skipped {path}: {why}")
    return 0


def cmd_search(args) -> int:
    from autofoley.library.search import image_query, search, text_query, video_query
    from autofoley.media.frames import FITS
    from autofoley.media.probe import check_readable

    if args.video is not None and args.at is None:
        raise UsageError("--video needs --at SECONDS", args.video, "e.g. --video film.mp4 --at 12.3")
    if args.at is not None and args.video is None:
        raise UsageError("--at applies to --video only", None, "pass --video FILM with --at")
    # Checked before loading models, so a typo is reported at once.
    if args.image is not None:
        check_readable(args.image, "image")
    if args.video is not None:
        check_readable(args.video, "film")
    mode, audio_name = choose_rank(args.rank, args.clip_model, args.audio_model)
    with progress(args) as reporter:
        clip, audio = _load_models(args, reporter, mode, audio_name, need_clip=True)
        built = _build(args, reporter, mode, clip, audio)
        fit = args.frame_fit or (clip.spec.defaults or {}).get("frame_fit") or "crop"
        fit = fit if fit in FITS else "crop"
        with reporter.stage("query"):
            if args.text is not None:
                query = text_query(clip, args.text, args.text_template)
            elif args.image is not None:
                query = image_query(clip, args.image, fit)
            else:
                query = video_query(clip, args.video, args.at, fit)
            hits = search(built.index, query, args.k, args.kind)[0]
    if built.skipped:
        log.info("%d library files skipped (see 'autofoley index' for why)", len(built.skipped))
    if args.json:
        print_json({"query": _query_text(args), "rank": mode, "model": built.model,
                    "hits": [h.to_json() for h in hits]})
        return 0
    print(format_hits(hits, Path(args.library).expanduser().resolve()))
    return 0


def _query_text(args) -> dict:
    if args.text is not None:
        return {"text": args.text}
    if args.image is not None:
        return {"image": str(args.image)}
    return {"video": str(args.video), "at": args.at}


def format_hits(hits, root: Path | None = None) -> str:
    """A plain table: rank, score, file (relative to ``root``), in-out seconds,
    category, and whether placement loops it (continuous) or plays it once."""
    rows = []
    for h in hits:
        e = h.entry
        path = e.path
        if root is not None:
            with contextlib.suppress(ValueError):
                path = e.path.relative_to(root)
        rows.append((str(h.rank), f"{h.score:.4f}", str(path),
                     f"{e.offset:.2f}-{e.offset + e.duration:.2f}", e.category, h.sustain))
    head = ("rank", "score", "file", "in-out (s)", "category", "sustain")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(c.rjust(w) if i in (0, 1, 3) else c.ljust(w)
                       for i, (c, w) in enumerate(zip(r, widths))).rstrip() for r in [head, *rows]]
    return "\n".join(lines) if rows else "no sounds found"


def add_parsers(sub) -> None:
    add_index_parser(sub)
    add_search_parser(sub)
