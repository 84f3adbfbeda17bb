"""The audio tower: sound files -> embeddings in a CLIP image space.

An ``AudioModel`` is a backbone (PANNs Cnn14 or aiSFX, each with its own
log-mel front end) followed by a projection to the CLIP embedding size, as in
Wilkins et al. 2023 (an audio encoder trained to land on frozen CLIP image
embeddings). ``AudioEncoder`` wraps one on a device and turns mono waveforms
of any length into L2-normalised rows:

- a sound is cut into windows (``window_seconds``, or one aiSFX block), each
  embedded by the backbone; the window embeddings are averaged, centred,
  projected and normalised;
- a sound shorter than a window is zero-padded to a whole number of
  ``pad_quantum_seconds`` (at least ``min_seconds``): its padding depends on
  its own length only, so it embeds the same alone or in any batch;
- a long sound gives at most ``max_windows`` windows, evenly spread over it,
  and ``encode_file`` reads only those: an hour-long file costs what
  ``max_windows`` windows cost.

Model names resolve through ``registry.resolve_audio``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from autofoley.errors import ModelError
from autofoley.media.audio import audio_info, load_audio
from autofoley.models.backbones import (
    build_backbone,
    load_published,
    published_shapes,
    read_published,
)
from autofoley.models.clip import _normalise, pick_device
from autofoley.models.registry import AudioSpec, file_sha256, resolve_audio

log = logging.getLogger("autofoley")

CHECKPOINT_FORMAT = "autofoley-audio-encoder"
# In every identity: bump when the front ends or pooling change what a given
# checkpoint outputs, so cached embeddings are recomputed.
ENCODER_VERSION = 1


# --------------------------------------------------------------------------- model

class AudioModel(nn.Module):
    """Backbone + centre + projection. ``config`` is the audio model config
    (``models/configs/audio-*.json``): backbone, backbone_config, projection,
    embed_dim, and the windowing settings ``AudioEncoder`` reads."""

    def __init__(self, config: dict):
        super().__init__()
        self.backbone = build_backbone(config["backbone"], dict(config.get("backbone_config", {})))
        dim = int(self.backbone.out_dim)
        # Subtracted from the pooled backbone embedding before projection (see
        # ``estimate_centre``); part of the state, so a trained checkpoint
        # carries the centre it was trained with.
        self.register_buffer("centre", torch.zeros(dim))
        self.head = _projection(dim, int(config["embed_dim"]), config.get("projection", {}))

    def embed_windows(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, samples) windows -> (B, backbone dim) backbone embeddings."""
        return self.backbone(wave)

    def project(self, pooled: torch.Tensor) -> torch.Tensor:
        """(N, backbone dim) pooled embeddings -> (N, embed_dim), not normalised."""
        return self.head(pooled.float() - self.centre)


def _projection(d_in: int, d_out: int, cfg: dict) -> nn.Module:
    kind = cfg.get("type", "linear")
    if kind == "linear":
        return nn.Linear(d_in, d_out)
    if kind == "mlp":
        hidden = int(cfg.get("hidden", max(d_in, d_out)))
        return nn.Sequential(nn.Linear(d_in, hidden), nn.GELU(), nn.Linear(hidden, d_out))
    raise ValueError(f"unknown projection type '{kind}' (linear or mlp)")


# --------------------------------------------------------------------------- windows

@dataclass(frozen=True)
class Windowing:
    """How a sound is cut into backbone windows, in samples."""

    window: int  # samples per window
    quantum: int  # sounds shorter than a window are padded to a multiple of this
    minimum: int  # and to at least this
    max_windows: int

    def starts(self, n: int) -> list[int]:
        """Window starts for a sound of ``n`` > ``window`` samples: back to
        back, plus one flush with the end when more than half a window is
        left over; at most ``max_windows``, evenly spread."""
        count = n // self.window
        starts = [i * self.window for i in range(count)]
        if n - count * self.window > self.window // 2:
            starts.append(n - self.window)
        if len(starts) > self.max_windows:
            starts = np.linspace(0, n - self.window, self.max_windows).round().astype(int).tolist()
        return starts

    def cut(self, wave: np.ndarray) -> list[np.ndarray]:
        """One mono sound -> its windows (each a float32 array)."""
        n = len(wave)
        if n <= self.window:
            target = max(self.minimum, math.ceil(n / self.quantum) * self.quantum)
            target = min(target, max(self.window, self.minimum))
            out = np.zeros(target, np.float32)
            out[:n] = wave
            return [out]
        return [wave[s:s + self.window] for s in self.starts(n)]


