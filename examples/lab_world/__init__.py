"""The lab world: a second, independent world for measuring autofoley.

Nothing is tuned on it. Four parts:

- ``catalog``: the things that can be on screen, the places, the sound classes;
- ``pictures``: places and things drawn with PIL, and captions, for films and
  for training the lab CLIP model;
- ``sounds`` and ``library``: synthesised sounds written out as an SFX library,
  with the truth of what each file is;
- ``films``: scripted films (cuts, a dissolve, a fade through black, camera
  pans, things moving across the frame) with exact ground truth.

``examples/make_lab.py`` writes everything; ``examples/train_lab_clip.py``
trains the model. Deterministic for a given seed.
"""
