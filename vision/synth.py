"""Synthetic data for trying the pipeline without real footage: coloured shapes stand for classes.

`make_dataset` writes a small YOLO-format dataset (images, labels, dataset.yaml); `make_video` renders a
scenario — objects that appear and stay, pass by, or flicker — over a street-like background, so tests
and the demo exercise the real training, inference and rules code.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import yaml

# Class name (= our category code) → how it is drawn (BGR colour, shape).
SHAPES = {
    "exposed_garbage": ((40, 40, 220), "circle"),
    "banner": ((220, 120, 30), "bar"),
    "bin_overflow": ((40, 180, 40), "triangle"),
}


def background(w: int, h: int, rng: random.Random) -> np.ndarray:
    """A grey road with a pavement band and some noise."""
    img = np.full((h, w, 3), 110, np.uint8)
    img[: h // 3] = (150, 150, 145)
    cv2.line(img, (0, h * 2 // 3), (w, h * 2 // 3), (230, 230, 230), max(1, h // 90))
    noise = np.random.default_rng(rng.randrange(1 << 30)).integers(-12, 12, img.shape, dtype=np.int16)
    return np.clip(img.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def draw(img: np.ndarray, cls: str, cx: float, cy: float, size: float) -> tuple[float, float, float, float]:
    """Draw one object centred at (cx, cy); return its box x1, y1, x2, y2."""
    colour, kind = SHAPES[cls]
    s = size / 2
    if kind == "circle":
        cv2.circle(img, (int(cx), int(cy)), int(s), colour, -1)
        return cx - s, cy - s, cx + s, cy + s
    if kind == "bar":
        cv2.rectangle(img, (int(cx - 1.6 * s), int(cy - s / 2)), (int(cx + 1.6 * s), int(cy + s / 2)), colour, -1)
        return cx - 1.6 * s, cy - s / 2, cx + 1.6 * s, cy + s / 2
    pts = np.array([[cx, cy - s], [cx - s, cy + s], [cx + s, cy + s]], np.int32)
    cv2.fillPoly(img, [pts], colour)
    return cx - s, cy - s, cx + s, cy + s


def make_dataset(root: str | Path, *, train: int = 64, val: int = 16, size: int = 160, seed: int = 0) -> Path:
    """Write images/{train,val}, labels/{train,val} and dataset.yaml; return the yaml path."""
    root, rng = Path(root), random.Random(seed)
    names = list(SHAPES)
    for split, n in (("train", train), ("val", val)):
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            img = background(size, size, rng)
            lines = []
            for _ in range(rng.randint(1, 3)):
                cls = rng.randrange(len(names))
                obj = rng.uniform(0.18, 0.32) * size
                cx, cy = rng.uniform(obj, size - obj), rng.uniform(obj, size - obj)
                x1, y1, x2, y2 = (max(0.0, min(float(size), v)) for v in draw(img, names[cls], cx, cy, obj))
                lines.append(f"{cls} {(x1 + x2) / 2 / size:.6f} {(y1 + y2) / 2 / size:.6f} "
                             f"{(x2 - x1) / size:.6f} {(y2 - y1) / size:.6f}")
            cv2.imwrite(str(root / "images" / split / f"{i:04d}.jpg"), img)
            (root / "labels" / split / f"{i:04d}.txt").write_text("\n".join(lines) + "\n")
    data = root / "dataset.yaml"
    data.write_text(yaml.safe_dump({"path": str(root.resolve()), "train": "images/train", "val": "images/val",
                                    "names": dict(enumerate(names))}, allow_unicode=True))
    return data


@dataclass(frozen=True)
class Actor:
    """One object in a scenario: it exists from `start` to `end` seconds, moving at `speed` px/s."""

    cls: str
    x: float
    y: float
    start: float = 0.0
    end: float = 1e9
    speed: float = 0.0  # horizontal
    size: float = 48.0
    every: int = 1  # drawn only on every n-th frame (a flickering false detection)


def make_video(path: str | Path, actors: list[Actor], *, seconds: float = 30, fps: float = 5,
               w: int = 640, h: int = 360, seed: int = 0) -> Path:
    """Render a scenario to an MJPG .avi (decodable by any OpenCV build); return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    if not writer.isOpened():
        raise RuntimeError(f"cannot write video {path}")
    rng = random.Random(seed)
    base = background(w, h, rng)
    for i in range(int(seconds * fps)):
        t = i / fps
        frame = base.copy()
        for a in actors:
            if a.start <= t < a.end and i % a.every == 0:
                x = a.x + a.speed * (t - a.start)
                if -a.size < x < w + a.size:
                    draw(frame, a.cls, x, a.y, a.size)
        writer.write(frame)
    writer.release()
    return path


def make_test_videos(out: str | Path) -> list[Path]:
    """Three one-minute scenes for trying the rules: garbage that stays, a banner passing by, a flickering bin."""
    scenes = {
        "static_garbage.avi": [Actor("exposed_garbage", 300, 250, start=5)],
        "passer_by.avi": [Actor("banner", -40, 200, start=2, speed=30)],
        "flicker.avi": [Actor("bin_overflow", 450, 300, every=4)],
    }
    return [make_video(Path(out) / name, actors, seconds=60, fps=5) for name, actors in scenes.items()]
