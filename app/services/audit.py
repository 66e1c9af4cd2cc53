"""The append-only, hash-chained case event log and its verification.

Every event's hash covers the previous event's hash and the event's own canonical content, across
the whole table in id order. Appends take a transaction-scoped advisory lock so that the chain is
extended by one transaction at a time (ids then follow commit order).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select, text

from app.extensions import db
from app.models import Case, CaseEvent, Media, User
from app.models.types import utcnow
from dispatch.lifecycle import Action, CaseStatus

GENESIS = "0" * 64
_CHAIN_LOCK = 0x5C17_A0D1  # advisory lock key reserved for the event chain


def canonical(event) -> str:
    """The exact text hashed for an event (a CaseEvent or a row with its columns)."""
    at = event.at.astimezone(timezone.utc).isoformat(timespec="microseconds")
    body = {
        "case_id": event.case_id,
        "action": event.action.value,
        "actor_id": event.actor_id,
        "actor_role": event.actor_role,
        "from": event.from_status.value if event.from_status else None,
        "to": event.to_status.value,
        "at": at,
        "note": event.note or "",
        "data": event.data or {},
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def chain_hash(prev_hash: str, event) -> str:
    """sha256 over the previous hash and the event's canonical text."""
    return hashlib.sha256((prev_hash + canonical(event)).encode("utf-8")).hexdigest()


def append_event(
    case: Case,
    action: Action,
    actor: User | None,
    from_status: CaseStatus | None,
    *,
    note: str = "",
    data: dict | None = None,
    media: list[Media] = (),
    at: datetime | None = None,
    actor_role: str | None = None,
) -> CaseEvent:
    """Append one event for `case` (already flushed) and link `media` to it."""
    db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK})
    prev = db.session.execute(select(CaseEvent.hash).order_by(CaseEvent.id.desc()).limit(1)).scalar()
    data = dict(data or {})
    if media:
        data["media"] = [m.sha256 for m in media]
    event = CaseEvent(
        case_id=case.id,
        action=action,
        actor_id=actor.id if actor is not None else None,
        actor_role=actor_role or (actor.role.value if actor is not None else "system"),
        from_status=from_status,
        to_status=case.status,
        at=at or utcnow(),
        note=note or "",
        data=data,
        prev_hash=prev or GENESIS,
    )
    event.hash = chain_hash(event.prev_hash, event)
    db.session.add(event)
    db.session.flush()
    for m in media:
        m.event_id = event.id
        m.case_id = case.id
    return event


_COLUMNS = [c for c in CaseEvent.__table__.c]


@dataclass
class ChainReport:
    """Result of walking the chain."""

    ok: bool
    checked: int
    broken_at: int | None = None
    reason: str = ""


def verify_chain(batch: int = 2000) -> ChainReport:
    """Recompute every hash in id order; report the first event whose link or content does not match."""
    prev = GENESIS
    checked = 0
    last_id = 0
    while True:
        # Plain rows, not entities: a long walk must not fill (or clear) the caller's session.
        rows = db.session.execute(
            select(*_COLUMNS).where(CaseEvent.id > last_id).order_by(CaseEvent.id).limit(batch)
        ).all()
        if not rows:
            return ChainReport(ok=True, checked=checked)
        for ev in rows:
            if ev.prev_hash != prev:
                return ChainReport(False, checked, ev.id, "link to the previous event does not match")
            if chain_hash(prev, ev) != ev.hash:
                return ChainReport(False, checked, ev.id, "content does not match its hash")
            prev = ev.hash
            checked += 1
            last_id = ev.id
