"""Finding cases: the filters the list, the map viewport and the CSV export share, and the viewport's aggregation.

The map asks for what its viewport shows, never for "all cases". When the filtered cases inside the viewport are
few enough to draw (VIEWPORT_POINT_LIMIT) they come back as points; otherwise PostgreSQL aggregates them into
square cells about CLUSTER_CELL_PX screen pixels wide at the map's zoom and the map draws one circle per cell
with its count. Why aggregation in SQL rather than vector tiles (ST_AsMVT): the console's filters change the
set on every click (status, class, source, overdue…), so tiles could not be cached anyway; one GROUP BY per
viewport is a single query the planner serves from the GiST and status indexes, needs no tile plugin in the
browser (Leaflet draws GeoJSON natively), and the answer is small either way (≤ a few hundred cells or
≤ VIEWPORT_POINT_LIMIT points). bench/viewport.py measures it on 1,000,000 cases.
"""

from __future__ import annotations

import math
from datetime import datetime

from sqlalchemy import Float, Select, and_, func, literal, or_, select, text
from sqlalchemy import case as sa_case
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Case, CaseEvent, Category, Grid, Role, User
from app.models.cases import Source
from app.services.calendar import local_datetime
from dispatch.lifecycle import PHASE_OF, Action, CaseStatus

VIEWPORT_POINT_LIMIT = 2000  # points drawn at once before the map switches to cells (Leaflet canvas stays fluid)
CLUSTER_CELL_PX = 64  # a cell's width on screen

# The deadline of the phase a case is in (dispatch, handle or check), in SQL: derived from the lifecycle's table.
ACTIVE_DUE = sa_case(*[(Case.status == status, getattr(Case, f"{phase.value}_due_at"))
                       for status, phase in PHASE_OF.items()], else_=None)
OVERDUE = and_(ACTIVE_DUE.is_not(None), ACTIVE_DUE < func.now())

# Not real work: left out of every KPI (dispatch.kpi.CaseRecord.counts).
NOT_WORK = (CaseStatus.INVALID, CaseStatus.VOID, CaseStatus.MERGED)
_counted = Case.status.not_in(NOT_WORK)
_closed = and_(_counted, Case.closed_at.is_not(None))
_finished = func.coalesce(Case.resolved_at, Case.closed_at)
# The cases behind each KPI figure (the dashboard's drill-down): the same definitions as dispatch.kpi.summarize,
# in SQL; tests/app/services/test_kpis.py checks that the counts agree.
# 主动发现: found by the platform's own eyes (inspectors, cameras) rather than reported to it.
PROACTIVE_SOURCES = (Source.CAMERA, Source.INSPECTOR)
KPI_SETS = {
    "cases": _counted,
    "closed": _closed,
    "open": and_(_counted, Case.closed_at.is_(None)),
    "on_time": and_(_closed, or_(Case.handle_due_at.is_(None), _finished <= Case.handle_due_at)),
    "late": and_(_closed, Case.handle_due_at.is_not(None), _finished > Case.handle_due_at),
    "reworked": and_(_counted, Case.rework_count > 0),
    "first_time_fix": and_(_closed, Case.rework_count == 0),
    "delayed": and_(_counted, Case.delay_count > 0),
    "rated": and_(_counted, Case.rating.is_not(None)),
    "dissatisfied": and_(_counted, Case.rating <= 2),
    "proactive": and_(_counted, Case.source.in_(PROACTIVE_SOURCES)),
    "auto_dispatched": and_(_counted, select(CaseEvent.id).where(  # dispatch accuracy's denominator
        CaseEvent.case_id == Case.id, CaseEvent.action == Action.DISPATCH,
        CaseEvent.data["auto"].astext == "true").exists()),
}


def filtered(args: dict, viewer: User) -> Select:
    """SELECT of the cases matching the parsed list filters that `viewer` may see (citizens: their own)."""
    q = select(Case)
    if viewer.role is Role.CITIZEN:
        q = q.where(Case.reporter_id == viewer.id)
    if "status" in args:
        q = q.where(Case.status.in_(args["status"]))
    if "category" in args:
        q = q.where(Case.category_code.in_(args["category"]))
    if "grid" in args:
        q = q.where(Case.grid_id == select(Grid.id).where(Grid.code == args["grid"]).scalar_subquery())
    for name, column in (("assignee_id", Case.assignee_id), ("checker_id", Case.checker_id),
                         ("department_id", Case.department_id)):
        if name in args:
            q = q.where(column == args[name])
    if "worker_id" in args:  # who handled it, or holds it now (the league table's worker)
        q = q.where(func.coalesce(Case.handler_id, Case.assignee_id) == args["worker_id"])
    if "kpi" in args:
        q = q.where(KPI_SETS[args["kpi"]])
    if "source" in args:
        q = q.where(Case.source.in_(args["source"]))
    if "class" in args:
        q = q.where(Case.category_code.in_(select(Category.code).where(Category.class_code.in_(args["class"]))))
    if args.get("overdue"):
        q = q.where(OVERDUE)
    if box := args.get("bbox"):
        q = q.where(Case.location.intersects(func.ST_MakeEnvelope(*box, 4326)))
    if "from" in args:
        q = q.where(Case.reported_at >= _as_datetime(args["from"], "from"))
    if "to" in args:
        q = q.where(Case.reported_at < _as_datetime(args["to"], "to"))
    if "q" in args:
        q = q.where(Case.number.icontains(args["q"], autoescape=True))  # '%', '_' and '\\' are literal
    return q


