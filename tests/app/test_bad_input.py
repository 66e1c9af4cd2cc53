"""Malformed input never reaches the database as a 500: the probe's examples, each class at its root.

NUL and other control characters in every kind of text, integers beyond PostgreSQL's `integer`, Unicode
digits taken for ids, unknown enum values, absurd dates and malformed JSON: every one is a 4xx in the usual
error shape, and nothing is stored.
"""

import io

import pytest

from app.extensions import db
from app.models import Case, CaseEvent, Role
from tests.factories import INSIDE_WEST, advance, jpeg, make_user, reported, token_for

BIG = str(2**31)  # one past PostgreSQL's integer
HUGE = "9" * 30


def counts():
    return (db.session.scalar(db.select(db.func.count()).select_from(Case)),
            db.session.scalar(db.select(db.func.count()).select_from(CaseEvent)))


@pytest.fixture
def staff(town):
    case = reported(town)
    db.session.commit()
    return {"case": case, "disp": token_for(town.dispatcher), "cit": token_for(town.citizen)}


def _error_shape(r):
    assert 400 <= r.status_code < 500, (r.status_code, r.get_data(as_text=True)[:300])
    if r.is_json and isinstance(r.json, list):  # Open311's own error shape
        assert set(r.json[0]) == {"code", "description"} and r.json[0]["code"] == r.status_code
    elif r.is_json:
        assert set(r.json["error"]) >= {"code", "message"}


@pytest.mark.parametrize("path", [
    f"/api/v1/cases/{BIG}", f"/api/v1/cases/{HUGE}", "/api/v1/cases/¹", "/api/v1/cases/%C2%B9%C2%B2",
    "/api/v1/cases/%D9%A1", "/api/v1/cases/12%0034", "/api/v1/cases/-1", f"/api/v1/media/{BIG}",
    "/api/v1/media/¹", "/api/v1/cases?page=" + HUGE, "/api/v1/cases?page=0", "/api/v1/cases?page_size=" + BIG,
    "/api/v1/cases?assignee_id=" + BIG, "/api/v1/cases?assignee_id=¹", "/api/v1/cases?source=foo",
    "/api/v1/cases?status=open", "/api/v1/cases?q=%00", "/api/v1/cases?q=50%25%5C", "/api/v1/cases?from=0001-01-01",
    "/api/v1/cases?to=9999-12-31T23:59:59-14:00", "/api/v1/cases?bbox=1,2,3", "/api/v1/cases?bbox=nan,1,2,3",
    "/api/v1/cases?grid=%00", "/api/v1/nearby?category=banner&lon=inf&lat=30", "/api/v1/grids/lookup?lon=1e400&lat=1",
    "/api/v1/kpis?group_by=nope", "/api/v1/kpis?from=0001-01-01", "/open311/v2/requests.json?page=" + HUGE,
    "/open311/v2/requests/%00.json", "/open311/v2/requests.json?start_date=0001-01-01T00:00:00Z",
    "/open311/v2/services/%00.json", "/track/%00", "/photos/%00.jpg",
])
def test_bad_paths_and_queries_are_4xx(client, staff, path):
    r = client.get(path, headers=staff["disp"])
    if "q=50%25" in path:  # LIKE wildcards and a trailing backslash are just characters to search for
        assert r.status_code == 200 and r.json["features"] == []
        return
    _error_shape(r)


@pytest.mark.parametrize("verb,body", [
    ("dispatch", {"assignee_id": int(BIG)}), ("dispatch", {"department_id": 2**63}),
    ("dispatch", {"assignee_id": "¹"}), ("dispatch", {"assignee_id": "1_0"}), ("merge", {"into": BIG}),
    ("merge", {"into": HUGE}), ("merge", {"into": "¹"}), ("merge", {"into": "x\x00"}), ("file", {"priority": 1e308}),
    ("file", {"priority": [1]}), ("file", {"note": "a\x00b"}), ("void", {"reason": {"nested": "x"}}),
    ("verify", {"valid": "maybe"}), ("request-delay", {"minutes": HUGE, "reason": "x"}),
])
def test_bad_verb_bodies_are_400_and_store_nothing(client, staff, verb, body):
    before = counts()
    r = client.post(f"/api/v1/cases/{staff['case'].id}/{verb}", json=body, headers=staff["disp"])
    _error_shape(r)
    assert counts() == before


