"""The CLIP image and text towers (open_clip), batched, on CPU or GPU."""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import socket
import threading
from dataclasses import dataclass

import numpy as np
import torch

from autofoley.errors import ModelError
from autofoley.models.registry import ClipSpec, resolve_clip

log = logging.getLogger("autofoley")


def pick_device(device: str = "auto") -> torch.device:
    """``auto`` means CUDA when present, else CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelError("CUDA was asked for but no GPU is available", None, "use --device cpu")
    return torch.device(device)


@dataclass
class ClipEncoder:
    """One loaded CLIP model. ``encode_*`` return L2-normalised float32 rows."""

    spec: ClipSpec
    model: torch.nn.Module
    tokenizer: object
    device: torch.device
    mean: torch.Tensor  # (1, 3, 1, 1)
    std: torch.Tensor
    image_size: int
    embed_dim: int
    # Whether sentences are encoded only up to their longest end-of-text
    # token (``_encode_tokens``); None until the first batch checks it.
    _short_text: bool | None = None

    @property
    def identity(self) -> str:
        return self.spec.identity

    @property
    def logit_scale(self) -> float:
        """The model's learnt inverse temperature (100 for trained CLIPs)."""
        return float(self.model.logit_scale.exp().item())

    @torch.inference_mode()
    def encode_images(self, pixels: np.ndarray) -> np.ndarray:
        """uint8 (N, H, W, 3) RGB at ``image_size`` -> (N, D) float32."""
        # np.require copies only when needed (e.g. read-only padded batches).
        x = torch.from_numpy(np.require(pixels, np.uint8, ["C", "W"])).to(self.device, non_blocking=True)
        x = x.permute(0, 3, 1, 2).float().div_(255.0)
        x = (x - self.mean) / self.std
        with self._autocast():
            emb = self.model.encode_image(x)
        return _normalise(emb)

    @torch.inference_mode()
    def encode_texts(self, texts: list[str], batch_size: int = 256) -> np.ndarray:
        """Sentences -> (N, D) float32."""
        out = []
        for i in range(0, len(texts), batch_size):
            tokens = self.tokenizer(texts[i:i + batch_size]).to(self.device)
            with self._autocast():
                out.append(_normalise(self._encode_tokens(tokens)))
        if not out:
            return np.zeros((0, self.embed_dim), np.float32)
        return np.concatenate(out)

    def _encode_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """``encode_text``, cut to the batch's longest sentence where that is
        exact: a CLIP text tower is causal and pools at the end-of-text token,
        so the padding after it changes nothing, and tags are a fifth of the
        77-token context (about 4 x less work). The shortcut is checked once
        against ``encode_text`` and dropped if the two ever disagree."""
        if self._short_text is None:
            self._short_text = _can_shorten(self.model)
            if self._short_text:
                sample = tokens[:4]
                self._short_text = bool(torch.allclose(
                    _encode_short(self.model, sample), self.model.encode_text(sample),
                    atol=1e-4, rtol=1e-3))
        if self._short_text:
            return _encode_short(self.model, tokens)
        return self.model.encode_text(tokens)

    def _autocast(self):
        # fp16 autocast halves memory traffic on GPUs; on CPUs it was measured
        # to give nothing (ENV.md), so CPU runs stay in fp32.
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.float16)
        return torch.autocast("cpu", enabled=False)


def _can_shorten(model) -> bool:
    import open_clip

    return (type(model) is open_clip.CLIP and getattr(model, "text_pool_type", "") == "argmax"
            and getattr(model, "attn_mask", None) is not None)


def _encode_short(model, tokens: torch.Tensor) -> torch.Tensor:
    """open_clip ``CLIP.encode_text`` on the tokens up to the longest
    sentence's end-of-text token (the highest id in each row)."""
    length = int(tokens.argmax(dim=-1).max()) + 1
    tokens = tokens[:, :length]
    cast = model.transformer.get_cast_dtype()
    x = model.token_embedding(tokens).to(cast) + model.positional_embedding[:length].to(cast)
    x = model.transformer(x, attn_mask=model.attn_mask[:length, :length])
    x = model.ln_final(x)
    x = x[torch.arange(x.shape[0], device=x.device), tokens.argmax(dim=-1)]
    if isinstance(model.text_projection, torch.nn.Linear):
        return model.text_projection(x)
    return x @ model.text_projection


def _normalise(emb: torch.Tensor) -> np.ndarray:
    emb = emb.float()
    emb = emb / emb.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return emb.cpu().numpy().astype(np.float32)


