"""AI-suggested category for a citizen's first photo, from the same YOLO detector the cameras use.

The detector is loaded once per process, in a background thread: `warm_up` starts it when the web process starts
(wsgi.py, `flask serve-all`), and a photo check never waits for it — until it is ready a photo simply gets no
suggestion (the words still suggest one), so the check answers in well under a second either way. A missing
weights file or a machine without the vision packages means no suggestion; the form works the same without it.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from flask import current_app
from flask_babel import get_locale
from PIL import Image

from app.extensions import db
from app.models import Category

log = logging.getLogger(__name__)
_load_lock = threading.Lock()
_infer_lock = threading.Lock()  # one inference at a time per process: torch already uses every core it is given
_cache: dict[tuple, object] = {}  # (weights, mtime, classmap, device, conf, imgsz) → detector, or None
_loading: dict[tuple, threading.Thread] = {}


def _key() -> tuple | None:
    cfg = current_app.config
    if not cfg.get("SUGGEST_CATEGORY", True):
        return None
    weights = Path(cfg["VISION_WEIGHTS"])
    if not weights.exists():  # a .pt or .onnx file, or an OpenVINO folder
        return None
    return (str(weights), weights.stat().st_mtime_ns, cfg.get("VISION_CLASSMAP") or "", cfg["VISION_DEVICE"],
            cfg["SUGGEST_MIN_CONF"], cfg["VISION_IMGSZ"])


def _load(key: tuple) -> None:
    try:
        from vision.detector import YoloDetector, load_classmap

        classmap = load_classmap(key[2]) if key[2] else None
        detector = YoloDetector(key[0], classmap, device=key[3], conf=key[4], imgsz=key[5])
        import numpy as np

        detector.detect([np.zeros((480, 640, 3), np.uint8)])  # torch's first run is slow: not a citizen's
    except Exception as exc:  # noqa: BLE001 - ImportError or DetectorError: no suggestions, form still works
        log.warning("category suggestion disabled: %s", exc)
        detector = None
    with _load_lock:
        _cache.clear()  # new weights replace the old model instead of piling up next to it
        _cache[key] = detector


def warm_up(*, wait: bool = False) -> threading.Thread | None:
    """Start loading the detector of the current settings in the background (once); `wait` blocks until done."""
    key = _key()
    if key is None:
        return None
    with _load_lock:
        if key in _cache:
            return None
        thread = _loading.get(key)
        if thread is None:
            thread = _loading[key] = threading.Thread(target=_load, args=(key,), name="suggest-warm-up", daemon=True)
            thread.start()
    if wait:
        thread.join()
    return thread


def _detector():
    """The loaded detector, or None while it loads (the load is started here if nobody started it)."""
    key = _key()
    if key is None:
        return None
    with _load_lock:
        if key in _cache:
            return _cache[key]
    warm_up()
    return None


def suggest_for(image: Image.Image) -> dict | None:
    """{"code", "name", "confidence"} of the most confident detectable category in an RGB photo, or None (also
    while the detector is still loading)."""
    import numpy as np

    detector = _detector()
    if detector is None:
        return None
    frame = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])  # the detector takes BGR
    with _infer_lock:
        detections = detector.detect([frame])[0]
    best: dict[str, float] = {}
    for d in detections:
        best[d.category] = max(best.get(d.category, 0.0), d.conf)
    for code, conf in sorted(best.items(), key=lambda kv: -kv[1]):
        category = db.session.get(Category, code)
        if category is not None and category.active:
            return {"code": code, "name": category.name(str(get_locale() or "zh_CN")), "confidence": round(conf, 2)}
    return None