def _windowing(config: dict, backbone: nn.Module) -> Windowing:
    sr = backbone.sample_rate
    seconds = config.get("window_seconds")
    window = int(round(seconds * sr)) if seconds else int(backbone.block_samples)
    quantum = config.get("pad_quantum_seconds")
    quantum = int(round(quantum * sr)) if quantum else window
    minimum = max(int(round(config.get("min_seconds", 0) * sr)), int(backbone.min_samples))
    if window < backbone.min_samples:
        raise ValueError(f"window_seconds is shorter than the {backbone.min_samples} samples "
                         f"the {config['backbone']} backbone needs")
    return Windowing(window, max(1, quantum), minimum, max(1, int(config.get("max_windows", 8))))


# --------------------------------------------------------------------------- probe set

def probe_sounds(sample_rate: int, seconds: float, count: int = 24) -> np.ndarray:
    """A fixed set of synthetic sounds (noises of three colours and levels,
    tones, sweeps, clicks, bursts, modulated noise): (count, samples) float32,
    the same on every machine."""
    rng = np.random.default_rng(20240601)
    n = int(round(seconds * sample_rate))
    t = np.arange(n) / sample_rate
    nyq = sample_rate / 2
    white = rng.standard_normal((8, n))
    spec = np.fft.rfft(white, axis=1)
    f = np.fft.rfftfreq(n, 1 / sample_rate)
    f[0] = f[1]
    pink = np.fft.irfft(spec / np.sqrt(f), n, axis=1)
    brown = np.fft.irfft(spec / f, n, axis=1)
    sounds = []
    for i, level in enumerate((0.02, 0.1, 0.4)):
        for colour in (white[i], pink[i], brown[i]):
            sounds.append(level * colour / (np.abs(colour).max() + 1e-9))
    for freq in (60.0, 220.0, 880.0, 3000.0, min(9000.0, nyq * 0.8)):
        sounds.append(0.3 * np.sin(2 * np.pi * freq * t))
    sweep_hi = nyq * 0.9
    phase = 2 * np.pi * (50 * t + (sweep_hi - 50) * t ** 2 / (2 * seconds))
    sounds.append(0.3 * np.sin(phase))
    clicks = np.zeros(n)
    clicks[:: max(1, sample_rate // 8)] = 0.8
    sounds.append(clicks)
    env = np.exp(-t / 0.15)
    sounds.append(0.8 * env * white[3] / np.abs(white[3]).max())
    sounds.append(0.4 * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)) * pink[4] / np.abs(pink[4]).max())
    sounds.append(0.3 * np.sign(np.sin(2 * np.pi * 150 * t)))
    sounds.append(0.2 * np.sin(2 * np.pi * 440 * t) + 0.05 * white[5] / np.abs(white[5]).max())
    sounds.append(np.zeros(n))
    while len(sounds) < count:
        k = len(sounds)
        sounds.append(0.2 * np.sin(2 * np.pi * (100 + 97 * k) * t) * env[::-1])
    return np.stack(sounds[:count]).astype(np.float32)


