"""The contrastive losses, and which frame each sound is trained against.

Two losses, mixed by ``TrainConfig.image_weight``: towards the frames of
the curated pairs (below), and towards the CLIP text embedding of each
sound's sentence (``text_loss``; the image and text towers share one space,
so this trains into the image space through language, on every tagged sound).

Symmetric InfoNCE (audio -> frame and frame -> audio cross-entropy over the
batch) under a learnable temperature, clamped as in CLIP (logit scale at
most 100). Which frame a sound is trained against (``TrainConfig.match``):

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
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from autofoley.training.config import TrainConfig
from autofoley.training.data import frame_ids

MAX_LOGIT_SCALE = 100.0  # CLIP's clamp: temperature never below 0.01


def clip_loss(audio: torch.Tensor, image: torch.Tensor, logit_scale: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE: row i of ``audio`` and of ``image`` are a pair, every
    other row of the batch a negative; the mean of the audio -> image and
    image -> audio cross-entropies. Inputs L2-normalised."""
    logits = logit_scale.exp() * audio @ image.T
    target = torch.arange(len(audio), device=audio.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def text_loss(audio: torch.Tensor, classes: np.ndarray, texts: torch.Tensor,
              logit_scale: torch.Tensor) -> torch.Tensor:
    """The language bridge: symmetric InfoNCE between the batch's sounds and
    the distinct sentences among them.

    ``classes[j]`` is the row of ``texts`` (one per distinct sentence) of
    sound j. Sounds sharing a sentence are one class: audio -> text is a
    cross-entropy over the batch's distinct sentences; text -> audio spreads
    the target evenly over every sound of that sentence. So identical tags
    are never each other's negatives, as they would be in a plain B x B
    matrix.
    """
    uniq, inverse = np.unique(classes, return_inverse=True)
    inverse_t = torch.as_tensor(inverse, device=audio.device)
    logits = logit_scale.exp() * audio @ texts[torch.as_tensor(uniq, device=texts.device)].T
    audio_to_text = F.cross_entropy(logits, inverse_t)
    target = F.one_hot(inverse_t, len(uniq)).T.float()
    target = target / target.sum(dim=1, keepdim=True)
    text_to_audio = -(target * F.log_softmax(logits.T, dim=1)).sum(dim=1).mean()
    return 0.5 * (audio_to_text + text_to_audio)


def batch_loss(cfg: TrainConfig, audio: torch.Tensor, pairs: list, candidates: list[np.ndarray],
               frames: torch.Tensor, logit_scale: torch.Tensor, epoch: int,
               rng: np.random.Generator) -> torch.Tensor:
    """The loss of one batch: ``audio`` row j is the embedding of ``pairs[j]``,
    ``candidates[j]`` the frames of its video (nearest and multiframe),
    ``frames`` every frame embedding of the pairs folder."""
    if cfg.match == "fixed":
        targets = [_fixed_target(cfg, p, rng) for p in pairs]
        return clip_loss(audio, frames[targets], logit_scale)
    if cfg.match == "nearest":
        if epoch <= cfg.nearest_warmup_epochs:
            targets = [int(c[rng.integers(len(c))]) for c in candidates]
        else:
            with torch.no_grad():
                a = audio.detach()
                targets = [int(c[int(torch.argmax(frames[torch.from_numpy(c)] @ a[j]))])
                           for j, c in enumerate(candidates)]
        return clip_loss(audio, frames[targets], logit_scale)
    # A random phase per sound and epoch, so that over the epochs every frame
    # of the video is used, not only m fixed ones.
    m = max(1, cfg.multiframe)
    picks = np.empty((m, len(pairs)), np.int64)
    for j, c in enumerate(candidates):
        pos = (rng.random() + np.arange(m)) * len(c) / m
        picks[:, j] = c[np.minimum(pos.astype(np.int64), len(c) - 1)]
    return torch.stack([clip_loss(audio, frames[torch.from_numpy(row).to(frames.device)],
                                  logit_scale) for row in picks]).mean()


def _fixed_target(cfg: TrainConfig, pair, rng: np.random.Generator) -> int:
    ids = frame_ids(pair)
    if cfg.augment_topk and len(ids) > 1:
        return ids[int(rng.integers(len(ids)))]
    return ids[0]
