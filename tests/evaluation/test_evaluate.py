"""Evaluation metrics on hand-made cases, and tuning on hand-made embeddings."""

import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from autofoley.evaluation.evaluate import (
    LibraryTruth,
    Placed,
    evaluate_placements,
    iou,
    match_cuts,
)
from autofoley.evaluation.tune import FilmData, film_loss, tune
from autofoley.library.text_index import LibraryIndex
from autofoley.placement.settings import model_defaults_path, resolve_sync, save_sync
from autofoley.placement.sync import SyncParams
from autofoley.records import Scene, SoundEntry

LIB = LibraryTruth({
    "Animals/dog1.wav": {"sound_class": "dog", "kind": "sfx"},
    "Bells/bell1.wav": {"sound_class": "bell", "kind": "sfx"},
    "Dist/thunder.wav": {"sound_class": None, "kind": "distractor"},
    "Amb/forest.flac": {"sound_class": None, "kind": "ambience", "place": "forest"},
    "Amb/city.flac": {"sound_class": None, "kind": "ambience", "place": "city"},
})

TRUTH = {
    "cuts": [5.0, 10.0],
    "scenes": [{"start": 0, "end": 5, "place": "forest"}, {"start": 5, "end": 10, "place": "city"},
               {"start": 10, "end": 15, "place": "forest"}],
    "events": [
        {"class": "dog", "sound_class": "dog", "start": 1.0, "end": 3.0},
        {"class": "bell", "sound_class": "bell", "start": 6.0, "end": 8.0},
        {"class": "rock", "sound_class": None, "start": 11.0, "end": 14.0},
    ],
}


def test_cut_matching_is_one_to_one_within_tolerance():
    assert match_cuts([5.1, 9.7], [5.0, 10.0]) == (1.0, 1.0, 1.0)
    p, r, f = match_cuts([5.1, 5.2, 12.0], [5.0, 10.0])
    assert (p, r) == (1 / 3, 1 / 2) and abs(f - 0.4) < 1e-12
    assert match_cuts([], []) == (1.0, 1.0, 1.0)
    assert match_cuts([], [3.0])[1] == 0.0


def test_iou():
    assert iou((0, 2), (1, 3)) == pytest.approx(1 / 3)
    assert iou((0, 1), (2, 3)) == 0.0


def test_metrics_hand_computed():
    placed = [
        Placed("/lib/Animals/dog1.wav", 1.2, 3.0, "sfx"),  # hit, onset error 0.2
        Placed("/lib/Animals/dog1.wav", 1.5, 2.5, "sfx"),  # second sound on the same dog: FP
        Placed("/lib/Bells/bell1.wav", 7.5, 9.5, "sfx"),  # IoU 0.5/3.5 < 0.3: FP, bell missed
        Placed("/lib/Dist/thunder.wav", 11.0, 14.0, "sfx"),  # distractor on a silent rock: FP
        Placed("/lib/Amb/forest.flac", 0.0, 5.0, "ambience"),
        Placed("/lib/Amb/forest.flac", 5.0, 10.0, "ambience"),  # wrong place
        Placed("/lib/Amb/forest.flac", 10.0, 15.0, "ambience"),
    ]
    m = evaluate_placements(placed, [5.0, 10.2], TRUTH, LIB)
    assert (m.cut_precision, m.cut_recall, m.cut_f1) == (1.0, 1.0, 1.0)
    assert (m.sfx_hits, m.sfx_placed, m.sfx_truth) == (1, 4, 2)
    assert m.sfx_precision == 0.25 and m.sfx_recall == 0.5
    assert m.sfx_f1 == pytest.approx(2 * 0.25 * 0.5 / 0.75)
    assert m.median_onset_error == pytest.approx(0.2)
    assert m.ambience_accuracy == pytest.approx(2 / 3)
    assert [e["class"] for e in m.missed] == ["bell"]
    assert len(m.false_positives) == 3


def test_no_sfx_placed_and_none_expected_is_perfect():
    truth = {"cuts": [], "events": [{"class": "rock", "sound_class": None, "start": 0, "end": 2}]}
    m = evaluate_placements([], [], truth, LIB)
    assert m.sfx_f1 == 1.0 and math.isnan(m.median_onset_error)


