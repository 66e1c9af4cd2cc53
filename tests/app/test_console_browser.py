"""The console in a real browser at 1440×900: a dispatcher dispatches a filed case to the router's top
suggestion from the case panel, and a case reported meanwhile appears without a reload."""

import pytest

from app.extensions import db
from app.models import Case, Category, Role
from app.models.types import utcnow
from app.services.grids import grid_for_point, point_sql
from tests.conftest import SHOTS, sign_in_page
from tests.factories import advance, make_user, reported, token_for

pytestmark = pytest.mark.slow


def on_duty_worker(where):
    worker = make_user(Role.WORKER, display_name="张网格")
    worker.skills = [db.session.get(Category, "exposed_garbage")]
    worker.grids = [grid_for_point(*where)]
    worker.on_duty, worker.last_position, worker.last_seen_at = True, point_sql(*where), utcnow()
    return worker


def test_a_dispatcher_dispatches_to_the_top_suggestion_and_sees_new_cases_live(desk, town, app):
    worker = on_duty_worker((120.004, 30.004))
    case = advance(town, reported(town), "filed")
    db.session.commit()
    page = desk
    sign_in(page, town.dispatcher)
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

    before, on_map = page.inner_text("#count"), page.inner_text("#in-view")
    r = app.test_client().post("/api/v1/cases", headers=token_for(town.citizen), json={
        "category": "exposed_garbage", "lon": 120.005, "lat": 30.004, "description": "刚刚上报"})
    assert r.status_code == 201
    fresh = db.session.get(Case, r.json["id"])
    page.wait_for_selector(f"#case-list li[data-id='{fresh.id}']", timeout=10_000)  # no reload
    assert page.inner_text("#count") != before
    for _ in range(50):  # …and on the map: the viewport's count moved on
        if page.inner_text("#in-view") != on_map:
            break
        page.wait_for_timeout(100)
    assert page.inner_text("#in-view") != on_map

    # Filters live in the address, so a view can be shared; a number finds a case whatever its status.
    page.select_option("select[name=class]", "city_appearance")
    page.check("input[name=overdue]")
    page.wait_for_url(lambda url: "overdue=1" in url and "class=city_appearance" in url)
    page.reload()
    page.wait_for_selector("input[name=overdue]:checked")  # restored from the address
    assert page.input_value("select[name=class]") == "city_appearance"
    page.uncheck("input[name=overdue]")
    # Closed cases pile up for years: choosing them starts from the last 90 days, in the district's calendar.
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    page.select_option("select[name=status]", "closed")
    local_today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    assert page.input_value("input[name=from]") == (local_today - timedelta(days=89)).isoformat()
    page.select_option("select[name=status]", "")
    page.fill("input[name=from]", "")
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


def sign_in(page, user):
    sign_in_page(page, user, "/console")


def closed_history(town):
    """Two closed cases in two grids, one of them reworked, and one still open: material for the dashboard."""
    from app.services import cases as svc
    from tests.factories import check, jpeg

    first = advance(town, reported(town), "closed")
    second = advance(town, reported(town, where=(120.015, 30.005)), "accepted")
    svc.feedback_case(second.id, town.worker, photos=[jpeg()])
    check(town, second, passed=False, note="返工")
    svc.dispatch_case(second.id, town.dispatcher, assignee_id=town.worker.id)
    svc.accept_case(second.id, town.worker)
    svc.feedback_case(second.id, town.worker, photos=[jpeg((9, 9, 9))])
    check(town, second, passed=True)
    still_open = reported(town)
    db.session.commit()
    return first, second, still_open


