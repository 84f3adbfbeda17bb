"""bench/bench_ceiling.py scores each world with the model and frame fit
bench_placement gives it; lab5-strong is lab5's films with another model."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("bench_ceiling", ROOT / "bench" / "bench_ceiling.py")
ceiling = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ceiling)


def test_each_world_is_scored_with_its_own_model_and_fit():
    worlds = ceiling.WORLDS
    assert ceiling.world_options(worlds["demo"]) == ("autofoley-demo", None, None)
    model, weights, fit = ceiling.world_options(worlds["lab"])
    assert model.endswith("autofoley-lab.json") and weights.endswith("autofoley-lab.safetensors")
    assert fit == "pad"


def test_lab5_strong_is_lab5s_films_with_a_model_of_its_own_recipe():
    lab5, strong = ceiling.WORLDS["lab5"], ceiling.WORLDS["lab5-strong"]
    assert strong.root == lab5.root and strong.make == lab5.make
    assert strong.weights != lab5.weights and strong.weights.parent.parent == lab5.root
    recipe = strong.model_make
    assert recipe[recipe.index("--train") + 1] == "45000" and recipe[recipe.index("--epochs") + 1] == "12"
    assert recipe[recipe.index("--out") + 1] == str(strong.weights)


def _recipe(world) -> tuple:
    """The training flags between the seed and the output path."""
    return world.model_make[world.model_make.index("--train"):world.model_make.index("--out")]


def test_the_strong_worlds_share_one_recipe():
    five, six = ceiling.WORLDS["lab5-strong"], ceiling.WORLDS["lab6-strong"]
    assert six.root != five.root and six.make[-1] == "6"
    assert _recipe(five) == _recipe(six) == ("--train", "45000", "--epochs", "12")


def test_reel_seeds_measure_those_reels(monkeypatch, capsys):
    seen = []
    monkeypatch.setattr(ceiling, "ensure_world", lambda world: None)
    monkeypatch.setattr(ceiling, "measure", lambda world: seen.append(world) or {"model": "m"})
    assert ceiling.main(["--worlds", "reels", "--reel-seeds", "37-42", "--json"]) == 0
    assert [w.name for w in seen] == ["reels-37-42"]
    assert seen[0].root.name == "reels-37-42" and seen[0].make[-2:] == ("--reel-seeds", "37-42")
    with pytest.raises(SystemExit) as bad:
        ceiling.main(["--worlds", "reels", "--reel-seeds", "x"])
    assert bad.value.code == 2 and "--reel-seeds" in capsys.readouterr().err
