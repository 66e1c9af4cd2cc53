"""Cameras in the case platform: findings become work orders through the same case service as every source.

Also each camera's setup for its pipeline, calibration, and the camera layer (GeoJSON with live health).

A confirmed violation that is likely an open case again (the duplicate score of `app.services.duplicates`: place,
time, category and the frame's look, at DUPLICATE_THRESHOLD) adds evidence to that case instead of opening a
new one. Confident findings are
verified and filed by the automation at once (so dispatch picks them up); the others wait in the 核实
queue for a person. Evidence (annotated frame and crop) is stored like any photo, with its sha256.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from geoalchemy2.shape import to_shape
from sqlalchemy import func, select, text

from app.errors import NotFound, ValidationError
from app.extensions import db
from app.models import Camera, Case, Category
from app.models.cases import Source
from app.models.types import utcnow
from app.services import camera_leases
from app.services import cases as svc
from app.services.dispatching import system_user
from dispatch.lifecycle import OPEN_VALUES, CaseStatus
from vision.calibration import CalibrationError, GroundCalibration, calibrate
from vision.pipeline import Found
from vision.rules import Zone

log = logging.getLogger(__name__)


def camera_actor():
    """The account camera findings are recorded under (the one the demo seed also uses)."""
    return system_user("camera-bot", "视频智能识别")


def get_camera(ref: str | int) -> Camera:
    """A camera by code or id, or 404."""
    q = select(Camera).where(Camera.code == str(ref))
    if re.fullmatch(r"[0-9]{1,9}", str(ref)):  # ASCII digits: str.isdigit() also takes '¹', which int() refuses
        q = select(Camera).where((Camera.id == int(ref)) | (Camera.code == str(ref)))
    cam = db.session.scalars(q).first()
    if cam is None:
        raise NotFound(f"no camera {ref}")
    return cam


def camera_setup(camera: Camera) -> dict:
    """Zones, calibration and position for the camera's pipeline (plain values, no ORM)."""
    zones = [Zone(z.name, tuple(tuple(p) for p in z.pixel_polygon), z.kind, frozenset(z.category_codes or ()))
             for z in camera.zones]
    calibration: GroundCalibration | None = None
    if len(camera.calibration or []) >= 4:
        try:
            calibration = calibrate(camera.calibration)
        except CalibrationError as exc:
            log.warning("camera %s: calibration unusable (%s); using its position", camera.code, exc)
    p = to_shape(camera.position)
    return {"id": camera.id, "code": camera.code, "zones": zones, "calibration": calibration,
            "position": (p.x, p.y), "fps": camera.fps,
            "url": camera.detect_url or camera.stream_url}


def cameras_geojson() -> dict:
    """Every camera with its calibration error and the live health its process publishes, as GeoJSON."""
    from app.camera_runtime.health import read_health

    cams = list(db.session.scalars(select(Camera).order_by(Camera.code)))
    health = read_health([c.code for c in cams])
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": c.id,
         "geometry": {"type": "Point", "coordinates": list(to_shape(c.position).coords[0])},
         "properties": {"code": c.code, "name": c.name, "enabled": c.enabled, "heading": c.heading_deg,
                        "fps": c.fps, "calibration_rms_m": c.calibration_rms_m, "health": health[c.code],
                        "node": camera_leases.running_node(c)}}
        for c in cams]}


