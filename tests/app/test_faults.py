"""Real faults, no mocks: a database or Redis that does not answer (nothing listens on port 1)."""

import io

from app.extensions import db
from app.models import Case
from tests.factories import INSIDE_WEST, jpeg, token_for

DEAD_DB = "postgresql+psycopg://urbanops:urbanops@127.0.0.1:1/urbanops_test"
DEAD_REDIS = "redis://127.0.0.1:1/0"


def test_database_down_is_503_with_retry_after(app_with, town):
    token = token_for(town.dispatcher)
    down = app_with(SQLALCHEMY_DATABASE_URI=DEAD_DB).test_client()
    api = down.get("/api/v1/cases", headers=token)
    assert api.status_code == 503 and api.headers["Retry-After"] == "30"
    assert api.json["error"]["code"] == "unavailable" and "稍后" in api.json["error"]["message"]
    page = down.get("/report", headers={"Accept-Language": "en"})
    assert page.status_code == 503 and "try again in a minute" in page.text and "<html" in page.text
    health = down.get("/healthz")
    assert health.status_code == 503 and health.json["database"].startswith("error")


def test_reports_are_stored_while_redis_is_down(app_with, town):
    token = token_for(town.citizen)
    down = app_with(REDIS_URL=DEAD_REDIS, RATELIMIT_STORAGE_URI=DEAD_REDIS)
    c = down.test_client()
    body = {"category": "exposed_garbage", "lon": INSIDE_WEST[0], "lat": INSIDE_WEST[1], "description": "垃圾"}
    assert c.post("/api/v1/cases", json=body, headers=token).status_code == 201
    form = {"category": "exposed_garbage", "lon": "120.005", "lat": "30.005", "photos": (io.BytesIO(jpeg()), "p.jpg")}
    r = c.post("/report", data=form, content_type="multipart/form-data")
    assert r.status_code == 303 and "/track/" in r.headers["Location"]
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count()).select_from(Case)) == 2
