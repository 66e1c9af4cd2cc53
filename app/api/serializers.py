"""Turning cases, events and reference rows into JSON / GeoJSON."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime

from flask import Response, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from geoalchemy2.shape import to_shape

from app.models import Case, CaseEvent, Category, Media, Notification, Role, User
from app.models.people import STAFF_ROLES
from app.models.types import utcnow
from app.services.calendar import local_text
from app.vocabulary import (
    ACTION_LABELS,
    NOTIFICATION_LABELS,
    SOURCE_LABELS,
    STATUS_LABELS,
    TASK_LABELS,
    TIER_LABELS,
    WAITING_LABELS,
    label,
)
from dispatch.lifecycle import PHASE_OF, CaseStatus, allowed_actions


def iso(value: datetime | None) -> str | None:
    """ISO 8601 with offset, or None."""
    return value.isoformat() if value else None


def _locale() -> str:
    return str(get_locale() or "zh_CN")


def lonlat(geom) -> list[float] | None:
    """[lon, lat] of a stored point."""
    if geom is None:
        return None
    p = to_shape(geom)
    return [round(p.x, 7), round(p.y, 7)]


def active_due(case: Case) -> datetime | None:
    """The deadline of the phase the case is in now."""
    phase = PHASE_OF.get(case.status)
    return getattr(case, f"{phase.value}_due_at") if phase else None


def category_json(cat: Category) -> dict:
    """A category with its limits."""
    loc = _locale()
    return {
        "code": cat.code,
        "name": cat.name(loc),
        "name_zh": cat.name_zh,
        "name_en": cat.name_en,
        "class": {
            "code": cat.class_code,
            "name": cat.major_class.name_en if loc.startswith("en") else cat.major_class.name_zh,
        },
        "detectable": cat.detectable,
        "default_priority": cat.default_priority,
        "limits_minutes": {"dispatch": cat.dispatch_minutes, "handle": cat.handle_minutes, "check": cat.check_minutes},
        "time_basis": cat.time_basis.value,
        "department_type": cat.department_type,
        "allow_outside_grid": cat.allow_outside_grid,
        "fix_on_site": cat.fix_on_site,
    }


def user_brief(user: User | None) -> dict | None:
    """Id, name and role of a user."""
    if user is None:
        return None
    return {"id": user.id, "name": user.display_name or user.username, "role": user.role.value}


def media_json(m: Media) -> dict:
    """A stored photo's metadata and URL."""
    return {
        "id": m.id, "kind": m.kind.value, "sha256": m.sha256, "mime": m.mime, "width": m.width,
        "height": m.height, "url": url_for("api.media_file", media_id=m.id),
        "thumb": url_for("api.media_file", media_id=m.id, size="thumb"),
        "view": url_for("api.media_file", media_id=m.id, size="view"),
    }


def case_properties(case: Case) -> dict:
    """The summary fields of a case (list views, map popups)."""
    due = active_due(case)
    return {
        "id": case.id,
        "number": case.number,
        "status": case.status.value,
        "status_label": label(STATUS_LABELS, case.status),
        "category": case.category_code,
        "category_name": case.category.name(_locale()),
        "priority": case.priority,
        "source": case.source.value,
        "grid": case.grid.code if case.grid else None,
        "address": case.address,
        "assignee": user_brief(case.assignee),
        "department_id": case.department_id,
        "reported_at": iso(case.reported_at),
        "due_at": iso(due),
        "overdue": bool(due and due < utcnow()),
        "rework_count": case.rework_count,
    }


def case_feature(case: Case) -> dict:
    """A case as a GeoJSON Feature."""
    return {
        "type": "Feature",
        "id": case.id,
        "geometry": {"type": "Point", "coordinates": lonlat(case.location)},
        "properties": case_properties(case),
    }


def event_json(ev: CaseEvent) -> dict:
    """One timeline entry."""
    return {
        "id": ev.id,
        "action": ev.action.value,
        "action_label": label(ACTION_LABELS, ev.action),
        "actor": user_brief(ev.actor),
        "actor_role": ev.actor_role,
        "from": ev.from_status.value if ev.from_status else None,
        "to": ev.to_status.value,
        "at": iso(ev.at),
        "note": ev.note,
        "data": ev.data,
        "media": [media_json(m) for m in ev.media],
        "hash": ev.hash,
    }


def case_detail(case: Case, viewer: User, events: list[CaseEvent]) -> dict:
    """Everything about a case for one viewer (contact details only for staff)."""
    out = case_feature(case)
    props = out["properties"]
    props.update(
        {
            "description": case.description,
            "category_detail": category_json(case.category),
            "deadlines": {
                "dispatch": iso(case.dispatch_due_at),
                "handle": iso(case.handle_due_at),
                "check": iso(case.check_due_at),
            },
            "times": {
                k: iso(getattr(case, f"{k}_at"))
                for k in ("reported", "verified", "filed", "dispatched", "accepted", "resolved", "closed")
            },
            "handler": user_brief(case.handler),
            "counters": {"rework": case.rework_count, "delay": case.delay_count, "return": case.return_count},
            "pending_delay": (
                {"minutes": case.pending_delay_minutes, "reason": case.pending_delay_reason}
                if case.pending_delay_minutes else None
            ),
            "rating": case.rating,
            "rating_comment": case.rating_comment,
            "merged_into": case.merged_into.number if case.merged_into else None,
            "void_reason": case.void_reason,
            "extra": case.extra,
            "waiting": label(WAITING_LABELS, (case.extra or {}).get("waiting"))
            if case.status is CaseStatus.FILED and (case.extra or {}).get("waiting") else None,
            "allowed_actions": [a.value for a in allowed_actions(case.status)],
            "version": max((e.id for e in events), default=0),  # sent back as base_version with an action
            "media": [media_json(m) for m in case.media],
            "timeline": [event_json(e) for e in events],
        }
    )
    if viewer.role in STAFF_ROLES or viewer.id == case.reporter_id:
        props["reporter"] = {"name": case.reporter_name, "contact": case.reporter_contact,
                             "user": user_brief(case.reporter)}
    return out


