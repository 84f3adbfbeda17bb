"""Which sound of a group an event gets: the best one, or, for variety, the
one used least so far in the film among those nearly as good."""

import dataclasses
from collections import Counter
from pathlib import Path

import numpy as np

from autofoley.placement.matching import grouped_events, pick
from autofoley.placement.sync import SyncParams
from autofoley.records import SoundEntry


def _bark(name: str, category: str = "ANIMALS") -> SoundEntry:
    return SoundEntry(Path(f"/lib/{name}.wav"), name, category, "sfx", 1.0, 48000, 1)


def _three_dogs(strengths: tuple[float, float]) -> np.ndarray:
    """(T, 2) scores: a dog on screen three times, two bark files sharing its mass."""
    series = np.zeros((90, 2))
    for first in (0, 35, 70):
        series[first:first + 15] = strengths
    return series


def test_a_dog_seen_three_times_does_not_bark_the_same_file_three_times():
    sounds = [_bark("bark A"), _bark("bark B")]
    series = _three_dogs((0.5, 0.4))  # A a little better every time
    used = Counter()
    events = grouped_events(series, sounds, SyncParams(), 0.1, used)
    assert [(e.first, e.stop) for e in events] == [(0, 15), (35, 50), (70, 85)]
    assert [e.candidate for e in events] == [0, 1, 0]  # the best first, then turns
    assert used == Counter({sounds[0].key: 2, sounds[1].key: 1})
    # Without variety, the best every time.
    same = grouped_events(series, sounds, SyncParams(variety=False), 0.1)
    assert [e.candidate for e in same] == [0, 0, 0]


def test_a_sound_far_weaker_than_the_best_is_never_taken_for_variety():
    sounds = [_bark("bark A"), _bark("growl")]
    series = _three_dogs((0.85, 0.05))  # the growl is under release x the bark
    events = grouped_events(series, sounds, SyncParams(), 0.1, Counter())
    assert [e.candidate for e in events] == [0, 0, 0]


def test_pick_counts_what_the_film_used_before():
    params = SyncParams(release=0.5)
    keys = ["a", "b", "c"]
    means = np.array([0.50, 0.30, 0.20])  # c is under 0.5 x 0.50
    assert pick(means, keys, params, Counter()) == 0
    assert pick(means, keys, params, Counter({"a": 1})) == 1
    assert pick(means, keys, params, Counter({"a": 2, "b": 2})) == 0  # a tie: the stronger
    assert pick(means, keys, params.replace(variety=False), Counter({"a": 5})) == 0


def test_built_in_places_stand_for_no_sfx_when_the_library_has_no_ambience():
    """A library of SFX alone: frames that show only a place go to the place
    sentences, not to the nearest SFX; a frame with a thing still gets it."""
    from fractions import Fraction

    from autofoley.library.text_index import LibraryIndex
    from autofoley.placement.matching import match_film
    from autofoley.records import Scene

    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.normal(size=(16, 16)))[0]
    dog, bell, place = basis[0], basis[1], basis[2]
    sounds = [_bark("bark A"), _bark("bell", "BELLS")]
    index = LibraryIndex(sounds, ["dog", "bell"], np.stack([dog, bell]).astype(np.float32))
    # 3 s of an empty place (mostly place, a little of both sounds), then 3 s of a dog.
    empty = 0.9 * place + 0.25 * dog + 0.2 * bell
    frames = np.stack([empty] * 30 + [0.6 * place + 0.8 * dog] * 30)
    frames = (frames / np.linalg.norm(frames, axis=1, keepdims=True)).astype(np.float32)
    params = SyncParams(temperature=0.05)

    def placed(idx):
        m = match_film(frames, 0.1, [Scene(0, 0.0, 6.0)], idx, params, Fraction(25))
        return [(p.sound.description, round(p.start, 1)) for p in m.placements if p.role == "sfx"]

    assert placed(index)[0] == ("bark A", 0.0)  # no competitor: the empty place barks
    with_places = LibraryIndex(sounds, index.sentences, index.vectors,
                               places=np.stack([place, basis[3]]).astype(np.float32))
    assert placed(with_places) == [("bark A", 3.0)]


