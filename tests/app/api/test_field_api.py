"""The field app's API: my tasks with today's route, actions applied once (action keys), refused when stale."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Case, CaseEvent, Grid
from app.services import cases as svc
from app.services.users import report_position
from tests.factories import EAST, INSIDE_WEST, advance, jpeg, reported, token_for

EAST_POINT = (EAST.centroid.x, EAST.centroid.y)


def events_of(case_id: int) -> list[str]:
    return [a.value for a in db.session.scalars(
        select(CaseEvent.action).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id))]


def test_my_tasks_lists_what_is_mine_in_route_order_without_contacts(client, town):
    west = db.session.scalars(select(Grid).where(Grid.code == "330100001001001")).one()
    town.worker.grids.append(west)
    report_position(town.worker, 120.001, 30.005)
    far = advance(town, reported(town, where=EAST_POINT, reporter_contact="13900000000"), "dispatched")
    near = advance(town, reported(town, where=(120.003, 30.005)), "dispatched")
    to_verify = reported(town)  # in the worker's grid, waiting for 核实
    to_check = advance(town, reported(town), "resolved")  # handled by the worker; the checker checks
    svc.assign_checker(to_check.id, town.dispatcher, checker_id=town.checker.id)
    someone_elses = reported(town, where=EAST_POINT)  # not in the worker's grid
    db.session.commit()

    body = client.get("/api/v1/me/tasks?lang=en", headers=token_for(town.worker)).json
    got = {f["properties"]["number"]: f["properties"] for f in body["features"]}
    assert set(got) == {far.number, near.number, to_verify.number}
    assert someone_elses.number not in got and to_check.number not in got
    assert got[near.number]["task"] == "handle" and got[to_verify.number]["task_label"] == "Verify"
    assert got[near.number]["distance_m"] < got[far.number]["distance_m"]
    assert body["routed"] and sorted(p["route"] for p in got.values()) == [1, 2, 3]
    dues = [f["properties"]["due_at"] for f in body["features"]]
    assert dues[-1] is None and dues[:-1] == sorted(dues[:-1])  # due first; the 核实 task has no deadline
    assert got[far.number]["route"] == 3  # across the grid edge: the last stop
    assert "13900000000" not in str(body) and "reporter" not in got[far.number]
    assert got[near.number]["version"] == max(e.id for e in near.events)
    assert 0 < got[near.number]["share_left"] <= 1

    checks = client.get("/api/v1/me/tasks", headers=token_for(town.checker)).json["features"]
    assert [(f["properties"]["number"], f["properties"]["task"]) for f in checks] == [(to_check.number, "check")]
    assert client.get("/api/v1/me/tasks", headers=token_for(town.dispatcher)).status_code == 403


def test_an_action_sent_twice_is_applied_once(client, town):
    case = advance(town, reported(town), "dispatched")
    db.session.commit()
    headers = token_for(town.worker)
    first = client.post(f"/api/v1/cases/{case.id}/accept", json={"action_key": "phone-1:0001"}, headers=headers)
    again = client.post(f"/api/v1/cases/{case.id}/accept", json={"action_key": "phone-1:0001"}, headers=headers)
    assert first.status_code == 200 and first.json["properties"]["applied"] is True
    assert again.status_code == 200 and again.json["properties"]["applied"] is False
    assert events_of(case.id).count("accept") == 1
    other = advance(town, reported(town), "dispatched")
    db.session.commit()
    reused = client.post(f"/api/v1/cases/{other.id}/accept", json={"action_key": "phone-1:0001"}, headers=headers)
    assert reused.status_code == 409 and reused.json["error"]["details"]["reason"] == "key_reused"
    assert "accept" not in events_of(other.id)


def test_an_action_on_a_case_changed_by_someone_else_is_refused_as_stale(client, town):
    case = advance(town, reported(town), "dispatched")
    db.session.commit()
    headers = token_for(town.worker)
    seen = client.get(f"/api/v1/cases/{case.id}", headers=headers).json["properties"]["version"]
    svc.dispatch_case(case.id, town.dispatcher, assignee_id=town.checker.id)  # reassigned while the phone was away
    db.session.commit()
    r = client.post(f"/api/v1/cases/{case.id}/accept?lang=en", json={"base_version": seen, "action_key": "k-stale-1"},
                    headers=headers)
    assert r.status_code == 409
    err = r.json["error"]
    assert err["details"]["reason"] == "stale" and [c["action"] for c in err["details"]["changes"]] == ["dispatch"]
    assert "changed since you last saw it" in err["message"] and "dispatch" in err["message"]
    assert events_of(case.id)[-1] == "dispatch"  # nothing applied


def test_my_own_queued_actions_and_escalations_are_not_conflicts(client, town):
    case = advance(town, reported(town), "dispatched")
    db.session.commit()
    headers = token_for(town.worker)
    seen = client.get(f"/api/v1/cases/{case.id}", headers=headers).json["properties"]["version"]
    svc.escalate_case(case.id, town.supervisor, due=case.handle_due_at, phase="handle")  # news, not a change
    db.session.commit()
    ok = client.post(f"/api/v1/cases/{case.id}/accept", json={"base_version": seen, "action_key": "k-own-0001"},
                     headers=headers)
    assert ok.status_code == 200
    # The next queued action was decided offline on the same version: only the worker's own accept came between.
    r = client.post(f"/api/v1/cases/{case.id}/handle", json={"base_version": seen, "action_key": "k-own-0002"},
                    headers=headers)
    assert r.status_code == 200 and r.json["properties"]["status"] == "handling"


def test_starting_far_from_the_case_needs_a_reason(client, town):
    case = advance(town, reported(town), "accepted")
    db.session.commit()
    headers = token_for(town.worker)
    far = {"lon": EAST_POINT[0] + 0.005, "lat": EAST_POINT[1]}
    r = client.post(f"/api/v1/cases/{case.id}/handle?lang=en", json=far, headers=headers)
    assert r.status_code == 400 and r.json["error"]["details"]["reason"] == "too_far"
    assert "please say why" in r.json["error"]["message"]
    r = client.post(f"/api/v1/cases/{case.id}/handle", json={**far, "reason": "GPS 漂移，已到现场"}, headers=headers)
    assert r.status_code == 200
    data = db.session.scalars(select(CaseEvent.data).where(CaseEvent.case_id == case.id)
                              .order_by(CaseEvent.id.desc())).first()
    assert data["far_reason"] == "GPS 漂移，已到现场" and data["distance_m"] > 150

    near = advance(town, reported(town), "accepted")
    db.session.commit()
    r = client.post(f"/api/v1/cases/{near.id}/handle", json={"lon": INSIDE_WEST[0], "lat": INSIDE_WEST[1] + 0.0005},
                    headers=headers)
    assert r.status_code == 200
    assert events_of(near.id)[-1] == "handle"


def test_checks_come_through_the_same_keys(client, town):
    case = advance(town, reported(town), "resolved")
    svc.assign_checker(case.id, town.dispatcher, checker_id=town.checker.id)
    db.session.commit()
    headers = token_for(town.checker)
    for _ in range(2):
        r = client.post(f"/api/v1/cases/{case.id}/check", json={"passed": False, "note": "仍有垃圾",
                                                                  "action_key": "chk-0001"}, headers=headers)
        assert r.status_code == 200
    assert events_of(case.id).count("check_fail") == 1


def test_a_patrol_report_fixed_on_the_spot_is_closed_at_once_with_both_photos(client, town):
    headers = token_for(town.worker)
    form = {"category": "street_drying", "lon": str(INSIDE_WEST[0]), "lat": str(INSIDE_WEST[1]),
            "fixed_on_site": "true", "photos": (io.BytesIO(jpeg((200, 0, 0))), "before.jpg"),
            "after_photos": (io.BytesIO(jpeg((0, 200, 0))), "after.jpg")}
    r = client.post("/api/v1/cases", data=form, content_type="multipart/form-data", headers=headers)
    assert r.status_code == 201, r.json
    p = r.json["properties"]
    assert p["status"] == "closed" and p["source"] == "inspector"
    assert [e["action"] for e in p["timeline"]] == ["report", "verify", "fix_on_site"]
    assert [m["kind"] for m in p["media"]] == ["evidence", "after"]
    assert p["timeline"][-1]["action_label"] == "即时处置"


@pytest.mark.parametrize("category, after, who, status", [
    ("road_damage", True, "worker", 400),  # not a category one fixes on the spot
    ("street_drying", False, "worker", 400),  # no photo after
    ("street_drying", True, "citizen", 403),
])
def test_refused_on_the_spot_fixes_store_nothing(client, town, category, after, who, status):
    form = {"category": category, "lon": str(INSIDE_WEST[0]), "lat": str(INSIDE_WEST[1]), "fixed_on_site": "1",
            "photos": (io.BytesIO(jpeg()), "before.jpg")}
    if after:
        form["after_photos"] = (io.BytesIO(jpeg()), "after.jpg")
    user = town.worker if who == "worker" else town.citizen
    r = client.post("/api/v1/cases", data=form, content_type="multipart/form-data", headers=token_for(user))
    assert r.status_code == status
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0


def test_photos_come_in_phone_sizes(client, town):
    from PIL import Image

    case = reported(town, photos=[jpeg(size=(2400, 1800))])
    db.session.commit()
    headers = token_for(town.worker)
    media = client.get(f"/api/v1/cases/{case.id}", headers=headers).json["properties"]["media"][0]
    sizes = {}
    for key in ("thumb", "view", "url"):
        r = client.get(media[key], headers=headers)
        assert r.status_code == 200
        sizes[key] = (Image.open(io.BytesIO(r.data)).size, len(r.data))
    assert sizes["thumb"][0] == (160, 120) and sizes["view"][0] == (800, 600) and sizes["url"][0] == (2400, 1800)
    assert sizes["thumb"][1] < sizes["view"][1] < sizes["url"][1]
    assert client.get(media["thumb"], headers=headers).data == client.get(media["thumb"], headers=headers).data
    assert client.get(f"{media['url']}?size=huge", headers=headers).status_code == 400
