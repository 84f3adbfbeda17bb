"""The shipped demo model on the shipped demo world: autofoley places the right
sound at the right time, with its default (tuned) settings.

The demo film is one of the films the defaults were tuned on; the held-out
films are checked too, with a lower bar, so a default tuned to our own films
alone would show here."""

import json
from pathlib import Path

import numpy as np
import pytest

from autofoley._cli.main import main
from autofoley.evaluation.evaluate import evaluate_timeline

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo"
DEMO_FILM = "forest_city_beach"  # the README's example


def _score(film: str, out: Path, capsys) -> dict:
    code = main(["score", str(DEMO / "films" / f"{film}.mp4"), "--library", str(DEMO / "library"),
                 "--clip-model", "autofoley-demo", "--out", str(out), "--no-render", "--quiet",
                 "--json"])
    assert code == 0
    return json.loads(capsys.readouterr().out)


def _metrics(film: str, out: Path):
    return evaluate_timeline(out / f"{film}.otio", DEMO / "truth" / f"{film}.json",
                             DEMO / "truth" / "library.json")


def test_demo_film_meets_the_bar(tmp_path, capsys):
    summary = _score(DEMO_FILM, tmp_path, capsys)
    m = _metrics(DEMO_FILM, tmp_path)
    assert m.cut_f1 >= 0.95
    assert m.sfx_f1 >= 0.8, m.to_dict()
    assert m.median_onset_error <= 0.2
    assert m.ambience_accuracy >= 0.75
    # As shipped: only what changes is encoded, and every SFX has a position
    # from the frame's regions (not all of them the centre) and a playback.
    assert 0.0 < summary["frames_encoded"] < 0.6
    events = json.loads((tmp_path / f"{DEMO_FILM}.events.json").read_text())["events"]
    sfx = [e for e in events if e["kind"] == "sfx"]
    assert sfx and all(e["pan"] and all(-1 <= v <= 1 for _, v in e["pan"]) for e in sfx)
    assert any(abs(v) > 0.2 for e in sfx for _, v in e["pan"])
    assert {e["playback"] for e in sfx} <= {"once", "loop"}
    # ... and what each sound is: only a continuous one is ever looped.
    assert {e["sustain"] for e in sfx} <= {"continuous", "one-shot"}
    assert all(e["sustain"] == "continuous" for e in sfx if e["playback"] == "loop")
    assert {e["sustain"] for e in events if e["kind"] == "ambience"} == {"continuous"}


@pytest.mark.parametrize("film", ["held_out_park", "held_out_street"])
def test_held_out_films(film, tmp_path, capsys):
    _score(film, tmp_path, capsys)
    m = _metrics(film, tmp_path)
    assert m.cut_f1 >= 0.9
    assert m.sfx_f1 >= 0.6, m.to_dict()
    assert m.median_onset_error <= 0.3


def test_no_distractor_and_no_sound_on_silent_objects(tmp_path, capsys):
    """Precision on the tuning films: no distractor sound is ever placed, and
    silent objects (rock, tree, book) alone on screen get no SFX. (The
    held-out films are measured by F1 above; see the model card for their
    false positives.)"""
    truth_lib = json.loads((DEMO / "truth" / "library.json").read_text())
    kinds = {Path(k).name: v["kind"] for k, v in truth_lib.items()}
    for truth_file in sorted((DEMO / "truth").glob("*.json")):
        if truth_file.name == "library.json":
            continue
        film = truth_file.stem
        truth = json.loads(truth_file.read_text())
        if truth.get("held_out"):
            continue
        out = tmp_path / film
        _score(film, out, capsys)
        events = json.loads((out / f"{film}.events.json").read_text())["events"]
        placed = [e for e in events if e["kind"] == "sfx"]
        assert not [e for e in placed if kinds.get(Path(e["file"]).name) == "distractor"], film
        for silent in (e for e in truth["events"] if not e["sound_class"]):
            sounding = [e for e in truth["events"] if e["sound_class"]]
            lo, hi = silent["start"], silent["end"]
            alone = [(lo, hi)]
            for s in sounding:  # the parts of the interval with no sounding object
                alone = [piece for a, b in alone for piece in
                         ((a, min(b, s["start"])), (max(a, s["end"]), b)) if piece[1] - piece[0] > 0]
            for a, b in alone:
                if b - a < 1.0:
                    continue
                inside = [e for e in placed if e["start"] >= a + 0.3 and e["start"] < b - 0.3]
                assert not inside, (film, silent["class"], inside)


