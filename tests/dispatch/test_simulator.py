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
    assert len(set(counts.values())) == 1 and counts["ours"] > 30


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
