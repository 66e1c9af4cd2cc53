"""Homography calibration: exact recovery, metric RMS, degenerate input."""

import numpy as np
import pytest
from pyproj import Transformer

from vision.calibration import CalibrationError, apply_homography, calibrate, fit_homography

LON0, LAT0 = 120.15, 30.25
H_TRUE = np.array([[0.05, 0.002, -20.0], [0.001, -0.2, 150.0], [0.0, 0.004, 1.0]])


def _points(pixels, noise_m=0.0, seed=0):
    rng = np.random.default_rng(seed)
    ground = apply_homography(H_TRUE, pixels) + rng.normal(0, noise_m, (len(pixels), 2))
    to_ll = Transformer.from_crs(f"+proj=aeqd +lat_0={LAT0} +lon_0={LON0} +units=m", "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform(ground[:, 0], ground[:, 1])
    return [{"px": list(map(float, p)), "lonlat": [float(a), float(b)]}
            for p, a, b in zip(pixels, lon, lat, strict=True)]


PIXELS = np.array([[100, 700], [1800, 720], [300, 400], [1600, 420], [960, 900], [960, 500]], float)


def test_fit_recovers_a_known_homography():
    ground = apply_homography(H_TRUE, PIXELS)
    h = fit_homography(PIXELS, ground)
    assert np.allclose(apply_homography(h, PIXELS), ground, atol=1e-6)


def test_exact_points_have_zero_error_and_map_new_pixels():
    cal = calibrate(_points(PIXELS))
    assert cal.rms_m < 0.01
    expected = _points(np.array([[700.0, 650.0]]))[0]["lonlat"]
    lon, lat = cal.pixel_to_lonlat(700, 650)
    assert lon == pytest.approx(expected[0], abs=1e-7) and lat == pytest.approx(expected[1], abs=1e-7)


def test_a_ground_position_goes_back_to_its_pixel():
    cal = calibrate(_points(PIXELS))
    for x, y in ((700.0, 650.0), (150.0, 880.0), (1750.0, 430.0)):
        px = cal.lonlat_to_pixel(*cal.pixel_to_lonlat(x, y))
        assert px == pytest.approx((x, y), abs=1e-4)


def test_noisy_survey_reports_metres():
    cal = calibrate(_points(PIXELS, noise_m=0.5, seed=3))
    assert 0.05 < cal.rms_m < 1.0


@pytest.mark.parametrize(
    "points",
    [
        [{"px": [0, 0], "lonlat": [120, 30]}] * 3,
        [{"px": [i, i], "lonlat": [120 + i * 1e-4, 30 + i * 1e-4]} for i in range(5)],  # collinear
        [{"px": [0, 0]}] * 4,
        [{"px": [0, 0], "lonlat": [500, 30]} for _ in range(4)],
    ],
    ids=["too-few", "collinear", "missing-lonlat", "not-degrees"],
)
def test_bad_control_points(points):
    with pytest.raises(CalibrationError):
        calibrate(points)
