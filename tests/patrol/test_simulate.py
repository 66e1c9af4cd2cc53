"""The discovery simulator: latent problems found by citizens, cameras and inspectors; policies on equal terms."""

import math

import numpy as np
import pytest

from patrol.simulate import (
    CATEGORIES,
    DETECTABLE,
    POLICIES,
    SimConfig,
    Simulation,
    World,
    compare,
    evaluate,
    unseen_value,
)

SMALL = {"days": 1, "history_weeks": 3, "drain_h": 24.0}


@pytest.fixture(scope="module")
def runs():
    return compare(3, **SMALL)


def test_settings_are_checked():
    with pytest.raises(ValueError, match="policy"):
        SimConfig(policy="psychic")
    with pytest.raises(ValueError, match="load"):
        SimConfig(load=1.2)


def test_every_policy_meets_the_same_problems(runs):
    assert set(runs) == set(POLICIES)
    assert len({r["problems"] for r in runs.values()}) == 1 and runs["none"]["problems"] > 20
    assert len({r["inspectors"] for r in runs.values()}) == 1


def test_without_patrols_only_citizens_cameras_and_inspectors_on_site_find_problems(runs):
    none = runs["none"]
    assert none["patrol_hours_per_day"] == 0 and none["found_by"]["patrol"] == 0
    assert none["found_by"]["citizen"] > 0.4  # most of what is found comes from citizens then
    assert none["proactive_share"] == pytest.approx(1 - none["found_by"]["citizen"])


def test_patrols_find_problems_sooner_and_reported_cases_are_not_fixed_later(runs):
    ours, none = runs["forecast"], runs["none"]
    assert ours["patrol_hours_per_day"] > 1 and ours["found_by"]["patrol"] > 0.1
    assert ours["proactive_share"] > none["proactive_share"] + 0.1
    assert ours["discovery_h"] < none["discovery_h"]
    assert ours["reported_close_h"] < 1.5 * none["reported_close_h"]
    for r in runs.values():
        assert r["unfixed"] == 0  # everything found is fixed by the end of the drain
        assert r["found"] + r["gone_unseen"] + r["still_waiting"] == r["problems"]


def test_the_force_is_sized_to_the_load():
    cfg = SimConfig(seed=4, **SMALL)
    world = World(cfg)
    n = world.inspectors
    use = Simulation(world, cfg, everything_reported=True).run()["task_use"]
    world.inspectors = n - 1
    fewer = Simulation(world, cfg, everything_reported=True).run()["task_use"] if n > 1 else math.inf
    world.inspectors = n + 1
    more = Simulation(world, cfg, everything_reported=True).run()["task_use"]
    assert fewer > use > more  # fewer people, busier
    assert abs(use - cfg.load) <= min(abs(fewer - cfg.load), abs(more - cfg.load))  # the size closest to 85 %


def test_problems_waiting_unseen_grow_with_the_time_since_the_last_look():
    rates = np.zeros((3, len(CATEGORIES)))
    garbage, vendor = CATEGORIES.index("exposed_garbage"), CATEGORIES.index("mobile_vendor")
    rates[:, garbage] = 1.0
    place = np.ones(3)
    hours = np.array([1.0, 4.0, 48.0])
    v = unseen_value(rates, CATEGORIES, hours, place, camera_cells=set(), camera_catch=0.8)
    assert v[0] < v[1] < v[2] and v[2] > 10 * v[0]  # never-reported garbage piles up
    watched = unseen_value(rates, CATEGORIES, hours, place, camera_cells={0, 1, 2}, camera_catch=0.8)
    assert "exposed_garbage" in DETECTABLE and np.allclose(watched, 0.2 * v)
    rates[:] = 0
    rates[:, vendor] = 1.0
    stalls = unseen_value(rates, CATEGORIES, hours, place, camera_cells=set(), camera_catch=0.8)
    assert stalls[2] == pytest.approx(stalls[1], rel=0.2)  # stalls move on within hours: old looks lose little


def test_evaluate_summarises_over_seeds():
    out = evaluate([5], policies=("none", "forecast"), **SMALL)
    assert [set(r) for r in out["seeds"]] == [{"none", "forecast"}]
    s = out["summary"]
    assert s["forecast"]["proactive_share"]["n"] == 1 and "forecast_vs_none_discovery_h" in s
