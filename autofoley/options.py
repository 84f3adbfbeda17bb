"""What a score depends on besides the film, the model and the library, and
how a model's defaults and the user's settings resolve into it.

``ScoreOptions`` leaves two things open (``None``): the placement settings
(``sync``) and the frame fit. ``resolve_options`` fills them, for one CLIP
model, exactly as every entry point does (``Scorer``, the CLI, ``batch``'s
driver), so a Python caller and ``autofoley score`` write the same timeline:

- frame fit: the option, else the model's registry setting, else ``crop``;
- placement, weakest first: the papers' defaults, the shipped model's
  settings, the user's ``tune --set-default`` file, ``sync_config``, then
  ``sync_overrides`` (flags); see ``placement/settings.py``;
- ``rank="auto"``: hybrid when a trained encoder for the model is in the
  registry (shipped, or the user's ``train --register``) or ``audio_model``
  names one, else text (``library/keys.py``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING

from autofoley.library.keys import DEFAULT_HYBRID_WEIGHT, choose_rank
from autofoley.library.scan import DEFAULT_TEMPLATE
from autofoley.placement.scenes import (
    DEFAULT_GRADUAL_WINDOW,
    DEFAULT_MIN_SCENE_LEN,
    DEFAULT_THRESHOLD,
)
from autofoley.placement.settings import resolve_sync
from autofoley.placement.sync import SyncParams

if TYPE_CHECKING:
    from autofoley.models.registry import ClipSpec

DEFAULT_STEP = 0.1  # seconds per similarity segment (Demarchi: 0.1 s)
DEFAULT_BATCH_SIZE = 64  # frames per encoder batch
# Seconds between region samples: 2 squares every 1 s cost at most 0.2 x the
# encoder work of the 0.1 s frame grid (squares that do not change are reused).
DEFAULT_REGION_STEP = 1.0
DEFAULT_AMBIENCE_GAIN_DB = -12.0  # beds sit below SFX
DEFAULT_LAYOUT = "standard"
FRAME_FITS = ("crop", "pad")


@dataclass(frozen=True)
class ScoreOptions:
    """Everything that changes what a film's score is, besides model and library."""

    step: float = DEFAULT_STEP
    batch_size: int = DEFAULT_BATCH_SIZE
    # "crop" (CLIP's preprocessing) or "pad" (whole frame, letterboxed);
    # None: the model's setting, else crop.
    frame_fit: str | None = None
    scene_threshold: float = DEFAULT_THRESHOLD
    min_scene_len: float = DEFAULT_MIN_SCENE_LEN
    dissolve_window: float = DEFAULT_GRADUAL_WINDOW  # 0: hard cuts only
    # Region evidence (placement/regions.py): two squares along the frame
    # encoded every ``region_step`` s, so a second thing on screen is heard
    # and each sound is panned to where it is; ``pan=False`` keeps SFX centred.
    regions: bool = True
    region_step: float = DEFAULT_REGION_STEP
    pan: bool = True
    # Encode only the frames that change (placement/sparse.py); True: every
    # frame of the grid goes through the image tower.
    dense: bool = False
    # Placement settings; None: resolved from the model's and the user's
    # defaults, then ``sync_config`` (a JSON file) and ``sync_overrides``
    # ({SyncParams field: value}, the flags a user gave).
    sync: SyncParams | None = None
    sync_config: str | None = None
    sync_overrides: dict = field(default_factory=dict)
    text_template: str = DEFAULT_TEMPLATE
    # How the library is ranked (library/keys.py): auto, text, audio or
    # hybrid; the audio encoder (a registry name or checkpoint; None: the one
    # shipped for the CLIP model); audio's weight in hybrid fusion; whether
    # files are split into takes at silences for audio/hybrid ranking.
    rank: str = "auto"
    audio_model: str | None = None
    hybrid_weight: float = DEFAULT_HYBRID_WEIGHT
    split: bool = True
    # The persistent audio index (library/index_store.py); None: one per
    # model and split settings in the cache. Where vectors are kept, not what
    # they are: it never changes a score.
    index_dir: str | None = None
    ambience: bool = True
    ambience_gain_db: float = DEFAULT_AMBIENCE_GAIN_DB
    sfx_gain_db: float = 0.0
    render: bool = True  # write the mix and the scored film
    stems: bool = False
    use_cache: bool = True
    start_timecode: str | None = None
    layout: str = DEFAULT_LAYOUT  # a shipped layout's name or a template .json (output/layout.py)
    exports: tuple[str, ...] = ()  # NLE formats written beside the .otio (output/exports.py)
    report: bool = True  # write film.report.png and film.report.html

    def to_dict(self) -> dict:
        return asdict(self)


def resolve_options(options: ScoreOptions, spec: "ClipSpec",
                    logit_scale: float | None = None) -> ScoreOptions:
    """``options`` with rank, audio model, frame fit and placement settings
    fixed for the CLIP model ``spec`` (see the module docstring). With the
    loaded model's ``logit_scale``, a temperature left open becomes the
    model's own (1 / logit scale). Resolving resolved options changes
    nothing."""
    rank, audio_model = choose_rank(options.rank, spec.name, options.audio_model)
    defaults = spec.defaults or {}
    frame_fit = options.frame_fit or defaults.get("frame_fit") or "crop"
    sync = options.sync
    if sync is None:
        sync = resolve_sync(spec.name, defaults, options.sync_config, options.sync_overrides,
                            rank, audio_model)
    elif options.sync_overrides:
        sync = SyncParams.from_dict({**sync.to_dict(), **{
            k: v for k, v in options.sync_overrides.items() if v is not None}})
    if sync.temperature is None and logit_scale:
        sync = sync.replace(temperature=round(1.0 / logit_scale, 6))
    return replace(options, rank=rank, audio_model=audio_model, frame_fit=frame_fit, sync=sync,
                   sync_config=None, sync_overrides={})
