"""The whole citizen flow in a real browser on a phone-sized screen: photo, pin, suggestion, duplicate prompt,
submit, tracking page with photos, rating → rework. Debian's Chromium, driven by Playwright."""

import io
import random

import cv2
import pytest
from PIL import Image

from app.extensions import db
from app.models import Case
from app.services import cases as svc
from tests.app.services.test_media import jpeg_with_exif
from tests.conftest import SHOTS, run_jobs
from tests.factories import advance
from vision.synth import background, draw

pytestmark = pytest.mark.slow


def banner_photo(gps: tuple[float, float]) -> bytes:
    """A PNG street scene with the test model's 'banner' on it, carrying EXIF GPS (lat, lon) like a phone photo."""
    img = background(160, 160, random.Random(5))
    draw(img, "banner", 80, 90, 45)
    exif = Image.open(io.BytesIO(jpeg_with_exif(gps=gps))).getexif()
    out = io.BytesIO()
    Image.fromarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB)).save(out, "PNG", exif=exif)
    return out.getvalue()


def pin(page) -> tuple[float, float]:
    return float(page.input_value("input[name=lon]")), float(page.input_value("input[name=lat]"))


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_report_with_photo_pin_and_suggestion_then_track_and_rate(phone, town, app, monkeypatch, tiny_weights):
    from app.services import suggest

    monkeypatch.setitem(app.config, "VISION_WEIGHTS", str(tiny_weights))
    monkeypatch.setitem(app.config, "VISION_IMGSZ", 160)
    suggest.warm_up(wait=True)  # as the web server does when it starts (wsgi.web)
    page = phone
    page.goto("/report")
    assert "随手拍" in page.title() or "上报问题" in page.inner_text("h1")
    page.wait_for_function("document.querySelector('input[name=lat]').value !== ''")
    assert pin(page) == pytest.approx((120.005, 30.005), abs=1e-6)  # from the phone's geolocation
    assert fits_the_screen(page)

    # A file that is not an image is refused at once, in Chinese.
    page.set_input_files("input[name=photos]", files=[{"name": "x.jpg", "mimeType": "image/jpeg",
                                                       "buffer": b"not a photo"}])
    page.wait_for_selector("#photo-error:not([hidden])")
    assert "图片" in page.inner_text("#photo-error")

    # A real photo on a slow line: the form says it is checking; then its GPS moves the pin to the east grid, and
    # the detector suggests a category.
    page.route("**/report/photo", lambda route: (page.wait_for_timeout(600), route.continue_()))
    page.set_input_files("input[name=photos]", files=[{"name": "p.png", "mimeType": "image/png",
                                                       "buffer": banner_photo(gps=(30.005, 120.015))}])
    page.wait_for_selector("#photo-checking:not([hidden])")
    assert "正在检查照片" in page.inner_text("#photo-checking")
    page.wait_for_selector("#suggestion:not([hidden])")
    assert page.is_hidden("#photo-checking")
    page.unroute("**/report/photo")
    assert page.is_hidden("#photo-error") and page.is_visible("#gps-note")
    assert pin(page) == pytest.approx((120.015, 30.005), abs=1e-6)
    assert "横幅" in page.inner_text("#suggestion")
    page.click("#suggestion button")
    assert page.input_value("select[name=category]") == "banner"

    # The pin can be dragged to correct the place.
    marker = page.locator(".leaflet-marker-icon").bounding_box()
    x, y = marker["x"] + marker["width"] / 2, marker["y"] + marker["height"] - 4
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 20, y + 10, steps=5)
    page.mouse.up()
    lon, lat = pin(page)
    assert lon < 120.015 and lat < 30.005 and lon == pytest.approx(120.015, abs=5e-4)

    page.fill("textarea[name=description]", "路口挂着横幅")
    page.click("button[type=submit]")
    page.wait_for_url("**/track/**")
    case = db.session.scalars(db.select(Case)).one()
    assert case.number in page.inner_text(".facts") and "感谢" in page.inner_text(".flash")
    assert "横幅" in page.inner_text("h1") and "已收到" in page.inner_text(".stage")
    assert case.category_code == "banner" and case.grid.code == "330100001001002"
    assert "正在处理照片" in page.inner_text(".photos")  # blurring runs in the background …
    page.screenshot(path=str(SHOTS / "track-photo-pending.png"))
    assert run_jobs("media") == 1  # … and once it has, the blurred copy is shown
    page.reload()
    photo = page.locator(".photos img").first
    photo.wait_for()
    assert page.evaluate("(img) => img.complete && img.naturalWidth > 0", photo.element_handle())
    assert fits_the_screen(page)

    # Closed by the city: the tracking page asks, and a "not fixed" rating sends it back.
    advance(town, case, "closed")
    db.session.commit()
    page.reload()
    assert "满意" in page.inner_text(".rate")
    page.check("input[name=rating][value='2']")
    page.fill("textarea[name=comment]", "横幅还在")
    page.click(".rate button[type=submit]")
    page.wait_for_selector(".flash")
    assert "返工" in page.inner_text(".flash")
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.status.value == "filed" and case.rework_count == 1  # rated again after the next closure
    rated = [e for e in svc.timeline(case) if e.action.value == "evaluate"]
    assert rated[-1].data["rating"] == 2 and rated[-1].note == "横幅还在"


