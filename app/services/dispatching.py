"""The app side of the closed loop: auto-dispatch rounds, timers and learning, driving `dispatch.routing`.

Concurrency: a round takes filed cases with `FOR UPDATE SKIP LOCKED` (two rounds never take the same
case) and then locks the on-duty workers' rows before counting their open tasks (two rounds never
overfill a worker). Every change goes through the case service's verbs, so it is audited like a
person's. Like every service, nothing here commits; the job does.
"""

from __future__ import annotations

import json
import math
import time
from collections import defaultdict
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, text

from app.errors import Conflict, NotFound
from app.extensions import db, request_cache
from app.models import Case, CaseEvent, Category, Notification, Role, SystemState, User, WorkerStat
from app.models.dispatching import NotificationKind
from app.models.types import utcnow
from app.services import cases as svc
from app.services.calendar import get_calendar
from dispatch import learning
from dispatch.calendar import share_used
from dispatch.lifecycle import Action, CaseStatus
from dispatch.routing import CaseRequest, Weights, WorkerState, plan

S = CaseStatus
SYSTEM_USERNAME = "auto-dispatch"
HANDLING = (S.DISPATCHED, S.ACCEPTED, S.HANDLING)


def system_user(username: str = SYSTEM_USERNAME, display_name: str = "自动派遣") -> User:
    """An account the automation acts as (created on first use): auto-dispatch, cameras …"""
    user = db.session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        user = User(username=username, role=Role.SYSTEM, display_name=display_name)
        db.session.add(user)
        db.session.flush()
    return user


def weights() -> Weights:
    """Routing weights: defaults overridden by the DISPATCH_WEIGHTS JSON setting."""
    raw = current_app.config.get("DISPATCH_WEIGHTS") or "{}"
    return Weights.from_mapping(json.loads(raw) if isinstance(raw, str) else raw)


def notify(user_id: int, case: Case | None, kind: NotificationKind, **data) -> None:
    """Leave a message for a user (their feed, /api/v1/notifications; sent on the live stream once committed)."""
    db.session.add(Notification(user_id=user_id, case_id=case.id if case else None, kind=kind.value,
                                data={"number": case.number if case else None, **data}))


def _staff_ids() -> list[int]:
    """Dispatchers and supervisors, who are told about overdue cases and stuck offers."""
    return list(db.session.scalars(select(User.id).where(
        User.role.in_([Role.DISPATCHER, Role.SUPERVISOR]), User.active.is_(True))))


# --- building the routing inputs ------------------------------------------------------------


def _priors() -> dict[str, learning.Stats]:
    cache = request_cache()
    if "priors" not in cache:
        rows = db.session.execute(select(Category.code, Category.handle_minutes)).all()
        cache["priors"] = {c: learning.prior(learning.typical_handle_min(m)) for c, m in rows}
    return cache["priors"]


def _stats_table(worker_ids: list[int]) -> dict[tuple[int, str], learning.Stats]:
    rows = db.session.scalars(select(WorkerStat).where(WorkerStat.worker_id.in_(worker_ids))) if worker_ids else []
    return {(r.worker_id, r.category_code): learning.Stats(r.n, r.handle_min, r.first_fix_rate, r.satisfaction)
            for r in rows}


def _lookup(table: dict):
    priors = _priors()

    def stats(worker_id: int, category: str) -> learning.Stats:
        return learning.estimate(priors.get(category, learning.prior(30.0)),
                                 table.get((worker_id, learning.OVERALL)), table.get((worker_id, category)))

    return stats


def _neighbours() -> dict[int, list[int]]:
    cache = request_cache()
    if "neighbours" not in cache:
        rows = db.session.execute(text(
            "SELECT a.id, b.id FROM grids a JOIN grids b ON a.id <> b.id AND ST_Intersects(a.geom, b.geom)"
        )).all()
        nb = defaultdict(list)
        for a, b in rows:
            nb[a].append(b)
        cache["neighbours"] = dict(nb)
    return cache["neighbours"]


