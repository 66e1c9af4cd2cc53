"""GET /healthz: database, PostGIS, Redis, queue depths and the last audit verdict (503 when down)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from flask import Blueprint, current_app, jsonify
from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.cron import CronScheduler
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db, get_redis
from app.jobs import LIVE_WITHIN_S

bp = Blueprint("health", __name__)


def _live(heartbeat: datetime | None, now: datetime) -> bool:
    if heartbeat is None:
        return False
    heartbeat = heartbeat if heartbeat.tzinfo else heartbeat.replace(tzinfo=timezone.utc)
    return now - heartbeat < timedelta(seconds=LIVE_WITHIN_S)


def _background(r) -> tuple[dict, list[str]]:
    """Workers and the scheduler as their heartbeats show them, and what is missing."""
    now = datetime.now(timezone.utc)
    queues = current_app.config["RQ_QUEUES"]
    workers = Worker.all(connection=r)
    live = [w for w in workers if _live(w.last_heartbeat, now)]
    per_queue = {q: sum(q in w.queue_names() for w in live) for q in queues}
    schedulers = [s for s in CronScheduler.all(r) if _live(s.last_heartbeat, now)]
    problems = [f"no live worker for queue {q}" for q, n in per_queue.items() if not n]
    if not schedulers:
        problems.append("no live scheduler (periodic jobs: sweeper, deadlines, offers, checks)")
    body = {"workers": {"live": len(live), "registered": len(workers), "per_queue": per_queue},
            "scheduler": "ok" if schedulers else "missing"}
    return body, problems


@bp.get("/healthz")
def healthz():
    """Health of each dependency: 503 when the database or Redis is down, "degraded" when work is not done."""
    body, ok, problems = {}, True, []
    try:
        body["postgis"] = db.session.execute(text("SELECT postgis_lib_version()")).scalar()
        body["database"] = "ok"
    except SQLAlchemyError as exc:
        db.session.rollback()
        ok = False
        body["database"] = f"error: {exc.__class__.__name__}"
    try:
        r = get_redis()
        r.ping()
        body["redis"] = "ok"
        body["queues"] = {}
        for name in current_app.config["RQ_QUEUES"]:
            q = Queue(name, connection=r)
            body["queues"][name] = {"queued": q.count, "failed": q.failed_job_registry.count}
        background, problems = _background(r)
        body.update(background)
        raw = r.get("urbanops:audit:last_verify")
        body["audit"] = json.loads(raw) if raw else None
    except RedisError as exc:
        ok = False
        body["redis"] = f"error: {exc.__class__.__name__}"
    # Degraded is still 200: the web keeps taking reports (a balancer must not remove it); monitoring alerts.
    body["status"] = "unavailable" if not ok else ("degraded" if problems else "ok")
    body["problems"] = problems
    return jsonify(body), 200 if ok else 503
