"""Case endpoints: list/filter as GeoJSON, detail with timeline, report, and one POST per verb."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from flask import current_app, jsonify, request, send_file
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.api import bp
from app.api.serializers import case_detail, case_feature, case_table, csv_response, suggestion_json
from app.auth import request_scope, roles_required
from app.errors import Forbidden, NotFound
from app.extensions import db, limiter
from app.inputs import BBOX, CASE_REF_PATTERN, LAT, LON, Field, bbox_arg, optional, parse, photos
from app.models import Media, Role
from app.models.cases import Source
from app.models.people import STAFF_ROLES
from app.models.types import MAX_ID
from app.services import case_search as search
from app.services import cases as svc
from app.services import intel, policy
from app.services.media import PREVIEW_SIDES, media_path, preview_file
from app.vocabulary import WAITING_LABELS, label
from dispatch.lifecycle import Action, CaseStatus

A = Action

ANY_USER = tuple(Role)


@dataclass(frozen=True)
class Verb:
    """One lifecycle endpoint: POST /cases/{id}/{name}."""

    func: Callable
    action: Action  # whose role may call it at all: checked before the body is even read
    fields: list[Field] = field(default_factory=list)
    summary: str = ""
    photos: bool = False
    fixed: dict = field(default_factory=dict)


_note = Field("note", str, description="free text", max_length=svc.MAX_NOTE)
_reason = Field("reason", str, True, "why", max_length=svc.MAX_NOTE)
_priority = Field("priority", int, min=1, max=4, description="1 urgent … 4 low")


def _id(name: str, required: bool = False, description: str = "") -> Field:
    return Field(name, int, required, description, min=1, max=MAX_ID)


_rating = Field("rating", int, True, min=1, max=5)
_comment = Field("comment", str, max_length=svc.MAX_NOTE)
_minutes = Field("minutes", int, True, min=1, max=svc.MAX_DELAY_MINUTES)
_short_reason = Field("reason", str, True, "why", max_length=500)
_into = Field("into", str, True, "id or number of the open case", max_length=20, pattern=CASE_REF_PATTERN)

VERBS: dict[str, Verb] = {
    "verify": Verb(svc.verify_case, A.VERIFY, [Field("valid", bool, True), _note], "核实 verify: valid or invalid"),
    "file": Verb(svc.file_case, A.FILE, [_priority, _note], "立案 file"),
    "dispatch": Verb(svc.dispatch_case, A.DISPATCH, [_id("assignee_id"), _id("department_id"), _note],
                     "派遣 dispatch to a worker or a department"),
    "accept": Verb(svc.accept_case, A.ACCEPT, [_note], "接单 accept"),
    "handle": Verb(svc.handle_case, A.HANDLE, [_note, optional(LON), optional(LAT), Field(
        "reason", str, description="why work starts farther than ARRIVE_RADIUS_M from the case", max_length=500)],
        "处置 arrived: start handling on site (before-photos; the device's position)", photos=True),
    "feedback": Verb(svc.feedback_case, A.FEEDBACK, [_note], "反馈 feedback with after-photos", photos=True),
    "check": Verb(svc.check_case, A.CHECK_PASS, [Field("passed", bool, True), _note],
                  "核查 check: pass closes, fail reworks", photos=True),
    "evaluate": Verb(svc.evaluate_case, A.EVALUATE, [_rating, _comment], "评价 rate 1-5; 2 or less reopens"),
    "return": Verb(svc.return_case, A.RETURN, [_reason], "回退 return to the dispatcher"),
    "request-delay": Verb(svc.request_delay, A.REQUEST_DELAY, [_minutes, _short_reason], "延期 request a delay"),
    "approve-delay": Verb(svc.decide_delay, A.APPROVE_DELAY, [_note], "approve the pending delay",
                          fixed={"approve": True}),
    "reject-delay": Verb(svc.decide_delay, A.REJECT_DELAY, [_note], "reject the pending delay",
                         fixed={"approve": False}),
    "suspend": Verb(svc.suspend_case, A.SUSPEND, [_reason], "挂账 suspend (clock stops)"),
    "resume": Verb(svc.resume_case, A.RESUME, [_note], "resume a suspended case"),
    "void": Verb(svc.void_case, A.VOID, [_short_reason], "作废 void"),
    "merge": Verb(svc.merge_case, A.MERGE, [_into, _note], "merge a duplicate into another case"),
    "recategorise": Verb(svc.recategorise_case, A.RECATEGORISE,
                         [Field("category", str, True, "the right category's code", max_length=40), _note],
                         "改类 change the category before dispatch"),
    "evidence": Verb(svc.add_evidence, A.ADD_EVIDENCE, [_note], "add photos to an open case", photos=True),
}

# Every verb may carry these (the inspectors' app always does): sent once, on the case as the sender saw it.
OFFLINE_FIELDS = [
    _id("base_version", description="the case's `version` when the action was decided; 409 if others changed it"),
    Field("action_key", str, description="idempotency key: the same key again returns the case, applied once",
          max_length=64, pattern=r"[A-Za-z0-9_.:\-]{8,64}"),
]

CATEGORY = Field("category", str, True, "category code", max_length=40)

REPORT_FIELDS = [
    CATEGORY, LON, LAT,
    Field("description", str, max_length=svc.MAX_DESCRIPTION), Field("address", str, max_length=255), _priority,
    Field("reporter_name", str, max_length=80), Field("reporter_contact", str, max_length=80),
    Field("client_request_id", str, description="idempotency key: a retry by the same reporter returns the "
                                                "first case", max_length=64),
    Field("fixed_on_site", bool, description="即时处置: an inspector fixed it there and then (categories that allow "
                                             "it); `photos` are the before-photos, `after_photos` required"),
]

_date = "ISO date or date-time; local time (TIMEZONE) without an offset"
LIST_FILTERS = [
    Field("status", CaseStatus, many=True), Field("category", str, many=True, max_length=40),
    Field("grid", str, description="grid code", max_length=32), _id("assignee_id"), _id("checker_id"),
    Field("source", Source, many=True),
    BBOX,
    Field("from", str, description=_date, max_length=40), Field("to", str, description=_date, max_length=40),
    Field("q", str, description="part of a case number (finds closed cases too unless `status` is given)",
          max_length=40),
    Field("class", str, many=True, description="major class code", max_length=40), _id("department_id"),
    Field("overdue", bool, description="only cases past the deadline of the phase they are in"),
    _id("worker_id", description="handled by, or assigned to, this worker"),
    Field("kpi", str, choices=tuple(search.KPI_SETS), description="the cases behind a KPI figure (drill-down)"),
    Field("sort", str, choices=("newest", "due"), description="newest first (default) or the nearest deadline first"),
    Field("page", int, min=1, max=100_000), Field("page_size", int, min=1, max=500),
]


@bp.get("/cases")
@roles_required(*ANY_USER)
def list_cases():
    """Cases as a GeoJSON FeatureCollection, filtered and paged (newest first, or sort=due)."""
    args = parse(LIST_FILTERS, request.args)
    number = args.get("page", 1)
    size = min(args.get("page_size", 100), current_app.config["API_PAGE_SIZE_MAX"])
    rows, total = search.page(search.filtered(_with_bbox(args), current_user), args.get("sort"), number, size)
    features = [case_feature(c) for c in rows]
    if current_user.role in STAFF_ROLES:  # the verify queue says which reports' words suggest another category
        hints = intel.category_hints(rows, str(get_locale() or "zh"))
        for f in features:
            f["properties"]["category_hint"] = hints.get(f["id"])
    return jsonify({"type": "FeatureCollection", "features": features,
                    "total": total, "page": number, "page_size": size})


def _with_bbox(args: dict) -> dict:
    if "bbox" in args:
        args["bbox"] = bbox_arg(args["bbox"])
    return args


MAP_FIELDS = [f for f in LIST_FILTERS if f.name not in ("bbox", "sort", "page", "page_size")] + [
    Field("bbox", str, True, "minLon,minLat,maxLon,maxLat: the map's viewport", max_length=200),
    Field("zoom", int, True, "the map's zoom level (cell size when aggregated)", min=0, max=22),
    Field("cells", bool, description="always counts per cell (the dashboard's heat map), never points"),
]


@bp.get("/cases/map")
@roles_required(*STAFF_ROLES, Role.WORKER, Role.HANDLER)
def map_cases():
    """The viewport's cases for the map: points when few, else counts per screen cell (same filters as the list)."""
    args = _with_bbox(parse(MAP_FIELDS, request.args))
    return jsonify({"type": "FeatureCollection",
                    **search.viewport(search.filtered(args, current_user), args["zoom"], args["bbox"],
                                      limit=0 if args.get("cells") else search.VIEWPORT_POINT_LIMIT)})


