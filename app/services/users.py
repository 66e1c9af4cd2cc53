"""Accounts, passwords and bearer tokens for devices and cameras."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select
from sqlalchemy import update as sa_update
from sqlalchemy.orm import joinedload, lazyload

from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.inputs import CONTROL
from app.models import ApiToken, Camera, Department, Role, User, UserSession
from app.models.types import utcnow
from app.services.grids import parse_lonlat, point_value

TOKEN_PREFIX = "uo_"
TOKEN_USE_RESOLUTION = timedelta(minutes=5)
_USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{3,64}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 256  # hashing a megabyte "password" costs the server, not the guesser


def create_user(
    username: str,
    role: Role | str,
    *,
    password: str | None = None,
    display_name: str = "",
    phone: str | None = None,
    department: Department | None = None,
) -> User:
    """Create an account; passwords are stored as salted hashes."""
    if not username or not _USERNAME.match(username):
        raise ValidationError(_l("Usernames are 3–64 letters, digits, '.', '_' or '-'."))
    try:
        role = Role(role)
    except ValueError:
        raise ValidationError(_l("Unknown role: %(role)s"), role=str(role)) from None
    if db.session.scalars(select(User).where(User.username == username)).first():
        raise Conflict(_l("The username %(name)s is taken."), name=username)
    user = User(username=username, role=role, display_name=display_name or username, phone=phone,
                department=department)
    if password is not None:
        if len(password) < MIN_PASSWORD:
            raise ValidationError(_l("Passwords need at least %(n)d characters."), n=MIN_PASSWORD)
        if len(password) > MAX_PASSWORD:
            raise ValidationError(_l("Passwords may be at most %(n)d characters."), n=MAX_PASSWORD)
        user.set_password(password)
    db.session.add(user)
    return user


_MOBILE = re.compile(r"^1[3-9]\d{9}$")  # mainland China mobile numbers: the citizen's username


def register_citizen(phone: str, password: str, display_name: str = "", *, confirm: str | None = None) -> User:
    """A citizen account signed in with the mobile number (never shown publicly)."""
    phone = re.sub(r"[\s-]", "", phone or "")
    if not _MOBILE.match(phone):
        raise ValidationError(_l("Please enter an 11-digit mobile number."))
    if confirm is not None and confirm != password:
        raise ValidationError(_l("The two passwords differ."))
    if len(display_name or "") > 40:
        raise ValidationError(_l("The nickname may be at most %(n)d characters."), n=40)
    if db.session.scalars(select(User).where(User.username == phone)).first():
        raise Conflict(_l("This mobile number already has an account; please sign in."))
    return create_user(phone, Role.CITIZEN, password=password, phone=phone,
                       display_name=(display_name or "").strip() or phone[:3] + "****" + phone[-4:])


def authenticate(username: str, password: str) -> User | None:
    """The active user with these credentials, or None (same answer for unknown user and bad password)."""
    user = db.session.scalars(select(User).where(User.username == (username or ""))).first()
    if user is None or not user.active or not user.check_password(password or ""):
        return None
    return user


def get_user(username: str) -> User:
    """The user named `username`, or 404."""
    user = db.session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(_l("No user %(name)s."), name=username)
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(user: User, name: str, *, camera: Camera | None = None) -> str:
    """Create a bearer token for `user` (optionally bound to a camera); the plain token is shown once."""
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user=user, name=name[:80], token_hash=_digest(plain),
                            camera_id=camera.id if camera else None))
    return plain


_ON_DEMAND = (lazyload(User.skills), lazyload(User.grids))
# Every request signs in with one of these. They are built once: building and keying an ORM statement costs
# about as much CPU as running it (≈ 0.45 of 1 ms per lookup, measured side by side).
# One query: the user comes with the token or sign-in, and their skills and grids (selectin-loaded elsewhere,
# where whole rosters are routed) only if the request asks for them.
_TOKEN_ROW = (select(ApiToken).options(joinedload(ApiToken.user).options(*_ON_DEMAND))
              .where(ApiToken.token_hash == bindparam("digest"), ApiToken.revoked_at.is_(None)))
_SESSION_ROW = (select(UserSession).options(joinedload(UserSession.user).options(*_ON_DEMAND))
                .where(UserSession.token_hash == bindparam("digest"), UserSession.revoked_at.is_(None),
                       UserSession.expires_at > bindparam("now")))


def token_row(token: str) -> ApiToken | None:
    """The unrevoked token of an active user, or None; records last use."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 128:
        return None
    row = db.session.scalars(_TOKEN_ROW, {"digest": _digest(token)}).first()
    if row is None or not row.user.active:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > TOKEN_USE_RESOLUTION:
        row.last_used_at = now  # coarse on purpose: no write on every API call
    return row


