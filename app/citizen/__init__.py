"""Public, mobile-first pages for citizens: snap-and-report (随手拍) and the private tracking page."""

from __future__ import annotations

import secrets
import uuid
from itertools import groupby

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user

from app.auth import require_rate_limits, roles_required
from app.errors import DomainError, NotFound
from app.extensions import csrf, db, limiter
from app.inputs import parse
from app.models import Role
from app.services import catalog, citizen, media, updates, users
from dispatch.lifecycle import CaseStatus

bp = Blueprint("citizen", __name__)
DEVICE_COOKIE = "uo_dev"


def _device() -> str | None:
    """The phone's random device cookie (set by the form), when it has a well-formed one."""
    dev = request.cookies.get(DEVICE_COOKIE, "")
    return dev if len(dev) == 32 and dev.isascii() and dev.isalnum() else None


def _device_key() -> str:
    """Rate-limit key of the phone: its random device cookie, or its address when it refuses cookies."""
    dev = _device()
    return f"dev:{dev}" if dev else f"ip:{get_remote_address()}"


def _with_device_cookie(response):
    if DEVICE_COOKIE not in request.cookies:
        response.set_cookie(DEVICE_COOKIE, secrets.token_hex(16), max_age=365 * 24 * 3600, httponly=True,
                            samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


def _device_limit() -> str:
    return current_app.config["RATELIMIT_DEVICE"]


def _categories():
    cats = catalog.list_categories()
    return [(cls, list(items)) for cls, items in groupby(cats, key=lambda c: c.major_class)]


@bp.get("/report")
def report_form():
    """The snap-and-report form (a fresh request id makes a double submit harmless)."""
    page = render_template("citizen/report.html", groups=_categories(), request_id=uuid.uuid4().hex, form={})
    return _with_device_cookie(current_app.make_response(page))


@bp.post("/report/photo")
@limiter.limit(lambda: current_app.config["RATELIMIT_CITIZEN"])
def check_photo():
    """Check the first photo before the form is sent: readable? where was it taken? what does it show?"""
    upload = request.files.get("photo")
    try:
        return jsonify(citizen.check_photo(upload.read() if upload else b""))
    except DomainError as exc:  # the same body as every JSON error (the page asks for JSON: 413, 429 alike)
        return jsonify(error={"code": exc.code, "message": exc.message}), exc.status


@bp.post("/report")
@limiter.limit(lambda: current_app.config["RATELIMIT_CITIZEN"])
@limiter.limit(_device_limit, key_func=_device_key)
def report_submit():
    """Create the case (or join an existing one) and go to its private tracking page."""
    photos = [f.read() for f in request.files.getlist("photos") if f and f.filename]
    try:
        form = parse(citizen.REPORT_FORM, request.form)
        case, outcome = citizen.submit(form, photos, current_user, device=_device())
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return render_template("citizen/report.html", groups=_categories(), form=request.form,
                               request_id=request.form.get("request_id") or uuid.uuid4().hex), exc.status
    if outcome == citizen.JOINED:  # another reporter's case: their private link stays theirs
        flash(_("Thank you! Your photos were added to case %(number)s.", number=case.number), "ok")
        return redirect(url_for("citizen.report_form"), 303)
    flash(_("Thank you! Your case number is %(number)s.", number=case.number), "ok")
    return redirect(url_for("citizen.track", token=case.tracking_token), 303)


@bp.get("/track/<token>")
def track(token: str):
    """Status history in plain words; after closure, the satisfaction question."""
    case = citizen.by_token(token)
    return render_template("citizen/track.html", case=case, info=citizen.tracking(case), token=token,
                           photos=citizen.public_photos(case))


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # the link in an e-mail (RFC 8058 one-click) posts without a form; the token is the permission
def unsubscribe(token: str):
    """Stop the updates about one case: a page with one button (mail scanners follow links, never press)."""
    if request.method == "POST":
        sub = updates.unsubscribe(token)
        db.session.commit()
    else:
        sub = updates.by_token(token)
    if sub is None:
        raise NotFound(_l("This link is not valid."))
    return render_template("citizen/unsubscribe.html", sub=sub, token=token, done=sub.unsubscribed_at is not None)


@bp.get("/photos/<digest>.jpg")
def public_photo(digest: str):
    """A photo's public copy (EXIF stripped, faces and plates blurred); originals are never served here."""
    return send_file(media.public_file(media.public_media(digest)), mimetype="image/jpeg", max_age=86400)


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"])
def register():
    """A citizen account (mobile number + password): reports are remembered and earn civic points."""
    if current_user.is_authenticated:
        return redirect(url_for("citizen.my_reports"))
    if request.method == "GET":
        return render_template("citizen/register.html", form={})
    form = request.form
    try:
        require_rate_limits()  # account creation is limited per address: no per-process fallback either
        user = users.register_citizen(form.get("phone", ""), form.get("password", ""), form.get("nickname", ""),
                                      confirm=form.get("password2", ""))
        db.session.flush()
        users.start_session(user, remember=False, user_agent=request.user_agent.string)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return render_template("citizen/register.html", form=form), exc.status
    login_user(user)
    flash(_("Welcome! Your reports now earn civic points."), "ok")
    return redirect(url_for("citizen.report_form"), 303)


@bp.get("/my/reports")
@roles_required(Role.CITIZEN)
def my_reports():
    """The signed-in citizen's reports, their status and the civic points they earned."""
    mine = citizen.my_reports(current_user)
    db.session.commit()  # reports made elsewhere (API, Open311) get their private tracking link here
    return render_template("citizen/my_reports.html", **mine)


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
    flash(_("Thank you for your rating.") if case.status is CaseStatus.CLOSED else
          _("Sorry it is not fixed — the case has been sent back for rework."), "ok")
    return redirect(url_for("citizen.track", token=token), 303)
