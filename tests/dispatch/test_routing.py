"""Routing decisions: hard rules, 属地 tiers, late binding, batch optimality, capacity, priorities."""

import math

import pytest

from dispatch.learning import Stats, prior
from dispatch.routing import CaseRequest, Weights, WorkerState, can_take, distance_km, plan, terms

W = Weights()
# Grids 1 | 2 | 3 in a row, ~1 km apart; 1–2 and 2–3 are neighbours, 1–3 are not.
NEIGHBOURS = {1: [2], 2: [1, 3], 3: [2]}
X = {1: 120.000, 2: 120.010, 3: 120.020}


def worker(id_, grid, lon=None, **kw):
    kw.setdefault("skills", frozenset({"banner", "bin_overflow"}))
    kw.setdefault("capacity", 3)
    return WorkerState(id=id_, lon=lon if lon is not None else X[grid], lat=30.0, grids=frozenset({grid}), **kw)


def case(id_, grid, lon=None, **kw):
    kw.setdefault("category", "banner")
    kw.setdefault("due_in_min", 600)
    return CaseRequest(id=id_, lon=lon if lon is not None else X[grid], lat=30.0, grid_id=grid, **kw)


def flat(_w, _c):
    return prior(30.0)


def test_distance_is_haversine():
    # Equirectangular; the great circle gives 0.963 km.
    assert distance_km(120.0, 30.0, 120.01, 30.0) == pytest.approx(0.9640, rel=1e-3)


@pytest.mark.parametrize(
    ("change", "ok"),
    [
        ({}, True),
        ({"on_duty": False}, False),
        ({"position_age_min": 31}, False),
        ({"open_tasks": 3}, False),
        ({"skills": frozenset({"graffiti"})}, False),
        ({"skills": frozenset(), "department_type": "sanitation"}, True),  # the responsible department
    ],
)
def test_hard_rules(change, ok):
    c = case(1, 1, department_type="sanitation")
    assert can_take(c, worker(7, 1, **change), W) is ok


def test_failed_twice_or_excluded_is_not_eligible():
    wk = worker(7, 1)
    assert can_take(case(1, 1, failed_by={7: 1}), wk, W)
    assert not can_take(case(1, 1, failed_by={7: 2}), wk, W)
    assert not can_take(case(1, 1, exclude=frozenset({7})), wk, W)


def test_owner_beats_an_equally_near_neighbour():
    owner = worker(1, 1, lon=X[1] + 0.002)
    neighbour = worker(2, 2, lon=X[1] - 0.002)
    p = plan([case(10, 1)], [neighbour, owner], flat, W, NEIGHBOURS)
    assert [(a.case_id, a.worker_id) for a in p.assignments] == [(10, 1)]
    assert p.assignments[0].terms["neighbour"] == 0


def test_neighbour_helps_when_the_owner_is_saturated():
    owner = worker(1, 1, open_tasks=2, queued_min=90)  # would start in 90 minutes
    neighbour = worker(2, 2)
    p = plan([case(10, 1)], [owner, neighbour], flat, W, NEIGHBOURS)
    assert p.assignments[0].worker_id == 2 and p.assignments[0].terms["neighbour"] == 1


def test_wide_tier_only_when_no_local_worker_is_free():
    far = worker(3, 3)  # grid 3 is not a neighbour of grid 1
    busy_owner = worker(1, 1, open_tasks=3)
    p = plan([case(10, 1)], [busy_owner, far], flat, W, NEIGHBOURS)
    assert p.assignments[0].worker_id == 3 and p.assignments[0].terms["wide"] == 1
    free_owner = worker(1, 1)
    p = plan([case(10, 1)], [free_owner, worker(3, 3)], flat, W, NEIGHBOURS)
    assert p.assignments[0].worker_id == 1


def test_late_binding_waits_rather_than_queueing_far_ahead():
    busy = worker(1, 1, open_tasks=1, queued_min=60)
    p = plan([case(10, 1)], [busy], flat, W, NEIGHBOURS)
    assert not p.assignments and "busy" in p.waiting[10]
    urgent = case(11, 1, due_in_min=60)  # 60 − 30 min of handling < 45 min margin: at risk, queue it now
    p = plan([urgent], [worker(1, 1, open_tasks=1, queued_min=60)], flat, W, NEIGHBOURS)
    assert p.assignments[0].worker_id == 1