@pytest.mark.parametrize("body", [
    {"category": "banner\x00", "lon": 120.005, "lat": 30.005},
    {"category": "banner", "lon": 120.005, "lat": 30.005, "description": "路边\x00垃圾"},
    {"category": "banner", "lon": "NaN", "lat": 30.005}, {"category": "banner", "lon": 120.005, "lat": "1e999"},
    {"category": "banner", "lon": 120.005, "lat": 30.005, "priority": BIG},
    {"category": "banner", "lon": 120.005, "lat": 30.005, "client_request_id": "k\x01"},
    {"category": "banner", "lon": 120.005, "lat": 30.005, "description": "x" * 4001},
    {"category": ["banner"], "lon": 120.005, "lat": 30.005}, {"category\x00": "banner", "lon": 1, "lat": 1},
])
def test_bad_reports_over_the_api_are_400_and_store_nothing(client, staff, body):
    before = counts()
    _error_shape(client.post("/api/v1/cases", json=body, headers=staff["cit"]))
    assert counts() == before


@pytest.mark.parametrize("raw", [b"{", b'{"category": "banner"', b"[" * 100_000 + b"]" * 100_000, b'"text"',
                                 b"\xff\xfe"])
def test_malformed_json_is_400(client, staff, raw):
    r = client.post("/api/v1/cases", data=raw, content_type="application/json", headers=staff["cit"])
    _error_shape(r)


@pytest.mark.parametrize("fields", [
    {"description": "a\x00b"}, {"lon": "¹"}, {"lon": HUGE}, {"join": BIG}, {"join": HUGE}, {"join": "¹²"},
    {"request_id": "\x00"}, {"contact": "x" * 81}, {"category": "\x00"}, {"address": "\x1b[31m"},
])
def test_bad_citizen_forms_are_400_in_chinese_and_store_nothing(client, town, fields):
    data = {"category": "exposed_garbage", "lon": "120.005", "lat": "30.005", "photos": (io.BytesIO(jpeg()), "p.jpg"),
            **fields}
    r = client.post("/report", data=data, content_type="multipart/form-data")
    assert r.status_code in (400, 404) and "<html" in r.text and 'lang="zh-CN"' in r.text
    assert counts() == (0, 0)


def test_register_and_login_refuse_nul_and_giant_passwords(client, app):
    r = client.post("/register", data={"phone": "13800000000", "password": "x" * 5000, "password2": "x" * 5000})
    assert r.status_code == 400
    assert client.post("/login", data={"username": "a\x00", "password": "secret-pass"}).status_code == 400
    assert client.post("/register", data={"phone": "1380000\x000000", "password": "p" * 8}).status_code == 400


def test_user_agent_with_control_characters_is_stored_clean(client, town):
    r = client.post("/login", data={"username": town.dispatcher.username, "password": "secret-pass"},
                    headers={"User-Agent": "phone\x01\x02 app"})
    assert r.status_code == 302


def test_case_refs_in_every_form_are_checked_before_the_database(client, town):
    """`join` and `into` take ids or case numbers; anything else is a clean 4xx, not a query with it."""
    case = advance(town, reported(town), "filed")
    other = reported(town, where=INSIDE_WEST)
    db.session.commit()
    staff = token_for(make_user(Role.SUPERVISOR))
    for ref in (BIG, HUGE, "¹", "20261122-1", "%"):
        r = client.post(f"/api/v1/cases/{other.id}/merge", json={"into": ref}, headers=staff)
        assert r.status_code in (400, 404), ref
    assert client.post(f"/api/v1/cases/{other.id}/merge", json={"into": case.number}, headers=staff).status_code == 200
