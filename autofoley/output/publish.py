"""Outputs appear whole or not at all: a film's deliverables are written into
a hidden staging folder inside the output folder and renamed into place only
when every one of them is complete (``score`` and ``batch`` alike).

A staging folder's name carries the process id of its owner, so a later run
can remove what a killed run left behind without touching the folder of a
run still going on beside it.

Hand edits are never lost: a timeline an editor saved over (``film.otio``,
or an export a program opens and saves in place: ``.kdenlive``, ``.mlt``,
``.xml``, ``.aaf``) is moved aside as ``film.edited-YYYYmmdd-HHMMSS.otio``
before a new score takes its name. What autofoley wrote is known by the
digests kept in ``.autofoley-outputs.json`` in the output folder (``score``)
or, for ``batch``, in ``OUT/.autofoley-outputs/<film folder>.json`` beside
the job database, so a film's folder holds only its deliverables.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Iterator

from autofoley.atomic import TMP_PREFIX, ensure_dir, write_json
from autofoley.cache import file_digest
from autofoley.errors import OutputError

log = logging.getLogger("autofoley")

MANIFEST_NAME = ".autofoley-outputs.json"
BATCH_MANIFESTS = ".autofoley-outputs"  # under a batch's output folder
_MANIFEST_VERSION = 1
# Outputs a person may open in an editor and save over, by their key in a
# score's outputs: the timeline and the single-file exports. Mixes, reports
# and events are not edited by hand; a folder (stems, EDLs) is not one file.
EDITABLE = ("timeline", "fcp7xml", "aaf", "kdenlive", "mlt")
# An unrecorded timeline written at most this long after its events.json
# (seconds) was written with it, by an autofoley before the manifest.
WRITTEN_TOGETHER = 60.0


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

    An ``EDITABLE`` output already in ``dest`` that was changed after
    autofoley wrote it is never overwritten nor removed: before anything
    moves it is renamed to ``<stem>.edited-<its mtime>.<suffix>`` (a counter
    is added when that name is taken) and a warning names both paths. It
    counts as changed when its digest differs from the one recorded when it
    was published (``manifest_path``).

    A file with no record (written by an autofoley older than the manifest,
    or the manifest was deleted) counts as autofoley's own only when its
    mtime is within ``WRITTEN_TOGETHER`` seconds after that of its
    ``<stem>.events.json``, which every score writes just before it: an
    editor saves later than that. Anything else, a file of the same name
    that autofoley never wrote included, is kept aside too. Keeping every
    unrecorded file aside would be safe but would leave a spurious copy
    beside every film scored by an older version; overwriting them would
    lose the edits of anyone who upgraded. The mtime rule costs neither,
    except for an edit saved within a minute of the old score.
    """
    ensure_dir(dest)
    book = _Manifest(manifest_path(dest, out_root), dest)
    # Before anything moves: if a hand edit cannot be kept, nothing changes.
    for key in EDITABLE:
        src = outputs.get(key)
        if src is not None:
            _keep_if_edited(dest / src.name, book)
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
        for key, rel in old.items():
            stale = out_root / rel
            if stale.resolve() not in kept and _inside(stale, dest):
                if key in EDITABLE and stale.parent.resolve() == dest.resolve():
                    _keep_if_edited(stale, book)
                remove(stale)
                book.forget(stale)
    for key in EDITABLE:
        if key in final:
            book.record(final[key])
    book.save()
    return final


def manifest_path(dest: Path, out_root: Path | None = None) -> Path:
    """Where the digests of the outputs published into ``dest`` are kept:
    ``dest/.autofoley-outputs.json``, or for a film folder of a batch
    (``out_root`` given) ``out_root/.autofoley-outputs/<dest under out_root>.json``."""
    if out_root is not None:
        try:
            rel = dest.resolve().relative_to(Path(out_root).resolve())
        except ValueError:
            rel = None
        if rel is not None and rel.parts:
            return Path(out_root) / BATCH_MANIFESTS / rel.parent / f"{rel.name}.json"
    return dest / MANIFEST_NAME


