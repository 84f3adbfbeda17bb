"""A training run's files in ``out_dir``, and reading them back to resume.

- ``model.safetensors``: the best epoch, loadable by ``load_audio_encoder``
  (and ``--audio-model``); it carries the pairs' CLIP identity, so it is
  refused with any other CLIP model. With a frozen published backbone it
  holds only what was trained (centre and projection) and names the
  backbone checkpoint by its sha256;
- ``last.safetensors`` + ``optimizer.safetensors`` + ``state.json``: the
  last epoch, for ``resume``. Every file is written atomically; state.json
  is written last and records the digests of the other two, so files from
  different epochs (a kill between two writes) are refused, not mixed.

No pickle anywhere: the optimiser state is flat tensors plus JSON metadata.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from autofoley.errors import ModelError

STATE_FORMAT = "autofoley-train-state"
STATE_VERSION = 1
BEST, LAST, OPTIMIZER, STATE = ("model.safetensors", "last.safetensors", "optimizer.safetensors",
                                "state.json")
_RESUME_HINT = "train again without --resume"


def save_model(out_dir: Path, name: str, model, config: dict, clip_identity: str | None,
               **kwargs) -> Path:
    """``save_audio_encoder`` into ``out_dir``; ``kwargs`` go to it (a
    head-only checkpoint's ``backbone_weights``, ``clip_model``)."""
    from autofoley.models.audio import save_audio_encoder

    path = out_dir / name
    save_audio_encoder(path, model, config, clip_identity, **kwargs)
    return path


def save_last(out_dir: Path, model, config: dict, clip_identity: str | None,
              optimizer: torch.optim.Optimizer, logit_scale: torch.Tensor, state: dict,
              text_logit_scale: torch.Tensor | None = None) -> None:
    """The last epoch's weights and optimiser, then state.json (``state``
    plus the format and both files' digests)."""
    from autofoley.atomic import write_json
    from autofoley.models.registry import file_sha256

    last = save_model(out_dir, LAST, model, config, clip_identity)
    opt = out_dir / OPTIMIZER
    save_optimizer(opt, optimizer, logit_scale, int(state["epoch"]), int(state["step"]),
                   text_logit_scale)
    write_json(out_dir / STATE, {"format": STATE_FORMAT, "version": STATE_VERSION, **state,
                                 "last_sha256": file_sha256(last),
                                 "optimizer_sha256": file_sha256(opt)})


def load_last(out_dir: Path, model, optimizer: torch.optim.Optimizer,
              logit_scale: torch.Tensor, text_logit_scale: torch.Tensor | None = None) -> dict:
    """Load the last epoch into ``model``, ``optimizer`` and ``logit_scale``;
    return state.json. ModelError when the files disagree with it."""
    from safetensors.torch import load_file

    from autofoley.models.registry import file_sha256

    state = read_state(out_dir / STATE)
    last, opt = out_dir / LAST, out_dir / OPTIMIZER
    for path, key in ((last, "last_sha256"), (opt, "optimizer_sha256")):
        if not path.is_file() or file_sha256(path) != state.get(key):
            raise ModelError("resume files disagree with state.json (interrupted while "
                             "saving, or edited)", path,
                             "train again without --resume, into a new --out folder")
    try:
        model.load_state_dict(load_file(str(last)), strict=True)
    except (RuntimeError, OSError) as exc:
        raise ModelError(f"cannot resume from checkpoint ({str(exc).splitlines()[0][:160]})",
                         last, _RESUME_HINT) from None
    load_optimizer(opt, optimizer, logit_scale, text_logit_scale)
    return state


def read_state(path: Path) -> dict:
    if not path.is_file():
        raise ModelError("nothing to resume (no state.json)", path.parent,
                         "train without --resume first")
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"unreadable state.json ({exc})", path, _RESUME_HINT) from None
    if state.get("format") != STATE_FORMAT:
        raise ModelError("not an autofoley training state", path, _RESUME_HINT)
    return state


def save_optimizer(path: Path, optimizer: torch.optim.Optimizer, logit_scale: torch.Tensor,
                   epoch: int, step: int, text_logit_scale: torch.Tensor | None = None) -> None:
    """The optimiser state as flat tensors ``state.<param>.<name>`` plus the
    param groups (without the parameters) as JSON metadata."""
    from safetensors.torch import save_file

    from autofoley.atomic import atomic_path

    sd = optimizer.state_dict()
    tensors = {"logit_scale": logit_scale.detach().cpu().reshape(1).clone()}
    if text_logit_scale is not None:
        tensors["text_logit_scale"] = text_logit_scale.detach().cpu().reshape(1).clone()
    for pid, st in sd["state"].items():
        for name, value in st.items():
            t = value if torch.is_tensor(value) else torch.tensor(value)
            tensors[f"state.{pid}.{name}"] = t.detach().cpu().contiguous().clone()
    meta = {"format": "autofoley-optimizer", "optimizer": type(optimizer).__name__,
            "param_groups": json.dumps(sd["param_groups"]), "epoch": str(epoch),
            "step": str(step)}
    with atomic_path(path, suffix=".safetensors") as tmp:
        save_file(tensors, str(tmp), metadata=meta)


def load_optimizer(path: Path, optimizer: torch.optim.Optimizer,
                   logit_scale: torch.Tensor, text_logit_scale: torch.Tensor | None = None) -> None:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        groups = json.loads(meta["param_groups"])
    except (SafetensorError, OSError, KeyError, json.JSONDecodeError) as exc:
        raise ModelError(f"unreadable optimizer state ({exc})", path, _RESUME_HINT) from None
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith("state."):
            _, pid, name = key.split(".", 2)
            state.setdefault(int(pid), {})[name] = value
    try:
        optimizer.load_state_dict({"state": state, "param_groups": groups})
    except (ValueError, KeyError) as exc:
        raise ModelError(f"optimizer state does not fit this model ({exc})", path,
                         _RESUME_HINT) from None
    with torch.no_grad():
        logit_scale.copy_(tensors["logit_scale"].reshape(()).to(logit_scale.device))
        if text_logit_scale is not None and "text_logit_scale" in tensors:
            text_logit_scale.copy_(tensors["text_logit_scale"].reshape(()).to(
                text_logit_scale.device))
