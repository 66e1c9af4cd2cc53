"""Open311 GeoReport v2 on top of the case service: keys, service requests in, requests out."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from geoalchemy2.shape import to_shape
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.errors import Forbidden, NotFound, ValidationError
from app.extensions import db
from app.inputs import BBOX, LAT, LON, Field, bbox_arg, optional, parse
from app.models import Case, Category, Open311Key
from app.models.cases import Source
from app.models.types import utcnow
from app.services import cases as svc
from app.services.dispatching import system_user
from app.services.media import public_url
from app.vocabulary import STATUS_LABELS, label
from dispatch.lifecycle import DONE_VALUES

MAX_DESCRIPTION = svc.MAX_DESCRIPTION  # one limit for every source
MAX_DAYS = 90
MAX_ROWS = 1000


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(name: str) -> str:
    """A new API key (shown once)."""
    if not name or len(name) > 80:
        raise ValidationError("a key needs a name of at most 80 characters")
    plain = "o311_" + secrets.token_urlsafe(24)
    db.session.add(Open311Key(name=name, key_hash=_digest(plain)))
    return plain


def check_key(key: str | None) -> Open311Key:
    """The active key, or 403 (the spec's answer to a missing or bad api_key)."""
    if not isinstance(key, str) or len(key) > 128:
        raise Forbidden("api_key is missing or not valid")
    row = db.session.scalars(select(Open311Key).where(Open311Key.key_hash == _digest(key or ""),
                                                      Open311Key.revoked_at.is_(None))).first()
    if not key or row is None:
        raise Forbidden("api_key is missing or not valid")
    return row


def services() -> list[Category]:
    """Every active category is a service."""
    return list(db.session.scalars(select(Category).where(Category.active.is_(True)).order_by(Category.code)))


def service(code: str) -> Category:
    """One service, or 404."""
    cat = db.session.get(Category, code)
    if cat is None or not cat.active:
        raise NotFound(f"service_code {code} not found")
    return cat


POST_FIELDS = [
    Field("api_key", str, max_length=128), Field("service_code", str, max_length=40),
    optional(LAT), optional(LON, "long"),
    Field("address_string", str, max_length=255), Field("address_id", str, max_length=64),
    Field("description", str, max_length=MAX_DESCRIPTION), Field("media_url", str, max_length=2048),
    Field("first_name", str, max_length=40), Field("last_name", str, max_length=40),
    Field("email", str, max_length=80), Field("phone", str, max_length=40),
    Field("account_id", str, max_length=64), Field("device_id", str, max_length=64),
    Field("client_request_id", str, max_length=64), Field("jurisdiction_id", str, max_length=64),
]
MAX_ATTRIBUTES = 50


def _media_url(url: str | None) -> str | None:
    """Only http(s) links are stored and echoed (a `javascript:` or `data:` URL never reaches a client)."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
        raise ValidationError("media_url must be an http or https URL")
    return url


def post_request(form, attributes: dict[str, str]) -> tuple[Case, bool]:
    """POST requests: validate as the spec says and report through the case service.

    Returns (case, created): a retry with the same `client_request_id` under the same key returns the
    first request instead of filing a second one.
    """
    key = check_key(form.get("api_key"))
    args = parse(POST_FIELDS, form)
    code = args.get("service_code")
    if not code:
        raise ValidationError("service_code is required")
    cat = service(code)
    lat, lon, address = args.get("lat"), args.get("long"), args.get("address_string", "")
    if (lat is None or lon is None) and not address:
        raise ValidationError("lat and long, or address_string, are required")
    if lat is None or lon is None:
        raise ValidationError("this jurisdiction needs lat and long to locate a request")
    if len(attributes) > MAX_ATTRIBUTES:
        raise ValidationError(f"at most {MAX_ATTRIBUTES} attributes")
    for name, value in attributes.items():
        if len(name) > 64 or len(value) > 500:
            raise ValidationError("attribute codes may have 64 and values 500 characters at most")
    for attr in cat.attributes or []:
        value = attributes.get(attr["code"])
        if attr.get("required") and not value:
            raise ValidationError(f"attribute[{attr['code']}] is required for {code}")
        allowed = {v["key"] for v in attr.get("values") or []}
        if value and allowed and value not in allowed:
            raise ValidationError(f"attribute[{attr['code']}] must be one of {sorted(allowed)}")
    name = " ".join(p for p in (args.get("first_name"), args.get("last_name")) if p) or None
    contact = args.get("email") or args.get("phone") or None
    return svc.report_case(
        system_user("open311", "Open311"), category_code=cat.code, lon=lon, lat=lat,
        description=args.get("description", ""), address=address, source=Source.API, reporter_name=name,
        reporter_contact=contact, client_request_id=args.get("client_request_id"),
        request_scope=f"open311:{key.id}",  # a retry finds this client's request, never another client's
        extra={"open311": {"key": key.name, "attributes": attributes, "media_url": _media_url(args.get("media_url")),
                           "account_id": args.get("account_id"), "device_id": args.get("device_id")}},
    )


GET_FIELDS = [
    Field("service_request_id", str, many=True, max_length=20, max_items=100),
    Field("service_code", str, many=True, max_length=40), Field("start_date", str, max_length=40),
    Field("end_date", str, max_length=40), Field("status", str, many=True, choices=("open", "closed")),
    Field("page", int, min=1, max=100_000), Field("page_size", int, min=1, max=MAX_ROWS),
    BBOX, Field("jurisdiction_id", str, max_length=64),
]


def _parse_date(raw: str | None, name: str) -> datetime | None:
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"{name} must be a W3C date-time, e.g. 2026-11-22T08:00:00+08:00") from None
    if not 1970 <= value.year <= 2200:
        raise ValidationError(f"{name} must be between 1970 and 2200")
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def query(raw_args) -> list[Case]:
    """GET requests with the spec's filters (and page, page_size, bbox as documented extensions)."""
    args = parse(GET_FIELDS, raw_args)
    q = select(Case)
    if ids := args.get("service_request_id"):
        q = q.where(Case.number.in_(ids))
    else:
        end = _parse_date(args.get("end_date"), "end_date") or utcnow()
        start = _parse_date(args.get("start_date"), "start_date") or end - timedelta(days=MAX_DAYS)
        if start > end:
            raise ValidationError("start_date must be before end_date")
        if end - start > timedelta(days=MAX_DAYS):
            raise ValidationError(f"the date range may be at most {MAX_DAYS} days")
        q = q.where(Case.reported_at >= start, Case.reported_at <= end)
    if codes := args.get("service_code"):
        q = q.where(Case.category_code.in_(codes))
    wanted = set(args.get("status") or ())
    if wanted == {"open"}:
        q = q.where(Case.status.not_in(DONE_VALUES))
    elif wanted == {"closed"}:
        q = q.where(Case.status.in_(DONE_VALUES))
    if box := bbox_arg(args.get("bbox")):
        q = q.where(Case.location.intersects(func.ST_MakeEnvelope(*box, 4326)))
    page, size = args.get("page", 1), args.get("page_size", MAX_ROWS)
    return list(db.session.scalars(q.options(selectinload(Case.media))
                                   .order_by(Case.reported_at.desc(), Case.id.desc())
                                   .limit(size).offset((page - 1) * size)))


def get_request(number: str) -> Case:
    """One request by its service_request_id (our case number), or 404."""
    case = db.session.scalars(select(Case).where(Case.number == number[:20])).first()
    if case is None:
        raise NotFound(f"service_request_id {number} not found")
    return case


def _first_photo_url(case: Case) -> str:
    """The public copy (EXIF-free, faces and plates blurred) of the case's first photo, as an absolute URL."""
    for media in case.media:
        if url := public_url(media, external=True):
            return url
    return ""


def as_request(case: Case) -> dict:
    """A case in the spec's words (never the reporter's contact)."""
    p = to_shape(case.location)
    due = case.handle_due_at or case.dispatch_due_at
    agency = case.department.name if case.department else case.category.department_type
    return {
        "service_request_id": case.number,
        "status": "open" if case.status.is_open else "closed",
        "status_notes": label(STATUS_LABELS, case.status) + (f": {case.void_reason}" if case.void_reason else ""),
        "service_name": case.category.name_zh,
        "service_code": case.category_code,
        "description": case.description,
        "agency_responsible": agency,
        "service_notice": "",
        "requested_datetime": case.reported_at.isoformat(timespec="seconds"),
        "updated_datetime": case.updated_at.isoformat(timespec="seconds"),
        "expected_datetime": due.isoformat(timespec="seconds") if due else "",
        "address": case.address,
        "address_id": "",
        "zipcode": "",
        "lat": round(p.y, 7),
        "long": round(p.x, 7),
        "media_url": (case.extra or {}).get("open311", {}).get("media_url") or _first_photo_url(case),
    }