def test_no_work_that_could_only_start_after_the_shift_ends():
    leaving = worker(1, 1, open_tasks=1, queued_min=20, off_in_min=15)  # done in 20 min, off duty in 15
    staying = worker(2, 2, open_tasks=1, queued_min=20)  # a neighbour, just as busy, shift end unknown
    urgent = case(10, 1, due_in_min=60)  # at risk: it may be queued behind work
    p = plan([urgent], [leaving, staying], flat, W, NEIGHBOURS)
    assert [a.worker_id for a in p.assignments] == [2]
    p = plan([case(11, 1, due_in_min=60)], [worker(1, 1, open_tasks=1, queued_min=20, off_in_min=15)], flat, W,
             NEIGHBOURS)
    assert not p.assignments and "busy" in p.waiting[11]  # nobody else: it waits for the next shift


def test_a_break_ahead_counts_as_waiting():
    before_break = worker(1, 1, off_in_min=0.5, off_for_min=30)  # idle, but on a break before arriving
    neighbour = worker(2, 2)
    p = plan([case(10, 1, lon=X[1] + 0.003)], [before_break, neighbour], flat, W, NEIGHBOURS)
    assert p.assignments[0].worker_id == 2 and p.assignments[0].terms["workload"] == 0


def test_batch_is_optimal_not_greedy():
    # Worker A sits between the cases; B is far right. Greedy (case 1 first → A) leaves case 2 to B far away;
    # the optimum gives case 2 to A and case 1 to B, which is cheaper in total.
    a = worker(1, 2, lon=120.012)
    b = worker(2, 2, lon=120.030)
    cases = [case(1, 2, lon=120.010), case(2, 2, lon=120.016)]
    wts = Weights(commit_horizon_min=0, workload=0, wide_radius_km=50)
    p = plan(cases, [a, b], flat, wts, NEIGHBOURS)
    pairs = {(x.case_id, x.worker_id) for x in p.assignments}
    greedy_cost = distance_km(120.012, 30, 120.010, 30) + distance_km(120.030, 30, 120.016, 30)
    chosen = sum(x.terms["km"] for x in p.assignments)
    assert chosen <= greedy_cost + 1e-9
    assert len(pairs) == 2


def test_capacity_is_never_exceeded_within_a_round():
    wk = worker(1, 1, capacity=1)
    p = plan([case(1, 1), case(2, 1), case(3, 1)], [wk], flat, W, NEIGHBOURS)
    assert len(p.assignments) == 1 and len(p.waiting) == 2
    assert wk.open_tasks == 1


def test_urgent_cases_are_served_first():
    wk = worker(1, 1, capacity=1)
    p = plan([case(1, 1, priority=3), case(2, 1, priority=1)], [wk], flat, W, NEIGHBOURS)
    assert [a.case_id for a in p.assignments] == [2] and 1 in p.waiting


def test_nothing_is_dropped():
    cases = [case(i, 1 + i % 3, category="banner" if i % 2 else "graffiti") for i in range(20)]
    workers = [worker(i, 1 + i % 3, capacity=2) for i in range(4)]
    p = plan(cases, workers, flat, W, NEIGHBOURS)
    assert {a.case_id for a in p.assignments} | set(p.waiting) == set(range(20))
    assert not {a.case_id for a in p.assignments} & set(p.waiting)
    assert all(p.waiting[i] for i in p.waiting)


def test_learned_quality_steers_the_choice():
    careless = worker(1, 1, lon=X[1] + 0.001)
    careful = worker(2, 1, lon=X[1] + 0.003)

    def stats(wid, _c):
        return Stats(20, 30.0, 0.5 if wid == 1 else 0.98, 4.5)

    assert plan([case(1, 1)], [careless, careful], stats, W, NEIGHBOURS).assignments[0].worker_id == 2


def test_repeat_failure_prefers_someone_else():
    first = worker(1, 1, lon=X[1])
    other = worker(2, 1, lon=X[1] + 0.004)
    p = plan([case(1, 1, failed_by={1: 1})], [first, other], flat, W, NEIGHBOURS)
    assert p.assignments[0].worker_id == 2


