"""The lab world's SFX library: 170 files laid out as a real library is.

- UCS names (``CatID_FXName_CreatorID_SourceID.ext``) in category folders,
  and a few legacy names (``kettle whistle 02 FINAL.wav``) in folders named by
  category, as old libraries have them;
- WAV (16/24-bit, 32-bit float; short sounds), FLAC (16/24-bit) and Ogg
  Vorbis, at 44.1, 48 and 96 kHz, mono and stereo;
- multi-take files: several hits or bursts of one thing, apart by 0.6 s of
  silence or more;
- 3 ambiences per place and 3 files each of 4 distractors (sounds nothing on
  screen makes);
- ``library.csv``: path, description (tags, about the sound, not a picture),
  category, kind (sfx / ambience).

``write_library(root, seed)`` writes it and returns the truth: for every file
(path relative to the library) its sound class, kind ("sfx", "ambience",
"distractor"), place (ambiences), category, duration, the [start, end] of
each take, and its source thing. The same seed writes the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import soundfile as sf

from . import sounds as S

CREATOR = "LW"
SOURCE = "LabWorld"
TAKE_GAP = (0.6, 1.0)  # seconds of silence between takes

Maker = Callable[[np.random.Generator, int], np.ndarray]


@dataclass(frozen=True)
class Entry:
    """One file of the plan."""

    folder: str  # category folder
    name: str  # file name without extension
    category: str
    tags: str
    kind: str  # sfx, ambience or distractor
    sound_class: str | None
    place: str | None
    source: str
    make: Maker
    takes: int = 1  # > 1: the maker is called this many times, with silence between


@dataclass(frozen=True)
class _Group:
    """The files of one sound class."""

    sound_class: str
    source: str
    cat_id: str
    folder: str
    tags: str  # tags every file of the class carries
    variants: tuple[tuple[str, str, Maker], ...]  # (FX name, extra tags, maker)
    takes: tuple[str, str, Maker]  # a multi-take UCS file
    legacy: tuple[str, str, Maker]  # a legacy name, one sound
    legacy_takes: tuple[str, str, Maker]  # a legacy name, several takes


def _u(lo: float, hi: float) -> Callable[[np.random.Generator], float]:
    return lambda g: float(g.uniform(lo, hi))


G = _Group
GROUPS: tuple[_Group, ...] = (
    G("snake_hiss", "snake", "ANMLRept", "ANIMALS", "snake, hiss, hissing, reptile",
      (("Snake Hiss Short Close", "short hiss, close mic", lambda g, sr: S.snake_hiss(g, sr, 1.2)),
       ("Snake Hiss Long Steady", "long hiss, steady, sustained", lambda g, sr: S.snake_hiss(g, sr, 4.0)),
       ("Rattlesnake Rattle Warning", "rattlesnake, rattle, rattling, warning, tail", lambda g, sr: S.snake_hiss(g, sr, 2.5, rattle=True)),
       ("Snake Hiss Aggressive Strike", "aggressive, angry, strike, loud", lambda g, sr: S.snake_hiss(g, sr, 1.0, bright=1.2)),
       ("Serpent Hiss Slow Breath", "serpent, slow, breathy, soft", lambda g, sr: S.snake_hiss(g, sr, 3.0, bright=0.8)),
       ("Snake Hiss Double", "double hiss, two", lambda g, sr: np.concatenate([S.snake_hiss(g, sr, 0.8), S.snake_hiss(g, sr, 1.1)])),
       ("Rattlesnake Rattle Long Hiss", "rattlesnake, rattle, long, hiss, desert", lambda g, sr: S.snake_hiss(g, sr, 4.0, rattle=True)),
       ("Snake Hiss Distant Soft", "distant, soft, quiet", lambda g, sr: 0.4 * S.snake_hiss(g, sr, 2.0, bright=0.7)),
       ("Snake Hiss Medium", "medium, hiss, sss", lambda g, sr: S.snake_hiss(g, sr, 2.0)),
       ("Green Snake Hiss Tongue Flick", "green snake, tongue flick, small", lambda g, sr: S.snake_hiss(g, sr, 1.5, bright=1.1))),
      ("Snake Hisses Takes", "hisses, various takes, multiple", lambda g, sr: S.snake_hiss(g, sr, float(g.uniform(0.6, 1.2)))),
      ("snake hiss 02 FINAL", "snake hiss, old library", lambda g, sr: S.snake_hiss(g, sr, 2.2)),
      ("snake hisses x3 (edit)", "three hisses", lambda g, sr: S.snake_hiss(g, sr, 0.9))),
    G("kettle_whistle", "kettle", "FOODCook", "FOOD & DRINK", "kettle, whistle, whistling, tea kettle",
      (("Kettle Whistle Boiling", "boiling, steam, full whistle", lambda g, sr: S.kettle_whistle(g, sr, 4.0)),
       ("Kettle Whistle Rising", "rising, building, starting to boil", lambda g, sr: S.kettle_whistle(g, sr, 3.0, 1900)),
       ("Tea Kettle Two Tone Whistle", "two tone, harmony, loud", lambda g, sr: S.kettle_whistle(g, sr, 3.0, 2000, two_tone=True)),
       ("Kettle Whistle Short", "short, brief whistle", lambda g, sr: S.kettle_whistle(g, sr, 1.2, 2300)),
       ("Steel Kettle High Whistle", "steel kettle, high pitch, shrill", lambda g, sr: S.kettle_whistle(g, sr, 3.0, 2700)),
       ("Kettle Whistle Low Pitch", "low pitch, mellow, stovetop", lambda g, sr: S.kettle_whistle(g, sr, 3.5, 1500)),
       ("Kettle Whistle Steam Long", "steam, long, sustained, kitchen stove", lambda g, sr: S.kettle_whistle(g, sr, 4.0, 2100)),
       ("Whistling Kettle Stovetop", "whistling kettle, stovetop, hot water", lambda g, sr: S.kettle_whistle(g, sr, 2.5, 2200)),
       ("Kettle Whistle Warble", "warble, wavering, boiling", lambda g, sr: S.kettle_whistle(g, sr, 2.5, 1800, two_tone=True)),
       ("Kettle Whistle Distant", "distant, soft, another room", lambda g, sr: 0.4 * S.kettle_whistle(g, sr, 3.0, 2000))),
      ("Kettle Whistle Bursts Takes", "short bursts, various takes", lambda g, sr: S.kettle_whistle(g, sr, float(g.uniform(0.8, 1.3)), float(g.uniform(1900, 2400)))),
      ("kettle whistle 02 FINAL", "kettle whistle, old library", lambda g, sr: S.kettle_whistle(g, sr, 3.0, 2050)),
      ("Kettle_whistle_take3 (edit)", "kettle, whistles", lambda g, sr: S.kettle_whistle(g, sr, 1.0, 2250))),
    G("fan_hum", "fan", "MACHFan", "MACHINES", "fan, electric fan, hum, humming, motor",
      (("Desk Fan Hum Low Speed", "desk fan, low speed, steady", lambda g, sr: S.fan_hum(g, sr, 4.0, 50, 0.8)),
       ("Desk Fan Hum High Speed", "desk fan, high speed, whirring", lambda g, sr: S.fan_hum(g, sr, 4.0, 50, 1.3)),
       ("Electric Fan Whir Steady", "whir, steady, blowing air", lambda g, sr: S.fan_hum(g, sr, 4.0, 60, 1.0)),
       ("Table Fan Hum Close", "table fan, close mic, buzz", lambda g, sr: S.fan_hum(g, sr, 3.0, 60, 1.1)),
       ("Fan Hum Oscillating", "oscillating, air, room", lambda g, sr: S.fan_hum(g, sr, 4.5, 50, 0.9)),
       ("Fan Motor Hum 60Hz", "motor, mains hum, 60 hz", lambda g, sr: S.fan_hum(g, sr, 3.0, 60, 0.7)),
       ("Fan Blades Whoosh Medium", "blades, whoosh, medium speed", lambda g, sr: S.fan_hum(g, sr, 3.5, 50, 1.0)),
       ("Old Fan Hum Rattle", "old, rattle, vintage, noisy", lambda g, sr: S.fan_hum(g, sr, 4.0, 50, 1.2)),
       ("Fan Hum Short Loop", "short, loop, hum", lambda g, sr: S.fan_hum(g, sr, 2.0, 60, 1.0)),
       ("Desk Fan Hum Distant", "distant, soft, background", lambda g, sr: 0.4 * S.fan_hum(g, sr, 4.0, 50, 1.0))),
      ("Fan Switch On Off Takes", "switch on, off, various takes", lambda g, sr: S.fan_hum(g, sr, float(g.uniform(1.0, 1.6)))),
      ("fan hum loop FINAL", "fan hum, old library", lambda g, sr: S.fan_hum(g, sr, 4.0, 50, 1.0)),
      ("fan hum bursts (old)", "fan, hums", lambda g, sr: S.fan_hum(g, sr, float(g.uniform(0.9, 1.3))))),
    G("horse_gallop", "horse", "ANMLHors", "ANIMALS", "horse, hooves, hoofbeats, gallop",
      (("Horse Gallop Dirt Fast", "galloping, fast, dirt, running", lambda g, sr: S.horse_gallop(g, sr, 4.0, "gallop")),
       ("Horse Trot Steady", "trot, trotting, steady, two beat", lambda g, sr: S.horse_gallop(g, sr, 3.5, "trot")),
       ("Horse Canter Medium", "canter, cantering, medium pace", lambda g, sr: S.horse_gallop(g, sr, 4.0, "canter")),
       ("Horse Walk Slow Hooves", "walk, walking, slow, clip clop", lambda g, sr: S.horse_gallop(g, sr, 4.0, "walk")),
       ("Horse Gallop Pass By", "pass by, galloping, passing", lambda g, sr: S.horse_gallop(g, sr, 3.0, "gallop") * np.hanning(S._n(sr, 3.0)).astype(np.float32)),
       ("Stallion Gallop Heavy", "stallion, heavy, powerful", lambda g, sr: S.horse_gallop(g, sr, 3.0, "gallop")),
       ("Pony Trot Light", "pony, light, trotting", lambda g, sr: S.horse_gallop(g, sr, 3.0, "trot")),
       ("Horse Gallop Short", "short, galloping", lambda g, sr: S.horse_gallop(g, sr, 1.6, "gallop")),
       ("Horse Hooves Canter Long", "long, canter, hoofbeats", lambda g, sr: S.horse_gallop(g, sr, 4.0, "canter")),
       ("Horse Gallop Distant", "distant, soft, far", lambda g, sr: 0.4 * S.horse_gallop(g, sr, 4.0, "gallop"))),
      ("Horse Hoof Stomps Takes", "hoof stomps, single, various takes", lambda g, sr: S.horse_gallop(g, sr, float(g.uniform(0.5, 0.9)), "trot")),
      ("horse gallop 01 FINAL", "horse galloping, old library", lambda g, sr: S.horse_gallop(g, sr, 3.0, "gallop")),
      ("horse hooves x4 (edit)", "horse, hooves", lambda g, sr: S.horse_gallop(g, sr, 0.7, "trot"))),
    G("cat_meow", "cat", "ANMLCat", "ANIMALS", "cat, meow, meowing, feline",
      (("Cat Meow Single Short", "single, short, kitty", lambda g, sr: S.cat_meow(g, sr, 1)),
       ("Cat Meow Double", "double, two meows", lambda g, sr: S.cat_meow(g, sr, 2)),
       ("Kitten Meow High", "kitten, high pitch, small", lambda g, sr: S.cat_meow(g, sr, 1, pitch=700)),
       ("Cat Meow Low Complaining", "low, complaining, grumpy", lambda g, sr: S.cat_meow(g, sr, 1, pitch=380)),
       ("House Cat Meows Series", "house cat, series, several meows", lambda g, sr: S.cat_meow(g, sr, 3, gap=0.25)),
       ("Cat Meow Plaintive Long", "plaintive, long, mewing", lambda g, sr: S.cat_meow(g, sr, 1, pitch=450)),
       ("Cat Meow Close", "close mic, indoor, pet", lambda g, sr: S.cat_meow(g, sr, 1, pitch=520)),
       ("Grey Cat Meow Question", "question, rising, curious", lambda g, sr: S.cat_meow(g, sr, 1, pitch=560)),
       ("Cat Meows Hungry", "hungry, insistent, repeated", lambda g, sr: S.cat_meow(g, sr, 2, gap=0.3, pitch=500)),
       ("Cat Meow Distant", "distant, soft, outside", lambda g, sr: 0.4 * S.cat_meow(g, sr, 1))),
      ("Cat Meows Various Takes", "meows, various takes", lambda g, sr: S.cat_meow(g, sr, 1, pitch=float(g.uniform(420, 620)))),
      ("cat meow 03 FINAL", "cat meowing, old library", lambda g, sr: S.cat_meow(g, sr, 1)),
      ("cat meows (alt takes)", "cat, meows", lambda g, sr: S.cat_meow(g, sr, 1, pitch=float(g.uniform(450, 600))))),
    G("saw_cutting", "saw", "TOOLSaw", "TOOLS", "saw, hand saw, sawing, wood",
      (("Hand Saw Cutting Wood", "cutting, plank, carpentry", lambda g, sr: S.saw_cutting(g, sr, 4.0)),
       ("Hand Saw Fast Strokes", "fast strokes, quick", lambda g, sr: S.saw_cutting(g, sr, 3.0, stroke=0.3)),
       ("Hand Saw Slow Strokes", "slow strokes, long", lambda g, sr: S.saw_cutting(g, sr, 4.0, stroke=0.6)),
       ("Wood Saw Rasp Coarse", "coarse, rasp, rough teeth", lambda g, sr: S.saw_cutting(g, sr, 3.0, coarse=1.4)),
       ("Handsaw Fine Teeth", "fine teeth, thin", lambda g, sr: S.saw_cutting(g, sr, 3.0, coarse=0.7)),
       ("Saw Cutting Board Short", "board, short, cut through", lambda g, sr: S.saw_cutting(g, sr, 1.8)),
       ("Saw Back And Forth", "back and forth, rhythmic", lambda g, sr: S.saw_cutting(g, sr, 3.5, stroke=0.45)),
       ("Hand Saw Cutting Close", "close mic, workshop", lambda g, sr: S.saw_cutting(g, sr, 2.5)),
       ("Saw Cutting Long Plank", "long plank, sustained", lambda g, sr: S.saw_cutting(g, sr, 4.0)),
       ("Hand Saw Distant", "distant, soft", lambda g, sr: 0.4 * S.saw_cutting(g, sr, 3.0))),
      ("Saw Strokes Takes", "strokes, various takes", lambda g, sr: S.saw_cutting(g, sr, float(g.uniform(0.8, 1.3)))),
      ("handsaw cut 01 FINAL", "hand saw cutting, old library", lambda g, sr: S.saw_cutting(g, sr, 3.0)),
      ("saw strokes x3 (edit)", "saw, strokes", lambda g, sr: S.saw_cutting(g, sr, float(g.uniform(0.8, 1.1))))),
    G("frog_croak", "frog", "ANMLAmph", "ANIMALS", "frog, croak, croaking, amphibian",
      (("Frog Croak Single", "single, ribbit", lambda g, sr: S.frog_croak(g, sr, 1)),
       ("Frog Croaks Series", "series, several croaks, pond", lambda g, sr: S.frog_croak(g, sr, 4)),
       ("Bullfrog Croak Deep", "bullfrog, deep, low", lambda g, sr: S.frog_croak(g, sr, 2, pitch=120)),
       ("Tree Frog Croak High", "tree frog, high, small", lambda g, sr: S.frog_croak(g, sr, 3, pitch=300)),
       ("Toad Croak Slow", "toad, slow, gulp", lambda g, sr: S.frog_croak(g, sr, 2, gap=0.5, pitch=150)),
       ("Frog Ribbit Double", "ribbit, double, two", lambda g, sr: S.frog_croak(g, sr, 2)),
       ("Green Frog Croaks Fast", "green frog, fast, chatter", lambda g, sr: S.frog_croak(g, sr, 5, gap=0.15)),
       ("Frog Croak Close", "close mic, wet, throat", lambda g, sr: S.frog_croak(g, sr, 1, pitch=200)),
       ("Frog Croaks Night", "night, repeating, marsh", lambda g, sr: S.frog_croak(g, sr, 4, gap=0.3, pitch=170)),
       ("Frog Croak Distant", "distant, soft", lambda g, sr: 0.4 * S.frog_croak(g, sr, 3))),
      ("Frog Croaks Various Takes", "croaks, various takes", lambda g, sr: S.frog_croak(g, sr, 1, pitch=float(g.uniform(150, 240)))),
      ("frog croak 04 FINAL", "frog croaking, old library", lambda g, sr: S.frog_croak(g, sr, 3)),
      ("frog ribbits (alt)", "frog, ribbits", lambda g, sr: S.frog_croak(g, sr, 1))),
    G("helicopter_rotor", "helicopter", "AEROHeli", "AIRCRAFT", "helicopter, rotor, blades, chopper",
      (("Helicopter Hover Steady", "hover, hovering, steady", lambda g, sr: S.helicopter_rotor(g, sr, 4.0)),
       ("Helicopter Pass By Fast", "pass by, flyby, fast", lambda g, sr: S.helicopter_rotor(g, sr, 4.0, 14, pass_by=True)),
       ("Helicopter Rotor Close", "close, rotor wash, thumping", lambda g, sr: S.helicopter_rotor(g, sr, 4.0, 12)),
       ("Helicopter Takeoff", "takeoff, lifting off, rising", lambda g, sr: S.helicopter_rotor(g, sr, 4.0, 15)),
       ("Chopper Flyover Distant", "flyover, distant, overhead", lambda g, sr: 0.5 * S.helicopter_rotor(g, sr, 4.0, 13, pass_by=True)),
       ("Helicopter Idle On Ground", "idle, ground, slow rotor", lambda g, sr: S.helicopter_rotor(g, sr, 4.0, 9)),
       ("Helicopter Blades Whop", "whop, blade slap, chop", lambda g, sr: S.helicopter_rotor(g, sr, 3.0, 11)),
       ("Helicopter Hover Short", "short, hover", lambda g, sr: S.helicopter_rotor(g, sr, 2.0)),
       ("Rotorcraft Cruise", "cruise, flying, steady", lambda g, sr: S.helicopter_rotor(g, sr, 4.0, 16)),
       ("Helicopter Approach", "approach, arriving, getting closer", lambda g, sr: S.helicopter_rotor(g, sr, 4.0) * np.linspace(0.2, 1, S._n(sr, 4.0)).astype(np.float32))),
      ("Helicopter Bursts Takes", "bursts, various takes", lambda g, sr: S.helicopter_rotor(g, sr, float(g.uniform(1.0, 1.5)))),
      ("heli hover 01 FINAL", "helicopter hovering, old library", lambda g, sr: S.helicopter_rotor(g, sr, 4.0)),
      ("chopper bys (edit)", "chopper, bys", lambda g, sr: S.helicopter_rotor(g, sr, float(g.uniform(1.0, 1.4)), pass_by=True))),
    G("hammer_hit", "hammer", "TOOLHmr", "TOOLS", "hammer, hit, strike, impact",
      (("Hammer Hit Nail Single", "nail, single hit, tap", lambda g, sr: S.hammer_hit(g, sr, 1)),
       ("Hammer Nailing Series", "nailing, series, hammering", lambda g, sr: S.hammer_hit(g, sr, 5, 0.45)),
       ("Hammer Strike Metal", "metal, anvil, clang, ring", lambda g, sr: S.hammer_hit(g, sr, 1, metal=1.2)),
       ("Hammer Hit Wood Dull", "wood, dull, thud, knock", lambda g, sr: S.hammer_hit(g, sr, 1, metal=0.2)),
       ("Claw Hammer Double Tap", "claw hammer, double tap", lambda g, sr: S.hammer_hit(g, sr, 2, 0.3)),
       ("Hammering Fast", "fast, hammering, rapid", lambda g, sr: S.hammer_hit(g, sr, 6, 0.28)),
       ("Hammer Hit Heavy", "heavy, hard, bang", lambda g, sr: S.hammer_hit(g, sr, 1, metal=0.9)),
       ("Hammer Taps Light", "light, taps, gentle", lambda g, sr: 0.6 * S.hammer_hit(g, sr, 3, 0.35, metal=0.5)),
       ("Mallet Hit Wood", "mallet, wood, hollow", lambda g, sr: S.hammer_hit(g, sr, 1, metal=0.1)),
       ("Hammer Hit Distant", "distant, soft", lambda g, sr: 0.4 * S.hammer_hit(g, sr, 2, 0.5))),
      ("Hammer Hits Various Takes", "hits, various takes", lambda g, sr: S.hammer_hit(g, sr, 1, metal=float(g.uniform(0.4, 1.0)))),
      ("hammer hit 05 FINAL", "hammer hitting, old library", lambda g, sr: S.hammer_hit(g, sr, 1)),
      ("hammer hits (alt takes)", "hammer, hits", lambda g, sr: S.hammer_hit(g, sr, 1))),
    G("ship_horn", "ship", "BOATHorn", "BOATS", "ship, horn, foghorn, boat",
      (("Ship Horn Long Blast", "long blast, deep, harbour", lambda g, sr: S.ship_horn(g, sr, 4.0)),
       ("Ship Horn Two Blasts", "two blasts, signal", lambda g, sr: S.ship_horn(g, sr, 4.0, blasts=2)),
       ("Cargo Ship Horn Deep", "cargo ship, very deep, low", lambda g, sr: S.ship_horn(g, sr, 3.5, 85)),
       ("Ferry Horn Short", "ferry, short toot", lambda g, sr: S.ship_horn(g, sr, 1.2, 150)),
       ("Steamship Whistle Blast", "steamship, whistle, old", lambda g, sr: S.ship_horn(g, sr, 3.0, 170)),
       ("Ship Foghorn Distant", "foghorn, distant, fog", lambda g, sr: 0.5 * S.ship_horn(g, sr, 4.0, 95)),
       ("Boat Horn Three Blasts", "three blasts, warning", lambda g, sr: S.ship_horn(g, sr, 4.5, 130, blasts=3)),
       ("Ship Horn Medium", "medium, horn blast", lambda g, sr: S.ship_horn(g, sr, 2.5, 115)),
       ("Tugboat Horn", "tugboat, tug, port", lambda g, sr: S.ship_horn(g, sr, 2.0, 140)),
       ("Ship Horn Echo Port", "echo, port, docks", lambda g, sr: S.ship_horn(g, sr, 3.0, 105))),
      ("Ship Horn Toots Takes", "toots, various takes", lambda g, sr: S.ship_horn(g, sr, float(g.uniform(0.6, 1.0)), float(g.uniform(100, 150)))),
      ("ship horn 01 FINAL", "ship horn, old library", lambda g, sr: S.ship_horn(g, sr, 3.0)),
      ("boat horn toots (edit)", "boat, horn", lambda g, sr: S.ship_horn(g, sr, float(g.uniform(0.6, 0.9)), 130))),
    G("chime_ring", "chime", "BELLChime", "BELLS", "wind chime, chimes, chiming, tinkle",
      (("Wind Chime Gentle Breeze", "gentle, breeze, soft", lambda g, sr: S.chime_ring(g, sr, 4.0, 4)),
       ("Wind Chime Busy Wind", "busy, windy, many strikes", lambda g, sr: S.chime_ring(g, sr, 4.0, 10)),
       ("Metal Chimes Single Strike", "single strike, ring", lambda g, sr: S.chime_ring(g, sr, 2.0, 1)),
       ("Wind Chime Low Tubes", "low, large tubes, deep", lambda g, sr: S.chime_ring(g, sr, 4.0, 5, 700)),
       ("Wind Chime High Tinkle", "high, tinkle, small", lambda g, sr: S.chime_ring(g, sr, 3.0, 6, 1900)),
       ("Chimes Ringing Long Decay", "long decay, ringing out", lambda g, sr: S.chime_ring(g, sr, 4.0, 3)),
       ("Hanging Chimes Porch", "hanging, porch, outdoor", lambda g, sr: S.chime_ring(g, sr, 3.5, 5)),
       ("Wind Chime Short Burst", "short, burst", lambda g, sr: S.chime_ring(g, sr, 1.8, 4)),
       ("Bamboo Style Chimes Metal", "metal, tubes, melodic", lambda g, sr: S.chime_ring(g, sr, 3.0, 5, 1000)),
       ("Wind Chime Distant", "distant, soft", lambda g, sr: 0.4 * S.chime_ring(g, sr, 3.0, 5))),
      ("Chime Strikes Takes", "strikes, various takes", lambda g, sr: S.chime_ring(g, sr, float(g.uniform(1.0, 1.5)), 1)),
      ("wind chimes 02 FINAL", "wind chimes, old library", lambda g, sr: S.chime_ring(g, sr, 3.0, 5)),
      ("chime hits (alt)", "chime, hits", lambda g, sr: S.chime_ring(g, sr, 1.2, 1))),
)

# (file name, tags, maker) per place; the first two are UCS, the third a legacy name.
AMBIENCE_FILES: dict[str, tuple[tuple[str, str, str, Maker], ...]] = {
    "desert": (
        ("AMBDsrt_Desert Wind Dry Gusts", "desert, wind, dry, gusts, sand, hot, empty, exterior", "ucs",
         lambda g, sr: S.desert_ambience(g, sr, 10.0)),
        ("AMBDsrt_Desert Sand Hiss Calm", "desert, calm, sand hiss, light wind, dunes, exterior", "ucs",
         lambda g, sr: S.desert_ambience(g, sr, 8.0, gusts=0.5)),
        ("desert wind loop v2", "desert wind loop, sand, dry air", "legacy",
         lambda g, sr: S.desert_ambience(g, sr, 9.0, gusts=1.5))),
    "workshop": (
        ("AMBIndu_Workshop Room Tone Hum", "workshop, room tone, hum, interior, machinery", "ucs",
         lambda g, sr: S.workshop_ambience(g, sr, 8.0)),
        ("AMBIndu_Woodshop Interior Distant Tools", "woodshop, interior, distant tools, clanks", "ucs",
         lambda g, sr: S.workshop_ambience(g, sr, 10.0, machine=0.5)),
        ("workshop roomtone FINAL", "workshop room tone, garage, interior", "legacy",
         lambda g, sr: S.workshop_ambience(g, sr, 7.0, machine=1.5))),
    "snowfield": (
        ("AMBSnow_Snowfield Cold Wind Quiet", "snow, snowfield, cold wind, quiet, winter, exterior", "ucs",
         lambda g, sr: S.snowfield_ambience(g, sr, 10.0)),
        ("AMBSnow_Winter Field Whistling Wind", "winter, field, whistling wind, snow, cold", "ucs",
         lambda g, sr: S.snowfield_ambience(g, sr, 9.0, whistle=1.6)),
        ("snowy field still 01", "snowy field, still, winter silence", "legacy",
         lambda g, sr: S.snowfield_ambience(g, sr, 8.0, whistle=0.5))),
    "office": (
        ("AMBOffc_Office Air Conditioning Typing", "office, air conditioning, typing, interior, room tone", "ucs",
         lambda g, sr: S.office_ambience(g, sr, 8.0)),
        ("AMBOffc_Open Plan Office Murmur", "open plan office, murmur, workplace, interior", "ucs",
         lambda g, sr: S.office_ambience(g, sr, 10.0, chatter=2.0)),
        ("office roomtone empty FINAL", "office room tone, empty, hvac", "legacy",
         lambda g, sr: S.office_ambience(g, sr, 7.0, chatter=0.3))),
    "harbour": (
        ("AMBHarb_Harbour Water Lapping Gulls", "harbour, water lapping, gulls, docks, sea, exterior", "ucs",
         lambda g, sr: S.harbour_ambience(g, sr, 12.0)),
        ("AMBHarb_Port Pier Waves Calm", "port, pier, waves, calm, sea, exterior", "ucs",
         lambda g, sr: S.harbour_ambience(g, sr, 9.0, gulls=0.3)),
        ("harbor docks water 03", "harbor docks, water, boats moored", "legacy",
         lambda g, sr: S.harbour_ambience(g, sr, 10.0, gulls=1.5))),
}

# (CatID, folder, FX names, tags, maker) per distractor.
DISTRACTOR_FILES: dict[str, tuple[str, str, tuple[str, ...], str, Maker]] = {
    "crowd_cheer": ("CRWDCheer", "CROWDS", ("Crowd Cheer Stadium", "Crowd Cheering Applause", "Small Crowd Cheer Short"),
                    "crowd, cheer, cheering, applause, audience, stadium",
                    lambda g, sr: S.crowd_cheer(g, sr, float(g.uniform(2.5, 4.0)))),
    "explosion": ("EXPLBomb", "EXPLOSIONS", ("Explosion Large Boom", "Explosion Distant Rumble", "Bomb Blast Debris"),
                  "explosion, boom, blast, bomb, debris",
                  lambda g, sr: S.explosion(g, sr, float(g.uniform(2.5, 3.5)))),
    "siren": ("ALRMSiren", "ALARMS", ("Police Siren Wail", "Siren Yelp Fast", "Ambulance Siren Pass"),
              "siren, police, ambulance, emergency, wail",
              lambda g, sr: S.siren(g, sr, float(g.uniform(3.0, 4.0)), yelp=bool(g.random() < 0.4))),
    "wolf_howl": ("ANMLWolf", "ANIMALS", ("Wolf Howl Night", "Wolf Howl Long Lonely", "Wolves Howling Distant"),
                  "wolf, howl, howling, night, wild",
                  lambda g, sr: S.wolf_howl(g, sr, float(g.uniform(2.5, 3.5)))),
}


def plan() -> list[Entry]:
    """Every file of the library, in a fixed order."""
    out: list[Entry] = []
    def entry(grp: _Group, name: str, tags: str, make: Maker, takes: int = 1, legacy: bool = False) -> Entry:
        stem = name if legacy else f"{grp.cat_id}_{name}_{CREATOR}_{SOURCE}"
        return Entry(grp.folder, stem, grp.folder, f"{grp.tags}, {tags}", "sfx", grp.sound_class,
                     None, grp.source, make, takes)

    for grp in GROUPS:
        for name, tags, make in grp.variants:
            out.append(entry(grp, name, tags, make))
        out.append(entry(grp, *grp.takes, takes=3))
        out.append(entry(grp, *grp.legacy, legacy=True))
        out.append(entry(grp, *grp.legacy_takes, takes=3, legacy=True))
    for place, files in AMBIENCE_FILES.items():
        for name, tags, style, make in files:
            stem = name if style == "legacy" else f"{name}_{CREATOR}_{SOURCE}"
            out.append(Entry("AMBIENCE", stem, "AMBIENCE", tags, "ambience", None, place, f"{place} ambience", make))
    for cls, (cat_id, folder, names, tags, make) in DISTRACTOR_FILES.items():
        for name in names:
            out.append(Entry(folder, f"{cat_id}_{name}_{CREATOR}_{SOURCE}", folder, tags, "distractor", None,
                             None, cls.replace("_", " "), make))
    return out


# (extension, subtype, sample rate, channels) cycled over the files
FORMATS: tuple[tuple[str, str, int, int], ...] = (
    ("wav", "PCM_16", 48000, 1), ("flac", "PCM_24", 44100, 1), ("ogg", "VORBIS", 48000, 2),
    ("wav", "PCM_24", 44100, 1), ("ogg", "VORBIS", 44100, 1), ("flac", "PCM_16", 48000, 2),
    ("wav", "FLOAT", 44100, 1), ("ogg", "VORBIS", 48000, 1), ("wav", "PCM_16", 44100, 1),
    ("flac", "PCM_16", 96000, 1), ("ogg", "VORBIS", 44100, 2),
)
AMBIENCE_FORMATS: tuple[tuple[str, str, int, int], ...] = (
    ("ogg", "VORBIS", 48000, 2), ("flac", "PCM_16", 44100, 1), ("ogg", "VORBIS", 44100, 2),
)
LONG_WAV = 2.5  # seconds: longer sounds are kept compressed (Ogg or FLAC), as many libraries do


SILENCE_GAP = 0.4  # seconds: a quieter stretch this long parts two takes
SILENCE_LEVEL = 1e-3  # RMS over 10 ms below this (-60 dBFS) counts as silence


def sounding_spans(x: np.ndarray, sr: int) -> list[list[float]]:
    """[start, end] seconds of the parts of ``x`` apart by SILENCE_GAP or more of silence.

    A file meant as one sound may still hold such gaps (a slow toad, spaced
    hammer blows); its truth lists every part, as an editor splitting takes
    at silences would find them."""
    hop = max(1, sr // 100)
    mono = x if x.ndim == 1 else x.mean(axis=1)
    frames = len(mono) // hop + (1 if len(mono) % hop else 0)
    padded = np.zeros(frames * hop, np.float64)
    padded[: len(mono)] = mono
    loud = np.sqrt((padded.reshape(frames, hop) ** 2).mean(axis=1)) >= SILENCE_LEVEL
    spans, start, quiet = [], None, 0
    for i, on in enumerate(loud):
        if on:
            if start is None:
                start = i
            quiet = 0
        elif start is not None:
            quiet += 1
            if quiet * hop >= SILENCE_GAP * sr:
                spans.append([start * hop, (i - quiet + 1) * hop])
                start, quiet = None, 0
    if start is not None:
        spans.append([start * hop, (len(loud) - quiet) * hop])
    spans = [[round(a / sr, 6), round(min(b, len(mono)) / sr, 6)] for a, b in spans]
    return spans or [[0.0, round(len(mono) / sr, 6)]]


def render(entry: Entry, rng: np.random.Generator, sr: int) -> tuple[np.ndarray, list[list[float]]]:
    """Samples of ``entry`` at ``sr`` and the [start, end] seconds of each take
    (for a single sound, its parts apart by silence: usually one, the whole file)."""
    if entry.takes == 1:
        x = entry.make(rng, sr)
        if entry.kind == "ambience":
            return x, [[0.0, round(len(x) / sr, 6)]]
        return x, sounding_spans(x, sr)
    pieces, spans, at = [], [], 0
    for k in range(entry.takes):
        x = entry.make(rng, sr)
        spans.append([round(at / sr, 6), round((at + len(x)) / sr, 6)])
        pieces.append(x)
        at += len(x)
        if k < entry.takes - 1:
            gap = np.zeros(int(sr * rng.uniform(*TAKE_GAP)), np.float32)
            pieces.append(gap)
            at += len(gap)
    return np.concatenate(pieces), spans


def _stereo(rng: np.random.Generator, mono: np.ndarray, sr: int) -> np.ndarray:
    """A mono sound placed a little off centre with a short inter-channel delay."""
    delay = int(sr * rng.uniform(0.0002, 0.0008))
    pan = rng.uniform(-0.3, 0.3)
    left = np.concatenate([mono, np.zeros(delay, mono.dtype)])
    right = np.concatenate([np.zeros(delay, mono.dtype), mono])
    return np.stack([left * (1 - pan) / 1.3, right * (1 + pan) / 1.3], axis=1)


def write_library(root: str | Path, seed: int = 0) -> dict:
    """Write every file and ``library.csv`` under ``root``; return the truth mapping."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    truth: dict[str, dict] = {}
    rows = []
    sfx_i = amb_i = 0
    for index, entry in enumerate(plan()):
        rng = np.random.default_rng([seed, 7, index])
        if entry.kind == "ambience":
            ext, subtype, sr, channels = AMBIENCE_FORMATS[amb_i % len(AMBIENCE_FORMATS)]
            amb_i += 1
        else:
            ext, subtype, sr, channels = FORMATS[sfx_i % len(FORMATS)]
            sfx_i += 1
        audio, spans = render(entry, rng, sr)
        audio = audio.astype(np.float32)
        if ext == "wav" and len(audio) / sr > LONG_WAV:
            ext, subtype = ("ogg", "VORBIS") if index % 2 else ("flac", "PCM_16")
        if audio.ndim == 1 and channels == 2:
            audio = _stereo(rng, audio, sr)
        elif audio.ndim == 2 and channels == 1:
            audio = audio.mean(axis=1)
        rel = f"{entry.folder}/{entry.name}.{ext}"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(encode(audio, sr, ext, subtype, serial=int(rng.integers(1, 2**31))))
        truth[rel] = {"category": entry.category, "duration": round(len(audio) / sr, 6), "events": spans,
                      "kind": entry.kind, "place": entry.place, "sound_class": entry.sound_class,
                      "source": entry.source}
        rows.append({"path": rel, "description": entry.tags, "category": entry.category,
                     "kind": "ambience" if entry.kind == "ambience" else "sfx"})
    with open(root / "library.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["path", "description", "category", "kind"])
        w.writeheader()
        w.writerows(rows)
    return truth


def write_truth(path: str | Path, truth: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- encoders


def encode(audio: np.ndarray, sr: int, ext: str, subtype: str, serial: int = 1) -> bytes:
    """File bytes of ``audio`` (float, mono or (n, 2)); the same input gives the same bytes."""
    if ext == "wav":
        return _wav(audio, sr, subtype)
    buf = io.BytesIO()
    sf.write(buf, audio, sr, format=ext.upper(), subtype=subtype)
    data = buf.getvalue()
    return _ogg_reserial(data, serial) if ext == "ogg" else data


def _wav(audio: np.ndarray, sr: int, subtype: str) -> bytes:
    """A plain RIFF/WAVE file (libsndfile would add a time-stamped PEAK chunk to float files)."""
    x = np.clip(audio.reshape(len(audio), -1), -1.0, 1.0)
    channels = x.shape[1]
    if subtype == "PCM_16":
        tag, bits, data = 1, 16, np.round(x * 32767).astype("<i2").tobytes()
    elif subtype == "PCM_24":
        v = np.round(x * 8388607).astype("<i4").reshape(-1)
        data = np.stack([(v & 0xFF), (v >> 8) & 0xFF, (v >> 16) & 0xFF], axis=1).astype(np.uint8).tobytes()
        tag, bits = 1, 24
    elif subtype == "FLOAT":
        tag, bits, data = 3, 32, x.astype("<f4").tobytes()
    else:
        raise ValueError(f"unsupported WAV subtype {subtype}")
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, sr, sr * block, block, bits)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt
    if tag == 3:
        chunks += b"fact" + struct.pack("<II", 4, len(x))
    chunks += b"data" + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def _crc_table() -> list[int]:
    table = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else (r << 1)
        table.append(r & 0xFFFFFFFF)
    return table


_CRC = _crc_table()


def _ogg_crc(page: bytes) -> int:
    crc = 0
    for byte in page:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _CRC[((crc >> 24) & 0xFF) ^ byte]
    return crc


def _ogg_reserial(data: bytes, serial: int) -> bytes:
    """Give every page of a one-stream Ogg file ``serial`` (libsndfile picks a random
    one) and fix the page checksums, so that the file is reproducible."""
    out = bytearray()
    at = 0
    while at < len(data):
        if data[at:at + 4] != b"OggS":
            raise ValueError("not an Ogg page")
        nseg = data[at + 26]
        length = 27 + nseg + sum(data[at + 27:at + 27 + nseg])
        page = bytearray(data[at:at + length])
        page[14:18] = struct.pack("<I", serial)
        page[22:26] = b"\0\0\0\0"
        page[22:26] = struct.pack("<I", _ogg_crc(bytes(page)))
        out += page
        at += length
    return bytes(out)
