"""A persistent library index: audio embeddings kept on disk, updated incrementally.

Embedding a 100k-file library with an audio encoder takes hours, so vectors
are kept between runs, and shared by every film and library that uses the
same model and split settings. Layout of the folder::

    manifest.sqlite   vectors(identity, key, digest, offset, duration, path, description,
                              category, kind, shard, row)    one row per embedded segment
                      files(path, size, mtime_ns, digest)    content digests, by stat
                      segments(digest, params, segments)     silence-split results
    shards/<id>.npy   float16 (rows, D) embeddings, one file per committed batch

A row's key is ``<content digest>@<offset>+<duration>``: a file moved,
renamed or copied into another library keeps its vectors; a file whose bytes
change gets a new digest and is embedded again.

Crash safety: a shard is written under a temporary name and renamed into
place before the rows that point at it are committed, in one SQLite
transaction that also holds the database's write lock, so a kill at any
moment leaves either no rows or complete rows with their shard; at worst an
unreferenced shard, which ``compact()`` deletes. The next run embeds only
what has no row.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from autofoley.atomic import atomic_path, ensure_dir, sqlite_transaction
from autofoley.cache import cache_dir, file_digest, text_digest
from autofoley.errors import OutputError, skip_reason
from autofoley.library.scan import DEFAULT_TEMPLATE, LibraryScan, sentence_for
from autofoley.library.takes import Load, SplitParams, split_entries
from autofoley.library.text_index import LibraryIndex
from autofoley.records import SoundEntry

log = logging.getLogger("autofoley")

# Longer entries (beds, long files left unsplit) are represented by their
# middle this many seconds: a bed's character is steady, and decoding an
# hour-long file at the encoder's rate would take gigabytes.
EMBED_MAX_SECONDS = 30.0
COMPACT_SHARD_ROWS = 65536  # rows per shard written by compact()
AUTO_COMPACT_SHARDS = 256  # build_audio_index merges small shards beyond this many
_SQL_CHUNK = 500  # keys per "IN (...)" query, under SQLite's variable limit
_SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (
    identity TEXT NOT NULL, key TEXT NOT NULL, digest TEXT NOT NULL,
    offset REAL NOT NULL, duration REAL NOT NULL, path TEXT, description TEXT,
    category TEXT, kind TEXT, shard TEXT NOT NULL, row INTEGER NOT NULL,
    PRIMARY KEY (identity, key));
CREATE INDEX IF NOT EXISTS vectors_shard ON vectors (shard);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, digest TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS segments (
    digest TEXT NOT NULL, params TEXT NOT NULL, segments TEXT NOT NULL,
    PRIMARY KEY (digest, params));
"""


def entry_key(digest: str, offset: float, duration: float) -> str:
    """Store key of a segment of the file with content ``digest`` (seconds)."""
    return f"{digest}@{offset:.3f}+{duration:.3f}"


def default_store_dir(model_identity: str, split: SplitParams | None) -> Path:
    """``<cache>/index/<digest of model identity and split settings>``."""
    params = split.identity() if split is not None else "whole files"
    return cache_dir("index", text_digest(model_identity, params)[:16])


