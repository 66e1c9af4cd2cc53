"""The camera register: a district's cameras imported from one GeoJSON file (`flask cameras import`).

Each camera is a Point feature whose properties give its code, name, streams, sampling rate, heading, zones and
ground calibration. A camera's `detect_url` is the stream detection reads — typically the camera's sub-stream
(e.g. 640×360 at a few fps): decoding it costs a fraction of the main stream's, and the detector resizes to 640
anyway. `stream_url` is the main stream, read for detection only when no sub-stream is given.

The import is all or nothing: every problem of every feature is listed at once and nothing is stored; a camera
already registered (same code) is updated, its zones replaced only when the file gives them, its leases and
findings kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.errors import ValidationError
from app.extensions import db
from app.inputs import coded_features, read_json_file
from app.models import Camera, CameraZone, Category
from app.services.camera_leases import running_node
from app.services.grids import point_value
from vision.calibration import CalibrationError, calibrate

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
ZONE_KINDS = ("watch", "ignore", "no_parking")
MAX_FPS = 10.0  # a 1-fps street camera is the norm; above 10 the gate and tracker gain nothing


@dataclass
class CameraImport:
    """What an import did."""

    created: int = 0
    updated: int = 0
    codes: list[str] = field(default_factory=list)


def _url(value, where: str, name: str, problems: list[str], required: bool) -> str:
    url = str(value or "").strip()
    if not url:
        if required:
            problems.append(f"{where}: missing properties.{name}")
    elif len(url) > 500 or any(ch.isspace() for ch in url):
        problems.append(f"{where}: {name} must be one URL or path without spaces, at most 500 characters")
    return url


def _number(props: dict, name: str, where: str, problems: list[str], lo: float, hi: float,
            default=None, integer: bool = False):
    value = props.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or (integer and value != int(value)):
        problems.append(f"{where}: {name} must be a {'whole ' if integer else ''}number")
        return None
    if not lo <= value <= hi:
        problems.append(f"{where}: {name} must be between {lo:g} and {hi:g}")
        return None
    return int(value) if integer else float(value)


def _zones(value, where: str, known: set[str], problems: list[str]) -> list[dict] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        problems.append(f"{where}: zones must be a list")
        return None
    zones = []
    for j, z in enumerate(value):
        at = f"{where} zone {j}"
        if not isinstance(z, dict):
            problems.append(f"{at}: must be an object")
            continue
        kind = z.get("kind", "watch")
        if kind not in ZONE_KINDS:
            problems.append(f"{at}: kind must be one of {', '.join(ZONE_KINDS)}")
        poly = z.get("polygon")
        if not (isinstance(poly, list) and len(poly) >= 3 and all(
                isinstance(p, list) and len(p) == 2 and all(isinstance(v, int | float) and not isinstance(v, bool)
                                                             and v >= 0 for v in p) for p in poly)):
            problems.append(f"{at}: polygon must list at least 3 [x, y] pixel points (x, y ≥ 0)")
        cats = z.get("categories") or []
        if not isinstance(cats, list) or (unknown := sorted({str(c) for c in cats} - known)):
            problems.append(f"{at}: unknown categories {unknown if isinstance(cats, list) else cats}")
        zones.append({"name": str(z.get("name") or f"zone {j + 1}")[:80], "kind": kind, "polygon": poly,
                      "categories": [str(c) for c in cats] if isinstance(cats, list) else []})
    return zones


def _calibration(value, where: str, problems: list[str]) -> tuple[list | None, float | None]:
    if value is None:
        return None, None
    try:
        return value, round(calibrate(value).rms_m, 3)
    except (CalibrationError, TypeError, ValueError, KeyError) as exc:
        problems.append(f"{where}: calibration unusable ({exc})")
        return None, None


def _validate(doc: dict) -> list[dict]:
    """Check every feature; raise one ValidationError listing every problem found."""
    known = set(db.session.scalars(select(Category.code)))
    problems, items = [], []
    for feat, props, code, where in coded_features(doc, CODE, "code must be 1-32 letters, digits, '_', '.' or '-'",
                                                   problems):
        geom = feat.get("geometry")
        coords = geom.get("coordinates") if isinstance(geom, dict) and geom.get("type") == "Point" else None
        if not (isinstance(coords, list) and len(coords) >= 2
                and all(isinstance(v, int | float) and not isinstance(v, bool) for v in coords[:2])
                and -180 <= coords[0] <= 180 and -90 <= coords[1] <= 90):
            problems.append(f"{where}: geometry must be a Point in longitude/latitude (EPSG:4326)")
            coords = None
        enabled = props.get("enabled", True)
        if not isinstance(enabled, bool):
            problems.append(f"{where}: enabled must be true or false")
        calibration, rms = _calibration(props.get("calibration"), where, problems)
        items.append({
            "code": code, "name": str(props.get("name") or code).strip()[:120], "lonlat": coords,
            "stream_url": _url(props.get("stream_url"), where, "stream_url", problems, required=True),
            "detect_url": _url(props.get("detect_url"), where, "detect_url", problems, required=False),
            "fps": _number(props, "fps", where, problems, 0.05, MAX_FPS, default=1.0),
            "heading": _number(props, "heading", where, problems, 0, 360),
            "width": _number(props, "frame_width", where, problems, 16, 16384, integer=True),
            "height": _number(props, "frame_height", where, problems, 16, 16384, integer=True),
            "enabled": enabled, "zones": _zones(props.get("zones"), where, known, problems),
            "calibration": calibration, "rms": rms,
        })
    if problems:
        raise ValidationError(_l("The camera file has %(n)d problem(s)."), n=len(problems), details=problems)
    return items


def import_cameras(source) -> CameraImport:
    """Validate and upsert every camera of a GeoJSON FeatureCollection, or nothing (caller commits or rolls back)."""
    items = _validate(read_json_file(source))
    report = CameraImport()
    existing = {c.code: c for c in db.session.scalars(
        select(Camera).where(Camera.code.in_([i["code"] for i in items])))}
    for item in items:
        cam = existing.get(item["code"])
        if cam is None:
            cam = Camera(code=item["code"], calibration=[])
            db.session.add(cam)
            report.created += 1
        else:
            report.updated += 1
        cam.name, cam.stream_url, cam.detect_url = item["name"], item["stream_url"], item["detect_url"]
        cam.position = point_value(*item["lonlat"][:2])
        cam.fps, cam.heading_deg, cam.enabled = item["fps"], item["heading"], item["enabled"]
        cam.frame_width, cam.frame_height = item["width"], item["height"]
        if item["calibration"] is not None:
            cam.calibration, cam.calibration_rms_m = item["calibration"], item["rms"]
        if item["zones"] is not None:
            cam.zones = [CameraZone(name=z["name"], kind=z["kind"], pixel_polygon=z["polygon"],
                                    category_codes=z["categories"]) for z in item["zones"]]
        report.codes.append(item["code"])
    db.session.flush()
    return report


def _without_credentials(url: str) -> str:
    """rtsp://user:secret@host/… → rtsp://***@host/…: a listing must not show a camera's password."""
    return re.sub(r"^([a-z][a-z0-9+.-]*://)[^/@]*@", r"\1***@", url, flags=re.I)


def register() -> list[dict]:
    """Every camera for `flask cameras list`: the stream detection reads has its credentials hidden."""
    return [{"code": c.code, "name": c.name, "enabled": c.enabled, "fps": c.fps, "node": running_node(c),
             "detect": _without_credentials(c.detect_url or c.stream_url), "sub_stream": bool(c.detect_url)}
            for c in db.session.scalars(select(Camera).order_by(Camera.code))]
