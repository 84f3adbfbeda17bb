#!/usr/bin/env python3
"""Does a trained audio encoder earn its place? Text, audio and hybrid ranking
of an encoder trained by ``curate`` + ``train`` with their defaults, on the
demo and lab worlds, and on a library half of whose files lost their tags.

What it measures
----------------
For each world (``--worlds demo,lab``; the lab world is never tuned on), with
the CLI only (subprocesses with timeouts, shipped settings: an empty
``AUTOFOLEY_CONFIG``), in steps:

``stock``
    a stock-footage pool, made once and reused: ``python examples/make_stock.py
    POOL --videos 160 --stills 80`` (demo) or ``examples/make_lab_stock.py``
    (lab; when that script is missing the lab world is skipped, saying so).
``curate``, ``train``
    ``autofoley curate --library POOL/library --stock POOL/stock --out
    W/pairs <the world's model flags>`` (those of bench_placement.py, less
    ``--frame-fit`` when curate has no such flag; POOL/library: seeded
    variants of the world's library written with the stock, none of the
    scored files; ``--train-on own`` uses WORLD/library), then ``autofoley train
    W/pairs --out W/run``, both with their defaults and timed: the training
    time goal is for the two together, on ``--train-cores`` cores (2; the
    processes are pinned to them on a bigger machine), from an empty cache of
    their own (``--warm-cache``: the user's cache).
``text``, ``audio``, ``hybrid``
    ``bench/bench_placement.py --rank text|audio|hybrid`` on the world's films
    (audio and hybrid with ``--audio-model W/run/model.safetensors``).
``strip``, ``strip-curate``, ``strip-train``, ``strip-hybrid``
    ``bench/strip_library.py`` (a copy of the library where a seeded half of
    every sound class lost its name, folder and CSV row), curate + train on
    that copy, then bench_placement ``--rank hybrid`` with the copy and its
    truth. From every film's ``events.json`` it counts the placed SFX (a
    looped sound once) whose file is in the untagged half, and the share
    whose ``key`` (which keys found the sound: ``text``, ``audio``,
    ``both``) is ``audio``.

It prints per world one table (ranking | SFX F1 | detection F1 | held-out F1
| distractors placed | untagged share), then the issue's done-when checks,
each a line with the figure, the goal and PASS or FAIL:

- audio held-out SFX F1 >= 0.9 x text's; hybrid >= text + 0.05;
- stripped library: hybrid held-out F1 >= text's on the full library - 0.05,
  and >= 30% of the placed SFX (held-out films) from the untagged half;
- distractor sounds placed (all films) by audio, hybrid and stripped hybrid:
  no more than by text;
- curate + train on the world's library and stock <= 600 s.

"Held-out" is bench_placement's held-out row: the demo world's two held-out
films, every lab film. Then the training times and, for every step, its time
and the load average (1, 5, 15 min) before and after: the machine is shared,
so a training time means something only beside the load it ran under.

Every step's result is kept in ``WORK/results.json``; a step not run this
time (``--steps``, ``--skip-train``) is shown from there, marked ``*``.
Logs of every command are in ``WORK/<world>/logs/``.

How to run
----------
    python bench/bench_audio_rank.py                       # everything, both worlds
    python bench/bench_audio_rank.py --worlds demo --films held_out_park   # a smoke run
    python bench/bench_audio_rank.py --skip-train          # reuse W/run and W/stripped/run
    python bench/bench_audio_rank.py --steps text,audio,hybrid --json > audio_rank.json

Work dir: ``--work`` (default ``bench/out/audio_rank``, git-ignored). The CLI
is this checkout's (``python -m autofoley`` with the repository on
``PYTHONPATH``) unless ``--autofoley`` names another.

How long it takes
-----------------
Per world: the stock pool once, two curate + train runs (the issue's goal:
at most 10 minutes each), and four bench_placement runs over the world's
films (audio and hybrid also embed the library with the new encoder). A smoke
run, ``--worlds demo --films held_out_park``, took 4.6 min on 2 cores at load
average 3 (2026-12-02: stock 43 s, curate 60 + 46 s, train 20 + 34 s, each
placement run 11-26 s). Every step on every film of both worlds took 19 min
(1164 s) on 2 cores at load average 1.0-1.9 (2026-12-02), stock pools and
library variants included; ``--skip-train`` reruns of the placement steps
about 9 min.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib.util
import json
import math
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"


def _bench_module(name: str):
    """A sibling script as a module (both import the standard library only)."""
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


bench_placement = _bench_module("bench_placement")  # the worlds and their model flags
strip_library = _bench_module("strip_library")

STOCK_SCRIPTS = {"demo": ROOT / "examples" / "make_stock.py", "lab": ROOT / "examples" / "make_lab_stock.py"}
STOCK_ARGS = ("--videos", "160", "--stills", "80")
# Per world: seeded variants of its library (other files of the same sound
# classes) written with the stock, to train on; the lab's stock is drawn for
# its letterboxing model. Training on the variants keeps the scored library's
# own files out of training (--train-on own trains on them, as a user would).
WORLD_STOCK_ARGS = {"demo": ("--library-seeds", "1-10"),
                    "lab": ("--library-seeds", "1-3", "--fit", "pad")}
STEPS = ("stock", "curate", "train", "text", "audio", "hybrid",
         "strip", "strip-curate", "strip-train", "strip-hybrid")
TRAIN_STEPS = ("curate", "train", "strip-curate", "strip-train")
PLACEMENT_STEPS = {"text": "text", "audio": "audio", "hybrid": "hybrid", "strip-hybrid": "hybrid"}
ROW_LABELS = {"text": "text", "audio": "audio", "hybrid": "hybrid", "strip-hybrid": "hybrid, stripped library"}
TRAIN_GOAL_S = 600.0


def log(message: str) -> None:
    print(f"[audio-rank] {message}", file=sys.stderr, flush=True)


def load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def now() -> str:
    return _dt.datetime.now().isoformat(timespec="seconds")


# --------------------------------------------------------------------------- commands

class Runner:
    """Runs the commands of one bench: the CLI, environments, logs."""

    def __init__(self, args, work: Path):
        self.args = args
        self.work = work
        if args.autofoley:
            self.cli = shlex.split(args.autofoley)
            pythonpath = os.environ.get("PYTHONPATH", "")
        else:  # this checkout's CLI, whatever is installed
            self.cli = [sys.executable, "-m", "autofoley"]
            pythonpath = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
        self.config_dir = tempfile.mkdtemp(prefix="bench-audio-rank-config-")
        self.env = {**os.environ, "AUTOFOLEY_CONFIG": self.config_dir, "PYTHONPATH": pythonpath}
        self._help: dict[str, str] = {}

    def close(self) -> None:
        shutil.rmtree(self.config_dir, ignore_errors=True)

    def help_text(self, command: str) -> str:
        if command not in self._help:
            try:
                proc = subprocess.run(self.cli + [command, "--help"], check=False, capture_output=True, text=True,
                                      timeout=300, env=self.env, stdin=subprocess.DEVNULL)
                self._help[command] = proc.stdout
            except (OSError, subprocess.TimeoutExpired):
                self._help[command] = ""
        return self._help[command]

    def train_env(self, cache: Path | None) -> tuple[dict, object, int]:
        """Environment and pinning of curate and train: ``--train-cores`` cores."""
        env = dict(self.env)
        if cache is not None:
            env["AUTOFOLEY_CACHE"] = str(cache)
        cores = self.args.train_cores
        try:
            allowed = sorted(os.sched_getaffinity(0))
        except AttributeError:  # not Linux: no pinning
            allowed = list(range(os.cpu_count() or 1))
            return env, None, min(cores, len(allowed))
        use = allowed[:cores]
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[var] = str(len(use))
        if len(use) == len(allowed):
            return env, None, len(use)
        return env, (lambda: os.sched_setaffinity(0, use)), len(use)

    def run(self, cmd: list[str], timeout: float, log_path: Path, env: dict | None = None,
            preexec=None) -> tuple[int | None, str, str, float]:
        """(exit code or None on timeout, stdout, stderr, seconds); both
        streams also go to ``log_path``."""
        log_path.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout,
                                  env=env or self.env, stdin=subprocess.DEVNULL, preexec_fn=preexec)
            rc, out, err = proc.returncode, proc.stdout, proc.stderr
        except subprocess.TimeoutExpired as exc:
            def text(b):
                return b.decode("utf-8", "replace") if isinstance(b, bytes) else (b or "")
            rc, out, err = None, text(exc.stdout), text(exc.stderr)
        seconds = time.perf_counter() - t0
        log_path.write_text(f"$ {shlex.join(cmd)}\n# exit {rc}, {seconds:.1f} s\n"
                            f"--- stdout\n{out}\n--- stderr\n{err}\n", encoding="utf-8")
        return rc, out, err, seconds


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:200] if lines else "?"


def _json_tail(text: str):
    """The JSON document a command printed (the first '{' line to the end)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("{"):
            try:
                return json.loads("\n".join(lines[i:]))
            except json.JSONDecodeError:
                continue
    return None


