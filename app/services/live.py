"""The live stream: which committed events each signed-in person may see, read from the Redis replay stream.

Every committed case change and notification is appended to one bounded Redis stream (`app.domain_events`).
A listener reads that stream from the id it last saw (`XREAD BLOCK`): replay after a reconnect and live
delivery are the same read, so nothing falls between them. Each listener gets only what its reader may see:
dispatchers, supervisors and admins every case; a grid worker the cases assigned to them, given to them to
check, or in their grids; a department handler their department's cases; everyone their own notifications.

The generator holds no database connection while it waits (the audience is read once, up front), and ends
after `STREAM_MAX_S` so that a revoked sign-in stops receiving within minutes: the browser reconnects by
itself, is authenticated again and resumes from its Last-Event-ID.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Iterator

import redis
from flask import current_app

from app.domain_events import STREAM
from app.models import Role, User
from app.models.people import STAFF_ROLES

LIVE_ROLES = (*STAFF_ROLES, Role.WORKER, Role.HANDLER)
_STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
RETRY_MS = 3000  # how long the browser waits before reconnecting


@dataclass(frozen=True)
class Audience:
    """What one listener may see, as plain values (read once; nothing holds a database row while streaming)."""

    user_id: int
    everything: bool
    grid_ids: frozenset[int]
    department_id: int | None

    def sees(self, event: dict) -> bool:
        """True if this listener may receive `event` (a published payload)."""
        if event.get("type") == "notification":
            return event.get("user_id") == self.user_id
        if event.get("type") == "position":  # where the field force is: the staff's maps
            return self.everything
        if self.everything:
            return True
        return (self.user_id in (event.get("assignee_id"), event.get("previous_assignee_id"), event.get("checker_id"))
                or event.get("grid_id") in self.grid_ids
                or (self.department_id is not None and event.get("department_id") == self.department_id))


def audience_of(user: User) -> Audience:
    """The audience of a signed-in user (staff see every case)."""
    return Audience(user_id=user.id, everything=user.role in STAFF_ROLES,
                    grid_ids=frozenset(g.id for g in user.grids) if user.role is Role.WORKER else frozenset(),
                    department_id=user.department_id if user.role is Role.HANDLER else None)


def valid_stream_id(value: str | None) -> str | None:
    """A Last-Event-ID worth resuming from, or None (a client may send anything)."""
    value = (value or "").strip()
    return value if _STREAM_ID.match(value) else None


def _frame(stream_id: str, event: dict) -> str:
    return f"id: {stream_id}\nevent: {event['type']}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"


def events(audience: Audience, last_id: str | None) -> Iterator[str]:
    """Server-sent-event frames for `audience`: what came after `last_id`, then live, with heartbeats.

    Without `last_id` it starts at the newest event. When `last_id` is older than what the bounded stream
    still holds, a `resync` event tells the client to reload what it shows. The settings are read now; the
    frames are made after the request's context is gone.
    """
    cfg = current_app.config
    return _frames(audience, last_id, cfg["REDIS_URL"], cfg["STREAM_HEARTBEAT_S"], cfg["STREAM_MAX_S"])


def _frames(audience: Audience, last_id: str | None, redis_url: str, heartbeat_s: float,
            max_s: float) -> Iterator[str]:
    heartbeat_ms = int(heartbeat_s * 1000)
    deadline = time.monotonic() + max_s
    # Its own client: a blocking read's socket timeout must outlast one heartbeat's wait.
    client = redis.Redis.from_url(redis_url, socket_timeout=heartbeat_s + 10, socket_connect_timeout=5)
    try:
        yield f"retry: {RETRY_MS}\n\n"
        if last_id is None:
            newest = client.xrevrange(STREAM, count=1)
            last_id = newest[0][0].decode() if newest else "0-0"
        else:
            oldest = client.xrange(STREAM, count=1)
            if oldest and _key(last_id) < _key(oldest[0][0].decode()):  # trimmed: some may be lost
                yield f"id: {last_id}\nevent: resync\ndata: {{}}\n\n"
        while time.monotonic() < deadline:
            batch = client.xread({STREAM: last_id}, block=heartbeat_ms, count=200)
            if not batch:
                yield ": keep-alive\n\n"  # a comment: proxies see traffic, the browser ignores it
                continue
            for raw_id, fields in batch[0][1]:
                last_id = raw_id.decode()
                event = json.loads(fields[b"event"])
                if audience.sees(event):
                    yield _frame(last_id, event)
    finally:
        client.close()


def _key(stream_id: str) -> tuple[int, int]:
    ms, seq = stream_id.split("-")
    return int(ms), int(seq)
