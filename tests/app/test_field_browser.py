"""The field app (/m/) in a real browser on a phone: sign in → accept → arrived → done with a photo; a patrol
report fixed on the spot; a failed check; a resolve sent while offline (and once more after a lost answer)
applied exactly once; an offline action on a case reassigned meanwhile shown as needing attention."""

import io
import time
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy import select

from app.extensions import db
from app.models import Case, CaseEvent, Media, User
from app.models.cases import MediaKind
from app.services import cases as svc
from tests.conftest import SHOTS, sign_in_page
from tests.factories import advance, reported

pytestmark = pytest.mark.slow


def phone_photo(size=(3000, 2000), color=(90, 120, 60)) -> dict:
    """A phone-sized JPEG, as the file picker hands it over."""
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG", quality=95)
    return {"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": buf.getvalue()}


def sign_in(page, user):
    sign_in_page(page, user, "/m/")
    page.wait_for_selector("li.task, li.empty")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")  # the shell is cached: it opens offline


def eventually(page, check, timeout: float = 15) -> None:
    """Wait until `check()` holds (the phone sends in the background).

    Waiting through Playwright, not time.sleep: the test's routes (requests leaving 127.0.0.1 are refused, the
    offline tests' interceptions) are answered by this thread only while Playwright has control.
    """
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, "the phone did not get it to the server in time"
        page.wait_for_timeout(200)


def status(case_id: int) -> str:
    db.session.rollback()  # a fresh snapshot each time, and no transaction left open while the server works
    return db.session.get(Case, case_id).status.value


def act(page, case_id: int, label: str):
    page.click(f"li.task[data-id='{case_id}']")
    page.click(f"dialog button.act:has-text('{label}')")


def go_offline(page):
    """Really offline: the page and its service worker alike (routes cover the worker's fetches too)."""
    page.context.set_offline(True)
    page.context.route("**/api/v1/**", lambda route: route.abort("internetdisconnected"))


def back_online(page):
    page.context.unroute("**/api/v1/**")
    page.context.set_offline(False)


def accept_offline(page, worker, case):
    """`worker` signs in, loses the network and accepts `case`: the action waits in the outbox."""
    sign_in(page, worker)
    go_offline(page)
    act(page, case.id, "接单")
    page.wait_for_selector("#outbox:has-text('1 项操作待发送')")


def test_a_worker_lands_on_the_app_and_handles_a_task(phone, town):
    case = advance(town, reported(town), "dispatched")
    db.session.commit()
    page = phone
    sign_in(page, town.worker)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert "处置" in page.inner_text(f"li.task[data-id='{case.id}']")
    page.screenshot(path=str(SHOTS / "field-tasks.png"))
    if page.is_checked("#duty"):
        page.click("#duty")
        page.wait_for_selector("#duty-until", state="hidden")
    page.click("#duty")  # on duty: the shift's end shows in the district's time, as the dispatcher counts it
    page.wait_for_selector("#duty-until:not([hidden])")
    db.session.rollback()
    until = db.session.get(User, town.worker.id).duty_until
    assert page.inner_text("#duty-until") == "至 " + until.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%H:%M")
    page.screenshot(path=str(SHOTS / "field-on-duty.png"))
    page.click("button[data-tab=map]")  # the map tab draws the task where it is (the shared base map)
    page.wait_for_selector("#fmap .pin")
    page.screenshot(path=str(SHOTS / "field-map.png"))
    page.click("button[data-tab=tasks]")

    act(page, case.id, "接单")  # one tap
    eventually(page, lambda: status(case.id) == "accepted")

    page.wait_for_selector(f"li.task[data-id='{case.id}']:has-text('已接单')")  # the list follows
    act(page, case.id, "已到达现场")
    page.click("dialog button.go")
    eventually(page, lambda: status(case.id) == "handling")
    data = db.session.scalars(select(CaseEvent.data).where(CaseEvent.case_id == case.id)
                              .order_by(CaseEvent.id.desc())).first()
    assert data["distance_m"] < 150  # the phone's position came with it

    page.wait_for_selector(f"li.task[data-id='{case.id}']:has-text('处置中')")
    act(page, case.id, "处置完成")
    page.click("dialog button.go")  # no photo yet: refused on the phone
    page.wait_for_selector(".toast:has-text('请添加照片')")
    page.set_input_files("dialog input[type=file]", files=[phone_photo()])
    page.fill("dialog textarea[name=note]", "已清理完毕")
    page.screenshot(path=str(SHOTS / "field-resolve.png"))
    page.click("dialog button.go")
    eventually(page, lambda: status(case.id) == "resolved")
    after = db.session.scalars(select(Media).where(Media.case_id == case.id, Media.kind == MediaKind.AFTER)).one()
    assert max(after.width, after.height) == 1600  # shrunk on the phone before upload
    page.wait_for_selector(f"li.task[data-id='{case.id}']", state="detached")  # no longer mine to do


