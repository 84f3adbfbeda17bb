#!/usr/bin/env python3
"""Time every stage of ``autofoley score`` on synthetic media, in one run.

What it measures
----------------
A film (default 60 s, 1280x720, 30 fps, H.264 + AAC, several hard cuts, made
with ffmpeg's lavfi sources) and a library of 40 synthetic sounds (UCS names,
6 ambience beds under ``Ambience/``) are generated once into the work folder.
Then, with every cache off (``ScoreOptions(use_cache=False)`` and an empty
``AUTOFOLEY_CACHE`` of its own, so nothing from an earlier run is reused):

- each stage on its own: probe, scene detection, frame decoding alone
  (``iter_frames`` at the model's input size, frames thrown away), the image
  encoder alone (``encode_images`` on the same frames, decoded beforehand,
  in the pipeline's batches), frame embedding as the pipeline does it
  (``embed_film``: decoding and encoding overlapped in two threads), library
  scan, library text embedding, matching, timeline, mixdown and mux;
- then ``Scorer.score()`` end to end, with a fresh Scorer sharing the loaded
  model, whose per-stage timings are printed beside the standalone ones
  (a stage of score() with no standalone timing, such as the report, gets a
  row of its own so the column adds up).

The key figure is end-to-end time / (decode alone + encoder alone): how much
scoring costs beyond its two unavoidable parts (1.0 would mean everything
else is free, or hidden under them). It also prints ``embed_film`` against
decode + encode run one after the other: the gain from overlapping them.
Frames are the 0.1 s grid (600 for a 60 s film). Before any timing the model
runs one image batch and one sentence and PySceneDetect is imported, so no
stage pays first-call set-up.
The machine's load moves absolute numbers a lot; compare ratios within a run.

How to run
----------
    python bench/bench_score.py                    # autofoley-tiny: ~1.5 min on 2 cores
    python bench/bench_score.py --clip-model ViT-B-32 --clip-pretrained none
    python bench/bench_score.py --work bench/out --repeat 3 --json
    python bench/bench_score.py --work bench/out --duration 120 --size 1920x1080

``--work DIR`` keeps the generated film and library there and reuses them in
later runs (``bench/out`` is git-ignored); without it they go to a temporary
folder that is deleted at the end. The table goes to stdout (``--json``: a
JSON object instead, with every repeat's time), progress to stderr.
``--repeat N`` times every stage N times and keeps the fastest: on a shared
machine, the run least disturbed by other work.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from autofoley.errors import ToolError
from autofoley.media.probe import tool

FPS = 30
FILM_VERSION = 2  # in the film's name: a changed recipe makes a new film
LIBRARY_MARK = ".bench-library-v1"  # hidden: the library scan ignores it


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- film

# (relative length, lavfi source). Neighbours differ in colour and structure so
# that ContentDetector sees every join as a hard cut (cellauto starts full:
# from its default black first frame, the cut from the dark noise scene was
# missed). mandelbrot and life were left out: they render at a few frames/s
# at 720p and would dominate set-up.
_SCENES = [
    (10, "testsrc2=size={w}x{h}:rate={r}"),
    (6, "smptehdbars=size={w}x{h}:rate={r}"),
    (12, "gradients=size={w}x{h}:rate={r}:speed=0.03:seed=7"),
    (5, "color=c=0x2a9d8f:size={w}x{h}:rate={r},noise=alls=30:allf=t+u"),
    (9, "cellauto=size={w}x{h}:rate={r}:rule=30:start_full=1"),
    (7, "rgbtestsrc=size={w}x{h}:rate={r}"),
    (11, "color=c=0xe9c46a:size={w}x{h}:rate={r},"
         "drawbox=x='mod(t*240,iw)':y=ih/3:w=iw/6:h=ih/3:color=0x264653:t=fill"),
    (8, "testsrc2=size={w}x{h}:rate={r},hue=h=150:s=1.6,negate"),
]


def scene_plan(duration: float) -> list[tuple[str, int]]:
    """(lavfi source, frames) per scene: at most one scene per 2 s, each a
    whole number of frames, together exactly ``duration`` seconds of frames."""
    total = max(1, int(round(duration * FPS)))
    scenes = _SCENES[: max(1, min(len(_SCENES), int(duration // 2)))]
    weights = np.array([w for w, _ in scenes], float)
    bounds = np.round(np.cumsum(weights) / weights.sum() * total).astype(int)
    counts = np.diff(np.concatenate([[0], bounds]))
    return [(src, int(n)) for (_, src), n in zip(scenes, counts)]


def make_film(path: Path, duration: float, width: int, height: int) -> int:
    """Write the test film; returns the number of hard cuts in it."""
    plan = scene_plan(duration)
    args = [tool("ffmpeg"), "-v", "error", "-nostdin", "-y"]
    for src, frames in plan:
        # -t bounds the (endless) lavfi source; trim makes the cut frame-exact.
        args += ["-f", "lavfi", "-t", f"{(frames + 1) / FPS:.6f}",
                 "-i", src.format(w=width, h=height, r=FPS)]
    args += ["-f", "lavfi", "-t", f"{duration:.6f}", "-i", "sine=frequency=220:sample_rate=48000",
             "-f", "lavfi", "-t", f"{duration:.6f}",
             "-i", "anoisesrc=color=pink:sample_rate=48000:amplitude=0.05"]
    n = len(plan)
    graph = "".join(f"[{i}:v]trim=end_frame={frames},setpts=PTS-STARTPTS,format=yuv420p,"
                    f"setsar=1[v{i}];" for i, (_, frames) in enumerate(plan))
    graph += "".join(f"[v{i}]" for i in range(n)) + f"concat=n={n}:v=1:a=0[v];"
    graph += f"[{n}:a][{n + 1}:a]amix=inputs=2:duration=shortest,aformat=channel_layouts=stereo[a]"
    tmp = path.with_name(f".{path.name}.part.mp4")
    args += ["-filter_complex", graph, "-map", "[v]", "-map", "[a]",
             "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
             # A delivery-like bit rate cap: the noise scene would otherwise
             # run at 50 Mbit/s and dominate decoding.
             "-maxrate", "8M", "-bufsize", "16M",
             "-r", str(FPS), "-c:a", "aac", "-b:a", "160k", "-movflags", "+faststart", str(tmp)]
    proc = subprocess.run(args, capture_output=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        sys.exit(f"bench: ffmpeg could not make the test film:\n{proc.stderr.decode()[-2000:]}")
    tmp.replace(path)
    return n - 1


# --------------------------------------------------------------------------- library


def _t(sr: int, seconds: float) -> np.ndarray:
    return np.arange(int(round(sr * seconds))) / sr


def _smooth(x: np.ndarray, taps: int) -> np.ndarray:
    """Moving-average low-pass: darker noise for larger ``taps``."""
    return np.convolve(x, np.ones(taps) / taps, mode="same") if taps > 1 else x


def _fit(x: np.ndarray, peak: float) -> np.ndarray:
    return x * (peak / max(float(np.abs(x).max()), 1e-9))


def hit(sr, rng, seconds, bright, tau, partials=()):
    """A noise transient plus ringing partials (Hz): smashes, clangs, knocks."""
    t = _t(sr, seconds)
    x = _smooth(rng.standard_normal(len(t)), max(1, int(8 * (1 - bright)) + 1)) * np.exp(-t / tau)
    for f in partials:
        x += 0.4 * np.sin(2 * np.pi * f * t) * np.exp(-t / (3 * tau))
    return _fit(x, 0.8)


def tone(sr, rng, seconds, freq, pulses=1, harmonics=3):
    """Gated harmonic tones: beeps, bells, alarms, motors."""
    t = _t(sr, seconds)
    x = sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, harmonics + 1))
    gate = (np.floor(t * 2 * pulses / seconds) % 2 == 0) if pulses > 1 else np.ones_like(t)
    return _fit(x * gate * np.minimum(1, (seconds - t) * 20), 0.6)


def sweep(sr, rng, seconds, taps):
    """Band-limited noise swelling in and out: whooshes, passes, wind gusts."""
    t = _t(sr, seconds)
    return _fit(_smooth(rng.standard_normal(len(t)), taps) * np.sin(np.pi * t / seconds) ** 2, 0.7)


def bed(sr, rng, seconds, taps, hum=0.0):
    """A steady ambience: dark noise, slow swell, optional mains-like hum."""
    t = _t(sr, seconds)
    x = _smooth(rng.standard_normal(len(t)), taps) * (1 + 0.3 * np.sin(2 * np.pi * 0.11 * t))
    if hum:
        x += 0.2 * np.sin(2 * np.pi * hum * t)
    return _fit(x, 0.3)


# (UCS CatID, FX name, maker, maker arguments, seconds, rate Hz, channels)
_SFX = [
    ("GLASBrk", "Glass Smash", hit, (0.9, 0.08, (3100, 5200, 7900)), 1.4, 48000, 2),
    ("GLASBrk", "Bottle Break On Concrete", hit, (0.8, 0.06, (2600, 6100)), 1.1, 48000, 1),
    ("DOORWood", "Door Slam", hit, (0.2, 0.12, (110,)), 1.2, 44100, 1),
    ("DOORWood", "Door Knock", hit, (0.3, 0.03, (180,)), 0.8, 44100, 1),
    ("DOORMetl", "Metal Gate Close", hit, (0.5, 0.2, (240, 820)), 1.8, 48000, 2),
    ("METLImpt", "Metal Clang", hit, (0.6, 0.25, (523, 1187, 1931)), 1.5, 48000, 1),
    ("FEETConc", "Footsteps On Concrete", hit, (0.5, 0.02, ()), 0.6, 48000, 1),
    ("FEETGrvl", "Footsteps On Gravel", hit, (0.7, 0.05, ()), 0.7, 44100, 1),
    ("WOODImpt", "Wood Plank Drop", hit, (0.3, 0.09, (210, 440)), 1.0, 48000, 1),
    ("WOODCrk", "Old Wood Creak", tone, (95, 1, 6), 2.0, 48000, 1),
    ("ROCKImpt", "Rock Hits Ground", hit, (0.2, 0.07, ()), 0.9, 48000, 1),
    ("EXPLReal", "Large Explosion", hit, (0.1, 0.6, (45,)), 3.0, 48000, 2),
    ("GUNSPstl", "Pistol Shot", hit, (0.9, 0.04, (900,)), 0.9, 48000, 2),
    ("WATRSplsh", "Water Splash", sweep, (3,), 1.3, 48000, 2),
    ("WATRDrip", "Water Drip", tone, (1400, 3, 1), 1.2, 44100, 1),
    ("FIREBurn", "Fire Crackle", hit, (0.95, 0.3, ()), 2.5, 48000, 2),
    ("ELECSprk", "Electric Spark", hit, (1.0, 0.015, (6000,)), 0.5, 48000, 1),
    ("ELECHum", "Transformer Hum", tone, (50, 1, 8), 2.5, 48000, 1),
    ("UIBeep", "Computer Beep", tone, (1000, 1, 1), 0.4, 48000, 1),
    ("ALRMBell", "Alarm Bell Ringing", tone, (880, 6, 4), 2.0, 48000, 2),
    ("BELLHand", "Hand Bell Ring", hit, (0.4, 0.4, (1320, 2640, 3960)), 2.2, 44100, 1),
    ("CLOKTick", "Clock Ticking", tone, (2200, 8, 1), 2.0, 48000, 1),
    ("PAPRTear", "Paper Tear", sweep, (2,), 0.8, 44100, 1),
    ("CLOTHMvmt", "Jacket Rustle", sweep, (5,), 0.9, 48000, 1),
    ("WHSHAir", "Fast Whoosh", sweep, (12,), 0.7, 48000, 2),
    ("SWSHSwsh", "Sword Swish", sweep, (4,), 0.5, 48000, 2),
    ("VEHCar", "Car Pass By", sweep, (40,), 3.0, 48000, 2),
    ("VEHHorn", "Car Horn Honk", tone, (420, 2, 5), 1.2, 48000, 2),
    ("MOTRElec", "Electric Motor Whine", tone, (310, 1, 4), 2.0, 48000, 1),
    ("ANMLDog", "Dog Bark", tone, (520, 2, 6), 0.9, 44100, 1),
    ("BIRDSong", "Bird Chirp", tone, (3400, 4, 1), 1.0, 48000, 2),
    ("LASRGun", "Laser Blast", tone, (1800, 1, 2), 0.6, 48000, 2),
    ("TOONBoing", "Cartoon Boing", tone, (240, 1, 3), 0.8, 48000, 1),
    ("CROWDApls", "Crowd Applause", hit, (0.9, 1.2, ()), 3.0, 48000, 2),
]

_AMBIENCE = [
    ("AMBForst", "Forest Wind In Trees", bed, (30, 0), 24.0, 48000, 2),
    ("AMBUrbn", "City Traffic Distant", bed, (80, 0), 30.0, 48000, 2),
    ("AMBRoom", "Office Room Tone", bed, (60, 60), 20.0, 48000, 2),
    ("AMBSea", "Ocean Waves On Beach", bed, (15, 0), 28.0, 44100, 2),
    ("AMBInt", "Kitchen Interior Fridge Hum", bed, (50, 120), 22.0, 48000, 2),
    ("AMBNght", "Night Crickets Field", bed, (6, 0), 26.0, 48000, 2),
]


def make_library(root: Path) -> int:
    """Write the synthetic SFX library; returns the number of files."""
    rng = np.random.default_rng(2024)
    count = 0
    for folder, sounds in (("", _SFX), ("Ambience", _AMBIENCE)):
        for cat_id, name, maker, extra, seconds, sr, channels in sounds:
            path = root / folder / f"{cat_id}_{name}_XX_Bench.wav"
            mono = maker(sr, rng, seconds, *extra).astype(np.float32)
            data = mono[:, None]
            if channels == 2:  # a little decorrelation, as a stereo recording has
                side = 0.05 * rng.standard_normal(len(mono)).astype(np.float32) * float(np.std(mono))
                data = np.stack([mono + side, mono - side], axis=1)
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(str(path), data, sr, subtype="PCM_24" if sr == 48000 else "PCM_16")
            count += 1
    return count


def prepare_inputs(work: Path, duration: float, width: int, height: int) -> tuple[Path, Path, int]:
    """Film and library in ``work``, made unless an earlier run left them."""
    work.mkdir(parents=True, exist_ok=True)
    film = work / f"film-v{FILM_VERSION}-{duration:g}s-{width}x{height}.mp4"
    plan_cuts = len(scene_plan(duration)) - 1
    if film.exists():
        log(f"reusing {film}")
    else:
        log(f"making {film.name} ({duration:g} s, {width}x{height}, {FPS} fps, {plan_cuts} cuts)")
        t0 = time.perf_counter()
        make_film(film, duration, width, height)
        log(f"  done in {time.perf_counter() - t0:.1f} s")
    library = work / "library"
    if (library / LIBRARY_MARK).exists():
        log(f"reusing {library}")
    else:
        shutil.rmtree(library, ignore_errors=True)
        n = make_library(library)
        (library / LIBRARY_MARK).write_text("complete\n")
        log(f"wrote {n} sounds into {library}")
    return film, library, plan_cuts


# --------------------------------------------------------------------------- timing


@dataclass
class Row:
    stage: str
    seconds: float
    frames: int | None = None  # grid frames the stage processed, for frames/s
    in_score: str | None = None  # the stage's name in Scorer.score()'s timings
    note: str = ""
    timings: dict | None = None  # Scorer.score()'s own per-stage timings


class Clock:
    """``with clock.time(...) as row:`` times one stage; with repeats, the
    fastest of a stage's runs stands for it (the least disturbed by other
    work on the machine)."""

    def __init__(self):
        self.runs: dict[str, list[Row]] = {}

    @contextlib.contextmanager
    def time(self, stage: str, frames: int | None = None, in_score: str | None = None):
        log(f"timing {stage}")
        row = Row(stage, 0.0, frames, in_score)
        t0 = time.perf_counter()
        yield row
        row.seconds = time.perf_counter() - t0
        self.runs.setdefault(stage, []).append(row)

    def best(self, stage: str) -> Row:
        return min(self.runs[stage], key=lambda r: r.seconds)

    def rows(self) -> list[Row]:
        return [self.best(stage) for stage in self.runs]


def run(args) -> dict:
    # Imported here so --help works without loading torch.
    import torch

    from autofoley import __version__
    from autofoley.atomic import write_json
    from autofoley.cache import file_digest
    from autofoley.library.scan import scan_library
    from autofoley.library.text_index import build_index
    from autofoley.media.frames import iter_frames, sample_times
    from autofoley.media.probe import probe
    from autofoley.models.clip import load_clip
    from autofoley.output.mixdown import render_mix
    from autofoley.output.mux import mux_mix, scored_name
    from autofoley.output.timeline import build_timeline, write_timeline
    from autofoley.options import resolve_options
    from autofoley.pipeline import ScoreOptions, Scorer
    from autofoley.placement.embed import embed_film
    from autofoley.placement.matching import match_film
    from autofoley.placement.scenes import detect_scenes
    from autofoley.progress import NullReporter
    from autofoley.records import to_plain

    if args.threads:
        torch.set_num_threads(args.threads)
    opts = ScoreOptions(use_cache=False, batch_size=args.batch_size)
    load_before = os.getloadavg()[0]
    step = opts.step
    with tempfile.TemporaryDirectory(prefix="autofoley-bench-") as scratch:
        scratch = Path(scratch)
        # Belt and braces: even a cache read that ignored use_cache would find nothing.
        os.environ["AUTOFOLEY_CACHE"] = str(scratch / "cache")
        work = Path(args.work).expanduser() if args.work else scratch / "inputs"
        film, library, plan_cuts = prepare_inputs(work, args.duration, *args.size)
        out = scratch / "out"
        out.mkdir()

        clock = Clock()
        with clock.time("load model"):
            encoder = load_clip(args.clip_model, args.clip_pretrained, args.device)
        # The model's own settings (frame fit, placement), as score resolves them.
        opts = resolve_options(opts, encoder.spec)
        size = encoder.image_size
        log(f"model {encoder.identity} on {encoder.device}, {size} px, "
            f"{torch.get_num_threads()} torch threads")
        # One-time set-up (allocator, kernel selection) is paid here, not by
        # whichever stage happens to run the model first.
        encoder.encode_images(np.zeros((args.batch_size, size, size, 3), np.uint8))
        encoder.encode_texts(["a photo of a warm-up."])
        # detect_scenes imports PySceneDetect and OpenCV on first use (0.6 s
        # here); score() would find them loaded, so load them outside the clock.
        import scenedetect  # noqa: F401

        for rep in range(args.repeat):
            if args.repeat > 1:
                log(f"pass {rep + 1} of {args.repeat}")
            with clock.time("probe", in_score="probe"):
                video = probe(film)
            n = len(sample_times(video.duration, step))

            with clock.time("scene detection", in_score="scenes") as row:
                # As Scorer.analyse calls it: a hard-cut pass, then (unless
                # dissolve_window is 0) a second, frame-skipping dissolve pass.
                scenes = detect_scenes(video.path, video.duration, opts.scene_threshold,
                                       opts.min_scene_len, opts.dissolve_window)
            row.note = (f"{len(scenes) - 1} cuts found, {plan_cuts} made; "
                        f"dissolve pass {'on' if opts.dissolve_window > 0 else 'off'}")

            with clock.time("decode only", frames=n) as row:
                got = 0
                for batch in iter_frames(video.path, step, size, opts.batch_size,
                                         duration=video.duration, fit=opts.frame_fit):
                    got += len(batch.times)
            row.note = f"{got} frames of {size} px ({opts.frame_fit})"

            log("decoding the frames again, kept for the encoder (not timed)")
            batches = [b.pixels for b in iter_frames(video.path, step, size, opts.batch_size,
                                                     duration=video.duration, fit=opts.frame_fit)]
            with clock.time("encoder only", frames=n) as row:
                for pixels in batches:
                    encoder.encode_images(pixels)
            row.note = f"batches of {opts.batch_size}"
            del batches

            with clock.time("film hash") as row:
                file_digest(video.path)
            row.note = "inside embed_film, even with caches off"

            with clock.time("embed_film", frames=n, in_score="embed frames") as row:
                frames = embed_film(video, encoder, step, opts.batch_size, use_cache=False,
                                    fit=opts.frame_fit)
            row.note = "decode + encode overlapped"

            with clock.time("scan library", in_score="scan library") as row:
                scan = scan_library(library, None, use_cache=False)
            with clock.time("embed library", in_score="embed library") as row2:
                index = build_index(scan, encoder, opts.text_template, use_cache=False)
            row.note = f"{len(scan.entries)} sounds"
            row2.note = f"{len(set(index.sentences))} sentences"

            with clock.time("match", in_score="match") as row:
                matches = match_film(frames.vectors, frames.step, scenes, index, opts.sync, video.fps,
                                     ambience=opts.ambience)
            placements = matches.placements
            n_sfx = sum(p.role == "sfx" for p in placements)
            row.note = f"{n_sfx} sfx, {len(placements) - n_sfx} ambience placements"

            with clock.time("mixdown", in_score="mixdown"):
                report = render_mix(placements, video.duration, out / "bench.mix.wav",
                                    ambience_gain_db=opts.ambience_gain_db,
                                    sfx_gain_db=opts.sfx_gain_db)
            with clock.time("mux", in_score="mux"):
                mux_mix(video, report.path, out / scored_name(video, "bench"))

            with clock.time("timeline", in_score="timeline"):
                # What Scorer._write does in its "timeline" stage.
                timeline = build_timeline(video, scenes, placements, "bench", opts.start_timecode)
                write_json(out / "bench.events.json", {
                    "autofoley_version": __version__,
                    "film": to_plain(video),
                    "model": encoder.identity,
                    "options": json.loads(json.dumps(opts.to_dict(), default=str)),
                    "scenes": [to_plain(s) for s in scenes],
                    "events": [p.to_json() for p in placements],
                })
                write_timeline(timeline, out / "bench.otio")

            # A fresh Scorer so the library is scanned and embedded again, as for
            # a first film; it shares the loaded (and warmed) model.
            reporter = NullReporter()
            scorer = Scorer(args.clip_model, options=opts, encoder=encoder)
            with clock.time("Scorer.score()", frames=n) as row:
                result = scorer.score(video.path, library, out / "e2e", reporter=reporter, name="bench")
            if result.frames_cached:
                sys.exit("bench: score() read cached frame embeddings; the timing is void")
            row.timings = dict(reporter.timings)
            inside = sum(reporter.timings.values())
            row.note = f"{row.seconds - inside:.3f} s outside its stages"

    decode, encode = clock.best("decode only").seconds, clock.best("encoder only").seconds
    embed = clock.best("embed_film").seconds
    fastest = clock.best("Scorer.score()")
    e2e, in_score = fastest.seconds, fastest.timings
    rows = []
    for r in clock.rows():
        rows.append({
            "stage": r.stage,
            "seconds": round(r.seconds, 4),
            "runs_s": [round(x.seconds, 4) for x in clock.runs[r.stage]],
            "in_score_s": round(in_score[r.in_score], 4) if r.in_score else None,
            "frames": r.frames,
            "frames_per_s": round(r.frames / r.seconds, 1) if r.frames and r.seconds else None,
            "note": r.note,
        })
    # Stages score() runs that this script does not time on its own (new
    # outputs such as the report): listed so the column adds up to the total.
    covered = {r.in_score for r in clock.rows()}
    extra = [{"stage": stage, "seconds": None, "runs_s": [], "in_score_s": round(t, 4),
              "frames": None, "frames_per_s": None, "note": "timed inside score() only"}
             for stage, t in in_score.items() if stage not in covered]
    rows[-1:-1] = extra  # before the Scorer.score() row
    return {
        "film": {"path": str(video.path), "duration_s": round(video.duration, 3),
                 "size": f"{video.width}x{video.height}", "fps": float(video.fps),
                 "grid_frames": n, "step_s": step},
        "model": encoder.identity,
        "device": str(encoder.device),
        "image_size": size,
        "torch_threads": torch.get_num_threads(),
        "batch_size": opts.batch_size,
        "repeat": args.repeat,
        "cpu_count": os.cpu_count(),
        # Other work on the machine slows every stage; this says how busy it was.
        "load_avg_1min": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
        "stages": rows,
        "summary": {
            "decode_plus_encode_s": round(decode + encode, 4),
            "end_to_end_s": round(e2e, 4),
            "end_to_end_over_decode_plus_encode": round(e2e / (decode + encode), 3),
            "embed_film_s": round(embed, 4),
            "embed_film_over_decode_plus_encode": round(embed / (decode + encode), 3),
            "overlap_saved_s": round(decode + encode - embed, 4),
        },
    }


# --------------------------------------------------------------------------- report


def _fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_report(res: dict) -> None:
    f, s = res["film"], res["summary"]
    print(f"film   {f['duration_s']:g} s {f['size']} @ {f['fps']:g} fps, "
          f"{f['grid_frames']} frames on the {f['step_s']:g} s grid")
    print(f"model  {res['model']} on {res['device']}, {res['image_size']} px, "
          f"batch {res['batch_size']}, {res['torch_threads']} torch threads")
    load = res["load_avg_1min"]
    print(f"load   1-min load average {load['before']:g} before, {load['after']:g} after, "
          f"on {res['cpu_count']} CPUs")
    print()
    header = f"{'stage':<17} {'seconds':>9} {'in score()':>11} {'frames/s':>9}  note"
    print(header)
    print("-" * len(header))
    for r in res["stages"]:
        if r["stage"] == "Scorer.score()":
            print("-" * len(header))
        print(f"{r['stage']:<17} {_fmt(r['seconds'], '9.3f'):>9} {_fmt(r['in_score_s'], '.3f'):>11} "
              f"{_fmt(r['frames_per_s'], '.1f'):>9}  {r['note']}")
    print()
    print(f"decode only + encoder only     {s['decode_plus_encode_s']:8.3f} s")
    print(f"embed_film (overlapped)        {s['embed_film_s']:8.3f} s   "
          f"= {s['embed_film_over_decode_plus_encode']:.2f} x decode+encode "
          f"(overlap saves {s['overlap_saved_s']:.3f} s)")
    print(f"Scorer.score() end to end      {s['end_to_end_s']:8.3f} s   "
          f"= {s['end_to_end_over_decode_plus_encode']:.2f} x decode+encode  <- key figure")


# --------------------------------------------------------------------------- CLI


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError("size must look like 1280x720") from None
    if w < 16 or h < 16 or w % 2 or h % 2:
        raise argparse.ArgumentTypeError("width and height must be even and at least 16")
    return w, h


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Time each stage of autofoley's scoring pipeline on a synthetic film "
                    "and library, caches off.")
    p.add_argument("--clip-model", default="autofoley-tiny",
                   help="registry or open_clip model name (default: %(default)s)")
    p.add_argument("--clip-pretrained", default=None,
                   help="weights: tag, checkpoint, or 'none' for random (e.g. ViT-B-32 timing)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N (default: auto)")
    p.add_argument("--batch-size", type=int, default=64, help="frames per encoder batch (default: 64)")
    p.add_argument("--threads", type=int, default=0,
                   help="torch.set_num_threads (default: torch's own choice)")
    p.add_argument("--duration", type=float, default=60.0, help="film seconds (default: 60)")
    p.add_argument("--size", type=_size, default=(1280, 720), help="film WxH (default: 1280x720)")
    p.add_argument("--work", default=None,
                   help="folder for the film and library, reused when present "
                        "(default: a temporary folder, deleted afterwards)")
    p.add_argument("--repeat", type=int, default=1,
                   help="time every stage this many times and keep the fastest (default: 1)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.duration < 1:
        sys.exit("bench: --duration must be at least 1 s")
    if args.repeat < 1:
        sys.exit("bench: --repeat must be at least 1")
    if args.batch_size < 1:
        sys.exit("bench: --batch-size must be at least 1")
    try:
        tool("ffmpeg"), tool("ffprobe")
    except ToolError as exc:
        sys.exit(f"bench: {exc}")
    result = run(args)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_report(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
