"""Vision benchmark: pipeline overhead and how many 1-fps cameras one machine sustains with gating.

    .venv/bin/python bench/vision_bench.py [--frames 150] [--imgsz 640] [--backends pytorch,onnx,openvino]
                                           [--device cuda:0 --half]

Uses yolo11n's architecture with random weights built from its config (speed depends on the
architecture, not the weights; nothing is downloaded). Part 1 runs the same frames through bare
`model.predict` and through the whole pipeline (detect → rules → evidence) with gating off, and
prints the ratio of their frame rates. Part 2 replays a street scene — mostly still, with passers-by
and a pile that appears — through the pipeline with the change gate on, and turns the cost per frame
into the number of 1-fps camera streams this machine keeps up with — for each backend side by side: the
PyTorch weights, and the same weights exported (`vision.export`) for ONNX Runtime and for OpenVINO, with the
detector's milliseconds per frame (one frame, and four cameras' frames in one call).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vision.detector import YoloDetector  # noqa: E402
from vision.gating import ChangeGate  # noqa: E402
from vision.pipeline import Pipeline  # noqa: E402
from vision.rules import Rule, RuleEngine  # noqa: E402
from vision.sources import FrameSource  # noqa: E402
from vision.synth import Actor, make_video  # noqa: E402


def frames_of(video: Path, fps: float) -> list:
    """All sampled frames of a recording, in memory."""
    return [f for _, f in FrameSource(str(video), fps=fps).frames()]


def main() -> None:
    """Print both parts."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--imgsz", type=int, default=640)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--backends", default="pytorch,onnx,openvino")
    ap.add_argument("--half", action="store_true", help="FP16 on a GPU (ignored on the CPU)")
    args = ap.parse_args()
    import torch
    from ultralytics import YOLO

    work = Path(tempfile.mkdtemp(prefix="vision-bench-"))
    weights = work / "yolo11n-random.pt"
    YOLO("yolo11n.yaml").save(str(weights))
    det = YoloDetector(weights, {n: "exposed_garbage" for n in YOLO(str(weights)).names.values()},
                       device=args.device, imgsz=args.imgsz, conf=0.25, half=args.half)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}, "
          f"yolo11n @ {args.imgsz}")
    if "openvino" in args.backends:  # it computes in bf16 where the CPU has it: say which, figures depend on it
        import openvino

        print(f"OpenVINO {openvino.__version__} computes in "
              f"{openvino.Core().get_property('CPU', 'INFERENCE_PRECISION_HINT')} on this CPU")

    # Part 1: pipeline vs bare predict, every frame inferred.
    busy = make_video(work / "busy.avi", [Actor("banner", -40, 200, speed=60), Actor("exposed_garbage", 300, 260)],
                      seconds=args.frames / 5, fps=5, w=1280, h=720)
    frames = frames_of(busy, 5)[: args.frames]
    det.detect(frames[:2])  # warm-up
    t0 = time.perf_counter()
    for f in frames:
        det.model.predict(f, imgsz=args.imgsz, device=args.device, verbose=False, conf=0.25)
    bare = len(frames) / (time.perf_counter() - t0)
    pipe = Pipeline(det, RuleEngine(default=Rule(dwell_s=5)), gate=None, position=(120.0, 30.0))
    t0 = time.perf_counter()
    for i, f in enumerate(frames):
        pipe.process(i / 5, f)
    full = len(frames) / (time.perf_counter() - t0)
    print(f"\nPart 1: {len(frames)} frames 1280×720, every frame inferred")
    print(f"  bare model.predict     {bare:8.2f} frames/s")
    print(f"  whole pipeline         {full:8.2f} frames/s")
    print(f"  pipeline / bare        {full / bare:8.3f}   (goal ≥ 0.9)")

    # Part 2: a street camera at 1 fps with the change gate, per backend.
    from vision.export import export

    minutes = 5
    street = make_video(work / "street.avi", [
        Actor("exposed_garbage", 420, 270, start=90),
        *[Actor("banner", -40, 180 + 20 * (k % 4), start=25 * k, speed=80) for k in range(minutes * 60 // 25)],
    ], seconds=minutes * 60, fps=1, w=1280, h=720)
    frames = frames_of(street, 1)
    four = frames_of(busy, 5)[:4]
    print(f"\nPart 2: {len(frames)} s of a street camera at 1 fps, change gate on; detector ms per frame")
    print(f"  {'backend':<10}{'1 frame ms':>11}{'4 in a call ms/frame':>22}{'to model':>10}{'ms/cam-s':>10}"
          f"{'1-fps cameras':>15}")
    sustained = {}
    for backend in args.backends.split(","):
        path = weights if backend == "pytorch" else export(weights, backend, imgsz=args.imgsz,
                                                           out=work / f"yolo11n-{backend}")
        bdet = YoloDetector(path, det.classmap, device=args.device, imgsz=args.imgsz, conf=0.25, half=args.half)
        bdet.detect(four)  # warm-up: the exports compile their graph for each input shape they first see
        bdet.detect(four[:1])
        t0 = time.perf_counter()
        for _ in range(5):
            bdet.detect(four[:1])
        one = (time.perf_counter() - t0) / 5
        t0 = time.perf_counter()
        for _ in range(3):
            bdet.detect(four)
        batched = (time.perf_counter() - t0) / 3 / len(four)
        pipe = Pipeline(bdet, RuleEngine(default=Rule(dwell_s=60)), gate=ChangeGate(recheck_s=30),
                        position=(120.0, 30.0))
        t0 = time.perf_counter()
        for i, f in enumerate(frames):
            pipe.process(float(i), f)
        per_frame = (time.perf_counter() - t0) / len(frames)
        sustained[backend] = 1 / per_frame
        print(f"  {backend:<10}{one * 1000:>11.1f}{batched * 1000:>22.1f}"
              f"{100 * pipe.inferred / len(frames):>9.0f}%{per_frame * 1000:>10.1f}{1 / per_frame:>15.1f}")
    if "pytorch" in sustained:
        best = max(sustained, key=sustained.get)
        print(f"  best: {best}, {sustained[best]:.1f} cameras ({sustained[best] / sustained['pytorch']:.2f}× PyTorch;"
              f" goal ≥ 60 on a 2-core machine)")

    # Part 3: would batching frames of several cameras into one inference call be faster here?
    batch = frames_of(busy, 5)[:8]
    for n in (4, 8):
        group = batch[:n]
        det.detect(group)
        t0 = time.perf_counter()
        for _ in range(3):
            for f in group:
                det.model.predict(f, imgsz=args.imgsz, device=args.device, verbose=False)
        single = (time.perf_counter() - t0) / 3
        t0 = time.perf_counter()
        for _ in range(3):
            det.model.predict(group, imgsz=args.imgsz, device=args.device, verbose=False)
        batched = (time.perf_counter() - t0) / 3
        print(f"\nPart 3: {n} cameras' frames: one call {batched * 1000:.0f} ms vs one by one {single * 1000:.0f} ms "
              f"→ batching {'faster' if batched < 0.9 * single else 'not faster'} ({single / batched:.2f}×)")


if __name__ == "__main__":
    main()
