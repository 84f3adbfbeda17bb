"""The job store of a batch: one SQLite database (WAL mode) in the output folder.

Each film found under the batch folder is one row, in one of four states::

    pending --claim--> running --finish--> done
                               --fail----> failed
    running --release--> pending       (the batch was interrupted)
    running --reclaim--> pending       (the batch that claimed it is dead)
    done    --sync--> pending          (film, library or settings changed, or outputs gone)
    failed  --sync--> pending          (the same, or --retry-failed)

Only the batch driver writes the database, and only while it holds the output
folder's exclusive lock (``BatchLock``, an OS file lock that is released when
its holder dies, however it dies). That is the staleness rule: a driver that
has just taken the lock knows that every ``running`` row it finds was claimed
by a batch that no longer runs, so ``reclaim_stale`` puts them back to
pending. The owner (host, pid, run) and a heartbeat are kept on each running
row for people and tools that read the database during a run.

A film is the same film while its size and mtime are unchanged; when they
differ its content digest decides, so a copy or a ``touch`` costs no new
score. The library and the settings are compared by digests computed by the
caller (``autofoley.batch.keys``); they are opaque strings here.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable

from autofoley.atomic import sqlite_transaction, write_text
from autofoley.cache import file_digest
from autofoley.errors import OutputError

DB_NAME = ".autofoley-batch.sqlite"
LOCK_NAME = ".autofoley-batch.lock"
HOLDER_NAME = ".autofoley-batch.holder"  # who holds LOCK_NAME, for the refusal message
WORKERS_LOCK_NAME = ".autofoley-batch.workers.lock"
SCHEMA_VERSION = 1

STATES = ("pending", "running", "done", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS films (
    rel          TEXT PRIMARY KEY,      -- path under the batch folder, '/'-separated
    path         TEXT NOT NULL,         -- absolute path when last seen
    out_rel      TEXT NOT NULL UNIQUE,  -- its output folder, relative to the output folder
    state        TEXT NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'running', 'done', 'failed')),
    reason       TEXT,                  -- why it is pending (new, film changed, ...)
    size         INTEGER,               -- the film as last attempted: size in bytes,
    mtime_ns     INTEGER,               --   mtime, and content digest (NULL: unknown)
    digest       TEXT,
    library_key  TEXT,                  -- digests of the library and settings last attempted
    settings_key TEXT,
    owner        TEXT,                  -- host:pid:run of the batch running it
    started_at   REAL,                  -- unix seconds
    heartbeat    REAL,
    finished_at  REAL,
    seconds      REAL,                  -- wall time of the last attempt
    attempts     INTEGER NOT NULL DEFAULT 0,  -- times a batch started scoring it
    completions  INTEGER NOT NULL DEFAULT 0,  -- times it was scored to the end
    error        TEXT,                  -- one line, when failed
    duration     REAL,                  -- film length, seconds
    scenes       INTEGER,
    sfx_placed   INTEGER,
    outputs      TEXT                   -- JSON {kind: path relative to the output folder}
);
CREATE INDEX IF NOT EXISTS films_state ON films (state);
"""


@dataclass(frozen=True)
class FilmFile:
    """A film found under the batch folder, with the stat used to notice changes."""

    rel: str  # '/'-separated path under the batch folder
    path: Path  # absolute
    size: int
    mtime_ns: int


@dataclass
class SyncPlan:
    """What ``JobStore.sync`` decided for the films of this run."""

    new: list[str] = field(default_factory=list)
    redo: dict[str, str] = field(default_factory=dict)  # rel -> why (film changed, retry, ...)
    pending: list[str] = field(default_factory=list)  # left pending by an earlier run
    unchanged: list[str] = field(default_factory=list)  # done, nothing to do
    failed: list[str] = field(default_factory=list)  # failed before, not retried
    gone: list[str] = field(default_factory=list)  # in the database, no longer in the folder

    @property
    def todo(self) -> list[str]:
        return sorted([*self.new, *self.redo, *self.pending])


