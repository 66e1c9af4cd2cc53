"""Public, mobile-first pages for citizens: snap-and-report (随手拍) and the private tracking page."""

from __future__ import annotations

import uuid
from itertools import groupby

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.errors import DomainError
from app.extensions import db, limiter
from app.services import catalog, citizen
from app.services.cases import timeline

bp = Blueprint("citizen", __name__)


def _categories():
    cats = catalog.list_categories()
    return [(cls, list(items)) for cls, items in groupby(cats, key=lambda c: c.major_class)]


@bp.get("/report")
def report_form():
    """The snap-and-report form (a fresh request id makes a double submit harmless)."""
    return render_template("citizen/report.html", groups=_categories(), request_id=uuid.uuid4().hex,
                           tile_url=current_app.config["MAP_TILE_URL"], form={})


@bp.post("/report")
@limiter.limit(lambda: current_app.config["RATELIMIT_CITIZEN"])
def report_submit():
    """Create the case (or join an existing one) and go to its private tracking page."""
    photos = [f.read() for f in request.files.getlist("photos") if f and f.filename]
    try:
        case, created = citizen.submit(request.form.to_dict(), photos, current_user)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return render_template("citizen/report.html", groups=_categories(), form=request.form,
                               request_id=request.form.get("request_id") or uuid.uuid4().hex,
                               tile_url=current_app.config["MAP_TILE_URL"]), exc.status
    flash(_("Thank you! Your case number is %(number)s.", number=case.number) if created else
          _("Thank you! Your photos were added to case %(number)s.", number=case.number), "ok")
    return redirect(url_for("citizen.track", token=case.tracking_token), 303)


@bp.get("/track/<token>")
def track(token: str):
    """Status history in plain words; after closure, the satisfaction question."""
    case = citizen.by_token(token)
    return render_template("citizen/track.html", case=case, events=timeline(case), token=token)


@bp.post("/track/<token>/rate")
@limiter.limit(lambda: current_app.config["RATELIMIT_CITIZEN"])
def rate(token: str):
    """Record the rating (≤ 2 sends the case back for rework)."""
    try:
        case = citizen.rate(token, request.form.get("rating"), request.form.get("comment") or "")
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("citizen.track", token=token), 303)
    flash(_("Thank you for your rating.") if case.status.value == "closed" else
          _("Sorry it is not fixed — the case has been sent back for rework."), "ok")
    return redirect(url_for("citizen.track", token=token), 303)
