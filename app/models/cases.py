"""Cases (work orders), their hash-chained event log and its anchors, evidence media and the daily number counter."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import enum_column, utcnow
from dispatch.lifecycle import Action, CaseStatus


class Source(enum.StrEnum):
    """Where a case came from."""

    CAMERA = "camera"
    CITIZEN = "citizen"
    INSPECTOR = "inspector"
    HOTLINE = "hotline"
    API = "api"


class MediaKind(enum.StrEnum):
    """What a photo shows."""

    EVIDENCE = "evidence"  # the problem as reported
    BEFORE = "before"  # on arrival
    AFTER = "after"  # after handling (required for feedback)
    CHECK = "check"  # taken by the checker


class CaseCounter(db.Model):
    """Last sequence number used per local day, for human-readable case numbers."""

    __tablename__ = "case_counters"
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    last: Mapped[int] = mapped_column(default=0)


class Case(db.Model):
    """A work order; changed only through the case service, which writes one event per change."""

    __tablename__ = "cases"
    __table_args__ = (
        sa.Index("ix_cases_status_category", "status", "category_code"),
        sa.Index("ix_cases_reported_at", "reported_at"),
        sa.CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating_range"),
        sa.CheckConstraint("priority BETWEEN 1 AND 4", name="priority_range"),
        # An idempotency key means something only for the reporter who chose it (account, device, API token
        # or Open311 key): another reporter reusing it gets a case of their own, never this one.
        sa.UniqueConstraint("request_scope", "client_request_id", name="uq_cases_request_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    source: Mapped[Source] = mapped_column(enum_column(Source))
    category_code: Mapped[str] = mapped_column(sa.ForeignKey("categories.code", ondelete="RESTRICT"), index=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    location = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=False)
    # Copies of the point's coordinates kept by PostgreSQL, for aggregating many cases cheaply (the map's cells).
    lon: Mapped[float] = mapped_column(sa.Float, sa.Computed("ST_X(location)", persisted=True))
    lat: Mapped[float] = mapped_column(sa.Float, sa.Computed("ST_Y(location)", persisted=True))
    address: Mapped[str] = mapped_column(sa.String(255), default="")
    grid_id: Mapped[int | None] = mapped_column(sa.ForeignKey("grids.id", ondelete="RESTRICT"), index=True)
    priority: Mapped[int] = mapped_column(sa.SmallInteger, default=3)
    status: Mapped[CaseStatus] = mapped_column(enum_column(CaseStatus), default=CaseStatus.REPORTED)
    suspended_from: Mapped[CaseStatus | None] = mapped_column(enum_column(CaseStatus))
    suspended_remaining_min: Mapped[float | None] = mapped_column(sa.Float)

    reported_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    verified_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    filed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    dispatched_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    dispatch_due_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    handle_due_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    check_due_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id", ondelete="SET NULL"))
    handler_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    checker_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))  # 核查 task
    reporter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    reporter_name: Mapped[str | None] = mapped_column(sa.String(80))
    reporter_contact: Mapped[str | None] = mapped_column(sa.String(80))  # private: never in public output
    camera_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cameras.id", ondelete="SET NULL"))
    client_request_id: Mapped[str | None] = mapped_column(sa.String(64))  # idempotency key, within request_scope
    request_scope: Mapped[str | None] = mapped_column(sa.String(80))  # e.g. user:12, device:…, open311:3
    tracking_token: Mapped[str | None] = mapped_column(sa.String(43), unique=True)  # the reporter's private link
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id", ondelete="SET NULL"))

    rework_count: Mapped[int] = mapped_column(default=0)
    delay_count: Mapped[int] = mapped_column(default=0)
    return_count: Mapped[int] = mapped_column(default=0)
    pending_delay_minutes: Mapped[int | None] = mapped_column()
    pending_delay_reason: Mapped[str | None] = mapped_column(sa.String(500))
    rating: Mapped[int | None] = mapped_column(sa.SmallInteger)
    rating_comment: Mapped[str | None] = mapped_column(sa.String(1000))
    rated_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    void_reason: Mapped[str | None] = mapped_column(sa.String(500))
    extra: Mapped[dict] = mapped_column(JSONB, default=dict)  # e.g. detector confidence, model version
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    category = relationship("Category", lazy="joined")
    grid = relationship("Grid")
    assignee = relationship("User", foreign_keys=[assignee_id])
    handler = relationship("User", foreign_keys=[handler_id])
    reporter = relationship("User", foreign_keys=[reporter_id])
    department = relationship("Department")
    merged_into = relationship("Case", remote_side="Case.id")
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="CaseEvent.id", cascade="all", passive_deletes=True
    )
    media: Mapped[list[Media]] = relationship(back_populates="case", order_by="Media.id")


class CaseEvent(db.Model):
    """One transition; `hash` = sha256(prev_hash + canonical row), chained over the events of its case."""

    __tablename__ = "case_events"
    # A case's chain in order: its timeline, its latest event (anchors) and the verification walk. An action sent
    # again by the app (offline replay) carries the key it was first sent with: applied once per actor.
    __table_args__ = (sa.Index("ix_case_events_case_id_id", "case_id", "id"),
                      sa.UniqueConstraint("actor_id", "client_action_id", name="uq_case_events_action_key"))
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="RESTRICT"))
    action: Mapped[Action] = mapped_column(enum_column(Action))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    actor_role: Mapped[str] = mapped_column(sa.String(24))
    from_status: Mapped[CaseStatus | None] = mapped_column(enum_column(CaseStatus))
    to_status: Mapped[CaseStatus] = mapped_column(enum_column(CaseStatus))
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    data: Mapped[dict] = mapped_column(JSONB, default=dict)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    client_action_id: Mapped[str | None] = mapped_column(sa.String(64))  # the app's idempotency key
    case: Mapped[Case] = relationship(back_populates="events")
    actor = relationship("User")
    media: Mapped[list[Media]] = relationship(back_populates="event", order_by="Media.id")


class AuditAnchor(db.Model):
    """The heads of the case chains that moved since the previous anchor; anchors are chained in turn."""

    __tablename__ = "audit_anchors"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    heads: Mapped[dict] = mapped_column(JSONB)  # {"<case id>": "<hash of its latest event>"}
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64), unique=True)


class Media(db.Model):
    """A stored photo: content-addressed under MEDIA_ROOT by sha256."""

    __tablename__ = "media"
    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    path: Mapped[str] = mapped_column(sa.String(255))  # relative to MEDIA_ROOT; the original, staff only
    # Re-encoded copy without EXIF, faces and plates blurred; looked up by path when served publicly.
    public_path: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    mime: Mapped[str] = mapped_column(sa.String(40))
    size: Mapped[int] = mapped_column()
    width: Mapped[int] = mapped_column()
    height: Mapped[int] = mapped_column()
    # 64-bit perceptual hash (signed, as PostgreSQL stores it) for the duplicate score; None for older photos.
    phash: Mapped[int | None] = mapped_column(sa.BigInteger)
    kind: Mapped[MediaKind] = mapped_column(enum_column(MediaKind))
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int | None] = mapped_column(sa.ForeignKey("case_events.id", ondelete="SET NULL"))
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    case: Mapped[Case | None] = relationship(back_populates="media")
    event: Mapped[CaseEvent | None] = relationship(back_populates="media")
