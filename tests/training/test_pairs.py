"""The pairs folder: write/load round trip, atomic replacement, damage detection."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from autofoley.errors import InputError
from autofoley.training.pairs import FILES, Pair, Sound, load_pairs, write_pairs


def sample(tmp_path: Path, frames: int = 5, dim: int = 8):
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(frames, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    rows = [("videos/a.mp4", 0.5, "train"), ("videos/a.mp4", 1.5, "train"), ("stills/b.png", 0.0, "train"),
            ("videos/c, with comma.mp4", 2.5, "val"), ("videos/d.mp4", 0.5, "test")][:frames]
    pairs = [
        Pair(0, tmp_path / "lib" / "dog bark.wav", 0.0, 1.25, 'a photo of dog, "bark".', "ANIMALS", "sfx",
             "train", (1, 0, 2), (0.31, 0.3, 0.1)),
        Pair(1, tmp_path / "lib" / "takes.wav", 2.5, 0.75, "a photo of bell.", "BELLS", "sfx", "val",
             (3,), (0.2,)),
        Pair(2, tmp_path / "lib" / "amb.flac", 0.0, 10.0, "a photo of forest.", "AMBIENCE", "ambience",
             "test", (4,), (-0.05,)),
    ]
    manifest = {"clip_model": "tiny", "clip_identity": "tiny|x", "n": None, "k": 2, "frames_per_video": 10,
                "fps": 1.0, "sentences": "template", "seed": 0,
                "splits": {"train": 0.8, "val": 0.1, "test": 0.1}, "counts": {"pairs": {"train": 1}},
                "library": str(tmp_path / "lib"), "stock": str(tmp_path / "stock")}
    return manifest, vectors, rows, pairs


def test_round_trip(tmp_path):
    manifest, vectors, rows, pairs = sample(tmp_path)
    out = tmp_path / "pairs"
    write_pairs(out, manifest, vectors, rows, pairs)
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)  # no temporary folder left
    data = load_pairs(out)
    assert data.manifest["format"] == "autofoley-pairs" and data.manifest["version"] == 2
    assert data.manifest["n"] is None and data.manifest["counts"]["frames"] == 5
    assert data.manifest["counts"]["pairs"] == {"train": 1}
    assert np.load(out / "frames.npy").dtype == np.float16
    assert data.frames.dtype == np.float32 and np.allclose(data.frames, vectors, atol=1e-3)
    assert data.frame_video == [r[0] for r in rows] and data.frame_split == [r[2] for r in rows]
    assert np.allclose(data.frame_time, [r[1] for r in rows])
    assert [p.pair_id for p in data.pairs] == [0, 1, 2]
    for got, want in zip(data.pairs, pairs):
        assert got.audio == want.audio and got.sentence == want.sentence and got.frame_ids == want.frame_ids
        assert got.split == want.split and got.kind == want.kind and got.category == want.category
        assert np.allclose(got.scores, want.scores) and got.offset == want.offset
        assert got.duration == want.duration
    assert [p.pair_id for p in data.split("val")] == [1]
    assert data.video_frames("videos/a.mp4").tolist() == [0, 1]
    assert data.video_frames("missing.mp4").tolist() == []
    with pytest.raises(ValueError):
        data.split("dev")
    header = (out / "pairs.csv").read_text().splitlines()[0]
    assert header == "pair_id,audio,offset,duration,sentence,category,kind,split,frame_ids,scores"
    assert (out / "frames.csv").read_text().splitlines()[0] == "frame_id,video,time,split"


def test_sounds_round_trip(tmp_path):
    """Every tagged sound and its sentence's text vector (the language
    bridge), paired or not, come back in order with their splits."""
    manifest, vectors, rows, pairs = sample(tmp_path)
    rng = np.random.default_rng(1)
    texts = rng.normal(size=(4, vectors.shape[1])).astype(np.float32)
    texts /= np.linalg.norm(texts, axis=1, keepdims=True)
    sounds = [Sound(i, tmp_path / "lib" / f"s{i}.wav", 0.5 * i, 1.0, f"a photo of thing {i}.",
                    "THINGS", "sfx", split)
              for i, split in enumerate(("train", "train", "val", "test"))]
    out = tmp_path / "pairs"
    write_pairs(out, manifest, vectors, rows, pairs, sounds, texts)
    data = load_pairs(out)
    assert data.manifest["counts"]["sounds_total"] == 4
    assert [s.sentence for s in data.sounds] == [s.sentence for s in sounds]
    assert [s.sound_id for s in data.sounds_of("train")] == [0, 1]
    assert data.sounds[3].offset == 1.5 and data.sounds[2].split == "val"
    assert np.allclose(data.texts, texts, atol=1e-3)
    with pytest.raises(ValueError):  # one text row per sound
        write_pairs(tmp_path / "bad", manifest, vectors, rows, pairs, sounds, texts[:3])


def test_version_1_folders_are_still_read(tmp_path):
    """A folder curated before the language bridge (no sounds) still
    trains on its pairs."""
    manifest, vectors, rows, pairs = sample(tmp_path)
    out = tmp_path / "pairs"
    write_pairs(out, manifest, vectors, rows, pairs)
    for name in ("texts.npy", "sounds.csv"):
        (out / name).unlink()
    meta = json.loads((out / "manifest.json").read_text())
    meta["version"] = 1
    (out / "manifest.json").write_text(json.dumps(meta))
    data = load_pairs(out)
    assert len(data.pairs) == 3 and data.sounds == [] and data.texts is None


def test_rewrite_replaces_everything(tmp_path):
    manifest, vectors, rows, pairs = sample(tmp_path)
    out = tmp_path / "pairs"
    write_pairs(out, manifest, vectors, rows, pairs)
    write_pairs(out, {**manifest, "n": 1}, vectors[:3], rows[:3], pairs[:1])
    data = load_pairs(out)
    assert data.manifest["n"] == 1 and len(data.frames) == 3 and len(data.pairs) == 1


def test_bad_input_is_refused(tmp_path):
    manifest, vectors, rows, pairs = sample(tmp_path)
    with pytest.raises(ValueError):
        write_pairs(tmp_path / "a", manifest, vectors, rows[:2], pairs)
    bad = Pair(9, Path("/x.wav"), 0, 1, "s", "C", "sfx", "train", (7,), (0.1,))
    with pytest.raises(ValueError):
        write_pairs(tmp_path / "b", manifest, vectors, rows, [bad])


def test_damage_is_detected(tmp_path):
    with pytest.raises(InputError, match="manifest"):
        load_pairs(tmp_path / "nothing")
    manifest, vectors, rows, pairs = sample(tmp_path)
    out = tmp_path / "pairs"
    write_pairs(out, manifest, vectors, rows, pairs)
    # A pairs.csv from another run: counts no longer agree with the manifest.
    lines = (out / "pairs.csv").read_text().splitlines()
    (out / "pairs.csv").write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(InputError, match="agree"):
        load_pairs(out)
    data = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps({**data, "version": 99}))
    with pytest.raises(InputError, match="version"):
        load_pairs(out)
    (out / "manifest.json").write_text(json.dumps({**data, "format": "other"}))
    with pytest.raises(InputError, match="manifest"):
        load_pairs(out)
