"""Faces and licence plates are found with OpenCV's bundled cascades and made unrecognisable."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from vision.privacy import Region, anonymise, blur_regions, find_sensitive
from vision.synth import background

# Real photographs that ship with Ultralytics (a dev/test dependency): people and a bus in a street.
ASSETS = Path(__import__("ultralytics").__file__).parent / "assets"


def sharpness(img: np.ndarray) -> float:
    """Variance of the Laplacian: high for detailed patches, near zero once blurred."""
    return float(cv2.Laplacian(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


def overlaps(r: Region, box: tuple[int, int, int, int]) -> bool:
    x0, y0, x1, y1 = box
    return r.x < x1 and r.x + r.w > x0 and r.y < y1 and r.y + r.h > y0


def test_faces_in_a_street_photo_are_found():
    img = cv2.imread(str(ASSETS / "bus.jpg"))
    regions = find_sensitive(img)
    faces = [r for r in regions if r.kind == "face"]
    # The two pedestrians in front of the bus: their heads are near (120–170, 420–470) and (265–320, 420–480).
    assert any(overlaps(r, (110, 410, 180, 480)) for r in faces)
    assert any(overlaps(r, (255, 410, 330, 490)) for r in faces)
    # Nothing is reported far below the heads, on the pavement.
    assert not [r for r in regions if r.y > 800]


def test_a_photo_without_people_or_cars_is_left_alone():
    import random

    img = background(960, 720, random.Random(3))
    hidden, regions = anonymise(img)
    assert regions == [] and hidden is img


def test_blurring_removes_detail_inside_the_region_only():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (400, 600, 3), dtype=np.uint8)  # pure detail everywhere
    before = img.copy()
    region = Region("face", 200, 100, 120, 120)
    out = blur_regions(img, [region])
    inside = (slice(100, 220), slice(200, 320))
    assert sharpness(out[inside]) < sharpness(img[inside]) / 20
    untouched = np.ones(img.shape[:2], bool)
    untouched[100 - 18:220 + 18, 200 - 18:320 + 18] = False  # the region plus its margin
    assert np.array_equal(out[untouched], img[untouched])
    assert np.array_equal(img, before)  # the original (the staff's evidence) is never altered


@pytest.mark.parametrize("region", [Region("plate", -50, -50, 40, 40), Region("plate", 590, 390, 100, 100)])
def test_regions_at_or_beyond_the_edge_are_clipped(region):
    img = np.full((400, 600, 3), 128, np.uint8)
    assert blur_regions(img, [region]).shape == img.shape