def test_tune_on_demo_films_never_worse_than_defaults(tmp_path, capsys):
    out = tmp_path / "tuned.json"
    films = [str(DEMO / "films" / f"{f}.mp4") for f in ("city_traffic", "kitchen_ntsc")]
    code = main(["tune", *films, "--truth", str(DEMO / "truth"), "--library", str(DEMO / "library"),
                 "--library-truth", str(DEMO / "truth" / "library.json"),
                 "--clip-model", "autofoley-demo", "--out", str(out), "--quiet", "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["best_loss"] <= result["start_loss"]
    from autofoley.evaluation.tune import DEFAULT_GRID

    assert result["points"] == 1 + int(np.prod([len(v) for v in DEFAULT_GRID.values()]))
    # Only settings that mean the same for any model are tuned: no raw
    # cosine floor, no temperature (the model's own stays).
    assert result["best"]["min_similarity"] == -1.0
    assert result["best"]["temperature"] == result["start"]["temperature"]
    written = json.loads(out.read_text())
    assert written["sync"] == {**result["best"], "temperature": None}
    assert written["loss"] == result["best_loss"]
    # What the model sees of the films' sounding events, at the best settings.
    truth = [json.loads((DEMO / "truth" / f"{f}.json").read_text()) for f in ("city_traffic", "kitchen_ntsc")]
    ceiling = result["ceiling"]
    assert ceiling["events"] == sum(1 for t in truth for e in t["events"] if e.get("sound_class"))
    assert ceiling["hits"] == sum(m["sfx_hits"] for m in result["best_metrics"].values())
    assert 0 < ceiling["hits_seen"] <= ceiling["seen"] <= ceiling["events"]
    assert len(ceiling["seen_missed"]) == ceiling["seen"] - ceiling["hits_seen"]


def test_the_python_front_door_writes_what_the_cli_writes(tmp_path, capsys):
    """``autofoley.Scorer(model).score(...)`` resolves the model's shipped
    settings as the CLI does: the same options, the same placed events."""
    import autofoley
    from autofoley.models.registry import resolve_clip

    _score(DEMO_FILM, tmp_path / "cli", capsys)
    scorer = autofoley.Scorer("autofoley-demo", options=autofoley.ScoreOptions(render=False))
    scorer.score(DEMO / "films" / f"{DEMO_FILM}.mp4", DEMO / "library", tmp_path / "py")
    cli, py = (json.loads((tmp_path / side / f"{DEMO_FILM}.events.json").read_text())
               for side in ("cli", "py"))
    assert py["options"] == cli["options"]
    assert py["events"] == cli["events"] and py["events"]
    # The model's frame fit and its own temperature (1 / its logit scale);
    # the placement settings are the one shipped set.
    shipped = resolve_clip("autofoley-demo").defaults
    assert py["options"]["frame_fit"] == shipped["frame_fit"]
    assert py["options"]["sync"]["temperature"] == round(1 / scorer.encoder.logit_scale, 6)
    assert py["options"]["sync"]["threshold"] == autofoley.SyncParams().threshold


def test_a_car_crossing_the_frame_pans_left_to_right_in_the_mix(tmp_path, capsys):
    """End to end: a demo-world film of a car driving from the left edge to
    the right one, scored as shipped (regions on, ambience off so the SFX is
    alone in the mix): the mix's left channel leads while the car is on the
    left, the right one once it is on the right."""
    import sys

    import soundfile as sf

    sys.path.insert(0, str(DEMO.parent))
    from demo_world.films import FilmSpec, Shot, Track, make_film

    spec = FilmSpec("car_crossing", (Shot("city", 8.0),),
                    (Track("car", 1.0, 7.0, (0.16, 0.72), (0.84, 0.72), scale=0.45),), seed=3)
    film, _ = make_film(spec, tmp_path / "film")
    out = tmp_path / "out"
    code = main(["score", str(film), "--library", str(DEMO / "library"), "--clip-model",
                 "autofoley-demo", "--out", str(out), "--no-ambience", "--no-report", "--quiet"])
    assert code == 0
    events = json.loads((out / "car_crossing.events.json").read_text())["events"]
    cars = [e for e in events if e["kind"] == "sfx" and "car" in e["description"].lower()]
    assert cars, [e["description"] for e in events]
    start, end = min(e["start"] for e in cars), max(e["end"] for e in cars)
    assert end - start >= 3.0  # the car is heard for most of its crossing
    mix, sr = sf.read(out / "car_crossing.mix.wav", always_2d=True)

    def balance(t0: float, t1: float) -> float:
        """Left minus right level in dB over [t0, t1)."""
        part = mix[int(t0 * sr):int(t1 * sr)]
        rms = np.sqrt(np.mean(part ** 2, axis=0)) + 1e-12
        return float(20 * np.log10(rms[0] / rms[1]))

    third = (end - start) / 3
    first, last = balance(start, start + third), balance(end - third, end)
    # The car file leans 1.4 dB right on its own; panned, the crossing moves
    # it 8.5 dB (+3.3 dB, then -5.2 dB); with --no-pan neither third moves.
    assert first > 0.0 > last and first - last > 4.0, (first, last)
