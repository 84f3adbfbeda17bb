"""The persistent audio index: incremental, kill-safe, and never stopped by a bad file."""

import contextlib
import os
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from synth import make_library

import autofoley.library.index_store as index_store
from autofoley.library.index_store import (
    IndexStore,
    build_audio_index,
    entry_key,
    split_scan,
)
from autofoley.library.scan import scan_library
from autofoley.library.text_index import build_index
from autofoley.media.audio import load_audio
from autofoley.models.clip import load_clip


class FakeAudioEncoder:
    """The agreed AudioEncoder interface: band energies of the first second,
    normalised. Counts what it embeds; ``fail_after`` batches it raises, as a
    process killed mid-build would stop."""

    identity = "fake-audio-v1"
    clip_identity = None
    embed_dim = 16
    sample_rate = 16000

    def __init__(self, fail_after: int | None = None):
        self.fail_after = fail_after
        self.batches = 0
        self.embedded = 0

    def encode(self, waveforms, batch_size=16):
        if self.fail_after is not None and self.batches >= self.fail_after:
            raise KeyboardInterrupt("killed")
        self.batches += 1
        self.embedded += len(waveforms)
        out = []
        for w in waveforms:
            assert w.ndim == 1 and w.dtype == np.float32
            spec = np.abs(np.fft.rfft(w[:self.sample_rate], n=self.sample_rate))
            bands = np.add.reduceat(spec, np.linspace(0, len(spec), self.embed_dim + 1).astype(int)[:-1])
            v = np.log1p(bands) + 1e-3
            out.append(v / np.linalg.norm(v))
        return np.array(out, np.float32)


def write_takes(path: Path, sr: int = 44100, bursts=((0.3, 0.8), (1.6, 2.0), (2.9, 3.5))) -> None:
    """A file of three takes separated by silence."""
    rng = np.random.default_rng(3)
    x = np.zeros(int(4.0 * sr), np.float32)
    for a, b in bursts:
        x[int(a * sr):int(b * sr)] = 0.4 * rng.standard_normal(int(b * sr) - int(a * sr))
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x, sr)


def consistent(folder: Path) -> None:
    """Every row points at a shard that exists and has that row."""
    db = sqlite3.connect(str(folder / "manifest.sqlite"))
    for shard, top in db.execute("SELECT shard, MAX(row) FROM vectors GROUP BY shard"):
        data = np.load(folder / "shards" / shard)
        assert len(data) > top
    db.close()


@pytest.fixture
def lib(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOFOLEY_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "lib"
    make_library(root)
    return root


def test_store_add_get_missing_compact(tmp_path):
    store = IndexStore(tmp_path / "ix", "model-a")
    meta = {"digest": "d", "offset": 0.0, "duration": 1.0}
    v = np.eye(4, dtype=np.float32)
    store.add(["a", "b"], [meta, meta], v[:2])
    store.add(["c"], [meta], v[2:3])
    assert store.missing(["a", "x", "c", "x"]) == ["x"]
    assert np.array_equal(store.get(["c", "a", "a"]), v[[2, 0, 0]])
    with pytest.raises(KeyError):
        store.get(["x"])
    # Another model's vectors in the same folder are apart.
    other = IndexStore(tmp_path / "ix", "model-b")
    assert other.missing(["a"]) == ["a"]
    other.add(["a"], [meta], v[3:4])
    (tmp_path / "ix" / "shards" / "orphan.npy").write_bytes(b"left by a kill")
    assert store.compact(live_keys=["a", "c"]) == 1
    assert store.count() == 2 and other.count() == 1
    assert np.array_equal(store.get(["a", "c"]), v[[0, 2]])
    assert np.array_equal(other.get(["a"]), v[3:4])
    assert not (tmp_path / "ix" / "shards" / "orphan.npy").exists()
    assert store.shard_count() == 2  # one per model
    consistent(tmp_path / "ix")
    store.close()
    other.close()


def test_incremental_build(lib, tmp_path):
    folder = tmp_path / "ix"
    enc = FakeAudioEncoder()
    first = build_audio_index(scan_library(lib), enc, store_dir=folder, batch_size=4)
    n = len(first.entries)
    assert n == len(scan_library(lib).entries) and enc.embedded == n == first.embedded
    assert first.vectors.shape == (n, 16) and first.vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(first.vectors, axis=1), 1, atol=1e-3)
    assert first.sentences[0].startswith("a photo of")

    enc = FakeAudioEncoder()
    again = build_audio_index(scan_library(lib), enc, store_dir=folder, batch_size=4)
    assert enc.embedded == 0 and again.embedded == 0
    assert np.allclose(again.vectors, first.vectors)

    write_takes(lib / "Impacts" / "IMPTHit_Three Hits_AF_Takes.wav")
    grown = build_audio_index(scan_library(lib), enc, store_dir=folder, batch_size=4)
    takes = [e for e in grown.entries if "Three Hits" in e.path.name]
    assert len(takes) == 3 and enc.embedded == 3
    # Each take starts at its onset (less the padding), the 0.3 s lead-in too.
    assert [e.offset for e in takes] == pytest.approx([0.29, 1.59, 2.89], abs=0.02)
    assert all(e.file_duration == pytest.approx(4.0) for e in takes)

    glass = next(p for p in lib.rglob("*.wav") if "Glass" in str(p))
    data, sr = sf.read(str(glass))
    sf.write(str(glass), data[::-1] * 0.5, sr, subtype="PCM_24")  # new content
    enc = FakeAudioEncoder()
    changed = build_audio_index(scan_library(lib), enc, store_dir=folder, batch_size=4)
    assert enc.embedded == 1
    i = [e.path for e in changed.entries].index(glass)
    assert not np.allclose(changed.vectors[i], grown.vectors[[e.path for e in grown.entries].index(glass)])

    os.remove(lib / "Metal" / "metal_clang-02.wav")
    fewer = build_audio_index(scan_library(lib), FakeAudioEncoder(), store_dir=folder)
    assert len(fewer.entries) == len(changed.entries) - 1
    with IndexStore(folder, enc.identity) as store:
        before = store.count()
        live = [entry_key(store.digest(e.path), e.offset, e.duration) for e in fewer.entries]
        assert store.compact(live) == before - len(fewer.entries) == 2  # old glass and the clang
    consistent(folder)
    again = build_audio_index(scan_library(lib), enc, store_dir=folder)
    assert np.allclose(again.vectors, fewer.vectors, atol=1e-3)