def worker_states(now: datetime, *, lock: bool = True) -> tuple[list[WorkerState], dict]:
    """On-duty workers as routing sees them (their rows locked until commit); plus the stats table."""
    q = select(User).where(User.role.in_([Role.WORKER, Role.HANDLER]), User.active.is_(True),
                           User.on_duty.is_(True)).order_by(User.id)
    if lock:
        # NO KEY UPDATE: serialises rounds against each other, but not against foreign-key checks of
        # other transactions (an event or case row naming this worker) — FOR UPDATE would deadlock
        # with a verb that holds the event-chain lock and inserts an event by this worker.
        q = q.with_for_update(of=User, key_share=True)
    users = list(db.session.scalars(q))
    ids = [u.id for u in users]
    table = _stats_table(ids)
    stats = _lookup(table)
    open_rows = db.session.execute(
        select(Case.assignee_id, Case.category_code, Case.status, Case.lon, Case.lat)
        .where(Case.assignee_id.in_(ids), Case.status.in_(HANDLING))
        .order_by(Case.handle_due_at.nulls_last(), Case.id)  # the order the worker's day plan mostly takes
    ).all() if ids else []
    open_count, queued, stops = defaultdict(int), defaultdict(float), defaultdict(list)
    for wid, cat, status, lon, lat in open_rows:
        open_count[wid] += 1
        share = 0.5 if status is S.HANDLING else 1.0  # on site: about half of the work is left
        queued[wid] += share * stats(wid, cat).handle_min
        if status is not S.HANDLING:  # still to visit: a new case's travel is what it adds to this route
            stops[wid].append((lon, lat))
    positions = {uid: (x, y) for uid, x, y in db.session.execute(
        select(User.id, func.ST_X(User.last_position), func.ST_Y(User.last_position))
        .where(User.id.in_(ids), User.last_position.is_not(None))
    )} if ids else {}
    states = []
    for u in users:
        if u.id not in positions:
            continue  # no position ever reported: routing cannot judge distance
        lon, lat = positions[u.id]
        age = (now - u.last_seen_at).total_seconds() / 60 if u.last_seen_at else 1e9
        states.append(WorkerState(
            id=u.id, lon=lon, lat=lat, skills=frozenset(c.code for c in u.skills),
            grids=frozenset(g.id for g in u.grids), capacity=u.capacity,
            department_type=u.department.type if u.department else None,
            open_tasks=open_count[u.id], queued_min=queued[u.id], on_duty=u.on_duty, position_age_min=age,
            stops=tuple(stops[u.id]),
            off_in_min=(u.duty_until - now).total_seconds() / 60 if u.duty_until else math.inf,
        ))
    return states, table


def _failed_by(case_ids: list[int]) -> dict[int, dict[int, int]]:
    rows = db.session.execute(
        select(CaseEvent.case_id, CaseEvent.data["handler_id"].as_integer())
        .where(CaseEvent.case_id.in_(case_ids), CaseEvent.action.in_([Action.CHECK_FAIL, Action.REOPEN]))
    ).all() if case_ids else []
    out: dict[int, dict[int, int]] = defaultdict(dict)
    for cid, handler in rows:
        if handler is not None:
            out[cid][handler] = out[cid].get(handler, 0) + 1
    return out


def case_requests(cases: list[Case], now: datetime) -> list[CaseRequest]:
    """Filed cases as routing sees them."""
    cal = get_calendar()
    failed = _failed_by([c.id for c in cases])
    coords = {cid: (x, y) for cid, x, y in db.session.execute(
        select(Case.id, func.ST_X(Case.location), func.ST_Y(Case.location)).where(Case.id.in_([c.id for c in cases]))
    )} if cases else {}
    out = []
    for c in cases:
        lon, lat = coords[c.id]
        due = cal.add(now, c.category.handle_minutes, c.category.time_basis)
        out.append(CaseRequest(
            id=c.id, category=c.category_code, lon=lon, lat=lat, grid_id=c.grid_id,
            due_in_min=(due - now).total_seconds() / 60, priority=c.priority,
            department_type=c.category.department_type, failed_by=failed.get(c.id, {}),
            exclude=frozenset((c.extra or {}).get("exclude", [])),
        ))
    return out


