"""Reference data (categories, departments, grids) and the signed-in user's own profile and position."""

from __future__ import annotations

from flask import Response, current_app, jsonify, request
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy import select

from app.api import bp
from app.api.cases import ANY_USER, CATEGORY
from app.api.serializers import category_json, csv_response, me_json, task_json
from app.auth import roles_required
from app.extensions import db, limiter
from app.inputs import BBOX, LAT, LON, PHASH, REPORT_TEXT, Field, bbox_arg, optional, parse, payload
from app.models import Department, Role
from app.services import catalog, grids, inspector, intel, kpis, patrol, users

POSITION_FIELDS = [LON, LAT]
SUGGEST_FIELDS = [REPORT_TEXT,
                  Field("photo_category", str, description="the photo check's suggestion, folded in", max_length=48),
                  Field("photo_confidence", float, description="its confidence", min=0, max=1)]
DUTY_FIELDS = [Field("on_duty", bool, True),
               Field("hours", float, description="length of the shift going on duty (default SHIFT_HOURS)",
                     min=0.25, max=24)]
BBOX_FIELDS = [BBOX]
NEARBY_FIELDS = [CATEGORY, LON, LAT, optional(REPORT_TEXT), PHASH]
FORECAST_FIELDS = [Field("hours", float, description="the window ahead, hours (4)", min=1, max=72),
                   Field("top", float, description="share of the district's cells shown (0.1)", min=0.01, max=1)]
KPI_FIELDS = [Field("from", str, description="ISO date or date-time (local)", max_length=40),
              Field("to", str, description="ISO date or date-time (local)", max_length=40),
              Field("group_by", str, choices=tuple(kpis.GROUPS))]


@bp.get("/categories")
def list_categories():
    """Active categories with their classes and time limits (public)."""
    return jsonify([category_json(c) for c in catalog.list_categories()])


@bp.post("/categories/suggest")
@limiter.limit(lambda: current_app.config["RATELIMIT_SUGGEST"])
def suggest_categories():
    """The likeliest categories for a report's words (public): top 3 with confidence, from the current text model,
    with the photo's suggestion folded in when the form has one."""
    args = parse(SUGGEST_FIELDS, payload())
    photo = {"code": args["photo_category"], "confidence": args.get("photo_confidence", 0.5)} \
        if args.get("photo_category") else None
    return jsonify(intel.suggest_categories(args["text"], str(get_locale() or "zh_CN"), photo=photo))


@bp.get("/departments")
@roles_required(*ANY_USER)
def list_departments():
    """Departments and their types."""
    rows = db.session.scalars(select(Department).order_by(Department.code))
    return jsonify([{"id": d.id, "code": d.code, "name": d.name, "type": d.type} for d in rows])


@bp.get("/grids")
def list_grids():
    """Unit grids as GeoJSON (public: they are the map's base layer)."""
    return jsonify(grids.grids_geojson(bbox_arg(parse(BBOX_FIELDS, request.args).get("bbox"))))


@bp.get("/nearby")
def nearby_cases():
    """Open cases that are likely the same problem (public: the report form asks before submitting)."""
    from app.services.citizen import nearby

    args = parse(NEARBY_FIELDS, request.args)
    return jsonify(nearby(args["category"], args["lon"], args["lat"], words=args.get("text") or "",
                          phash=args.get("phash")))


@bp.get("/public/reports")
@limiter.limit(lambda: current_app.config["RATELIMIT_SUGGEST"])
def public_reports():
    """Reports of the last month for the public map: category, stage in plain words, public photo (public)."""
    from app.services.citizen import public_reports as reports

    return jsonify(reports(bbox_arg(parse(BBOX_FIELDS, request.args).get("bbox")), str(get_locale() or "zh")))


@bp.get("/grids/lookup")
def lookup_grid():
    """The grid covering lon/lat, or null."""
    args = parse(POSITION_FIELDS, request.args)
    grid = grids.grid_for_point(*grids.parse_lonlat(args["lon"], args["lat"]))
    return jsonify({"grid": {"code": grid.code, "name": grid.name} if grid else None})


@bp.get("/kpis")
@roles_required(Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN)
def get_kpis():
    """Closed-loop KPIs for cases reported in [from, to), optionally per group (league tables ranked by score)."""
    args = parse(KPI_FIELDS, request.args)
    start, end = kpis.period(args.get("from"), args.get("to"))
    return jsonify(kpis.compute(start, end, args.get("group_by")))


