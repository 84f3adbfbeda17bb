"""``autofoley curate``: matching under the pairing limit, splits disjoint in audio
and footage, end to end on a generated stock pool with the tiny model (files,
counts, manifest, caches, the CLI with an LLM on loopback), and with the demo
model that a dog bark is paired with a picture of a dog."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from autofoley._cli.curate import add_curate_parser, cmd_curate
from autofoley.training.curate import curate, match
from autofoley.training.pairs import load_pairs
from autofoley.training.splits import split_of
from autofoley.training.stock import find_stock

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
from demo_world.stock import TRUTH_NAME, write_stock  # noqa: E402
from test_llm import KEY, ChatServer  # noqa: E402

# (file, description, category): a small library in the shape of a real one.
SOUNDS = [
    ("ANIMALS/dog_bark.wav", "dog, bark, barking, canine, close mic, stereo", "ANIMALS"),
    ("ANIMALS/dog_growl.wav", "dog, growl, snarl, canine", "ANIMALS"),
    ("VEHICLES/car_by.wav", "car, engine, pass by, left to right, 96k", "VEHICLES"),
    ("VEHICLES/car_idle.wav", "car, engine idle, exhaust", "VEHICLES"),
    ("BELLS/hand_bell.wav", "hand bell, ringing, brass", "BELLS"),
    ("CLOCKS/wall_clock.wav", "wall clock, ticking, tick tock", "CLOCKS"),
    ("FIRE/campfire.wav", "campfire, crackle, burning, logs", "FIRE"),
    ("COMMUNICATIONS/phone.wav", "cell phone, ringing, ringtone", "COMMUNICATIONS"),
    ("BIRDS/songbird.wav", "songbird, chirp, tweet", "BIRDS"),
    ("GLASS/bottle.wav", "glass bottle, clink", "GLASS"),
    ("DOORS/knock.wav", "wooden door, knock, three knocks", "DOORS"),
    ("MUSICAL/snare.wav", "snare drum, hit", "MUSICAL"),
    ("VOICES/man_talking.wav", "man, talking, speech, dialogue", "VOICES"),
    ("AMBIENCE/forest.wav", "forest ambience, wind in trees, birds", "AMBIENCE"),
]


def make_library(root: Path, sounds=SOUNDS, copies: int = 1) -> Path:
    """Short noise bursts named and tagged as in ``sounds`` (``copies`` of each)."""
    rows = []
    rng = np.random.default_rng(0)
    for c in range(copies):
        for rel, desc, cat in sounds:
            rel = rel if c == 0 else rel.replace(".wav", f"_{c}.wav")
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            burst = rng.normal(0, 0.2, 9600) * np.exp(-np.arange(9600) / 2000)
            sf.write(path, burst, 48000)
            rows.append((rel, desc, cat))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(("path", "description", "category"))
    writer.writerows(rows)
    (root / "library.csv").write_text(buf.getvalue())
    return root


@pytest.fixture(autouse=True)
def private_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("AUTOFOLEY_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("AUTOFOLEY_DATA", str(tmp_path / "data"))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A stock pool (clips, stills, one broken file of each) and a library, made once."""
    root = tmp_path_factory.mktemp("curate-world")
    write_stock(root / "stock", seed=3, videos=10, stills=8, fps=4)
    (root / "stock" / "videos" / "broken.mp4").write_bytes(b"not a video at all")
    (root / "stock" / "stills" / "broken.png").write_bytes(b"\x89PNG but not really")
    (root / "stock" / ".hidden.mp4").write_bytes(b"")
    make_library(root / "library", copies=3)
    return root


@pytest.fixture(scope="module")
def tiny():
    from autofoley.models.clip import load_clip
    return load_clip("autofoley-tiny")


# --------------------------------------------------------------------------- matching

