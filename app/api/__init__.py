"""JSON REST API /api/v1: cases (GeoJSON), one POST per lifecycle verb, reference data, OpenAPI."""

from __future__ import annotations

from flask import Blueprint, request

from app.auth import token_authenticated
from app.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


@bp.before_request
def _csrf_for_browser_sessions():
    # Tokens are not sent automatically by browsers, so only cookie sessions need the CSRF check.
    if request.method not in ("GET", "HEAD", "OPTIONS") and not token_authenticated():
        from flask_login import current_user

        if current_user.is_authenticated:
            csrf.protect()


from app.api import cases, openapi, reference  # noqa: E402,F401
