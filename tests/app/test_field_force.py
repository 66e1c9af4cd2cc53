"""The live demo's field force drives one case around the whole loop through the real HTTP API."""

import time

import pytest

from app.extensions import db
from app.models import Category, Role
from app.models.types import utcnow
from app.seed.field import FieldForce, step_towards
from app.services import cases as svc
from app.services import dispatching as dsp
from app.services.grids import grid_for_point, point_sql
from app.services.users import issue_token
from tests.factories import make_grids, make_user


def test_step_towards_walks_the_streets():
    lon, lat, arrived = step_towards(120.0, 30.0, 120.01, 30.01, 500)
    assert lat == 30.0 and lon > 120.0 and not arrived  # east–west first
    lon, lat, arrived = step_towards(lon, lat, 120.01, 30.01, 5000)
    assert arrived and lon == pytest.approx(120.01) and lat == pytest.approx(30.01)


def test_one_case_around_the_loop(app, live_server):
    make_grids()
    dispatcher, citizen = make_user(Role.DISPATCHER), make_user(Role.CITIZEN)
    workers = []
    for where in ((120.002, 30.002), (120.008, 30.008)):
        w = make_user(Role.WORKER)
        w.skills = [db.session.get(Category, "banner")]
        w.grids = [grid_for_point(120.005, 30.005)]
        w.on_duty, w.last_position, w.last_seen_at = True, point_sql(*where), utcnow()
        workers.append(w)
    db.session.flush()
    tokens = {
        "dispatcher": issue_token(dispatcher, "t"),
        "citizens": [issue_token(citizen, "t")],
        "workers": [{"id": w.id, "token": issue_token(w, "t"), "lon": lon, "lat": lat}
                    for w, (lon, lat) in zip(workers, ((120.002, 30.002), (120.008, 30.008)), strict=True)],
    }
    case, _ = svc.report_case(citizen, category_code="banner", lon=120.005, lat=30.005)
    db.session.commit()
    force = FieldForce(live_server, tokens, time_scale=10_000, handle_s=(0, 0), rate_share=1.0, fail_share=0.0)

    def status():
        db.session.expire_all()
        return db.session.get(type(case), case.id).status.value

    force.tick()
    assert status() == "filed"  # the dispatcher bot verified and filed it
    dsp.auto_dispatch()  # the job a filed case triggers
    db.session.commit()
    assert status() == "dispatched"
    force.tick()  # accept, travel (time compressed), arrive and start handling
    assert status() == "handling"
    force.tick()
    assert status() == "resolved"
    dsp.assign_checks()
    db.session.commit()
    force.tick()
    assert status() == "closed"
    force.tick()
    db.session.expire_all()
    final = db.session.get(type(case), case.id)
    assert final.rating is not None
    actions = [e.action.value for e in svc.timeline(final)]
    assert actions == ["report", "verify", "file", "dispatch", "accept", "handle", "feedback", "assign_check",
                       "check_pass", "evaluate"]
    assert {m.kind.value for m in final.media} == {"before", "after"}


def test_an_idle_demo_worker_rides_the_round_and_reports_what_it_finds(app, live_server):
    from app.models.cases import Case, Source
    from app.services import patrol, users

    make_grids()
    citizen = make_user(Role.CITIZEN)
    svc.report_case(citizen, category_code="banner", lon=120.004, lat=30.004)  # something to forecast from
    w = make_user(Role.WORKER)
    users.set_on_duty(w, True)
    users.report_position(w, 120.003, 30.003)
    rnd = patrol.make_round(w)
    db.session.commit()
    tokens = {"dispatcher": issue_token(make_user(Role.DISPATCHER), "t"), "citizens": [issue_token(citizen, "t")],
              "workers": [{"id": w.id, "token": issue_token(w, "t"), "lon": 120.003, "lat": 30.003}]}
    db.session.commit()  # the tokens
    todo = next(s for s in patrol.round_json(rnd)["round"]["stops"] if not s["looked"])
    force = FieldForce(live_server, tokens, time_scale=10_000, find_share=1.0)
    time.sleep(0.1)  # a tenth of a second at 10,000× street speed: kilometres
    done = force.tick()  # rides (time compressed) to the first block and finds something there
    assert done["found"] == 1
    db.session.expire_all()
    found = db.session.scalars(db.select(Case).where(Case.source == Source.INSPECTOR)).one()
    assert abs(found.lon - todo["lon"]) < 1e-4 and abs(found.lat - todo["lat"]) < 1e-4
    stops = patrol.round_json(patrol.current_round(db.session.get(type(w), w.id)))["round"]["stops"]
    assert next(s for s in stops if s["cell"] == todo["cell"])["looked"]  # its position there was a look