class HearingAudioEncoder(FakeAudioEncoder):
    """FakeAudioEncoder that also gives each sound a "backbone" embedding:
    its vector reversed and squared, so the two differ."""

    identity = "fake-audio-hearing-v1"

    def encode_with_sound(self, waveforms, batch_size=16):
        vectors = self.encode(waveforms, batch_size)
        return vectors, vectors[:, ::-1] ** 2


def test_backbone_embeddings_are_kept_beside_the_vectors(lib, tmp_path):
    folder = tmp_path / "ix"
    # A store written by an encoder of the same identity before the sounds
    # were kept: only vectors.
    old = FakeAudioEncoder()
    old.identity = HearingAudioEncoder.identity
    plain = build_audio_index(scan_library(lib), old, store_dir=folder, sounds=True)
    assert plain.sounds is None  # the encoder gives none
    n = len(plain.entries)

    enc = HearingAudioEncoder()
    built = build_audio_index(scan_library(lib), enc, store_dir=folder, sounds=True)
    assert enc.embedded == n  # embedded once more, for the sounds
    assert built.sounds.shape == (n, 16) and built.sounds.dtype == np.float16
    expected = built.vectors[:, ::-1] ** 2
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    assert np.allclose(built.sounds, expected, atol=2e-3)
    assert not np.allclose(built.sounds, built.vectors, atol=0.05)

    enc = HearingAudioEncoder()
    again = build_audio_index(scan_library(lib), enc, store_dir=folder, sounds=True)
    assert enc.embedded == 0 and np.array_equal(again.sounds, built.sounds)
    # Read back only when asked for: a fully tagged library never needs them.
    assert build_audio_index(scan_library(lib), enc, store_dir=folder).sounds is None
    consistent(folder)


def test_default_folder_and_no_cache(lib, tmp_path):
    built = build_audio_index(scan_library(lib), FakeAudioEncoder())
    assert built.folder is not None and built.folder.is_relative_to(tmp_path / "cache")
    assert (built.folder / "manifest.sqlite").exists()
    enc = FakeAudioEncoder()
    build_audio_index(scan_library(lib), enc, use_cache=False)
    assert enc.embedded == len(built.entries)


