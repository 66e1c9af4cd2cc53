"""The /api/v1 case endpoints over HTTP with bearer tokens, on real PostGIS."""

import io
import re
from datetime import UTC, datetime, timedelta

import pytest

from app.api.cases import VERBS
from app.extensions import db
from app.models import Case, Role
from tests.factories import INSIDE_WEST, advance, jpeg, make_user, png, reported, token_for


def report(client, headers, **extra):
    data = {"category": "exposed_garbage", "lon": str(INSIDE_WEST[0]), "lat": str(INSIDE_WEST[1]),
            "description": "路边垃圾", "reporter_contact": "13800000000", **extra}
    data.setdefault("photos", (io.BytesIO(jpeg()), "a.jpg"))
    return client.post("/api/v1/cases", data=data, headers=headers, content_type="multipart/form-data")


def test_unauthenticated_gets_401_in_chinese_by_default(client, town):
    r = client.get("/api/v1/cases")
    assert r.status_code == 401
    assert r.json["error"]["message"] == "请先登录。"
    r = client.get("/api/v1/cases", headers={"Accept-Language": "en"})
    assert r.json["error"]["message"] == "Please sign in."


def test_whole_loop_over_http(client, town):
    cit, disp = token_for(town.citizen), token_for(town.dispatcher)
    wrk, chk = token_for(town.worker), token_for(town.checker)
    r = report(client, cit)
    assert r.status_code == 201, r.json
    case_id = r.json["id"]
    assert r.json["properties"]["status"] == "reported" and r.json["geometry"]["coordinates"] == list(INSIDE_WEST)
    steps = [
        (disp, "verify", {"valid": True}),
        (disp, "file", {"priority": 2}),
        (disp, "dispatch", {"assignee_id": town.worker.id}),
        (wrk, "accept", {}),
        (wrk, "handle", {"note": "到场"}),
    ]
    for headers, verb, body in steps:
        r = client.post(f"/api/v1/cases/{case_id}/{verb}", json=body, headers=headers)
        assert r.status_code == 200, (verb, r.json)
    r = client.post(f"/api/v1/cases/{case_id}/feedback", headers=wrk, content_type="multipart/form-data",
                    data={"note": "已清理", "photos": (io.BytesIO(png()), "after.png")})
    assert r.status_code == 200 and r.json["properties"]["status"] == "resolved"
    r = client.post(f"/api/v1/cases/{case_id}/check", json={"passed": "true"}, headers=chk)
    assert r.status_code == 403  # not (yet) this inspector's 核查 task
    db.session.get(Case, case_id).checker_id = town.checker.id
    db.session.commit()
    r = client.post(f"/api/v1/cases/{case_id}/check", json={"passed": "true"}, headers=chk)
    assert r.json["properties"]["status"] == "closed"
    r = client.post(f"/api/v1/cases/{case_id}/evaluate", json={"rating": 5}, headers=cit)
    props = r.json["properties"]
    assert props["rating"] == 5 and props["priority"] == 2
    assert [e["action"] for e in props["timeline"]] == [
        "report", "verify", "file", "dispatch", "accept", "handle", "feedback", "check_pass", "evaluate"]
    assert {m["kind"] for m in props["media"]} == {"evidence", "after"}


def test_illegal_transition_is_409_with_message(client, town):
    case = reported(town)
    db.session.commit()
    r = client.post(f"/api/v1/cases/{case.id}/file", json={}, headers=token_for(town.dispatcher))
    assert r.status_code == 409
    assert r.json["error"]["code"] == "illegal_transition"
    assert r.json["error"]["message"] == "案件当前状态为“已上报”，不能立案。"
    assert r.json["error"]["details"] == {"status": "reported", "action": "file"}
    r = client.post(f"/api/v1/cases/{case.id}/file", json={}, headers={**token_for(town.dispatcher),
                                                                          "Accept-Language": "en-US,en;q=0.9"})
    assert r.json["error"]["message"] == "Cannot file a case that is reported."
    assert db.session.get(Case, case.id).status.value == "reported"


