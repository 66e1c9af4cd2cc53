"""One camera's pipeline: gate → detect → rules → geolocate → evidence. No I/O beyond its callbacks."""

from __future__ import annotations

import time
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


def snapshot_jpeg(frame: np.ndarray, max_side: int = 640) -> bytes:
    """A small JPEG of a frame (the console's "latest snapshot" of a camera)."""
    h, w = frame.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    small = cv2.resize(frame, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA) if scale < 1 else frame
    ok, data = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 75])
    if not ok:
        raise RuntimeError("cannot encode a snapshot")
    return data.tobytes()


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
        dets = self.detector.detect([frame])[0] if self.wants(ts, frame) else None
        return self.feed(ts, frame, dets)

    def wants(self, ts: float, frame: np.ndarray) -> bool:
        """Does this frame need the detector (the change gate's verdict)?"""
        return self.gate is None or self.gate.should_infer(frame, ts)

    def feed(self, ts: float, frame: np.ndarray, detections: list[Detection] | None) -> list[Found]:
        """Apply the rules to this frame's detections (None: the scene did not change, reuse the last)."""
        if detections is not None:
            self.last = detections
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

    def run(self, frames, on_found: Callable[[Found], None], stop: Callable[[], bool] = lambda: False,
            on_frame: Callable[[float, np.ndarray, list[Detection]], None] | None = None) -> int:
        """Process a frame iterator until it ends or `stop()`; returns how many violations were found.

        `on_frame(ts, frame, detections)` sees every frame with what is in it now (the camera checks' looks).
        """
        n = 0
        for ts, frame in frames:
            if stop():
                break
            for f in self.process(ts, frame):
                on_found(f)
                n += 1
            if on_frame is not None:
                on_frame(ts, frame, self.last)
        return n


def run_batched(cameras: list[tuple[object, Pipeline, object]], detector: Detector,
                on_found: Callable[[object, Found], None], stop: Callable[[], bool] = lambda: False,
                on_frame: Callable[[object, float, np.ndarray, list[Detection]], None] | None = None,
                idle_s: float = 0.02, joining: Callable[[], list[tuple[object, Pipeline, object]]] | None = None
                ) -> int:
    """Several cameras in one loop: one frame from each, the changed ones inferred in one batch.

    `cameras` holds (key, pipeline, frame iterator); cameras whose stream ends drop out. Each pipeline
    keeps its own gate and rules; only the detector call is shared. An iterator may yield None for "nothing new
    yet" (`vision.sources.LatestFrame`): that camera sits the round out, and a round where none had anything
    waits `idle_s` instead of spinning. `joining`, when given, is asked every round for cameras to add (a
    vision node handing cameras over without a restart); the loop then runs until `stop()`, even with none.
    """
    active = [(key, pipe, iter(frames)) for key, pipe, frames in cameras]
    n = 0
    while (active or joining is not None) and not stop():
        if joining is not None:
            active += [(key, pipe, iter(frames)) for key, pipe, frames in joining()]
        batch, keep = [], []
        for key, pipe, frames in active:
            try:
                item = next(frames)
            except StopIteration:
                continue
            keep.append((key, pipe, frames))
            if item is not None:
                ts, frame = item
                batch.append((key, pipe, ts, frame, pipe.wants(ts, frame)))
        active = keep
        if not batch:
            time.sleep(idle_s)
            continue
        wanted = [frame for _, _, _, frame, want in batch if want]
        results = iter(detector.detect(wanted)) if wanted else iter(())
        for key, pipe, ts, frame, want in batch:
            for f in pipe.feed(ts, frame, next(results) if want else None):
                on_found(key, f)
                n += 1
            if on_frame is not None:
                on_frame(key, ts, frame, pipe.last)
    return n