def test_the_dashboard_draws_its_charts_ranks_units_and_every_number_drills_down(desk, town):
    first, second, still_open = closed_history(town)
    page = desk
    sign_in(page, town.supervisor)
    page.click("a[href='/console/dashboard']")
    page.wait_for_selector("#trend canvas")  # ECharts drew (from the local copy: the CDN is unreachable here)
    page.wait_for_selector("#by-source canvas")
    page.wait_for_selector("#league-table tbody tr[data-drill]")
    assert page.inner_text("#figures [data-k=cases]") == "3"
    assert page.inner_text("#figures [data-k=rework_rate]") == "33.3%"
    assert "综合指标值" in page.inner_text("#league-table thead")
    ranks = page.locator("#league-table tbody tr td:first-child").all_inner_texts()
    assert ranks == ["–", "–"]  # fewer than 5 cases each: listed, not ranked
    page.wait_for_selector("#heat path.leaflet-interactive")  # the heat map's cells
    page.wait_for_timeout(300)  # the charts' entry animation
    page.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)

    # The league table as a spreadsheet: UTF-8 with a byte-order mark, one row per grid.
    with page.expect_download() as dl:
        page.click("#export-league")
    data = open(dl.value.path(), "rb").read().decode("utf-8")
    assert data.startswith("\ufeff排名,网格") and data.count("\n") == 3

    # Every number drills down to its cases: the reworked share lists the one reworked case.
    page.click("#figures a:has([data-k=rework_rate])")
    page.wait_for_url("**/console?**kpi=reworked**")
    page.wait_for_selector(f"#case-list li[data-id='{second.id}']")
    assert page.locator("#case-list li").count() == 1
    assert "返工" in page.inner_text("#filters .drill")
    # …and the case list exports the same rows.
    with page.expect_download() as dl:
        page.click("#export")
    rows = open(dl.value.path(), "rb").read().decode("utf-8").lstrip("\ufeff").splitlines()
    assert len(rows) == 2 and rows[1].startswith(second.number)

    # English, and a league row drills down to that grid's cases.
    page.goto("/lang/en")
    page.goto("/console/dashboard")
    page.wait_for_selector("#league-table tbody tr[data-drill]")
    assert "Composite score" in page.inner_text("#league-table thead")
    page.click("#league-table tbody tr[data-drill] >> nth=0")
    page.wait_for_url("**/console?**grid=**")
    page.wait_for_selector("#case-list li")


def test_the_wall_display_renders_live_figures(browser, live_server, real_csrf, town):
    from tests.conftest import _local_page

    first, second, still_open = closed_history(town)
    late = advance(town, reported(town, description="超时未处置"), "filed")
    db.session.get(Case, late.id).dispatch_due_at = utcnow().replace(year=2020)
    db.session.commit()
    page = _local_page(browser, live_server, viewport={"width": 1920, "height": 1080})
    try:
        sign_in(page, town.supervisor)
        page.goto("/console/wall")
        page.wait_for_selector("#top-cats canvas")
        page.wait_for_selector(f"#overdue-list li:has-text('{late.number}')")
        assert page.inner_text("#overdue-count") == "1"
        page.wait_for_selector(".w-figs dd[data-k=cases]:not(:has-text('–'))")
        assert page.inner_text(".w-figs dd[data-k=cases]") == "4"
        clock = page.inner_text("#clock")
        assert clock and ":" in clock
        reported(town, description="大屏实时")
        db.session.commit()
        page.wait_for_selector(".w-figs dd[data-k=cases]:has-text('5')", timeout=10_000)  # from the live stream
        page.screenshot(path=str(SHOTS / "wall.png"))
    finally:
        page.context.close()


def test_the_map_aggregates_when_zoomed_out_and_a_camera_popup_shows_its_picture(desk, town, monkeypatch):
    from app.camera_runtime.health import write_health, write_snapshot
    from app.models import Camera
    from app.models.cases import Source
    from app.services import case_search
    from app.services import cases as svc
    from app.services.vision import camera_actor
    from tests.factories import jpeg

    monkeypatch.setattr(case_search, "VIEWPORT_POINT_LIMIT", 3)  # the live server runs in this process
    for i in range(6):
        reported(town, where=(120.002 + i * 0.0012, 30.002 + i * 0.001))
    cam = Camera(code="CAMW", name="西门路口", position=point_sql(120.012, 30.008), fps=1)
    db.session.add(cam)
    db.session.flush()
    from app.services import camera_leases

    camera_leases.beat("edge-2", 10, {})  # a vision node runs it
    svc.report_case(camera_actor(), category_code="exposed_garbage", lon=120.012, lat=30.007,
                    source=Source.CAMERA, camera_id=cam.id)
    db.session.commit()
    import time

    write_health("CAMW", {"fps": 1.0, "errors": 0, "findings": 1, "at": time.time()})
    write_snapshot("CAMW", jpeg((40, 160, 40), (64, 36)))
    page = desk
    sign_in(page, town.dispatcher)
    page.wait_for_selector("#map .cell")  # 7 cases > 3: counted per cell, not drawn one by one
    assert page.get_attribute("#map", "data-mode") == "cells"
    assert "地图范围内 7 件" in page.inner_text("#in-view")
    page.screenshot(path=str(SHOTS / "console-cells.png"))
    page.click("#map .cam")
    page.wait_for_selector(".cam-pop img.snap")
    page.wait_for_selector(".cam-pop table td:has-text('暴露垃圾')")
    for _ in range(50):  # the snapshot loads (wait_for_function would need the eval the CSP forbids)
        if page.evaluate("document.querySelector('.cam-pop img.snap').naturalWidth") == 64:
            break
        page.wait_for_timeout(100)
    assert page.evaluate("document.querySelector('.cam-pop img.snap').naturalWidth") == 64
    assert "西门路口" in page.inner_text(".cam-pop") and "节点 edge-2" in page.inner_text(".cam-pop")
    page.wait_for_timeout(500)  # the popup's fade and the map's pan
    page.screenshot(path=str(SHOTS / "console-camera.png"))


