"""`autofoley batch` on synthetic footage: bad films, kills at random moments,
two batches at once, changes that must (and must not) cause a film to be
scored again, and Ray. The tiny model keeps each film under a second."""

import argparse
import collections
import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from synth import make_library

from autofoley._cli.batch import add_batch_parser, cmd_batch
from autofoley.batch import find_films, run_batch
from autofoley.batch.jobs import DB_NAME, wait_for_workers
from autofoley.batch.workers import publish_film
from autofoley.pipeline import ScoreOptions
from autofoley.placement.sync import SyncParams

TINY = ["--clip-model", "autofoley-tiny", "--quiet"]
OUTPUT_SUFFIXES = (".otio", ".events.json", ".mix.wav", ".scored.mp4")


def make_film(path: Path, source: str = "testsrc2", seconds: float = 2.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi",
                    "-i", f"{source}=size=160x90:rate=25:duration={seconds}",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)], check=True,
                   timeout=300, stdin=subprocess.DEVNULL)
    return path


def make_bad_films(folder: Path, good: Path) -> list[str]:
    """The ways a film in a footage folder is broken, one file each."""
    folder.mkdir(parents=True, exist_ok=True)
    data = good.read_bytes()
    (folder / "truncated.mp4").write_bytes(data[: len(data) // 3])  # the moov atom is at the end
    (folder / "empty.mp4").write_bytes(b"")
    (folder / "notes.mp4").write_text("call the producer about reel 3\n")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=f=440:duration=2",
                    "-c:a", "aac", str(folder / "voice_memo.mp4")], check=True,
                   timeout=300, stdin=subprocess.DEVNULL)
    return ["bad/empty.mp4", "bad/notes.mp4", "bad/truncated.mp4", "bad/voice_memo.mp4"]


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """A footage folder (good films in subfolders, broken ones, a hidden file
    and a non-video) and an SFX library, made once and only ever copied."""
    root = tmp_path_factory.mktemp("batch-media")
    foot = root / "footage"
    good = {"day1/A001.mp4": "testsrc2", "day1/A002.mov": "smptebars", "day2/B001.mkv": "testsrc",
            "C001.mp4": "rgbtestsrc", "day2/deep/D001.mp4": "yuvtestsrc"}
    for rel, source in good.items():
        make_film(foot / rel, source)
    bad = make_bad_films(foot / "bad", foot / "C001.mp4")
    make_film(foot / ".trash" / "old.mp4")  # hidden: not a film of the batch
    (foot / "day1" / "shot_list.txt").write_text("A001, A002\n")
    make_library(root / "lib")
    return {"root": root, "footage": foot, "lib": root / "lib", "good": sorted(good),
            "bad": bad}


def copy_footage(media, dest: Path, only: list[str] | None = None) -> Path:
    if only is None:
        shutil.copytree(media["footage"], dest, copy_function=shutil.copy2)
    else:
        for rel in only:
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(media["footage"] / rel, dest / rel)
    return dest


def tree_digest(path: Path) -> dict:
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


