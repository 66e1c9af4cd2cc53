"""Proactive discovery in real browsers: the inspector's 巡查 tab on a phone (off duty, no round yet, a planned
round on its map over a slow network, riding it, ending it; English; a refusal said in the person's language) and
the console's forecast layer at 1440×900 (nothing to learn from yet, then the district's hot blocks)."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import PatrolRound, RoundStatus, User
from app.services import users
from tests.conftest import SHOTS, sign_in_page
from tests.factories import Cast, make_grids, past_problems

pytestmark = pytest.mark.slow


@pytest.fixture
def district(app):
    make_grids()
    cast = Cast()
    past_problems(cast)
    db.session.commit()
    return cast


def assert_all_blocks_in_view(page):
    """The map shows the whole round: every numbered block lies inside the map's box."""
    page.wait_for_timeout(300)  # the fit's animation
    inside = page.evaluate("""() => {
        const box = document.getElementById("pmap").getBoundingClientRect();
        return [...document.querySelectorAll("#pmap .pin.round")].map((p) => {
            const r = p.getBoundingClientRect(), x = (r.left + r.right) / 2, y = (r.top + r.bottom) / 2;
            return x >= box.left && x <= box.right && y >= box.top && y <= box.bottom; });
    }""")
    assert inside and all(inside), inside


def open_patrol(page):
    page.click("button[data-tab=patrol]")
    page.wait_for_selector("#round-head:not(:empty)")


def test_an_inspector_plans_rides_and_ends_a_patrol_round_on_the_phone(phone, district):
    page = phone
    sign_in_page(page, district.worker, "/m/")
    open_patrol(page)
    assert "上岗后才会安排巡查" in page.inner_text("#round-head")  # off duty: said, not an empty page
    page.click("#round-new")
    page.wait_for_selector(".toast:has-text('请先上岗')")  # the server's refusal, in Chinese
    page.check("#duty")
    page.wait_for_selector("#gps:not([hidden])")  # the phone's position has reached the server
    page.wait_for_selector("#round-head:has-text('没有任务时系统会自动为你安排')")
    page.screenshot(path=str(SHOTS / "field-patrol-empty.png"))
    held = []  # a slow network: the answer is held back while the button says it is working
    page.route("**/api/v1/me/patrol", lambda route: held.append(route) if route.request.method == "POST"
               else route.continue_())
    page.click("#round-new")
    page.wait_for_selector("#round-new[disabled]:has-text('正在生成')")
    held[0].continue_()
    page.wait_for_selector("#round-stops li")
    page.unroute("**/api/v1/me/patrol")
    assert page.is_enabled("#round-new") and page.inner_text("#round-new") == "换一条路线"
    head = page.inner_text("#round-head")
    assert "个巡查点" in head and "已巡 0 个" in head
    stops = page.locator("#round-stops li").count()
    page.wait_for_selector("#pmap path.leaflet-interactive")
    assert stops >= 3 and page.locator("#pmap path.leaflet-interactive").count() >= stops  # hexagons + route
    assert_all_blocks_in_view(page)
    assert page.inner_text("#round-stops li:first-child").strip().endswith("前")  # "by 14:05" in local time
    page.screenshot(path=str(SHOTS / "field-patrol-round.png"))
    # Riding the first block: the phone's position reaches the server and the block turns green.
    db.session.rollback()
    worker = db.session.get(User, district.worker.id)
    rnd = db.session.scalars(select(PatrolRound).where(PatrolRound.user_id == worker.id,
                                                       PatrolRound.status == RoundStatus.ACTIVE)).one()
    users.report_position(worker, rnd.stops[0]["lon"], rnd.stops[0]["lat"])
    db.session.commit()
    page.click("button[data-tab=tasks]")
    open_patrol(page)
    page.wait_for_selector("#round-stops li.looked")
    assert "已巡 1 个" in page.inner_text("#round-head")
    page.click("#round-end")
    page.wait_for_selector(".toast:has-text('已结束巡查')")
    assert page.locator("#round-stops li").count() == 0 and page.is_hidden("#round-end")
    page.goto("/lang/en")
    page.goto("/m/")
    open_patrol(page)
    page.click("#round-new")
    page.wait_for_selector("#round-stops li")
    assert "blocks, about" in page.inner_text("#round-head") and page.inner_text("#round-new") == "Another route"
    page.wait_for_selector("#pmap .pin.round")
    assert_all_blocks_in_view(page)  # also when the tab opened with no round and the map came later
    page.screenshot(path=str(SHOTS / "field-patrol-en.png"))


def test_the_console_shades_the_blocks_where_problems_are_expected(desk, app):
    make_grids()
    cast = Cast()
    db.session.commit()
    page = desk
    sign_in_page(page, cast.dispatcher, "/console")
    page.check(".forecast-ctl input[name=on]")
    page.wait_for_selector(".forecast-ctl .fc-note:has-text('还没有可供学习的案件')")  # nothing yet: said so
    past_problems(cast)
    db.session.commit()
    page.uncheck(".forecast-ctl input[name=on]")
    page.check(".forecast-ctl input[name=on]")
    page.wait_for_selector(".forecast-ctl .fc-note:has-text('全区预计约')")
    shaded = page.locator(".leaflet-forecast-pane path").count()
    assert shaded >= 1
    page.select_option(".forecast-ctl select[name=hours]", "24")
    page.wait_for_selector(".forecast-ctl .fc-note:has-text('未来 24 小时')")
    page.screenshot(path=str(SHOTS / "console-forecast.png"))
    # The shading stays under the grids and cases: their tooltips and clicks still work over a hot block.
    assert page.evaluate("getComputedStyle(document.querySelector('.leaflet-forecast-pane')).zIndex") == "350"
    kpis = page.inner_text("#kpis")
    assert "主动发现率" in kpis and "发现用时" in kpis  # the new KPIs beside the others
    page.goto("/lang/en")
    page.goto("/console")
    page.check(".forecast-ctl input[name=on]")
    page.wait_for_selector(".forecast-ctl .fc-note:has-text('expected in the district')")
    page.screenshot(path=str(SHOTS / "console-forecast-en.png"))
