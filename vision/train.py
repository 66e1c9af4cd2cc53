"""Training and evaluation with Ultralytics, offline (no weights or fonts downloaded, no plots)."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")


def train(data: str | Path, *, model: str = "yolo11n.yaml", epochs: int = 50, imgsz: int = 640, batch: int = 16,
          device: str = "cpu", project: str | Path = "runs", name: str = "train", seed: int = 0,
          verbose: bool = True, **overrides) -> Path:
    """Train (from a model config or local weights) and return the path of the best weights.

    `overrides` go to Ultralytics as they are (e.g. mosaic=0 for tiny synthetic datasets).
    """
    from ultralytics import YOLO

    if not model.endswith(".yaml") and not Path(model).is_file():
        raise FileNotFoundError(f"model weights not found: {model} (give a local .pt, or a .yaml to start fresh)")
    yolo = YOLO(model, task="detect")
    yolo.train(data=str(data), epochs=epochs, imgsz=imgsz, batch=batch, device=device, project=str(project),
               name=name, exist_ok=True, plots=False, amp=False, workers=0, seed=seed, deterministic=True,
               verbose=verbose, val=True, **overrides)
    best = Path(yolo.trainer.best)
    return best if best.is_file() else Path(yolo.trainer.last)


def evaluate(weights: str | Path, data: str | Path, *, imgsz: int = 640, device: str = "cpu") -> dict:
    """mAP per class and a confusion matrix at our category level (names = category codes)."""
    from ultralytics import YOLO

    model = YOLO(str(weights), task="detect")
    metrics = model.val(data=str(data), imgsz=imgsz, device=device, plots=False, verbose=False, workers=0)
    names = model.names
    per_class = {names[int(c)]: round(float(m), 4) for c, m in zip(metrics.box.ap_class_index, metrics.box.maps[
        metrics.box.ap_class_index], strict=True)}
    matrix = metrics.confusion_matrix.matrix.astype(int).tolist()
    labels = [names[i] for i in range(len(names))] + ["background"]
    return {
        "map50": round(float(metrics.box.map50), 4),
        "map50_95": round(float(metrics.box.map), 4),
        "per_class_map50_95": per_class,
        "confusion": {"labels": labels, "matrix": matrix, "rows": "predicted", "columns": "true"},
    }


# For the synthetic shapes: colour is the class, objects are few and large, the dataset is tiny.
SYNTHETIC = {"mosaic": 0.0, "hsv_h": 0.0, "hsv_s": 0.0, "hsv_v": 0.1, "warmup_epochs": 0, "scale": 0.2,
             "translate": 0.1, "lr0": 0.01, "cos_lr": False}
