"""Config files (built-in < user < project < --config < flags), several films
in one ``score``, ``evaluate`` over a folder, and ``score --index``."""

import json
import subprocess
from pathlib import Path

import pytest
from synth import make_library

from autofoley._cli.main import main

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"
TINY = ["--clip-model", "autofoley-tiny", "--quiet"]


def _settings(capsys, argv) -> dict:
    assert main([*argv, "--print-config", "--json"]) == 0
    return {r["flag"]: (r["value"], r["source"]) for r in json.loads(capsys.readouterr().out)}


def test_precedence_user_project_config_flags(tmp_path, monkeypatch, capsys):
    user = tmp_path / "user"
    user.mkdir()
    monkeypatch.setenv("AUTOFOLEY_CONFIG", str(user))
    (user / "config.toml").write_text('threshold = 0.11\nstep = 0.2\nmin-event = 0.3\n'
                                      'clip-model = "autofoley-tiny"\n')
    project = tmp_path / "project"
    (project / "reel1").mkdir(parents=True)
    film = project / "reel1" / "film.mp4"
    film.write_bytes(b"")  # never read: --print-config stops first
    (project / "autofoley.toml").write_text('library = "sfx"\n[score]\nthreshold = 0.22\n'
                                            'step = 0.3\n[batch]\nthreshold = 0.9\n')
    explicit = tmp_path / "mine.toml"
    explicit.write_text("[score]\nstep = 0.4\nno-report = true\nno-variety = true\n")
    s = _settings(capsys, ["score", str(film), "--config", str(explicit), "--min-event", "0.5"])
    assert s["--clip-model"] == ("autofoley-tiny", f"user ({user / 'config.toml'})")
    assert s["--threshold"] == (0.22, f"project ({project / 'autofoley.toml'})")
    assert s["--step"] == (0.4, f"--config ({explicit})")
    assert s["--min-event"] == (0.5, "flag")
    assert s["--no-report"][0] is True
    assert s["--no-variety"] == (True, f"--config ({explicit})")
    assert s["--library"][0] == "sfx"
    assert s["--temperature"] == (None, "built-in")


def test_a_bad_config_value_is_a_usage_error_naming_file_and_key(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[score]\nthreshold = 3\n")
    assert main(["score", "f.mp4", "--library", "x", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.toml" in err and "threshold" in err and "<= 1" in err
    bad.write_text("treshold = 0.3\n")
    assert main(["score", "f.mp4", "--library", "x", "--config", str(bad)]) == 2
    assert "'treshold'" in capsys.readouterr().err
    bad.write_text("threshold = \n")
    assert main(["score", "f.mp4", "--library", "x", "--config", str(bad)]) == 2
    assert "not valid TOML" in capsys.readouterr().err


def test_the_library_may_come_from_a_config_file_but_must_come(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["score", str(tmp_path / "f.mp4")])
    assert e.value.code == 2
    assert "--library is required" in capsys.readouterr().err


@pytest.fixture(scope="module")
def two_films(tmp_path_factory):
    root = tmp_path_factory.mktemp("two")
    make_library(root / "lib", sr_variants=False)
    films = []
    for name, src in (("a", "testsrc2"), ("b", "smptebars")):
        path = root / f"{name}.mp4"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                        f"{src}=size=160x90:rate=25:duration=3", "-c:v", "libx264", "-pix_fmt",
                        "yuv420p", str(path)], check=True, timeout=240, stdin=subprocess.DEVNULL)
        films.append(path)
    return root, films


def test_several_films_in_one_score(two_films, tmp_path, capsys, monkeypatch):
    import autofoley.models.clip as clip

    root, films = two_films
    loads = []
    real = clip.load_clip
    monkeypatch.setattr(clip, "load_clip", lambda *a, **k: loads.append(a) or real(*a, **k))
    code = main(["score", *map(str, films), "--library", str(root / "lib"), *TINY,
                 "--no-render", "--no-report", "--out", str(tmp_path), "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert [Path(f["film"]).name for f in out["films"]] == ["a.mp4", "b.mp4"]
    assert not out["failed"]
    assert (tmp_path / "a.otio").is_file() and (tmp_path / "b.otio").is_file()
    assert len(loads) == 1  # the model is loaded once for both
    assert main(["score", *map(str, films), "--library", str(root / "lib"), *TINY,
                 "--name", "x", "--out", str(tmp_path)]) == 2
    assert "--name" in capsys.readouterr().err


def test_evaluate_a_folder_prints_every_film_and_the_totals(tmp_path, capsys):
    out = tmp_path / "scored"
    for film in ("forest_city_beach", "held_out_park"):
        assert main(["score", str(DEMO / "films" / f"{film}.mp4"), "--library",
                     str(DEMO / "library"), "--clip-model", "autofoley-demo", "--no-render",
                     "--no-report", "--quiet", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(out), "--truth", str(DEMO / "truth"), "--library-truth",
                 str(DEMO / "truth" / "library.json"), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert set(rows) == {"forest_city_beach", "held_out_park", "all (2 films)"}
    total = rows["all (2 films)"]
    assert total["sfx_hits"] == rows["forest_city_beach"]["sfx_hits"] + \
        rows["held_out_park"]["sfx_hits"]
    assert total["sfx_precision"] == pytest.approx(total["sfx_hits"] / total["sfx_placed"])


def test_score_index_uses_that_index(two_films, tmp_path, capsys):
    root, films = two_films
    index = tmp_path / "my-index"
    code = main(["score", str(films[0]), "--library", str(root / "lib"), *TINY,
                 "--rank", "audio", "--audio-model", "audio-tiny-cnn14", "--index", str(index),
                 "--no-render", "--no-report", "--out", str(tmp_path / "out")])
    assert code == 0
    assert (index / "manifest.sqlite").is_file() and list((index / "shards").glob("*.npy"))