class IndexStore:
    """Embeddings of one model in one index folder (see the module docstring).

    Several processes may use a folder at once: SQLite serialises writers,
    and readers never see a row before its shard exists.
    """

    def __init__(self, folder: Path, model_identity: str):
        self.folder = ensure_dir(Path(folder).expanduser())
        self.shards = ensure_dir(self.folder / "shards")
        self.identity = model_identity
        path = self.folder / "manifest.sqlite"
        try:
            # isolation_level=None: transactions are opened explicitly below.
            self._db = sqlite3.connect(str(path), timeout=600, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise OutputError(f"index manifest cannot be opened ({exc})", path,
                              "delete the index folder to rebuild it, or pass another --index") from None
        self._files: list[tuple] = []  # digests and segments not yet written
        self._segments: list[tuple] = []

    # ------------------------------------------------------------------ vectors

    def missing(self, keys: list[str]) -> list[str]:
        """The keys (deduplicated, in order) with no vector for this model."""
        have = set(self._rows(keys))
        return list(dict.fromkeys(k for k in keys if k not in have))

    def add(self, keys: list[str], metas: list[dict], vectors: np.ndarray) -> None:
        """Store ``vectors[i]`` under ``keys[i]``; ``metas[i]`` holds the
        segment's digest, offset, duration (seconds), path, description,
        category and kind. Durable once this returns."""
        vectors = np.asarray(vectors)
        if len(keys) != len(vectors) or len(keys) != len(metas):
            raise ValueError("keys, metas and vectors differ in length")
        if not len(keys):
            return
        name = f"{uuid.uuid4().hex}.npy"
        with self._transaction() as db:
            # Inside the write lock, so compact() never sees this shard
            # before its rows, and deletes it only if we die before commit.
            with atomic_path(self.shards / name) as tmp:
                np.save(tmp, vectors.astype(np.float16))
            db.executemany(
                "INSERT OR REPLACE INTO vectors VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [(self.identity, k, m["digest"], float(m["offset"]), float(m["duration"]),
                  str(m.get("path", "")), m.get("description", ""), m.get("category", ""),
                  m.get("kind", ""), name, i) for i, (k, m) in enumerate(zip(keys, metas))])
            self._flush(db)

    def get(self, keys: list[str]) -> np.ndarray:
        """float32 (len(keys), D) vectors of ``keys``, in order; KeyError if one is missing."""
        for attempt in range(3):
            try:
                return self._get(keys)
            except FileNotFoundError:
                if attempt == 2:  # a compact() in another process moved rows twice: give up
                    raise
        raise AssertionError("unreachable")

    def _get(self, keys: list[str]) -> np.ndarray:
        rows = self._rows(keys)
        absent = [k for k in keys if k not in rows]
        if absent:
            raise KeyError(f"{len(absent)} keys are not in the index, e.g. {absent[0]}")
        by_shard: dict[str, list[int]] = {}
        for i, k in enumerate(keys):
            by_shard.setdefault(rows[k][0], []).append(i)
        out = None
        for shard, positions in by_shard.items():
            data = np.load(self.shards / shard, mmap_mode="r")
            if out is None:
                out = np.empty((len(keys), data.shape[1]), np.float32)
            out[positions] = data[[rows[keys[i]][1] for i in positions]]
        return out if out is not None else np.zeros((0, 0), np.float32)

    def _rows(self, keys: Iterable[str]) -> dict[str, tuple[str, int]]:
        wanted = list(dict.fromkeys(keys))
        found: dict[str, tuple[str, int]] = {}
        for lo in range(0, len(wanted), _SQL_CHUNK):
            chunk = wanted[lo:lo + _SQL_CHUNK]
            query = (f"SELECT key, shard, row FROM vectors WHERE identity=? AND key IN "
                     f"({','.join('?' * len(chunk))})")
            for k, shard, row in self._db.execute(query, [self.identity, *chunk]):
                found[k] = (shard, row)
        return found

    def count(self) -> int:
        """Vectors stored for this model."""
        return self._db.execute("SELECT COUNT(*) FROM vectors WHERE identity=?",
                                (self.identity,)).fetchone()[0]

    def compact(self, live_keys: Iterable[str] | None = None) -> int:
        """Merge this model's vectors into few large shards and delete shard
        files no row points at. With ``live_keys``, this model's rows outside
        it are dropped first (a store shared by several libraries must be
        given the keys of all of them). Returns the number of rows dropped.
        """
        with self._transaction() as db:
            dropped = 0
            if live_keys is not None:
                live = set(live_keys)
                gone = [k for (k,) in db.execute("SELECT key FROM vectors WHERE identity=?",
                                                 (self.identity,)) if k not in live]
                for lo in range(0, len(gone), _SQL_CHUNK):
                    chunk = gone[lo:lo + _SQL_CHUNK]
                    db.execute(f"DELETE FROM vectors WHERE identity=? AND key IN "
                               f"({','.join('?' * len(chunk))})", [self.identity, *chunk])
                dropped = len(gone)
            rows = db.execute("SELECT key, shard, row FROM vectors WHERE identity=? "
                              "ORDER BY shard, row", (self.identity,)).fetchall()
            for lo in range(0, len(rows), COMPACT_SHARD_ROWS):
                part = rows[lo:lo + COMPACT_SHARD_ROWS]
                data = self._gather([(s, r) for _, s, r in part])
                name = f"{uuid.uuid4().hex}.npy"
                with atomic_path(self.shards / name) as tmp:
                    np.save(tmp, data)
                db.executemany("UPDATE vectors SET shard=?, row=? WHERE identity=? AND key=?",
                               [(name, i, self.identity, k) for i, (k, _, _) in enumerate(part)])
            used = {s for (s,) in db.execute("SELECT DISTINCT shard FROM vectors")}
            # Deleted while the write lock is held: no writer is between
            # writing a shard and committing its rows.
            for f in self.shards.iterdir():
                if f.name not in used:
                    with contextlib.suppress(OSError):
                        f.unlink()
        return dropped

    def shard_count(self) -> int:
        return sum(1 for f in self.shards.iterdir() if f.suffix == ".npy")

    def _gather(self, where: list[tuple[str, int]]) -> np.ndarray:
        """float16 rows at (shard, row) places, sorted by shard; one shard open at a time."""
        out = []
        i = 0
        while i < len(where):
            j = i
            while j < len(where) and where[j][0] == where[i][0]:
                j += 1
            data = np.load(self.shards / where[i][0], mmap_mode="r")
            out.append(np.asarray(data[[r for _, r in where[i:j]]], np.float16))
            i = j
        return np.concatenate(out)

    # ------------------------------------------------------------------ files and segments

    def digest(self, path: Path) -> str:
        """Content digest of a file (``cache.file_digest``), remembered by
        path, size and mtime so an unchanged file is read only once."""
        st = os.stat(path)
        row = self._db.execute("SELECT size, mtime_ns, digest FROM files WHERE path=?",
                               (str(path),)).fetchone()
        if row and row[0] == st.st_size and row[1] == st.st_mtime_ns:
            return row[2]
        for pending in reversed(self._files):
            if pending[0] == str(path) and pending[1:3] == (st.st_size, st.st_mtime_ns):
                return pending[3]
        value = file_digest(path)
        self._files.append((str(path), st.st_size, st.st_mtime_ns, value))
        return value

    def segment_cache(self, params: SplitParams) -> "_Segments":
        """Split results of ``params``, kept in this store by file content."""
        return _Segments(self, params.identity())

    def flush(self) -> None:
        """Write remembered digests and segments (``add`` does it too)."""
        if self._files or self._segments:
            with self._transaction() as db:
                self._flush(db)

    def _flush(self, db: sqlite3.Connection) -> None:
        db.executemany("INSERT OR REPLACE INTO files VALUES (?,?,?,?)", self._files)
        db.executemany("INSERT OR REPLACE INTO segments VALUES (?,?,?)", self._segments)
        self._files, self._segments = [], []

    def _transaction(self):
        return sqlite_transaction(self._db)

    def close(self) -> None:
        try:
            self.flush()
        except (sqlite3.Error, OSError):
            pass  # only digests and split results are lost: they are recomputed
        self._db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


