"""Generator of the demo district's grids and streets (run once; the output is shipped in app/seed/data).

Streets are slightly curved arterials, a diagonal avenue and a river; the blocks they enclose are the
unit grids, so neighbouring grids share their street centre-lines exactly as real grid maps do.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

from shapely.geometry import LineString, Polygon, mapping
from shapely.ops import polygonize, unary_union

DATA = Path(__file__).resolve().parent / "data"
GRIDS_FILE = DATA / "demo_grids.geojson"
STREETS_FILE = DATA / "demo_streets.geojson"

ORIGIN = (120.130, 30.245)  # south-west corner of the demo district (lon, lat)
DISTRICT_CODE = "330199"
STREETS = [("001", "东湖街道"), ("002", "西溪街道"), ("003", "南山街道"), ("004", "北塘街道")]
COMMUNITY_NAMES = ["望江", "柳浪", "清河", "梅园", "桂花", "金沙", "春晖", "明珠", "翠苑", "文华", "新民", "长庆"]
ROAD_NAMES = ["解放路", "人民路", "建设路", "中山路", "和平路", "延安路", "庆春路", "凤起路", "体育场路", "文一路",
              "文二路", "学院路", "湖墅路", "莫干山路", "环城东路", "秋涛路"]

M_PER_DEG_LAT = 111_320.0


def _to_lonlat(x: float, y: float) -> tuple[float, float]:
    lon0, lat0 = ORIGIN
    return (round(lon0 + x / (M_PER_DEG_LAT * math.cos(math.radians(lat0))), 6), round(lat0 + y / M_PER_DEG_LAT, 6))


def _wavy(p0, p1, rng, amp=40.0, n=12) -> LineString:
    """A street from p0 to p1 in metres with a gentle random bend."""
    phase, k = rng.uniform(0, math.pi), rng.uniform(0.6, 1.4)
    (x0, y0), (x1, y1) = p0, p1
    dx, dy = x1 - x0, y1 - y0
    length = math.hypot(dx, dy)
    nx, ny = -dy / length, dx / length
    pts = []
    for i in range(n + 1):
        t = i / n
        off = amp * math.sin(phase + k * math.pi * t) * math.sin(math.pi * t)
        pts.append((x0 + dx * t + nx * off, y0 + dy * t + ny * off))
    return LineString(pts)


def generate(seed: int = 42) -> tuple[dict, dict]:
    """Return (grids FeatureCollection, streets FeatureCollection) in lon/lat."""
    rng = random.Random(seed)
    w, h = 3600.0, 2800.0
    boundary = Polygon([(0, 120), (900, 0), (2600, 60), (w, 300), (w - 120, 1700), (w, h - 200), (2200, h),
                        (700, h - 60), (0, h - 400), (80, 1300)])
    lines, named = [], []
    def gaps(n, lo, hi, start):
        out, v = [], start
        for _ in range(n):
            v += rng.uniform(lo, hi)
            out.append(v)
        return out

    xs = gaps(8, 300, 560, 0)
    ys = gaps(6, 300, 560, 0)
    for i, x in enumerate(xs):
        line = _wavy((x + rng.uniform(-150, 150), -200), (x + rng.uniform(-150, 150), h + 200), rng, amp=90)
        if i in (1, 5):  # streets that stop at a T-junction instead of crossing the district
            line = line.intersection(Polygon([(-300, -300), (w + 300, -300), (w + 300, h * 0.55), (-300, h * 0.55)]))
        lines.append(line)
    for i, y in enumerate(ys):
        line = _wavy((-200, y + rng.uniform(-120, 120)), (w + 200, y + rng.uniform(-120, 120)), rng, amp=70)
        if i == 3:
            east = Polygon([(w * 0.4, -300), (w + 300, -300), (w + 300, h + 300), (w * 0.4, h + 300)])
            line = line.intersection(east)
        lines.append(line)
    lines.append(_wavy((-200, 200), (w + 200, h - 100), rng, amp=60))  # diagonal avenue
    # A ring road arc around the old town centre.
    cx, cy, r = 1500.0, 1900.0, 820.0
    angles = [a / 40 * math.pi * 1.2 - 0.2 for a in range(41)]
    lines.append(LineString([(cx + r * math.cos(a), cy + r * math.sin(a)) for a in angles]))
    river = _wavy((-200, 1500), (w + 200, 900), rng, amp=260, n=40)
    for i, line in enumerate(lines):
        clipped = line.intersection(boundary)
        if not clipped.is_empty:
            named.append((ROAD_NAMES[i % len(ROAD_NAMES)], clipped))
    river_band = river.buffer(28)
    noded = unary_union([ln for _, ln in named] + [boundary.exterior])
    blocks = [p.difference(river_band) for p in polygonize(noded) if p.representative_point().within(boundary)]
    parts = []
    for b in blocks:
        parts.extend(getattr(b, "geoms", [b]))
    parts = [p for p in parts if p.area > 1.0]
    # Fold slivers into their longest-sharing neighbour so no grid is a crumb.
    parts.sort(key=lambda p: p.area)
    while parts and parts[0].area < 45_000:
        small = parts.pop(0)
        best = max(parts, key=lambda p: p.boundary.intersection(small.boundary).length)
        parts.remove(best)
        parts.append(unary_union([best, small]).buffer(0))
        parts.sort(key=lambda p: p.area)
    parts.sort(key=lambda p: (-round(p.centroid.y, -2), p.centroid.x))

    features = []
    counters: dict[tuple[str, int], int] = {}
    for poly in parts:
        c = poly.centroid
        street_idx = (0 if c.x < w / 2 else 1) + (0 if c.y < h / 2 else 2)
        street_code, street_name = STREETS[street_idx]
        community_idx = (1 if (c.x % (w / 2)) > w / 4 else 0) + (2 if (c.y % (h / 2)) > h / 4 else 0)
        comm_code = f"{community_idx + 1:03d}"
        comm_name = COMMUNITY_NAMES[(street_idx * 3 + community_idx) % len(COMMUNITY_NAMES)] + "社区"
        key = (street_code, community_idx)
        counters[key] = counters.get(key, 0) + 1
        code = f"{DISTRICT_CODE}{street_code}{comm_code}{counters[key]:03d}"
        ring = [_to_lonlat(x, y) for x, y in poly.exterior.coords]
        holes = [[_to_lonlat(x, y) for x, y in r.coords] for r in poly.interiors]
        geom = Polygon(ring, holes)
        if not geom.is_valid:
            geom = geom.buffer(0)
        features.append({
            "type": "Feature",
            "geometry": mapping(geom),
            "properties": {
                "code": code, "name": f"{comm_name}第{counters[key]}网格",
                "district": "示范区", "street": street_name, "community": comm_name,
            },
        })
    streets = [{"type": "Feature", "properties": {"name": name, "kind": "road"},
                "geometry": mapping(LineString([_to_lonlat(x, y) for x, y in part.coords]))}
               for name, line in named for part in getattr(line, "geoms", [line])]
    river_ll = LineString([_to_lonlat(x, y) for x, y in river.intersection(boundary).coords])
    streets.append({"type": "Feature", "properties": {"name": "运河", "kind": "river"}, "geometry": mapping(river_ll)})
    return {"type": "FeatureCollection", "features": features}, {"type": "FeatureCollection", "features": streets}


def write(seed: int = 42) -> tuple[int, int]:
    """Regenerate the shipped files; returns (grids, streets)."""
    grids, streets = generate(seed)
    DATA.mkdir(parents=True, exist_ok=True)
    GRIDS_FILE.write_text(json.dumps(grids, ensure_ascii=False), encoding="utf-8")
    STREETS_FILE.write_text(json.dumps(streets, ensure_ascii=False), encoding="utf-8")
    return len(grids["features"]), len(streets["features"])


if __name__ == "__main__":
    print(write())
