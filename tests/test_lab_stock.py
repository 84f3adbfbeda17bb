"""The lab world's stock-footage pool (examples/lab_world/stock.py, examples/make_lab_stock.py)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))

from lab_world import stock  # noqa: E402
from lab_world.catalog import LOCALE, SILENT, THING, THINGS  # noqa: E402

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None,
                                  reason="needs ffmpeg and ffprobe")

# A place only, two things (one of them silent), then drawn at random.
FORCED = [("office", []), ("harbour", ["ship", "crate"])]


def _pool(root: Path, seed: int = 0, workers: int = 1) -> dict:
    return stock.write_stock(root, seed=seed, videos=3, stills=2, workers=workers, forced=FORCED)


def _ffprobe(path: Path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames",
                          "-show_entries", "stream=codec_name,width,height,nb_read_frames:format=duration",
                          "-of", "json", str(path)], capture_output=True, text=True,
                         timeout=60, check=True, stdin=subprocess.DEVNULL)
    return json.loads(out.stdout)


@needs_ffmpeg
def test_pool_files_decode_and_truth_says_what_they_show(tmp_path):
    truth = _pool(tmp_path / "pool")
    root = tmp_path / "pool"
    assert sorted(truth) == ["stills/still_000.png", "stills/still_001.png",
                             "videos/clip_000.mp4", "videos/clip_001.mp4", "videos/clip_002.mp4"]
    assert json.loads((root / stock.TRUTH_NAME).read_text(encoding="utf-8")) == truth
    for rel, item in truth.items():
        path = root / rel
        assert path.is_file() and path.stat().st_size > 0, rel
        assert item["place"] in LOCALE and item["ambience"] == LOCALE[item["place"]].ambience
        assert len(item["things"]) <= 2 and all(t in THING for t in item["things"]), rel
        assert item["sounds"] == [THING[t].sound for t in item["things"] if THING[t].sound]
        assert [t["thing"] for t in item["tracks"]] == item["things"]
        if item["kind"] == "video":
            info = _ffprobe(path)
            v = info["streams"][0]
            assert (v["codec_name"], v["width"], v["height"]) == ("h264", *stock.SIZE)
            assert 3.0 <= item["duration"] <= 6.0
            assert abs(float(info["format"]["duration"]) - item["duration"]) < 0.15, rel
            assert int(v["nb_read_frames"]) == round(item["duration"] * stock.FPS)
        else:
            assert item["kind"] == "still" and item["duration"] == 0.0
            assert not any(t["moving"] for t in item["tracks"])
            with Image.open(path) as im:
                im.load()
                assert im.size == stock.SIZE and im.mode == "RGB"
    # The forced subjects: a place only, and a sounding thing beside a silent one.
    assert truth["videos/clip_000.mp4"]["things"] == [] and truth["videos/clip_000.mp4"]["place"] == "office"
    two = truth["videos/clip_001.mp4"]
    assert two["things"] == ["ship", "crate"] and two["sounds"] == ["ship_horn"]


@needs_ffmpeg
def test_same_seed_same_pool_in_parallel_too_other_seed_differs(tmp_path):
    first = _pool(tmp_path / "a")
    again = _pool(tmp_path / "b", workers=2)  # separate processes draw the same items
    assert again == first
    for rel in first:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    other = stock.write_stock(tmp_path / "c", seed=1, videos=3, stills=2)
    assert other != first


def test_still_shows_its_things_and_an_empty_place_does_not_change():
    key = [5, 2, 0]
    plan = stock.plan_item(np.random.default_rng(key), ["frog"], "desert", still=True)
    empty = {**plan, "things": [], "tracks": []}
    with_frog = np.asarray(next(stock.render_item(plan, key)), np.int16)
    without = np.asarray(next(stock.render_item(empty, key)), np.int16)
    changed = (np.abs(with_frog - without).sum(axis=2) > 30).mean()
    assert 0.02 < changed < 0.4  # the frog covers part of the frame, not all of it


def test_plans_mix_subjects_places_and_motion_as_stock_does():
    plans = [stock.plan_item(np.random.default_rng([0, 1, i])) for i in range(600)]
    counts = [sum(len(p["things"]) == n for p in plans) / len(plans) for n in (0, 1, 2)]
    assert 0.06 < counts[0] < 0.14 and 0.2 < counts[2] < 0.3 and 0.56 < counts[1] < 0.74
    shown = {t for p in plans for t in p["things"]}
    assert shown == {t.name for t in THINGS} and {t.name for t in SILENT} <= shown
    assert {p["place"] for p in plans} == set(LOCALE)
    tracks = [t for p in plans for t in p["tracks"]]
    assert 0.3 < np.mean([t["moving"] for t in tracks]) < 0.7  # some drift, the others jitter
    assert all(t["jitter"] > 0 for t in tracks if not t["moving"] and t["start"] == t["end"])
    xs = np.array([x for t in tracks for x in (t["start"][0], t["end"][0])])
    # Off centre, but a centre crop to a square keeps every thing's centre.
    keep = 0.5 * stock.SIZE[1] / stock.SIZE[0]
    assert (np.abs(xs - 0.5) > 0.15).mean() > 0.2 and np.all(np.abs(xs - 0.5) < keep)
    assert np.ptp([t["size"] for t in tracks]) > 0.3
    for p in plans:
        if len(p["tracks"]) == 2:  # two things keep to their own sides
            a, b = p["tracks"]
            assert max(a["start"][0], a["end"][0]) < min(b["start"][0], b["end"][0])
    padded = [stock.plan_item(np.random.default_rng([0, 1, i]), fit="pad") for i in range(200)]
    assert max(abs(t["start"][0] - 0.5) for p in padded for t in p["tracks"]) > keep
    assert all(3.0 <= p["duration"] <= 6.0 for p in plans)
