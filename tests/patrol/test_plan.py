"""Patrol rounds (orienteering with OR-Tools): the most valuable cells within the budget, nothing of no worth."""

from dispatch.route import metres
from patrol.plan import plan_round

START = (120.0, 30.0)
EAST_500M = (120.0 + 500 / 96_400, 30.0)  # ≈ 500 m east (a degree of longitude ≈ 96.4 km at 30° N)
NEAR = [(120.0, 30.0 + d / 110_574) for d in (100, 140, 180)]  # 100–180 m north


def test_the_round_goes_for_the_value_within_the_budget():
    points, values = [EAST_500M, *NEAR], [10.0, 1.0, 1.0, 1.0]
    # 2 m/s and 60 s per look: the far cell alone takes ≈ 310 s; the near three ≈ 270 s; not both in 400 s.
    short = plan_round(START, points, values, budget_s=400, speed_mps=2.0, look_s=60)
    assert short.cells == (0,) and short.value == 10.0 and short.duration_s <= 400
    long = plan_round(START, points, values, budget_s=2000, speed_mps=2.0, look_s=60)
    assert sorted(long.cells) == [0, 1, 2, 3] and long.value == 13.0
    assert list(long.seen_s) == sorted(long.seen_s) and long.duration_s == long.seen_s[-1] <= 2000
    # the times are the walk plus the looks, in the order walked
    first = long.cells[0]
    assert long.seen_s[0] == round(metres(START, points[first]) / 2.0 + 60)


def test_nothing_worth_a_look_is_not_visited():
    assert plan_round(START, NEAR, [0.0, 0.0, 0.0], budget_s=3600).cells == ()
    assert plan_round(START, NEAR, [1.0, 0.0, 2.0], budget_s=3600).cells in ((2, 0), (0, 2))
    assert plan_round(START, NEAR, [1.0, 1.0, 1.0], budget_s=0).cells == ()
    assert plan_round(START, [], [], budget_s=3600).value == 0.0


def test_only_the_most_valuable_candidates_are_offered():
    points = [(120.0 + i * 1e-4, 30.0) for i in range(60)]
    values = [float(i) for i in range(60)]
    r = plan_round(START, points, values, budget_s=10_000, max_candidates=5)
    assert sorted(r.cells) == [55, 56, 57, 58, 59]


def test_the_same_input_gives_the_same_round():
    points = [(120.0 + (i % 7) * 3e-4, 30.0 + (i // 7) * 3e-4) for i in range(49)]
    values = [((i * 37) % 11) / 10 for i in range(49)]
    rounds = {plan_round(START, points, values, budget_s=1800) for _ in range(3)}
    assert len(rounds) == 1  # the search stops on a count of solutions, not on the clock
