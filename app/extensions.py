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


def request_cache() -> dict:
    """Per-request scratch space."""
    if not hasattr(g, "_cache"):
        g._cache = {}
    return g._cache
