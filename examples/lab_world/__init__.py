"""The lab world: a second, independent world for measuring autofoley.

Nothing is tuned on it. Five parts:

- ``catalog``: the things that can be on screen, the places, the sound classes;
- ``pictures``: places and things drawn with PIL, and captions, for films and
  for training the lab CLIP model;
- ``sounds`` and ``library``: synthesised sounds written out as an SFX library,
  with the truth of what each file is;
- ``films``: scripted films (cuts, a dissolve, a fade through black, camera
  pans, things moving across the frame) with exact ground truth;
- ``stock``: a stock-footage pool (short clips and stills, one subject each)
  for training an audio encoder with ``autofoley curate``.

``examples/make_lab.py`` writes the films, library and truth;
``examples/train_lab_clip.py`` trains the model; ``examples/make_lab_stock.py``
writes a stock pool and library variants on demand. Deterministic for a given seed.
"""
