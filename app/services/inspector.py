"""The field app's work list: what a grid worker or handler has to handle, verify or check, and today's route.

Tasks come from the database in one query each (distances from the person's last position in PostGIS); the
order of today's route comes from `dispatch.route` (OR-Tools). Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from geoalchemy2 import Geography
from geoalchemy2.shape import to_shape
from sqlalchemy import cast, func, or_, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Case, CaseEvent, Role, User
from app.models.types import utcnow
from dispatch import route
from dispatch.lifecycle import CaseStatus

S = CaseStatus
FIELD_ROLES = (Role.WORKER, Role.HANDLER)
HANDLE, VERIFY, CHECK = "handle", "verify", "check"
_PHASE_START = {HANDLE: "dispatched_at", CHECK: "resolved_at"}
_PHASE_DUE = {HANDLE: "handle_due_at", CHECK: "check_due_at"}


@dataclass
class Task:
    """One thing to do on one case, with what the list shows about it."""

    kind: str  # handle | verify | check
    case: Case
    version: int
    distance_m: float | None
    due_at: datetime | None
    share_left: float | None  # of the phase's time limit, by the clock (colour only): < 0.2 amber, < 0 overdue
    route_position: int | None = None
    arrive_in_s: int | None = None


def _kind_filter(user: User):
    handle = (Case.assignee_id == user.id) & Case.status.in_((S.DISPATCHED, S.ACCEPTED, S.HANDLING))
    if user.role is Role.HANDLER and user.department_id is not None:
        # Sent to the department: any of its handlers may take it.
        handle = handle | ((Case.department_id == user.department_id) & Case.assignee_id.is_(None)
                           & (Case.status == S.DISPATCHED))
    check = (Case.checker_id == user.id) & (Case.status == S.RESOLVED)
    grid_ids = [g.id for g in user.grids] if user.role is Role.WORKER else []
    verify = (Case.status == S.REPORTED) & Case.grid_id.in_(grid_ids) if grid_ids else None
    return handle, check, verify


def has_tasks(user: User) -> bool:
    """Whether `user` has anything to handle, verify or check (an inspector with none is free to patrol)."""
    handle, check, verify = _kind_filter(user)
    return db.session.scalar(select(select(Case.id).where(or_(*(c for c in (handle, check, verify)
                                                                 if c is not None))).exists()))


def my_tasks(user: User, *, now: datetime | None = None) -> list[Task]:
    """`user`'s open tasks, what is due first first (no deadline last, nearest first), each with its stop number
    on today's route (the map draws the route in that order)."""
    now = now or utcnow()
    handle, check, verify = _kind_filter(user)
    version = (select(func.max(CaseEvent.id)).where(CaseEvent.case_id == Case.id)
               .correlate(Case).scalar_subquery())
    here = select(User.last_position).where(User.id == user.id).scalar_subquery()
    distance = func.ST_Distance(cast(Case.location, Geography), cast(here, Geography))
    rows = db.session.execute(
        select(Case, version, distance)
        .where(or_(*(c for c in (handle, check, verify) if c is not None)))
        .options(selectinload(Case.media), selectinload(Case.grid))
        .order_by(Case.id)).all()
    tasks = []
    for case, ver, dist in rows:
        kind = (CHECK if case.status is S.RESOLVED else VERIFY if case.status is S.REPORTED else HANDLE)
        due = getattr(case, _PHASE_DUE[kind]) if kind in _PHASE_DUE else None
        start = getattr(case, _PHASE_START[kind]) if kind in _PHASE_START else None
        share = None
        if due is not None and start is not None and due > start:
            share = (due - now) / (due - start)
        tasks.append(Task(kind, case, ver or 0, None if dist is None else float(dist), due, share))
    _route(user, tasks, now)
    return sorted(tasks, key=lambda t: (t.due_at is None, t.due_at or now, t.distance_m or 0, t.case.id))


def _route(user: User, tasks: list[Task], now: datetime) -> None:
    """Number the tasks in the order of today's route from where the person last was (none without a position)."""
    if user.last_position is None or not tasks:
        return
    p = to_shape(user.last_position)
    stops = []
    for t in tasks:
        c = to_shape(t.case.location)
        stops.append(route.Stop(t.case.id, c.x, c.y, (t.due_at - now).total_seconds() if t.due_at else None))
    by_case = {t.case.id: t for t in tasks}
    # 0.15 s: optimal on every 7-stop day tried against brute force (seeds 100–129); a list must answer quickly.
    for i, leg in enumerate(route.plan((p.x, p.y), stops, time_limit_s=0.15)):
        by_case[leg.id].route_position = i + 1
        by_case[leg.id].arrive_in_s = leg.arrive_s
