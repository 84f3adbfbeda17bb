"""``autofoley models`` (a header, the default marked, what runs offline,
what is missing, fast on a second call), the package's declared
dependencies against what it imports, and where autofoley keeps its cache,
config and data on each system."""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import autofoley._cli.models as models_mod
from autofoley._cli.main import main
from autofoley.models.registry import DEFAULT_CLIP_MODEL, DEFAULT_PRETRAINED, registry

ROOT = Path(__file__).resolve().parents[2]


def _run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def _fake_hf_cache(cache: Path, repo: str, filename: str) -> None:
    """What huggingface_hub leaves after downloading ``repo``/``filename``."""
    folder = cache / f"models--{repo.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text("0123abcd")
    (folder / "snapshots" / "0123abcd").mkdir(parents=True)
    (folder / "snapshots" / "0123abcd" / filename).write_bytes(b"weights")


@pytest.fixture
def hf_cache(tmp_path, monkeypatch):
    """An empty Hugging Face cache of the test's own."""
    from huggingface_hub import constants

    cache = tmp_path / "hf"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(models_mod._Caches, "url_dir", tmp_path / "clip-urls")
    return cache


def test_the_table_has_a_header_and_marks_the_default(capsys, hf_cache):
    code, out, _ = _run(["models"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "SOURCE", "OFFLINE", "NOTES"]
    marked = [l for l in lines[1:] if l.startswith("* ") and "clip" in l.split()]
    assert [l.split()[1] for l in marked] == [DEFAULT_CLIP_MODEL]
    assert f"{DEFAULT_PRETRAINED[DEFAULT_CLIP_MODEL]} default" in marked[0]
    rows = {l.split()[0]: l.split() for l in lines[1:] if not l.startswith("*") and
            len(l.split()) >= 4 and l.split()[1] in ("clip", "audio")}
    assert rows["autofoley-tiny"][1:4] == ["clip", "autofoley", "yes"]
    assert rows["audio-tiny-cnn14"][1:4] == ["audio", "autofoley", "yes"]
    assert "is the default --clip-model" in lines[-2]
    assert re.fullmatch(r"\d+ of \d+ CLIP models run offline .*", lines[-1])


def test_json_rows_are_strict_and_complete(capsys, hf_cache):
    code, out, _ = _run(["models", "--json"], capsys)
    assert code == 0
    rows = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-strict JSON {c}"))
    shipped = registry()
    assert [r["name"] for r in rows[:len(shipped["clip"]) + len(shipped["audio"])]] == [
        *shipped["clip"], *shipped["audio"]]
    by_name = {r["name"]: r for r in rows}
    assert all({"name", "kind", "source", "default", "offline", "needs"} <= set(r) for r in rows)
    assert [r["name"] for r in rows if r["default"]] == [DEFAULT_CLIP_MODEL]
    vit = by_name[DEFAULT_CLIP_MODEL]
    assert vit["source"] == "open_clip" and vit["offline"] is False and vit["cached_pretrained"] == []
    assert vit["default_pretrained"] in vit["pretrained"] and "downloaded" in vit["needs"]
    assert by_name["autofoley-demo"]["offline"] is True and by_name["autofoley-demo"]["needs"] is None


def test_weights_in_the_hugging_face_cache_make_a_model_offline(hf_cache):
    catalogue = {m["name"]: m for m in models_mod.open_clip_catalogue()}
    default = next(t for t in catalogue[DEFAULT_CLIP_MODEL]["pretrained"]
                   if t["tag"] == DEFAULT_PRETRAINED[DEFAULT_CLIP_MODEL])
    # The .bin open_clip falls back to, for a model without a default tag.
    rn50 = catalogue["RN50"]["pretrained"][0]
    _fake_hf_cache(hf_cache, default["repo"], default["files"][0])
    _fake_hf_cache(hf_cache, rn50["repo"], rn50["files"][-1])
    rows = {r["name"]: r for r in models_mod.model_rows()}
    assert rows[DEFAULT_CLIP_MODEL]["offline"] is True
    assert rows[DEFAULT_CLIP_MODEL]["cached_pretrained"] == [default["tag"]]
    assert rows["RN50"]["offline"] is True and rows["RN50"]["cached_pretrained"] == [rn50["tag"]]
    # Models sharing those weights (RN50-quickgelu) are offline too, and no other.
    sharing = {name for name, m in catalogue.items()
               if any(t["repo"] in (default["repo"], rn50["repo"]) and
                      (name != DEFAULT_CLIP_MODEL or t["tag"] == default["tag"])
                      for t in m["pretrained"])}
    assert {n for n, r in rows.items() if r["source"] == "open_clip" and r["offline"]} == sharing
    assert f"{default['tag']} (cached) default" in models_mod.format_rows(list(rows.values()))


def test_an_audio_model_whose_package_is_missing_says_how_to_install_it(tmp_path, monkeypatch,
                                                                          hf_cache, capsys):
    from autofoley.models.backbones.aisfx import installed_checkpoint

    real = importlib.util.find_spec
    package = tmp_path / "site" / "aisfx"
    state = {"installed": False}

    def find_spec(name, *a, **kw):
        if name != "aisfx":
            return real(name, *a, **kw)
        if not state["installed"]:
            return None
        return importlib.util.spec_from_file_location(
            "aisfx", package / "__init__.py", submodule_search_locations=[str(package)])

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    rows = {r["name"]: r for r in models_mod.model_rows()}
    assert rows["aisfx"]["offline"] is False and rows["aisfx"]["needs"] == "pip install --no-deps aisfx"
    assert rows["audio-tiny-aisfx"]["offline"] is True  # seeded weights: nothing to install
    code, out, _ = _run(["models"], capsys)
    line = next(l for l in out.splitlines() if l.split()[:1] == ["aisfx"])
    assert line.split()[3] == "no" and "needs: pip install --no-deps aisfx" in line
    assert models_mod.aisfx_checkpoint() is None and installed_checkpoint() is None

    (package / "models").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "models" / "checkpoint.pth").write_bytes(b"x")
    state["installed"] = True
    assert {r["name"]: r for r in models_mod.model_rows()}["aisfx"]["offline"] is True
    # The torch-free lookup finds what the backbone module would load.
    assert models_mod.aisfx_checkpoint() == installed_checkpoint() == package / "models" / "checkpoint.pth"


