import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from synth import make_library, write_bwf

import autofoley.library.scan as library
from autofoley.errors import LibraryError
from autofoley.library.scan import scan_library, sentence_for
from autofoley.records import SoundEntry

SR = 8000


@pytest.fixture(autouse=True)
def _per_test_cache(tmp_path, monkeypatch):
    """A fresh scan cache per test, so cache counts start from nothing."""
    monkeypatch.setenv("AUTOFOLEY_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def audio_info_calls(monkeypatch):
    """Count the files the scanner opens, by wrapping audio_info."""
    calls: list[Path] = []
    real = library.audio_info

    def counting(path):
        calls.append(Path(path))
        return real(path)

    monkeypatch.setattr(library, "audio_info", counting)
    return calls


def tone(path: Path, seconds: float = 0.2, channels: int = 1, sr: int = SR) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(sr * seconds)) / sr
    data = np.repeat((0.3 * np.sin(2 * np.pi * 440 * t))[:, None], channels, axis=1)
    sf.write(str(path), data, sr, subtype="PCM_16")
    return path


def by_name(scan) -> dict[str, SoundEntry]:
    return {e.path.name: e for e in scan.entries}


# --------------------------------------------------------------------------- the synthetic library

def test_scans_synthetic_library(tmp_path):
    expected = make_library(tmp_path / "lib")
    scan = scan_library(tmp_path / "lib")
    assert scan.root == (tmp_path / "lib").resolve()
    assert scan.skipped == []
    assert {e.path for e in scan.entries} == set(expected)
    assert [e.path for e in scan.entries] == sorted(e.path for e in scan.entries)
    for entry in scan.entries:
        want = expected[entry.path]
        assert entry.path.is_absolute()
        assert (entry.category, entry.kind) == (want["category"], want["kind"]), entry.path.name
        assert (entry.sample_rate, entry.channels) == (want["sample_rate"], want["channels"])
        assert entry.duration == pytest.approx(want["duration"], abs=0.01)
        assert entry.offset == 0.0 and entry.file_duration == entry.duration
        assert want["word"] in entry.description.lower(), (entry.path.name, entry.description)


def test_synthetic_library_without_rate_variants_is_all_48k(tmp_path):
    expected = make_library(tmp_path / "lib", sr_variants=False)
    assert {v["sample_rate"] for v in expected.values()} == {48000}
    assert {e.sample_rate for e in scan_library(tmp_path / "lib").entries} == {48000}


def test_metadata_sources_in_priority_order(tmp_path):
    make_library(tmp_path / "lib")
    entries = by_name(scan_library(tmp_path / "lib"))
    glass = entries["GLASBrk_Bottle Smash Concrete_AF_SynthFX.wav"]
    assert glass.description == "glass, bottle, smash, shatter"  # CSV beats the UCS name
    assert glass.cat_id == "GLASBrk"
    door = entries["DOORWood_Door Knock Three Times_AF_SynthFX.wav"]
    assert door.description.startswith("Knuckles knocking")  # bext beats the UCS name
    assert door.category == "DOORS"
    dog = entries["ANMLDog_Dog Bark Medium_AF_SynthFX.flac"]
    assert dog.description.startswith("Dog Bark Medium")  # UCS FXName
    assert entries["metal_clang-02.wav"].description == "metal clang 02"  # stem
    traffic = entries["City Traffic Rumble.wav"]
    assert traffic.kind == "ambience" and traffic.category == "AMBIENCE" and traffic.cat_id == ""


# --------------------------------------------------------------------------- CSV sidecar

