"""Sign-in for the web (sessions) and for devices and cameras (bearer tokens); role checks for views."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, g, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.errors import Forbidden, ServiceUnavailable, Unauthorized
from app.extensions import db, limiter, login_manager
from app.models import Role, User

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def _load_user(cookie_id: str) -> User | None:
    from app.services.users import session_user

    return session_user(cookie_id)  # a revoked or expired sign-in loads nobody, whatever the cookie says


@login_manager.request_loader
def _load_from_token(req) -> User | None:
    header = req.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    from app.services.users import token_row

    row = token_row(header[7:].strip())
    if row is None:
        return None
    g.api_token_id = row.id
    if db.session.dirty:  # last use is recorded (coarsely) even on read-only requests
        db.session.commit()
    return row.user


def token_authenticated() -> bool:
    """True when the current request was authenticated with a bearer token (no CSRF needed)."""
    return g.get("api_token_id") is not None


def request_scope() -> str | None:
    """Whose idempotency keys a report carries: shared system accounts are told apart by their API token.

    None lets the case service scope keys to the signed-in account.
    """
    if current_user.is_authenticated and current_user.role is Role.SYSTEM and token_authenticated():
        return f"token:{g.api_token_id}"
    return None


def require_rate_limits() -> None:
    """Fail closed: refuse (503) while the shared rate-limit store is unreachable.

    Flask-Limiter falls back to per-process counters when Redis is down, which multiplies a limit by the
    number of web processes; for password guessing that is not acceptable, so sign-in waits for Redis.
    """
    try:
        alive = limiter.storage.check()
    except Exception:  # noqa: BLE001 - any storage failure means the limits cannot be enforced
        alive = False
    if not alive:
        raise ServiceUnavailable(_l("Sign-in is briefly unavailable; please try again in a minute."))


def home_endpoint(user) -> str:
    """Where a signed-in person starts: citizens their reports, field workers the app, staff the console."""
    if user.role is Role.CITIZEN:
        return "citizen.my_reports"
    if user.role in (Role.WORKER, Role.HANDLER):
        return "field.app_shell"
    return "web.console"


def roles_required(*roles: Role):
    """View decorator: 401 without a signed-in user, 403 when the role is not one of `roles`."""

    def deco(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                if request.path.startswith("/api/"):
                    raise Unauthorized()
                return login_manager.unauthorized()
            if roles and current_user.role not in roles:
                raise Forbidden(details={"reason": "role"})
            return view(*args, **kwargs)

        return wrapped

    return deco


from app.auth import views  # noqa: E402,F401  (routes register on bp)
