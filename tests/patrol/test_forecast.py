"""The forecast library: H3 cells, the self-exciting model fitted by EM, the generated histories and the
hit-rate / PAI evaluation against last month's hotspot map."""

import h3
import numpy as np
import pytest

from patrol import cells as hexes
from patrol.cells import Cells
from patrol.evaluate import SHARES, held_out, synthetic
from patrol.forecast import Events, Forecaster, flagged, hotspot_map
from patrol.history import CATEGORIES, EVAL_SEEDS, FAMILIES, TUNING_SEEDS, district_cells, generate, week_profile

DISTRICT = district_cells(7, rings=6)  # 127 cells


def test_cells_number_a_district_and_know_their_rings():
    cells = Cells(DISTRICT, radius=2)
    centre = max(range(len(cells)), key=lambda i: len(cells.rings[i]))
    assert len(cells.rings[centre]) == 19  # itself, 6 at one step, 12 at two
    assert sorted(d for _, d in cells.rings[centre]).count(1) == 6 and cells.ring_sizes() == [1, 6, 12]
    assert all(cells.distance(centre, b) == d for b, d in cells.rings[centre])
    lon, lat = hexes.centre(DISTRICT[centre])
    assert hexes.cell_of(lon, lat) == DISTRICT[centre]
    ring = hexes.boundary(DISTRICT[centre])
    assert ring[0] == ring[-1] and len(ring) == 7
    square = {"type": "Polygon", "coordinates": [[[lon - 0.01, lat - 0.01], [lon + 0.01, lat - 0.01],
                                                  [lon + 0.01, lat + 0.01], [lon - 0.01, lat + 0.01],
                                                  [lon - 0.01, lat - 0.01]]]}
    covering = hexes.cells_covering(square)
    area_m2 = (0.02 * 111_320 * np.cos(np.radians(lat))) * (0.02 * 110_570)
    assert DISTRICT[centre] in covering
    assert len(covering) == pytest.approx(area_m2 / h3.cell_area(DISTRICT[centre], "m^2"), rel=0.1)


def poisson_history(rng, n_cells, rates, weeks, hour=None):
    """Independent problems (no recurrence) at the given per-cell weekly rates, category 0."""
    rows = []
    for c, rate in enumerate(rates):
        for _ in range(rng.poisson(rate * weeks)):
            t = rng.uniform(0, weeks * 168)
            if hour is not None:
                t = 24 * rng.integers(0, weeks * 7) + hour + rng.uniform(0, 1)
            rows.append((t, c, 0))
    return Events.of(rows)


def test_the_background_follows_the_places_and_no_recurrence_is_invented():
    rng = np.random.default_rng(1)
    cells = Cells(DISTRICT)
    rates = np.full(len(cells), 0.2)
    rates[[5, 40, 90]] = 8.0  # three busy corners
    events = poisson_history(rng, len(cells), rates, weeks=10)
    model = Forecaster(cells, 1).fit(events, until=10 * 168)
    week = model.expected(10 * 168, 168)
    assert set(np.argsort(-week)[:3]) == {5, 40, 90}
    assert week.sum() == pytest.approx(rates.sum(), rel=0.15)  # problems per week, as generated
    assert model.theta[0] < 0.08  # independent problems: little rise is found


def test_recurrence_is_found_and_raises_the_forecast_next_to_a_fresh_problem():
    rng = np.random.default_rng(2)
    cells = Cells(DISTRICT)
    base = poisson_history(rng, len(cells), np.full(len(cells), 0.3), weeks=10)
    rows = list(zip(base.t.tolist(), base.cell.tolist(), base.cat.tolist(), strict=True))
    for t, c, _ in list(rows):  # every problem brings, on average, 0.6 more at the same place within a day
        for _ in range(rng.poisson(0.6)):
            rows.append((t + rng.exponential(10), c, 0))
    # 0.6 offspring per first problem and none per offspring: 0.6 / 1.6 = 0.375 per problem on average
    events = Events.of(r for r in rows if r[0] < 10 * 168)
    model = Forecaster(cells, 1).fit(events, until=9 * 168)
    assert 0.28 < model.theta[0] < 0.47 and model.w[0] > 0.6 and 5 < 1 / model.omega < 15
    t0 = 9 * 168 + 30
    quiet = events.before(9 * 168)
    fresh = Events.of([*zip(quiet.t, quiet.cell, quiet.cat, strict=True), (t0 - 1, 60, 0)])
    before, after = model.expected(t0, 24, history=quiet), model.expected(t0, 24, history=fresh)
    assert after[60] - before[60] > 0.2  # the fresh problem's cell
    ring1 = [b for b, d in cells.rings[60] if d == 1]
    assert 0 <= (after[ring1] - before[ring1]).max() < after[60] - before[60]  # less around it
    far = [i for i in range(len(cells)) if cells.distance(i, 60) > 2]
    assert np.allclose(after[far], before[far])


