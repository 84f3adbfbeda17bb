"""A picture of what autofoley decided: ``film.report.png`` and ``film.report.html``.

One fixed-size figure (1600 x 1000 px, whatever the film's length), lanes
top to bottom on one time axis:

- thumbnails of the film, 12-20 evenly spaced (one ffmpeg process seeks to
  each, so a long film is not decoded end to end);
- scenes, with a cut line through every lane;
- the similarity over time of the top candidate SFX (as in Demarchi's
  figure 3): one line per candidate that led the most, the best of the rest
  in grey, the threshold dashed. A long film is reduced to the maximum per
  pixel column, so short peaks stay visible;
- the placed SFX as bars in up to five rows, coloured like their candidate's
  line, labelled with their sound's name where the label fits: a label never
  overlaps another label or another sound's bar; it is shortened with an
  ellipsis or left out, and a sound named moments before is not named again;
- the ambience beds, one bar per run of one bed, and a legend of them. Beds
  take the colours of ``BED_PALETTE`` in the order they are first heard, so
  the first eight beds of a film never share a colour.

Drawn with Pillow alone (no plotting library to install). The HTML embeds the
PNG and lists every placed event.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from autofoley.atomic import atomic_path, write_text
from autofoley.errors import ToolError
from autofoley.media.probe import capture, tool
from autofoley.output.timeline import short_sound_name
from autofoley.placement.matching import SceneSeries
from autofoley.records import Placement, Scene, SoundEntry, VideoInfo

log = logging.getLogger("autofoley")

SIZE = (1600, 1000)  # px, fixed: a 20 s clip and a feature read the same way
MIN_THUMBS, MAX_THUMBS = 12, 20
TOP_CANDIDATES = 8
SFX_ROWS = 5
MAX_LABEL = 300  # px: a longer SFX name is shortened
REPEAT_GAP = 300  # px: a sound labelled this recently is not labelled again
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#17becf"]
# ColorBrewer Set2 (qualitative, safe for the common colour blindness): light
# enough to tell a bed from the saturated SFX colours above, dark enough to
# show on white. More beds than colours: the palette starts over.
BED_PALETTE = ["#66c2a5", "#fc8d62", "#8da0cb", "#e78ac3", "#a6d854", "#ffd92f", "#e5c494",
               "#b3b3b3"]
GREY, LIGHT, INK, PAPER = "#9a9a9a", "#e9e9e9", "#222222", "#ffffff"

# Lane geometry (y ranges in px) and the plot's x range.
LEFT, RIGHT = 150, SIZE[0] - 24
THUMBS = (52, 150)
SCENES = (160, 182)
PLOT = (196, 520)
SFX = (540, 540 + SFX_ROWS * 26)
AMB = (692, 722)
AXIS = 730
LEGEND = 790


@dataclass
class Report:
    """The drawn figure, and where its labels went (for tests: no overlaps)."""

    image: Image.Image
    labels: list[tuple[int, int, int, int]] = field(default_factory=list)  # x0, y0, x1, y1
    bars: list[tuple[int, int, int, int]] = field(default_factory=list)  # the SFX bars
    label_bars: list[int] = field(default_factory=list)  # per SFX label: the index of its bar
    sfx_labelled: int = 0
    candidates: list[str] = field(default_factory=list)  # names of the plotted lines
    bed_colors: dict[str, str] = field(default_factory=dict)  # bed name -> colour, first heard first


def thumbnail_times(duration: float, count: int) -> list[float]:
    """Centres of ``count`` equal slots over the film, seconds."""
    return [(i + 0.5) * duration / count for i in range(count)]


def thumbnail_count(video: VideoInfo) -> tuple[int, int, int]:
    """(count, width, height) of the thumbnails that fill the plot's width."""
    height = THUMBS[1] - THUMBS[0]
    aspect = video.width / video.height if video.height else 16 / 9
    width_px = RIGHT - LEFT
    count = int(np.clip(round(width_px / (height * aspect + 4)), MIN_THUMBS, MAX_THUMBS))
    w = width_px // count - 4
    h = min(height, int(w / aspect))
    return count, w - w % 2, max(2, h - h % 2)


