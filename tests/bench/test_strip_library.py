"""bench/strip_library.py: half of every sound class loses its name, folder,
CSV row and WAV text; the library itself is never touched."""

import csv
import hashlib
import importlib.util
import json
import re
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("strip_library", ROOT / "bench" / "strip_library.py")
strip = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(strip)

# (relative path, sound_class, kind, source, tags); 4 + 3 + 1 SFX, 2 distractors, 2 ambiences
FILES = [
    ("ANIMALS/ANMLDog_Dog Bark Single_XX_Test.wav", "dog_bark", "sfx", "dog", "dog, bark, canine"),
    ("ANIMALS/ANMLDog_Dog Bark Double_XX_Test.flac", "dog_bark", "sfx", "dog", "dog, double bark"),
    ("ANIMALS/ANMLDog_Dog Barks Takes_XX_Test.wav", "dog_bark", "sfx", "dog", "dog, barks, takes"),
    ("ANIMALS/dog woof 02 FINAL.ogg", "dog_bark", "sfx", "dog", "dog, woof"),
    ("BELLS/BELLHand_Hand Bell Ring_XX_Test.wav", "bell_ring", "sfx", "bell", "bell, ring, brass"),
    ("BELLS/BELLHand_Small Bell Ding_XX_Test.flac", "bell_ring", "sfx", "bell", "bell, ding"),
    ("BELLS/bell ring 03.wav", "bell_ring", "sfx", "bell", "bell, ringing"),
    ("VEHICLES/VEHCar_Car Engine Idle_XX_Test.wav", "car_engine", "sfx", "car", "car, engine, idle"),
    ("LASERS/LASRGun_Laser Zap_XX_Test.wav", None, "distractor", "laser", "laser, zap"),
    ("LASERS/LASRGun_Laser Burst_XX_Test.ogg", None, "distractor", "laser", "laser, burst"),
    ("AMBIENCE/AMBForst_Forest Birds_XX_Test.wav", None, "ambience", "forest ambience", "forest, birds"),
    ("AMBIENCE/AMBRoom_Kitchen Tone_XX_Test.flac", None, "ambience", "kitchen ambience", "kitchen, room tone"),
]
CLASS_WORDS = ("dog", "bark", "woof", "bell", "ring", "ding", "car", "engine", "laser", "zap", "burst",
               "anml", "vehc", "lasr", "animals", "bells", "vehicles", "lasers")


def _with_bext(path: Path, description: str) -> None:
    """Insert a BWF bext chunk (its Description) after the fmt chunk of a WAV."""
    data = path.read_bytes()
    assert data[:4] == b"RIFF" and data[12:16] == b"fmt "
    fmt_end = 20 + struct.unpack("<I", data[16:20])[0]
    body = description.encode("ascii").ljust(256, b"\0") + b"\0" * 346
    chunk = b"bext" + struct.pack("<I", len(body)) + body
    new = data[:fmt_end] + chunk + data[fmt_end:]
    path.write_bytes(new[:4] + struct.pack("<I", len(new) - 8) + new[8:])