# --------------------------------------------------------------------------- a world

class WorldRun:
    def __init__(self, name: str, runner: Runner, films: list[str] | None, state: dict):
        self.name = name
        self.world = bench_placement.WORLDS[name]
        self.runner = runner
        self.args = runner.args
        self.films = films
        self.dir = runner.work / name
        self.pool = self.dir / "pool"
        self.pairs = self.dir / "pairs"
        self.run_dir = self.dir / "run"
        self.stripped = self.dir / "stripped" / "library"
        self.stripped_truth = strip_library.default_truth_path(self.stripped)
        self.stripped_pairs = self.dir / "stripped" / "pairs"
        self.stripped_run = self.dir / "stripped" / "run"
        self.logs = self.dir / "logs"
        self.state = state.setdefault(name, {})
        self.skipped_reason = ""

    @property
    def model_path(self) -> Path:
        return self.run_dir / "model.safetensors"

    @property
    def stripped_model_path(self) -> Path:
        return self.stripped_run / "model.safetensors"

    def step(self, step: str) -> dict:
        """Run one step, recording its time and the load around it."""
        record = {"step": step, "started": now(), "load_before": load(), "ok": False, "error": ""}
        t0 = time.perf_counter()
        log(f"{self.name}: {step} (load average {' '.join(map(str, record['load_before']))})")
        try:
            record.update(getattr(self, "step_" + step.replace("-", "_"))())
        except StepError as exc:
            record["error"] = str(exc)
        except Exception as exc:  # noqa: BLE001  (a bug or an odd output: keep the other steps going)
            record["error"] = f"{type(exc).__name__}: {exc}"
        else:
            record["ok"] = not record["error"]
        record["seconds"] = round(time.perf_counter() - t0, 1)
        record["load_after"] = load()
        if record["error"]:
            log(f"{self.name}: {step} FAILED: {record['error']}")
        self.state[step] = record
        return record

    # ---- stock

    def step_stock(self) -> dict:
        marker = self.pool / ".bench-complete"
        script = STOCK_SCRIPTS[self.name]
        if marker.is_file() and (self.pool / "stock").is_dir():
            return {"reused": True, "pool": str(self.pool / "stock")}
        if not script.is_file():
            raise StepError(f"{script.relative_to(ROOT)} is missing: no stock pool for the {self.name} world")
        shutil.rmtree(self.pool, ignore_errors=True)
        cmd = [sys.executable, str(script), str(self.pool), *STOCK_ARGS,
               *WORLD_STOCK_ARGS.get(self.name, ())]
        rc, out, err, seconds = self.runner.run(cmd, self.args.stock_timeout, self.logs / "stock.log")
        if rc != 0:
            raise StepError(f"{script.name} {'timed out' if rc is None else f'exit {rc}'}: {_last_line(err or out)}")
        if not (self.pool / "stock").is_dir():
            raise StepError(f"{script.name} wrote no {self.pool / 'stock'}")
        marker.write_text(shlex.join(cmd) + "\n", encoding="utf-8")
        return {"reused": False, "pool": str(self.pool / "stock"), "command": cmd,
                "script_seconds": round(seconds, 1)}

    # ---- curate and train

    def curate_model_args(self) -> list[str]:
        args = list(self.world.model_args)
        if "--frame-fit" in args and "--frame-fit" not in self.runner.help_text("curate"):
            i = args.index("--frame-fit")
            del args[i:i + 2]
        return args

    def _cache(self, label: str) -> Path | None:
        if self.args.warm_cache:
            return None
        cache = self.dir / f"cache-{label}"
        shutil.rmtree(cache, ignore_errors=True)
        cache.mkdir(parents=True)
        return cache

    def _curate(self, library: Path, pairs: Path, label: str) -> dict:
        if not (self.pool / "stock").is_dir():
            raise StepError(f"no stock pool in {self.pool} (run the stock step)")
        shutil.rmtree(pairs, ignore_errors=True)
        cache = self._cache(label)
        env, pin, cores = self.runner.train_env(cache)
        cmd = self.runner.cli + ["curate", "--library", str(library), "--stock", str(self.pool / "stock"),
                                 "--out", str(pairs), *self.curate_model_args(), "--quiet", "--json"]
        rc, out, err, seconds = self.runner.run(cmd, self.args.train_timeout, self.logs / f"{label}-curate.log",
                                                env, pin)
        if rc != 0:
            raise StepError(f"curate {'timed out' if rc is None else f'exit {rc}'}: {_last_line(err or out)}")
        summary = _json_tail(out) or {}
        counts = summary.get("counts", {})
        return {"command": cmd, "command_seconds": round(seconds, 2), "cores": cores,
                "cache": "fresh" if cache else "warm",
                "pairs": counts.get("pairs_total"), "frames": counts.get("frames"),
                "sfx": counts.get("sfx"), "timings": summary.get("timings", {})}

    def _train(self, pairs: Path, run: Path, label: str) -> dict:
        if not (pairs / "manifest.json").is_file():
            raise StepError(f"no pairs in {pairs} (run the {'strip-' if 'strip' in label else ''}curate step)")
        shutil.rmtree(run, ignore_errors=True)
        cache = self.dir / f"cache-{label}" if not self.args.warm_cache else None
        if cache is not None:
            cache.mkdir(parents=True, exist_ok=True)  # the one curate filled: what a user's run has
        env, pin, cores = self.runner.train_env(cache)
        cmd = self.runner.cli + ["train", str(pairs), "--out", str(run), "--quiet", "--json"]
        rc, out, err, seconds = self.runner.run(cmd, self.args.train_timeout, self.logs / f"{label}-train.log",
                                                env, pin)
        if rc != 0:
            raise StepError(f"train {'timed out' if rc is None else f'exit {rc}'}: {_last_line(err or out)}")
        result = _json_tail(out) or {}
        model = run / "model.safetensors"
        if not model.is_file():
            raise StepError(f"train wrote no {model}")
        return {"command": cmd, "command_seconds": round(seconds, 2), "cores": cores,
                "model": str(model), "best_epoch": result.get("best_epoch"),
                "best_metric": result.get("best_metric"), "epochs_run": result.get("epochs_run"),
                "stopped_early": result.get("stopped_early"), "train_seconds": result.get("seconds")}

    def step_curate(self) -> dict:
        library = self.world.root / "library" if self.args.train_on == "own" else self.pool / "library"
        if not library.is_dir():
            raise StepError(f"no library variants in {library} (run the stock step again)")
        return self._curate(library, self.pairs, "full")

    def step_train(self) -> dict:
        return self._train(self.pairs, self.run_dir, "full")

    def step_strip_curate(self) -> dict:
        if not self.stripped_truth.is_file():
            raise StepError(f"no stripped library in {self.stripped} (run the strip step)")
        return self._curate(self.stripped, self.stripped_pairs, "stripped")

    def step_strip_train(self) -> dict:
        return self._train(self.stripped_pairs, self.stripped_run, "stripped")

    # ---- the stripped library

    def step_strip(self) -> dict:
        if self.args.skip_train and self.stripped_truth.is_file() and self.stripped.is_dir():
            return {"reused": True, "library": str(self.stripped), "truth": str(self.stripped_truth)}
        try:
            summary = strip_library.strip_library(self.world.root / "library", self.world.root / "truth" / "library.json",
                                                  self.stripped, seed=self.args.seed, force=True)
        except strip_library.StripError as exc:
            raise StepError(str(exc)) from None
        return {"reused": False, "library": str(self.stripped), "truth": str(self.stripped_truth),
                "untagged_files": summary["untagged"], "tagged_files": summary["tagged"],
                "csv_rows_dropped": summary["csv_rows_dropped"], "seed": self.args.seed}

    # ---- placement

    def _placement(self, step: str) -> dict:
        rank = PLACEMENT_STEPS[step]
        stripped = step.startswith("strip")
        model = self.stripped_model_path if stripped else self.model_path
        if rank != "text" and not model.is_file():
            raise StepError(f"no trained encoder {model} (run the {'strip-' if stripped else ''}train step)")
        if stripped and not self.stripped_truth.is_file():
            raise StepError(f"no stripped library in {self.stripped} (run the strip step)")
        out = self.dir / "placement" / step
        shutil.rmtree(out, ignore_errors=True)
        cmd = [sys.executable, str(BENCH / "bench_placement.py"), "--worlds", self.name, "--rank", rank,
               "--out", str(out), "--json", "--timeout", str(self.args.timeout),
               "--autofoley", " ".join(self.runner.cli)]  # bench_placement splits it on spaces
        if self.films:
            cmd += ["--films", *self.films]
        if stripped:
            cmd += ["--library", str(self.stripped), "--library-truth", str(self.stripped_truth)]
        if rank != "text":
            cmd += ["--", "--audio-model", str(model)]
        n_films = len(self.films) if self.films else len(list((self.world.root / "films").glob("*.mp4")))
        rc, out_text, err, _ = self.runner.run(cmd, self.args.timeout * max(1, n_films) + 600,
                                               self.logs / f"{step}.log")
        if rc is None:
            raise StepError("bench_placement timed out")
        summary = _json_tail(out_text)
        world = (summary or {}).get("worlds", {}).get(self.name)
        if not world:
            raise StepError(f"bench_placement exit {rc}: {_last_line(err or out_text)}")
        errors = {f: r["error"] for f, r in world["films"].items() if r.get("error")}
        library = self.stripped if stripped else self.world.root / "library"
        truth_path = self.stripped_truth if stripped else self.world.root / "truth" / "library.json"
        truth = json.loads(truth_path.read_text(encoding="utf-8"))
        events_dir = next((p.parent for p in out.rglob("*.events.json")), None)
        held = [f for f, r in world["films"].items() if r.get("held_out")]
        placed_all = placed_sfx(events_dir, list(world["films"]), library, truth)
        placed_held = placed_sfx(events_dir, held, library, truth)
        return {"command": cmd, "rank": rank, "library": str(library), "model": None if rank == "text" else str(model),
                "overall": world.get("overall", {}), "held_out": world.get("held_out", {}),
                "films": {f: {"sfx_f1": (r.get("metrics") or {}).get("sfx_f1"), "held_out": r.get("held_out"),
                              "seconds": r.get("seconds")} for f, r in world["films"].items()},
                "film_errors": errors, "placed": placed_all, "placed_held_out": placed_held,
                "error": "; ".join(f"{f}: {e}" for f, e in errors.items())}

    def step_text(self) -> dict:
        return self._placement("text")

    def step_audio(self) -> dict:
        return self._placement("audio")

    def step_hybrid(self) -> dict:
        return self._placement("hybrid")

    def step_strip_hybrid(self) -> dict:
        return self._placement("strip-hybrid")


