"""GET /healthz: database, PostGIS, Redis, queue depths and the last audit verdict (503 when down)."""

from __future__ import annotations

import json

from flask import Blueprint, current_app, jsonify
from redis.exceptions import RedisError
from rq import Queue, Worker
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db, get_redis

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Health of each dependency; 200 when all are up, 503 otherwise."""
    body, ok = {}, True
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
        body["workers"] = Worker.count(connection=r)
        raw = r.get("urbanops:audit:last_verify")
        body["audit"] = json.loads(raw) if raw else None
    except RedisError as exc:
        ok = False
        body["redis"] = f"error: {exc.__class__.__name__}"
    body["status"] = "ok" if ok else "unavailable"
    return jsonify(body), 200 if ok else 503
