"""``autofoley train`` / ``eval``: contrastive training of the audio encoder on
a synthetic pairs folder (three sound classes paired with three clusters of
"frame" vectors), resume, checkpoints, refusals, the CLI."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from autofoley.errors import InputError, ModelError, OutputError
from autofoley.models.audio import check_compatible, load_audio_encoder
from autofoley.training.config import TrainConfig
from autofoley.training.pairs import Pair
from autofoley.training.pairs import write_pairs as write_pairs_folder
from autofoley.training.retrieval import evaluate
from autofoley.training.train import train

SR = 16000
CLASSES = ("tone", "burst", "chirp")
DIM = 64  # the tiny audio encoders' embed size


def _sound(kind: str, rng: np.random.Generator, seconds: float) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    if kind == "tone":
        wave = np.sin(2 * np.pi * rng.uniform(300, 900) * t)
    elif kind == "burst":
        wave = rng.standard_normal(len(t)) * np.exp(-t / rng.uniform(0.05, 0.2))
    else:
        f0, f1 = rng.uniform(200, 600), rng.uniform(3000, 6000)
        wave = np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t ** 2 / (2 * seconds)))
    return (rng.uniform(0.2, 0.5) * wave / np.abs(wave).max()).astype(np.float32)


def write_pairs(root: Path, per_class: dict | None = None, seed: int = 0,
                clip_identity: str = "synthetic-clip|v1", frames_per_video: int = 4,
                k: int = 2) -> Path:
    """A pairs folder (``pairs.write_pairs``): one sound per pair, one video
    per pair whose frames lie near its class's cluster centre."""
    per_class = per_class or {"train": 12, "val": 8, "test": 6}
    rng = np.random.default_rng(seed)
    (root / "audio").mkdir(parents=True, exist_ok=True)
    centres = rng.standard_normal((len(CLASSES), DIM))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    frames, frame_rows, pairs = [], [], []
    for split, count in per_class.items():
        for c, kind in enumerate(CLASSES):
            for j in range(count):
                video = f"{split}-{kind}-{j}.mp4"
                ids = []
                for f in range(frames_per_video):
                    v = centres[c] + 0.5 * rng.standard_normal(DIM) / np.sqrt(DIM)
                    ids.append(len(frames))
                    frames.append(v / np.linalg.norm(v))
                    frame_rows.append((video, float(f), split))
                path = root / "audio" / f"{split}-{kind}-{j}.wav"
                wave = _sound(kind, rng, rng.uniform(0.5, 1.0))
                sf.write(path, wave, SR)
                chosen = tuple(ids[:1 + k])
                pairs.append(Pair(len(pairs), path.resolve(), 0.0, len(wave) / SR,
                                  f"a {kind} sound.", kind, "sfx", split, chosen,
                                  tuple(0.3 for _ in chosen)))
    write_pairs_folder(root, {"clip_model": "synthetic", "clip_identity": clip_identity,
                              "n": 1, "k": k}, np.stack(frames), frame_rows, pairs)
    return root


# Small and fast: 30 training sounds, 3 batches an epoch, learning rate high
# enough to learn in a few epochs. The tiny encoder has no pretrained
# weights, so its batch norms learn (batchnorm="auto"). The paper's recipe:
# the whole encoder fine-tuned on the pairs alone (the default recipe, a
# frozen backbone and the language bridge, is tested in test_language.py).
SETTINGS = TrainConfig(audio_model="audio-tiny-cnn14", batch_size=12, lr=3e-3, patience=10,
                       decode_windows=1, seed=0, freeze_backbone=False, image_weight=1.0)
_AUDIO = {}  # decoded sounds shared by the runs of this module


def cfg(**changes) -> TrainConfig:
    return dataclasses.replace(SETTINGS, **changes)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One torch thread: these models are tiny, and two OpenMP threads on two
    cores shared with other work spin far more than they compute (measured:
    the module ran 4x slower under load with two)."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOFOLEY_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    return write_pairs(tmp_path_factory.mktemp("pairs"), {"train": 10, "val": 8, "test": 4})


