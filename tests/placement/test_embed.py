import subprocess

import numpy as np
import pytest

from autofoley.media.probe import probe
from autofoley.models.clip import load_clip
from autofoley.placement.embed import embed_film


@pytest.fixture(scope="module")
def film(tmp_path_factory):
    path = tmp_path_factory.mktemp("embed") / "film.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=160x90:rate=25:duration=2", "-pix_fmt", "yuv420p", str(path)],
                   check=True, timeout=300, stdin=subprocess.DEVNULL)
    return probe(path)


@pytest.mark.parametrize("fit", ["pad", "regions"])
def test_a_first_run_works_on_what_its_cache_gives_later_runs(film, fit, tmp_path, monkeypatch):
    # The cache holds float16; a first run that placed on float32 could put an
    # event on one side of a threshold and every later run on the other.
    monkeypatch.setenv("AUTOFOLEY_CACHE", str(tmp_path / "cache"))
    encoder = load_clip("autofoley-tiny", device="cpu")
    first = embed_film(film, encoder, 0.5, use_cache=True, fit=fit)
    again = embed_film(film, encoder, 0.5, use_cache=True, fit=fit)
    assert not first.cached and again.cached
    assert first.vectors.dtype == again.vectors.dtype == np.float32
    np.testing.assert_array_equal(first.vectors, again.vectors)
    # Without the cache the values are the same too.
    uncached = embed_film(film, encoder, 0.5, use_cache=False, fit=fit)
    np.testing.assert_array_equal(first.vectors, uncached.vectors)
