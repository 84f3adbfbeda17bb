"""AutoSync on hand-made similarity series: exact run boundaries."""

import numpy as np

from autofoley.placement.sync import (
    Event,
    SyncParams,
    detect_events,
    find_runs,
    hysteresis_runs,
    leaders,
    limit_overlap,
    merge_runs,
)


def test_run_is_above_threshold_and_stable():
    s = np.array([0.0, 0.05, 0.3, 0.32, 0.29, 0.31, 0.02, 0.0])
    assert [(f, e) for f, e, _ in find_runs(s, 0.1, 0.5)] == [(2, 6)]
    (_, _, mean), = find_runs(s, 0.1, 0.5)
    assert abs(mean - np.mean(s[2:6])) < 1e-12


def test_threshold_is_strict():
    s = np.array([0.1, 0.1, 0.2, 0.2])
    assert [(f, e) for f, e, _ in find_runs(s, 0.1, 0.5)] == [(2, 4)]


def test_unstable_jump_starts_a_new_run():
    # 0.2 -> 0.9: |0.9 - 0.2| > 0.5 * 0.2, so a new event starts at the jump.
    s = np.array([0.2, 0.2, 0.2, 0.9, 0.9, 0.9])
    assert [(f, e) for f, e, _ in find_runs(s, 0.1, 0.5)] == [(0, 3), (3, 6)]
    # With a loose stability it is one run.
    assert [(f, e) for f, e, _ in find_runs(s, 0.1, 5.0)] == [(0, 6)]


def test_run_reaching_the_end_is_closed():
    s = np.array([0.0, 0.5, 0.5])
    assert [(f, e) for f, e, _ in find_runs(s, 0.1, 0.5)] == [(1, 3)]


def test_merge_short_gaps_only():
    runs = [(0, 5, 0.4), (7, 10, 0.2), (20, 25, 0.3)]
    merged = merge_runs(runs, gap=2)
    assert [(f, e) for f, e, _ in merged] == [(0, 10), (20, 25)]
    assert abs(merged[0][2] - (0.4 * 5 + 0.2 * 3) / 8) < 1e-12


def test_detect_events_min_length_and_columns():
    t = 40
    series = np.zeros((t, 3))
    series[5:15, 0] = 0.6  # 1.0 s event
    series[20:22, 1] = 0.6  # 0.2 s: below min_event
    series[25:35, 2] = 0.5
    params = SyncParams(threshold=0.4, min_event=0.3)
    events = detect_events(series, params, step=0.1)
    assert [(e.candidate, e.first, e.stop) for e in events] == [(0, 5, 15), (2, 25, 35)]


def test_overlap_limit_keeps_strongest():
    events = [Event(0, 0, 10, 0.9), Event(1, 2, 8, 0.5), Event(2, 4, 12, 0.3)]
    kept = limit_overlap(events, k=1, n_segments=12)
    assert [e.candidate for e in kept] == [0]
    kept2 = limit_overlap(events, k=2, n_segments=12)
    assert sorted(e.candidate for e in kept2) == [0, 1]


def test_params_roundtrip():
    p = SyncParams(threshold=0.2)
    assert SyncParams.from_dict({**p.to_dict(), "unknown": 1}) == p
    assert p.replace(stability=0.3).stability == 0.3


def test_hysteresis_keeps_one_action_whole():
    # Sure at 0.9, a dip to 0.5 mid-action, then sure again: one event, where
    # a single threshold of 0.8 cuts it in two.
    s = np.array([0.0, 0.5, 0.9, 0.9, 0.5, 0.5, 0.9, 0.9, 0.2, 0.0])
    assert [(f, e) for f, e, _ in hysteresis_runs(s, 0.8, 0.4)] == [(1, 8)]
    assert [(f, e) for f, e, _ in hysteresis_runs(s, 0.8, 0.8)] == [(2, 4), (6, 8)]


def test_hysteresis_needs_the_enter_level_once():
    # Above the release level for a while, never sure: no event.
    s = np.array([0.0, 0.6, 0.7, 0.7, 0.6, 0.0])
    assert hysteresis_runs(s, 0.8, 0.4) == []


def test_merge_gap_scales_with_the_runs():
    # A 0.4 s gap between two 2 s runs is merged at ratio 0.5 (<= 1 s), not
    # with the fixed 0.2 s gap alone; between 0.3 s runs it is not.
    long_runs = [(0, 20, 0.9), (24, 44, 0.9)]
    assert len(merge_runs(long_runs, gap=2)) == 2
    assert [(f, e) for f, e, _ in merge_runs(long_runs, gap=2, ratio=0.5)] == [(0, 44)]
    short_runs = [(0, 3, 0.9), (7, 10, 0.9)]
    assert len(merge_runs(short_runs, gap=2, ratio=0.5)) == 2


def test_decoders_are_chosen_by_name():
    s = np.zeros((30, 1))
    s[5:25, 0] = np.where(np.arange(20) % 5 == 0, 0.45, 0.95)  # flickers every 0.5 s
    hyst = detect_events(s, SyncParams(threshold=0.8, min_event=0.3), step=0.1)
    stable = detect_events(s, SyncParams(threshold=0.8, decoder="stable", merge_gap=0.0,
                                         merge_ratio=0.0, min_event=0.3), step=0.1)
    assert [(e.first, e.stop) for e in hyst] == [(5, 25)]
    assert len(stable) == 4


def test_a_lasting_lead_enters_below_the_threshold():
    """A thing that holds 0.6 (the place takes the rest) and beats every other
    sound for 2 s (sure_lead) is an event; for 1.5 s, or with a rival ahead of
    it for a moment, or with the rule off, it is not."""
    params = SyncParams(threshold=0.8, release=0.5)
    series = np.zeros((60, 3))
    series[10:30, 0] = 0.6
    series[10:30, 1] = 0.2
    events = detect_events(series, params, step=0.1)
    assert [(e.candidate, e.first, e.stop) for e in events] == [(0, 10, 30)]
    assert detect_events(series, params.replace(sure_lead=0.0), step=0.1) == []
    short = series.copy()
    short[25:30, 0] = 0.0
    assert detect_events(short, params, step=0.1) == []
    rival = series.copy()
    rival[20, 2] = 0.7
    assert detect_events(rival, params, step=0.1) == []


def test_leaders_is_strict_and_a_lone_column_leads():
    series = np.array([[0.5, 0.2], [0.3, 0.3], [0.1, 0.4]])
    assert leaders(series).tolist() == [[True, False], [False, False], [False, True]]
    assert leaders(series[:, :1]).all()
