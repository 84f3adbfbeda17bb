"""Model registry and CLIP loading: shipped test model, configs, checkpoints,
and one-line errors for what a user can get wrong. No network."""

import json

import numpy as np
import pytest
import torch

from autofoley.errors import ModelError
from autofoley.models.clip import load_clip
from autofoley.models.registry import models_dir, resolve_clip


def test_tiny_model_is_deterministic_and_normalised():
    a, b = load_clip("autofoley-tiny", device="cpu"), load_clip("autofoley-tiny", device="cpu")
    pixels = np.random.default_rng(0).integers(0, 255, (5, a.image_size, a.image_size, 3), np.uint8)
    ea, eb = a.encode_images(pixels), b.encode_images(pixels)
    assert ea.shape == (5, a.embed_dim) and np.allclose(ea, eb)
    assert np.allclose(np.linalg.norm(ea, axis=1), 1, atol=1e-5)
    t = a.encode_texts(["a dog barking", "glass shatter"])
    assert t.shape == (2, a.embed_dim) and not np.allclose(t[0], t[1])


def test_image_batches_do_not_change_results():
    enc = load_clip("autofoley-tiny", device="cpu")
    pixels = np.random.default_rng(1).integers(0, 255, (9, 64, 64, 3), np.uint8)
    whole = enc.encode_images(pixels)
    parts = np.concatenate([enc.encode_images(pixels[:4]), enc.encode_images(pixels[4:])])
    assert np.allclose(whole, parts, atol=1e-5)


def test_custom_config_with_local_safetensors(tmp_path):
    from safetensors.torch import save_file

    cfg = json.loads((models_dir() / "configs" / "autofoley-tiny.json").read_text())
    cfg_path = tmp_path / "my-clip.json"
    cfg_path.write_text(json.dumps(cfg))
    ref = load_clip("autofoley-tiny", device="cpu")
    ckpt = tmp_path / "my-clip.safetensors"
    save_file({k: v.contiguous() for k, v in ref.model.state_dict().items()}, str(ckpt))
    mine = load_clip(str(cfg_path), str(ckpt), device="cpu")
    pixels = np.zeros((1, 64, 64, 3), np.uint8)
    assert np.allclose(mine.encode_images(pixels), ref.encode_images(pixels), atol=1e-6)
    assert mine.identity != ref.identity


class Payload:
    """Stands for any object a malicious pickle could carry."""


def test_pickle_checkpoints_load_weights_only(tmp_path):
    ref = load_clip("autofoley-tiny", device="cpu")
    ckpt = tmp_path / "state.pt"
    torch.save({"state_dict": ref.model.state_dict(), "evil": Payload()}, ckpt)
    # A pickle holding arbitrary objects is refused (weights_only=True).
    with pytest.raises(ModelError):
        load_clip("autofoley-tiny", str(ckpt), device="cpu")


def test_unknown_model_and_tag_errors_are_one_line():
    with pytest.raises(ModelError, match="unknown CLIP model") as e:
        resolve_clip("ViT-Nope-99")
    assert "\n" not in str(e.value)
    with pytest.raises(ModelError, match="neither a pretrained tag"):
        resolve_clip("ViT-B-32", "no_such_tag")
    with pytest.raises(ModelError, match="checkpoint not found"):
        resolve_clip("ViT-B-32", "/nowhere/weights.safetensors")


def test_absent_weights_fail_fast_with_remedy(monkeypatch):
    import huggingface_hub.constants as c

    monkeypatch.setattr(c, "HF_HUB_OFFLINE", True)  # never touch the network
    monkeypatch.setenv("HF_HOME", "/nonexistent-autofoley-test")
    with pytest.raises(ModelError) as e:
        load_clip("ViT-B-32", device="cpu")
    text = str(e.value)
    assert "laion2b_s34b_b79k" in text and "--clip-pretrained" in text and "\n" not in text


def test_random_weights_for_timing():
    spec = resolve_clip("ViT-B-32", "none")
    assert spec.pretrained is None


def test_sentences_are_encoded_only_up_to_their_end_exactly():
    """The text tower runs to the batch's longest sentence, not the whole
    77-token context; the embeddings are those of ``encode_text``."""
    enc = load_clip("autofoley-tiny")
    texts = ["a photo of a dog.", "a photo of a dog barking twice in a quiet street at night.", "x"]
    seen = []
    hook = enc.model.transformer.register_forward_pre_hook(
        lambda module, args, kwargs: seen.append(args[0].shape[1]), with_kwargs=True)
    try:
        got = enc.encode_texts(texts)
    finally:
        hook.remove()
    assert enc._short_text is True
    # The check ran the full context once; the batch itself ran cut short.
    assert seen[-1] == int(enc.tokenizer(texts).argmax(dim=-1).max()) + 1 < 20
    with torch.inference_mode():
        full = torch.nn.functional.normalize(enc.model.encode_text(enc.tokenizer(texts)).float(),
                                             dim=-1).numpy()
    assert np.abs(got - full).max() < 1e-5