def db_rows(out: Path) -> dict:
    db = sqlite3.connect(f"file:{out / DB_NAME}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        return {r["rel"]: dict(r) for r in db.execute("SELECT * FROM films")}
    finally:
        db.close()


def states(out: Path) -> dict | str:
    """How many films are in each state (for messages); the database may not exist yet."""
    try:
        return dict(collections.Counter(r["state"] for r in db_rows(out).values()))
    except sqlite3.Error:
        return "no database yet"


def wait_until(out: Path, proc: subprocess.Popen, ready, limit: float = 60.0) -> None:
    """Poll the job database (read-only, beside the running batch) until
    ``ready(counts of states)``, the batch exits, or ``limit`` seconds pass."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit and proc.poll() is None:
        counts = states(out)
        if isinstance(counts, dict) and ready(counts):
            return
        time.sleep(0.05)


def batch(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="autofoley")
    add_batch_parser(parser.add_subparsers(dest="command"))
    return cmd_batch(parser.parse_args(["batch", *argv]))


def batch_process(folder: Path, lib: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "autofoley", "batch", str(folder),
                             "--library", str(lib), "--out", str(out), *TINY, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def assert_complete(out: Path, rows: dict, good: list[str]) -> None:
    """Every good film done once, with exactly its four outputs, readable;
    nothing temporary or half-written anywhere."""
    assert not [p for p in out.rglob("*") if p.name.startswith(".autofoley-tmp-")]
    assert not [r for r in rows.values() if r["state"] == "running"]
    for rel in good:
        row = rows[rel]
        assert row["state"] == "done" and row["completions"] == 1, row
        folder = out / row["out_rel"]
        name = Path(rel).stem
        outputs = json.loads(row["outputs"])
        assert outputs["timeline"] == f"{row['out_rel']}/{name}.otio"
        # The folder holds exactly the outputs recorded, all of them, and the
        # four deliverables are among them.
        assert sorted(p.name for p in folder.iterdir() if p.is_file()) == sorted(
            Path(p).name for p in outputs.values())
        assert {name + s for s in OUTPUT_SUFFIXES} <= {Path(p).name for p in outputs.values()}
        events = json.loads((folder / f"{name}.events.json").read_text())
        assert events["film"]["duration"] == pytest.approx(2.0, abs=0.1)
        info = sf.info(str(folder / f"{name}.mix.wav"))
        assert info.duration == pytest.approx(events["film"]["duration"], abs=0.05)


# --------------------------------------------------------------------------- bad films


def test_bad_films_fail_with_a_reason_and_the_rest_are_scored(media, tmp_path, capsys):
    foot = copy_footage(media, tmp_path / "footage")
    out = tmp_path / "out"
    sources = tree_digest(foot)
    library = tree_digest(media["lib"])

    code = batch([str(foot), "--library", str(media["lib"]), "--out", str(out), "--workers", "2",
                  "--json", *TINY])
    stdout, stderr = capsys.readouterr()
    assert code == 8
    report = json.loads(stdout)
    assert report == json.loads((out / "report.json").read_text())
    assert report["counts"] == {"films": 9, "done": 5, "failed": 4, "pending": 0,
                                     "scored": 5, "failed_this_run": 4, "unchanged": 0,
                                     "reclaimed": 0}
    by_film = {f["film"]: f for f in report["films"]}
    assert sorted(by_film) == sorted(media["good"] + media["bad"])  # not .trash, not .txt
    reasons = {rel: by_film[rel]["error"] for rel in media["bad"]}
    assert "has no video stream" in reasons["bad/voice_memo.mp4"]
    for rel in ("bad/empty.mp4", "bad/notes.mp4", "bad/truncated.mp4"):
        assert "not a video ffmpeg can read" in reasons[rel]
    for rel, reason in reasons.items():
        assert str(foot / rel) in reason and "\n" not in reason
    for rel in media["good"]:
        assert by_film[rel]["status"] == "done" and by_film[rel]["scenes"] >= 1
    assert_complete(out, db_rows(out), media["good"])
    assert (out / "day2/deep/D001/D001.otio").is_file()  # the footage's folders, kept
    # The summary table went to stderr: one row per film, the failures with their reasons.
    assert "bad/voice_memo.mp4" in stderr and "has no video stream" in stderr
    assert "5 done (5 scored now, 0 unchanged), 4 failed" in stderr

    # Only the failed films are tried again, and they fail again.
    code = batch([str(foot), "--library", str(media["lib"]), "--out", str(out), "--workers", "0",
                  "--retry-failed", *TINY])
    capsys.readouterr()
    assert code == 8
    rows = db_rows(out)
    assert {rel: rows[rel]["attempts"] for rel in rows} == {
        **dict.fromkeys(media["good"], 1), **dict.fromkeys(media["bad"], 2)}

    # Without --retry-failed a failed film is left alone, unless it changed:
    # the editor replaced the empty file with the real one.
    shutil.copy(foot / "C001.mp4", foot / "bad" / "empty.mp4")
    assert batch([str(foot), "--library", str(media["lib"]), "--out", str(out), "--workers", "0",
                  *TINY]) == 8
    capsys.readouterr()
    rows = db_rows(out)
    assert rows["bad/empty.mp4"]["state"] == "done" and rows["bad/empty.mp4"]["attempts"] == 3
    assert rows["bad/notes.mp4"]["attempts"] == 2

    del sources["bad/empty.mp4"]
    after = tree_digest(foot)
    del after["bad/empty.mp4"]
    assert after == sources  # the footage and the library are only ever read
    assert tree_digest(media["lib"]) == library


# --------------------------------------------------------------------------- kill -9


def test_killed_at_random_moments_the_batch_resumes_and_scores_each_film_once(media, tmp_path):
    rng = random.Random(int(os.environ.get("AUTOFOLEY_KILL_SEED", "20240607")))
    only = media["good"] + ["bad/empty.mp4", "bad/truncated.mp4"]
    foot = copy_footage(media, tmp_path / "footage", only)
    out = tmp_path / "out"
    sources = tree_digest(foot)
    kills = []
    # Three kills: at a random moment of the start-up (model, library, job
    # database, workers), a moment after a film started scoring, and a random
    # moment after some films are done (in a film, in a publish, between two).
    plans = [("start-up", None, 0.5, 6.0),
             ("first film", lambda c: c.get("running", 0) >= 1, 0.0, 0.5),
             ("mid-batch", lambda c: c.get("done", 0) >= 2, 0.0, 1.5)]
    for name, ready, low, high in plans:
        proc = batch_process(foot, media["lib"], out)
        t0 = time.monotonic()
        if ready is not None:
            wait_until(out, proc, ready)
        time.sleep(rng.uniform(low, high))
        finished = proc.poll() is not None
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        kills.append((name, round(time.monotonic() - t0, 2), "after exit" if finished else "killed",
                      states(out)))
    print("kills (kind, seconds, outcome, states at the kill):", kills)  # pytest -s shows it

    proc = batch_process(foot, media["lib"], out)
    stdout, stderr = proc.communicate(timeout=240)
    assert proc.returncode == 8, (kills, stderr)
    rows = db_rows(out)
    assert_complete(out, rows, media["good"])
    for rel in media["good"]:
        assert 1 <= rows[rel]["attempts"] <= 4, (kills, rows[rel])
    assert rows["bad/empty.mp4"]["state"] == "failed"
    assert {p.name for p in out.iterdir() if not p.name.startswith(".")} == {
        "report.json", "day1", "day2", "C001"}
    wait_for_workers(out, timeout=1)  # no worker of any of those runs is left alive

    # A rerun with nothing changed does nothing: no film is scored a second time.
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*.otio")}
    proc = batch_process(foot, media["lib"], out, "--json")
    stdout, _ = proc.communicate(timeout=120)
    assert proc.returncode == 8
    report = json.loads(stdout)
    assert report["counts"]["scored"] == 0 and report["counts"]["unchanged"] == 5
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.otio")} == mtimes
    assert all(r["completions"] == 1 for rel, r in db_rows(out).items() if rel in media["good"])
    assert tree_digest(foot) == sources


# --------------------------------------------------------------------------- two batches at once


def test_a_second_batch_on_the_same_output_folder_is_refused(media, tmp_path):
    foot = copy_footage(media, tmp_path / "footage", media["good"][:3])
    out = tmp_path / "out"
    first = batch_process(foot, media["lib"], out)
    wait_until(out, first, lambda c: c.get("running", 0) >= 1)
    assert first.poll() is None, "the first batch ended before the test could race it"
    second = batch_process(foot, media["lib"], out)
    _, err = second.communicate(timeout=60)
    assert second.returncode == 6
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "another autofoley batch is running" in lines[0]
    assert f"pid {first.pid}" in lines[0]
    _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    rows = db_rows(out)
    assert all(r["state"] == "done" and r["attempts"] == 1 and r["completions"] == 1
               for r in rows.values())


# --------------------------------------------------------------------------- change detection


def test_only_what_changed_is_scored_again(media, tmp_path):
    foot = copy_footage(media, tmp_path / "footage", ["day1/A001.mp4", "day1/A002.mov", "C001.mp4"])
    lib = tmp_path / "lib"
    shutil.copytree(media["lib"], lib, copy_function=shutil.copy2)
    out = tmp_path / "out"

    def run(**kw):
        report = run_batch(foot, lib, out, clip_model="autofoley-tiny", workers=0, **kw)
        assert report.exit_code == 0
        return report, {f["film"]: f for f in report.films if f["this_run"]}

    report, scored = run()
    assert sorted(scored) == ["C001.mp4", "day1/A001.mp4", "day1/A002.mov"]
    otio = out / "C001" / "C001.otio"
    mtime = otio.stat().st_mtime_ns

    report, scored = run()  # nothing changed
    assert scored == {} and report.counts["unchanged"] == 3
    assert otio.stat().st_mtime_ns == mtime

    # A touch (or a copy) changes the mtime, not the film: not scored again.
    st = (foot / "C001.mp4").stat()
    os.utime(foot / "C001.mp4", ns=(st.st_atime_ns, st.st_mtime_ns + 5 * 10**9))
    assert run()[1] == {}
    # New content under the same name: that film alone.
    make_film(foot / "day1" / "A001.mp4", "smptehdbars")
    report, scored = run()
    assert list(scored) == ["day1/A001.mp4"]
    assert scored["day1/A001.mp4"]["why"] == "film changed" and report.counts["unchanged"] == 2
    # Options that only change speed are not a new setting...
    assert run(options=ScoreOptions(batch_size=8, use_cache=False))[1] == {}
    # ...a placement setting is: every film.
    report, scored = run(options=ScoreOptions(sync=SyncParams(threshold=0.3)))
    assert len(scored) == 3 and scored["C001.mp4"]["why"] == "settings changed"
    # A new sound in the library: every film again.
    data = np.random.default_rng(0).standard_normal((48000, 2)).astype(np.float32) * 0.1
    sf.write(lib / "Rain_Heavy_Roof.wav", data, 48000)
    report, scored = run(options=ScoreOptions(sync=SyncParams(threshold=0.3)))
    assert len(scored) == 3 and scored["C001.mp4"]["why"] == "library changed"
    # An output deleted by hand: that film is scored again.
    (out / "day1" / "A002" / "A002.mix.wav").unlink()
    report, scored = run(options=ScoreOptions(sync=SyncParams(threshold=0.3)))
    assert list(scored) == ["day1/A002.mov"] and scored["day1/A002.mov"]["why"] == "outputs missing"
    rows = db_rows(out)
    assert {rel: r["completions"] for rel, r in rows.items()} == {
        "C001.mp4": 3, "day1/A001.mp4": 4, "day1/A002.mov": 4}
    assert_no_tmp(out)


def assert_no_tmp(out: Path) -> None:
    assert not [p for p in out.rglob("*") if p.name.startswith(".autofoley-tmp-")]


def test_a_film_that_hangs_costs_its_worker_not_the_batch(media, tmp_path):
    foot = copy_footage(media, tmp_path / "footage", ["C001.mp4"])
    out = tmp_path / "out"
    t0 = time.monotonic()
    report = run_batch(foot, media["lib"], out, clip_model="autofoley-tiny", workers=1,
                       timeout=0.05)
    assert report.exit_code == 8
    errors = {f["film"]: f["error"] for f in report.films}
    assert errors == {"C001.mp4": "timed out after 0.05 s"}
    assert time.monotonic() - t0 < 60
    wait_for_workers(out, timeout=1)  # the killed workers, and their replacements, are gone
    assert_no_tmp(out)


# --------------------------------------------------------------------------- pieces


def test_find_films_skips_hidden_files_other_extensions_and_the_output_folder(media, tmp_path):
    foot = copy_footage(media, tmp_path / "footage")
    (foot / "renders").mkdir()
    make_film(foot / "renders" / "R001.MP4")  # upper-case extensions count
    (foot / "loop").symlink_to(foot, target_is_directory=True)  # a link loop is entered once
    films = [f.rel for f in find_films(foot, exclude=[foot / "renders"])]
    assert films == sorted(media["good"] + media["bad"])
    assert "renders/R001.MP4" in [f.rel for f in find_films(foot)]
    assert [f.rel for f in find_films(foot, extensions=["mov"])] == ["day1/A002.mov"]


def test_publish_replaces_a_set_whole_and_drops_outputs_no_longer_written(tmp_path):
    out = tmp_path / "out"
    dest = out / "day1" / "A001"
    dest.mkdir(parents=True)
    for name in ("A001.otio", "A001.events.json", "A001.scored.mov"):
        (dest / name).write_text("old")
    (dest / "A001.stems").mkdir()
    (dest / "A001.stems" / "sfx.wav").write_text("old")
    (dest / "notes.txt").write_text("the editor's")
    new = tmp_path / "staging"
    new.mkdir()
    outputs = {}
    for key, name in (("scored", "A001.scored.mp4"), ("events", "A001.events.json"),
                      ("timeline", "A001.otio")):
        (new / name).write_text("new")
        outputs[key] = new / name
    old = {"scored": "day1/A001/A001.scored.mov", "events": "day1/A001/A001.events.json",
           "timeline": "day1/A001/A001.otio", "stems": "day1/A001/A001.stems"}
    final = publish_film(outputs, dest, out, old)
    assert final == {"scored": "day1/A001/A001.scored.mp4", "events": "day1/A001/A001.events.json",
                     "timeline": "day1/A001/A001.otio"}
    assert sorted(p.name for p in dest.iterdir()) == [
        "A001.events.json", "A001.otio", "A001.scored.mp4", "notes.txt"]
    assert all((dest / n).read_text() == "new" for n in ("A001.otio", "A001.scored.mp4"))


def test_errors_before_any_film_is_claimed(media, tmp_path, capsys):
    from autofoley.errors import InputError, LibraryError

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no videos"):
        run_batch(empty, media["lib"], tmp_path / "out", clip_model="autofoley-tiny")
    with pytest.raises(InputError, match="folder not found"):
        run_batch(tmp_path / "nope", media["lib"], tmp_path / "out", clip_model="autofoley-tiny")
    foot = copy_footage(media, tmp_path / "footage", ["C001.mp4"])
    with pytest.raises(LibraryError):
        run_batch(foot, tmp_path / "no-library", tmp_path / "out", clip_model="autofoley-tiny")
    assert all(r["attempts"] == 0 for r in db_rows(tmp_path / "out").values())


# --------------------------------------------------------------------------- Ray


def test_without_ray_installed_the_error_says_how_to_get_it(media, tmp_path, monkeypatch, capsys):
    from autofoley._cli.main import main

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    code = main(["batch", str(media["footage"]), "--library", str(media["lib"]), "--out",
                 str(tmp_path / "out"), "--ray", "auto", *TINY])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 7 and not (tmp_path / "out").exists()
    assert err == ["autofoley: error: Ray is not installed (pip install 'autofoley[ray]')"]


def test_ray_batch(media, tmp_path):
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'autofoley[ray]')")
    foot = copy_footage(media, tmp_path / "footage",
                        ["day1/A001.mp4", "C001.mp4", "day2/B001.mkv", "bad/notes.mp4"])
    out = tmp_path / "out"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        report = run_batch(foot, media["lib"], out, clip_model="autofoley-tiny", ray="auto")
    finally:
        ray.shutdown()
    assert report.exit_code == 8
    rows = db_rows(out)
    assert_complete(out, rows, ["day1/A001.mp4", "C001.mp4", "day2/B001.mkv"])
    assert rows["bad/notes.mp4"]["state"] == "failed"
    assert "not a video" in rows["bad/notes.mp4"]["error"]