KPI_EXPORT_FIELDS = [*KPI_FIELDS[:2], Field("group_by", str, True, choices=tuple(kpis.GROUPS))]


@bp.get("/kpis/export")
@roles_required(Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN)
def export_kpis():
    """A league table (KPIs per group, ranked by the composite score) as CSV, UTF-8 with BOM."""
    args = parse(KPI_EXPORT_FIELDS, request.args)
    out = kpis.compute(*kpis.period(args.get("from"), args.get("to")), args["group_by"])
    return csv_response(f"kpis-{args['group_by']}", *kpis.league_table(out))


@bp.get("/workers")
@roles_required(Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN)
def list_workers():
    """Field workers with position, duty and open tasks, as GeoJSON (the console's map layer)."""
    return jsonify(users.workers_geojson())


@bp.get("/forecast")
@roles_required(Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN)
def forecast_map():
    """Where problems are expected in the next hours: the top cells as GeoJSON hexagons (the console's layer)."""
    args = parse(FORECAST_FIELDS, request.args)
    return jsonify(patrol.forecast_geojson(args.get("hours", 4.0), args.get("top", 0.1)))


@bp.get("/me/patrol")
@roles_required(*inspector.FIELD_ROLES)
def my_patrol():
    """My active patrol round: its cells in order with their outlines, which are done ({"round": null}: none)."""
    return jsonify(patrol.round_json(patrol.current_round(current_user)))


@bp.post("/me/patrol")
@roles_required(*inspector.FIELD_ROLES)
def new_patrol():
    """Plan me a new round from where I am (replacing the active one)."""
    rnd = patrol.make_round(current_user)
    db.session.commit()
    return jsonify(patrol.round_json(rnd))


@bp.post("/me/patrol/end")
@roles_required(*inspector.FIELD_ROLES)
def end_patrol():
    """End my round."""
    patrol.end_round(current_user)
    db.session.commit()
    return jsonify(patrol.round_json(None))


@bp.get("/cameras")
@roles_required(Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN)
def list_cameras():
    """Cameras with position, calibration error and live health (last frame, fps, errors, reconnects)."""
    from app.services.vision import cameras_geojson

    return jsonify(cameras_geojson())


@bp.get("/cameras/<code>")
@roles_required(Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN)
def get_camera(code: str):
    """A camera's popup: live health, today's findings per category and outcome, its open cases."""
    from app.services.vision import camera_detail

    return jsonify(camera_detail(code, str(get_locale() or "zh_CN")))


@bp.get("/cameras/<code>/snapshot")
@roles_required(Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN)
def camera_snapshot(code: str):
    """The running camera's latest frame (JPEG, ≤ 640 px); 404 while it is not running."""
    from app.services.vision import camera_snapshot as snapshot

    response = Response(snapshot(code), mimetype="image/jpeg")
    response.cache_control.no_store = True  # a new frame every few seconds
    return response


@bp.post("/cameras/<code>/calibration")
@roles_required(Role.SUPERVISOR, Role.ADMIN)
def save_camera_calibration(code: str):
    """Save ≥ 4 control points {"points": [{"px": [x, y], "lonlat": [lon, lat]}, …]}; answers the RMS error."""
    from app.inputs import payload
    from app.services.vision import save_calibration

    rms = save_calibration(code, payload().get("points"))
    db.session.commit()
    return jsonify({"camera": code, "calibration_rms_m": rms})


@bp.get("/me")
@roles_required(*ANY_USER)
def me():
    """The signed-in user's profile."""
    return jsonify(me_json(current_user))


@bp.post("/me/position")
@roles_required(Role.WORKER, Role.HANDLER)
def my_position():
    """Report the device's current position."""
    args = parse(POSITION_FIELDS)
    users.report_position(current_user, args["lon"], args["lat"])
    db.session.commit()
    return jsonify(me_json(current_user))


@bp.post("/me/duty")
@roles_required(Role.WORKER, Role.HANDLER)
def my_duty():
    """Go on or off duty."""
    args = parse(DUTY_FIELDS)
    users.set_on_duty(current_user, args["on_duty"], hours=args.get("hours"))
    db.session.commit()
    return jsonify(me_json(current_user))


@bp.get("/me/tasks")
@roles_required(*inspector.FIELD_ROLES)
def my_tasks():
    """My open tasks (handle, verify, check) as GeoJSON, due first, each with its stop on today's route."""
    tasks = inspector.my_tasks(current_user)
    return jsonify({"type": "FeatureCollection", "features": [task_json(t) for t in tasks],
                    "routed": any(t.route_position for t in tasks)})