class StepError(Exception):
    pass


def _lookup(file: str, library: Path, truth: dict[str, dict]) -> dict | None:
    """The truth entry of a placed file: by its path under the library, else
    by path suffix (as evaluate looks it up)."""
    path = Path(file)
    for base in (library, library.resolve()):
        try:
            rel = path.relative_to(base).as_posix()
        except ValueError:
            continue
        if rel in truth:
            return truth[rel]
    posix = path.as_posix()
    for rel, info in truth.items():
        if posix == rel or posix.endswith("/" + rel):
            return info
    return None


def placed_sfx(events_dir: Path | None, films: list[str], library: Path, truth: dict) -> dict:
    """Counts over the placed SFX of ``films``' events.json (a looped sound
    once, as evaluate counts it): from the untagged half, distractors, and by
    the ``key`` that found them."""
    out = {"films": 0, "placed": 0, "untagged": 0, "distractors": 0, "unknown_files": 0,
           "keys": {}, "untagged_share": None, "audio_key_share": None}
    if events_dir is None:
        return out
    any_untagged_field = any("untagged" in v for v in truth.values())
    for film in films:
        path = events_dir / f"{film}.events.json"
        try:
            events = json.loads(path.read_text(encoding="utf-8"))["events"]
        except (OSError, json.JSONDecodeError, KeyError):
            continue
        out["films"] += 1
        for e in events:
            if e.get("kind") != "sfx" or e.get("loop_index", 0):
                continue
            out["placed"] += 1
            key = e.get("key", "missing")
            out["keys"][key] = out["keys"].get(key, 0) + 1
            info = _lookup(e["file"], library, truth)
            if info is None:
                out["unknown_files"] += 1
                continue
            out["untagged"] += bool(info.get("untagged"))
            out["distractors"] += info.get("kind") == "distractor"
    if out["placed"]:
        if any_untagged_field:
            out["untagged_share"] = out["untagged"] / out["placed"]
        if out["keys"].get("missing", 0) < out["placed"]:  # events.json names the keys
            out["audio_key_share"] = out["keys"].get("audio", 0) / out["placed"]
    return out


