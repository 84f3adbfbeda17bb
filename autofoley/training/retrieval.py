"""Frame -> audio retrieval on a split of a pairs folder: how well an audio
encoder ranks each pair's sound for its frame, beside the encoder before
training and CLIP text ranking of the sentences (Wilkins et al. Table 1).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from autofoley.errors import InputError, ModelError
from autofoley.training.data import frame_ids, load_pairs_checked
from autofoley.training.metrics import gallery_from_pairs, retrieval_metrics

log = logging.getLogger("autofoley")


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
    from autofoley.models.audio import (
        AudioEncoder,
        AudioModel,
        estimate_centre,
        load_audio_encoder,
    )

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
             reporter=None, text_pretrained: str | None = None) -> dict:
    """Frame -> audio retrieval metrics on one split of a pairs folder.

    Rows: ``audio`` (the given encoder; refused if trained for another CLIP
    than the pairs'), ``untrained`` (the same architecture before training,
    see ``untrained_encoder``) and ``text`` (zero-shot: CLIP text embeddings
    of the sounds' sentences as the gallery). ``text_clip``: a ClipEncoder, a
    CLIP model as every command takes it (a name or a config .json, with
    ``text_pretrained``), None (the pairs' own CLIP model, loaded as curate
    loaded it) or False (no text row).
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
    queries = data.frames[[frame_ids(p)[0] for p in pairs]].astype(np.float32)
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
        clip = _text_clip(text_clip, data.manifest, device, text_pretrained)
        if clip is not None:
            with reporter.stage("embed sentences"):
                texts = clip.encode_texts([p.sentence for p in owners])
            rows["text"] = {"model": clip.spec.name,
                            **retrieval_metrics(queries, q_cat, texts, g_cat,
                                                true_index).to_dict()}
    return {"split": split, "queries": len(pairs), "gallery": len(owners),
            "clip_model": data.manifest.get("clip_model"), "rows": rows}


def _text_clip(text_clip, manifest: dict, device: str, pretrained: str | None = None):
    from autofoley.models.clip import ClipEncoder, load_clip

    if isinstance(text_clip, ClipEncoder):
        clip = text_clip
    else:
        name = text_clip or manifest.get("clip_config") or manifest.get("clip_model")
        if not name:
            return None
        if not text_clip:
            pretrained = manifest.get("clip_pretrained")
        try:
            clip = load_clip(name, pretrained, device)
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
