"""Finding the films of a batch: every video under the footage folder."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable

from autofoley.batch.jobs import FilmFile
from autofoley.errors import InputError
from autofoley.media.probe import VIDEO_EXTENSIONS
from autofoley.walk import walk

log = logging.getLogger("autofoley")

# Without dots, as ``--ext`` takes them.
DEFAULT_EXTENSIONS = tuple(e.lstrip(".") for e in VIDEO_EXTENSIONS)


def find_films(folder: str | Path, extensions: Iterable[str] = DEFAULT_EXTENSIONS,
               exclude: Iterable[str | Path] = ()) -> list[FilmFile]:
    """Every video under ``folder`` (recursive), sorted by relative path.

    A video is a file whose extension (any case, with or without its dot) is
    one of ``extensions``. Hidden files and folders are skipped, and so is
    every folder in ``exclude`` (the batch's own output folder); symbolic
    links are followed, each real folder entered once (``autofoley.walk``).
    """
    root = check_folder(folder)
    found = walk(root, ["." + e.lower().lstrip(".") for e in extensions],
                 exclude=[Path(p).expanduser() for p in exclude])
    for path, reason in found.problems:
        log.warning("%s: %s; left out of the batch", path, reason)
    films: list[FilmFile] = []
    for path in found.files:
        try:
            st = path.stat()
        except OSError as exc:  # gone or unreadable since the walk saw it
            log.warning("%s: cannot be inspected (%s); left out of the batch", path,
                        exc.strerror or exc)
            continue
        films.append(FilmFile(path.relative_to(root).as_posix(), path, st.st_size,
                              st.st_mtime_ns))
    # By the '/'-separated name, so the order is the same on every platform.
    films.sort(key=lambda f: f.rel)
    return films


def check_folder(folder: str | Path) -> Path:
    """The footage folder, resolved; an InputError when it is not a folder."""
    root = Path(folder).expanduser()
    if not root.exists():
        raise InputError("folder not found", root, "check the path")
    if not root.is_dir():
        raise InputError("is a file, not a folder", root,
                         "pass the folder that holds the films, or use 'autofoley score' for one")
    return root.resolve()
