"""Scene detection on lavfi films with known cuts."""

import subprocess

import pytest

import autofoley.placement.scenes as scenes_module
from autofoley.placement.scenes import detect_scenes, scenes_from_cuts


def _film_with_cuts(path, parts):
    """Concatenate lavfi sources of the given (source, seconds) at 25 fps."""
    args = ["ffmpeg", "-v", "error", "-y"]
    for src, sec in parts:
        sep = ":" if "=" in src else "="
        args += ["-f", "lavfi", "-i", f"{src}{sep}size=320x180:rate=25:duration={sec}"]
    n = len(parts)
    chain = "".join(f"[{i}:v]setsar=1,format=yuv420p[v{i}];" for i in range(n))
    chain += "".join(f"[v{i}]" for i in range(n)) + f"concat=n={n}:v=1[out]"
    args += ["-filter_complex", chain, "-map", "[out]", "-c:v", "libx264", "-pix_fmt", "yuv420p",
             str(path)]
    subprocess.run(args, check=True, timeout=300, stdin=subprocess.DEVNULL)


def _lavfi_film(path, sources, chain):
    """A film from lavfi ``sources`` through the filter ``chain`` (ending in [out])."""
    args = ["ffmpeg", "-v", "error", "-y"]
    for src in sources:
        args += ["-f", "lavfi", "-i", src]
    args += ["-filter_complex", chain, "-map", "[out]", "-c:v", "libx264", "-pix_fmt", "yuv420p",
             str(path)]
    subprocess.run(args, check=True, timeout=300, stdin=subprocess.DEVNULL)


def _dissolve(path, first, second, seconds, each):
    """``first`` dissolving into ``second`` (lavfi sources of ``each`` seconds) from 2 s on."""
    size = f"size=320x180:rate=25:duration={each}"
    _lavfi_film(path, [f"{src}{':' if '=' in src else '='}{size}" for src in (first, second)],
                "[0:v]format=yuv420p[a];[1:v]format=yuv420p[b];"
                f"[a][b]xfade=transition=fade:duration={seconds}:offset=2[out]")


def test_hard_cuts_found_on_the_frame(tmp_path):
    film = tmp_path / "cuts.mp4"
    _film_with_cuts(film, [("testsrc2", 2), ("color=c=red", 1.6), ("smptebars", 2),
                           ("color=c=blue", 1.4)])
    scenes = detect_scenes(film, 7.0)
    starts = [round(s.start, 2) for s in scenes]
    assert starts == [0.0, 2.0, 3.6, 5.6]
    assert scenes[-1].end == 7.0
    assert all(a.end == b.start for a, b in zip(scenes, scenes[1:]))


def test_no_cut_is_one_scene(tmp_path):
    film = tmp_path / "one.mp4"
    _film_with_cuts(film, [("testsrc2", 3)])
    scenes = detect_scenes(film, 3.0)
    assert len(scenes) == 1 and (scenes[0].start, scenes[0].end) == (0.0, 3.0)


def test_min_scene_len_suppresses_short_scenes(tmp_path):
    film = tmp_path / "flash.mp4"
    _film_with_cuts(film, [("testsrc2", 2), ("color=c=white", 0.2), ("testsrc2", 2)])
    assert len(detect_scenes(film, 4.2, min_scene_len=1.0)) < len(detect_scenes(film, 4.2,
                                                                                min_scene_len=0.04))


def test_scenes_from_cuts_drops_out_of_range():
    s = scenes_from_cuts([0.0, 1.5, 9.0, 12.0], 10.0)
    assert [(x.start, x.end) for x in s] == [(0.0, 1.5), (1.5, 9.0), (9.0, 10.0)]
    assert [x.index for x in s] == [0, 1, 2]


def test_dissolve_found_by_the_gradual_pass(tmp_path):
    film = tmp_path / "dissolve.mp4"
    _dissolve(film, "testsrc2", "color=c=red", 1.2, 4)
    assert len(detect_scenes(film, 6.0, gradual_window=0)) == 1  # frame to frame: no cut
    scenes = detect_scenes(film, 6.0)
    assert len(scenes) == 2 and abs(scenes[1].start - 2.6) <= 0.5


def test_cuts_are_cached_by_film_and_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOFOLEY_CACHE", str(tmp_path / "cache"))
    film = tmp_path / "cuts.mp4"
    _film_with_cuts(film, [("testsrc2", 2), ("color=c=red", 2)])
    first = detect_scenes(film, 4.0, use_cache=True)
    assert [s.start for s in first] == [0.0, 2.0]

    def no_decoding(*a, **k):
        raise AssertionError("the film was read again")

    monkeypatch.setattr(scenes_module, "_cuts", no_decoding)
    assert detect_scenes(film, 4.0, use_cache=True) == first
    with pytest.raises(AssertionError, match="read again"):  # other settings: detected anew
        detect_scenes(film, 4.0, threshold=40.0, use_cache=True)
    with pytest.raises(AssertionError, match="read again"):  # the cache is off by default
        detect_scenes(film, 4.0)


@pytest.mark.parametrize("seconds", [1.6, 2.5])
def test_a_long_dissolve_is_one_cut_at_its_middle(tmp_path, monkeypatch, seconds):
    # Frames 0.5 s apart change by under a third of a long dissolve: the
    # gradual pass misses it; the sliding long-window pass finds it, once.
    film = tmp_path / "long.mp4"
    # One hue, another saturation and value: a change the HSV score sees in
    # proportion to the mix, and about a third of a hard cut's (47 against 27).
    _dissolve(film, "color=c=0x4060a0", "color=c=0xa0b0d0", seconds, 5)
    duration = 10.0 - seconds  # xfade: both 5 s inputs, overlapping by the dissolve
    scenes = detect_scenes(film, duration)
    assert len(scenes) == 2 and abs(scenes[1].start - (2 + seconds / 2)) <= 0.25
    monkeypatch.setattr(scenes_module, "_dissolve_cuts", lambda *a, **k: [])
    assert len(detect_scenes(film, duration)) == 1  # the other passes alone: no cut


def test_a_slow_pan_is_not_a_dissolve(tmp_path):
    # Frames 1-2 s apart in a pan over a busy picture differ as much as a
    # dissolve's; its middle frame is not their mean, so no cut.
    film = tmp_path / "pan.mp4"
    _lavfi_film(film, ["testsrc2=size=640x180:rate=25:duration=10",
                       "smptebars=size=640x180:rate=25:duration=10"],
                "[0][1]hstack=inputs=2,crop=320:180:'min(960,max(0,(t-1)*40))':0,format=yuv420p[out]")
    assert len(detect_scenes(film, 10.0)) == 1
