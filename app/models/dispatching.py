"""What the closed loop learns and says: worker × category statistics, notifications, job watermarks."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import utcnow


class WorkerStat(db.Model):
    """Learned figures of one worker on one category (category "*" holds the worker's pooled figures)."""

    __tablename__ = "worker_stats"
    worker_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    category_code: Mapped[str] = mapped_column(sa.String(48), primary_key=True)
    n: Mapped[int] = mapped_column(default=0)
    handle_min: Mapped[float] = mapped_column(sa.Float)
    first_fix_rate: Mapped[float] = mapped_column(sa.Float)
    satisfaction: Mapped[float] = mapped_column(sa.Float)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class NotificationKind(enum.StrEnum):
    """What a notification tells its reader."""

    TASK = "task"  # a case was dispatched to you
    WARNING = "warning"  # your task's handling deadline is near
    OVERDUE = "overdue"  # a case went past a deadline (dispatchers, supervisors)
    CHECK = "check"  # a resolved case's check (核查) is yours
    OFFER_EXPIRED = "offer_expired"  # an offer was not accepted in time and moved on (or is stuck)


class Notification(db.Model):
    """A message to one user: a new task, a deadline warning, an escalation, a check to do."""

    __tablename__ = "notifications"
    __table_args__ = (sa.Index("ix_notifications_user_unread", "user_id", "read_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(24))  # a NotificationKind value
    data: Mapped[dict] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class SystemState(db.Model):
    """Small durable key/value state of background jobs (e.g. the last event learned from)."""

    __tablename__ = "system_state"
    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[dict] = mapped_column(JSONB, default=dict)
