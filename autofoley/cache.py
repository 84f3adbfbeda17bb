"""Where autofoley keeps what it can compute again: frame and text embeddings,
library scans, downloaded weights (open_clip keeps its own under the HF cache).

``AUTOFOLEY_CACHE`` overrides the location; otherwise the platform's cache
folder from ``platformdirs``: ``$XDG_CACHE_HOME/autofoley`` or
``~/.cache/autofoley`` on Linux, ``~/Library/Caches/autofoley`` on macOS,
``%LOCALAPPDATA%\\autofoley\\Cache`` on Windows. Nothing in here is ever needed
for correctness: deleting the folder only costs time.

``user_dir`` finds the config and data folders the same way.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import platformdirs

_CHUNK = 1 << 22
_APP = "autofoley"
# What versions before platformdirs used on every system: the XDG variable,
# else this folder under the home directory.
_LEGACY = {"cache": ("XDG_CACHE_HOME", ".cache"), "config": ("XDG_CONFIG_HOME", ".config"),
           "data": ("XDG_DATA_HOME", ".local/share")}


def user_dir(kind: str, env: str) -> Path:
    """The folder of ``kind`` ("cache", "config" or "data"): ``$env`` when
    set, else the platform's own (XDG on Linux, ~/Library on macOS,
    %LOCALAPPDATA% on Windows).

    Where an older autofoley left an XDG-style folder (``~/.config/autofoley``
    on a Mac) and the platform's folder does not exist yet, the old one stays
    in use: tuned settings and paid-for LLM votes are not silently left behind.
    """
    override = os.environ.get(env)
    if override:
        return Path(override).expanduser()
    dirs = platformdirs.PlatformDirs(_APP, appauthor=False)
    native = Path({"cache": dirs.user_cache_dir, "config": dirs.user_config_dir,
                   "data": dirs.user_data_dir}[kind])
    var, default = _LEGACY[kind]
    xdg = os.environ.get(var)
    legacy = (Path(xdg).expanduser() if xdg else Path.home() / default) / _APP
    if legacy != native and legacy.is_dir() and not native.exists():
        return legacy
    return native


def cache_root() -> Path:
    return user_dir("cache", "AUTOFOLEY_CACHE")


def cache_dir(*parts: str) -> Path:
    path = cache_root().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


_DIGESTS: dict[tuple, str] = {}


def file_digest(path: str | Path) -> str:
    """blake2b of a file's bytes: the identity of a film's content.

    Hashing a whole film runs at disk speed (about 1 GB/s), tiny next to
    embedding its frames, and unlike size+mtime it survives copies and renames.
    """
    st = os.stat(path)
    # Scenes, frames and regions each key their cache by the film: it is
    # read once per process unless it changes on disk.
    seen = (str(Path(path).resolve()), st.st_size, st.st_mtime_ns, st.st_ino)
    if seen in _DIGESTS:
        return _DIGESTS[seen]
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    _DIGESTS[seen] = h.hexdigest()
    return _DIGESTS[seen]


def text_digest(*parts: str) -> str:
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        h.update(p.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()