# --------------------------------------------------------------------------- report

def _f(v, digits: int = 2) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.0f}%"


def distractors(record: dict) -> int | None:
    overall = record.get("overall") or {}
    if overall.get("distractors_placed") is not None:
        return overall["distractors_placed"]
    return (record.get("placed") or {}).get("distractors")


def world_table(name: str, state: dict, fresh: set[str]) -> list[str]:
    head = (f"{'ranking':<26} {'SFX F1':>6} {'detection F1':>12} {'held-out F1':>11} "
            f"{'distractors placed':>18} {'untagged share':>14}")
    lines = [f"world {name}", head]
    for step, label in ROW_LABELS.items():
        rec = state.get(step)
        mark = "" if step in fresh else "*"
        if not rec:
            lines.append(f"{label:<26} not run")
            continue
        if not rec.get("overall"):
            lines.append(f"{label + mark:<26} FAILED: {rec.get('error', '?')[:100]}")
            continue
        o, h = rec["overall"], rec.get("held_out") or {}
        share = (rec.get("placed") or {}).get("untagged_share") if step.startswith("strip") else None
        lines.append(f"{label + mark:<26} {_f(o.get('sfx_f1')):>6} {_f(o.get('detection_f1')):>12} "
                     f"{_f(h.get('sfx_f1')):>11} {_f(distractors(rec), 0):>18} {_pct(share):>14}")
        if rec.get("film_errors"):
            lines.append(f"  {len(rec['film_errors'])} film(s) failed: {rec['error'][:160]}")
    rec = state.get("strip-hybrid") or {}
    placed = rec.get("placed") or {}
    if placed.get("placed"):
        keys = ", ".join(f"{n} {k}" for k, n in sorted(placed["keys"].items()))
        lines.append(f"stripped library: {placed['placed']} SFX placed, {placed['untagged']} from the untagged "
                     f"half; found by key: {keys}"
                     + ("" if placed.get("audio_key_share") is not None else " (events.json has no 'key')"))
    return lines


