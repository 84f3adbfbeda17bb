"""The aiSFX embedding network (Ma & Lerch, ISMIR 2022), written here.

aiSFX ships a checkpoint trained to classify professional SFX libraries into
UCS categories; its 512-d embedding (the pooled output of the conv stack,
before the per-library classifiers) describes SFX well. Its own package pins
2022 dependencies (numpy 1.23, librosa 0.9), so it is never imported: this
module rebuilds the network and its front end, and ``load_aisfx_checkpoint``
reads the file with ``torch.load(weights_only=True)``.

Front end, as in the paper (Essentia): 44.1 kHz mono, 2048-sample Hann frames
every 1024 samples, power spectrum into 96 HTK-mel triangles (linear in mel,
each summing to 1) from 0 Hz to Nyquist, ``log10(1e4 x + 1)`` scaled by the
training set's maximum, blocks of 100 frames (about 2.3 s) shaped
(time, mels). aiSFX's own librosa helper returns (mels, time) and its blocking
then cuts along the wrong axis; here frames are always the time axis.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch
from torch import nn

from autofoley.models.registry import aisfx_checkpoint as installed_checkpoint  # noqa: F401

from .cnn14 import ConvBlock

# The maximum of the log-compressed mel values over the paper's training sets
# (aiSFX ``spectrogram_normalize``, mode 'original'): inputs are divided by it.
LOG_MEL_MAX = 9.457798957824707


def htk_mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float,
                       fmax: float) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangles on the HTK mel scale whose slopes are
    linear in mel (Essentia's 'warping' weighting), each row summing to 1."""
    def to_mel(hz):
        return 2595.0 * np.log10(1.0 + np.asarray(hz, np.float64) / 700.0)

    edges_mel = np.linspace(to_mel(fmin), to_mel(fmax), n_mels + 2)
    bins_mel = to_mel(np.linspace(0.0, sample_rate / 2.0, n_fft // 2 + 1))
    left, centre, right = edges_mel[:-2, None], edges_mel[1:-1, None], edges_mel[2:, None]
    rise = (bins_mel[None, :] - left) / (centre - left)
    fall = (right - bins_mel[None, :]) / (right - centre)
    weights = np.maximum(0.0, np.minimum(rise, fall))
    sums = weights.sum(axis=1, keepdims=True)
    weights = np.divide(weights, sums, out=np.zeros_like(weights), where=sums > 0)
    return weights.astype(np.float32)


class AisfxNet(nn.Module):
    """Waveforms (B, samples) -> (B, 4 * base_channels) non-negative embeddings.

    Four conv blocks (widths base, 2x, 4x, 8x; max-pooled 2x2 after the first
    three), mean over mel bands, max over time. Defaults are the published
    model (6.2 M parameters, 512-d).
    """

    name = "aisfx"

    def __init__(self, sample_rate: int = 44100, n_fft: int = 2048, hop: int = 1024,
                 n_mels: int = 96, fmin: float = 0.0, fmax: float = 22050.0,
                 base_channels: int = 64, block_frames: int = 100,
                 log_mel_max: float = LOG_MEL_MAX):
        super().__init__()
        self.sample_rate, self.n_fft, self.hop, self.n_mels = int(sample_rate), int(n_fft), int(hop), int(n_mels)
        self.block_frames = int(block_frames)
        self.log_mel_max = float(log_mel_max)
        if self.n_mels < 8 or self.block_frames < 8:
            raise ValueError("aisfx halves time and mel axes 3 times: it needs >= 8 of each")
        # Essentia's Hann window is the symmetric one.
        self.register_buffer("window", torch.hann_window(self.n_fft, periodic=False), persistent=False)
        self.register_buffer("mel_fb", torch.from_numpy(
            htk_mel_filterbank(self.sample_rate, self.n_fft, self.n_mels, fmin, fmax)),
            persistent=False)
        widths = [1] + [base_channels * 2 ** i for i in range(4)]
        self.blocks = nn.ModuleList(ConvBlock(a, b, "max") for a, b in zip(widths[:-1], widths[1:]))
        self.out_dim = widths[-1]
        # A centred STFT of (block_frames - 1) * hop samples has exactly block_frames frames.
        self.block_samples = (self.block_frames - 1) * self.hop
        self.min_samples = self.block_samples

    def features(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, samples) -> compressed mel power, (B, frames, mels), in [0, ~1]."""
        # Zero padding at the edges, like Essentia's FrameCutter: silence
        # outside the sound, not a mirror of it.
        spec = torch.stft(wave.float(), self.n_fft, self.hop, window=self.window, center=True,
                          pad_mode="constant", return_complex=True)
        power = spec.real.square() + spec.imag.square()  # (B, freq, frames)
        mel = torch.matmul(self.mel_fb, power)
        mel = torch.log10(mel * 1e4 + 1.0) / self.log_mel_max
        return mel.transpose(1, 2)  # (B, frames, mels): time first, as the network expects

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        with torch.autocast(wave.device.type, enabled=False):
            x = self.features(wave)
        x = x.unsqueeze(1)  # (B, 1, frames, mels)
        last = len(self.blocks) - 1
        for i, block in enumerate(self.blocks):
            x = block(x, pool=i < last)
        x = x.mean(dim=3)  # over mels
        return x.amax(dim=2)  # over time


def _numpy_globals() -> list:
    """The only non-tensor globals the checkpoint holds: its dataset table
    stores numpy int64 indices, pickled as numpy scalars with their dtype."""
    try:
        from numpy._core import multiarray  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray
    scalar = multiarray.scalar
    out: list = [np.dtype]
    # The file names numpy.core.multiarray.scalar; under numpy 2 that object
    # lives in numpy._core, so it is allowed under the name the file uses.
    if scalar.__module__ == "numpy.core.multiarray":
        out.append(scalar)
    else:
        out.append((scalar, "numpy.core.multiarray.scalar"))
    dtypes = getattr(np, "dtypes", None)  # numpy >= 1.25 pickles a dtype by its class
    if dtypes is not None:
        out.append(dtypes.Int64DType)
    return out


def load_aisfx_checkpoint(path: str | Path) -> dict:
    """The raw state_dict of an aiSFX checkpoint (a (state_dict, datasets)
    tuple), loaded with ``weights_only=True``. Raises pickle.UnpicklingError
    when it holds anything beyond tensors and numpy integers."""
    with torch.serialization.safe_globals(_numpy_globals()):
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    if isinstance(obj, (tuple, list)) and obj and isinstance(obj[0], dict):
        obj = obj[0]
    if not isinstance(obj, dict):
        raise ValueError("not an aiSFX checkpoint (expected a state_dict)")
    return obj


_BLOCK_KEY = re.compile(r"^(?:embedding_net\.)?conv_block(\d+)\.(.+)$")


def map_aisfx_state_dict(state: dict) -> dict:
    """Rename ``embedding_net.conv_blockN.*`` onto ``blocks.{N-1}.*``; the
    per-library UCS classifiers (``fc.*``) are dropped."""
    mapped = {}
    for key, value in state.items():
        if key.startswith("fc."):
            continue
        m = _BLOCK_KEY.match(key)
        if not m:
            raise ValueError(f"unexpected key '{key}'")
        mapped[f"blocks.{int(m.group(1)) - 1}.{m.group(2)}"] = value
    return mapped
