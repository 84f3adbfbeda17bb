"""The demo world (examples/demo_world): pictures, captions, sounds, library and films."""

import dataclasses
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))

from demo_world import films, sounds, world  # noqa: E402

from autofoley.library.scan import scan_library  # noqa: E402
from autofoley.media.probe import probe  # noqa: E402

SR = 22050


# --------------------------------------------------------------------------- pictures


def test_rendering_is_deterministic_per_seed():
    first = [(img.tobytes(), text, labels) for img, text, labels in world.dataset(6, seed=7, size=64)]
    again = [(img.tobytes(), text, labels) for img, text, labels in world.dataset(6, seed=7, size=64)]
    other = [img.tobytes() for img, _, _ in world.dataset(6, seed=8, size=64)]
    assert first == again
    assert [f[0] for f in first] != other
    # Example i does not depend on how many were asked for.
    assert world.example(7, 3, 64)[0].tobytes() == first[3][0]


def test_scene_has_requested_size_and_objects_change_pixels():
    rng = np.random.default_rng(0)
    empty = world.render_scene(np.random.default_rng(1), (96, 54), "beach", [])
    with_dog = world.render_scene(np.random.default_rng(1), (96, 54), "beach", [("dog", 0.5, 0.5, 0.5, 10.0)])
    assert empty.size == with_dog.size == (96, 54) and empty.mode == "RGB"
    diff = np.abs(np.asarray(empty, np.int16) - np.asarray(with_dog, np.int16)).sum(axis=2) > 30
    assert 0.05 < diff.mean() < 0.5  # the dog covers part of the frame, not all of it
    with pytest.raises(ValueError):
        world.render_scene(rng, 64, "moon", [])


def test_world_lists_classes_places_and_silent_things():
    assert len(world.CLASSES) >= 12 and len(world.PLACES) >= 4
    silent = [c.name for c in world.CLASSES if c.sound is None]
    assert len(silent) >= 2
    assert {c.sound for c in world.CLASSES if c.sound} == set(sounds.SOUND_CLASSES)
    assert {p.ambience for p in world.PLACES} == set(sounds.AMBIENCES)


def _alone(name: str, seed: int) -> Image.Image:
    img = Image.new("RGB", (64, 64), (128, 128, 128))
    world.draw_object(img, np.random.default_rng(seed), name, 0.5, 0.5, 0.7, 0.0, facing=1)
    return img


def _thumbnail(name: str, seed: int) -> np.ndarray:
    """An object alone on grey, shrunk to 12x12: colour and silhouette."""
    return np.asarray(_alone(name, seed).resize((12, 12), Image.Resampling.BOX), np.float32).ravel() / 255


def test_every_class_renders_and_is_told_apart_from_the_others():
    for c in world.CLASSES:  # something was drawn, of a sensible size
        drawn = (np.abs(np.asarray(_alone(c.name, 0), np.int16) - 128).sum(axis=2) > 10).mean()
        assert 0.1 < drawn < 0.7, c.name
    reference = {c.name: _thumbnail(c.name, 0) for c in world.CLASSES}
    for c in world.CLASSES:  # other draws (colour jitter, texture) stay nearest their own class
        for seed in (1, 2, 3):
            thumb = _thumbnail(c.name, seed)
            nearest = min(reference, key=lambda k: np.linalg.norm(reference[k] - thumb))
            assert nearest == c.name, f"a {c.name} looks most like a {nearest}"


def test_captions_mention_every_object_and_empty_scenes_the_place():
    seen = set()
    for index in range(300):
        _, text, labels = world.example(3, index, 32)
        seen.add(text)
        assert labels["place"] in world.PLACE_BY_NAME
        assert len(labels["objects"]) == len(labels["layout"]) <= 2
        for name in labels["objects"]:
            assert any(s in text for s in world.CLASS_BY_NAME[name].synonyms), (text, name)
        if not labels["objects"]:
            place = world.PLACE_BY_NAME[labels["place"]]
            assert any(s in text for s in place.synonyms + place.phrases), text
    assert len(seen) > 150  # many phrasings, not a handful of templates


# --------------------------------------------------------------------------- sounds


