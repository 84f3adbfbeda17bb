"""Films scored on Ray, one task per film (``num_gpus=1`` when the cluster
has GPUs). Ray is an optional extra: it is imported only when asked for."""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING

from autofoley.batch.jobs import hold_worker_lock
from autofoley.batch.workers import (
    WorkerSpec,
    build_scorer,
    failed,
    one_line,
    score_one,
)
from autofoley.errors import AutofoleyError, ToolError

if TYPE_CHECKING:
    from autofoley.pipeline import Scorer

log = logging.getLogger("autofoley")


def import_ray():
    """``ray``, or a one-line ToolError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ToolError("Ray is not installed", None, "pip install 'autofoley[ray]'") from None
    return ray


# Per Ray worker process: a worker loads the model once however many films
# it is given (ScoreOptions holds a dict, so the key is its repr).
_RAY_SCORERS: dict[str, "Scorer"] = {}


def _ray_task(spec: WorkerSpec, job: dict) -> dict:
    """One film in a Ray worker."""
    import ray
    import torch

    key = repr((spec.clip, spec.device, spec.options))
    scorer = _RAY_SCORERS.get(key)
    if scorer is None:
        try:
            scorer = _RAY_SCORERS[key] = build_scorer(spec)
        except AutofoleyError as exc:
            return failed(job, f"worker could not load the model: {exc}")
    cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1)
    torch.set_num_threads(max(1, int(cpus)))
    fd = hold_worker_lock(spec.out_dir)
    try:
        return score_one(scorer, spec, job)
    finally:
        if fd is not None:
            os.close(fd)


class RayTasks:
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
                raise ToolError(f"cannot start or reach Ray at '{address}' ({one_line(exc)})",
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
                results.append((job, failed(job, f"Ray task failed: {one_line(exc)}")))
        if self._timeout:
            now = time.monotonic()
            for ref, (job, started) in list(self._refs.items()):
                if now - started >= self._timeout:
                    ray.cancel(ref, force=True)
                    del self._refs[ref]
                    results.append((job, failed(job, f"timed out after {self._timeout:g} s")))
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
