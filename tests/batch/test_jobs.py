"""The batch job store: states, resume rules, staleness, change detection, locks.

No model and no film is needed here: films are small files and the library
and settings are opaque keys."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from autofoley.batch.jobs import (
    DB_NAME,
    BatchLock,
    FilmFile,
    JobStore,
    hold_worker_lock,
    owner_id,
    wait_for_workers,
)
from autofoley.errors import OutputError


def _film(root: Path, rel: str, data: bytes = b"film") -> FilmFile:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)
    st = path.stat()
    return FilmFile(rel, path, st.st_size, st.st_mtime_ns)


def _restat(f: FilmFile) -> FilmFile:
    st = f.path.stat()
    return FilmFile(f.rel, f.path, st.st_size, st.st_mtime_ns)


def _done(store: JobStore, f: FilmFile, owner: str, lib="L1", settings="S1", outputs=None,
          digest=None):
    from autofoley.cache import file_digest

    assert store.claim(f.rel, owner) is not None
    assert store.finish(f.rel, owner, {
        "size": f.size, "mtime_ns": f.mtime_ns, "digest": digest or file_digest(f.path),
        "library_key": lib, "settings_key": settings, "seconds": 1.0, "duration": 2.0,
        "scenes": 1, "sfx_placed": 3, "outputs": outputs or {}})


@pytest.fixture
def store(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with JobStore(out / DB_NAME) as s:
        yield s


def test_database_is_wal_and_reopens(tmp_path, store):
    assert store.journal_mode == "wal"
    f = _film(tmp_path / "films", "a.mp4")
    store.sync([f], "L1", "S1")
    store.close()
    with JobStore(store.path) as again:
        assert again.row("a.mp4")["state"] == "pending"


def test_state_machine(tmp_path, store):
    films = [_film(tmp_path / "films", r) for r in ("a.mp4", "b.mp4", "c.mp4")]
    plan = store.sync(films, "L1", "S1")
    assert plan.new == ["a.mp4", "b.mp4", "c.mp4"] and plan.todo == plan.new
    me, other = owner_id("run1"), owner_id("run2")

    row = store.claim("a.mp4", me)
    assert row["state"] == "running" and row["attempts"] == 1 and row["owner"] == me
    assert store.claim("a.mp4", me) is None  # only a pending film can be claimed
    assert not store.finish("a.mp4", other, {})  # not its owner: nothing changes
    assert store.row("a.mp4")["state"] == "running"
    assert store.finish("a.mp4", me, {"seconds": 2.5, "outputs": {"timeline": "a/a.otio"}})
    row = store.row("a.mp4")
    assert (row["state"], row["completions"], row["owner"]) == ("done", 1, None)
    assert row["outputs"] == {"timeline": "a/a.otio"}

    store.claim("b.mp4", me)
    assert store.fail("b.mp4", me, "b.mp4: not a video\n(second line)")
    row = store.row("b.mp4")
    assert row["state"] == "failed" and row["error"] == "b.mp4: not a video (second line)"
    assert row["completions"] == 0

    store.claim("c.mp4", me)
    assert store.release("c.mp4", me)
    row = store.row("c.mp4")
    assert (row["state"], row["reason"], row["attempts"]) == ("pending", "interrupted", 1)
    assert store.counts() == {"pending": 1, "running": 0, "done": 1, "failed": 1}
    assert store.pending() == ["c.mp4"]


def test_stale_running_rows_go_back_to_pending(tmp_path, store):
    films = [_film(tmp_path / "films", r) for r in ("a.mp4", "b.mp4")]
    store.sync(films, "L1", "S1")
    dead, live = owner_id("dead"), owner_id("live")
    store.claim("a.mp4", dead)
    store.claim("b.mp4", live)
    assert store.reclaim_stale(live) == ["a.mp4"]
    a, b = store.row("a.mp4"), store.row("b.mp4")
    assert a["state"] == "pending" and dead in a["reason"] and a["owner"] is None
    assert b["state"] == "running" and b["owner"] == live
    # A later sync never leaves a running row of a dead batch running either.
    store.sync(films, "L1", "S1")
    assert store.row("b.mp4")["state"] == "pending"


def test_done_films_are_redone_only_when_something_changed(tmp_path, store):
    root = tmp_path / "films"
    out = tmp_path / "out"
    a, b, c = (_film(root, r, r.encode()) for r in ("a.mp4", "b.mp4", "c.mp4"))
    store.sync([a, b, c], "L1", "S1", out_root=out)
    me = owner_id("r")
    for f in (a, b, c):
        (out / f.rel).with_suffix(".otio").write_text("{}")
        _done(store, f, me, outputs={"timeline": Path(f.rel).with_suffix(".otio").name})

    plan = store.sync([a, b, c], "L1", "S1", out_root=out)
    assert plan.unchanged == ["a.mp4", "b.mp4", "c.mp4"] and plan.todo == []

    # Same bytes, new mtime (a copy, a touch): the digest says it is the same film.
    os.utime(a.path, ns=(a.mtime_ns + 10**9, a.mtime_ns + 10**9))
    # Other bytes of the same size: a content change.
    b.path.write_bytes(b"B.mp4")
    os.utime(b.path, ns=(b.mtime_ns + 10**9, b.mtime_ns + 10**9))
    a2, b2 = _restat(a), _restat(b)
    plan = store.sync([a2, b2, c], "L1", "S1", out_root=out)
    assert plan.redo == {"b.mp4": "film changed"}
    assert plan.unchanged == ["a.mp4", "c.mp4"]
    assert store.row("a.mp4")["mtime_ns"] == a2.mtime_ns  # remembered: no digest next time

    _done(store, b2, me, outputs={"timeline": "b.otio"})
    assert store.sync([a2, b2, c], "L2", "S1", out_root=out).redo == dict.fromkeys(
        ["a.mp4", "b.mp4", "c.mp4"], "library changed")
    for f in (a2, b2, c):
        _done(store, f, me, lib="L2", outputs={"timeline": Path(f.rel).with_suffix(".otio").name})
    assert store.sync([a2, b2, c], "L2", "S2", out_root=out).redo == dict.fromkeys(
        ["a.mp4", "b.mp4", "c.mp4"], "settings changed")
    for f in (a2, b2, c):
        _done(store, f, me, lib="L2", settings="S2",
              outputs={"timeline": Path(f.rel).with_suffix(".otio").name})

    (out / "c.otio").unlink()  # someone deleted an output
    plan = store.sync([a2, b2, c], "L2", "S2", out_root=out)
    assert plan.redo == {"c.mp4": "outputs missing"}
    assert store.row("c.mp4")["completions"] == 3


def test_failed_films_wait_for_retry_or_a_change(tmp_path, store):
    root = tmp_path / "films"
    a, b = _film(root, "a.mp4", b""), _film(root, "b.mp4", b"text")
    store.sync([a, b], "L1", "S1")
    me = owner_id("r")
    for f in (a, b):
        store.claim(f.rel, me)
        store.fail(f.rel, me, "not a video", {"size": f.size, "mtime_ns": f.mtime_ns,
                                              "library_key": "L1", "settings_key": "S1"})
    plan = store.sync([a, b], "L1", "S1")
    assert plan.failed == ["a.mp4", "b.mp4"] and plan.todo == []
    # The user replaced a.mp4 with a good file: tried again without being asked.
    a.path.write_bytes(b"a real film now")
    plan = store.sync([_restat(a), b], "L1", "S1")
    assert plan.redo == {"a.mp4": "film changed"} and plan.failed == ["b.mp4"]
    plan = store.sync([_restat(a), b], "L1", "S1", retry_failed=True)
    assert plan.redo == {"b.mp4": "retry"} and plan.pending == ["a.mp4"]


def test_gone_films_are_listed_and_kept(tmp_path, store):
    root = tmp_path / "films"
    a, b = _film(root, "a.mp4"), _film(root, "b.mp4")
    store.sync([a, b], "L1", "S1")
    plan = store.sync([a], "L1", "S1")
    assert plan.gone == ["b.mp4"] and store.row("b.mp4") is not None


def test_output_folders_never_collide_and_never_move(tmp_path, store):
    root = tmp_path / "films"
    store.sync([_film(root, "day1/A001.mp4")], "L1", "S1")
    # A same-named .mov arrives later: the .mp4 keeps its folder, the .mov
    # keeps its extension.
    films = [_film(root, r) for r in ("day1/A001.mp4", "day1/A001.mov", "day1/B002.MXF", "c.mp4")]
    store.sync(films, "L1", "S1")
    folders = {r["rel"]: r["out_rel"] for r in store.rows()}
    assert folders == {"day1/A001.mp4": "day1/A001", "day1/A001.mov": "day1/A001.mov",
                       "day1/B002.MXF": "day1/B002", "c.mp4": "c"}


def test_an_unreadable_database_is_a_one_line_output_error(tmp_path):
    path = tmp_path / DB_NAME
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(OutputError) as e:
        JobStore(path)
    assert "delete it" in str(e.value) and "\n" not in str(e.value)


# --------------------------------------------------------------------------- locks

_HOLD = textwrap.dedent("""
    import sys, time
    from autofoley.batch.jobs import BatchLock, hold_worker_lock
    if sys.argv[1] == "batch":
        BatchLock(sys.argv[2]).acquire()
    else:
        hold_worker_lock(sys.argv[2])
    print("held", flush=True)
    time.sleep(60)