def checks(state: dict) -> list[dict]:
    """The issue's done-when checks for one world."""
    def ho_f1(step):
        return ((state.get(step) or {}).get("held_out") or {}).get("sfx_f1")

    text, audio, hybrid, strip = ho_f1("text"), ho_f1("audio"), ho_f1("hybrid"), ho_f1("strip-hybrid")
    out = []

    def add(name, figure, goal, ok, fmt=_f):
        out.append({"check": name, "figure": figure, "goal": goal,
                    "result": "n/a" if ok is None else ("PASS" if ok else "FAIL"),
                    "line": f"{name}: {fmt(figure)} (goal {goal})"})

    both = text is not None and audio is not None
    add("audio held-out SFX F1 >= 0.9 x text's", audio,
        f">= {_f(0.9 * text, 3)}" if text is not None else ">= 0.9 x text", (audio >= 0.9 * text) if both else None)
    both = text is not None and hybrid is not None
    add("hybrid held-out SFX F1 >= text + 0.05", hybrid,
        f">= {_f(text + 0.05, 3)}" if text is not None else ">= text + 0.05",
        (hybrid >= text + 0.05 - 1e-9) if both else None)
    both = text is not None and strip is not None
    add("stripped library: hybrid held-out SFX F1 >= text (full library) - 0.05", strip,
        f">= {_f(text - 0.05, 3)}" if text is not None else ">= text - 0.05",
        (strip >= text - 0.05 - 1e-9) if both else None)
    share = ((state.get("strip-hybrid") or {}).get("placed_held_out") or {}).get("untagged_share")
    add("stripped library: share of placed SFX (held-out films) from the untagged half", share, ">= 30%",
        None if share is None else share >= 0.30, _pct)
    d_text = distractors(state.get("text") or {}) if state.get("text", {}).get("overall") else None
    for step, label in (("audio", "audio"), ("hybrid", "hybrid"), ("strip-hybrid", "stripped hybrid")):
        rec = state.get(step) or {}
        d = distractors(rec) if rec.get("overall") else None
        add(f"distractors placed (all films), {label}", d,
            f"<= {d_text} (text)" if d_text is not None else "<= text's",
            None if d is None or d_text is None else d <= d_text, lambda v: _f(v, 0))
    cur, tr = state.get("curate") or {}, state.get("train") or {}
    if cur.get("ok") and tr.get("ok"):
        total = cur["command_seconds"] + tr["command_seconds"]
        add(f"curate + train on the library + stock ({tr.get('cores')} cores, "
            f"{cur.get('cache', '?')} cache), seconds", total, f"<= {TRAIN_GOAL_S:.0f}", total <= TRAIN_GOAL_S,
            lambda v: _f(v, 0))
    else:
        add("curate + train on the library + stock, seconds", None, f"<= {TRAIN_GOAL_S:.0f}", None)
    return out


