"""A small scored film made by hand, shared by the export and MLT tests: sounds
with sharp onsets in several formats and rates, placements on several layout
groups (overlaps, fades of many frames, a sub-frame in-point, a level, two
files with one name, looped ambience beds), and its timeline."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf

from autofoley.media.probe import probe, tool
from autofoley.output.mixdown import render_mix
from autofoley.output.timeline import build_timeline, write_timeline
from autofoley.placement.beds import ambience_placements
from autofoley.records import Placement, Scene, SoundEntry, VideoInfo

FPS = Fraction(25)
SECONDS = 8.0
START_TC = "01:00:00:00"
AMBIENCE_GAIN = -12.0


@dataclass
class Delivery:
    root: Path
    video: VideoInfo
    scenes: list[Scene]
    placements: list[Placement]
    otio_path: Path
    mix: Path  # autofoley's own mix, stems beside it (sfx.wav, ambience.wav)

    @property
    def sfx(self) -> list[Placement]:
        return [p for p in self.placements if p.role == "sfx"]


def _hit(sr: int, seconds: float, rng, f0: float) -> np.ndarray:
    """A sharp attack at sample 0 and a decay: its onset is unambiguous."""
    t = np.arange(int(sr * seconds)) / sr
    env = np.exp(-t / 0.12)
    return (0.6 * env * (0.6 * np.sin(2 * np.pi * f0 * t) + 0.4 * rng.standard_normal(len(t))))


def _entry(path: Path, category: str, kind: str = "sfx", offset: float = 0.0) -> SoundEntry:
    info = sf.info(str(path))
    return SoundEntry(path=path.resolve(), description=path.stem, category=category, kind=kind,
                      duration=info.duration - offset, sample_rate=info.samplerate,
                      channels=info.channels, offset=offset, file_duration=info.duration)


def make_delivery(root: Path) -> Delivery:
    root = Path(root)
    rng = np.random.default_rng(11)
    lib = root / "lib"
    files = {}

    def write(rel: str, data: np.ndarray, sr: int, **kw) -> Path:
        path = lib / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(path), data.astype(np.float32), sr, **kw)
        files[rel] = path
        return path

    write("Doors/DOORWood_Door Slam_AF_Test.wav", _hit(44100, 1.0, rng, 180), 44100)
    # Two barks: the entry used starts 0.97 s in (a sub-frame in-point at 25 fps).
    bark = np.concatenate([_hit(48000, 1.0, rng, 400), _hit(48000, 1.0, rng, 520)])
    write("Animals/ANMLDog_Dog Bark Twice_AF_Test.flac", np.stack([bark, 0.8 * bark], 1), 48000)
    t = np.arange(3 * 48000) / 48000
    car = 0.4 * np.sin(np.pi * t / 3) * rng.standard_normal(len(t))
    write("Vehicles/VEHCar_Car Pass_AF_Test.ogg", np.stack([car, car], 1), 48000)
    write("A/Hit.wav", _hit(48000, 0.5, rng, 900), 48000)
    write("B/Hit.wav", _hit(48000, 0.7, rng, 300), 48000)
    forest = 0.2 * rng.standard_normal((int(2.5 * 48000), 2))
    write("Ambience/AMBForst_Forest Birds_AF_Test.wav", forest, 48000)
    city = 0.2 * rng.standard_normal((5 * 44100, 2))
    write("Ambience/AMBUrbn_City Hum_AF_Test.wav", city, 44100)

    door = _entry(files["Doors/DOORWood_Door Slam_AF_Test.wav"], "DOORS")
    dog = _entry(files["Animals/ANMLDog_Dog Bark Twice_AF_Test.flac"], "ANIMALS", offset=0.97)
    car = _entry(files["Vehicles/VEHCar_Car Pass_AF_Test.ogg"], "VEHICLES")
    hit_a = _entry(files["A/Hit.wav"], "UNCATEGORIZED")
    hit_b = _entry(files["B/Hit.wav"], "UNCATEGORIZED")
    forest_e = _entry(files["Ambience/AMBForst_Forest Birds_AF_Test.wav"], "AMBIENCE", "ambience")
    city_e = _entry(files["Ambience/AMBUrbn_City Hum_AF_Test.wav"], "AMBIENCE", "ambience")

    film = root / "film.mp4"
    subprocess.run([tool("ffmpeg"), "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=size=320x180:rate=25:duration={SECONDS}", "-c:v", "libx264",
                    "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(film)], check=True,
                   timeout=300, stdin=subprocess.DEVNULL)
    video = probe(film)
    scenes = [Scene(0, 0.0, 4.0), Scene(1, 4.0, SECONDS)]

    def sfx(sound, start, end, scene, **kw):
        return Placement(sound, start, end, 0.0, 0.8, scene, "sfx",
                         alternates=(("/lib/other.wav", 0.4),), **kw)

    placements = [
        sfx(door, 0.40, 1.40, 0, fade_in=0.01, fade_out=0.01),
        sfx(dog, 0.80, 1.80, 0, fade_in=0.01, fade_out=0.1),
        sfx(car, 2.00, 4.00, 0, fade_in=0.2, fade_out=0.5),
        sfx(hit_a, 4.40, 4.80, 1, fade_in=0.01, fade_out=0.01),
        sfx(hit_b, 4.60, 5.20, 1, fade_in=0.01, fade_out=0.01),
        sfx(door, 6.00, 7.00, 1, fade_in=0.01, fade_out=0.01, gain_db=-3.0),
    ]
    placements += ambience_placements(scenes[0], forest_e, 0.3, FPS)
    placements += ambience_placements(scenes[1], city_e, 0.3, FPS)
    # As the pipeline does: the mix first, its normalisation gain into the timeline.
    report = render_mix(placements, SECONDS, root / "mix.wav", ambience_gain_db=AMBIENCE_GAIN,
                        stems_dir=root)
    timeline = build_timeline(video, scenes, placements, "film", START_TC, "standard",
                              {"ambience": AMBIENCE_GAIN}, report.gain_db_applied)
    otio_path = write_timeline(timeline, root / "film.otio")
    return Delivery(root, video, scenes, placements, otio_path, report.path)