def camera_detail(ref: str | int, viewer_locale: str) -> dict:
    """A camera's popup: live health, its findings since local midnight per category and outcome, its open cases."""
    from app.camera_runtime.health import read_health
    from app.services.calendar import local_midnight

    cam = get_camera(ref)
    since = local_midnight()
    rows = db.session.execute(
        select(Case.category_code, Case.status, func.count()).where(Case.camera_id == cam.id,
                                                                     Case.reported_at >= since)
        .group_by(Case.category_code, Case.status)).all()
    names = {c.code: c.name(viewer_locale) for c in db.session.scalars(select(Category))}
    findings: dict[str, dict] = {}
    for code, status, n in rows:
        f = findings.setdefault(code, {"category": code, "name": names.get(code, code), "found": 0,
                                       "confirmed": 0, "rejected": 0, "waiting": 0})
        f["found"] += n
        # The label a person (or the confident detector) gave it: kept, thrown out as invalid, or not yet looked at
        outcome = ("rejected" if status is CaseStatus.INVALID else
                   "waiting" if status is CaseStatus.REPORTED else "confirmed")
        f[outcome] += n
    evidence = db.session.scalar(text(
        "SELECT count(*) FROM case_events WHERE action = 'add_evidence' AND at >= :since "
        "AND data->'detector'->>'camera' = :code"), {"since": since, "code": cam.code})
    cases = db.session.scalars(select(Case).where(Case.camera_id == cam.id, Case.status.in_(OPEN_VALUES))
                               .order_by(Case.reported_at.desc()).limit(20))
    return {"code": cam.code, "name": cam.name, "enabled": cam.enabled, "fps": cam.fps,
            "health": read_health([cam.code])[cam.code], "node": camera_leases.running_node(cam),
            "findings_today": sorted(findings.values(), key=lambda f: -f["found"]), "evidence_today": evidence,
            "open_cases": [{"id": c.id, "number": c.number, "status": c.status.value, "category": c.category_code,
                            "category_name": names.get(c.category_code, c.category_code)} for c in cases]}


def camera_snapshot(ref: str | int) -> bytes:
    """The running camera's latest frame (JPEG); 404 while it is not running."""
    from app.camera_runtime.health import read_snapshot

    jpeg = read_snapshot(get_camera(ref).code)
    if jpeg is None:
        raise NotFound(_l("This camera has sent no picture in the last two minutes."))
    return jpeg


def save_calibration(camera_ref: str | int, points) -> float:
    """Fit and store a camera's control points; return the calibration error (RMS metres)."""
    camera = get_camera(camera_ref)
    try:
        cal = calibrate(points if isinstance(points, list) else [])
    except CalibrationError as exc:
        raise ValidationError(_l("The control points cannot calibrate the camera: %(why)s"), why=str(exc)) from exc
    camera.calibration = [{"px": list(map(float, p["px"])), "lonlat": list(map(float, p["lonlat"]))} for p in points]
    camera.calibration_rms_m = round(cal.rms_m, 3)
    return camera.calibration_rms_m


def _same_problem_case(category: str, lon: float, lat: float, at: datetime, frame_jpeg: bytes) -> Case | None:
    """The open case this finding most likely shows again (duplicate score on place, time, category and the
    frame's look), or None."""
    from app.services import duplicates
    from app.services.media import perceptual_hash

    found = duplicates.matches(duplicates.sighting(category, lon, lat, at, phash=perceptual_hash(frame_jpeg)),
                               limit=1, same_category=True)
    return found[0][0] if found else None


