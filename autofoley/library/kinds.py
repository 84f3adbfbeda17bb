"""The kind (sfx, ambience or music) an LLM voted for each sound of a library.

``autofoley curate --classify-kinds`` asks for the votes (training/llm.py);
every later scan of that library applies them (below a kind the CSV sidecar
gives). They cost LLM calls and change what scoring places, so they are the
user's data, not cache: they live in the data folder (``$AUTOFOLEY_DATA``,
else ``$XDG_DATA_HOME/autofoley``, else ``~/.local/share/autofoley``) and
are read with or without ``--no-cache``; deleting the cache only costs time.

One JSON file per library root (named by a digest of its resolved path),
written atomically. Each file's record carries its size, mtime and content
digest, so a file replaced under the same name loses its stale kind.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from autofoley.atomic import write_json
from autofoley.cache import cache_root, file_digest, text_digest, user_dir
from autofoley.errors import AutofoleyError, OutputError
from autofoley.records import SoundEntry

KINDS = ("sfx", "ambience", "music")
_VERSION = 1
_FOLDER = "kinds"
_LEGACY_CACHE_FOLDER = "llm-kinds"  # where versions before the data folder kept the votes


def data_root() -> Path:
    """``$AUTOFOLEY_DATA``, else the platform's data folder (``cache.user_dir``)."""
    return user_dir("data", "AUTOFOLEY_DATA")


def store_path(root: str | Path) -> Path:
    """The votes file of library ``root``."""
    return data_root() / _FOLDER / f"{text_digest(str(Path(root).resolve()))}.json"


def save_votes(root: str | Path, entries: Sequence[SoundEntry], kinds: dict[str, str]) -> Path:
    """Remember ``kinds`` ({entry.key: kind}) for the files of library ``root``.

    A file's kind is the one of its first entry (takes of a file share their
    tags, so their votes agree). Records of other files are kept. Returns the
    store's path.
    """
    root = Path(root).resolve()
    path = store_path(root)
    files = _load(root)
    done: set[str] = set()
    for e in entries:
        kind = kinds.get(e.key)
        rel = _relative(e.path, root)
        if kind not in KINDS or rel is None or rel in done:
            continue
        try:
            st = e.path.stat()
            digest = file_digest(e.path)
        except OSError:
            continue
        files[rel] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "digest": digest, "kind": kind}
        done.add(rel)
    _write(path, root, files)
    return path


def voted_kinds(scan) -> dict[Path, str]:
    """{file path: kind} stored for the files of ``scan`` (a LibraryScan) whose
    content is unchanged since they were classified; files not classified
    (or changed) are absent, so scoring falls back to the library's kind.

    A file whose size and mtime match its record is trusted without reading
    it; otherwise its digest is computed and compared.
    """
    root = Path(scan.root).resolve()
    files = _load(root)
    out: dict[Path, str] = {}
    for path in sorted({e.path for e in scan.entries}):
        rel = _relative(path, root)
        rec = files.get(rel) if rel is not None else None
        if rec is None:
            continue
        try:
            st = path.stat()
            same = st.st_size == rec["size"] and st.st_mtime_ns == rec["mtime_ns"]
            if not same and st.st_size == rec["size"]:
                same = file_digest(path) == rec["digest"]
        except OSError:
            continue
        if same:
            out[path] = rec["kind"]
    return out


def _relative(path: Path, root: Path) -> str | None:
    try:
        return Path(path).resolve().relative_to(root).as_posix()
    except ValueError:
        return None


def _load(root: Path) -> dict[str, dict]:
    """The records of ``root``: from the data folder, or, the first time,
    from the cache where older versions kept them (then copied over, so
    that clearing the cache no longer loses them)."""
    path = store_path(root)
    files = _read(path, root)
    if files is None:
        files = _read(cache_root() / _LEGACY_CACHE_FOLDER / path.name, root)
        if files:
            try:
                _write(path, root, files)
            except (OSError, AutofoleyError):
                pass  # still read from the cache next time
    return files or {}


def _read(path: Path, root: Path) -> dict[str, dict] | None:
    """The valid records of a votes file; None when there is no usable file."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    if not (isinstance(data, dict) and data.get("version") == _VERSION
            and data.get("root") == str(root) and isinstance(data.get("files"), dict)):
        return None
    return {k: v for k, v in data["files"].items()
            if isinstance(v, dict) and v.get("kind") in KINDS and isinstance(v.get("size"), int)
            and isinstance(v.get("mtime_ns"), int) and isinstance(v.get("digest"), str)}


def _write(path: Path, root: Path, files: dict[str, dict]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the data folder ({exc.strerror or exc})", path.parent,
                          "set AUTOFOLEY_DATA to a writable folder") from None
    write_json(path, {"version": _VERSION, "root": str(root), "files": files})
