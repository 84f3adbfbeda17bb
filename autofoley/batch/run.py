"""Score every film under a folder, unattended and resumable.

``run_batch(folder, library, out)`` finds the videos under ``folder``, keeps
their states in a SQLite job store in ``out`` (``jobs.py``) and scores each
one with ``Scorer.score`` into its own folder, ``out/<path of the film
without its suffix>/``. Whatever stops a run (a kill, a crash, a power cut),
running it again finishes the work: done films are not scored again unless
the film, the library or the settings changed.

Films are scored by one of three executors, each loading the model once:

- in the driver itself (``workers=0``: no isolation, for debugging and tests);
- ``workers=N`` worker processes on this machine (``spawn``), each with its
  own Scorer and ``cores // N`` torch threads; a worker that crashes or
  hangs past ``timeout`` costs one film, not the batch;
- Ray tasks, one film per task (``num_gpus=1`` when the cluster has GPUs).

The driver is the only writer of the job store. The library is scanned and
embedded once, in the driver, before any worker starts; workers then find the
scan and the text embeddings in autofoley's disk cache.
"""

from __future__ import annotations

import ctypes
import dataclasses
import hashlib
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from autofoley import __version__
from autofoley.atomic import TMP_PREFIX, ensure_dir, write_json
from autofoley.cache import file_digest, text_digest
from autofoley.errors import AutofoleyError, InputError, OutputError, ToolError
from autofoley.batch.jobs import (DB_NAME, BatchLock, FilmFile, JobStore, hold_worker_lock, owner_id,
                   wait_for_workers)
from autofoley.progress import NullReporter
from autofoley.models.registry import DEFAULT_CLIP_MODEL

if TYPE_CHECKING:
    from autofoley.library.scan import LibraryScan
    from autofoley.pipeline import ScoreOptions, Scorer
    from autofoley.models.registry import ClipSpec

log = logging.getLogger("autofoley")

DEFAULT_EXTENSIONS = ("mp4", "mov", "mkv", "webm", "avi", "m4v", "mxf")
DEFAULT_OUT = "autofoley-out"
REPORT_NAME = "report.json"
EXIT_SOME_FAILED = 8
STAGING_PREFIX = TMP_PREFIX + "batch-"
HEARTBEAT_S = 10.0

# Options that change how fast a film is scored, not what its score is.
_RUNTIME_OPTIONS = ("use_cache", "batch_size")


# --------------------------------------------------------------------------- finding films


def find_films(folder: str | Path, extensions: Iterable[str] = DEFAULT_EXTENSIONS,
               exclude: Iterable[str | Path] = ()) -> list[FilmFile]:
    """Every video under ``folder`` (recursive), sorted by relative path.

    A video is a file whose extension (any case) is one of ``extensions``.
    Hidden files and folders (".name") are skipped, and so is every folder in
    ``exclude`` (the batch's own output folder). Symbolic links are followed,
    each real folder entered once.
    """
    root = _check_folder(folder)
    exts = {"." + e.lower().lstrip(".") for e in extensions}
    skip = {Path(p).expanduser().resolve() for p in exclude}
    films: list[FilmFile] = []
    seen: set[tuple[int, int]] = set()
    pending = [root]
    while pending:
        current = pending.pop()
        try:
            st = current.stat()
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            with os.scandir(current) as it:
                items = list(it)
        except OSError as exc:
            log.warning("%s: folder cannot be read (%s); its films are left out", current,
                        exc.strerror or exc)
            continue
        for item in items:
            if item.name.startswith("."):
                continue
            path = Path(item.path)
            try:
                if item.is_dir():
                    if path.resolve() not in skip:
                        pending.append(path)
                elif path.suffix.lower() in exts and item.is_file():
                    st = item.stat()
                    films.append(FilmFile(path.relative_to(root).as_posix(), path, st.st_size,
                                          st.st_mtime_ns))
            except OSError:
                log.warning("%s: cannot be inspected; left out", path)
    films.sort(key=lambda f: f.rel)
    return films


def _check_folder(folder: str | Path) -> Path:
    root = Path(folder).expanduser()
    if not root.exists():
        raise InputError("folder not found", root, "check the path")
    if not root.is_dir():
        raise InputError("is a file, not a folder", root,
                         "pass the folder that holds the films, or use 'autofoley score' for one")
    return root.resolve()


