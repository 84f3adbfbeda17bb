"""``autofoley train`` and ``autofoley eval``: parse arguments, show progress,
call ``train.train`` / ``retrieval.evaluate`` / ``ablation.run_ablation``.

``add_train_parser(subparsers)`` / ``add_eval_parser(subparsers)`` add the
commands to the ``autofoley`` parser; ``cmd_train(args)`` / ``cmd_eval(args)``
run them and return the exit code. Results go to stdout (a table, or JSON
with ``--json``); progress and notes to stderr.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from autofoley._cli.display import print_json, progress, shows_progress
from autofoley._cli.flags import (
    add_common_flags,
    count,
    fraction,
    non_negative,
    non_negative_int,
    number,
    positive,
)
from autofoley.errors import UsageError

log = logging.getLogger("autofoley")


def _ns(text: str) -> tuple:
    from autofoley.training.ablation import parse_ns

    try:
        return parse_ns(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_train_flags(p: argparse.ArgumentParser, with_model: bool = True) -> None:
    """The training settings, shared by ``train`` and ``eval --ablation``."""
    from autofoley.training.config import MATCH_MODES, SELECT_METRICS, TrainConfig

    d = TrainConfig()
    g = p.add_argument_group("training")
    if with_model:
        g.add_argument("--audio-model", default=d.audio_model,
                       help="encoder to start from: a registry name (audio-tiny-cnn14, aisfx, ...), "
                            "cnn14:/path/Cnn14_mAP=0.431.pth or a .safetensors checkpoint "
                            "(default: %(default)s)")
    g.add_argument("--from-scratch", action="store_true",
                   help="re-initialise every weight instead of fine-tuning")
    g.add_argument("--epochs", type=non_negative_int, default=d.epochs,
                   help="most epochs (default: %(default)s)")
    g.add_argument("--batch-size", type=number(int, 2), default=d.batch_size,
                   help="sounds per contrastive batch (default: %(default)s)")
    g.add_argument("--lr", type=positive, default=d.lr,
                   help="backbone learning rate (default: %(default)s)")
    g.add_argument("--head-lr", type=positive, default=None,
                   help="projection and temperature learning rate (default: 10 x --lr when "
                        "fine-tuning, --lr from scratch)")
    g.add_argument("--weight-decay", type=non_negative, default=d.weight_decay,
                   help="AdamW weight decay (default: %(default)s)")
    g.add_argument("--temperature", type=positive, default=d.temperature_init,
                   help="initial softmax temperature, learnt from there (default: %(default)s)")
    g.add_argument("--freeze-backbone", action=argparse.BooleanOptionalAction, default=None,
                   help="train the projection only, on backbone embeddings computed once "
                        "(default; --no-freeze-backbone fine-tunes the backbone too, on "
                        "random crops, much slower on a CPU)")
    g.add_argument("--image-weight", type=fraction, default=None, metavar="W",
                   help="mix of the two losses: W x towards the paired frames (the paper's) + "
                        "(1 - W) x towards each tagged sound's sentence in CLIP text space (every "
                        "tagged sound of the library); 1 = pairs only, 0 = language only "
                        f"(default: {d.image_weight}; the ablation: 1)")
    g.add_argument("--match", choices=MATCH_MODES, default=d.match,
                   help="frame each sound is trained against: its matched (or a top-k) frame, "
                        "the nearest frame of its video (Nearest Match), or several frames of "
                        "its video (Multiframe Match) (default: %(default)s)")
    g.add_argument("--nearest-warmup", type=non_negative_int, default=d.nearest_warmup_epochs,
                   metavar="N", help="with --match nearest: random frames of the video for "
                                     "the first N epochs (default: %(default)s)")
    g.add_argument("--multiframe", type=count, default=d.multiframe, metavar="M",
                   help="with --match multiframe: frames per sound (default: %(default)s)")
    g.add_argument("--no-augment", action="store_true",
                   help="always the matched frame, never one of its top-k augmentation frames")
    g.add_argument("--crop-seconds", type=positive, default=None,
                   help="training crop per sound, seconds (default: one encoder window)")
    g.add_argument("--patience", type=count, default=d.patience,
                   help="stop after this many epochs without a better validation metric "
                        "(default: %(default)s)")
    g.add_argument("--select", choices=SELECT_METRICS, default=d.select,
                   help="validation metric that picks the best epoch (default: %(default)s)")
    g.add_argument("--seed", type=int, default=d.seed, help="(default: %(default)s)")
    g.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")


def config_from_args(args):
    """The ``TrainConfig`` of a ``train`` or ``eval --ablation`` command line."""
    from autofoley.training.config import TrainConfig

    freeze = args.freeze_backbone
    if freeze and args.from_scratch:
        raise UsageError("--from-scratch trains the backbone: it cannot be frozen", None,
                         "drop --freeze-backbone")
    image_weight = args.image_weight if args.image_weight is not None else (
        1.0 if getattr(args, "ablation", False) else TrainConfig.image_weight)
    return TrainConfig(
        audio_model=args.audio_model or TrainConfig.audio_model, from_scratch=args.from_scratch,
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, head_lr=args.head_lr,
        weight_decay=args.weight_decay, temperature_init=args.temperature,
        freeze_backbone=(not args.from_scratch) if freeze is None else freeze,
        image_weight=image_weight, match=args.match,
        nearest_warmup_epochs=args.nearest_warmup, multiframe=args.multiframe,
        augment_topk=not args.no_augment, crop_seconds=args.crop_seconds,
        patience=args.patience, select=args.select, seed=args.seed)


def add_train_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``train`` to an ``add_subparsers()`` object; return its parser."""

    t = subparsers.add_parser(
        "train", help="train an audio encoder on pairs from 'autofoley curate'",
        description="Contrastive training of an audio encoder into the CLIP image space of the "
                    "pairs (Wilkins et al. 2023). Writes OUT/model.safetensors (the best epoch "
                    "on the val split; use it with --audio-model), OUT/last.safetensors, "
                    "OUT/optimizer.safetensors and OUT/state.json (for --resume).")
    t.add_argument("pairs", type=Path, help="pairs folder written by 'autofoley curate'")
    t.add_argument("--out", "-o", type=Path, required=True, help="folder for the checkpoints")
    t.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its last epoch, with its settings "
                        "(only --epochs and --patience are taken from this command line)")
    t.add_argument("--overwrite", action="store_true",
                   help="start again in an --out that already holds a run (with --register: "
                        "replace a registered model of that name)")
    t.add_argument("--register", metavar="NAME", default=None,
                   help="add the trained encoder to your model registry as NAME (a copy under "
                        "the user data folder), so that --audio-model NAME works everywhere; "
                        "with a trained encoder for the CLIP model, --rank auto becomes hybrid")
    add_train_flags(t)
    add_common_flags(t, "print the result as JSON on stdout")
    t.set_defaults(handler=cmd_train)
    return t