""")


def _holder(kind: str, folder: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", _HOLD, kind, str(folder)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_batch_lock_is_exclusive_and_names_its_holder(tmp_path):
    with BatchLock(tmp_path):
        with pytest.raises(OutputError) as e:
            BatchLock(tmp_path).acquire()
    msg = str(e.value)
    assert e.value.exit_code == 6 and "another autofoley batch is running" in msg
    assert f"pid {os.getpid()}" in msg and "\n" not in msg
    with BatchLock(tmp_path):  # released on exit
        pass


def test_a_killed_holder_releases_the_lock(tmp_path):
    proc = _holder("batch", tmp_path)
    try:
        with pytest.raises(OutputError, match=f"pid {proc.pid}"):
            BatchLock(tmp_path).acquire()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    with BatchLock(tmp_path):
        pass


def test_a_new_batch_waits_for_workers_of_a_killed_one(tmp_path):
    fd = hold_worker_lock(tmp_path)  # a live worker (shared: workers do not exclude each other)
    fd2 = hold_worker_lock(tmp_path)
    assert fd is not None and fd2 is not None
    os.close(fd)
    os.close(fd2)
    proc = _holder("worker", tmp_path)
    try:
        t0 = time.monotonic()
        with pytest.raises(OutputError, match="still running"):
            wait_for_workers(tmp_path, timeout=0.5)
        assert time.monotonic() - t0 < 5
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    wait_for_workers(tmp_path, timeout=5)


_WITHOUT_FCNTL = textwrap.dedent("""
    import sys, warnings
    sys.modules["fcntl"] = None  # import fcntl -> ImportError, as on Windows
    warnings.simplefilter("ignore")  # filelock: "only soft file lock is available" here
    from autofoley.batch.jobs import BatchLock, hold_worker_lock, wait_for_workers
    from autofoley.errors import OutputError
    folder = sys.argv[1]
    with BatchLock(folder):
        try:
            BatchLock(folder).acquire()
        except OutputError as exc:
            print("refused:", exc)
    print("worker lock:", hold_worker_lock(folder))
    wait_for_workers(folder, timeout=0.1)
    with BatchLock(folder):
        print("taken again")
""")


def test_the_batch_lock_needs_no_posix_flock(tmp_path):
    """Windows has no fcntl: the batch still locks its folder (filelock) and
    the worker locks step aside instead of failing."""
    proc = subprocess.run([sys.executable, "-c", _WITHOUT_FCNTL, str(tmp_path)],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("refused:") and "another autofoley batch is running" in lines[0]
    assert "(pid " in lines[0]
    assert lines[1:] == ["worker lock: None", "taken again"]


def test_the_holder_note_goes_with_the_lock(tmp_path):
    with BatchLock(tmp_path) as lock:
        assert lock.holder_path.read_text().startswith(f"pid {os.getpid()} on ")
    assert not lock.holder_path.exists()
    # A note a killed holder left behind names nobody once the lock is free.
    lock.holder_path.write_text("pid 1 on elsewhere since 2020-01-01 00:00:00\n")
    with BatchLock(tmp_path):
        with pytest.raises(OutputError, match=f"pid {os.getpid()} on"):
            BatchLock(tmp_path).acquire()
