"""A person's notifications (new task, deadline near, overdue, check to do): the feed, and marking them read.

The dispatcher writes them (`app.services.dispatching.notify`); once committed they also go out on the live
stream to their reader. Nothing here commits; the view does.
"""

from __future__ import annotations

from sqlalchemy import func, select, update

from app.errors import NotFound
from app.extensions import db
from app.models import Notification, User
from app.models.types import utcnow


def feed(user: User, *, page: int = 1, size: int = 20, unread_only: bool = False) -> dict:
    """`user`'s notifications, unread first and newest first within each, with the totals."""
    mine = Notification.user_id == user.id
    q = select(Notification).where(mine)
    if unread_only:
        q = q.where(Notification.read_at.is_(None))
    rows = list(db.session.scalars(
        q.order_by(Notification.read_at.is_not(None), Notification.created_at.desc(), Notification.id.desc())
        .limit(size).offset((page - 1) * size)))
    total, unread = db.session.execute(
        select(func.count(), func.count().filter(Notification.read_at.is_(None))).where(mine)).one()
    return {"items": rows, "total": unread if unread_only else total, "unread": unread}


def mark_read(user: User, notification_id: int) -> Notification:
    """Mark one of `user`'s notifications read (again is harmless); another person's is 404."""
    row = db.session.get(Notification, notification_id)
    if row is None or row.user_id != user.id:
        raise NotFound()
    if row.read_at is None:
        row.read_at = utcnow()
    return row


def mark_all_read(user: User) -> int:
    """Mark every unread notification of `user` read; returns how many were unread."""
    result = db.session.execute(
        update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow()))
    return result.rowcount
