"""Pages for people: the supervisor's map console (the mobile pages come with their issues)."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user

from app.auth import home_endpoint, roles_required
from app.models import Role

bp = Blueprint("web", __name__)

CONSOLE_ROLES = (Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN, Role.WORKER, Role.HANDLER)


@bp.get("/")
def index():
    """Send people to the page for their role."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(url_for(home_endpoint(current_user)))


@bp.get("/console")
@roles_required(*CONSOLE_ROLES)
def console():
    """Map of grids and cases with filters and a case panel."""
    return render_template("console.html", tile_url=current_app.config["MAP_TILE_URL"])


@bp.get("/lang/<code>")
def set_language(code: str):
    """Switch the interface language (kept in the session)."""
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    target = request.referrer or url_for("web.index")
    return redirect(target if target.startswith(request.host_url) else url_for("web.index"))