def suggest_workers(case_id: int, actor: User, *, k: int = 3, now: datetime | None = None):
    """The `k` workers a routing round would rate best for one case, with the terms that explain each.

    For the dispatcher choosing by hand (派遣, 改派): nothing is locked or changed. Returns (case, suggestions,
    their users by id, the reason when nobody can take it).
    """
    from dataclasses import replace

    from app.services import policy
    from dispatch import routing

    policy.check_role(actor, Action.DISPATCH)
    case = db.session.get(Case, case_id)
    if case is None:
        raise NotFound(_l("Case %(ref)s does not exist."), ref=str(case_id))
    if case.status not in (S.FILED, S.DISPATCHED):
        raise Conflict(_l("Only a filed or dispatched case is given to a worker."),
                       details={"status": case.status.value})
    now = now or utcnow()
    workers, table = worker_states(now, lock=False)
    request = case_requests([case], now)[0]
    if case.assignee_id is not None:  # 改派: somebody else
        request = replace(request, exclude=request.exclude | {case.assignee_id})
    picks, why = routing.suggest(request, workers, _lookup(table), weights(), _neighbours(), k=k)
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_([p.worker_id for p in picks])))}
    return case, picks, users, why


# --- the round ------------------------------------------------------------------------------


def auto_dispatch(limit: int = 200, now: datetime | None = None) -> dict:
    """One routing round over the filed cases nobody else is dispatching right now."""
    now = now or utcnow()
    cases = list(db.session.scalars(
        select(Case).where(Case.status == S.FILED).order_by(Case.priority, Case.filed_at, Case.id)
        .limit(limit).with_for_update(of=Case, skip_locked=True)
    ))
    if not cases:
        return {"considered": 0, "assigned": 0, "waiting": 0}
    workers, table = worker_states(now)
    result = plan(case_requests(cases, now), workers, _lookup(table), weights(), _neighbours())
    actor = system_user()
    by_id = {c.id: c for c in cases}
    for a in result.assignments:
        case = by_id[a.case_id]
        svc.dispatch_case(case.id, actor, assignee_id=a.worker_id, at=now,
                          data={"auto": True, "cost": a.cost, "terms": a.terms})
        case.extra = {k: v for k, v in (case.extra or {}).items() if k not in ("waiting", "waiting_since")}
        notify(a.worker_id, case, NotificationKind.TASK)
    for cid, why in result.waiting.items():
        case = by_id[cid]
        extra = dict(case.extra or {})
        if extra.get("waiting") != why:  # visible in the queue: why it waits, since when
            extra.update(waiting=why, waiting_since=extra.get("waiting_since") or now.isoformat())
            case.extra = extra
    return {"considered": len(cases), "assigned": len(result.assignments), "waiting": len(result.waiting)}


# --- timers ---------------------------------------------------------------------------------


def expire_offers(now: datetime | None = None) -> dict:
    """Offers not accepted in time go to the next best worker; the event records why."""
    now = now or utcnow()
    timeout = timedelta(minutes=current_app.config["ACCEPT_TIMEOUT_MIN"])
    cases = list(db.session.scalars(
        select(Case).where(Case.status == S.DISPATCHED, Case.assignee_id.is_not(None),
                           Case.dispatched_at < now - timeout)
        .order_by(Case.dispatched_at).with_for_update(of=Case, skip_locked=True)
    ))
    moved = kept = 0
    if not cases:
        return {"moved": 0, "kept": 0}
    workers, table = worker_states(now)
    actor = system_user()
    for case in cases:
        previous = case.assignee_id
        exclude = sorted(set((case.extra or {}).get("exclude", [])) | {previous})
        case.extra = {**(case.extra or {}), "exclude": exclude}
        result = plan(case_requests([case], now), workers, _lookup(table), weights(), _neighbours())
        if result.assignments:
            a = result.assignments[0]
            svc.dispatch_case(case.id, actor, assignee_id=a.worker_id, at=now, note="offer_timeout",
                              data={"auto": True, "reason": "offer_timeout", "previous": previous,
                                    "cost": a.cost, "terms": a.terms})
            notify(previous, case, NotificationKind.OFFER_EXPIRED)
            notify(a.worker_id, case, NotificationKind.TASK)
            moved += 1
        else:
            if not (case.extra or {}).get("offer_expired_notified"):
                for uid in _staff_ids():
                    notify(uid, case, NotificationKind.OFFER_EXPIRED, assignee_id=previous,
                           reason=result.waiting.get(case.id))
                case.extra = {**case.extra, "offer_expired_notified": now.isoformat()}
            kept += 1
    return {"moved": moved, "kept": kept}