def unit(rows) -> np.ndarray:
    a = np.asarray(rows, np.float32)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def test_pairing_limit_one_forces_distinct_frames():
    frames = unit([[1, 0, 0], [0.9, 0.1, 0], [0, 1, 0]])
    text = unit([[1, 0, 0], [1, 0.01, 0]])  # both prefer frame 0
    one = match(text, frames, n=1, k=1)
    assert [m[0][0] for m in one] == [0, 1]  # the better match keeps frame 0
    free = match(text, frames, n=None, k=1)
    assert [m[0][0] for m in free] == [0, 0]  # N = inf: both share the best frame
    # Augmentation frames ignore the limit and never repeat the matched frame.
    assert one[1][0] == (1, 0) and free[1][0] == (0, 1)
    assert one[0][1][0] == pytest.approx(float(text[0] @ frames[0]))
    two = match(text, frames, n=2, k=0)
    assert [m[0] for m in two] == [(0,), (0,)]


def test_frames_run_out_under_the_limit():
    frames = unit([[1, 0], [0, 1]])
    text = unit([[1, 0.1], [1, 0.2], [1, 0.3]])
    got = match(text, frames, n=1, k=5)
    # Greedy by cosine: t0-f0 (0.995), then f1 goes to t2 (0.287) before t1 (0.196).
    assert got[0][0] == (0, 1) and got[2][0] == (1, 0) and got[1] is None  # k capped by the frames
    assert match(text, frames[:0], n=1) == [None] * 3 and match(text[:0], frames) == []


def test_greedy_is_exact():
    rng = np.random.default_rng(5)
    for trial in range(20):
        m, f = int(rng.integers(1, 60)), int(rng.integers(1, 90))
        text, frames = unit(rng.normal(size=(m, 6))), unit(rng.normal(size=(f, 6)))
        sims = text @ frames.T
        for n in (1, 3, None):
            used, want = np.zeros(f, int), [None] * m
            for _, i, j in sorted((-sims[i, j], i, j) for i in range(m) for j in range(f)):
                if want[i] is None and (n is None or used[j] < n):
                    want[i], used[j] = j, used[j] + 1
            got = [g[0][0] if g else None for g in match(text, frames, n=n, k=2, chunk=7)]
            assert got == want


def test_splits_are_seeded_hashes():
    names = [f"f{i}.wav" for i in range(2000)]
    splits = [split_of("audio", n, (0.8, 0.1, 0.1), 0) for n in names]
    assert splits == [split_of("audio", n, (0.8, 0.1, 0.1), 0) for n in names]
    share = {s: splits.count(s) / len(splits) for s in ("train", "val", "test")}
    assert abs(share["train"] - 0.8) < 0.04 and abs(share["test"] - 0.1) < 0.03
    assert splits != [split_of("audio", n, (0.8, 0.1, 0.1), 1) for n in names]
    assert {split_of("video", n, (1, 0, 0)) for n in names} == {"train"}


# --------------------------------------------------------------------------- end to end

