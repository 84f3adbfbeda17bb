"""Publishing a film's outputs never loses a hand edit: a timeline (or an
export an editor saves in place) changed after autofoley wrote it is moved
aside, in ``score``'s flat folder and in a batch's film folders alike."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

from autofoley.batch.workers import publish_film
from autofoley.cache import file_digest
from autofoley.output.publish import MANIFEST_NAME, manifest_path, publish

HOUR = 3600


def _staged(root: Path, name: str, version: str, *keys: str) -> dict[str, Path]:
    """A score's staged outputs: events and timeline, plus exports by key."""
    suffixes = {"events": ".events.json", "timeline": ".otio", "kdenlive": ".kdenlive",
                "mlt": ".mlt", "mix": ".mix.wav"}
    root.mkdir(parents=True, exist_ok=True)
    outputs = {}
    for key in ("events", *keys, "timeline"):
        path = root / f"{name}{suffixes[key]}"
        path.write_text(f"{key} {version}")
        outputs[key] = path
    return outputs


def _edit(path: Path, text: str, when: float) -> None:
    """An editor saving over ``path`` at unix time ``when``."""
    path.write_text(text)
    os.utime(path, (when, when))


def _stamp(when: float) -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.localtime(when))


def _visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def test_an_edited_timeline_is_moved_aside_and_the_new_one_published(tmp_path, caplog):
    out = tmp_path / "out"
    publish(_staged(tmp_path / "s1", "film", "v1"), out)
    when = time.time() + HOUR
    _edit(out / "film.otio", "the editor's cut", when)

    with caplog.at_level(logging.WARNING, logger="autofoley"):
        final = publish(_staged(tmp_path / "s2", "film", "v2"), out)
    aside = out / f"film.edited-{_stamp(when)}.otio"
    assert final["timeline"] == out / "film.otio"
    assert (out / "film.otio").read_text() == "timeline v2"
    assert aside.read_text() == "the editor's cut"
    assert _visible(out) == ["film.edited-" + _stamp(when) + ".otio", "film.events.json",
                             "film.otio"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert str(out / "film.otio") in warnings[0] and str(aside) in warnings[0]
    # The new timeline is recorded, so the next score replaces it quietly.
    record = json.loads((out / MANIFEST_NAME).read_text())["files"]["film.otio"]
    assert record["blake2b"] == file_digest(out / "film.otio")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="autofoley"):
        publish(_staged(tmp_path / "s3", "film", "v3"), out)
    assert not caplog.records and (out / "film.otio").read_text() == "timeline v3"
    assert aside.read_text() == "the editor's cut"


def test_an_unedited_timeline_is_replaced_without_a_copy(tmp_path):
    out = tmp_path / "out"
    for v in ("v1", "v2"):
        publish(_staged(tmp_path / v, "film", v), out)
    # Saved again without a change (same bytes, later mtime): nothing to keep.
    os.utime(out / "film.otio", (time.time() + HOUR,) * 2)
    publish(_staged(tmp_path / "v3", "film", "v3"), out)
    assert _visible(out) == ["film.events.json", "film.otio"]
    assert (out / "film.otio").read_text() == "timeline v3"


def test_a_taken_name_gets_a_counter_and_nothing_is_overwritten(tmp_path):
    out = tmp_path / "out"
    publish(_staged(tmp_path / "s1", "film", "v1"), out)
    when = time.time() + HOUR
    taken = out / f"film.edited-{_stamp(when)}.otio"
    taken.write_text("an earlier edit")
    _edit(out / "film.otio", "edit 2", when)
    publish(_staged(tmp_path / "s2", "film", "v2"), out)
    _edit(out / "film.otio", "edit 3", when)
    publish(_staged(tmp_path / "s3", "film", "v3"), out)
    assert taken.read_text() == "an earlier edit"
    assert (out / f"film.edited-{_stamp(when)}-2.otio").read_text() == "edit 2"
    assert (out / f"film.edited-{_stamp(when)}-3.otio").read_text() == "edit 3"


def test_unrecorded_timelines_go_by_when_they_were_written(tmp_path):
    """No manifest (an older autofoley wrote the folder): a timeline written
    together with its events.json is autofoley's; one saved later, or one
    without events.json (autofoley never wrote it), is kept."""
    out = tmp_path / "out"
    out.mkdir()
    t0 = time.time() - 2 * HOUR
    for name, edited in (("old", None), ("late", t0 + HOUR), ("alone", None)):
        _edit(out / f"{name}.otio", f"{name} timeline", t0 + 5)
        if name != "alone":
            _edit(out / f"{name}.events.json", "events", t0)
        if edited:
            _edit(out / f"{name}.otio", "edited later", edited)
        publish(_staged(tmp_path / name, name, "new"), out)
        assert (out / f"{name}.otio").read_text() == "timeline new"
    assert _visible(out) == [
        f"alone.edited-{_stamp(t0 + 5)}.otio", "alone.events.json", "alone.otio",
        f"late.edited-{_stamp(t0 + HOUR)}.otio", "late.events.json", "late.otio",
        "old.events.json", "old.otio"]