def test_the_hour_of_the_week_is_learnt():
    rng = np.random.default_rng(3)
    cells = Cells(DISTRICT)
    events = poisson_history(rng, len(cells), np.full(len(cells), 1.0), weeks=8, hour=19)
    model = Forecaster(cells, 1).fit(events, until=8 * 168)
    evening = model.expected(8 * 168 + 24 + 18, 3).sum()
    night = model.expected(8 * 168 + 24 + 2, 3).sum()
    assert evening > 5 * night


def test_flagging_and_the_hotspot_map():
    scores = np.array([0.0, 5.0, 1.0, 5.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    assert set(flagged(scores, 0.2, np.zeros(10))) == {1, 3}
    assert list(flagged(scores, 0.1, np.array([0, 0.9, 0, 0.1, 0, 0, 0, 0, 0, 0]))) == [3]  # tie: the draw
    events = Events.of([(10.0, 1, 0), (700.0, 1, 0), (710.0, 2, 0), (800.0, 2, 0)])
    assert list(hotspot_map(events, 3, t0=750.0)) == [0.0, 1.0, 1.0]  # the 28 days before, not after


def test_generated_histories_are_repeatable_and_seeds_kept_apart():
    assert not set(TUNING_SEEDS) & set(EVAL_SEEDS)
    a_cells, a = generate(5, weeks=3, rings=5)
    b_cells, b = generate(5, weeks=3, rings=5)
    assert a == b and a_cells == b_cells and a != generate(6, weeks=3, rings=5)[1]
    assert all(x.t <= y.t for x, y in zip(a, a[1:], strict=False)) and {e.category for e in a} <= set(CATEGORIES)
    assert all(e.cell in set(a_cells) for e in a) and 0 <= min(e.t for e in a) and max(e.t for e in a) < 3 * 168
    for profile in map(week_profile, FAMILIES):
        assert profile.mean() == pytest.approx(1.0) and profile.max() > 2 * profile.min()


def test_held_out_evaluation_beats_chance_and_reports_pai():
    out = synthetic([TUNING_SEEDS[0]], weeks=8, test_weeks=2)
    row = out["seeds"][0]
    assert row["windows"] == 14 and row["problems"] > 300
    for share in SHARES:
        hit = row[f"forecast_hit_{share:.2f}"]
        assert hit > 3 * share  # far better than flagging cells at random
        area = round(share * row["cells"]) / row["cells"]
        assert row[f"forecast_pai_{share:.2f}"] == pytest.approx(hit / area)
    assert out["summary"]["forecast_hit_0.05"]["min"] == row["forecast_hit_0.05"]


def test_nothing_to_forecast_from_is_not_an_error():
    cells = Cells(DISTRICT)
    empty = Events.of([])
    assert Forecaster(cells, 2).fit(empty, until=168).expected(168, 24).sum() == 0
    assert held_out(cells, 2, empty, 1, 1)["problems"] == 0


def test_a_fitted_model_is_kept_and_read_back_exactly():
    import json

    rng = np.random.default_rng(8)
    cells = Cells(DISTRICT)
    events = poisson_history(rng, len(cells), np.full(len(cells), 0.5), weeks=4)
    model = Forecaster(cells, 1).fit(events, until=4 * 168)
    again = Forecaster.from_dict(json.loads(json.dumps(model.to_dict())))
    recent = events.before(4 * 168)
    assert np.allclose(again.expected(4 * 168 + 5, 8, history=recent), model.expected(4 * 168 + 5, 8, history=recent))