def add_eval_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``eval`` to an ``add_subparsers()`` object; return its parser."""

    e = subparsers.add_parser(
        "eval", help="frame -> sound retrieval metrics of an audio encoder, or the pairing ablation",
        description="Rank the sounds of a split by their audio embeddings against each pair's "
                    "frame: median rank (MR) and R@10 of the exact sound, category R@10 and "
                    "P@10, beside the untrained encoder and CLIP text ranking. With --ablation: "
                    "curate, train and evaluate once per pairing limit N (Wilkins et al. "
                    "Table 2).")
    e.add_argument("pairs", type=Path, nargs="?", help="pairs folder written by 'autofoley curate'")
    e.add_argument("--audio-model", default=None,
                   help="the encoder to evaluate (a .safetensors from 'autofoley train', or a "
                        "registry name); with --ablation, the one to train from")
    e.add_argument("--split", choices=("train", "val", "test"), default="test",
                   help="(default: %(default)s)")
    e.add_argument("--clip-model", "--text-clip", dest="clip_model", default=None,
                   help="CLIP model, as every command takes it: a name or an open_clip config "
                        ".json (the text row, and --ablation's curation; default: the pairs' "
                        "own, loaded as curate loaded it)")
    e.add_argument("--clip-pretrained", default=None,
                   help="its pretrained tag or checkpoint (with --clip-model)")
    e.add_argument("--no-text", action="store_true", help="no CLIP text row")
    e.add_argument("--no-untrained", action="store_true", help="no untrained-encoder row")
    a = e.add_argument_group("ablation")
    a.add_argument("--ablation", action="store_true",
                   help="curate + train + evaluate per pairing limit N")
    a.add_argument("--library", "-l", type=Path, help="folder of sound effects")
    a.add_argument("--stock", type=Path, help="folder of stock videos")
    a.add_argument("--work", type=Path, help="folder for the pairs and runs of each N "
                                              "(reused: run again to finish an interrupted ablation)")
    a.add_argument("--ns", type=_ns, default=(1, 2, 5, 10, 100, None),
                   help="pairing limits, comma-separated, inf for none (default: 1,2,5,10,100,inf)")
    a.add_argument("--k", type=non_negative_int, default=10,
                   help="augmentation frames per sound when curating (default: %(default)s)")
    add_train_flags(e, with_model=False)
    add_common_flags(e, "print the result as JSON on stdout")
    e.set_defaults(handler=cmd_eval)
    return e


# --------------------------------------------------------------------------- display

class _EpochPrinter:
    """One line per epoch: on the rich console on a terminal, else in the log."""

    def __init__(self, console=None):
        self.console = console

    def __call__(self, e) -> None:
        val = e.val or {}
        parts = [f"epoch {e.epoch}/{e.epochs}"]
        parts.append("loss     -" if e.loss is None else f"loss {e.loss:.4f}")
        if val:
            parts.append(f"val cat P@10 {val['cat_p10']:.3f} MR {val['mr']:.1f}")
        parts.append(f"T {e.temperature:.4f}")
        if e.epoch:
            parts.append(f"{e.seconds:.1f} s")
        if e.improved:
            parts.append("best")
        line = "  ".join(parts)
        if self.console is not None:
            self.console.print(line, highlight=False)
        else:
            log.info("%s", line)


def _display(args):
    """(progress context, epoch printer): the epoch lines go to the progress
    bars' console, so that they print above the bars instead of through them."""
    if not shows_progress(args):
        return progress(args), _EpochPrinter()
    from rich.console import Console

    from autofoley.progress import RichReporter

    console = Console(stderr=True)
    return progress(args, RichReporter(console)), _EpochPrinter(console)


