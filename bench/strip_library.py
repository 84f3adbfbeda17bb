#!/usr/bin/env python3
"""A copy of an SFX library where half of every sound class lost its tags.

What it makes
-------------
For the question "does an audio encoder find sounds nobody tagged?", it copies
a library (never modifying it) to OUT and, for every sound class of the
library truth (SFX grouped by ``sound_class``; distractors, which have none,
by their ``source``), takes a seeded half of the files and strips them of
everything that says what they are:

- the file is copied to ``OUT/Audio NNNN.<original extension>``: flat, at
  OUT's top level, numbered in a shuffled order over the whole library, so
  neither the name, the folder nor the number says anything;
- its rows are dropped from the CSV sidecar (``library.csv``, ``metadata.csv``
  or ``autofoley.csv`` at the library root: the names autofoley's scan looks
  for);
- a WAV file also loses its text chunks (BWF ``bext``, RIFF ``LIST``/INFO,
  ``iXML``, ``axml``, XMP, ID3), which autofoley reads as a description; the
  audio bytes are copied unchanged. Other formats are copied byte for byte
  (autofoley reads no tags from them).

The other files of the class keep their folder, name and CSV row. A class of
an odd size gives up one file more or one file fewer than its other half, by
turns across classes (where the turns start is seeded), so about half of the
whole library is stripped. Ambiences (``kind`` ambience) are always kept
tagged: every scene needs its bed and they are not what is measured. Files the
truth does not list are copied unchanged and stay out of the new truth.

It writes the new truth (default ``OUT/../<OUT name>_truth.json``): the input
truth's format, keyed by the new relative paths, each entry with
``"untagged": true|false`` and ``"original": <its path in LIBRARY>``.

How to run
----------
    python bench/strip_library.py examples/demo/library examples/demo/truth/library.json \\
        bench/out/demo_stripped [--seed 0] [--truth-out PATH] [--force]

Takes a second or two for the demo and lab libraries (it copies files). OUT
must not exist (or be empty) unless ``--force``, which replaces it.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import shutil
import struct
import sys
from pathlib import Path

# The sidecar names autofoley's library scan looks for at the library root
# (autofoley/library/scan.py, SIDECAR_NAMES); the first found is the one read.
SIDECAR_NAMES = ("library.csv", "metadata.csv", "autofoley.csv")
PATH_COLUMNS = ("path", "file", "filename", "file name", "file_name", "filepath")
AUDIO_SUFFIXES = frozenset({".wav", ".wave", ".bwf", ".aif", ".aiff", ".aifc", ".flac", ".ogg", ".oga",
                            ".mp3", ".opus", ".m4a"})
# RIFF chunks that carry text about the sound; everything else is kept.
WAV_TEXT_CHUNKS = frozenset({b"bext", b"LIST", b"iXML", b"axml", b"_PMX", b"ID3 ", b"id3 ", b"DISP"})
UNTAGGED_PREFIX = "Audio "


class StripError(Exception):
    """Inputs the copy cannot be made from (a message for the user)."""


def _group(info: dict) -> str | None:
    """The class a truth entry is stripped within; None: always kept tagged."""
    kind = info.get("kind")
    if kind == "ambience":
        return None
    if info.get("sound_class"):
        return str(info["sound_class"])
    if kind in ("sfx", "distractor"):
        return f"{kind}:{info.get('source') or info.get('category') or '?'}"
    return None


def choose_untagged(truth: dict[str, dict], seed: int = 0) -> set[str]:
    """Relative paths (truth keys) to strip: a seeded half of every class."""
    rng = random.Random(seed)
    classes: dict[str, list[str]] = {}
    for rel, info in truth.items():
        group = _group(info)
        if group is not None:
            classes.setdefault(group, []).append(rel)
    chosen: set[str] = set()
    extra = rng.random() < 0.5  # whether the next odd class gives up its odd file
    for group in sorted(classes):
        files = sorted(classes[group])
        rng.shuffle(files)
        n = len(files) // 2
        if len(files) % 2:
            n += int(extra)
            extra = not extra
        chosen.update(files[:n])
    return chosen


# --------------------------------------------------------------------------- files

def _is_inside(a: Path, b: Path) -> bool:
    """Whether ``a`` is ``b`` or below it."""
    try:
        a.relative_to(b)
        return True
    except ValueError:
        return False


def _copy_range(src, dst, n: int) -> None:
    while n > 0:
        block = src.read(min(n, 1 << 20))
        if not block:
            raise StripError("truncated chunk")
        dst.write(block)
        n -= len(block)


def copy_wav_without_text(src: Path, dst: Path) -> bool:
    """Copy a RIFF WAV without its text chunks (audio bytes unchanged).

    Returns whether a chunk was dropped. A file that is not plain RIFF/WAVE
    (RF64, a broken header) is copied byte for byte when it has no text chunk
    a walk can find, else decoded and written again (its samples unchanged).
    """
    dropped = False
    try:
        with open(src, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                raise StripError("not RIFF/WAVE")
            total = os.fstat(f.fileno()).st_size
            chunks: list[tuple[bytes, int, int]] = []  # (id, offset of data, size)
            pos = 12
            while pos + 8 <= total:
                f.seek(pos)
                cid, size = struct.unpack("<4sI", f.read(8))
                if pos + 8 + size > total:
                    if cid == b"data":  # a data size past the end: keep what is there
                        size = total - pos - 8
                    else:
                        raise StripError("chunk past the end of the file")
                chunks.append((cid, pos + 8, size))
                pos += 8 + size + (size & 1)
            with open(dst, "wb") as out:
                out.write(b"RIFF\0\0\0\0WAVE")
                for cid, offset, size in chunks:
                    if cid in WAV_TEXT_CHUNKS:
                        dropped = True
                        continue
                    out.write(struct.pack("<4sI", cid, size))
                    f.seek(offset)
                    _copy_range(f, out, size)
                    if size & 1:
                        out.write(b"\0")
                length = out.tell()
                out.seek(4)
                out.write(struct.pack("<I", length - 8))
        return dropped
    except (StripError, struct.error, OSError):
        dst.unlink(missing_ok=True)
    data = src.read_bytes()
    if not any(tag in data for tag in WAV_TEXT_CHUNKS):
        shutil.copyfile(src, dst)
        return False
    import soundfile as sf  # an RF64 or odd WAV that carries text: write the samples again

    info = sf.info(str(src))
    samples, rate = sf.read(str(src), always_2d=True, dtype="float64")
    sf.write(str(dst), samples, rate, subtype=info.subtype, format="WAV")
    return True


# --------------------------------------------------------------------------- CSV

def _csv_key(name: str, root: Path) -> str:
    """A CSV path as a lower-case root-relative POSIX path (or a bare name)."""
    name = name.strip().replace("\\", "/")
    if os.path.isabs(name):
        for base in (root, root.resolve()):
            try:
                return Path(os.path.normpath(name)).relative_to(base).as_posix().lower()
            except ValueError:
                pass
        return name.lower()
    return os.path.normpath(name).replace("\\", "/").removeprefix("./").lower()


def rewrite_sidecar(src: Path, dst: Path, root: Path, stripped: set[str], kept: set[str]) -> int:
    """Copy the CSV ``src`` to ``dst`` without the rows of ``stripped`` files
    (root-relative POSIX paths); returns how many rows were dropped. A bare
    file name is dropped only when it names no kept file; absolute paths of
    kept files are written relative to the library."""
    raw = src.read_bytes()
    text = raw.decode("utf-8-sig")
    sample = "\n".join(text.splitlines()[:20])
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    if not rows:
        shutil.copyfile(src, dst)
        return 0
    header = [h.strip().lower() for h in rows[0]]
    col = next((header.index(c) for c in PATH_COLUMNS if c in header), None)
    if col is None:
        raise StripError(f"{src}: no path column ({', '.join(PATH_COLUMNS)}) in the CSV header")
    gone = {p.lower() for p in stripped}
    kept_lower = {p.lower() for p in kept}
    gone_names = {p.rsplit("/", 1)[-1] for p in gone}
    kept_names = {p.rsplit("/", 1)[-1] for p in kept_lower}
    out_rows = [rows[0]]
    dropped = 0
    for row in rows[1:]:
        if col >= len(row) or not row[col].strip():
            out_rows.append(row)
            continue
        key = _csv_key(row[col], root)
        if "/" in key:
            if key in gone:
                dropped += 1
                continue
        elif key in gone_names and key not in kept_names:
            dropped += 1
            continue
        if os.path.isabs(row[col].strip()) and key in kept_lower:
            row = list(row)
            row[col] = next(p for p in kept if p.lower() == key)
        out_rows.append(row)
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\n").writerows(out_rows)
    dst.write_text(buf.getvalue(), encoding="utf-8")
    return dropped


# --------------------------------------------------------------------------- the copy

def default_truth_path(out: Path) -> Path:
    return out.parent / f"{out.name}_truth.json"


def strip_library(library: str | Path, library_truth: str | Path, out: str | Path, seed: int = 0,
                  truth_out: str | Path | None = None, force: bool = False) -> dict:
    """Copy ``library`` to ``out`` with a seeded half of every sound class
    untagged (see the module docstring); returns a summary (paths, counts)."""
    library = Path(library).expanduser()
    out = Path(out).expanduser()
    truth_path = Path(truth_out).expanduser() if truth_out else default_truth_path(out)
    if not library.is_dir():
        raise StripError(f"library folder not found: {library}")
    lib_abs, out_abs = library.resolve(), out.resolve()
    if _is_inside(out_abs, lib_abs) or _is_inside(lib_abs, out_abs):
        raise StripError(f"OUT ({out}) and the library ({library}) must not contain one another")
    if _is_inside(truth_path.resolve(), lib_abs):
        raise StripError(f"the truth ({truth_path}) must not be written inside the library")
    try:
        truth = json.loads(Path(library_truth).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise StripError(f"cannot read the library truth {library_truth}: {exc}") from None
    if not isinstance(truth, dict):
        raise StripError(f"{library_truth}: not a mapping of relative paths")
    truth = {rel.replace("\\", "/"): info for rel, info in truth.items()}
    missing = [rel for rel in truth if not (library / rel).is_file()]
    if missing:
        raise StripError(f"{len(missing)} files of the truth are not in the library, e.g. {missing[0]}")
    if out.exists() and any(out.iterdir()):
        if not force:
            raise StripError(f"{out} exists and is not empty (--force replaces it)")
        shutil.rmtree(out)

    chosen = choose_untagged(truth, seed)
    order = sorted(chosen)
    random.Random(f"{seed}:numbers").shuffle(order)
    width = max(4, len(str(len(order))))
    new_name = {rel: f"{UNTAGGED_PREFIX}{i:0{width}d}{Path(rel).suffix}" for i, rel in enumerate(order, 1)}

    files = sorted(p for p in library.rglob("*") if p.is_file()
                   and not any(part.startswith(".") for part in p.relative_to(library).parts))
    rels = {p.relative_to(library).as_posix() for p in files}
    taken = {r.lower() for r in rels if r not in chosen}
    clash = [n for n in new_name.values() if n.lower() in taken]
    if clash:
        raise StripError(f"the library already holds {clash[0]} at its top level")
    kept = {r for r in rels if r not in chosen}
    sidecars = {n for n in SIDECAR_NAMES if (library / n).is_file()}

    out.mkdir(parents=True, exist_ok=True)
    new_truth: dict[str, dict] = {}
    summary = {"library": str(library), "out": str(out), "truth": str(truth_path), "seed": seed,
               "tagged": 0, "untagged": 0, "classes": {}, "unlisted_copied": 0,
               "csv_rows_dropped": 0, "wav_text_removed": 0, "sidecars": sorted(sidecars)}
    for path in files:
        rel = path.relative_to(library).as_posix()
        if rel in chosen:
            dest_rel = new_name[rel]
            dest = out / dest_rel
            if path.suffix.lower() in (".wav", ".wave", ".bwf"):
                summary["wav_text_removed"] += copy_wav_without_text(path, dest)
            else:
                shutil.copyfile(path, dest)
        else:
            dest_rel = rel
            dest = out / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            if rel in sidecars:
                summary["csv_rows_dropped"] += rewrite_sidecar(path, dest, library, chosen, kept)
                continue
            shutil.copy2(path, dest)
        if rel in truth:
            new_truth[dest_rel] = {**truth[rel], "untagged": rel in chosen, "original": rel}
            summary["untagged" if rel in chosen else "tagged"] += 1
            group = _group(truth[rel])
            if group is not None:
                counts = summary["classes"].setdefault(group, {"tagged": 0, "untagged": 0})
                counts["untagged" if rel in chosen else "tagged"] += 1
        elif path.suffix.lower() in AUDIO_SUFFIXES:
            summary["unlisted_copied"] += 1
    truth_path.parent.mkdir(parents=True, exist_ok=True)
    truth_path.write_text(json.dumps(dict(sorted(new_truth.items())), indent=1) + "\n", encoding="utf-8")
    return summary


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n\n".join(__doc__.split("\n\n")[1:3]))
    p.add_argument("library", type=Path, help="the library folder (only read)")
    p.add_argument("library_truth", type=Path, help="its truth JSON: relative path -> sound_class, kind, ...")
    p.add_argument("out", type=Path, help="folder to write the copy to")
    p.add_argument("--seed", type=int, default=0, help="which half is stripped (default: %(default)s)")
    p.add_argument("--truth-out", type=Path, default=None,
                   help="where the new truth goes (default: OUT/../<OUT name>_truth.json)")
    p.add_argument("--force", action="store_true", help="replace OUT when it is not empty")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = p.parse_args(argv)
    try:
        summary = strip_library(args.library, args.library_truth, args.out, args.seed,
                                args.truth_out, args.force)
    except StripError as exc:
        print(f"strip_library: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(summary, indent=1))
        return 0
    print(f"{summary['out']}: {summary['untagged']} files untagged, {summary['tagged']} kept tagged "
          f"({summary['csv_rows_dropped']} CSV rows dropped, text chunks removed from "
          f"{summary['wav_text_removed']} WAVs, {summary['unlisted_copied']} audio files not in the truth "
          f"copied as they were); truth: {summary['truth']}")
    for group, counts in sorted(summary["classes"].items()):
        print(f"  {group:<24} {counts['untagged']} untagged, {counts['tagged']} tagged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
