"""PANNs Cnn14 (Kong et al., 2020) with its log-mel front end, written here.

The published AudioSet checkpoint (``Cnn14_mAP=0.431.pth``) loads onto this
module through ``map_panns_state_dict``: its key names differ from ours, and
its STFT / mel buffers are recomputed here (checked against the file, not
trusted from it), so nothing of the original package is imported.
"""

from __future__ import annotations

import math
import re

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def slaney_mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float,
                          fmax: float) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular filters on the Slaney mel scale,
    each scaled to unit area: the filterbank PANNs was trained with."""
    f_lin = 200.0 / 3.0  # Hz per mel below the break
    brk_hz = 1000.0
    brk_mel = brk_hz / f_lin
    log_step = math.log(6.4) / 27.0

    def to_mel(hz: np.ndarray) -> np.ndarray:
        hz = np.asarray(hz, np.float64)
        with np.errstate(divide="ignore"):
            high = brk_mel + np.log(np.maximum(hz, 1e-9) / brk_hz) / log_step
        return np.where(hz >= brk_hz, high, hz / f_lin)

    def to_hz(mel: np.ndarray) -> np.ndarray:
        mel = np.asarray(mel, np.float64)
        return np.where(mel >= brk_mel, brk_hz * np.exp(log_step * (mel - brk_mel)), mel * f_lin)

    edges = to_hz(np.linspace(to_mel(fmin), to_mel(fmax), n_mels + 2))
    bins = np.linspace(0.0, sample_rate / 2.0, n_fft // 2 + 1)
    left, centre, right = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rise = (bins[None, :] - left) / (centre - left)
    fall = (right - bins[None, :]) / (right - centre)
    weights = np.maximum(0.0, np.minimum(rise, fall))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights.astype(np.float32)


class ConvBlock(nn.Module):
    """Two 3x3 conv + batch-norm + ReLU, then an optional 2x2 pooling."""

    def __init__(self, c_in: int, c_out: int, pool: str = "avg"):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.pool = pool

    def forward(self, x: torch.Tensor, pool: bool = True) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        if not pool:
            return x
        return F.avg_pool2d(x, 2) if self.pool == "avg" else F.max_pool2d(x, 2)


class Cnn14(nn.Module):
    """Waveforms (B, samples) at ``sample_rate`` -> (B, embed_size) embeddings.

    Defaults are the published model (32 kHz, 64 mels, 50-14000 Hz, widths
    64..2048). Time and mel axes are each halved five times, so an input needs
    at least 32 frames and 32 mel bands.
    """

    name = "cnn14"

    def __init__(self, sample_rate: int = 32000, n_fft: int = 1024, hop: int = 320,
                 n_mels: int = 64, fmin: float = 50.0, fmax: float = 14000.0,
                 channels: tuple[int, ...] = (64, 128, 256, 512, 1024, 2048),
                 embed_size: int = 2048):
        super().__init__()
        if len(channels) != 6:
            raise ValueError("cnn14 needs 6 channel widths")
        if n_mels < 32:
            raise ValueError("cnn14 halves the mel axis 5 times: it needs n_mels >= 32")
        self.sample_rate, self.n_fft, self.hop, self.n_mels = int(sample_rate), int(n_fft), int(hop), int(n_mels)
        # Front-end constants are not state: they are rebuilt from the config,
        # so a checkpoint never has to carry (or be trusted for) them.
        self.register_buffer("window", torch.hann_window(self.n_fft, periodic=True), persistent=False)
        self.register_buffer("mel_fb", torch.from_numpy(
            slaney_mel_filterbank(self.sample_rate, self.n_fft, self.n_mels, fmin, fmax)),
            persistent=False)
        self.mel_norm = nn.BatchNorm2d(self.n_mels)  # one normaliser per mel band
        widths = [1, *channels]
        self.blocks = nn.ModuleList(ConvBlock(a, b, "avg") for a, b in zip(widths[:-1], widths[1:]))
        self.fc = nn.Linear(channels[-1], embed_size)
        self.out_dim = int(embed_size)
        # 32 STFT frames survive the five time poolings; reflect padding needs > n_fft / 2.
        self.min_samples = max(31 * self.hop + 1, self.n_fft // 2 + 1)

    def features(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, samples) -> log-mel power in dB, (B, frames, mels), float32."""
        spec = torch.stft(wave.float(), self.n_fft, self.hop, window=self.window, center=True,
                          pad_mode="reflect", return_complex=True)
        power = spec.real.square() + spec.imag.square()  # (B, freq, frames)
        mel = torch.matmul(self.mel_fb, power)  # (B, mels, frames)
        return (10.0 * torch.log10(mel.clamp_min(1e-10))).transpose(1, 2)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        with torch.autocast(wave.device.type, enabled=False):
            x = self.features(wave)
        x = self.mel_norm(x.transpose(1, 2).unsqueeze(-1)).squeeze(-1).transpose(1, 2)
        x = x.unsqueeze(1)  # (B, 1, frames, mels)
        last = len(self.blocks) - 1
        for i, block in enumerate(self.blocks):
            x = block(x, pool=i < last)
        x = x.mean(dim=3)  # over mels: (B, C, frames)
        x = x.amax(dim=2) + x.mean(dim=2)  # over time: peak and average together
        return F.relu(self.fc(x))