def test_outside_every_grid_uses_radius():
    near = worker(1, 1)
    c = CaseRequest(id=5, category="banner", lon=X[1] + 0.01, lat=30.0, grid_id=None, due_in_min=600)
    assert plan([c], [near], flat, W, NEIGHBOURS).assignments[0].worker_id == 1
    far = CaseRequest(id=6, category="banner", lon=121.0, lat=30.0, grid_id=None, due_in_min=600)
    assert "near" in plan([far], [worker(1, 1)], flat, W, NEIGHBOURS).waiting[6]


def test_weights_from_mapping():
    assert Weights.from_mapping({"travel": "2"}).travel == 2.0
    with pytest.raises(ValueError):
        Weights.from_mapping({"speed": 3})


def test_cost_equals_the_explained_terms():
    from dispatch.routing import weigh

    cases = [case(i, 1 + i % 3, due_in_min=40 + 30 * i, failed_by={i % 4: 1}) for i in range(12)]
    workers = [worker(i, 1 + i % 3, capacity=3, queued_min=3 * i) for i in range(5)]
    p = plan(cases, workers, flat, W, NEIGHBOURS)
    assert p.assignments
    for a in p.assignments:
        assert a.cost == pytest.approx(weigh(a.terms, W), abs=0.05)


def test_travel_is_what_the_case_adds_to_the_route_not_the_distance_from_here():
    from dispatch.routing import insertion_km

    here = WorkerState(id=1, lon=120.0, lat=30.0, skills=frozenset({"x"}), grids=frozenset(), capacity=5)
    east = 120.0 + 1 / (111.32 * math.cos(math.radians(30)))  # 1 km east
    assert insertion_km(here, east, 30.0) == pytest.approx(1.0, abs=0.01)  # nothing queued: from here
    queued = WorkerState(id=2, lon=120.0, lat=30.0, skills=frozenset({"x"}), grids=frozenset(), capacity=5,
                         stops=((120.0 + 2 * (east - 120.0), 30.0),))  # on the way to a stop 2 km east
    assert insertion_km(queued, east, 30.0) == pytest.approx(0.0, abs=0.01)  # on the way: adds nothing
    beyond = insertion_km(queued, 120.0 + 3 * (east - 120.0), 30.0)
    assert beyond == pytest.approx(1.0, abs=0.01)  # after the last stop: 1 km further


def test_a_worker_passing_by_is_cheaper_than_the_distance_says():
    case = CaseRequest(id=1, category="x", lon=120.02, lat=30.0, grid_id=None, due_in_min=600)
    far_but_going = WorkerState(id=1, lon=120.0, lat=30.0, skills=frozenset({"x"}), grids=frozenset(), capacity=5,
                                stops=((120.03, 30.0),), open_tasks=1, queued_min=5)
    t = terms(case, far_but_going, prior(10), Weights())
    assert t["travel"] < 1 and t["km"] < 0.05


def test_nearest_eligible_workers_match_a_brute_force_scan():
    import random

    from dispatch.routing import SpatialIndex

    rng = random.Random(5)
    for _ in range(200):
        people = [WorkerState(id=i, lon=120 + rng.uniform(0, 0.15), lat=30 + rng.uniform(0, 0.12),
                              skills=frozenset(rng.sample("abcdef", 3)), grids=frozenset({1}), capacity=3,
                              open_tasks=rng.randrange(0, 4)) for i in range(rng.choice([0, 5, 50, 500]))]
        c = CaseRequest(id=1, category=rng.choice("abcdef"), lon=120 + rng.uniform(0, 0.15),
                        lat=30 + rng.uniform(0, 0.12), grid_id=1, due_in_min=100)
        radius, k = rng.choice([0.5, 2, 5]), rng.choice([1, 3, 8])
        brute = sorted((wk for wk in people if can_take(c, wk, W)
                        and distance_km(wk.lon, wk.lat, c.lon, c.lat) <= radius),
                       key=lambda wk: (distance_km(wk.lon, wk.lat, c.lon, c.lat), wk.id))[:k]
        got = SpatialIndex(people).nearest(c, W, radius_km=radius, k=k)
        assert [wk.id for wk in got] == [wk.id for wk in brute]
