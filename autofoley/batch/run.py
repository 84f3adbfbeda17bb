"""Score every film under a folder, unattended and resumable.

``run_batch(folder, library, out)`` finds the videos under ``folder``
(``discover.py``), keeps their states in a SQLite job store in ``out``
(``jobs.py``) and scores each one with ``Scorer.score`` into its own folder,
``out/<path of the film without its suffix>/``. Whatever stops a run (a kill,
a crash, a power cut), running it again finishes the work: done films are not
scored again unless the film, the library or the settings changed
(``keys.py``).

Films are scored in the driver, in worker processes or on Ray (``workers.py``,
``processes.py``, ``cluster.py``), each executor loading the model once. The
driver is the only writer of the job store. It resolves the model and the
options once and hands both to the workers, and it scans and embeds the
library before any worker starts, so workers find the scan and the text
embeddings in autofoley's disk cache.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
import uuid
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from autofoley.atomic import TMP_PREFIX, ensure_dir
from autofoley.batch.discover import DEFAULT_EXTENSIONS, check_folder, find_films
from autofoley.batch.jobs import (
    DB_NAME,
    BatchLock,
    FilmFile,
    JobStore,
    owner_id,
    wait_for_workers,
)
from autofoley.batch.keys import library_key, settings_key
from autofoley.batch.report import (
    REPORT_NAME,
    BatchProgress,
    BatchReport,
    RunFacts,
    write_report,
)
from autofoley.batch.workers import Inline, WorkerSpec, build_scorer, stat_film
from autofoley.errors import InputError, OutputError, UsageError
from autofoley.models.registry import DEFAULT_CLIP_MODEL
from autofoley.output.publish import remove
from autofoley.progress import NullReporter

if TYPE_CHECKING:
    from autofoley.options import ScoreOptions

log = logging.getLogger("autofoley")

DEFAULT_OUT = "autofoley-out"
HEARTBEAT_S = 10.0


def run_batch(folder: str | Path, library: str | Path, out_dir: str | Path | None = None, *,
              clip_model: str = DEFAULT_CLIP_MODEL, clip_pretrained: str | None = None,
              device: str = "auto", options: "ScoreOptions | None" = None,
              csv_path: str | Path | None = None,
              extensions: Iterable[str] = DEFAULT_EXTENSIONS, workers: int | None = None,
              retry_failed: bool = False, ray: str | None = None, timeout: float | None = None,
              reporter=None, progress: BatchProgress | None = None) -> BatchReport:
    """Score every video under ``folder`` into ``out_dir``; resumable.

    ``options`` are resolved for the model (``options.resolve_options``) once,
    here, and every film is scored with the result. ``workers``: 0 scores in
    this process, N >= 1 in N worker processes (default 1); with ``ray``
    ("auto", "local" or a cluster address; an already initialised Ray is used
    as it is) the most films in flight (default: the cluster's GPUs, else
    CPUs). ``timeout`` (seconds) fails a film whose worker takes longer and
    replaces the worker (not with ``workers=0``). ``reporter`` times and
    shows the driver's stages (see progress.py); ``progress`` follows the
    films.

    Writes ``out_dir/report.json`` and returns the report; its ``exit_code``
    is 0 when every film is done, 8 when some failed. Raises UsageError for
    a negative ``workers`` or a ``timeout`` not above 0, the usual
    AutofoleyErrors for a missing folder, library or model, and OutputError
    when another batch holds ``out_dir``.
    """
    started = time.time()
    reporter = reporter or NullReporter()
    progress = progress or BatchProgress()
    if workers is not None and workers < 0:
        raise UsageError(f"--workers must be 0 or more, not {workers}")
    if timeout is not None and not timeout > 0:
        raise UsageError(f"--timeout must be more than 0 seconds, not {timeout:g}")
    extensions = list(extensions)
    if ray:
        from autofoley.batch.cluster import import_ray

        import_ray()  # a missing extra is said at once, not after the library is embedded
    root = check_folder(folder)
    out = ensure_dir(Path(out_dir if out_dir is not None else DEFAULT_OUT).expanduser()).resolve()
    if root == out:
        raise OutputError("the output folder is the footage folder", out,
                          "choose another --out (a subfolder is fine)")
    with BatchLock(out):
        wait_for_workers(out)
        _clean_staging(out)
        films = find_films(root, extensions, exclude=[out])
        if not films:
            raise InputError(f"no videos ({', '.join(e.lstrip('.') for e in extensions)}) found",
                             root, "check the folder, or name other extensions with --ext")
        with JobStore(out / DB_NAME) as store:
            try:
                return _run(store, films, root, Path(library).expanduser(), out, clip_model,
                            clip_pretrained, device, options, csv_path, workers, retry_failed,
                            ray, timeout, reporter, progress, started)
            finally:
                _clean_staging(out)


def _run(store: JobStore, films: list[FilmFile], root: Path, library: Path, out: Path,
         clip_model, clip_pretrained, device, options, csv_path, workers, retry_failed, ray,
         timeout, reporter, progress: BatchProgress, started: float) -> BatchReport:
    from autofoley.library.scan import scan_library
    from autofoley.models.registry import resolve_clip
    from autofoley.options import ScoreOptions, resolve_options
    from autofoley.pipeline import preflight

    with reporter.stage("resolve model"):
        clip = resolve_clip(clip_model, clip_pretrained)
    opts = resolve_options(options or ScoreOptions(), clip)
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
    set_key = settings_key(opts, clip.identity)
    owner = owner_id(uuid.uuid4().hex[:8])
    reclaimed = store.reclaim_stale(owner)
    if reclaimed:
        log.info("%d film(s) left running by a stopped batch go back to the queue", len(reclaimed))
    plan = store.sync(films, lib_key, set_key, retry_failed, out_root=out)
    for rel, reason in plan.redo.items():
        log.info("%s: scored again (%s)", rel, reason)
    present = {f.rel for f in films}
    todo = deque(rel for rel in store.pending() if rel in present)
    facts = RunFacts(root, out, clip.identity, library, lib_key, set_key, plan, reclaimed,
                     scan.skipped, started,
                     why={rel: store.row(rel)["reason"] or "pending" for rel in todo})
    spec = WorkerSpec(clip, device, opts, str(library), csv, str(out), set_key)
    progress.begin(len(films), len(todo))
    try:
        if todo:
            executor = _executor(spec, workers, ray, timeout, len(todo), reporter)
            try:
                _drive(store, executor, todo, owner, facts, progress)
            except BaseException:
                # Films in flight go back to pending, untouched by the failure.
                busy = executor.busy()
                executor.close()
                for job in busy:
                    store.release(job["rel"], owner)
                raise
            executor.close()
    except KeyboardInterrupt:
        write_report(store, films, facts, interrupted=True)
        raise
    finally:
        progress.end()
    return write_report(store, films, facts, interrupted=False)


def _executor(spec: WorkerSpec, workers: int | None, ray: str | None, timeout: float | None,
              todo: int, reporter):
    # The library is embedded here, once, before any worker starts: its scan
    # and text embeddings land in the disk cache, where every worker finds them.
    with reporter.stage("load model"):
        scorer = build_scorer(spec)
    scorer.library(spec.library, spec.csv_path, reporter)
    n = 1 if workers is None else workers
    if n == 0 and not ray:
        if timeout:
            log.warning("--timeout needs worker processes; it is ignored with --workers 0")
        return Inline(scorer, spec)
    cuda = scorer.encoder.device.type == "cuda"
    del scorer  # the workers load their own: give this one's memory back first
    _release_memory(cuda)
    if ray:
        from autofoley.batch.cluster import RayTasks

        return RayTasks(spec, ray, workers, timeout)
    from autofoley.batch.processes import Processes

    n = min(n, todo)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return Processes(dataclasses.replace(spec, threads=max(1, (cores or 1) // n)), n, timeout)


def _release_memory(cuda: bool) -> None:
    import gc

    gc.collect()
    if cuda:
        import torch

        torch.cuda.empty_cache()


def _drive(store: JobStore, executor, todo: deque, owner: str, facts: RunFacts,
           progress: BatchProgress) -> None:
    """Feed films to the executor until the queue is empty; record each outcome."""
    beat = time.monotonic()
    while todo or executor.busy():
        while todo and executor.free() > 0:
            rel = todo.popleft()
            row = store.claim(rel, owner)
            if row is None:
                continue
            facts.attempted.add(rel)
            job = {"rel": rel, "path": row["path"], "out_rel": row["out_rel"],
                   "name": Path(rel).stem, "outputs": row["outputs"]}
            executor.submit(job)
            progress.film_started(rel)
        for job, outcome in executor.wait(timeout=1.0):
            _record(store, owner, job, outcome, facts)
            progress.film_finished(job["rel"], outcome)
        if time.monotonic() - beat > HEARTBEAT_S:
            store.heartbeat(owner)
            beat = time.monotonic()


def _record(store: JobStore, owner: str, job: dict, outcome: dict, facts: RunFacts) -> None:
    outcome.setdefault("library_key", facts.library_key)
    outcome.setdefault("settings_key", facts.settings_key)
    if "size" not in outcome:  # the worker died before it looked at the film
        st = stat_film(Path(job["path"]))
        if st:
            outcome["size"], outcome["mtime_ns"] = st
    if outcome.get("status") == "done":
        store.finish(job["rel"], owner, outcome)
        log.debug("%s: done in %.1f s", job["rel"], outcome.get("seconds") or 0.0)
    else:
        error = outcome.get("error") or "failed"
        store.fail(job["rel"], owner, error, outcome)
        log.debug("%s: failed: %s", job["rel"], error)


def _clean_staging(out: Path) -> None:
    """Remove everything temporary a killed run left in the output folder:
    staging folders and half-written files (never outputs, which are only
    renamed in complete). Unlike ``output.publish.clean_stale`` this takes
    every temporary name, whoever made it: it is only called while holding
    the folder's lock, with no worker of an earlier batch alive."""
    for item in out.iterdir():
        if item.name.startswith(TMP_PREFIX):
            remove(item)