@torch.inference_mode()
def estimate_centre(model: AudioModel, windowing: Windowing) -> torch.Tensor:
    """The mean backbone embedding of ``probe_sounds``.

    Why centre at all: both backbones end in a ReLU (then a max or mean), so
    every embedding lies in the positive orthant and any two sounds have a
    cosine of 0.6-0.9 before projection: the shared mean direction dominates.
    Subtracting a mean leaves the part that tells sounds apart, which is what
    cosine ranking and a (random or trained) projection should see. The mean
    comes from a fixed synthetic set, never from the library being indexed, so
    a sound's embedding does not depend on what else is in the library and
    cached embeddings stay valid. A trained checkpoint stores the centre it
    was trained with instead.
    """
    sr = model.backbone.sample_rate
    seconds = min(windowing.window, max(windowing.minimum, int(2.5 * sr))) / sr
    probes = torch.from_numpy(probe_sounds(sr, seconds))
    device = model.centre.device
    embs = [model.embed_windows(probes[i:i + 8].to(device)).float() for i in range(0, len(probes), 8)]
    return torch.cat(embs).mean(dim=0)


# --------------------------------------------------------------------------- encoder

@dataclass
class AudioEncoder:
    """One loaded audio model on a device. ``encode*`` return L2-normalised
    float32 rows of ``embed_dim``."""

    name: str
    identity: str  # stable string for embedding caches
    clip_identity: str | None  # the ClipEncoder.identity it was trained for; None: untrained
    model: AudioModel
    device: torch.device
    config: dict = field(repr=False)
    windowing: Windowing = field(repr=False, default=None)

    def __post_init__(self):
        if self.windowing is None:
            self.windowing = _windowing(self.config, self.model.backbone)

    @property
    def embed_dim(self) -> int:
        return int(self.config["embed_dim"])

    @property
    def sample_rate(self) -> int:
        """The rate, in Hz, that ``encode`` expects."""
        return int(self.model.backbone.sample_rate)

    def encode(self, waveforms: list[np.ndarray], batch_size: int = 16) -> np.ndarray:
        """Mono float32 waveforms at ``sample_rate``, any lengths -> (N, embed_dim).

        A (channels, samples) array is mixed to mono. Windows of equal length
        from all sounds are batched together, ``batch_size`` at a time.
        """
        return self._embed(self._windows(waveforms), len(waveforms), batch_size)

    @torch.inference_mode()
    def encode_with_sound(self, waveforms: list[np.ndarray],
                          batch_size: int = 16) -> tuple[np.ndarray, np.ndarray]:
        """``encode``'s rows and, row for row, each sound's backbone
        embedding (pooled, centred as the projection sees it, L2-normalised),
        from one pass through the backbone.

        The backbone was trained on a large SFX library to tell sounds
        apart; the projection, trained on far fewer pairs and for pictures,
        loses some of that. Which sound another sounds like is asked of the
        backbone (``keys.nearest_tagged``): on the demo world's half-stripped
        library the nearest tagged sound was of the same class for 16 of 21
        untagged takes in the backbone's space, 12 after the projection.
        """
        if not waveforms:
            return (np.zeros((0, self.embed_dim), np.float32),
                    np.zeros((0, self.model.backbone.out_dim), np.float32))
        pooled = self._pool(self._windows(waveforms), len(waveforms), batch_size)
        return self._project(pooled), _normalise(pooled.float() - self.model.centre)

    def _windows(self, waveforms: list[np.ndarray]) -> list[tuple[int, np.ndarray]]:
        windows: list[tuple[int, np.ndarray]] = []
        for i, wave in enumerate(waveforms):
            mono = _mono(np.asarray(wave, dtype=np.float32))
            windows.extend((i, w) for w in self.windowing.cut(mono))
        return windows

    def encode_file(self, path: str | Path, offset: float = 0.0,
                    duration: float | None = None) -> np.ndarray:
        """(embed_dim,) for ``duration`` seconds of a sound file from
        ``offset`` seconds (default: to its end), mixed to mono.

        Only the windows the encoder uses are decoded, so a very long file
        costs ``max_windows`` windows of decoding. InputError if unreadable.
        """
        return self._embed(self._file_windows(path, offset, duration), 1, 16)[0]

    def pooled_file(self, path: str | Path, offset: float = 0.0,
                    duration: float | None = None) -> np.ndarray:
        """The backbone's pooled embedding of the sound, before centring and
        projection: what training a projection on a frozen backbone learns
        from (exactly the windows ``encode_file`` uses)."""
        windows = self._file_windows(path, offset, duration)
        return self._pool(windows, 1, 16)[0].cpu().numpy()

    def _file_windows(self, path: str | Path, offset: float,
                      duration: float | None) -> list[tuple[int, np.ndarray]]:
        sr = self.sample_rate
        info = audio_info(path)
        total = max(0.0, info.duration - offset)
        if duration is not None:
            total = min(total, max(0.0, duration))
        n = int(round(total * sr))
        win = self.windowing
        # Up to max_windows + 1 windows' worth: decode in one read.
        if n <= (win.max_windows + 1) * win.window:
            data = load_audio(path, sr=sr, offset=offset, duration=total)
            return [(0, w) for w in win.cut(_mono(np.asarray(data, np.float32)))]
        windows = []
        for start in win.starts(n):
            data = _mono(load_audio(path, sr=sr, offset=offset + start / sr, duration=win.window / sr))
            w = np.zeros(win.window, np.float32)
            w[:min(len(data), win.window)] = data[:win.window]
            windows.append((0, w))
        return windows

    @torch.inference_mode()
    def _embed(self, windows: list[tuple[int, np.ndarray]], count: int, batch_size: int) -> np.ndarray:
        if count == 0:
            return np.zeros((0, self.embed_dim), np.float32)
        return self._project(self._pool(windows, count, batch_size))

    def _project(self, pooled: torch.Tensor) -> np.ndarray:
        with self._autocast():
            return _normalise(self.model.project(pooled))

    @torch.inference_mode()
    def _pool(self, windows: list[tuple[int, np.ndarray]], count: int,
              batch_size: int) -> torch.Tensor:
        """(count, backbone dim): the mean backbone embedding of each owner's windows."""
        dim = self.model.backbone.out_dim
        sums = torch.zeros((count, dim), dtype=torch.float32, device=self.device)
        counts = torch.zeros(count, dtype=torch.float32, device=self.device)
        by_length: dict[int, list[int]] = {}
        for k, (_, w) in enumerate(windows):
            by_length.setdefault(len(w), []).append(k)
        batch_size = max(1, int(batch_size))
        for ks in by_length.values():
            for j in range(0, len(ks), batch_size):
                chunk = ks[j:j + batch_size]
                x = torch.from_numpy(np.stack([windows[k][1] for k in chunk]))
                x = torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0).to(self.device)
                with self._autocast():
                    emb = self.model.embed_windows(x).float()
                owners = torch.tensor([windows[k][0] for k in chunk], device=self.device)
                sums.index_add_(0, owners, emb)
                counts.index_add_(0, owners, torch.ones(len(chunk), device=self.device))
        return sums / counts.clamp_min(1.0)[:, None]

    def _autocast(self):
        # As ClipEncoder: fp16 on GPUs; CPUs stay fp32. The front ends switch
        # autocast off for themselves (STFT and log need fp32).
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.float16)
        return contextlib.nullcontext()


