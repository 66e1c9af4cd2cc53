"""Pages for the command centre: the map console, the KPI dashboard (效能分析) and the wall display (大屏)."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user

from app.auth import home_endpoint, roles_required
from app.models import Role
from app.models.people import STAFF_ROLES
from app.services import kpis
from dispatch import kpi

bp = Blueprint("web", __name__)

CONSOLE_ROLES = (Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN, Role.WORKER, Role.HANDLER)


@bp.get("/")
def index():
    """The public front door (随手拍 and the map of recent reports) for visitors; people signed in go to the page
    for their role."""
    if not current_user.is_authenticated:
        return render_template("citizen/home.html")
    return redirect(url_for(home_endpoint(current_user)))


@bp.get("/console")
@roles_required(*CONSOLE_ROLES)
def console():
    """Map of grids and cases with filters and a case panel."""
    return render_template("console.html")


@bp.get("/console/dashboard")
@roles_required(*STAFF_ROLES)
def dashboard():
    """KPIs over a chosen period: figures, trends, league tables, heat map; every number drills down."""
    return render_template("dashboard.html", leagues=kpis.LEAGUES, group_labels=kpis.GROUP_LABELS,
                           score_terms=kpi.SCORE_TERMS, min_ranked=kpi.MIN_CASES_RANKED)


@bp.get("/console/wall")
@roles_required(*STAFF_ROLES)
def wall():
    """The command centre's wall display (1920×1080, read-only, refreshing itself)."""
    return render_template("wall.html")


@bp.get("/lang/<code>")
def set_language(code: str):
    """Switch the interface language (kept in the session)."""
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    target = request.referrer or url_for("web.index")
    return redirect(target if target.startswith(request.host_url) else url_for("web.index"))
