"""Departments, users with roles, their skills and grids, and API tokens for devices and cameras."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_login import UserMixin
from geoalchemy2 import Geometry
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models.types import enum_column, utcnow


class Role(enum.StrEnum):
    """What a user may do; checked on every view and again in the services."""

    CITIZEN = "citizen"
    WORKER = "worker"  # grid worker / inspector (网格员)
    HANDLER = "handler"  # department handler (处置部门)
    DISPATCHER = "dispatcher"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    SYSTEM = "system"  # cameras, simulators and integrations authenticating with tokens


STAFF_ROLES = frozenset({Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN})


class Department(db.Model):
    """A responsible department (城管, 环卫, 市政, 园林 …) identified by its type."""

    __tablename__ = "departments"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    type: Mapped[str] = mapped_column(sa.String(32), index=True)


user_skills = sa.Table(
    "user_skills",
    db.metadata,
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("category_code", sa.ForeignKey("categories.code", ondelete="CASCADE"), primary_key=True),
)

grid_owners = sa.Table(
    "grid_owners",
    db.metadata,
    sa.Column("grid_id", sa.ForeignKey("grids.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class User(UserMixin, db.Model):
    """Anyone who signs in: citizens, field workers, handlers, dispatchers, supervisors, admins."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    display_name: Mapped[str] = mapped_column(sa.String(120), default="")
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    role: Mapped[Role] = mapped_column(enum_column(Role), index=True)
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(sa.String(8))
    on_duty: Mapped[bool] = mapped_column(default=False)
    duty_until: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))  # the shift's end, when known
    capacity: Mapped[int] = mapped_column(sa.SmallInteger, default=5)  # open tasks at once
    last_position = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    department: Mapped[Department | None] = relationship()
    skills = relationship("Category", secondary=user_skills, lazy="selectin")
    grids = relationship("Grid", secondary=grid_owners, lazy="selectin", backref="owners")

    # The sign-in this request was made under (see UserSession); part of get_id() so that Flask-Login's
    # session and remember cookies name one revocable sign-in rather than the account forever.
    login_token = None  # not a column: set per request from the sign-in (str | None)

    def get_id(self) -> str:
        """Flask-Login: "<user id>:<sign-in token>"; a cookie without a live sign-in no longer loads the user."""
        return f"{self.id}:{self.login_token}"

    def set_password(self, password: str) -> None:
        """Store a salted hash of `password` (scrypt unless PASSWORD_HASH_METHOD says otherwise)."""
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        """True if `password` matches the stored hash."""
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:
        """Flask-Login: deactivated accounts cannot sign in."""
        return self.active

    def has_role(self, *roles: Role) -> bool:
        """True if the user's role is one of `roles`."""
        return self.role in roles


class UserSession(db.Model):
    """One sign-in (a browser, a phone): revoked at logout, so its cookies stop working everywhere at once."""

    __tablename__ = "user_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)  # sha256 of the token in the cookie
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    user_agent: Mapped[str] = mapped_column(sa.String(200), default="")
    user: Mapped[User] = relationship()


class ApiToken(db.Model):
    """A bearer token for a device or camera; only its sha256 is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    camera_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cameras.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(80))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    user: Mapped[User] = relationship()


class CivicPoints(db.Model):
    """One award of civic points (文明积分) to a citizen; the balance is the sum. One award per case and reason."""

    __tablename__ = "civic_points"
    __table_args__ = (sa.UniqueConstraint("user_id", "case_id", "reason", name="uq_civic_points_award"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id", ondelete="SET NULL"))
    points: Mapped[int] = mapped_column(sa.SmallInteger)
    reason: Mapped[str] = mapped_column(sa.String(32))
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
