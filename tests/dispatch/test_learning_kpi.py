"""Learning from outcomes and the KPI maths."""

import pytest

from dispatch import kpi
from dispatch.learning import OVERALL, Outcome, Stats, estimate, learn, prior, update


def test_record_is_the_workers_own_and_the_prior_comes_in_when_read():
    s = prior(60.0)
    s1 = update(s, Outcome(120.0, True))
    assert s1.n == 1 and s1.handle_min == 120.0 and s1.first_fix_rate == 1.0  # the record: their one case
    read = estimate(prior(60.0), None, s1)  # read back: the prior is worth PRIOR_WEIGHT (2) of their cases
    assert read.handle_min == pytest.approx((2 * 60 + 120) / 3) and read.first_fix_rate == pytest.approx(
        (2 * 0.9 + 1.0) / 3)
    s2 = update(s1, Outcome(60.0, True))
    assert s2.handle_min == pytest.approx(90.0)  # a plain mean while the record is short
    for _ in range(40):
        s1 = update(s1, Outcome(20.0, False, rating=2))
    assert s1.handle_min == pytest.approx(20.0, abs=0.5)
    assert s1.first_fix_rate < 0.01 and s1.rework_rate > 0.99 and s1.satisfaction == pytest.approx(2, abs=0.05)


def test_rating_none_keeps_satisfaction():
    assert update(prior(30), Outcome(30, True)).satisfaction == 4.0


def test_estimate_pools_a_worker_across_categories():
    table = {}
    for _ in range(30):
        learn(table, 7, "banner", prior(60.0), Outcome(30.0, True, 5))  # twice as fast as the prior
    overall = table[(7, OVERALL)]
    assert overall.handle_min == pytest.approx(0.5, abs=0.05)
    unseen = estimate(prior(40.0), overall, None)
    assert unseen.handle_min == pytest.approx(20.0, abs=2)  # quick here too
    once = {}
    learn(once, 8, "banner", prior(60.0), Outcome(30.0, False))  # one case says little about a person
    guess = estimate(prior(40.0), once[(8, OVERALL)], None)
    assert 20.0 < guess.handle_min < 40.0 and 0.0 < guess.rework_rate < 0.5
    seen = estimate(prior(60.0), overall, table[(7, "banner")])
    assert seen.handle_min == pytest.approx(30.0, abs=3)
    assert estimate(prior(40.0), None, None) == prior(40.0)


def test_summarize():
    recs = [
        kpi.CaseRecord(reported=0, closed=100, due=120, reworks=0, rating=5, auto_dispatched=True),
        kpi.CaseRecord(reported=0, closed=300, due=120, reworks=1, delays=1, rating=2, auto_dispatched=True,
                       rerouted=True),
        kpi.CaseRecord(reported=0, closed=None, due=120),
        kpi.CaseRecord(reported=0, closed=10, due=120, counts=False),  # void: not counted
    ]
    s = kpi.summarize(recs)
    assert s["cases"] == 3 and s["closed"] == 2
    assert s["closure_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert s["on_time_rate"] == 0.5 and s["rework_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert s["delay_rate"] == pytest.approx(1 / 3, abs=1e-4) and s["first_time_fix_rate"] == 0.5
    assert s["mean_close_min"] == 200 and s["p90_close_min"] == 280
    assert s["mean_satisfaction"] == 3.5 and s["dispatch_accuracy"] == 0.5


def test_resolution_time_decides_on_time_when_known():
    r = kpi.CaseRecord(reported=0, closed=200, due=120, resolved=110)
    assert kpi.summarize([r])["on_time_rate"] == 1.0


def test_grouped_percentile_jain():
    rows = kpi.grouped([("b", kpi.CaseRecord(0, 10, 20)), ("a", kpi.CaseRecord(0, 30, 20))], "grid")
    assert [r["grid"] for r in rows] == ["a", "b"] and rows[0]["on_time_rate"] == 0
    assert kpi.percentile([], 90) is None and kpi.percentile([1, 2, 3, 4], 50) == 2.5
    assert kpi.jain([1, 1, 1, 1]) == 1.0 and kpi.jain([4, 0, 0, 0]) == 0.25 and kpi.jain([]) is None
    assert kpi.summarize([])["on_time_rate"] is None
    assert isinstance(Stats(1, 1, 1, 1).rework_rate, float)


def test_proactive_rate_counts_real_cases_found_by_the_platforms_own_eyes():
    recs = [kpi.CaseRecord(reported=0.0, closed=None, due=None, proactive=True),
            kpi.CaseRecord(reported=0.0, closed=None, due=None),
            kpi.CaseRecord(reported=0.0, closed=None, due=None, proactive=True, counts=False)]  # merged: not work
    assert kpi.summarize(recs)["proactive_rate"] == 0.5
    assert kpi.summarize([])["proactive_rate"] is None
