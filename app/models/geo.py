"""Administrative hierarchy (district → street → community) and unit grids (单元网格)."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import enum_column, utcnow


class RegionLevel(enum.StrEnum):
    """Level of an administrative region."""

    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"


class Region(db.Model):
    """A district, street (街道) or community (社区); grids hang under communities."""

    __tablename__ = "regions"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(15), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    level: Mapped[RegionLevel] = mapped_column(enum_column(RegionLevel))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("regions.id", ondelete="RESTRICT"), index=True)
    parent: Mapped[Region | None] = relationship(remote_side="Region.id")


class Grid(db.Model):
    """A unit grid: the smallest area of ownership, with a stable code (6+3+3+3 digits by default)."""

    __tablename__ = "grids"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    community_id: Mapped[int | None] = mapped_column(sa.ForeignKey("regions.id", ondelete="RESTRICT"), index=True)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=False)
    properties: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    community: Mapped[Region | None] = relationship()
