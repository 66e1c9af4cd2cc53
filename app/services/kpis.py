"""KPIs over a period, per grid / worker / category / day, from the cases and their events (SQL → dispatch.kpi)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import text

from app.errors import ValidationError
from app.extensions import db
from app.services.calendar import local_datetime
from dispatch import kpi

GROUPS = ("grid", "worker", "category", "day")
MAX_DAYS = 366

_SQL = """
SELECT c.id, c.reported_at, c.closed_at, c.resolved_at, c.handle_due_at, c.rework_count, c.delay_count,
       c.rating, c.status IN ('invalid', 'void', 'merged') AS excluded, c.category_code,
       g.code AS grid, COALESCE(h.display_name, a.display_name, '—') AS worker,
       to_char(c.reported_at AT TIME ZONE :tz, 'YYYY-MM-DD') AS day,
       EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = c.id AND e.action = 'dispatch'
               AND e.data->>'auto' = 'true') AS auto,
       EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = c.id AND (e.action = 'return'
               OR (e.action = 'dispatch' AND e.data->>'reason' = 'offer_timeout'))) AS rerouted
FROM cases c
LEFT JOIN grids g ON g.id = c.grid_id
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
    rows = db.session.execute(text(_SQL), {"start": start, "end": end,
                                           "tz": current_app.config["TIMEZONE"]}).mappings().all()
    records = [
        (r, kpi.CaseRecord(reported=r["reported_at"], closed=r["closed_at"], due=r["handle_due_at"],
                           resolved=r["resolved_at"], reworks=r["rework_count"], delays=r["delay_count"],
                           rating=r["rating"], auto_dispatched=r["auto"], rerouted=r["rerouted"],
                           counts=not r["excluded"]))
        for r in rows
    ]
    out = {"from": start.isoformat(), "to": end.isoformat(), "summary": kpi.summarize(rec for _, rec in records)}
    if group_by:
        key = {"category": "category_code"}.get(group_by, group_by)
        out["group_by"] = group_by
        out["groups"] = kpi.grouped(((str(r[key] or "—"), rec) for r, rec in records), group_by)
    return out