def _mono(data: np.ndarray) -> np.ndarray:
    if data.ndim == 1:
        return data
    if data.ndim == 2:
        return data.mean(axis=0, dtype=np.float32) if data.shape[0] > 1 else data[0]
    raise ValueError(f"expected a mono waveform or (channels, samples), got shape {data.shape}")


def check_compatible(audio: AudioEncoder, clip_identity: str, embed_dim: int | None = None) -> None:
    """Raise ModelError when ``audio`` was trained for another CLIP model than
    the one identified by ``clip_identity`` (its image space would not match),
    or (given the CLIP model's ``embed_dim``) embeds into another size. An
    untrained projection (``clip_identity`` None) fits any model of its size."""
    if embed_dim is not None and audio.embed_dim != embed_dim:
        raise ModelError(
            f"audio encoder '{audio.name}' embeds into {audio.embed_dim} dimensions, the CLIP "
            f"model into {embed_dim}", None,
            "use an audio encoder trained for this CLIP model ('autofoley train'), or --rank text")
    if audio.clip_identity is not None and audio.clip_identity != clip_identity:
        raise ModelError(
            f"audio encoder '{audio.name}' was trained for CLIP '{audio.clip_identity}', "
            f"not '{clip_identity}'", None,
            "use the CLIP model it was trained with (--clip-model), or an audio encoder "
            "trained for this one")


