"""GET /healthz against the real services, and with Redis or the database unreachable."""

from app import create_app
from app.config import TestConfig
from app.jobs import tasks


def _alive_worker(queues, beat_seconds_ago=0):
    """A real RQ worker registered in Redis, as `flask worker` does at start and on every heartbeat."""
    from datetime import datetime, timedelta, timezone

    from rq.utils import utcformat

    from app.extensions import get_redis
    from app.jobs import AppWorker, get_queue

    w = AppWorker([get_queue(q) for q in queues], connection=get_redis())
    w.register_birth()
    w.heartbeat()
    if beat_seconds_ago:  # what a SIGKILLed worker leaves: its key, with an old heartbeat
        old = datetime.now(timezone.utc) - timedelta(seconds=beat_seconds_ago)
        get_redis().hset(w.key, "last_heartbeat", utcformat(old))
    return w


def _alive_scheduler():
    from rq.cron import CronScheduler

    from app.extensions import get_redis

    sched = CronScheduler(connection=get_redis())
    sched.register_birth()
    sched.heartbeat()
    return sched


def test_no_worker_and_no_scheduler_is_degraded_not_ok(client):
    body = client.get("/healthz").json
    assert body["status"] == "degraded" and body["workers"]["live"] == 0 and body["scheduler"] == "missing"
    assert "no live worker for queue dispatch" in body["problems"]


def test_a_dead_workers_stale_heartbeat_is_not_counted(client):
    _alive_scheduler()
    _alive_worker(["dispatch", "default", "maintenance", "media"], beat_seconds_ago=300)
    body = client.get("/healthz").json
    assert body["workers"] == {"live": 0, "registered": 1, "per_queue": {
        "dispatch": 0, "default": 0, "maintenance": 0, "media": 0}}
    assert body["status"] == "degraded"
    _alive_worker(["dispatch", "default", "maintenance"])
    body = client.get("/healthz").json
    assert body["workers"]["live"] == 1 and body["problems"] == ["no live worker for queue media"]


def test_healthy(client):
    _alive_scheduler()
    _alive_worker(["dispatch", "default", "maintenance", "media"])
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.json
    assert body["status"] == "ok" and body["database"] == "ok" and body["redis"] == "ok" and not body["problems"]
    assert body["postgis"].startswith("3.")
    assert set(body["queues"]) == {"dispatch", "default", "maintenance", "media"}
    assert body["queues"]["default"] == {"queued": 0, "failed": 0}


def test_queue_depth_and_audit_verdict_are_reported(app, client):
    from app.jobs import enqueue

    enqueue(tasks.verify_audit_chain, queue="maintenance")
    tasks.verify_audit_chain()
    body = client.get("/healthz").json
    assert body["queues"]["maintenance"]["queued"] == 1
    assert body["audit"]["ok"] is True


class _NoRedis(TestConfig):
    REDIS_URL = "redis://127.0.0.1:1/0"
    RATELIMIT_STORAGE_URI = "memory://"


class _NoDatabase(TestConfig):
    SQLALCHEMY_DATABASE_URI = "postgresql+psycopg://nobody@127.0.0.1:1/none"


def test_redis_down_is_503():
    r = create_app(_NoRedis).test_client().get("/healthz")
    assert r.status_code == 503
    assert r.json["redis"].startswith("error") and r.json["database"] == "ok"


def test_database_down_is_503():
    r = create_app(_NoDatabase).test_client().get("/healthz")
    assert r.status_code == 503 and r.json["database"].startswith("error")