def watch_deadlines(now: datetime | None = None) -> dict:
    """Warn the assignee at WARN_SHARE of the handling limit; past it, escalate to dispatch and supervision."""
    now = now or utcnow()
    cal = get_calendar()
    warn_share = current_app.config["WARN_SHARE"]
    warned = escalated = 0
    actor = system_user()
    cases = db.session.scalars(
        select(Case).where(
            ((Case.status.in_(HANDLING)) & Case.handle_due_at.is_not(None))
            | ((Case.status == S.FILED) & (Case.dispatch_due_at < now))
        ).with_for_update(of=Case, skip_locked=True)
    )
    staff = None
    for case in cases:
        extra = dict(case.extra or {})
        phase_due = case.dispatch_due_at if case.status is S.FILED else case.handle_due_at
        if case.status is not S.FILED and case.assignee_id and "warned_at" not in extra:
            used = share_used(case.dispatched_at, case.handle_due_at, now, cal, case.category.time_basis)
            if used >= warn_share:
                notify(case.assignee_id, case, NotificationKind.WARNING, due=case.handle_due_at.isoformat())
                extra["warned_at"] = now.isoformat()
                warned += 1
        key = f"escalated_{case.status.value if case.status is S.FILED else 'handle'}"
        if phase_due is not None and now > phase_due and key not in extra:
            svc.escalate_case(case.id, actor, at=now, due=phase_due,
                              phase="dispatch" if case.status is S.FILED else "handle")
            staff = staff if staff is not None else _staff_ids()
            for uid in staff:
                notify(uid, case, NotificationKind.OVERDUE, due=phase_due.isoformat())
            extra[key] = now.isoformat()
            escalated += 1
        if extra != (case.extra or {}):
            case.extra = extra
    return {"warned": warned, "escalated": escalated}


def assign_checks(now: datetime | None = None) -> dict:
    """Every resolved case gets a check (核查) task for an inspector other than its handler."""
    now = now or utcnow()
    cases = list(db.session.scalars(
        select(Case).where(Case.status == S.RESOLVED, Case.checker_id.is_(None))
        .with_for_update(of=Case, skip_locked=True)
    ))
    actor = system_user()
    given = by_camera = 0
    for case in cases:
        if camera_will_check(case, now):
            by_camera += 1
            continue
        checker = db.session.execute(text(
            """
            SELECT u.id FROM users u
            CROSS JOIN (SELECT location FROM cases WHERE id = :case) c
            LEFT JOIN grid_owners o ON o.user_id = u.id AND o.grid_id = :grid
            WHERE u.role = 'worker' AND u.active AND u.on_duty AND u.id <> :handler
              AND u.last_position IS NOT NULL
            ORDER BY (o.user_id IS NULL), ST_Distance(u.last_position, c.location), u.id
            LIMIT 1
            """
        ), {"grid": case.grid_id or 0, "handler": case.handler_id or 0, "case": case.id}).scalar()
        if checker is None:
            continue
        svc.assign_checker(case.id, actor, checker_id=checker, at=now)
        notify(checker, case, NotificationKind.CHECK)
        given += 1
    return {"checks": given, "camera": by_camera, "waiting": len(cases) - given - by_camera}


