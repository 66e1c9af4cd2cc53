"""KPIs over a period, per grid / worker / category / day, from the cases and their events (SQL → dispatch.kpi)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import text

from app.errors import ValidationError
from app.extensions import db
from app.services.calendar import local_datetime
from app.services.case_search import NOT_WORK, PROACTIVE_SOURCES
from app.vocabulary import KPI_LABELS
from dispatch import kpi

# group → (its key column, its display column, the case-list filter that drills down to its cases)
GROUPS: dict[str, tuple[str, str, str]] = {
    "grid": ("grid", "grid_name", "grid"),
    "worker": ("worker_id", "worker", "worker_id"),
    "department": ("department_id", "department", "department_id"),
    "category": ("category_code", "category_code", "category"),
    "class": ("class_code", "class_code", "class"),
    "source": ("source", "source", "source"),
    "day": ("day", "day", "day"),
}
GROUP_LABELS = {"grid": _l("Grid"), "worker": _l("Worker"), "department": _l("Department"),
                "category": _l("Category"), "class": _l("Class"), "source": _l("Source"), "day": _l("Day")}
LEAGUES = ("grid", "worker", "department")  # ranked by the composite score (dispatch.kpi.composite)
MAX_DAYS = 366
PROACTIVE = {s.value for s in PROACTIVE_SOURCES}

_SQL = """
SELECT c.id, c.reported_at, c.closed_at, c.resolved_at, c.handle_due_at, c.rework_count, c.delay_count,
       c.rating, c.status = ANY(:not_work) AS excluded, c.category_code,
       c.source, cat.class_code, c.department_id, d.name AS department,
       g.code AS grid, g.name AS grid_name, COALESCE(c.handler_id, c.assignee_id) AS worker_id,
       COALESCE(h.display_name, a.display_name, '—') AS worker,
       to_char(c.reported_at AT TIME ZONE :tz, 'YYYY-MM-DD') AS day,
       EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = c.id AND e.action = 'dispatch'
               AND e.data->>'auto' = 'true') AS auto,
       EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = c.id AND (e.action = 'return'
               OR (e.action = 'dispatch' AND e.data->>'reason' = 'offer_timeout'))) AS rerouted
FROM cases c
JOIN categories cat ON cat.code = c.category_code
LEFT JOIN grids g ON g.id = c.grid_id
LEFT JOIN departments d ON d.id = c.department_id
LEFT JOIN users h ON h.id = c.handler_id
LEFT JOIN users a ON a.id = c.assignee_id
WHERE c.reported_at >= :start AND c.reported_at < :end
"""


def period(start: str | None, end: str | None, default_days: int = 30) -> tuple[datetime, datetime]:
    """Parse from/to (ISO dates or date-times in local time); default: the last `default_days` days."""
    now = datetime.now(ZoneInfo(current_app.config["TIMEZONE"]))
    end_at = local_datetime(end, "to") if end else now
    start_at = local_datetime(start, "from") if start else end_at - timedelta(days=default_days)
    if start_at >= end_at:
        raise ValidationError(_l("'from' must be before 'to'."))
    if end_at - start_at > timedelta(days=MAX_DAYS):
        raise ValidationError(_l("The period may be at most %(n)d days."), n=MAX_DAYS)
    return start_at, end_at


def compute(start: datetime, end: datetime, group_by: str | None = None) -> dict:
    """Summary KPIs for cases reported in [start, end), and optionally per group."""
    if group_by is not None and group_by not in GROUPS:
        raise ValidationError(_l("group_by must be one of %(groups)s."), groups=", ".join(GROUPS))
    rows = db.session.execute(text(_SQL), {"start": start, "end": end, "tz": current_app.config["TIMEZONE"],
                                           "not_work": [s.value for s in NOT_WORK]}).mappings().all()
    records = [
        (r, kpi.CaseRecord(reported=r["reported_at"], closed=r["closed_at"], due=r["handle_due_at"],
                           resolved=r["resolved_at"], reworks=r["rework_count"], delays=r["delay_count"],
                           rating=r["rating"], auto_dispatched=r["auto"], rerouted=r["rerouted"],
                           counts=not r["excluded"], proactive=r["source"] in PROACTIVE))
        for r in rows
    ]
    out = {"from": start.isoformat(), "to": end.isoformat(), "summary": kpi.summarize(rec for _, rec in records)}
    from app.services.patrol import discovery_hours

    out["summary"]["discovery_h"] = discovery_hours(start, end)  # estimated, from the blocks' last looks
    if group_by:
        out["group_by"] = group_by
        out["groups"] = _groups(records, group_by)
        if group_by == "grid":  # how much of each grid inspectors rode through (巡查覆盖率)
            from app.services.patrol import coverage_by_grid

            cover = coverage_by_grid(start, end)
            for g in out["groups"]:
                g["patrol_coverage_rate"] = round(cover[g["id"]], 4) if g["id"] in cover else None
    return out


def _drill(param: str, key) -> dict | None:
    """The case-list filter that selects a group's cases (with the period's from/to added by the caller)."""
    if key is None:
        return None
    if param == "day":
        return {"from": key, "to": (date.fromisoformat(key) + timedelta(days=1)).isoformat()}
    return {param: key}


def _groups(records: list, group_by: str) -> list[dict]:
    """KPIs per group, each with its display name, drill-down filter and (league tables) score and rank."""
    key_col, name_col, param = GROUPS[group_by]
    names = {r[key_col]: r[name_col] for r, _ in records}
    groups = []
    for g in kpi.grouped(((r[key_col], rec) for r, rec in records), "key"):
        key = g.pop("key")
        groups.append({group_by: names.get(key) if group_by == "worker" else (key or "—"), "id": key,
                       "name": names.get(key) or "—", "drill": _drill(param, key),
                       "score": kpi.composite(g), **g})
    if group_by in LEAGUES:  # ranked by score; units with too few cases follow, unranked
        groups.sort(key=lambda g: (g["cases"] < kpi.MIN_CASES_RANKED, g["score"] is None, -(g["score"] or 0),
                                   -g["cases"]))
        for rank, g in enumerate(groups, 1):
            g["rank"] = rank if g["cases"] >= kpi.MIN_CASES_RANKED else None
    return groups


LEAGUE_COLUMNS = ("score", "cases", "closed", "on_time_rate", "closure_rate", "rework_rate", "delay_rate",
                  "mean_close_min", "p90_close_min", "mean_satisfaction", "first_time_fix_rate", "dispatch_accuracy",
                  "proactive_rate", "patrol_coverage_rate")


def league_table(out: dict) -> tuple[list, list[list]]:
    """(header, rows) of `compute(…, group_by)` for a spreadsheet: rank, the group, then every KPI."""
    group_by = out["group_by"]
    header = [_l("Rank"), GROUP_LABELS[group_by], *(KPI_LABELS[key] for key in LEAGUE_COLUMNS)]
    rows = [[g.get("rank", ""), g[group_by] if group_by != "worker" else g["name"],
             *(g.get(key) for key in LEAGUE_COLUMNS)] for g in out["groups"]]
    return header, rows
