"""What a person sees while a run goes on: warnings readable above the bars on
a terminal, periodic progress lines without one, and help without torch."""

import io
import logging
import shutil
import subprocess
import sys
import time
import uuid

import pytest

from autofoley.progress import LogReporter, RichReporter, progress_line

log = logging.getLogger("autofoley")


def test_log_reporter_writes_a_line_every_interval_with_the_time_left(caplog):
    now = [0.0]
    reporter = LogReporter(interval=30.0, clock=lambda: now[0])
    caplog.set_level(logging.INFO, logger="autofoley")
    with reporter.stage("embed frames", total=100) as update:
        for done in range(0, 101, 5):
            now[0] = done * 1.0  # one second per frame
            update(done)
    lines = [r.getMessage() for r in caplog.records if r.name == "autofoley"]
    # 30 s in, then every 30 s: at 30, 60 and 90 frames done.
    assert len(lines) == 3, lines
    assert lines[0].startswith("embed frames: 30% (30 of 100)")
    assert "about 1 min 10 s left" in lines[0]
    assert "embed frames" in reporter.timings


def test_a_short_stage_logs_nothing(caplog):
    caplog.set_level(logging.INFO, logger="autofoley")
    with LogReporter(interval=30.0).stage("probe") as update:
        update(1, 1)
    assert not [r for r in caplog.records if r.name == "autofoley"]


def test_progress_line_without_a_total():
    assert progress_line("scan library", 12, None, 75) == "scan library: 12 done, 1 min 15 s so far"


def test_warnings_go_through_the_live_console_not_under_it(capsys):
    from rich.console import Console

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    with RichReporter(console) as reporter:
        with reporter.stage("export"):
            log.warning("fcp7xml cannot hold track names")
    assert "fcp7xml cannot hold track names" in screen.getvalue()
    assert "fcp7xml" not in capsys.readouterr().err  # not written under the display
    assert log.propagate  # restored afterwards


def test_help_and_argument_errors_do_not_import_torch():
    code = ("import sys\n"
            "from autofoley._cli.main import main\n"
            "try:\n    main(['score', '--help'])\nexcept SystemExit:\n    pass\n"
            "try:\n    main(['score', 'f.mp4', '--library', 'x', '--step', '0'])\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in ('torch', 'open_clip', 'scipy', 'cv2') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=240, stdin=subprocess.DEVNULL).stdout
    assert out.strip().splitlines()[-1] == "[]"


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed (apt-get install tmux)")
def test_on_a_real_terminal_every_warning_is_readable_after_the_run(tmp_path):
    """The run's warnings (what each export format drops, written while the
    bars are live) are on the screen when it ends, as many as when stderr is
    a file."""
    import numpy as np
    import soundfile as sf
    from synth import make_library

    lib = tmp_path / "lib"
    make_library(lib, sr_variants=False)
    for i in range(3):  # three files every scan skips, each with a warning
        sf.write(str(lib / f"silent_{i}.wav"), np.zeros(4800, np.float32), 48000)
    film = tmp_path / "film.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=160x90:rate=25:duration=3", "-c:v", "libx264", "-pix_fmt",
                    "yuv420p", str(film)], check=True, timeout=240, stdin=subprocess.DEVNULL)
    cmd = [sys.executable, "-m", "autofoley", "score", str(film), "--library", str(lib),
           "--clip-model", "autofoley-tiny", "--no-render", "--no-report", "--export", "all",
           "--out", str(tmp_path / "out")]
    piped = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                           stdin=subprocess.DEVNULL).stderr
    expected = piped.count("WARNING: ")
    assert piped.count("WARNING: export ") >= 3 and piped.count("WARNING: skipped ") == 3, piped

    session = f"autofoley-{uuid.uuid4().hex[:8]}"
    done = tmp_path / "done"
    script = tmp_path / "run.sh"
    script.write_text(" ".join(f"'{c}'" for c in cmd) + f"; touch '{done}'; sleep 600\n")
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "50",
                    f"bash '{script}'"], check=True, timeout=60, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 600
        while not done.exists():
            assert time.monotonic() < deadline, "the run did not finish"
            time.sleep(0.5)
        screen = subprocess.run(["tmux", "capture-pane", "-p", "-S", "-", "-t", session],
                                capture_output=True, text=True, timeout=60,
                                stdin=subprocess.DEVNULL).stdout
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], timeout=60,
                       stdin=subprocess.DEVNULL)
    assert screen.count("WARNING: ") == expected, screen
    # One row per stage: no stale copies of a bar, no stage named twice.
    assert screen.count("load model") == 1, screen
    assert screen.count("timeline") == 1, screen