def test_built_in_things_keep_a_sound_off_a_thing_the_library_has_none_of():
    """A tree on screen, a library of a bottle's clink: the tree's frames went
    to the bottle (its sentence the nearest); with the built-in things, "a
    tree" takes them. A bottle on screen still gets its clink."""
    from fractions import Fraction

    from autofoley.library.text_index import LibraryIndex
    from autofoley.placement.matching import match_film
    from autofoley.records import Scene

    rng = np.random.default_rng(2)
    basis = np.linalg.qr(rng.normal(size=(16, 16)))[0]
    bottle, place, tree = basis[0], basis[1], basis[2]
    sounds = [_bark("bottle clink", "GLASS"), _bark("forest", "AMBIENCE")]
    sounds[1] = dataclasses.replace(sounds[1], kind="ambience")
    index = LibraryIndex(sounds, ["bottle clink", "forest"], np.stack([bottle, place]).astype(np.float32))
    # 3 s of a tree (that looks a little like a bottle), then 3 s of a bottle.
    frames = np.stack([0.3 * place + 0.8 * tree + 0.55 * bottle] * 30 + [0.5 * place + 0.9 * bottle] * 30)
    frames = (frames / np.linalg.norm(frames, axis=1, keepdims=True)).astype(np.float32)
    params = SyncParams(temperature=0.05)

    def placed(idx, p=params):
        m = match_film(frames, 0.1, [Scene(0, 0.0, 6.0)], idx, p, Fraction(25), ambience=False)
        return [(p.sound.description, round(p.start, 1)) for p in m.placements if p.role == "sfx"]

    assert placed(index)[0] == ("bottle clink", 0.0)  # the tree clinks
    things = np.stack([tree, basis[4], basis[5]]).astype(np.float32)
    with_things = dataclasses.replace(index, things=things)
    assert placed(with_things) == [("bottle clink", 3.0)]
    assert placed(with_things, params.replace(things=0))[0] == ("bottle clink", 0.0)  # off


def test_a_lasting_lead_places_a_thing_only_where_the_built_in_things_compete():
    """A bell the frame shares half and half with its place: never at the
    threshold, ahead of every other sound for 3 s. With the built-in things
    in the softmax (text ranking) that lead says "a thing with a sound" and
    the bell is placed; without them any thing's nearest sound would lead,
    so the lead does not count."""
    from fractions import Fraction

    from autofoley.library.text_index import LibraryIndex
    from autofoley.placement.matching import match_film
    from autofoley.records import Scene

    rng = np.random.default_rng(3)
    basis = np.linalg.qr(rng.normal(size=(16, 16)))[0]
    bell, dog, place = basis[0], basis[1], basis[2]
    sounds = [_bark("bell", "BELLS"), _bark("bark"), _bark("square", "AMBIENCE")]
    sounds[2] = dataclasses.replace(sounds[2], kind="ambience")
    index = LibraryIndex(sounds, ["bell", "bark", "square"],
                         np.stack([bell, dog, place]).astype(np.float32),
                         things=np.stack([basis[4], basis[5]]).astype(np.float32))
    frames = np.stack([place + bell] * 30 + [place] * 30)
    frames = (frames / np.linalg.norm(frames, axis=1, keepdims=True)).astype(np.float32)
    params = SyncParams(temperature=0.05)

    def placed(idx, p=params):
        m = match_film(frames, 0.1, [Scene(0, 0.0, 6.0)], idx, p, Fraction(25), ambience=False)
        return [(p.sound.description, round(p.start, 1), round(p.synced_end, 1))
                for p in m.placements if p.role == "sfx"]

    assert placed(index) == [("bell", 0.0, 3.0)]
    assert placed(index, params.replace(sure_lead=0.0)) == []
    assert placed(dataclasses.replace(index, things=None)) == []
    assert placed(index, params.replace(things=0)) == []


def test_built_in_things_leave_out_what_the_library_names():
    from autofoley.library.text_index import LibraryIndex
    from autofoley.library.things import THINGS, library_words, thing_sentences

    entries = [SoundEntry(Path("/lib/GLASImpt_Bottles Clinking.wav"), "glass, clink", "GLASS", "sfx",
                          1.0, 48000, 1),
               SoundEntry(Path("/lib/AMBForst_Forest.wav"), "forest, trees", "AMBIENCE", "ambience",
                          9.0, 48000, 1)]
    index = LibraryIndex(entries, ["a photo of glass, clink.", "a photo of forest, trees."],
                         np.eye(2, 4, dtype=np.float32))
    named = library_words(index)
    sentences = thing_sentences("a photo of {}.", named)
    assert "a photo of a bottle." not in sentences  # the file name says "Bottles"
    assert "a photo of a glass." not in sentences  # the sentence says "glass"
    assert "a photo of a tree." in sentences  # an ambience's words describe its place
    assert len(sentences) == len(THINGS) - 2
