"""Proactive discovery (未诉先办) in the platform: the forecast map, where inspectors have been, patrol rounds.

- **The forecast** (`patrol.forecast`) is fitted on the last months of real problems (`app.services.forecast`) once a
  local day and kept in Redis, so every process (web, workers) uses the same fit; the console's layer is its map of
  expected problems for the next hours (`forecast_geojson`).
- **Looks**: every position an on-duty inspector's phone reports marks its H3 cell as looked at that day
  (`record_look`, called by `users.report_position`) — what "someone looked there" means for the plans and for
  the grids' patrol coverage (`coverage_by_grid`).
- **Rounds**: an idle inspector's round (`make_round`) is planned by `patrol.plan` from where they are, over the
  cells' value (`patrol.value.unseen_value`: the forecast's rate integrated over the time since anyone looked
  there, weighted by the chance a problem is still waiting unreported, less what cameras catch), within
  PATROL_ROUND_MIN or what is left of the shift. The periodic job `plan_patrols` makes rounds for idle inspectors,
  ends those of inspectors gone off duty or sent to a case, and marks finished the ones whose cells were all seen.

Problems an inspector reports (patrol reports) or a camera finds count as found proactively (主动发现).
Nothing here commits; the caller does.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import h3
import numpy as np
from flask import current_app
from flask_babel import lazy_gettext as _l
from geoalchemy2.shape import to_shape
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert

from app.errors import ValidationError
from app.extensions import db, get_redis
from app.models import Camera, CellLook, Grid, PatrolRound, Role, RoundStatus, User
from app.models.types import utcnow
from app.services import forecast as history
from app.services.grids import grid_for_point
from patrol.cells import Cells, boundary, cell_of, cells_covering
from patrol.evaluate import as_events
from patrol.forecast import Events, Forecaster
from patrol.plan import plan_round
from patrol.value import place_factor, unseen_value

MODEL_KEY = "urbanops:patrol:forecast"  # today's fit, for every process
HISTORY_WEEKS = 26  # the fit reads this far back: places change, and a year of cases is slow to read
CAMERA_CATCH = 0.8  # share of the detector's categories a camera catches in the cells it watches
NEVER_SEEN_H = 168.0  # a cell nobody has looked at counts as a week unseen
CANDIDATES = 30


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


# --- the forecast ------------------------------------------------------------------------------------------------
def refit(at: datetime | None = None) -> dict:
    """Fit the forecast on the last HISTORY_WEEKS of real problems and keep it for today (the nightly job)."""
    at = at or utcnow()
    origin, events = history.history(since=at - timedelta(weeks=HISTORY_WEEKS))
    if origin is None:
        raise ValidationError(_l("There are no cases to learn from yet."))
    cells = Cells(history.district_cells({e.cell for e in events}))
    categories = history.categories({e.category for e in events})
    ev = as_events(cells, categories, events)
    hours = (at - origin).total_seconds() / 3600
    model = Forecaster(cells, len(categories)).fit(ev, until=hours)
    kept = {"day": at.astimezone(_tz()).date().isoformat(), "origin": origin.isoformat(), "categories": categories,
            "counts": np.bincount(ev.cell, minlength=len(cells)).tolist(), "problems": len(ev),
            "model": model.to_dict()}
    get_redis().set(MODEL_KEY, json.dumps(kept), ex=3 * 86400)
    return kept


def _kept(at: datetime) -> tuple[Forecaster, dict]:
    """Today's fit (made now if there is none yet)."""
    raw = get_redis().get(MODEL_KEY)
    kept = json.loads(raw) if raw else None
    if kept is None or kept["day"] != at.astimezone(_tz()).date().isoformat():
        kept = refit(at)
    return Forecaster.from_dict(kept["model"]), kept


def _recent(model: Forecaster, kept: dict, at: datetime) -> tuple[Events, float]:
    """The problems of the model's window before `at` (their rise counts), and `at` in the model's hours."""
    origin = datetime.fromisoformat(kept["origin"])
    since = at - timedelta(hours=model.s.window_h)
    rows = history.events_between(since, at, origin)
    return as_events(model.cells, kept["categories"], rows), (at - origin).total_seconds() / 3600


