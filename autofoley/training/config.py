"""The settings of a training run and what a run reports.

``TrainConfig`` is everything that decides what a run learns; it is saved
in state.json and a resumed run takes it from there (only ``epochs`` and
``patience`` come from the caller). Where the run computes (``device``) is
not part of it: a run may be resumed on another machine.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

MATCH_MODES = ("fixed", "nearest", "multiframe")
SELECT_METRICS = ("cat_p10", "mr")
BATCHNORM_MODES = ("auto", "train", "frozen")


@dataclass
class TrainConfig:
    """Every setting of a run; saved in state.json, reused by ``resume``.

    ``lr`` is the backbone's learning rate; the projection and temperature
    use ``head_lr`` (None: 10 x lr when fine-tuning, since the projection
    starts random, and lr from scratch). ``batchnorm``: ``auto`` keeps the
    backbone's normalisation statistics when fine-tuning pretrained weights
    (small batches would only add noise to them) and learns them otherwise
    (from scratch, or a seeded test model). ``crop_seconds``: training crop
    per sound (None: one encoder window; shorter trains on less context than
    inference uses). ``decode_windows``: windows of each sound decoded and
    kept in memory. ``select``: the validation metric for the best epoch and
    early stopping (``cat_p10``, higher is better, or ``mr``).

    The default recipe: the pretrained aiSFX backbone, frozen (only the
    projection into the CLIP space is trained, from embeddings computed once),
    trained on two losses mixed by ``image_weight``: towards the frames each
    sound was paired with (the paper's loss, on the curated pairs) and
    towards the CLIP text embedding of each tagged sound's sentence (the
    language bridge, on every tagged sound of the library). 0 trains through
    language alone, 1 on the pairs alone (the paper's recipe). A pairs folder
    without sounds (format 1) or without pairs (no stock) uses what it has.
    """

    audio_model: str = "aisfx"
    from_scratch: bool = False
    epochs: int = 60
    batch_size: int = 64
    lr: float = 1e-4
    head_lr: float | None = None
    weight_decay: float = 0.01
    temperature_init: float = 0.07
    freeze_backbone: bool = True
    image_weight: float = 0.5
    batchnorm: str = "auto"
    match: str = "fixed"
    nearest_warmup_epochs: int = 1
    multiframe: int = 4
    augment_topk: bool = True
    crop_seconds: float | None = None
    decode_windows: int = 2
    patience: int = 10
    select: str = "cat_p10"
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    def check(self) -> None:
        """ValueError naming the first setting out of range."""
        if self.match not in MATCH_MODES:
            raise ValueError(f"match must be one of {MATCH_MODES}, not {self.match!r}")
        if self.select not in SELECT_METRICS:
            raise ValueError(f"select must be one of {SELECT_METRICS}, not {self.select!r}")
        if self.batchnorm not in BATCHNORM_MODES:
            raise ValueError("batchnorm must be auto, train or frozen")
        if self.batch_size < 2:
            raise ValueError("batch_size must be at least 2 (a contrastive batch needs negatives)")
        if self.epochs < 0 or self.patience < 1 or self.multiframe < 1 or self.decode_windows < 1:
            raise ValueError("epochs must be >= 0; patience, multiframe and decode_windows >= 1")
        if not 0 < self.temperature_init <= 1:
            raise ValueError("temperature_init must be in (0, 1]")
        if not 0.0 <= self.image_weight <= 1.0:
            raise ValueError("image_weight must be in [0, 1]")
        if self.from_scratch and self.freeze_backbone:
            raise ValueError("from_scratch trains the backbone: it cannot be frozen too")


@dataclass
class EpochLog:
    """What the progress callback gets after each epoch (epoch 0: before any
    training, the untrained encoder's validation)."""

    epoch: int
    epochs: int
    step: int
    loss: float | None  # mean training loss of the epoch; None for epoch 0
    val_loss: float | None  # symmetric InfoNCE over the whole val split
    val: dict | None  # RetrievalMetrics.to_dict() on the val split
    metric: float | None  # the selection metric (config.select)
    best: float | None
    best_epoch: int
    temperature: float
    seconds: float
    improved: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainResult:
    out_dir: Path
    model_path: Path  # the best epoch's checkpoint
    best_epoch: int
    best_metric: float | None
    epochs_run: int  # epochs trained in total (this call and earlier ones)
    step: int
    stopped_early: bool
    history: list[dict] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (audio, reason)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["out_dir"], d["model_path"] = str(self.out_dir), str(self.model_path)
        return d
