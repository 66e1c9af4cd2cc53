"""Unit grids: GeoJSON import (all or nothing, with every problem reported) and point → grid lookup."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import lazy_gettext as _l
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, Point, shape
from shapely.validation import explain_validity
from sqlalchemy import bindparam, func, select, text
from sqlalchemy.orm import defer

from app.errors import ValidationError
from app.extensions import db
from app.inputs import coded_features, read_json_file
from app.models import Grid, Region, RegionLevel


@dataclass
class GridImport:
    """What an import did."""

    created: int = 0
    updated: int = 0
    regions: int = 0
    codes: list[str] = field(default_factory=list)


def parse_lonlat(lon, lat) -> tuple[float, float]:
    """Validated (lon, lat) floats from user input, or a 400 saying what is wrong."""
    try:
        lon, lat = float(lon), float(lat)
    except (TypeError, ValueError):
        raise ValidationError(_l("A location (longitude and latitude) is required.")) from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):  # NaN fails these comparisons too
        raise ValidationError(_l("The location is not a valid longitude/latitude."))
    return lon, lat


def point_sql(lon: float, lat: float):
    """A PostGIS point expression in SRID 4326 (for queries)."""
    return func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)


def point_value(lon: float, lat: float):
    """A point in SRID 4326 to store in a column.

    A value rather than an SQL expression: after a flush the ORM keeps a value but expires an expression,
    and reading the column back (to answer with the new row) would cost a query.
    """
    return from_shape(Point(lon, lat), srid=4326)


# Built once (every report runs it; building and keying it cost as much as running it). The polygon stays in the
# database, lazily loaded if a caller wants it: callers need the grid's id and name, and polygons are kilobytes.
_GRID_AT = (select(Grid).options(defer(Grid.geom))
            .where(func.ST_Covers(Grid.geom, point_sql(bindparam("lon"), bindparam("lat"))))
            .order_by(Grid.code).limit(1))


def grid_for_point(lon: float, lat: float) -> Grid | None:
    """The grid covering the point; on a shared boundary the lowest code wins (deterministic)."""
    return db.session.scalars(_GRID_AT, {"lon": lon, "lat": lat}).first()


def _validate(doc: dict) -> list[dict]:
    """Check every feature; raise one ValidationError listing every problem found."""
    pattern = re.compile(current_app.config["GRID_CODE_PATTERN"])
    problems, items = [], []
    for feat, props, code, where in coded_features(doc, pattern, f"code does not match {pattern.pattern}", problems):
        try:
            geom = shape(feat["geometry"])
        except Exception as exc:  # noqa: BLE001 - any malformed geometry is reported the same way
            problems.append(f"{where}: geometry cannot be read ({exc})")
            continue
        if geom.geom_type == "Polygon":
            geom = MultiPolygon([geom])
        if geom.geom_type != "MultiPolygon":
            problems.append(f"{where}: geometry must be a Polygon or MultiPolygon, not {geom.geom_type}")
            continue
        if geom.is_empty:
            problems.append(f"{where}: geometry is empty")
            continue
        minx, miny, maxx, maxy = geom.bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            problems.append(f"{where}: coordinates are not longitude/latitude (EPSG:4326)")
            continue
        if not geom.is_valid:
            problems.append(f"{where}: invalid geometry ({explain_validity(geom)})")
            continue
        items.append({"code": code, "name": str(props.get("name") or code), "props": props, "geom": geom})
    if problems:
        raise ValidationError(_l("The grid file has %(n)d problem(s)."), n=len(problems), details=problems)
    return items


def _region(
    code: str | None, name: str | None, level: RegionLevel, parent: Region | None, counter: list
) -> Region | None:
    if not code:
        return parent
    region = db.session.scalars(select(Region).where(Region.code == code)).first()
    if region is None:
        region = Region(code=code, name=name or code, level=level, parent=parent)
        db.session.add(region)
        counter[0] += 1
    elif name:
        region.name = name
    return region


def _hierarchy(code: str, props: dict, counter: list) -> Region | None:
    """District → street → community from properties, or from the 6+3+3+3 code prefixes."""
    derive = len(code) == 15 and code.isdigit()
    district = _region(
        props.get("district_code") or (code[:6] if derive else None), props.get("district"),
        RegionLevel.DISTRICT, None, counter,
    )
    street = _region(
        props.get("street_code") or (code[:9] if derive else None), props.get("street"),
        RegionLevel.STREET, district, counter,
    )
    return _region(
        props.get("community_code") or (code[:12] if derive else None), props.get("community"),
        RegionLevel.COMMUNITY, street, counter,
    )


def _overlaps(codes: list[str], tolerance_m2: float) -> list[str]:
    """Pairs of grids (at least one imported now) that overlap by more than the tolerance."""
    rows = db.session.execute(
        text(
            """
            SELECT a.code, b.code, ST_Area(ST_Intersection(a.geom, b.geom)::geography) AS m2
            FROM grids a JOIN grids b ON a.code < b.code AND ST_Intersects(a.geom, b.geom)
            WHERE (a.code = ANY(:codes) OR b.code = ANY(:codes))
              AND NOT ST_Touches(a.geom, b.geom)
              AND ST_Area(ST_Intersection(a.geom, b.geom)::geography) > :tol
            ORDER BY 1, 2
            """
        ),
        {"codes": codes, "tol": tolerance_m2},
    ).all()
    return [f"{a} overlaps {b} by {m2:.1f} m²" for a, b, m2 in rows]


def import_grids(source) -> GridImport:
    """Validate and upsert every grid of a GeoJSON FeatureCollection, or nothing (caller rolls back)."""
    items = _validate(read_json_file(source))
    report, counter = GridImport(), [0]
    existing = {g.code: g for g in db.session.scalars(select(Grid).where(Grid.code.in_([i["code"] for i in items])))}
    for item in items:
        community = _hierarchy(item["code"], item["props"], counter)
        grid = existing.get(item["code"])
        if grid is None:
            grid = Grid(code=item["code"])
            db.session.add(grid)
            report.created += 1
        else:
            report.updated += 1
        grid.name = item["name"]
        grid.geom = from_shape(item["geom"], srid=4326)
        grid.community = community
        grid.properties = {k: v for k, v in item["props"].items() if k not in ("code", "name")}
        report.codes.append(item["code"])
    db.session.flush()
    overlaps = _overlaps(report.codes, current_app.config["GRID_OVERLAP_TOLERANCE_M2"])
    if overlaps:
        raise ValidationError(_l("Grids overlap; nothing was imported."), details=overlaps)
    report.regions = counter[0]
    return report


def grids_geojson(bbox: tuple[float, float, float, float] | None = None) -> dict:
    """All grids (optionally within a bbox) as a GeoJSON FeatureCollection built by PostGIS."""
    where = "WHERE g.geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)" if bbox else ""
    params = dict(zip(("x0", "y0", "x1", "y1"), bbox, strict=True)) if bbox else {}
    rows = db.session.execute(
        text(
            f"""
            SELECT g.id, g.code, g.name, c.name AS community, ST_AsGeoJSON(g.geom, 6)::json AS geometry
            FROM grids g LEFT JOIN regions c ON c.id = g.community_id {where} ORDER BY g.code
            """
        ),
        params,
    ).mappings()
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": r["id"],
                "geometry": r["geometry"],
                "properties": {"code": r["code"], "name": r["name"], "community": r["community"]},
            }
            for r in rows
        ],
    }
