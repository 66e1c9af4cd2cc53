"""Snap-and-report through the public pages: report, join a duplicate, track, rate; refusals are clear."""

import io

import pytest

from app.extensions import db
from app.models import Case
from app.services import cases as svc
from tests.conftest import run_jobs
from tests.factories import advance, jpeg


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
    client.get("/report")  # the form hands out the device cookie that scopes its request ids
    r = submit(client)
    assert r.status_code == 303 and "/track/" in r.headers["Location"]
    case = db.session.scalars(db.select(Case)).one()
    assert case.source.value == "citizen" and case.reporter_id is None and case.reporter_contact == "13900000000"
    page = client.get(r.headers["Location"])
    assert page.status_code == 200 and case.number in page.text and "已收到，正在核实" in page.text
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
    existing = svc.report_case(town.citizen, category_code="exposed_garbage", lon=120.0051, lat=30.0051,
                               description="路边垃圾散落一地没人扫")[0]
    db.session.commit()
    near = client.get("/api/v1/nearby?category=exposed_garbage&lon=120.005&lat=30.005").json
    assert [c["number"] for c in near] == [existing.number] and near[0]["distance_m"] < 100
    assert near[0]["category_name"] == "暴露垃圾" and 0.5 <= near[0]["score"] <= 1
    assert client.get("/api/v1/nearby?category=exposed_garbage&lon=120.008&lat=30.005").json == []  # 290 m
    banner = client.get("/api/v1/nearby", query_string={"category": "banner", "lon": 120.0046, "lat": 30.0048,
                                                         "text": "路口挂了一条红色横幅"}).json
    assert banner == []  # 60 m off, another category in other words
    same_words = client.get("/api/v1/nearby", query_string={"category": "exposed_garbage", "lon": 120.005,
                                                             "lat": 30.005, "text": "路边垃圾散落一地"}).json
    assert same_words[0]["score"] > near[0]["score"]  # the same words make it likelier still
    r = submit(client, join=existing.number, request_id="req-2")
    assert r.status_code == 303 and "/track/" not in r.headers["Location"]  # the reporter's link stays theirs
    assert "已补充到案件" in client.get(r.headers["Location"]).text
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count()).select_from(Case)) == 1
    assert svc.timeline(existing)[-1].action.value == "add_evidence"


def test_another_device_reusing_a_request_id_gets_its_own_case(app, client, town):
    client.get("/report")
    first = submit(client, description="第一位市民")
    other = app.test_client()
    other.get("/report")  # a different phone, a different device cookie
    second = other.post("/report", data=form(description="第二位市民"), content_type="multipart/form-data")
    assert second.status_code == 303 and second.headers["Location"] != first.headers["Location"]
    assert "第一位市民" not in other.get(second.headers["Location"]).text
    anonymous = app.test_client()  # no device cookie at all: no idempotency, and certainly no one else's page
    third = anonymous.post("/report", data=form(), content_type="multipart/form-data")
    assert third.headers["Location"] not in (first.headers["Location"], second.headers["Location"])
    assert db.session.scalar(db.select(db.func.count()).select_from(Case)) == 3


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


# --- the first photo is checked at once: errors, where it was taken, what it shows ---


def check(client, data: bytes | None, name="p.jpg"):
    payload = {"photo": (io.BytesIO(data), name)} if data is not None else {}
    return client.post("/report/photo", data=payload, content_type="multipart/form-data")


def test_photo_check_reads_the_position_and_refuses_bad_files_clearly(client, town, app, monkeypatch):
    from tests.app.services.test_media import _png_header_only, jpeg_with_exif

    monkeypatch.setitem(app.config, "SUGGEST_CATEGORY", False)
    ok = check(client, jpeg_with_exif(gps=(30.005, 120.015)))
    assert ok.status_code == 200 and ok.json["gps"] == {"lon": 120.015, "lat": 30.005}
    assert ok.json["suggestion"] is None
    assert check(client, jpeg()).json["gps"] is None
    for data, words in ((b"GIF89a not really", "图片"), (None, "照片"), (_png_header_only(50_000, 50_000), "像素")):
        r = check(client, data)
        assert r.status_code == 400 and words in r.json["error"]["message"], r.json
    english = client.post("/report/photo?lang=en", data={"photo": (io.BytesIO(b"nope"), "x.jpg")},
                          content_type="multipart/form-data")
    assert english.status_code == 400 and "not a readable image" in english.json["error"]["message"]
    assert db.session.scalar(db.select(db.func.count()).select_from(Case)) == 0


