"""OpenAPI 3.1 document for /api/v1, generated from the same tables the views use."""

from __future__ import annotations

from flask import jsonify

from app.api import bp
from app.api.cases import LIST_FILTERS, REPORT_FIELDS, VERBS
from app.api.inputs import Field
from app.api.reference import DUTY_FIELDS, POSITION_FIELDS

_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean"}
_ERR = {"$ref": "#/components/responses/Error"}


def _schema(fields: list[Field], photos: bool = False) -> dict:
    props = {f.name: {"type": _TYPES[f.type], **({"description": f.description} if f.description else {})}
             for f in fields}
    required = [f.name for f in fields if f.required]
    json_schema = {"type": "object", "properties": props, **({"required": required} if required else {})}
    content = {"application/json": {"schema": json_schema}}
    form = {"type": "object", "properties": dict(props), **({"required": required} if required else {})}
    if photos:
        form["properties"]["photos"] = {"type": "array", "items": {"type": "string", "format": "binary"}}
    content["multipart/form-data"] = {"schema": form}
    return {"required": bool(required), "content": content}


def _op(summary: str, *, body=None, params=None, ok="200", secured=True) -> dict:
    op = {"summary": summary, "responses": {ok: {"description": "OK"}, "400": _ERR}}
    if secured:
        op["responses"].update({"401": _ERR, "403": _ERR})
    if body:
        op["requestBody"] = body
    if params:
        op["parameters"] = params
    return op


def _q(name: str, type_: str = "string") -> dict:
    return {"name": name, "in": "query", "required": False, "schema": {"type": type_}}


def build_spec() -> dict:
    """The whole document."""
    case_id = {"name": "case_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    paths = {
        "/cases": {
            "get": _op("List cases as GeoJSON", params=[_q(n) for n in LIST_FILTERS]),
            "post": {**_op("上报 report a case", body=_schema(REPORT_FIELDS, photos=True), ok="201"),
                     "responses": {"201": {"description": "created"}, "200": {"description": "idempotent retry"},
                                   "400": _ERR, "401": _ERR, "403": _ERR, "429": _ERR}},
        },
        "/cases/{ref}": {"get": {**_op("Case detail with timeline", params=[
            {"name": "ref", "in": "path", "required": True, "schema": {"type": "string"}}]),
            "responses": {"200": {"description": "OK"}, "404": _ERR, "401": _ERR}}},
        "/media/{media_id}": {"get": _op("A stored photo", params=[
            {"name": "media_id", "in": "path", "required": True, "schema": {"type": "integer"}}])},
        "/categories": {"get": _op("Case categories with time limits", secured=False)},
        "/departments": {"get": _op("Departments")},
        "/grids": {"get": _op("Unit grids as GeoJSON", params=[_q("bbox")], secured=False)},
        "/grids/lookup": {"get": _op("Grid covering a point", params=[_q("lon", "number"), _q("lat", "number")],
                                     secured=False)},
        "/kpis": {"get": _op("KPIs: on-time closure, closure, rework, delay, time to close, satisfaction, "
                             "first-time fix, dispatch accuracy",
                             params=[_q("from"), _q("to"), _q("group_by")])},
        "/cameras": {"get": _op("Cameras with calibration error and live health (GeoJSON)")},
        "/cameras/{code}/calibration": {"post": _op("Save a camera's control points; answers the RMS error in metres",
                                                     params=[{"name": "code", "in": "path", "required": True,
                                                              "schema": {"type": "string"}}])},
        "/workers": {"get": _op("Field workers with position, duty and open tasks (GeoJSON)")},
        "/nearby": {"get": _op("Open cases of a category within 100 m", secured=False,
                               params=[_q("category"), _q("lon", "number"), _q("lat", "number")])},
        "/me": {"get": _op("The signed-in user")},
        "/me/position": {"post": _op("Report the device's position", body=_schema(POSITION_FIELDS))},
        "/me/duty": {"post": _op("Go on or off duty", body=_schema(DUTY_FIELDS))},
        "/openapi.json": {"get": _op("This document", secured=False)},
    }
    for name, verb in VERBS.items():
        op = _op(verb.summary, body=_schema(verb.fields, verb.photos), params=[case_id])
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
