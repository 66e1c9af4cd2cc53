"""JSON REST API /api/v1: cases (GeoJSON), one POST per lifecycle verb, reference data, OpenAPI."""

from __future__ import annotations

from flask import Blueprint, current_app, request
from flask_login import current_user

from app.auth import token_authenticated
from app.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


@bp.before_request
def _csrf_for_browser_sessions():
    # Tokens are not sent automatically by browsers, so only cookie sessions need the CSRF check.
    if request.method in ("GET", "HEAD", "OPTIONS") or not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    if current_user.is_authenticated and not token_authenticated():  # loading the user sets the token flag
        csrf.protect()


from app.api import cases, live, openapi, reference  # noqa: E402,F401
