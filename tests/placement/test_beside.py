"""A second thing of one category beside the first: its own event where the
two squares tell them apart, and none where they do not."""

from collections import Counter
from pathlib import Path

import numpy as np

from autofoley.placement.beside import beside_events, catids
from autofoley.placement.matching import grouped_events, pick
from autofoley.placement.sync import SyncParams
from autofoley.records import SoundEntry

STEP = 0.1


def _tool(name: str, cat_id: str) -> SoundEntry:
    return SoundEntry(Path(f"/lib/{name}.wav"), name, "TOOLS", "sfx", 1.0, 48000, 1, cat_id=cat_id)


SOUNDS = [_tool("saw A", "TOOLSaw"), _tool("saw B", "TOOLSaw"),
          _tool("hammer A", "TOOLHmr"), _tool("hammer B", "TOOLHmr")]
IDS = [s.cat_id for s in SOUNDS]


def _shot(left: tuple, right: tuple, seconds: float = 4.0) -> tuple[np.ndarray, list[np.ndarray]]:
    """(series, squares) for a 6 s shot: the saw clear in the frame and the
    right square for all of it, the left square scoring (saw, hammer) as
    ``left`` for ``seconds`` from 1 s, and the right square as ``right``."""
    n = 60
    frame = np.zeros((n, 4))
    frame[:, :2] = 0.45  # the saw's two files: 0.9 together
    squares = [np.zeros((n, 4)), np.zeros((n, 4))]
    squares[1][:, :2] = right[0] / 2
    squares[1][:, 2:] = right[1] / 2
    span = slice(10, 10 + int(round(seconds / STEP)))
    squares[0][span, :2] = left[0] / 2
    squares[0][span, 2:] = left[1] / 2
    return np.maximum(frame, np.maximum(*squares)), squares


def _events(series: np.ndarray, squares: list[np.ndarray], params: SyncParams = SyncParams()):
    used = Counter()
    first = grouped_events(series, SOUNDS, params, STEP, used)
    extra = beside_events(first, series, squares, SOUNDS, ["TOOLS"] * 4, IDS, params, STEP,
                          pick, used)
    return [(IDS[e.candidate], e.first, e.stop) for e in first + extra]


def test_a_hammer_beside_a_saw_gets_its_own_event():
    series, squares = _shot(left=(0.1, 0.75), right=(0.9, 0.0))
    assert _events(series, squares) == [("TOOLSaw", 0, 60), ("TOOLHmr", 10, 50)]


def test_no_second_event_without_two_squares_that_tell_them_apart():
    # The left square reads the one thing as a mix of both CatIDs (a fire
    # as burning and crackling): the saw is over a quarter of the hammer.
    series, squares = _shot(left=(0.3, 0.6), right=(0.9, 0.0))
    assert _events(series, squares) == [("TOOLSaw", 0, 60)]
    # No other square sees the saw clear of the hammer: the left square
    # alone reads the thing otherwise.
    series, squares = _shot(left=(0.1, 0.75), right=(0.5, 0.3))
    assert _events(series, squares) == [("TOOLSaw", 0, 60)]
    # Seen apart for less than params.beside seconds.
    series, squares = _shot(left=(0.1, 0.75), right=(0.9, 0.0), seconds=1.5)
    assert _events(series, squares) == [("TOOLSaw", 0, 60)]
    # Off.
    series, squares = _shot(left=(0.1, 0.75), right=(0.9, 0.0))
    assert _events(series, squares, SyncParams(beside=0.0)) == [("TOOLSaw", 0, 60)]


def test_a_legacy_name_takes_the_catid_of_its_nearest_tagged_file():
    legacy = SoundEntry(Path("/lib/hammer 03 FINAL.wav"), "hammer", "TOOLS", "sfx", 1.0, 48000, 1)
    other = SoundEntry(Path("/lib/bell.wav"), "bell", "BELLS", "sfx", 1.0, 48000, 1)
    keys = np.eye(4)[[0, 1, 1, 2]].astype(np.float32)  # saw, hammer, legacy (as hammer), bell
    ids = catids([SOUNDS[0], SOUNDS[2], legacy, other], keys)
    assert ids[:3] == ["TOOLSaw", "TOOLHmr", "TOOLHmr"]
    assert ids[3].startswith("#")  # no CatID and none in its category: alone


def test_scoring_a_film_places_the_hammer_the_left_square_sees():
    """Through match_film: the whole frame sees the saw, the left square a
    hammer, the right square the saw; the hammer is heard only with beside on."""
    import dataclasses
    from fractions import Fraction

    from autofoley.library.text_index import LibraryIndex
    from autofoley.placement.matching import match_film
    from autofoley.placement.regions import Regions
    from autofoley.records import Scene

    rng = np.random.default_rng(5)
    saw, hammer, place = np.linalg.qr(rng.normal(size=(16, 16)))[0][:3]
    ambience = dataclasses.replace(_tool("workshop", ""), category="AMBIENCE", kind="ambience")
    sounds = SOUNDS + [ambience]
    keys = np.stack([saw, saw, hammer, hammer, place]).astype(np.float32)
    index = LibraryIndex(sounds, [s.description for s in sounds], keys)

    def unit(v):
        return (v / np.linalg.norm(v)).astype(np.float32)

    frames = np.stack([unit(0.3 * place + saw)] * 60)
    squares = np.stack([np.stack([unit(0.3 * place + hammer), unit(0.3 * place + saw)])] * 6)
    regions = Regions(squares, np.arange(60) // 10, np.array([0.25, 0.75]))

    def placed(params):
        m = match_film(frames, 0.1, [Scene(0, 0.0, 6.0)], index, params, Fraction(25),
                       ambience=False, regions=regions)
        return sorted({p.sound.cat_id for p in m.placements if p.role == "sfx"})

    params = SyncParams(temperature=0.05)
    assert placed(params) == ["TOOLHmr", "TOOLSaw"]
    assert placed(params.replace(beside=0.0)) == ["TOOLSaw"]
