"""bench/bench_libraries.py: the library variants it scores against are what
their names say, and the worlds' own libraries are never touched."""

import csv
import hashlib
import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("bench_libraries", ROOT / "bench" / "bench_libraries.py")
libs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(libs)

DEMO = ROOT / "examples" / "demo"


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file() and ".autofoley" not in p.name:
            h.update(str(p.relative_to(folder)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")
            if p.is_file() and p.name != libs.SIDECAR and ".autofoley" not in p.name}


def test_variants_are_what_they_say(tmp_path):
    before = _digest(DEMO / "library")
    truth = json.loads((DEMO / "truth" / "library.json").read_text())
    beds = {rel for rel, info in truth.items() if info["kind"] == "ambience"}
    assert beds

    lib, t = libs.make_variant("own", "demo", tmp_path, {})
    assert lib == DEMO / "library" and t == DEMO / "truth" / "library.json"

    lib, t = libs.make_variant("names-only", "demo", tmp_path, {})
    assert not (lib / libs.SIDECAR).exists() and _files(lib) == set(truth)
    assert json.loads(t.read_text()) == truth

    lib, t = libs.make_variant("no-ambience", "demo", tmp_path, {})
    assert _files(lib) == set(truth) - beds
    assert set(json.loads(t.read_text())) == set(truth) - beds
    with open(lib / libs.SIDECAR, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][0] == "path" and len(rows) > 1
    assert not {r[0] for r in rows[1:] if r} & beds

    lib, t = libs.make_variant("plus-other", "demo", tmp_path, {})
    other = json.loads((ROOT / "examples" / "lab" / "truth" / "library.json").read_text())
    merged = json.loads(t.read_text())
    assert set(merged) == set(truth) | {f"OTHER/{rel}" for rel in other}
    assert _files(lib) == set(merged)
    assert not (lib / "OTHER" / libs.SIDECAR).exists()  # its tags stay behind

    sounding: dict[str, list[str]] = {}
    for rel, info in truth.items():
        if info.get("sound_class") and info["kind"] != "ambience":
            sounding.setdefault(info["sound_class"], []).append(rel)
    for name, thinned_things in (("thin", len(sounding)), ("thin-half", len(sounding) // 2)):
        lib, t = libs.make_variant(name, "demo", tmp_path, {})
        kept = json.loads(t.read_text())
        assert _files(lib) == set(kept) and set(kept) < set(truth)
        per_thing = {thing: len([r for r in rels if r in kept]) for thing, rels in sounding.items()}
        thin = [thing for thing, n in per_thing.items() if n < len(sounding[thing])]
        assert len(thin) == thinned_things and all(per_thing[thing] == libs.THIN_KEEP for thing in thin)
        assert {rel for rel in truth if not truth[rel].get("sound_class") or truth[rel]["kind"] == "ambience"} <= set(kept)
        with open(lib / libs.SIDECAR, newline="") as f:
            assert {r[0] for r in list(csv.reader(f))[1:] if r} <= set(kept)

    assert libs.make_variant("pool", "demo", tmp_path, {}) is None
    assert libs.make_variant("pool", "demo", tmp_path, {"demo": tmp_path / "p"}) == \
        (tmp_path / "p" / "library", tmp_path / "p" / "library_truth.json")
    assert _digest(DEMO / "library") == before
