"""Ground calibration of a fixed camera: a homography from pixels to the ground plane.

Control points pair a pixel (x, y) with a lon/lat. The fit runs in a local azimuthal-equidistant
projection centred on the points (metres), with Hartley normalisation for numerical stability; the
reported error is the RMS distance in metres between each control point and its reprojection.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pyproj import Transformer


class CalibrationError(ValueError):
    """Control points that cannot define a homography."""


def _normaliser(pts: np.ndarray) -> np.ndarray:
    centre = pts.mean(axis=0)
    spread = np.sqrt(((pts - centre) ** 2).sum(axis=1)).mean()
    s = np.sqrt(2) / spread if spread > 0 else 1.0
    return np.array([[s, 0, -s * centre[0]], [0, s, -s * centre[1]], [0, 0, 1]])


def fit_homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """3×3 H with dst ~ H·src, least squares over ≥ 4 point pairs (DLT)."""
    src, dst = np.asarray(src, float), np.asarray(dst, float)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or len(src) < 4:
        raise CalibrationError("at least 4 control points are needed")
    ts, td = _normaliser(src), _normaliser(dst)
    s = (ts @ np.c_[src, np.ones(len(src))].T).T
    d = (td @ np.c_[dst, np.ones(len(dst))].T).T
    rows = []
    for (u, v, _), (x, y, _) in zip(s, d, strict=True):
        rows.append([u, v, 1, 0, 0, 0, -x * u, -x * v, -x])
        rows.append([0, 0, 0, u, v, 1, -y * u, -y * v, -y])
    a = np.asarray(rows)
    _, sing, vt = np.linalg.svd(a)
    if sing[-2] < 1e-9:  # rank < 8: collinear or repeated points
        raise CalibrationError("control points are degenerate (collinear or repeated)")
    h = np.linalg.inv(td) @ vt[-1].reshape(3, 3) @ ts
    return h / h[2, 2]


def apply_homography(h: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Map N×2 points through H."""
    pts = np.asarray(pts, float)
    out = (h @ np.c_[pts, np.ones(len(pts))].T).T
    return out[:, :2] / out[:, 2:3]


@dataclass
class GroundCalibration:
    """Pixel → lon/lat mapping of one camera."""

    h: np.ndarray
    lon0: float
    lat0: float
    rms_m: float

    @property
    def _inverse(self) -> Transformer:
        return Transformer.from_crs(_aeqd(self.lon0, self.lat0), "EPSG:4326", always_xy=True)

    def pixel_to_lonlat(self, x: float, y: float) -> tuple[float, float]:
        """Ground position of pixel (x, y), e.g. a box's bottom-centre."""
        (gx, gy), = apply_homography(self.h, [[x, y]])
        lon, lat = self._inverse.transform(gx, gy)
        return float(lon), float(lat)

    def lonlat_to_pixel(self, lon: float, lat: float) -> tuple[float, float] | None:
        """Where a ground position appears in the image; None when it lies behind the camera (the horizon)."""
        gx, gy = Transformer.from_crs("EPSG:4326", _aeqd(self.lon0, self.lat0), always_xy=True).transform(lon, lat)
        x, y, w = np.linalg.solve(self.h, [gx, gy, 1.0])
        if w <= 0:
            return None
        return float(x / w), float(y / w)


def _aeqd(lon0: float, lat0: float) -> str:
    return f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +datum=WGS84 +units=m +no_defs"


def calibrate(points: list[dict]) -> GroundCalibration:
    """Fit from [{"px": [x, y], "lonlat": [lon, lat]}, …]; raises CalibrationError on bad input."""
    try:
        px = np.array([p["px"] for p in points], float)
        ll = np.array([p["lonlat"] for p in points], float)
    except (KeyError, TypeError, ValueError) as exc:
        raise CalibrationError("each control point needs px [x, y] and lonlat [lon, lat]") from exc
    if px.ndim != 2 or px.shape[1:] != (2,) or ll.shape != px.shape:
        raise CalibrationError("each control point needs px [x, y] and lonlat [lon, lat]")
    if len(px) < 4:
        raise CalibrationError("at least 4 control points are needed")
    if not (np.all(np.abs(ll[:, 0]) <= 180) and np.all(np.abs(ll[:, 1]) <= 90)):
        raise CalibrationError("lonlat must be longitude/latitude in degrees")
    lon0, lat0 = ll.mean(axis=0)
    fwd = Transformer.from_crs("EPSG:4326", _aeqd(lon0, lat0), always_xy=True)
    ground = np.column_stack(fwd.transform(ll[:, 0], ll[:, 1]))
    h = fit_homography(px, ground)
    resid = apply_homography(h, px) - ground
    rms = float(np.sqrt((resid ** 2).sum(axis=1).mean()))
    return GroundCalibration(h=h, lon0=float(lon0), lat0=float(lat0), rms_m=rms)
