#!/usr/bin/env python3
"""Write the lab world to disk: an SFX library, seven films and their ground truth.

    python examples/make_lab.py [--out examples/lab] [--seed 0] [--films NAME ... | --no-films]

The lab world (``examples/lab_world``) is a second world, independent of the
demo world, for measuring autofoley on footage nothing was tuned on. Layout
of ``--out``:

    library/             the SFX library (UCS and legacy names, category folders, library.csv)
    truth/library.json   what each library file really is (kept out of the library)
    films/<name>.mp4     the films (H.264 + AAC production sound)
    truth/<name>.json    cuts, scenes and on-screen events of each film

The seed sets the sounds and the films' look; the films' scripts stay the
same. The same seed writes the same bytes with the same ffmpeg build. The
CLIP model's training pictures are not written: ``train_lab_clip.py``
renders them on the fly. Needs ffmpeg on PATH.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lab_world import films, library  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "lab",
                        help="output folder (default: examples/lab)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sounds and the films' look (default: 0)")
    parser.add_argument("--films", nargs="*", metavar="NAME",
                        help=f"only these films, and no library (default: all: {', '.join(films.FILM_BY_NAME)})")
    parser.add_argument("--no-films", action="store_true", help="only the library and its truth")
    args = parser.parse_args(argv)
    if shutil.which("ffmpeg") is None:
        print("error: ffmpeg was not found on PATH (install it, e.g. 'apt-get install ffmpeg')", file=sys.stderr)
        return 1
    unknown = [n for n in args.films or [] if n not in films.FILM_BY_NAME]
    if unknown:
        print(f"error: unknown film(s) {', '.join(unknown)}; known: {', '.join(films.FILM_BY_NAME)}", file=sys.stderr)
        return 2
    out: Path = args.out
    started = time.perf_counter()
    if not args.films:
        lib = out / "library"
        if lib.exists():  # a file left from an older plan would be scanned as part of the library
            shutil.rmtree(lib)
        truth = library.write_library(lib, args.seed)
        library.write_truth(out / "truth" / "library.json", truth)
        kinds = {k: sum(1 for v in truth.values() if v["kind"] == k) for k in ("sfx", "ambience", "distractor")}
        takes = sum(1 for v in truth.values() if len(v["events"]) > 1)
        print(f"library: {len(truth)} files ({kinds['sfx']} sfx, {kinds['ambience']} ambiences, "
              f"{kinds['distractor']} distractors; {takes} with several takes), {_size(lib) / 1e6:.1f} MB "
              f"[{time.perf_counter() - started:.0f} s]", flush=True)
    chosen = [films.FILM_BY_NAME[n] for n in args.films] if args.films else films.FILMS
    if args.no_films:
        chosen = []
    for film in chosen:
        t0 = time.perf_counter()
        path, _ = films.make_film(film, out / "films", out / "truth", args.seed)
        info = films.film_truth(film)
        sounding = sum(1 for e in info["events"] if e["sound_class"])
        print(f"film {film.name}: {info['duration']:.1f} s at {info['fps']} fps, {info['width']}x{info['height']}, "
              f"{len(info['scenes'])} shots, {len(info['events'])} events ({sounding} sounding), "
              f"{path.stat().st_size / 1e3:.0f} kB [{time.perf_counter() - t0:.0f} s]", flush=True)
    print(f"wrote {out} ({_size(out) / 1e6:.1f} MB) in {time.perf_counter() - started:.0f} s")
    return 0


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


if __name__ == "__main__":
    sys.exit(main())
