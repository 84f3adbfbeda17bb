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


def test_loading_weights_skips_the_random_initialisation_and_loses_nothing(tmp_path, monkeypatch):
    """A checkpoint replaces every weight, so the model is built without
    initialising them: the result must equal open_clip's own load exactly."""
    import open_clip
    from safetensors.torch import save_file

    ref = load_clip("autofoley-tiny", device="cpu")  # seeded random weights
    ckpt = tmp_path / "tiny.safetensors"
    save_file({k: v.contiguous() for k, v in ref.model.state_dict().items()}, str(ckpt))
    calls = []
    normal = torch.nn.init.normal_
    monkeypatch.setattr(torch.nn.init, "normal_", lambda t, *a, **k: calls.append(1) or normal(t, *a, **k))
    skipped = load_clip("autofoley-tiny", str(ckpt), device="cpu")
    assert calls == []  # open_clip's CLIP initialises with normal_: not run
    load_clip("autofoley-tiny", device="cpu")
    assert calls  # ... but it is for random weights
    assert skipped.model.state_dict().keys() == ref.model.state_dict().keys()
    for name, value in ref.model.state_dict().items():
        assert torch.equal(skipped.model.state_dict()[name], value), name
    # The buffers no checkpoint holds (the text tower's causal mask) are built, not loaded.
    own = open_clip.create_model(ref.spec.name, pretrained=str(ckpt))
    pixels = np.random.default_rng(3).integers(0, 255, (2, 64, 64, 3), np.uint8)
    assert np.allclose(skipped.encode_images(pixels), ref.encode_images(pixels), atol=1e-6)
    assert np.allclose(skipped.encode_texts(["a dog barking"]), ref.encode_texts(["a dog barking"]),
                       atol=1e-6)
    assert all(torch.equal(a, b) for a, b in zip(own.state_dict().values(),
                                                  skipped.model.state_dict().values()))
    # torch's initialisers work again afterwards.
    assert torch.nn.init.ones_(torch.zeros(3)).sum() == 3


def test_skipping_initialisation_leaves_other_threads_alone():
    import threading

    from autofoley.models.clip import _no_weight_init

    seen = {}

    def other():
        seen["other"] = torch.nn.init.ones_(torch.zeros(4)).sum().item()

    with _no_weight_init():
        seen["mine"] = torch.nn.init.ones_(torch.zeros(4)).sum().item()
        thread = threading.Thread(target=other)
        thread.start()
        thread.join(timeout=60)
    assert seen == {"mine": 0.0, "other": 4.0}
    assert torch.nn.init.ones_(torch.zeros(4)).sum().item() == 4.0


def test_a_checkpoint_missing_a_weight_is_refused_never_left_uninitialised(tmp_path):
    """Without initialisation, a weight the file lacks would hold whatever
    memory it got: open_clip's strict load refuses the file instead."""
    from safetensors.torch import save_file

    ref = load_clip("autofoley-tiny", device="cpu")
    state = {k: v.contiguous() for k, v in ref.model.state_dict().items()}
    state.pop(next(iter(state)))
    ckpt = tmp_path / "partial.safetensors"
    save_file(state, str(ckpt))
    with pytest.raises(ModelError, match="cannot load"):
        load_clip("autofoley-tiny", str(ckpt), device="cpu")
    assert torch.nn.init.ones_(torch.zeros(3)).sum() == 3  # restored after the failure
