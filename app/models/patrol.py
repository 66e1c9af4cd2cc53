"""Proactive discovery: where inspectors have been (per forecast cell and day) and the patrol rounds planned for
them (`app.services.patrol`)."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import enum_column, utcnow


class RoundStatus(enum.StrEnum):
    """Where a patrol round stands."""

    ACTIVE = "active"
    FINISHED = "finished"  # every cell looked at
    REPLACED = "replaced"  # a new round was asked for, or the inspector was sent to a case
    STOPPED = "stopped"  # the inspector ended it, or went off duty


class CellLook(db.Model):
    """An inspector's presence in a forecast cell (H3) on a local day, from the positions the field app reports:
    what "someone looked there" means for the patrol plans and for the grids' patrol coverage."""

    __tablename__ = "cell_looks"
    cell: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    grid_id: Mapped[int | None] = mapped_column(sa.ForeignKey("grids.id", ondelete="SET NULL"), index=True)
    first_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    last_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), index=True)
    looks: Mapped[int] = mapped_column(default=1)
    last_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))


class PatrolRound(db.Model):
    """A round planned for one inspector: the cells to ride through, in order, with what each is worth."""

    __tablename__ = "patrol_rounds"
    __table_args__ = (sa.Index("uq_patrol_round_active", "user_id", unique=True,
                               postgresql_where=sa.text("status = 'active'")),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[RoundStatus] = mapped_column(enum_column(RoundStatus), default=RoundStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    budget_min: Mapped[int] = mapped_column()
    value: Mapped[float] = mapped_column(sa.Float, default=0.0)  # problems expected to be found (weighted)
    # [{"cell", "lon", "lat", "seen_s", "value"}] in the order to ride
    stops: Mapped[list] = mapped_column(JSONB, default=list)
    user = relationship("User")
