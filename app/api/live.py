"""Live updates for staff: the server-sent event stream and the notifications feed.

The stream is long-lived: it is served by its own threaded process (`flask serve-stream`, README
"Production"), never by the sync web workers, whose every process it would hold for as long as a page is open.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response, current_app, jsonify, request
from flask_login import current_user

from app.api import bp
from app.api.cases import ANY_USER
from app.api.serializers import notification_json
from app.auth import roles_required
from app.extensions import db
from app.inputs import Field, parse
from app.services import live, notifications

FEED_FIELDS = [Field("page", int, min=1, max=100_000), Field("page_size", int, min=1, max=100),
               Field("unread", bool, description="only unread ones")]


@bp.get("/events/stream")
@roles_required(*live.LIVE_ROLES)
def event_stream():
    """Server-sent events: case changes this user may see and their own notifications; resumes from Last-Event-ID."""
    audience = live.audience_of(current_user)
    last_id = live.valid_stream_id(request.headers.get("Last-Event-ID") or request.args.get("last_event_id"))
    db.session.remove()  # nothing below needs the database: no connection is held while the stream waits
    response = Response(live.events(audience, last_id), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    origin = request.headers.get("Origin") or ""
    if current_app.config["STREAM_PORT"] and urlsplit(origin).hostname == urlsplit(request.host_url).hostname:
        # No proxy (serve-all): the page came from the web server's port of this host, the stream from another.
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Credentials"] = "true"
        response.headers["Vary"] = "Origin"
    return response


@bp.get("/notifications")
@roles_required(*ANY_USER)
def list_notifications():
    """My notifications, unread first, newest first, paged; with the unread count."""
    args = parse(FEED_FIELDS, request.args)
    page, size = args.get("page", 1), args.get("page_size", 20)
    got = notifications.feed(current_user, page=page, size=size, unread_only=args.get("unread", False))
    return jsonify({"items": [notification_json(n) for n in got["items"]], "total": got["total"],
                    "unread": got["unread"], "page": page, "page_size": size})


@bp.post("/notifications/<id:notification_id>/read")
@roles_required(*ANY_USER)
def read_notification(notification_id: int):
    """Mark one of my notifications read."""
    row = notifications.mark_read(current_user, notification_id)
    db.session.commit()
    return jsonify(notification_json(row))


@bp.post("/notifications/read-all")
@roles_required(*ANY_USER)
def read_all_notifications():
    """Mark all my notifications read; answers how many were unread."""
    count = notifications.mark_all_read(current_user)
    db.session.commit()
    return jsonify({"marked": count})
