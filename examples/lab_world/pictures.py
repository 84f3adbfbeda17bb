"""Pictures of the lab world: places as wide backdrops, objects as sprites, captions.

A place is painted as a backdrop of any width (a film pans across one wider
than its frame). An object is drawn in a square box on a transparent sprite
at twice its final size, turned, halved and laid on the backdrop with its
alpha. Every random choice comes from the ``numpy.random.Generator`` handed
in: one seed, one picture.

Coordinates: ``x``, ``y`` are an object's centre as fractions of the frame
(0..1); ``size`` is the side of its box as a fraction of the frame height;
``tilt`` is in degrees, counter-clockwise; ``facing`` +1 looks right, -1
left.
"""

from __future__ import annotations

import colorsys
import math
from typing import Callable, Sequence

import numpy as np
from PIL import Image, ImageDraw

from .catalog import LOCALE, LOCALES, THING, THINGS, article

RGB = tuple[int, int, int]
Sprite = tuple[str, float, float, float, float]  # (thing, x, y, size, tilt)

_OVERDRAW = 2  # sprites are drawn at this multiple of their size, then reduced


# --------------------------------------------------------------------------- colour helpers

def _shift(rng: np.random.Generator, colour: RGB, hue: float = 0.03, light: float = 0.08) -> RGB:
    """``colour`` with its hue and lightness nudged at random."""
    h, l, s = colorsys.rgb_to_hls(*(c / 255 for c in colour))
    h = (h + rng.uniform(-hue, hue)) % 1.0
    l = min(1.0, max(0.0, l + rng.uniform(-light, light)))
    return tuple(int(round(c * 255)) for c in colorsys.hls_to_rgb(h, l, s))  # type: ignore[return-value]


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return tuple(int(round(a[i] + (b[i] - a[i]) * t)) for i in range(3))  # type: ignore[return-value]


def _darker(c: RGB, f: float = 0.7) -> RGB:
    return tuple(int(v * f) for v in c)  # type: ignore[return-value]


def _gradient(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], top: RGB, bottom: RGB) -> None:
    x0, y0, x1, y1 = box
    span = max(1, y1 - y0)
    for y in range(y0, y1):
        draw.line([(x0, y), (x1, y)], fill=_mix(top, bottom, (y - y0) / span))


def _speckle(rng: np.random.Generator, image: Image.Image, amount: float) -> Image.Image:
    """Film grain: Gaussian noise of ``amount`` grey levels on every pixel."""
    a = np.asarray(image, np.int16)
    noise = rng.normal(0.0, amount, a.shape[:2])[..., None]
    return Image.fromarray(np.clip(a + noise, 0, 255).astype(np.uint8))


# --------------------------------------------------------------------------- places

def paint_place(rng: np.random.Generator, width: int, height: int, place: str) -> Image.Image:
    """The backdrop of ``place``, ``width`` x ``height`` pixels (any aspect)."""
    try:
        painter = _PLACES[place]
    except KeyError:
        raise ValueError(f"unknown place {place!r}; known: {', '.join(LOCALE)}") from None
    image = Image.new("RGB", (width, height))
    painter(rng, ImageDraw.Draw(image), width, height)
    return _speckle(rng, image, rng.uniform(3.0, 7.0))


