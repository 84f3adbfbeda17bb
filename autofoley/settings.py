"""Where placement settings come from, weakest first:

1. ``SyncParams()``: the papers' defaults (t=0.1, d=0.5, ...);
2. the ``defaults`` of a shipped model's registry entry (tuned by the project);
3. the user's tuned defaults for that model, written by ``autofoley tune
   --set-default`` to ``$XDG_CONFIG_HOME/autofoley/sync/<model>.json``;
4. a file passed with ``--sync-config``;
5. flags given on the command line.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from .atomic import write_json
from .errors import InputError
from .sync import SyncParams


def config_root() -> Path:
    env = os.environ.get("AUTOFOLEY_CONFIG")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".config") / "autofoley"


def model_defaults_path(model: str) -> Path:
    """The user's tuned settings file for a model name (or config path)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(model).name if model.endswith(".json") else model)
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
                 config: str | Path | None = None, overrides: dict | None = None) -> SyncParams:
    merged: dict = {}
    merged.update(registry_defaults or {})
    user = model_defaults_path(model)
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
