"""Builds the jurisdiction's WorkCalendar from configuration and the holiday table; loads holiday files."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from app.errors import ValidationError
from app.extensions import db, request_cache
from app.models import Holiday
from dispatch.calendar import WorkCalendar, parse_periods

DEFAULT_HOLIDAYS = Path(__file__).resolve().parent.parent / "data" / "holidays.yaml"


def get_calendar() -> WorkCalendar:
    """The working-time calendar in force (cached for the request or job)."""
    cache = request_cache()
    if "calendar" not in cache:
        rows = db.session.execute(select(Holiday.day, Holiday.is_workday)).all()
        cache["calendar"] = WorkCalendar(
            tz=ZoneInfo(current_app.config["TIMEZONE"]),
            periods=parse_periods(current_app.config["WORK_PERIODS"]),
            holidays=frozenset(d for d, w in rows if not w),
            workdays=frozenset(d for d, w in rows if w),
        )
    return cache["calendar"]


def local_datetime(raw: str, field: str) -> datetime:
    """An ISO date or date-time from user input; without an offset it is local time (TIMEZONE)."""
    try:
        value = datetime.fromisoformat(str(raw).strip())
    except ValueError:
        raise ValidationError(_l("%(field)s must be an ISO date or date-time."), field=field) from None
    # Years far from now are typing errors, and near year 1 or 9999 the offset arithmetic overflows.
    if not 1970 <= value.year <= 2200:
        raise ValidationError(_l("%(field)s must be a date between 1970 and 2200."), field=field)
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(current_app.config["TIMEZONE"]))


def load_holidays(path: str | Path = DEFAULT_HOLIDAYS) -> int:
    """Upsert holidays and make-up workdays from a YAML file; return how many days were loaded."""
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise ValidationError(_l("Cannot read %(path)s: %(err)s"), path=str(path), err=str(exc)) from exc
    rows = []
    for kind, is_workday in (("holidays", False), ("workdays", True)):
        for item in doc.get(kind) or []:
            try:
                day = date.fromisoformat(str(item["date"]))
            except (KeyError, TypeError, ValueError) as exc:
                raise ValidationError(_l("Bad calendar entry: %(item)s"), item=str(item)) from exc
            rows.append({"day": day, "is_workday": is_workday, "name": str(item.get("name", ""))})
    days = [r["day"] for r in rows]
    if len(days) != len(set(days)):
        raise ValidationError(_l("A day is listed twice in the calendar file."))
    if rows:
        stmt = insert(Holiday).values(rows)
        db.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[Holiday.day], set_={"is_workday": stmt.excluded.is_workday, "name": stmt.excluded.name}
            )
        )
    request_cache().pop("calendar", None)
    return len(rows)


def local_text(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored time as the district's wall clock (TIMEZONE), for pages and spreadsheets; "" for none."""
    return value.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).strftime(fmt) if value else ""


def local_midnight(days_ago: int = 0) -> datetime:
    """The start of today (or `days_ago` days before) in the district's time zone."""
    now = datetime.now(ZoneInfo(current_app.config["TIMEZONE"]))
    return datetime.combine(now.date() - timedelta(days=days_ago), time(0), tzinfo=now.tzinfo)
