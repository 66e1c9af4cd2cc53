"""`flask vision …`: synthetic data, training, evaluation, and replaying recordings through a camera's rules."""

from __future__ import annotations

import json
from pathlib import Path

import click
import yaml
from flask import current_app
from flask.cli import AppGroup

from app.extensions import db

vision_cli = AppGroup("vision", help="Camera pipeline: synth, train, eval, replay.")


def build_detector(weights: str | None, classmap: str | None, *, track: bool | None = None):
    """The configured YOLO detector; a missing or corrupt weights file is a clear startup error."""
    from vision.detector import DetectorError, YoloDetector, load_classmap

    cfg = current_app.config
    cmap = classmap or cfg["VISION_CLASSMAP"]
    try:
        return YoloDetector(weights or cfg["VISION_WEIGHTS"], load_classmap(cmap) if cmap else None,
                            device=cfg["VISION_DEVICE"], conf=cfg["VISION_CONF"], imgsz=cfg["VISION_IMGSZ"],
                            track=cfg["VISION_TRACK"] if track is None else track)
    except DetectorError as exc:
        raise click.ClickException(str(exc)) from exc


def rules() -> dict:
    """Per-category rules: defaults, overridden by the VISION_RULES YAML file."""
    from vision.rules import rules_from_config

    path = current_app.config["VISION_RULES"]
    try:
        return rules_from_config(yaml.safe_load(Path(path).read_text(encoding="utf-8")) if path else None)
    except (OSError, yaml.YAMLError, TypeError) as exc:
        raise click.ClickException(f"bad VISION_RULES {path}: {exc}") from exc


@vision_cli.command("synth")
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--train", "n_train", default=256, show_default=True)
@click.option("--val", "n_val", default=32, show_default=True)
@click.option("--videos/--no-videos", default=True, show_default=True)
def synth(out, n_train, n_val, videos):
    """Write a small YOLO dataset of synthetic shapes (and test videos) for trying the pipeline."""
    from vision.synth import Actor, make_dataset, make_video

    data = make_dataset(Path(out) / "dataset", train=n_train, val=n_val, size=160)
    click.echo(f"dataset: {data}")
    if videos:
        scenes = {
            "static_garbage.avi": [Actor("exposed_garbage", 300, 250, start=5)],
            "passer_by.avi": [Actor("banner", -40, 200, start=2, speed=30)],
            "flicker.avi": [Actor("bin_overflow", 450, 300, every=4)],
        }
        for name, actors in scenes.items():
            click.echo(f"video: {make_video(Path(out) / 'videos' / name, actors, seconds=60, fps=5)}")


@vision_cli.command("train")
@click.option("--data", required=True, type=click.Path(exists=True, dir_okay=False), help="dataset.yaml")
@click.option("--model", default="yolo11n.yaml", show_default=True, help="a model .yaml or local .pt weights")
@click.option("--epochs", default=50, show_default=True)
@click.option("--imgsz", default=640, show_default=True)
@click.option("--batch", default=16, show_default=True)
@click.option("--device", default=None, help="cpu or cuda:0 (default: VISION_DEVICE)")
@click.option("--project", default="runs", show_default=True)
@click.option("--synthetic", is_flag=True, help="augmentation suited to the synthetic shapes")
def train_cmd(data, model, epochs, imgsz, batch, device, project, synthetic):
    """Train a detector (progress is printed by Ultralytics); prints the best weights' path."""
    from vision.train import SYNTHETIC, train

    if model == "tiny":
        model = str(Path(__file__).resolve().parent.parent / "vision" / "models" / "yolo11t.yaml")
    try:
        best = train(data, model=model, epochs=epochs, imgsz=imgsz, batch=batch,
                     device=device or current_app.config["VISION_DEVICE"], project=project,
                     **(SYNTHETIC if synthetic else {}))
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(str(best))


@vision_cli.command("eval")
@click.option("--weights", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--data", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--imgsz", default=640, show_default=True)
def eval_cmd(weights, data, imgsz):
    """mAP per class and the confusion matrix at category level, as JSON."""
    from vision.train import evaluate

    click.echo(json.dumps(evaluate(weights, data, imgsz=imgsz, device=current_app.config["VISION_DEVICE"]),
                          ensure_ascii=False))