def test_curate_end_to_end(world, tiny, tmp_path, monkeypatch):
    # The world's tests share a cache: the CLI test below finds these frames embedded.
    monkeypatch.setenv("AUTOFOLEY_CACHE", str(world / "cache"))
    out = tmp_path / "pairs"
    result = curate(world / "library", world / "stock", out, tiny, n=1, k=3, frames_per_video=3,
                    splits=(0.6, 0.2, 0.2), seed=1)
    data = load_pairs(out)
    m = data.manifest
    assert m["format"] == "autofoley-pairs" and m["clip_model"] == tiny.spec.name
    assert m["clip_identity"] == tiny.identity and m["n"] == 1 and m["k"] == 3
    assert m["frames_per_video"] == 3 and m["fps"] == 1.0 and m["sentences"] == "template"
    assert m["splits"] == {"train": 0.6, "val": 0.2, "test": 0.2} and m["seed"] == 1
    assert m["library"] == str((world / "library").resolve()) and m["stock"] == str((world / "stock").resolve())
    c = m["counts"]
    # The three VOICES files are out by default; the broken media are skipped, not fatal.
    assert c["excluded"] == {"kind": 0, "category": 3}
    assert c["skipped_media"] == 2 and {p.name for p, _ in result.skipped} >= {"broken.mp4", "broken.png"}
    assert all(reason and "\n" not in reason for _, reason in result.skipped)
    assert c["stills"] == 8 and c["media"] == 18
    assert sum(c["sfx"].values()) == 13 * 3
    assert c["pairs"]["train"] + c["unmatched"]["train"] == c["sfx"]["train"]
    assert c["pairs_total"] == len(data.pairs) == sum(c["pairs"].values())
    assert c["frames"] == len(data.frames) == sum(c["frames_per_split"].values())
    # Frames: at most 3 per clip (clips are 3-6 s at 1 fps), stills one each, unit vectors.
    per_video = {v: len(data.video_frames(v)) for v in set(data.frame_video)}
    assert all(n <= 3 for v, n in per_video.items()) and sum(v.startswith("stills/") for v in per_video) == 8
    assert np.allclose(np.linalg.norm(data.frames, axis=1), 1, atol=1e-2)
    truth = json.loads((world / "stock" / TRUTH_NAME).read_text())
    assert set(per_video) <= set(truth)
    # Disjoint splits: every audio file and every video lives in one split only,
    # and each pair only uses frames of its own split.
    audio_split, video_split = {}, {}
    for p in data.pairs:
        assert audio_split.setdefault(p.audio, p.split) == p.split
        assert all(data.frame_split[i] == p.split for i in p.frame_ids)
        assert 1 <= len(p.frame_ids) <= 4 and list(p.scores[1:]) == sorted(p.scores[1:], reverse=True)
    for v, s in zip(data.frame_video, data.frame_split):
        assert video_split.setdefault(v, s) == s
    # N = 1: no two pairs share their matched frame.
    matched = [p.frame_ids[0] for p in data.pairs]
    assert len(set(matched)) == len(matched)
    assert all("stereo" not in p.sentence and "close mic" not in p.sentence for p in data.pairs)

    # Only n changes: frames and sentences come from caches, no image is encoded again.
    calls = []
    monkeypatch.setattr(tiny, "encode_images", lambda px: calls.append(len(px)) or 1 / 0)
    monkeypatch.setattr(tiny, "encode_texts", lambda *a, **kw: calls.append(a) or 1 / 0)
    again = curate(world / "library", world / "stock", tmp_path / "pairs-inf", tiny, n=None, k=3,
                   frames_per_video=3, splits=(0.6, 0.2, 0.2), seed=1)
    assert calls == [] and again.manifest["n"] is None
    inf = load_pairs(tmp_path / "pairs-inf")
    assert np.array_equal(inf.frames, data.frames) and inf.frame_video == data.frame_video
    assert sum(inf.manifest["counts"]["unmatched"].values()) == 0
    # Without a limit every SFX gets its best frame of the split.
    assert all(p.scores[0] >= max(p.scores[1:], default=-1.0) - 1e-6 for p in inf.pairs)


