"""The default training recipe: a frozen backbone, the projection trained on
the pairs and through language (every tagged sound towards its sentence's
text vector), checkpoints that hold only what was trained, and
``train --register``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from autofoley.errors import ModelError
from autofoley.library.keys import choose_rank
from autofoley.models.audio import load_audio_encoder
from autofoley.models.registry import (
    aisfx_checkpoint,
    register_audio_model,
    registry,
    resolve_audio,
    user_registry_path,
)
from autofoley.training.config import TrainConfig
from autofoley.training.loss import clip_loss, text_loss
from autofoley.training.pairs import Sound, load_pairs
from autofoley.training.pairs import write_pairs as write_pairs_folder
from autofoley.training.train import train

sys.path.insert(0, str(Path(__file__).resolve().parent))
# _one_thread: an autouse fixture, imported so that it applies here too.
from test_train import CLASSES, _one_thread, write_pairs  # noqa: E402, F401

# The defaults (frozen backbone, image_weight 0.5) on the tiny test encoder,
# for the mechanics. A frozen backbone only helps when it was pretrained (the
# tiny one's random features are alike for every sound): whether the recipe
# learns is tested on aiSFX, the backbone it is meant for.
RECIPE = TrainConfig(audio_model="audio-tiny-cnn14", batch_size=12, lr=3e-3, epochs=8,
                     patience=20, seed=0)
LEARNS = TrainConfig(audio_model="aisfx", batch_size=12, epochs=10, patience=20, seed=0)
needs_aisfx = pytest.mark.skipif(aisfx_checkpoint() is None, reason="needs the aisfx wheel's "
                                 "weights (pip install --no-deps aisfx; CI installs them)")


@pytest.fixture(autouse=True)
def _user_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOFOLEY_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("AUTOFOLEY_CONFIG", str(tmp_path / "config"))
    monkeypatch.setenv("AUTOFOLEY_DATA", str(tmp_path / "data"))


def with_sounds(root: Path, unpaired: int = 2) -> Path:
    """``write_pairs``'s folder plus its sounds: each class's sentence vector
    is the mean of its frames (a caption sits near its pictures), and each
    pair's sound plus ``unpaired`` copies per class and split are listed as
    tagged sounds, as curate writes them when N=1 leaves sounds unpaired."""
    data = load_pairs(root)
    centre = {}
    for c in CLASSES:
        ids = [i for p in data.pairs if p.category == c for i in p.frame_ids]
        v = data.frames[ids].mean(axis=0)
        centre[c] = v / np.linalg.norm(v)
    sounds, texts = [], []
    for p in data.pairs:
        sounds.append(Sound(len(sounds), p.audio, p.offset, p.duration, p.sentence, p.category,
                            p.kind, p.split))
        texts.append(centre[p.category])
    for p in [p for p in data.pairs if int(p.audio.stem.rsplit("-", 1)[1]) < unpaired]:
        # The same audio at another offset stands for a tagged sound that has no pair.
        sounds.append(Sound(len(sounds), p.audio, 0.05, p.duration - 0.05, p.sentence,
                            p.category, p.kind, p.split))
        texts.append(centre[p.category])
    rows = list(zip(data.frame_video, data.frame_time.tolist(), data.frame_split))
    write_pairs_folder(root, data.manifest, data.frames, rows, data.pairs, sounds,
                       np.stack(texts))
    return root


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    return with_sounds(write_pairs(tmp_path_factory.mktemp("lang"),
                                   {"train": 8, "val": 4, "test": 4}))


def _accuracy(model, data, split: str) -> float:
    """Share of a split's sounds whose nearest class sentence is their own
    (``model``: a checkpoint path or an AudioEncoder)."""
    enc = model if hasattr(model, "encode_file") else load_audio_encoder(str(model), "cpu")
    sounds = data.sounds_of(split)
    emb = np.stack([enc.encode_file(s.audio, s.offset, s.duration) for s in sounds])
    classes = sorted({s.category for s in data.sounds})
    text = np.stack([data.texts[next(s.sound_id for s in data.sounds if s.category == c)]
                     for c in classes])
    guess = np.argmax(emb @ text.T, axis=1)
    return float(np.mean([classes[g] == s.category for g, s in zip(guess, sounds)]))


def test_text_loss_treats_one_sentence_as_one_class():
    torch.manual_seed(0)
    texts = torch.nn.functional.normalize(torch.randn(3, 16), dim=-1)
    classes = np.array([0, 0, 1, 2])
    scale = torch.tensor(np.log(1 / 0.07), dtype=torch.float32)
    aligned = texts[classes]
    shuffled = texts[[1, 2, 0, 0]]
    assert text_loss(aligned, classes, texts, scale) < text_loss(shuffled, classes, texts, scale)
    # Two sounds of one sentence are not each other's negatives: the bridge's
    # loss of a perfect fit is far below a plain B x B InfoNCE's.
    assert text_loss(aligned, classes, texts, scale) < 0.5 * clip_loss(aligned, aligned, scale)


@needs_aisfx
def test_both_losses_learn_on_every_tagged_sound(pairs, tmp_path):
    result = train(pairs, tmp_path / "run", LEARNS, device="cpu")
    state = json.loads((tmp_path / "run" / "state.json").read_text())
    assert state["loss_weights"] == {"image": 0.5, "text": 0.5}
    assert state["sounds"]["train"] > state["pairs"]["train"]  # unpaired sounds train too
    data = load_pairs(pairs)
    from autofoley.training.retrieval import untrained_encoder

    untrained = untrained_encoder(load_audio_encoder(str(result.model_path), "cpu").config, "cpu")
    before, after = _accuracy(untrained, data, "test"), _accuracy(result.model_path, data, "test")
    assert after >= 0.75 and after > before + 0.2, (before, after)


def test_a_frozen_backbone_stays_as_it_was(pairs, tmp_path):
    result = train(pairs, tmp_path / "run", RECIPE, device="cpu")
    base = load_audio_encoder("audio-tiny-cnn14", "cpu").model
    trained = load_audio_encoder(str(result.model_path), "cpu").model
    assert all(torch.equal(v, trained.backbone.state_dict()[k])
               for k, v in base.backbone.state_dict().items())
    head = trained.head.state_dict()
    assert any(not torch.equal(v, head[k]) for k, v in base.head.state_dict().items())


@needs_aisfx
def test_language_alone_needs_no_stock(tmp_path):
    """A folder curated without stock (sounds, no pairs) trains through language alone."""
    root = with_sounds(write_pairs(tmp_path / "p", {"train": 6, "val": 3, "test": 3}))
    data = load_pairs(root)
    rows = list(zip(data.frame_video, data.frame_time.tolist(), data.frame_split))
    write_pairs_folder(root, data.manifest, data.frames[:0], rows[:0], [], data.sounds, data.texts)
    from autofoley.errors import InputError

    with pytest.raises(InputError, match="no 'train' pairs.*--image-weight"):
        train(root, tmp_path / "pairs-only", TrainConfig(**{**LEARNS.to_dict(), "image_weight": 1.0}),
              device="cpu")
    result = train(root, tmp_path / "run", LEARNS, device="cpu")
    state = json.loads((tmp_path / "run" / "state.json").read_text())
    assert state["loss_weights"] == {"image": 0.0, "text": 1.0}
    assert result.history[-1]["val"] is not None  # sentence -> audio validation
    assert _accuracy(result.model_path, load_pairs(root), "test") >= 0.6


def test_register_makes_a_name_every_command_takes(pairs, tmp_path):
    result = train(pairs, tmp_path / "run", RECIPE.__class__(**{**RECIPE.to_dict(), "epochs": 2}),
                   device="cpu")
    dest = register_audio_model("my-encoder", result.model_path)
    assert dest.is_file() and dest.parent != result.model_path.parent
    entry = json.loads(user_registry_path().read_text())["audio"]["my-encoder"]
    assert entry["clip_model"] == "synthetic" and entry["weights"] == str(dest)
    assert "my-encoder" in registry()["audio"]
    spec = resolve_audio("my-encoder")
    assert spec.clip_identity == "synthetic-clip|v1"
    a = load_audio_encoder("my-encoder", "cpu")
    b = load_audio_encoder(str(result.model_path), "cpu")
    wave = np.sin(np.arange(8000) / 7.0).astype(np.float32)
    assert np.allclose(a.encode([wave]), b.encode([wave]), atol=1e-6)
    # With a trained encoder for its CLIP model, --rank auto is hybrid.
    assert choose_rank("auto", "synthetic", None) == ("hybrid", "my-encoder")
    assert choose_rank("auto", "autofoley-tiny", None) == ("text", None)
    with pytest.raises(ModelError, match="already registered"):
        register_audio_model("my-encoder", result.model_path)
    register_audio_model("my-encoder", result.model_path, overwrite=True)
    with pytest.raises(ModelError, match="shipped"):
        register_audio_model("aisfx", result.model_path)
    with pytest.raises(ModelError, match="not a usable model name"):
        register_audio_model("a/b", result.model_path)


@needs_aisfx
def test_a_frozen_published_backbone_is_not_copied(pairs, tmp_path):
    """With aiSFX frozen, model.safetensors holds only the centre and the
    projection and names the wheel's checkpoint by its sha256."""
    from safetensors import safe_open

    cfg = TrainConfig(audio_model="aisfx", batch_size=12, epochs=2, seed=0)
    result = train(pairs, tmp_path / "run", cfg, device="cpu")
    with safe_open(str(result.model_path), framework="pt") as f:
        keys, meta = list(f.keys()), f.metadata()
    assert keys and not any(k.startswith("backbone.") for k in keys)
    assert meta["backbone_weights"] == "aisfx-package" and len(meta["backbone_sha256"]) == 64
    assert result.model_path.stat().st_size < 1_000_000
    enc = load_audio_encoder(str(result.model_path), "cpu")
    ref = load_audio_encoder("aisfx", "cpu")
    assert all(torch.equal(v, ref.model.backbone.state_dict()[k])
               for k, v in enc.model.backbone.state_dict().items())
    assert enc.clip_identity == "synthetic-clip|v1"


def test_cli_refuses_a_taken_name_before_training(pairs, tmp_path):
    from autofoley._cli.main import main

    run = train(pairs, tmp_path / "run", TrainConfig(**{**RECIPE.to_dict(), "epochs": 1}),
                device="cpu")
    register_audio_model("taken", run.model_path)
    code = main(["train", str(pairs), "--out", str(tmp_path / "again"), "--audio-model",
                 "audio-tiny-cnn14", "--epochs", "1", "--register", "taken", "-q"])
    assert code != 0 and not (tmp_path / "again").exists()  # refused before any work
    code = main(["train", str(pairs), "--out", str(tmp_path / "new"), "--audio-model",
                 "audio-tiny-cnn14", "--epochs", "1", "--register", "fresh", "-q"])
    assert code == 0 and resolve_audio("fresh").weights != str(tmp_path / "new" / "model.safetensors")
    assert "fresh" in registry()["audio"]