# --------------------------------------------------------------------------- checkpoints

def save_audio_encoder(path: str | Path, encoder_or_module: AudioEncoder | AudioModel,
                       config: dict | None, clip_identity: str | None,
                       backbone_weights: str | None = None, clip_model: str | None = None) -> None:
    """Write an audio model as .safetensors with its config in the metadata
    (backbone, config JSON, clip_identity, embed_dim), so that
    ``load_audio_encoder(path)`` rebuilds it without any other file.
    ``config`` may be None when an AudioEncoder is given (its own is used).

    ``backbone_weights``: the published backbone checkpoint the model's
    backbone was loaded from and left untouched (a path, or
    ``"aisfx-package"``). Only the rest (centre and projection, a few
    hundred kB) is written, with the backbone file's sha256; loading reads
    the backbone from that checkpoint again and refuses another one.
    ``clip_model``: the CLIP model's name, recorded for ``--register``.
    """
    from safetensors.torch import save_file

    from autofoley.atomic import atomic_path

    if isinstance(encoder_or_module, AudioEncoder):
        module, config = encoder_or_module.model, config or encoder_or_module.config
    else:
        module = encoder_or_module
    if config is None:
        raise ValueError("save_audio_encoder needs the model's config")
    out_dim = module.project(torch.zeros(1, module.backbone.out_dim,
                                         device=module.centre.device)).shape[-1]
    if out_dim != int(config["embed_dim"]):
        raise ValueError(f"config embed_dim {config['embed_dim']} but the model outputs {out_dim}")
    state = {k: v.detach().to("cpu").contiguous() for k, v in module.state_dict().items()}
    metadata = {
        "format": CHECKPOINT_FORMAT,
        "format_version": "1",
        "backbone": str(config["backbone"]),
        "config": json.dumps(config, sort_keys=True),
        "clip_identity": clip_identity or "",
        "embed_dim": str(int(config["embed_dim"])),
    }
    if clip_model:
        metadata["clip_model"] = clip_model
    if backbone_weights:
        state = {k: v for k, v in state.items() if not k.startswith("backbone.")}
        metadata.update({"backbone_weights": backbone_weights,
                         "backbone_sha256": file_sha256(resolve_backbone_ref(backbone_weights))})
    path = Path(path)
    with atomic_path(path, suffix=".safetensors") as tmp:
        save_file(state, str(tmp), metadata=metadata)


def load_audio_encoder(name_or_path: str | AudioSpec = "audio-tiny-cnn14",
                       device: str = "auto") -> AudioEncoder:
    """Build an audio encoder from a registry name, a ``.safetensors``
    checkpoint written by ``save_audio_encoder``, ``cnn14:/path/Cnn14.pth``
    (published PANNs weights) or ``aisfx`` (see ``registry.resolve_audio``).

    ``device``: ``auto`` (CUDA when present), ``cpu`` or ``cuda``.
    """
    spec = name_or_path if isinstance(name_or_path, AudioSpec) else resolve_audio(name_or_path)
    dev = pick_device(device)
    config = dict(spec.config)
    if spec.weights:
        model, sha = _load_checkpoint(spec, config)
        identity = f"{spec.name}|{sha[:16]}"
    else:
        model, weights_digest = _build_seeded(spec, config)
        identity = f"{spec.name}|{weights_digest}seed{spec.seed}"
    identity += f"|{_config_digest(config)}|v{ENCODER_VERSION}"
    model.to(dev).eval()
    encoder = AudioEncoder(spec.name, identity, spec.clip_identity, model, dev, config)
    if not spec.weights and config.get("centre") == "probe":
        model.centre.copy_(estimate_centre(model, encoder.windowing))
    return encoder