def test_cli_with_llm_sentences(world, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AUTOFOLEY_CACHE", str(world / "cache"))
    monkeypatch.setenv("AF_CURATE_KEY", KEY)

    def reply(body):
        tags = body["messages"][-1]["content"]
        if "classify" in body["messages"][0]["content"]:
            return "music" if "snare" in tags else "ambience" if "forest" in tags else "sfx"
        if "Category: vehicles" in tags:
            return (200, b"{broken", {})  # stays bad: those SFX fall back to the template
        return "A thing making its sound."

    parser = argparse.ArgumentParser()
    add_curate_parser(parser.add_subparsers(dest="command"))
    with ChatServer(reply) as server:
        argv = ["curate", "--library", str(world / "library"), "--stock", str(world / "stock"),
                "--out", str(tmp_path / "pairs"), "--clip-model", "autofoley-tiny", "--quiet", "--json",
                "--n", "inf", "--k", "2", "--frames-per-video", "2", "--sentences", "llm",
                "--llm-url", server.url, "--llm-model", "m", "--llm-key-env", "AF_CURATE_KEY", "--llm-retries", "1",
                "--exclude-category", "none", "--exclude-kind", "music,ambience", "--seed", "2",
                "--classify-kinds"]
        args = parser.parse_args(argv)
        assert args.handler is cmd_curate
        stdout, stderr = io.StringIO(), io.StringIO()
        with redirect_stdout(stdout), redirect_stderr(stderr):
            assert cmd_curate(args) == 0
        assert all(h["Authorization"] == f"Bearer {KEY}" for h, _ in server.requests)
    summary = json.loads(stdout.getvalue())
    c = summary["counts"]
    # The forest ambiences, and the snares the LLM calls music.
    assert c["excluded"] == {"kind": 6, "category": 0}
    assert c["llm_fallbacks"] == 6 and summary["llm"]["fallbacks"] == 6  # the car sounds
    data = load_pairs(tmp_path / "pairs")
    assert data.manifest["sentences"] == "llm" and data.manifest["n"] is None
    assert data.manifest["llm"] == f"{server.url}|m" and data.manifest["kinds"] == "llm"
    # The votes are stored where scoring finds them, as user data.
    from autofoley.library.kinds import voted_kinds
    from autofoley.library.scan import scan_library
    kinds = voted_kinds(scan_library(world / "library"))
    assert len(kinds) == 42 and {p.name for p, k in kinds.items() if k == "music"} == \
        {"snare.wav", "snare_1.wav", "snare_2.wav"}
    sentences = {p.audio.name: p.sentence for p in data.pairs}
    assert sentences.get("dog_bark.wav", "A thing making its sound.") == "A thing making its sound."
    assert all(s.startswith("a photo of car") for a, s in sentences.items() if a.startswith("car"))
    written = "".join(p.read_text(errors="replace") for p in (tmp_path / "pairs").iterdir()
                      if p.suffix in (".json", ".csv"))
    cached = "".join(p.read_text() for folder in (world / "cache", tmp_path / "data")
                     for p in folder.rglob("*.json"))
    assert list((tmp_path / "data").rglob("*.json"))
    for text in (stdout.getvalue(), stderr.getvalue(), written, cached, capsys.readouterr().err):
        assert KEY not in text


def test_stock_walk_survives_a_link_loop_and_reports_broken_links(tmp_path):
    stock = tmp_path / "stock"
    (stock / "a").mkdir(parents=True)
    (stock / "a" / "clip.MP4").write_bytes(b"")
    (stock / "a" / "still.jpg").write_bytes(b"")
    (stock / "a" / "notes.txt").write_bytes(b"")
    (stock / "a" / "up").symlink_to(stock)  # a loop: entered once
    (stock / "gone.mov").symlink_to(tmp_path / "nowhere.mov")
    videos, stills, problems = find_stock(stock)
    assert videos == [stock / "a" / "clip.MP4"] and stills == [stock / "a" / "still.jpg"]
    assert problems == [(stock / "gone.mov", "broken symbolic link")]


def test_every_tagged_sound_is_written_with_its_sentence(world, tiny, tmp_path, monkeypatch):
    """The language bridge: every tagged SFX, paired or not, with its
    sentence's text vector; sounds with no usable tags are left out; and
    without stock footage only the bridge is written."""
    monkeypatch.setenv("AUTOFOLEY_CACHE", str(world / "cache"))
    lib = tmp_path / "lib"
    make_library(lib, SOUNDS[:6])
    sf.write(lib / "Audio 0012.wav", np.zeros(4800) + 0.1, 48000)  # no CSV row, a bare name
    result = curate(lib, world / "stock", tmp_path / "pairs", tiny, n=1, k=1, frames_per_video=1,
                    splits=(0.5, 0.25, 0.25), seed=2)
    data = load_pairs(tmp_path / "pairs")
    assert result.counts["untagged"] == 1
    assert {s.audio.name for s in data.sounds} == {Path(r).name for r, _, _ in SOUNDS[:6]}
    assert data.texts.shape == (6, tiny.embed_dim)
    want = tiny.encode_texts([s.sentence for s in data.sounds])
    assert np.allclose(data.texts, want, atol=2e-3)  # float16 on disk
    by_key = {s.key: s for s in data.sounds}
    for p in data.pairs:  # pairs are a subset of the sounds, in the same split
        assert by_key[(str(p.audio), round(p.offset, 3))].split == p.split

    bridge = curate(lib, None, tmp_path / "bridge", tiny, splits=(0.5, 0.25, 0.25), seed=2)
    only = load_pairs(tmp_path / "bridge")
    assert bridge.counts["pairs_total"] == 0 and len(only.frames) == 0
    assert [s.sentence for s in only.sounds] == [s.sentence for s in data.sounds]
    assert only.manifest["stock"] is None


def test_eval_loads_a_clip_given_as_a_config_file(world, tmp_path, monkeypatch):
    """A CLIP model given as a config .json (as every command takes it)
    gives eval its text row, from the pairs' manifest or from the flags."""
    from autofoley._cli.main import build_parser
    from autofoley.models.clip import load_clip
    from autofoley.models.registry import models_dir
    from autofoley.training.config import TrainConfig
    from autofoley.training.retrieval import evaluate
    from autofoley.training.train import train

    monkeypatch.setenv("AUTOFOLEY_CACHE", str(world / "cache"))
    config = str(models_dir() / "configs" / "autofoley-tiny.json")
    clip = load_clip(config, "none")
    curate(world / "library", world / "stock", tmp_path / "pairs", clip, k=1, frames_per_video=2,
           splits=(0.5, 0.25, 0.25), seed=1)
    m = load_pairs(tmp_path / "pairs").manifest
    assert m["clip_config"] == config and m["clip_pretrained"] == "none"
    run = train(tmp_path / "pairs", tmp_path / "run",
                TrainConfig(audio_model="audio-tiny-cnn14", epochs=1, batch_size=4,
                            freeze_backbone=False), device="cpu")
    result = evaluate(tmp_path / "pairs", str(run.model_path), split="train", device="cpu",
                      untrained=False)
    assert set(result["rows"]) == {"audio", "text"}
    args = build_parser().parse_args(["eval", str(tmp_path / "pairs"), "--audio-model",
                                      str(run.model_path), "--clip-model", config,
                                      "--clip-pretrained", "none", "--split", "train", "-q"])
    assert (args.clip_model, args.clip_pretrained) == (config, "none")
    again = evaluate(tmp_path / "pairs", str(run.model_path), split="train", device="cpu",
                     untrained=False, text_clip=args.clip_model,
                     text_pretrained=args.clip_pretrained)
    assert again["rows"]["text"] == result["rows"]["text"]


def test_cli_reports_a_missing_stock_folder(tmp_path):
    from autofoley.errors import InputError

    parser = argparse.ArgumentParser()
    add_curate_parser(parser.add_subparsers(dest="command"))
    make_library(tmp_path / "lib", SOUNDS[:2])
    args = parser.parse_args(["curate", "--library", str(tmp_path / "lib"), "--stock", str(tmp_path / "nope"),
                              "--out", str(tmp_path / "o"), "--clip-model", "autofoley-tiny", "-q"])
    with pytest.raises(InputError, match="stock folder not found"):
        cmd_curate(args)
    base = ["curate", "--library", "x", "--stock", "y", "--out", "z"]
    for flag, value in (("--n", "0"), ("--frames-per-video", "0"), ("--k", "-1"), ("--fps", "0"),
                        ("--llm-workers", "0"), ("--splits", "nan,1,1")):
        with pytest.raises(SystemExit):
            parser.parse_args(base + [flag, value])
    args = parser.parse_args(base + ["--n", "INF", "--frames-per-video", "all", "--k", "0"])
    assert (args.n, args.frames_per_video, args.k) == (None, None, 0)


def test_demo_model_pairs_a_dog_bark_with_a_dog(tmp_path):
    from autofoley.models.clip import load_clip

    subjects = [("forest", ["dog"]), ("city", ["car"]), ("kitchen", ["clock"]), ("beach", ["bell"]),
                ("city", ["phone"]), ("forest", ["fire"]), ("kitchen", ["bottle"]), ("forest", ["tree"])]
    write_stock(tmp_path / "stock", seed=5, videos=0, stills=len(subjects), forced=subjects)
    truth = json.loads((tmp_path / "stock" / TRUTH_NAME).read_text())
    make_library(tmp_path / "lib", [s for s in SOUNDS if s[2] in ("ANIMALS", "VEHICLES", "CLOCKS", "BELLS")][:5])
    result = curate(tmp_path / "lib", tmp_path / "stock", tmp_path / "pairs", load_clip("autofoley-demo"),
                    n=1, k=2, splits=(1, 0, 0))
    data = load_pairs(tmp_path / "pairs")
    shown = {p.audio.name: truth[data.frame_video[p.frame_ids[0]]]["objects"] for p in data.pairs}
    assert shown["dog_bark.wav"] == ["dog"]
    assert shown["car_by.wav"] == ["car"] or shown["car_idle.wav"] == ["car"]
    assert result.counts["pairs"]["train"] == 5
