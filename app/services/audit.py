"""The append-only case event log: one hash chain per case, anchored periodically over all chains.

Every event's hash covers the previous event of the same case and the event's own canonical content. Events of a
case are appended under that case's row lock, which every verb already takes (a new case is seen by nobody else
until commit), so the chains of different cases grow side by side. One chain over the whole table needed one lock
held by every writing transaction until its commit: every report, dispatch and rating in the district queued on
it, commit and fsync included.

A per-case chain alone would not show a case's last events cut off, or a whole case removed. `anchor_chains`
(a periodic job) records the head of every chain that moved since the previous anchor and chains the anchors in
turn; `verify_chain` checks every case chain, the anchor chain, and that every anchored head still exists.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy import select, text

from app.extensions import db
from app.models import AuditAnchor, Case, CaseEvent, Media, User
from app.models.types import utcnow
from dispatch.lifecycle import Action, CaseStatus

GENESIS = "0" * 64
_ANCHOR_LOCK = 0x5C17_A0D2  # advisory lock key: one anchor at a time


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
    """Append one event to `case`'s chain and link `media` to it; the caller holds the case's row lock.

    The event is hashed when it is inserted (a new case has its id only then), in the same flush as the case.
    """
    data = dict(data or {})
    if media:
        data["media"] = [m.sha256 for m in media]
    if "events" in sa.inspect(case).unloaded:
        # Events this request has not read: only the last hash is needed (a camera's case may hold hundreds of
        # sightings). Asking flushes this case's earlier events of the transaction first, so they are sealed.
        last = None
        prev_hash = db.session.execute(_LAST_HASH, {"case_id": case.id}).scalar() or GENESIS
    else:  # a new case, or one whose timeline this request already holds
        last = case.events[-1] if case.events else None
        prev_hash = last.hash if last is not None and last.hash else GENESIS
    event = CaseEvent(
        case=case,  # appended to case.events, loaded or not
        action=action,
        actor_id=actor.id if actor is not None else None,
        actor_role=actor_role or (actor.role.value if actor is not None else "system"),
        from_status=from_status,
        to_status=case.status,
        at=at or utcnow(),
        note=note or "",
        data=data,
        prev_hash=prev_hash,
        media=list(media),
    )
    event.chained_after = last if last is not None and not last.hash else None  # not hashed yet: same flush
    db.session.add(event)
    for m in media:
        if m.case is not case:
            m.case = case
    return event


_LAST_HASH = select(CaseEvent.hash).where(CaseEvent.case_id == sa.bindparam("case_id")).order_by(
    CaseEvent.id.desc()).limit(1)


@sa.event.listens_for(CaseEvent, "before_insert")
def _seal(mapper, connection, event: CaseEvent) -> None:
    # Rows of one flush are inserted in the order they were added, so an earlier event of the same case in
    # this flush is already sealed here; the case's id is set by now.
    after = getattr(event, "chained_after", None)
    if after is not None:
        event.prev_hash = after.hash
    event.hash = chain_hash(event.prev_hash, event)


def _anchor_hash(prev_hash: str, at: datetime, heads: dict) -> str:
    body = json.dumps({"at": at.astimezone(timezone.utc).isoformat(timespec="microseconds"), "heads": heads},
                      sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


_MOVED_HEADS = text("""
    WITH current AS (
        SELECT DISTINCT ON (case_id) case_id, hash FROM case_events ORDER BY case_id, id DESC
    ), anchored AS (
        SELECT DISTINCT ON (h.key) h.key::int AS case_id, h.value AS hash
        FROM audit_anchors a, jsonb_each_text(a.heads) h ORDER BY h.key, a.id DESC
    )
    SELECT c.case_id, c.hash FROM current c LEFT JOIN anchored a USING (case_id)
    WHERE a.hash IS DISTINCT FROM c.hash ORDER BY c.case_id
""")


def anchor_chains(at: datetime | None = None) -> AuditAnchor | None:
    """Anchor the heads of the chains that moved since the last anchor (None when nothing moved)."""
    db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ANCHOR_LOCK})
    heads = {str(case_id): head for case_id, head in db.session.execute(_MOVED_HEADS)}
    if not heads:
        return None
    prev = db.session.execute(select(AuditAnchor.hash).order_by(AuditAnchor.id.desc()).limit(1)).scalar()
    at = at or utcnow()
    anchor = AuditAnchor(at=at, heads=heads, prev_hash=prev or GENESIS)
    anchor.hash = _anchor_hash(anchor.prev_hash, at, heads)
    db.session.add(anchor)
    db.session.flush()
    return anchor


_COLUMNS = [c for c in CaseEvent.__table__.c]


@dataclass
class ChainReport:
    """Result of walking the chains: `broken_at` is the first bad event, `case_id` the case it belongs to."""

    ok: bool
    checked: int
    broken_at: int | None = None
    reason: str = ""
    case_id: int | None = None
    anchors: int = 0


def verify_chain(batch: int = 2000) -> ChainReport:
    """Recompute every case's chain, the anchors' chain, and check that every anchored head still exists."""
    checked, prev, case_id = 0, GENESIS, None
    after = (0, 0)
    while True:
        # Plain rows, not entities: a long walk must not fill (or clear) the caller's session.
        rows = db.session.execute(
            select(*_COLUMNS).where(sa.tuple_(CaseEvent.case_id, CaseEvent.id) > after)
            .order_by(CaseEvent.case_id, CaseEvent.id).limit(batch)
        ).all()
        if not rows:
            break
        for ev in rows:
            if ev.case_id != case_id:
                case_id, prev = ev.case_id, GENESIS
            if ev.prev_hash != prev:
                return ChainReport(False, checked, ev.id, "link to the previous event does not match", ev.case_id)
            if chain_hash(prev, ev) != ev.hash:
                return ChainReport(False, checked, ev.id, "content does not match its hash", ev.case_id)
            prev = ev.hash
            checked += 1
        after = (rows[-1].case_id, rows[-1].id)
    return _verify_anchors(ChainReport(ok=True, checked=checked))


def _verify_anchors(report: ChainReport) -> ChainReport:
    prev = GENESIS
    for anchor in db.session.execute(select(AuditAnchor.__table__).order_by(AuditAnchor.id)):
        if anchor.prev_hash != prev or _anchor_hash(prev, anchor.at, anchor.heads) != anchor.hash:
            return ChainReport(False, report.checked, reason=f"audit anchor {anchor.id} does not match its hash")
        prev = anchor.hash
        report.anchors += 1
    missing = db.session.execute(text("""
        SELECT a.id, h.key::int, h.value FROM audit_anchors a CROSS JOIN jsonb_each_text(a.heads) h
        LEFT JOIN case_events e ON e.hash = h.value AND e.case_id = h.key::int
        WHERE e.id IS NULL ORDER BY a.id LIMIT 1
    """)).first()
    if missing is not None:
        anchor_id, case_id, head = missing
        return ChainReport(False, report.checked, reason=f"event {head[:12]}… anchored by anchor {anchor_id} is "
                                                         "missing (events removed from the end of the case)",
                           case_id=case_id, anchors=report.anchors)
    return report
