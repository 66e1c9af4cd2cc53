"""One camera's pipeline: gate → detect → rules → geolocate → evidence. No I/O beyond its callbacks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from vision.calibration import GroundCalibration
from vision.detector import Detector
from vision.gating import ChangeGate
from vision.rules import Detection, RuleEngine, Violation


@dataclass
class Found:
    """A confirmed violation with its place on the map and its evidence images (JPEG bytes)."""

    violation: Violation
    lon: float
    lat: float
    frame_jpeg: bytes
    crop_jpeg: bytes
    ts: float
    located_by: str  # "calibration" or "camera position"


def evidence(frame: np.ndarray, v: Violation, label: str) -> tuple[bytes, bytes]:
    """The full frame with the box drawn and a crop around the object, as JPEG."""
    x1, y1, x2, y2 = (int(round(c)) for c in v.box)
    annotated = frame.copy()
    cv2.rectangle(annotated, (x1, y1), (x2, y2), (0, 0, 255), 2)
    cv2.putText(annotated, label, (x1, max(12, y1 - 6)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 255), 1)
    h, w = frame.shape[:2]
    pad = max(8, (x2 - x1) // 2)
    crop = frame[max(0, y1 - pad):min(h, y2 + pad), max(0, x1 - pad):min(w, x2 + pad)]
    ok1, full = cv2.imencode(".jpg", annotated, [cv2.IMWRITE_JPEG_QUALITY, 85])
    ok2, part = cv2.imencode(".jpg", crop if crop.size else frame, [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not (ok1 and ok2):
        raise RuntimeError("cannot encode evidence")
    return full.tobytes(), part.tobytes()


class Pipeline:
    """Feed it frames in time order; it returns what it confirmed."""

    def __init__(self, detector: Detector, engine: RuleEngine, *, gate: ChangeGate | None = None,
                 calibration: GroundCalibration | None = None, position: tuple[float, float] | None = None):
        if calibration is None and position is None:
            raise ValueError("a camera needs a calibration or at least its position")
        self.detector, self.engine, self.gate = detector, engine, gate
        self.calibration, self.position = calibration, position
        self.last: list[Detection] = []
        self.inferred = 0

    def process(self, ts: float, frame: np.ndarray) -> list[Found]:
        """One frame (skipped frames reuse the last detections: the scene did not change)."""
        if self.gate is None or self.gate.should_infer(frame, ts):
            self.last = self.detector.detect([frame])[0]
            self.inferred += 1
        return [self._found(ts, frame, v) for v in self.engine.update(ts, self.last)]

    def _found(self, ts: float, frame: np.ndarray, v: Violation) -> Found:
        if self.calibration is not None:
            lon, lat = self.calibration.pixel_to_lonlat(*v.anchor)
            how = "calibration"
        else:
            lon, lat = self.position
            how = "camera position"
        full, crop = evidence(frame, v, f"{v.category} {v.median_conf:.2f}")
        return Found(v, lon, lat, full, crop, ts, how)

    def run(self, frames, on_found: Callable[[Found], None], stop: Callable[[], bool] = lambda: False) -> int:
        """Process a frame iterator until it ends or `stop()`; returns how many violations were found."""
        n = 0
        for ts, frame in frames:
            if stop():
                break
            for f in self.process(ts, frame):
                on_found(f)
                n += 1
        return n
