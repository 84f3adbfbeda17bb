"""autofoley: score a whole video with sound effects from your own SFX library.

The front door::

    import autofoley

    scorer = autofoley.Scorer("ViT-B-32")           # loads the model once
    result = scorer.score("film.mp4", "~/SFX", "scored/")
    print(result.summary())

    autofoley.score("film.mp4", "~/SFX", "scored/", clip_model="autofoley-demo")
    autofoley.run_batch("~/Footage", "~/SFX", "~/Scored")
    autofoley.available_models()                      # what clip_model accepts

``Scorer`` resolves a model's shipped settings and the user's own defaults
exactly as the ``autofoley`` command does, so both write the same timeline.
Names are imported on first use, so ``import autofoley`` costs no torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# name -> module that defines it
_EXPORTS = {
    "Scorer": "autofoley.pipeline",
    "ScoreResult": "autofoley.pipeline",
    "score": "autofoley.pipeline",
    "ScoreOptions": "autofoley.options",
    "resolve_options": "autofoley.options",
    "SyncParams": "autofoley.placement.sync",
    "run_batch": "autofoley.batch",
    "load_clip": "autofoley.models.clip",
    "load_audio_encoder": "autofoley.models.audio",
    "available_models": "autofoley.models.registry",
    "available_clip_models": "autofoley.models.registry",
    "available_audio_models": "autofoley.models.registry",
    "evaluate_timeline": "autofoley.evaluation.evaluate",
    "AutofoleyError": "autofoley.errors",
    "UsageError": "autofoley.errors",
    "InputError": "autofoley.errors",
    "LibraryError": "autofoley.errors",
    "ModelError": "autofoley.errors",
    "OutputError": "autofoley.errors",
    "ToolError": "autofoley.errors",
}

__all__ = [
    "__version__", "Scorer", "ScoreResult", "score", "ScoreOptions", "resolve_options",
    "SyncParams", "run_batch", "load_clip", "load_audio_encoder", "available_models",
    "available_clip_models", "available_audio_models", "evaluate_timeline", "AutofoleyError",
    "UsageError", "InputError", "LibraryError", "ModelError", "OutputError", "ToolError",
]
assert set(__all__) == {"__version__", *_EXPORTS}


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'autofoley' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from autofoley.batch import run_batch
    from autofoley.errors import (
        AutofoleyError,
        InputError,
        LibraryError,
        ModelError,
        OutputError,
        ToolError,
        UsageError,
    )
    from autofoley.evaluation.evaluate import evaluate_timeline
    from autofoley.models.audio import load_audio_encoder
    from autofoley.models.clip import load_clip
    from autofoley.models.registry import (
        available_audio_models,
        available_clip_models,
        available_models,
    )
    from autofoley.options import ScoreOptions, resolve_options
    from autofoley.pipeline import Scorer, ScoreResult, score
    from autofoley.placement.sync import SyncParams