# --------------------------------------------------------------------------- change detection


def settings_key(options: "ScoreOptions", model_identity: str) -> str:
    """Digest of everything that changes a film's score besides film and library:
    the options (less those that only change speed) and the model identity."""
    values = {k: v for k, v in options.to_dict().items() if k not in _RUNTIME_OPTIONS}
    return text_digest(json.dumps(values, sort_keys=True, default=str), model_identity)


def library_key(scan: "LibraryScan", template: str) -> str:
    """Digest of the scanned library: each usable sound's path, size, mtime,
    kind, category and the sentence it is ranked by (so editing the CSV sidecar
    or the template counts as a change, and so does moving the library, since
    timelines reference sounds by absolute path)."""
    from autofoley.library.scan import sentence_for

    h = hashlib.blake2b(digest_size=16)
    for e in scan.entries:
        try:
            st = os.stat(e.path)
            stat = [st.st_size, st.st_mtime_ns]
        except OSError:
            stat = None
        h.update(json.dumps([str(e.path), stat, e.offset, e.duration, e.kind, e.category,
                             sentence_for(e, template)]).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


# --------------------------------------------------------------------------- scoring one film


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker needs to build its Scorer and score films (picklable)."""

    clip_model: str
    clip_pretrained: str | None
    device: str
    options: "ScoreOptions"
    library: str
    csv_path: str | None
    out_dir: str
    settings_key: str
    threads: int | None = None  # torch threads; None leaves torch's default


def score_one(scorer: "Scorer", spec: WorkerSpec, job: dict) -> dict:
    """Score ``job["path"]`` and publish its outputs into ``out_dir/job["out_rel"]``.

    Never raises for a bad film: the outcome's ``status`` is "done" or
    "failed" with a one-line ``error``. The film's size, mtime and digest are
    taken before scoring; if the film changes while it is scored, the digest
    is dropped so the next run scores it again.
    """
    t0 = time.perf_counter()
    out_root = Path(spec.out_dir)
    film = Path(job["path"])
    outcome: dict = {"rel": job["rel"], "status": "failed", "settings_key": spec.settings_key}
    reporter = NullReporter()
    try:
        before = _stat(film)
        if before:
            outcome["size"], outcome["mtime_ns"] = before
            try:
                outcome["digest"] = file_digest(film)
            except OSError:
                pass  # the score below says why the film cannot be read
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out_root))
        try:
            result = scorer.score(film, spec.library, staging, spec.csv_path, reporter,
                                  name=job["name"])
            scan, _ = scorer.library(spec.library, spec.csv_path)
            outcome["library_key"] = _cached_library_key(scan, scorer.options.text_template)
            if _stat(film) != before:
                outcome["digest"] = None
            outputs = publish(result.outputs, out_root / job["out_rel"], out_root,
                              job.get("outputs") or {})
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        summary = result.summary()
        outcome.update(status="done", outputs=outputs, duration=summary["duration"],
                       scenes=summary["scenes"], sfx_placed=summary["sfx_placed"],
                       ambience_beds=summary["ambience_beds"])
    except AutofoleyError as exc:
        outcome["error"] = str(exc)
    except Exception as exc:  # a bug on one film must not end the night
        outcome["error"] = _one_line(exc)
    outcome["seconds"] = round(time.perf_counter() - t0, 3)
    outcome["timings"] = {k: round(v, 3) for k, v in reporter.timings.items()}
    return outcome


def publish(outputs: dict[str, Path], dest: Path, out_root: Path,
            old: dict[str, str] | None = None) -> dict[str, str]:
    """Move a film's finished outputs into ``dest``; return them relative to ``out_root``.

    The old timeline is removed first and the new one moved last, so a folder
    with a ``.otio`` always holds one complete set (a kill in between leaves
    no timeline, and the job store still says running, so the film is scored
    again). Outputs of an earlier score that this one did not write again (a
    stems folder, a ``.mov`` scored film) are removed at the end.
    """
    ensure_dir(dest)
    timeline = outputs.get("timeline")
    if timeline is not None:
        _remove(dest / timeline.name)
    final: dict[str, str] = {}
    for key in sorted(outputs, key=lambda k: k == "timeline"):
        src = outputs[key]
        target = dest / src.name
        if src.is_dir() and target.exists():
            _remove(target)
        os.replace(src, target)
        final[key] = target.relative_to(out_root).as_posix()
    for rel in (old or {}).values():
        stale = out_root / rel
        if rel not in final.values() and _inside(stale, dest):
            _remove(stale)
    return final


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _one_line(exc: BaseException) -> str:
    lines = [l.strip() for l in str(exc).splitlines() if l.strip()]
    text = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    return text[:300]


_LIBRARY_KEYS: dict[int, tuple[object, str]] = {}


def _cached_library_key(scan: "LibraryScan", template: str) -> str:
    """library_key once per scan a worker's Scorer holds (stat'ing a large
    library for every film would cost more than the film)."""
    hit = _LIBRARY_KEYS.get(id(scan))
    if hit is None or hit[0] is not scan:
        hit = (scan, library_key(scan, template))
        _LIBRARY_KEYS[id(scan)] = hit
    return hit[1]


# --------------------------------------------------------------------------- worker processes


def _worker_main(conn, spec: WorkerSpec, index: int, parent_pid: int) -> None:
    """A worker process: build a Scorer once, then score the jobs it is sent."""
    _die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver decides when workers stop
    for name in ("autofoley", ""):  # failures travel in outcomes, not on stderr
        logging.getLogger(name).setLevel(logging.ERROR)
    hold_worker_lock(spec.out_dir)  # held until this process ends
    try:
        scorer = _build_scorer(spec, index)
    except AutofoleyError as exc:
        conn.send(("init-failed", str(exc), exc.exit_code))
        return
    except Exception as exc:
        conn.send(("init-failed", _one_line(exc), 1))
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        conn.send(("result", score_one(scorer, spec, job)))


def _build_scorer(spec: WorkerSpec, index: int = 0) -> "Scorer":
    import torch

    from autofoley.pipeline import Scorer

    if spec.threads:
        torch.set_num_threads(spec.threads)
    device = spec.device
    if device == "auto" and torch.cuda.is_available() and torch.cuda.device_count() > 1:
        device = f"cuda:{index % torch.cuda.device_count()}"  # spread workers over the GPUs
    return Scorer(spec.clip_model, spec.clip_pretrained, device, spec.options)


def _die_with_parent(parent_pid: int) -> None:
    """End this worker, and the ffmpeg processes it started, when the driver dies.

    The worker leads its own process group (so a kill reaches its ffmpeg
    children, and a Ctrl-C on the terminal reaches only the driver) and asks
    Linux for SIGTERM when its parent dies; a thread watching the parent pid
    does the same elsewhere.
    """
    try:
        os.setpgid(0, 0)
    except OSError:
        pass
    signal.signal(signal.SIGTERM, _kill_own_group)
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the driver died before we got here
        _kill_own_group()

    def watch():
        while True:
            time.sleep(0.5)
            if os.getppid() != parent_pid:
                _kill_own_group()

    threading.Thread(target=watch, name="autofoley-parent-watch", daemon=True).start()


def _kill_own_group(*_) -> None:
    try:
        if os.getpgrp() == os.getpid():
            os.killpg(os.getpid(), signal.SIGKILL)
    finally:
        os.kill(os.getpid(), signal.SIGKILL)


class WorkerStartError(AutofoleyError):
    """A worker could not build its Scorer (its exit code is the cause's)."""


@dataclass
class _Slot:
    index: int
    proc: object = None
    conn: object = None
    ready: bool = False
    job: dict | None = None
    started: float = 0.0


class _Processes:
    """N worker processes, one film each at a time, fed by the driver."""

    def __init__(self, spec: WorkerSpec, n: int, timeout: float | None):
        import multiprocessing as mp
        import multiprocessing.connection

        self._mp = mp
        self._ctx = mp.get_context("spawn")
        self._spec = spec
        self._timeout = timeout
        self._idle_deaths = 0
        self._slots = [_Slot(i) for i in range(n)]
        for slot in self._slots:
            self._start(slot)

    def _start(self, slot: _Slot) -> None:
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(target=_worker_main, args=(child, self._spec, slot.index, os.getpid()),
                                 name=f"autofoley-worker-{slot.index}", daemon=True)
        proc.start()
        child.close()
        slot.proc, slot.conn, slot.ready, slot.job = proc, parent, False, None

    def free(self) -> int:
        return sum(s.ready and s.job is None for s in self._slots)

    def busy(self) -> list[dict]:
        return [s.job for s in self._slots if s.job is not None]

    def submit(self, job: dict) -> None:
        slot = next(s for s in self._slots if s.ready and s.job is None)
        slot.job, slot.started = job, time.monotonic()
        slot.conn.send(job)

    def wait(self, timeout: float) -> list[tuple[dict, dict]]:
        handles = {}
        for s in self._slots:
            handles[s.conn] = s
            handles[s.proc.sentinel] = s
            if self._timeout and s.job is not None:  # wake up in time to enforce it
                timeout = min(timeout, max(0.0, s.started + self._timeout - time.monotonic()))
        self._mp.connection.wait(list(handles), timeout)
        results: list[tuple[dict, dict]] = []
        for s in self._slots:
            self._drain(s, results)
        for s in self._slots:
            if s.proc.exitcode is None:
                continue
            self._drain(s, results)
            if s.job is not None:
                results.append((s.job, _failed(s.job, f"worker process died "
                                                       f"({_exit_text(s.proc.exitcode)})")))
            else:
                self._idle_deaths += 1
                if self._idle_deaths > 3:
                    raise WorkerStartError(f"worker processes keep dying "
                                           f"({_exit_text(s.proc.exitcode)})")
            self._restart(s)
        if self._timeout:
            now = time.monotonic()
            for s in self._slots:
                if s.job is not None and now - s.started >= self._timeout:
                    results.append((s.job, _failed(s.job, f"timed out after {self._timeout:g} s")))
                    self._restart(s)
        return results

    def _drain(self, s: _Slot, results: list) -> None:
        try:
            while s.conn.poll():
                msg = s.conn.recv()
                if msg[0] == "ready":
                    s.ready = True
                elif msg[0] == "result" and s.job is not None:
                    results.append((s.job, msg[1]))
                    s.job = None
                elif msg[0] == "init-failed":
                    err = WorkerStartError(f"a worker could not start: {msg[1]}")
                    err.exit_code = msg[2]
                    raise err
        except (EOFError, OSError):
            pass  # the process is gone; its sentinel tells

    def _restart(self, slot: _Slot) -> None:
        _kill_group(slot.proc)
        slot.conn.close()
        self._start(slot)

    def close(self) -> None:
        """Idle workers are asked to exit; busy or still starting ones are killed."""
        polite = []
        for s in self._slots:
            if s.proc.exitcode is None and s.ready and s.job is None:
                try:
                    s.conn.send(None)
                    polite.append(s)
                except OSError:
                    pass
        deadline = time.monotonic() + 10.0
        for s in polite:
            s.proc.join(max(0.0, deadline - time.monotonic()))
        for s in self._slots:
            _kill_group(s.proc)
            s.conn.close()


def _kill_group(proc) -> None:
    """SIGKILL a worker and the ffmpeg processes of its group."""
    if proc.exitcode is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            proc.kill()
    proc.join(10.0)


def _exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


def _failed(job: dict, error: str) -> dict:
    return {"rel": job["rel"], "status": "failed", "error": error}


class _Inline:
    """Films scored one at a time in the driver, by the driver's own Scorer."""

    def __init__(self, scorer: "Scorer", spec: WorkerSpec):
        self._scorer, self._spec, self._job = scorer, spec, None

    def free(self) -> int:
        return 0 if self._job else 1

    def busy(self) -> list[dict]:
        return [self._job] if self._job else []

    def submit(self, job: dict) -> None:
        self._job = job

    def wait(self, timeout: float) -> list[tuple[dict, dict]]:
        if self._job is None:
            return []
        outcome = score_one(self._scorer, self._spec, self._job)
        job, self._job = self._job, None
        return [(job, outcome)]

    def close(self) -> None:
        pass


# --------------------------------------------------------------------------- Ray


def import_ray():
    """``ray``, or a one-line ToolError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ToolError("Ray is not installed", None, "pip install 'autofoley[ray]'") from None
    return ray


_RAY_SCORERS: dict[str, "Scorer"] = {}


def _ray_task(spec: WorkerSpec, job: dict) -> dict:
    """One film in a Ray worker. The Scorer is kept in the worker process, so a
    worker loads the model once however many films it is given."""
    import ray
    import torch

    key = repr((spec.clip_model, spec.clip_pretrained, spec.device, spec.options))
    scorer = _RAY_SCORERS.get(key)
    if scorer is None:
        try:
            scorer = _RAY_SCORERS[key] = _build_scorer(spec)
        except AutofoleyError as exc:
            return _failed(job, f"worker could not load the model: {exc}")
    cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1)
    torch.set_num_threads(max(1, int(cpus)))
    fd = hold_worker_lock(spec.out_dir)
    try:
        return score_one(scorer, spec, job)
    finally:
        if fd is not None:
            os.close(fd)


class _Ray:
    """One Ray task per film; at most ``capacity`` in flight."""

    def __init__(self, spec: WorkerSpec, address: str, capacity: int | None,
                 timeout: float | None):
        ray = self._ray = import_ray()
        self._owns = False
        if not ray.is_initialized():
            try:
                if address == "local":
                    ray.init(include_dashboard=False, log_to_driver=False)
                else:
                    ray.init(address=address, log_to_driver=False)
            except Exception as exc:
                raise ToolError(f"cannot start or reach Ray at '{address}' ({_one_line(exc)})",
                                None, "start the cluster ('ray start --head') or pass its "
                                      "address to --ray") from None
            self._owns = True
        resources = ray.cluster_resources()
        gpus, cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 1))
        self._options = {"num_gpus": 1, "num_cpus": 1} if gpus else {"num_cpus": 1}
        self._capacity = capacity or max(1, gpus or cpus)
        self._remote = ray.remote(max_calls=0, max_retries=0)(_ray_task)
        self._spec, self._timeout = spec, timeout
        self._refs: dict = {}  # ObjectRef -> (job, started)
        log.info("Ray: %d CPUs, %d GPUs; up to %d films at once", cpus, gpus, self._capacity)

    def free(self) -> int:
        return self._capacity - len(self._refs)

    def busy(self) -> list[dict]:
        return [job for job, _ in self._refs.values()]

    def submit(self, job: dict) -> None:
        ref = self._remote.options(**self._options).remote(self._spec, job)
        self._refs[ref] = (job, time.monotonic())

    def wait(self, timeout: float) -> list[tuple[dict, dict]]:
        ray = self._ray
        if not self._refs:
            return []
        refs = list(self._refs)
        if self._timeout:  # wake up in time to enforce it
            first = min(started for _, started in self._refs.values())
            timeout = min(timeout, max(0.0, first + self._timeout - time.monotonic()))
        ray.wait(refs, num_returns=1, timeout=timeout)
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
        results = []
        for ref in ready:
            job, _ = self._refs.pop(ref)
            try:
                results.append((job, ray.get(ref)))
            except Exception as exc:  # the task's worker died, its node was lost...
                results.append((job, _failed(job, f"Ray task failed: {_one_line(exc)}")))
        if self._timeout:
            now = time.monotonic()
            for ref, (job, started) in list(self._refs.items()):
                if now - started >= self._timeout:
                    ray.cancel(ref, force=True)
                    del self._refs[ref]
                    results.append((job, _failed(job, f"timed out after {self._timeout:g} s")))
        return results

    def close(self) -> None:
        for ref in list(self._refs):
            try:
                self._ray.cancel(ref, force=True)
            except Exception:
                pass
        self._refs.clear()
        if self._owns:
            self._ray.shutdown()


# --------------------------------------------------------------------------- progress and report


class BatchProgress:
    """Hooks a front end implements to show a batch's progress; these do nothing."""

    def begin(self, films: int, todo: int) -> None:
        """``films`` found, ``todo`` of them to score in this run."""

    def film_started(self, rel: str) -> None:
        pass

    def film_finished(self, rel: str, outcome: dict) -> None:
        """``outcome["status"]`` is "done" or "failed" (with ``outcome["error"]``)."""

    def end(self) -> None:
        pass


@dataclass
class BatchReport:
    """What a batch run left: every film's state, and the run's counts."""

    folder: Path
    out: Path
    films: list[dict]
    counts: dict[str, int]
    started: float  # unix seconds
    finished: float
    model: str
    library: str
    library_key: str
    settings_key: str
    interrupted: bool = False
    gone: list[str] = field(default_factory=list)  # in the job store, no longer in the folder
    skipped_sounds: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)

    @property
    def report_path(self) -> Path:
        return self.out / REPORT_NAME

    @property
    def exit_code(self) -> int:
        """0 when every film is done, EXIT_SOME_FAILED (8) when some failed."""
        return EXIT_SOME_FAILED if self.counts.get("failed") else 0

    def to_dict(self) -> dict:
        return {
            "autofoley_version": __version__,
            "folder": str(self.folder),
            "out": str(self.out),
            "library": self.library,
            "model": self.model,
            "library_key": self.library_key,
            "settings_key": self.settings_key,
            "started": _iso(self.started),
            "finished": _iso(self.finished),
            "seconds": round(self.finished - self.started, 3),
            "interrupted": self.interrupted,
            "counts": self.counts,
            "films": self.films,
            "gone": self.gone,
            "skipped_sounds": [{"file": f, "reason": r} for f, r in self.skipped_sounds],
        }