@pytest.fixture(scope="module")
def run3(pairs, tmp_path_factory):
    """Three epochs, uninterrupted, with the epoch logs the callback saw."""
    seen = []
    out = tmp_path_factory.mktemp("run3")
    result = train(pairs, out, cfg(epochs=3), progress=seen.append, device="cpu",
                   audio_cache=_AUDIO)
    return result, seen


def _tensors(path: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(path))


def test_training_lowers_loss_and_beats_the_untrained_encoder(run3):
    result, seen = run3
    h = result.history
    assert [e.epoch for e in seen] == [0, 1, 2, 3] and [r["epoch"] for r in h] == [0, 1, 2, 3]
    assert h[0]["loss"] is None and h[0]["val"]["n"] == 24
    assert h[-1]["loss"] < h[1]["loss"]
    untrained = h[0]["val"]["cat_p10"]
    assert result.best_metric >= untrained + 0.15, (untrained, result.best_metric)
    assert result.best_metric == max(r["val"]["cat_p10"] for r in h[1:])
    assert h[result.best_epoch]["val"]["cat_p10"] == result.best_metric
    assert result.epochs_run == 3 and result.step == 9 and not result.stopped_early
    print(f"\nsynthetic set: loss {h[1]['loss']:.3f} (epoch 1) -> {h[-1]['loss']:.3f}; val loss "
          f"{h[0]['val_loss']:.3f} -> {h[-1]['val_loss']:.3f}; val cat P@10 untrained "
          f"{untrained:.3f}, best {result.best_metric:.3f}; "
          f"{np.mean([r['seconds'] for r in h[1:]]):.2f} s/epoch")


def test_checkpoints_load_and_carry_the_clip_identity(run3, pairs):
    result, _ = run3
    out = result.out_dir
    assert sorted(p.name for p in out.iterdir()) == ["last.safetensors", "model.safetensors",
                                                    "optimizer.safetensors", "state.json"]
    enc = load_audio_encoder(str(result.model_path), device="cpu")
    assert enc.clip_identity == "synthetic-clip|v1"
    assert enc.config["trained_from"] == "audio-tiny-cnn14"
    check_compatible(enc, "synthetic-clip|v1")
    with pytest.raises(ModelError) as err:
        check_compatible(enc, "another-clip|v1")
    assert "\n" not in str(err.value)
    vec = enc.encode_file(str(pairs / "audio" / "test-tone-0.wav"))
    assert vec.shape == (DIM,) and abs(np.linalg.norm(vec) - 1) < 1e-5
    state = json.loads((out / "state.json").read_text())
    assert state["epoch"] == 3 and state["step"] == 9 and state["best_epoch"] == result.best_epoch
    assert state["config"]["match"] == "fixed" and len(state["history"]) == 4
    opt = _tensors(out / "optimizer.safetensors")
    assert "logit_scale" in opt and any(k.endswith(".exp_avg") for k in opt)