class _Manifest:
    """The digests of the editable outputs autofoley published into ``folder``,
    by file name, kept in the JSON file ``path``."""

    def __init__(self, path: Path, folder: Path):
        self.path, self.folder = path, folder
        self.files: dict[str, dict] = {}
        self.changed = False
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            files = data.get("files") if isinstance(data, dict) else None
            if isinstance(files, dict):
                self.files = {k: v for k, v in files.items() if isinstance(v, dict)}
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            # Every file then goes by the mtime rule: still nothing is lost.
            log.warning("%s is unreadable (%s); its records are ignored", self.path, exc)

    def digest(self, path: Path) -> str | None:
        entry = self.files.get(path.name)
        return entry.get("blake2b") if entry else None

    def record(self, path: Path) -> None:
        if path.is_file():
            self.files[path.name] = {"blake2b": file_digest(path), "size": path.stat().st_size}
            self.changed = True

    def forget(self, path: Path) -> None:
        if self.files.pop(path.name, None) is not None:
            self.changed = True

    def save(self) -> None:
        if not self.changed:
            return
        # Records of files no longer there (deleted by hand) only grow the file.
        files = {k: v for k, v in sorted(self.files.items())
                 if (self.folder / k).is_file()}
        try:
            write_json(self.path, {"version": _MANIFEST_VERSION, "files": files})
        except (OSError, OutputError) as exc:
            # The outputs are in place; without records a later score goes by mtimes.
            log.warning("%s could not be written (%s)", self.path, exc)


def _keep_if_edited(path: Path, book: _Manifest) -> Path | None:
    """Move ``path`` aside when it was changed after autofoley wrote it;
    return where it went (None: it was autofoley's own, or absent)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    if not path.is_file() or _is_ours(path, st, book):
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(st.st_mtime))
    aside = _move_aside(path, f"{path.stem}.edited-{stamp}", path.suffix)
    book.forget(path)
    log.warning("%s was changed after autofoley wrote it; kept as %s", path, aside)
    return aside


def _is_ours(path: Path, st: os.stat_result, book: _Manifest) -> bool:
    recorded = book.digest(path)
    if recorded is not None:
        try:
            return file_digest(path) == recorded
        except OSError as exc:
            raise OutputError(f"cannot read an earlier output ({exc.strerror or exc})", path,
                              "fix its permissions; it is not overwritten unread") from None
    try:
        events = (path.parent / f"{path.stem}.events.json").stat()
    except OSError:
        return False
    # Slack below zero: file systems that keep mtimes to 2 s (FAT, some SMB).
    return -2.0 <= st.st_mtime - events.st_mtime <= WRITTEN_TOGETHER


def _move_aside(path: Path, stem: str, suffix: str) -> Path:
    """Rename ``path`` to ``stem + suffix`` in its folder, or ``stem-2 + suffix``
    and so on: never over an existing file."""
    for n in range(1, 10000):
        aside = path.with_name(f"{stem}{'' if n == 1 else f'-{n}'}{suffix}")
        try:
            # A hard link fails when the name exists, where a rename would
            # replace it (POSIX): no other process can slip a file in between.
            os.link(path, aside)
        except FileExistsError:
            continue
        except OSError:
            # No hard links here (FAT, some network shares): check, then rename.
            if aside.exists():
                continue
            try:
                os.rename(path, aside)
            except FileExistsError:
                continue
            except OSError as exc:
                raise _cannot_keep(path, exc) from None
            return aside
        try:
            path.unlink()
        except OSError as exc:
            aside.unlink()
            raise _cannot_keep(path, exc) from None
        return aside
    raise _cannot_keep(path, OSError("too many earlier copies"))


def _cannot_keep(path: Path, exc: OSError) -> OutputError:
    return OutputError(f"an edited earlier output cannot be moved aside "
                       f"({exc.strerror or exc})", path,
                       "move it yourself, or score into another --out")


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
