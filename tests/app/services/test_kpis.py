"""KPIs from real cases and events, over HTTP and the CLI."""

import json
from datetime import timedelta

import pytest

from app.extensions import db
from app.models import Role
from app.models.types import utcnow
from app.services import cases as svc
from app.services import kpis
from tests.factories import Cast, advance, check, jpeg, make_grids, make_user, reported, token_for


@pytest.fixture
def history(app):
    make_grids()
    cast = Cast()
    t0 = utcnow() - timedelta(days=2)
    fast = reported(cast, category="exposed_garbage")  # natural time, 120 min to handle
    advance(cast, fast, "closed", at=t0)
    svc.evaluate_case(fast.id, cast.citizen, rating=5, at=t0)
    slow = reported(cast, category="exposed_garbage", where=(120.015, 30.005))
    advance(cast, slow, "accepted", at=t0)
    svc.feedback_case(slow.id, cast.worker, photos=[jpeg()],
                      at=t0 + timedelta(hours=5))
    check(cast, slow, passed=False, note="返工", at=t0 + timedelta(hours=6))
    # Rework restarts the handling limit at the new dispatch; this second cycle is late too (3 h > 2 h).
    svc.dispatch_case(slow.id, cast.dispatcher, assignee_id=cast.worker.id, at=t0 + timedelta(hours=7))
    svc.accept_case(slow.id, cast.worker, at=t0 + timedelta(hours=7))
    svc.feedback_case(slow.id, cast.worker, photos=[jpeg((5, 5, 5))], at=t0 + timedelta(hours=10))
    check(cast, slow, passed=True, at=t0 + timedelta(hours=10, minutes=30))
    void = reported(cast)
    svc.void_case(void.id, cast.supervisor, reason="测试")
    reported(cast)  # still open
    db.session.commit()
    return cast


def test_summary_and_groups(history):
    out = kpis.compute(*kpis.period(None, None), "grid")
    s = out["summary"]
    assert s["cases"] == 3 and s["closed"] == 2  # the void case does not count
    assert s["on_time_rate"] == 0.5 and s["rework_rate"] == pytest.approx(1 / 3, abs=1e-3)
    assert s["first_time_fix_rate"] == 0.5 and s["mean_satisfaction"] == 5
    assert [g["grid"] for g in out["groups"]] == ["330100001001001", "330100001001002"]


def test_period_validation(app):
    from app.errors import ValidationError

    with pytest.raises(ValidationError):
        kpis.period("2026-11-02", "2026-11-01")
    with pytest.raises(ValidationError):
        kpis.period("2024-01-01", "2026-01-01")
    with pytest.raises(ValidationError):
        kpis.period("soon", None)
    with pytest.raises(ValidationError):
        kpis.compute(*kpis.period(None, None), "colour")


def test_api_and_roles(client, history):
    r = client.get("/api/v1/kpis?group_by=day", headers=token_for(history.supervisor))
    assert r.status_code == 200 and r.json["summary"]["closed"] == 2 and len(r.json["groups"]) >= 1
    assert client.get("/api/v1/kpis", headers=token_for(history.worker)).status_code == 403
    bad = client.get("/api/v1/kpis?group_by=colour", headers=token_for(history.dispatcher))
    assert bad.status_code == 400 and "group_by" in bad.json["error"]["message"]


