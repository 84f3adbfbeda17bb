"""Frame sampling: the frame on screen at each segment centre, exactly,
for constant and variable frame rates; rotation honoured; bad input."""

import subprocess

import numpy as np
import pytest

from autofoley.errors import InputError
from autofoley.media.frames import iter_frames, sample_times
from autofoley.media.probe import probe


def _numbered_film(path, n, rate, vf=None):
    """Frame i has red = 2*i (lossless ffv1, so values come back exact)."""
    frames = np.zeros((n, 32, 32, 3), np.uint8)
    frames[..., 0] = (np.arange(n) * 2 % 256)[:, None, None]
    args = ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "32x32",
            "-r", str(rate), "-i", "-"]
    if vf:
        args += ["-vf", vf, "-fps_mode", "vfr"]
    args += ["-c:v", "ffv1", "-pix_fmt", "bgr0", str(path)]
    subprocess.run(args, input=frames.tobytes(), check=True, timeout=300)


def _frame_numbers(path, step, duration):
    times, numbers = [], []
    for b in iter_frames(path, step=step, size=16, batch_size=7, duration=duration):
        times += b.times.tolist()
        numbers += (b.pixels[:, 8, 8, 0] // 2).tolist()
    return np.array(times), np.array(numbers)


def test_sample_times_are_segment_centres():
    assert np.allclose(sample_times(1.0, 0.1), np.arange(10) * 0.1 + 0.05)
    assert len(sample_times(1.04, 0.1)) == 11  # a partial last segment counts


def test_frame_on_screen_at_each_centre_cfr(tmp_path):
    film = tmp_path / "n.mkv"
    _numbered_film(film, 90, 30)
    times, numbers = _frame_numbers(film, 0.1, 3.0)
    assert len(times) == 30
    assert np.array_equal(numbers, np.floor(times * 30 + 1e-9).astype(int))


def test_frame_on_screen_at_each_centre_vfr(tmp_path):
    # Frames 30..59 keep only the even ones: 15 fps in the middle, 30 elsewhere.
    film = tmp_path / "vfr.mkv"
    _numbered_film(film, 90, 30, vf="select='not(between(n\\,30\\,59)*mod(n\\,2))'")
    kept = np.array([i for i in range(90) if not (30 <= i <= 59 and i % 2)])
    times, numbers = _frame_numbers(film, 0.1, 3.0)
    expect = [kept[kept <= np.floor(t * 30 + 1e-9)].max() for t in times]
    assert np.array_equal(numbers, expect)


def test_other_step(tmp_path):
    film = tmp_path / "n.mkv"
    _numbered_film(film, 60, 30)
    times, numbers = _frame_numbers(film, 0.25, 2.0)
    assert np.allclose(times, np.arange(8) * 0.25 + 0.125)
    assert np.array_equal(numbers, np.floor(times * 30).astype(int))


def test_rotation_metadata_is_applied(tmp_path):
    src = tmp_path / "flat.mp4"
    rot = tmp_path / "rot.mp4"
    # Left half red, right half blue, 64x32.
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "color=red:s=32x32:d=1,format=rgb24[a];color=blue:s=32x32:d=1,format=rgb24[b];"
                    "[a][b]hstack", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(src)], check=True,
                   timeout=300, stdin=subprocess.DEVNULL)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), "-c", "copy",
                    "-metadata:s:v:0", "rotate=90", str(rot)], check=True,
                   timeout=300, stdin=subprocess.DEVNULL)
    assert (probe(src).width, probe(src).height) == (64, 32)
    info = probe(rot)
    assert (info.width, info.height) == (32, 64) and info.rotation in (90, 270)
    flat = next(iter_frames(src, size=16, duration=1.0)).pixels[0].astype(int)
    turned = next(iter_frames(rot, size=16, duration=1.0)).pixels[0].astype(int)
    # Unrotated: colour changes across columns; rotated: across rows.
    assert abs(flat[8, 1] - flat[8, 14]).sum() > 200 and abs(flat[1, 8] - flat[14, 8]).sum() < 60
    assert abs(turned[1, 8] - turned[14, 8]).sum() > 200


def test_batches_bound_memory_and_pad_the_tail(tmp_path):
    film = tmp_path / "n.mkv"
    _numbered_film(film, 30, 30)  # 1 s of video
    batches = list(iter_frames(film, step=0.1, size=16, batch_size=4, duration=1.5))
    assert max(len(b.times) for b in batches) <= 4
    assert sum(len(b.times) for b in batches) == 15  # grid of the 1.5 s container
    numbers = np.concatenate([b.pixels[:, 8, 8, 0] // 2 for b in batches])
    assert numbers[9] == 28 and np.array_equal(numbers[10:], [28] * 5)  # last sample repeats


def test_not_a_video(tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("hello")
    with pytest.raises(InputError) as err:
        probe(bad)
    assert "notes.mp4" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(InputError):
        list(iter_frames(bad, duration=1.0))


def test_missing_film(tmp_path):
    with pytest.raises(InputError, match="not found"):
        probe(tmp_path / "nope.mp4")


def test_pad_keeps_the_whole_frame_crop_drops_the_sides(tmp_path):
    # 64x32: a red stripe at the far left, blue at the far right, grey between.
    film = tmp_path / "wide.mkv"
    img = np.full((32, 64, 3), 128, np.uint8)
    img[:, :6] = (255, 0, 0)
    img[:, -6:] = (0, 0, 255)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s",
                    "64x32", "-r", "10", "-i", "-", "-c:v", "ffv1", "-pix_fmt", "bgr0", str(film)],
                   input=np.repeat(img[None], 10, axis=0).tobytes(), check=True, timeout=300)
    crop = next(iter_frames(film, size=32, duration=1.0, fit="crop")).pixels[0].astype(int)
    pad = next(iter_frames(film, size=32, duration=1.0, fit="pad")).pixels[0].astype(int)
    assert crop[:, :, 0].max() < 200 and crop[:, :, 2].max() < 200  # sides cropped away
    assert pad[16, 1, 0] > 200 and pad[16, 30, 2] > 200  # both sides kept
    assert pad[1, 16].max() < 10 and pad[30, 16].max() < 10  # black bars top and bottom