def load_clip(model: str | ClipSpec = "ViT-B-32", pretrained: str | None = None,
              device: str = "auto") -> ClipEncoder:
    """Build a CLIP model by name (see ``registry.resolve_clip``) on ``device``.

    A pretrained tag not yet in the Hugging Face cache is downloaded once,
    with a progress bar on stderr.
    """
    import open_clip

    spec = model if isinstance(model, ClipSpec) else resolve_clip(model, pretrained)
    if spec.config_path is not None:
        # A spec resolved in another process (a batch worker) arrives without
        # its config registered in this one.
        open_clip.add_model_config(spec.config_path)
    dev = pick_device(device)
    if spec.pretrained is None:
        torch.manual_seed(spec.seed)  # random weights, but the same ones every run
    elif spec.source == "open_clip" and not os.path.isfile(spec.pretrained):
        log.info("loading %s weights '%s' (first use downloads them into the Hugging Face cache)",
                 spec.name, spec.pretrained)
    # Weights about to be loaded make the random initialisation wasted work:
    # ViT-B-32 loads in 0.76 s instead of 1.95 s here (bench/bench_load.py).
    skip_init = _no_weight_init() if spec.pretrained else contextlib.nullcontext()
    try:
        with _quiet_open_clip(), _offline_if_unreachable(spec), skip_init:
            # require_pretrained: a model built without initialisation must
            # not come back with its weights unloaded.
            clip = open_clip.create_model(spec.name, pretrained=spec.pretrained, device=dev,
                                          weights_only=True,
                                          require_pretrained=bool(spec.pretrained))
    except RuntimeError as exc:
        if spec.pretrained and not os.path.isfile(spec.pretrained):
            raise ModelError(
                f"weights '{spec.pretrained}' for {spec.name} are not in the cache and could not "
                "be downloaded", None,
                "connect to the internet once so they can be cached, or pass "
                "--clip-pretrained /path/to/open_clip_model.safetensors") from None
        raise ModelError(f"cannot load {spec.name}: {str(exc).splitlines()[0][:200]}",
                         spec.pretrained, "check that the checkpoint matches the model") from None
    except pickle.UnpicklingError:
        raise ModelError("checkpoint holds Python objects besides tensors; it is not unpickled "
                         "for safety", spec.pretrained,
                         "convert it to .safetensors, or re-save only its state_dict") from None
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"cannot load {spec.name}: {exc}", spec.pretrained,
                         "check that the checkpoint matches the model") from None
    clip.eval()
    cfg = open_clip.get_model_preprocess_cfg(clip)
    size = cfg.get("size", 224)
    size = size[0] if isinstance(size, (tuple, list)) else int(size)
    mean = torch.tensor(cfg.get("mean", (0.48145466, 0.4578275, 0.40821073)), device=dev)
    std = torch.tensor(cfg.get("std", (0.26862954, 0.26130258, 0.27577711)), device=dev)
    embed_dim = int(open_clip.get_model_config(spec.name)["embed_dim"])
    return ClipEncoder(spec, clip, open_clip.get_tokenizer(spec.name), dev,
                       mean.view(1, 3, 1, 1), std.view(1, 3, 1, 1), size, embed_dim)


_INIT_LOCK = threading.Lock()


@contextlib.contextmanager
def _no_weight_init():
    """While a model is built whose every weight a checkpoint then replaces,
    ``torch.nn.init``'s initialisers do nothing in this thread.

    Safe because open_clip loads a full checkpoint strictly: a parameter or
    persistent buffer the file lacks is an error, so none keeps the
    uninitialised memory. Other threads still initialise what they build (a
    library user's own models), and the lock keeps two loads from saving
    each other's replacements as the originals.
    """
    init = torch.nn.init
    me = threading.get_ident()
    with _INIT_LOCK:
        saved = {name: getattr(init, name) for name in dir(init)
                 if name.endswith("_") and not name.startswith("_")
                 and callable(getattr(init, name))}

        def skipping(original):
            def initialiser(tensor, *args, **kwargs):
                if threading.get_ident() != me:
                    return original(tensor, *args, **kwargs)
                return tensor
            return initialiser

        for name, original in saved.items():
            setattr(init, name, skipping(original))
        try:
            yield
        finally:
            for name, original in saved.items():
                setattr(init, name, original)


@contextlib.contextmanager
def _quiet_open_clip():
    """open_clip logs 'initialized randomly' at root level and huggingface_hub
    logs every retry; our own one-line error says what went wrong. The download
    progress bar (tqdm on stderr) still shows."""
    loggers = [logging.root, logging.getLogger("huggingface_hub")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


@contextlib.contextmanager
def _offline_if_unreachable(spec: ClipSpec):
    """Without a network, huggingface_hub retries for about a minute before it
    falls back to its cache. When the hub's name does not even resolve, go
    offline at once: cached weights still load, missing ones fail fast."""
    if spec.source != "open_clip" or not spec.pretrained or os.path.isfile(spec.pretrained):
        yield
        return
    try:
        from huggingface_hub import constants
    except ImportError:
        yield
        return
    try:
        socket.getaddrinfo("huggingface.co", 443)
        reachable = True
    except OSError:
        reachable = False
    old = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = old or not reachable
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = old