def test_duplicate_suggestion_lets_the_citizen_join_the_existing_case(phone, town, app, monkeypatch):
    monkeypatch.setitem(app.config, "SUGGEST_CATEGORY", False)
    existing = svc.report_case(town.citizen, category_code="exposed_garbage", lon=120.0052, lat=30.0051)[0]
    db.session.commit()
    page = phone
    page.goto("/report")
    page.wait_for_function("document.querySelector('input[name=lat]').value !== ''")
    page.set_input_files("input[name=photos]", files=[{"name": "p.jpg", "mimeType": "image/jpeg",
                                                       "buffer": jpeg_with_exif(gps=None)}])
    page.fill("#cat-search", "垃圾")  # search narrows the grouped list …
    visible = page.eval_on_selector_all("select[name=category] option:not([hidden])", "os => os.map(o => o.value)")
    assert "exposed_garbage" in visible and "banner" not in visible and "" in visible
    page.fill("#cat-search", "暴露垃")  # … and one match is chosen at once
    assert page.input_value("select[name=category]") == "exposed_garbage"
    page.wait_for_selector("#nearby:not([hidden])")
    assert existing.number in page.inner_text("#nearby") and "是同一个问题吗" in page.inner_text("#nearby")
    page.click(f"#nearby button[data-join='{existing.number}']")
    # Back on the form with a confirmation: the other reporter's private tracking page is theirs alone.
    page.wait_for_selector(".flash.ok")
    assert "/track/" not in page.url and f"已补充到案件 {existing.number}" in page.inner_text(".flash.ok")
    page.screenshot(path=str(SHOTS / "report-joined.png"))
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count()).select_from(Case)) == 1
    assert svc.timeline(db.session.get(Case, existing.id))[-1].action.value == "add_evidence"


def test_the_description_suggests_categories_as_the_citizen_types(phone, town, app, monkeypatch, tmp_path):
    from app.services import intel

    monkeypatch.setitem(app.config, "INTEL_MODEL_DIR", str(tmp_path / "intel"))
    page = phone
    page.goto("/report")
    page.fill("textarea[name=description]", "小区门口垃圾桶满了好几天没人收")
    page.wait_for_timeout(1200)
    assert page.is_hidden("#text-suggest")  # no model trained yet: nothing to show, nothing broken
    intel.train_text_model(with_history=False)

    page.fill("textarea[name=description]", "")
    page.type("textarea[name=description]", "小区门口垃圾桶满了好几天没人收", delay=30)  # as a person types
    page.wait_for_selector("#text-suggest:not([hidden]) button.chip")
    chips = page.locator("#text-suggest button.chip")
    assert 1 <= chips.count() <= 3 and chips.first.inner_text().startswith("垃圾箱满溢")
    assert all(int(c.rsplit(" ", 1)[1].rstrip("%")) >= 5 for c in chips.all_inner_texts())  # no noise offered
    assert fits_the_screen(page)
    page.screenshot(path=str(SHOTS / "report-text-suggestion.png"))
    chips.first.click()
    assert page.input_value("select[name=category]") == "bin_overflow"
    assert chips.first.get_attribute("aria-pressed") == "true"

    page.goto("/report?lang=en")  # English words, English names
    page.type("textarea[name=description]", "the manhole cover is missing", delay=20)
    page.wait_for_selector("#text-suggest:not([hidden]) button.chip")
    first = page.locator("#text-suggest button.chip").first.inner_text()
    assert first.startswith("Missing or damaged manhole cover"), first
    assert "sound like" in page.inner_text("#text-suggest")