@dataclass
class _Segments:
    """The ``segments.SegmentCache`` of a store, for one set of split settings."""

    store: IndexStore
    params: str

    def segments_of(self, path: Path) -> list[tuple[float, float]] | None:
        try:
            digest = self.store.digest(path)
        except OSError:
            return None  # the split itself will report why
        for d, p, text in reversed(self.store._segments):
            if d == digest and p == self.params:
                return [tuple(s) for s in json.loads(text)]
        row = self.store._db.execute("SELECT segments FROM segments WHERE digest=? AND params=?",
                                     (digest, self.params)).fetchone()
        return [tuple(s) for s in json.loads(row[0])] if row else None

    def remember_segments(self, path: Path, segments: list[tuple[float, float]]) -> None:
        with contextlib.suppress(OSError):
            self.store._segments.append((self.store.digest(path), self.params,
                                         json.dumps([list(s) for s in segments])))


# --------------------------------------------------------------------------- building


@dataclass(frozen=True)
class AudioIndex(LibraryIndex):
    """A LibraryIndex built from audio embeddings, with what building it did."""

    skipped: list[tuple[Path, str]] = field(default_factory=list)  # (file, one-line reason)
    embedded: int = 0  # segments embedded by this build (the rest came from the store)
    folder: Path | None = None  # the store, None when caching was off
    # Row for row, each entry's backbone embedding (``AudioEncoder.encode_with_sound``):
    # what it sounds like, for finding the tagged sound an untagged one is
    # most like. None when the encoder gives none.
    sounds: np.ndarray | None = None


