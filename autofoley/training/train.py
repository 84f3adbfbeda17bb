"""Train an audio encoder into a CLIP image space.

Wilkins et al. 2023: an audio encoder (backbone + projection) learns to land
on the frozen CLIP image embeddings of the frames ``autofoley curate`` paired
with each sound, with a symmetric InfoNCE loss under a learnable temperature
(loss.py). Besides the pairs, every tagged sound of the library is trained
towards the CLIP text embedding of its sentence (the language bridge; the
two losses are mixed by ``TrainConfig.image_weight``): curation under N=1
pairs only as many sounds as there are distinct frames, the bridge uses
them all. The image and text sides are precomputed (``frames.npy``,
``texts.npy``), so a step costs only the audio tower; with the backbone
frozen (the default) the backbone runs once per sound and a step costs only
the projection.

Each epoch ends with validation (category P@10 of frame -> audio retrieval
on the ``val`` split, or MR; sentence -> audio when the split has no pairs),
early stopping after ``patience`` epochs without improvement, and
checkpoints in ``out_dir`` (checkpoint.py).

Randomness is drawn from generators seeded by (seed, epoch), so a run
resumed at an epoch boundary reproduces the uninterrupted run.

The parts: config.py (settings and results), data.py (pairs, decoded audio,
the audio tower on a batch), loss.py, checkpoint.py, retrieval.py
(``evaluate``); this module holds the run itself.
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from autofoley.errors import InputError, ModelError, OutputError
from autofoley.training import checkpoint
from autofoley.training.config import EpochLog, TrainConfig, TrainResult
from autofoley.training.data import (
    decode_pairs,
    forward,
    frame_ids,
    items_of,
    load_pairs_checked,
    pooled_features,
    random_crop,
    readable,
    video_frames,
)
from autofoley.training.loss import MAX_LOGIT_SCALE, batch_loss, clip_loss, text_loss
from autofoley.training.metrics import RetrievalMetrics, retrieval_metrics

log = logging.getLogger("autofoley")


def train(pairs_root: str | Path, out_dir: str | Path, config: TrainConfig, *,
          resume: bool = False, overwrite: bool = False,
          progress: Callable[[EpochLog], None] | None = None, reporter=None,
          device: str = "auto", audio_cache: dict | None = None) -> TrainResult:
    """Train ``config.audio_model`` on the pairs in ``pairs_root``; write
    checkpoints to ``out_dir`` (see checkpoint.py).

    ``resume``: continue the run in ``out_dir`` from its last epoch with its
    saved settings; only ``config.epochs`` and ``config.patience`` are taken
    from this call. ``overwrite``: start again in an ``out_dir`` that holds
    a run. ``progress`` gets an EpochLog after each epoch; ``reporter`` (see
    progress.py) shows the stages. ``device``: where to compute (not a
    setting of the run: a run may be resumed elsewhere). ``audio_cache``: a
    dict sharing decoded sounds between calls on the same library (the
    ablation's runs).
    """
    from autofoley.atomic import ensure_dir
    from autofoley.models.clip import pick_device
    from autofoley.progress import NullReporter

    reporter = reporter or NullReporter()
    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    if resume:
        cfg = _saved_config(out_dir, config)
    else:
        cfg = TrainConfig(**config.to_dict())  # the caller's object is left alone
        if (out_dir / checkpoint.STATE).exists() and not overwrite:
            raise OutputError("folder already holds a training run", out_dir,
                              "pass --resume to continue it, or choose another --out")
    cfg.check()
    data = load_pairs_checked(pairs_root)
    ensure_dir(out_dir)
    dev = pick_device(device)
    run = _Run(cfg, data, Path(pairs_root), out_dir, dev, audio_cache, reporter)
    if resume:
        run.restore()
    else:
        with reporter.stage("validate"):
            val_loss, metrics = run.validate()
        run.history.append(run.log(0, None, val_loss, metrics, False, 0.0).to_dict())
        if progress:
            progress(EpochLog(**run.history[-1]))
        if metrics is None:
            log.warning("%s: no 'val' pairs: keeping the last epoch, no early stopping", pairs_root)
        run.save_last()
    # The per-epoch seeding must not leak into the caller's torch RNG.
    with torch.random.fork_rng(devices=[] if dev.type == "cpu" else [dev]):
        stopped = _fit(run, progress, reporter)
    model_path = out_dir / checkpoint.BEST
    if not model_path.exists():  # no epoch trained (epochs=0): the starting model
        run.save_best()
    return TrainResult(out_dir, model_path, run.best_epoch, run.best, run.epoch, run.step,
                       stopped, run.history, run.skipped, time.perf_counter() - t0)


def _saved_config(out_dir: Path, config: TrainConfig) -> TrainConfig:
    saved = checkpoint.read_state(out_dir / checkpoint.STATE)
    try:
        cfg = TrainConfig(**saved["config"])
    except TypeError as exc:
        raise ModelError(f"state.json holds settings this version does not know ({exc})",
                         out_dir / checkpoint.STATE, "train again without --resume") from None
    cfg.epochs, cfg.patience = int(config.epochs), int(config.patience)
    return cfg


def _fit(run: _Run, progress, reporter) -> bool:
    """Epochs until ``cfg.epochs`` or early stopping; True when it stopped early."""
    cfg = run.cfg
    stopped = run.bad_epochs >= cfg.patience and run.epoch > 0 and bool(run.val_pairs)
    while run.epoch < cfg.epochs and not stopped:
        t_epoch = time.perf_counter()
        with reporter.stage(f"epoch {run.epoch + 1}/{cfg.epochs}") as update:
            loss = run.train_epoch(update)
        val_loss, metrics = run.validate()
        value = run.metric_of(metrics)
        improved = metrics is None or run.better(value, val_loss)
        if improved:
            run.best, run.best_epoch, run.bad_epochs = value, run.epoch, 0
            run.best_loss = val_loss
            run.save_best()
        else:
            run.bad_epochs += 1
        entry = run.log(run.epoch, loss, val_loss, metrics, improved,
                        time.perf_counter() - t_epoch)
        run.history.append(entry.to_dict())
        run.save_last()
        if progress:
            progress(entry)
        stopped = metrics is not None and run.bad_epochs >= cfg.patience
    return stopped and run.epoch < cfg.epochs


class _Run:
    """The state of one training run: model, optimiser, data, history."""

    def __init__(self, cfg: TrainConfig, data, pairs_root: Path, out_dir: Path,
                 device: torch.device, audio_cache: dict | None, reporter):
        from autofoley.models.audio import load_audio_encoder
        from autofoley.models.registry import resolve_audio

        self.cfg, self.data, self.out_dir, self.device = cfg, data, out_dir, device
        self.manifest = data.manifest
        self.clip_identity = self.manifest.get("clip_identity") or None
        spec = resolve_audio(cfg.audio_model)
        # Normalisation statistics worth keeping come only with real weights.
        self.pretrained = bool(spec.weights or spec.backbone_weights) and not cfg.from_scratch
        # A frozen published backbone: the checkpoint keeps only what was trained.
        self.backbone_ref = _backbone_ref(spec.backbone_weights) if (
            cfg.freeze_backbone and spec.backbone_weights) else None
        base = load_audio_encoder(spec, device=str(device))
        self.model, self.config = _initial_model(base, cfg, int(data.frames.shape[1]))
        self.model.to(device)
        self.windowing = base.windowing
        self.sample_rate = base.sample_rate
        self.frames = torch.from_numpy(np.ascontiguousarray(data.frames, np.float32)).to(device)
        self.logit_scale = torch.nn.Parameter(
            torch.tensor(math.log(1.0 / cfg.temperature_init), device=device))
        self.text_logit_scale = torch.nn.Parameter(
            torch.tensor(math.log(1.0 / cfg.temperature_init), device=device))

        use_texts = cfg.image_weight < 1.0 and data.texts is not None and len(data.sounds) > 0
        train_items, val_items = items_of(data, "train", use_texts), items_of(data, "val", use_texts)
        if not train_items:
            pairs_only = cfg.image_weight >= 1.0 and data.sounds
            raise InputError("pairs folder has no 'train' pairs" if pairs_only
                             else "pairs folder has no 'train' sounds", pairs_root,
                             "lower --image-weight to train through the sounds' tags, or curate "
                             "with stock footage" if pairs_only
                             else "curate again with more sounds")
        self.frozen = cfg.freeze_backbone
        win = self.windowing.window
        self.crop = win if cfg.crop_seconds is None else max(
            self.windowing.minimum, int(round(cfg.crop_seconds * self.sample_rate)))
        with reporter.stage("embed audio" if self.frozen else "decode audio",
                            len(train_items) + len(val_items)) as update:
            if self.frozen:
                tw, s1 = pooled_features(base, train_items, audio_cache, update)
                vw, s2 = pooled_features(base, val_items, audio_cache,
                                         lambda d, t: update(len(train_items) + d))
            else:
                max_samples = max(self.crop, cfg.decode_windows * win)
                tw, s1 = decode_pairs(train_items, self.sample_rate, max_samples, audio_cache,
                                      update)
                vw, s2 = decode_pairs(val_items, self.sample_rate, max_samples, audio_cache,
                                      lambda d, t: update(len(train_items) + d))
        self.skipped = s1 + s2
        self.train_items, self.train_waves = readable(train_items, tw)
        self.val_items, self.val_waves = readable(val_items, vw)
        if len(self.train_items) < 2:
            raise InputError("fewer than 2 readable training sounds", None,
                             "check the sound files named in pairs.csv and sounds.csv")
        if self.frozen:
            self.train_feats = torch.from_numpy(np.stack(self.train_waves)).to(device)
            self.val_feats = (torch.from_numpy(np.stack(self.val_waves)).to(device)
                              if self.val_waves else None)
        # Sounds sharing a sentence share one text target: they are one class,
        # not each other's negatives.
        self.sentences: dict[str, int] = {}
        rows: list[int] = []
        for it in self.train_items + self.val_items:
            if it.text_row >= 0 and it.sentence not in self.sentences:
                self.sentences[it.sentence] = len(rows)
                rows.append(it.text_row)
        self.texts = torch.from_numpy(np.ascontiguousarray(
            data.texts[rows] if rows else np.zeros((0, self.frames.shape[1])), np.float32)).to(device)
        self.train_class = np.array([self.sentences.get(it.sentence, -1) if it.text_row >= 0
                                     else -1 for it in self.train_items], np.int64)
        has_pairs = sum(it.pair is not None for it in self.train_items) >= 2
        has_texts = len(set(self.train_class[self.train_class >= 0].tolist())) >= 2
        if has_pairs and has_texts:
            self.weights = (cfg.image_weight, 1.0 - cfg.image_weight)
        else:
            self.weights = (1.0 if has_pairs else 0.0, 1.0 if has_texts else 0.0)
        if not any(self.weights):
            raise InputError("nothing to train on: fewer than 2 paired sounds and fewer than 2 "
                             "sentences in the train split", pairs_root,
                             "curate with more sounds, or with stock footage")
        self.candidates = [np.zeros(0, np.int64) if it.pair is None or cfg.match == "fixed"
                           else video_frames(data, it.pair) for it in self.train_items]
        self.optimizer = self._optimizer()
        self.epoch = 0
        self.step = 0
        self.best: float | None = None
        self.best_loss: float | None = None
        self.best_epoch = 0
        self.bad_epochs = 0
        self.history: list[dict] = []

    def _optimizer(self) -> torch.optim.Optimizer:
        cfg = self.cfg
        head_lr = cfg.head_lr if cfg.head_lr is not None else (
            cfg.lr if cfg.from_scratch else 10.0 * cfg.lr)
        # As CLIP: no weight decay on the temperatures.
        groups = [{"params": list(self.model.head.parameters()), "lr": head_lr},
                  {"params": [self.logit_scale, self.text_logit_scale], "lr": head_lr,
                   "weight_decay": 0.0}]
        if not cfg.freeze_backbone:
            groups.append({"params": list(self.model.backbone.parameters()), "lr": cfg.lr})
        else:
            for p in self.model.backbone.parameters():
                p.requires_grad_(False)
        return torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)

    def _set_mode(self, training: bool) -> None:
        self.model.train(training)
        if not training:
            return
        frozen_bn = self.cfg.batchnorm == "frozen" or (
            self.cfg.batchnorm == "auto" and self.pretrained)
        if self.cfg.freeze_backbone:
            self.model.backbone.eval()
        elif frozen_bn:
            # Fine-tuning with small batches: keep the pretrained normalisation
            # statistics instead of re-estimating them from a few sounds.
            for m in self.model.backbone.modules():
                if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                    m.eval()

    def embed(self, idx, rng: np.random.Generator | None, val: bool = False) -> torch.Tensor:
        """L2-normalised embeddings of training items ``idx`` (of the val items
        with ``val``); a random crop of each sound when the backbone trains."""
        if self.frozen:
            feats = self.val_feats if val else self.train_feats
            return F.normalize(self.model.project(feats[torch.as_tensor(idx)]).float(), dim=-1)
        waves = self.val_waves if val else self.train_waves
        crops = [waves[i] if rng is None else random_crop(waves[i], self.crop, rng) for i in idx]
        return forward(self.model, self.windowing, crops, self.device)

    def loss(self, idx: np.ndarray, audio: torch.Tensor, epoch: int,
             rng: np.random.Generator) -> torch.Tensor | None:
        """The mixed loss of one batch (None when the batch has nothing to
        contrast: fewer than two pairs and fewer than two sentences)."""
        w_image, w_text = self.weights
        terms = []
        paired = [j for j, i in enumerate(idx) if self.train_items[i].pair is not None]
        if w_image and len(paired) >= 2:
            terms.append(w_image * batch_loss(
                self.cfg, audio[paired], [self.train_items[idx[j]].pair for j in paired],
                [self.candidates[idx[j]] for j in paired], self.frames, self.logit_scale,
                epoch, rng))
        classes = self.train_class[idx]
        texted = np.flatnonzero(classes >= 0)
        if w_text and len(np.unique(classes[texted])) >= 2:
            terms.append(w_text * text_loss(audio[torch.as_tensor(texted)], classes[texted],
                                            self.texts, self.text_logit_scale))
        return sum(terms) if terms else None

    def train_epoch(self, update: Callable[[int, int], None]) -> float:
        cfg = self.cfg
        epoch = self.epoch + 1
        rng = np.random.default_rng([cfg.seed, epoch])
        torch.manual_seed(cfg.seed * 100_003 + epoch)
        order = rng.permutation(len(self.train_items))
        batches = [order[i:i + cfg.batch_size] for i in range(0, len(order), cfg.batch_size)]
        if len(batches) > 1 and len(batches[-1]) < 2:
            batches[-2] = np.concatenate([batches[-2], batches[-1]])
            batches.pop()
        self._set_mode(True)
        total, seen = 0.0, 0
        for b, idx in enumerate(batches):
            audio = self.embed(idx, rng)
            loss = self.loss(idx, audio, epoch, rng)
            if loss is not None:
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                with torch.no_grad():
                    for scale in (self.logit_scale, self.text_logit_scale):
                        scale.clamp_(0.0, math.log(MAX_LOGIT_SCALE))
                self.step += 1
                total += float(loss.detach()) * len(idx)
                seen += len(idx)
            update(b + 1, len(batches))
        self.epoch = epoch
        return total / max(seen, 1)

    @torch.no_grad()
    def validate(self) -> tuple[float | None, RetrievalMetrics | None]:
        """Retrieval on the val split: its frames against every val sound
        (the paper's frame -> audio task), or, without val pairs, each val
        sound's sentence against them."""
        if not self.val_items:
            return None, None
        self._set_mode(False)
        n = len(self.val_items)
        gallery = torch.cat([self.embed(np.arange(i, min(i + 64, n)), None, val=True)
                             for i in range(0, n, 64)])
        cats = [it.category for it in self.val_items]
        paired = [j for j, it in enumerate(self.val_items) if it.pair is not None]
        if paired and self.weights[0]:
            queries = self.frames[[frame_ids(self.val_items[j].pair)[0] for j in paired]]
            scale = self.logit_scale
        else:
            paired = [j for j, it in enumerate(self.val_items) if it.sentence in self.sentences]
            if not paired:
                return None, None
            queries = self.texts[[self.sentences[self.val_items[j].sentence] for j in paired]]
            scale = self.text_logit_scale
        audio = gallery[paired]
        val_loss = float(clip_loss(audio, queries, scale)) if len(paired) > 1 else None
        metrics = retrieval_metrics(queries.cpu().numpy(), [cats[j] for j in paired],
                                    gallery.cpu().numpy(), cats, np.asarray(paired, np.int64))
        return val_loss, metrics

    def metric_of(self, metrics: RetrievalMetrics | None) -> float | None:
        if metrics is None:
            return None
        return getattr(metrics, self.cfg.select)

    def better(self, value: float | None, val_loss: float | None = None) -> bool:
        """A better selection metric; on a tie, a lower val loss (a small val
        split saturates the retrieval metric long before training is done)."""
        if value is None or value != value:
            return self.best is None
        if self.best is None:
            return True
        if value == self.best:
            return (val_loss is not None and self.best_loss is not None
                    and val_loss < self.best_loss)
        return value < self.best if self.cfg.select == "mr" else value > self.best

    def log(self, epoch: int, loss, val_loss, metrics, improved: bool,
            seconds: float) -> EpochLog:
        return EpochLog(epoch, self.cfg.epochs, self.step, loss, val_loss,
                        None if metrics is None else metrics.to_dict(), self.metric_of(metrics),
                        self.best, self.best_epoch, float(1.0 / self.logit_scale.detach().exp()),
                        seconds, improved)

    def save_best(self) -> None:
        checkpoint.save_model(self.out_dir, checkpoint.BEST, self.model, self.config,
                              self.clip_identity, backbone_weights=self.backbone_ref,
                              clip_model=self.manifest.get("clip_model"))

    def save_last(self) -> None:
        checkpoint.save_last(self.out_dir, self.model, self.config, self.clip_identity,
                             self.optimizer, self.logit_scale, {
                                 "epoch": self.epoch, "step": self.step,
                                 "best_metric": self.best, "best_epoch": self.best_epoch,
                                 "best_loss": self.best_loss,
                                 "bad_epochs": self.bad_epochs, "select": self.cfg.select,
                                 "seed": self.cfg.seed,
                                 "rng": "numpy default_rng([seed, epoch]) and "
                                        "torch.manual_seed(seed*100003+epoch) per epoch",
                                 "config": self.cfg.to_dict(), "model_config": self.config,
                                 "clip_model": self.manifest.get("clip_model"),
                                 "clip_identity": self.clip_identity,
                                 "loss_weights": {"image": self.weights[0],
                                                  "text": self.weights[1]},
                                 "pairs": {"train": sum(it.pair is not None
                                                        for it in self.train_items),
                                           "val": sum(it.pair is not None
                                                      for it in self.val_items)},
                                 "sounds": {"train": len(self.train_items),
                                            "val": len(self.val_items)},
                                 "history": self.history},
                             self.text_logit_scale)

    def restore(self) -> None:
        state = checkpoint.load_last(self.out_dir, self.model, self.optimizer, self.logit_scale,
                                     self.text_logit_scale)
        self.epoch, self.step = int(state["epoch"]), int(state["step"])
        self.best, self.best_epoch = state.get("best_metric"), int(state.get("best_epoch", 0))
        self.best_loss = state.get("best_loss")
        self.bad_epochs = int(state.get("bad_epochs", 0))
        self.history = list(state.get("history", []))


def _backbone_ref(path: str) -> str:
    """How a head-only checkpoint names its backbone: ``aisfx-package`` for
    the installed wheel's weights (portable across machines), else the path."""
    from autofoley.models.registry import aisfx_checkpoint

    found = aisfx_checkpoint()
    if found is not None and Path(path).resolve() == found.resolve():
        return "aisfx-package"
    return str(Path(path).resolve())


def _initial_model(base, cfg: TrainConfig, embed_dim: int):
    """The model training starts from and its config: ``base``'s weights
    (fine-tuning) or fresh ones drawn from the seed (``from_scratch``); a new
    projection when the CLIP space has another size than the encoder's."""
    from autofoley.models.audio import AudioModel, estimate_centre

    config = json.loads(json.dumps(base.config))
    # What evaluate() compares against: the model fine-tuning started from;
    # from scratch, nothing (the untrained reference is then seeded random).
    config["trained_from"] = None if cfg.from_scratch else cfg.audio_model
    fresh_head = int(config["embed_dim"]) != embed_dim
    config["embed_dim"] = embed_dim
    if not cfg.from_scratch and not fresh_head:
        model = AudioModel(config)
        model.load_state_dict(base.model.state_dict())
        return model, config
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        model = AudioModel(config)
    if cfg.from_scratch:
        model.eval()
        model.centre.copy_(estimate_centre(model, base.windowing))
    else:
        model.backbone.load_state_dict(base.model.backbone.state_dict())
        model.centre.copy_(base.model.centre)
    return model, config