def test_uploads_over_the_size_limit_are_refused_clearly(client, town, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 4096)
    big = jpeg(size=(400, 400), color=(10, 200, 90)) + b"\0" * 8192
    r = submit(client, photos=(io.BytesIO(big), "big.jpg"))
    assert r.status_code == 413 and "太大" in r.text
    j = client.post("/report/photo", data={"photo": (io.BytesIO(big), "big.jpg")},
                    content_type="multipart/form-data", headers={"Accept": "application/json"})
    assert j.status_code == 413 and "太大" in j.json["error"]["message"]
    assert db.session.scalar(db.select(db.func.count()).select_from(Case)) == 0


def test_photo_check_suggests_the_category_the_detector_sees(client, town, app, monkeypatch, tiny_weights):
    import random

    import cv2

    from vision.synth import background, draw

    monkeypatch.setitem(app.config, "VISION_WEIGHTS", str(tiny_weights))
    monkeypatch.setitem(app.config, "VISION_IMGSZ", 160)  # the size the tiny model was trained at
    from app.services import suggest

    with app.app_context():
        suggest.warm_up(wait=True)  # as the web server does when it starts
    img = background(160, 160, random.Random(5))
    draw(img, "banner", 80, 90, 45)  # the tiny model's "banner" is a wide orange bar
    ok, buf = cv2.imencode(".png", img)  # lossless: the ten-epoch test model is fragile to JPEG artefacts
    r = check(client, buf.tobytes(), "p.png")
    assert r.status_code == 200 and r.json["suggestion"]["code"] == "banner", r.json
    assert r.json["suggestion"]["name"] == "横幅" and 0.35 <= r.json["suggestion"]["confidence"] <= 1
    plain = cv2.imencode(".png", background(160, 160, random.Random(6)))[1].tobytes()
    assert check(client, plain, "p.png").json["suggestion"] is None  # nothing detectable: no guess
    monkeypatch.setitem(app.config, "VISION_WEIGHTS", "/nonexistent/model.pt")
    assert check(client, buf.tobytes(), "p.png").json["suggestion"] is None  # no detector: the form works the same


# --- photos the public sees: blurred, EXIF-free copies; originals stay private ---


def test_tracking_page_shows_public_copies_only(client, town):
    from tests.app.services.test_media import jpeg_with_exif

    r = submit(client, photos=(io.BytesIO(jpeg_with_exif(gps=(30.005, 120.005))), "p.jpg"))
    assert "正在处理照片" in client.get(r.headers["Location"]).text  # not blurred yet: nothing public to show
    assert run_jobs("media") == 1
    case = db.session.scalars(db.select(Case)).one()
    media = case.media[0]
    page = client.get(r.headers["Location"]).text
    url = f"/photos/{media.public_path.rsplit('/', 1)[1]}"
    assert url in page and "上报时" in page
    photo = client.get(url)
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    from app.services.media import exif_gps

    assert exif_gps(photo.data) is None  # no position, no device data in what the public gets
    assert client.get(f"/photos/{media.sha256}.jpg").status_code == 404  # the original is not reachable


def test_open311_media_url_points_at_the_public_copy(client, town):
    submit(client)
    run_jobs("media")
    case = db.session.scalars(db.select(Case)).one()
    got = client.get(f"/open311/v2/requests/{case.number}.json").json[0]
    assert got["media_url"].startswith("http://") and got["media_url"].endswith(
        case.media[0].public_path.rsplit("/", 1)[1])
    assert client.get(got["media_url"].split("localhost", 1)[1]).status_code == 200


# --- accounts, civic points and "my reports" ---


def register(client, phone="13800138000", password="s3cret-pass", password2=None, nickname="小王"):
    return client.post("/register", data={"phone": phone, "password": password,
                                          "password2": password if password2 is None else password2,
                                          "nickname": nickname})


