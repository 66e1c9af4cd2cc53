"""Training and evaluation with Ultralytics, offline (no weights or fonts downloaded, no plots)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

os.environ.setdefault("YOLO_OFFLINE", "1")


def train(data: str | Path, *, model: str = "yolo11n.yaml", epochs: int = 50, imgsz: int = 640, batch: int = 16,
          device: str = "cpu", project: str | Path = "instance/runs", name: str = "train", seed: int = 0,
          verbose: bool = True, progress: Callable[[int, int], object] | None = None, **overrides) -> Path:
    """Train (from a model config or local weights) and return the path of the best weights.

    `progress(epoch, epochs)` is called after each epoch; with it, Ultralytics' own output is silenced (one
    line of progress instead of a hundred). `overrides` go to Ultralytics as they are (e.g. mosaic=0).
    """
    import logging

    from ultralytics import YOLO
    from ultralytics.utils import LOGGER

    if not model.endswith(".yaml") and not Path(model).is_file():
        raise FileNotFoundError(f"model weights not found: {model} (give a local .pt, or a .yaml to start fresh)")
    level = LOGGER.level
    if progress is not None:
        LOGGER.setLevel(logging.ERROR)
    try:
        yolo = YOLO(model, task="detect")
        if progress is not None:
            yolo.add_callback("on_fit_epoch_end", _once_per_epoch(progress))
        _fit(yolo, data, epochs, imgsz, batch, device, project, name, seed, verbose and progress is None, overrides)
    finally:
        LOGGER.setLevel(level)
    best = Path(yolo.trainer.best)
    return best if best.is_file() else Path(yolo.trainer.last)


def _once_per_epoch(progress: Callable[[int, int], object]):
    # Ultralytics also ends a "fit epoch" after its final validation: report each epoch once, within range.
    seen: set[int] = set()

    def on_epoch_end(trainer) -> None:
        done = min(trainer.epoch + 1, trainer.epochs)
        if done not in seen:
            seen.add(done)
            progress(done, trainer.epochs)

    return on_epoch_end


def _fit(yolo, data, epochs, imgsz, batch, device, project, name, seed, verbose, overrides) -> None:
    # Absolute: Ultralytics puts a relative project under its own runs/<task>/ folder in the working directory.
    yolo.train(data=str(data), epochs=epochs, imgsz=imgsz, batch=batch, device=device,
               project=str(Path(project).resolve()),
               name=name, exist_ok=True, plots=False, amp=False, workers=0, seed=seed, deterministic=True,
               verbose=verbose, val=True, **overrides)


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