def _as_datetime(value: str | datetime, name: str) -> datetime:
    return value if isinstance(value, datetime) else local_datetime(value, name)


def order(q: Select, sort: str | None) -> Select:
    """Newest first, or (sort="due") the nearest deadline of the current phase first, cases without one last."""
    if sort == "due":
        return q.order_by(ACTIVE_DUE.is_(None), ACTIVE_DUE, Case.reported_at.desc(), Case.id.desc())
    return q.order_by(Case.reported_at.desc(), Case.id.desc())


def page(q: Select, sort: str | None, number: int, size: int) -> tuple[list[Case], int]:
    """One page of `q` in the chosen order, and how many match in all."""
    total = db.session.scalar(select(func.count()).select_from(q.order_by(None).subquery()))
    rows = db.session.scalars(
        order(q, sort).options(selectinload(Case.grid), selectinload(Case.assignee))  # no query per row
        .limit(size).offset((number - 1) * size)
    ).all()
    return rows, total


def cell_size(zoom: int, lat: float) -> tuple[float, float]:
    """Degrees of longitude and latitude that CLUSTER_CELL_PX pixels span at `zoom` near latitude `lat`."""
    dx = 360 / (256 * 2 ** zoom) * CLUSTER_CELL_PX
    return dx, dx * math.cos(math.radians(lat))  # Web Mercator: a pixel spans fewer degrees of latitude


def viewport(q: Select, zoom: int, box: tuple[float, float, float, float],
             limit: int = VIEWPORT_POINT_LIMIT) -> dict:
    """The map's answer for a viewport: {"mode": "points"|"cells", "total", "features"} (GeoJSON features).

    The cells are counted first and their total decides: a "are there more than `limit`?" probe with LIMIT
    let the planner walk the spatial index through every closed case of a city-wide box looking for open ones
    (0.5 s at p95 in bench/viewport.py); the count per cell reads only the matching rows.
    """
    dx, dy = cell_size(zoom, (box[1] + box[3]) / 2)
    x, y = Case.lon, Case.lat
    sub = q.with_only_columns(x.label("x"), y.label("y"), OVERDUE.label("overdue"),
                              func.floor(x / literal(dx, Float)).label("cx"),
                              func.floor(y / literal(dy, Float)).label("cy")).order_by(None).subquery()
    # The planner cannot know how many cells there are (it assumes one per row) and would sort every case,
    # spilling to disk, instead of hashing into the few hundred cells there are: for this query only, no sort.
    db.session.execute(text("SET LOCAL enable_sort = off"))
    cells = db.session.execute(
        select(func.count(), func.count().filter(sub.c.overdue), func.avg(sub.c.x), func.avg(sub.c.y),
               func.min(sub.c.x), func.min(sub.c.y), func.max(sub.c.x), func.max(sub.c.y), sub.c.cx, sub.c.cy)
        .group_by(sub.c.cx, sub.c.cy)
    ).all()
    db.session.execute(text("SET LOCAL enable_sort = on"))
    total = sum(c[0] for c in cells)
    if total <= limit:
        rows = db.session.execute(
            q.with_only_columns(Case.id, Case.number, Case.status, Case.category_code, Case.lon, Case.lat,
                                OVERDUE.label("overdue"))
            .order_by(None)
        ).all()
        return {"mode": "points", "total": len(rows), "features": [
            {"type": "Feature", "id": r.id, "geometry": {"type": "Point", "coordinates": [r.lon, r.lat]},
             "properties": {"number": r.number, "status": r.status.value, "category": r.category_code,
                            "overdue": bool(r.overdue)}}
            for r in rows]}
    # "bbox": around the cell's cases (zoom to it); "cell": the square itself (the heat map draws it).
    return {"mode": "cells", "total": total, "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(c[2], 6), round(c[3], 6)]},
         "properties": {"count": c[0], "overdue": c[1], "bbox": [c[4], c[5], c[6], c[7]],
                        "cell": [round(c[8] * dx, 6), round(c[9] * dy, 6), round((c[8] + 1) * dx, 6),
                                 round((c[9] + 1) * dy, 6)]}}
        for c in cells]}