def build_audio_index(scan: LibraryScan, encoder, *, store_dir: Path | None = None,
                      split: SplitParams | None = SplitParams(), batch_size: int = 16,
                      progress: Callable[[int, int], None] | None = None, use_cache: bool = True,
                      load: Load | None = None, template: str = DEFAULT_TEMPLATE,
                      split_progress: Callable[[int, int], None] | None = None,
                      sounds: bool = False) -> AudioIndex:
    """Embed every sound of ``scan`` with an audio encoder, reusing the store.

    SFX files are split on silence first (``split=None``: whole files).
    Each segment not yet in the store is decoded at ``encoder.sample_rate``
    (mono; at most EMBED_MAX_SECONDS from its middle) and embedded,
    ``batch_size`` segments at a time; each batch is committed before the
    next is decoded, so a kill loses one batch and memory holds one batch.
    ``progress(done, total)`` counts segments to embed, ``split_progress``
    files to split. A file that cannot be read or decoded, or holds only
    silence, is left out and listed in ``.skipped``. ``use_cache=False``
    uses a throw-away store. Entries keep ``scan``'s order (takes of a file
    in time order); ``vectors`` are float32, L2-normalised. The backbone
    embeddings (``AudioEncoder.encode_with_sound``) are stored too, and with
    ``sounds`` read back into ``.sounds`` (float16: they only find neighbours).
    """
    if load is None:
        from autofoley.media.audio import load_audio as load
    with contextlib.ExitStack() as stack:
        if not use_cache:
            store_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="autofoley-index-")))
        elif store_dir is None:
            store_dir = default_store_dir(encoder.identity, split)
        store = stack.enter_context(IndexStore(store_dir, encoder.identity))
        # The backbone embeddings come from the same pass as the vectors and
        # are kept beside them, under their own identity in the same store.
        with_sound = getattr(encoder, "encode_with_sound", None)
        sound_store = stack.enter_context(IndexStore(store_dir, f"{encoder.identity}#sound")) \
            if with_sound is not None else None
        skipped: list[tuple[Path, str]] = []
        entries = list(scan.entries)
        if split is not None:
            entries = split_entries(entries, split, load, store.segment_cache(split), skipped,
                                    split_progress)
        keyed: list[tuple[SoundEntry, str]] = []
        for e in entries:
            try:
                keyed.append((e, entry_key(store.digest(e.path), e.offset, e.duration)))
            except OSError as exc:
                skipped.append((e.path, skip_reason(exc)))
        store.flush()
        first = {}
        for e, k in keyed:
            first.setdefault(k, e)
        todo = store.missing([k for _, k in keyed])
        if sound_store is not None:
            # A store written before the sounds were kept: those segments
            # are embedded once more, for their sounds.
            todo = list(dict.fromkeys(todo + sound_store.missing([k for _, k in keyed])))
        failed: set[str] = set()
        embedded = 0
        if progress:
            progress(0, len(todo))
        for lo in range(0, len(todo), batch_size):
            keys, metas, waves = [], [], []
            for k in todo[lo:lo + batch_size]:
                e = first[k]
                try:
                    waves.append(_decode(e, encoder.sample_rate, load))
                except Exception as exc:  # noqa: BLE001 - a bad file is skipped, never fatal
                    failed.add(k)
                    skipped.append((e.path, skip_reason(exc)))
                    continue
                keys.append(k)
                metas.append({"digest": k.split("@", 1)[0], "offset": e.offset,
                              "duration": e.duration, "path": str(e.path),
                              "description": e.description, "category": e.category,
                              "kind": e.kind})
            if keys:
                if with_sound is not None:
                    vectors, heard = with_sound(waves, batch_size=batch_size)
                else:
                    vectors = encoder.encode(waves, batch_size=batch_size)
                vectors = np.asarray(vectors, np.float32)
                if vectors.shape != (len(keys), encoder.embed_dim):
                    raise ValueError(f"audio encoder returned {vectors.shape}, expected "
                                     f"({len(keys)}, {encoder.embed_dim})")
                store.add(keys, metas, vectors)
                if sound_store is not None:
                    sound_store.add(keys, metas, np.asarray(heard, np.float32))
                embedded += len(keys)
            if progress:
                progress(min(lo + batch_size, len(todo)), len(todo))
        keyed = [(e, k) for e, k in keyed if k not in failed]
        if use_cache and store.shard_count() > AUTO_COMPACT_SHARDS:
            for s in (store, sound_store):
                if s is not None:
                    s.compact()
        vectors = store.get([k for _, k in keyed]) if keyed else \
            np.zeros((0, encoder.embed_dim), np.float32)
        found = sound_store.get([k for _, k in keyed]) if sounds and keyed and sound_store else None
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-12)
    if found is not None:
        found = (found / np.linalg.norm(found, axis=1, keepdims=True).clip(1e-12)).astype(np.float16)
    kept = [e for e, _ in keyed]
    skipped.sort(key=lambda item: str(item[0]))
    return AudioIndex(kept, [sentence_for(e, template) for e in kept], vectors,
                      skipped=skipped, embedded=embedded, folder=store_dir if use_cache else None,
                      sounds=found)


