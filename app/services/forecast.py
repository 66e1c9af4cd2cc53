"""The forecast (`patrol.forecast`) on the platform's own history: every case that was a real problem, from every
source, at its place and reporting time, on the H3 cells covering the district's grids.

Times are hours since the Monday 00:00 (local time, TIMEZONE) on or before the first case, so the hour of the
week the model learns is the district's wall clock.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, text

from app.errors import ValidationError
from app.extensions import db
from app.models import Case, Category
from dispatch.lifecycle import TERMINAL
from patrol.cells import Cells, cell_of, cells_covering
from patrol.evaluate import as_events, held_out
from patrol.history import HOURS_PER_WEEK, Event

MIN_TRAINING_WEEKS = 4


def district_cells(extra: set[str] = frozenset()) -> list[str]:
    """The cells whose centres lie in the district's grids, plus `extra` (cells of problems on the edge)."""
    union = db.session.scalar(text("SELECT ST_AsGeoJSON(ST_Union(geom)) FROM grids"))
    if union is None:
        raise ValidationError(_l("No grids are imported yet."))
    return sorted(set(cells_covering(json.loads(union))) | set(extra))


def _real_problems(since: datetime | None = None, until: datetime | None = None):
    q = (select(Case.reported_at, Case.lon, Case.lat, Case.category_code)
         .where(Case.status.not_in([s.value for s in TERMINAL])).order_by(Case.reported_at))
    if since is not None:
        q = q.where(Case.reported_at >= since)
    if until is not None:
        q = q.where(Case.reported_at < until)
    return db.session.execute(q).all()


def history(since: datetime | None = None) -> tuple[datetime | None, list[Event]]:
    """The start of the first week (local Monday 00:00) and every real problem since, oldest first."""
    rows = _real_problems(since)
    if not rows:
        return None, []
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    first = rows[0][0].astimezone(tz)
    origin = (first - timedelta(days=first.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return origin, _events(rows, origin)


def events_between(since: datetime, until: datetime, origin: datetime) -> list[Event]:
    """The real problems reported in [since, until), in hours since `origin`."""
    return _events(_real_problems(since, until), origin)


def problems_between(since: datetime, until: datetime) -> list:
    """(reported_at, lon, lat, category) of the real problems reported in [since, until)."""
    return _real_problems(since, until)


def _events(rows, origin: datetime) -> list[Event]:
    return [Event((at - origin).total_seconds() / 3600, cell_of(lon, lat), code) for at, lon, lat, code in rows]


def categories(seen: set[str] = frozenset()) -> list[str]:
    """Every category code the forecast distinguishes: the catalogue's and any seen in the history."""
    return sorted(set(db.session.scalars(select(Category.code))) | set(seen))


def evaluate(test_weeks: int = 4, horizon_h: float = 24.0) -> dict:
    """Hit rate and PAI of the forecast and of last month's hotspot map on the last `test_weeks` whole weeks."""
    origin, events = history()
    if origin is None:
        raise ValidationError(_l("There are no cases to learn from yet."))
    now = datetime.now(origin.tzinfo)
    weeks = int((now - origin).total_seconds() // 3600 // HOURS_PER_WEEK)
    if weeks < test_weeks + MIN_TRAINING_WEEKS:
        raise ValidationError(_l("The forecast needs %(need)d whole weeks of cases to be judged; there are %(have)d."),
                              need=test_weeks + MIN_TRAINING_WEEKS, have=weeks)
    cells = Cells(district_cells({e.cell for e in events}))
    codes = categories({e.category for e in events})
    result = held_out(cells, len(codes), as_events(cells, codes, events), weeks - test_weeks, test_weeks,
                      horizon_h=horizon_h)
    return {"cells": len(cells), "weeks": weeks, "since": origin.isoformat(), **result}