def _config_digest(config: dict) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:12]


def _build_seeded(spec: AudioSpec, config: dict) -> tuple[AudioModel, str]:
    """A model from its config: published backbone weights when the spec has
    them, everything else (projection, or all of a test model) drawn from the
    spec's seed."""
    state, digest = None, ""
    if spec.backbone_weights:
        path = Path(spec.backbone_weights)
        if not path.is_file():
            raise ModelError("backbone checkpoint not found", path, "check the path")
        state = _read_published(spec.backbone, path)
        try:
            shapes = published_shapes(spec.backbone, state)
        except ValueError as exc:
            raise ModelError(str(exc), path, f"pass a {spec.backbone} checkpoint") from None
        config["backbone_config"] = {**config.get("backbone_config", {}), **shapes}
        digest = file_sha256(path)[:16] + "|"
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec.seed)  # random weights, but the same ones every run
        try:
            model = AudioModel(config)
        except (ValueError, TypeError, KeyError) as exc:
            raise ModelError(f"bad audio model config: {exc}", spec.config_path,
                             "fix the config") from None
    if state is not None:
        try:
            load_published(model.backbone, state)
        except ValueError as exc:
            raise ModelError(f"checkpoint does not fit the {spec.backbone} backbone: {exc}",
                             spec.backbone_weights, f"pass the published {spec.backbone} "
                             "checkpoint, or a config that matches it") from None
    return model, digest


def _read_published(backbone: str, path: Path) -> dict:
    try:
        return read_published(backbone, path)
    except pickle.UnpicklingError:
        raise ModelError("checkpoint holds Python objects besides tensors; it is not unpickled "
                         "for safety", path,
                         "re-save only its state_dict, or convert it to .safetensors") from None
    except (OSError, RuntimeError, ValueError, EOFError) as exc:
        first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise ModelError(f"cannot read checkpoint: {first}", path,
                         f"pass a {backbone} checkpoint file") from None


def _load_checkpoint(spec: AudioSpec, config: dict) -> tuple[AudioModel, str]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(spec.weights)
    sha = spec.sha256 or file_sha256(path)
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise ModelError(f"cannot read checkpoint: {exc}", path, "pass a .safetensors file "
                         "written by autofoley") from None
    if spec.backbone_weights:
        # A head-only checkpoint: the published backbone first, then ours.
        model, _ = _build_seeded(spec, config)
        state = {**{k: v for k, v in model.state_dict().items() if k.startswith("backbone.")},
                 **state}
    try:
        if not spec.backbone_weights:
            model = AudioModel(config)
        model.load_state_dict(state, strict=True)
    except (RuntimeError, ValueError, TypeError, KeyError) as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        raise ModelError(f"checkpoint does not match its config: {' '.join(lines[:2])[:200]}",
                         path, "re-save it with save_audio_encoder") from None
    return model, sha


def resolve_backbone_ref(ref: str) -> Path:
    """The file a head-only checkpoint's ``backbone_weights`` names."""
    from autofoley.models.registry import resolve_backbone_weights

    return Path(resolve_backbone_weights(ref))


def load_audio_for(name_or_path: str | AudioSpec, clip, device: str | None = None) -> AudioEncoder:
    """The audio encoder ``name_or_path``, checked against the loaded CLIP
    model ``clip`` (``check_for``); on ``clip``'s device unless ``device``
    says otherwise."""
    audio = load_audio_encoder(name_or_path, device=device or str(clip.device))
    check_for(audio, clip)
    return audio


def check_for(audio: AudioEncoder, clip) -> None:
    """Refuse ``audio`` when it was trained for another image space or size
    than ``clip``'s; warn when its projection is untrained (it then ranks
    sounds against frames no better than chance)."""
    check_compatible(audio, clip.identity, clip.embed_dim)
    if audio.clip_identity is None:
        log.warning("audio encoder '%s' has an untrained projection: it ranks sounds against "
                    "frames no better than chance (train one with 'autofoley train')", audio.name)