def _decode(entry: SoundEntry, sr: int, load: Load) -> np.ndarray:
    """Mono float32 of an entry at ``sr`` Hz (its middle EMBED_MAX_SECONDS at most)."""
    offset, duration = entry.offset, entry.duration
    if duration > EMBED_MAX_SECONDS:
        offset += (duration - EMBED_MAX_SECONDS) / 2
        duration = EMBED_MAX_SECONDS
    data = np.asarray(load(entry.path, sr, offset, duration), np.float32)
    mono = data.mean(axis=0) if data.ndim == 2 else data
    if mono.size == 0:
        raise ValueError("no audio samples decoded")
    if not np.all(np.isfinite(mono)):
        mono = np.nan_to_num(mono, nan=0.0, posinf=0.0, neginf=0.0)
    return np.ascontiguousarray(mono)


def split_scan(scan: LibraryScan, split: SplitParams | None = SplitParams(),
               load: Load | None = None, use_cache: bool = True,
               progress: Callable[[int, int], None] | None = None,
               folder: Path | None = None) -> LibraryScan:
    """``scan`` with its SFX split into takes, for the zero-shot text index
    (``library_index.build_index`` embeds each take's sentence). Split
    results are cached per file content (in ``folder``, default
    ``<cache>/segments``); files that cannot be split or are silent move to
    ``skipped``."""
    if split is None:
        return scan
    skipped = list(scan.skipped)
    with contextlib.ExitStack() as stack:
        cache = None
        if use_cache:
            store = stack.enter_context(IndexStore(folder or cache_dir("segments"), "segments"))
            cache = store.segment_cache(split)
        entries = split_entries(list(scan.entries), split, load, cache, skipped, progress)
    skipped.sort(key=lambda item: str(item[0]))
    return LibraryScan(scan.root, entries, skipped)