# --------------------------------------------------------------------------- commands

def cmd_train(args) -> int:
    from autofoley.training.train import train

    if args.register:  # a taken name fails now, not after the training
        from autofoley.models.registry import check_registration

        check_registration(args.register, args.overwrite)
    shown, printer = _display(args)
    with shown as reporter:
        result = train(args.pairs, args.out, config_from_args(args), resume=args.resume,
                       overwrite=args.overwrite, progress=printer, reporter=reporter,
                       device=args.device)
    for path, reason in result.skipped:
        log.warning("skipped %s: %s", path, reason)
    registered = None
    if args.register:
        from autofoley.models.registry import register_audio_model

        registered = register_audio_model(args.register, result.model_path,
                                          f"trained by autofoley train on {args.pairs}",
                                          overwrite=args.overwrite)
        log.info("registered %s as '%s' (%s)", result.model_path, args.register, registered)
    if args.json:
        print_json({**result.to_dict(),
                    "registered": None if registered is None else
                    {"name": args.register, "path": str(registered)}})
        return 0
    best = "-" if result.best_metric is None else f"{result.best_metric:.3f}"
    print(f"best epoch {result.best_epoch} of {result.epochs_run} (val {args.select} {best})"
          f"{', stopped early' if result.stopped_early else ''}; wrote {result.model_path}")
    model = args.register or result.model_path
    print(f"use it with: autofoley score FILM --library DIR --audio-model {model}",
          file=sys.stderr)
    return 0


def cmd_eval(args) -> int:
    if args.ablation:
        return _cmd_ablation(args)
    from autofoley.training.retrieval import evaluate, format_eval

    if args.pairs is None or args.audio_model is None:
        raise UsageError("eval needs a pairs folder and --audio-model", None,
                         "e.g. autofoley eval PAIRS --audio-model OUT/model.safetensors, "
                         "or --ablation --library DIR --stock DIR --work DIR")
    text = False if args.no_text else args.clip_model
    with progress(args) as reporter:
        result = evaluate(args.pairs, args.audio_model, split=args.split, text_clip=text,
                          device=args.device, untrained=not args.no_untrained, reporter=reporter,
                          text_pretrained=args.clip_pretrained)
    if args.json:
        print_json(result)
    else:
        print(format_eval(result))
    return 0


def _cmd_ablation(args) -> int:
    from autofoley.training.ablation import format_ablation, run_ablation

    missing = [f for f in ("library", "stock", "work") if getattr(args, f) is None]
    if missing:
        raise UsageError(f"--ablation needs {', '.join('--' + m for m in missing)}", None,
                         "e.g. autofoley eval --ablation --library DIR --stock DIR --work DIR")
    from autofoley.models.registry import DEFAULT_CLIP_MODEL

    config = config_from_args(args)
    shown, printer = _display(args)
    with shown as reporter:
        from autofoley.models.clip import load_clip

        clip = load_clip(args.clip_model or DEFAULT_CLIP_MODEL, args.clip_pretrained, args.device)
        rows = run_ablation(args.library, args.stock, args.work, clip, ns=args.ns,
                            config=config, device=args.device, curate_kwargs={"k": args.k},
                            split=args.split, text=not args.no_text, reporter=reporter,
                            progress=printer)
    if args.json:
        print_json([r.to_dict() for r in rows])
    else:
        print(format_ablation(rows))
    return 0


def add_parsers(sub) -> None:
    add_train_parser(sub)
    add_eval_parser(sub)
