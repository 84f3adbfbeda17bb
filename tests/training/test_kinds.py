"""The LLM's kind votes are user data: kept in the data folder, applied by
every later scan (with or without caches), lost neither when the cache is
deleted nor on upgrade from the cache-based store; stale once a file changes."""

from __future__ import annotations

import json
import shutil
import time

import numpy as np
import pytest
import soundfile as sf

from autofoley.cache import cache_root, text_digest
from autofoley.library.kinds import data_root, store_path, voted_kinds
from autofoley.library.scan import scan_library
from autofoley.training.llm import save_llm_kinds


@pytest.fixture(autouse=True)
def private(monkeypatch, tmp_path):
    monkeypatch.setenv("AUTOFOLEY_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("AUTOFOLEY_DATA", str(tmp_path / "data"))


def library(root, names=("dog.wav", "theme.wav")):
    root.mkdir()
    for name in names:
        sf.write(root / name, np.random.default_rng(0).normal(0, 0.1, 4800), 48000)
    return root


def test_votes_follow_file_content(tmp_path):
    lib = library(tmp_path / "lib")
    scan = scan_library(lib)
    keys = {e.path.name: e.key for e in scan.entries}
    path = save_llm_kinds(lib, scan.entries, {keys["dog.wav"]: "sfx", keys["theme.wav"]: "music"})
    assert path.parent.parent == tmp_path / "data" and path == store_path(lib)
    assert voted_kinds(scan) == {lib.resolve() / "dog.wav": "sfx", lib.resolve() / "theme.wav": "music"}
    # Same size, other content: the stale kind is dropped.
    time.sleep(0.01)
    sf.write(lib / "theme.wav", np.random.default_rng(1).normal(0, 0.1, 4800), 48000)
    assert voted_kinds(scan_library(lib)) == {lib.resolve() / "dog.wav": "sfx"}


def test_votes_survive_deleting_the_cache(tmp_path):
    lib = library(tmp_path / "lib")
    scan = scan_library(lib)
    save_llm_kinds(lib, scan.entries, {e.key: "music" for e in scan.entries})
    shutil.rmtree(tmp_path / "cache")
    assert {e.kind for e in scan_library(lib).entries} == {"music"}
    assert {e.kind for e in scan_library(lib, use_cache=False).entries} == {"music"}
    assert not (tmp_path / "cache" / "llm-kinds").exists()


def test_votes_kept_in_the_old_cache_store_move_to_the_data_folder(tmp_path):
    lib = library(tmp_path / "lib")
    scan = scan_library(lib)
    save_llm_kinds(lib, scan.entries, {e.key: "ambience" for e in scan.entries})
    legacy = cache_root() / "llm-kinds" / f"{text_digest(str(lib.resolve()))}.json"
    legacy.parent.mkdir(parents=True)
    store_path(lib).rename(legacy)
    assert {e.kind for e in scan_library(lib).entries} == {"ambience"}  # read, and copied over
    assert json.loads(store_path(lib).read_text())["files"].keys() == {"dog.wav", "theme.wav"}
    shutil.rmtree(tmp_path / "cache")
    assert {e.kind for e in scan_library(lib).entries} == {"ambience"}


def test_data_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("AUTOFOLEY_DATA")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert data_root() == tmp_path / "xdg" / "autofoley"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data_root() == tmp_path / "home" / ".local" / "share" / "autofoley"