def test_a_second_listing_imports_neither_torch_nor_open_clip():
    from autofoley.cache import cache_root

    models_mod.open_clip_catalogue()  # kept in the (test session's) cache
    assert list((cache_root() / "models").glob("open_clip-*.json"))
    probe = ("import sys\nfrom autofoley._cli.main import main\nmain(['models', '--json'])\n"
             "print(sorted(m for m in ('torch', 'open_clip') if m in sys.modules), file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "[]"
    assert len(json.loads(proc.stdout)) > 100


# --------------------------------------------------------------------------- dependencies

# Distributions whose import name is not their name (normalised: lower case, '_').
IMPORT_NAMES = {"open_clip_torch": "open_clip", "pillow": "PIL", "opencv_python": "cv2",
                "opencv_python_headless": "cv2", "pyyaml": "yaml", "scikit_learn": "sklearn"}


def _import_name(requirement: str) -> str:
    from packaging.requirements import Requirement

    name = re.sub(r"[-_.]+", "_", Requirement(requirement).name).lower()
    return IMPORT_NAMES.get(name, name)


def _pyproject() -> dict:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        tomllib = pytest.importorskip("tomli")
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _third_party_imports() -> dict[str, list[str]]:
    """{top-level module: files importing it} over autofoley/, stdlib left out."""
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / "autofoley").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "autofoley":
                    found.setdefault(top, []).append(str(path.relative_to(ROOT)))
    return found


def test_declared_dependencies_are_imported_and_imports_are_declared():
    project = _pyproject()["project"]
    core = {_import_name(r) for r in project["dependencies"]}
    extras = {name: {_import_name(r) for r in reqs}
              for name, reqs in project["optional-dependencies"].items()}
    imports = _third_party_imports()
    # Every core dependency is used by the package itself (no dead weight to install).
    assert sorted(core - set(imports)) == []
    # Every third-party import is declared: core, or an extra for an optional feature.
    optional = set().union(*(v for k, v in extras.items() if k != "test"))
    undeclared = {m: files for m, files in imports.items() if m not in core | optional}
    assert undeclared == {}
    assert {"moviepy", "pydub"} <= extras["bench"] and not {"moviepy", "pydub"} & core


# --------------------------------------------------------------------------- locations


@pytest.fixture
def home(tmp_path, monkeypatch):
    """No overrides, no XDG variables, an empty home of the test's own."""
    for var in ("AUTOFOLEY_CACHE", "AUTOFOLEY_CONFIG", "AUTOFOLEY_DATA", "XDG_CACHE_HOME",
                "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _roots() -> tuple[Path, Path, Path]:
    from autofoley.cache import cache_root
    from autofoley.library.kinds import data_root
    from autofoley.placement.settings import config_root

    return cache_root(), config_root(), data_root()


def test_folders_are_where_macos_keeps_them(home, monkeypatch):
    import platformdirs
    from platformdirs.macos import MacOS

    monkeypatch.setattr(platformdirs, "PlatformDirs", MacOS)
    support = home / "Library" / "Application Support" / "autofoley"
    assert _roots() == (home / "Library" / "Caches" / "autofoley", support, support)


def test_linux_folders_follow_xdg_and_overrides_win(home, tmp_path, monkeypatch):
    import platformdirs
    from platformdirs.unix import Unix

    monkeypatch.setattr(platformdirs, "PlatformDirs", Unix)
    assert _roots() == (home / ".cache" / "autofoley", home / ".config" / "autofoley",
                        home / ".local" / "share" / "autofoley")
    for var, sub in (("XDG_CACHE_HOME", "xc"), ("XDG_CONFIG_HOME", "xg"), ("XDG_DATA_HOME", "xd")):
        monkeypatch.setenv(var, str(tmp_path / sub))
    assert _roots() == tuple(tmp_path / s / "autofoley" for s in ("xc", "xg", "xd"))
    for var, sub in (("AUTOFOLEY_CACHE", "c"), ("AUTOFOLEY_CONFIG", "g"), ("AUTOFOLEY_DATA", "d")):
        monkeypatch.setenv(var, str(tmp_path / sub))
    assert _roots() == tuple(tmp_path / s for s in ("c", "g", "d"))


def test_a_folder_an_older_version_left_stays_in_use(home, monkeypatch):
    """Tuned settings in ~/.config/autofoley on a Mac are not left behind."""
    import platformdirs
    from platformdirs.macos import MacOS

    from autofoley.placement.settings import config_root

    monkeypatch.setattr(platformdirs, "PlatformDirs", MacOS)
    (home / ".config" / "autofoley" / "sync").mkdir(parents=True)
    assert config_root() == home / ".config" / "autofoley"
    native = home / "Library" / "Application Support" / "autofoley"
    native.mkdir(parents=True)
    assert config_root() == native
