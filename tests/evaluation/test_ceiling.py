"""The perception ceiling: an event is seen where one view has its class
ahead of every other sound at the release level for the minimum event."""

from pathlib import Path

import numpy as np

from autofoley.evaluation.ceiling import seen_events
from autofoley.evaluation.evaluate import LibraryTruth
from autofoley.library.text_index import LibraryIndex
from autofoley.placement.regions import Regions
from autofoley.placement.sync import SyncParams
from autofoley.records import Scene, SoundEntry


def _entry(name: str, category: str, kind: str = "sfx") -> SoundEntry:
    return SoundEntry(Path(f"/lib/{name}.wav"), name, category, kind, 1.0, 48000, 1)


def test_an_event_is_seen_only_where_a_view_puts_its_class_first():
    rng = np.random.default_rng(4)
    dog, bell, place, other = np.linalg.qr(rng.normal(size=(16, 16)))[0][:4]
    sounds = [_entry("dog", "ANIMALS"), _entry("bell", "BELLS"), _entry("park", "AMBIENCE", "ambience")]
    index = LibraryIndex(sounds, ["dog", "bell", "park"], np.stack([dog, bell, place]).astype(np.float32))
    library = LibraryTruth({"dog.wav": {"sound_class": "dog_bark", "kind": "sfx"},
                            "bell.wav": {"sound_class": "bell_ring", "kind": "sfx"},
                            "park.wav": {"kind": "ambience"}})
    # 0-3 s a dog fills the frame; 3-6 s a small bell the frame hardly shows.
    frames = np.stack([0.3 * place + dog] * 30 + [place + 0.2 * bell] * 30)
    frames = (frames / np.linalg.norm(frames, axis=1, keepdims=True)).astype(np.float32)
    truth = {"events": [{"sound_class": "dog_bark", "start": 0.0, "end": 3.0},
                        {"sound_class": None, "start": 0.0, "end": 6.0},  # silent: not counted
                        {"sound_class": "bell_ring", "start": 3.0, "end": 6.0}]}
    params = SyncParams(temperature=0.05)
    scenes = [Scene(0, 0.0, 6.0)]

    dog_seen, bell_seen = seen_events(frames, 0.1, scenes, None, truth, index, library, params)
    assert (dog_seen.sound_class, dog_seen.seen, dog_seen.view) == ("dog_bark", True, 0)
    assert dog_seen.seconds >= 2.5
    assert (bell_seen.seen, bell_seen.view) == (False, None)

    # A region (every 1 s) that shows the bell close up sees it.
    close = (bell + 0.2 * place) / np.linalg.norm(bell + 0.2 * place)
    samples = np.stack([np.stack([other, other])] * 3 + [np.stack([other, close])] * 3)
    regions = Regions(samples.astype(np.float32), np.arange(60) // 10, np.array([0.25, 0.75]))
    _, bell_seen = seen_events(frames, 0.1, scenes, regions, truth, index, library, params)
    assert (bell_seen.seen, bell_seen.view) == (True, 2)
    # ... but not for the minimum event when the event is shorter than it.
    short = {"events": [{"sound_class": "bell_ring", "start": 3.0, "end": 3.5}]}
    (brief,) = seen_events(frames, 0.1, scenes, regions, short, index, library, params)
    assert not brief.seen and brief.view == 2
