"""Domain events: what each case verb did, recorded with the change and acted on once it commits.

Every case event row the session inserts becomes a `DomainEvent` (case, event, action, new status, assignee,
department, grid, checker, actor). When the transaction commits, `follow_up` (1) enqueues the jobs the change calls
for — a dispatch round for a case waiting to be dispatched, a check (核查) task for a resolved case, patrol rounds
re-planned when someone goes on or off duty, is sent out or is done, learning after a check or a rating, updates to
the citizens who follow the case — whichever view, job or command made the change, and (2) publishes the events,
with the notifications the transaction wrote and the field workers' new positions or duty: on a Redis pub/sub
channel for listeners now, and on a bounded Redis stream from which the live stream (`app.services.live`) serves and
replays them. A rolled-back transaction records nothing. When Redis is down the change stands; the sweeper enqueues
what the follow-up could not.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from app.aftercommit import on_commit
from app.models import CaseEvent, Notification, Subscription, User
from app.models.types import utcnow
from app.services import updates
from dispatch.lifecycle import Action, CaseStatus

log = logging.getLogger(__name__)

CHANNEL = "urbanops:events"  # pub/sub: every committed domain event, as JSON with its stream id
STREAM = "urbanops:events:stream"  # the same events, kept for replay (Last-Event-ID)
# About a day of a busy district with its field force's positions; older events are trimmed (approximately).
STREAM_MAXLEN = 50_000
_PENDING = "domain_events"

_LEARNED = {Action.CHECK_PASS.value, Action.CHECK_FAIL.value, Action.EVALUATE.value}


@dataclass(frozen=True)
class DomainEvent:
    """One committed change of a case, as listeners see it."""

    type = "case"  # not a field: what the live stream calls these

    case_id: int
    event_id: int
    number: str
    action: str
    status: str
    previous_status: str | None  # None for the report that created the case
    assignee_id: int | None
    previous_assignee_id: int | None  # the one it was taken from by a reassignment (改派), a return or a rework
    department_id: int | None
    grid_id: int | None
    checker_id: int | None
    actor_id: int | None
    at: str
    followed: bool = False  # a citizen follows the case by e-mail or SMS (app.services.updates)

    @classmethod
    def of(cls, row: CaseEvent, followed: bool = False) -> DomainEvent:
        """The domain event of a case event row just flushed (its case as the event left it)."""
        case = row.case
        # Called in after_flush, while the flush's attribute history is still there.
        replaced = inspect(case).attrs.assignee_id.history.deleted
        return cls(case_id=case.id, event_id=row.id, number=case.number, action=row.action.value,
                   status=row.to_status.value,
                   previous_status=row.from_status.value if row.from_status else None,
                   assignee_id=case.assignee_id, previous_assignee_id=replaced[0] if replaced else None,
                   department_id=case.department_id, grid_id=case.grid_id,
                   checker_id=case.checker_id, actor_id=row.actor_id, at=row.at.isoformat(), followed=followed)


@dataclass(frozen=True)
class NotificationEvent:
    """A notification written to one user, announced on the live stream to that user only."""

    type = "notification"
    notification_id: int
    user_id: int
    kind: str
    case_id: int | None
    number: str | None
    at: str

    @classmethod
    def of(cls, row: Notification) -> NotificationEvent:
        """The event of a notification row just flushed."""
        return cls(notification_id=row.id, user_id=row.user_id, kind=row.kind, case_id=row.case_id,
                   number=(row.data or {}).get("number"), at=row.created_at.isoformat())


@dataclass(frozen=True)
class PositionEvent:
    """A field worker's position or duty changed: the staff's maps move the marker (staff only)."""

    type = "position"
    user_id: int
    on_duty: bool
    lon: float | None
    lat: float | None
    at: str
    duty_changed: bool = False  # went on or off duty (not only moved)

    @classmethod
    def of(cls, user: User) -> PositionEvent:
        """The event of a user whose position or duty the flush just wrote (called inside the flush)."""
        from geoalchemy2.shape import to_shape

        p = to_shape(user.last_position) if user.last_position is not None else None
        seen = user.last_seen_at or utcnow()
        return cls(user_id=user.id, on_duty=bool(user.on_duty), lon=round(p.x, 7) if p else None,
                   lat=round(p.y, 7) if p else None, at=seen.isoformat(),
                   duty_changed=inspect(user).attrs.on_duty.history.has_changes())


def _moved(obj) -> bool:
    if not isinstance(obj, User):
        return False
    attrs = inspect(obj).attrs
    return attrs.last_position.history.has_changes() or attrs.on_duty.history.has_changes()


Event = DomainEvent | NotificationEvent | PositionEvent


def pending(session: Session) -> list[Event]:
    """The domain events recorded in `session`'s transaction so far (published if it commits)."""
    return session.info.get(_PENDING, [])


