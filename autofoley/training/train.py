"""Train an audio encoder into a CLIP image space, and evaluate one.

Wilkins et al. 2023: an audio encoder (backbone + projection) learns to land
on the frozen CLIP image embeddings of the frames ``autofoley curate`` paired
with each sound, with a symmetric InfoNCE loss (audio -> frame and frame ->
audio cross-entropy over the batch) under a learnable temperature, clamped as
in CLIP (logit scale at most 100). The image side is the precomputed
``frames.npy``, so a step costs only the audio tower.

Which frame a sound is trained against (``match``):

- ``fixed`` (the paper): its matched frame; with ``augment_topk`` one of its
  top-k frames drawn each epoch (the paper's k-fold augmentation, sampled
  rather than enumerated).
- ``nearest`` (Tsubaki et al. 2024, Nearest Match): among the frames of the
  paired frame's video, the one nearest the sound's current embedding; a
  random one of them for the first ``nearest_warmup_epochs`` epochs, while
  the embedding means nothing yet.
- ``multiframe`` (Multiframe Match): ``multiframe`` frames spread over the
  video per sound. A library sound shares no timeline with the video, so the
  m pairs share one audio crop; frame j of every sound forms its own B x B
  contrastive matrix and the loss is the mean over the m matrices. (One
  Bm x Bm matrix, as for time-aligned clips, would make a sound's other
  frames its negatives.)

Audio is decoded once per pair (mono, at the encoder's rate, at most
``decode_windows`` windows from the pair's offset) and kept in memory; each
epoch trains on a random crop of ``crop_seconds`` (default: one window).
Windows are embedded, pooled, centred and projected exactly as
``AudioEncoder.encode`` does, so what is trained is what is used.

Each epoch ends with validation (category P@10 of frame -> audio retrieval
on the ``val`` split, or MR), early stopping after ``patience`` epochs
without improvement, and checkpoints in ``out_dir``:

- ``model.safetensors``: the best epoch, loadable by ``load_audio_encoder``
  (and ``--audio-model``); it carries the pairs' CLIP identity, so it is
  refused with any other CLIP model;
- ``last.safetensors`` + ``optimizer.safetensors`` + ``state.json``: the
  last epoch, for ``resume``. Every file is written atomically; state.json
  is written last and records the digests of the other two.

Randomness is drawn from generators seeded by (seed, epoch), so a run
resumed at an epoch boundary reproduces the uninterrupted run.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from autofoley.errors import InputError, ModelError, OutputError
from autofoley.training.metrics import RetrievalMetrics, gallery_from_pairs, retrieval_metrics

log = logging.getLogger("autofoley")

MATCH_MODES = ("fixed", "nearest", "multiframe")
SELECT_METRICS = ("cat_p10", "mr")
MAX_LOGIT_SCALE = 100.0  # CLIP's clamp: temperature never below 0.01
STATE_VERSION = 1


# --------------------------------------------------------------------------- records

@dataclass
class TrainConfig:
    """Every setting of a run; saved in state.json, reused by ``resume``."""

    audio_model: str = "audio-tiny-cnn14"
    from_scratch: bool = False
    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-4
    head_lr: float | None = None  # None: 10 x lr when fine-tuning, lr from scratch
    weight_decay: float = 0.01
    temperature_init: float = 0.07
    freeze_backbone: bool = False
    batchnorm: str = "auto"  # auto | train | frozen
    match: str = "fixed"
    nearest_warmup_epochs: int = 1
    multiframe: int = 4
    augment_topk: bool = True
    crop_seconds: float | None = None
    decode_windows: int = 2
    patience: int = 5
    select: str = "cat_p10"
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


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


# --------------------------------------------------------------------------- pairs

def load_pairs_checked(root: str | Path):
    """``pairs.load_pairs`` (one-line InputError when ``root`` is not a pairs
    folder written by ``autofoley curate``), refusing a folder without pairs."""
    from autofoley.training.pairs import load_pairs

    root = Path(root)
    if not root.is_dir():
        raise InputError("pairs folder not found", root, "pass the --out folder of 'autofoley curate'")
    data = load_pairs(root)
    if len(data.pairs) == 0:
        raise InputError("pairs folder holds no pairs", root, "curate with a larger library")
    return data


def _frame_ids(pair) -> list[int]:
    return [int(i) for i in pair.frame_ids]


# --------------------------------------------------------------------------- audio

def decode_pairs(pairs: list, sample_rate: int, max_samples: int,
                 cache: dict | None = None,
                 progress: Callable[[int, int], None] | None = None
                 ) -> tuple[list[np.ndarray | None], list[tuple[str, str]]]:
    """Each pair's sound as mono float32 at ``sample_rate`` Hz, at most
    ``max_samples`` from its offset. Unreadable files give None and a
    (path, reason) entry. ``cache`` (a dict) shares decodes between calls,
    e.g. across the runs of an ablation."""
    from autofoley.media.audio import load_audio

    cache = {} if cache is None else cache
    waves: list[np.ndarray | None] = []
    skipped: list[tuple[str, str]] = []
    for i, p in enumerate(pairs):
        limit = max_samples / sample_rate
        dur = limit if p.duration is None else min(float(p.duration), limit)
        key = (str(p.audio), float(p.offset), round(dur, 6), sample_rate)
        if key not in cache:
            try:
                data = load_audio(p.audio, sr=sample_rate, offset=float(p.offset), duration=dur)
                cache[key] = data.mean(axis=0).astype(np.float32)[:max_samples] if len(data) \
                    else np.zeros(0, np.float32)
            except InputError as exc:
                cache[key] = str(exc)
        got = cache[key]
        if isinstance(got, str) or len(got) == 0:
            waves.append(None)
            skipped.append((str(p.audio), got if isinstance(got, str) else "no audio"))
        else:
            waves.append(got)
        if progress and (i % 32 == 31 or i == len(pairs) - 1):
            progress(i + 1, len(pairs))
    return waves, skipped


def forward(model, windowing, waves: list[np.ndarray], device: torch.device) -> torch.Tensor:
    """Mono waveforms -> (N, D) L2-normalised embeddings, with gradients:
    ``AudioEncoder.encode``'s windowing, pooling and projection."""
    windows: list[tuple[int, np.ndarray]] = []
    for i, w in enumerate(waves):
        windows.extend((i, c) for c in windowing.cut(w))
    by_length: dict[int, list[int]] = {}
    for k, (_, w) in enumerate(windows):
        by_length.setdefault(len(w), []).append(k)
    if model.training:
        by_length = _no_single_windows(by_length)
    dim = model.backbone.out_dim
    sums = torch.zeros((len(waves), dim), device=device)
    counts = torch.zeros(len(waves), device=device)
    for length, ks in by_length.items():
        x = np.zeros((len(ks), length), np.float32)
        for row, k in enumerate(ks):  # windows moved up to a longer group get zeros after
            x[row, :len(windows[k][1])] = windows[k][1]
        x = torch.from_numpy(x).to(device)
        emb = model.embed_windows(torch.nan_to_num(x)).float()
        owners = torch.tensor([windows[k][0] for k in ks], device=device)
        sums = sums.index_add(0, owners, emb)
        counts = counts.index_add(0, owners, torch.ones(len(ks), device=device))
    pooled = sums / counts.clamp_min(1.0)[:, None]
    return F.normalize(model.project(pooled).float(), dim=-1)