def test_a_patrol_report_fixed_on_the_spot(phone, town, app, monkeypatch, tmp_path):
    from app.services import intel

    monkeypatch.setitem(app.config, "INTEL_MODEL_DIR", str(tmp_path / "intel"))
    intel.train_text_model(with_history=False)
    page = phone
    sign_in(page, town.worker)
    page.click("button[data-tab=report]")
    page.set_input_files("input[name=photo]", files=[phone_photo(color=(200, 40, 40))])
    page.wait_for_selector("#patrol-preview:not([hidden])")
    page.type("textarea[name=description]", "临街护栏上晾晒被子衣物", delay=20)  # the words suggest the category
    page.wait_for_selector("#patrol-suggest:not([hidden]) button.chip")
    page.click("#patrol-suggest button.chip >> nth=0")
    assert page.input_value("select[name=category]") == "street_drying"
    page.check("input[name=fixed]")
    page.set_input_files("input[name=after]", files=[phone_photo(color=(40, 200, 40))])
    page.screenshot(path=str(SHOTS / "field-patrol.png"))
    page.click("#patrol button.primary")
    eventually(page, lambda: db.session.scalars(select(Case)).first() is not None)
    case = db.session.scalars(select(Case)).one()
    db.session.refresh(case)
    assert case.status.value == "closed" and case.reporter_id == town.worker.id
    assert [m.kind.value for m in case.media] == ["evidence", "after"]
    assert [e.action.value for e in case.events] == ["report", "verify", "fix_on_site"]


def test_a_failed_check_sends_the_case_back(phone, town):
    case = advance(town, reported(town), "resolved")
    svc.assign_checker(case.id, town.dispatcher, checker_id=town.checker.id)
    db.session.commit()
    page = phone
    sign_in(page, town.checker)
    act(page, case.id, "未整改")
    page.fill("dialog textarea[name=note]", "垃圾仍在")
    page.click("dialog button.go")
    eventually(page, lambda: status(case.id) == "filed")
    assert db.session.get(Case, case.id).rework_count == 1


def test_a_resolve_made_offline_is_applied_exactly_once(phone, town):
    case = advance(town, reported(town), "handling")
    db.session.commit()
    page = phone
    sign_in(page, town.worker)
    context = page.context
    go_offline(page)
    act(page, case.id, "处置完成")
    page.set_input_files("dialog input[type=file]", files=[phone_photo()])
    page.click("dialog button.go")
    page.wait_for_selector("#outbox:has-text('1 项操作待发送')")
    assert status(case.id) == "handling"
    page.reload()  # the queued action and its photo survive a reload: they are stored, not held in memory
    page.wait_for_selector("#outbox:has-text('1 项操作待发送')")
    page.wait_for_selector(f"li.task[data-id='{case.id}']")  # the app and the task list open offline
    assert page.evaluate("Outbox.all().then((a) => a[0].files.photos[0].size)") > 10_000  # the photo itself

    # Back online, but the first answer is lost on the way: the server applied it, the phone did not hear.
    lost = []

    def swallow_answer(route):
        if route.request.method == "POST" and not lost:
            route.fetch()  # reaches the server
            lost.append(1)
            route.abort("connectionreset")
        else:
            route.continue_()

    context.route("**/api/v1/cases/*/feedback", swallow_answer)  # in place before the network returns
    back_online(page)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    eventually(page, lambda: lost and status(case.id) == "resolved")
    page.evaluate("window.dispatchEvent(new Event('online'))")  # sent again with the same key
    page.wait_for_selector("#outbox", state="hidden")
    feedbacks = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                           CaseEvent.action == "feedback")).all()
    photos = db.session.scalars(select(Media).where(Media.case_id == case.id, Media.kind == MediaKind.AFTER)).all()
    assert len(feedbacks) == 1 and len(photos) == 1


def test_an_offline_action_on_a_reassigned_case_needs_attention(phone, town):
    case = advance(town, reported(town), "dispatched")
    db.session.commit()
    page = phone
    accept_offline(page, town.worker, case)
    svc.dispatch_case(case.id, town.dispatcher, assignee_id=town.checker.id)  # 改派 meanwhile
    db.session.commit()
    back_online(page)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_selector("#attention:not([hidden])")
    assert "变动" in page.inner_text("#attention") and case.number in page.inner_text("#attention")
    page.screenshot(path=str(SHOTS / "field-attention.png"))
    db.session.expire_all()
    assert db.session.get(Case, case.id).assignee_id == town.checker.id
    assert status(case.id) == "dispatched"  # nothing applied


def test_a_shared_phone_never_sends_one_persons_actions_as_another(phone, town):
    case = advance(town, reported(town), "dispatched")
    db.session.commit()
    page = phone
    accept_offline(page, town.worker, case)
    page.context.clear_cookies()  # the sign-in ends (the shift is over) before the network comes back
    back_online(page)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_timeout(1000)
    assert "1 项操作待发送" in page.inner_text("#outbox") and page.is_hidden("#attention")  # 401: kept, not lost
    assert status(case.id) == "dispatched"
    sign_in(page, town.checker)  # the next person on the same phone
    page.wait_for_timeout(1500)
    assert page.is_hidden("#outbox") and status(case.id) == "dispatched"  # not sent as the checker
    page.context.clear_cookies()
    sign_in(page, town.worker)  # the worker's next sign-in sends it
    eventually(page, lambda: status(case.id) == "accepted")