def test_kill_mid_build_resumes(lib, tmp_path):
    folder = tmp_path / "ix"
    scan = scan_library(lib)
    with pytest.raises(KeyboardInterrupt):
        build_audio_index(scan, FakeAudioEncoder(fail_after=2), store_dir=folder, batch_size=2)
    consistent(folder)
    with IndexStore(folder, FakeAudioEncoder.identity) as store:
        assert store.count() == 4  # two committed batches

    # Killed after a batch's shard is in place but before its rows commit.
    real = index_store.atomic_path

    @contextlib.contextmanager
    def dies_after_rename(dest, suffix=None):
        with real(dest, suffix) as tmp:
            yield tmp
        raise KeyboardInterrupt("killed before commit")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(index_store, "atomic_path", dies_after_rename)
        with pytest.raises(KeyboardInterrupt):
            build_audio_index(scan, FakeAudioEncoder(), store_dir=folder, batch_size=2)
    consistent(folder)
    with IndexStore(folder, FakeAudioEncoder.identity) as store:
        assert store.count() == 4 and store.shard_count() == 3  # one orphan shard

    enc = FakeAudioEncoder()
    done = build_audio_index(scan, enc, store_dir=folder, batch_size=2)
    assert enc.embedded == len(done.entries) - 4
    consistent(folder)
    with IndexStore(folder, enc.identity) as store:
        store.compact()
        assert store.shard_count() == 1
    consistent(folder)
    assert np.allclose(build_audio_index(scan, enc, store_dir=folder).vectors, done.vectors)


def test_bad_inputs_are_skipped_with_a_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOFOLEY_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "lib"
    root.mkdir()
    rng = np.random.default_rng(5)

    def burst(sr, channels=1, seconds=1.0):
        x = np.zeros((int(seconds * sr), channels), np.float32)
        x[int(0.2 * sr):int(0.6 * sr)] = 0.3 * rng.standard_normal((int(0.6 * sr) - int(0.2 * sr), channels))
        return x

    (root / "corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk" * 10)
    (root / "empty.wav").write_bytes(b"")
    sf.write(str(root / "silent.wav"), np.zeros(8000, np.float32), 8000)
    sf.write(str(root / "rate8k.wav"), burst(8000), 8000)
    sf.write(str(root / "rate192k.wav"), burst(192000), 192000, subtype="PCM_24")
    sf.write(str(root / "six_channels.wav"), burst(48000, 6), 48000)
    sf.write(str(root / "float32.wav"), burst(44100, 2), 44100, subtype="FLOAT")
    sf.write(str(root / "unreadable.wav"), burst(44100), 44100)
    # An hour at 8 kHz: silence with one burst in the middle, written in pieces.
    with sf.SoundFile(str(root / "long.wav"), "w", 8000, 1, "PCM_16") as f:
        for minute in range(60):
            block = np.zeros(8000 * 60, np.float32)
            if minute == 30:
                block[:8000] = 0.3 * rng.standard_normal(8000)
            f.write(block)
    (root / "sub").mkdir()
    os.symlink(root, root / "sub" / "loop")  # a folder link back to the root

    def load(path, sr=48000, offset=0.0, duration=None):
        if Path(path).name == "unreadable.wav":
            raise PermissionError(13, "Permission denied", str(path))
        return load_audio(path, sr, offset, duration)

    scan = scan_library(root)
    built = build_audio_index(scan, FakeAudioEncoder(), store_dir=tmp_path / "ix", load=load)
    indexed = {e.path.name for e in built.entries}
    assert indexed == {"rate8k.wav", "rate192k.wav", "six_channels.wav", "float32.wav", "long.wav"}
    long_entry = next(e for e in built.entries if e.path.name == "long.wav")
    assert long_entry.offset == 0 and long_entry.duration == pytest.approx(3600)  # not split
    reasons = {p.name: r for p, r in scan.skipped + built.skipped}
    assert set(reasons) == {"corrupt.wav", "empty.wav", "silent.wav", "unreadable.wav"}
    assert all(reasons.values())
    assert "Permission denied" in reasons["unreadable.wav"]
    assert reasons["silent.wav"].startswith("silent")
    # The symlinked root is not scanned twice.
    assert len(scan.entries) == len({e.path.resolve() for e in scan.entries})


def test_text_index_of_takes(lib, tmp_path):
    write_takes(lib / "Impacts" / "IMPTHit_Three Hits_AF_Takes.wav")
    scan = split_scan(scan_library(lib))
    takes = [i for i, e in enumerate(scan.entries) if "Three Hits" in e.path.name]
    assert len(takes) == 3
    index = build_index(scan, load_clip("autofoley-tiny", device="cpu"))
    assert len(index.entries) == len(scan.entries)
    assert len({index.entries[i].key for i in takes}) == 3
    assert np.allclose(index.vectors[takes], index.vectors[takes[0]])
    # Split results are cached by content: a copy is not decoded again.
    shutil.copy(lib / "Impacts" / "IMPTHit_Three Hits_AF_Takes.wav", lib / "copy.wav")

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again")

    scan2 = scan_library(lib)
    known = [e for e in scan2.entries if e.path.name != "copy.wav"]
    again = split_scan(type(scan2)(scan2.root, known, []), load=no_decoding)
    assert [e.key for e in again.entries] == [e.key for e in scan.entries]
