"""The audio encoder: shapes, batching, long files, checkpoints, refusals."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import soundfile as sf
import torch

from autofoley.errors import ModelError
from autofoley.models.audio import (
    AudioModel,
    check_compatible,
    load_audio_encoder,
    save_audio_encoder,
)
from autofoley.models.backbones import AisfxNet, Cnn14, load_published, read_published
from autofoley.models.backbones.aisfx import installed_checkpoint
from autofoley.models.backbones.cnn14 import to_panns_state_dict
from autofoley.models.registry import models_dir, resolve_audio


@pytest.fixture(scope="module", params=["audio-tiny-cnn14", "audio-tiny-aisfx"])
def tiny(request):
    return load_audio_encoder(request.param, device="cpu")


@pytest.fixture(scope="module")
def tiny_cnn14():
    return load_audio_encoder("audio-tiny-cnn14", device="cpu")


def _noise(sr: float, seconds: float, seed: int = 0, level: float = 0.1) -> np.ndarray:
    return (level * np.random.default_rng(seed).standard_normal(int(sr * seconds))).astype(np.float32)


def _sine(sr: float, seconds: float, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_shape_and_normalised(tiny):
    sr = tiny.sample_rate
    waves = [_noise(sr, 0.05), _sine(sr, 1.0), _noise(sr, 5.0, 1), np.zeros(0, np.float32)]
    emb = tiny.encode(waves)
    assert emb.shape == (4, tiny.embed_dim) and emb.dtype == np.float32
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    assert tiny.encode([]).shape == (0, tiny.embed_dim)
    assert tiny.clip_identity == resolve_audio(tiny.name).clip_identity is not None


def test_batch_equals_alone(tiny):
    """Padding depends on a sound's own length only: batching never leaks."""
    sr = tiny.sample_rate
    waves = [_noise(sr, d, i) for i, d in enumerate((0.07, 0.4, 1.1, 1.9, 2.6, 9.0))]
    together = tiny.encode(waves, batch_size=4)
    alone = np.stack([tiny.encode([w], batch_size=1)[0] for w in waves])
    assert np.allclose(together, alone, atol=1e-5)


def test_encode_with_sound_gives_the_vectors_and_the_centred_backbone_embeddings(tiny):
    sr = tiny.sample_rate
    waves = [_noise(sr, 0.3), _sine(sr, 1.2), _noise(sr, 2.5, 2)]
    vectors, sounds = tiny.encode_with_sound(waves, batch_size=2)
    assert np.allclose(vectors, tiny.encode(waves), atol=1e-5)
    assert sounds.shape == (3, tiny.model.backbone.out_dim) and sounds.dtype == np.float32
    for wave, heard in zip(waves, sounds):
        pooled = tiny._pool(tiny._windows([wave]), 1, 16)[0] - tiny.model.centre
        assert np.allclose(heard, (pooled / pooled.norm()).numpy(), atol=1e-5)
    empty = tiny.encode_with_sound([])
    assert empty[0].shape == (0, tiny.embed_dim) and empty[1].shape == (0, sounds.shape[1])


def test_stereo_is_mixed_to_mono(tiny):
    mono = _sine(tiny.sample_rate, 1.0)
    stereo = np.stack([mono, mono])
    assert np.allclose(tiny.encode([stereo]), tiny.encode([mono]), atol=1e-6)


