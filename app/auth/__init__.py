"""Sign-in for the web (sessions) and for devices and cameras (bearer tokens); role checks for views."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, g, request
from flask_login import current_user

from app.errors import Forbidden, Unauthorized
from app.extensions import db, login_manager
from app.models import Role, User

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    return user if user is not None and user.active else None


@login_manager.request_loader
def _load_from_token(req) -> User | None:
    header = req.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    from app.services.users import user_for_token

    user = user_for_token(header[7:].strip())
    if user is not None:
        g.token_auth = True
        if db.session.dirty:  # last use is recorded (coarsely) even on read-only requests
            db.session.commit()
    return user


def token_authenticated() -> bool:
    """True when the current request was authenticated with a bearer token (no CSRF needed)."""
    return bool(g.get("token_auth"))


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
                raise Forbidden()
            return view(*args, **kwargs)

        return wrapped

    return deco


from app.auth import views  # noqa: E402,F401  (routes register on bp)
