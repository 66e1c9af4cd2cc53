"""Open311 GeoReport v2 at /open311/v2/: discovery, services, requests — JSON or XML by extension.

Errors follow the spec: `[{"code": …, "description": …}]` or `<errors><error>…</error></errors>`,
with the matching HTTP status. `jurisdiction_id` is accepted (one jurisdiction per deployment).
"""

from __future__ import annotations

import hashlib
import re
from xml.etree import ElementTree as ET

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from werkzeug.exceptions import HTTPException

from app.errors import DomainError, NotFound
from app.extensions import csrf, db, limiter
from app.services import open311 as o311

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
csrf.exempt(bp)
FORMATS = {"json", "xml"}
# Characters XML 1.0 cannot carry at all (escaping does not help): rows stored before input refused them,
# or written by other means, must not make the whole feed unreadable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _fmt() -> str:
    fmt = (request.view_args or {}).get("fmt") or "json"
    return fmt if fmt in FORMATS else "json"


def _xml(root: str, item: str | None, data) -> Response:
    def fill(el, value):
        if isinstance(value, dict):
            for k, v in value.items():
                fill(ET.SubElement(el, k), v)
        elif isinstance(value, list):
            child = {"endpoints": "endpoint", "formats": "format", "attributes": "attribute",
                     "values": "value"}.get(el.tag, "item")
            for v in value:
                fill(ET.SubElement(el, child), v)
        elif isinstance(value, bool):
            el.text = "true" if value else "false"
        elif value is not None:
            el.text = _NOT_XML.sub("", str(value))  # ElementTree escapes & < > itself

    top = ET.Element(root)
    if item is None:
        fill(top, data)
    else:
        for row in data:
            fill(ET.SubElement(top, item), row)
    body = b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(top, encoding="utf-8")
    return Response(body, mimetype="text/xml")


def respond(data, root: str, item: str | None, status: int = 200):
    """The same data as JSON or XML, per the URL's extension."""
    if _fmt() == "xml":
        resp = _xml(root, item, data)
        resp.status_code = status
        return resp
    return jsonify(data), status


def _error(status: int, description: str):
    return respond([{"code": status, "description": description}], "errors", "error", status)


@bp.errorhandler(DomainError)
def _domain(exc: DomainError):
    return _error(exc.status, exc.message)


@bp.errorhandler(HTTPException)
def _http(exc: HTTPException):
    return _error(exc.code or 500, exc.description or exc.name)


def _check_fmt(fmt: str) -> None:
    if fmt not in FORMATS:
        raise NotFound(f"format {fmt} is not supported: use .json or .xml")


@bp.get("/discovery.<fmt>")
def discovery(fmt):
    """Where and how to talk to this endpoint."""
    _check_fmt(fmt)
    return respond({
        "changeset": "2026-11-22T00:00:00+08:00",
        "contact": current_app.config.get("OPEN311_CONTACT", ""),
        "key_service": "Ask the administrators for a key (flask open311 keys create NAME).",
        "endpoints": [{"specification": "http://wiki.open311.org/GeoReport_v2",
                       "url": url_for("open311.discovery", fmt="json", _external=True).rsplit("/", 1)[0],
                       "changeset": "2026-11-22T00:00:00+08:00", "type": "production",
                       "formats": ["text/xml", "application/json"]}],
    }, "discovery", None)


@bp.get("/services.<fmt>")
def services(fmt):
    """Every category as a service."""
    _check_fmt(fmt)
    return respond([{"service_code": c.code, "service_name": c.name_zh, "description": c.name_en,
                     "metadata": bool(c.attributes), "type": "realtime", "keywords": c.name_en.lower(),
                     "group": c.major_class.name_zh} for c in o311.services()], "services", "service")


@bp.get("/services/<code>.<fmt>")
def service_definition(code, fmt):
    """The category-specific questions (attributes) of one service."""
    _check_fmt(fmt)
    cat = o311.service(code)
    attrs = [{"variable": True, "code": a["code"], "datatype": a["datatype"], "required": bool(a.get("required")),
              "datatype_description": a.get("datatype_description", ""), "order": i + 1,
              "description": a.get("description", ""), "values": [
                  {"key": v["key"], "name": v["name"]} for v in a.get("values") or []]}
             for i, a in enumerate(cat.attributes or [])]
    return respond({"service_code": cat.code, "attributes": attrs}, "service_definition", None)


def _key_of_client() -> str:
    """Rate-limit key: the client's API key (hashed), so each civic tool has its own budget."""
    key = request.form.get("api_key") or ""
    return "open311:" + hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()


@bp.post("/requests.<fmt>")
@limiter.limit(lambda: current_app.config["RATELIMIT_OPEN311"], key_func=_key_of_client)
def post_request(fmt):
    """Create a service request (form-encoded, api_key required); a retry answers 200 with the first request."""
    _check_fmt(fmt)
    attributes = {k[10:-1]: v for k, v in request.form.items() if k.startswith("attribute[") and k.endswith("]")}
    case, created = o311.post_request(request.form, attributes)
    db.session.commit()
    return respond([{"service_request_id": case.number, "service_notice": "", "account_id": ""}],
                   "service_requests", "request", 201 if created else 200)


@bp.get("/requests.<fmt>")
def get_requests(fmt):
    """Requests by id, service, date range (≤ 90 days, default the last 90) and status; at most 1000."""
    _check_fmt(fmt)
    rows = [o311.as_request(c) for c in o311.query(request.args)]
    return respond(rows, "service_requests", "request")


@bp.get("/requests/<rid>.<fmt>")
def get_request(rid, fmt):
    """One request (still an array, as the spec says)."""
    _check_fmt(fmt)
    case = o311.get_request(rid)
    return respond([o311.as_request(case)], "service_requests", "request")
