"""Blurring of faces and licence plates on images that the public will see (OpenCV's bundled Haar cascades).

Haar cascades are small, CPU-only and ship inside OpenCV, so the web process needs no model files or
GPU. They miss some faces (strong profile, small, dark) and the plate cascade was trained on European
plates; the detection margin and a low neighbour count trade false blurs (harmless on a public copy)
for fewer misses. Originals are never altered: staff keep the unblurred evidence.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np

# (cascade file, minNeighbors, kind, also on the mirrored image). Lower neighbour counts find more, at the
# price of false blurs. The profile cascade only knows faces turned one way: the mirror finds the others.
_CASCADES = (
    ("haarcascade_frontalface_default.xml", 4, "face", False),
    ("haarcascade_profileface.xml", 4, "face", True),
    ("haarcascade_russian_plate_number.xml", 3, "plate", False),
)
DETECT_SIDE = 1024  # detect on a copy at most this wide/high (faces down to 2 % of its shorter side)
SCALE_STEP = 1.15  # cascade pyramid step: 1.1 finds hardly more here and costs 1.6× (bench/photo_bench.py)
MARGIN = 0.15  # widen each box by this share on every side: cascades box the face tightly


@dataclass(frozen=True)
class Region:
    """A sensitive rectangle in pixel coordinates of the full image."""

    kind: str
    x: int
    y: int
    w: int
    h: int


@cache
def _classifiers() -> tuple[tuple[cv2.CascadeClassifier, int, str, bool], ...]:
    root = Path(cv2.data.haarcascades)
    out = []
    for name, neighbours, kind, mirrored in _CASCADES:
        clf = cv2.CascadeClassifier(str(root / name))
        if clf.empty():  # a broken OpenCV install must not silently publish unblurred photos
            raise RuntimeError(f"OpenCV cascade {name} could not be loaded from {root}")
        out.append((clf, neighbours, kind, mirrored))
    return tuple(out)


def find_sensitive(image: np.ndarray) -> list[Region]:
    """Faces and licence plates in a BGR or greyscale image."""
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    h, w = grey.shape
    scale = min(1.0, DETECT_SIDE / max(h, w))
    small = cv2.resize(grey, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA) if scale < 1 else grey
    small = cv2.equalizeHist(small)
    min_side = max(12, round(min(small.shape) * 0.02))
    sw = small.shape[1]
    regions = []
    # Importing Ultralytics switches OpenCV's thread pool off (for its data loaders); the cascades run over
    # the pyramid levels in parallel, so give them the cores back for this call (1.7× on 2 cores).
    before = cv2.getNumThreads()
    cv2.setNumThreads(os.cpu_count() or 1)
    try:
        for clf, neighbours, kind, mirrored in _classifiers():
            for flip in (False, True) if mirrored else (False,):
                found = clf.detectMultiScale(cv2.flip(small, 1) if flip else small, scaleFactor=SCALE_STEP,
                                             minNeighbors=neighbours, minSize=(min_side, min_side))
                for x, y, bw, bh in found:
                    x = sw - x - bw if flip else x
                    regions.append(Region(kind, round(x / scale), round(y / scale), round(bw / scale),
                                          round(bh / scale)))
    finally:
        cv2.setNumThreads(before)
    return regions


def blur_regions(image: np.ndarray, regions: list[Region]) -> np.ndarray:
    """A copy of the image with each region (plus a margin) pixelated and blurred beyond recognition."""
    out = image.copy()
    ih, iw = out.shape[:2]
    for r in regions:
        mx, my = round(r.w * MARGIN), round(r.h * MARGIN)
        x0, y0 = max(0, r.x - mx), max(0, r.y - my)
        x1, y1 = min(iw, r.x + r.w + mx), min(ih, r.y + r.h + my)
        if x1 <= x0 or y1 <= y0:
            continue
        patch = out[y0:y1, x0:x1]
        # Pixelate first (removes detail for good), then blur the blocks so it reads as "hidden", not glitch.
        tiny = cv2.resize(patch, (max(1, (x1 - x0) // 12), max(1, (y1 - y0) // 12)), interpolation=cv2.INTER_AREA)
        blocky = cv2.resize(tiny, (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)
        k = max(3, ((min(x1 - x0, y1 - y0) // 4) | 1))
        out[y0:y1, x0:x1] = cv2.GaussianBlur(blocky, (k, k), 0)
    return out


def anonymise(image: np.ndarray) -> tuple[np.ndarray, list[Region]]:
    """The image with faces and plates blurred, and the regions found."""
    regions = find_sensitive(image)
    return (blur_regions(image, regions) if regions else image), regions
