"""GET /healthz against the real services, and with Redis or the database unreachable."""

from app import create_app
from app.config import TestConfig
from app.jobs import tasks


def test_healthy(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.json
    assert body["status"] == "ok" and body["database"] == "ok" and body["redis"] == "ok"
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