def _iso(t: float | None) -> str | None:
    return None if t is None else time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(t))


def _film_entry(row: dict, attempted: set[str], why: dict[str, str]) -> dict:
    this_run = row["rel"] in attempted
    return {
        "film": row["rel"],
        "path": row["path"],
        "status": row["state"],
        "this_run": this_run,
        # why it was (or, when pending, is to be) scored: new, film changed, retry...
        "why": why.get(row["rel"]) if this_run else row["reason"],
        "error": row["error"],
        "duration": row["duration"],
        "scenes": row["scenes"],
        "sfx_placed": row["sfx_placed"],
        "seconds": row["seconds"],
        "attempts": row["attempts"],
        "completions": row["completions"],
        "finished": _iso(row["finished_at"]),
        "out_dir": row["out_rel"],
        "outputs": row["outputs"],
    }


# --------------------------------------------------------------------------- the batch


def run_batch(folder: str | Path, library: str | Path, out_dir: str | Path | None = None, *,
              clip_model: str = DEFAULT_CLIP_MODEL, clip_pretrained: str | None = None,
              device: str = "auto",
              options: "ScoreOptions | Callable[[ClipSpec], ScoreOptions] | None" = None,
              csv_path: str | Path | None = None,
              extensions: Iterable[str] = DEFAULT_EXTENSIONS, workers: int | None = None,
              retry_failed: bool = False, ray: str | None = None, timeout: float | None = None,
              reporter=None, progress: BatchProgress | None = None) -> BatchReport:
    """Score every video under ``folder`` into ``out_dir``; resumable.

    ``options`` is a ScoreOptions, or a function of the resolved ClipSpec
    returning one (so a model's tuned defaults can apply). ``workers``:
    0 scores in this process, N >= 1 in N worker processes (default 1); with
    ``ray`` ("auto", "local" or a cluster address; an already initialised
    Ray is used as it is) the most films in flight (default: the cluster's
    GPUs, else CPUs). ``timeout`` (seconds) fails a film whose worker takes
    longer and replaces the worker (not with ``workers=0``). ``reporter``
    times and shows the driver's stages (see progress.py); ``progress``
    follows the films.

    Writes ``out_dir/report.json`` and returns the report; its ``exit_code``
    is 0 when every film is done, 8 when some failed. Raises the usual
    AutofoleyErrors for a missing folder, library or model, and OutputError
    when another batch holds ``out_dir``.
    """
    started = time.time()
    reporter = reporter or NullReporter()
    progress = progress or BatchProgress()
    if workers is not None and workers < 0:
        raise InputError(f"--workers must be 0 or more, not {workers}")
    if timeout is not None and timeout <= 0:
        raise InputError(f"--timeout must be more than 0 seconds, not {timeout:g}")
    if ray:
        import_ray()  # a missing extra is said at once, not after the library is embedded
    root = _check_folder(folder)
    out = ensure_dir(Path(out_dir if out_dir is not None else DEFAULT_OUT).expanduser()).resolve()
    if root == out:
        raise OutputError("the output folder is the footage folder", out,
                          "choose another --out (a subfolder is fine)")
    with BatchLock(out):
        wait_for_workers(out)
        _clean_staging(out)
        films = find_films(root, extensions, exclude=[out])
        if not films:
            raise InputError(f"no videos ({', '.join(extensions)}) found", root,
                             "check the folder, or name other extensions with --ext")
        with JobStore(out / DB_NAME) as store:
            try:
                report = _run(store, films, root, Path(library).expanduser(), out,
                              clip_model, clip_pretrained, device, options, csv_path, workers,
                              retry_failed, ray, timeout, reporter, progress, started)
            finally:
                _clean_staging(out)
    return report


