"""`flask patrol forecast-eval`: on generated districts and on the platform's own case history (real PostGIS)."""

import json
from datetime import timedelta

from app.extensions import db
from app.models.types import utcnow
from app.services import cases as svc
from app.services import forecast
from tests.factories import Cast, make_grids, past_problems


def run(app, *args):
    return app.test_cli_runner().invoke(args=["patrol", "forecast-eval", *args])


def test_forecast_eval_on_generated_districts(app):
    r = run(app, "--seeds", "3", "--weeks", "6", "--test-weeks", "1")
    assert r.exit_code == 0, r.output
    assert "1 generated districts (seeds 3)" in r.output and "forecast ÷ hotspot hit rate at 5%" in r.output
    r = run(app, "--seeds", "3,4", "--weeks", "6", "--test-weeks", "1", "--horizon-hours", "8", "--json")
    out = json.loads(r.output)
    assert [s["seed"] for s in out["seeds"]] == [3, 4] and all(s["windows"] == 21 for s in out["seeds"])
    assert out["summary"]["forecast_hit_0.10"]["max"] <= 1.0
    assert run(app, "--seeds", "x-y").exit_code == 2
    assert run(app, "--weeks", "2").exit_code == 2


def test_forecast_eval_on_the_platforms_history(app):
    make_grids()
    cast = Cast()
    db.session.commit()
    r = run(app, "--db")
    assert r.exit_code == 1 and "案件" in r.output  # no cases yet: said in the district's language
    past_problems(cast)  # six weeks, most at one corner
    invalid, _ = svc.report_case(cast.citizen, category_code="banner", lon=120.019, lat=30.009,
                                 at=utcnow() - timedelta(days=3))
    svc.verify_case(invalid.id, cast.dispatcher, valid=False, note="不存在")
    db.session.commit()
    origin, events = forecast.history()
    assert origin.weekday() == 0 and origin.hour == 0 and str(origin.tzinfo) == "Asia/Shanghai"
    assert "banner" not in {e.category for e in events}  # not a real problem: not history
    r = run(app, "--db", "--test-weeks", "1", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["weeks"] >= 5 and out["windows"] >= 6
    assert out["forecast_hit_0.05"] > 0.5  # the busy corner is flagged
    r = run(app, "--db", "--test-weeks", "4")
    assert r.exit_code == 1 and "8" in r.output  # not enough weeks to judge four: the need is said


def test_simulate_compares_policies(app):
    r = app.test_cli_runner().invoke(args=["patrol", "simulate", "--seeds", "6", "--days", "1", "--policies",
                                           "none,forecast", "--processes", "1"])
    assert r.exit_code == 0, r.output
    assert "found before a citizen report (主动发现率)" in r.output and "forecast ÷ none, time to discovery" in r.output
    r = app.test_cli_runner().invoke(args=["patrol", "simulate", "--policies", "none,clairvoyant"])
    assert r.exit_code == 2 and "clairvoyant" in r.output