def test_cli(app, history):
    r = app.test_cli_runner().invoke(args=["kpis", "--group-by", "category", "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["groups"][0]["category"] == "exposed_garbage"
    r = app.test_cli_runner().invoke(args=["kpis", "--from", "2026-13-01"])
    assert r.exit_code == 1


def test_simulate_cli(app):
    r = app.test_cli_runner().invoke(args=["dispatch", "simulate", "--policy", "nearest", "--hours", "3",
                                           "--warmup-days", "1", "--workers", "16", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["policy"] == "nearest" and out["closed"] == out["cases"] > 0


def test_dispatch_round_cli(app, history):
    make_user(Role.WORKER)
    r = app.test_cli_runner().invoke(args=["dispatch", "round"])
    assert r.exit_code == 0 and json.loads(r.output)["considered"] == 0


def test_every_figure_drills_down_to_its_cases(client, history):
    """The dashboard's drill-down (case list `kpi=`) finds exactly the cases each KPI counted."""
    headers = token_for(history.supervisor)
    s = client.get("/api/v1/kpis", headers=headers).json["summary"]

    def total(kpi_set):
        r = client.get(f"/api/v1/cases?kpi={kpi_set}&status=" + ",".join(
            ("reported", "verified", "filed", "dispatched", "accepted", "handling", "resolved", "closed",
             "suspended", "invalid", "void", "merged")), headers=headers)
        assert r.status_code == 200, r.json
        return r.json["total"]

    assert total("cases") == s["cases"] == 3 and total("closed") == s["closed"] == 2
    assert total("on_time") == round(s["on_time_rate"] * s["closed"]) == 1 and total("late") == 1
    assert total("reworked") == round(s["rework_rate"] * s["cases"]) == 1
    assert total("first_time_fix") == round(s["first_time_fix_rate"] * s["closed"])
    assert total("rated") == s["rated"] == 1 and total("dissatisfied") == 0 and total("open") == 1
    assert client.get("/api/v1/cases?kpi=happiness", headers=headers).status_code == 400


def test_league_tables_rank_by_the_composite_score(client, history):
    from dispatch.kpi import composite

    out = kpis.compute(*kpis.period(None, None), "worker")
    worker = next(g for g in out["groups"] if g["id"] == history.worker.id)
    assert worker["worker"] == history.worker.display_name and worker["drill"] == {"worker_id": history.worker.id}
    assert worker["score"] == composite(worker)
    assert worker["rank"] is None  # too few cases to be ranked (dispatch.kpi.MIN_CASES_RANKED)
    import dispatch.kpi

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(dispatch.kpi, "MIN_CASES_RANKED", 1)
        grids = kpis.compute(*kpis.period(None, None), "grid")["groups"]
    assert [g["rank"] for g in grids] == [1, 2]
    assert grids[0]["score"] >= grids[1]["score"]
    # The drill-down of a league row lists that worker's cases.
    r = client.get(f"/api/v1/cases?worker_id={history.worker.id}&kpi=cases&status=closed",
                   headers=token_for(history.supervisor))
    assert r.json["total"] == 2
    grids = kpis.compute(*kpis.period(None, None), "grid")["groups"]
    assert {g["drill"]["grid"] for g in grids} == {"330100001001001", "330100001001002"}
    days = kpis.compute(*kpis.period(None, None), "day")["groups"]
    assert "rank" not in days[0] and set(days[0]["drill"]) == {"from", "to"}


def test_composite_score_formula():
    from dispatch.kpi import composite

    perfect = {"cases": 4, "on_time_rate": 1.0, "closure_rate": 1.0, "rework_rate": 0.0,
               "mean_satisfaction": 5, "delay_rate": 0.0}
    assert composite(perfect) == 100.0
    assert composite({**perfect, "on_time_rate": 0.5}) == 80.0  # 40 % weight × half
    # Nobody rated yet: satisfaction is left out and the other weights scale up (not counted as zero).
    assert composite({**perfect, "mean_satisfaction": None, "on_time_rate": 0.0}) == pytest.approx(52.9, abs=0.1)
    assert composite({"cases": 0}) is None


def test_league_table_csv(client, history):
    r = client.get("/api/v1/kpis/export?group_by=grid", headers=token_for(history.dispatcher))
    assert r.status_code == 200 and r.mimetype == "text/csv"
    text = r.data.decode("utf-8")
    assert text.startswith("\ufeff") and "attachment" in r.headers["Content-Disposition"]
    import csv

    rows = list(csv.reader(text.lstrip("\ufeff").splitlines()))
    assert len(rows) == 1 + 2 and rows[1][0] == "" and {rows[1][1], rows[2][1]} == {"330100001001001",
                                                                                     "330100001001002"}
    assert client.get("/api/v1/kpis/export", headers=token_for(history.dispatcher)).status_code == 400
    assert client.get("/api/v1/kpis/export?group_by=grid", headers=token_for(history.worker)).status_code == 403


def test_simulate_cli_compares_on_evaluation_seeds(app):
    r = app.test_cli_runner().invoke(args=["dispatch", "simulate", "--seeds", "2", "--hours", "2",
                                           "--warmup-days", "1", "--workers", "12"])
    assert r.exit_code == 0, r.output
    assert "Per-seed ratio to nearest idle" in r.output and "wait_check" in r.output and "1001:" in r.output
    assert app.test_cli_runner().invoke(args=["dispatch", "simulate", "--seeds", "31"]).exit_code == 2


def test_proactive_discovery_rate_and_patrol_coverage(client, history):
    """主动发现率: the share found by inspectors or cameras; 巡查覆盖率: the share of a grid's blocks ridden."""
    from app.models.cases import Source
    from app.services import users

    svc.report_case(history.worker, category_code="exposed_garbage", lon=120.005, lat=30.005,
                    source=Source.INSPECTOR)
    users.set_on_duty(history.worker, True)
    users.report_position(history.worker, 120.005, 30.005)
    db.session.commit()
    out = kpis.compute(*kpis.period(None, None), "grid")
    assert out["summary"]["cases"] == 4 and out["summary"]["proactive_rate"] == 0.25
    cover = {g["grid"]: g["patrol_coverage_rate"] for g in out["groups"]}
    assert 0 < cover["330100001001001"] < 0.05 and cover["330100001001002"] == 0  # one block of the west grid
    headers = token_for(history.supervisor)
    r = client.get("/api/v1/cases?kpi=proactive&status=" + ",".join(
        ("reported", "verified", "filed", "dispatched", "closed", "void")), headers=headers)
    assert r.json["total"] == 1  # the drill-down finds the inspector's report
    csv_rows = client.get("/api/v1/kpis/export?group_by=grid", headers=headers).get_data(as_text=True)
    assert "巡查覆盖率" in csv_rows.splitlines()[0] and "主动发现率" in csv_rows.splitlines()[0]
