"""The simulator: deterministic per seed, same world for every policy, the whole loop closes."""

import json

import pytest
import yaml

from app.config import BASE_DIR
from dispatch.simulator import City, SimConfig, intensity, profiles_from_categories, simulate


@pytest.fixture(scope="module")
def world():
    city = City.from_geojson(json.loads((BASE_DIR / "app/seed/data/demo_grids.geojson").read_text()), seed=1)
    cats = yaml.safe_load((BASE_DIR / "app/data/categories.yaml").read_text(encoding="utf-8"))["categories"]
    return city, profiles_from_categories(cats)


def run(world, policy, seed=3):
    city, profiles = world
    return simulate(city, profiles, SimConfig(policy=policy, workers=20, hours=4, warmup_hours=24, seed=seed))


def test_deterministic_and_same_world_for_every_policy(world):
    a, b = run(world, "ours"), run(world, "ours")
    a.pop("decision_ms_p99"), b.pop("decision_ms_p99")
    assert a == b
    counts = {p: run(world, p)["cases"] for p in ("ours", "nearest", "round_robin")}
    assert len(set(counts.values())) == 1 and counts["ours"] > 15
    # The settings do not change the day: the same reports with or without camera checks and learning.
    city, profiles = world
    cfg = {"workers": 20, "hours": 4, "warmup_hours": 24, "seed": 3}
    assert {simulate(city, profiles, SimConfig(**cfg, **extra))["cases"]
            for extra in ({}, {"camera_checks": False}, {"learning": False})} == {counts["ours"]}


def test_every_case_closes_and_figures_are_sane(world):
    r = run(world, "ours")
    assert r["closed"] == r["cases"]
    assert 0 < r["utilisation"] <= 1 and 0 < r["fairness_jain"] <= 1
    assert r["mean_close_min"] > 0 and r["p90_close_min"] >= r["median_close_min"]


def test_ours_closes_faster_than_round_robin_on_the_demo_force(world):
    city, profiles = world
    cfg = {"workers": 32, "hours": 8, "warmup_hours": 24, "seed": 5}
    ours = simulate(city, profiles, SimConfig(policy="ours", **cfg))
    rr = simulate(city, profiles, SimConfig(policy="round_robin", **cfg))
    assert ours["mean_close_min"] < rr["mean_close_min"] and ours["travel_km"] < rr["travel_km"]


def test_neighbours_of_the_demo_district(world):
    city, _ = world
    assert all(city.neighbours[g.id] for g in city.grids)  # a connected street pattern, no islands


def test_generated_city_and_intensity():
    city = City.generated(4, 3)
    assert len(city.grids) == 12 and sorted(city.neighbours[0]) == [1, 4, 5]
    assert intensity(10) > intensity(3) and intensity(16) > intensity(22)


def test_bad_config():
    from dispatch.policies import make

    with pytest.raises(ValueError):
        SimConfig(policy="magic")
    with pytest.raises(ValueError):
        make("magic")
    with pytest.raises(ValueError):
        SimConfig(warmup_hours=12)
    with pytest.raises(ValueError):
        SimConfig(camera_check_looks=0)


def test_where_the_time_goes_adds_up_to_the_time_to_close(world):
    from dispatch.simulator import FLOOR_PHASES, PHASES

    r = run(world, "ours")
    assert set(r["phases"]) == set(PHASES)
    assert sum(r["phases"].values()) == pytest.approx(r["mean_close_min"], abs=0.6)  # rounding of 10 phases
    assert r["floor_close_min"] == pytest.approx(sum(r["phases"][p] for p in FLOOR_PHASES), abs=0.05)
    assert r["phases"]["handle_work"] > r["phases"]["verify_work"] > 0  # citizens' reports are verified first