def forecast_geojson(hours: float = 4.0, top: float = 0.1, at: datetime | None = None) -> dict:
    """The cells with the most problems expected in the next `hours` (the top `top` share of the district's cells
    with any), as GeoJSON hexagons with the expected number and its share of the district's total."""
    at = at or utcnow()
    model, kept = _kept(at)
    recent, now_h = _recent(model, kept, at)
    expected = model.expected(now_h, hours, history=recent)
    total = float(expected.sum())
    order = [int(i) for i in np.argsort(-expected) if expected[i] > 0][: max(1, round(top * len(expected)))]
    return {"type": "FeatureCollection", "hours": hours, "at": at.isoformat(), "total": round(total, 2),
            "cells": len(expected), "fitted": kept["day"], "features": [
                {"type": "Feature", "id": model.cells.ids[i],
                 "geometry": {"type": "Polygon", "coordinates": [boundary(model.cells.ids[i])]},
                 "properties": {"expected": round(float(expected[i]), 3), "rank": r + 1,
                                "share": round(float(expected[i]) / total, 4) if total else 0.0}}
                for r, i in enumerate(order)]}


# --- looks -------------------------------------------------------------------------------------------------------
def record_look(user: User, lon: float, lat: float, at: datetime | None = None) -> None:
    """An on-duty inspector is in a cell now: the cell counts as looked at (today, by them)."""
    at = at or utcnow()
    grid = grid_for_point(lon, lat)
    stmt = insert(CellLook).values(cell=cell_of(lon, lat), day=at.astimezone(_tz()).date(), first_at=at, last_at=at,
                                   looks=1, last_by=user.id, grid_id=grid.id if grid else None)
    db.session.execute(stmt.on_conflict_do_update(
        index_elements=[CellLook.cell, CellLook.day],
        set_={"last_at": func.greatest(CellLook.last_at, stmt.excluded.last_at), "looks": CellLook.looks + 1,
              "last_by": stmt.excluded.last_by}))


def _last_looks(since: datetime) -> dict[str, datetime]:
    rows = db.session.execute(select(CellLook.cell, func.max(CellLook.last_at)).where(CellLook.last_at >= since)
                              .group_by(CellLook.cell))
    return dict(rows.all())


def coverage_by_grid(since: datetime, until: datetime) -> dict[str, float]:
    """Per grid (by code), the share of its cells an inspector on duty was in between `since` and `until`
    (巡查覆盖率)."""
    looked = dict(db.session.execute(
        select(CellLook.grid_id, func.count(func.distinct(CellLook.cell)))
        .where(CellLook.last_at >= since, CellLook.first_at < until, CellLook.grid_id.is_not(None))
        .group_by(CellLook.grid_id)).all())
    out = {}
    for gid, code, geojson in db.session.execute(select(Grid.id, Grid.code, func.ST_AsGeoJSON(Grid.geom))).all():
        cells = len(cells_covering(json.loads(geojson))) or 1
        out[code] = min(1.0, looked.get(gid, 0) / cells)
    return out


