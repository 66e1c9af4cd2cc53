"""Snap-and-report through the public pages: report, join a duplicate, track, rate; refusals are clear."""

import io

import pytest

from app.extensions import db
from app.models import Case
from app.services import cases as svc
from tests.factories import Cast, advance, jpeg, make_grids


@pytest.fixture
def town(app):
    make_grids()
    cast = Cast()
    db.session.commit()
    return cast


def form(**extra):
    data = {"category": "exposed_garbage", "lon": "120.005", "lat": "30.005", "description": "路边有垃圾",
            "contact": "13900000000", "request_id": "req-1", "photos": (io.BytesIO(jpeg()), "p.jpg"), **extra}
    return {k: v for k, v in data.items() if v is not None}


def submit(client, **extra):
    return client.post("/report", data=form(**extra), content_type="multipart/form-data")


def test_form_is_chinese_first_and_grouped(client, town):
    page = client.get("/report")
    assert page.status_code == 200 and "随手拍" in page.text and "是同一个问题吗" in page.text
    assert 'capture="environment"' in page.text and "<optgroup" in page.text and 'name="website"' in page.text


def test_report_then_track(client, town):
    r = submit(client)
    assert r.status_code == 303 and "/track/" in r.headers["Location"]
    case = db.session.scalars(db.select(Case)).one()
    assert case.source.value == "citizen" and case.reporter_id is None and case.reporter_contact == "13900000000"
    page = client.get(r.headers["Location"])
    assert page.status_code == 200 and case.number in page.text and "已上报" in page.text
    assert "13900000000" not in page.text  # the contact is never shown publicly
    again = submit(client)  # the same request id: a retry, not a second case
    assert again.headers["Location"] == r.headers["Location"]
    assert db.session.scalar(db.select(db.func.count()).select_from(Case)) == 1


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"website": "http://spam"}, "不能受理"),
        ({"photos": None}, "照片"),
        ({"photos": (io.BytesIO(b"not an image"), "x.jpg")}, "图片"),
        ({"lon": "121.5", "lat": "31.5"}, "网格"),
        ({"category": ""}, "类别"),
    ],
)
def test_refusals_are_clear_and_store_nothing(client, town, extra, words):
    r = submit(client, request_id=None, **extra)
    assert r.status_code == 400 and words in r.text
    assert db.session.scalar(db.select(db.func.count()).select_from(Case)) == 0


def test_nearby_and_join_an_existing_case(client, town):
    existing = svc.report_case(town.citizen, category_code="exposed_garbage", lon=120.0051, lat=30.0051)[0]
    db.session.commit()
    near = client.get("/api/v1/nearby?category=exposed_garbage&lon=120.005&lat=30.005").json
    assert [c["number"] for c in near] == [existing.number] and near[0]["distance_m"] < 100
    assert client.get("/api/v1/nearby?category=exposed_garbage&lon=120.008&lat=30.005").json == []
    assert client.get("/api/v1/nearby?category=banner&lon=120.005&lat=30.005").json == []
    r = submit(client, join=existing.number, request_id="req-2")
    assert r.status_code == 303
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count()).select_from(Case)) == 1
    assert svc.timeline(existing)[-1].action.value == "add_evidence"


def test_rating_through_the_private_link(client, town):
    r = submit(client)
    token = r.headers["Location"].rsplit("/", 1)[1]
    case = db.session.scalars(db.select(Case)).one()
    assert "满意" not in client.get(f"/track/{token}").text  # no question before closure
    advance(town, case, "closed")
    db.session.commit()
    assert "满意" in client.get(f"/track/{token}").text
    bad = client.post(f"/track/{token}/rate", data={"rating": "9"})
    assert bad.status_code == 303 and "评分必须" in client.get(f"/track/{token}").text
    client.post(f"/track/{token}/rate", data={"rating": "2", "comment": "还没修好"})
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.status.value == "filed" and case.rework_count == 1  # sent back for rework
    assert client.get("/track/not-a-token").status_code == 404


def test_report_form_is_rate_limited(client, town, app, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_CITIZEN", "2 per minute")
    codes = [submit(client, request_id=f"r{i}").status_code for i in range(4)]
    assert codes[:2] == [303, 303] and codes[2:] == [429, 429]


def test_photo_gps_places_a_report_without_a_pin(client, town):
    from tests.app.services.test_media import jpeg_with_exif

    r = submit(client, lon="", lat="", photos=(io.BytesIO(jpeg_with_exif(gps=(30.005, 120.015))), "gps.jpg"))
    assert r.status_code == 303
    case = db.session.scalars(db.select(Case)).one()
    assert case.grid.code == "330100001001002"  # lon 120.015: the east grid, from the photo