def _no_single_windows(by_length: dict[int, list[int]]) -> dict[int, list[int]]:
    """Merge window-length groups of one window into the next longer group
    (padding it with zeros, as inference pads a short sound): batch norm in
    training mode cannot normalise a lone short window. The longest group,
    if alone, takes in the next shorter one."""
    lengths = sorted(by_length)
    groups = [list(by_length[n]) for n in lengths]
    i = 0
    while i < len(groups) - 1:
        if len(groups[i]) < 2:
            groups[i + 1] = groups[i] + groups[i + 1]
            del groups[i], lengths[i]
        else:
            i += 1
    if len(groups) > 1 and len(groups[-1]) < 2:
        last = groups.pop()
        groups[-1] = groups[-1] + last
        del lengths[-2]  # the merged group takes the longest length
    return dict(zip(lengths, groups))


def clip_loss(audio: torch.Tensor, image: torch.Tensor, logit_scale: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE: row i of ``audio`` and of ``image`` are a pair, every
    other row of the batch a negative; the mean of the audio -> image and
    image -> audio cross-entropies. Inputs L2-normalised."""
    logits = logit_scale.exp() * audio @ image.T
    target = torch.arange(len(audio), device=audio.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


# --------------------------------------------------------------------------- training

class _Run:
    """The state of one training run: model, optimiser, data, history."""

    def __init__(self, cfg: TrainConfig, data, pairs_root: Path, out_dir: Path,
                 device: torch.device, audio_cache: dict | None, reporter):
        from autofoley.models.audio import load_audio_encoder

        self.cfg, self.data, self.out_dir, self.device = cfg, data, out_dir, device
        self.manifest = data.manifest
        self.clip_identity = self.manifest.get("clip_identity") or None
        from autofoley.models.registry import resolve_audio

        spec = resolve_audio(cfg.audio_model)
        # Normalisation statistics worth keeping come only with real weights.
        self.pretrained = bool(spec.weights or spec.backbone_weights) and not cfg.from_scratch
        base = load_audio_encoder(spec, device="cpu")
        self.model, self.config = _initial_model(base, cfg, int(data.frames.shape[1]))
        self.model.to(device)
        self.windowing = base.windowing
        self.sample_rate = base.sample_rate
        self.frames = torch.from_numpy(np.ascontiguousarray(data.frames, np.float32)).to(device)
        self.logit_scale = torch.nn.Parameter(
            torch.tensor(math.log(1.0 / cfg.temperature_init), device=device))
        self.optimizer = self._optimizer()
        win = self.windowing.window
        self.crop = win if cfg.crop_seconds is None else max(
            self.windowing.minimum, int(round(cfg.crop_seconds * self.sample_rate)))
        max_samples = max(self.crop, cfg.decode_windows * win)

        train_pairs, val_pairs = data.split("train"), data.split("val")
        if not train_pairs:
            raise InputError("pairs folder has no 'train' pairs", pairs_root,
                             "curate again with more sounds")
        with reporter.stage("decode audio", len(train_pairs) + len(val_pairs)) as update:
            tw, s1 = decode_pairs(train_pairs, self.sample_rate, max_samples, audio_cache,
                                  update)
            vw, s2 = decode_pairs(val_pairs, self.sample_rate, max_samples, audio_cache,
                                  lambda d, t: update(len(train_pairs) + d))
        self.skipped = s1 + s2
        keep = [i for i, w in enumerate(tw) if w is not None]
        self.train_pairs = [train_pairs[i] for i in keep]
        self.train_waves = [tw[i] for i in keep]
        if len(self.train_pairs) < 2:
            raise InputError("fewer than 2 readable training pairs", None,
                             "check the sound files named in pairs.csv")
        keep = [i for i, w in enumerate(vw) if w is not None]
        self.val_pairs = [val_pairs[i] for i in keep]
        self.val_waves = [vw[i] for i in keep]
        self.candidates = [self._candidates(p) for p in self.train_pairs]
        self.epoch = 0
        self.step = 0
        self.best: float | None = None
        self.best_epoch = 0
        self.bad_epochs = 0
        self.history: list[dict] = []

    # ---- setup

    def _optimizer(self) -> torch.optim.Optimizer:
        cfg = self.cfg
        head_lr = cfg.head_lr if cfg.head_lr is not None else (
            cfg.lr if cfg.from_scratch else 10.0 * cfg.lr)
        # As CLIP: no weight decay on the temperature.
        groups = [{"params": list(self.model.head.parameters()), "lr": head_lr},
                  {"params": [self.logit_scale], "lr": head_lr, "weight_decay": 0.0}]
        if not cfg.freeze_backbone:
            groups.append({"params": list(self.model.backbone.parameters()), "lr": cfg.lr})
        else:
            for p in self.model.backbone.parameters():
                p.requires_grad_(False)
        return torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)

    def _candidates(self, pair) -> np.ndarray:
        """Frames a sound may be trained against in nearest/multiframe mode:
        those of its matched frame's video, in time order."""
        if self.cfg.match == "fixed":
            return np.zeros(0, np.int64)
        first = _frame_ids(pair)[0]
        idx = self.data.video_frames(str(self.data.frame_video[first]))
        idx = np.asarray(idx, np.int64)
        if len(idx) == 0:
            idx = np.array([first], np.int64)
        return idx[np.argsort(self.data.frame_time[idx], kind="stable")]

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

    # ---- one epoch

    def _crop(self, wave: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if len(wave) <= self.crop:
            return wave
        start = int(rng.integers(0, len(wave) - self.crop + 1))
        return wave[start:start + self.crop]

    def train_epoch(self, update: Callable[[int, int], None]) -> float:
        cfg = self.cfg
        epoch = self.epoch + 1
        rng = np.random.default_rng([cfg.seed, epoch])
        torch.manual_seed(cfg.seed * 100_003 + epoch)
        order = rng.permutation(len(self.train_pairs))
        batches = [order[i:i + cfg.batch_size] for i in range(0, len(order), cfg.batch_size)]
        if len(batches) > 1 and len(batches[-1]) < 2:
            batches[-2] = np.concatenate([batches[-2], batches[-1]])
            batches.pop()
        self._set_mode(True)
        total, seen = 0.0, 0
        for b, idx in enumerate(batches):
            crops = [self._crop(self.train_waves[i], rng) for i in idx]
            audio = forward(self.model, self.windowing, crops, self.device)
            loss = self._loss(audio, idx, epoch, rng)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            with torch.no_grad():
                self.logit_scale.clamp_(0.0, math.log(MAX_LOGIT_SCALE))
            self.step += 1
            total += float(loss.detach()) * len(idx)
            seen += len(idx)
            update(b + 1, len(batches))
        self.epoch = epoch
        return total / max(seen, 1)

    def _loss(self, audio: torch.Tensor, idx: np.ndarray, epoch: int,
              rng: np.random.Generator) -> torch.Tensor:
        cfg = self.cfg
        pairs = [self.train_pairs[i] for i in idx]
        if cfg.match == "fixed":
            targets = [self._fixed_target(p, rng) for p in pairs]
            return clip_loss(audio, self.frames[targets], self.logit_scale)
        cands = [self.candidates[i] for i in idx]
        if cfg.match == "nearest":
            if epoch <= cfg.nearest_warmup_epochs:
                targets = [int(c[rng.integers(len(c))]) for c in cands]
            else:
                with torch.no_grad():
                    a = audio.detach()
                    targets = [int(c[int(torch.argmax(self.frames[torch.from_numpy(c)] @ a[j]))])
                               for j, c in enumerate(cands)]
            return clip_loss(audio, self.frames[targets], self.logit_scale)
        # multiframe: m frames evenly spread over each video, a random phase
        # per sound and epoch so every frame is used over the epochs.
        m = max(1, cfg.multiframe)
        picks = np.empty((m, len(idx)), np.int64)
        for j, c in enumerate(cands):
            pos = (rng.random() + np.arange(m)) * len(c) / m
            picks[:, j] = c[np.minimum(pos.astype(np.int64), len(c) - 1)]
        return torch.stack([clip_loss(audio, self.frames[torch.from_numpy(row).to(self.device)],
                                      self.logit_scale) for row in picks]).mean()

    def _fixed_target(self, pair, rng: np.random.Generator) -> int:
        ids = _frame_ids(pair)
        if self.cfg.augment_topk and len(ids) > 1:
            return ids[int(rng.integers(len(ids)))]
        return ids[0]

    # ---- validation

    @torch.no_grad()
    def validate(self) -> tuple[float | None, RetrievalMetrics | None]:
        if not self.val_pairs:
            return None, None
        self._set_mode(False)
        audio = torch.cat([forward(self.model, self.windowing, self.val_waves[i:i + 64],
                                   self.device) for i in range(0, len(self.val_waves), 64)])
        first = [_frame_ids(p)[0] for p in self.val_pairs]
        frames = self.frames[first]
        val_loss = float(clip_loss(audio, frames, self.logit_scale)) if len(first) > 1 else None
        owners, true_index = gallery_from_pairs(self.val_pairs)
        owner_rows = np.zeros(len(owners), np.int64)
        owner_rows[true_index] = np.arange(len(true_index))  # any pair of the sound will do
        gallery = audio.cpu().numpy()[owner_rows]
        metrics = retrieval_metrics(frames.cpu().numpy(), [p.category for p in self.val_pairs],
                                    gallery, [p.category for p in owners], true_index)
        return val_loss, metrics

    def metric_of(self, metrics: RetrievalMetrics | None) -> float | None:
        if metrics is None:
            return None
        return getattr(metrics, self.cfg.select)

    def better(self, value: float | None) -> bool:
        if value is None or value != value:
            return self.best is None
        if self.best is None:
            return True
        return value < self.best if self.cfg.select == "mr" else value > self.best

    # ---- checkpoints

    def save_best(self) -> None:
        from autofoley.models.audio import save_audio_encoder

        save_audio_encoder(self.out_dir / "model.safetensors", self.model, self.config,
                           self.clip_identity)

    def save_last(self) -> None:
        from autofoley.atomic import write_json
        from autofoley.models.audio import save_audio_encoder
        from autofoley.models.registry import file_sha256

        last, opt = self.out_dir / "last.safetensors", self.out_dir / "optimizer.safetensors"
        save_audio_encoder(last, self.model, self.config, self.clip_identity)
        _save_optimizer(opt, self.optimizer, self.logit_scale, self.epoch, self.step)
        write_json(self.out_dir / "state.json", {
            "format": "autofoley-train-state", "version": STATE_VERSION,
            "epoch": self.epoch, "step": self.step, "best_metric": self.best,
            "best_epoch": self.best_epoch, "bad_epochs": self.bad_epochs,
            "select": self.cfg.select, "seed": self.cfg.seed,
            "rng": "numpy default_rng([seed, epoch]) and torch.manual_seed(seed*100003+epoch) "
                   "per epoch",
            "config": self.cfg.to_dict(), "model_config": self.config,
            "clip_model": self.manifest.get("clip_model"), "clip_identity": self.clip_identity,
            "pairs": {"train": len(self.train_pairs), "val": len(self.val_pairs)},
            "last_sha256": file_sha256(last), "optimizer_sha256": file_sha256(opt),
            "history": self.history})

    def restore(self) -> None:
        from safetensors.torch import load_file

        from autofoley.models.registry import file_sha256

        state_path = self.out_dir / "state.json"
        state = _read_state(state_path)
        last, opt = self.out_dir / "last.safetensors", self.out_dir / "optimizer.safetensors"
        for path, key in ((last, "last_sha256"), (opt, "optimizer_sha256")):
            if not path.is_file() or file_sha256(path) != state.get(key):
                raise ModelError("resume files disagree with state.json (interrupted while "
                                 "saving, or edited)", path,
                                 "train again without --resume, into a new --out folder")
        try:
            self.model.load_state_dict(load_file(str(last)), strict=True)
        except (RuntimeError, OSError) as exc:
            raise ModelError(f"cannot resume from checkpoint ({str(exc).splitlines()[0][:160]})",
                             last, "train again without --resume") from None
        _load_optimizer(opt, self.optimizer, self.logit_scale)
        self.epoch, self.step = int(state["epoch"]), int(state["step"])
        self.best, self.best_epoch = state.get("best_metric"), int(state.get("best_epoch", 0))
        self.bad_epochs = int(state.get("bad_epochs", 0))
        self.history = list(state.get("history", []))


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


def _save_optimizer(path: Path, optimizer: torch.optim.Optimizer, logit_scale: torch.Tensor,
                    epoch: int, step: int) -> None:
    """The optimiser state as flat tensors ``state.<param>.<name>`` plus the
    param groups (without the parameters) as JSON metadata: no pickle."""
    from safetensors.torch import save_file

    from autofoley.atomic import atomic_path

    sd = optimizer.state_dict()
    tensors = {"logit_scale": logit_scale.detach().cpu().reshape(1).clone()}
    for pid, st in sd["state"].items():
        for name, value in st.items():
            t = value if torch.is_tensor(value) else torch.tensor(value)
            tensors[f"state.{pid}.{name}"] = t.detach().cpu().contiguous().clone()
    meta = {"format": "autofoley-optimizer", "optimizer": type(optimizer).__name__,
            "param_groups": json.dumps(sd["param_groups"]), "epoch": str(epoch),
            "step": str(step)}
    with atomic_path(path, suffix=".safetensors") as tmp:
        save_file(tensors, str(tmp), metadata=meta)


def _load_optimizer(path: Path, optimizer: torch.optim.Optimizer,
                    logit_scale: torch.Tensor) -> None:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        groups = json.loads(meta["param_groups"])
    except (SafetensorError, OSError, KeyError, json.JSONDecodeError) as exc:
        raise ModelError(f"unreadable optimizer state ({exc})", path,
                         "train again without --resume") from None
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith("state."):
            _, pid, name = key.split(".", 2)
            state.setdefault(int(pid), {})[name] = value
    try:
        optimizer.load_state_dict({"state": state, "param_groups": groups})
    except (ValueError, KeyError) as exc:
        raise ModelError(f"optimizer state does not fit this model ({exc})", path,
                         "train again without --resume") from None
    with torch.no_grad():
        logit_scale.copy_(tensors["logit_scale"].reshape(()).to(logit_scale.device))


def _read_state(path: Path) -> dict:
    if not path.is_file():
        raise ModelError("nothing to resume (no state.json)", path.parent,
                         "train without --resume first")
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"unreadable state.json ({exc})", path,
                         "train again without --resume") from None
    if state.get("format") != "autofoley-train-state":
        raise ModelError("not an autofoley training state", path, "train again without --resume")
    return state


def train(pairs_root: str | Path, out_dir: str | Path, *, audio_model: str = "audio-tiny-cnn14",
          from_scratch: bool = False, epochs: int = 30, batch_size: int = 64, lr: float = 1e-4,
          head_lr: float | None = None, weight_decay: float = 0.01,
          temperature_init: float = 0.07, freeze_backbone: bool = False,
          batchnorm: str = "auto", match: str = "fixed", nearest_warmup_epochs: int = 1,
          multiframe: int = 4, augment_topk: bool = True, crop_seconds: float | None = None,
          decode_windows: int = 2, patience: int = 5, select: str = "cat_p10", seed: int = 0,
          device: str = "auto", resume: bool = False, overwrite: bool = False,
          progress: Callable[[EpochLog], None] | None = None, reporter=None,
          audio_cache: dict | None = None) -> TrainResult:
    """Train ``audio_model`` on the pairs in ``pairs_root``; write checkpoints
    to ``out_dir`` (see the module docstring).

    ``lr`` is the backbone's learning rate; the projection and temperature
    use ``head_lr`` (default 10 x lr when fine-tuning, since the projection
    starts random, and lr from scratch). ``batchnorm``: ``auto`` keeps the
    backbone's normalisation statistics when fine-tuning pretrained weights
    (small batches would only add noise to them) and learns them otherwise
    (from scratch, or a seeded test model). ``crop_seconds``: training crop
    per sound (default one encoder window; shorter trains on less context
    than inference uses). ``decode_windows``: windows of each sound decoded
    and kept in memory. ``select``: the validation metric for the best epoch and early
    stopping (``cat_p10``, higher is better, or ``mr``). ``resume``:
    continue the run in ``out_dir`` from its last epoch with its saved
    settings; only ``epochs`` and ``patience`` come from this call.
    ``progress`` gets an EpochLog after each epoch; ``reporter`` (see
    progress.py) shows the stages.
    """
    from autofoley.atomic import ensure_dir
    from autofoley.models.clip import pick_device
    from autofoley.progress import NullReporter

    reporter = reporter or NullReporter()
    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    if resume:
        saved = _read_state(out_dir / "state.json")
        try:
            cfg = TrainConfig(**saved["config"])
        except TypeError as exc:
            raise ModelError(f"state.json holds settings this version does not know ({exc})",
                             out_dir / "state.json", "train again without --resume") from None
        cfg.epochs, cfg.patience = int(epochs), int(patience)
    else:
        cfg = TrainConfig(audio_model, bool(from_scratch), int(epochs), int(batch_size),
                          float(lr), head_lr, float(weight_decay), float(temperature_init),
                          bool(freeze_backbone), batchnorm, match, int(nearest_warmup_epochs),
                          int(multiframe), bool(augment_topk), crop_seconds, int(decode_windows),
                          int(patience), select, int(seed))
        if (out_dir / "state.json").exists() and not overwrite:
            raise OutputError("folder already holds a training run", out_dir,
                              "pass --resume to continue it, or choose another --out")
    _check_config(cfg)
    data = load_pairs_checked(pairs_root)
    ensure_dir(out_dir)
    dev = pick_device(device)
    run = _Run(cfg, data, Path(pairs_root), out_dir, dev, audio_cache, reporter)
    if resume:
        run.restore()
    else:
        with reporter.stage("validate"):
            val_loss, metrics = run.validate()
        run.history.append(_log(run, 0, None, val_loss, metrics, False, 0.0).to_dict())
        if progress:
            progress(EpochLog(**run.history[-1]))
        if metrics is None:
            log.warning("%s: no 'val' pairs: keeping the last epoch, no early stopping", pairs_root)
        run.save_last()
    # The per-epoch seeding must not leak into the caller's torch RNG.
    with torch.random.fork_rng(devices=[] if dev.type == "cpu" else [dev]):
        stopped = _fit(run, progress, reporter)
    model_path = out_dir / "model.safetensors"
    if not model_path.exists():  # no epoch trained (epochs=0): the starting model
        run.save_best()
    return TrainResult(out_dir, model_path, run.best_epoch, run.best, run.epoch, run.step,
                       stopped, run.history, run.skipped,
                       time.perf_counter() - t0)


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
        improved = metrics is None or run.better(value)
        if improved:
            run.best, run.best_epoch, run.bad_epochs = value, run.epoch, 0
            run.save_best()
        else:
            run.bad_epochs += 1
        entry = _log(run, run.epoch, loss, val_loss, metrics, improved,
                     time.perf_counter() - t_epoch)
        run.history.append(entry.to_dict())
        run.save_last()
        if progress:
            progress(entry)
        stopped = metrics is not None and run.bad_epochs >= cfg.patience
    return stopped and run.epoch < cfg.epochs


def _log(run: _Run, epoch: int, loss, val_loss, metrics, improved: bool,
         seconds: float) -> EpochLog:
    return EpochLog(epoch, run.cfg.epochs, run.step, loss, val_loss,
                    None if metrics is None else metrics.to_dict(), run.metric_of(metrics),
                    run.best, run.best_epoch, float(1.0 / run.logit_scale.detach().exp()),
                    seconds, improved)


def _check_config(cfg: TrainConfig) -> None:
    if cfg.match not in MATCH_MODES:
        raise ValueError(f"match must be one of {MATCH_MODES}, not {cfg.match!r}")
    if cfg.select not in SELECT_METRICS:
        raise ValueError(f"select must be one of {SELECT_METRICS}, not {cfg.select!r}")
    if cfg.batchnorm not in ("auto", "train", "frozen"):
        raise ValueError("batchnorm must be auto, train or frozen")
    if cfg.batch_size < 2:
        raise ValueError("batch_size must be at least 2 (a contrastive batch needs negatives)")
    if cfg.epochs < 0 or cfg.patience < 1 or cfg.multiframe < 1 or cfg.decode_windows < 1:
        raise ValueError("epochs must be >= 0; patience, multiframe and decode_windows >= 1")
    if not 0 < cfg.temperature_init <= 1:
        raise ValueError("temperature_init must be in (0, 1]")


# --------------------------------------------------------------------------- evaluation

def embed_pair_sounds(encoder, sounds: list,
                      progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """(N, D) embeddings of pair sounds (``audio``, ``offset``, ``duration``)
    through ``encoder.encode_file``: the path ``autofoley score`` uses.
    An unreadable sound gives a zero row (it then ranks by chance)."""
    out = np.zeros((len(sounds), encoder.embed_dim), np.float32)
    for i, p in enumerate(sounds):
        try:
            out[i] = encoder.encode_file(p.audio, float(p.offset), p.duration)
        except InputError as exc:
            log.warning("%s", exc)
        if progress:
            progress(i + 1, len(sounds))
    return out


def untrained_encoder(config: dict, device: str = "cpu"):
    """The encoder a trained checkpoint started from (its ``trained_from``
    model: pretrained backbone, projection from seed 0), or, when that cannot
    be built, the same architecture with every weight drawn from seed 0."""
    from autofoley.models.audio import AudioEncoder, AudioModel, estimate_centre, load_audio_encoder

    base = config.get("trained_from")
    if base:
        try:
            enc = load_audio_encoder(base, device)
            if enc.embed_dim == int(config["embed_dim"]):
                return enc
        except ModelError as exc:
            log.info("untrained reference: %s; using seeded weights", exc)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = AudioModel(config)
    from autofoley.models.clip import pick_device

    dev = pick_device(device)
    model.to(dev).eval()
    enc = AudioEncoder("untrained", "untrained", None, model, dev, config)
    model.centre.copy_(estimate_centre(model, enc.windowing))
    return enc


def evaluate(pairs_root: str | Path, audio_model_or_path: str, split: str = "test",
             text_clip=None, device: str = "auto", untrained: bool = True,
             reporter=None) -> dict:
    """Frame -> audio retrieval metrics on one split of a pairs folder.

    Rows: ``audio`` (the given encoder; refused if trained for another CLIP
    than the pairs'), ``untrained`` (the same architecture before training,
    see ``untrained_encoder``) and ``text`` (zero-shot: CLIP text embeddings
    of the sounds' sentences as the gallery). ``text_clip``: a ClipEncoder, a
    CLIP model name, None (the pairs' own CLIP model) or False (no text row).
    Returns {"split", "queries", "gallery", "clip_model", "rows": {name:
    metrics dict}}.
    """
    from autofoley.models.audio import check_compatible, load_audio_encoder
    from autofoley.progress import NullReporter

    reporter = reporter or NullReporter()
    data = load_pairs_checked(pairs_root)
    pairs = data.split(split) if split in ("train", "val", "test") else []
    if not pairs:
        raise InputError(f"pairs folder has no '{split}' pairs", pairs_root,
                         "choose another --split (train, val, test)")
    clip_identity = data.manifest.get("clip_identity")
    queries = data.frames[[_frame_ids(p)[0] for p in pairs]].astype(np.float32)
    q_cat = [p.category for p in pairs]
    owners, true_index = gallery_from_pairs(pairs)
    g_cat = [p.category for p in owners]
    rows: dict[str, dict] = {}

    with reporter.stage("load audio model"):
        encoder = load_audio_encoder(audio_model_or_path, device)
    if clip_identity:
        check_compatible(encoder, clip_identity)
    if encoder.embed_dim != queries.shape[1]:
        raise ModelError(f"audio encoder embeds to {encoder.embed_dim} dims, the pairs' CLIP to "
                         f"{queries.shape[1]}", audio_model_or_path,
                         "train an encoder on these pairs ('autofoley train')")
    with reporter.stage("embed audio", len(owners)) as update:
        gallery = embed_pair_sounds(encoder, owners, update)
    rows["audio"] = {"model": str(audio_model_or_path),
                     **retrieval_metrics(queries, q_cat, gallery, g_cat, true_index).to_dict()}

    if untrained:
        with reporter.stage("embed (untrained)", len(owners)) as update:
            ref = untrained_encoder(encoder.config, device)
            gallery = embed_pair_sounds(ref, owners, update)
        rows["untrained"] = {"model": encoder.config.get("trained_from") or "seeded random",
                             **retrieval_metrics(queries, q_cat, gallery, g_cat,
                                                 true_index).to_dict()}

    if text_clip is not False:
        clip = _text_clip(text_clip, data.manifest, device)
        if clip is not None:
            with reporter.stage("embed sentences"):
                texts = clip.encode_texts([p.sentence for p in owners])
            rows["text"] = {"model": clip.spec.name,
                            **retrieval_metrics(queries, q_cat, texts, g_cat,
                                                true_index).to_dict()}
    return {"split": split, "queries": len(pairs), "gallery": len(owners),
            "clip_model": data.manifest.get("clip_model"), "rows": rows}


def _text_clip(text_clip, manifest: dict, device: str):
    from autofoley.models.clip import ClipEncoder, load_clip

    if isinstance(text_clip, ClipEncoder):
        clip = text_clip
    else:
        name = text_clip or manifest.get("clip_model")
        if not name:
            return None
        try:
            clip = load_clip(name, manifest.get("clip_pretrained") if not text_clip else None,
                             device)
        except ModelError as exc:
            log.warning("no text row: %s", exc)
            return None
    want = manifest.get("clip_identity")
    if want and clip.identity != want:
        log.warning("no text row: CLIP '%s' is not the one the pairs were made with", clip.spec.name)
        return None
    return clip


def format_eval(result: dict) -> str:
    """A table of ``evaluate``'s rows, like the paper's Table 1."""
    lines = [f"{result['split']}: {result['queries']} frame queries, {result['gallery']} sounds",
             f"{'ranked by':<12} {'MR':>7} {'R@10':>6} {'cat R@10':>9} {'cat P@10':>9}"]
    for name, m in result["rows"].items():
        lines.append(f"{name:<12} {m['mr']:>7.1f} {m['r10']:>6.2f} {m['cat_r10']:>9.2f} "
                     f"{m['cat_p10']:>9.2f}")
    return "\n".join(lines)
