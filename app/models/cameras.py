"""Cameras with ground calibration (pixel ↔ lon/lat control points) and their pixel-space zones."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import utcnow


class Camera(db.Model):
    """A fixed camera; `calibration` is a list of {"px": [x, y], "lonlat": [lon, lat]} points."""

    __tablename__ = "cameras"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    position = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=False)
    heading_deg: Mapped[float | None] = mapped_column(sa.Float)
    stream_url: Mapped[str] = mapped_column(sa.String(500), default="")
    # The stream detection reads when the camera offers a sub-stream (decoding it costs a fraction of the main
    # stream's); empty: detection reads stream_url.
    detect_url: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    enabled: Mapped[bool] = mapped_column(default=True)
    fps: Mapped[float] = mapped_column(sa.Float, default=1.0)
    frame_width: Mapped[int | None] = mapped_column()
    frame_height: Mapped[int | None] = mapped_column()
    calibration: Mapped[list] = mapped_column(JSONB, default=list)
    calibration_rms_m: Mapped[float | None] = mapped_column(sa.Float)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    # Which vision node runs the camera, until when (renewed by its heartbeats), and the lease's version: a node
    # writes findings only under the version it was given, so a node that lost the camera cannot write twice.
    node: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    lease_version: Mapped[int] = mapped_column(default=0, server_default="0")
    zones: Mapped[list[CameraZone]] = relationship(
        back_populates="camera", cascade="all, delete-orphan", order_by="CameraZone.id"
    )


class CameraZone(db.Model):
    """A polygon in the camera's pixel space where some categories are watched (or a no-parking zone)."""

    __tablename__ = "camera_zones"
    id: Mapped[int] = mapped_column(primary_key=True)
    camera_id: Mapped[int] = mapped_column(sa.ForeignKey("cameras.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    kind: Mapped[str] = mapped_column(sa.String(24), default="watch")  # watch | ignore | no_parking
    pixel_polygon: Mapped[list] = mapped_column(JSONB)
    category_codes: Mapped[list[str]] = mapped_column(ARRAY(sa.String(48)), default=list)
    params: Mapped[dict] = mapped_column(JSONB, default=dict)
    camera: Mapped[Camera] = relationship(back_populates="zones")


class VisionNode(db.Model):
    """A machine running cameras (`flask vision run --node NAME`): alive while its heartbeat is fresh."""

    __tablename__ = "vision_nodes"
    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    capacity: Mapped[int] = mapped_column()
    started_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
