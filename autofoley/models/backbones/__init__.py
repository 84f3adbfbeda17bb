"""Audio backbones: waveform windows -> fixed-size embeddings, each with its
own front end. ``build_backbone`` makes one from a config; ``load_published``
puts a published checkpoint (PANNs, aiSFX) onto it."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .aisfx import AisfxNet, load_aisfx_checkpoint, map_aisfx_state_dict
from .cnn14 import Cnn14, map_panns_state_dict, panns_shapes

BACKBONES: dict[str, type[nn.Module]] = {"cnn14": Cnn14, "aisfx": AisfxNet}


def build_backbone(name: str, config: dict) -> nn.Module:
    """A backbone by name with its keyword settings (``backbone_config``)."""
    try:
        cls = BACKBONES[name]
    except KeyError:
        raise ValueError(f"unknown audio backbone '{name}' (known: {', '.join(BACKBONES)})") from None
    return cls(**config)


def read_published(name: str, path: str | Path) -> dict:
    """The raw state_dict of a published checkpoint, loaded with
    ``weights_only=True`` (pickle.UnpicklingError if it holds other objects)."""
    if name == "aisfx":
        return load_aisfx_checkpoint(path)
    obj = torch.load(str(path), map_location="cpu", weights_only=True)
    if isinstance(obj, dict) and isinstance(obj.get("model"), dict):
        obj = obj["model"]  # PANNs checkpoints: {'model': state_dict, ...}
    if not isinstance(obj, dict):
        raise ValueError("not a checkpoint holding a state_dict")
    return obj


def published_shapes(name: str, state: dict) -> dict:
    """Backbone settings implied by a published state_dict's shapes (cnn14:
    widths, mels, FFT size; aisfx: none, its layout is fixed)."""
    return panns_shapes(state) if name == "cnn14" else {}


def load_published(backbone: nn.Module, state: dict) -> None:
    """Load a published state_dict (raw key names) onto ``backbone``; every
    parameter must be covered. Raises ValueError naming what does not fit."""
    if isinstance(backbone, Cnn14):
        mapped = map_panns_state_dict(state, backbone)
    elif isinstance(backbone, AisfxNet):
        mapped = map_aisfx_state_dict(state)
    else:  # pragma: no cover
        raise ValueError(f"no published layout for {type(backbone).__name__}")
    try:
        backbone.load_state_dict(mapped, strict=True)
    except RuntimeError as exc:
        # torch's message spans many lines; keep the first complaint.
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        raise ValueError(lines[1] if len(lines) > 1 else lines[0]) from None


__all__ = ["BACKBONES", "AisfxNet", "Cnn14", "build_backbone", "load_published",
           "published_shapes", "read_published"]