_BLOCK_KEY = re.compile(r"^conv_block(\d+)\.(.+)$")
_FRONT_END_PREFIXES = ("spectrogram_extractor.", "logmel_extractor.")


def panns_shapes(state: dict) -> dict:
    """The Cnn14 settings a published-layout state_dict implies: channel
    widths, mel bands, embedding size and FFT size. Raises ValueError when the
    keys are not a Cnn14's."""
    try:
        channels = [int(state[f"conv_block{i}.conv1.weight"].shape[0]) for i in range(1, 7)]
        out = {"channels": channels, "n_mels": int(state["bn0.weight"].shape[0]),
               "embed_size": int(state["fc1.weight"].shape[0])}
    except KeyError as exc:
        raise ValueError(f"not a PANNs Cnn14 state_dict (no {exc.args[0]})") from None
    if "conv_block7.conv1.weight" in state:
        raise ValueError("not a PANNs Cnn14 state_dict (more than 6 conv blocks)")
    mel = state.get("logmel_extractor.melW")
    if mel is not None:
        out["n_fft"] = (int(mel.shape[0]) - 1) * 2
    return out


def map_panns_state_dict(state: dict, model: Cnn14) -> dict:
    """Rename a published Cnn14 state_dict (``bn0``, ``conv_blockN``, ``fc1``)
    onto ``model``'s names. The AudioSet classifier is dropped; the STFT and
    mel buffers are dropped after checking they match our front end (a
    checkpoint for another rate or mel count must not load silently)."""
    mapped: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if key.startswith("fc_audioset."):
            continue
        if key.startswith(_FRONT_END_PREFIXES):
            if key == "logmel_extractor.melW":
                want = model.mel_fb.T
                if tuple(value.shape) != tuple(want.shape):
                    raise ValueError(f"its mel filterbank is {tuple(value.shape)}, this config's "
                                     f"{tuple(want.shape)}")
                # Same scale up to float rounding; a checkpoint built with other
                # fmin/fmax (or an HTK scale) differs by far more than this.
                if not torch.allclose(value.float(), want.cpu(), atol=1e-4, rtol=1e-3):
                    raise ValueError("its mel filterbank differs from this config's "
                                     "(another sample rate, fmin or fmax)")
            continue
        if key.startswith("bn0."):
            mapped["mel_norm." + key[4:]] = value
        elif key.startswith("fc1."):
            mapped["fc." + key[4:]] = value
        elif m := _BLOCK_KEY.match(key):
            mapped[f"blocks.{int(m.group(1)) - 1}.{m.group(2)}"] = value
        else:
            raise ValueError(f"unexpected key '{key}'")
    return mapped


def to_panns_state_dict(model: Cnn14) -> dict:
    """Our state_dict under the published key names (the inverse of
    ``map_panns_state_dict``, without the classifier): for tests and export."""
    out = {}
    for key, value in model.state_dict().items():
        if key.startswith("mel_norm."):
            out["bn0." + key[9:]] = value
        elif key.startswith("fc."):
            out["fc1." + key[3:]] = value
        else:
            _, index, rest = key.split(".", 2)
            out[f"conv_block{int(index) + 1}.{rest}"] = value
    out["logmel_extractor.melW"] = model.mel_fb.T.clone()
    return out