def _profile(x: np.ndarray) -> np.ndarray:
    """Log energy share in 12 log-spaced bands, plus how much of the time it sounds."""
    x = x if x.ndim == 1 else x.mean(axis=1)
    power = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / SR)
    edges = np.geomspace(40, SR / 2, 13)
    bands = np.array([power[(freqs >= a) & (freqs < b)].sum() for a, b in zip(edges[:-1], edges[1:])])
    hop = SR // 100
    env = np.sqrt(np.add.reduceat(x ** 2, np.arange(0, len(x), hop)) / hop)
    active = (20 * np.log10(env / env.max() + 1e-9) > -20).mean()
    return np.r_[np.log10(bands / bands.sum() + 1e-6), 4 * active]


def _centroid(x: np.ndarray) -> float:
    power = np.abs(np.fft.rfft(x)) ** 2
    return float((np.fft.rfftfreq(len(x), 1 / SR) * power).sum() / power.sum())


def test_sound_classes_are_distinct_and_consistent():
    names = sounds.SOUND_CLASSES + sounds.DISTRACTORS
    reference = {n: _profile(sounds.RECIPES[n](np.random.default_rng(0), SR)) for n in names}
    for n in names:
        x = sounds.RECIPES[n](np.random.default_rng(5), SR)
        assert np.isfinite(x).all() and 0.1 < np.abs(x).max() <= 1.0
        nearest = min(reference, key=lambda k: np.linalg.norm(reference[k] - _profile(x)))
        assert nearest == n, f"{n} sounds most like {nearest}"
    centroids = {n: _centroid(sounds.RECIPES[n](np.random.default_rng(0), SR)) for n in sounds.SOUND_CLASSES}
    assert centroids["bird_song"] > 3 * centroids["dog_bark"] > 3 * centroids["car_engine"]
    assert centroids["glass_clink"] > 2 * centroids["bell_ring"] > 2 * centroids["door_knock"]


def test_sounds_are_deterministic():
    for n in ("dog_bark", "forest_ambience", "thunder"):
        a = sounds.RECIPES[n](np.random.default_rng(9), SR)
        assert np.array_equal(a, sounds.RECIPES[n](np.random.default_rng(9), SR))
        assert not np.array_equal(a, sounds.RECIPES[n](np.random.default_rng(10), SR))


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo") / "library"
    return root, sounds.write_library(root, seed=0)


def test_library_is_byte_identical_for_a_seed(library, tmp_path):
    root, truth = library
    again = sounds.write_library(tmp_path / "again", seed=0)
    assert again == truth
    for rel in [*truth, "library.csv"]:
        assert (root / rel).read_bytes() == (tmp_path / "again" / rel).read_bytes(), rel


def test_library_scans_with_expected_categories_and_kinds(library):
    root, truth = library
    scan = scan_library(root, use_cache=False)
    assert scan.skipped == []
    assert len(scan.entries) == len(truth)
    for entry in scan.entries:
        rel = entry.path.relative_to(root.resolve()).as_posix()
        facts = truth[rel]
        assert entry.kind == ("ambience" if facts["kind"] == "ambience" else "sfx"), rel
        assert entry.category == facts["category"], rel
        assert entry.cat_id and entry.description
        assert abs(entry.duration - facts["duration"]) < 1e-3, rel
        # Tags name the source with the words a caption would use.
        if facts["sound_class"]:
            name = next(c.name for c in world.CLASSES if c.sound == facts["sound_class"])
            assert name in entry.description, rel
        if facts["place"]:
            assert facts["place"] in entry.description, rel


