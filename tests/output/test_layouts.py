"""Track layouts: categories land on the tracks the template names, clips never
overlap or butt on a track, and the templates ship with the package."""

from __future__ import annotations

import json
import sys
from fractions import Fraction
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from autofoley._cli.main import main
from autofoley.output.layout import (
    LayoutError,
    available_layouts,
    load_layout,
    parse_layout,
)
from autofoley.output.timeline import track_names
from autofoley.records import Placement, SoundEntry

FPS = Fraction(25)
REPO = Path(__file__).resolve().parents[2]


def _sound(category: str, kind: str = "sfx", name: str | None = None) -> SoundEntry:
    return SoundEntry(path=Path(f"/lib/{name or category.title()}.wav"), description=category,
                      category=category, kind=kind, duration=3.0, sample_rate=48000, channels=2)


def _place(category: str, start: float, end: float, role: str = "sfx") -> Placement:
    return Placement(_sound(category, role), start, end, 0.0, 0.5, 0, role)


def _frames(p: Placement) -> tuple[int, int]:
    s = round(p.start * FPS)
    return s, max(round(p.end * FPS), s + 1)


def test_shipped_layouts_are_listed_and_installed_as_package_data():
    assert {"standard", "compact"} <= set(available_layouts())
    folder = resources.files("autofoley.shipped_timelines")
    assert folder.joinpath("standard.json").is_file() and folder.joinpath("compact.json").is_file()
    # The mapping that puts them into a wheel, as models/ is.
    if sys.version_info >= (3, 11):
        import tomllib

        conf = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
        assert conf["package-dir"]["autofoley.shipped_timelines"] == "timelines"
        assert "autofoley.shipped_timelines" in conf["packages"]
        assert "*.json" in conf["package-data"]["autofoley.shipped_timelines"]


def test_standard_puts_each_category_where_the_template_says():
    layout = load_layout("standard")
    cases = {  # category -> the track its first sound goes to
        "FOOTSTEPS": "SFX Foley 1", "CLOTH": "SFX Foley 1", "DOORS": "SFX Hard FX 1",
        "GLASS": "SFX Hard FX 1", "VEHICLES": "SFX Vehicles 1", "aircraft": "SFX Vehicles 1",
        "ANIMALS": "SFX Animals 1", "BIRDS": "SFX Animals 1", "WATER": "SFX Nature",
        "GUNS": "SFX Weapons", "WHOOSHES": "SFX Design", "VOICES": "SFX Human",
        "UNCATEGORIZED": "SFX Misc 1", "AMBIENCE": "AMB 1",
    }
    for i, (category, track) in enumerate(cases.items()):
        role = "ambience" if category == "AMBIENCE" else "sfx"
        p = _place(category, i * 2.0, i * 2.0 + 1.0, role)
        assert track_names([p], FPS, layout) == [track], category
    # The template's own table, read back: every listed category resolves to its group.
    data = json.loads((REPO / "timelines" / "standard.json").read_text())
    for group in data["groups"]:
        for category in group["categories"]:
            if category != "*":
                assert layout.group_for(_place(category, 0, 1, group["role"])).name == group["name"]


def test_fixed_tracks_keep_their_numbers_and_overflow_goes_to_misc():
    layout = load_layout("standard")
    empty = [t.name for t in layout.arrange([], FPS)]
    assert empty[:2] == ["AMB 1", "AMB 2"] and empty[-1] == "SFX Misc 1"
    # Three cars at once: the group holds two, the third goes to the catch-all.
    cars = [_place("VEHICLES", 1.0, 3.0), _place("VEHICLES", 1.5, 3.0), _place("VEHICLES", 2.0, 4.0)]
    names = track_names(cars, FPS, layout)
    assert names == ["SFX Vehicles 1", "SFX Vehicles 2", "SFX Misc 1"]
    # Every film gets the same A-numbers for the fixed groups.
    busy = [t.name for t in layout.arrange(cars, FPS)]
    assert busy == empty