@pytest.mark.parametrize("verb", sorted(set(VERBS) - {"evaluate", "evidence"}))  # citizens may do those two
def test_citizens_cannot_run_staff_or_worker_verbs(client, town, verb):
    case = reported(town)
    db.session.commit()
    r = client.post(f"/api/v1/cases/{case.id}/{verb}", json={"valid": True, "passed": True, "reason": "x",
                                                               "minutes": 10, "rating": 3, "into": "1"},
                    headers=token_for(make_user(Role.CITIZEN)))
    assert r.status_code in (403, 404), r.json  # 404: another citizen's case is invisible to them
    assert db.session.get(Case, case.id).status.value == "reported"


def test_role_refusals(client, town):
    case = advance(town, reported(town), "filed")
    db.session.commit()
    worker = token_for(town.worker)
    r = client.post(f"/api/v1/cases/{case.id}/dispatch", json={"assignee_id": town.worker.id}, headers=worker)
    assert r.status_code == 403 and r.json["error"]["message"] == "您的角色不能执行此操作。"
    r = client.post(f"/api/v1/cases/{case.id}/void", json={"reason": "x"}, headers=worker)
    assert r.status_code == 403
    r = client.post("/api/v1/me/position", json={"lon": 120, "lat": 30}, headers=token_for(town.dispatcher))
    assert r.status_code == 403


def test_validation_errors_are_400_with_field_names(client, town):
    cit = token_for(town.citizen)
    r = report(client, cit, category="")
    assert r.status_code == 400 and "category" in r.json["error"]["message"]
    r = report(client, cit, lon="east")
    assert r.status_code == 400 and "lon" in r.json["error"]["message"]
    r = report(client, cit, lon="121.5", lat="31.5")
    assert r.status_code == 400 and r.json["error"]["message"] == "该位置不在服务区域的任何网格内。"
    r = report(client, cit, photos=(io.BytesIO(b"GIF89a not really"), "x.jpg"))
    assert r.status_code == 400 and "图片" in r.json["error"]["message"]
    r = client.post("/api/v1/cases", data="[1,2]", content_type="application/json", headers=cit)
    assert r.status_code == 400
    case = advance(town, reported(town), "closed")
    db.session.commit()
    r = client.post(f"/api/v1/cases/{case.id}/evaluate", json={"rating": "five"}, headers=cit)
    assert r.status_code == 400 and "rating" in r.json["error"]["message"]
    r = client.post(f"/api/v1/cases/{case.id}/explode", json={}, headers=cit)
    assert r.status_code == 404
    assert db.session.query(Case).count() == 1


def test_idempotent_retry_returns_the_first_case(client, town):
    cit = token_for(town.citizen)
    a = report(client, cit, client_request_id="abc-1")
    b = report(client, cit, client_request_id="abc-1")
    assert (a.status_code, b.status_code) == (201, 200) and a.json["id"] == b.json["id"]


def test_list_filters_bbox_and_visibility(client, town):
    other_citizen = make_user(Role.CITIZEN)
    mine = reported(town)
    reported(town, where=(120.015, 30.005))
    from app.services import cases as svc

    svc.report_case(other_citizen, category_code="banner", lon=120.006, lat=30.006)
    advance(town, mine, "filed")
    db.session.commit()
    disp = token_for(town.dispatcher)
    fc = client.get("/api/v1/cases", headers=disp).json
    assert fc["type"] == "FeatureCollection" and fc["total"] == 3
    assert client.get("/api/v1/cases?status=filed", headers=disp).json["total"] == 1
    assert client.get("/api/v1/cases?bbox=120.0,30.0,120.01,30.01", headers=disp).json["total"] == 2
    assert client.get("/api/v1/cases?grid=330100001001002", headers=disp).json["total"] == 1
    assert client.get("/api/v1/cases?category=banner", headers=disp).json["total"] == 1
    page = client.get("/api/v1/cases?page_size=2&page=2", headers=disp).json
    assert len(page["features"]) == 1 and page["page"] == 2
    assert client.get("/api/v1/cases?status=bogus", headers=disp).status_code == 400
    assert client.get("/api/v1/cases?bbox=1,2,3", headers=disp).status_code == 400
    assert client.get("/api/v1/cases?from=yesterday", headers=disp).status_code == 400
    # A citizen sees only their own reports, and not another citizen's case.
    cit = token_for(town.citizen)
    assert client.get("/api/v1/cases", headers=cit).json["total"] == 2
    theirs = client.get("/api/v1/cases", headers=token_for(other_citizen)).json["features"][0]
    assert client.get(f"/api/v1/cases/{theirs['id']}", headers=cit).status_code == 404


