"""Today's route: OR-Tools' order against brute force on small days, deadlines first, arrival times."""

import itertools
import random

import pytest

from dispatch.route import Stop, metres, plan

START = (120.0, 30.0)
M_PER_DEG_LON = metres((120.0, 30.0), (121.0, 30.0))


def east(m: float) -> float:
    return START[0] + m / M_PER_DEG_LON


def walk(start, stops, order, speed=1.3) -> float:
    pos, total = start, 0.0
    by_id = {s.id: s for s in stops}
    for sid in order:
        s = by_id[sid]
        total += metres(pos, (s.lon, s.lat)) / speed
        pos = (s.lon, s.lat)
    return total


def test_no_tasks_no_route():
    assert plan(START, []) == []


def test_stops_along_a_street_are_visited_in_line():
    stops = [Stop(i, east(m), 30.0, service_s=0) for i, m in ((1, 300), (2, 100), (3, 400), (4, 200))]
    legs = plan(START, stops)
    assert [leg.id for leg in legs] == [2, 4, 1, 3]
    assert [leg.arrive_s for leg in legs] == pytest.approx([77, 154, 231, 308], abs=2)  # 1.3 m/s
    assert all(leg.late_s == 0 for leg in legs)


def test_an_urgent_task_goes_first_even_when_farther():
    stops = [Stop(1, east(100), 30.0), Stop(2, east(200), 30.0), Stop(3, east(-600), 30.0, due_s=600)]
    order = [leg.id for leg in plan(START, stops)]
    assert order[0] == 3
    assert plan(START, stops)[0].late_s == 0


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("solver", ["exact", "or-tools"])
def test_close_to_the_best_order_on_small_days(seed, solver, monkeypatch):
    import dispatch.route

    if solver == "or-tools":  # the solver a day of many stops gets, on a day small enough to check
        monkeypatch.setattr(dispatch.route, "EXACT_MAX", 0)
    rng = random.Random(seed)
    stops = [Stop(i, START[0] + rng.uniform(-0.01, 0.01), START[1] + rng.uniform(-0.01, 0.01), service_s=0)
             for i in range(1, 7)]
    best = min(walk(START, stops, p) for p in itertools.permutations([s.id for s in stops]))
    got = walk(START, stops, [leg.id for leg in plan(START, stops)])
    assert got <= best * 1.02 + 1
