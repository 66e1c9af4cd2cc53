"""Fixtures: a real PostGIS database built by the real migrations once per session, clean per test.

Tests run against PostgreSQL + PostGIS and Redis (db index 15); nothing is mocked. After each test
every table except the reference categories is truncated and the Redis test db is flushed.
"""

from __future__ import annotations

import contextvars
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url

from app import create_app
from app.config import TestConfig
from app.extensions import db, get_redis
from vision.synth import make_dataset
from vision.train import SYNTHETIC, train

os.environ["YOLO_OFFLINE"] = "1"  # never reach for the hub
ROOT = Path(__file__).resolve().parent.parent
KEEP = {"alembic_version", "spatial_ref_sys", "categories", "category_classes"}


def _recreate_database(url: str) -> None:
    u = make_url(url)
    admin = sa.create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{u.database}"'))
    admin.dispose()


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    """The app on a freshly migrated test database."""
    mo = ROOT / "app/translations/zh/LC_MESSAGES/messages.mo"
    po = mo.with_suffix(".po")
    if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
        subprocess.run([sys.executable, "-m", "babel.messages.frontend", "compile", "-f", "-d",
                        str(ROOT / "app/translations")], check=True)
    _recreate_database(TestConfig.SQLALCHEMY_DATABASE_URI)
    application = create_app(TestConfig)
    application.config["MEDIA_ROOT"] = str(tmp_path_factory.mktemp("media"))
    with application.app_context():
        from flask_migrate import upgrade

        upgrade()
        from app.services.catalog import load_categories

        load_categories()
        db.session.commit()
        db.session.remove()
    return application


@pytest.fixture(autouse=True)
def _ctx(request):
    """Every test that uses the app runs in an app context and leaves the database clean."""
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        yield
        db.session.remove()
        tables = [t for t in db.metadata.sorted_tables if t.name not in KEEP]
        for attempt in range(5):
            try:
                with db.engine.begin() as conn:
                    conn.execute(sa.text(f"TRUNCATE {', '.join(t.name for t in tables)} RESTART IDENTITY CASCADE"))
                    conn.execute(sa.text("UPDATE categories SET active = true"))
                break
            except sa.exc.OperationalError:  # a browser test's last request may still be finishing on the server
                if attempt == 4:
                    raise
                time.sleep(0.3)
        get_redis().flushdb()


@pytest.fixture
def town(app):
    """The two test grids and one person of each role (factories.Cast), committed."""
    from tests.factories import Cast, make_grids

    make_grids()
    cast = Cast()
    db.session.commit()
    return cast


class IsolatedClient(FlaskClient):
    """Runs every request in an empty context, so it gets its own app context (and `g`) as in production.

    Without this, requests would share the test's app context: Flask-Login's cached user, the locale
    and the database session would leak from one request to the next.
    """

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


# --- a tiny YOLO trained once per session on generated shapes (real training, loading and inference) ---
TINY = os.path.join(os.path.dirname(__file__), "..", "vision", "models", "yolo11t.yaml")


@pytest.fixture(scope="session")
def synthetic_data(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("synth"), train=256, val=16, size=160)


@pytest.fixture(scope="session")
def tiny_weights(synthetic_data, tmp_path_factory):
    return train(synthetic_data, model=os.path.abspath(TINY), epochs=10, imgsz=160, batch=8,
                 project=tmp_path_factory.mktemp("runs"), name="tiny", verbose=False, **SYNTHETIC)


def run_jobs(*queues: str) -> int:
    """Work off what is queued on the test Redis, in this process (RQ's SimpleWorker, burst); returns how many.

    Jobs run in an app context (and database session) of their own, as in a worker; the test's session is
    expired afterwards so that it sees what they wrote.
    """
    from flask import current_app
    from rq import SimpleWorker
    from rq.job import Job, JobStatus

    from app.jobs import get_queue

    ids = [job_id for q in queues for job_id in get_queue(q).job_ids]
    with current_app.app_context():
        SimpleWorker([get_queue(q) for q in queues], connection=get_redis()).work(burst=True, with_scheduler=False)
    db.session.expire_all()
    failed = [get_queue(q).failed_job_registry for q in queues]
    assert not any(registry.count for registry in failed), [r.get_job_ids() for r in failed]
    return sum(Job.fetch(i, connection=get_redis()).get_status() is JobStatus.FINISHED for i in ids)


@pytest.fixture
def app_with(app):
    """Build another app on the test database with some settings changed (a dead Redis, secure cookies …).

    Flask-Limiter is one module-level object that `init_app` re-points at the new app's storage; it is put
    back afterwards so that later tests count against the test Redis again.
    """
    from app.extensions import limiter

    saved = dict(limiter.__dict__)

    def build(**overrides):
        other = create_app(type("Changed", (TestConfig,), overrides))
        other.config["MEDIA_ROOT"] = app.config["MEDIA_ROOT"]
        other.test_client_class = IsolatedClient
        return other

    yield build
    limiter.__dict__.clear()
    limiter.__dict__.update(saved)


@pytest.fixture
def client(app):
    """A test client whose requests are isolated from each other and from the test's session."""
    app.test_client_class = IsolatedClient
    return app.test_client()


# --- a real browser (Debian's Chromium driven by Playwright) against the app served on a free port ---
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@pytest.fixture
def live_server(app):
    """The app on 127.0.0.1:<free port> in a thread (requests get their own app context, as in production)."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


# Browser tests leave screenshots here for people to look at (SCREENSHOT_DIR, default a temp folder).
SHOTS = Path(os.environ.get("SCREENSHOT_DIR") or Path(tempfile.gettempdir()) / "urbanops-screenshots")


@pytest.fixture(scope="session")
def browser():
    """One Chromium for the session (no browser download: the system's package)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run .ci/setup-system (Debian package `chromium`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _local_page(browser, live_server, **options):
    """A page in Chinese that never leaves 127.0.0.1: map tiles and anything else are refused at once."""
    context = browser.new_context(base_url=live_server, locale="zh-CN", **options)
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(live_server)
                  else route.abort())
    context.set_default_timeout(15_000)
    return context.new_page()


def sign_in_page(page, user, lands_on: str) -> None:
    """Sign `user` in through the login form in the browser and wait for the page their role lands on."""
    from tests.factories import PASSWORD

    page.goto("/login")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{lands_on}")


@pytest.fixture
def real_csrf(app, monkeypatch):
    """Pages in a browser go through the real CSRF checks (TestConfig turns them off for the API tests)."""
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)


@pytest.fixture
def phone(browser, live_server, real_csrf):
    """A phone-sized page, located in the test district."""
    page = _local_page(browser, live_server, viewport={"width": 390, "height": 844}, device_scale_factor=2,
                       is_mobile=True, has_touch=True, geolocation={"latitude": 30.005, "longitude": 120.005},
                       permissions=["geolocation"])
    yield page
    page.context.close()


@pytest.fixture
def desk(browser, live_server, real_csrf):
    """A 1440×900 desktop page: the console's screen."""
    page = _local_page(browser, live_server, viewport={"width": 1440, "height": 900})
    yield page
    page.context.close()
