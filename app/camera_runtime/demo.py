"""The demo's cameras: a tiny detector trained once on synthetic shapes, and a generated video per demo camera."""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Callable, Mapping

TINY_MODEL = Path(__file__).resolve().parent.parent.parent / "vision" / "models" / "yolo11t.yaml"
SCENE_SECONDS, CLEARED_AT = 180, 100  # each demo scene: a problem from 8 s until it is cleared, then a clean street


def demo_video(url: str, root: Path) -> str:
    """demo://camera/N → the generated looping video of demo camera N (see `flask vision demo-setup`)."""
    if url.startswith("demo://camera/"):
        # "-cleared": scenes where the problem goes away, so the camera's check (AI 核查) can pass.
        return str(root / f"camera{url.rsplit('/', 1)[1]}-cleared.avi")
    return url


def prepare_demo(config: Mapping, say: Callable[[str], object],
                 progress: Callable[[int, int], object] | None = None) -> None:
    """Train the demo detector unless VISION_WEIGHTS exists, and write any missing demo camera video."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Camera
    from vision.synth import SHAPES, Actor, make_dataset, make_video
    from vision.train import SYNTHETIC, train

    weights = Path(config["VISION_WEIGHTS"])
    if not weights.exists():  # a .pt, or an export made from it (`flask vision export`)
        work = weights.parent / "demo-training"
        say(f"training the demo detector on synthetic shapes (once, ≈ 1 min) → {weights}")
        data = make_dataset(work / "dataset", train=256, val=16, size=160)
        best = train(data, model=str(TINY_MODEL), epochs=10, imgsz=160, batch=8, project=work, name="run",
                     verbose=False, progress=progress, **SYNTHETIC)
        weights.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(best, weights)
    videos = Path(config["DEMO_VIDEO_DIR"])
    rng = random.Random(5)
    for cam in db.session.scalars(select(Camera).where(Camera.stream_url.like("demo://camera/%"))):
        path = Path(demo_video(cam.stream_url, videos))
        if path.is_file():
            continue
        kinds = list(SHAPES)
        actors = [Actor(rng.choice(kinds), rng.uniform(120, 520), rng.uniform(230, 320), start=8, end=CLEARED_AT),
                  Actor(rng.choice(kinds), -40, rng.uniform(180, 260), start=rng.uniform(0, 30), speed=40)]
        make_video(path, actors, seconds=SCENE_SECONDS, fps=5, seed=rng.randrange(1000))
        say(f"camera {cam.code}: {path}")