def test_the_front_door_shows_the_report_button_and_recent_reports_nearby(phone, town, app, monkeypatch):
    from tests.factories import jpeg

    monkeypatch.setitem(app.config, "SUGGEST_CATEGORY", False)
    fixed = svc.report_case(town.citizen, category_code="exposed_garbage", lon=120.0052, lat=30.0051,
                            description="私人描述不公开", reporter_contact="13900000000", photos=[jpeg()])[0]
    advance(town, fixed, "closed")
    svc.report_case(town.citizen, category_code="banner", lon=120.0048, lat=30.0049)
    db.session.commit()
    run_jobs("media")  # the public, blurred copy of the photo
    page = phone
    page.goto("/")
    assert "随手拍" in page.inner_text(".hero") and page.is_visible("a.button.big")
    assert page.locator(".topbar a:has-text('登录')").count() == 1  # the login is a link, not the page
    page.wait_for_selector("#recent li")
    items = page.inner_text("#recent")
    assert "横幅" in items and "已收到" in items and "暴露垃圾" in items and "已解决" in items
    assert "私人描述" not in page.content() and "13900000000" not in page.content()
    page.wait_for_selector(".leaflet-interactive")
    assert page.locator("path.leaflet-interactive").count() == 2 and fits_the_screen(page)
    page.screenshot(path=str(SHOTS / "front-door-zh.png"))
    page.locator("path.leaflet-interactive").first.click(force=True)
    page.wait_for_selector(".pub-pop")
    page.screenshot(path=str(SHOTS / "front-door-popup.png"))
    page.click("a.button.big")
    page.wait_for_url("**/report")

    page.goto("/lang/en")
    page.goto("/")
    page.wait_for_selector("#recent li")
    assert "Snap and report" in page.inner_text(".hero") and "Fixed" in page.inner_text("#recent")
    page.screenshot(path=str(SHOTS / "front-door-en.png"))


def test_the_front_door_says_when_there_is_nothing_and_when_the_map_fails(phone, town, app):
    page = phone
    page.route("**/api/v1/public/reports*", lambda route: route.fulfill(status=503, body="{}"))
    page.goto("/")
    page.wait_for_selector("#map-error:not([hidden])")
    assert "仍可上报" in page.inner_text("#map-error") and page.is_visible("a.button.big")
    page.unroute("**/api/v1/public/reports*")
    page.reload()
    page.wait_for_selector("#recent-empty:not([hidden])")
    assert "没有上报" in page.inner_text("#recent-empty")


def test_the_tracking_page_speaks_plainly_with_map_finish_time_and_the_teams_note(phone, town, app):
    case = svc.report_case(None, category_code="exposed_garbage", lon=120.005, lat=30.005,
                           address="人民路12号")[0]
    case.tracking_token = "plain-words-token-0000000000000000000000"
    advance(town, case, "handling")
    svc.feedback_case(case.id, town.worker, note="已清理干净，并提醒商户", photos=[jpeg_with_exif(gps=None)])
    db.session.commit()
    page = phone
    page.goto(f"/track/{case.tracking_token}")
    text = page.inner_text(".track")
    assert "已处理，待复查" in page.inner_text(".stage") and "人民路12号" in text
    assert "已清理干净，并提醒商户" in page.inner_text(".team-note")
    assert "已反馈" not in text and "核查" not in text  # the internal words stay inside
    assert "UTC" not in text and "+00:00" not in text
    page.wait_for_selector("#track-map .leaflet-marker-icon")
    assert fits_the_screen(page)
    page.screenshot(path=str(SHOTS / "track-plain.png"), full_page=True)