@event.listens_for(Session, "after_flush")
def _record(session: Session, flush_context) -> None:
    rows = [obj for obj in session.new if isinstance(obj, (CaseEvent, Notification))]
    moved = [obj for obj in session.dirty if _moved(obj)]
    if not rows and not moved:
        return
    events = session.info.get(_PENDING)
    if events is None:
        events = session.info[_PENDING] = []
        on_commit(lambda: follow_up(events), session=session)
    # Case events first (a notification is about a change), each kind in the order it was written.
    changes = sorted((r for r in rows if isinstance(r, CaseEvent)), key=lambda r: r.id)
    followed = _followed(session, {r.case_id for r in changes if updates.wants_message(r.action)})
    events.extend(DomainEvent.of(r, r.case_id in followed) for r in changes)
    events.extend(NotificationEvent.of(r) for r in sorted((r for r in rows if isinstance(r, Notification)),
                                                          key=lambda r: r.id))
    events.extend(PositionEvent.of(u) for u in sorted(moved, key=lambda u: u.id))


def _followed(session: Session, case_ids: set[int]) -> set[int]:
    """Which of these cases a citizen follows (read inside the flush: after the commit no SQL may run)."""
    if not case_ids:
        return set()
    return set(session.connection().scalars(
        select(Subscription.case_id).where(Subscription.case_id.in_(case_ids),
                                           Subscription.unsubscribed_at.is_(None))))


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction) -> None:
    if transaction.parent is None:  # committed (already handed over) or rolled back: start afresh
        session.info.pop(_PENDING, None)


def follow_up(events: list[Event]) -> None:
    """Enqueue the jobs these committed events call for, then publish them (Redis errors are logged)."""
    from app.jobs import tasks

    changes = [e for e in events if isinstance(e, DomainEvent)]
    # Entered, not merely in: evidence or an escalation on a filed case, or a check assignment on a resolved one,
    # calls for no new round.
    entered = {e.status for e in changes if e.status != e.previous_status}
    if CaseStatus.FILED.value in entered:  # filed, reworked, reopened or returned: route it now
        tasks.kick(tasks.auto_dispatch)
    if CaseStatus.RESOLVED.value in entered:
        tasks.kick(tasks.assign_checks)
    duty = any(isinstance(e, PositionEvent) and e.duty_changed for e in events)
    if duty or entered & {CaseStatus.RESOLVED.value, CaseStatus.DISPATCHED.value}:
        # Someone just came on duty or became free (a new patrol round), was sent out or went off duty (their round
        # ends): now, not at the next periodic step.
        tasks.kick(tasks.plan_patrols)
    if any(e.action in _LEARNED for e in changes):
        tasks.kick(tasks.learn_outcomes, queue="default")
    for e in changes:  # the reporters who left a contact hear about filing, fixing, closing and rework
        if e.followed and updates.wants_message(e.action):
            tasks.kick_updates(e.event_id)
    publish(events)


def payload(event: Event) -> dict:
    """An event as JSON-ready data: its fields and its type ("case", "notification" or "position")."""
    return {"type": event.type, **asdict(event)}


def publish(events: list[Event]) -> None:
    """Append the events to the replay stream and announce each, with its stream id, on the channel."""
    from app.extensions import get_redis

    if not events:
        return
    try:
        redis = get_redis()
        ids = redis.pipeline(transaction=False)
        for e in events:
            ids.xadd(STREAM, {"event": json.dumps(payload(e))}, maxlen=STREAM_MAXLEN, approximate=True)
        announce = redis.pipeline(transaction=False)
        for e, stream_id in zip(events, ids.execute(), strict=True):
            announce.publish(CHANNEL, json.dumps({"id": stream_id.decode(), **payload(e)}))
        announce.execute()
    except Exception as exc:  # noqa: BLE001 - the change is committed; live listeners catch up from the stream
        log.warning("could not publish %d domain events (%s)", len(events), exc)