def test_encode_file_matches_encode(tiny, tmp_path):
    sr = tiny.sample_rate
    wave = _noise(sr, 1.5, 3)
    path = tmp_path / "a.wav"
    sf.write(path, np.stack([wave, wave]).T, sr, subtype="FLOAT")
    assert np.allclose(tiny.encode_file(path), tiny.encode([wave])[0], atol=1e-5)
    part = tiny.encode_file(path, offset=0.5, duration=0.5)
    assert np.allclose(part, tiny.encode([wave[sr // 2: sr]])[0], atol=1e-5)


def test_hour_long_file_is_bounded(tiny_cnn14, tmp_path):
    """A 1 h file: only max_windows windows are decoded and embedded."""
    enc = tiny_cnn14
    path = tmp_path / "hour.wav"
    rate = 8000  # stored at a low rate; decoded and resampled per window
    with sf.SoundFile(path, "w", samplerate=rate, channels=1, subtype="PCM_16") as f:
        block = (0.05 * np.random.default_rng(0).standard_normal(rate * 60)).astype(np.float32)
        for _ in range(60):
            f.write(block)
    start = time.perf_counter()
    emb = enc.encode_file(path)
    elapsed = time.perf_counter() - start
    assert emb.shape == (enc.embed_dim,) and np.isfinite(emb).all()
    assert elapsed < 5.0, f"1 h file took {elapsed:.1f} s"
    assert len(enc.windowing.starts(3600 * enc.sample_rate)) == enc.windowing.max_windows


def test_window_plan():
    from autofoley.models.audio import Windowing

    w = Windowing(window=100, quantum=25, minimum=30, max_windows=4)
    assert [len(x) for x in w.cut(np.ones(10, np.float32))] == [30]
    assert [len(x) for x in w.cut(np.ones(60, np.float32))] == [75]
    assert w.starts(230) == [0, 100]  # 30 left over: under half a window, dropped
    assert w.starts(260) == [0, 100, 160]  # 60 left over: a window flush with the end
    assert w.starts(10_000) == [0, 3300, 6600, 9900]  # capped, evenly spread


def test_aisfx_architecture_tiny_and_full():
    net = AisfxNet(sample_rate=16000, n_fft=512, hop=256, n_mels=16, base_channels=8, block_frames=32)
    x = torch.from_numpy(np.stack([_noise(16000, 0.5), _sine(16000, 0.5)]))[:, :net.block_samples]
    feats = net.features(x)
    assert feats.shape == (2, 32, 16)  # (batch, time frames, mels): time first
    out = net(x)
    assert out.shape == (2, 64) and (out >= 0).all()
    full = AisfxNet()
    assert full.out_dim == 512 and full.block_samples == 99 * 1024
    assert sum(p.numel() for p in full.parameters()) == 4_686_144  # + 1.5 M of UCS heads = 6.2 M


def _published_cnn14(tmp_path, **extra):
    """A tiny Cnn14 saved under the published PANNs key names and layout."""
    torch.manual_seed(5)
    net = Cnn14(channels=(4, 8, 8, 16, 16, 32), embed_size=24)  # published front end, 64 mels
    for m in net.modules():  # non-trivial running statistics, so a mix-up shows
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
    state = to_panns_state_dict(net)
    state["fc_audioset.weight"] = torch.randn(527, 24)
    state["fc_audioset.bias"] = torch.zeros(527)
    state["spectrogram_extractor.stft.conv_real.weight"] = torch.zeros(513, 1, 1024)
    state["spectrogram_extractor.stft.conv_imag.weight"] = torch.zeros(513, 1, 1024)
    state.update(extra)
    path = tmp_path / "Cnn14_tiny.pth"
    torch.save({"model": state, "sampling_rate": 32000}, path)
    return net.eval(), path


def test_cnn14_published_keys_load(tmp_path):
    net, path = _published_cnn14(tmp_path)
    state = read_published("cnn14", path)
    assert "conv_block6.bn2.running_var" in state and "bn0.weight" in state
    fresh = Cnn14(channels=(4, 8, 8, 16, 16, 32), embed_size=24).eval()
    load_published(fresh, state)
    wave = torch.from_numpy(_noise(32000, 1.0)[None])
    with torch.inference_mode():
        assert torch.allclose(fresh(wave), net(wave), atol=1e-5)
    # Through the public loader: widths come from the checkpoint's shapes.
    enc = load_audio_encoder(f"cnn14:{path}", device="cpu")
    assert enc.clip_identity is None and enc.sample_rate == 32000
    assert enc.config["backbone_config"]["channels"] == [4, 8, 8, 16, 16, 32]
    with torch.inference_mode():
        assert torch.allclose(enc.model.backbone(wave), net(wave), atol=1e-5)


def test_cnn14_mismatched_filterbank_refused(tmp_path):
    _, path = _published_cnn14(tmp_path, **{"logmel_extractor.melW": torch.rand(513, 64)})
    with pytest.raises(ModelError, match="mel filterbank"):
        load_audio_encoder(f"cnn14:{path}", device="cpu")


class _Payload:
    pass


def test_non_tensor_pickle_refused(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"model": {"x": _Payload()}}, path)
    with pytest.raises(ModelError, match="besides tensors") as info:
        load_audio_encoder(f"cnn14:{path}", device="cpu")
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_clip_identity_mismatch_refused(tiny_cnn14):
    check_compatible(tiny_cnn14, tiny_cnn14.clip_identity)
    with pytest.raises(ModelError, match="trained for CLIP"):
        check_compatible(tiny_cnn14, "ViT-B-32|laion2b_s34b_b79k")


def test_save_load_round_trip(tiny, tmp_path):
    path = tmp_path / "trained.safetensors"
    save_audio_encoder(path, tiny, tiny.config, tiny.clip_identity)
    again = load_audio_encoder(str(path), device="cpu")
    sr = tiny.sample_rate
    waves = [_noise(sr, 0.3), _sine(sr, 2.5)]
    assert np.array_equal(again.encode(waves), tiny.encode(waves))
    assert again.clip_identity == tiny.clip_identity and again.embed_dim == tiny.embed_dim
    assert torch.equal(again.model.centre, tiny.model.centre)
    # A bare module with an explicit config saves the same way.
    other = tmp_path / "module.safetensors"
    save_audio_encoder(other, tiny.model, tiny.config, None)
    assert load_audio_encoder(str(other), device="cpu").clip_identity is None


def test_seeded_weights_are_reproducible():
    a = load_audio_encoder("audio-tiny-aisfx", device="cpu")
    b = load_audio_encoder("audio-tiny-aisfx", device="cpu")
    w = [_noise(a.sample_rate, 1.0)]
    assert a.identity == b.identity and np.array_equal(a.encode(w), b.encode(w))


def test_sha256_mismatch_refused(tiny_cnn14, tmp_path, monkeypatch):
    from autofoley.models import registry

    folder = tmp_path / "models"
    (folder / "configs").mkdir(parents=True)
    save_audio_encoder(folder / "audio-x.safetensors", tiny_cnn14, None, tiny_cnn14.clip_identity)
    reg = {"audio": {"audio-x": {"config": "configs/audio-tiny-cnn14.json",
                                 "weights": "audio-x.safetensors", "sha256": "0" * 64,
                                 "projection_trained": False}}}
    (folder / "registry.json").write_text(json.dumps(reg))
    (folder / "configs" / "audio-tiny-cnn14.json").write_text(
        (models_dir() / "configs" / "audio-tiny-cnn14.json").read_text())
    monkeypatch.setattr(registry, "models_dir", lambda: folder)
    with pytest.raises(ModelError, match="sha256"):
        load_audio_encoder("audio-x", device="cpu")
    reg["audio"]["audio-x"]["sha256"] = registry.file_sha256(folder / "audio-x.safetensors")
    (folder / "registry.json").write_text(json.dumps(reg))
    assert load_audio_encoder("audio-x", device="cpu").embed_dim == 64


def test_bad_names_and_files_refused(tmp_path):
    with pytest.raises(ModelError, match="unknown audio model"):
        load_audio_encoder("no-such-model")
    with pytest.raises(ModelError, match="not found"):
        load_audio_encoder(f"cnn14:{tmp_path / 'missing.pth'}")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="safetensors"):
        load_audio_encoder(str(junk))


def test_module_forward_matches_encoder(tiny):
    """What a trainer would call (AudioModel) equals what encode() returns."""
    model: AudioModel = tiny.model
    wave = _noise(tiny.sample_rate, 0.8)
    windows = torch.from_numpy(np.stack(tiny.windowing.cut(wave)))
    with torch.inference_mode():
        out = model.project(model.embed_windows(windows).mean(dim=0, keepdim=True))
    out = (out / out.norm(dim=-1, keepdim=True)).numpy()
    assert np.allclose(out, tiny.encode([wave]), atol=1e-5)


needs_aisfx = pytest.mark.skipif(installed_checkpoint() is None,
                                 reason="aisfx wheel not installed (pip install --no-deps aisfx)")


@needs_aisfx
def test_real_aisfx_checkpoint():
    path = installed_checkpoint()
    state = read_published("aisfx", path)  # weights_only, numpy scalars allowed by name
    assert state["embedding_net.conv_block4.conv2.weight"].shape == (512, 512, 3, 3)
    enc = load_audio_encoder("aisfx", device="cpu")
    assert enc.clip_identity is None and enc.embed_dim == 512 and enc.sample_rate == 44100
    sr = enc.sample_rate
    t = np.arange(int(sr * 2.0)) / sr
    burst = (np.random.default_rng(0).standard_normal(len(t)) * np.exp(-t / 0.2) * 0.5).astype(np.float32)
    sine = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    emb = enc.encode([burst, sine, burst.copy()])
    assert np.allclose(emb[0], emb[2], atol=1e-6)
    assert float(emb[0] @ emb[1]) < 0.9
    # The backbone is the published one, not random: its raw embeddings are
    # non-negative and its front end stays in the trained range.
    with torch.inference_mode():
        x = torch.from_numpy(np.stack([burst, sine])[:, :enc.model.backbone.block_samples])
        assert float(enc.model.backbone.features(x).max()) < 1.2
        assert (enc.model.backbone(x) >= 0).all()
