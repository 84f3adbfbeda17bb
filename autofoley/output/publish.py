"""Outputs appear whole or not at all: a film's deliverables are written into
a hidden staging folder inside the output folder and renamed into place only
when every one of them is complete (``score`` and ``batch`` alike).

A staging folder's name carries the process id of its owner, so a later run
can remove what a killed run left behind without touching the folder of a
run still going on beside it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from autofoley.atomic import TMP_PREFIX, ensure_dir


@contextlib.contextmanager
def staging(out_dir: Path) -> Iterator[Path]:
    """A fresh staging folder in ``out_dir`` (same file system, so renames
    are atomic), removed on the way out whatever happens."""
    tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-", dir=out_dir))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def clean_stale(out_dir: Path) -> list[Path]:
    """Remove staging folders in ``out_dir`` whose owner process is gone (a
    ``kill -9``, a power cut); return what was removed. Folders of live
    processes, and temporary names this module did not make, are kept."""
    removed = []
    try:
        items = list(os.scandir(out_dir))
    except OSError:
        return removed
    for item in items:
        if not item.name.startswith(TMP_PREFIX) or not item.is_dir(follow_symlinks=False):
            continue
        pid = item.name[len(TMP_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(item.path, ignore_errors=True)
            removed.append(Path(item.path))
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process: not ours to judge
    return True


def publish(outputs: dict[str, Path], dest: Path, out_root: Path | None = None,
            old: dict[str, str] | None = None) -> dict[str, Path]:
    """Move a film's finished outputs into ``dest``; return where they went.

    The old timeline is removed first and the new one moved last, so a folder
    with a ``.otio`` always holds one complete set (a kill in between leaves
    no timeline). ``old`` (paths relative to ``out_root``, from an earlier
    score) names outputs that this score did not write again (a stems folder,
    a ``.mov`` scored film): they are removed at the end.
    """
    ensure_dir(dest)
    timeline = outputs.get("timeline")
    if timeline is not None:
        remove(dest / timeline.name)
    final: dict[str, Path] = {}
    for key in sorted(outputs, key=lambda k: k == "timeline"):
        src = outputs[key]
        target = dest / src.name
        if src.is_dir() and target.exists():
            remove(target)
        os.replace(src, target)
        final[key] = target
    if old and out_root is not None:
        kept = {p.resolve() for p in final.values()}
        for rel in old.values():
            stale = out_root / rel
            if stale.resolve() not in kept and _inside(stale, dest):
                remove(stale)
    return final


def remove(path: Path) -> None:
    """Remove a file or folder; a missing one is fine."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False
