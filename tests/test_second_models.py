"""The world models' trainers write a second model where they are told to, and autofoley loads it
(a second model of a world is what placement is measured on beside the shipped one)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]

# script, a tiny run's flags, the shipped weights it must not touch, embedding size
TRAINERS = {
    "demo": ("train_demo_clip.py", ["--train", "128", "--val", "32", "--batch", "64", "--threads", "1"],
             ROOT / "models" / "autofoley-demo.safetensors", 64),
    "lab": ("train_lab_clip.py", ["--train", "64", "--val", "32", "--batch", "32"],
            ROOT / "examples" / "lab" / "model" / "autofoley-lab.safetensors", 96),
}


@pytest.mark.parametrize("world", sorted(TRAINERS))
def test_a_second_model_is_written_beside_its_config_and_loads(world, tmp_path):
    # A few steps on a few pictures: where it goes and that it loads, not how well it learnt.
    from autofoley.models.clip import load_clip

    script, flags, shipped_path, dim = TRAINERS[world]
    shipped = shipped_path.read_bytes()
    out = tmp_path / "second" / f"{world}-s9.safetensors"
    done = subprocess.run([sys.executable, str(ROOT / "examples" / script), "--seed", "9", "--epochs", "1",
                           "--workers", "1", *flags, "--out", str(out)],
                          capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1])["epoch"] == 1
    assert out.is_file() and out.with_suffix(".json").is_file()
    assert json.loads(out.with_name(f"{world}-s9.history.json").read_text())[0]["epoch"] == 1
    assert shipped_path.read_bytes() == shipped
    encoder = load_clip(str(out.with_suffix(".json")), str(out), "cpu")
    assert encoder.spec.name == f"{world}-s9"
    vectors = encoder.encode_texts(["a photo of a dog.", "a photo of a kettle."])
    assert vectors.shape == (2, dim) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-3)


@pytest.mark.parametrize("world", sorted(TRAINERS))
def test_a_second_model_must_be_a_safetensors_file(world, tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "examples" / TRAINERS[world][0]),
                           "--out", str(tmp_path / "model.pt")],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 2 and "--out" in done.stderr and ".safetensors" in done.stderr