def me_json(user: User) -> dict:
    """The signed-in user's own profile."""
    return {
        **user_brief(user),
        "username": user.username,
        "department_id": user.department_id,
        "on_duty": user.on_duty,
        "duty_until": iso(user.duty_until) if user.on_duty else None,
        "position": lonlat(user.last_position),
        "last_seen_at": iso(user.last_seen_at),
        "skills": [c.code for c in user.skills],
        "grids": [g.code for g in user.grids],
        "is_staff": user.role in STAFF_ROLES or user.role is Role.SYSTEM,
    }


def notification_json(row: Notification) -> dict:
    """One notification with its label in the reader's language."""
    return {
        "id": row.id, "kind": row.kind, "kind_label": label(NOTIFICATION_LABELS, row.kind),
        "case": {"id": row.case_id, "number": (row.data or {}).get("number")} if row.case_id else None,
        "data": row.data, "created_at": iso(row.created_at), "read_at": iso(row.read_at),
    }


def task_json(task) -> dict:
    """One field task (`app.services.inspector.Task`): the case as the field app lists it, never the contact."""
    out = case_feature(task.case)
    out["properties"].update({
        "task": task.kind, "task_label": label(TASK_LABELS, task.kind), "version": task.version,
        "description": task.case.description, "media": [media_json(m) for m in task.case.media],
        "distance_m": None if task.distance_m is None else round(task.distance_m),
        "due_at": iso(task.due_at), "share_left": None if task.share_left is None else round(task.share_left, 3),
        "route": task.route_position, "arrive_in_s": task.arrive_in_s,
        "allowed_actions": [a.value for a in allowed_actions(task.case.status)],
        "fix_on_site": task.case.category.fix_on_site,
    })
    return out


def suggestion_json(pick, user: User) -> dict:
    """One suggested worker with the routing terms in minutes (why this one)."""
    t = pick.terms
    return {
        "worker": user_brief(user), "cost": round(pick.cost, 1), "tier": pick.tier,
        "tier_label": label(TIER_LABELS, pick.tier), "km": round(t["km"], 2),
        "minutes": {k: round(t[k], 1) for k in ("travel", "handle", "workload", "lateness")},
        "rework_rate": round(t["rework"], 3), "dissatisfaction": round(t["satisfaction"], 2),
        "failed_here_before": bool(t["repeat_failure"]),
    }


# --- CSV exports -------------------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    """One CSV cell; text that a spreadsheet would run as a formula is quoted with an apostrophe (OWASP)."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def csv_response(name: str, header: list, rows: Iterable[Iterable]) -> Response:
    """A CSV download, UTF-8 with a byte-order mark so that Excel opens Chinese text correctly.

    Built in memory (exports stop at EXPORT_MAX_ROWS): a streamed body would outlive the request's database
    session.
    """
    buf = io.StringIO()
    buf.write("\ufeff")
    out = csv.writer(buf)
    out.writerow([str(h) for h in header])
    out.writerows([_cell(v) for v in row] for row in rows)
    stamp = local_text(utcnow(), "%Y%m%d-%H%M")
    return Response(buf.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}-{stamp}.csv"'})


CASE_COLUMNS = [_l("Case number"), _l("Status"), _l("Category"), _l("Source"), _l("Grid"), _l("Address"),
                _l("Assignee"), _l("Reported"), _l("Due"), _l("Overdue"), _l("Closed"), _l("Reworks"),
                _l("Rating")]


def case_table(query, max_rows: int) -> tuple[list, Iterator[list]]:
    """(header, rows) of the cases `query` selects, in its order, for a CSV export."""
    from sqlalchemy.orm import selectinload

    from app.extensions import db

    loc = _locale()
    yes = str(_l("yes"))

    def rows() -> Iterator[list]:
        q = query.options(selectinload(Case.grid), selectinload(Case.assignee)).limit(max_rows)
        for case in db.session.scalars(q.execution_options(yield_per=1000)):
            due = active_due(case)
            yield [case.number, label(STATUS_LABELS, case.status), case.category.name(loc),
                   label(SOURCE_LABELS, case.source), case.grid.code if case.grid else "", case.address,
                   case.assignee.display_name if case.assignee else "", local_text(case.reported_at), local_text(due),
                   yes if due and due < utcnow() else "", local_text(case.closed_at), case.rework_count, case.rating]

    return CASE_COLUMNS, rows()
