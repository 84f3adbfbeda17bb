"""The pairing-limit ablation of Wilkins et al. 2023 (Table 2): curate the
training pairs under each limit N (the most SFX one frame may be matched
to; None for no limit), train an audio encoder on each, and evaluate all of
them on one test set.

Curation caches frames, sentences and text embeddings, so each further N
costs only the matching and the training. Every model is evaluated on the
test split curated with ``eval_n`` (default N=1: unique pairs, like the
paper's test sets), so the rows share their queries and gallery; curate
assigns splits by a hash of each file's path, so no test sound or video is
in any variant's training split. The work folder keeps each N's pairs and
run: calling again with the same arguments resumes an interrupted ablation.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

from autofoley.training.config import TrainConfig

DEFAULT_NS = (1, 2, 5, 10, 100, None)


@dataclass
class AblationRow:
    n: int | None  # pairing limit; None: no limit (the paper's infinity)
    pairs: int  # training pairs
    frames: int  # distinct matched frames among them
    mr: float
    r10: float
    cat_r10: float
    cat_p10: float
    val_cat_p10: float | None  # best epoch's, on this N's own val split
    model: str  # checkpoint path, or a reference ("untrained", "text")
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def parse_ns(text: str) -> tuple:
    """'1,2,5,inf' -> (1, 2, 5, None)."""
    out: list[int | None] = []
    for part in text.split(","):
        part = part.strip().lower()
        if not part:
            continue
        if part in ("inf", "none", "infinity", "∞"):
            out.append(None)
            continue
        try:
            value = int(part)
        except ValueError:
            raise ValueError(f"not a pairing limit: {part!r} (a positive integer or inf)") from None
        if value < 1:
            raise ValueError("pairing limits must be >= 1 (or inf)")
        out.append(value)
    if not out:
        raise ValueError("no pairing limit given")
    return tuple(out)


def _label(n: int | None) -> str:
    return "inf" if n is None else str(n)


def run_ablation(library: str | Path, stock: str | Path, work_dir: str | Path, clip,
                 ns: Sequence[int | None] = DEFAULT_NS, config: TrainConfig | None = None, *,
                 device: str = "auto", curate_kwargs: dict | None = None,
                 eval_n: int | None = 1, split: str = "test", text: bool = True, reporter=None,
                 progress: Callable | None = None) -> list[AblationRow]:
    """Curate + train + evaluate per pairing limit in ``ns``.

    ``clip``: the ClipEncoder curation embeds with (and the text row uses).
    ``config``: the training settings of every run (default TrainConfig() on
    the pairs alone, ``image_weight=1``: the table is about the pairs),
    ``device`` where they train and evaluate; ``curate_kwargs`` go to
    ``curate.curate`` (k, frames_per_video, ...).
    Returns one row per N, then reference rows for the untrained encoder and
    (with ``text``) zero-shot CLIP text ranking on the same test set.
    ``work_dir`` gets ``pairs-n<N>/`` and ``train-n<N>/`` per N.
    """
    import time

    from autofoley.progress import NullReporter
    from autofoley.training.curate import curate
    from autofoley.training.data import load_pairs_checked
    from autofoley.training.retrieval import evaluate
    from autofoley.training.train import train

    reporter = reporter or NullReporter()
    work = Path(work_dir)
    config = config or TrainConfig(image_weight=1.0)
    curate_kwargs = dict(curate_kwargs or {})
    audio_cache: dict = {}  # decoded sounds, shared by the runs: the library is the same
    eval_root = work / f"pairs-n{_label(eval_n)}"
    todo = list(dict.fromkeys(ns))
    rows: list[AblationRow] = []
    first = None
    for n in ([eval_n] if eval_n not in todo else []) + todo:
        t0 = time.perf_counter()
        pairs_root = work / f"pairs-n{_label(n)}"
        with reporter.stage(f"curate N={_label(n)}"):
            curate(library, stock, pairs_root, clip, n=n, reporter=reporter, **curate_kwargs)
        if n not in todo:
            continue  # curated only for its test split
        out = work / f"train-n{_label(n)}"
        result = train(pairs_root, out, config, resume=(out / "state.json").exists(),
                       progress=progress, reporter=reporter, device=device,
                       audio_cache=audio_cache)
        # The reference rows (untrained encoder, CLIP text) once, with the first N.
        ev = evaluate(eval_root, str(result.model_path), split=split,
                      text_clip=clip if text and first is None else False,
                      untrained=first is None, device=device,
                      reporter=reporter)
        if first is None:
            first = ev
        data = load_pairs_checked(pairs_root)
        train_pairs = data.split("train")
        m = ev["rows"]["audio"]
        rows.append(AblationRow(n, len(train_pairs), len({p.frame_ids[0] for p in train_pairs}),
                                m["mr"], m["r10"], m["cat_r10"], m["cat_p10"], result.best_metric
                                if config.select == "cat_p10" else None,
                                str(result.model_path), time.perf_counter() - t0))
    if first is not None:
        for name in ("untrained", "text"):
            if name in first["rows"]:
                m = first["rows"][name]
                rows.append(AblationRow(None, 0, 0, m["mr"], m["r10"], m["cat_r10"], m["cat_p10"],
                                        None, name))
    return rows


def format_ablation(rows: Sequence[AblationRow]) -> str:
    """A table like the paper's Table 2 (with Table 1's columns)."""
    lines = [f"{'N':>9} {'pairs':>6} {'frames':>6} {'MR':>7} {'R@10':>6} {'cat R@10':>9} "
             f"{'cat P@10':>9} {'val P@10':>9}"]
    for r in rows:
        if r.model in ("untrained", "text"):
            n, pairs, frames = r.model, "", ""
        else:
            n, pairs, frames = _label(r.n), str(r.pairs), str(r.frames)
        val = "" if r.val_cat_p10 is None or math.isnan(r.val_cat_p10) else f"{r.val_cat_p10:.2f}"
        lines.append(f"{n:>9} {pairs:>6} {frames:>6} {r.mr:>7.1f} {r.r10:>6.2f} {r.cat_r10:>9.2f} "
                     f"{r.cat_p10:>9.2f} {val:>9}")
    return "\n".join(lines)