class JobStore:
    """The films of one output folder and their states.

    Open it only while holding the folder's ``BatchLock``: one writer at a time.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed state change survives a power cut, not only a
            # killed process; there are a few writes per film, so it costs nothing.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            self._check_version()
        except sqlite3.DatabaseError as exc:
            raise OutputError(f"job database cannot be opened ({exc})", self.path,
                              "delete it to start the batch over (outputs are kept, films are "
                              "scored again)") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _check_version(self) -> None:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif int(row[0]) != SCHEMA_VERSION:
            raise OutputError(f"job database has schema version {row[0]}, this autofoley "
                              f"reads {SCHEMA_VERSION}", self.path,
                              "use the autofoley that wrote it, or delete the database")

    def _tx(self):
        return sqlite_transaction(self._db)

    @property
    def journal_mode(self) -> str:
        return self._db.execute("PRAGMA journal_mode").fetchone()[0]

    # ------------------------------------------------------------------ reading

    def row(self, rel: str) -> dict | None:
        r = self._db.execute("SELECT * FROM films WHERE rel = ?", (rel,)).fetchone()
        return _plain(r) if r else None

    def rows(self, rels: Iterable[str] | None = None) -> list[dict]:
        """Rows in ``rel`` order; only those of ``rels`` when given."""
        all_rows = [_plain(r) for r in self._db.execute("SELECT * FROM films ORDER BY rel")]
        if rels is None:
            return all_rows
        wanted = set(rels)
        return [r for r in all_rows if r["rel"] in wanted]

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATES, 0)
        for state, n in self._db.execute("SELECT state, COUNT(*) FROM films GROUP BY state"):
            counts[state] = n
        return counts

    # ------------------------------------------------------------------ resume rules

    def reclaim_stale(self, owner: str) -> list[str]:
        """Put every ``running`` row not claimed by ``owner`` back to pending.

        Call it right after taking the folder's BatchLock: the lock proves
        that no other batch is alive, so those rows belong to a dead one.
        """
        with self._tx() as db:
            stale = [r[0] for r in db.execute(
                "SELECT rel FROM films WHERE state = 'running' AND (owner IS NULL OR owner != ?)",
                (owner,))]
            db.execute("UPDATE films SET state = 'pending', "
                       "reason = 'interrupted (' || COALESCE(owner, 'unknown') || ' stopped)', "
                       "owner = NULL, heartbeat = NULL "
                       "WHERE state = 'running' AND (owner IS NULL OR owner != ?)", (owner,))
        return sorted(stale)

    def sync(self, films: Iterable[FilmFile], library_key: str, settings_key: str,
             retry_failed: bool = False, out_root: str | Path | None = None,
             digest: Callable[[Path], str] = file_digest) -> SyncPlan:
        """Add new films and decide, for each known one, whether it is scored again.

        A done film is redone when its content, the library or the settings
        changed, or (with ``out_root``) when one of its outputs is gone. A
        failed film is tried again on the same changes, or with
        ``retry_failed``. Content changes are found by size and mtime first;
        when those differ the digest of the film decides (``digest`` reads it).
        """
        films = sorted(films, key=lambda f: f.rel)
        known = {r["rel"]: r for r in self.rows()}
        taken = {r["out_rel"] for r in known.values()}
        plan = SyncPlan()
        with self._tx() as db:
            for f in films:
                row = known.get(f.rel)
                if row is None:
                    out_rel = _out_folder(f.rel, taken)
                    taken.add(out_rel)
                    db.execute("INSERT INTO films (rel, path, out_rel, state, reason) "
                               "VALUES (?, ?, ?, 'pending', 'new')", (f.rel, str(f.path), out_rel))
                    plan.new.append(f.rel)
                    continue
                if row["path"] != str(f.path):
                    db.execute("UPDATE films SET path = ? WHERE rel = ?", (str(f.path), f.rel))
                state = row["state"]
                if state in ("pending", "running"):
                    # running: only when reclaim_stale was not called; same rule.
                    if state == "running":
                        db.execute("UPDATE films SET state = 'pending', owner = NULL "
                                   "WHERE rel = ?", (f.rel,))
                    plan.pending.append(f.rel)
                    continue
                why = self._changes(db, row, f, library_key, settings_key, digest)
                if not why and state == "failed" and retry_failed:
                    why = ["retry"]
                if not why and state == "done" and out_root is not None:
                    if _missing_outputs(row, Path(out_root)):
                        why = ["outputs missing"]
                if why:
                    reason = ", ".join(why)
                    db.execute("UPDATE films SET state = 'pending', reason = ? WHERE rel = ?",
                               (reason, f.rel))
                    plan.redo[f.rel] = reason
                elif state == "done":
                    plan.unchanged.append(f.rel)
                else:
                    plan.failed.append(f.rel)
        present = {f.rel for f in films}
        plan.gone = sorted(rel for rel in known if rel not in present)
        return plan

    def _changes(self, db: sqlite3.Connection, row: dict, f: FilmFile, library_key: str,
                 settings_key: str, digest: Callable[[Path], str]) -> list[str]:
        why = []
        same = (row["size"], row["mtime_ns"]) == (f.size, f.mtime_ns)
        if not same and row["digest"]:
            try:
                same = digest(f.path) == row["digest"]
            except OSError:
                same = False
            if same:  # the same bytes with a new mtime (a copy, a touch): remember the new stat
                db.execute("UPDATE films SET size = ?, mtime_ns = ? WHERE rel = ?",
                           (f.size, f.mtime_ns, f.rel))
        if not same:
            why.append("film changed")
        if row["library_key"] != library_key:
            why.append("library changed")
        if row["settings_key"] != settings_key:
            why.append("settings changed")
        return why

    def pending(self) -> list[str]:
        return [r[0] for r in self._db.execute(
            "SELECT rel FROM films WHERE state = 'pending' ORDER BY rel")]

    # ------------------------------------------------------------------ transitions

    def claim(self, rel: str, owner: str) -> dict | None:
        """pending -> running for ``owner``; the row (with the last outputs), or
        None when the film is not pending."""
        now = time.time()
        with self._tx() as db:
            cur = db.execute("UPDATE films SET state = 'running', owner = ?, started_at = ?, "
                             "heartbeat = ?, attempts = attempts + 1, error = NULL "
                             "WHERE rel = ? AND state = 'pending'", (owner, now, now, rel))
            if cur.rowcount != 1:
                return None
        return self.row(rel)

    def heartbeat(self, owner: str) -> None:
        """Mark ``owner``'s running rows as alive now (for readers of the database)."""
        with self._tx() as db:
            db.execute("UPDATE films SET heartbeat = ? WHERE state = 'running' AND owner = ?",
                       (time.time(), owner))

    def finish(self, rel: str, owner: str, outcome: dict) -> bool:
        """running -> done, with what the score produced. False when ``owner``
        does not hold the film (nothing is changed then)."""
        return self._end(rel, owner, "done", outcome, None)

    def fail(self, rel: str, owner: str, error: str, outcome: dict | None = None) -> bool:
        """running -> failed with a one-line ``error``."""
        return self._end(rel, owner, "failed", outcome or {}, " ".join(str(error).split()))

    def _end(self, rel: str, owner: str, state: str, o: dict, error: str | None) -> bool:
        outputs = o.get("outputs")
        with self._tx() as db:
            cur = db.execute(
                "UPDATE films SET state = ?, owner = NULL, heartbeat = NULL, reason = NULL, "
                "finished_at = ?, seconds = ?, error = ?, "
                "completions = completions + ?, "
                "size = ?, mtime_ns = ?, digest = ?, library_key = ?, settings_key = ?, "
                "duration = COALESCE(?, duration), scenes = ?, sfx_placed = ?, "
                "outputs = COALESCE(?, outputs) "
                "WHERE rel = ? AND state = 'running' AND owner = ?",
                (state, time.time(), o.get("seconds"), error, 1 if state == "done" else 0,
                 o.get("size"), o.get("mtime_ns"), o.get("digest"), o.get("library_key"),
                 o.get("settings_key"), o.get("duration"), o.get("scenes"), o.get("sfx_placed"),
                 json.dumps(outputs) if outputs is not None else None, rel, owner))
            return cur.rowcount == 1

    def release(self, rel: str, owner: str, reason: str = "interrupted") -> bool:
        """running -> pending: the batch stopped before the film was scored."""
        with self._tx() as db:
            cur = db.execute("UPDATE films SET state = 'pending', owner = NULL, heartbeat = NULL, "
                             "reason = ? WHERE rel = ? AND state = 'running' AND owner = ?",
                             (reason, rel, owner))
            return cur.rowcount == 1