@vision_cli.command("demo-setup")
def demo_setup():
    """For the live demo: train the tiny model on synthetic shapes once, and write the demo cameras' videos."""
    import random
    import shutil

    from sqlalchemy import select

    from app.models import Camera
    from vision.synth import SHAPES, Actor, make_dataset, make_video
    from vision.train import SYNTHETIC, train

    cfg = current_app.config
    weights = Path(cfg["VISION_WEIGHTS"])
    if not weights.is_file():
        work = weights.parent / "demo-training"
        click.echo(f"training the demo detector on synthetic shapes (once, ≈ 1 min) → {weights}")
        data = make_dataset(work / "dataset", train=256, val=16, size=160)
        tiny = Path(__file__).resolve().parent.parent / "vision" / "models" / "yolo11t.yaml"
        best = train(data, model=str(tiny), epochs=10, imgsz=160, batch=8, project=work, name="run",
                     verbose=False, **SYNTHETIC)
        weights.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(best, weights)
    videos = Path(cfg["DEMO_VIDEO_DIR"])
    rng = random.Random(5)
    for cam in db.session.scalars(select(Camera).where(Camera.stream_url.like("demo://camera/%"))):
        path = videos / f"camera{cam.stream_url.rsplit('/', 1)[1]}.avi"
        if path.is_file():
            continue
        kinds = list(SHAPES)
        actors = [Actor(rng.choice(kinds), rng.uniform(120, 520), rng.uniform(230, 320), start=8),
                  Actor(rng.choice(kinds), -40, rng.uniform(180, 260), start=rng.uniform(0, 30), speed=40)]
        make_video(path, actors, seconds=90, fps=5, seed=rng.randrange(1000))
        click.echo(f"camera {cam.code}: {path}")
    click.echo("demo cameras ready")


@vision_cli.command("run")
@click.option("--camera", "cameras", multiple=True, help="camera code (repeatable); default: every enabled one")
@click.option("--weights", default=None)
@click.option("--classmap", default=None)
@click.option("--batch", default=1, show_default=True, help="cameras per process, their frames inferred together")
def run_cmd(cameras, weights, classmap, batch):
    """Run the cameras, one process per camera (or per --batch of them), until SIGTERM or Ctrl-C."""
    import multiprocessing as mp
    import signal

    from sqlalchemy import select

    from app.models import Camera
    from app.services.cameras import supervise

    build_detector(weights, classmap)  # fail now, clearly, rather than in every child
    q = select(Camera).where(Camera.enabled.is_(True))
    if cameras:
        q = select(Camera).where(Camera.code.in_(cameras))
    found = list(db.session.scalars(q.order_by(Camera.code)))
    if cameras and len(found) != len(set(cameras)):
        raise click.ClickException(f"unknown camera(s): {sorted(set(cameras) - {c.code for c in found})}")
    if not found:
        raise click.ClickException("no enabled cameras")
    stop = mp.get_context("spawn").Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"running {len(found)} camera(s): {', '.join(c.code for c in found)}")
    # The children get this app's settings (they are spawned, not forked).
    config = {k: v for k, v in current_app.config.items() if k.isupper()}
    supervise([c.id for c in found], weights, classmap, config=config, stop=stop, batch=batch)


@vision_cli.command("replay")
@click.argument("path")
@click.option("--camera", "camera_ref", required=True, help="camera code or id (its zones and calibration apply)")
@click.option("--weights", default=None)
@click.option("--classmap", default=None)
@click.option("--fps", type=float, default=None, help="sampling rate (default: the camera's)")
@click.option("--dry-run", is_flag=True, help="report what would be created, write nothing")
def replay(path, camera_ref, weights, classmap, fps, dry_run):
    """Run a recorded file through the camera's pipeline; print confirmed violations and cases as JSON."""
    from app.services.vision import camera_setup, get_camera, record_violation
    from vision.gating import ChangeGate
    from vision.pipeline import Pipeline
    from vision.rules import RuleEngine
    from vision.sources import FrameSource, SourceError

    cam = get_camera(camera_ref)
    setup = camera_setup(cam)
    detector = build_detector(weights, classmap)
    pipe = Pipeline(detector, RuleEngine(rules(), setup["zones"]), gate=ChangeGate(),
                    calibration=setup["calibration"], position=setup["position"])
    source = FrameSource(path, fps=fps or setup["fps"], live=False)
    results = []

    def on_found(f):
        v = f.violation
        results.append({"video_ts": round(f.ts, 2), "category": v.category, "confidence": v.median_conf,
                        "anchor_px": [round(c, 1) for c in v.anchor],
                        **record_violation(cam.id, f, detector.model_version, dry_run=dry_run)})

    try:
        pipe.run(source.frames(), on_found)
    except SourceError as exc:
        raise click.ClickException(str(exc)) from exc
    if not dry_run:
        db.session.commit()
    click.echo(json.dumps({"camera": cam.code, "frames": source.health.frames_used, "inferred": pipe.inferred,
                           "dry_run": dry_run, "results": results}, ensure_ascii=False))
