"""bench/bench_placement.py pools what evaluate --json says of each film."""

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
_spec = importlib.util.spec_from_file_location("bench_placement", ROOT / "bench" / "bench_placement.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def _film(name, hits, placed, truth, causes, confusions):
    return bench.Row(name, {"sfx_hits": hits, "sfx_placed": placed, "sfx_truth": truth,
                            "detection_hits": hits, "detection_found": hits,
                            "false_positive_causes": causes, "confusions": confusions})


def test_causes_and_wrong_sounds_are_pooled_over_the_films():
    rows = [_film("a", 3, 5, 4, {"wrong sound": 2},
                  [{"placed": "cat", "over": "horse", "count": 2}]),
            _film("b", 2, 4, 3, {"wrong sound": 1, "distractor": 1},
                  [{"placed": "cat", "over": "horse", "count": 1}])]
    pooled = bench.overall(rows)
    assert (pooled["sfx_hits"], pooled["sfx_placed"], pooled["sfx_truth"]) == (5, 9, 7)
    assert pooled["false_positive_causes"] == {"wrong sound": 3, "distractor": 1}
    assert pooled["confusions"] == [{"placed": "cat", "over": "horse", "count": 3}]
    world = bench.WORLDS["lab"]
    assert "wrong sounds, placed over the thing on screen: 3 cat over horse" in bench.table(
        world, "text", rows)
