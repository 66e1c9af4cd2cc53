"""AI-suggested category for a citizen's first photo, from the same YOLO detector the cameras use.

The detector loads lazily, once per process, the first time a photo is checked; a missing weights file or
a machine without the vision packages simply means no suggestion (the form works the same without it).
"""

from __future__ import annotations

import io
import logging
import threading
from pathlib import Path

from flask import current_app
from flask_babel import get_locale
from PIL import Image, ImageOps

from app.extensions import db
from app.models import Category

log = logging.getLogger(__name__)
_lock = threading.Lock()
_cache: dict[tuple, object] = {}  # (weights, mtime, classmap, device, conf, imgsz) → detector, or None


def _detector():
    cfg = current_app.config
    if not cfg.get("SUGGEST_CATEGORY", True):
        return None
    weights = Path(cfg["VISION_WEIGHTS"])
    if not weights.is_file():
        return None
    key = (str(weights), weights.stat().st_mtime_ns, cfg.get("VISION_CLASSMAP") or "", cfg["VISION_DEVICE"],
           cfg["SUGGEST_MIN_CONF"], cfg["VISION_IMGSZ"])
    with _lock:  # one load per process even when several requests arrive together
        if key not in _cache:
            _cache.clear()  # new weights replace the old model instead of piling up next to it
            try:
                from vision.detector import YoloDetector, load_classmap

                classmap = load_classmap(key[2]) if key[2] else None
                _cache[key] = YoloDetector(weights, classmap, device=key[3], conf=key[4], imgsz=key[5])
            except Exception as exc:  # noqa: BLE001 - ImportError or DetectorError: no suggestions, form still works
                log.warning("category suggestion disabled: %s", exc)
                _cache[key] = None
        return _cache[key]


def suggest_category(data: bytes) -> dict | None:
    """{"code", "name", "confidence"} of the most confident detectable category in the photo, or None."""
    import numpy as np

    detector = _detector()
    if detector is None:
        return None
    with Image.open(io.BytesIO(data)) as img:
        rgb = ImageOps.exif_transpose(img).convert("RGB")
    rgb.thumbnail((1280, 1280))
    frame = np.ascontiguousarray(np.asarray(rgb)[:, :, ::-1])  # the detector takes BGR like OpenCV
    with _lock:  # one inference at a time per process: torch already uses every core it is given
        detections = detector.detect([frame])[0]
    best: dict[str, float] = {}
    for d in detections:
        best[d.category] = max(best.get(d.category, 0.0), d.conf)
    for code, conf in sorted(best.items(), key=lambda kv: -kv[1]):
        category = db.session.get(Category, code)
        if category is not None and category.active:
            return {"code": code, "name": category.name(str(get_locale() or "zh_CN")), "confidence": round(conf, 2)}
    return None