EXPORT_FIELDS = [f for f in LIST_FILTERS if f.name not in ("page", "page_size")]


@bp.get("/cases/export")
@roles_required(*STAFF_ROLES)
def export_cases():
    """The filtered list as CSV (UTF-8 with BOM, local times), at most EXPORT_MAX_ROWS rows."""
    args = _with_bbox(parse(EXPORT_FIELDS, request.args))
    q = search.order(search.filtered(args, current_user), args.get("sort"))
    return csv_response("cases", *case_table(q, current_app.config["EXPORT_MAX_ROWS"]))


@bp.get("/cases/<ref>")
@roles_required(*ANY_USER)
def get_case(ref: str):
    """One case by id or number, with its timeline."""
    case = svc.visible_case(ref, current_user)
    return jsonify(case_detail(case, current_user, svc.timeline(case)))


@bp.post("/cases")
@roles_required(*ANY_USER)
@limiter.limit(lambda: current_app.config["RATELIMIT_REPORT"])
def create_case():
    """上报: report a problem (JSON, or multipart with `photos`)."""
    args = parse(REPORT_FIELDS)
    args["category_code"] = args.pop("category")
    case, created = svc.report_case(current_user, photos=photos(), after_photos=photos("after_photos"),
                                    request_scope=request_scope(), **args)
    # Serialized from the rows just flushed, which are what the commit makes permanent: reading them back after
    # the commit (every attribute expires) cost a third of a report's time in bench/load.py.
    body = case_detail(case, current_user, svc.timeline(case))
    db.session.commit()
    return jsonify(body), 201 if created else 200