def report(results: dict, fresh: dict[str, set[str]]) -> str:
    lines: list[str] = []
    for name, state in results["worlds"].items():
        if state.get("skipped"):
            lines += [f"world {name}: skipped ({state['skipped']})", ""]
            continue
        lines += world_table(name, state, fresh.get(name, set()))
        lines.append("")
        lines.append(f"done when ({name}):")
        for c in state.get("checks", []):
            lines.append(f"  {c['result']:<4} {c['line']}")
        lines.append("")
        lines.append(f"training ({name}):")
        for label, prefix in (("full library", ""), ("stripped library", "strip-")):
            cur, tr = state.get(prefix + "curate") or {}, state.get(prefix + "train") or {}
            if not cur and not tr:
                continue
            bits = []
            for what, rec in (("curate", cur), ("train", tr)):
                if rec.get("ok"):
                    bits.append(f"{what} {rec['command_seconds']:.0f} s"
                                + (f" (load {' '.join(map(str, rec['load_before']))} -> "
                                   f"{' '.join(map(str, rec['load_after']))})"))
                elif rec:
                    bits.append(f"{what} FAILED")
            extra = ""
            if tr.get("ok"):
                extra = (f"; best epoch {tr.get('best_epoch')} of {tr.get('epochs_run')}, "
                         f"{cur.get('pairs')} pairs, {tr.get('cores')} cores")
            lines.append(f"  {label}: " + ", ".join(bits) + extra)
        lines.append("")
        lines.append(f"steps ({name}):  step | seconds | load before | load after | status")
        for step in STEPS:
            rec = state.get(step)
            if not rec:
                continue
            mark = "" if step in fresh.get(name, set()) else "*"
            status = "ok" if rec.get("ok") else f"FAILED: {rec.get('error', '')[:80]}"
            if rec.get("reused"):
                status += " (reused)"
            lines.append(f"  {step + mark:<14} {rec.get('seconds', 0):>7.0f} s  "
                         f"{' '.join(map(str, rec.get('load_before', []))):<16} "
                         f"{' '.join(map(str, rec.get('load_after', []))):<16} {status}")
        lines.append("")
    if any(s in state and s not in fresh.get(n, set()) for n, state in results["worlds"].items() for s in STEPS):
        lines.append("* from an earlier run (WORK/results.json)")
    lines.append(f"load average (1, 5, 15 min): {' '.join(map(str, results['load_average_start']))} at start, "
                 f"{' '.join(map(str, results['load_average_end']))} at end; {os.cpu_count()} CPUs; "
                 f"{results['seconds']:.0f} s in all")
    return "\n".join(lines)