@pytest.mark.parametrize("name", ["standard", "compact"])
def test_clips_never_overlap_or_butt_on_a_track(name):
    layout = load_layout(name)
    rng = np.random.default_rng(7)
    categories = ["FOOTSTEPS", "DOORS", "VEHICLES", "ANIMALS", "WATER", "GUNS", "WHOOSHES",
                  "VOICES", "ODDITIES"]
    placements = []
    for _ in range(400):
        start = round(float(rng.uniform(0, 120)) * 25) / 25
        length = max(1, int(rng.integers(1, 100))) / 25
        role = "ambience" if rng.random() < 0.1 else "sfx"
        placements.append(_place("AMBIENCE" if role == "ambience" else str(rng.choice(categories)),
                                 start, start + length, role))
    placements.append(_place("DOORS", 10.0, 11.0))  # two that butt
    placements.append(_place("DOORS", 11.0, 12.0))
    laid = layout.arrange(placements, FPS)
    seen = [p for t in laid for p in t.placements]
    assert sorted(map(id, seen)) == sorted(map(id, placements))  # each placed exactly once
    for track in laid:
        spans = sorted(_frames(p) for p in track.placements)
        for (_, end), (start, _) in zip(spans, spans[1:]):
            assert end < start, f"{track.name}: a clip ends at frame {end}, the next starts at {start}"
        assert all(p.role == track.role for p in track.placements)


def test_compact_uses_as_few_tracks_as_the_overlaps_need():
    layout = load_layout("compact")
    rng = np.random.default_rng(3)
    placements = [_place("DOORS", s, s + float(rng.uniform(0.2, 3.0)))
                  for s in np.round(rng.uniform(0, 60, 120) * 25) / 25]
    sfx_tracks = [t for t in layout.arrange(placements, FPS) if t.role == "sfx"]
    # Clips that touch (butt) need separate tracks too: the most clips covering
    # any frame, counting each clip's end frame, is the least possible.
    depth = np.zeros(60 * 25 + 200, int)
    for p in placements:
        s, e = _frames(p)
        depth[s:e + 1] += 1
    assert len(sfx_tracks) == depth.max()
    assert [t.name for t in sfx_tracks][:2] == ["SFX 1", "SFX 2"]


def test_a_template_by_path_and_its_errors(tmp_path):
    good = tmp_path / "mine.json"
    good.write_text(json.dumps({"name": "mine", "groups": [
        {"name": "BG", "role": "ambience", "categories": ["*"], "tracks": 1},
        {"name": "Dogs", "role": "sfx", "categories": ["animals"], "tracks": 1, "max_tracks": 1},
        {"name": "FX", "role": "sfx", "categories": ["*"], "tracks": 0}]}))
    layout = load_layout(str(good))
    assert [t.name for t in layout.arrange([], FPS)] == ["BG 1", "Dogs"]  # FX: none until used
    assert track_names([_place("ANIMALS", 0, 1), _place("DOORS", 0, 1)], FPS, layout) == ["Dogs", "FX 1"]

    bad = [
        ({"groups": []}, "groups"),
        ({"groups": [{"name": "A", "role": "music", "categories": ["*"]}]}, "role"),
        ({"groups": [{"name": "A", "role": "sfx", "categories": ["*"], "colour": 1}]}, "unknown"),
        ({"groups": [{"name": "A", "role": "sfx", "categories": ["DOORS"]},
                     {"name": "B", "role": "ambience", "categories": ["*"]}]}, "every sfx"),
        ({"groups": [{"name": "A", "role": "sfx", "categories": ["*"], "max_tracks": 2},
                     {"name": "B", "role": "ambience", "categories": ["*"]}]}, "overflow"),
        ({"groups": [{"name": "A", "role": "sfx", "categories": ["*"], "tracks": -1},
                     {"name": "B", "role": "ambience", "categories": ["*"]}]}, "tracks"),
    ]
    for data, words in bad:
        with pytest.raises(LayoutError, match=words) as err:
            parse_layout(data, "x.json")
        assert "\n" not in str(err.value) and err.value.exit_code == 2
    with pytest.raises(LayoutError, match="unknown layout 'nope'.*standard"):
        load_layout("nope")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(LayoutError, match="not valid JSON"):
        load_layout(str(broken))


def test_cli_rejects_a_bad_layout_before_any_work(tmp_path, capsys):
    film = tmp_path / "film.mp4"
    film.write_bytes(b"")  # never read: the layout is checked first
    code = main(["score", str(film), "--library", str(tmp_path), "--layout", "nope", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "unknown layout 'nope'" in err and len(err.strip().splitlines()) == 1