def _tree_digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def library(tmp_path):
    root = tmp_path / "library"
    rng = np.random.default_rng(0)
    truth, rows = {}, []
    for i, (rel, cls, kind, source, tags) in enumerate(FILES):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        sr = 22050
        audio = (0.3 * np.sin(2 * np.pi * (200 + 40 * i) * np.arange(sr // 2) / sr)
                 + 0.01 * rng.standard_normal(sr // 2)).astype(np.float32)
        fmt = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}[path.suffix]
        sf.write(path, audio, sr, format=fmt, subtype="VORBIS" if fmt == "OGG" else "PCM_16")
        if path.suffix == ".wav":
            _with_bext(path, tags)
        truth[rel] = {"category": rel.split("/")[0], "duration": 0.5, "events": [[0.0, 0.5]],
                      "kind": kind, "place": "forest" if kind == "ambience" else None,
                      "sound_class": cls, "source": source}
        rows.append([rel, tags, rel.split("/")[0]] + (["ambience"] if kind == "ambience" else ["sfx"]))
    with open(root / "library.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "description", "category", "kind"])
        w.writerows(rows)
    (root / "README.txt").write_text("a file that is not a sound\n")
    truth_path = tmp_path / "library_truth.json"
    truth_path.write_text(json.dumps(truth, indent=1))
    return root, truth_path, truth


def test_half_of_every_class_untagged(library, tmp_path):
    root, truth_path, truth = library
    before = _tree_digest(root)
    truth_before = truth_path.read_bytes()
    out = tmp_path / "stripped"
    summary = strip.strip_library(root, truth_path, out, seed=0)

    # The library and its truth are untouched.
    assert _tree_digest(root) == before
    assert truth_path.read_bytes() == truth_before

    new_truth = json.loads((tmp_path / "stripped_truth.json").read_text())
    assert summary["truth"] == str(tmp_path / "stripped_truth.json")
    # Truth complete: every file of the old truth once, keyed by where it now is.
    assert sorted(v["original"] for v in new_truth.values()) == sorted(truth)
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*")
               if p.is_file() and p.suffix in (".wav", ".flac", ".ogg")}
    assert set(new_truth) == on_disk
    for rel, info in new_truth.items():
        old = truth[info["original"]]
        assert {k: v for k, v in info.items() if k not in ("untagged", "original")} == old
        assert isinstance(info["untagged"], bool)

    # Half of each class (one more or one fewer for an odd class), ambiences kept.
    groups: dict[str, list[dict]] = {}
    for info in new_truth.values():
        if info["kind"] == "ambience":
            assert not info["untagged"]
            continue
        groups.setdefault(info["sound_class"] or f"distractor:{info['source']}", []).append(info)
    assert set(groups) == {"dog_bark", "bell_ring", "car_engine", "distractor:laser"}
    for name, members in groups.items():
        n, stripped = len(members), sum(m["untagged"] for m in members)
        assert stripped in (n // 2, (n + 1) // 2), name
    assert sum(m["untagged"] for m in groups["dog_bark"]) == 2
    assert sum(m["untagged"] for m in groups["distractor:laser"]) == 1
    assert summary["untagged"] == sum(v["untagged"] for v in new_truth.values())

    untagged = [rel for rel, info in new_truth.items() if info["untagged"]]
    tagged = [rel for rel, info in new_truth.items() if not info["untagged"]]
    for rel in untagged:
        # Flat, numbered, the original extension, no class word anywhere in the name.
        assert re.fullmatch(r"Audio \d{4}\.(wav|flac|ogg)", rel), rel
        assert Path(rel).suffix == Path(new_truth[rel]["original"]).suffix
        assert not any(word in rel.lower() for word in CLASS_WORDS)
        # The samples are the original's; a WAV's bext text is gone.
        a, ra = sf.read(out / rel)
        b, rb = sf.read(root / new_truth[rel]["original"])
        assert ra == rb and np.array_equal(a, b)
        if rel.endswith(".wav"):
            raw = (out / rel).read_bytes()
            assert b"bext" not in raw
            tags = next(t for r, _, _, _, t in FILES if r == new_truth[rel]["original"])
            assert tags.encode() not in raw
    for rel in tagged:  # kept where and as they were, byte for byte
        assert rel == new_truth[rel]["original"]
        assert (out / rel).read_bytes() == (root / rel).read_bytes()
    assert len(set(untagged)) == len(untagged) == 5

    # The CSV keeps the rows of the tagged files only, as they were.
    with open(out / "library.csv", encoding="utf-8", newline="") as f:
        out_rows = list(csv.reader(f))
    with open(root / "library.csv", encoding="utf-8", newline="") as f:
        in_rows = list(csv.reader(f))
    assert out_rows[0] == in_rows[0]
    assert sorted(r[0] for r in out_rows[1:]) == sorted(tagged)
    assert all(r in in_rows for r in out_rows)
    assert summary["csv_rows_dropped"] == len(untagged)
    assert (out / "README.txt").read_text() == "a file that is not a sound\n"


def test_seeded_and_cli(library, tmp_path):
    root, truth_path, _ = library
    a = strip.strip_library(root, truth_path, tmp_path / "a", seed=3)
    b = strip.strip_library(root, truth_path, tmp_path / "b", seed=3)
    ta = json.loads((tmp_path / "a_truth.json").read_text())
    tb = json.loads((tmp_path / "b_truth.json").read_text())
    assert ta == tb and a["untagged"] == b["untagged"]
    # Numbers follow no order of the originals: not the sorted order of their paths.
    seeds = {}
    for seed in range(4):
        strip.strip_library(root, truth_path, tmp_path / f"s{seed}", seed=seed,
                            truth_out=tmp_path / f"t{seed}.json")
        t = json.loads((tmp_path / f"t{seed}.json").read_text())
        seeds[seed] = tuple(sorted(v["original"] for v in t.values() if v["untagged"]))
    assert len(set(seeds.values())) > 1

    # The CLI: an explicit truth path; a second run into the same OUT needs --force.
    out = tmp_path / "cli"
    assert strip.main([str(root), str(truth_path), str(out), "--truth-out", str(tmp_path / "cli.json")]) == 0
    strip.strip_library(root, truth_path, tmp_path / "z", seed=0)  # the CLI's default seed
    assert json.loads((tmp_path / "cli.json").read_text()) == json.loads((tmp_path / "z_truth.json").read_text())
    assert strip.main([str(root), str(truth_path), str(out)]) == 2
    assert strip.main([str(root), str(truth_path), str(out), "--force", "--truth-out",
                       str(tmp_path / "cli2.json")]) == 0
    # OUT inside the library is refused; nothing is written there.
    before = _tree_digest(root)
    assert strip.main([str(root), str(truth_path), str(root / "copy")]) == 2
    assert _tree_digest(root) == before
