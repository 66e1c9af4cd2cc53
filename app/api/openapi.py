"""OpenAPI 3.1 document for /api/v1, generated from the same tables the views use."""

from __future__ import annotations

from flask import jsonify

from app.api import bp
from app.api.cases import (
    CANDIDATE_FIELDS,
    EXPORT_FIELDS,
    LIST_FILTERS,
    MAP_FIELDS,
    MEDIA_FIELDS,
    OFFLINE_FIELDS,
    REPORT_FIELDS,
    VERBS,
)
from app.api.live import FEED_FIELDS
from app.api.reference import (
    BBOX_FIELDS,
    DUTY_FIELDS,
    FORECAST_FIELDS,
    KPI_EXPORT_FIELDS,
    KPI_FIELDS,
    NEARBY_FIELDS,
    POSITION_FIELDS,
    SUGGEST_FIELDS,
)
from app.inputs import CASE_REF_PATTERN, Field
from app.models.types import MAX_ID

_ERR = {"$ref": "#/components/responses/Error"}
_PAIR = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}
CALIBRATION_SCHEMA = {"type": "object", "required": ["points"], "properties": {"points": {
    "type": "array", "minItems": 4, "maxItems": 64, "items": {"type": "object", "required": ["px", "lonlat"],
                                                              "properties": {"px": _PAIR, "lonlat": _PAIR}}}}}
_ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
_CODE = {"name": "code", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 32}}


def _prop(f: Field) -> dict:
    return {**f.schema(), **({"description": f.description} if f.description else {})}


def _schema(fields: list[Field], photos: bool = False, after_photos: bool = False) -> dict:
    props = {f.name: _prop(f) for f in fields}
    required = [f.name for f in fields if f.required]
    json_schema = {"type": "object", "properties": props, **({"required": required} if required else {})}
    content = {"application/json": {"schema": json_schema}}
    form = {"type": "object", "properties": dict(props), **({"required": required} if required else {})}
    for name, wanted in (("photos", photos), ("after_photos", after_photos)):
        if wanted:
            form["properties"][name] = {"type": "array", "items": {"type": "string", "format": "binary"}}
    content["multipart/form-data"] = {"schema": form}
    return {"required": bool(required), "content": content}


def _op(summary: str, *, body=None, params=None, ok="200", secured=True) -> dict:
    op = {"summary": summary, "responses": {ok: {"description": "OK"}, "400": _ERR}}
    if secured:
        op["responses"].update({"401": _ERR, "403": _ERR})
    else:
        op["security"] = []  # public: no sign-in needed
    if body:
        op["requestBody"] = body
    if params:
        op["parameters"] = params
    return op


def _q(fields: list[Field]) -> list[dict]:
    return [{"name": f.name, "in": "query", "required": f.required, "schema": _prop(f)} for f in fields]


