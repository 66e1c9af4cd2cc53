"""Exported detectors: ONNX (ONNX Runtime) and OpenVINO, made with Ultralytics' own exporters, offline.

A camera machine without a GPU spends most of its time in the detector; the same network compiled for the CPU by
ONNX Runtime or OpenVINO runs it faster than PyTorch eager mode. An export is one `.onnx` file or one OpenVINO
folder (`<name>_openvino_model/` with the `.xml` graph, the `.bin` weights and `metadata.yaml` naming the
classes); `YoloDetector` loads either exactly as it loads `.pt` weights, so `VISION_WEIGHTS` may point at one.
Exports have a dynamic batch size (frames of several cameras in one call) and the export's input size.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")

FORMATS = ("onnx", "openvino")
OPENVINO_SUFFIX = "_openvino_model"


class ExportError(RuntimeError):
    """The weights cannot be exported (missing file, unknown format, exporter failure)."""


def model_format(path: str | Path) -> str:
    """"pytorch", "onnx" or "openvino" for weights on disk (ValueError for anything else)."""
    p = Path(path)
    if p.is_dir() and any(p.glob("*.xml")):
        if not p.name.endswith(OPENVINO_SUFFIX):  # how Ultralytics tells an OpenVINO folder from others
            raise ValueError(f"an OpenVINO folder's name must end in {OPENVINO_SUFFIX}: {p}")
        return "openvino"
    if p.is_file() and p.suffix == ".onnx":
        return "onnx"
    if p.is_file() and p.suffix == ".pt":
        return "pytorch"
    raise ValueError(f"not a model this platform loads (.pt, .onnx or an OpenVINO folder): {p}")


def model_size(path: str | Path) -> int:
    """Bytes of a model on disk (a folder: its files together), for the model's version string."""
    p = Path(path)
    return sum(f.stat().st_size for f in p.iterdir() if f.is_file()) if p.is_dir() else p.stat().st_size


def export(weights: str | Path, fmt: str, *, imgsz: int = 640, out: str | Path | None = None,
           half: bool = False) -> Path:
    """Export `.pt` weights to `fmt` at input size `imgsz`; returns the `.onnx` file or the OpenVINO folder.

    Written beside the weights (Ultralytics' choice), then moved to `out` when given (an OpenVINO folder's name
    gets `_openvino_model` added when it lacks it, an ONNX file `.onnx`: that is how each is known). `half`
    (FP16) is for OpenVINO on hardware that has it; the CPU export stays FP32 by default.
    """
    from ultralytics import YOLO

    src = Path(weights)
    if fmt not in FORMATS:
        raise ExportError(f"format must be one of {', '.join(FORMATS)}: {fmt!r}")
    if not src.is_file() or src.suffix != ".pt":
        raise ExportError(f"PyTorch weights (.pt) to export not found: {src}")
    try:
        made = Path(YOLO(str(src), task="detect").export(
            format=fmt, imgsz=imgsz, dynamic=True, verbose=False,
            **({"quantize": 16} if half else {}), **({"simplify": True} if fmt == "onnx" else {})))
    except Exception as exc:  # noqa: BLE001 - any exporter failure is one clear error
        raise ExportError(f"cannot export {src} to {fmt}: {exc.__class__.__name__}: {exc}") from exc
    if out is None:
        return made
    dest = Path(out)
    if fmt == "openvino" and not dest.name.endswith(OPENVINO_SUFFIX):
        dest = dest.with_name(dest.name + OPENVINO_SUFFIX)
    elif fmt == "onnx" and dest.suffix != ".onnx":
        dest = dest.with_name(dest.name + ".onnx")
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        shutil.rmtree(dest) if dest.is_dir() else dest.unlink()
    shutil.move(str(made), dest)
    return dest
