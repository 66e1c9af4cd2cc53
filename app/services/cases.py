"""The case lifecycle: one function per verb of the closed loop.

Each verb locks the case row, checks the actor's role, asks `dispatch.lifecycle` whether the
transition is legal (409 otherwise), checks the actor's relation to the case, changes the row, moves
deadlines with the working-time calendar, and appends one hash-chained event. Verbs never commit.
`at` lets seeders, replays and tests act at a given moment; views leave it unset.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, select, text

from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.models import Case, CaseEvent, Department, Role, User
from app.models.cases import MediaKind, Source
from app.models.types import MAX_ID, utcnow
from app.services import audit, intel, points, policy, updates
from app.services.calendar import get_calendar
from app.services.catalog import get_category
from app.services.grids import grid_for_point, parse_lonlat, point_value
from app.services.media import store_image
from dispatch.lifecycle import PHASE_OF, Action, CaseStatus, Phase, allowed_actions, next_status

A = Action
S = CaseStatus
MAX_DESCRIPTION = 4000  # the Open311 GeoReport v2 limit, for every source alike
MAX_NOTE = 1000
MAX_DELAY_MINUTES = 30 * 24 * 60

_SOURCE_BY_ROLE = {
    Role.CITIZEN: Source.CITIZEN,
    Role.WORKER: Source.INSPECTOR,
    Role.HANDLER: Source.INSPECTOR,
    Role.SYSTEM: Source.API,
}


# --- helpers ---------------------------------------------------------------------------------


_CASE_ID = re.compile(r"[0-9]{1,10}")  # ASCII only: str.isdigit() would also take '¹' or '١'
_CASE_NUMBER = re.compile(r"[0-9]{8}-[0-9]{5,6}")


def get_case(ref: int | str) -> Case:
    """The case with this id or number, or 404 (anything else, e.g. an id beyond the column's range, too)."""
    text_ref = str(ref).strip()
    case = None
    if _CASE_ID.fullmatch(text_ref):
        if 0 < int(text_ref) <= MAX_ID:
            case = db.session.get(Case, int(text_ref))
    elif _CASE_NUMBER.fullmatch(text_ref):
        case = db.session.scalars(select(Case).where(Case.number == text_ref)).first()
    if case is None:
        raise NotFound(_l("Case %(ref)s does not exist."), ref=text_ref[:40])
    return case


def visible_case(ref: int | str, actor: User) -> Case:
    """The case with this id or number if `actor` may read it; 404 otherwise (as if it did not exist)."""
    return policy.check_visible(actor, get_case(ref))


def request_scope_for(actor: User | None) -> str | None:
    """Whose idempotency keys these are: a person's account (system accounts are scoped by their caller)."""
    return f"user:{actor.id}" if actor is not None and actor.role is not Role.SYSTEM else None


def _begin(case_id: int, actor: User, action: Action) -> Case:
    """Every verb starts here: the role check comes before anything about the case is revealed."""
    policy.check_role(actor, action)
    return _lock(case_id)


def _lock(case_id: int) -> Case:
    """Load the case with a row lock held until the caller's commit (serialises verbs per case)."""
    case = db.session.scalars(
        select(Case).where(Case.id == case_id).with_for_update(of=Case).execution_options(populate_existing=True)
    ).first()
    if case is None:
        raise NotFound(_l("Case %(ref)s does not exist."), ref=str(case_id))
    return case


def _text(value, limit: int, *, required: bool = False, label=_l("note")) -> str:
    value = (value or "").strip() if isinstance(value, str) or value is None else str(value)
    if required and not value:
        raise ValidationError(_l("Please give a %(what)s."), what=str(label))
    if len(value) > limit:
        raise ValidationError(_l("The %(what)s is longer than %(n)d characters."), what=str(label), n=limit)
    return value


def _whole(value) -> int:
    """An int from user input, or 0 (out of every valid range) when it is not a whole number."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _minutes(start: datetime | None, end: datetime | None) -> float | None:
    """Minutes from start to end, when both are known."""
    return round((end - start).total_seconds() / 60, 2) if start and end else None


def _deadline(case: Case, start: datetime, phase: Phase) -> datetime:
    cat = case.category
    return get_calendar().add(start, getattr(cat, f"{phase.value}_minutes"), cat.time_basis)


def _photos(photos, kind: MediaKind, actor: User | None) -> list:
    return [store_image(p, kind, uploaded_by=actor) for p in (photos or [])]


def _apply(case: Case, action: Action, actor: User | None, *, at=None, note="", data=None, media=(), role=None):
    """Role check → legal transition → relation check → status change → event."""
    if actor is not None or role is None:
        policy.check_role(actor, action)
    before = case.status
    after = next_status(before, action, suspended_from=case.suspended_from)
    if actor is not None:
        policy.check_relation(actor, action, case)
    case.status = after
    return audit.append_event(
        case, action, actor, before, note=note, data=data, media=list(media), at=at, actor_role=role
    )


def _next_number(at: datetime) -> str:
    """Date + per-day sequence, e.g. 20261122-00042 (atomic under concurrency)."""
    day = at.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).date()
    seq = db.session.execute(
        text(
            "INSERT INTO case_counters (day, last) VALUES (:d, 1) "
            "ON CONFLICT (day) DO UPDATE SET last = case_counters.last + 1 RETURNING last"
        ),
        {"d": day},
    ).scalar_one()
    return f"{day:%Y%m%d}-{seq:05d}"


def _clear_assignment(case: Case) -> None:
    case.assignee_id = None
    case.department_id = None
    case.accepted_at = None
    case.handle_due_at = None


def _back_to_dispatch(case: Case, at: datetime) -> None:
    """Common part of rework, reopen and return: the case waits for a new dispatch."""
    _clear_assignment(case)
    case.resolved_at = None
    case.check_due_at = None
    case.closed_at = None
    case.handler_id = None
    case.pending_delay_minutes = None
    case.pending_delay_reason = None
    case.dispatch_due_at = _deadline(case, at, Phase.DISPATCH)


# --- verbs -----------------------------------------------------------------------------------


# Built once: every report with a request id runs it.
_BY_REQUEST_KEY = select(Case).where(Case.request_scope == bindparam("scope"),
                                     Case.client_request_id == bindparam("key"))


def report_case(
    actor: User | None,
    *,
    category_code: str,
    lon,
    lat,
    description: str = "",
    address: str = "",
    photos=(),
    source: Source | None = None,
    priority: int | None = None,
    reporter_name: str | None = None,
    reporter_contact: str | None = None,
    client_request_id: str | None = None,
    request_scope: str | None = None,
    camera_id: int | None = None,
    extra: dict | None = None,
    fixed_on_site: bool = False,
    after_photos=(),
    at: datetime | None = None,
) -> tuple[Case, bool]:
    """Create a case (上报); returns (case, created).

    An inspector who fixed it there and then (`fixed_on_site`, a category that allows it) closes it at once with
    `after_photos`; `photos` are then the before-photos.

    A repeated `client_request_id` returns the first case, but only within `request_scope` (the reporter's
    account by default; the caller passes the device, API token or Open311 key for shared accounts). With no
    scope there is nobody to whom the first case could safely be shown, so the key is not used.
    """
    at = at or utcnow()
    if actor is not None:
        policy.check_role(actor, A.REPORT)
    request_scope = request_scope or request_scope_for(actor)
    client_request_id = _text(client_request_id, 64, label=_l("request id")) if request_scope else ""
    if client_request_id:
        # Same key → same lock: concurrent retries wait and then find the first case.
        db.session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                           {"k": f"{request_scope}|{client_request_id}"})
        existing = db.session.scalars(_BY_REQUEST_KEY, {"scope": request_scope, "key": client_request_id}).first()
        if existing is not None:
            return existing, False
    cat = get_category(category_code)
    lon, lat = parse_lonlat(lon, lat)
    description = _text(description, MAX_DESCRIPTION, label=_l("description"))
    extra = dict(extra or {})
    if cat.generic and (guess := intel.category_for_generic(description)) is not None:
        # Filed under the catch-all (Open311 clients often have no better code): the words say which it is.
        extra["category_from_text"] = {"from": cat.code, "confidence": guess[1], "model": guess[2]}
        cat = get_category(guess[0])
    address = _text(address, 255, label=_l("address"))
    if priority is not None and priority not in (1, 2, 3, 4):
        raise ValidationError(_l("Priority must be 1 (urgent) to 4 (low)."))
    grid = grid_for_point(lon, lat)
    if grid is None and not cat.allow_outside_grid:
        raise ValidationError(_l("The location is outside every grid of the service area."))
    if source is None:
        source = _SOURCE_BY_ROLE.get(actor.role, Source.HOTLINE) if actor is not None else Source.CITIZEN
    case = Case(
        number=_next_number(at),
        source=source,
        category=cat,
        description=description,
        address=address,
        location=point_value(lon, lat),
        grid=grid,
        priority=priority or cat.default_priority,
        status=S.REPORTED,
        reported_at=at,
        reporter_id=actor.id if actor is not None and actor.role is not Role.SYSTEM else None,
        reporter_name=_text(reporter_name, 80, label=_l("name")) or None,
        reporter_contact=_text(reporter_contact, 80, label=_l("contact")) or None,
        client_request_id=client_request_id or None,
        request_scope=request_scope if client_request_id else None,
        camera_id=camera_id,
        extra=extra,
        # Collections start empty and are filled as the case is built: answering with the new case then
        # reads them from memory instead of querying for what this transaction just wrote.
        events=[],
        media=_photos(photos, MediaKind.EVIDENCE, actor),
    )
    media = case.media
    db.session.add(case)
    audit.append_event(case, A.REPORT, actor, None, note=description[:200], media=media, at=at,
                       data={"source": source.value, **({"category_from_text": extra["category_from_text"]}
                                                         if "category_from_text" in extra else {})},
                       actor_role=None if actor else "citizen")
    if actor is not None and actor.role in (Role.WORKER, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN):
        # An inspector or staff member saw it themselves: it counts as verified (核实) at once.
        case.verified_at = at
        _apply(case, A.VERIFY, actor, at=at, data={"reason": "reported_by_staff"})
    if fixed_on_site:
        _fix_on_site(case, actor, after_photos, at)
    db.session.flush()  # one flush for the case, its events and photos: the caller gets ids and hashes
    if case.reporter_contact:  # a reporter who left an e-mail or phone number hears how it goes
        updates.subscribe(case, case.reporter_contact)
    return case, True


def _fix_on_site(case: Case, actor: User | None, after_photos, at: datetime) -> None:
    """即时处置: closed at once by the inspector who found and fixed it (audited with the after-photos)."""
    policy.check_role(actor, A.FIX_ON_SITE)
    if not case.category.fix_on_site:
        raise ValidationError(_l("%(category)s cannot be closed on the spot; report it for dispatch instead."),
                              category=case.category.name_zh)
    if not after_photos:
        raise ValidationError(_l("Fixing on the spot needs at least one photo after."))
    media = _photos(after_photos, MediaKind.AFTER, actor)
    case.media.extend(media)
    _apply(case, A.FIX_ON_SITE, actor, at=at, media=media)
    case.filed_at = case.resolved_at = case.closed_at = at
    case.assignee_id = case.handler_id = actor.id


def verify_case(case_id: int, actor: User, *, valid: bool, note: str = "", at=None) -> Case:
    """核实: confirm the report (→ verified) or reject it as invalid."""
    at = at or utcnow()
    case = _begin(case_id, actor, A.VERIFY)
    note = _text(note, MAX_NOTE, required=not valid, label=_l("reason"))
    _apply(case, A.VERIFY if valid else A.INVALIDATE, actor, at=at, note=note)
    case.verified_at = at
    return case


def file_case(case_id: int, actor: User, *, priority: int | None = None, note: str = "", at=None) -> Case:
    """立案: accept the case for handling; the dispatch time limit starts."""
    at = at or utcnow()
    case = _begin(case_id, actor, A.FILE)
    if priority is not None and priority not in (1, 2, 3, 4):
        raise ValidationError(_l("Priority must be 1 (urgent) to 4 (low)."))
    _apply(case, A.FILE, actor, at=at, note=_text(note, MAX_NOTE), data={"priority": priority} if priority else None)
    if priority:
        case.priority = priority
    case.filed_at = at
    case.dispatch_due_at = _deadline(case, at, Phase.DISPATCH)
    points.award_for_filing(case)  # filing is what makes a citizen's report "valid"
    return case


def dispatch_case(
    case_id: int,
    actor: User,
    *,
    assignee_id: int | None = None,
    department_id: int | None = None,
    note: str = "",
    data: dict | None = None,
    at=None,
) -> Case:
    """派遣: send the case to one worker/handler or to a department; the handling limit starts."""
    at = at or utcnow()
    case = _begin(case_id, actor, A.DISPATCH)
    if (assignee_id is None) == (department_id is None):
        raise ValidationError(_l("Dispatch to exactly one worker or one department."))
    was = case.status
    payload = dict(data or {})
    assignee = department = None
    if assignee_id is not None:
        assignee = db.session.get(User, int(assignee_id))
        if assignee is None or not assignee.active or assignee.role not in (Role.WORKER, Role.HANDLER):
            raise ValidationError(_l("The assignee must be an active worker or handler."))
        payload["assignee_id"] = assignee.id
    else:
        department = db.session.get(Department, int(department_id))
        if department is None:
            raise ValidationError(_l("Unknown department."))
        payload["department_id"] = department.id
    _apply(case, A.DISPATCH, actor, at=at, note=_text(note, MAX_NOTE), data=payload)
    case.assignee_id = assignee.id if assignee else None
    case.department_id = department.id if department else (assignee.department_id if assignee else None)
    case.accepted_at = None
    case.dispatched_at = at
    if was is S.FILED:  # a reassignment (改派) keeps the running handling limit
        case.handle_due_at = _deadline(case, at, Phase.HANDLE)
    return case


def accept_case(case_id: int, actor: User, *, note: str = "", at=None) -> Case:
    """接单: the assignee (or a handler of the assigned department) takes the case."""
    at = at or utcnow()
    case = _begin(case_id, actor, A.ACCEPT)
    _apply(case, A.ACCEPT, actor, at=at, note=_text(note, MAX_NOTE))
    case.assignee_id = actor.id
    case.accepted_at = at
    return case


def handle_case(case_id: int, actor: User, *, note: str = "", photos=(), lon=None, lat=None, reason: str = "",
                at=None) -> Case:
    """处置: the assignee is on site and starts work (optional before-photos).

    With the device's position, farther than ARRIVE_RADIUS_M from the case needs a reason (recorded).
    """
    at = at or utcnow()
    case = _begin(case_id, actor, A.HANDLE)
    data = {}
    if lon is not None and lat is not None:
        lon, lat = parse_lonlat(lon, lat)
        distance = db.session.execute(_DISTANCE_M, {"id": case.id, "lon": lon, "lat": lat}).scalar_one()
        data = {"position": [lon, lat], "distance_m": round(distance)}
        if distance > current_app.config["ARRIVE_RADIUS_M"]:
            reason = _text(reason, 500)
            if not reason:
                raise ValidationError(_l("You are %(m)d m from the case; please say why you start from here."),
                                      m=round(distance), details={"reason": "too_far", "distance_m": round(distance)})
            data["far_reason"] = reason
    media = _photos(photos, MediaKind.BEFORE, actor)
    _apply(case, A.HANDLE, actor, at=at, note=_text(note, MAX_NOTE), media=media, data=data)
    return case


_DISTANCE_M = text("SELECT ST_Distance(location::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography) "
                   "FROM cases WHERE id = :id")


def feedback_case(case_id: int, actor: User, *, note: str = "", photos=(), at=None) -> Case:
    """反馈: report the work done with at least one after-photo; the check limit starts."""
    at = at or utcnow()
    case = _begin(case_id, actor, A.FEEDBACK)
    if not photos:
        raise ValidationError(_l("Feedback needs at least one photo after handling."))
    media = _photos(photos, MediaKind.AFTER, actor)
    _apply(case, A.FEEDBACK, actor, at=at, note=_text(note, MAX_NOTE), media=media)
    case.resolved_at = at
    case.handler_id = actor.id
    case.check_due_at = _deadline(case, at, Phase.CHECK)
    return case


def check_case(case_id: int, actor: User, *, passed: bool, note: str = "", photos=(), at=None) -> Case:
    """核查: pass → 结案 (closed); fail → 返工 (rework, back to dispatch)."""
    at = at or utcnow()
    case = _begin(case_id, actor, A.CHECK_PASS)
    note = _text(note, MAX_NOTE, required=not passed, label=_l("reason"))
    media = _photos(photos, MediaKind.CHECK, actor)
    # What learning needs survives the reset below: who handled it and how long the handling took.
    handled = {"handler_id": case.handler_id, "assignee_id": case.assignee_id,
               "handle_min": _minutes(case.accepted_at, case.resolved_at)}
    _apply(case, A.CHECK_PASS if passed else A.CHECK_FAIL, actor, at=at, note=note, media=media, data=handled)
    if passed:
        case.closed_at = at
    else:
        case.rework_count += 1
        _back_to_dispatch(case, at)
    return case


def evaluate_case(case_id: int, actor: User | None, *, rating, comment: str = "", at=None,
                  by_tracking_link: bool = False) -> Case:
    """评价: the reporter rates a closed case 1–5; ≤ 2 reopens it as rework.

    `by_tracking_link`: an anonymous reporter proves who they are with the case's private link.
    """
    at = at or utcnow()
    role = "citizen" if by_tracking_link else None
    case = _lock(case_id) if by_tracking_link else _begin(case_id, actor, A.EVALUATE)
    rating = _whole(rating)
    if not 1 <= rating <= 5:
        raise ValidationError(_l("The rating must be a whole number from 1 to 5."))
    if case.status is S.CLOSED and case.rated_at is not None:
        raise Conflict(_l("This case has already been rated."))
    comment = _text(comment, 1000, label=_l("comment"))
    _apply(case, A.EVALUATE, actor, at=at, note=comment, data={"rating": rating, "handler_id": case.handler_id},
           role=role)
    case.rating, case.rating_comment, case.rated_at = rating, comment or None, at
    if rating <= 2:
        _apply(case, A.REOPEN, actor, at=at, role=role,
               data={"reason": "low_rating", "rating": rating, "handler_id": case.handler_id})
        case.rework_count += 1
        case.rating = case.rating_comment = case.rated_at = None
        _back_to_dispatch(case, at)
    return case


def return_case(case_id: int, actor: User, *, reason: str, at=None) -> Case:
    """回退: the assignee (or staff) sends the case back to the dispatcher, e.g. wrong department."""
    at = at or utcnow()
    case = _begin(case_id, actor, A.RETURN)
    reason = _text(reason, MAX_NOTE, required=True, label=_l("reason"))
    _apply(case, A.RETURN, actor, at=at, note=reason,
           data={"assignee_id": case.assignee_id, "department_id": case.department_id})
    case.return_count += 1
    _back_to_dispatch(case, at)
    return case


def request_delay(case_id: int, actor: User, *, minutes, reason: str, at=None) -> Case:
    """延期申请: the assignee asks for more handling time."""
    at = at or utcnow()
    case = _begin(case_id, actor, A.REQUEST_DELAY)
    minutes = _whole(minutes)
    if not 1 <= minutes <= MAX_DELAY_MINUTES:
        raise ValidationError(_l("The delay must be between 1 and %(n)d minutes."), n=MAX_DELAY_MINUTES)
    reason = _text(reason, 500, required=True, label=_l("reason"))
    if case.pending_delay_minutes:
        raise Conflict(_l("A delay request is already waiting for approval."))
    _apply(case, A.REQUEST_DELAY, actor, at=at, note=reason, data={"minutes": minutes})
    case.pending_delay_minutes, case.pending_delay_reason = minutes, reason
    return case


def decide_delay(case_id: int, actor: User, *, approve: bool, note: str = "", at=None) -> Case:
    """延期审批: approve (the handling deadline moves) or reject the pending request."""
    at = at or utcnow()
    case = _begin(case_id, actor, A.APPROVE_DELAY)
    if not case.pending_delay_minutes:
        raise Conflict(_l("There is no delay request to decide."))
    minutes = case.pending_delay_minutes
    _apply(case, A.APPROVE_DELAY if approve else A.REJECT_DELAY, actor, at=at, note=_text(note, MAX_NOTE),
           data={"minutes": minutes})
    if approve:
        cal, cat = get_calendar(), case.category
        case.handle_due_at = cal.add(case.handle_due_at or at, minutes, cat.time_basis)
        case.delay_count += 1
    case.pending_delay_minutes = case.pending_delay_reason = None
    return case


def suspend_case(case_id: int, actor: User, *, reason: str, at=None) -> Case:
    """挂账/缓办: stop the clock; the remaining time of the running limit is kept for resume."""
    at = at or utcnow()
    case = _begin(case_id, actor, A.SUSPEND)
    reason = _text(reason, MAX_NOTE, required=True, label=_l("reason"))
    was = case.status
    _apply(case, A.SUSPEND, actor, at=at, note=reason)
    phase = PHASE_OF.get(was)
    due = getattr(case, f"{phase.value}_due_at") if phase else None
    case.suspended_from = was
    case.suspended_remaining_min = (
        get_calendar().minutes_between(at, due, case.category.time_basis) if due is not None else None
    )
    return case


def resume_case(case_id: int, actor: User, *, note: str = "", at=None) -> Case:
    """恢复: back to the status it was suspended from, with the remaining time restored."""
    at = at or utcnow()
    case = _begin(case_id, actor, A.RESUME)
    _apply(case, A.RESUME, actor, at=at, note=_text(note, MAX_NOTE))
    phase = PHASE_OF.get(case.status)
    remaining = case.suspended_remaining_min
    if phase is not None and remaining is not None and remaining > 0:
        setattr(case, f"{phase.value}_due_at", get_calendar().add(at, remaining, case.category.time_basis))
    case.suspended_from = None
    case.suspended_remaining_min = None
    return case


def void_case(case_id: int, actor: User, *, reason: str, at=None) -> Case:
    """作废: cancel a case that should not be worked (reason required)."""
    at = at or utcnow()
    case = _begin(case_id, actor, A.VOID)
    reason = _text(reason, 500, required=True, label=_l("reason"))
    _apply(case, A.VOID, actor, at=at, note=reason)
    case.void_reason = reason
    return case


def merge_case(case_id: int, actor: User, *, into: int | str, note: str = "", at=None) -> Case:
    """Mark a case as a duplicate of another open case; the target records the extra evidence."""
    at = at or utcnow()
    policy.check_role(actor, A.MERGE)
    target_ref = get_case(into)
    if target_ref.id == int(case_id):
        raise ValidationError(_l("A case cannot be merged into itself."))
    # Lock both rows in id order so that two opposite merges cannot deadlock.
    first, second = sorted((int(case_id), target_ref.id))
    locked = {first: _lock(first), second: _lock(second)}
    case, target = locked[int(case_id)], locked[target_ref.id]
    if A.ADD_EVIDENCE not in allowed_actions(target.status):
        raise Conflict(_l("Cases can only be merged into an open case."))
    _apply(case, A.MERGE, actor, at=at, note=_text(note, MAX_NOTE), data={"into": target.number})
    case.merged_into_id = target.id
    _apply(target, A.ADD_EVIDENCE, actor, at=at, data={"merged_case": case.number})
    return case


def recategorise_case(case_id: int, actor: User, *, category: str, note: str = "", at=None) -> Case:
    """改类: correct the category before dispatch; a filed case's dispatch limit follows the new category."""
    at = at or utcnow()
    case = _begin(case_id, actor, A.RECATEGORISE)
    new = get_category(category)
    if new.code == case.category_code:
        raise ValidationError(_l("The case already has this category."))
    before = case.category_code
    _apply(case, A.RECATEGORISE, actor, at=at, note=_text(note, MAX_NOTE), data={"from": before, "to": new.code})
    case.category, case.category_code = new, new.code
    if case.status is S.FILED:
        case.dispatch_due_at = _deadline(case, case.filed_at or at, Phase.DISPATCH)
    return case


def escalate_case(case_id: int, actor: User, *, due: datetime, phase: str, at=None) -> Case:
    """超时督办: record that a deadline passed and the dispatcher and supervisor were alerted."""
    at = at or utcnow()
    case = _begin(case_id, actor, A.ESCALATE)
    _apply(case, A.ESCALATE, actor, at=at, data={"due": due.isoformat(), "phase": phase})
    return case


def assign_checker(case_id: int, actor: User, *, checker_id: int, at=None) -> Case:
    """核查派发: give the check of a resolved case to an active inspector other than its handler."""
    at = at or utcnow()
    case = _begin(case_id, actor, A.ASSIGN_CHECK)
    checker = db.session.get(User, checker_id)
    # An inspector; or a system account taking the check itself (a camera that checks by looking: AI 核查).
    itself = actor.role is Role.SYSTEM and checker is actor
    if checker is None or not (checker.role is Role.WORKER or itself) or not checker.active:
        raise ValidationError(_l("Checks are given to active inspectors."))
    if checker.id == case.handler_id:
        raise ValidationError(_l("A case must be checked by someone other than its handler."))
    case.checker_id = checker.id
    _apply(case, A.ASSIGN_CHECK, actor, at=at, data={"checker_id": checker.id})
    return case


def add_evidence(case_id: int, actor: User | None, *, photos=(), note: str = "", data=None, at=None) -> Case:
    """Attach more photos or a repeated report to an open case (e.g. a duplicate sighting).

    A signed-in actor must be able to read the case (a citizen: their own report); `actor=None` is the
    public form's "same problem" join, which knows only what the nearby search showed.
    """
    at = at or utcnow()
    if actor is not None:
        policy.check_role(actor, A.ADD_EVIDENCE)
    case = _lock(case_id)
    if actor is not None:
        policy.check_visible(actor, case)  # before the status check: a 409 would reveal the status
    note = _text(note, MAX_NOTE)
    if not photos and not note and not data:
        raise ValidationError(_l("Add at least one photo or a note."))
    media = _photos(photos, MediaKind.EVIDENCE, actor)
    _apply(case, A.ADD_EVIDENCE, actor, at=at, note=note, media=media, data=data,
           role=None if actor else "citizen")
    return case


# News about a case that leaves an inspector's pending action as valid as it was.
_NOT_CONFLICTING = (A.ADD_EVIDENCE, A.ESCALATE)


def perform(verb, case_id: int, actor: User, *, base_version: int | None = None, action_key: str | None = None,
            **args) -> tuple[Case, bool]:
    """Run `verb` as sent by an app that may have been offline; returns (case, applied).

    `action_key`: the same key from the same actor applies once — a resend answers the case as it is.
    `base_version`: the case's version (its latest event id) when the sender decided; if anyone else changed it
    since (reassigned, returned, checked …), the action is refused as stale with what happened, never applied
    on a case the sender did not see.
    """
    if action_key is None and base_version is None:
        return verb(case_id, actor, **args), True
    case = _lock(case_id)  # first: a resend racing its original waits here and then finds it done
    if action_key is not None:
        done = db.session.scalars(select(CaseEvent.case_id).where(
            CaseEvent.actor_id == actor.id, CaseEvent.client_action_id == action_key)).first()
        if done is not None:
            if done != case.id:
                raise Conflict(_l("This action key was already used for another case."),
                               details={"reason": "key_reused"})
            return case, False
    head = db.session.scalar(select(func.max(CaseEvent.id)).where(CaseEvent.case_id == case.id)) or 0
    if base_version is not None and base_version < head:
        _refuse_if_changed(case, actor, base_version)
    case = verb(case_id, actor, **args)
    if action_key is not None:
        db.session.flush()
        mine = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.id > head,
                                                          CaseEvent.actor_id == actor.id)
                                  .order_by(CaseEvent.id.desc())).first()
        if mine is not None:
            mine.client_action_id = action_key
    return case, True


def _refuse_if_changed(case: Case, actor: User, base_version: int) -> None:
    from app.vocabulary import ACTION_LABELS, label

    changes = db.session.execute(
        select(CaseEvent.id, CaseEvent.action, CaseEvent.at, User.display_name)
        .outerjoin(User, User.id == CaseEvent.actor_id)
        .where(CaseEvent.case_id == case.id, CaseEvent.id > base_version,
               CaseEvent.actor_id.is_distinct_from(actor.id), CaseEvent.action.not_in(_NOT_CONFLICTING))
        .order_by(CaseEvent.id)).all()
    if changes:
        raise Conflict(
            _l("Case %(number)s changed since you last saw it (%(what)s); your action was not applied."),
            number=case.number, what="、".join(label(ACTION_LABELS, c.action) for c in changes),
            details={"reason": "stale", "version": changes[-1].id,
                     "changes": [{"action": c.action.value, "by": c.display_name, "at": c.at.isoformat()}
                                 for c in changes]})


def timeline(case: Case) -> list[CaseEvent]:
    """Events of a case in order (loaded once per request; events appended since are in it)."""
    return list(case.events)