def test_library_is_realistic_and_covers_the_world(library):
    root, truth = library
    by_kind = {k: [r for r, f in truth.items() if f["kind"] == k] for k in ("sfx", "ambience", "distractor")}
    for sound in sounds.SOUND_CLASSES:
        assert sum(f["sound_class"] == sound for f in truth.values()) >= 3, sound
    assert {truth[r]["place"] for r in by_kind["ambience"]} == {p.name for p in world.PLACES}
    assert len({truth[r]["source"] for r in by_kind["distractor"]}) >= 3
    assert all(truth[r]["sound_class"] is None for r in by_kind["distractor"] + by_kind["ambience"])
    infos = {rel: sf.info(str(root / rel)) for rel in truth}
    assert {Path(r).suffix for r in truth} == {".wav", ".flac", ".ogg"}
    assert {i.channels for i in infos.values()} == {1, 2}
    assert {i.samplerate for i in infos.values()} == {44100, 48000}
    assert {"PCM_16", "PCM_24", "FLOAT"} <= {i.subtype for r, i in infos.items() if r.endswith(".wav")}
    for rel in by_kind["sfx"] + by_kind["distractor"]:
        assert 0.5 <= infos[rel].duration <= 4.5, rel
    for rel in by_kind["ambience"]:
        assert 6.0 <= infos[rel].duration <= 12.0, rel
    takes = [r for r, f in truth.items() if len(f["events"]) > 1]
    assert 2 <= len(takes) <= 3
    for rel in takes:  # silence between the takes
        data, rate = sf.read(str(root / rel), always_2d=True)
        events = truth[rel]["events"]
        for (_, end), (start, _) in zip(events, events[1:]):
            gap = data[int(end * rate) + 1:int(start * rate) - 1]
            assert len(gap) > 0.8 * rate and np.abs(gap).max() == 0.0, rel
    csv_text = (root / "library.csv").read_text(encoding="utf-8")
    assert csv_text.startswith("path,description,category\n")


# --------------------------------------------------------------------------- films


TINY = films.FilmSpec(
    "tiny",
    shots=(films.Shot("forest", 1.2), films.Shot("kitchen", 1.0)),
    tracks=(films.Track("rock", 0.0, 0.8, (0.5, 0.75), scale=0.3),
            films.Track("dog", 0.2, 1.6, (0.4, 0.6), (0.6, 0.6), scale=0.4)),
    size=(160, 90),
    seed=3,
)


def test_tiny_film_truth_matches_its_spec():
    truth = films.film_truth(TINY)
    assert truth["duration"] == 2.2 and truth["fps"] == "25/1" and truth["frames"] == 55
    assert truth["cuts"] == [1.2]
    assert [(s["start"], s["end"], s["place"]) for s in truth["scenes"]] == [(0.0, 1.2, "forest"),
                                                                             (1.2, 2.2, "kitchen")]
    events = [(e["class"], e["sound_class"], e["start"], e["end"]) for e in truth["events"]]
    # The dog crosses the cut: one event per scene. The rock makes no sound.
    assert events == [("rock", None, 0.0, 0.8), ("dog", "dog_bark", 0.2, 1.2), ("dog", "dog_bark", 1.2, 1.6)]


def test_tiny_film_frames_change_exactly_at_the_truth_times():
    frames = [np.asarray(f, np.int16) for f in films.render_frames(TINY)]
    assert len(frames) == 55

    def changed(a: int, b: int) -> bool:
        return np.abs(frames[a] - frames[b]).max() > 0

    assert not changed(3, 4)  # nothing moves before the dog
    assert changed(4, 5)  # frame 5 = 0.2 s: the dog appears
    assert changed(19, 20)  # frame 20 = 0.8 s: the rock leaves (the dog moves too)
    assert changed(39, 40) and not changed(40, 41)  # frame 40 = 1.6 s: the dog has gone


def test_tiny_film_renders_and_probes(tmp_path):
    film, truth_path = films.make_film(TINY, tmp_path / "films", tmp_path / "truth")
    assert truth_path == tmp_path / "truth" / "tiny.json"
    info = probe(film)
    assert info.fps == Fraction(25) and (info.width, info.height) == (160, 90)
    assert info.has_audio
    assert abs(info.duration - 2.2) < 0.02