def _run(store: JobStore, films: list[FilmFile], root: Path, library: Path, out: Path,
         clip_model, clip_pretrained, device, options, csv_path, workers, retry_failed, ray,
         timeout, reporter, progress: BatchProgress, started: float) -> BatchReport:
    from autofoley.library.scan import scan_library
    from autofoley.models.registry import resolve_clip
    from autofoley.options import ScoreOptions, resolve_options
    from autofoley.pipeline import preflight

    with reporter.stage("resolve model"):
        spec = resolve_clip(clip_model, clip_pretrained)
    opts = resolve_options(options or ScoreOptions(), spec)
    preflight(opts)
    csv = str(Path(csv_path).expanduser()) if csv_path else None
    # The scan is cheap (cached per file); it alone decides whether the
    # library changed, so an unchanged rerun never loads the model.
    with reporter.stage("scan library") as update:
        scan = scan_library(library, csv, opts.use_cache, progress=update)
    if scan.skipped:
        log.warning("%d file(s) of the library skipped (listed in %s), e.g. %s: %s",
                    len(scan.skipped), REPORT_NAME, *scan.skipped[0])
    lib_key = library_key(scan, opts.text_template)
    set_key = settings_key(opts, spec.identity)
    owner = owner_id(uuid.uuid4().hex[:8])
    reclaimed = store.reclaim_stale(owner)
    if reclaimed:
        log.info("%d film(s) left running by a stopped batch go back to the queue", len(reclaimed))
    plan = store.sync(films, lib_key, set_key, retry_failed, out_root=out)
    for rel, reason in plan.redo.items():
        log.info("%s: scored again (%s)", rel, reason)
    present = {f.rel for f in films}
    todo = deque(rel for rel in store.pending() if rel in present)
    why = {rel: store.row(rel)["reason"] or "pending" for rel in todo}
    spec_w = WorkerSpec(clip_model, clip_pretrained, device, opts, str(library), csv, str(out),
                        set_key)
    attempted: set[str] = set()
    interrupted = False
    progress.begin(len(films), len(todo))
    try:
        if todo:
            executor = _executor(spec, spec_w, opts, library, csv, workers, ray, timeout, len(todo),
                                 reporter)
            try:
                _drive(store, executor, todo, owner, lib_key, set_key, attempted, progress)
            except BaseException:
                # Films in flight go back to pending, untouched by the failure.
                busy = executor.busy()
                executor.close()
                for job in busy:
                    store.release(job["rel"], owner)
                raise
            executor.close()
    except KeyboardInterrupt:
        interrupted = True
        _write_report(store, films, root, out, spec, library, lib_key, set_key, attempted, plan,
                      why, reclaimed, scan.skipped, started, interrupted=True)
        raise
    finally:
        progress.end()
    return _write_report(store, films, root, out, spec, library, lib_key, set_key, attempted, plan,
                         why, reclaimed, scan.skipped, started, interrupted)