def _plain(r: sqlite3.Row) -> dict:
    d = dict(r)
    d["outputs"] = json.loads(d["outputs"]) if d.get("outputs") else {}
    return d


def _missing_outputs(row: dict, out_root: Path) -> bool:
    outputs = row["outputs"] or {}
    return not outputs or any(not (out_root / p).exists() for p in outputs.values())


def _out_folder(rel: str, taken: set[str]) -> str:
    """``day1/A001.mp4`` -> ``day1/A001``; when that is already another film's
    folder (``A001.mov`` beside it), the film keeps its extension: ``day1/A001.mov``."""
    p = PurePosixPath(rel)
    for candidate in (str(p.with_suffix("")), rel):
        if candidate not in taken:
            return candidate
    n = 2
    while f"{rel}-{n}" in taken:
        n += 1
    return f"{rel}-{n}"


# --------------------------------------------------------------------------- locks


def owner_id(run: str) -> str:
    """``host:pid:run``, the owner recorded on the rows a batch claims."""
    return f"{socket.gethostname()}:{os.getpid()}:{run}"


class BatchLock:
    """The output folder's exclusive lock, held for a whole batch run.

    A ``filelock.FileLock`` on ``OUT/.autofoley-batch.lock``: ``flock`` on
    POSIX, ``msvcrt.locking`` on Windows. A second batch on the same folder
    is refused at once, and the operating system drops the lock when its
    holder exits or is killed, so a crash never leaves the folder locked.

    The holder's pid, host and start time go to ``.autofoley-batch.holder``
    beside it, so the refusal can say who holds the folder: not into the lock
    file itself, which filelock may truncate or delete as it takes or drops it.
    """

    def __init__(self, out_dir: str | Path):
        self.path = Path(out_dir) / LOCK_NAME
        self.holder_path = Path(out_dir) / HOLDER_NAME
        self._lock = None

    def acquire(self) -> "BatchLock":
        from filelock import FileLock, Timeout

        lock = FileLock(str(self.path), timeout=0)
        try:
            lock.acquire()
        except Timeout:  # before OSError: filelock's Timeout is a TimeoutError
            holder = _read_holder(self.holder_path)
            raise OutputError(f"another autofoley batch is running on this output folder"
                              f"{' (' + holder + ')' if holder else ''}", self.path.parent,
                              "wait for it to finish, or choose another --out") from None
        except OSError as exc:
            raise OutputError(f"cannot lock the output folder ({exc.strerror or exc})",
                              self.path.parent, "put --out on a local disk") from None
        try:
            write_text(self.holder_path, f"pid {os.getpid()} on {socket.gethostname()} since "
                                         f"{time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        except (OSError, OutputError):
            pass  # who holds the lock only makes a refusal friendlier; the lock holds anyway
        self._lock = lock
        _HELD.add(self)
        return self

    def release(self) -> None:
        if self._lock is not None:
            # The holder note goes first, while the lock still keeps others
            # from writing theirs.
            with contextlib.suppress(OSError):
                self.holder_path.unlink()
            self._lock.release()
            self._lock = None
            _HELD.discard(self)

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
        return False


# Locks taken and not yet released. filelock drops a lock when its object is
# collected; a holder that let go of its BatchLock without release() must
# still hold the folder until it exits, as an flock on a leaked fd did.
_HELD: set[BatchLock] = set()


def _open_lock(path: Path) -> int:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise OutputError(f"cannot create lock file ({exc.strerror or exc})", path,
                          "choose another --out folder or fix its permissions") from None


def _read_holder(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()[:200]
    except OSError:
        return ""


def hold_worker_lock(out_dir: str | Path) -> int | None:
    """Take a shared lock on the folder's worker lock file; return its fd.

    Every worker process of a batch holds it while it can write outputs. A
    driver starting after a crash takes it exclusively (``wait_for_workers``)
    before it touches anything, so a worker of a killed batch that is still
    finishing a film can never race the new one. None where the file
    system has no locks, or the platform has no ``flock`` (Windows: shared
    locks are POSIX-only; best effort, the drivers' own lock still holds).
    """
    try:
        import fcntl
    except ImportError:
        return None
    try:
        fd = os.open(Path(out_dir) / WORKERS_LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
    except OSError:
        os.close(fd)
        return None
    return fd


def wait_for_workers(out_dir: str | Path, timeout: float = 120.0) -> None:
    """Wait until no worker of an earlier (killed) batch still holds the
    folder's worker lock; raise OutputError after ``timeout`` seconds.
    Without ``flock`` (Windows) there is nothing to wait for."""
    try:
        import fcntl
    except ImportError:
        return

    path = Path(out_dir) / WORKERS_LOCK_NAME
    fd = _open_lock(path)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise OutputError("workers of an earlier batch on this output folder are "
                                      "still running", Path(out_dir),
                                      "wait for them to exit, or stop them") from None
                time.sleep(0.1)
            except OSError:
                return  # no locks on this file system
    finally:
        os.close(fd)