def test_resume_reproduces_the_uninterrupted_run(run3, pairs, tmp_path):
    result, _ = run3
    out = tmp_path / "run"
    first = train(pairs, out, cfg(epochs=2), device="cpu", audio_cache=_AUDIO)
    assert first.epochs_run == 2 and first.step == 6
    with pytest.raises(OutputError):  # a run is there: continue it or choose another folder
        train(pairs, out, cfg(epochs=3), device="cpu", audio_cache=_AUDIO)
    asked = cfg(epochs=3, lr=1.0)
    second = train(pairs, out, asked, resume=True, device="cpu",
                   audio_cache=_AUDIO)  # saved settings win over the call's
    assert asked.lr == 1.0  # the caller's config is not rewritten
    assert json.loads((out / "state.json").read_text())["config"]["lr"] == SETTINGS.lr
    assert second.epochs_run == 3 and second.step == 9
    a, b = _tensors(result.out_dir / "last.safetensors"), _tensors(out / "last.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.allclose(a[k].float(), b[k].float(), atol=1e-5), k
    assert [r["loss"] for r in second.history] == pytest.approx([r["loss"] for r in result.history])
    assert second.best_epoch == result.best_epoch


def test_resume_refuses_files_that_disagree(run3, pairs, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(run3[0].out_dir, out)
    (out / "optimizer.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError) as err:
        train(pairs, out, cfg(epochs=2), resume=True, device="cpu", audio_cache=_AUDIO)
    assert "optimizer.safetensors" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ModelError, match="nothing to resume"):
        train(pairs, tmp_path / "empty", cfg(epochs=1), resume=True, device="cpu")


def test_nearest_and_multiframe_run_and_differ_from_fixed(run3, pairs, tmp_path):
    fixed = run3[0].history[1]["loss"]
    nearest = train(pairs, tmp_path / "nearest",
                    cfg(epochs=1, match="nearest", nearest_warmup_epochs=0), device="cpu",
                    audio_cache=_AUDIO)
    multi = train(pairs, tmp_path / "multi", cfg(epochs=1, match="multiframe", multiframe=3),
                  device="cpu", audio_cache=_AUDIO)
    losses = [fixed, nearest.history[1]["loss"], multi.history[1]["loss"]]
    assert all(np.isfinite(losses)) and len(set(losses)) == 3, losses
    a = _tensors(nearest.model_path)
    b = _tensors(multi.model_path)
    assert any(not torch.equal(a[k], b[k]) for k in a)


def test_evaluate_reports_the_encoder_and_the_untrained_reference(run3, pairs):
    from autofoley.training.retrieval import format_eval

    result = evaluate(pairs, str(run3[0].model_path), split="test", text_clip=False,
                      device="cpu")
    assert result["queries"] == 12 and result["gallery"] == 12
    assert set(result["rows"]) == {"audio", "untrained"}
    assert result["rows"]["untrained"]["model"] == "audio-tiny-cnn14"
    for m in result["rows"].values():
        assert 1 <= m["mr"] <= 12 and 0 <= m["cat_p10"] <= 1 and m["n"] == 12
    assert result["rows"]["audio"]["cat_p10"] > result["rows"]["untrained"]["cat_p10"]
    table = format_eval(result).splitlines()
    assert len(table) == 4 and table[2].startswith("audio")


def test_evaluate_refuses_an_encoder_of_another_clip(pairs):
    with pytest.raises(ModelError, match="trained for CLIP"):
        evaluate(pairs, "audio-tiny-cnn14", text_clip=False, device="cpu")


def test_wrong_pairs_folder_is_a_one_line_input_error(tmp_path):
    for root in (tmp_path / "missing", tmp_path):
        with pytest.raises(InputError) as err:
            train(root, tmp_path / "out", cfg(epochs=1), device="cpu")
        assert str(root) in str(err.value) and "\n" not in str(err.value)


def test_cli_train_then_eval(pairs, tmp_path, capsys):
    from autofoley._cli.main import main

    out = tmp_path / "cli-run"
    rc = main(["train", str(pairs), "--out", str(out), "--epochs", "1", "--batch-size", "12",
               "--lr", "3e-3", "--device", "cpu", "--json", "-q"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["epochs_run"] == 1 and Path(summary["model_path"]).is_file()
    rc = main(["eval", str(pairs), "--audio-model", summary["model_path"], "--no-text",
               "--device", "cpu", "--json", "-q"])
    assert rc == 0
    assert set(json.loads(capsys.readouterr().out)["rows"]) == {"audio", "untrained"}


def test_cli_errors_are_one_line(pairs, tmp_path, capsys):
    from autofoley._cli.main import build_parser, main

    bad = tmp_path / "model.safetensors"
    bad.write_bytes(b"\x00" * 64)
    rc = main(["eval", str(pairs), "--audio-model", str(bad), "--no-text", "--device", "cpu"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == ModelError.exit_code and len(err) == 1 and str(bad) in err[0]
    rc = main(["train", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o"), "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == InputError.exit_code and len(err) == 1 and "nowhere" in err[0]
    rc = main(["eval", str(pairs)])
    assert rc == 2 and "--audio-model" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", str(pairs), "--out", "x", "--batch-size", "1"])
    args = build_parser().parse_args(["eval", "--ablation", "--ns", "1,5,inf"])
    assert args.ns == (1, 5, None)


def test_lone_windows_join_a_longer_group():
    from autofoley.training.data import no_single_windows

    assert no_single_windows({5: [0], 10: [1, 2], 20: [3]}) == {20: [0, 1, 2, 3]}
    assert no_single_windows({5: [0, 4], 10: [1], 20: [3]}) == {5: [0, 4], 20: [1, 3]}
    assert no_single_windows({5: [0, 1]}) == {5: [0, 1]}


def test_ablation_ns_and_table():
    from autofoley.training.ablation import AblationRow, format_ablation, parse_ns

    assert parse_ns("1, 2,inf") == (1, 2, None)
    with pytest.raises(ValueError):
        parse_ns("0")
    rows = [AblationRow(1, 100, 100, 12.0, 0.3, 0.8, 0.41, 0.4, "m.safetensors"),
            AblationRow(None, 100, 20, 15.5, 0.2, 0.7, 0.35, None, "m2.safetensors"),
            AblationRow(None, 0, 0, 30.0, 0.1, 0.5, 0.2, None, "untrained")]
    lines = format_ablation(rows).splitlines()
    assert lines[1].split() == ["1", "100", "100", "12.0", "0.30", "0.80", "0.41", "0.40"]
    assert lines[2].split()[0] == "inf" and lines[3].split()[0] == "untrained"


def test_settings_out_of_range_are_refused_before_any_work(pairs, tmp_path):
    for bad in (dict(batch_size=1), dict(match="closest"), dict(select="r10"),
                dict(batchnorm="off"), dict(patience=0), dict(temperature_init=0.0),
                dict(image_weight=1.5), dict(from_scratch=True, freeze_backbone=True)):
        with pytest.raises(ValueError):
            train(pairs, tmp_path / "bad", cfg(**bad), device="cpu")
    assert not (tmp_path / "bad").exists()


def test_cli_flags_make_the_config():
    from autofoley._cli.main import build_parser
    from autofoley._cli.train import config_from_args

    args = build_parser().parse_args(
        ["train", "p", "--out", "o", "--audio-model", "aisfx", "--epochs", "7", "--lr", "2e-4",
         "--temperature", "0.1", "--match", "multiframe", "--multiframe", "3", "--no-augment",
         "--crop-seconds", "0.5", "--nearest-warmup", "2", "--select", "mr", "--seed", "4"])
    assert config_from_args(args) == TrainConfig(
        audio_model="aisfx", epochs=7, lr=2e-4, temperature_init=0.1, match="multiframe",
        multiframe=3, augment_topk=False, crop_seconds=0.5, nearest_warmup_epochs=2,
        select="mr", seed=4)
    ablation = build_parser().parse_args(["eval", "--ablation", "--epochs", "2"])
    # The default encoder, on the pairs alone: the ablation is the paper's table.
    assert config_from_args(ablation) == TrainConfig(epochs=2, image_weight=1.0)
    recipe = build_parser().parse_args(["train", "p", "--out", "o", "--image-weight", "0.25",
                                        "--no-freeze-backbone"])
    assert config_from_args(recipe) == TrainConfig(image_weight=0.25, freeze_backbone=False)
    scratch = build_parser().parse_args(["train", "p", "--out", "o", "--from-scratch"])
    assert config_from_args(scratch).freeze_backbone is False  # from scratch trains it all
    for flag, value in (("--weight-decay", "-1"), ("--lr", "0"), ("--epochs", "-1")):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["train", "p", "--out", "o", flag, value])