def record_violation(camera_id: int, found: Found, model_version: str, *, at: datetime | None = None,
                     dry_run: bool = False, lease: tuple[str, int] | None = None) -> dict:
    """Create a case, or add evidence to the open one nearby; with `dry_run`, only say what would happen.

    `lease` (node, version): written only while that node still holds that lease of the camera (fencing: a node
    that lost the camera to another writes nothing).
    """
    at = at or utcnow()
    v = found.violation
    if lease is not None and not dry_run and not camera_leases.holds(camera_id, *lease):
        log.warning("camera %s: lease %s lost by node %s; finding not written", camera_id, lease[1], lease[0])
        return {"action": "skipped", "category": v.category, "reason": "lease lost"}
    camera = db.session.get(Camera, camera_id)
    detector = {"confidence": v.median_conf, "frames": v.frames, "model": model_version, "zone": v.zone,
                "anchor_px": [round(c, 1) for c in v.anchor], "located_by": found.located_by,
                "camera": camera.code, "video_ts": round(found.ts, 2)}
    existing = _same_problem_case(v.category, found.lon, found.lat, at, found.frame_jpeg)
    if existing is not None:
        if not dry_run:
            svc.add_evidence(existing.id, camera_actor(), photos=[found.frame_jpeg, found.crop_jpeg],
                             data={"detector": detector}, at=at)
        return {"action": "would_add_evidence" if dry_run else "evidence", "case": existing.number,
                "category": v.category}
    if dry_run:
        return {"action": "would_create", "category": v.category, "lon": found.lon, "lat": found.lat,
                "needs_verify": v.needs_verify}
    actor = camera_actor()
    try:
        with db.session.begin_nested():  # a refused report must not undo earlier findings of this run
            case, _ = svc.report_case(
                actor, category_code=v.category, lon=found.lon, lat=found.lat, source=Source.CAMERA,
                camera_id=camera.id, photos=[found.frame_jpeg, found.crop_jpeg], at=at,
                description=f"视频识别：{camera.name}", extra={"detector": detector},
            )
    except ValidationError as exc:
        log.info("camera %s: %s not recorded: %s", camera.code, v.category, exc.message)
        return {"action": "skipped", "category": v.category, "reason": exc.message}
    if not v.needs_verify:
        svc.verify_case(case.id, actor, valid=True, at=at)
        svc.file_case(case.id, actor, at=at)
    return {"action": "created", "case": case.number, "category": v.category, "status": case.status.value,
            "lon": round(found.lon, 7), "lat": round(found.lat, 7)}


# --- AI 核查: checks by the camera that found the problem ----------------------------------------------------


def camera_check_categories() -> set[str] | None:
    """The categories cameras may check (None: every one), from CAMERA_CHECK_CATEGORIES."""
    raw = current_app.config["CAMERA_CHECK_CATEGORIES"]
    return {c.strip() for c in raw.split(",") if c.strip()} or None


def pending_camera_checks(camera_ids: list[int]) -> list[dict]:
    """Resolved cases these cameras may check: the ones they found (at the spot in the image where they found
    them), and any other resolved case that a calibrated camera's frame shows (projected into the image)."""
    if not current_app.config["CAMERA_CHECK"] or not camera_ids:
        return []
    actor = camera_actor()
    allowed = camera_check_categories()
    waiting = (Case.status == CaseStatus.RESOLVED) & ((Case.checker_id.is_(None)) | (Case.checker_id == actor.id))
    out = []
    for cid, camera_id, category, extra in db.session.execute(
            select(Case.id, Case.camera_id, Case.category_code, Case.extra)
            .where(waiting, Case.camera_id.in_(camera_ids))):
        anchor = ((extra or {}).get("detector") or {}).get("anchor_px")
        if anchor and (allowed is None or category in allowed):
            out.append({"case_id": cid, "camera_id": camera_id, "category": category, "anchor_px": tuple(anchor)})
    taken = {p["case_id"] for p in out}
    for cam in db.session.scalars(select(Camera).where(Camera.id.in_(camera_ids), Camera.calibration.is_not(None),
                                                       Camera.frame_width.is_not(None))):
        for p in cases_in_view(cam, waiting):
            if p["case_id"] not in taken and (allowed is None or p["category"] in allowed):
                taken.add(p["case_id"])
                out.append(p)
    return out


VIEW_RADIUS_M = 300  # how far a street camera can tell a problem apart; beyond, an inspector checks


def cameras_for_check(case: Case) -> list[Camera]:
    """The cameras that could check this case: the one that found it, else calibrated ones that show its spot."""
    allowed = camera_check_categories()
    if allowed is not None and case.category_code not in allowed:
        return []
    if case.camera_id is not None:
        found = ((case.extra or {}).get("detector") or {}).get("anchor_px")
        return [db.session.get(Camera, case.camera_id)] if found else []
    near = db.session.scalars(select(Camera).where(
        Camera.calibration.is_not(None), Camera.frame_width.is_not(None), func.ST_DWithin(
            func.geography(Camera.position),
            select(func.geography(Case.location)).where(Case.id == case.id).scalar_subquery(), VIEW_RADIUS_M)))
    return [cam for cam in near if cases_in_view(cam, Case.id == case.id)]


