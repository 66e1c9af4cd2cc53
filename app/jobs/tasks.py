"""Job functions (enqueued by the app or declared in `periodic_jobs`)."""

from __future__ import annotations

import json

from app.extensions import get_redis
from app.jobs import job
from app.models.types import utcnow
from app.services.audit import verify_chain

AUDIT_KEY = "urbanops:audit:last_verify"


@job
def verify_audit_chain() -> dict:
    """Walk the event chain and keep the verdict in Redis for /healthz and the console."""
    report = verify_chain()
    result = {
        "ok": report.ok, "checked": report.checked, "broken_at": report.broken_at,
        "reason": report.reason, "at": utcnow().isoformat(),
    }
    get_redis().set(AUDIT_KEY, json.dumps(result))
    return result
