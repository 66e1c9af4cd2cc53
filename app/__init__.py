"""Application factory: `create_app(config)` binds the extensions and registers blueprints and commands."""

from __future__ import annotations

from functools import lru_cache

from babel import Locale
from flask import Flask, has_request_context, request, session

from app.config import BASE_DIR, Config, validate
from app.extensions import babel, csrf, db, limiter, login_manager, migrate


@lru_cache(maxsize=16)
def _parsed(identifier: str) -> Locale:
    # Flask-Babel parses the selector's string on every request, and Babel's parse scans its whole list of
    # locale names each time (about 1 ms per request); a parsed Locale is passed through as it is.
    return Locale.parse(identifier)


def _select_locale() -> Locale:
    """?lang= → session → the user's own setting → Accept-Language → zh_CN."""
    return _parsed(_locale_name())


def _locale_name() -> str:
    from flask import current_app
    from flask_login import current_user

    langs = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI and jobs
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    asked = request.args.get("lang")
    if asked in langs:
        return asked
    if session.get("lang") in langs:
        return session["lang"]
    if current_user and current_user.is_authenticated and current_user.locale in langs:
        return current_user.locale
    match = request.accept_languages.best_match(["zh_CN", "zh", "en"])
    if match == "en":
        return "en"
    if match in ("zh_CN", "zh"):
        return "zh_CN"
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def create_app(config: type | dict | None = None) -> Flask:
    """Build a configured app; `config` is a class (like TestConfig) or a mapping of overrides."""
    app = Flask(__name__, static_folder=str(BASE_DIR / "static"), static_url_path="/static")
    app.config.from_object(Config)
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"])
    app.config["REMEMBER_COOKIE_SECURE"] = app.config["SESSION_COOKIE_SECURE"]  # one switch for both cookies
    validate(app.config)

    from app import (
        domain_events,  # noqa: F401  (records what each change did; follows it up after commit)
        inputs,
        models,  # noqa: F401  (registers tables)
    )

    inputs.register(app)  # the `id` converter must exist before any blueprint adds its routes

    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"), compare_type=True)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale, default_translation_directories="translations")
    limiter.init_app(app)
    from flask_talisman import Talisman

    from app.security import talisman_options

    Talisman(app, **talisman_options(app.config))  # per app: its options are this app's settings

    from app.errors import register_error_handlers

    register_error_handlers(app)

    from flask_babel import get_locale
    from flask_babel import lazy_gettext as _l

    from app import vocabulary as v
    from app.models.people import STAFF_ROLES, Role
    from app.services.calendar import local_text
    from dispatch.lifecycle import CaseStatus

    login_manager.login_message = _l("Please sign in.")
    app.jinja_env.globals.update(
        current_locale=lambda: str(get_locale() or "zh_CN"),
        status_label=lambda s: v.label(v.STATUS_LABELS, s),
        action_label=lambda a: v.label(v.ACTION_LABELS, a),
        role_label=lambda r: v.label(v.ROLE_LABELS, r),
        photo_label=lambda k: v.label(v.PHOTO_LABELS, k),
        kpi_label=lambda k: v.label(v.KPI_LABELS, k),
        vocabulary=v.as_json,
        Role=Role, CaseStatus=CaseStatus, STAFF_ROLES=STAFF_ROLES,
        open_statuses=v.OPEN_STATUSES,
        timezone=app.config["TIMEZONE"],
        basemap=lambda: {key: app.config[f"MAP_{name}"] for key, name in (
            ("url", "TILE_URL"), ("attribution", "TILE_ATTRIBUTION"), ("crs", "TILE_CRS"),
            ("subdomains", "TILE_SUBDOMAINS"), ("max_zoom", "MAX_ZOOM"))},
    )
    app.jinja_env.filters["localtime"] = local_text

    from app.api import bp as api_bp
    from app.auth import bp as auth_bp
    from app.citizen import bp as citizen_bp
    from app.field import bp as field_bp
    from app.health import bp as health_bp
    from app.open311 import bp as open311_bp
    from app.web import bp as web_bp

    for bp in (auth_bp, api_bp, health_bp, web_bp, open311_bp, citizen_bp, field_bp):
        app.register_blueprint(bp)

    from app.cli import register_cli

    register_cli(app)
    return app