def test_a_record_beats_the_mtime_rule(tmp_path):
    """Edited, then the folder copied without its times (cp -r): the files'
    mtimes say nothing, the recorded digest still does."""
    out = tmp_path / "out"
    publish(_staged(tmp_path / "s1", "film", "v1"), out)
    now = time.time()
    _edit(out / "film.otio", "edited", now)
    os.utime(out / "film.events.json", (now, now))
    publish(_staged(tmp_path / "s2", "film", "v2"), out)
    assert (out / f"film.edited-{_stamp(now)}.otio").read_text() == "edited"


def test_an_unreadable_manifest_falls_back_to_the_mtime_rule(tmp_path, caplog):
    out = tmp_path / "out"
    publish(_staged(tmp_path / "s1", "film", "v1"), out)
    (out / MANIFEST_NAME).write_text("{not json")
    _edit(out / "film.otio", "edited", time.time() + HOUR)
    with caplog.at_level(logging.WARNING, logger="autofoley"):
        publish(_staged(tmp_path / "s2", "film", "v2"), out)
    assert any("unreadable" in r.getMessage() for r in caplog.records)
    assert len([p for p in out.iterdir() if ".edited-" in p.name]) == 1
    json.loads((out / MANIFEST_NAME).read_text())  # written whole again


def test_batch_folders_keep_edits_and_hold_only_deliverables(tmp_path, caplog):
    out = tmp_path / "out"
    dest = out / "day1" / "A001"
    first = publish_film(_staged(tmp_path / "s1", "A001", "v1", "kdenlive", "mix"), dest, out)
    assert _visible(dest) == sorted(Path(p).name for p in first.values())
    assert [p.name for p in dest.iterdir() if p.name.startswith(".")] == []
    book = manifest_path(dest, out)
    assert book == out / ".autofoley-outputs" / "day1" / "A001.json"
    assert set(json.loads(book.read_text())["files"]) == {"A001.otio", "A001.kdenlive"}

    # Kdenlive saved over the project; the next score writes no kdenlive
    # export, so the stale one would be removed: it is kept instead.
    when = time.time() + HOUR
    _edit(dest / "A001.kdenlive", "<mlt>edited</mlt>", when)
    _edit(dest / "A001.mix.wav", "remixed by hand", when)  # not an editable timeline
    with caplog.at_level(logging.WARNING, logger="autofoley"):
        second = publish_film(_staged(tmp_path / "s2", "A001", "v2"), dest, out, first)
    assert set(second) == {"events", "timeline"}
    assert _visible(dest) == ["A001.edited-" + _stamp(when) + ".kdenlive", "A001.events.json",
                              "A001.otio"]
    assert (dest / f"A001.edited-{_stamp(when)}.kdenlive").read_text() == "<mlt>edited</mlt>"
    assert any("A001.kdenlive" in r.getMessage() for r in caplog.records)
    assert set(json.loads(book.read_text())["files"]) == {"A001.otio"}


def test_score_keeps_an_edited_timeline(tmp_path):
    import subprocess

    from synth import make_library

    from autofoley._cli.main import main

    make_library(tmp_path / "lib")
    film = tmp_path / "film.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=160x90:rate=25:duration=2", "-c:v", "libx264", "-preset",
                    "ultrafast", "-pix_fmt", "yuv420p", str(film)], check=True,
                   timeout=300, stdin=subprocess.DEVNULL)
    out = tmp_path / "out"
    args = ["score", str(film), "--library", str(tmp_path / "lib"), "--out", str(out),
            "--no-render", "--no-report", "--clip-model", "autofoley-tiny", "--quiet"]
    assert main(args) == 0
    written = (out / "film.otio").read_text()
    when = time.time() + HOUR
    _edit(out / "film.otio", written.replace("autofoley", "autofoley, trimmed by hand"), when)
    assert main(args) == 0
    assert "trimmed by hand" not in (out / "film.otio").read_text()
    assert "trimmed by hand" in (out / f"film.edited-{_stamp(when)}.otio").read_text()
