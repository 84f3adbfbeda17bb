"""Where placement settings come from, weakest first:

1. ``SyncParams()``: the shipped defaults, one set for every model (they are
   probabilities at the model's own temperature, fractions and seconds);
2. the ``defaults`` of a CLIP model's registry entry (the shipped models hold
   none for placement: a model card records figures, not settings; text and
   hybrid ranking only, as hybrid's fused cosines sit on the text scale);
3. the user's tuned defaults for that model and ranking, written by
   ``autofoley tune --set-default`` to
   ``$XDG_CONFIG_HOME/autofoley/sync/<model>.json`` (text ranking) or
   ``<model>.<rank>-<digest of the audio model>.json`` (audio, hybrid);
4. a file passed with ``--sync-config``;
5. flags given on the command line.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from autofoley.atomic import write_json
from autofoley.cache import text_digest, user_dir
from autofoley.errors import InputError
from autofoley.placement.sync import SyncParams


def config_root() -> Path:
    """``$AUTOFOLEY_CONFIG``, else the platform's config folder (``cache.user_dir``)."""
    return user_dir("config", "AUTOFOLEY_CONFIG")


def model_defaults_path(model: str, rank: str = "text", audio_model: str | None = None) -> Path:
    """The user's tuned settings file for a CLIP model name (or config path)
    and a ranking: an audio encoder's cosines need settings of their own."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(model).name if model.endswith(".json") else model)
    if rank != "text":
        # A checkpoint is named by its absolute path, so two runs' model.safetensors differ.
        audio = str(Path(audio_model).expanduser().resolve()) if audio_model and (
            audio_model.endswith(".safetensors") or Path(audio_model).is_file()) else str(audio_model)
        safe += f".{rank}-{text_digest(audio)[:12]}"
    return config_root() / "sync" / f"{safe}.json"


def read_sync_file(path: str | Path) -> dict:
    """The ``sync`` settings of a tune output (or a bare dict of settings)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("settings file not found", path, "check the --sync-config path") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"settings file is not valid JSON ({exc})", path,
                         "fix it or write it again with 'autofoley tune'") from None
    return data.get("sync", data) if isinstance(data, dict) else {}


def resolve_sync(model: str, registry_defaults: dict | None = None,
                 config: str | Path | None = None, overrides: dict | None = None,
                 rank: str = "text", audio_model: str | None = None) -> SyncParams:
    merged: dict = {}
    if rank != "audio":
        merged.update(registry_defaults or {})
    user = model_defaults_path(model, rank, audio_model)
    if user.is_file():
        merged.update(read_sync_file(user))
    if config:
        merged.update(read_sync_file(config))
    merged.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return SyncParams.from_dict({**SyncParams().to_dict(), **merged})


def save_sync(path: str | Path, params: SyncParams, **meta) -> Path:
    path = Path(path)
    write_json(path, {"sync": params.to_dict(), **meta})
    return path
