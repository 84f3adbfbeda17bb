"""Walking a folder tree: the one walker every command uses (library scans,
batch's films, curate's stock).

Symbolic links are followed, because libraries and footage folders are often
assembled from links to other drives, but each real folder is entered once,
so a link to an ancestor cannot loop. Hidden files and folders (".name",
including macOS "._" resource forks) are skipped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable


@dataclass
class Walk:
    """What a walk found: matching files (sorted) and what could not be read."""

    files: list[Path] = field(default_factory=list)
    problems: list[tuple[Path, str]] = field(default_factory=list)


def walk(root: Path, suffixes: Iterable[str], exclude: Iterable[Path] = ()) -> Walk:
    """Files under ``root`` whose suffix (any case, with its dot) is one of
    ``suffixes``; folders in ``exclude`` (resolved paths) are not entered.

    ``problems`` lists unreadable folders, broken links to matching names
    and entries that cannot be inspected, each with a reason.
    """
    wanted = {s.lower() for s in suffixes}
    skip = {Path(p).resolve() for p in exclude}
    out = Walk()
    seen: set[tuple[int, int]] = set()
    pending = [Path(root)]
    while pending:
        folder = pending.pop()
        try:
            st = folder.stat()
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            with os.scandir(folder) as it:
                items = list(it)
        except OSError as exc:
            out.problems.append((folder, f"folder cannot be read ({exc.strerror or exc})"))
            continue
        for item in items:
            if item.name.startswith("."):
                continue
            path = Path(item.path)
            try:
                if item.is_dir():
                    if not skip or path.resolve() not in skip:
                        pending.append(path)
                elif path.suffix.lower() in wanted:
                    if item.is_file():
                        out.files.append(path)
                    elif item.is_symlink() and not path.exists():
                        out.problems.append((path, "broken symbolic link"))
                    else:  # a FIFO would block whoever reads it
                        out.problems.append((path, "not a regular file (a pipe, socket or "
                                                   "device)"))
            except OSError:
                out.problems.append((path, "cannot be inspected"))
    out.files.sort()
    return out