def test_gcj02_tiles_shift_positions_for_display_only(desk, town, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAP_TILE_CRS", "gcj02")
    page = desk
    sign_in(page, town.dispatcher)
    # The published GCJ-02 offset of a point in Shanghai (eviltransform's test vector).
    ll = page.evaluate("(() => { const p = UO.toMap(121.5272106, 31.1774276); return [p.lat, p.lng]; })()")
    assert ll == pytest.approx([31.17530398364597, 121.531541859215], abs=1e-9)
    back = page.evaluate("UO.fromMap(L.latLng(31.17530398364597, 121.531541859215))")
    assert back["lon"] == pytest.approx(121.5272106, abs=1e-7) and back["lat"] == pytest.approx(31.1774276, abs=1e-7)
    outside = page.evaluate("(() => { const p = UO.toMap(2.35, 48.85); return [p.lat, p.lng]; })()")
    assert outside == [48.85, 2.35]  # outside China nothing moves
    monkeypatch.setitem(app.config, "MAP_TILE_CRS", "wgs84")
    page.reload()
    assert page.evaluate("(() => { const p = UO.toMap(121.5272106, 31.1774276); return [p.lat, p.lng]; })()") == \
        [31.1774276, 121.5272106]


def test_the_dashboard_says_when_there_is_nothing_and_when_it_cannot_load(desk, town):
    page = desk
    sign_in(page, town.supervisor)
    page.goto("/console/dashboard")
    page.wait_for_selector("#league-table td.muted:has-text('该时段没有案件')")
    assert page.inner_text("#figures [data-k=cases]") == "0"
    assert page.inner_text("#figures [data-k=on_time_rate]") == "–"
    page.route("**/api/v1/kpis?**", lambda route: route.fulfill(
        status=503, content_type="application/json", body='{"error": {"code": "unavailable", "message": "数据库忙"}}'))
    page.click("#range button[data-days='7']")
    page.wait_for_selector("#status:has-text('加载失败：数据库忙')")
    # The command map says so too, where the count is, when the server cannot answer.
    page.route("**/api/v1/cases?**", lambda route: route.fulfill(
        status=503, content_type="application/json", body='{"error": {"code": "unavailable", "message": "数据库忙"}}'))
    page.goto("/console")
    page.wait_for_selector("#count.error:has-text('加载失败：数据库忙')")


def test_the_verify_queue_flags_a_doubtful_category_and_offers_change_and_merge(desk, town, app, tmp_path,
                                                                                monkeypatch):
    from app.services import intel

    monkeypatch.setitem(app.config, "INTEL_MODEL_DIR", str(tmp_path / "intel"))
    intel.train_text_model(with_history=False)
    first = reported(town, "manhole_abnormal", where=(120.005, 30.005), description="井盖丢了")
    doubtful = reported(town, "exposed_garbage", where=(120.0051, 30.005), description="路口的井盖不见了，很危险")
    db.session.commit()
    page = desk
    sign_in(page, town.dispatcher)
    item = page.locator(f"#case-list li[data-id='{doubtful.id}']")
    assert "类别可能有误: 井盖异常?" in item.inner_text()
    assert page.locator(f"#case-list li[data-id='{first.id}'] .badge.hint").count() == 0
    item.click()
    page.wait_for_selector(".case-insight p.hint")
    insight = page.inner_text(".case-insight")
    assert "类别可能有误，描述更像 井盖异常" in insight and "可能重复" in insight and first.number in insight
    page.screenshot(path=str(SHOTS / "console-insight.png"))
    page.click(".case-insight button[data-recat]")
    page.wait_for_selector(f"#case-detail h2:has-text('{doubtful.number} · 井盖异常')")
    assert page.locator(".case-insight p.hint").count() == 0
    db.session.expire_all()
    assert db.session.get(Case, doubtful.id).category_code == "manhole_abnormal"
    page.click(".case-insight button[data-merge]")  # the newer report goes into the older case
    page.wait_for_selector("#case-detail .badge:has-text('已合并')")
    history = page.inner_text("#case-detail ol")
    assert "暴露垃圾 → 井盖异常" in history and f"→ {first.number}" in history  # what each step changed
    db.session.expire_all()
    assert db.session.get(Case, doubtful.id).merged_into_id == first.id
    page.screenshot(path=str(SHOTS / "console-merged.png"))
