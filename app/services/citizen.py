"""The citizen side: snap-and-report (随手拍) from the public form, the private tracking link, rating."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.errors import NotFound, ValidationError
from app.extensions import db
from app.inputs import CASE_REF_PATTERN, LAT, LON, Field, optional
from app.models import Case, Role, User
from app.models.cases import MediaKind, Source
from app.models.types import utcnow
from app.services import cases as svc
from app.services import points, updates
from app.services.calendar import get_calendar
from app.services.media import exif_gps, perceptual_hash, phash_from_hex, phash_hex, photo_preview, public_url
from app.services.suggest import suggest_for
from app.vocabulary import PUBLIC_EVENT_LABELS, PUBLIC_STATUS_LABELS, STATUS_LABELS, label
from dispatch.lifecycle import TERMINAL, Action, CaseStatus

log = logging.getLogger(__name__)
MAX_PHOTOS = 3
# The public form's fields (the category is checked by the case service, which names it in the user's words).
REPORT_FORM = [
    Field("category", str, max_length=40), optional(LON), optional(LAT),  # no pin: the photo's EXIF GPS
    Field("description", str, max_length=svc.MAX_DESCRIPTION),
    Field("address", str, max_length=255), Field("contact", str, max_length=80),
    Field("request_id", str, max_length=64), Field("join", str, max_length=20, pattern=CASE_REF_PATTERN),
    Field("website", str, max_length=200),
]


def _reporter(user: User | None) -> User | None:
    """Signed-in citizens report as themselves; anyone else reports anonymously."""
    return user if user is not None and user.is_authenticated and user.role is Role.CITIZEN else None


CREATED, REPEATED, JOINED = "created", "repeated", "joined"


def submit(form: dict, photos: list[bytes], user: User | None = None, *, device: str | None = None
           ) -> tuple[Case, str]:
    """Create a case from the form (or add the photos to the case the citizen says it duplicates).

    Returns (the case, CREATED | REPEATED | JOINED). `device` (the form's device cookie) scopes an
    anonymous reporter's request id, so a retry finds their own first case and nobody else's. A joined
    case is someone else's: the caller must not hand out its tracking link.
    """
    if form.get("website"):  # the honeypot field people never see
        log.info("snap-and-report: honeypot filled, refused")
        raise ValidationError(_l("The report could not be accepted."))
    if not photos:
        raise ValidationError(_l("Please add at least one photo."))
    if len(photos) > MAX_PHOTOS:
        raise ValidationError(_l("At most %(n)d photos, please."), n=MAX_PHOTOS)
    reporter = _reporter(user)
    if join := form.get("join"):
        case = svc.get_case(join)
        if not case.status.is_open:
            raise ValidationError(_l("That case is no longer open; please report a new one."))
        svc.add_evidence(case.id, None, photos=photos, note=(form.get("description") or "")[:1000],
                         data={"joined_by_citizen": True, **({"citizen_id": reporter.id} if reporter else {})})
        updates.subscribe(case, form.get("contact"))  # "same problem": they follow that case from now on
        return case, JOINED
    lon, lat = form.get("lon"), form.get("lat")
    if lon is None or lat is None:  # no pin: the photo's own GPS, when it has one
        lon, lat = exif_gps(photos[0]) or (lon, lat)
    case, created = svc.report_case(
        reporter, category_code=form.get("category") or "", lon=lon, lat=lat,
        description=form.get("description") or "", address=form.get("address") or "", photos=photos,
        source=Source.CITIZEN, reporter_contact=form.get("contact") or None,
        client_request_id=form.get("request_id") or None,
        request_scope=None if reporter is not None or not device else f"device:{device}",
    )
    return _with_token(case), CREATED if created else REPEATED


def _with_token(case: Case) -> Case:
    if not case.tracking_token:
        case.tracking_token = secrets.token_urlsafe(32)
    return case


def by_token(token: str) -> Case:
    """The case behind a private tracking link, or 404."""
    case = db.session.scalars(select(Case).where(Case.tracking_token == token)).first() if token else None
    if case is None:
        raise NotFound(_l("This tracking link is not valid."))
    return case


def rate(token: str, rating, comment: str = "") -> Case:
    """The reporter rates their closed case through the private link (≤ 2 reopens it)."""
    case = by_token(token)
    return svc.evaluate_case(case.id, None, rating=rating, comment=comment, by_tracking_link=True)


def check_photo(data: bytes) -> dict:
    """The form's first look at a photo: refused as on submit, else where it was taken and what it shows."""
    preview = photo_preview(data, current_app.config["MAX_IMAGE_PIXELS"])  # decoded once, at reduced scale
    found = exif_gps(data)
    return {"gps": {"lon": round(found[0], 7), "lat": round(found[1], 7)} if found else None,
            "suggestion": suggest_for(preview), "phash": phash_hex(perceptual_hash(preview))}


def public_photos(case: Case) -> list[dict]:
    """The case's photos as the public may see them (blurred, EXIF-free copies), with what each shows.

    A photo whose copy is still being made has `url` None: the page says so instead of showing anything.
    """
    return [{"url": public_url(m), "kind": m.kind.value} for m in case.media]


def my_reports(user: User) -> dict:
    """The citizen's own reports (newest first) with their tracking links, points per case and balance."""
    cases = list(db.session.scalars(select(Case).where(Case.reporter_id == user.id)
                                    .order_by(Case.reported_at.desc()).limit(200)))
    for case in cases:
        _with_token(case)
    return {"cases": cases, "balance": points.balance(user), "earned": points.points_by_case(user)}


def nearby(category: str, lon, lat, *, words: str = "", phash: str | None = None) -> list[dict]:
    """Open cases that are likely the same problem as the report being written (public facts only), best first.

    The duplicate score weighs place, time, category and, when the form has them, the words and the photo.
    """
    from app.services import duplicates
    from app.services.grids import parse_lonlat

    lon, lat = parse_lonlat(lon, lat)
    new = duplicates.sighting(category, lon, lat, utcnow(), words=words,
                              phash=phash_from_hex(phash) if phash else None)
    locale = str(get_locale() or "zh")
    return [{"number": c.number, "category_name": c.category.name(locale), "status": c.status.value,
             "status_label": label(STATUS_LABELS, c.status),
             "distance_m": why["distance_m"], "score": why["score"], "reported_at": c.reported_at.isoformat()}
            for c, why in duplicates.matches(new)]


# --- the tracking page and the public map, in citizens' words ----------------------------------------------

PUBLIC_MAP_DAYS = 30  # the front page's map shows reports of the last month
PUBLIC_MAP_LIMIT = 300


def expected_finish(case: Case) -> tuple[datetime | None, bool]:
    """(when the problem should be fixed, whether that is an estimate), or (None, False) when nothing is due.

    While someone is sent it is the handling deadline; before that, the dispatch deadline (or now) plus the
    category's handling time on the district's calendar — an estimate.
    """
    if case.status is CaseStatus.CLOSED:
        return case.closed_at, False
    if case.status is CaseStatus.RESOLVED:
        return case.resolved_at, False
    if case.handle_due_at is not None and case.status.is_open and case.status is not CaseStatus.SUSPENDED:
        return case.handle_due_at, False
    if case.status in (CaseStatus.REPORTED, CaseStatus.VERIFIED, CaseStatus.FILED):
        cat = case.category
        start = max(case.dispatch_due_at or utcnow(), utcnow())
        return get_calendar().add(start, cat.handle_minutes, cat.time_basis), True
    return None, False


def tracking(case: Case) -> dict:
    """What the reporter's private page shows: the stage in plain words, where, when it should be fixed, what
    the team said, and the history without the internal steps."""
    events = [e for e in svc.timeline(case) if e.action in PUBLIC_EVENT_LABELS]
    note = next((e for e in reversed(events) if e.action in (Action.FEEDBACK, Action.FIX_ON_SITE,
                                                              Action.INVALIDATE, Action.VOID) and e.note), None)
    finish, estimate = expected_finish(case)
    return {
        "stage": label(PUBLIC_STATUS_LABELS, case.status),
        "events": [{"at": e.at, "text": label(PUBLIC_EVENT_LABELS, e.action),
                    "by_camera": e.action in (Action.CHECK_PASS, Action.CHECK_FAIL) and e.actor is not None
                    and e.actor.role is Role.SYSTEM} for e in events],
        "note": {"text": note.note, "reason": note.action in (Action.INVALIDATE, Action.VOID)} if note else None,
        "finish": finish, "estimate": estimate, "lonlat": [round(case.lon, 6), round(case.lat, 6)],
        "merged_into": case.merged_into.number if case.merged_into else None,
    }


def public_reports(bbox: tuple[float, float, float, float] | None, locale: str) -> dict:
    """Recent reports for the public map as GeoJSON: category, stage, date and public photo copies only — never
    the description, the reporter or a contact."""
    since = utcnow() - timedelta(days=PUBLIC_MAP_DAYS)
    # Invalid, void and merged reports are not problems to show.
    q = (select(Case).where(Case.reported_at >= since, Case.status.not_in(TERMINAL))
         .options(selectinload(Case.media)).order_by(Case.reported_at.desc()).limit(PUBLIC_MAP_LIMIT))
    if bbox is not None:
        q = q.where(func.ST_Intersects(Case.location, func.ST_MakeEnvelope(*bbox, 4326)))
    features = []
    for case in db.session.scalars(q):
        photo = next((public_url(m) for m in case.media if m.kind is MediaKind.EVIDENCE and m.public_path), None)
        features.append({"type": "Feature", "id": case.number,
                         "geometry": {"type": "Point", "coordinates": [round(case.lon, 6), round(case.lat, 6)]},
                         "properties": {"number": case.number, "category": case.category.name(locale),
                                        "status": case.status.value,
                                        "stage": label(PUBLIC_STATUS_LABELS, case.status),
                                        "done": case.status is CaseStatus.CLOSED,
                                        "reported_at": case.reported_at.isoformat(), "photo": photo}})
    return {"type": "FeatureCollection", "features": features, "days": PUBLIC_MAP_DAYS}