# --------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="steps: " + ", ".join(STEPS))
    p.add_argument("--worlds", default="demo,lab", help="comma-separated: demo, lab (default: %(default)s)")
    p.add_argument("--films", nargs="*", metavar="NAME", help="only films with these names (every step)")
    p.add_argument("--steps", default=",".join(STEPS),
                   help="comma-separated subset of the steps, run in their order (default: all)")
    p.add_argument("--skip-train", action="store_true",
                   help="no curate or train: reuse W/run and W/stripped/run (and the stripped library)")
    p.add_argument("--work", type=Path, default=ROOT / "bench" / "out" / "audio_rank",
                   help="work folder (default: bench/out/audio_rank)")
    p.add_argument("--seed", type=int, default=0, help="seed of the stripped half (default: %(default)s)")
    p.add_argument("--train-on", choices=("variants", "own"), default="variants",
                   help="train the full-library encoder on seeded variants of the world's library "
                        "written with the stock pool (demo: 10, lab: 3; none of the scored files), "
                        "or on the scored library itself (default: %(default)s); the stripped "
                        "library's encoder always trains on the stripped copy")
    p.add_argument("--train-cores", type=int, default=2,
                   help="cores curate and train may use (pinned when the machine has more; default: %(default)s)")
    p.add_argument("--warm-cache", action="store_true",
                   help="curate and train with the user's cache (default: an empty one, so their time counts "
                        "every embedding)")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per score run (default: %(default)s)")
    p.add_argument("--train-timeout", type=float, default=3600.0,
                   help="seconds for curate, and for train (default: %(default)s)")
    p.add_argument("--stock-timeout", type=float, default=3600.0,
                   help="seconds to make a stock pool (default: %(default)s)")
    p.add_argument("--autofoley", default=None,
                   help="the CLI command (default: python -m autofoley of this checkout)")
    p.add_argument("--json", action="store_true", help="print every result as JSON on stdout")
    args = p.parse_args(argv)

    names = [w.strip() for w in args.worlds.split(",") if w.strip()]
    bad = [n for n in names if n not in bench_placement.WORLDS or n not in STOCK_SCRIPTS]
    if bad:
        p.error(f"unknown world(s) {', '.join(bad)}; known: {', '.join(STOCK_SCRIPTS)}")
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    bad = [s for s in steps if s not in STEPS]
    if bad:
        p.error(f"unknown step(s) {', '.join(bad)}; known: {', '.join(STEPS)}")
    if args.skip_train:
        steps = [s for s in steps if s not in TRAIN_STEPS]
    steps = [s for s in STEPS if s in steps]

    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    state_path = work / "results.json"
    try:
        previous = json.loads(state_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        previous = {}
    worlds_state: dict = previous.get("worlds", {})
    runner = Runner(args, work)
    start_load = load()
    log(f"load average {' '.join(map(str, start_load))}; worlds {', '.join(names)}; steps {', '.join(steps)}; "
        f"work {work}")
    started = time.perf_counter()
    fresh: dict[str, set[str]] = {}
    try:
        for name in names:
            run = WorldRun(name, runner, args.films, worlds_state)
            run.state.pop("skipped", None)
            if run.state.get("films") != args.films:
                # Placement figures of other films are not comparable: drop them.
                for step in PLACEMENT_STEPS:
                    run.state.pop(step, None)
            run.state["films"] = args.films
            fresh[name] = set()
            for step in steps:
                record = run.step(step)
                fresh[name].add(step)
                if step == "stock" and not record["ok"] and not STOCK_SCRIPTS[name].is_file():
                    run.state["skipped"] = record["error"]
                    log(f"{name}: skipped: {record['error']}")
                    break
            run.state["checks"] = checks(run.state)
            state_path.write_text(json.dumps({**previous, "worlds": worlds_state}, indent=1) + "\n",
                                  encoding="utf-8")
    finally:
        runner.close()
    results = {"worlds": {n: worlds_state[n] for n in names if n in worlds_state},
               "steps_run": {n: sorted(fresh.get(n, set()), key=STEPS.index) for n in names},
               "load_average_start": start_load, "load_average_end": load(),
               "cpu_count": os.cpu_count(), "seconds": round(time.perf_counter() - started, 1)}
    state_path.write_text(json.dumps({**previous, "worlds": worlds_state, "last_run": results}, indent=1) + "\n",
                          encoding="utf-8")
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        print(report(results, fresh))
    failed = any(rec.get("ok") is False for n in names if not results["worlds"].get(n, {}).get("skipped")
                 for s, rec in results["worlds"].get(n, {}).items() if s in fresh.get(n, set()))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
