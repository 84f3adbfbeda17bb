"""What training feeds on: the pairs folder, each pair's decoded sound, and
batches of sound windows through the audio tower.

Audio is decoded once per pair (mono, at the encoder's rate, at most
``decode_windows`` windows from the pair's offset) and kept in memory; each
epoch trains on a random crop. Windows are embedded, pooled, centred and
projected exactly as ``AudioEncoder.encode`` does, so what is trained is
what is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from autofoley.errors import InputError


def load_pairs_checked(root: str | Path):
    """``pairs.load_pairs`` (one-line InputError when ``root`` is not a pairs
    folder written by ``autofoley curate``), refusing a folder without pairs."""
    from autofoley.training.pairs import load_pairs

    root = Path(root)
    if not root.is_dir():
        raise InputError("pairs folder not found", root, "pass the --out folder of 'autofoley curate'")
    data = load_pairs(root)
    if len(data.pairs) == 0 and not data.sounds:
        raise InputError("pairs folder holds no pairs and no sounds", root,
                         "curate with a larger library")
    return data


def frame_ids(pair) -> list[int]:
    return [int(i) for i in pair.frame_ids]


def video_frames(data, pair) -> np.ndarray:
    """The frames of the video a pair's matched frame comes from, in time
    order: what nearest and multiframe matching choose among."""
    first = frame_ids(pair)[0]
    idx = np.asarray(data.video_frames(str(data.frame_video[first])), np.int64)
    if len(idx) == 0:
        idx = np.array([first], np.int64)
    return idx[np.argsort(data.frame_time[idx], kind="stable")]


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


def readable(pairs: list, waves: list[np.ndarray | None]) -> tuple[list, list[np.ndarray]]:
    """The pairs whose sound decoded, and their waves."""
    keep = [i for i, w in enumerate(waves) if w is not None]
    return [pairs[i] for i in keep], [waves[i] for i in keep]


def random_crop(wave: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
    if len(wave) <= length:
        return wave
    start = int(rng.integers(0, len(wave) - length + 1))
    return wave[start:start + length]


# --------------------------------------------------------------------------- windows

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
        by_length = no_single_windows(by_length)
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


def no_single_windows(by_length: dict[int, list[int]]) -> dict[int, list[int]]:
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


# --------------------------------------------------------------------------- items

@dataclass(frozen=True)
class Item:
    """One sound a run trains on: a tagged sound of the library (its text row
    in ``texts.npy``, -1 when the folder has none) and its pair, if curation
    paired it with a frame."""

    audio: Path
    offset: float
    duration: float
    category: str
    sentence: str
    text_row: int
    pair: object | None  # pairs.Pair


def items_of(data, split: str, use_sounds: bool = True) -> list[Item]:
    """The items of one split: every sound of the pairs folder (with its pair
    when it has one), or its pairs alone (``use_sounds`` False, or a format 1
    folder)."""
    pairs = data.split(split)
    if not use_sounds or data.texts is None:
        return [Item(p.audio, p.offset, p.duration, p.category, p.sentence, -1, p) for p in pairs]
    by_key = {(str(p.audio), round(p.offset, 3)): p for p in pairs}
    items = [Item(s.audio, s.offset, s.duration, s.category, s.sentence, s.sound_id,
                  by_key.pop(s.key, None)) for s in data.sounds_of(split)]
    # A pair whose sound is not listed (an edited folder) still trains on its frame.
    items += [Item(p.audio, p.offset, p.duration, p.category, p.sentence, -1, p)
              for p in by_key.values()]
    return items


def pooled_features(encoder, items: list, cache: dict | None = None,
                    progress: Callable[[int, int], None] | None = None
                    ) -> tuple[list[np.ndarray | None], list[tuple[str, str]]]:
    """Each item's pooled backbone embedding (``AudioEncoder.pooled_file``:
    the windows inference uses), for training a projection on a frozen
    backbone: the backbone then runs once per sound, not once per epoch.
    Unreadable sounds give None and a (path, reason) entry; ``cache`` shares
    results between runs (the ablation's)."""
    cache = {} if cache is None else cache
    out: list[np.ndarray | None] = []
    skipped: list[tuple[str, str]] = []
    for i, it in enumerate(items):
        key = ("pooled", encoder.identity, str(it.audio), round(float(it.offset), 6),
               round(float(it.duration), 6))
        if key not in cache:
            try:
                cache[key] = encoder.pooled_file(it.audio, float(it.offset), float(it.duration))
            except InputError as exc:
                cache[key] = str(exc)
        got = cache[key]
        if isinstance(got, str):
            out.append(None)
            skipped.append((str(it.audio), got))
        else:
            out.append(got)
        if progress and (i % 16 == 15 or i == len(items) - 1):
            progress(i + 1, len(items))
    return out, skipped