def _desert(rng, d: ImageDraw.ImageDraw, w: int, h: int) -> None:
    horizon = int(h * rng.uniform(0.4, 0.5))
    _gradient(d, (0, 0, w, horizon), _shift(rng, (236, 176, 112)), _shift(rng, (252, 226, 178)))
    sx, sy, sr = rng.uniform(0, w), rng.uniform(0.08, 0.22) * h, rng.uniform(0.05, 0.08) * h
    d.ellipse([sx - sr, sy - sr, sx + sr, sy + sr], fill=(255, 246, 214))
    mesa = _shift(rng, (168, 92, 60))
    x = rng.uniform(-0.3, 0.1) * h
    while x < w:  # flat-topped mesas on the horizon
        top = horizon - rng.uniform(0.06, 0.14) * h
        span = rng.uniform(0.3, 0.7) * h
        d.polygon([(x, horizon), (x + 0.1 * span, top), (x + 0.9 * span, top), (x + span, horizon)], fill=mesa)
        x += span + rng.uniform(0.2, 1.0) * h
    sands = [(230, 188, 118), (218, 170, 98), (204, 152, 84)]
    for layer, base in enumerate(sands):  # three rows of dunes, nearer ones lower and darker
        colour = _shift(rng, base, hue=0.01)
        y0 = horizon + (h - horizon) * layer / 3.2
        period, amp, phase = rng.uniform(0.6, 1.4) * h, rng.uniform(0.03, 0.07) * h, rng.uniform(0, 6.3)
        pts = [(float(x), y0 + amp * math.sin(2 * math.pi * x / period + phase)) for x in range(0, w + 8, 8)]
        d.polygon(pts + [(w, h), (0, h)], fill=colour)
        ripple = _darker(colour, 0.9)
        for _ in range(int(w / h * 3)):
            rx, ry = rng.uniform(0, w), rng.uniform(y0 + amp, h)
            d.arc([rx, ry, rx + 0.25 * h, ry + 0.05 * h], 200, 340, fill=ripple, width=max(1, h // 120))


def _workshop(rng, d: ImageDraw.ImageDraw, w: int, h: int) -> None:
    wood = _shift(rng, (150, 98, 56))
    x = 0.0
    while x < w:  # plank wall
        pw = rng.uniform(0.08, 0.14) * h
        d.rectangle([x, 0, x + pw, h], fill=_shift(rng, wood, hue=0.01, light=0.05))
        d.line([(x, 0), (x, h)], fill=_darker(wood, 0.55), width=max(1, h // 90))
        x += pw
    board = _shift(rng, (214, 184, 140))
    x = rng.uniform(0, 0.5) * h
    while x < w:  # pegboards with holes
        bw = rng.uniform(0.5, 0.9) * h
        y0, y1 = 0.1 * h, 0.42 * h
        d.rectangle([x, y0, x + bw, y1], fill=board, outline=_darker(board, 0.6))
        step = 0.045 * h
        for hx in np.arange(x + step, x + bw - step / 2, step):
            for hy in np.arange(y0 + step, y1 - step / 2, step):
                d.ellipse([hx - 1, hy - 1, hx + 1, hy + 1], fill=_darker(board, 0.45))
        x += bw + rng.uniform(0.4, 1.2) * h
    top = rng.uniform(0.7, 0.76) * h
    bench = _shift(rng, (186, 122, 62))
    d.rectangle([0, top - 0.05 * h, w, h], fill=_darker(bench, 0.4))  # shadow under the bench
    d.rectangle([0, top - 0.06 * h, w, top], fill=bench)
    d.line([(0, top - 0.06 * h), (w, top - 0.06 * h)], fill=_mix(bench, (255, 255, 255), 0.3), width=max(1, h // 80))
    x = rng.uniform(0.1, 0.4) * h
    while x < w:  # bench legs
        d.rectangle([x, top, x + 0.05 * h, h], fill=_darker(bench, 0.7))
        x += rng.uniform(0.8, 1.4) * h
    d.rectangle([0, 0.93 * h, w, h], fill=_shift(rng, (120, 120, 116)))


def _snowfield(rng, d: ImageDraw.ImageDraw, w: int, h: int) -> None:
    horizon = int(h * rng.uniform(0.42, 0.52))
    _gradient(d, (0, 0, w, horizon), _shift(rng, (176, 196, 224)), _shift(rng, (226, 234, 246)))
    rock = _shift(rng, (110, 124, 150))
    x = rng.uniform(-0.4, 0.0) * h
    while x < w:  # mountains with snow caps
        span, peak = rng.uniform(0.5, 1.1) * h, rng.uniform(0.14, 0.3) * h
        top = (x + span / 2, horizon - peak)
        d.polygon([(x, horizon), top, (x + span, horizon)], fill=rock)
        cap = 0.35
        d.polygon([top, (top[0] - span / 2 * cap, top[1] + peak * cap),
                   (top[0] + span / 2 * cap, top[1] + peak * cap)], fill=(244, 248, 255))
        x += span * rng.uniform(0.45, 0.9)
    d.rectangle([0, horizon, w, h], fill=_shift(rng, (236, 242, 250), light=0.02))
    drift = (206, 216, 234)
    for _ in range(int(w / h * 4)):  # blue-grey drift shadows
        cx, cy = rng.uniform(0, w), rng.uniform(horizon + 0.05 * h, h)
        rw, rh = rng.uniform(0.2, 0.5) * h, rng.uniform(0.015, 0.04) * h
        d.ellipse([cx - rw, cy - rh, cx + rw, cy + rh], fill=drift)
    for _ in range(int(w * h / 900)):  # falling flakes
        fx, fy = rng.uniform(0, w), rng.uniform(0, h)
        r = rng.uniform(0.5, 1.5) * h / 180
        d.ellipse([fx - r, fy - r, fx + r, fy + r], fill=(255, 255, 255))


def _office(rng, d: ImageDraw.ImageDraw, w: int, h: int) -> None:
    d.rectangle([0, 0, w, h], fill=_shift(rng, (214, 210, 196)))
    d.rectangle([0, 0, w, 0.08 * h], fill=(236, 236, 232))
    x = rng.uniform(0, 0.4) * h
    while x < w:  # ceiling lights
        d.rectangle([x, 0.02 * h, x + 0.3 * h, 0.05 * h], fill=(252, 252, 240))
        x += rng.uniform(0.6, 1.0) * h
    frame = _shift(rng, (238, 238, 238))
    x = rng.uniform(0, 0.6) * h
    while x < w:  # windows: sky panes behind a white frame
        ww = rng.uniform(0.45, 0.7) * h
        y0, y1 = 0.14 * h, 0.52 * h
        _gradient(d, (int(x), int(y0), int(x + ww), int(y1)), (110, 160, 220), (180, 210, 240))
        d.rectangle([x, y0, x + ww, y1], outline=frame, width=max(2, h // 45))
        d.line([(x + ww / 2, y0), (x + ww / 2, y1)], fill=frame, width=max(1, h // 70))
        d.line([(x, (y0 + y1) / 2), (x + ww, (y0 + y1) / 2)], fill=frame, width=max(1, h // 70))
        x += ww + rng.uniform(0.3, 0.8) * h
    top = rng.uniform(0.66, 0.72) * h
    desk = _shift(rng, (188, 190, 194))
    d.rectangle([0, top, w, 0.86 * h], fill=_darker(desk, 0.75))
    d.rectangle([0, top - 0.04 * h, w, top], fill=desk)
    d.rectangle([0, 0.86 * h, w, h], fill=_shift(rng, (84, 96, 120)))


def _harbour(rng, d: ImageDraw.ImageDraw, w: int, h: int) -> None:
    shore = int(h * rng.uniform(0.36, 0.42))
    _gradient(d, (0, 0, w, shore), _shift(rng, (92, 150, 214)), _shift(rng, (172, 206, 236)))
    for _ in range(max(1, int(w / h * 1.5))):  # clouds
        cx, cy = rng.uniform(0, w), rng.uniform(0.05, 0.25) * h
        for _ in range(3):
            rw, rh = rng.uniform(0.08, 0.16) * h, rng.uniform(0.03, 0.06) * h
            ox = rng.uniform(-0.1, 0.1) * h
            d.ellipse([cx + ox - rw, cy - rh, cx + ox + rw, cy + rh], fill=(248, 250, 252))
    land = _shift(rng, (70, 96, 78))
    d.rectangle([0, shore - 0.03 * h, w, shore + 0.02 * h], fill=land)
    x = 0.0
    while x < w:  # houses on the far shore
        bw, bh = rng.uniform(0.04, 0.09) * h, rng.uniform(0.03, 0.08) * h
        colour = _shift(rng, [(200, 80, 60), (230, 220, 200), (90, 110, 160)][int(rng.integers(3))])
        d.rectangle([x, shore - 0.03 * h - bh, x + bw, shore - 0.03 * h], fill=colour)
        x += bw + rng.uniform(0.01, 0.12) * h
    pier = int(h * rng.uniform(0.8, 0.86))
    _gradient(d, (0, shore + int(0.02 * h), w, pier), _shift(rng, (52, 104, 150)), _shift(rng, (24, 62, 104)))
    wave = (150, 190, 220)
    for _ in range(int(w / h * 14)):
        wx, wy = rng.uniform(0, w), rng.uniform(shore + 0.04 * h, pier)
        wl = rng.uniform(0.03, 0.08) * h
        d.line([(wx, wy), (wx + wl, wy)], fill=wave, width=max(1, h // 150))
    plank = _shift(rng, (134, 96, 60))
    d.rectangle([0, pier, w, h], fill=plank)
    for y in np.linspace(pier, h, 5):
        d.line([(0, y), (w, y)], fill=_darker(plank, 0.6), width=max(1, h // 120))
    x = rng.uniform(0, 0.5) * h
    while x < w:  # bollards on the pier's edge
        d.rectangle([x, pier - 0.06 * h, x + 0.05 * h, pier + 0.02 * h], fill=(40, 40, 46))
        d.ellipse([x - 0.01 * h, pier - 0.08 * h, x + 0.06 * h, pier - 0.05 * h], fill=(52, 52, 58))
        x += rng.uniform(0.8, 1.6) * h


_PLACES: dict[str, Callable] = {"desert": _desert, "workshop": _workshop, "snowfield": _snowfield,
                                "office": _office, "harbour": _harbour}


# --------------------------------------------------------------------------- objects

class _Pen:
    """Draws in a unit box (0..1 both ways) on a square sprite, mirrored when facing left."""

    def __init__(self, draw: ImageDraw.ImageDraw, side: int, facing: int):
        self.d, self.s, self.flip = draw, side, facing < 0

    def p(self, u: float, v: float) -> tuple[float, float]:
        return ((1 - u) if self.flip else u) * self.s, v * self.s

    def poly(self, pts: Sequence[tuple[float, float]], fill, outline=None) -> None:
        self.d.polygon([self.p(u, v) for u, v in pts], fill=fill, outline=outline)

    def box(self, u0, v0, u1, v1, fill, outline=None, width: float = 0.0) -> None:
        (a, b), (c, e) = self.p(u0, v0), self.p(u1, v1)
        self.d.rectangle([min(a, c), b, max(a, c), e], fill=fill, outline=outline,
                         width=max(1, int(width * self.s)) if outline else 0)

    def oval(self, u0, v0, u1, v1, fill, outline=None, width: float = 0.0) -> None:
        (a, b), (c, e) = self.p(u0, v0), self.p(u1, v1)
        self.d.ellipse([min(a, c), b, max(a, c), e], fill=fill, outline=outline,
                       width=max(1, int(width * self.s)) if outline else 0)

    def dot(self, u, v, r, fill) -> None:
        self.oval(u - r, v - r, u + r, v + r, fill)

    def line(self, pts, fill, width: float) -> None:
        self.d.line([self.p(u, v) for u, v in pts], fill=fill, width=max(1, int(width * self.s)), joint="curve")


def _snake(rng, pen: _Pen) -> None:
    body = _shift(rng, [(88, 140, 52), (150, 120, 60), (70, 110, 90)][int(rng.integers(3))])
    band = _shift(rng, (228, 204, 90))
    amp, turns, phase = rng.uniform(0.08, 0.14), rng.uniform(1.2, 1.8), rng.uniform(0, 6.3)
    n = 40
    for i in range(n):  # tail (left) to neck (right), thickening
        u = 0.06 + 0.72 * i / (n - 1)
        v = 0.62 + amp * math.sin(2 * math.pi * turns * (u - 0.06) + phase)
        r = 0.04 + 0.05 * i / (n - 1)
        pen.dot(u, v, r, band if i % 6 == 3 else body)
    hv = 0.62 + amp * math.sin(2 * math.pi * turns * 0.72 + phase) - 0.05
    pen.oval(0.72, hv - 0.1, 0.93, hv + 0.08, _darker(body, 0.9))
    pen.dot(0.86, hv - 0.025, 0.015, (10, 10, 10))
    pen.line([(0.92, hv), (0.98, hv)], (210, 30, 40), 0.012)
    pen.line([(0.98, hv), (1.0, hv - 0.02)], (210, 30, 40), 0.008)
    pen.line([(0.98, hv), (1.0, hv + 0.02)], (210, 30, 40), 0.008)


def _kettle(rng, pen: _Pen) -> None:
    metal = _shift(rng, [(200, 40, 36), (190, 196, 204), (50, 90, 170)][int(rng.integers(3))], light=0.05)
    pen.line([(0.66, 0.66), (0.8, 0.5), (0.9, 0.38)], _darker(metal, 0.8), 0.07)  # spout
    pen.poly([(0.22, 0.88), (0.78, 0.88), (0.7, 0.46), (0.3, 0.46)], metal)
    pen.oval(0.28, 0.38, 0.72, 0.54, metal)
    pen.box(0.2, 0.86, 0.8, 0.92, _darker(metal, 0.5))
    pen.line([(0.34, 0.42), (0.38, 0.2), (0.62, 0.2), (0.66, 0.42)], (30, 30, 30), 0.04)  # handle
    pen.dot(0.5, 0.38, 0.035, (30, 30, 30))
    pen.line([(0.3, 0.6), (0.36, 0.8)], _mix(metal, (255, 255, 255), 0.6), 0.025)  # highlight
    for k, (u, v, r) in enumerate([(0.92, 0.3, 0.04), (0.95, 0.18, 0.05), (0.9, 0.06, 0.05)]):
        if k < 1 + int(rng.integers(3)):
            pen.dot(u, v, r, (240, 244, 248, 200))  # steam puffs


def _fan(rng, pen: _Pen) -> None:
    grey = _shift(rng, (160, 164, 170), light=0.06)
    blade = _shift(rng, [(70, 130, 200), (236, 236, 236), (60, 170, 150)][int(rng.integers(3))])
    pen.oval(0.28, 0.88, 0.72, 0.97, _darker(grey, 0.7))
    pen.box(0.47, 0.6, 0.53, 0.92, _darker(grey, 0.85))
    cx, cy, r = 0.5, 0.37, 0.33
    spin = rng.uniform(0, 2 * math.pi)
    for k in range(3):
        a = spin + k * 2 * math.pi / 3
        tip = (cx + r * 0.92 * math.cos(a), cy + r * 0.92 * math.sin(a))
        left = (cx + r * 0.6 * math.cos(a - 0.45), cy + r * 0.6 * math.sin(a - 0.45))
        right = (cx + r * 0.6 * math.cos(a + 0.45), cy + r * 0.6 * math.sin(a + 0.45))
        pen.poly([(cx, cy), left, tip, right], blade)
    pen.dot(cx, cy, 0.06, _darker(grey, 0.6))
    for k in range(12):  # cage wires
        a = k * math.pi / 6
        pen.line([(cx + 0.07 * math.cos(a), cy + 0.07 * math.sin(a)),
                  (cx + r * math.cos(a), cy + r * math.sin(a))], grey, 0.008)
    pen.oval(cx - r, cy - r, cx + r, cy + r, None, grey, 0.025)


def _horse(rng, pen: _Pen) -> None:
    coat = _shift(rng, [(140, 82, 40), (96, 60, 36), (180, 176, 168), (60, 44, 34)][int(rng.integers(4))])
    mane = _darker(coat, 0.45)
    stride = rng.uniform(-0.06, 0.06)
    for u, s in ((0.28, 1), (0.36, -1), (0.62, -1), (0.7, 1)):  # legs, spread by the stride
        pen.line([(u, 0.56), (u + s * stride, 0.74), (u + s * stride * 1.4, 0.9)], _darker(coat, 0.85), 0.045)
        pen.box(u + s * stride * 1.4 - 0.028, 0.89, u + s * stride * 1.4 + 0.028, 0.93, (30, 24, 20))
    pen.line([(0.22, 0.42), (0.12, 0.56), (0.1, 0.7)], mane, 0.05)  # tail
    pen.oval(0.2, 0.34, 0.76, 0.62, coat)
    pen.poly([(0.64, 0.44), (0.74, 0.18), (0.84, 0.16), (0.78, 0.46)], coat)  # neck
    pen.poly([(0.76, 0.14), (0.98, 0.26), (0.96, 0.32), (0.8, 0.3)], coat)  # head
    pen.poly([(0.77, 0.15), (0.79, 0.06), (0.82, 0.15)], coat)  # ear
    pen.line([(0.75, 0.16), (0.66, 0.42)], mane, 0.035)
    pen.dot(0.85, 0.21, 0.015, (10, 10, 10))


def _cat(rng, pen: _Pen) -> None:
    fur = _shift(rng, [(128, 128, 132), (222, 140, 60), (40, 40, 44), (230, 226, 216)][int(rng.integers(4))])
    pen.line([(0.34, 0.9), (0.16, 0.84), (0.12, 0.64), (0.18, 0.52)], _darker(fur, 0.85), 0.05)  # tail
    pen.oval(0.3, 0.46, 0.74, 0.96, fur)
    pen.oval(0.4, 0.66, 0.62, 0.96, _mix(fur, (255, 255, 255), 0.35))  # chest
    hx, hy = 0.58, 0.33
    pen.poly([(hx - 0.15, hy - 0.04), (hx - 0.13, hy - 0.22), (hx - 0.03, hy - 0.1)], fur)  # ears
    pen.poly([(hx + 0.15, hy - 0.04), (hx + 0.13, hy - 0.22), (hx + 0.03, hy - 0.1)], fur)
    pen.oval(hx - 0.16, hy - 0.14, hx + 0.16, hy + 0.13, fur)
    for ex in (hx - 0.065, hx + 0.065):
        pen.oval(ex - 0.035, hy - 0.045, ex + 0.035, hy + 0.015, (110, 200, 80))
        pen.box(ex - 0.007, hy - 0.04, ex + 0.007, hy + 0.01, (10, 10, 10))
    pen.poly([(hx - 0.02, hy + 0.04), (hx + 0.02, hy + 0.04), (hx, hy + 0.065)], (230, 130, 150))
    for dv in (-0.02, 0.02):
        pen.line([(hx - 0.04, hy + 0.06), (hx - 0.2, hy + 0.06 + dv * 2)], (250, 250, 250), 0.006)
        pen.line([(hx + 0.04, hy + 0.06), (hx + 0.2, hy + 0.06 + dv * 2)], (250, 250, 250), 0.006)


def _saw(rng, pen: _Pen) -> None:
    steel = _shift(rng, (196, 200, 206), light=0.05)
    pen.poly([(0.04, 0.4), (0.7, 0.32), (0.7, 0.62), (0.04, 0.52)], steel)
    teeth = []
    n = 16
    for i in range(n + 1):  # a zigzag along the lower edge
        u = 0.04 + 0.66 * i / n
        v = 0.52 + 0.1 * (u - 0.04) / 0.66
        teeth.append((u, v + (0.035 if i % 2 else 0.0)))
    pen.poly(teeth + [(0.7, 0.55), (0.04, 0.5)], _darker(steel, 0.8))
    pen.line([(0.08, 0.42), (0.66, 0.36)], _mix(steel, (255, 255, 255), 0.7), 0.012)
    wood = _shift(rng, [(196, 112, 48), (150, 60, 40), (40, 40, 40)][int(rng.integers(3))])
    pen.poly([(0.66, 0.26), (0.86, 0.22), (0.97, 0.36), (0.96, 0.74), (0.82, 0.8), (0.66, 0.68)], wood)
    pen.oval(0.74, 0.38, 0.9, 0.62, (0, 0, 0, 0))  # the grip's hole


def _frog(rng, pen: _Pen) -> None:
    skin = _shift(rng, [(76, 160, 60), (110, 140, 50), (60, 130, 110)][int(rng.integers(3))])
    pen.oval(0.06, 0.68, 0.36, 0.94, _darker(skin, 0.85))  # folded hind legs
    pen.oval(0.64, 0.68, 0.94, 0.94, _darker(skin, 0.85))
    pen.oval(0.16, 0.42, 0.84, 0.9, skin)
    pen.oval(0.3, 0.62, 0.7, 0.9, _mix(skin, (250, 240, 190), 0.55))  # belly
    for _ in range(5):
        u, v = rng.uniform(0.25, 0.75), rng.uniform(0.48, 0.62)
        pen.dot(u, v, 0.025, _darker(skin, 0.65))
    for ex in (0.34, 0.66):
        pen.dot(ex, 0.42, 0.1, skin)
        pen.dot(ex, 0.41, 0.065, (250, 250, 230))
        pen.dot(ex, 0.41, 0.035, (10, 10, 10))
    pen.line([(0.36, 0.6), (0.5, 0.64), (0.64, 0.6)], _darker(skin, 0.5), 0.012)
    pen.line([(0.32, 0.8), (0.28, 0.94)], _darker(skin, 0.8), 0.04)
    pen.line([(0.68, 0.8), (0.72, 0.94)], _darker(skin, 0.8), 0.04)


def _helicopter(rng, pen: _Pen) -> None:
    paint = _shift(rng, [(240, 196, 40), (210, 50, 40), (60, 90, 160), (230, 230, 230)][int(rng.integers(4))])
    dark = (44, 44, 50)
    pen.poly([(0.02, 0.44), (0.3, 0.46), (0.3, 0.56), (0.04, 0.5)], _darker(paint, 0.85))  # tail boom
    pen.poly([(0.02, 0.36), (0.08, 0.36), (0.1, 0.48), (0.03, 0.48)], _darker(paint, 0.7))  # fin
    pen.dot(0.05, 0.42, 0.045, (150, 150, 150, 140))  # tail rotor blur
    pen.oval(0.24, 0.34, 0.78, 0.68, paint)
    pen.poly([(0.6, 0.38), (0.74, 0.44), (0.77, 0.56), (0.6, 0.56)], (120, 190, 230))  # window
    pen.box(0.46, 0.27, 0.52, 0.35, dark)
    pen.oval(0.06, 0.24, 0.94, 0.31, (110, 110, 116, 150))  # main rotor disc
    pen.line([(0.08, 0.275), (0.92, 0.275)], dark, 0.018)
    pen.line([(0.36, 0.68), (0.34, 0.78)], dark, 0.015)
    pen.line([(0.64, 0.68), (0.66, 0.78)], dark, 0.015)
    pen.line([(0.24, 0.78), (0.8, 0.78), (0.84, 0.75)], dark, 0.02)  # skid


def _hammer(rng, pen: _Pen) -> None:
    wood = _shift(rng, [(196, 140, 80), (170, 60, 40), (60, 60, 64)][int(rng.integers(3))])
    pen.box(0.45, 0.26, 0.55, 0.96, wood)
    pen.line([(0.48, 0.3), (0.48, 0.92)], _mix(wood, (255, 255, 255), 0.3), 0.012)
    steel = _shift(rng, (92, 96, 104), light=0.06)
    pen.box(0.3, 0.1, 0.7, 0.28, steel)
    pen.box(0.22, 0.12, 0.3, 0.26, _darker(steel, 0.8))  # striking face
    pen.poly([(0.7, 0.1), (0.86, 0.02), (0.9, 0.06), (0.7, 0.19)], steel)  # claw
    pen.poly([(0.7, 0.2), (0.88, 0.28), (0.86, 0.33), (0.7, 0.28)], steel)


def _ship(rng, pen: _Pen) -> None:
    hull = _shift(rng, [(30, 34, 44), (40, 70, 130), (120, 30, 30)][int(rng.integers(3))])
    pen.box(0.54, 0.3, 0.84, 0.56, (240, 240, 236))  # superstructure
    for k in range(4):
        pen.dot(0.59 + k * 0.07, 0.42, 0.018, (40, 60, 90))
    funnel = _shift(rng, (200, 50, 40))
    pen.box(0.62, 0.14, 0.72, 0.31, funnel)
    pen.box(0.62, 0.18, 0.72, 0.22, (20, 20, 20))
    pen.line([(0.36, 0.56), (0.36, 0.16)], (60, 60, 60), 0.012)  # mast
    pen.poly([(0.0, 0.55), (1.0, 0.55), (0.9, 0.8), (0.08, 0.8)], hull)
    pen.poly([(0.05, 0.72), (0.93, 0.72), (0.9, 0.8), (0.08, 0.8)], (170, 40, 36))  # waterline
    for k in range(6):
        pen.box(0.08 + k * 0.06, 0.46, 0.12 + k * 0.06, 0.55, _shift(rng, [(200, 80, 40), (60, 120, 180), (220, 200, 60)][k % 3]))


def _chime(rng, pen: _Pen) -> None:
    wood = _shift(rng, (140, 92, 52))
    metal = _shift(rng, [(200, 204, 212), (210, 180, 90), (170, 200, 210)][int(rng.integers(3))])
    pen.line([(0.5, 0.0), (0.5, 0.1)], (60, 60, 60), 0.01)
    pen.oval(0.22, 0.08, 0.78, 0.17, wood)
    sway = rng.uniform(-0.04, 0.04)
    for k, u in enumerate(np.linspace(0.28, 0.72, 5)):
        length = 0.36 + 0.28 * abs(math.sin(k * 1.7 + 0.4))
        top = 0.24
        pen.line([(u, 0.14), (u + sway / 2, top)], (60, 60, 60), 0.006)
        pen.poly([(u + sway / 2 - 0.025, top), (u + sway / 2 + 0.025, top),
                  (u + sway + 0.025, top + length), (u + sway - 0.025, top + length)], metal)
        pen.line([(u + sway / 2 - 0.012, top + 0.02), (u + sway - 0.012, top + length - 0.02)],
                 _mix(metal, (255, 255, 255), 0.6), 0.006)
    pen.line([(0.5, 0.14), (0.5 + sway, 0.86)], (60, 60, 60), 0.006)
    pen.box(0.45 + sway, 0.86, 0.55 + sway, 0.98, wood)


def _cactus(rng, pen: _Pen) -> None:
    green = _shift(rng, (64, 138, 72))
    rib = _darker(green, 0.75)
    arm_l, arm_r = rng.uniform(0.42, 0.6), rng.uniform(0.32, 0.52)
    pen.box(0.22, arm_l, 0.46, arm_l + 0.08, green)
    pen.box(0.22, arm_l - 0.2, 0.3, arm_l + 0.08, green)
    pen.oval(0.22, arm_l - 0.24, 0.3, arm_l - 0.16, green)
    pen.box(0.54, arm_r, 0.78, arm_r + 0.08, green)
    pen.box(0.7, arm_r - 0.18, 0.78, arm_r + 0.08, green)
    pen.oval(0.7, arm_r - 0.22, 0.78, arm_r - 0.14, green)
    pen.box(0.4, 0.12, 0.6, 0.98, green)
    pen.oval(0.4, 0.04, 0.6, 0.2, green)
    for u in (0.45, 0.5, 0.55):
        pen.line([(u, 0.1), (u, 0.96)], rib, 0.006)
    for _ in range(24):
        pen.dot(rng.uniform(0.41, 0.59), rng.uniform(0.1, 0.95), 0.006, (240, 236, 200))


def _snowman(rng, pen: _Pen) -> None:
    snow, shade = (250, 252, 255), (196, 210, 230)
    for cx, cy, r in ((0.5, 0.76, 0.21), (0.5, 0.47, 0.15), (0.5, 0.25, 0.11)):
        pen.dot(cx, cy, r, shade)
        pen.dot(cx - 0.012, cy - 0.012, r * 0.94, snow)
    pen.line([(0.37, 0.46), (0.12, 0.32)], (100, 70, 40), 0.018)  # stick arms
    pen.line([(0.63, 0.46), (0.88, 0.34)], (100, 70, 40), 0.018)
    hat = _shift(rng, (28, 28, 32))
    pen.box(0.4, 0.05, 0.6, 0.16, hat)
    pen.box(0.34, 0.15, 0.66, 0.18, hat)
    scarf = _shift(rng, [(200, 40, 40), (40, 110, 200), (60, 160, 80)][int(rng.integers(3))])
    pen.box(0.38, 0.34, 0.62, 0.38, scarf)
    pen.box(0.54, 0.36, 0.6, 0.5, scarf)
    for ex in (0.46, 0.54):
        pen.dot(ex, 0.23, 0.014, (10, 10, 10))
    pen.poly([(0.5, 0.26), (0.66, 0.28), (0.5, 0.3)], (240, 120, 30))
    for by in (0.46, 0.52, 0.7, 0.8):
        pen.dot(0.5, by, 0.014, (20, 20, 20))


def _crate(rng, pen: _Pen) -> None:
    wood = _shift(rng, [(206, 160, 96), (176, 128, 76), (150, 150, 140)][int(rng.integers(3))])
    dark = _darker(wood, 0.6)
    pen.box(0.12, 0.24, 0.88, 0.96, wood)
    for v in np.linspace(0.24, 0.96, 5)[1:-1]:
        pen.line([(0.12, v), (0.88, v)], dark, 0.008)
    pen.box(0.12, 0.24, 0.88, 0.96, None, _darker(wood, 0.75), 0.05)
    pen.line([(0.16, 0.92), (0.84, 0.28)], _darker(wood, 0.8), 0.05)  # brace
    for u, v in ((0.17, 0.29), (0.83, 0.29), (0.17, 0.91), (0.83, 0.91)):
        pen.dot(u, v, 0.012, (50, 50, 50))


_THINGS: dict[str, Callable[[np.random.Generator, _Pen], None]] = {
    "snake": _snake, "kettle": _kettle, "fan": _fan, "horse": _horse, "cat": _cat, "saw": _saw,
    "frog": _frog, "helicopter": _helicopter, "hammer": _hammer, "ship": _ship, "chime": _chime,
    "cactus": _cactus, "snowman": _snowman, "crate": _crate,
}
assert set(_THINGS) == set(THING), "every thing needs a painter"


def sprite(rng: np.random.Generator, name: str, side: int, tilt: float = 0.0, facing: int = 1) -> Image.Image:
    """An RGBA sprite of ``name``, ``side`` pixels square (its box; the tilt may crop corners)."""
    try:
        painter = _THINGS[name]
    except KeyError:
        raise ValueError(f"unknown thing {name!r}; known: {', '.join(THING)}") from None
    big = max(8, side * _OVERDRAW)
    layer = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    painter(rng, _Pen(ImageDraw.Draw(layer), big, facing))
    if tilt:
        layer = layer.rotate(tilt, resample=Image.BICUBIC)
    return layer.resize((max(2, side), max(2, side)), Image.LANCZOS)


def place_sprite(image: Image.Image, rng: np.random.Generator, name: str, x: float, y: float,
                 size: float, tilt: float = 0.0, facing: int = 1, frame_height: int | None = None,
                 cache: dict | None = None) -> None:
    """Draw ``name`` on ``image`` (in place), centred at (x, y) in fractions of its size.

    ``frame_height`` (default: the image's) sets the pixel size of ``size``.
    ``cache`` keeps sprites by their pixel size, for films that draw the
    same object in many frames.
    """
    w, h = image.size
    side = max(2, int(round(size * (frame_height or h))))
    key = (name, side, round(tilt, 2), facing)
    spr = cache.get(key) if cache is not None else None
    if spr is None:
        spr = sprite(rng, name, side, tilt, facing)
        if cache is not None:
            cache[key] = spr
    image.paste(spr, (int(round(x * w - side / 2)), int(round(y * h - side / 2))), spr)


def compose(rng: np.random.Generator, width: int, height: int, place: str,
            sprites: Sequence[Sprite]) -> Image.Image:
    """``place`` with ``sprites`` drawn in order (later ones in front)."""
    image = paint_place(rng, width, height, place)
    for name, x, y, size, tilt in sprites:
        facing = 1 if rng.random() < 0.5 else -1
        place_sprite(image, np.random.default_rng(int(rng.integers(2**63))), name, x, y, size, tilt, facing)
    return image


# --------------------------------------------------------------------------- captions

def caption(rng: np.random.Generator, place: str, things: Sequence[str]) -> str:
    """A sentence (or, one time in six, a keyword list) for a picture."""
    loc = LOCALE[place]
    where = loc.where[int(rng.integers(len(loc.where)))]
    pnoun = loc.nouns[int(rng.integers(len(loc.nouns)))]

    def noun(name: str) -> str:
        t = THING[name]
        return t.nouns[int(rng.integers(len(t.nouns)))]

    def doing(name: str) -> str:
        t = THING[name]
        return t.doing[int(rng.integers(len(t.doing)))]

    if rng.random() < 1 / 6:  # alt-text style, like a library's tags
        words: list[str] = []
        for name in things:
            t = THING[name]
            words += [noun(name)] + [w for w in t.doing[:2] if rng.random() < 0.5]
        words += [pnoun] + [w for w in loc.air if rng.random() < 0.3]
        return ", ".join(words)
    if not things:
        forms = ("a photo of {p}", "{p}, nobody around", "an empty {pn}", "{w}, with nothing in sight",
                 "a view {w}", "{P}")
        f = forms[int(rng.integers(len(forms)))]
        return f.format(p=article(pnoun), pn=pnoun, w=where, P=pnoun.capitalize())
    if len(things) == 1:
        n, a = noun(things[0]), doing(things[0])
        forms = ("a photo of {an} {w}", "{an} {a} {w}", "{an} {a}", "{An} {w}", "{w}, {an} {a}",
                 "a photo of {an}", "{n}")
        f = forms[int(rng.integers(len(forms)))]
        return f.format(an=article(n), An=article(n).capitalize(), a=a, w=where, n=n)
    n1, n2 = noun(things[0]), noun(things[1])
    forms = ("{a1} and {a2} {w}", "{a1} next to {a2}", "a photo of {a1} and {a2}",
             "{a1} {d1} and {a2} {d2}", "{w}, {a1} beside {a2}", "{a2} and {a1} {w}")
    f = forms[int(rng.integers(len(forms)))]
    return f.format(a1=article(n1), a2=article(n2), d1=doing(things[0]), d2=doing(things[1]), w=where)


def prompt(name: str) -> str:
    """The zero-shot prompt of a thing or a place: "a photo of a snake"."""
    noun = THING[name].nouns[0] if name in THING else LOCALE[name].nouns[0]
    return f"a photo of {article(noun)}"


# --------------------------------------------------------------------------- training pictures

def random_picture(rng: np.random.Generator, width: int, height: int) -> tuple[Image.Image, str, dict]:
    """A random picture of the world, its caption and its labels.

    One in eight shows only a place, a third two different things side by
    side, the rest one thing anywhere in the frame. Some are dimmed (a fade) or blended
    with another place (a dissolve), as film frames are.
    Labels: {"place", "things": [names], "sprites": [Sprite]}.
    """
    place = LOCALES[int(rng.integers(len(LOCALES)))].name
    r = rng.random()
    count = 0 if r < 0.125 else 2 if r < 0.46 else 1
    names = [THINGS[int(i)].name for i in rng.choice(len(THINGS), count, replace=False)]
    aspect = width / height
    sprites: list[Sprite] = []
    if count == 2:
        gap = rng.uniform(0.32, 0.6)
        left = rng.uniform(0.12, 0.88 - gap)
        xs = [left, left + gap] if rng.random() < 0.5 else [left + gap, left]
    else:
        xs = [rng.uniform(0.1, 0.9)] * count
    for name, x in zip(names, xs):
        t = THING[name]
        size = rng.uniform(*t.size) * (0.85 if count == 2 else 1.0)
        y = float(np.clip(rng.uniform(*t.height), size / 2 - 0.05, 1 - size / 2 + 0.05))
        # keep the box inside the frame horizontally (size is in heights)
        half = size / 2 / aspect
        x = float(np.clip(x, half - 0.03, 1 - half + 0.03))
        sprites.append((name, x, y, size, float(rng.uniform(-15, 15))))
    image = compose(rng, width, height, place, sprites)
    u = rng.random()
    if u < 0.05:
        image = Image.eval(image, lambda v, f=rng.uniform(0.35, 0.8): int(v * f))
    elif u < 0.08:
        other = LOCALES[int(rng.integers(len(LOCALES)))].name
        image = Image.blend(image, paint_place(rng, width, height, other), float(rng.uniform(0.15, 0.4)))
    return image, caption(rng, place, names), {"place": place, "things": names, "sprites": sprites}
