"""Typed domain errors and the one handler that maps them (and HTTP errors) to responses.

Services raise these; views never build error responses themselves. API clients get JSON
`{"error": {"code", "message", "details"}}`; browsers get a page. Messages are translated into
the request's language.
"""

from __future__ import annotations

from flask import jsonify, make_response, render_template, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from app.vocabulary import ACTION_LABELS, STATUS_LABELS, label
from dispatch.lifecycle import IllegalTransition


class DomainError(Exception):
    """Base of the errors a service raises on bad input or a refused operation."""

    status = 400
    code = "bad_request"
    default_message = _l("The request is not valid.")

    def __init__(self, message=None, *, details=None, **params):
        super().__init__(str(message or self.default_message))
        self._message = message or self.default_message
        self.params = params
        self.details = details

    @property
    def message(self) -> str:
        """The message in the current language, with its parameters filled in."""
        text = str(self._message)
        return text % self.params if self.params else text


class ValidationError(DomainError):
    """Input is missing or malformed (HTTP 400)."""

    status = 400
    code = "validation_error"


class Unauthorized(DomainError):
    """No or bad credentials (HTTP 401)."""

    status = 401
    code = "unauthorized"
    default_message = _l("Please sign in.")


class Forbidden(DomainError):
    """The actor's role or relation to the case does not allow this (HTTP 403)."""

    status = 403
    code = "forbidden"
    default_message = _l("You are not allowed to do this.")


class NotFound(DomainError):
    """The object does not exist (HTTP 404)."""

    status = 404
    code = "not_found"
    default_message = _l("Not found.")


class Conflict(DomainError):
    """The operation conflicts with the current state (HTTP 409)."""

    status = 409
    code = "conflict"


class ServiceUnavailable(DomainError):
    """A dependency (database, Redis) is down; the client should retry later (HTTP 503 with Retry-After)."""

    status = 503
    code = "unavailable"
    default_message = _l("The service is briefly unavailable; please try again in a minute.")
    retry_after = 30


class TransitionError(Conflict):
    """An illegal lifecycle transition (HTTP 409)."""

    code = "illegal_transition"


def transition_error(exc: IllegalTransition) -> TransitionError:
    """Translate the pure lifecycle error into the HTTP-mapped one."""
    return TransitionError(
        _l("Cannot %(action)s a case that is %(status)s."),
        action=label(ACTION_LABELS, exc.action),
        status=label(STATUS_LABELS, exc.status),
        details={"status": exc.status.value, "action": exc.action.value},
    )


def _wants_json() -> bool:
    if request.path.startswith(("/api/", "/healthz", "/open311/")):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def _respond(status: int, code: str, message: str, details=None):
    if _wants_json():
        body = {"error": {"code": code, "message": message}}
        if details is not None:
            body["error"]["details"] = details
        response = jsonify(body)
    else:
        response = make_response(render_template("error.html", status=status, message=message))
    response.status_code = status
    if status == 503:
        response.headers["Retry-After"] = str(ServiceUnavailable.retry_after)
    return response


def _forget_user() -> None:
    """Render error pages as anonymous: loading the user would need the database that just failed."""
    from flask import g
    from flask_login import AnonymousUserMixin

    g._login_user = AnonymousUserMixin()


def register_error_handlers(app) -> None:
    """Install the single mapping from exceptions to responses."""
    import logging

    from sqlalchemy import exc as sa_exc

    from app.extensions import db

    log = logging.getLogger("app.errors")

    @app.errorhandler(sa_exc.OperationalError)
    @app.errorhandler(sa_exc.InterfaceError)
    @app.errorhandler(sa_exc.TimeoutError)
    def _database_down(exc):
        # Connection refused, reset or pool exhausted: the client should come back, nothing was stored.
        log.error("database unavailable: %s", exc.__class__.__name__)
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001 - the connection is already gone
            pass
        _forget_user()
        err = ServiceUnavailable()
        return _respond(err.status, err.code, err.message)

    @app.errorhandler(sa_exc.DataError)
    def _bad_value(exc):
        # The input layer refuses what the database cannot store; this is the net under it, logged so
        # that a hole in the input layer is seen and mended there.
        log.warning("value refused by the database: %s", str(exc.orig).splitlines()[0] if exc.orig else exc)
        db.session.rollback()
        return _respond(400, "validation_error", str(ValidationError.default_message))

    @app.errorhandler(DomainError)
    def _domain(exc: DomainError):
        return _respond(exc.status, exc.code, exc.message, exc.details)

    @app.errorhandler(IllegalTransition)
    def _illegal(exc: IllegalTransition):
        err = transition_error(exc)
        return _respond(err.status, err.code, err.message, err.details)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        messages = {
            400: _l("The request is not valid."),
            401: _l("Please sign in."),
            403: _l("You are not allowed to do this."),
            404: _l("Not found."),
            405: _l("This method is not allowed here."),
            413: _l("The upload is too large."),
            429: _l("Too many requests; please wait a moment."),
        }
        msg = messages.get(exc.code)
        text = str(msg) if msg is not None else (exc.description or exc.name)
        code = exc.name.lower().replace(" ", "_")
        if exc.code == 400 and exc.description and "CSRF" in exc.description:
            # Its own code: an app holding queued actions keeps them until the person has a fresh page.
            text, code = gettext("The form has expired; reload the page and try again."), "csrf_expired"
        return _respond(exc.code or 500, code, text)
