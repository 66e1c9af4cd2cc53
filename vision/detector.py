"""The detector interface and its Ultralytics YOLO implementation, with the class map.

A class map (YAML) maps the model's class names to our category codes, so a city can plug in a
17-class model trained on its own data, or a general model whose vehicle classes feed the no-parking
zone rule (map them to "@vehicle"). Unknown classes are ignored and logged once. Weights are only ever
loaded from a local file: no hub downloads (YOLO_OFFLINE=1).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import yaml

from vision.rules import Detection

os.environ.setdefault("YOLO_OFFLINE", "1")
log = logging.getLogger(__name__)


class DetectorError(RuntimeError):
    """The detector cannot start (missing or corrupt weights, bad class map)."""


class Detector(Protocol):
    """What the pipeline needs from a detector."""

    model_version: str

    def detect(self, frames: Sequence[np.ndarray]) -> list[list[Detection]]:
        """Detections for each frame (batched when the implementation can)."""
        ...


def load_classmap(path: str | Path) -> dict[str, str]:
    """{model class name: category code or "@vehicle"} from a YAML file (no file: use the model's names)."""
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DetectorError(f"cannot read class map {path}: {exc}") from exc
    mapping = doc.get("classes", doc) if isinstance(doc, dict) else None
    if not isinstance(mapping, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
        raise DetectorError(f"class map {path} must map model class names to category codes")
    return dict(mapping)


class YoloDetector:
    """Ultralytics YOLO on CPU or CUDA — PyTorch weights or an ONNX / OpenVINO export (`vision.export`) — with
    optional ByteTrack tracking for one stream."""

    def __init__(self, weights: str | Path, classmap: Mapping[str, str] | None = None, *, device: str = "cpu",
                 conf: float = 0.25, imgsz: int = 640, track: bool = False, half: bool = False):
        from vision.export import model_format, model_size

        path = Path(weights)
        if not path.exists():
            raise DetectorError(f"weights file not found: {path}")
        try:
            self.format = model_format(path)
        except ValueError as exc:
            raise DetectorError(str(exc)) from exc
        try:
            from ultralytics import YOLO

            self.model = YOLO(str(path), task="detect")
            self.names = dict(self.model.names)
        except Exception as exc:  # noqa: BLE001 - any load failure is the same startup error
            raise DetectorError(f"cannot load weights {path}: {exc.__class__.__name__}: {exc}") from exc
        self.classmap = dict(classmap) if classmap is not None else {n: n for n in self.names.values()}
        self.device, self.conf, self.imgsz, self.tracking = device, conf, imgsz, track
        # FP16 where the hardware has it (a GPU); on the CPU Ultralytics runs FP32 whatever is asked.
        self.half = half and not str(device).startswith("cpu")
        # Ultralytics 8.4 names precision `quantize` (16 = FP16) and warns on every call given `half`
        self._precision = {"quantize": 16} if self.half else {}
        self.model_version = f"{path.name}:{model_size(path)}"
        self._warned: set[str] = set()

    def _convert(self, result) -> list[Detection]:
        out = []
        boxes = result.boxes
        if boxes is None or len(boxes) == 0:
            return out
        ids = boxes.id.int().tolist() if getattr(boxes, "id", None) is not None else [None] * len(boxes)
        for xyxy, conf, cls, tid in zip(boxes.xyxy.tolist(), boxes.conf.tolist(), boxes.cls.int().tolist(), ids,
                                        strict=True):
            name = self.names.get(cls, str(cls))
            category = self.classmap.get(name)
            if category is None:
                if name not in self._warned:
                    self._warned.add(name)
                    log.info("model class %r is not in the class map; ignored", name)
                continue
            out.append(Detection(category, float(conf), tuple(float(v) for v in xyxy), tid, name))
        return out

    def detect(self, frames: Sequence[np.ndarray]) -> list[list[Detection]]:
        """Batched prediction (or tracking, one frame at a time, when `track` is on)."""
        if not frames:
            return []
        if self.tracking:
            return [self._convert(self.model.track(f, persist=True, tracker="bytetrack.yaml", conf=self.conf,
                                                   imgsz=self.imgsz, device=self.device, verbose=False,
                                                   **self._precision)[0])
                    for f in frames]
        results = self.model.predict(list(frames), conf=self.conf, imgsz=self.imgsz, device=self.device,
                                     verbose=False, **self._precision)
        return [self._convert(r) for r in results]
