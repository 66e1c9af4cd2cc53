"""Proactive discovery in the platform (real PostGIS and Redis): the forecast map, looks from positions, patrol
rounds planned, replaced, finished and ended, the grids' patrol coverage, and the API."""

from datetime import timedelta

import pytest

from app.errors import ValidationError
from app.extensions import db, get_redis
from app.models import CellLook, Grid, PatrolRound, RoundStatus, User
from app.models.types import utcnow
from app.services import patrol, users
from patrol.cells import cell_of
from tests.factories import HOT_CORNER, INSIDE_WEST, Cast, advance, make_grids, past_problems, reported, token_for


@pytest.fixture
def district(app):
    make_grids()
    cast = Cast()
    past_problems(cast)  # reported by citizens, not yet verified: nobody's task while the worker owns no grid
    users.set_on_duty(cast.worker, True, hours=8)
    users.report_position(cast.worker, 120.0030, 30.0030)
    db.session.commit()
    return cast


def test_the_forecast_map_flags_the_busy_corner_and_is_kept_for_the_day(district):
    fc = patrol.forecast_geojson(hours=4)
    assert fc["features"][0]["id"] == cell_of(*HOT_CORNER) and fc["features"][0]["properties"]["rank"] == 1
    ring = fc["features"][0]["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 7
    assert 0 < fc["total"] and len(fc["features"]) <= round(0.1 * fc["cells"]) + 1
    assert get_redis().get(patrol.MODEL_KEY)  # kept: the next call (any process) reads it instead of refitting
    longer = patrol.forecast_geojson(hours=24)
    assert longer["total"] > fc["total"]


def test_positions_on_duty_are_looks_and_make_the_grids_coverage(district):
    w = district.worker
    users.report_position(w, *HOT_CORNER)
    users.set_on_duty(w, False)
    users.report_position(w, 120.015, 30.005)  # off duty: not a patrol look
    db.session.commit()
    looked = {c.cell: c for c in db.session.scalars(db.select(CellLook))}
    assert cell_of(*HOT_CORNER) in looked and cell_of(120.015, 30.005) not in looked
    assert looked[cell_of(*HOT_CORNER)].last_by == w.id
    cover = patrol.coverage_by_grid(utcnow() - timedelta(hours=1), utcnow() + timedelta(minutes=1))
    west, east = sorted(cover)
    assert 0 < cover[west] < 0.1 and cover[east] == 0


def test_a_round_goes_where_problems_wait_unseen_and_looking_there_finishes_it(district):
    w = district.worker
    rnd = patrol.make_round(w)
    db.session.commit()
    cells = [s["cell"] for s in rnd.stops]
    assert cell_of(*HOT_CORNER) in cells and rnd.status is RoundStatus.ACTIVE and rnd.budget_min == 60
    assert [s["seen_s"] for s in rnd.stops] == sorted(s["seen_s"] for s in rnd.stops)
    assert rnd.stops[-1]["seen_s"] <= 60 * 60
    hot_value = next(s["value"] for s in rnd.stops if s["cell"] == cell_of(*HOT_CORNER))
    for s in rnd.stops:  # the inspector rides the round
        users.report_position(w, s["lon"], s["lat"])
    db.session.commit()
    shown = patrol.round_json(rnd)["round"]
    assert shown["done"] == len(rnd.stops) and all(s["looked"] for s in shown["stops"])
    out = patrol.plan_idle()
    db.session.commit()
    assert out == {"planned": 1, "stopped": 0, "finished": 1}
    assert rnd.status is RoundStatus.FINISHED
    nxt = patrol.current_round(w)
    again = {s["cell"]: s["value"] for s in nxt.stops}
    assert again.get(cell_of(*HOT_CORNER), 0) < hot_value / 5  # just looked at: little can be waiting there


def test_rounds_are_replaced_stopped_and_refused_as_the_day_goes(district):
    w = district.worker
    first = patrol.make_round(w)
    second = patrol.make_round(w)
    db.session.commit()
    assert first.status is RoundStatus.REPLACED and second.status is RoundStatus.ACTIVE
    case = reported(district, where=INSIDE_WEST)
    advance(district, case, "dispatched")
    db.session.commit()
    assert patrol.plan_idle()["stopped"] == 1  # sent to a case: the round gives way
    db.session.commit()
    assert second.status is RoundStatus.REPLACED and patrol.current_round(w) is None
    advance(district, case, "resolved")
    w.duty_until = utcnow() + timedelta(minutes=25)
    rnd = patrol.make_round(w)
    assert rnd.budget_min == 25  # what is left of the shift
    w.duty_until = utcnow() + timedelta(minutes=5)
    with pytest.raises(ValidationError):
        patrol.make_round(w)
    users.set_on_duty(w, False)
    with pytest.raises(ValidationError):
        patrol.make_round(w)
    db.session.rollback()
    stranger = db.session.get(User, district.checker.id)  # on duty, but the app never sent a position
    users.set_on_duty(stranger, True)
    with pytest.raises(ValidationError, match="位置"):
        patrol.make_round(stranger)
    stranger.grids = [db.session.scalars(db.select(Grid).order_by(Grid.code)).first()]
    assert patrol.make_round(stranger).stops  # from the middle of their grid instead
    db.session.rollback()


def test_the_api_for_the_field_app_and_the_console(district, client):
    me = token_for(district.worker)
    assert client.get("/api/v1/me/patrol", headers=me).get_json() == {"round": None}
    made = client.post("/api/v1/me/patrol", headers=me).get_json()["round"]
    assert made["status"] == "active" and made["stops"] and made["stops"][0]["outline"][0][0] > 119
    assert client.get("/api/v1/me/patrol", headers=me).get_json()["round"]["id"] == made["id"]
    assert client.post("/api/v1/me/patrol/end", headers=me).get_json() == {"round": None}
    assert db.session.get(PatrolRound, made["id"]).status is RoundStatus.STOPPED
    boss = token_for(district.dispatcher)
    fc = client.get("/api/v1/forecast?hours=8", headers=boss).get_json()
    assert fc["type"] == "FeatureCollection" and fc["hours"] == 8
    assert client.get("/api/v1/forecast", headers=me).status_code == 403
    bad = client.get("/api/v1/forecast?hours=500", headers=boss)
    assert bad.status_code == 400


def test_the_jobs_plan_rounds_and_keep_the_fit(district):
    from app.jobs import tasks

    worker_id = district.worker.id
    assert tasks.refit_forecast()["problems"] > 100
    assert tasks.plan_patrols()["planned"] == 1
    assert patrol.current_round(db.session.get(User, worker_id)) is not None


def test_time_to_discovery_is_estimated_from_the_blocks_last_looks(district):
    from app.services import cases as svc

    now = utcnow()
    w = district.worker
    # A block last looked at 4 h before its problem was reported: half of that is the expected wait.
    users.report_position(w, 120.0150, 30.0050, at=now - timedelta(hours=5))
    users.set_on_duty(w, False)
    db.session.commit()
    svc.report_case(district.citizen, category_code="banner", lon=120.0150, lat=30.0050, at=now - timedelta(hours=1))
    db.session.commit()
    one = patrol.discovery_hours(now - timedelta(hours=2), now)
    assert one == 2.0
    # Never looked at in the week before: a week, halved — the period's other problems pull the mean up.
    assert patrol.discovery_hours(now - timedelta(days=3), now) > one
    assert patrol.discovery_hours(now + timedelta(hours=1), now + timedelta(hours=2)) is None
    db.session.execute(db.delete(CellLook))
    assert patrol.discovery_hours(now - timedelta(hours=2), now) is None  # nobody looked anywhere near: unknown
