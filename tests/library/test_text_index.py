"""The zero-shot library index: sentences embedded once per model, and only
new sentences embedded when the library grows."""

import shutil

import numpy as np
from synth import make_library

from autofoley.library.scan import scan_library
from autofoley.library.text_index import build_index
from autofoley.models.clip import load_clip


class CountingEncoder:
    """Wraps a ClipEncoder and counts the sentences it embeds."""

    def __init__(self, encoder):
        self._e = encoder
        self.embedded: list[str] = []

    def __getattr__(self, name):
        return getattr(self._e, name)

    def encode_texts(self, texts, batch_size=256):
        self.embedded += list(texts)
        return self._e.encode_texts(texts, batch_size)


def test_incremental_text_embeddings(tmp_path, monkeypatch):
    # A private cache: sentences embedded by other tests must not count as cached here.
    monkeypatch.setenv("AUTOFOLEY_CACHE", str(tmp_path / "cache"))
    lib = tmp_path / "lib"
    make_library(lib)
    enc = CountingEncoder(load_clip("autofoley-tiny", device="cpu"))
    first = build_index(scan_library(lib), enc)
    n = len(enc.embedded)
    assert n == len(set(first.sentences)) and n > 0
    assert np.allclose(np.linalg.norm(first.vectors, axis=1), 1, atol=1e-5)

    again = build_index(scan_library(lib), enc)
    assert len(enc.embedded) == n  # nothing new to embed
    assert np.allclose(again.vectors, first.vectors)

    src = next(p for p in lib.rglob("*.wav") if "Glass" in str(p))
    shutil.copy(src, lib / "Glass" / "GLASBrk_Window Pane Crash_AF_New.wav")
    grown = build_index(scan_library(lib), enc)
    assert len(grown.entries) == len(first.entries) + 1
    assert len(enc.embedded) == n + 1 and "window pane crash" in enc.embedded[-1]


def test_kinds_split_sfx_and_ambience(tmp_path):
    lib = tmp_path / "lib"
    expected = make_library(lib)
    index = build_index(scan_library(lib), load_clip("autofoley-tiny", device="cpu"))
    amb = {str(index.entries[i].path) for i in index.of_kind("ambience")}
    assert amb == {str(p) for p, v in expected.items() if v["kind"] == "ambience"}
    assert len(index.of_kind("sfx")) + len(amb) == len(index.entries)