def cases_in_view(cam: Camera, where) -> list[dict]:
    """Cases matching `where` near the camera whose position its calibration puts inside the frame."""
    try:
        cal = calibrate(cam.calibration)
    except CalibrationError:
        return []
    rows = db.session.execute(
        select(Case.id, Case.category_code, func.ST_X(Case.location), func.ST_Y(Case.location))
        .where(where, Case.camera_id.is_(None), func.ST_DWithin(
            func.geography(Case.location),
            select(func.geography(Camera.position)).where(Camera.id == cam.id).scalar_subquery(), VIEW_RADIUS_M)))
    out = []
    for cid, category, lon, lat in rows:
        px = cal.lonlat_to_pixel(lon, lat)
        if px is not None and 0 <= px[0] < cam.frame_width and 0 <= px[1] < cam.frame_height:
            out.append({"case_id": cid, "camera_id": cam.id, "category": category, "anchor_px": px})
    return out


def record_camera_check(case_id: int, passed: bool, frame_jpeg: bytes, *, looks: int, minutes: float,
                        at: datetime | None = None) -> Case | None:
    """The camera's verdict as a 核查 by the camera account, with the frame as evidence; None if already checked."""
    actor = camera_actor()
    case = db.session.get(Case, case_id)
    if case is None or case.status is not CaseStatus.RESOLVED or case.checker_id not in (None, actor.id):
        return None  # an inspector got there first, or the case moved on
    if case.checker_id is None:
        svc.assign_checker(case.id, actor, checker_id=actor.id, at=at)
    note = (f"AI 核查：{looks} 次画面（{minutes:g} 分钟内）均未见问题，核查通过" if passed else
            f"AI 核查：{looks} 次画面（{minutes:g} 分钟内）问题仍在，返工")
    return svc.check_case(case.id, actor, passed=passed, note=note, photos=[frame_jpeg], at=at)


def export_negatives(out: Path) -> int:
    """Write the camera findings people marked invalid (核实无效) as YOLO background images for retraining.

    Each invalidated camera case gives its crop (the region the detector took for a violation) as
    `images/<case number>.jpg` with an empty `labels/<case number>.txt` (nothing to find there), and a row in
    `negatives.csv` (case, category claimed, model, confidence, reason). Returns how many were written; cases
    already exported are written again (the folder is the current set, not a log).
    """
    import csv
    import shutil

    from app.models import CaseEvent
    from app.models.cases import MediaKind
    from app.services.media import media_path
    from dispatch.lifecycle import Action, CaseStatus

    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "labels").mkdir(parents=True, exist_ok=True)
    cases = db.session.scalars(select(Case).where(Case.source == Source.CAMERA, Case.status == CaseStatus.INVALID)
                               .order_by(Case.id))
    written = 0
    with open(out / "negatives.csv", "w", newline="", encoding="utf-8") as fh:
        rows = csv.writer(fh)
        rows.writerow(["case", "category", "model", "confidence", "reason"])
        for case in cases:
            crops = [m for m in case.media if m.kind is MediaKind.EVIDENCE]
            if not crops:
                continue
            crop = crops[-1]  # stored after the annotated frame: the raw region, without drawn boxes
            shutil.copyfile(media_path(crop), out / "images" / f"{case.number}.jpg")
            (out / "labels" / f"{case.number}.txt").write_text("", encoding="utf-8")
            reason = db.session.scalar(select(CaseEvent.note).where(
                CaseEvent.case_id == case.id, CaseEvent.action == Action.INVALIDATE).order_by(CaseEvent.id.desc()))
            detector = (case.extra or {}).get("detector", {})
            rows.writerow([case.number, case.category_code, detector.get("model", ""),
                           detector.get("confidence", ""), reason or ""])
            written += 1
    return written
