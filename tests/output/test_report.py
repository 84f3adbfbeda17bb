"""The report: a fixed-size PNG that is not blank, an HTML page embedding it
with a row per placed event, thumbnails from one ffmpeg process, labels that
never collide on a dense 10-minute film, and --no-report."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from synth import make_library

import autofoley.output.report as report_mod
from autofoley._cli.main import main
from autofoley.media.probe import probe
from autofoley.output.report import (
    BED_PALETTE,
    MAX_THUMBS,
    MIN_THUMBS,
    SIZE,
    film_thumbnails,
    render_report,
    report_html,
    thumbnail_count,
    thumbnail_times,
)
from autofoley.placement.matching import SceneSeries
from autofoley.records import Placement, Scene, SoundEntry, VideoInfo

TINY = ["--clip-model", "autofoley-tiny", "--quiet"]


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    make_library(root / "lib")
    film = root / "film.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y",
                    "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=4",
                    "-f", "lavfi", "-i", "smptebars=size=320x180:rate=25:duration=4",
                    "-filter_complex", "[0:v][1:v]concat=n=2:v=1[v]", "-map", "[v]",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(film)],
                   check=True, timeout=300, stdin=subprocess.DEVNULL)
    return root, film


def test_score_writes_a_report_and_no_report_writes_none(media, capsys):
    root, film = media
    out = root / "out"
    code = main(["score", str(film), "--library", str(root / "lib"), "--out", str(out),
                 "--no-render", "--json", *TINY])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0
    png = out / "film.report.png"
    assert Path(summary["outputs"]["report"]) == png
    img = Image.open(png)
    assert img.size == SIZE and img.mode == "RGB"
    pixels = np.asarray(img)
    # Not blank: many colours overall, and the thumbnail lane holds the film.
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 200
    lane = pixels[report_mod.THUMBS[0]:report_mod.THUMBS[1], report_mod.LEFT:report_mod.RIGHT]
    assert (lane < 200).any(axis=2).mean() > 0.3

    page = (out / "film.report.html").read_text()
    data = re.search(r'src="data:image/png;base64,([^"]+)"', page)[1]
    assert base64.b64decode(data) == png.read_bytes()  # the same figure, embedded
    events = json.loads((out / "film.events.json").read_text())["events"]
    assert page.count("<tr><td>") == len(events)
    for e in events:
        assert Path(e["file"]).name in page and e["timeline_track"] in page

    code = main(["score", str(film), "--library", str(root / "lib"), "--out", str(root / "none"),
                 "--no-render", "--no-report", *TINY])
    assert code == 0
    assert sorted(p.name for p in (root / "none").iterdir()
                  if not p.name.startswith(".")) == ["film.events.json", "film.otio"]


def test_thumbnails_come_from_one_ffmpeg_process(media, monkeypatch):
    _, film = media
    video = probe(film)
    count, w, h = thumbnail_count(video)
    assert MIN_THUMBS <= count <= MAX_THUMBS and w > h > 0
    calls = []
    real = report_mod.capture  # every tool run of the report goes through it

    def counting(args, *a, **kw):
        calls.append(args)
        return real(args, *a, **kw)

    monkeypatch.setattr(report_mod, "capture", counting)
    times = thumbnail_times(video.duration, count)
    thumbs = film_thumbnails(video, times, w, h)
    assert len(calls) == 1 and calls[0].count("-ss") == count
    assert len(thumbs) == count and all(t.size == (w, h) for t in thumbs)
    # The first half is testsrc2, the second SMPTE bars: the frames differ.
    first, last = np.asarray(thumbs[0], float), np.asarray(thumbs[-1], float)
    assert np.abs(first - last).mean() > 20


@pytest.mark.parametrize("size", [(1920, 1080), (640, 480), (1080, 1920), (4096, 1716)])
def test_thumbnail_count_fits_any_shape(size):
    video = VideoInfo(Path("x.mp4"), 600.0, Fraction(25), *size, "h264", False)
    count, w, h = thumbnail_count(video)
    assert MIN_THUMBS <= count <= MAX_THUMBS
    assert count * (w + 4) <= report_mod.RIGHT - report_mod.LEFT
    assert h <= report_mod.THUMBS[1] - report_mod.THUMBS[0]


def _dense_film():
    """A 10-minute film: 75 scenes, 30 sounds, 200 placed SFX, a bed per scene."""
    rng = np.random.default_rng(5)
    video = VideoInfo(Path("/films/long.mp4"), 600.0, Fraction(25), 1920, 1080, "h264", True)
    cuts = np.linspace(0, 600, 76)
    scenes = [Scene(i, float(a), float(b)) for i, (a, b) in enumerate(zip(cuts, cuts[1:]))]
    entries = [SoundEntry(Path(f"/lib/CAT{i % 7}Sub_Sound Number {i} With A Long Name_AF_Lib.wav"),
                          f"sound {i}", f"CAT{i % 7}", "sfx", 2.0, 48000, 2) for i in range(30)]
    beds = [SoundEntry(Path(f"/lib/AMBPlace_Place {i}_AF_Lib.wav"), f"place {i}", "AMBIENCE",
                       "ambience", 60.0, 48000, 2) for i in range(5)]
    series = []
    for s in scenes:
        first = int(round(s.start / 0.1))
        n = int(round(s.end / 0.1)) - first
        cand = rng.choice(30, 8, replace=False)
        logits = np.cumsum(rng.normal(0, 0.4, (n, 8)), axis=0)
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        series.append(SceneSeries(s.index, first, cand, p / p.sum(axis=1, keepdims=True)))
    placements = []
    for _ in range(200):
        start = float(rng.uniform(0, 598))
        e = entries[int(rng.integers(30))]
        scene = min(int(start // 8), 74)
        placements.append(Placement(e, start, start + float(rng.uniform(0.3, 4)), 0.0, 0.5,
                                    scene, "sfx"))
    for s in scenes:
        placements.append(Placement(beds[s.index // 10 % 5], s.start, s.end, 0.0, 0.3, s.index,
                                    "ambience"))
    return video, scenes, placements, series, entries


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_dense_ten_minute_film_stays_readable():
    video, scenes, placements, series, entries = _dense_film()
    t0 = time.perf_counter()
    rep = render_report(video, scenes, placements, series, entries, 0.1, 0.1, None, "long")
    elapsed = time.perf_counter() - t0
    assert rep.image.size == SIZE
    assert elapsed < 10  # about 0.2 s here
    # Labels never collide with one another nor with another sound's bar
    # (bars overlap only past five at once), and stay on the figure.
    boxes = rep.labels
    assert boxes and all(0 <= x0 < x1 <= SIZE[0] and 0 <= y0 < y1 <= SIZE[1]
                         for x0, y0, x1, y1 in boxes)
    clashes = [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:] if _overlap(a, b)]
    assert clashes == []
    sfx_labels = boxes[:rep.sfx_labelled]
    over_bars = [(lab, bar) for lab, own in zip(sfx_labels, rep.label_bars)
                 for j, bar in enumerate(rep.bars) if j != own and _overlap(lab, bar)]
    assert over_bars == []
    assert len(rep.bars) == 200
    # Most of 200 events cannot be named at this size; some are, the rest are bars.
    assert 5 <= rep.sfx_labelled < 200
    assert 1 <= len(rep.candidates) <= 8
    # The similarity lane is drawn in colour from end to end (aggregated per column).
    plot = np.asarray(rep.image)[report_mod.PLOT[0] + 1:report_mod.PLOT[1],
                                 report_mod.LEFT + 1:report_mod.RIGHT - 1]
    coloured = (plot.max(axis=2) - plot.min(axis=2) > 60).any(axis=0)
    assert coloured.mean() > 0.9


def test_html_escapes_names(tmp_path):
    video = VideoInfo(Path("/films/a&b.mp4"), 10.0, Fraction(25), 320, 180, "h264", False)
    sound = SoundEntry(Path("/lib/<b>bold.wav"), "x", "TEST", "sfx", 1.0, 48000, 1)
    p = Placement(sound, 1.0, 2.0, 0.0, 0.5, 0, "sfx", alternates=(("/lib/x&y.wav", 0.2),))
    page = report_html(video, [Scene(0, 0.0, 10.0)], [p], b"png", ["SFX Misc 1"], "a&b")
    assert "<b>bold" not in page and "&lt;b&gt;bold.wav" in page
    assert "x&amp;y" in page and "00:00:01:00" in page


def test_ambience_beds_get_distinct_colours_in_the_order_they_are_heard():
    """Four beds, four palette colours, first heard first (hashed hues gave
    three of a demo film's four beds the same olive)."""
    video = VideoInfo(Path("/films/beds.mp4"), 40.0, Fraction(25), 320, 180, "h264", False)
    scenes = [Scene(i, 10.0 * i, 10.0 * (i + 1)) for i in range(4)]
    names = ["AMBForst_Forest Birds", "AMBUrbn_City Traffic", "AMBSea_Beach Waves",
             "AMBRoom_Kitchen Hum"]
    sounds = [SoundEntry(Path(f"/lib/{n}_AF_Lib.wav"), n, "AMBIENCE", "ambience", 60.0, 48000, 2)
              for n in names]
    # Heard in the order 2, 0, 3, 1 (not the order of names or of time on screen);
    # bed 2 comes back at the end.
    spans = [(2, 0.0, 4.0), (0, 4.0, 16.0), (3, 16.0, 22.0), (1, 22.0, 36.0), (2, 36.0, 40.0)]
    placements = [Placement(sounds[b], a, e, 0.0, 0.3, min(int(a // 10), 3), "ambience")
                  for b, a, e in spans]
    rep = render_report(video, scenes, placements, [], sounds, 0.1, None, None, "beds")
    order = [f"AMB{n.split('_')[0][3:]}_{n.split('_')[1]}" for n in (names[i] for i in (2, 0, 3, 1))]
    assert list(rep.bed_colors) == order
    assert list(rep.bed_colors.values()) == BED_PALETTE[:4]
    # The bars are drawn in those colours (sampled above the labels).
    pixels = np.asarray(rep.image)
    y = report_mod.AMB[0] + 1
    x_of = lambda t: int(report_mod.LEFT + (report_mod.RIGHT - report_mod.LEFT) * t / 40.0)
    drawn = ["#%02x%02x%02x" % tuple(pixels[y, x_of((a + e) / 2)]) for _, a, e in spans]
    assert drawn == [BED_PALETTE[i] for i in (0, 1, 2, 3, 0)]
