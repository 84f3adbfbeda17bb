"""What exists in the lab world: things that can be on screen, places, and sounds.

The lab world shares nothing with the demo world (``examples/demo_world``):
other objects, other places, other sounds, other distractors. It exists to
measure autofoley on footage that nothing was tuned on.

Each ``Thing`` names the sound class it makes (``None`` for silent things),
the words a caption may use for it and where it usually sits in a frame.
Each ``Locale`` names its ambience class and the words for it. Sound class
names are what the library truth (``truth/library.json``) and the film truth
(``events[].sound_class``) agree on.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Thing:
    """A kind of object that can be on screen."""

    name: str
    nouns: tuple[str, ...]  # caption nouns; the plain name first
    doing: tuple[str, ...]  # what may follow the noun in a caption
    sound: str | None  # its sound class; None: it makes no sound
    height: tuple[float, float]  # typical centre height in the frame (fraction, 0 = top)
    size: tuple[float, float]  # typical largest extent, fraction of the frame height
    continuous: bool = False  # a running sound (hum, hiss) rather than separate hits


@dataclass(frozen=True)
class Locale:
    """A place a shot happens in."""

    name: str
    nouns: tuple[str, ...]
    where: tuple[str, ...]  # "in the desert", ...
    ambience: str  # ambience class of the place
    air: tuple[str, ...]  # words for the place's sound, used in keyword captions


THINGS: tuple[Thing, ...] = (
    Thing("snake", ("snake", "rattlesnake", "serpent", "green snake"),
          ("hissing", "hissing loudly", "coiled on the ground", "flicking its tongue", "slithering"),
          "snake_hiss", (0.62, 0.8), (0.42, 0.62), continuous=True),
    Thing("kettle", ("kettle", "tea kettle", "whistling kettle", "steel kettle"),
          ("whistling", "boiling", "letting off steam", "with a steaming spout"),
          "kettle_whistle", (0.5, 0.72), (0.4, 0.58), continuous=True),
    Thing("fan", ("fan", "electric fan", "desk fan", "table fan"),
          ("humming", "spinning", "blowing air", "whirring"),
          "fan_hum", (0.45, 0.65), (0.52, 0.72), continuous=True),
    Thing("horse", ("horse", "brown horse", "stallion", "pony"),
          ("galloping", "trotting", "running", "with a dark mane"),
          "horse_gallop", (0.55, 0.7), (0.6, 0.85), continuous=True),
    Thing("cat", ("cat", "kitten", "grey cat", "house cat"),
          ("meowing", "sitting", "with green eyes", "mewing"),
          "cat_meow", (0.58, 0.75), (0.4, 0.56)),
    Thing("saw", ("saw", "hand saw", "handsaw", "wood saw"),
          ("sawing", "cutting wood", "with sharp teeth", "rasping"),
          "saw_cutting", (0.45, 0.68), (0.5, 0.7), continuous=True),
    Thing("frog", ("frog", "green frog", "bullfrog", "toad"),
          ("croaking", "ribbiting", "with bulging eyes", "sitting still"),
          "frog_croak", (0.66, 0.82), (0.3, 0.44)),
    Thing("helicopter", ("helicopter", "chopper", "yellow helicopter", "rotorcraft"),
          ("flying", "hovering", "with spinning rotors", "whirring overhead"),
          "helicopter_rotor", (0.22, 0.42), (0.52, 0.74), continuous=True),
    Thing("hammer", ("hammer", "claw hammer", "steel hammer", "mallet"),
          ("hammering", "striking", "banging", "with a wooden handle"),
          "hammer_hit", (0.45, 0.68), (0.42, 0.58)),
    Thing("ship", ("ship", "boat", "cargo ship", "steamship"),
          ("sounding its horn", "sailing", "in port", "with a red funnel"),
          "ship_horn", (0.42, 0.56), (0.62, 0.85), continuous=True),
    Thing("chime", ("wind chime", "chimes", "metal chimes", "hanging chimes"),
          ("chiming", "tinkling", "swaying in the wind", "ringing softly"),
          "chime_ring", (0.3, 0.45), (0.46, 0.62)),
    Thing("cactus", ("cactus", "saguaro", "green cactus", "desert cactus"),
          ("with spines", "standing tall", "with two arms"),
          None, (0.5, 0.66), (0.55, 0.8)),
    Thing("snowman", ("snowman", "snow man", "white snowman", "frosty snowman"),
          ("with a carrot nose", "with a black hat", "standing still"),
          None, (0.52, 0.66), (0.55, 0.76)),
    Thing("crate", ("crate", "wooden crate", "wooden box", "box"),
          ("made of planks", "sitting on the floor", "nailed shut"),
          None, (0.6, 0.76), (0.38, 0.52)),
)

LOCALES: tuple[Locale, ...] = (
    Locale("desert", ("desert", "sand dunes", "sandy desert", "dunes"),
           ("in the desert", "among sand dunes", "in a hot desert", "on the dunes"),
           "desert_ambience", ("desert wind", "dry", "sand", "hot", "empty")),
    Locale("workshop", ("workshop", "carpentry workshop", "woodshop", "workbench"),
           ("in a workshop", "on a workbench", "in a woodshop", "in the carpentry shop"),
           "workshop_ambience", ("workshop", "room tone", "machinery", "interior")),
    Locale("snowfield", ("snowfield", "snowy field", "snow", "winter landscape"),
           ("in the snow", "on a snowy field", "in winter", "in a snowy landscape"),
           "snowfield_ambience", ("snow", "cold wind", "winter", "quiet")),
    Locale("office", ("office", "open-plan office", "office room", "workplace"),
           ("in an office", "in the office", "on an office desk", "at work"),
           "office_ambience", ("office", "air conditioning", "room tone", "interior")),
    Locale("harbour", ("harbour", "harbor", "port", "pier"),
           ("in the harbour", "at the port", "by the pier", "at the docks"),
           "harbour_ambience", ("harbour", "water lapping", "sea", "docks")),
)

THING = {t.name: t for t in THINGS}
LOCALE = {p.name: p for p in LOCALES}
SOUNDING = tuple(t for t in THINGS if t.sound)
SILENT = tuple(t for t in THINGS if not t.sound)

# Sounds in the library that nothing on screen makes.
DISTRACTORS: tuple[str, ...] = ("crowd_cheer", "explosion", "siren", "wolf_howl")


def article(noun: str) -> str:
    """``noun`` with "a" or "an" in front (plurals and mass nouns get none)."""
    if noun in ("chimes", "metal chimes", "hanging chimes", "snow", "sand dunes", "dunes"):
        return noun
    return ("an " if noun[0] in "aeiou" else "a ") + noun