def test_ntsc_film_without_audio(tmp_path):
    spec = films.FilmSpec(
        "tiny_ntsc", fps=films.NTSC, audio=False, size=(128, 72),
        shots=(films.Shot("city", 1.0), films.Shot("beach", 1.0, "dissolve", 0.4)),
        tracks=(films.Track("car", 0.3, 1.5, (0.4, 0.7), (0.6, 0.7), scale=0.5),),
    )
    truth = films.film_truth(spec)
    assert truth["fps"] == "30000/1001" and truth["frames"] == 60 and truth["cuts"] == [1.001]
    assert truth["scenes"][1]["transition"] == "dissolve"
    assert [(e["start"], e["end"]) for e in truth["events"]] == [(0.3003, 1.001), (1.001, 1.5015)]
    film, _ = films.make_film(spec, tmp_path)
    info = probe(film)
    assert info.fps == Fraction(30000, 1001) and not info.has_audio
    assert abs(info.duration - truth["duration"]) < 0.02


def test_film_catalogue_covers_the_cases():
    truths = [films.film_truth(spec) for spec in films.FILMS]
    assert len(truths) >= 6
    assert sum(t["held_out"] for t in truths) == 2
    assert all(15 <= t["duration"] <= 40 for t in truths)
    assert any(not t["has_audio"] for t in truths)
    assert any(t["fps"] == "30000/1001" for t in truths)
    assert any(s["transition"] == "dissolve" for t in truths for s in t["scenes"])
    assert all(3 <= len(t["scenes"]) <= 5 for t in truths)
    events = [e for t in truths for e in t["events"]]
    assert any(e["sound_class"] is None for e in events)  # silent things on screen
    spans = [(spec, track) for spec in films.FILMS for track in spec.tracks]
    assert any(track.leave - track.appear >= 10 for _, track in spans)  # long-visible objects
    for t in truths:  # every event lies inside its scene
        for e in t["events"]:
            scene = t["scenes"][e["scene"]]
            assert scene["start"] <= e["start"] < e["end"] <= scene["end"]
    crossing = [t for t in truths if len({e["track"] for e in t["events"]}) < len(t["events"])]
    assert crossing  # some object stays on screen across a cut: two events
    overlapping = [t for t in truths if any(a["start"] < b["end"] and b["start"] < a["end"]
                                            for a in t["events"] for b in t["events"] if a is not b)]
    assert len(overlapping) >= 3  # two objects on screen at once


def test_tuning_reels_are_seeded_tuning_films_with_things_side_by_side():
    # The reels are written by a script: the same seed, the same film; another seed, another film.
    assert films.tuning_reel(7) == films.tuning_reel(7)
    assert films.tuning_reel(7) != films.tuning_reel(8)
    for seed in films.REEL_SEEDS:
        spec = films.tuning_reel(seed)
        truth = films.film_truth(spec)
        assert not truth["held_out"]  # for choosing on, never for reporting as held out
        assert 170 <= truth["duration"] <= 200
        events = truth["events"]
        sounding = [e for e in events if e["sound_class"]]
        assert len(sounding) >= 18 and any(e["sound_class"] is None for e in events)
        for e in events:  # clear of the shot's edges: one event per thing
            scene = truth["scenes"][e["scene"]]
            assert scene["start"] < e["start"] < e["end"] < scene["end"]
        pairs = {(a["scene"], b["scene"]) for a in events for b in events
                 if a is not b and a["start"] < b["end"] and b["start"] < a["end"]}
        assert len(pairs) >= 4  # several shots with two things at once


def test_a_short_tuning_reel_renders_and_probes(tmp_path):
    spec = dataclasses.replace(films.tuning_reel(7, minutes=0.1), size=(160, 90))
    film, truth_path = films.make_film(spec, tmp_path / "films", tmp_path / "truth")
    assert truth_path.name == f"{spec.name}.json"
    assert abs(probe(film).duration - films.film_truth(spec)["duration"]) < 0.05


def test_reel_seeds_are_read_as_ranges_and_lists():
    # make_demo.py --reel-seeds and bench_placement.py --reel-seeds: fresh reels to check a change on.
    assert films.parse_seeds("22-24") == (22, 23, 24)
    assert films.parse_seeds("13,14, 15") == (13, 14, 15)
    assert films.parse_seeds("7-9,8,13") == (7, 8, 9, 13)  # each once, in order
    for bad in ("9-7", "x", "7-", ""):
        with pytest.raises(ValueError):
            films.parse_seeds(bad)
