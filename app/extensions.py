"""Extension objects created at import and bound to the app in `create_app`."""

from __future__ import annotations

import redis
from flask import current_app, g
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData

# Stable constraint names so Alembic can drop what it created.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address)


def get_redis() -> redis.Redis:
    """The app's Redis client (one connection pool per process)."""
    client = current_app.extensions.get("redis_client")
    if client is None:
        client = redis.Redis.from_url(current_app.config["REDIS_URL"], socket_timeout=5)
        current_app.extensions["redis_client"] = client
    return client


OWNER_KEY = "urbanops:owner"  # which database's platform this Redis database serves


class RedisTaken(RuntimeError):
    """REDIS_URL names a Redis database that another platform (another PostgreSQL database) already uses."""


def claim_redis() -> str:
    """Mark REDIS_URL's database as this platform's, or refuse one that serves another database; returns the owner.

    Queues, the live stream and camera health live in Redis: two platforms on one Redis database would run each
    other's jobs and show each other's events. Servers and workers call this before they start.
    """
    from sqlalchemy.engine import make_url

    db_url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    me = f"{db_url.host or 'localhost'}:{db_url.port or 5432}/{db_url.database}"
    client = get_redis()
    client.set(OWNER_KEY, me, nx=True)
    owner = (client.get(OWNER_KEY) or b"").decode()
    if owner != me:
        raise RedisTaken(
            f"REDIS_URL {current_app.config['REDIS_URL']} already serves the platform on database {owner}; "
            f"give this one ({me}) a Redis database of its own, e.g. REDIS_URL=redis://127.0.0.1:6379/1 "
            f"(or, if {owner} is gone for good: redis-cli -u {current_app.config['REDIS_URL']} del {OWNER_KEY})")
    return owner


def request_cache() -> dict:
    """Per-request scratch space."""
    if not hasattr(g, "_cache"):
        g._cache = {}
    return g._cache
