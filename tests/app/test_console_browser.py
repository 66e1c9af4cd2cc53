"""The console in a real browser at 1440×900: a dispatcher dispatches a filed case to the router's top
suggestion from the case panel, and a case reported meanwhile appears without a reload."""

import pytest

from app.extensions import db
from app.models import Case, Category, Role
from app.models.types import utcnow
from app.services.grids import grid_for_point, point_sql
from tests.conftest import SHOTS
from tests.factories import PASSWORD, advance, make_user, reported

pytestmark = pytest.mark.slow


def on_duty_worker(where):
    worker = make_user(Role.WORKER, display_name="张网格")
    worker.skills = [db.session.get(Category, "exposed_garbage")]
    worker.grids = [grid_for_point(*where)]
    worker.on_duty, worker.last_position, worker.last_seen_at = True, point_sql(*where), utcnow()
    return worker


def test_a_dispatcher_dispatches_to_the_top_suggestion_and_sees_new_cases_live(desk, town):
    worker = on_duty_worker((120.004, 30.004))
    case = advance(town, reported(town), "filed")
    db.session.commit()
    page = desk
    page.goto("/login")
    page.fill("input[name=username]", town.dispatcher.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/console")
    page.click(f"#case-list li[data-id='{case.id}']")
    page.click(".case-acts button[data-act=dispatch]")
    page.wait_for_selector(".act-form .pick")
    top = page.locator(".act-form .pick").first
    assert "张网格" in top.inner_text() and "本网格" in top.inner_text() and "路程" in top.inner_text()
    page.screenshot(path=str(SHOTS / "console-dispatch.png"))
    page.click(".act-form button[type=submit]")
    page.wait_for_selector("#case-detail .badge:has-text('已派遣')")
    db.session.expire_all()
    assert db.session.get(Case, case.id).assignee_id == worker.id

    before = page.inner_text("#count")
    fresh = reported(town, description="刚刚上报")  # through the service, as the API would
    db.session.commit()
    page.wait_for_selector(f"#case-list li[data-id='{fresh.id}']", timeout=10_000)  # no reload
    assert page.inner_text("#count") != before

    # Filters live in the address, so a view can be shared; a number finds a case whatever its status.
    page.select_option("select[name=class]", "city_appearance")
    page.check("input[name=overdue]")
    page.wait_for_url(lambda url: "overdue=1" in url and "class=city_appearance" in url)
    page.reload()
    page.wait_for_selector("input[name=overdue]:checked")  # restored from the address
    assert page.input_value("select[name=class]") == "city_appearance"
    page.uncheck("input[name=overdue]")
    page.fill("input[name=q]", case.number)
    page.press("input[name=q]", "Enter")
    page.wait_for_selector(f"#case-list li[data-id='{case.id}']")
    page.screenshot(path=str(SHOTS / "console-filters.png"))

    # The verify queue: one click for valid, a reason for invalid.
    other = reported(town, description="疑似误报")
    db.session.commit()
    page.fill("input[name=q]", "")
    page.click("#verify-queue")
    page.wait_for_selector(f"#case-list li[data-id='{other.id}'] .quick")
    page.screenshot(path=str(SHOTS / "console-verify-queue.png"))
    page.click(f"#case-list li[data-id='{fresh.id}'] button[data-verify=true]")
    page.once("dialog", lambda dialog: dialog.accept("重复上报"))
    page.click(f"#case-list li[data-id='{other.id}'] button[data-verify=false]")
    page.wait_for_selector(f"#case-list li[data-id='{other.id}']", state="detached")
    db.session.expire_all()
    assert db.session.get(Case, fresh.id).status.value == "verified"
    assert db.session.get(Case, other.id).status.value == "invalid"
