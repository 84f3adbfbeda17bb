"""The demo world's pictures: object classes on places, drawn with PIL, and captions.

Every object is a flat cartoon with its own silhouette, colours and a little
texture (a tan dog with floppy ears, a red car on two wheels, a golden hand
bell...), drawn into its own layer, jittered in colour, rotated and pasted on
a place (forest, city street, beach, kitchen). Places get colour drift and
grain, so no two pictures are the same. Captions are natural sentences built
from per-class and per-place synonyms, the kind of text a CLIP model is
trained on.

Coordinates: an object's ``x, y`` is its centre as a fraction of the frame's
width and height (0..1); ``scale`` is its largest extent as a fraction of the
frame's shorter side; ``angle`` is in degrees, counter-clockwise. Everything
random comes from the ``numpy.random.Generator`` passed in, so a seed fixes
every pixel. Drawing is direct at the requested size: about 1-1.5 ms for a
64 px picture with its caption on one core (40,000+ a minute).
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np
from PIL import Image, ImageDraw

Size = int | tuple[int, int]
ObjectSpec = tuple[str, float, float, float, float]  # (class name, x, y, scale, angle)

# Objects are drawn at twice their size and halved: cheap anti-aliasing that
# keeps thin parts (legs, clock hands) visible at 64 px.
_SUPERSAMPLE = 2


@dataclass(frozen=True)
class ObjectClass:
    """A kind of thing that can be on screen."""

    name: str
    synonyms: tuple[str, ...]  # nouns a caption may use, plain name first
    sound: str | None  # sound class it makes (see sounds.py); None: it makes none
    details: tuple[str, ...] = ()  # what may follow the noun in a caption


@dataclass(frozen=True)
class Place:
    """A background a scene happens in."""

    name: str
    synonyms: tuple[str, ...]  # nouns, plain name first
    ambience: str  # ambience sound class of the place (see sounds.py)
    phrases: tuple[str, ...] = ()  # where-phrases: "in the woods", ...


CLASSES: list[ObjectClass] = [
    ObjectClass("dog", ("dog", "puppy", "hound", "brown dog"), "dog_bark",
                ("barking", "barking loudly", "standing on four legs", "with floppy ears")),
    ObjectClass("car", ("car", "automobile", "vehicle", "red car"), "car_engine",
                ("driving by", "driving down the road", "with its engine running", "on two black wheels")),
    ObjectClass("bird", ("bird", "songbird", "little yellow bird", "canary"), "bird_song",
                ("singing", "chirping", "with its wing up", "tweeting")),
    ObjectClass("bell", ("bell", "hand bell", "golden bell", "brass bell"), "bell_ring",
                ("ringing", "with a wooden handle", "being rung")),
    ObjectClass("drum", ("drum", "snare drum", "blue drum", "marching drum"), "drum_hit",
                ("being played", "with white cords", "being hit")),
    ObjectClass("bottle", ("glass bottle", "bottle", "wine bottle", "green bottle"), "glass_clink",
                ("made of green glass", "standing upright", "with a paper label")),
    ObjectClass("door", ("door", "wooden door", "front door", "brown door"), "door_knock",
                ("with a brass knob", "being knocked on", "that is closed")),
    ObjectClass("clock", ("clock", "wall clock", "round clock", "white clock"), "clock_tick",
                ("ticking", "with black hands", "showing the time")),
    ObjectClass("fire", ("fire", "campfire", "bonfire", "open fire"), "fire_crackle",
                ("burning", "crackling", "with orange flames", "burning on logs")),
    ObjectClass("phone", ("phone", "smartphone", "mobile phone", "cell phone"), "phone_ring",
                ("ringing", "with a glowing screen", "lighting up")),
    ObjectClass("rock", ("rock", "stone", "grey rock", "boulder"), None,
                ("lying on the ground", "covered in specks", "sitting still")),
    ObjectClass("tree", ("tree", "small tree", "green tree", "leafy tree"), None,
                ("with green leaves", "with a brown trunk", "growing")),
    ObjectClass("book", ("book", "purple book", "closed book", "hardback book"), None,
                ("lying flat", "with a gold title", "with white pages")),
]

PLACES: list[Place] = [
    Place("forest", ("forest", "woodland", "pine forest", "wood"), "forest_ambience",
          ("in the forest", "in the woods", "in a woodland", "among the trees")),
    Place("city", ("city street", "street", "road", "town street"), "city_ambience",
          ("on a city street", "in the city", "on the street", "downtown")),
    Place("beach", ("beach", "seaside", "shore", "sandy beach"), "beach_ambience",
          ("on the beach", "at the seaside", "by the sea", "on the sand")),
    Place("kitchen", ("kitchen", "kitchen counter", "tiled kitchen", "home kitchen"), "kitchen_ambience",
          ("in a kitchen", "in the kitchen", "on a kitchen counter", "indoors in a kitchen")),
]

CLASS_BY_NAME = {c.name: c for c in CLASSES}
PLACE_BY_NAME = {p.name: p for p in PLACES}


# --------------------------------------------------------------------------- public API

def render_scene(rng: np.random.Generator, size: Size, place: str,
                 objects: Sequence[ObjectSpec]) -> Image.Image:
    """An RGB picture of ``place`` with ``objects`` drawn in order (later ones in front).

    ``size`` is a side in pixels or (width, height). Each object is a tuple
    ``(class name, x, y, scale, angle)``: centre in frame fractions, largest
    extent as a fraction of the shorter side, degrees counter-clockwise.
    """
    image = render_place(rng, size, place)
    for name, x, y, scale, angle in objects:
        draw_object(image, np.random.default_rng(int(rng.integers(2**63))), name, x, y, scale, angle)
    return image


def render_place(rng: np.random.Generator, size: Size, place: str) -> Image.Image:
    """The empty background of ``place``: layout, colours and grain drawn from ``rng``."""
    w, h = _size(size)
    try:
        painter = _PLACE_PAINTERS[place]
    except KeyError:
        raise ValueError(f"unknown place {place!r}; known: {', '.join(PLACE_BY_NAME)}") from None
    tone = _Tone(rng, hue=0.02, brightness=0.12, saturation=0.15)
    image = painter(rng, w, h, tone)
    return _grain(rng, image, amount=7.0)


def draw_object(image: Image.Image, rng: np.random.Generator, name: str, x: float, y: float,
                scale: float, angle: float = 0.0, facing: int | None = None) -> None:
    """Paste one object onto ``image`` (in place).

    ``rng`` decides its colour jitter and texture: the same seed draws the
    same object, which is how a film keeps an object's look from frame to
    frame. ``facing`` (+1 right, -1 left) turns animals and cars; None picks
    at random.
    """
    try:
        painter = _OBJECT_PAINTERS[name]
    except KeyError:
        raise ValueError(f"unknown object class {name!r}; known: {', '.join(CLASS_BY_NAME)}") from None
    w, h = image.size
    side = max(4, int(round(scale * min(w, h) * _SUPERSAMPLE)))
    layer = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    tone = _Tone(rng, hue=0.03, brightness=0.15, saturation=0.15)
    painter(_Pen(ImageDraw.Draw(layer), side), tone, rng)
    if facing is None:
        facing = 1 if rng.random() < 0.5 else -1
    if facing < 0:
        layer = layer.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    layer = layer.reduce(_SUPERSAMPLE)
    if angle:
        layer = layer.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True)
    lw, lh = layer.size
    image.paste(layer, (int(round(x * w - lw / 2)), int(round(y * h - lh / 2))), layer)


def caption_for(rng: np.random.Generator, place: str, objects: Sequence[str]) -> str:
    """A natural-language caption of a picture of ``objects`` (class names) in ``place``."""
    where = _pick(rng, PLACE_BY_NAME[place].phrases)
    if not objects:
        noun = _pick(rng, PLACE_BY_NAME[place].synonyms)
        return _pick(rng, (f"an empty {noun}", f"a photo of {_a(noun)}", f"a view of the {noun}",
                           f"the {noun} with nobody around", f"{_a(noun)} with nothing in it",
                           f"a quiet {noun}"))
    phrases = [_a(_pick(rng, CLASS_BY_NAME[n].synonyms)) for n in objects]
    details = [_pick(rng, CLASS_BY_NAME[n].details) for n in objects]
    if len(objects) == 1:
        thing, detail = phrases[0], details[0]
        return _pick(rng, (f"a photo of {thing} {where}", f"{thing} {where}", f"{thing} {detail} {where}",
                           f"a picture of {thing} {detail}", f"{thing} {detail}", f"a close-up of {thing}",
                           f"there is {thing} {where}"))
    listed = " and ".join(phrases) if len(phrases) == 2 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
    return _pick(rng, (f"{listed} {where}", f"a photo of {phrases[0]} next to {phrases[1]} {where}",
                       f"{phrases[0]} {details[0]} and {phrases[1]} {where}", listed,
                       f"{where}, {listed}"))


def random_example(rng: np.random.Generator, size: Size, oversample: int = 1) -> tuple[Image.Image, str, dict]:
    """A random picture, its caption and its labels.

    About 15% show the place only, 20% two different objects, the rest one.
    Labels: {"place": name, "objects": [class names], "layout": [ObjectSpec]}.
    ``oversample`` > 1 draws at that multiple of ``size`` and shrinks the
    result (box filter): softer edges and grain, closer to a film frame that
    was scaled down to the encoder's input, at oversample**2 the cost.
    """
    place = PLACES[int(rng.integers(len(PLACES)))].name
    u = rng.random()
    count = 0 if u < 0.15 else 2 if u < 0.35 else 1
    names = [CLASSES[int(i)].name for i in rng.choice(len(CLASSES), count, replace=False)]
    layout: list[ObjectSpec] = []
    if count == 1:
        scale = rng.uniform(0.25, 0.6)
        lo, hi = max(0.15, scale / 2 - 0.1), min(0.85, 1 - scale / 2 + 0.1)
        layout.append((names[0], rng.uniform(lo, hi), rng.uniform(lo, hi), scale, rng.uniform(-25, 25)))
    elif count == 2:
        sides = (0.28, 0.72) if rng.random() < 0.5 else (0.72, 0.28)
        for name, cx in zip(names, sides):
            layout.append((name, cx + rng.uniform(-0.08, 0.08), rng.uniform(0.3, 0.7),
                           rng.uniform(0.25, 0.45), rng.uniform(-25, 25)))
    w, h = _size(size)
    image = render_scene(rng, (w * oversample, h * oversample), place, layout)
    if oversample > 1:
        image = image.reduce(oversample)
    text = caption_for(rng, place, names)
    return image, text, {"place": place, "objects": names, "layout": layout}


def example(seed: int, index: int, size: Size, oversample: int = 1) -> tuple[Image.Image, str, dict]:
    """Example ``index`` of the stream ``seed``; each index has its own generator,
    so data loader workers can draw any item in any order."""
    return random_example(np.random.default_rng([seed, index]), size, oversample)


def dataset(n: int, seed: int, size: Size, oversample: int = 1) -> Iterator[tuple[Image.Image, str, dict]]:
    """``n`` examples (image, caption, labels) of the stream ``seed``, in order.

    Example i is ``example(seed, i, size)``: the same whatever ``n`` is.
    """
    for index in range(n):
        yield example(seed, index, size, oversample)


# --------------------------------------------------------------------------- helpers

def _size(size: Size) -> tuple[int, int]:
    if isinstance(size, int):
        return size, size
    w, h = size
    return int(w), int(h)


def _pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _a(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


Colour = tuple[int, int, int]


class _Tone:
    """One draw of colour jitter (hue, brightness, saturation), applied to every
    colour of one object or place so its parts stay in harmony."""

    def __init__(self, rng: np.random.Generator, hue: float, brightness: float, saturation: float):
        self.dh = rng.uniform(-hue, hue)
        self.kv = 1 + rng.uniform(-brightness, brightness)
        self.ks = 1 + rng.uniform(-saturation, saturation)
        self._memo: dict[Colour, Colour] = {}

    def __call__(self, rgb: Colour, alpha: int | None = None) -> tuple[int, ...]:
        out = self._memo.get(rgb)
        if out is None:
            h, s, v = colorsys.rgb_to_hsv(*(c / 255 for c in rgb))
            r, g, b = colorsys.hsv_to_rgb((h + self.dh) % 1.0, min(1.0, s * self.ks), min(1.0, v * self.kv))
            out = self._memo[rgb] = (int(r * 255), int(g * 255), int(b * 255))
        return out if alpha is None else (*out, alpha)


class _Pen:
    """ImageDraw in unit coordinates: (0, 0) top-left, (1, 1) bottom-right of the layer."""

    def __init__(self, draw: ImageDraw.ImageDraw, side: float):
        self.draw = draw
        self.k = side

    def _xy(self, pts):
        return [(x * self.k, y * self.k) for x, y in pts]

    def _box(self, box):
        x0, y0, x1, y1 = box
        return [x0 * self.k, y0 * self.k, x1 * self.k, y1 * self.k]

    def ellipse(self, box, fill, outline=None, width: float = 0.0):
        self.draw.ellipse(self._box(box), fill=fill, outline=outline, width=self._w(width))

    def circle(self, cx, cy, r, fill, outline=None, width: float = 0.0):
        self.ellipse((cx - r, cy - r, cx + r, cy + r), fill, outline, width)

    def rect(self, box, fill, radius: float = 0.0, outline=None, width: float = 0.0):
        if radius:
            self.draw.rounded_rectangle(self._box(box), radius=radius * self.k, fill=fill,
                                        outline=outline, width=self._w(width))
        else:
            self.draw.rectangle(self._box(box), fill=fill, outline=outline, width=self._w(width))

    def poly(self, pts, fill, outline=None):
        self.draw.polygon(self._xy(pts), fill=fill, outline=outline)

    def line(self, pts, fill, width: float):
        self.draw.line(self._xy(pts), fill=fill, width=self._w(width), joint="curve")

    def _w(self, width: float) -> int:
        return max(1, int(round(width * self.k))) if width else 0


# --------------------------------------------------------------------------- objects
# Each painter draws one object centred in a unit square, facing right.

def _dog(pen: _Pen, tone: _Tone, rng: np.random.Generator) -> None:
    fur, dark, light = tone((160, 105, 55)), tone((95, 60, 30)), tone((205, 165, 115))
    pen.line([(0.2, 0.46), (0.07, 0.26)], dark, 0.06)  # tail
    for lx in (0.22, 0.33, 0.58, 0.69):  # legs
        pen.rect((lx, 0.58, lx + 0.08, 0.9), dark)
        pen.rect((lx - 0.01, 0.87, lx + 0.1, 0.92), dark)
    pen.ellipse((0.14, 0.34, 0.78, 0.7), fur)  # body
    for _ in range(int(rng.integers(2, 5))):  # patches of darker fur
        cx, cy, r = rng.uniform(0.25, 0.65), rng.uniform(0.42, 0.6), rng.uniform(0.04, 0.08)
        pen.circle(cx, cy, r, dark)
    pen.ellipse((0.6, 0.16, 0.9, 0.5), fur)  # head
    pen.ellipse((0.78, 0.3, 0.98, 0.47), light)  # snout
    pen.circle(0.95, 0.34, 0.03, (20, 15, 10, 255))  # nose
    pen.circle(0.76, 0.27, 0.025, (20, 15, 10, 255))  # eye
    pen.poly([(0.62, 0.18), (0.72, 0.16), (0.7, 0.44), (0.6, 0.38)], dark)  # floppy ear


def _car(pen: _Pen, tone: _Tone, rng: np.random.Generator) -> None:
    paint, glass = tone((205, 30, 30)), tone((175, 215, 240))
    pen.poly([(0.24, 0.47), (0.35, 0.24), (0.68, 0.24), (0.82, 0.47)], paint)  # cabin
    pen.rect((0.04, 0.44, 0.96, 0.73), paint, radius=0.06)  # body
    pen.poly([(0.3, 0.45), (0.38, 0.28), (0.5, 0.28), (0.5, 0.45)], glass)
    pen.poly([(0.53, 0.45), (0.53, 0.28), (0.66, 0.28), (0.76, 0.45)], glass)
    pen.line([(0.06, 0.58), (0.94, 0.58)], tone((140, 20, 20)), 0.015)  # door line
    pen.rect((0.9, 0.5, 0.96, 0.57), (250, 225, 90, 255))  # headlight
    pen.rect((0.04, 0.5, 0.08, 0.57), (150, 10, 10, 255))  # tail light
    for wx in (0.26, 0.74):
        pen.circle(wx, 0.74, 0.12, (20, 20, 22, 255))
        pen.circle(wx, 0.74, 0.05, (170, 170, 175, 255))


def _bird(pen: _Pen, tone: _Tone, rng: np.random.Generator) -> None:
    body, wing, beak = tone((245, 210, 35)), tone((185, 150, 20)), tone((245, 130, 30))
    pen.poly([(0.3, 0.5), (0.04, 0.38), (0.08, 0.64)], wing)  # tail
    pen.line([(0.45, 0.68), (0.42, 0.86)], beak, 0.025)  # legs
    pen.line([(0.55, 0.68), (0.57, 0.86)], beak, 0.025)
    pen.ellipse((0.22, 0.36, 0.76, 0.72), body)
    pen.circle(0.72, 0.34, 0.15, body)  # head
    pen.poly([(0.84, 0.29), (0.99, 0.35), (0.84, 0.41)], beak)
    pen.circle(0.76, 0.3, 0.025, (15, 15, 15, 255))
    if rng.random() < 0.5:  # wing up, as in flight
        pen.poly([(0.34, 0.5), (0.62, 0.48), (0.38, 0.12)], wing)
    else:
        pen.poly([(0.3, 0.48), (0.62, 0.45), (0.46, 0.66)], wing)


def _bell(pen: _Pen, tone: _Tone, rng: np.random.Generator) -> None:
    gold, dark, shine = tone((225, 175, 40)), tone((160, 115, 20)), tone((255, 235, 150))
    pen.rect((0.44, 0.02, 0.56, 0.2), tone((110, 65, 30)), radius=0.03)  # wooden handle
    pen.ellipse((0.3, 0.14, 0.7, 0.42), gold)  # crown
    pen.poly([(0.3, 0.28), (0.7, 0.28), (0.76, 0.66), (0.9, 0.8), (0.1, 0.8), (0.24, 0.66)], gold)
    pen.ellipse((0.08, 0.74, 0.92, 0.88), dark)  # lip
    pen.circle(0.5, 0.88, 0.065, tone((90, 70, 30)))  # clapper
    pen.poly([(0.34, 0.3), (0.4, 0.3), (0.34, 0.7), (0.26, 0.74)], shine)  # highlight


def _drum(pen: _Pen, tone: _Tone, rng: np.random.Generator) -> None:
    shell, hoop, head = tone((40, 75, 195)), tone((195, 35, 35)), tone((240, 232, 205))
    pen.rect((0.1, 0.3, 0.9, 0.8), shell)
    pen.ellipse((0.1, 0.7, 0.9, 0.9), shell)
    zig = [(0.1 + 0.8 * i / 8, 0.38 if i % 2 == 0 else 0.74) for i in range(9)]
    pen.line(zig, (245, 245, 245, 255), 0.025)  # tension cords
    pen.rect((0.1, 0.74, 0.9, 0.8), hoop)
    pen.ellipse((0.1, 0.2, 0.9, 0.4), head, outline=hoop, width=0.04)
    if rng.random() < 0.6:  # sticks resting across the head
        wood = tone((170, 120, 70))
        pen.line([(0.2, 0.08), (0.58, 0.3)], wood, 0.035)
        pen.line([(0.82, 0.06), (0.44, 0.3)], wood, 0.035)


def _bottle(pen: _Pen, tone: _Tone, rng: np.random.Generator) -> None:
    glass, rim = tone((35, 150, 60), 200), tone((20, 95, 40), 230)
    pen.rect((0.43, 0.08, 0.57, 0.3), glass)  # neck
    pen.rect((0.41, 0.04, 0.59, 0.1), rim)
    pen.poly([(0.31, 0.44), (0.42, 0.26), (0.58, 0.26), (0.69, 0.44)], glass)  # shoulder
    pen.rect((0.31, 0.4, 0.69, 0.96), glass, radius=0.05)  # body
    if rng.random() < 0.6:
        pen.rect((0.33, 0.56, 0.67, 0.78), tone((235, 225, 190), 235))  # label
    pen.rect((0.36, 0.44, 0.4, 0.9), (235, 255, 235, 140))  # reflection


def _door(pen: _Pen, tone: _Tone, rng: np.random.Generator) -> None:
    frame, wood, groove = tone((85, 48, 25)), tone((135, 72, 38)), tone((100, 52, 26))
    pen.rect((0.18, 0.0, 0.82, 1.0), frame)
    pen.rect((0.23, 0.04, 0.77, 1.0), wood)
    for box in ((0.29, 0.1, 0.48, 0.46), (0.52, 0.1, 0.71, 0.46), (0.29, 0.53, 0.48, 0.93),
                (0.52, 0.53, 0.71, 0.93)):
        pen.rect(box, None, outline=groove, width=0.025)
    pen.circle(0.69, 0.5, 0.04, tone((230, 185, 60)))  # knob


def _clock(pen: _Pen, tone: _Tone, rng: np.random.Generator) -> None:
    ink = (25, 25, 25, 255)
    pen.circle(0.5, 0.5, 0.46, tone((35, 35, 40)))
    pen.circle(0.5, 0.5, 0.4, tone((248, 248, 242)))
    for i in range(12):
        a = i * math.pi / 6
        r0 = 0.31 if i % 3 else 0.28
        pen.line([(0.5 + r0 * math.sin(a), 0.5 - r0 * math.cos(a)),
                  (0.5 + 0.37 * math.sin(a), 0.5 - 0.37 * math.cos(a))], ink, 0.025)
    minute = rng.uniform(0, 2 * math.pi)
    hour = rng.uniform(0, 2 * math.pi)
    pen.line([(0.5, 0.5), (0.5 + 0.3 * math.sin(minute), 0.5 - 0.3 * math.cos(minute))], ink, 0.035)
    pen.line([(0.5, 0.5), (0.5 + 0.2 * math.sin(hour), 0.5 - 0.2 * math.cos(hour))], ink, 0.05)
    pen.circle(0.5, 0.5, 0.04, (200, 30, 30, 255))


def _fire(pen: _Pen, tone: _Tone, rng: np.random.Generator) -> None:
    logs = tone((95, 55, 30))
    pen.line([(0.15, 0.95), (0.85, 0.78)], logs, 0.09)
    pen.line([(0.15, 0.78), (0.85, 0.95)], logs, 0.09)
    for colour, width, top in (((225, 60, 20), 0.38, 0.05), ((250, 145, 25), 0.28, 0.25),
                               ((255, 228, 90), 0.16, 0.45)):
        tongues = int(rng.integers(3, 6))
        pts = [(0.5 - width, 0.86)]
        for i in range(tongues):  # alternate tips and dips across the flame
            x0 = 0.5 - width + 2 * width * (i + 0.5) / tongues
            tip = top + rng.uniform(0.0, 0.2) * (1.0 if i in (0, tongues - 1) else 0.4)
            pts.append((x0 + rng.uniform(-0.03, 0.03), tip))
            if i < tongues - 1:
                pts.append((0.5 - width + 2 * width * (i + 1) / tongues, top + 0.25))
        pts.append((0.5 + width, 0.86))
        pen.poly(pts, tone(colour))
        pen.ellipse((0.5 - width, 0.7, 0.5 + width, 0.92), tone(colour))


def _phone(pen: _Pen, tone: _Tone, rng: np.random.Generator) -> None:
    pen.rect((0.27, 0.03, 0.73, 0.97), tone((28, 28, 34)), radius=0.08)
    screen = tone((70, 170, 235))
    pen.rect((0.31, 0.12, 0.69, 0.84), screen)
    palette = [(250, 250, 250), (255, 200, 60), (90, 220, 120), (240, 90, 90)]
    for row in range(3):  # app icons
        for col in range(3):
            if rng.random() < 0.8:
                x0, y0 = 0.34 + col * 0.115, 0.18 + row * 0.13
                pen.rect((x0, y0, x0 + 0.08, y0 + 0.08), palette[int(rng.integers(4))] + (255,))
    pen.rect((0.43, 0.06, 0.57, 0.08), (90, 90, 95, 255))  # speaker
    pen.circle(0.5, 0.9, 0.035, (90, 90, 95, 255))  # button


def _rock(pen: _Pen, tone: _Tone, rng: np.random.Generator) -> None:
    n = 11
    pts = []
    for i in range(n):  # a lumpy outline, flattened at the bottom
        a = 2 * math.pi * i / n
        r = rng.uniform(0.34, 0.46)
        pts.append((0.5 + r * math.cos(a), min(0.9, 0.58 + 0.78 * r * math.sin(a))))
    pen.poly(pts, tone((125, 124, 120)))
    pen.poly([(0.3, 0.42), (0.5, 0.3), (0.62, 0.38), (0.42, 0.5)], tone((165, 165, 160)))
    for _ in range(10):  # specks
        pen.circle(rng.uniform(0.25, 0.75), rng.uniform(0.45, 0.82), 0.02, tone((80, 80, 78)))


def _tree(pen: _Pen, tone: _Tone, rng: np.random.Generator) -> None:
    pen.poly([(0.43, 0.97), (0.46, 0.5), (0.54, 0.5), (0.57, 0.97)], tone((110, 70, 35)))
    leaf, light = tone((45, 140, 45)), tone((90, 185, 70))
    for cx, cy, r in ((0.5, 0.28, 0.24), (0.3, 0.42, 0.19), (0.7, 0.42, 0.19), (0.5, 0.5, 0.18)):
        pen.circle(cx + rng.uniform(-0.03, 0.03), cy, r, leaf)
    for _ in range(7):
        pen.circle(rng.uniform(0.25, 0.75), rng.uniform(0.15, 0.55), 0.03, light)


def _book(pen: _Pen, tone: _Tone, rng: np.random.Generator) -> None:
    cover, spine = tone((95, 45, 150)), tone((60, 25, 100))
    pen.rect((0.1, 0.28, 0.92, 0.78), tone((245, 240, 225)))  # page block
    for i in range(4):
        y = 0.7 + 0.02 * i
        pen.line([(0.14, y), (0.9, y)], (190, 185, 170, 255), 0.008)
    pen.rect((0.08, 0.22, 0.9, 0.7), cover, radius=0.02)
    pen.rect((0.08, 0.22, 0.18, 0.7), spine)
    pen.rect((0.36, 0.36, 0.78, 0.44), tone((225, 185, 60)))  # gold title
    pen.rect((0.42, 0.5, 0.72, 0.54), tone((225, 185, 60)))


_OBJECT_PAINTERS: dict[str, Callable[[_Pen, _Tone, np.random.Generator], None]] = {
    "dog": _dog, "car": _car, "bird": _bird, "bell": _bell, "drum": _drum, "bottle": _bottle,
    "door": _door, "clock": _clock, "fire": _fire, "phone": _phone, "rock": _rock, "tree": _tree,
    "book": _book,
}


# --------------------------------------------------------------------------- places

def _bands(w: int, h: int, bands) -> np.ndarray:
    """(h, w, 3) float picture of horizontal bands, each a vertical gradient:
    bands = [(y0, y1, top colour, bottom colour)] with y in frame fractions."""
    out = np.zeros((h, w, 3), np.float32)
    for y0, y1, top, bottom in bands:
        r0, r1 = int(round(y0 * h)), int(round(y1 * h))
        if r1 <= r0:
            continue
        t = np.linspace(0.0, 1.0, r1 - r0, dtype=np.float32)[:, None]
        col = np.asarray(top, np.float32) * (1 - t) + np.asarray(bottom, np.float32) * t
        out[r0:r1] = col[:, None, :]
    return out


def _image(a: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def _grain(rng: np.random.Generator, image: Image.Image, amount: float) -> Image.Image:
    """Slow colour drift plus fine grain, so no two backgrounds are identical."""
    w, h = image.size
    low = rng.normal(0.0, amount, (3, 4, 3))
    low = Image.fromarray(np.clip(low * 4 + 128, 0, 255).astype(np.uint8))
    drift = (np.asarray(low.resize((w, h), Image.Resampling.BILINEAR), np.float32) - 128) / 4
    fine = rng.normal(0.0, amount * 0.5, (h, w, 1)).astype(np.float32)
    return _image(np.asarray(image, np.float32) + drift + fine)


def _forest(rng: np.random.Generator, w: int, h: int, tone: _Tone) -> Image.Image:
    ground = rng.uniform(0.62, 0.76)
    img = _image(_bands(w, h, [(0, ground, tone((55, 105, 50)), tone((135, 170, 100))),
                               (ground, 1, tone((95, 125, 50)), tone((65, 85, 38)))]))
    d = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(4, 9))):  # foliage overhead
        cx, cy, r = rng.uniform(0, w), rng.uniform(-0.1, 0.25) * h, rng.uniform(0.08, 0.2) * w
        d.ellipse([cx - r, cy - r * 0.7, cx + r, cy + r * 0.7], fill=tone((38, 80, 35)))
    for _ in range(int(rng.integers(3, 7))):  # trunks
        x, tw = rng.uniform(-0.02, 1.0) * w, max(2.0, rng.uniform(0.03, 0.08) * w)
        foot = (ground + rng.uniform(0.0, 0.1)) * h
        shade = rng.uniform(0.75, 1.1)
        d.rectangle([x, 0, x + tw, foot], fill=tone(tuple(int(c * shade) for c in (80, 58, 36))))
    for _ in range(int(rng.integers(6, 14))):  # grass tufts
        x, y = rng.uniform(0, w), rng.uniform(ground + 0.03, 1.0) * h
        d.line([(x, y), (x + rng.uniform(-2, 2), y - 0.04 * h)], fill=tone((55, 95, 35)), width=1)
    return img


def _city(rng: np.random.Generator, w: int, h: int, tone: _Tone) -> Image.Image:
    street = rng.uniform(0.56, 0.66)
    kerb = street + 0.06
    img = _image(_bands(w, h, [(0, street, tone((165, 185, 210)), tone((215, 220, 225))),
                               (street, kerb, tone((175, 175, 170)), tone((160, 160, 155))),
                               (kerb, 1, tone((75, 75, 80)), tone((55, 55, 60)))]))
    d = ImageDraw.Draw(img)
    facades = [(150, 140, 130), (118, 120, 132), (172, 108, 88), (192, 182, 160), (140, 150, 145)]
    x = -rng.uniform(0, 0.1) * w
    while x < w:
        bw = rng.uniform(0.12, 0.26) * w
        top = rng.uniform(0.06, 0.42) * h
        d.rectangle([x, top, x + bw - 1, street * h], fill=tone(facades[int(rng.integers(len(facades)))]))
        step_x, step_y = max(3.0, 0.05 * w), max(3.0, 0.08 * h)
        win_w, win_h = max(1.0, 0.45 * step_x), max(1.0, 0.45 * step_y)
        wy = top + step_y * 0.5
        while wy + win_h < street * h - 2:
            wx = x + step_x * 0.4
            while wx + win_w < x + bw - 2:
                lit = rng.random() < 0.35
                d.rectangle([wx, wy, wx + win_w, wy + win_h],
                            fill=tone((235, 210, 120)) if lit else tone((60, 72, 95)))
                wx += step_x
            wy += step_y
        x += bw
    lane_y = (kerb + (1 - kerb) * 0.5) * h
    dash, gap = 0.09 * w, 0.07 * w
    x = -rng.uniform(0, dash + gap)
    while x < w:  # dashed centre line
        d.rectangle([x, lane_y - max(1, 0.008 * h), x + dash, lane_y + max(1, 0.008 * h)],
                    fill=tone((235, 235, 225)))
        x += dash + gap
    return img


def _beach(rng: np.random.Generator, w: int, h: int, tone: _Tone) -> Image.Image:
    sea = rng.uniform(0.34, 0.46)
    shore = sea + rng.uniform(0.14, 0.22)
    img = _image(_bands(w, h, [(0, sea, tone((115, 175, 235)), tone((200, 225, 245))),
                               (sea, shore, tone((35, 105, 165)), tone((70, 150, 190))),
                               (shore, shore + 0.05, tone((190, 165, 120)), tone((215, 190, 140))),
                               (shore + 0.05, 1, tone((232, 208, 158)), tone((220, 195, 140)))]))
    d = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(0, 4))):  # clouds
        cx, cy = rng.uniform(0, w), rng.uniform(0.05, sea - 0.1) * h
        rx, ry = rng.uniform(0.06, 0.14) * w, rng.uniform(0.03, 0.06) * h
        d.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=tone((245, 248, 250)))
    for _ in range(int(rng.integers(5, 12))):  # wave crests
        x, y = rng.uniform(0, w), rng.uniform(sea + 0.02, shore - 0.02) * h
        d.line([(x, y), (x + rng.uniform(0.04, 0.12) * w, y)], fill=tone((215, 235, 245)), width=1)
    d.line([(0, shore * h), (w, shore * h)], fill=tone((240, 245, 245)), width=max(1, int(0.012 * h)))
    for _ in range(int(rng.integers(10, 25))):  # shells and pebbles
        x, y = rng.uniform(0, w), rng.uniform(shore + 0.06, 1.0) * h
        d.point((x, y), fill=tone((160, 140, 105)))
    return img


def _kitchen(rng: np.random.Generator, w: int, h: int, tone: _Tone) -> Image.Image:
    counter = rng.uniform(0.62, 0.72)
    tile_colour = [(236, 234, 226), (198, 220, 232), (212, 226, 200)][int(rng.integers(3))]
    wall = tone(tile_colour)
    img = _image(_bands(w, h, [(0, counter, wall, wall),
                               (counter, counter + 0.05, tone((175, 122, 70)), tone((150, 100, 55))),
                               (counter + 0.05, 1, tone((226, 220, 204)), tone((205, 198, 182)))]))
    d = ImageDraw.Draw(img)
    grout = tuple(int(c * 0.8) for c in wall)
    tile = rng.uniform(0.08, 0.14) * h
    line = max(1, int(round(0.012 * h)))
    y = rng.uniform(0, tile)
    while y < counter * h:
        d.line([(0, y), (w, y)], fill=grout, width=line)
        y += tile
    x = rng.uniform(0, tile)
    while x < w:
        d.line([(x, 0), (x, counter * h)], fill=grout, width=line)
        x += tile
    if rng.random() < 0.4:  # a window over the counter
        x0, y0 = rng.uniform(0.05, 0.6) * w, rng.uniform(0.08, 0.2) * h
        x1, y1 = x0 + rng.uniform(0.2, 0.32) * w, y0 + rng.uniform(0.2, 0.3) * h
        d.rectangle([x0, y0, x1, y1], fill=tone((170, 205, 235)), outline=tone((250, 250, 250)),
                    width=max(1, int(0.015 * h)))
    x = rng.uniform(-0.1, 0.0) * w
    while x < w:  # cabinet doors and handles
        cw = rng.uniform(0.18, 0.26) * w
        d.line([(x, (counter + 0.05) * h), (x, h)], fill=tone((170, 160, 140)), width=1)
        d.rectangle([x + cw * 0.45, (counter + 0.12) * h, x + cw * 0.55, (counter + 0.14) * h],
                    fill=tone((120, 120, 125)))
        x += cw
    return img


_PLACE_PAINTERS: dict[str, Callable[[np.random.Generator, int, int, _Tone], Image.Image]] = {
    "forest": _forest, "city": _city, "beach": _beach, "kitchen": _kitchen,
}
