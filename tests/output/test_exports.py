"""NLE exports: every format reads back (through the same OTIO adapters) with
its audio clips where the .otio has them, to the frame; what a format cannot
hold is warned about in one line; the CLI writes them with the other outputs."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import opentimelineio as otio
import pytest
from nle_media import FPS, make_delivery
from synth import make_library

from autofoley._cli.main import main
from autofoley.errors import ToolError
from autofoley.output.exports import (
    FORMATS,
    check_adapters,
    export_timeline,
    parse_formats,
)

RATE = float(FPS)


@pytest.fixture(scope="module")
def delivery(tmp_path_factory):
    return make_delivery(tmp_path_factory.mktemp("delivery"))


@pytest.fixture(scope="module")
def timeline(delivery):
    return otio.adapters.read_from_file(str(delivery.otio_path))


def _clips(tl: otio.schema.Timeline) -> list[list[tuple[str, int, int, float]]]:
    """Per audio track with clips, in order: (name, start frame, frames, in-point frames)."""
    out = []
    for track in tl.audio_tracks():
        rows = []
        for clip in track.find_clips(shallow_search=True):
            r = clip.range_in_parent()
            rows.append((clip.name, round(r.start_time.rescaled_to(RATE).value),
                         round(r.duration.rescaled_to(RATE).value),
                         clip.source_range.start_time.rescaled_to(RATE).value))
        if rows:
            out.append(rows)
    return out


def _same_clips(got, want, shift: int = 0) -> None:
    """Positions and lengths exact; in-points to the frame (formats that count
    whole frames round the one sub-frame in-point)."""
    assert len(got) == len(want)
    for track_got, track_want in zip(got, want):
        assert [(n, s + shift, d) for n, s, d, _ in track_got] == [(n, s, d) for n, s, d, _ in track_want]
        for (_, _, _, a), (_, _, _, b) in zip(track_got, track_want):
            assert abs(a - b) <= 0.5 + 1e-9


def _transitions(tl) -> list[int]:
    return [sum(isinstance(x, otio.schema.Transition) for x in t) for t in tl.audio_tracks()
            if t.find_clips(shallow_search=True)]


def _export(tl, fmt, out, caplog):
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="autofoley"):
        result = export_timeline(tl, fmt, out, "film")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) <= 1 and all("\n" not in w for w in warnings)
    return result, (warnings[0] if warnings else "")


def test_fcp7xml(timeline, tmp_path, caplog):
    result, warning = _export(timeline, "fcp7xml", tmp_path, caplog)
    assert result.path == tmp_path / "film.xml"
    back = otio.adapters.read_from_file(str(result.path))
    _same_clips(_clips(back), _clips(timeline))
    assert back.global_start_time == timeline.global_start_time  # 01:00:00:00
    assert [m.name for m in back.tracks.markers] == [m.name for m in timeline.tracks.markers]
    assert _transitions(back) == _transitions(timeline)  # fades kept
    # Fades are audio cross fades, levels an Audio Levels filter, sounds are audio.
    xml = ET.parse(result.path).getroot()
    effects = {e.findtext("effectid") for e in xml.iter("effect")}
    assert "KGAudioTransCrossFade0dB" in effects and "Cross Dissolve" not in effects
    levels = [float(p.findtext("value")) for p in xml.iter("parameter")
              if p.findtext("parameterid") == "level"]
    assert any(abs(v - 10 ** (-12 / 20)) < 1e-4 for v in levels)  # ambience beds
    assert any(abs(v - 10 ** (-3 / 20)) < 1e-4 for v in levels)  # the second door
    assert "track names" in warning and "clip metadata" in warning


def test_aaf(timeline, tmp_path, caplog):
    import aaf2

    result, warning = _export(timeline, "aaf", tmp_path, caplog)
    back = otio.adapters.read_from_file(str(result.path))
    _same_clips(_clips(back), _clips(timeline))
    assert back.global_start_time == timeline.global_start_time
    assert _transitions(back) == _transitions(timeline)  # as Mono Audio Dissolves
    # Track names are in the file (the OTIO reader names tracks otherwise).
    with aaf2.open(str(result.path), "r") as f:
        mob = next(iter(f.content.compositionmobs()))
        slots = [s.name for s in mob.slots]
    assert [t.name for t in timeline.tracks] == [s for s in slots if s != "TC"][:len(timeline.tracks)]
    assert "scene markers" in warning and "clip levels" in warning


def test_edl_one_file_per_audio_track(timeline, tmp_path, caplog):
    result, warning = _export(timeline, "edl", tmp_path, caplog)
    files = sorted(result.path.glob("*.edl"))
    want = _clips(timeline)
    named = [t.name for t in timeline.audio_tracks() if t.find_clips(shallow_search=True)]
    assert [f.stem.split(" ", 1)[1] for f in files] == named
    # "A03 ...": the file names carry the tracks' A-numbers.
    numbers = [i + 1 for i, t in enumerate(timeline.audio_tracks()) if t.find_clips(shallow_search=True)]
    assert [int(f.name[1:3]) for f in files] == numbers
    for path, track_want in zip(files, want):
        text = path.read_text()
        back = otio.adapters.read_from_string(text, "cmx_3600", rate=RATE)
        got = _clips(back)
        assert len(got) == 1 and all(t.kind == otio.schema.TrackKind.Audio for t in back.tracks)
        # The reader starts its track at the first event; the record timecode
        # of that event is 01:00:00:00 plus the clip's position.
        first = track_want[0][1]
        _same_clips(got, [track_want], shift=first)
        rec_in = re.search(r"^001\s+\S+\s+A\s+C\s+\S+\s+\S+\s+(\S+)", text, re.M)[1]
        assert rec_in == otio.opentime.to_timecode(
            otio.opentime.RationalTime(90000 + first, RATE), RATE)
    assert "fades" in warning and "one per audio track" in warning and "clip metadata" in warning


def test_otioz_bundles_the_sounds_not_the_film(timeline, delivery, tmp_path, caplog):
    result, warning = _export(timeline, "otioz", tmp_path, caplog)
    back = otio.adapters.read_from_file(str(result.path))
    _same_clips(_clips(back), _clips(timeline))
    assert [m.name for m in back.tracks.markers] == [m.name for m in timeline.tracks.markers]
    clip = next(iter(back.audio_tracks()[0].find_clips()))
    assert clip.metadata["autofoley"]["role"] == "ambience"  # metadata kept
    with zipfile.ZipFile(result.path) as z:
        media = sorted(n for n in z.namelist() if n.startswith("media/"))
    sounds = {c.media_reference.target_url for c in timeline.find_clips()
              if c.media_reference.target_url.startswith("file:") and not c.name.endswith(".mp4")}
    # Two different files named Hit.wav are both bundled, under unique names.
    assert len(media) == len(sounds) and "media/Hit.wav" in media and "media/Hit (2).wav" in media
    picture = back.video_tracks()[0].find_clips()[0].media_reference
    assert isinstance(picture, otio.schema.MissingReference)
    assert picture.metadata["original_target_url"] == delivery.video.path.as_uri()
    assert "film itself" in warning


def test_kdenlive(timeline, tmp_path, caplog, capsys):
    result, warning = _export(timeline, "kdenlive", tmp_path, caplog)
    assert capsys.readouterr().out == ""  # the adapter's banner does not reach stdout
    back = otio.adapters.read_from_file(str(result.path))
    _same_clips(_clips(back), _clips(timeline))
    named = [t.name for t in timeline.audio_tracks() if t.find_clips(shallow_search=True)]
    assert [t.name for t in back.audio_tracks() if t.find_clips(shallow_search=True)] == named
    assert [m.name for m in back.tracks.markers] == [m.name for m in timeline.tracks.markers]
    assert "fades" in warning and "start timecode" in warning


def test_mlt_positions(timeline, tmp_path, caplog):
    result, warning = _export(timeline, "mlt", tmp_path, caplog)
    root = ET.parse(result.path).getroot()
    got = []
    for pl in root.iter("playlist"):
        props = {p.get("name"): p.text for p in pl.findall("property")}
        if props.get("shotcut:audio") != "1":
            continue
        pos, rows = 0, []
        for item in pl:
            if item.tag == "blank":
                pos += int(item.get("length"))
            elif item.tag == "entry":
                frames = int(item.get("out")) - int(item.get("in")) + 1
                producer = root.find(f"producer[@id='{item.get('producer')}']")
                name = {p.get("name"): p.text for p in producer.findall("property")}["shotcut:caption"]
                rows.append((name, pos, frames, float(item.get("in"))))
                pos += frames
        if rows:
            got.append(rows)
    _same_clips(got, _clips(timeline))
    assert "scene markers" in warning


def test_formats_parse_and_a_missing_adapter_names_the_extra(monkeypatch):
    assert parse_formats("fcp7xml, AAF,edl,fcp7xml") == ("fcp7xml", "aaf", "edl")
    assert parse_formats("all") == tuple(FORMATS)
    with pytest.raises(ValueError, match="unknown export format 'xml'"):
        parse_formats("xml")
    check_adapters(FORMATS)  # the test extra installs all of them
    real = otio.adapters.available_adapter_names
    monkeypatch.setattr(otio.adapters, "available_adapter_names",
                        lambda: [n for n in real() if n != "fcp_xml"])
    check_adapters(["otioz", "mlt"])  # built in: nothing to install
    with pytest.raises(ToolError) as err:
        check_adapters(["aaf", "fcp7xml"])
    text = str(err.value)
    assert "fcp7xml (otio-fcp-adapter)" in text and "autofoley[nle]" in text and "\n" not in text


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """One CLI run with every export; its stdout, stderr and output folder."""
    root = tmp_path_factory.mktemp("cli")
    make_library(root / "lib")
    film = root / "film.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=320x180:rate=25:duration=6", "-c:v", "libx264", "-preset",
                    "ultrafast", "-pix_fmt", "yuv420p", str(film)], check=True,
                   timeout=300, stdin=subprocess.DEVNULL)
    return root, film


def test_cli_writes_every_export_with_the_outputs(scored, capsys, caplog):
    root, film = scored
    out = root / "out"
    caplog.set_level(logging.WARNING, logger="autofoley")
    code = main(["score", str(film), "--library", str(root / "lib"), "--out", str(out),
                 "--export", "all", "--timecode", "01:00:00:00", "--no-render", "--json",
                 "--clip-model", "autofoley-tiny", "--quiet"])
    captured = capsys.readouterr()
    assert code == 0
    summary = json.loads(captured.out)  # adapters print nothing on stdout
    for fmt in FORMATS:
        path = Path(summary["outputs"][fmt])
        assert path.exists() and path.parent == out, fmt
    assert (out / "film.edls").is_dir() and (out / "film.xml").is_file()
    assert not [p for p in out.iterdir() if p.name.startswith(".autofoley-tmp")]
    # One warning line per format that dropped something (stderr from a shell;
    # pytest's log capture takes it here); the .otio is the reference.
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("export ")]
    assert all("\n" not in l for l in lines) and len(lines) == len(FORMATS)
    assert {re.search(r"export (\w+):", l)[1] for l in lines} >= {"fcp7xml", "aaf", "edl",
                                                                 "kdenlive", "otioz"}
    tl = otio.adapters.read_from_file(str(out / "film.otio"))
    assert tl.metadata["autofoley"]["layout"] == "standard"
    back = otio.adapters.read_from_file(str(out / "film.xml"))
    _same_clips(_clips(back), _clips(tl))
    events = json.loads((out / "film.events.json").read_text())
    names = {t.name for t in tl.audio_tracks()}
    assert all(e["timeline_track"] in names for e in events["events"])
    assert events["options"]["exports"] == list(FORMATS)


def test_cli_missing_adapter_fails_before_scoring(scored, monkeypatch, capsys):
    root, film = scored
    real = otio.adapters.available_adapter_names
    monkeypatch.setattr(otio.adapters, "available_adapter_names",
                        lambda: [n for n in real() if n != "AAF"])
    code = main(["score", str(film), "--library", str(root / "lib"), "--out", str(root / "x"),
                 "--export", "aaf", "--clip-model", "autofoley-tiny", "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 7 and len(err) == 1 and "autofoley[nle]" in err[0]
    assert not (root / "x").exists()
    with pytest.raises(SystemExit) as e:
        main(["score", str(film), "--library", str(root / "lib"), "--export", "xml"])
    assert e.value.code == 2