def test_reporter_contact_only_for_staff_and_reporter(client, town):
    r = report(client, token_for(town.citizen))
    number = r.json["properties"]["number"]
    assert r.json["properties"]["reporter"]["contact"] == "13800000000"
    staff = client.get(f"/api/v1/cases/{number}", headers=token_for(town.dispatcher)).json
    assert staff["properties"]["reporter"]["contact"] == "13800000000"
    worker = client.get(f"/api/v1/cases/{number}", headers=token_for(town.worker)).json
    assert "reporter" not in worker["properties"] and "13800000000" not in str(worker)


def test_media_is_private(client, town):
    r = report(client, token_for(town.citizen))
    url = r.json["properties"]["media"][0]["url"]
    assert client.get(url, headers=token_for(town.worker)).status_code == 200
    ok = client.get(url, headers=token_for(town.citizen))
    assert ok.status_code == 200 and ok.mimetype == "image/jpeg" and ok.data[:2] == b"\xff\xd8"
    assert client.get(url, headers=token_for(make_user(Role.CITIZEN))).status_code == 403


def test_revoked_or_bad_token_is_401(client, town):
    from app.services.users import issue_token, revoke_token

    token = issue_token(town.dispatcher, "tablet")
    db.session.commit()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    revoke_token(token)
    db.session.commit()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer uo_nope"}).status_code == 401


def test_worker_position_and_duty(client, town):
    h = token_for(town.worker)
    r = client.post("/api/v1/me/position", json={"lon": 120.001, "lat": 30.002}, headers=h)
    assert r.status_code == 200 and r.json["position"] == [120.001, 30.002] and r.json["last_seen_at"]
    assert client.post("/api/v1/me/position", json={"lon": 999, "lat": 30}, headers=h).status_code == 400
    assert client.post("/api/v1/me/duty", json={"on_duty": True}, headers=h).json["on_duty"] is True
    r = client.post("/api/v1/me/duty", json={"on_duty": True, "hours": 4}, headers=h)
    assert r.json["duty_until"]  # a repeated "on" keeps the shift's end
    assert client.post("/api/v1/me/duty", json={"on_duty": True, "hours": 99}, headers=h).status_code == 400
    r = client.post("/api/v1/me/duty", json={"on_duty": False}, headers=h)
    assert r.json["on_duty"] is False and r.json["duty_until"] is None
    r = client.post("/api/v1/me/duty", json={"on_duty": True, "hours": 4}, headers=h)
    ends = datetime.fromisoformat(r.json["duty_until"]) - datetime.now(UTC)
    assert timedelta(hours=3, minutes=59) < ends <= timedelta(hours=4)


def test_reference_endpoints(client, town):
    cats = client.get("/api/v1/categories").json
    codes = {c["code"] for c in cats}
    assert len([c for c in cats if c["detectable"]]) == 17 and "illegal_parking" in codes
    en = client.get("/api/v1/categories?lang=en").json
    assert {c["name"] for c in en} >= {"Exposed garbage"}
    assert client.get("/api/v1/grids").json["features"][0]["properties"]["code"] == "330100001001001"
    assert client.get("/api/v1/grids/lookup?lon=120.015&lat=30.005").json["grid"]["code"] == "330100001001002"
    assert client.get("/api/v1/grids/lookup?lon=121&lat=31").json["grid"] is None
    assert client.get("/api/v1/grids/lookup?lon=x&lat=31").status_code == 400