def discovery_hours(start: datetime, end: datetime) -> float | None:
    """Estimated mean hours from a problem's appearance to its report, over the real cases reported in
    [start, end) (发现用时). A problem appeared after its block was last looked at by an on-duty inspector — else it
    would have been found then — at an unknown moment in between: half the time since that look is the expected
    wait. Looks in the half hour before the report are the visit that found it, not an earlier one; a block nobody
    looked at in the week before counts a week (so the figure is a lower bound where patrols are rare); None when
    no block of these cases was looked at in that week."""
    rows = history.problems_between(start, end)
    if not rows:
        return None
    cells = {cell_of(lon, lat) for _, lon, lat, _ in rows}
    seen: dict[str, list[datetime]] = {}
    for cell, first, last in db.session.execute(
            select(CellLook.cell, CellLook.first_at, CellLook.last_at)
            .where(CellLook.cell.in_(cells), CellLook.first_at < end,
                   CellLook.last_at >= start - timedelta(hours=NEVER_SEEN_H))).all():
        seen.setdefault(cell, []).extend((first, last))
    if not seen:
        return None  # nobody on duty was near any of them: nothing to estimate from
    waits = []
    for at, lon, lat, _ in rows:
        before = [t for t in seen.get(cell_of(lon, lat), ()) if t <= at - timedelta(minutes=30)]
        gap_h = (at - max(before)).total_seconds() / 3600 if before else NEVER_SEEN_H
        waits.append(min(gap_h, NEVER_SEEN_H) / 2)
    return round(sum(waits) / len(waits), 1)


# --- rounds ------------------------------------------------------------------------------------------------------
def _start_of(user: User) -> tuple[float, float]:
    if user.last_position is not None:
        p = to_shape(user.last_position)
        return p.x, p.y
    grid = user.grids[0] if user.role is Role.WORKER and user.grids else None
    if grid is None:
        raise ValidationError(_l("Your position is not known yet: allow location access in the app."))
    c = to_shape(grid.geom).representative_point()
    return c.x, c.y


def _camera_cells(cells: Cells) -> list[int]:
    """Cells a camera watches: its own and the ring around it (≈ 150 m each way)."""
    out = set()
    for (lon, lat) in db.session.execute(select(func.ST_X(Camera.position), func.ST_Y(Camera.position))
                                         .where(Camera.enabled.is_(True))).all():
        out |= {cells.index[c] for c in h3.grid_disk(cell_of(lon, lat), 1) if c in cells.index}
    return sorted(out)


def _end_active(user: User, status: RoundStatus, at: datetime) -> None:
    db.session.execute(update(PatrolRound).where(PatrolRound.user_id == user.id,
                                                 PatrolRound.status == RoundStatus.ACTIVE)
                       .values(status=status, ended_at=at))


def make_round(user: User, at: datetime | None = None) -> PatrolRound:
    """Plan a new round for an on-duty inspector (any active one is replaced): the most valuable cells from where
    they are within PATROL_ROUND_MIN or what is left of their shift."""
    at = at or utcnow()
    cfg = current_app.config
    if user.role not in (Role.WORKER, Role.HANDLER):
        raise ValidationError(_l("Only workers and handlers go on duty."))
    if not user.on_duty:
        raise ValidationError(_l("Go on duty first."))
    budget_min = cfg["PATROL_ROUND_MIN"]
    if user.duty_until is not None:
        budget_min = min(budget_min, (user.duty_until - at).total_seconds() / 60)
    if budget_min < 10:
        raise ValidationError(_l("Your shift ends in less than ten minutes."))
    start = _start_of(user)
    model, kept = _kept(at)
    recent, now_h = _recent(model, kept, at)
    rates = model.expected(now_h, 1.0, history=recent, by_category=True)
    last = _last_looks(at - timedelta(hours=NEVER_SEEN_H))
    unseen = np.array([(at - last[c]).total_seconds() / 3600 if c in last else NEVER_SEEN_H
                       for c in model.cells.ids])
    values = unseen_value(rates, kept["categories"], unseen, place_factor(np.array(kept["counts"], float)),
                          _camera_cells(model.cells), CAMERA_CATCH)
    points = [h3.cell_to_latlng(c)[::-1] for c in model.cells.ids]
    planned = plan_round(start, points, values, budget_s=budget_min * 60, speed_mps=cfg["PATROL_SPEED_MPS"],
                         look_s=cfg["PATROL_LOOK_S"], max_candidates=CANDIDATES, time_limit_s=0.2)
    _end_active(user, RoundStatus.REPLACED, at)
    rnd = PatrolRound(user_id=user.id, created_at=at, budget_min=round(budget_min), value=round(planned.value, 4),
                      stops=[{"cell": model.cells.ids[c], "lon": round(points[c][0], 6), "lat": round(points[c][1], 6),
                              "seen_s": s, "value": round(float(values[c]), 4)}
                             for c, s in zip(planned.cells, planned.seen_s, strict=True)])
    db.session.add(rnd)
    db.session.flush()
    return rnd