def build_spec() -> dict:
    """The whole document."""
    case_id = {"name": "case_id", "in": "path", "required": True, "schema": _ID}
    paths = {
        "/cases": {
            "get": _op("List cases as GeoJSON", params=_q(LIST_FILTERS)),
            "post": {**_op("上报 report a case", body=_schema(REPORT_FIELDS, photos=True, after_photos=True), ok="201"),
                     "responses": {"201": {"description": "created"}, "200": {"description": "idempotent retry"},
                                   "400": _ERR, "401": _ERR, "403": _ERR, "429": _ERR}},
        },
        "/cases/map": {"get": _op("The map's viewport: the filtered cases inside bbox as points when at most 2000, "
                                  "else counts per screen cell (mode: points|cells)", params=_q(MAP_FIELDS))},
        "/cases/export": {"get": {**_op("The filtered list as CSV (UTF-8 with BOM, local times)",
                                        params=_q(EXPORT_FIELDS)),
                                  "responses": {"200": {"description": "CSV", "content": {"text/csv": {}}},
                                                "400": _ERR, "401": _ERR, "403": _ERR}}},
        "/cases/{ref}": {"get": {**_op("Case detail with timeline", params=[
            {"name": "ref", "in": "path", "required": True, "description": "case id or number",
             "schema": {"type": "string", "pattern": f"^(?:{CASE_REF_PATTERN})$"}}]),
            "responses": {"200": {"description": "OK"}, "404": _ERR, "401": _ERR}}},
        "/cases/{case_id}/candidates": {"get": {**_op(
            "The top workers for a filed or dispatched case, with the routing terms that explain each",
            params=[case_id, *_q(CANDIDATE_FIELDS)]),
            "responses": {"200": {"description": "OK"}, "404": _ERR, "409": _ERR, "401": _ERR, "403": _ERR}}},
        "/public/reports": {"get": _op("Reports of the last month for the public map (category, plain-word stage, "
                                       "public photo; never descriptions or contacts)", secured=False,
                                       params=_q(BBOX_FIELDS))},
        "/cases/{case_id}/insight": {"get": {**_op(
            "The category the report's words suggest instead (改类) and the open cases it may duplicate",
            params=[case_id]), "responses": {"200": {"description": "OK"}, "404": _ERR, "401": _ERR, "403": _ERR}}},
        "/media/{media_id}": {"get": _op("A stored photo, or a smaller copy", params=[
            {"name": "media_id", "in": "path", "required": True, "schema": _ID}, *_q(MEDIA_FIELDS)])},
        "/categories": {"get": _op("Case categories with time limits", secured=False)},
        "/departments": {"get": _op("Departments")},
        "/grids": {"get": _op("Unit grids as GeoJSON", params=_q(BBOX_FIELDS), secured=False)},
        "/grids/lookup": {"get": _op("Grid covering a point", params=_q(POSITION_FIELDS), secured=False)},
        "/kpis": {"get": _op("KPIs: on-time closure, closure, rework, delay, time to close, satisfaction, "
                             "first-time fix, dispatch accuracy",
                             params=_q(KPI_FIELDS))},
        "/kpis/export": {"get": {**_op("A league table (KPIs per group, ranked by the composite score) as CSV",
                                       params=_q(KPI_EXPORT_FIELDS)),
                                 "responses": {"200": {"description": "CSV", "content": {"text/csv": {}}},
                                               "400": _ERR, "401": _ERR, "403": _ERR}}},
        "/cameras": {"get": _op("Cameras with calibration error and live health (GeoJSON)")},
        "/cameras/{code}": {"get": {**_op("A camera: live health, today's findings per category and outcome, its "
                                          "open cases", params=[_CODE]),
                                    "responses": {"200": {"description": "OK"}, "404": _ERR, "401": _ERR,
                                                  "403": _ERR}}},
        "/cameras/{code}/snapshot": {"get": {**_op("The running camera's latest frame", params=[_CODE]),
                                             "responses": {"200": {"description": "JPEG",
                                                                   "content": {"image/jpeg": {}}},
                                                           "404": _ERR, "401": _ERR, "403": _ERR}}},
        "/cameras/{code}/calibration": {"post": _op("Save a camera's control points; answers the RMS error in metres",
                                                     params=[_CODE],
                                                     body={"required": True, "content": {"application/json": {
                                                         "schema": CALIBRATION_SCHEMA}}})},
        "/workers": {"get": _op("Field workers with position, duty and open tasks (GeoJSON)")},
        "/forecast": {"get": _op("Where problems are expected in the next hours: the top forecast cells (GeoJSON "
                                 "hexagons)", params=_q(FORECAST_FIELDS))},
        "/me/patrol": {"get": _op("My active patrol round (its cells in order, which are done)"),
                       "post": _op("Plan me a new patrol round from where I am")},
        "/me/patrol/end": {"post": _op("End my patrol round")},
        "/nearby": {"get": _op("Open cases that are likely the same problem (duplicate score)", secured=False,
                               params=_q(NEARBY_FIELDS))},
        "/me": {"get": _op("The signed-in user")},
        "/me/tasks": {"get": _op("My tasks (handle, verify, check), due first, with their stop on today's route "
                                 "(GeoJSON)")},
        "/me/position": {"post": _op("Report the device's position", body=_schema(POSITION_FIELDS))},
        "/me/duty": {"post": _op("Go on or off duty", body=_schema(DUTY_FIELDS))},
        "/categories/suggest": {"post": _op("Likeliest categories for a report's words (top 3 with confidence)",
                                            body=_schema(SUGGEST_FIELDS), secured=False)},
        "/openapi.json": {"get": _op("This document", secured=False)},
        "/events/stream": {"get": {**_op(
            "Live events (text/event-stream): case changes the user may see and their notifications; send "
            "Last-Event-ID to replay what was missed. Staff, grid workers and handlers.",
            params=[{"name": "Last-Event-ID", "in": "header", "required": False,
                     "schema": {"type": "string", "maxLength": 41}}]),
            "responses": {"200": {"description": "the stream", "content": {"text/event-stream": {}}},
                          "401": _ERR, "403": _ERR}}},
        "/notifications": {"get": _op("My notifications, unread first, with the unread count",
                                      params=_q(FEED_FIELDS))},
        "/notifications/{notification_id}/read": {"post": {**_op("Mark one of my notifications read", params=[
            {"name": "notification_id", "in": "path", "required": True, "schema": _ID}]),
            "responses": {"200": {"description": "OK"}, "404": _ERR, "401": _ERR, "403": _ERR}}},
        "/notifications/read-all": {"post": _op("Mark all my notifications read")},
    }
    for name, verb in VERBS.items():
        op = _op(verb.summary, body=_schema(verb.fields + OFFLINE_FIELDS, verb.photos), params=[case_id])
        op["responses"]["404"] = _ERR
        op["responses"]["409"] = {**_ERR, "description": "the case's status does not allow this action"}
        paths[f"/cases/{{case_id}}/{name}"] = {"post": op}
    return {
        "openapi": "3.1.0",
        "info": {"title": "智慧城管 case platform API", "version": "1.0.0"},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "token from `flask users token`"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session",
                            "description": "web session; unsafe methods also need the X-CSRFToken header"},
            },
            "responses": {"Error": {"description": "error", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"error": {"type": "object", "properties": {
                    "code": {"type": "string"}, "message": {"type": "string"}, "details": {}}}}}}}}},
        },
    }


@bp.get("/openapi.json")
def openapi():
    """Serve the OpenAPI document."""
    return jsonify(build_spec())
