"""Cameras at scale on one machine: memory per camera and whether 100 cameras keep up, one detector for all.

    .venv/bin/python bench/camera_scale.py [--cameras 1,10,50,100] [--seconds 40] [--backend openvino]

Each run is a fresh process holding one detector (yolo11n's architecture, random weights from its config, exported
for the backend; nothing downloaded) and N cameras, each stream read by its own thread (`vision.sources.
LatestFrame`) at 1 fps with the change gate, their changed frames inferred together (`run_batched`) — what
`flask vision run --batch N` does. The streams are sub-stream-like recordings played as live cameras (640×360,
5 fps, looping; a street that is mostly still, with passers-by and a pile that appears), each camera starting at
another point of the loop. Printed per N: resident memory of the whole process, sampled frames per camera-second
(1.0 = keeping up with 1 fps), frames that reached the model, CPU use; then memory per additional camera (the
slope from the smallest to the largest N) beside a process per camera (N = 1: what every camera cost before).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    """This process's resident memory (VmRSS)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(n: int, seconds: float, weights: str, video: str) -> dict:
    """Run n cameras for `seconds` in this process; return what was measured."""
    import threading

    from vision.detector import YoloDetector
    from vision.gating import ChangeGate
    from vision.pipeline import Pipeline, run_batched
    from vision.rules import Rule, RuleEngine
    from vision.sources import FrameSource, LatestFrame

    det = YoloDetector(weights, imgsz=640, conf=0.25)
    det.detect([__import__("numpy").zeros((360, 640, 3), "uint8")])
    stop = threading.Event()
    sources, cams = [], []
    for i in range(n):
        src = FrameSource(video, fps=1, live=True, loop=True)
        sources.append(src)
        pipe = Pipeline(det, RuleEngine(default=Rule(dwell_s=60)), gate=ChangeGate(recheck_s=30),
                        position=(120.0, 30.0))
        cams.append((i, pipe, LatestFrame(src, stop.is_set, name=str(i))))
        time.sleep(0.02)  # cameras come up one after another, at different points of the loop
    cpu0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    used0 = sum(s.health.frames_used for s in sources)
    run_batched(cams, det, lambda key, f: None, stop=lambda: time.monotonic() - t0 > seconds)
    wall = time.monotonic() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    stop.set()
    for _, _, reader in cams:
        reader.join()
    used = sum(s.health.frames_used for s in sources) - used0
    return {"cameras": n, "rss_mb": round(rss_mb(), 1), "fps_per_camera": round(used / wall / n, 3),
            "inferred": sum(p.inferred for _, p, _ in cams), "sampled": used,
            "cpu_cores": round((cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime) / wall, 2)}


def main() -> None:
    """Run each N in its own process and print the table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cameras", default="1,10,50,100")
    ap.add_argument("--seconds", type=float, default=40)
    ap.add_argument("--backend", default="openvino", choices=("pytorch", "onnx", "openvino"))
    ap.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--weights", help=argparse.SUPPRESS)
    ap.add_argument("--video", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.seconds, args.weights, args.video)))
        return
    from ultralytics import YOLO

    from vision.export import export
    from vision.synth import Actor, make_video

    work = Path(tempfile.mkdtemp(prefix="camera-scale-"))
    weights = work / "yolo11n-random.pt"
    YOLO("yolo11n.yaml").save(str(weights))
    model = weights if args.backend == "pytorch" else export(weights, args.backend, imgsz=640, out=work / "det")
    video = make_video(work / "sub.avi", [
        Actor("exposed_garbage", 420, 270, start=30),
        *[Actor("banner", -40, 150 + 20 * (k % 4), start=12 * k, speed=60) for k in range(5)],
    ], seconds=60, fps=5, w=640, h=360)
    print(f"cores: {os.cpu_count()}, backend {args.backend}, {args.seconds:.0f} s per run, 1 fps per camera")
    print(f"{'cameras':>8}{'memory MB':>11}{'fps/camera':>12}{'to model':>10}{'CPU cores':>11}")
    rows = []
    for n in (int(x) for x in args.cameras.split(",")):
        out = subprocess.run([sys.executable, __file__, "--child", str(n), "--seconds", str(args.seconds),
                              "--weights", str(model), "--video", str(video)], capture_output=True, text=True,
                             check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(r)
        print(f"{n:>8}{r['rss_mb']:>11.0f}{r['fps_per_camera']:>12.2f}"
              f"{100 * r['inferred'] / max(1, r['sampled']):>9.0f}%{r['cpu_cores']:>11.2f}")
    if len(rows) >= 2:
        lo, hi = rows[0], rows[-1]
        slope = (hi["rss_mb"] - lo["rss_mb"]) / (hi["cameras"] - lo["cameras"])
        single = next((r["rss_mb"] for r in rows if r["cameras"] == 1), None)
        print(f"memory per additional camera: {slope:.1f} MB (goal ≤ 80)"
              + (f"; a process per camera: {single:.0f} MB each ({single / slope:.0f}×)" if single else ""))
        print(f"{hi['cameras']} cameras in {hi['rss_mb'] / 1024:.2f} GB (goal: 100 within 24 GB)")


if __name__ == "__main__":
    main()