def test_registered_citizens_earn_points_for_filed_reports(client, town):
    from app.models import CivicPoints, User
    from app.services import points

    assert register(client).status_code == 303
    user = db.session.scalars(db.select(User).where(User.username == "13800138000")).one()
    assert user.role.value == "citizen" and user.display_name == "小王"
    assert submit(client).status_code == 303
    case = db.session.scalars(db.select(Case)).one()
    assert case.reporter_id == user.id and case.tracking_token
    mine = client.get("/my/reports")
    assert mine.status_code == 200 and case.number in mine.text and 'id="balance">0<' in mine.text
    advance(town, case, "filed")  # verified and filed: a valid report
    db.session.commit()
    points.award_for_filing(case)  # filed again (after a return): paid once only
    db.session.commit()
    assert points.balance(user) == 10
    assert db.session.scalar(db.select(db.func.count()).select_from(CivicPoints)) == 1
    mine = client.get("/my/reports").text
    assert 'id="balance">10<' in mine and "+10" in mine and f"/track/{case.tracking_token}" in mine


def test_points_are_not_paid_for_anonymous_or_staff_reports(client, town):
    from app.models import CivicPoints
    from app.services import points

    submit(client)  # anonymous
    staff_case = svc.report_case(town.worker, category_code="banner", lon=120.005, lat=30.005)[0]
    anonymous = db.session.scalars(db.select(Case).where(Case.reporter_id.is_(None))).one()
    advance(town, anonymous, "filed")
    advance(town, staff_case, "filed")
    db.session.commit()
    assert db.session.scalar(db.select(db.func.count()).select_from(CivicPoints)) == 0
    assert points.balance(town.worker) == 0


@pytest.mark.parametrize(
    ("kwargs", "status", "words"),
    [
        ({"phone": "12345"}, 400, "11 位手机号"),
        ({"password": "short"}, 400, "至少"),
        ({"password2": "different-pass"}, 400, "不一致"),
        ({"nickname": "长" * 41}, 400, "昵称"),
    ],
)
def test_registration_refusals_are_clear(client, town, kwargs, status, words):
    from app.models import User

    r = register(client, **kwargs)
    assert r.status_code == status and words in r.text
    assert db.session.scalar(db.select(db.func.count()).select_from(User).where(User.role == "citizen")) == 1


def test_a_mobile_number_registers_once(client, town):
    assert register(client).status_code == 303
    client.post("/logout")
    again = register(client, password="another-pass")
    assert again.status_code == 409 and "已注册" in again.text


def test_my_reports_needs_a_citizen_account(client, town):
    assert client.get("/my/reports").status_code == 302  # to the sign-in page
    from tests.app.test_auth import login

    login(client, town.dispatcher.username)
    assert client.get("/my/reports").status_code == 403


def test_each_device_is_rate_limited_on_its_own(app, town, monkeypatch):
    from tests.conftest import IsolatedClient

    monkeypatch.setitem(app.config, "RATELIMIT_DEVICE", "2 per minute")
    app.test_client_class = IsolatedClient
    phone, other = app.test_client(), app.test_client()
    for c in (phone, other):
        c.get("/report")  # the form hands each phone its device cookie
    codes = [submit(phone, request_id=f"a{i}").status_code for i in range(3)]
    assert codes == [303, 303, 429]
    assert submit(other, request_id="b0").status_code == 303  # same address, another phone: still served


def test_times_are_shown_in_local_time(client, town):
    from datetime import datetime, timedelta, timezone

    token = submit(client).headers["Location"].rsplit("/", 1)[1]
    case = db.session.scalars(db.select(Case)).one()
    # Late evening in UTC is 01:30 the next day in Shanghai (TIMEZONE), where the district is.
    verified = max(case.reported_at, datetime(2026, 11, 21, 17, 30, tzinfo=timezone.utc)) + timedelta(days=1)
    verified = verified.replace(hour=17, minute=30, second=0, microsecond=0)
    svc.verify_case(case.id, town.dispatcher, valid=True, at=verified)
    db.session.commit()
    page = client.get(f"/track/{token}").text
    local = verified + timedelta(hours=8)
    assert local.strftime("%Y-%m-%d 01:30") in page and f'datetime="{verified.isoformat()}"' in page
    assert verified.strftime("%Y-%m-%d %H:%M") not in page