def test_csv_headers_paths_and_tags(tmp_path):
    root = tmp_path / "lib"
    tone(root / "Impacts" / "hit_a.wav")
    tone(root / "Impacts" / "hit_b.wav")
    tone(root / "Other" / "HIT_C.wav")
    (root / "metadata.csv").write_text(
        "FileName,Keywords,CATEGORY,Type\n"
        f"{root / 'Impacts' / 'hit_a.wav'},punch; face; punch,fight,sfx\n"  # absolute path
        "Impacts/hit_b.wav,\"wood, crate; smash\",,\n"  # relative path, quoted commas
        "hit_c.wav,bell; ring,,\n",  # bare name, other case
        encoding="utf-8")
    entries = by_name(scan_library(root))
    assert entries["hit_a.wav"].description == "punch, face"
    assert entries["hit_a.wav"].category == "FIGHT"
    assert entries["hit_b.wav"].description == "wood, crate, smash"
    assert entries["hit_b.wav"].category == "IMPACTS"  # no CSV category: first folder
    assert entries["HIT_C.wav"].description == "bell, ring"


def test_csv_beats_bext_and_bext_beats_ucs_name(tmp_path):
    root = tmp_path / "lib"
    root.mkdir()
    data = np.zeros((SR // 5, 1)) + 0.1
    write_bwf(root / "DOORWood_Door Slam_AB_Lib.wav", data, SR, "Heavy oak door slam")
    write_bwf(root / "DOORMetl_Gate Clank_AB_Lib.wav", data, SR, "Iron gate clanks shut")
    (root / "library.csv").write_text("file,tags\nDOORWood_Door Slam_AB_Lib.wav,door; slam; oak\n")
    entries = by_name(scan_library(root))
    assert entries["DOORWood_Door Slam_AB_Lib.wav"].description == "door, slam, oak"
    assert entries["DOORMetl_Gate Clank_AB_Lib.wav"].description == "Iron gate clanks shut"


def test_csv_description_and_tags_are_combined(tmp_path):
    root = tmp_path / "lib"
    tone(root / "x.wav")
    (root / "library.csv").write_text("path,description,tags\nx.wav,A heavy door slams,door; slam\n")
    assert scan_library(root).entries[0].description == "A heavy door slams, door, slam"


def test_semicolon_separated_csv(tmp_path):
    root = tmp_path / "lib"
    tone(root / "x.wav")
    (root / "library.csv").write_text("Path;Description;Kind\nx.wav;Rain on a tin roof;ambiance\n")
    entry = scan_library(root).entries[0]
    assert (entry.description, entry.kind) == ("Rain on a tin roof", "ambience")


def test_csv_kind_overrides_folder_keyword(tmp_path):
    root = tmp_path / "lib"
    tone(root / "Ambience" / "car_pass.wav")
    tone(root / "Ambience" / "wind.wav")
    (root / "library.csv").write_text("file,kind\ncar_pass.wav,SFX\nwind.wav,whatever\n")
    entries = by_name(scan_library(root))
    assert entries["car_pass.wav"].kind == "sfx"
    assert entries["wind.wav"].kind == "ambience"  # unknown value: falls through to the folder


def test_llm_voted_kinds_apply_below_the_csv(tmp_path):
    from autofoley.training.llm import save_llm_kinds

    root = tmp_path / "lib"
    for name in ("rain_loop.wav", "jingle.wav", "door.wav", "hum.wav"):
        tone(root / "Misc" / name)
    (root / "library.csv").write_text("file,kind\nhum.wav,sfx\n")
    scan = scan_library(root)
    assert {e.kind for e in scan.entries} == {"sfx"}
    votes = {e.key: kind for e in scan.entries for name, kind in
             (("rain_loop.wav", "ambience"), ("jingle.wav", "music"), ("hum.wav", "ambience"))
             if e.path.name == name}
    save_llm_kinds(root, scan.entries, votes)
    entries = by_name(scan_library(root))
    assert entries["rain_loop.wav"].kind == "ambience"
    assert entries["jingle.wav"].kind == "music"  # kept, but never placed as SFX or bed
    assert entries["door.wav"].kind == "sfx"  # no vote
    assert entries["hum.wav"].kind == "sfx"  # the CSV's word beats the vote
    # A vote is for the file as it was: once the file changes, it no longer applies.
    tone(root / "Misc" / "rain_loop.wav", seconds=0.3)
    assert by_name(scan_library(root))["rain_loop.wav"].kind == "sfx"


def test_csv_row_for_a_missing_file_is_reported_once(tmp_path):
    root = tmp_path / "lib"
    tone(root / "x.wav")
    (root / "library.csv").write_text("file,tags\nx.wav,boom\ngone.wav,lost\n")
    scan = scan_library(root)
    assert [e.description for e in scan.entries] == ["boom"]
    reported = [(p, r) for p, r in scan.skipped if p.name == "gone.wav"]
    assert len(reported) == 1 and "library.csv" in reported[0][1]
    assert len(scan.skipped) == 1


def test_csv_row_for_a_broken_file_is_not_called_missing(tmp_path):
    root = tmp_path / "lib"
    tone(root / "x.wav")
    (root / "bad.wav").write_text("not audio")
    (root / "library.csv").write_text("file,tags\nbad.wav,boom\n")
    scan = scan_library(root)
    assert [p.name for p, _ in scan.skipped] == ["bad.wav"]
    assert "library.csv" not in scan.skipped[0][1]


def test_explicit_csv_path_and_its_errors(tmp_path):
    root = tmp_path / "lib"
    tone(root / "x.wav")
    sidecar = tmp_path / "elsewhere.csv"
    sidecar.write_text("filename,description\nx.wav,squeaky hinge\n")
    assert scan_library(root, csv_path=sidecar).entries[0].description == "squeaky hinge"
    with pytest.raises(LibraryError, match="CSV not found"):
        scan_library(root, csv_path=tmp_path / "nope.csv")
    sidecar.write_text("name,description\nx.wav,squeaky hinge\n")
    with pytest.raises(LibraryError, match="no path, file or filename column"):
        scan_library(root, csv_path=sidecar)


def test_default_sidecar_names_in_order(tmp_path):
    root = tmp_path / "lib"
    tone(root / "x.wav")
    (root / "autofoley.csv").write_text("file,description\nx.wav,third\n")
    assert scan_library(root).entries[0].description == "third"
    (root / "metadata.csv").write_text("file,description\nx.wav,second\n")
    assert scan_library(root).entries[0].description == "second"
    (root / "library.csv").write_text("file,description\nx.wav,first\n")
    assert scan_library(root).entries[0].description == "first"


# --------------------------------------------------------------------------- names, folders, kinds

@pytest.mark.parametrize("rel, kind", [
    ("Atmospheres/forest.wav", "ambience"),
    ("Room Tone/office.wav", "ambience"),
    ("CityAmbience/night.wav", "ambience"),
    ("AMB/market.wav", "ambience"),
    ("Backgrounds/school.wav", "ambience"),
    ("Loops/office_roomtone.wav", "ambience"),
    ("Misc/rain atmos 02.wav", "ambience"),
    ("Ambulance/siren.wav", "sfx"),
    ("Lamb/bleat.wav", "sfx"),
    ("Impacts/gamble chips.wav", "sfx"),
    ("AMBUrbn_Street Night_AB_Lib.wav", "ambience"),
])
def test_kind_from_names(tmp_path, rel, kind):
    root = tmp_path / "lib"
    tone(root / rel)
    assert scan_library(root).entries[0].kind == kind


def test_kind_from_embedded_description(tmp_path):
    root = tmp_path / "lib"
    root.mkdir()
    data = np.zeros((SR // 5, 1)) + 0.1
    write_bwf(root / "rain.wav", data, SR, "Rain on window, background")
    write_bwf(root / "hit.wav", data, SR, "Metal pipe hit")
    entries = by_name(scan_library(root))
    assert entries["rain.wav"].kind == "ambience"
    assert entries["hit.wav"].kind == "sfx"


def test_category_and_description_from_folders(tmp_path):
    root = tmp_path / "lib"
    tone(root / "Doors" / "Wood" / "slam_03.wav")
    tone(root / "SFX" / "boom.wav")
    tone(root / "DoorSlamHeavy01.wav")
    entries = by_name(scan_library(root))
    slam = entries["slam_03.wav"]
    assert slam.category == "DOORS"
    assert slam.description == "slam 03, Doors, Wood"
    assert entries["boom.wav"].description == "boom"  # generic folder names add nothing
    assert entries["DoorSlamHeavy01.wav"].category == "UNCATEGORIZED"
    assert entries["DoorSlamHeavy01.wav"].description == "Door Slam Heavy 01"


def test_hidden_files_and_folders_are_ignored(tmp_path):
    root = tmp_path / "lib"
    tone(root / "x.wav")
    tone(root / ".trash" / "old.wav")
    tone(root / "._x.wav")
    (root / "notes.txt").write_text("not a sound")
    scan = scan_library(root)
    assert [e.path.name for e in scan.entries] == ["x.wav"]
    assert scan.skipped == []


def test_upper_case_extensions_are_found(tmp_path):
    root = tmp_path / "lib"
    tone(root / "SHOUT.WAV")
    assert [e.path.name for e in scan_library(root).entries] == ["SHOUT.WAV"]


# --------------------------------------------------------------------------- broken files

def test_broken_files_are_skipped_with_reasons(tmp_path):
    root = tmp_path / "lib"
    tone(root / "good.wav")
    (root / "zero.wav").write_bytes(b"")
    (root / "text.wav").write_text("this is a text file, not audio\n" * 10)
    scan = scan_library(root)
    assert [e.path.name for e in scan.entries] == ["good.wav"]
    reasons = {p.name: r for p, r in scan.skipped}
    assert set(reasons) == {"zero.wav", "text.wav"}
    assert "empty" in reasons["zero.wav"]
    assert "decoded" in reasons["text.wav"]
    assert all("\n" not in r and r for r in reasons.values())


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="running as root: chmod 000 does not stop root from reading "
                           "(the permission path is covered by the simulated test)")
def test_unreadable_file_is_skipped(tmp_path):
    root = tmp_path / "lib"
    tone(root / "good.wav")
    locked = tone(root / "locked.wav")
    locked.chmod(0)
    try:
        scan = scan_library(root)
    finally:
        locked.chmod(0o644)
    assert [e.path.name for e in scan.entries] == ["good.wav"]
    assert [(p.name, "permission" in r) for p, r in scan.skipped] == [("locked.wav", True)]


def test_unreadable_file_simulated_and_not_cached(tmp_path, monkeypatch, audio_info_calls):
    root = tmp_path / "lib"
    tone(root / "good.wav")
    locked = tone(root / "locked.wav")
    real_access = os.access
    monkeypatch.setattr(library.os, "access",
                        lambda p, mode: False if Path(p) == locked else real_access(p, mode))
    scan = scan_library(root)
    assert [(p.name, "permission" in r) for p, r in scan.skipped] == [("locked.wav", True)]
    assert locked not in audio_info_calls
    monkeypatch.setattr(library.os, "access", real_access)  # permissions fixed, file untouched
    scan = scan_library(root)
    assert sorted(e.path.name for e in scan.entries) == ["good.wav", "locked.wav"]


def test_broken_symlink_is_reported(tmp_path):
    root = tmp_path / "lib"
    tone(root / "good.wav")
    (root / "dangling.wav").symlink_to(root / "nowhere.wav")
    scan = scan_library(root)
    assert [(p.name, r) for p, r in scan.skipped] == [("dangling.wav", "broken symbolic link")]


def test_symlink_loops_do_not_hang(tmp_path):
    root = tmp_path / "lib"
    tone(root / "Doors" / "door.wav")
    outside = tone(tmp_path / "external" / "thunder.wav").parent
    (root / "Doors" / "loop").symlink_to(root, target_is_directory=True)
    (root / "self").symlink_to(".", target_is_directory=True)
    (root / "External").symlink_to(outside, target_is_directory=True)
    (root / "External2").symlink_to(outside, target_is_directory=True)
    result = {}
    worker = threading.Thread(target=lambda: result.update(scan=scan_library(root)), daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "scan_library did not finish: symlink loop"
    names = sorted(e.path.name for e in result["scan"].entries)
    assert names == ["door.wav", "thunder.wav"]  # each real folder entered once


# --------------------------------------------------------------------------- cache

def test_rescan_reuses_cache_for_unchanged_files(tmp_path, audio_info_calls):
    expected = make_library(tmp_path / "lib")
    (tmp_path / "lib" / "broken.wav").write_text("not audio")
    first = scan_library(tmp_path / "lib")
    assert len(audio_info_calls) == len(expected) + 1
    audio_info_calls.clear()
    second = scan_library(tmp_path / "lib")
    assert audio_info_calls == []
    assert second.entries == first.entries
    assert second.skipped == first.skipped


def test_touched_or_changed_files_are_read_again(tmp_path, audio_info_calls):
    root = tmp_path / "lib"
    a = tone(root / "a.wav", seconds=0.2)
    b = tone(root / "b.wav", seconds=0.2)
    scan_library(root)
    audio_info_calls.clear()
    st = a.stat()
    os.utime(a, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
    scan_library(root)
    assert audio_info_calls == [a]
    audio_info_calls.clear()
    tone(b, seconds=0.5)  # new content, new size
    scan = scan_library(root)
    assert audio_info_calls == [b]
    assert by_name(scan)["b.wav"].duration == pytest.approx(0.5)


def test_cache_holds_embedded_description(tmp_path, monkeypatch):
    root = tmp_path / "lib"
    root.mkdir()
    write_bwf(root / "door.wav", np.zeros((SR // 5, 1)) + 0.1, SR, "Creaky door opens")
    scan_library(root)

    def fail(path):
        raise AssertionError("should come from the cache")

    monkeypatch.setattr(library, "read_bext_description", fail)
    assert scan_library(root).entries[0].description == "Creaky door opens"


def test_csv_change_updates_descriptions_without_reopening_files(tmp_path, audio_info_calls):
    root = tmp_path / "lib"
    tone(root / "x.wav")
    sidecar = root / "library.csv"
    sidecar.write_text("file,tags\nx.wav,old tag\n")
    assert scan_library(root).entries[0].description == "old tag"
    audio_info_calls.clear()
    sidecar.write_text("file,tags\nx.wav,new tag\n")
    assert scan_library(root).entries[0].description == "new tag"
    assert audio_info_calls == []


def test_use_cache_false_reads_every_file(tmp_path, audio_info_calls):
    root = tmp_path / "lib"
    tone(root / "x.wav")
    scan_library(root, use_cache=False)
    scan_library(root, use_cache=False)
    assert len(audio_info_calls) == 2
    assert not list((tmp_path / "cache").rglob("*.json"))


def test_corrupt_cache_is_ignored_and_replaced(tmp_path, audio_info_calls):
    root = tmp_path / "lib"
    tone(root / "x.wav")
    scan_library(root)
    [cache_file] = (tmp_path / "cache" / "library").glob("*.json")
    for junk in ("{ not json", "[1, 2]", json.dumps({"version": 1, "root": str(root.resolve()),
                                                    "files": {"x.wav": {"size": "big"}}})):
        cache_file.write_text(junk)
        audio_info_calls.clear()
        assert len(scan_library(root).entries) == 1
        assert len(audio_info_calls) == 1
        assert json.loads(cache_file.read_text())["files"]["x.wav"]["frames"] == int(0.2 * SR)
    assert not [p for p in cache_file.parent.iterdir() if p.name.startswith(".autofoley-tmp")]


def test_separate_libraries_have_separate_caches(tmp_path, audio_info_calls):
    tone(tmp_path / "one" / "x.wav")
    tone(tmp_path / "two" / "x.wav", seconds=0.4)
    assert scan_library(tmp_path / "one").entries[0].duration == pytest.approx(0.2)
    assert scan_library(tmp_path / "two").entries[0].duration == pytest.approx(0.4)
    assert len(list((tmp_path / "cache" / "library").glob("*.json"))) == 2


# --------------------------------------------------------------------------- errors and progress

def test_missing_or_non_folder_root(tmp_path):
    with pytest.raises(LibraryError, match="not found") as info:
        scan_library(tmp_path / "nope")
    assert info.value.path == str(tmp_path / "nope") and info.value.remedy
    file_root = tone(tmp_path / "x.wav")
    with pytest.raises(LibraryError, match="not a folder"):
        scan_library(file_root)


@pytest.mark.parametrize("setup", ["empty", "no_audio", "all_broken"])
def test_no_usable_sound_raises(tmp_path, setup):
    root = tmp_path / "lib"
    root.mkdir()
    if setup == "no_audio":
        (root / "readme.txt").write_text("hello")
    elif setup == "all_broken":
        (root / "zero.wav").write_bytes(b"")
        (root / "text.flac").write_text("nope")
    with pytest.raises(LibraryError) as info:
        scan_library(root)
    assert info.value.message == "no readable sound files (wav, aiff, flac, ogg, mp3)"
    assert info.value.path == str(root.resolve())
    assert info.value.remedy == "point --library at a folder of sound effects"
    assert info.value.exit_code == 4


def test_progress_counts_every_file(tmp_path):
    root = tmp_path / "lib"
    for name in ("a", "b", "c"):
        tone(root / f"{name}.wav")
    (root / "bad.wav").write_bytes(b"")
    calls = []
    scan_library(root, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]


# --------------------------------------------------------------------------- sentence_for

def _entry(description: str, category: str = "UNCATEGORIZED") -> SoundEntry:
    return SoundEntry(path=Path("/x.wav"), description=description, category=category, kind="sfx",
                      duration=1.0, sample_rate=48000, channels=2)


def test_sentence_drops_recording_jargon():
    text = sentence_for(_entry("Car Pass By Left to Right, Stereo, M/S, close mic, 96k 24bit, Take 3, 01"))
    assert text == "a photo of car pass by."
    text = sentence_for(_entry("Dog bark L-R distant mic mono 48 kHz 32 bit float"))
    assert text == "a photo of dog bark."


def test_sentence_deduplicates_tags_and_words():
    text = sentence_for(_entry("Glass, glass; Bottle Smash, glass bottle, shatter"))
    assert text == "a photo of glass, bottle smash, shatter."


def test_sentence_keeps_at_most_twelve_words():
    text = sentence_for(_entry(" ".join(f"word{chr(97 + i)}" for i in range(20))))
    words = text.removeprefix("a photo of ").removesuffix(".").split()
    assert len(words) == 12 and words[0] == "worda"


def test_sentence_template_and_fallbacks():
    assert sentence_for(_entry("Door Slam"), "the sound of {}") == "the sound of door slam"
    assert sentence_for(_entry("Stereo 96k", category="WEATHER")) == "a photo of weather."
    assert sentence_for(_entry("")) == "a photo of sound effect."


def test_a_sound_is_untagged_only_when_nothing_says_what_it_is():
    from autofoley.library.scan import UNCATEGORIZED, is_tagged
    from autofoley.records import SoundEntry

    def entry(description, category=UNCATEGORIZED, cat_id=""):
        return SoundEntry(Path("x.wav"), description, category, "sfx", 1.0, 48000, 1,
                          cat_id=cat_id)

    for bare in ("Audio 0012", "ZOOM0004", "New Recording 3", "Track 07 bounce", "sfx_001",
                 "Untitled (copy)"):
        assert not is_tagged(entry(bare)), bare
    for named in ("door slam", "snake hiss 02 FINAL", "Kettle whistle take3 (edit)"):
        assert is_tagged(entry(named)), named
    assert is_tagged(entry("Audio 0012", "DOORS"))  # its folder says what it is
    assert not is_tagged(entry("Audio 0012", "AUDIO"))  # ... unless the folder is generic too
    assert is_tagged(entry("", "UNCATEGORIZED", cat_id="DOORWood"))