def film_thumbnails(video: VideoInfo, times: Sequence[float], width: int,
                    height: int) -> list[Image.Image]:
    """Frames of ``video`` at ``times`` (seconds), ``width`` x ``height`` px,
    from one ffmpeg process: each time is its own input seeked with ``-ss``,
    so ffmpeg decodes only from the keyframe before each time."""
    args = [tool("ffmpeg"), "-v", "error", "-nostdin"]
    for t in times:
        args += ["-ss", f"{max(0.0, t):.3f}", "-i", str(video.path)]
    chains = [f"[{i}:v:0]trim=end_frame=1,scale={width}:{height},setsar=1,format=rgb24[v{i}]"
              for i in range(len(times))]
    if len(times) > 1:
        chains.append("".join(f"[v{i}]" for i in range(len(times)))
                      + f"hstack=inputs={len(times)}[out]")
        out = "[out]"
    else:
        out = "[v0]"
    args += ["-filter_complex", ";".join(chains), "-map", out, "-frames:v", "1",
             "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
    proc = capture(args, 300.0, video.path)
    expected = width * height * 3 * len(times)
    if proc.returncode != 0 or len(proc.stdout) != expected:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ToolError(f"thumbnails failed: {lines[-1] if lines else 'no picture'}", video.path)
    strip = Image.frombytes("RGB", (width * len(times), height), proc.stdout)
    return [strip.crop((i * width, 0, (i + 1) * width, height)) for i in range(len(times))]


def render_report(video: VideoInfo, scenes: list[Scene], placements: list[Placement],
                  series: list[SceneSeries], entries: Sequence[SoundEntry],
                  step: float, threshold: float | None = None,
                  thumbnails: list[Image.Image] | None = None, title: str = "") -> Report:
    """Draw the report figure. ``series`` are the per-scene score tables
    (``Matches.series``) whose columns index ``entries`` (the library index's
    entries), ``step`` is seconds per segment, ``threshold`` the placement
    threshold drawn dashed, ``thumbnails`` evenly spaced frames (None or
    empty: the lane is left blank)."""
    img = Image.new("RGB", SIZE, PAPER)
    d = ImageDraw.Draw(img)
    fonts = _Fonts()
    duration = max(video.duration, 1e-6)
    x_of = lambda t: LEFT + (RIGHT - LEFT) * min(max(t, 0.0), duration) / duration  # noqa: E731
    report = Report(img)

    sfx = sorted((p for p in placements if p.role == "sfx"), key=lambda p: (p.start, p.end))
    beds = [p for p in placements if p.role == "ambience"]
    d.text((LEFT, 12), title or video.path.name, fill=INK, font=fonts.title)
    summary = (f"{_clock(duration)}  ·  {float(video.fps):.3f} fps  ·  {len(scenes)} scenes  ·  "
               f"{len(sfx)} SFX  ·  {len({p.scene for p in beds})} ambience beds")
    d.text((RIGHT, 16), summary, fill=INK, font=fonts.small, anchor="ra")

    for y, label in (((THUMBS[0] + THUMBS[1]) // 2, "picture"),
                     ((SCENES[0] + SCENES[1]) // 2, "scenes"),
                     (PLOT[0] + (PLOT[1] - PLOT[0]) // 4, "similarity"),  # clear of the ticks
                     ((SFX[0] + SFX[1]) // 2, "SFX"), ((AMB[0] + AMB[1]) // 2, "ambience")):
        d.text((LEFT - 34, y), label, fill=INK, font=fonts.lane, anchor="rm")

    _thumbnails(d, img, thumbnails or [], duration, x_of)
    _scenes(d, scenes, x_of, fonts)
    top = _plot(d, series, step, duration, threshold, x_of, fonts)
    report.candidates = [short_sound_name(entries[c].path) for c in top]
    # An SFX bar takes the colour of its sound's line.
    colors = {(str(entries[c].path), round(entries[c].offset, 3)): color
              for c, color in top.items()}
    _sfx_lane(d, sfx, colors, x_of, fonts, report)
    report.bed_colors = bed_colors(beds)
    beds_by_name = _ambience_lane(d, beds, report.bed_colors, x_of, fonts, report)
    _axis(d, duration, x_of, fonts)
    _legend(d, list(zip(report.candidates, top.values())), beds_by_name, report.bed_colors,
            fonts)
    return report


def write_report(png: str | Path, video: VideoInfo, scenes: list[Scene],
                 placements: list[Placement], series: list[SceneSeries],
                 entries: Sequence[SoundEntry], step: float,
                 threshold: float | None = None, track_names: list[str] | None = None,
                 html_path: str | Path | None = None, title: str = "") -> Report:
    """Render the report, write the PNG (and the HTML page embedding it, with a
    table of the placed events; ``track_names`` per placement) atomically."""
    count, w, h = thumbnail_count(video)
    try:
        thumbs = film_thumbnails(video, thumbnail_times(video.duration, count), w, h)
    except ToolError as exc:
        log.warning("report without thumbnails: %s", exc)
        thumbs = []
    report = render_report(video, scenes, placements, series, entries, step, threshold,
                           thumbs, title)
    buf = io.BytesIO()
    report.image.save(buf, format="PNG", optimize=True)
    with atomic_path(png, suffix=".png") as tmp:
        tmp.write_bytes(buf.getvalue())
    if html_path is not None:
        write_text(html_path, report_html(video, scenes, placements, buf.getvalue(),
                                          track_names, title))
    return report


def report_html(video: VideoInfo, scenes: list[Scene], placements: list[Placement],
                png: bytes, track_names: list[str] | None = None, title: str = "") -> str:
    """A self-contained page: the figure (embedded) and a table of the events."""
    fps = float(video.fps)
    tracks = track_names or [""] * len(placements)
    rows = []
    order = sorted(range(len(placements)), key=lambda i: (placements[i].start, placements[i].role))
    for n, i in enumerate(order, start=1):
        p = placements[i]
        alts = ", ".join(short_sound_name(f) for f, _ in p.alternates)
        rows.append(
            "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (
                n, _timecode(p.start, fps), _timecode(p.end, fps), f"{p.start:.3f}",
                f"{p.duration:.3f}", p.role, tracks[i], p.sound.path.name, p.sound.category,
                f"{p.score:.3f}", p.scene + 1, alts)) + "</tr>")
    head = ("#", "start", "end", "start s", "length s", "kind", "track", "file", "category",
            "score", "scene", "alternates")
    name = html.escape(title or video.path.name)
    data = base64.b64encode(png).decode("ascii")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{name}: autofoley report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 24px; color: #222; }}
img {{ max-width: 100%; border: 1px solid #ddd; }}
table {{ border-collapse: collapse; font-size: 13px; margin-top: 16px; }}
th, td {{ border-bottom: 1px solid #e5e5e5; padding: 4px 8px; text-align: left; }}
th {{ background: #f4f4f4; position: sticky; top: 0; }}
td:nth-child(-n+5), td:nth-child(10) {{ font-variant-numeric: tabular-nums; }}
</style></head><body>
<h1>{name}</h1>
<p>{html.escape(str(video.path))}: {_clock(video.duration)}, {fps:.3f} fps, {len(scenes)} scenes,
{sum(p.role == "sfx" for p in placements)} SFX, {sum(p.role == "ambience" for p in placements)}
ambience clips. Timecodes count from the film's first frame.</p>
<img src="data:image/png;base64,{data}" alt="autofoley report of {name}">
<table><thead><tr>{"".join(f"<th>{h}</th>" for h in head)}</tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table>
</body></html>
"""


# --------------------------------------------------------------------------- lanes


class _Fonts:
    def __init__(self):
        self.title = _font(22)
        self.lane = _font(15)
        self.small = _font(13)
        self.tiny = _font(11)


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)  # Pillow >= 10.1 with FreeType
    except (TypeError, OSError):
        return ImageFont.load_default()


def _thumbnails(d, img, thumbs, duration, x_of) -> None:
    if not thumbs:
        d.rectangle((LEFT, THUMBS[0], RIGHT, THUMBS[1]), outline=LIGHT)
        return
    n = len(thumbs)
    for t, thumb in zip(thumbnail_times(duration, n), thumbs):
        x = int(x_of(t)) - thumb.width // 2
        y = THUMBS[0] + (THUMBS[1] - THUMBS[0] - thumb.height) // 2
        img.paste(thumb, (x, y))
        d.line((x_of(t), THUMBS[1], x_of(t), THUMBS[1] + 6), fill=GREY)


def _scenes(d, scenes, x_of, fonts) -> None:
    for s in scenes:
        x0, x1 = x_of(s.start), x_of(s.end)
        d.rectangle((x0, SCENES[0], x1, SCENES[1]), fill=LIGHT if s.index % 2 else "#d5dbe3")
        label = f"{s.index + 1}"
        if fonts.small.getlength(label) + 6 < x1 - x0:
            d.text(((x0 + x1) / 2, (SCENES[0] + SCENES[1]) / 2), label, fill=INK,
                   font=fonts.small, anchor="mm")
        if s.index > 0:  # a cut: through every lane below the thumbnails
            d.line((x0, SCENES[0], x0, AMB[1]), fill="#c8c8c8", width=1)


def _plot(d, series, step, duration, threshold, x_of, fonts) -> dict[int, str]:
    """Draw the similarity lane; returns {library index: colour} of the
    plotted candidates, strongest first."""
    y0, y1 = PLOT
    d.rectangle((LEFT, y0, RIGHT, y1), outline="#cccccc")
    for v in (0.25, 0.5, 0.75):
        y = y1 - v * (y1 - y0)
        d.line((LEFT, y, RIGHT, y), fill="#eeeeee")
    for v in (0.0, 0.5, 1.0):
        d.text((LEFT - 6, y1 - v * (y1 - y0)), f"{v:g}", fill=GREY, font=fonts.tiny, anchor="rm")
    if not series:
        d.text(((LEFT + RIGHT) / 2, (y0 + y1) / 2), "no SFX candidates", fill=GREY,
               font=fonts.lane, anchor="mm")
        return {}
    n_seg = max(s.first_segment + len(s.series) for s in series)
    top = _top_candidates(series)
    lines = {c: np.full(n_seg, np.nan) for c in top}
    rest = np.full(n_seg, np.nan)
    for s in series:
        sl = slice(s.first_segment, s.first_segment + len(s.series))
        others = [j for j, c in enumerate(s.candidates) if int(c) not in lines]
        if others:
            rest[sl] = s.series[:, others].max(axis=1)
        for j, c in enumerate(s.candidates):
            if int(c) in lines:
                lines[int(c)][sl] = s.series[:, j]
    width = int(RIGHT - LEFT)
    colors = {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(top)}
    _polyline(d, rest, step, duration, x_of, width, GREY, 1)
    for c in reversed(top):  # the strongest drawn last, on top
        _polyline(d, lines[c], step, duration, x_of, width, colors[c], 2)
    if threshold is not None and 0 < threshold < 1:
        y = y1 - threshold * (y1 - y0)
        for x in range(LEFT, RIGHT, 12):
            d.line((x, y, min(x + 6, RIGHT), y), fill=INK)
        d.text((RIGHT - 4, y - 3), f"t = {threshold:g}", fill=INK, font=fonts.tiny, anchor="rb")
    return colors


def _top_candidates(series: list[SceneSeries]) -> list[int]:
    """Library indices of the candidates that led the most: summed score over
    the segments where each was the best, highest first."""
    lead: dict[int, float] = {}
    for s in series:
        if not s.series.size:
            continue
        best = s.series.argmax(axis=1)
        for j, c in enumerate(s.candidates):
            won = s.series[best == j, j]
            if won.size:
                lead[int(c)] = lead.get(int(c), 0.0) + float(won.sum())
    return sorted(lead, key=lambda c: -lead[c])[:TOP_CANDIDATES]


def _polyline(d, values, step, duration, x_of, width, color, line_width) -> None:
    """Draw a series (NaN = absent), reduced to its maximum per pixel column
    when there are more segments than columns."""
    y0, y1 = PLOT
    n = len(values)
    if n > width:
        edges = np.linspace(0, n, width + 1).astype(int)
        present = np.add.reduceat(~np.isnan(values), edges[:-1]) > 0
        filled = np.where(np.isnan(values), -1.0, values)
        vals = np.maximum.reduceat(filled, edges[:-1])
        vals[~present] = np.nan
        xs = LEFT + np.arange(width) + 0.5
    else:
        vals = values
        xs = np.array([x_of((i + 0.5) * step) for i in range(n)])
    ys = y1 - np.clip(vals, 0, 1) * (y1 - y0)
    run: list[tuple[float, float]] = []
    for x, y, v in zip(xs, ys, vals):
        if np.isnan(v):
            _flush(d, run, color, line_width)
            run = []
        else:
            run.append((float(x), float(y)))
    _flush(d, run, color, line_width)


def _flush(d, run, color, width) -> None:
    if len(run) > 1:
        d.line(run, fill=color, width=width, joint="curve")
    elif run:
        x, y = run[0]
        d.line((x - 1, y, x + 1, y), fill=color, width=width)


def _sfx_lane(d, sfx, colors, x_of, fonts, report) -> None:
    """Bars in up to SFX_ROWS rows, then their labels where they overlap nothing.

    Rows are filled in time order; each sound asks for a row with room for its
    whole label, else for a shortened one (8 characters and an ellipsis), else
    for its bar alone. When no row is free (a dense film) the bar goes to a
    row whose bars have ended, cutting short the label running there, or, when
    bars overlap in every row, over the row whose bars end first. Labels are
    drawn last, only inside their reserved room, so no label overlaps another
    label or a bar.
    """
    row_h = (SFX[1] - SFX[0]) // SFX_ROWS
    ends = [-math.inf] * SFX_ROWS  # per row: where the last reservation (bar or label) ends
    bar_ends = [-math.inf] * SFX_ROWS  # per row: where the last bar ends
    owner: list[dict | None] = [None] * SFX_ROWS  # per row: the bar whose label runs there
    named_at: dict[str, float] = {}  # name -> x where it was last given room for a label
    bars: list[dict] = []
    for p in sfx:
        x0 = x_of(p.start)
        x1 = max(x_of(p.end), x0 + 2)
        name = short_sound_name(p.sound.path)
        wants = [x1 + 2]
        # The same sound again soon after: its colour says enough, save the room.
        if x0 - named_at.get(name, -math.inf) >= REPEAT_GAP:
            wants = [_label_room(x0, x1, fonts.small.getlength(name)),
                     _label_room(x0, x1, fonts.small.getlength(name[:8] + "…")), x1 + 2]
        bar = {"p": p, "name": name, "x0": x0, "x1": x1, "room": x1, "row": None}
        for end in wants:
            free = [r for r in range(SFX_ROWS) if ends[r] <= x0]
            if free and end <= RIGHT + 2:
                bar["row"], bar["room"] = free[0], end
                break
        if bar["row"] is None:
            # Rows whose bars have ended, those without a label running first.
            open_rows = sorted((r for r in range(SFX_ROWS) if bar_ends[r] <= x0),
                               key=lambda r: owner[r] is not None and owner[r]["room"] > x0 - 2)
            row = open_rows[0] if open_rows else int(np.argmin(bar_ends))
            if owner[row] is not None and owner[row]["room"] > x0 - 2:
                owner[row]["room"] = x0 - 2  # cut the label short before this bar
            bar["row"] = row
        row = bar["row"]
        if bar["room"] > x1 + 2:
            owner[row] = bar
            named_at[name] = x0
        bar_ends[row] = max(bar_ends[row], x1 + 2)
        ends[row] = max(bar_ends[row], bar["room"])
        bars.append(bar)
    for bar in bars:
        y0 = SFX[0] + bar["row"] * row_h + 2
        color = colors.get((str(bar["p"].sound.path), round(bar["p"].sound.offset, 3)), "#6b7a8f")
        d.rectangle((bar["x0"], y0, bar["x1"], y0 + row_h - 6), fill=color)
        report.bars.append((int(bar["x0"]), y0, int(math.ceil(bar["x1"])), y0 + row_h - 6))
    labelled = 0
    for i, bar in enumerate(bars):
        x0, x1, room, name = bar["x0"], bar["x1"], bar["room"], bar["name"]
        if room <= x1 + 2 and fonts.small.getlength(name) + 8 > min(room, x1) - x0:
            continue
        y0 = SFX[0] + bar["row"] * row_h + 2
        if fonts.small.getlength(name) + 8 <= min(room, x1) - x0:  # inside the bar
            tx0, text, fill = x0 + 4, name, PAPER
        else:  # just after it, up to where its room ends
            tx0, fill = x1 + 3, INK
            text = _fit(name, room - tx0 - 5, fonts.small)
        if not text:
            continue
        tx1 = tx0 + fonts.small.getlength(text)
        d.text((tx0, y0 + (row_h - 6) / 2), text, fill=fill, font=fonts.small, anchor="lm")
        report.labels.append((int(tx0), int(y0), int(math.ceil(tx1)), int(y0 + row_h - 6)))
        report.label_bars.append(i)
        labelled += 1
    report.sfx_labelled = labelled
    if sfx and labelled < len(sfx):
        d.text((LEFT - 12, SFX[1] - 4), f"{labelled}/{len(sfx)} named", fill=GREY,
               font=fonts.tiny, anchor="rb")


def _label_room(x0: float, x1: float, text_width: float) -> float:
    """Where a sound's reservation ends when it carries a label this wide: the
    label sits inside the bar when it fits there, else just after it."""
    if text_width + 8 <= x1 - x0:
        return x1 + 2
    return x1 + 3 + min(text_width, MAX_LABEL) + 6


def _fit(text: str, room: float, font) -> str:
    if room <= 0:
        return ""
    if font.getlength(text) <= room:
        return text
    for n in range(len(text) - 1, 7, -1):
        short = text[:n].rstrip(" _-") + "…"
        if font.getlength(short) <= room:
            return short
    return ""


def bed_colors(beds: Sequence[Placement]) -> dict[str, str]:
    """{bed name: colour} in the order the beds are first heard."""
    names: dict[str, None] = {}
    for p in sorted(beds, key=lambda p: (p.start, p.end)):
        names.setdefault(short_sound_name(p.sound.path))
    return {name: BED_PALETTE[i % len(BED_PALETTE)] for i, name in enumerate(names)}


def _ambience_lane(d, beds, colors, x_of, fonts, report) -> dict[str, float]:
    """Draw the beds; returns {name: seconds on screen}, longest first."""
    # One bar per run of one bed: its loops and crossfades, and the next
    # scenes' when they use the same sound, are merged.
    runs: list[list] = []  # [path, start, end]
    for p in sorted(beds, key=lambda p: p.start):
        if runs and runs[-1][0] == p.sound.path and p.start <= runs[-1][2] + 1e-6:
            runs[-1][2] = max(runs[-1][2], p.end)
        else:
            runs.append([p.sound.path, p.start, p.end])
    y0, y1 = AMB
    seconds: dict[str, float] = {}
    for path, start, end in runs:
        x0, x1 = x_of(start), x_of(end)
        name = short_sound_name(path)
        seconds[name] = seconds.get(name, 0.0) + end - start
        d.rectangle((x0, y0, x1 - 1, y1), fill=colors[name])
        text = _fit(name, x1 - x0 - 10, fonts.small)
        if text:
            d.text((x0 + 5, (y0 + y1) / 2), text, fill=_ink_on(colors[name]), font=fonts.small,
                   anchor="lm")
            w = fonts.small.getlength(text)
            report.labels.append((int(x0 + 5), y0, int(math.ceil(x0 + 5 + w)), y1))
    return dict(sorted(seconds.items(), key=lambda kv: -kv[1]))


def _ink_on(color: str) -> str:
    """INK or PAPER, whichever has the higher WCAG contrast ratio against ``color``."""
    fill = _luminance(color)
    ratio = lambda text: (max(fill, text) + 0.05) / (min(fill, text) + 0.05)  # noqa: E731
    return INK if ratio(_luminance(INK)) >= ratio(_luminance(PAPER)) else PAPER


def _luminance(color: str) -> float:
    """WCAG relative luminance of ``#rrggbb``."""
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(int(color[i:i + 2], 16) / 255) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _axis(d, duration, x_of, fonts) -> None:
    d.line((LEFT, AXIS, RIGHT, AXIS), fill=INK)
    tick = _nice_step(duration / 10)
    t = 0.0
    while t <= duration + 1e-9:
        x = x_of(t)
        d.line((x, AXIS, x, AXIS + 6), fill=INK)
        d.text((x, AXIS + 9), _clock(t, tick < 1), fill=INK, font=fonts.small, anchor="ma")
        t += tick
    d.text((LEFT - 34, AXIS + 9), "time", fill=INK, font=fonts.lane, anchor="ra")


def _nice_step(raw: float) -> float:
    for step in (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600):
        if step >= raw:
            return float(step)
    return 3600.0 * math.ceil(raw / 3600)


def _legend(d, items: list[tuple[str, str]], beds: dict[str, float], colors: dict[str, str],
            fonts) -> None:
    d.text((LEFT, LEGEND), "similarity: softmax score of the candidate SFX that led the most, "
           "per segment; grey: the best of the others; an SFX bar has its sound's colour",
           fill=INK, font=fonts.small)
    col_w = (RIGHT - LEFT) // 2
    for i, (name, color) in enumerate(items):
        x = LEFT + (i % 2) * col_w
        y = LEGEND + 26 + (i // 2) * 22
        d.rectangle((x, y + 3, x + 24, y + 13), fill=color)
        d.text((x + 32, y + 8), _fit(name, col_w - 48, fonts.small) or "?", fill=INK,
               font=fonts.small, anchor="lm")
    if not beds:
        return
    y = LEGEND + 26 + 4 * 22 + 12
    d.text((LEFT, y), "ambience beds, most heard first:", fill=INK, font=fonts.small)
    col_w = (RIGHT - LEFT) // 3
    for i, name in enumerate(list(beds)[:6]):
        x = LEFT + (i % 3) * col_w
        yy = y + 24 + (i // 3) * 22
        d.rectangle((x, yy + 3, x + 24, yy + 13), fill=colors[name])
        d.text((x + 32, yy + 8), _fit(name, col_w - 48, fonts.small) or "?", fill=INK,
               font=fonts.small, anchor="lm")
    if len(beds) > 6:
        d.text((RIGHT, y), f"(+{len(beds) - 6} more)", fill=GREY, font=fonts.small, anchor="ra")


def _clock(seconds: float, tenths: bool = False) -> str:
    """``m:ss`` (``h:mm:ss`` from an hour on), with ``.s`` when ``tenths``."""
    t = round(max(0.0, seconds) * 10)
    whole, tenth = divmod(t, 10)
    h, m, sec = whole // 3600, whole // 60 % 60, whole % 60
    text = f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"
    return f"{text}.{tenth}" if tenths else text


def _timecode(seconds: float, fps: float) -> str:
    nominal = max(1, round(fps))
    frames = int(round(seconds * fps))
    f = frames % nominal
    s = frames // nominal
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}:{f:02d}"