def start_session(user: User, *, remember: bool, user_agent: str = "") -> User:
    """Record a new sign-in and put its token on `user` (Flask-Login stores it via get_id in the cookies)."""
    plain = secrets.token_urlsafe(32)
    lifetime = current_app.config["REMEMBER_COOKIE_DURATION" if remember else "SESSION_LIFETIME"]
    db.session.add(UserSession(user_id=user.id, token_hash=_digest(plain), expires_at=utcnow() + lifetime,
                               user_agent=CONTROL.sub("", user_agent or "")[:200]))
    user.login_token = plain
    return user


def session_user(cookie_id: str) -> User | None:
    """The active user of a live sign-in named by a cookie's "<user id>:<token>", or None."""
    user_id, _, plain = (cookie_id or "").partition(":")
    if not (user_id.isascii() and user_id.isdigit() and len(user_id) <= 10 and plain and len(plain) <= 64):
        return None
    row = db.session.scalars(_SESSION_ROW, {"digest": _digest(plain), "now": utcnow()}).first()
    if row is None or str(row.user_id) != user_id or not row.user.active:
        return None
    row.user.login_token = plain
    return row.user


def end_session(user: User) -> None:
    """Revoke the sign-in `user` is acting under (logout): its session and remember cookies stop working."""
    if user.login_token:
        db.session.execute(sa_update(UserSession).where(UserSession.token_hash == _digest(user.login_token))
                           .values(revoked_at=utcnow()))
    user.login_token = None


def revoke_token(token: str) -> None:
    """Revoke a token by its plain value."""
    row = db.session.scalars(select(ApiToken).where(ApiToken.token_hash == _digest(token))).first()
    if row is None:
        raise NotFound()
    row.revoked_at = utcnow()


def report_position(user: User, lon, lat, *, at=None) -> User:
    """Record a worker's last known position (from the mobile app or a simulator); on duty, the cell they are in
    counts as looked at (`app.services.patrol`)."""
    from app.services.patrol import record_look

    lon, lat = parse_lonlat(lon, lat)
    user.last_position = point_value(lon, lat)
    user.last_seen_at = at or utcnow()
    if user.on_duty:
        record_look(user, lon, lat, user.last_seen_at)
    return user


def set_on_duty(user: User, on_duty: bool, *, hours: float | None = None, at=None) -> User:
    """Start a worker's shift (of `hours`, default SHIFT_HOURS; 0 there: its end is not known) or end it."""
    if user.role not in (Role.WORKER, Role.HANDLER):
        raise ValidationError(_l("Only workers and handlers go on duty."))
    at = at or utcnow()
    hours = current_app.config["SHIFT_HOURS"] if hours is None else hours
    if on_duty and not (user.on_duty and user.duty_until and user.duty_until > at):  # a repeated "on" keeps the end
        user.duty_until = at + timedelta(hours=hours) if hours else None
    elif not on_duty:
        user.duty_until = None
    user.on_duty = bool(on_duty)
    return user


def workers_geojson() -> dict:
    """Workers and handlers with a known position, their duty and open tasks, as GeoJSON (built in SQL)."""
    from sqlalchemy import text

    rows = db.session.execute(text(
        """
        SELECT u.id, u.display_name, u.role, u.on_duty, u.capacity, u.last_seen_at,
               ST_AsGeoJSON(u.last_position, 6)::json AS geometry,
               (SELECT count(*) FROM cases c WHERE c.assignee_id = u.id
                  AND c.status IN ('dispatched', 'accepted', 'handling')) AS open_tasks
        FROM users u
        WHERE u.role IN ('worker', 'handler') AND u.active AND u.last_position IS NOT NULL
        ORDER BY u.id
        """
    )).mappings()
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": r["id"], "geometry": r["geometry"], "properties": {
            "name": r["display_name"], "role": r["role"], "on_duty": r["on_duty"], "capacity": r["capacity"],
            "open_tasks": r["open_tasks"], "last_seen_at": r["last_seen_at"].isoformat() if r["last_seen_at"] else None,
        }} for r in rows]}
