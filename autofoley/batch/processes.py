"""Worker processes on this machine: ``workers=N`` spawned processes, each
with its own Scorer, fed one film at a time by the driver. A worker that
crashes or hangs past the timeout costs one film, not the batch."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass

from autofoley.batch.jobs import hold_worker_lock
from autofoley.batch.workers import (
    WorkerSpec,
    build_scorer,
    failed,
    one_line,
    score_one,
)
from autofoley.errors import AutofoleyError


class WorkerStartError(AutofoleyError):
    """A worker could not build its Scorer (its exit code is the cause's)."""


def _worker_main(conn, spec: WorkerSpec, index: int, parent_pid: int) -> None:
    """A worker process: build a Scorer once, then score the jobs it is sent."""
    _die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver decides when workers stop
    for name in ("autofoley", ""):  # failures travel in outcomes, not on stderr
        logging.getLogger(name).setLevel(logging.ERROR)
    hold_worker_lock(spec.out_dir)  # held until this process ends
    try:
        scorer = build_scorer(spec, index)
    except AutofoleyError as exc:
        conn.send(("init-failed", str(exc), exc.exit_code))
        return
    except Exception as exc:
        conn.send(("init-failed", one_line(exc), 1))
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


@dataclass
class _Slot:
    index: int
    proc: object = None
    conn: object = None
    ready: bool = False
    job: dict | None = None
    started: float = 0.0


class Processes:
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
                results.append((s.job, failed(s.job, f"worker process died "
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
                    results.append((s.job, failed(s.job, f"timed out after {self._timeout:g} s")))
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
