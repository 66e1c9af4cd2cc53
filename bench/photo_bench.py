"""Citizen photo benchmark: what face/plate blurring adds to an upload, and what the category suggestion costs.

    .venv/bin/python bench/photo_bench.py [--repeat 5]

Part 1 makes the public copy of the same photos twice, side by side: without blurring (upright, bounded
size, EXIF stripped, JPEG) and with it (the same plus the Haar cascades and the blur), and prints the
ratio. Photos: Ultralytics' street photo `bus.jpg` (810×1080) and the same scene enlarged to a 12 MP
phone photo (3024×4032). Part 2 times the category suggestion with yolo11n's architecture (random
weights built from its config: speed depends on the architecture, not the weights; nothing downloaded).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from app.services.media import public_copy  # noqa: E402
from vision.privacy import find_sensitive  # noqa: E402


def timed(fn, data: bytes, repeat: int) -> float:
    """Median seconds of `repeat` calls."""
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn(data)
        runs.append(time.perf_counter() - t)
    return statistics.median(runs)


def main() -> None:
    """Print both parts."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    bus = (Path(__import__("ultralytics").__file__).parent / "assets" / "bus.jpg").read_bytes()
    big = cv2.resize(cv2.imdecode(np.frombuffer(bus, np.uint8), cv2.IMREAD_COLOR), (3024, 4032),
                     interpolation=cv2.INTER_CUBIC)
    phone = cv2.imencode(".jpg", big, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
    print(f"cores: {os.cpu_count()}, OpenCV {cv2.__version__}, median of {args.repeat}")
    print("part 1 — public copy of one photo")
    print(f"{'photo':<22}{'no blur ms':>12}{'with blur ms':>14}{'ratio':>8}{'regions':>9}")
    for name, data in (("bus.jpg 810×1080", bus), ("phone 3024×4032 12MP", phone)):
        plain = timed(lambda d: public_copy(d, blur=False), data, args.repeat)
        blurred = timed(public_copy, data, args.repeat)
        regions = len(find_sensitive(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)))
        print(f"{name:<22}{plain * 1000:>12.0f}{blurred * 1000:>14.0f}{blurred / plain:>8.1f}{regions:>9}")

    print("part 2 — AI-suggested category (yolo11n architecture, CPU, imgsz 640)")
    from ultralytics import YOLO

    from vision.detector import YoloDetector

    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "yolo11n-random.pt"
        YOLO("yolo11n.yaml").save(str(weights))
        t = time.perf_counter()
        det = YoloDetector(weights, None, conf=0.35, imgsz=640)
        load = time.perf_counter() - t
        frame = cv2.resize(big, (960, 1280))
        det.detect([frame])  # warm-up
        infer = timed(lambda _: det.detect([frame]), b"", args.repeat)
    print(f"model load {load * 1000:.0f} ms (once per web process, torch already imported), "
          f"then {infer * 1000:.0f} ms per photo")


if __name__ == "__main__":
    main()
