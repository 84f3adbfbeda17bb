"""A tiny seeded world for trying and measuring autofoley without real CLIP weights.

Three parts, each usable on its own:

- ``world``: object classes and places drawn with PIL, and captions for them,
  so a small CLIP model can be trained on images it will later see in films.
- ``sounds``: synthesised sounds for the classes, ambiences for the places and
  a few distractors, written out as a realistic SFX library.
- ``films``: short films rendered from a scripted spec, with exact ground truth
  (cuts, scenes, and when each object is on screen).

Everything is deterministic for a given seed. ``examples/make_demo.py`` writes
the whole demo (library, films, truth files) in one go.
"""

from .world import CLASSES, PLACES, ObjectClass, Place, dataset, random_example, render_scene

__all__ = ["CLASSES", "PLACES", "ObjectClass", "Place", "dataset", "random_example", "render_scene"]
