"""Job functions: each reloads what it needs by id or query, runs in an app context, commits once."""

from __future__ import annotations

import json
import logging

from app.extensions import get_redis
from app.jobs import enqueue, job
from app.models.types import utcnow
from app.services import dispatching, media
from app.services.audit import anchor_chains, verify_chain

AUDIT_KEY = "urbanops:audit:last_verify"
log = logging.getLogger(__name__)


@job
def anchor_audit_chains() -> dict:
    """Anchor the heads of the case chains that moved since the last anchor."""
    anchor = anchor_chains()
    return {"anchor": anchor.id if anchor else None, "heads": len(anchor.heads) if anchor else 0}


@job
def verify_audit_chain() -> dict:
    """Walk the event chains and anchors; keep the verdict in Redis for /healthz and the console."""
    report = verify_chain()
    result = {
        "ok": report.ok, "checked": report.checked, "broken_at": report.broken_at, "case_id": report.case_id,
        "anchors": report.anchors, "reason": report.reason, "at": utcnow().isoformat(),
    }
    get_redis().set(AUDIT_KEY, json.dumps(result))
    return result


@job
def auto_dispatch() -> dict:
    """One routing round over the filed cases."""
    return dispatching.auto_dispatch()


@job
def expire_offers() -> dict:
    """Re-offer cases not accepted in time."""
    return dispatching.expire_offers()


@job
def watch_deadlines() -> dict:
    """Warn near deadlines, escalate past them."""
    return dispatching.watch_deadlines()


@job
def assign_checks() -> dict:
    """Give resolved cases a checker."""
    return dispatching.assign_checks()


@job
def learn_outcomes() -> dict:
    """Update worker statistics from checks and ratings."""
    return dispatching.learn_outcomes()


@job
def retrain_text_model() -> dict:
    """A new version of the text model from the catalogue and the cases verified since (nightly)."""
    from app.services import intel

    name, model = intel.train_text_model()
    return {"version": name, **model.sources}


@job
def plan_patrols() -> dict:
    """Rounds for idle on-duty inspectors; end or finish the others (every two minutes)."""
    from app.services import patrol

    return patrol.plan_idle()


@job
def refit_forecast() -> dict:
    """Today's fit of the forecast, before anyone asks for it (nightly)."""
    from app.errors import ValidationError
    from app.services import patrol

    try:
        kept = patrol.refit()
    except ValidationError:  # no cases yet: nothing to learn from
        return {"problems": 0}
    return {"day": kept["day"], "problems": kept["problems"], "cells": len(kept["counts"])}


@job
def make_public_copy(media_id: int) -> str | None:
    """Blur faces and plates into a photo's public copy (CPU-heavy: its own queue, off the request)."""
    return media.make_public_copy(media_id)


@job
def deliver_updates(event_id: int) -> dict:
    """Tell the case's subscribers about one committed change (e-mail, SMS); retried while any fails.

    Commits after each message, unlike other jobs: a message that went out stays recorded as sent even when a
    later one fails and the job is retried, so nobody gets it twice.
    """
    from app.extensions import db
    from app.services import updates

    todo = updates.pending(event_id)
    db.session.commit()
    failed = 0
    for sub in todo:
        failed += not updates.send(sub, event_id)
        db.session.commit()
    if failed:
        raise RuntimeError(f"{failed} of {len(todo)} updates about event {event_id} not sent; will retry")
    return {"event": event_id, "sent": len(todo)}


# A mail server or SMS gateway that is down for a while: tried again after 30 s, 2 min, 10 min, 30 min, 1 h.
UPDATE_RETRY_INTERVALS = [30, 120, 600, 1800, 3600]


def kick_updates(event_id: int) -> bool:
    """Enqueue the updates about a committed change (never fails the caller; logged when Redis is down)."""
    from rq import Retry

    try:
        enqueue(deliver_updates, event_id, queue="default", timeout=120,
                retry=Retry(max=len(UPDATE_RETRY_INTERVALS), interval=UPDATE_RETRY_INTERVALS))
        return True
    except Exception as exc:  # noqa: BLE001 - the change is committed; an update is not worth failing it
        log.warning("could not enqueue updates for event %s (%s)", event_id, exc)
        return False


@job
def sweep() -> dict:
    """Re-enqueue what should have run but did not (e.g. Redis was down when a case was filed)."""
    work = dispatching.pending_work()
    if work["filed"]:
        enqueue(auto_dispatch, queue="dispatch", timeout=120)
    if work["unlearned"]:
        enqueue(learn_outcomes, queue="default", timeout=300)
    waiting = media.waiting_for_public_copy()
    for media_id in waiting:
        enqueue(make_public_copy, media_id, queue="media", timeout=PUBLIC_COPY_TIMEOUT)
    return {**work, "public_copies": len(waiting)}


PUBLIC_COPY_TIMEOUT = 120
TIMEOUTS = {"media": PUBLIC_COPY_TIMEOUT}


def kick(func, *args, queue: str = "dispatch") -> bool:
    """Enqueue a follow-up job right away; if Redis is unreachable the sweeper catches up later."""
    try:
        enqueue(func, *args, queue=queue, timeout=TIMEOUTS.get(queue, 120))
        return True
    except Exception as exc:  # noqa: BLE001 - any queue failure must not fail the user's request
        log.warning("could not enqueue %s (%s); the sweeper will pick it up", func.__name__, exc)
        return False