def test_the_front_door_is_for_reporting_and_sends_people_signed_in_to_their_page(client, app, town):
    page = client.get("/")
    assert page.status_code == 200 and 'href="/report"' in page.text and "public-map" in page.text
    assert 'href="/login"' in page.text and "随手拍" in page.text  # signing in is a link, not the front door
    from tests.app.test_auth import login

    login(client, town.dispatcher.username)
    assert client.get("/").status_code == 302


def test_public_reports_show_stage_and_public_photos_never_words_or_contacts(client, town):
    from tests.conftest import run_jobs
    from tests.factories import jpeg

    shown = svc.report_case(None, category_code="exposed_garbage", lon=120.005, lat=30.005,
                            description="张三家门口", reporter_contact="13900000000", photos=[jpeg()])[0]
    invalid = svc.report_case(town.citizen, category_code="banner", lon=120.006, lat=30.006)[0]
    svc.verify_case(invalid.id, town.dispatcher, valid=False, note="不是问题")
    far = svc.report_case(town.citizen, category_code="banner", lon=120.015, lat=30.005)[0]
    db.session.commit()
    body = client.get("/api/v1/public/reports?bbox=120.0,30.0,120.01,30.01").json
    assert [f["id"] for f in body["features"]] == [shown.number] and body["days"] == 30
    props = body["features"][0]["properties"]
    assert props["stage"] == "已收到，正在核实" and props["category"] == "暴露垃圾" and props["photo"] is None
    assert set(props) == {"number", "category", "status", "stage", "done", "reported_at", "photo"}
    run_jobs("media")  # once the blurred copy exists, it is the one shown
    props = client.get("/api/v1/public/reports").json["features"]
    assert {f["id"] for f in props} == {shown.number, far.number}
    photo = next(f for f in props if f["id"] == shown.number)["properties"]["photo"]
    assert photo.startswith("/photos/") and client.get(photo).status_code == 200
    assert "张三" not in client.get("/api/v1/public/reports").text
    assert client.get("/api/v1/public/reports?bbox=1,2,3").status_code == 400


def test_tracking_shows_an_estimate_before_dispatch_and_the_deadline_after(client, town):
    r = submit(client, address="人民路12号")
    page = client.get(r.headers["Location"]).text
    assert "预计解决时间（估计）" in page and "人民路12号" in page and "已收到，正在核实" in page
    case = db.session.scalars(db.select(Case)).one()
    advance(town, case, "dispatched")
    db.session.commit()
    page = client.get(r.headers["Location"]).text
    assert "计划解决时间" in page and "已派人处理" in page and "您的上报已收到" in page
    assert "派遣" not in page  # the internal word for it


def test_the_photo_check_never_waits_for_the_detector_to_load(app, client, town, monkeypatch, tiny_weights):
    import time

    from app.services import suggest
    from tests.app.test_citizen_browser import banner_photo

    monkeypatch.setitem(app.config, "VISION_WEIGHTS", str(tiny_weights))
    monkeypatch.setitem(app.config, "VISION_IMGSZ", 160)
    monkeypatch.setattr(suggest, "_cache", {})
    monkeypatch.setattr(suggest, "_loading", {})
    photo = banner_photo(gps=(30.005, 120.015))
    t = time.perf_counter()
    first = client.post("/report/photo", data={"photo": (io.BytesIO(photo), "p.png")}).json
    assert first["suggestion"] is None and first["gps"] == {"lon": 120.015, "lat": 30.005}  # answered at once …
    assert len(first["phash"]) == 16 and time.perf_counter() - t < 5
    with app.app_context():
        suggest.warm_up(wait=True)  # … while the detector loads in the background
    later = client.post("/report/photo", data={"photo": (io.BytesIO(photo), "p.png")}).json
    assert later["suggestion"]["code"] == "banner" and later["phash"] == first["phash"]
