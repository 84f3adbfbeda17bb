"""The lab world's CLIP trainer writes a second model where it is told to, and autofoley loads it."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "examples" / "lab" / "model" / "autofoley-lab.safetensors"


def test_a_second_lab_model_is_written_beside_its_config_and_loads(tmp_path):
    # A few steps on a few pictures: where it goes and that it loads, not how well it learnt.
    from autofoley.models.clip import load_clip

    shipped = SHIPPED.read_bytes()
    out = tmp_path / "second" / "lab-s8.safetensors"
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "train_lab_clip.py"), "--seed", "8", "--train", "64",
         "--val", "32", "--epochs", "1", "--batch", "32", "--workers", "1", "--out", str(out)],
        capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-2000:]
    assert out.is_file() and out.with_suffix(".json").is_file()
    assert json.loads(out.with_name("lab-s8.history.json").read_text())[0]["epoch"] == 1
    assert SHIPPED.read_bytes() == shipped
    encoder = load_clip(str(out.with_suffix(".json")), str(out), "cpu")
    assert encoder.spec.name == "lab-s8"
    vectors = encoder.encode_texts(["a photo of a snake.", "a photo of a kettle."])
    assert vectors.shape == (2, 96) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-3)


def test_a_second_lab_model_must_be_a_safetensors_file(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "train_lab_clip.py"),
                           "--out", str(tmp_path / "lab.pt")],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 2 and "--out" in done.stderr and ".safetensors" in done.stderr
