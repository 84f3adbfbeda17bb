"""Searching the library by phrase, picture or film frame, through the commands."""

import argparse
import json
import shutil
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from test_index_store import FakeAudioEncoder

import autofoley
import autofoley.models.clip as clip_encoder
from autofoley._cli.search import add_index_parser, add_search_parser
from autofoley.errors import AutofoleyError
from autofoley.library.search import search
from autofoley.library.text_index import LibraryIndex
from autofoley.records import SoundEntry

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"
FILM = DEMO / "films" / "forest_city_beach.mp4"


def _entry(name: str, kind: str) -> SoundEntry:
    return SoundEntry(path=Path("/lib") / name, description=name, category=name.upper(),
                      kind=kind, duration=1.0, sample_rate=48000, channels=1)


def test_search_is_exact_and_filters_kinds():
    rng = np.random.default_rng(0)
    v = rng.standard_normal((50, 8)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    entries = [_entry(f"s{i}", "ambience" if i % 5 == 0 else "sfx") for i in range(50)]
    index = LibraryIndex(entries, [""] * 50, v)
    hits = search(index, v[[3, 10]], k=4, chunk=7)
    assert [h.rank for h in hits[0]] == [1, 2, 3, 4]
    assert hits[0][0].entry is entries[3] and hits[0][0].score == pytest.approx(1.0)
    assert hits[1][0].entry is entries[10]
    assert [h.entry for h in hits[0]] == [entries[i] for i in np.argsort(-(v @ v[3]))[:4]]
    amb = search(index, v[3], k=100, kind="ambience")[0]
    assert len(amb) == 10 and all(h.entry.kind == "ambience" for h in amb)
    assert [h.score for h in amb] == sorted((h.score for h in amb), reverse=True)
    assert search(LibraryIndex([], [], np.zeros((0, 8), np.float32)), v[0]) == [[]]


@pytest.fixture(scope="module")
def demo_clip():
    return clip_encoder.load_clip("autofoley-demo", device="cpu")


@pytest.fixture
def run(tmp_path, monkeypatch, capsys, demo_clip):
    """``autofoley ARGS`` for the two commands: (exit code, stdout). The demo
    model is loaded once for the module."""
    monkeypatch.setenv("AUTOFOLEY_CACHE", str(tmp_path / "cache"))
    real = clip_encoder.load_clip
    monkeypatch.setattr(clip_encoder, "load_clip",
                        lambda model, *a, **k: demo_clip if model == "autofoley-demo" else real(model, *a, **k))
    parser = argparse.ArgumentParser(prog="autofoley")
    sub = parser.add_subparsers(dest="command")
    add_index_parser(sub)
    add_search_parser(sub)

    def call(*argv):
        args = parser.parse_args([str(a) for a in argv])
        try:
            code = args.handler(args)
        except AutofoleyError as exc:
            print(f"autofoley: error: {exc}", file=sys.stderr)
            code = exc.exit_code
        return code, capsys.readouterr().out

    return call


def _search(run, *query):
    # Text ranking unless asked: --rank auto would follow whatever audio
    # encoder the registry ships for the demo model.
    rank = () if "--rank" in query else ("--rank", "text")
    code, out = run("search", "--library", DEMO / "library", "--clip-model", "autofoley-demo",
                    "--quiet", "--json", *rank, *query)
    assert code == 0
    return json.loads(out)["hits"]


def test_text_search_finds_the_dog(run):
    hits = _search(run, "--text", "dog barking", "-k", "5")
    assert len(hits) == 5 and hits[0]["rank"] == 1
    assert hits[0]["category"] == "ANIMALS" and "Dog" in hits[0]["file"]
    assert hits[0]["score"] >= hits[-1]["score"]
    # Text ranks whole files: the takes of a file share one sentence.
    assert all(h["offset"] == 0 for h in hits)


def test_plain_table_output(run):
    code, out = run("search", "--library", DEMO / "library", "--clip-model", "autofoley-demo",
                    "--quiet", "--rank", "text", "--text", "car engine", "-k", "3")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["rank", "score", "file", "in-out", "(s)", "category", "sustain"]
    assert len(lines) == 4 and lines[1].split()[0] == "1"
    assert lines[1].split()[-2:] == ["VEHICLES", "continuous"]  # "Car Engine Idle Steady"


def test_hits_say_whether_placement_loops_them(run):
    """The sustain class placement uses, from each hit's envelope."""
    barks = _search(run, "--text", "dog barking", "-k", "3")
    assert {h["sustain"] for h in barks} == {"one-shot"}
    engine = _search(run, "--text", "car engine idling", "-k", "1")[0]
    assert "Idle" in engine["file"] and engine["sustain"] == "continuous"
    beds = _search(run, "--text", "forest", "--kind", "ambience", "-k", "2")
    assert {h["sustain"] for h in beds} == {"continuous"}


def test_image_query_from_a_frame(run, tmp_path):
    png = tmp_path / "frame.png"
    subprocess.run(["ffmpeg", "-v", "error", "-ss", "3", "-i", str(FILM), "-frames:v", "1",
                    str(png)], check=True, timeout=300, stdin=subprocess.DEVNULL)
    assert _search(run, "--image", png, "-k", "3")[0]["category"] == "ANIMALS"
    amb = _search(run, "--image", png, "--kind", "ambience", "-k", "2")
    assert all("AMBForst" in h["file"] for h in amb)  # the forest scene


@pytest.mark.parametrize("at,category", [(11.0, "VEHICLES"), (17.0, "BIRDS")])
def test_video_query_finds_what_is_on_screen(run, at, category):
    assert _search(run, "--video", FILM, "--at", at, "--kind", "sfx", "-k", "3")[0]["category"] == category


def test_index_command_lists_untagged_sounds_and_what_they_sound_like(run, tmp_path):
    lib = tmp_path / "lib"
    shutil.copytree(DEMO / "library", lib)
    dog = next(lib.rglob("ANMLDog_*.wav"))
    # The dog's sound under a name that says nothing, without its embedded description.
    data, sr = sf.read(str(dog))
    sf.write(str(lib / "Audio 0012.wav"), data, sr)
    args = ("index", lib, "--clip-model", "autofoley-tiny", "--quiet", "--rank", "hybrid",
            "--audio-model", "audio-tiny-cnn14", "--no-split")
    code, out = run(*args, "--json")
    summary = json.loads(out)
    assert code == 0 and summary["files"] == 50
    [loose] = summary["untagged"]
    assert loose["file"] == str(lib / "Audio 0012.wav")
    assert loose["sounds_like"] == str(dog) and loose["category"] == "ANIMALS"
    code, out = run(*args)
    assert code == 0 and "1 segments without usable tags, found by their sound, as: 1 ANIMALS" in out


def test_index_command_and_bad_queries(run, tmp_path):
    code, out = run("index", DEMO / "library", "--clip-model", "autofoley-demo", "--quiet",
                    "--rank", "text", "--json")
    summary = json.loads(out)
    assert code == 0 and summary["files"] == summary["segments"] == 49
    assert summary["new"] > 0 and summary["skipped"] == []
    code, out = run("index", DEMO / "library", "--clip-model", "autofoley-demo", "--quiet",
                    "--rank", "text", "--json")
    assert json.loads(out)["new"] == 0
    # Audio ranks each take of a multi-take file on its own.
    audio = ("index", DEMO / "library", "--clip-model", "autofoley-tiny", "--quiet", "--rank",
             "audio", "--audio-model", "audio-tiny-cnn14", "--json")
    code, out = run(*audio)
    summary = json.loads(out)
    assert code == 0 and summary["files"] == 49 and summary["segments"] > 49
    assert summary["new"] == summary["segments"]
    code, out = run(*audio)
    assert json.loads(out)["new"] == 0 and json.loads(out)["untagged"] == []
    code, _ = run("search", "--library", DEMO / "library", "--clip-model", "autofoley-demo",
                  "--quiet", "--video", FILM)
    assert code == 2  # --video without --at: a usage error
    code, _ = run("search", "--library", DEMO / "library", "--clip-model", "autofoley-demo",
                  "--quiet", "--video", FILM, "--at", "99")
    assert code == 3
    code, _ = run("search", "--library", DEMO / "library", "--clip-model", "autofoley-demo",
                  "--quiet", "--image", tmp_path / "missing.png")
    assert code == 3
    not_a_picture = tmp_path / "notes.png"
    not_a_picture.write_text("not a picture")
    code, _ = run("search", "--library", DEMO / "library", "--clip-model", "autofoley-demo",
                  "--quiet", "--image", not_a_picture)
    assert code == 3


def test_audio_rank_with_a_fake_encoder(run, monkeypatch, tmp_path):
    """--rank audio through the audio encoder interface, with a stand-in
    module: loading, and the check against the CLIP model."""
    checked = []
    fake = types.ModuleType("autofoley.models.audio")
    fake.load_audio_encoder = lambda name, device="auto": FakeAudioEncoder()

    def load_audio_for(name, clip, device=None):
        checked.append(clip.identity)
        return FakeAudioEncoder()

    fake.load_audio_for = load_audio_for
    monkeypatch.setitem(sys.modules, "autofoley.models.audio", fake)
    monkeypatch.setattr(autofoley, "audio_encoder", fake, raising=False)
    monkeypatch.setattr(FakeAudioEncoder, "embed_dim", 64)  # the demo CLIP's width

    code, out = run("index", DEMO / "library", "--rank", "audio", "--audio-model", "fake",
                    "--index", tmp_path / "ix", "--quiet", "--json")
    summary = json.loads(out)
    assert code == 0 and summary["index"] == str(tmp_path / "ix") and summary["new"] > 49
    assert (tmp_path / "ix" / "manifest.sqlite").exists()
    hits = _search(run, "--rank", "audio", "--audio-model", "fake", "--index", tmp_path / "ix",
                   "--text", "dog barking", "-k", "3")
    assert len(hits) == 3 and checked  # compatibility was checked against the CLIP model