CANDIDATE_FIELDS = [Field("k", int, min=1, max=10, description="how many (3)")]


@bp.get("/cases/<id:case_id>/candidates")
@roles_required(*STAFF_ROLES)
def case_candidates(case_id: int):
    """The workers a routing round would rate best for a filed or dispatched case, and why (派遣 by hand)."""
    from app.services.dispatching import suggest_workers

    k = parse(CANDIDATE_FIELDS, request.args).get("k", 3)
    case, picks, users, why = suggest_workers(case_id, current_user, k=k)
    return jsonify({"case": case.number, "candidates": [suggestion_json(p, users[p.worker_id]) for p in picks],
                    "waiting": label(WAITING_LABELS, why) if why and not picks else None})


@bp.get("/cases/<id:case_id>/insight")
@roles_required(*STAFF_ROLES)
def case_insight(case_id: int):
    """Before acting: the category the report's words suggest instead (改类), and its possible duplicates."""
    from app.services import duplicates

    case = svc.visible_case(case_id, current_user)
    return jsonify(duplicates.insight(case, str(get_locale() or "zh")))


@bp.post("/cases/<id:case_id>/<verb>")
@roles_required(*ANY_USER)
def case_verb(case_id: int, verb: str):
    """Run one lifecycle verb; 409 when the case's status does not allow it."""
    spec = VERBS.get(verb)
    if spec is None:
        raise NotFound(_l("Unknown action: %(verb)s"), verb=verb)
    policy.check_role(current_user, spec.action)
    args = parse(spec.fields + OFFLINE_FIELDS) | spec.fixed
    if spec.photos:
        args["photos"] = photos()
    case, applied = svc.perform(spec.func, case_id, current_user, **args)
    db.session.commit()  # the follow-ups (dispatch round, check task, learning) run after it: app/domain_events.py
    body = case_detail(case, current_user, svc.timeline(case))
    body["properties"]["applied"] = applied  # false: this action key was applied before; nothing was done again
    return jsonify(body)


MEDIA_FIELDS = [Field("size", str, choices=tuple(PREVIEW_SIDES), description="a smaller copy: thumb (160 px) or "
                                                                             "view (800 px); the original without")]


@bp.get("/media/<id:media_id>")
@roles_required(*STAFF_ROLES, Role.WORKER, Role.HANDLER, Role.CITIZEN)
def media_file(media_id: int):
    """A stored photo (originals are private: staff, field workers and the case's reporter), or a smaller copy."""
    size = parse(MEDIA_FIELDS, request.args).get("size")
    media = db.session.get(Media, media_id)
    if media is None:
        raise NotFound()
    if current_user.role is Role.CITIZEN and not (media.case is not None and media.case.reporter_id == current_user.id):
        raise Forbidden()
    if size:
        return send_file(preview_file(media, size), mimetype="image/jpeg", max_age=86400)
    return send_file(media_path(media), mimetype=media.mime, max_age=3600)