def test_openapi_documents_every_api_route(app, client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    documented = set(spec["paths"])
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        if path == "/cases/{case_id}/{verb}":
            assert all(f"/cases/{{case_id}}/{v}" in documented for v in VERBS)
            continue
        assert path in documented, path
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in spec["paths"][path], (path, method)


def test_token_use_is_recorded_coarsely(client, town):
    from datetime import timedelta

    from app.models import ApiToken

    headers = token_for(town.worker)
    client.get("/api/v1/me", headers=headers)
    first = db.session.scalars(db.select(ApiToken.last_used_at)).one()
    assert first is not None
    client.get("/api/v1/me", headers=headers)
    db.session.expire_all()
    assert db.session.scalars(db.select(ApiToken.last_used_at)).one() == first  # no write per request
    db.session.execute(db.update(ApiToken).values(last_used_at=first - timedelta(minutes=6)))
    db.session.commit()
    client.get("/api/v1/me", headers=headers)
    db.session.expire_all()
    assert db.session.scalars(db.select(ApiToken.last_used_at)).one() > first


def test_a_request_id_is_scoped_to_its_reporter(client, town):
    first, other = token_for(town.citizen), token_for(make_user(Role.CITIZEN))
    r1 = report(client, first, client_request_id="shared-key", description="我家门口的垃圾")
    again = report(client, first, client_request_id="shared-key")
    assert r1.status_code == 201 and again.status_code == 200 and again.json["id"] == r1.json["id"]
    r2 = report(client, other, client_request_id="shared-key", description="别处")
    assert r2.status_code == 201 and r2.json["id"] != r1.json["id"]
    assert "我家门口" not in r2.get_data(as_text=True)  # nothing of the first reporter's case comes back
    assert db.session.query(Case).count() == 2


def test_system_accounts_are_scoped_by_their_token(client, town):
    bot = make_user(Role.SYSTEM)
    cam1, cam2 = token_for(bot), token_for(bot)
    r1 = report(client, cam1, client_request_id="frame-1")
    assert report(client, cam1, client_request_id="frame-1").json["id"] == r1.json["id"]
    assert report(client, cam2, client_request_id="frame-1").json["id"] != r1.json["id"]


def test_evidence_follows_the_reading_rules_and_needs_content(client, town):
    case = reported(town)
    db.session.commit()
    stranger = token_for(make_user(Role.CITIZEN))
    for body in ({}, {"note": "我也看到了"}):
        r = client.post(f"/api/v1/cases/{case.id}/evidence", json=body, headers=stranger)
        assert r.status_code == 404 and "properties" not in r.json  # as GET answers: no such case for them
    assert client.get(f"/api/v1/cases/{case.id}", headers=stranger).status_code == 404
    advance(town, case, "closed")
    db.session.commit()
    r = client.post(f"/api/v1/cases/{case.id}/evidence", json={"note": "x"}, headers=stranger)
    assert r.status_code == 404 and "closed" not in r.get_data(as_text=True)  # not even its status
    owner = token_for(town.citizen)
    r = client.post(f"/api/v1/cases/{case.id}/evidence", json={}, headers=owner)
    assert r.status_code == 400 and r.json["error"]["code"] == "validation_error"
    db.session.expire_all()
    assert "add_evidence" not in [e.action.value for e in db.session.get(Case, case.id).events]


def test_list_filters_for_the_console(client, town):
    from datetime import timedelta

    from app.models.types import utcnow
    from app.services import cases as svc
    from tests.factories import make_department

    dept = make_department()
    banner = advance(town, reported(town, category="banner"), "filed")  # advertising
    garbage = advance(town, reported(town), "filed")  # city appearance
    svc.dispatch_case(garbage.id, town.dispatcher, department_id=dept.id)
    closed = advance(town, reported(town), "closed")
    db.session.commit()
    db.session.get(Case, banner.id).dispatch_due_at = utcnow() - timedelta(minutes=5)  # overdue
    db.session.commit()
    headers = token_for(town.dispatcher)

    def numbers(query):
        r = client.get(f"/api/v1/cases?{query}", headers=headers)
        assert r.status_code == 200, r.json
        return [f["properties"]["number"] for f in r.json["features"]]

    assert numbers("class=advertising") == [banner.number]
    assert numbers(f"department_id={dept.id}") == [garbage.number]
    assert numbers("overdue=1") == [banner.number]
    assert numbers("sort=due&status=filed,dispatched") == [banner.number, garbage.number]  # nearest deadline first
    assert numbers(f"q={closed.number[-5:]}") == [closed.number]  # a number finds a closed case
    assert client.get("/api/v1/cases?sort=oldest", headers=headers).status_code == 400
