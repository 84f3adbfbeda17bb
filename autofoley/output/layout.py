"""Track layouts: which audio track of the timeline each placed sound goes on.

A layout is a JSON template (``timelines/*.json``, installed as the package
``autofoley.shipped_timelines``, or any file passed by path) listing groups of
tracks in timeline order, A1 first::

    {"name": "standard", "description": "...",
     "groups": [{"name": "AMB", "role": "ambience", "categories": ["*"], "tracks": 2},
                {"name": "SFX Vehicles", "role": "sfx",
                 "categories": ["VEHICLES", "AIRCRAFT"], "tracks": 2, "max_tracks": 2},
                {"name": "SFX Misc", "role": "sfx", "categories": ["*"], "tracks": 1}]}

- A sound goes to the first group of its role whose ``categories`` hold its
  category (case-insensitive; ``"*"`` holds every category).
- A group always has ``tracks`` tracks, even empty ones, so a template gives
  every film (every reel) the same track numbers. It grows to ``max_tracks``
  (no limit when absent) when more of its sounds overlap; past that, sounds go
  to the role's catch-all group (the first with ``"*"``, which has no limit).
- On a track, clips never overlap and never butt: the next clip starts at
  least one frame after the previous one ends. Sound editors checkerboard
  like this so each clip can be extended and faded on its own; it is also
  what lets every fade be an OTIO transition against a gap.
- Tracks are named after their group, numbered ("SFX Foley 1", "SFX Foley 2")
  unless the group is capped at one track ("SFX Nature").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from importlib import resources
from pathlib import Path

from autofoley.errors import AutofoleyError
from autofoley.records import Placement

ROLES = ("sfx", "ambience")
DEFAULT_LAYOUT = "standard"
ANY = "*"


class LayoutError(AutofoleyError):
    """A layout name is unknown or a template file is invalid (a usage error)."""

    exit_code = 2


@dataclass(frozen=True)
class TrackGroup:
    name: str
    role: str  # "sfx" or "ambience"
    categories: tuple[str, ...]  # upper-case category names; "*" for any
    tracks: int = 1  # tracks the group always has
    max_tracks: int | None = None  # None: grows as needed

    @property
    def catch_all(self) -> bool:
        return ANY in self.categories

    def holds(self, category: str) -> bool:
        return self.catch_all or category.strip().upper() in self.categories

    def track_name(self, lane: int) -> str:
        return self.name if self.max_tracks == 1 else f"{self.name} {lane + 1}"


@dataclass(frozen=True)
class LaidTrack:
    """One audio track of a laid-out timeline, in A-number order."""

    name: str
    role: str
    group: str
    placements: tuple[Placement, ...]


@dataclass(frozen=True)
class Layout:
    name: str
    description: str
    groups: tuple[TrackGroup, ...]
    source: str = ""  # the template file, for messages

    def group_for(self, placement: Placement) -> TrackGroup:
        """The group a placement goes to before any overflow."""
        for g in self.groups:
            if g.role == placement.role and g.holds(placement.sound.category):
                return g
        raise ValueError(f"layout {self.name!r} has no track for role {placement.role!r}")

    def overflow(self, role: str) -> TrackGroup:
        return next(g for g in self.groups if g.role == role and g.catch_all)

    def arrange(self, placements: list[Placement], fps: Fraction | float) -> list[LaidTrack]:
        """Spread ``placements`` over the layout's tracks.

        Within a group each sound takes the lowest track whose last clip ended
        at least one frame before its start (frames at ``fps``), so a group
        uses as few tracks as its sounds' overlaps allow. Raises ValueError for
        a placement whose role the layout has no group for.
        """
        rate = float(fps)
        lanes: dict[str, list[list[Placement]]] = {g.name: [[] for _ in range(g.tracks)]
                                                    for g in self.groups}
        ends: dict[str, list[int]] = {g.name: [-1] * g.tracks for g in self.groups}

        def span(p: Placement) -> tuple[int, int]:
            s = int(round(p.start * rate))
            return s, max(int(round(p.end * rate)), s + 1)

        order = sorted(placements, key=lambda p: (*span(p), p.role, str(p.sound.path)))
        for p in order:
            if p.role not in ROLES:
                raise ValueError(f"placement of {p.sound.path.name} has unknown role {p.role!r}")
            s, e = span(p)
            group = self.group_for(p)
            lane = _free_lane(ends[group.name], s)
            full = group.max_tracks is not None and len(ends[group.name]) >= group.max_tracks
            if lane is None and full:
                group = self.overflow(p.role)
                lane = _free_lane(ends[group.name], s)
            if lane is None:
                lane = len(ends[group.name])
                ends[group.name].append(-1)
                lanes[group.name].append([])
            ends[group.name][lane] = e
            lanes[group.name][lane].append(p)
        out = []
        for g in self.groups:
            for i, items in enumerate(lanes[g.name]):
                out.append(LaidTrack(g.track_name(i), g.role, g.name, tuple(items)))
        return out


def _free_lane(ends: list[int], start: int) -> int | None:
    # Strictly before: a clip never butts the previous one on its track.
    return next((i for i, e in enumerate(ends) if e < start), None)


def layouts_dir() -> Path:
    """The folder of shipped layout templates."""
    return Path(str(resources.files("autofoley.shipped_timelines")))


def available_layouts() -> list[str]:
    """Names of the shipped layouts (``--layout NAME``)."""
    return sorted(p.stem for p in layouts_dir().glob("*.json"))


def load_layout(name_or_path: str | Path | None = None) -> Layout:
    """A shipped layout by name (default ``standard``) or a template file by path."""
    text = str(name_or_path or DEFAULT_LAYOUT)
    path = Path(text).expanduser()
    if not (text.endswith(".json") or path.is_file()):
        path = layouts_dir() / f"{text}.json"
        if not path.is_file():
            raise LayoutError(f"unknown layout {text!r}", None,
                              f"use one of {', '.join(available_layouts())} or a template .json")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LayoutError("layout template not found", path, "check the --layout path") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LayoutError(f"layout template is not valid JSON ({exc})", path,
                          "fix it; see timelines/README.md") from None
    return parse_layout(data, str(path))


def parse_layout(data: dict, source: str = "<layout>") -> Layout:
    """Validate a template's parsed JSON; every problem is a LayoutError."""
    def bad(msg: str) -> LayoutError:
        return LayoutError(msg, source, "see timelines/README.md for the template format")

    if not isinstance(data, dict) or not isinstance(data.get("groups"), list) or not data["groups"]:
        raise bad("a layout needs a non-empty \"groups\" list")
    unknown = set(data) - {"name", "description", "groups"}
    if unknown:
        raise bad(f"unknown key(s) {sorted(unknown)}")
    groups: list[TrackGroup] = []
    for i, g in enumerate(data["groups"]):
        if not isinstance(g, dict):
            raise bad(f"group {i + 1} is not an object")
        extra = set(g) - {"name", "role", "categories", "tracks", "max_tracks"}
        if extra:
            raise bad(f"group {i + 1} has unknown key(s) {sorted(extra)}")
        name, role, cats = g.get("name"), g.get("role"), g.get("categories", [ANY])
        tracks, cap = g.get("tracks", 1), g.get("max_tracks")
        if not isinstance(name, str) or not name.strip():
            raise bad(f"group {i + 1} needs a \"name\"")
        if role not in ROLES:
            raise bad(f"group {name!r}: \"role\" must be one of {list(ROLES)}")
        if not isinstance(cats, list) or not cats or not all(isinstance(c, str) for c in cats):
            raise bad(f"group {name!r}: \"categories\" must be a list of category names")
        if not isinstance(tracks, int) or isinstance(tracks, bool) or tracks < 0:
            raise bad(f"group {name!r}: \"tracks\" must be a whole number >= 0")
        if cap is not None and (not isinstance(cap, int) or isinstance(cap, bool)
                                or cap < max(1, tracks)):
            raise bad(f"group {name!r}: \"max_tracks\" must be a whole number >= tracks and >= 1")
        if any(x.name == name.strip() for x in groups):
            raise bad(f"two groups are named {name!r}")
        groups.append(TrackGroup(name.strip(), role, tuple(c.strip().upper() for c in cats),
                                 tracks, cap))
    for role in ROLES:
        catch = [g for g in groups if g.role == role and g.catch_all]
        if not catch:
            raise bad(f"no group takes every {role} category: give one \"categories\": [\"*\"]")
        if catch[0].max_tracks is not None:
            raise bad(f"group {catch[0].name!r} takes the {role} overflow, so it cannot have "
                      "\"max_tracks\"")
    return Layout(str(data.get("name") or Path(source).stem), str(data.get("description", "")),
                  tuple(groups), source)
