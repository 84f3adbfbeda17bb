"""Choosing text / audio / hybrid ranking, and the hybrid fusion of keys."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from autofoley.errors import ModelError
from autofoley.library.keys import choose_rank, default_audio_model, fuse
from autofoley.library.text_index import LibraryIndex
from autofoley.records import SoundEntry


def _index(vectors: np.ndarray) -> LibraryIndex:
    entries = [SoundEntry(Path(f"/lib/s{i}.wav"), f"sound {i}", "CAT", "sfx", 1.0, 48000, 1)
               for i in range(len(vectors))]
    return LibraryIndex(entries, [e.description for e in entries], vectors.astype(np.float32))


def _unit(rng, n, d):
    v = rng.normal(size=(n, d))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_auto_is_text_without_a_trained_audio_encoder():
    # The tiny test encoders have seeded random weights: never a default.
    assert default_audio_model("autofoley-tiny") is None
    assert choose_rank("auto", "autofoley-tiny", None) == ("text", None)
    assert choose_rank("text", "autofoley-tiny", "audio-tiny-cnn14") == ("text", None)


def test_auto_is_hybrid_when_an_encoder_is_named_or_ships():
    assert choose_rank("auto", "autofoley-tiny", "audio-tiny-cnn14") == ("hybrid", "audio-tiny-cnn14")
    assert choose_rank("audio", "autofoley-tiny", "audio-tiny-cnn14") == ("audio", "audio-tiny-cnn14")
    assert choose_rank("hybrid", "autofoley-tiny", "audio-tiny-cnn14") == ("hybrid", "audio-tiny-cnn14")


def test_the_shipped_demo_encoder_makes_auto_hybrid_when_its_backbone_is_installed(monkeypatch):
    import autofoley.models.registry as registry

    monkeypatch.setattr(registry, "aisfx_checkpoint", lambda: Path("/x/checkpoint.pth"))
    assert default_audio_model("autofoley-demo") == "autofoley-demo-audio"
    assert choose_rank("auto", "autofoley-demo", None) == ("hybrid", "autofoley-demo-audio")
    # Without the aisfx wheel the demo still scores, by text (with a warning).
    monkeypatch.setattr(registry, "aisfx_checkpoint", lambda: None)
    assert choose_rank("auto", "autofoley-demo", None) == ("text", None)


def test_audio_rank_without_encoder_is_a_model_error():
    with pytest.raises(ModelError, match="--audio-model"):
        choose_rank("audio", "autofoley-tiny", None)
    with pytest.raises(ModelError, match="unknown rank mode"):
        choose_rank("loudest", "autofoley-tiny", None)


def test_fusion_weights_cosines_on_the_text_scale():
    rng = np.random.default_rng(0)
    t = _unit(rng, 40, 16) * 0.3 + 0.5  # text keys: a tight cluster, as CLIP text keys are
    a = _unit(rng, 40, 16) * 2.0  # audio keys: another scale altogether
    text, audio = _index(t), _index(a)
    assert np.allclose(fuse(text, audio, 0.0).vectors, t, atol=1e-6)

    mapped = fuse(text, audio, 1.0).vectors.astype(np.float64)
    # Audio mapped onto the text keys' mean and total spread, directions kept.
    assert np.allclose(mapped.mean(axis=0), t.mean(axis=0), atol=1e-5)
    spread = lambda v: np.sqrt(((v - v.mean(axis=0)) ** 2).sum(axis=1).mean())  # noqa: E731
    assert spread(mapped) == pytest.approx(spread(t), rel=1e-5)
    centred_a = a - a.mean(axis=0)
    centred_m = mapped - mapped.mean(axis=0)
    assert np.allclose(centred_m / spread(t), centred_a / spread(a), atol=1e-5)

    # Fused cosines are the weighted sum of the two modalities' cosines.
    f = _unit(rng, 5, 16)
    half = fuse(text, audio, 0.5).vectors
    assert np.allclose(f @ half.T, 0.5 * f @ mapped.T + 0.5 * f @ t.T, atol=1e-5)


def test_untagged_sounds_borrow_the_text_of_the_tagged_sound_they_sound_like():
    """In hybrid, an entry with no usable tags gets its own audio key and, for
    the text half, the text key of the tagged entry nearest in audio: its
    fused key is made like every other. ``found_by`` says which keys found
    each entry."""
    rng = np.random.default_rng(2)
    t, a = _unit(rng, 6, 8) * 0.3 + 0.4, _unit(rng, 6, 8)
    a[4] = a[1] + 0.05 * rng.normal(size=8)  # untagged 4 sounds like tagged 1
    a[5] = a[3] + 0.05 * rng.normal(size=8)  # untagged 5 sounds like tagged 3
    tagged = np.array([True, True, True, True, False, False])
    text, audio = _index(t), _index(a)
    fused = fuse(text, audio, 0.5, tagged)
    mapped = fuse(text, audio, 1.0, tagged).vectors
    unit = lambda v: v / np.linalg.norm(v)  # noqa: E731
    assert np.allclose(fused.vectors[4], 0.5 * mapped[4] + 0.5 * unit(t[1]), atol=1e-5)
    assert np.allclose(fused.vectors[5], 0.5 * mapped[5] + 0.5 * unit(t[3]), atol=1e-5)
    assert np.allclose(fused.vectors[:4], 0.5 * mapped[:4] + 0.5 * t[:4], atol=1e-6)
    # The mapping is learnt on the tagged entries: their audio mean lands on their text mean.
    assert np.allclose(mapped[:4].mean(axis=0), t[:4].mean(axis=0), atol=1e-5)
    assert fused.found_by == ["both"] * 4 + ["audio"] * 2
    assert fused.found_by_of(text.entries[5]) == "audio"
    assert text.found_by_of(text.entries[0]) == "text"


def test_untagged_sounds_borrow_the_category_of_the_tagged_sound_they_sound_like():
    """Placement groups sounds by category: an untagged sound joins the group
    of the tagged sound nearest to it in audio, not one UNCATEGORIZED group
    holding every untagged sound of the library."""
    from autofoley.library.keys import borrowed_categories, nearest_tagged

    rng = np.random.default_rng(4)
    a = _unit(rng, 5, 8)
    a[3] = a[0] + 0.05 * rng.normal(size=8)  # untagged 3 sounds like the dog
    a[4] = a[2] + 0.05 * rng.normal(size=8)  # untagged 4 sounds like the door
    entries = [dataclasses.replace(e, category=c) for e, c in zip(
        _index(a).entries, ["ANIMALS", "VEHICLES", "DOORS", "UNCATEGORIZED", "UNCATEGORIZED"])]
    tagged = np.array([True, True, True, False, False])
    nearest = nearest_tagged(a, tagged)
    assert nearest.tolist() == [0, 2]
    out = borrowed_categories(entries, tagged, nearest)
    assert [e.category for e in out] == ["ANIMALS", "VEHICLES", "DOORS", "ANIMALS", "DOORS"]
    assert [e.key for e in out] == [e.key for e in entries]  # the same sounds, the same keys
    for everything in (np.ones(5, bool), np.zeros(5, bool)):  # none to borrow, none to lend
        assert len(nearest_tagged(a, everything)) == 0
        assert borrowed_categories(entries, everything, nearest_tagged(a, everything)) == entries
    # fuse borrows the text of the same neighbour, given or found.
    t = _unit(rng, 5, 8)
    assert np.allclose(fuse(_index(t), _index(a), 0.5, tagged).vectors,
                       fuse(_index(t), _index(a), 0.5, tagged, nearest).vectors)


def test_fusion_needs_the_same_entries():
    rng = np.random.default_rng(1)
    text = _index(_unit(rng, 3, 8))
    audio = _index(_unit(rng, 4, 8))
    with pytest.raises(ValueError, match="different entries"):
        fuse(text, audio)
    with pytest.raises(ValueError, match="outside"):
        fuse(text, text, 1.5)


# --------------------------------------------------------------------------- in the pipeline

def _three_barks(path: Path, sr: int = 22050) -> list[tuple[float, float]]:
    """One file holding three barks 1 s apart; returns their [start, end] s."""
    import soundfile as sf

    rng = np.random.default_rng(3)
    data = np.zeros(int(4.0 * sr), np.float32)
    spans = []
    for start in (0.2, 1.5, 2.8):
        n = int(0.3 * sr)
        t = np.arange(n) / sr
        burst = np.sin(2 * np.pi * 500 * t) * np.exp(-t / 0.08) + 0.1 * rng.normal(size=n)
        data[int(start * sr):int(start * sr) + n] = 0.5 * burst
        spans.append((start, start + 0.3))
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, data, sr)
    return spans


@pytest.fixture(scope="module")
def split_library(tmp_path_factory):
    from synth import make_library

    root = tmp_path_factory.mktemp("ranklib")
    make_library(root)
    spans = _three_barks(root / "Dogs" / "DOGBark_Three Barks_AF_Test.wav")
    return root, spans


def test_audio_rank_indexes_each_event_of_a_file(split_library):
    from autofoley.pipeline import ScoreOptions, Scorer

    root, spans = split_library
    scorer = Scorer("autofoley-tiny", device="cpu",
                    options=ScoreOptions(rank="audio", audio_model="audio-tiny-cnn14"))
    assert scorer.options.rank == "audio"
    scan, index = scorer.library(root)
    barks = sorted((e for e in index.entries if e.path.name.startswith("DOGBark_Three")),
                   key=lambda e: e.offset)
    assert len(barks) == 3
    for entry, (start, end) in zip(barks, spans):
        assert entry.offset == pytest.approx(start, abs=0.05)
        assert entry.offset + entry.duration == pytest.approx(end, abs=0.08)
        assert entry.file_duration == pytest.approx(4.0, abs=0.01)
    assert len(index.vectors) == len(index.entries) > len(scan.entries)
    assert {e.path for e in index.entries} <= {e.path for e in scan.entries}
    assert np.allclose(np.linalg.norm(index.vectors, axis=1), 1, atol=1e-4)


def test_hybrid_rank_fuses_the_audio_and_text_indexes(split_library):
    from autofoley.library.text_index import build_index
    from autofoley.pipeline import ScoreOptions, Scorer

    root, _ = split_library
    audio = Scorer("autofoley-tiny", device="cpu",
                   options=ScoreOptions(rank="audio", audio_model="audio-tiny-cnn14"))
    hybrid = Scorer("autofoley-tiny", device="cpu", encoder=audio.encoder,
                    audio_encoder=audio.audio_encoder,
                    options=ScoreOptions(rank="hybrid", hybrid_weight=0.3))
    assert hybrid.options.audio_model == "audio-tiny-cnn14"
    scan, a_index = audio.library(root)
    _, h_index = hybrid.library(root)
    # Text vectors of the same takes: each take shares its file's sentence.
    t_index = build_index(dataclasses.replace(scan, entries=a_index.entries), audio.encoder)
    assert [e.key for e in h_index.entries] == [e.key for e in a_index.entries]
    assert np.allclose(h_index.vectors, fuse(t_index, a_index, 0.3).vectors, atol=1e-5)


def test_text_rank_leaves_untagged_sounds_out_and_hybrid_finds_them(split_library, tmp_path):
    import shutil

    import soundfile as sf

    from autofoley.library.index_store import build_audio_index
    from autofoley.library.scan import scan_library
    from autofoley.library.takes import SplitParams
    from autofoley.pipeline import ScoreOptions, Scorer

    root, _ = split_library
    lib = tmp_path / "lib"
    shutil.copytree(root, lib, ignore=shutil.ignore_patterns(".autofoley*"))
    sf.write(lib / "Audio 0012.wav", 0.3 * np.sin(np.arange(22050) / 5.0), 22050)
    text = Scorer("autofoley-tiny", device="cpu", options=ScoreOptions(rank="text"))
    scan, index = text.library(lib)
    assert "Audio 0012.wav" not in {e.path.name for e in index.entries}
    reasons = {p.name: r for p, r in scan.skipped}
    assert "no usable tags" in reasons["Audio 0012.wav"]
    hybrid = Scorer("autofoley-tiny", device="cpu", encoder=text.encoder,
                    options=ScoreOptions(rank="hybrid", audio_model="audio-tiny-cnn14"))
    _, h_index = hybrid.library(lib)
    found = {e.path.name: h_index.found_by_of(e) for e in h_index.entries}
    assert found["Audio 0012.wav"] == "audio"
    assert {v for k, v in found.items() if k != "Audio 0012.wav"} == {"both"}
    # It joins the category of the tagged sound it sounds most like, in the
    # audio backbone's own space (here not the nearest in the projected keys).
    [loose] = [i for i, e in enumerate(h_index.entries) if e.path.name == "Audio 0012.wav"]
    others = [i for i in range(len(h_index.entries)) if i != loose]
    _, a_index = Scorer("autofoley-tiny", device="cpu", encoder=text.encoder,
                        audio_encoder=hybrid.audio_encoder,
                        options=ScoreOptions(rank="audio", audio_model="audio-tiny-cnn14")).library(lib)
    assert [e.key for e in a_index.entries] == [e.key for e in h_index.entries]
    heard = build_audio_index(scan_library(lib), hybrid.audio_encoder, split=SplitParams(),
                              sounds=True)
    assert [e.key for e in heard.entries] == [e.key for e in h_index.entries]
    sounds = heard.sounds.astype(np.float32)
    nearest = others[int(np.argmax(sounds[others] @ sounds[loose]))]
    projected = others[int(np.argmax(a_index.vectors[others] @ a_index.vectors[loose]))]
    assert h_index.entries[nearest].category != h_index.entries[projected].category
    assert h_index.entries[loose].category == h_index.entries[nearest].category != "UNCATEGORIZED"
    assert a_index.entries[loose].category == h_index.entries[loose].category
    # Each index says which file it sounds like; tagged sounds borrow nothing.
    for index in (h_index, a_index):
        assert index.sounds_like_of(index.entries[loose]) == str(h_index.entries[nearest].path)
        assert {index.sounds_like_of(index.entries[i]) for i in others} == {None}


def test_score_with_audio_rank_places_split_events(split_library, tmp_path):
    import json
    from urllib.parse import unquote

    import opentimelineio as otio

    from autofoley.pipeline import ScoreOptions, Scorer
    from autofoley.placement.sync import SyncParams

    root, _ = split_library
    film = _film(tmp_path / "film.mp4")
    # Settings loose enough that the random tiny models place something.
    sync = SyncParams(threshold=0.0, stability=100.0, min_event=0.2, background=False)
    scorer = Scorer("autofoley-tiny", device="cpu", options=ScoreOptions(
        rank="audio", audio_model="audio-tiny-cnn14", sync=sync, render=False, report=False))
    result = scorer.score(film, root, tmp_path / "out")
    events = json.loads(result.outputs["events"].read_text())
    assert events["options"]["rank"] == "audio"
    assert events["options"]["audio_model"] == "audio-tiny-cnn14"
    assert events["events"] and {e["key"] for e in events["events"]} == {"audio"}
    sfx = [p for p in result.placements if p.role == "sfx"]
    assert sfx, "nothing placed"
    timeline = otio.adapters.read_from_file(str(result.outputs["timeline"]))
    for p in sfx:
        # Each clip starts in its file where its event starts (plus the trim).
        starts = [c.source_range.start_time.to_seconds() for c in timeline.find_clips()
                  if unquote(c.media_reference.target_url).endswith(p.sound.path.name)]
        assert any(abs(s - (p.sound.offset + p.source_in)) < 0.05 for s in starts), starts


def test_audio_encoder_for_another_clip_is_refused(split_library, tmp_path, capsys):
    from autofoley._cli.main import main

    root, _ = split_library
    code = main(["score", str(_film(tmp_path / "film.mp4")), "--library", str(root),
                 "--clip-model", "autofoley-demo", "--audio-model", "audio-tiny-cnn14",
                 "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 5
    assert len(err) == 1 and "trained for CLIP" in err[0] and "--clip-model" in err[0]
    assert not (tmp_path / "out").exists()


def _film(path: Path) -> Path:
    import subprocess

    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=160x90:rate=25:duration=4", "-c:v", "libx264",
                    "-pix_fmt", "yuv420p", str(path)], check=True,
                   timeout=300, stdin=subprocess.DEVNULL)
    return path


def test_audio_encoder_of_another_size_is_refused_in_one_line(split_library, tmp_path):
    """The pretrained aiSFX backbone under an untrained 512-d projection fits
    no 64-d CLIP: a one-line model error, not a shape error deep in matching."""
    from autofoley._cli.main import main
    from autofoley.models.backbones.aisfx import installed_checkpoint

    if installed_checkpoint() is None:
        pytest.skip("the aisfx wheel is not installed (pip install --no-deps aisfx)")
    root, _ = split_library
    with pytest.raises(ModelError, match="512 dimensions, the CLIP model into 64"):
        from autofoley.pipeline import ScoreOptions, Scorer
        Scorer("autofoley-tiny", device="cpu",
               options=ScoreOptions(rank="audio", audio_model="aisfx"))
    code = main(["score", str(_film(tmp_path / "f.mp4")), "--library", str(root), "--clip-model",
                 "autofoley-tiny", "--audio-model", "aisfx", "--out", str(tmp_path / "o"), "-q"])
    assert code == 5


def test_untrained_projection_is_warned_about(split_library, caplog):
    import logging

    from autofoley.models.audio import load_audio_encoder
    from autofoley.pipeline import ScoreOptions, Scorer

    audio = load_audio_encoder("audio-tiny-cnn14", device="cpu")
    untrained = dataclasses.replace(audio, clip_identity=None)
    with caplog.at_level(logging.WARNING, logger="autofoley"):
        Scorer("autofoley-tiny", device="cpu", audio_encoder=untrained,
               options=ScoreOptions(rank="audio"))
    assert "untrained projection" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="autofoley"):
        Scorer("autofoley-tiny", device="cpu", audio_encoder=audio, options=ScoreOptions(rank="audio"))
    assert "untrained" not in caplog.text


def test_events_say_which_tagged_sound_an_untagged_one_sounds_like(split_library, tmp_path):
    import json
    import shutil

    import soundfile as sf

    from autofoley.pipeline import ScoreOptions, Scorer
    from autofoley.placement.sync import SyncParams

    root, _ = split_library
    lib = tmp_path / "lib"
    shutil.copytree(root, lib, ignore=shutil.ignore_patterns(".autofoley*"))
    sf.write(lib / "Audio 0012.wav", 0.3 * np.sin(np.arange(22050) / 5.0), 22050)
    # Settings that place every file of the library, whatever the random tiny
    # models score: each file its own group, all of them candidates, no cap on
    # overlaps. (Looser settings, with groups and a cap of 8, left the untagged
    # file's turn to near-ties of random scores: the test failed once in a
    # full run and never alone.)
    sync = SyncParams(threshold=0.0, stability=100.0, min_event=0.2, background=False,
                      max_overlap=64, shortlist_k=64, group_by="none")
    scorer = Scorer("autofoley-tiny", device="cpu", options=ScoreOptions(
        rank="hybrid", audio_model="audio-tiny-cnn14", sync=sync, render=False, report=False))
    result = scorer.score(_film(tmp_path / "film.mp4"), lib, tmp_path / "out")
    _, index = scorer.library(lib)
    [loose] = [e for e in index.entries if e.path.name == "Audio 0012.wav"]
    events = json.loads(result.outputs["events"].read_text())["events"]
    untagged = [e for e in events if e["file"].endswith("Audio 0012.wav")]
    assert untagged, "the untagged sound was not placed"
    assert {e["sounds_like"] for e in untagged} == {index.sounds_like_of(loose)}
    like = Path(index.sounds_like_of(loose))
    assert like.is_relative_to(lib) and like.name != "Audio 0012.wav"
    assert all("sounds_like" not in e for e in events if e not in untagged)


def test_a_library_without_ambience_gets_the_built_in_places(split_library, tmp_path):
    import shutil

    from autofoley.library.places import PLACES, place_sentences
    from autofoley.library.scan import DEFAULT_TEMPLATE, scan_library
    from autofoley.pipeline import ScoreOptions, Scorer

    root, _ = split_library
    lib = tmp_path / "lib"
    shutil.copytree(root, lib, ignore=shutil.ignore_patterns(".autofoley*"))
    beds = [e.path for e in scan_library(lib, use_cache=False).entries if e.kind == "ambience"]
    assert beds
    text = Scorer("autofoley-tiny", device="cpu", options=ScoreOptions(rank="text"))
    assert text.library(lib)[1].places is None  # its own ambiences compete
    for bed in beds:
        bed.unlink()
    for rank, audio in (("text", None), ("hybrid", "audio-tiny-cnn14")):
        scorer = Scorer("autofoley-tiny", device="cpu", encoder=text.encoder,
                        options=ScoreOptions(rank=rank, audio_model=audio))
        _, index = scorer.library(lib)
        assert not len(index.of_kind("ambience"))
        assert index.places.shape == (len(PLACES), text.encoder.embed_dim)
        expected = text.encoder.encode_texts(place_sentences(DEFAULT_TEMPLATE))
        assert np.allclose(index.places, expected, atol=1e-5)
    assert place_sentences("a photo of {}.")[:2] == ["a photo of an airport terminal.",
                                                     "a photo of an alley."]


def test_text_ranking_gets_the_built_in_things_the_library_does_not_name(split_library):
    from autofoley.library.scan import DEFAULT_TEMPLATE
    from autofoley.library.things import library_words, thing_sentences
    from autofoley.pipeline import ScoreOptions, Scorer
    from autofoley.placement.sync import SyncParams

    root, _ = split_library
    text = Scorer("autofoley-tiny", device="cpu", options=ScoreOptions(rank="text"))
    _, index = text.library(root)
    sentences = thing_sentences(DEFAULT_TEMPLATE, library_words(index))
    assert index.things is not None and len(index.things) == len(sentences) > 100
    assert np.allclose(index.things, text.encoder.encode_texts(sentences), atol=1e-5)
    # Off with --silent-things 0, and for audio keys (they took more than they gave there).
    off = Scorer("autofoley-tiny", device="cpu", encoder=text.encoder,
                 options=ScoreOptions(rank="text", sync=SyncParams(things=0)))
    assert off.library(root)[1].things is None
    hybrid = Scorer("autofoley-tiny", device="cpu", encoder=text.encoder,
                    options=ScoreOptions(rank="hybrid", audio_model="audio-tiny-cnn14"))
    assert hybrid.library(root)[1].things is None