def current_round(user: User) -> PatrolRound | None:
    """The inspector's active round, if any."""
    return db.session.scalars(select(PatrolRound).where(PatrolRound.user_id == user.id,
                                                        PatrolRound.status == RoundStatus.ACTIVE)).first()


def end_round(user: User, at: datetime | None = None) -> None:
    """The inspector ends their round (nothing to end is not an error)."""
    _end_active(user, RoundStatus.STOPPED, at or utcnow())


def looked_cells(rnd: PatrolRound) -> set[str]:
    """The round's cells someone has been in since it was planned."""
    cells = [s["cell"] for s in rnd.stops]
    return set(db.session.scalars(select(CellLook.cell).where(CellLook.cell.in_(cells),
                                                              CellLook.last_at >= rnd.created_at)))


def round_json(rnd: PatrolRound | None) -> dict:
    """A round for the field app: the stops in order with their hexagons, which are done, and the progress."""
    if rnd is None:
        return {"round": None}
    done = looked_cells(rnd)
    return {"round": {
        "id": rnd.id, "created_at": rnd.created_at.isoformat(), "budget_min": rnd.budget_min,
        "status": rnd.status.value, "value": rnd.value, "done": sum(s["cell"] in done for s in rnd.stops),
        "stops": [{**s, "looked": s["cell"] in done, "eta_at": (rnd.created_at + timedelta(seconds=s["seen_s"]))
                   .isoformat(), "outline": boundary(s["cell"])} for s in rnd.stops]}}


def active_rounds() -> list[dict]:
    """Every active round with its inspector and stops in local time, for `flask patrol plan`."""
    from app.services.calendar import local_text

    out = []
    for rnd in db.session.scalars(select(PatrolRound).where(PatrolRound.status == RoundStatus.ACTIVE)
                                  .order_by(PatrolRound.user_id)):
        shown = round_json(rnd)["round"]
        out.append({"inspector": rnd.user.display_name or rnd.user.username, "value": rnd.value,
                    "minutes": round(rnd.stops[-1]["seen_s"] / 60) if rnd.stops else 0, "done": shown["done"],
                    "planned": local_text(rnd.created_at, "%H:%M"),
                    "stops": [{**s, "by": local_text(rnd.created_at + timedelta(seconds=s["seen_s"]), "%H:%M")}
                              for s in shown["stops"]]})
    return out


def plan_idle(at: datetime | None = None) -> dict:
    """The periodic step: end rounds of inspectors off duty or sent to a case, finish rounds whose cells were all
    seen, and plan one for every on-duty grid worker with no task and no round."""
    from app.services.inspector import has_tasks

    at = at or utcnow()
    out = {"planned": 0, "stopped": 0, "finished": 0}
    for rnd in db.session.scalars(select(PatrolRound).where(PatrolRound.status == RoundStatus.ACTIVE)):
        user = rnd.user
        if not user.on_duty or has_tasks(user):
            rnd.status, rnd.ended_at = (RoundStatus.STOPPED if not user.on_duty else RoundStatus.REPLACED), at
            out["stopped"] += 1
        elif len(looked_cells(rnd)) == len(rnd.stops):
            rnd.status, rnd.ended_at = RoundStatus.FINISHED, at
            out["finished"] += 1
    db.session.flush()
    idle = db.session.scalars(select(User).where(User.role == Role.WORKER, User.active.is_(True),
                                                 User.on_duty.is_(True)).order_by(User.id))
    for user in idle:
        if current_round(user) is None and not has_tasks(user):
            try:
                make_round(user, at)
                out["planned"] += 1
            except ValidationError:
                continue  # no position, shift ending, no history yet: nothing to plan for them now
    return out
