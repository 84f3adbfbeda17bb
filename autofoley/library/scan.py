"""Scan the user's SFX library into SoundEntry records.

Every audio file under the library root becomes one entry with a description
(what the sound is, used to build CLIP's zero-shot sentence), a category and a
kind ("sfx" or "ambience"). Metadata is taken from the best source present:

    description: CSV sidecar > BWF bext > UCS file name > file stem (+ folders)
    category:    CSV sidecar > UCS category > first folder > "UNCATEGORIZED"
    kind:        CSV sidecar > LLM vote > ambience category > ambience keyword > "sfx"

(The LLM vote is stored by ``autofoley curate --classify-kinds``, see
llm.py; it may also say "music", which scoring never places.)

Opening files is the slow part of a scan (a network share of 100k files takes
minutes), so what was read from each file is cached per library and reused
while the file's size and mtime are unchanged. Everything else (CSV, names,
folders) is cheap and derived again on every scan, so editing the CSV takes
effect at once. A broken file is skipped with a reason, never fatal.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable

from autofoley.atomic import write_text
from autofoley.cache import cache_dir, text_digest
from autofoley.errors import AutofoleyError, InputError, LibraryError, skip_reason
from autofoley.library.bext import read_bext_description
from autofoley.library.ucs import UcsName, is_ambience_category, parse_ucs_name
from autofoley.media.audio import AUDIO_EXTENSIONS, audibility, audio_info
from autofoley.records import SoundEntry
from autofoley.walk import walk

log = logging.getLogger("autofoley")

SIDECAR_NAMES = ("library.csv", "metadata.csv", "autofoley.csv")
UNCATEGORIZED = "UNCATEGORIZED"

_WAV_SUFFIXES = frozenset({".wav", ".wave", ".bwf"})  # the ones that may carry bext
_AUDIO_SUFFIXES = frozenset(AUDIO_EXTENSIONS)
# CLIP's own zero-shot prompt (Radford et al.); the one default every command uses.
DEFAULT_TEMPLATE = "a photo of {}."
_CACHE_VERSION = 2  # 2: silent and too-quiet files are skipped

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class LibraryScan:
    """The usable sounds of a library and what was left out, with why."""

    root: Path  # absolute library folder
    entries: list[SoundEntry]  # sorted by path
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # (path, one-line reason)


def scan_library(root: str | Path, csv_path: str | Path | None = None, use_cache: bool = True,
                 progress: Progress | None = None) -> LibraryScan:
    """Find, probe and describe every sound file under ``root``.

    ``csv_path`` names a metadata sidecar; by default the first of
    SIDECAR_NAMES found in ``root`` is used. ``use_cache=False`` reads every
    file again and leaves the cache alone. ``progress(done, total)`` is
    called once before the first file and after each file.

    Raises LibraryError when ``root`` is not a folder, the CSV is unusable,
    or no file yields a usable sound.
    """
    root = _check_root(root)
    sidecar = _load_sidecar(root, csv_path)
    found = walk(root, _AUDIO_SUFFIXES)
    files, skipped = found.files, found.problems
    old = _load_cache(root) if use_cache else {}
    new: dict[str, dict] = {}
    entries: list[SoundEntry] = []
    csv_kind: set[Path] = set()  # files whose kind the CSV sidecar sets: no vote overrides it
    if progress:
        progress(0, len(files))
    for done, path in enumerate(files, 1):
        parts = path.relative_to(root).parts
        rel = "/".join(parts)
        row = sidecar.row_for(rel) if sidecar else None  # also marks the row as used
        facts = _facts(path, old.get(rel))
        if facts.get("cache", True):
            new[rel] = {k: v for k, v in facts.items() if k != "cache"}
        if "error" in facts:
            skipped.append((path, facts["error"]))
        else:
            entries.append(_entry(path, parts[:-1], facts, row))
            if row and row.kind:
                csv_kind.add(path)
        if progress:
            progress(done, len(files))
    if sidecar:
        skipped.extend(sidecar.unmatched(root))
    if use_cache and new != old:
        _save_cache(root, new)
    skipped.sort(key=lambda item: str(item[0]))
    if not entries:
        raise LibraryError("no readable sound files (wav, aiff, flac, ogg, mp3)", root,
                           "point --library at a folder of sound effects")
    return _with_voted_kinds(LibraryScan(root, entries, skipped), csv_kind)


def _with_voted_kinds(scan: LibraryScan, keep: set[Path]) -> LibraryScan:
    """``scan`` with the kinds an LLM voted for its files (unchanged since),
    except those of files in ``keep``."""
    from autofoley.library.kinds import voted_kinds

    votes = voted_kinds(scan)
    if not votes:
        return scan
    entries = [replace(e, kind=votes[e.path])
               if e.path in votes and e.path not in keep else e for e in scan.entries]
    return LibraryScan(scan.root, entries, scan.skipped)


# --------------------------------------------------------------------------- files

def _check_root(root: str | Path) -> Path:
    path = Path(root).expanduser()
    if not path.exists():
        raise LibraryError("library folder not found", path, "check the --library path")
    if not path.is_dir():
        raise LibraryError("library is a file, not a folder", path,
                           "point --library at the folder that holds the sounds")
    return path.resolve()


def _facts(path: Path, cached: dict | None) -> dict:
    """What must be read from the file itself: its format and embedded text.

    Returns {"size", "mtime_ns", "sample_rate", "channels", "frames", "text"},
    or {"size", "mtime_ns", "error"}. A "cache": False item marks a result
    that depends on something other than the file's bytes (permissions, a
    missing ffprobe) and must not be remembered.
    """
    try:
        st = path.stat()
    except OSError as exc:
        return {"error": f"cannot be inspected ({exc.strerror or exc})", "cache": False}
    stamp = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    if cached is not None and all(cached[k] == v for k, v in stamp.items()):
        return cached
    if st.st_size == 0:
        return {**stamp, "error": "empty file (0 bytes)"}
    if not os.access(path, os.R_OK):
        return {**stamp, "error": "not readable (permission denied)", "cache": False}
    try:
        info = audio_info(path)
    except InputError as exc:
        return {**stamp, "error": skip_reason(exc)}
    except (AutofoleyError, OSError) as exc:  # e.g. ffprobe missing: the file may be fine
        return {**stamp, "error": skip_reason(exc), "cache": False}
    if info.frames <= 0 or info.sample_rate <= 0:
        return {**stamp, "error": "holds no audio samples"}
    # The same rule for every ranking path: a file with any sound above the
    # floor is kept, however short; silent and near-silent files never are.
    try:
        quiet = audibility(path)
    except InputError as exc:
        return {**stamp, "error": skip_reason(exc)}
    if quiet:
        return {**stamp, "error": quiet}
    text = read_bext_description(path) if path.suffix.lower() in _WAV_SUFFIXES else ""
    return {**stamp, "sample_rate": info.sample_rate, "channels": info.channels,
            "frames": info.frames, "text": text}



# --------------------------------------------------------------------------- cache

def _cache_file(root: Path) -> Path:
    return cache_dir("library") / f"{text_digest(str(root))}.json"


def _load_cache(root: Path) -> dict[str, dict]:
    """Records of the last scan of ``root``; {} when absent or unreadable."""
    try:
        with open(_cache_file(root), encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}
    if not (isinstance(data, dict) and data.get("version") == _CACHE_VERSION
            and data.get("root") == str(root) and isinstance(data.get("files"), dict)):
        return {}
    return {k: v for k, v in data["files"].items() if isinstance(k, str) and _valid_record(v)}


def _valid_record(rec) -> bool:
    if not (isinstance(rec, dict) and isinstance(rec.get("size"), int)
            and isinstance(rec.get("mtime_ns"), int)):
        return False
    if "error" in rec:
        return isinstance(rec["error"], str)
    return (isinstance(rec.get("sample_rate"), int) and rec["sample_rate"] > 0
            and isinstance(rec.get("channels"), int) and rec["channels"] > 0
            and isinstance(rec.get("frames"), int) and rec["frames"] > 0
            and isinstance(rec.get("text"), str))


def _save_cache(root: Path, records: dict[str, dict]) -> None:
    """Write the records atomically; a cache that cannot be written only costs time."""
    data = {"version": _CACHE_VERSION, "root": str(root), "files": records}
    try:
        # Compact JSON: a 100k-file library would make an indented file
        # several times larger and slower to parse on every scan.
        write_text(_cache_file(root), json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    except (OSError, AutofoleyError):
        pass


# --------------------------------------------------------------------------- CSV sidecar

_PATH_COLUMNS = ("path", "file", "filename", "file name", "file_name", "filepath")
_DESCRIPTION_COLUMNS = ("description", "desc")
_TAG_COLUMNS = ("tags", "keywords")
_KIND_COLUMNS = ("kind", "type")


@dataclass(frozen=True)
class _Row:
    """One CSV line: the file it names and the metadata it gives."""

    index: int  # line number in the CSV, for messages
    name: str  # the path as written
    description: str
    category: str
    kind: str  # "sfx", "ambience" or "" when unset or not understood


class _Sidecar:
    """Rows of a metadata CSV, looked up by relative path or by file name."""

    def __init__(self, path: Path, root: Path, rows: list[_Row]):
        self.path = path
        self.rows = rows
        # Keys are lower-cased: sidecars are often written on macOS or
        # Windows, whose file systems ignore case.
        self._by_rel: dict[str, _Row] = {}
        self._by_name: dict[str, _Row] = {}
        self._used: set[int] = set()
        for row in rows:
            key = _csv_key(row.name, root).lower()
            if "/" in key:
                self._by_rel.setdefault(key, row)
            else:  # a bare file name matches that file in any folder
                self._by_name.setdefault(key, row)

    def row_for(self, rel: str) -> _Row | None:
        """The row for a root-relative POSIX path, if any; marks it as used."""
        rel = rel.lower()
        row = self._by_rel.get(rel) or self._by_name.get(rel.rsplit("/", 1)[-1])
        if row is not None:
            self._used.add(row.index)
        return row

    def unmatched(self, root: Path) -> list[tuple[Path, str]]:
        """Rows that named no sound file of the library, one entry each."""
        return [(root / row.name, f"listed in {self.path.name} (line {row.index}) but no such sound file")
                for row in self.rows if row.index not in self._used]


def _csv_key(name: str, root: Path) -> str:
    """A CSV path as a root-relative POSIX path (or a bare file name)."""
    name = name.strip().replace("\\", "/")
    if os.path.isabs(name):
        try:
            return Path(os.path.normpath(name)).relative_to(root).as_posix()
        except ValueError:
            try:  # the CSV may name the library through a link
                return Path(name).resolve().relative_to(root).as_posix()
            except (ValueError, OSError):
                return name
    return os.path.normpath(name).replace("\\", "/").removeprefix("./")


def _load_sidecar(root: Path, csv_path: str | Path | None) -> _Sidecar | None:
    if csv_path is None:
        found = [root / n for n in SIDECAR_NAMES if (root / n).is_file()]
        if not found:
            return None
        path = found[0]
        try:
            return _Sidecar(path, root, _read_rows(path))
        except LibraryError as exc:
            # Found, not asked for: a broken sidecar costs its tags, not the run.
            log.warning("%s; the library is scanned without it", exc)
            return None
    path = Path(csv_path).expanduser()
    if not path.is_file():
        raise LibraryError("metadata CSV not found", path, "check the path of the CSV sidecar")
    return _Sidecar(path, root, _read_rows(path))


def _read_rows(path: Path) -> list[_Row]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LibraryError(f"metadata CSV cannot be read ({exc.strerror})", path,
                           "fix its permissions or remove it") from None
    text = decode_text(raw)
    lines = text.splitlines()
    if not lines:
        return []
    header = lines[0]
    # Spreadsheets in many locales export ';' or tab separated "CSV"; the
    # header line has no quoted commas, so the most frequent one wins.
    delimiter = max(",;\t", key=header.count)
    try:
        reader = csv.reader(lines, delimiter=delimiter)
        columns = [c.strip().lower() for c in next(reader)]
        records = list(reader)
    except csv.Error as exc:
        raise LibraryError(f"metadata CSV is malformed ({exc})", path, "fix or remove the CSV") from None
    path_col = _column(columns, _PATH_COLUMNS)
    if path_col is None:
        raise LibraryError("metadata CSV has no path, file or filename column", path,
                           "add a 'file' column naming each sound")
    desc_col = _column(columns, _DESCRIPTION_COLUMNS)
    tag_cols = [i for i, c in enumerate(columns) if c in _TAG_COLUMNS]
    cat_col = _column(columns, ("category",))
    kind_col = _column(columns, _KIND_COLUMNS)
    rows = []
    for line, record in enumerate(records, 2):
        def cell(i: int | None) -> str:
            return record[i].strip() if i is not None and i < len(record) else ""

        name = cell(path_col)
        if not name:
            continue
        tags = _join_tags(cell(i) for i in tag_cols)
        description = ", ".join(p for p in (" ".join(cell(desc_col).split()), tags) if p)
        rows.append(_Row(line, name, description, cell(cat_col).upper(), _csv_kind(cell(kind_col))))
    return rows


def decode_text(raw: bytes) -> str:
    """Text of a sidecar whatever wrote it: a byte-order mark is dropped
    whatever the encoding, then UTF-8, Windows' cp1252 (spreadsheet exports)
    and latin-1, which decodes anything."""
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    for encoding in ("utf-8", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def _column(columns: list[str], names: Iterable[str]) -> int | None:
    for name in names:
        if name in columns:
            return columns.index(name)
    return None


def _join_tags(cells: Iterable[str]) -> str:
    """Comma- or semicolon-separated tags as one comma-joined string, deduplicated."""
    tags: dict[str, str] = {}
    for cell in cells:
        for tag in re.split(r"[;,]", cell):
            tag = " ".join(tag.split())
            if tag:
                tags.setdefault(tag.lower(), tag)
    return ", ".join(tags.values())


_CSV_AMBIENCE = {"ambience", "ambiance", "ambiences", "amb", "ambient", "atmos", "atmo", "atmosphere",
                 "bg", "background", "bed", "room tone", "roomtone"}
_CSV_SFX = {"sfx", "fx", "effect", "effects", "sound effect", "hard", "hard effect", "spot",
            "one shot", "one-shot", "oneshot", "foley", "event"}


def _csv_kind(value: str) -> str:
    value = " ".join(value.lower().split())
    if value in _CSV_AMBIENCE:
        return "ambience"
    if value in _CSV_SFX:
        return "sfx"
    return ""


# --------------------------------------------------------------------------- metadata

# Whole words that mark a bed rather than an event, in folder names, file
# names and descriptions. "amb" is a common folder/file abbreviation; as a
# whole word it does not catch "ambulance" or "lamb".
_AMBIENCE_WORDS = re.compile(
    r"\b(?:ambien[cs]es?|ambiances?|amb|ambs|atmos|atmospheres?|room ?tones?|backgrounds?)\b")

# Folder names that say nothing about the sound.
_GENERIC_FOLDERS = {"sfx", "fx", "sound effects", "sounds", "sound", "audio", "library", "libraries",
                    "misc", "various", "wav", "wavs", "new folder", "files", "samples"}


def _entry(path: Path, folders: tuple[str, ...], facts: dict, row: _Row | None) -> SoundEntry:
    """The entry of a readable file; ``folders`` are those between root and file."""
    ucs = parse_ucs_name(path.name)
    description = _description(path, facts["text"], ucs, row, folders)
    category = _category(ucs, row, folders)
    kind = _kind(category, row, folders, path.stem, description)
    duration = facts["frames"] / facts["sample_rate"]
    return SoundEntry(path=path, description=description, category=category, kind=kind,
                      duration=duration, sample_rate=facts["sample_rate"],
                      channels=facts["channels"], offset=0.0, file_duration=duration,
                      cat_id=ucs.cat_id if ucs else "")


def _description(path: Path, embedded: str, ucs: UcsName | None, row: _Row | None,
                 folders: tuple[str, ...]) -> str:
    if row and row.description:
        return row.description
    if embedded:
        return embedded
    if ucs:
        return _ucs_phrase(ucs)
    # A bare file name ("slam_03") is weak on its own; the folders it sits in
    # ("Doors/Wood") usually say what it is.
    stem = _words(path.stem)
    context = [_words(f) for f in folders if _words(f).lower() not in _GENERIC_FOLDERS]
    context = [c for c in context if c.lower() not in stem.lower()]
    return ", ".join([stem] + context) if stem else ", ".join(context)


def _ucs_phrase(ucs: UcsName) -> str:
    sub = _words(ucs.subcategory)
    if sub and sub.lower() not in ucs.fx_name.lower():
        return f"{ucs.fx_name}, {sub}"
    return ucs.fx_name


def _words(name: str) -> str:
    """'metal_clang-02' -> 'metal clang 02'; 'DoorSlam01' -> 'Door Slam 01'."""
    name = re.sub(r"[_\-.]+", " ", name)
    name = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)", " ", name)
    return " ".join(name.split())


def _category(ucs: UcsName | None, row: _Row | None, folders: tuple[str, ...]) -> str:
    if row and row.category:
        return row.category
    if ucs:
        return ucs.category
    if folders:
        return folders[0].upper()
    return UNCATEGORIZED


def _kind(category: str, row: _Row | None, folders: tuple[str, ...], stem: str, description: str) -> str:
    if row and row.kind:
        return row.kind
    if is_ambience_category(category):
        return "ambience"
    text = " ".join(_words(t).lower() for t in (*folders, stem, description))
    return "ambience" if _AMBIENCE_WORDS.search(text) else "sfx"


# --------------------------------------------------------------------------- sentences

# Recording jargon that describes the microphone or the file, not what a
# camera would see. "pass by" stays: a car passing by is visible.
_AUDIO_PHRASES = re.compile(
    r"\b(?:close|distant|contact|near|far|room)[\s-]?mic(?:ed|'d|ked|rophone)?s?\b"
    r"|\b(?:left|right)\s+to\s+(?:right|left)\b"
    r"|(?<!\w)[lr]\s*(?:-|>|/|to)\s*[rl](?!\w)"
    r"|(?<!\w)m\s*/\s*s(?!\w)"
    r"|\b\d+(?:[.,]\d+)?\s*(?:khz|k|hz)\b"
    r"|\b\d+\s*-?\s*bits?(?:\s*float)?\b"
    r"|\b(?:take|tk|var|variation|version|ver|v)\s*\.?\s*#?\d+\b"
)
_AUDIO_WORDS = frozenset({
    "stereo", "mono", "ms", "xy", "ortf", "ab", "binaural", "ambisonic", "ambisonics", "ambix",
    "quad", "surround", "lcr", "sfx", "fx", "wav", "bwf", "flac", "mp3", "aiff",
})
_NUMBER = re.compile(r"[#x]?\d+(?:[.,:]\d+)*(?:st|nd|rd|th)?")
_WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")
MAX_SENTENCE_WORDS = 12


def sentence_for(entry: SoundEntry, template: str = DEFAULT_TEMPLATE) -> str:
    """The zero-shot text CLIP compares frames with, e.g. 'a photo of glass smash.'.

    Lower-cases the description, drops recording jargon (stereo, 96k, close
    mic, take 3, bare numbers...), drops tags and words already said, keeps
    at most MAX_SENTENCE_WORDS words and fills ``template``. Pure.
    """
    phrases: list[str] = []
    seen: set[str] = set()
    count = 0
    for tag in re.split(r"[,;|\n]+", entry.description.lower()):
        words = [w for w in _WORD.findall(_AUDIO_PHRASES.sub(" ", tag))
                 if w not in _AUDIO_WORDS and not _NUMBER.fullmatch(w)]
        if phrases:  # within a tag repetition may be meaningful; across tags it is noise
            words = [w for w in words if w not in seen]
        words = words[: MAX_SENTENCE_WORDS - count]
        if not words:
            continue
        seen.update(words)
        phrases.append(" ".join(words))
        count += len(words)
        if count >= MAX_SENTENCE_WORDS:
            break
    if not phrases:
        fallback = entry.category.lower() if entry.category != UNCATEGORIZED else "sound effect"
        phrases = [fallback]
    return template.format(", ".join(phrases))


# --------------------------------------------------------------------------- untagged sounds

# Words that name a file or a recording without saying what is heard:
# "Audio 0012.wav", "New Recording 3", "ZOOM0004", "Track 07 bounce".
_NAMELESS_WORDS = frozenset({
    "audio", "sound", "sounds", "sfx", "fx", "track", "tracks", "recording", "recordings", "rec",
    "untitled", "unnamed", "file", "files", "clip", "clips", "sample", "samples", "new", "effect",
    "effects", "export", "exported", "bounce", "render", "mix", "take", "tk", "misc", "various",
    "zoom", "tascam", "dr", "voice", "memo", "copy", "final", "edit", "edited", "wav", "aif",
    "aiff", "mp3", "flac", "ogg", "stereo", "mono", "library", "folder",
})


def is_tagged(entry: SoundEntry) -> bool:
    """Whether anything about ``entry`` (CSV row, embedded description, UCS
    name, file name, folders) says what the sound is.

    False for ``Audio 0012.wav`` in a folder that says nothing: its sentence
    would be noise, so text ranking leaves it out and audio ranking finds it
    by its sound alone (library/keys.py).
    """
    if entry.cat_id or (entry.category != UNCATEGORIZED
                        and entry.category.lower() not in _GENERIC_FOLDERS
                        and entry.category.lower() not in _NAMELESS_WORDS):
        return True
    text = _AUDIO_PHRASES.sub(" ", _words(entry.description).lower())
    return any(w not in _AUDIO_WORDS and w not in _NAMELESS_WORDS and not _NUMBER.fullmatch(w)
               and len(w) > 1 for w in _WORD.findall(text))
