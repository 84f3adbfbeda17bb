"""Write files so that a reader never sees half of one.

Every output goes to a temporary name in the destination folder (same file
system, so the final rename is atomic) and is renamed into place only once it
is complete. A failure or a kill leaves at most a ``.tmp`` file behind, never a
truncated output under the real name.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Iterator

from .errors import OutputError

TMP_PREFIX = ".autofoley-tmp-"


def _read_umask() -> int:
    # os.umask can only be read by setting it; done once, at import, before
    # any worker threads exist.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# mkstemp creates its file 0600; outputs get the usual 0666 & ~umask instead,
# as if opened normally, so a mix or film is readable where the user expects.
_FILE_MODE = 0o666 & ~_read_umask()


@contextlib.contextmanager
def atomic_path(dest: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; rename it to ``dest`` on success.

    ``suffix`` keeps an extension on the temporary name for tools (ffmpeg,
    soundfile) that choose the format from it.
    """
    dest = Path(dest)
    ensure_dir(dest.parent)
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=suffix or dest.suffix, dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, _FILE_MODE)
        os.replace(tmp_path, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def write_text(dest: str | Path, text: str) -> None:
    with atomic_path(dest) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(dest: str | Path, data) -> None:
    """Strict JSON: a NaN or infinite number (a figure with nothing to
    measure) is written as null, which every JSON reader accepts."""
    write_text(dest, json.dumps(strict_json(data), indent=2, ensure_ascii=False,
                                allow_nan=False) + "\n")


def strict_json(data):
    """``data`` with every non-finite float replaced by None."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: strict_json(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [strict_json(v) for v in data]
    return data


def ensure_dir(path: str | Path) -> Path:
    """Create ``path`` (and parents) or raise an OutputError naming it."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create folder ({exc.strerror})", path,
                          "choose another --out folder or fix its permissions") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputError("folder is not writable", path,
                          "choose another --out folder or fix its permissions")
    return path


@contextlib.contextmanager
def sqlite_transaction(db) -> Iterator:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` on a connection opened with
    ``isolation_level=None``; rolled back on any exception (a kill included:
    SQLite discards an uncommitted transaction)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
