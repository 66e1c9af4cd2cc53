"""Updates to citizens: who follows a case by e-mail or SMS, and which messages went out."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import utcnow


class Subscription(db.Model):
    """A contact that is told when its case moves on (filed, fixed, closed, reworked) until it opts out."""

    __tablename__ = "case_subscriptions"
    __table_args__ = (sa.UniqueConstraint("case_id", "channel", "address", name="uq_subscription_contact"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(sa.String(8))  # "email" or "sms"
    address: Mapped[str] = mapped_column(sa.String(120))
    locale: Mapped[str] = mapped_column(sa.String(10), default="zh_CN")
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)  # the opt-out link's secret
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    case = relationship("Case")


class Delivery(db.Model):
    """One message about one case event to one subscription: sent once, whatever the retries."""

    __tablename__ = "citizen_deliveries"
    __table_args__ = (sa.UniqueConstraint("subscription_id", "event_id", name="uq_delivery_once"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(sa.ForeignKey("case_subscriptions.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("case_events.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(sa.String(12), default="pending")  # pending, sent, failed
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(sa.String(300), default="")
    sent_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