def test_camera_checks_replace_check_visits_where_a_camera_sees(world):
    city, profiles = world
    cfg = {"workers": 20, "hours": 4, "warmup_hours": 24, "seed": 3, "policy": "nearest"}
    with_cam = simulate(city, profiles, SimConfig(**cfg))
    without = simulate(city, profiles, SimConfig(camera_checks=False, **cfg))
    assert with_cam["phases"]["camera_check"] > 0 and without["phases"]["camera_check"] == 0
    # Fewer check visits for the same day's reports: less check travel and work per case (whether a case also
    # closes sooner depends on the load: an idle inspector can get there quicker than the camera's M minutes).
    assert with_cam["cases"] == without["cases"]
    for phase in ("check_work", "check_travel"):
        assert with_cam["phases"][phase] < 0.8 * without["phases"][phase]
    longer = simulate(city, profiles, SimConfig(camera_check_minutes=30, **cfg))
    assert longer["phases"]["camera_check"] > 2.5 * with_cam["phases"]["camera_check"]


def test_evaluation_seeds_are_apart_from_tuning_seeds_and_spread_is_right():
    from dispatch.evaluation import EVALUATION_SEEDS, TUNING_SEEDS, spread

    assert not set(TUNING_SEEDS) & set(EVALUATION_SEEDS)
    sp = spread([0.8, 0.9, 1.0])
    assert sp["mean"] == pytest.approx(0.9) and (sp["min"], sp["max"]) == (0.8, 1.0)
    assert sp["ci95"] == pytest.approx([0.9 - 4.303 * 0.1 / 3 ** 0.5, 0.9 + 4.303 * 0.1 / 3 ** 0.5])
    assert spread([1.0])["ci95"] == [1.0, 1.0]


def test_learning_can_be_switched_off_for_the_ablation(world):
    city, profiles = world
    cfg = {"workers": 20, "hours": 4, "warmup_hours": 24, "seed": 3}
    on, off = (simulate(city, profiles, SimConfig(learning=flag, **cfg)) for flag in (True, False))
    assert on["learning"] and not off["learning"] and on != off


def test_ours_works_its_queue_in_route_order_the_baselines_first_come(world):
    from dispatch.simulator import SimCase, Simulation, Task

    city, profiles = world
    prof = profiles[0]

    def queue_after_sequencing(policy):
        sim = Simulation(city, profiles, SimConfig(policy=policy, workers=2, hours=1, warmup_hours=24, seed=1))
        sw = sim.workers[0]
        sw.state.lon, sw.state.lat = 120.0, 30.0
        far, near = (SimCase(i, prof, 0, lon, 30.0, 0.0, 10_000.0, 3) for i, lon in ((1, 120.05), (2, 120.001)))
        sw.queue.extend([Task(1, "handle", far, 0.0, 10_000.0), Task(2, "handle", near, 0.0, 10_000.0)])
        sim._sequence(0.0, sw)
        return [t.case.id for t in sw.queue]

    assert queue_after_sequencing("ours") == [2, 1]  # the near one on the way first
    assert queue_after_sequencing("nearest") == [1, 2]


def test_routing_sees_breaks_and_shift_ends_and_the_oracle_sees_true_skill(world):
    import math

    from dispatch.simulator import Simulation

    city, profiles = world
    sim = Simulation(city, profiles, SimConfig(workers=2, hours=1, warmup_hours=24, seed=1, oracle=True))
    early = sim.workers[0]  # 07:00–15:00, a break at 11:00; the day starts at 08:00
    assert sim._off_duty(early, 0.0) == (180.0, 30.0)  # at 08:00: three hours to the break, which lasts 30 min
    assert sim._off_duty(early, 4 * 60.0) == (180.0, math.inf)  # at 12:00: three hours to the shift's end
    prof = profiles[0]
    truth = sim._stats(early.state.id, prof.code)
    assert truth.handle_min == prof.handle_mean_min * early.skill[prof.code]
    assert truth.rework_rate == pytest.approx(early.fail_prob[prof.code])
