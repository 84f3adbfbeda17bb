"""The ``verified`` decoder: candidate runs entered low, kept by the shipped learnt rule."""

import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from autofoley.placement import verify
from autofoley.placement.matching import grouped_events
from autofoley.placement.sync import SyncParams, detect_events
from autofoley.records import SoundEntry

STEP = 0.1


def _scores(level: float, seconds: float, other: float = 0.05, n: int = 80) -> np.ndarray:
    """(T, 2): group 0 at ``level`` for ``seconds`` from 1 s, group 1 at ``other`` throughout."""
    series = np.full((n, 2), [0.0, other])
    series[10:10 + int(round(seconds / STEP)), 0] = level
    return series


def test_the_shipped_rule_is_for_these_features():
    w, bias, cut = verify.weights()
    assert w.shape == (len(verify.FEATURES),) and np.isfinite(w).all() and np.isfinite(bias)
    assert 0 < cut < 1


def test_features_are_relative_to_the_threshold():
    # Scores and threshold scaled together: the same run, the same features.
    series = _scores(0.7, 3.0, other=0.1)
    a = verify.run_features(series, series, series, 0, 10, 40, STEP, 0.8)
    b = verify.run_features(series * 0.5, series * 0.5, series * 0.5, 0, 10, 40, STEP, 0.4)
    np.testing.assert_allclose(a, b)
    assert a[verify.FEATURES.index("peak")] == pytest.approx(0.7 / 0.8)
    assert a[verify.FEATURES.index("share_leading")] == 1.0
    assert a[verify.FEATURES.index("log_length")] == pytest.approx(np.log(3.0))


def test_a_sustained_thing_under_the_threshold_is_found_when_verified():
    # 3 s at 0.7, leading, in the frame and the squares: what a weaker model
    # gives a thing it does see. The threshold alone never lets it in (the
    # hysteresis decoder's lasting lead does, test_sync.py).
    series = _scores(0.7, 3.0)
    assert detect_events(series, SyncParams(sure_lead=0.0), STEP) == []
    events = detect_events(series, SyncParams(decoder="verified"), STEP)
    assert [(e.candidate, e.first, e.stop) for e in events] == [(0, 10, 40)]


def test_a_brief_weak_run_beside_a_strong_thing_is_not_verified():
    # 1 s at 0.55 in the whole frame only, while another thing takes 0.9.
    series = _scores(0.55, 1.0, other=0.9)
    squares = series.copy()
    squares[:, 0] = 0.05
    weighed = []
    events = detect_events(series, SyncParams(decoder="verified"), STEP, (series, squares), weighed)
    assert [e.candidate for e in events] == [1]  # the strong thing only
    assert [(c, kept) for c, _, _, _, kept in weighed] == [(0, False), (1, True)]


def test_grouped_events_report_the_runs_they_weighed_with_their_sounds():
    sounds = [SoundEntry(Path(f"/lib/{n}.wav"), n, "ANIMALS", "sfx", 1.0, 48000, 1)
              for n in ("bark A", "bark B")]
    series = np.zeros((60, 2))
    series[5:35] = (0.4, 0.35)  # one dog, its mass shared by two files: 0.75 together
    weighed = []
    events = grouped_events(series, sounds, SyncParams(decoder="verified"), STEP, Counter(),
                            (series, series), weighed)
    assert len(events) == 1 and (events[0].first, events[0].stop) == (5, 35)
    assert len(weighed) == 1
    group, first, stop, features, kept = weighed[0]
    assert [s.path.stem for s in group] == ["bark A", "bark B"] and (first, stop) == (5, 35) and kept
    assert features[verify.FEATURES.index("peak")] == pytest.approx(0.75 / 0.8)


def test_the_fit_behind_the_rule_minimises_its_objective():
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
    from train_event_verifier import fit_logistic

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = (x @ [2.0, -1.0, 0.0] + 0.5 + rng.normal(scale=0.5, size=200) > 0).astype(float)
    w, b = fit_logistic(x, y, c=1.0)
    p = 1 / (1 + np.exp(-(x @ w + b)))
    # The gradient of 0.5 |w|^2 + sum of log losses is zero there (the bias unpenalised).
    np.testing.assert_allclose(x.T @ (p - y) + w, 0, atol=1e-6)
    assert abs(np.sum(p - y)) < 1e-6
    assert w[0] > 1 and w[1] < -0.5 and abs(w[2]) < 0.3