def _world(rng, d=24):
    v = rng.standard_normal((5, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_tune_never_worse_than_start_and_finds_better():
    """A dog on screen for 2 s, a silent rock for 3 s: a start that fires on
    anything (no cosine floor) is beaten by settings that ignore the rock."""
    rng = np.random.default_rng(0)
    vecs = _world(rng)
    entries = [SoundEntry(Path("/lib/Animals/dog1.wav"), "dog", "ANIMALS", "sfx", 3.0, 48000, 1),
               SoundEntry(Path("/lib/Bells/bell1.wav"), "bell", "BELLS", "sfx", 3.0, 48000, 1),
               SoundEntry(Path("/lib/Dist/thunder.wav"), "thunder", "WEATHER", "sfx", 3.0, 48000, 1)]
    index = LibraryIndex(entries, ["dog", "bell", "thunder"], vecs[:3])
    film = np.repeat(vecs[4:5] * 0.3 + vecs[3:4], 150, axis=0)  # background + silent rock
    film[10:30] = vecs[0] + 0.3 * vecs[3]  # the dog, 1.0 .. 3.0 s
    film /= np.linalg.norm(film, axis=1, keepdims=True)
    truth = {"cuts": [], "events": [{"class": "dog", "sound_class": "dog", "start": 1.0, "end": 3.0},
                                    {"class": "rock", "sound_class": None, "start": 3.0, "end": 15.0}]}
    films = [FilmData("f", film, 0.1, [Scene(0, 0.0, 15.0)], Fraction(25), truth)]
    start = SyncParams(threshold=0.05, temperature=0.1)
    grid = {"threshold": [0.05, 0.3, 0.5, 0.9], "release": [0.5, 1.0], "min_event": [0.3, 1.0]}
    result = tune(films, index, LIB, start, grid)
    assert result.best_loss <= result.start_loss
    assert result.best_loss < result.start_loss  # the start places sounds on the rock
    m = result.best_metrics["f"]
    assert m.sfx_f1 == 1.0 and film_loss(m) == result.best_loss


def test_settings_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOFOLEY_CONFIG", str(tmp_path))
    assert resolve_sync("m") == SyncParams()
    assert resolve_sync("m", {"threshold": 0.3}).threshold == 0.3
    save_sync(model_defaults_path("m"), SyncParams(threshold=0.4, stability=0.7))
    assert resolve_sync("m", {"threshold": 0.3}).threshold == 0.4
    cfg = save_sync(tmp_path / "c.json", SyncParams(threshold=0.2))
    s = resolve_sync("m", {"threshold": 0.3}, cfg, {"stability": None, "min_event": 0.9})
    assert (s.threshold, s.stability, s.min_event) == (0.2, 0.5, 0.9)


def test_settings_per_ranking(tmp_path, monkeypatch):
    """A CLIP model's shipped defaults are tuned for its text ranking: audio
    ranking starts from the papers' defaults, and each (ranking, audio
    model) keeps its own tuned settings."""
    monkeypatch.setenv("AUTOFOLEY_CONFIG", str(tmp_path))
    shipped = {"threshold": 0.3, "min_similarity": 0.52}
    assert resolve_sync("m", shipped, rank="audio", audio_model="a").threshold == SyncParams().threshold
    assert resolve_sync("m", shipped, rank="hybrid", audio_model="a").min_similarity == 0.52

    ckpt = tmp_path / "run" / "model.safetensors"
    ckpt.parent.mkdir()
    ckpt.write_bytes(b"x")
    path = model_defaults_path("m", "audio", str(ckpt))
    assert path != model_defaults_path("m") != model_defaults_path("m", "hybrid", str(ckpt))
    save_sync(path, SyncParams(threshold=0.45))
    # Found again from another working directory through a relative path.
    monkeypatch.chdir(tmp_path)
    assert resolve_sync("m", shipped, rank="audio", audio_model="run/model.safetensors").threshold == 0.45
    assert resolve_sync("m", shipped).threshold == 0.3  # text ranking: untouched
    assert resolve_sync("m", shipped, rank="audio", audio_model="other").threshold == SyncParams().threshold


def test_detection_and_false_positive_causes_hand_computed():
    placed = [
        Placed("/lib/Animals/dog1.wav", 1.2, 3.0, "sfx"),  # hit
        Placed("/lib/Animals/dog1.wav", 1.5, 2.5, "sfx"),  # second sound on the dog
        Placed("/lib/Bells/bell1.wav", 7.5, 9.5, "sfx"),  # right bell, IoU < 0.3: misaligned
        Placed("/lib/Dist/thunder.wav", 11.0, 14.0, "sfx"),  # a sound with no picture
        Placed("/lib/Bells/bell1.wav", 1.0, 2.0, "sfx"),  # a bell over the dog: wrong sound
        Placed("/lib/Animals/dog1.wav", 11.5, 12.5, "sfx"),  # over the silent rock
        Placed("/lib/Animals/dog1.wav", 4.0, 4.5, "sfx"),  # nothing on screen
    ]
    m = evaluate_placements(placed, [5.0, 10.0], TRUTH, LIB)
    assert m.causes == {"second sound": 1, "misaligned": 1, "distractor": 1, "wrong sound": 1,
                        "silent object": 1, "nothing on screen": 1}
    # Detection: the two dog clips over the dog and the late bell over the bell.
    assert (m.detection_hits, m.detection_found) == (3, 2)
    assert m.detection_precision == pytest.approx(3 / 7) and m.detection_recall == 1.0
    assert m.to_dict()["false_positive_causes"]["distractor"] == 1
    # The wrong sound names what it was laid over: a bell over the dog.
    assert m.confusions == [("bell", "dog", 1)]
    assert m.to_dict()["confusions"] == [{"placed": "bell", "over": "dog", "count": 1}]


def test_pooled_totals_weigh_films_by_their_events():
    from autofoley.evaluation.evaluate import pooled

    one = evaluate_placements([Placed("/lib/Animals/dog1.wav", 1.0, 3.0, "sfx")], [5.0, 10.0],
                              TRUTH, LIB)  # 1 hit of 2 events
    two = evaluate_placements([], [5.0, 10.0], TRUTH, LIB)  # 0 of 2
    total = pooled([one, two])
    assert (total.sfx_hits, total.sfx_placed, total.sfx_truth) == (1, 1, 4)
    assert total.sfx_precision == 1.0 and total.sfx_recall == 0.25
    assert total.detection_recall == 0.25


def test_tune_reports_the_ambience_figure_evaluate_reports():
    """The search leaves beds out (they change no SFX figure), but the
    metrics it reports place them, as 'evaluate' does."""
    rng = np.random.default_rng(1)
    vecs = _world(rng)
    entries = [SoundEntry(Path("/lib/Animals/dog1.wav"), "dog", "ANIMALS", "sfx", 3.0, 48000, 1),
               SoundEntry(Path("/lib/Amb/forest.flac"), "forest", "AMBIENCE", "ambience", 8.0,
                          48000, 2),
               SoundEntry(Path("/lib/Amb/city.flac"), "city", "AMBIENCE", "ambience", 8.0,
                          48000, 2)]
    index = LibraryIndex(entries, ["dog", "forest", "city"], vecs[:3])
    film = np.repeat(vecs[1:2], 100, axis=0)  # a forest, 10 s
    film[20:40] = vecs[0] + 0.3 * vecs[1]  # the dog
    film /= np.linalg.norm(film, axis=1, keepdims=True)
    truth = {"cuts": [], "scenes": [{"start": 0, "end": 10, "place": "forest"}],
             "events": [{"class": "dog", "sound_class": "dog", "start": 2.0, "end": 4.0}]}
    films = [FilmData("f", film, 0.1, [Scene(0, 0.0, 10.0)], Fraction(25), truth)]
    result = tune(films, index, LIB, SyncParams(), {"threshold": [0.1, 0.3]})
    assert result.best_metrics["f"].ambience_accuracy == 1.0
    assert result.start_metrics["f"].ambience_accuracy == 1.0


def test_evaluate_prints_which_things_got_which_wrong_sounds():
    from autofoley._cli.display import format_metrics
    from autofoley.evaluation.evaluate import pooled

    wrong = [Placed("/lib/Bells/bell1.wav", 1.0, 2.0, "sfx")]  # a bell over the dog
    films = {f"f{i}": evaluate_placements(wrong, [5.0, 10.0], TRUTH, LIB) for i in range(3)}
    assert pooled(list(films.values())).confusions == [("bell", "dog", 3)]
    text = format_metrics(films)  # per film, then their total (tune prints it so too)
    assert "all (3 films)" in text
    assert "false positives (all films): 3 wrong sound" in text
    assert "wrong sounds, placed over the thing on screen: 3 bell over dog" in text