def _executor(spec: "ClipSpec", spec_w: WorkerSpec, opts, library: Path, csv: str | None,
              workers: int | None, ray: str | None, timeout: float | None, todo: int, reporter):
    from autofoley.models.clip import load_clip
    from autofoley.pipeline import Scorer

    # The library is embedded here, once, before any worker starts: its scan
    # and text embeddings land in the disk cache, where every worker finds them.
    with reporter.stage("load model"):
        scorer = Scorer(options=opts, encoder=load_clip(spec, device=spec_w.device))
    scorer.library(library, csv, reporter)
    n = 1 if workers is None else workers
    if n == 0 and not ray:
        if timeout:
            log.warning("--timeout needs worker processes; it is ignored with --workers 0")
        return _Inline(scorer, spec_w)
    cuda = scorer.encoder.device.type == "cuda"
    del scorer  # the workers load their own: give this one's memory back first
    _release_memory(cuda)
    if ray:
        return _Ray(spec_w, ray, workers, timeout)
    n = min(n, todo)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    spec_w = dataclasses.replace(spec_w, threads=max(1, (cores or 1) // n))
    return _Processes(spec_w, n, timeout)


def _release_memory(cuda: bool) -> None:
    import gc

    gc.collect()
    if cuda:
        import torch

        torch.cuda.empty_cache()


def _drive(store: JobStore, executor, todo: deque, owner: str, lib_key: str, set_key: str,
           attempted: set[str], progress: BatchProgress) -> None:
    """Feed films to the executor until the queue is empty; record each outcome."""
    beat = time.monotonic()
    while todo or executor.busy():
        while todo and executor.free() > 0:
            rel = todo.popleft()
            row = store.claim(rel, owner)
            if row is None:
                continue
            attempted.add(rel)
            job = {"rel": rel, "path": row["path"], "out_rel": row["out_rel"],
                   "name": Path(rel).stem, "outputs": row["outputs"]}
            executor.submit(job)
            progress.film_started(rel)
        for job, outcome in executor.wait(timeout=1.0):
            _record(store, owner, job, outcome, lib_key, set_key)
            progress.film_finished(job["rel"], outcome)
        if time.monotonic() - beat > HEARTBEAT_S:
            store.heartbeat(owner)
            beat = time.monotonic()


def _record(store: JobStore, owner: str, job: dict, outcome: dict, lib_key: str,
            set_key: str) -> None:
    outcome.setdefault("library_key", lib_key)
    outcome.setdefault("settings_key", set_key)
    if "size" not in outcome:  # the worker died before it looked at the film
        st = _stat(Path(job["path"]))
        if st:
            outcome["size"], outcome["mtime_ns"] = st
    if outcome.get("status") == "done":
        store.finish(job["rel"], owner, outcome)
        log.debug("%s: done in %.1f s", job["rel"], outcome.get("seconds") or 0.0)
    else:
        error = outcome.get("error") or "failed"
        store.fail(job["rel"], owner, error, outcome)
        log.debug("%s: failed: %s", job["rel"], error)


def _write_report(store: JobStore, films: list[FilmFile], root: Path, out: Path, spec,
                  library: Path, lib_key: str, set_key: str, attempted: set[str], plan,
                  why: dict[str, str], reclaimed: list[str], skipped: list, started: float,
                  interrupted: bool) -> BatchReport:
    rows = store.rows(f.rel for f in films)
    entries = [_film_entry(r, attempted, why) for r in rows]
    states = [r["state"] for r in rows]
    counts = {
        "films": len(rows),
        "done": states.count("done"),
        "failed": states.count("failed"),
        "pending": states.count("pending") + states.count("running"),
        "scored": sum(e["this_run"] and e["status"] == "done" for e in entries),
        "failed_this_run": sum(e["this_run"] and e["status"] == "failed" for e in entries),
        "unchanged": len(plan.unchanged),
        "reclaimed": len(reclaimed),
    }
    report = BatchReport(root, out, entries, counts, started, time.time(), spec.identity,
                         str(library.resolve()), lib_key, set_key, interrupted, plan.gone,
                         [(str(p), r) for p, r in skipped])
    write_json(out / REPORT_NAME, report.to_dict())
    return report


def _clean_staging(out: Path) -> None:
    """Remove what a killed run left in the output folder: staging folders and
    half-written temporary files (never outputs, which are only renamed in
    complete). Only called while holding the folder's lock."""
    for item in out.iterdir():
        if item.name.startswith(TMP_PREFIX):
            _remove(item)