def camera_will_check(case: Case, now: datetime) -> bool:
    """Is a camera going to check this resolved case (AI 核查), so no inspector is sent yet?

    Yes while the camera that found it — or a calibrated one whose frame shows the spot — is running, the
    category may be checked by camera and it is less than twice CAMERA_CHECK_MINUTES since the fix: after
    that, or with the cameras down, an inspector goes.
    """
    from app.camera_runtime.health import read_health
    from app.services.vision import cameras_for_check

    cfg = current_app.config
    if not cfg["CAMERA_CHECK"] or case.resolved_at is None:
        return False
    if now - case.resolved_at > timedelta(minutes=2 * cfg["CAMERA_CHECK_MINUTES"]):
        return False
    codes = [cam.code for cam in cameras_for_check(case)]
    health = read_health(codes)
    return any(h and not h.get("stopped") and time.time() - h.get("at", 0) < 60 for h in health.values())


# --- learning -------------------------------------------------------------------------------

_LEARN_KEY = "learning"
_LEARNED_ACTIONS = (Action.CHECK_PASS, Action.CHECK_FAIL, Action.EVALUATE)


def learn_outcomes(batch: int = 1000) -> dict:
    """Fold checks and ratings since the last run into worker × category statistics (idempotent)."""
    state = db.session.get(SystemState, _LEARN_KEY, with_for_update=True)
    if state is None:
        state = SystemState(key=_LEARN_KEY, value={"last_event_id": 0})
        db.session.add(state)
    last = state.value.get("last_event_id", 0)
    rows = db.session.execute(
        select(CaseEvent.id, CaseEvent.action, CaseEvent.data, Case.category_code)
        .join(Case, Case.id == CaseEvent.case_id)
        .where(CaseEvent.id > last, CaseEvent.action.in_(_LEARNED_ACTIONS)).order_by(CaseEvent.id).limit(batch)
    ).all()
    if not rows:
        return {"learned": 0}
    handlers = {int(r.data["handler_id"]) for r in rows if (r.data or {}).get("handler_id")}
    table = _stats_table(sorted(handlers))
    priors = _priors()
    touched = set()
    for r in rows:
        handler = (r.data or {}).get("handler_id")
        if not handler:
            continue
        handler = int(handler)
        prior = priors.get(r.category_code, learning.prior(30.0))
        if r.action is Action.EVALUATE:
            for key in ((handler, r.category_code), (handler, learning.OVERALL)):
                base = table.get(key) or (prior if key[1] != learning.OVERALL else learning.overall_prior())
                table[key] = learning.rate(base, int(r.data["rating"]))
        elif r.data.get("handle_min") is not None:
            outcome = learning.Outcome(float(r.data["handle_min"]), r.action is Action.CHECK_PASS)
            learning.learn(table, handler, r.category_code, prior, outcome)
        else:
            continue  # nothing to learn (e.g. a check recorded before handling times were kept)
        touched.update({(handler, r.category_code), (handler, learning.OVERALL)})
    for wid, cat in touched:
        st = table[(wid, cat)]
        row = db.session.get(WorkerStat, (wid, cat)) or WorkerStat(worker_id=wid, category_code=cat)
        row.n, row.handle_min, row.first_fix_rate, row.satisfaction = st.n, st.handle_min, st.first_fix_rate, \
            st.satisfaction
        db.session.add(row)
    state.value = {"last_event_id": rows[-1].id}
    return {"learned": len(rows), "workers": len({w for w, _ in touched})}


def pending_work() -> dict:
    """What the sweeper looks for: filed cases not dispatched, events not yet learned from."""
    filed = db.session.scalar(select(func.count()).select_from(Case).where(Case.status == S.FILED))
    state = db.session.get(SystemState, _LEARN_KEY)
    last = state.value.get("last_event_id", 0) if state else 0
    unlearned = db.session.scalar(select(func.count()).select_from(CaseEvent).where(
        CaseEvent.id > last, CaseEvent.action.in_(_LEARNED_ACTIONS)))
    return {"filed": filed, "unlearned": unlearned}
