"""`flask vision …`: synthetic data, training, evaluation, the demo's cameras, running cameras, replaying files.

Options are parsed here and errors mapped to exit codes; the work is in `vision` (the library) and
`app.camera_runtime` (the processes).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from app.camera_runtime.config import RuntimeConfigError
from app.errors import DomainError
from app.extensions import db

vision_cli = AppGroup("vision", help="Camera pipeline: synth, train, eval, replay.")


def runtime_errors(func):
    """Print a camera runtime's or a service's refusal as one line and exit 1."""

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except RuntimeConfigError as exc:
            raise click.ClickException(str(exc)) from exc
        except DomainError as exc:
            raise click.ClickException(exc.message) from exc

    return wrapped


def progress_line(label: str):
    """A training progress callback printing one line that rewrites itself: "label: epoch 3/10"."""
    return lambda done, total: click.echo(f"\r{label}: epoch {done}/{total}", nl=done >= total)


@vision_cli.command("synth")
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--train", "n_train", default=256, show_default=True)
@click.option("--val", "n_val", default=32, show_default=True)
@click.option("--videos/--no-videos", default=True, show_default=True)
def synth(out, n_train, n_val, videos):
    """Write a small YOLO dataset of synthetic shapes (and test videos) for trying the pipeline."""
    from vision.synth import make_dataset, make_test_videos

    click.echo(f"dataset: {make_dataset(Path(out) / 'dataset', train=n_train, val=n_val, size=160)}")
    if videos:
        for path in make_test_videos(Path(out) / "videos"):
            click.echo(f"video: {path}")


@vision_cli.command("train")
@click.option("--data", required=True, type=click.Path(exists=True, dir_okay=False), help="dataset.yaml")
@click.option("--model", default="yolo11n.yaml", show_default=True,
              help="a model .yaml or local .pt weights; 'tiny' for the small test model")
@click.option("--epochs", default=50, show_default=True)
@click.option("--imgsz", default=640, show_default=True)
@click.option("--batch", default=16, show_default=True)
@click.option("--device", default=None, help="cpu or cuda:0 (default: VISION_DEVICE)")
@click.option("--project", default="instance/runs", show_default=True, help="where runs are written")
@click.option("--synthetic", is_flag=True, help="augmentation suited to the synthetic shapes")
@click.option("--quiet", is_flag=True, help="one line of progress instead of Ultralytics' output")
def train_cmd(data, model, epochs, imgsz, batch, device, project, synthetic, quiet):
    """Train a detector; prints the best weights' path."""
    from app.camera_runtime.demo import TINY_MODEL
    from vision.train import SYNTHETIC, train

    try:
        best = train(data, model=str(TINY_MODEL) if model == "tiny" else model, epochs=epochs, imgsz=imgsz,
                     batch=batch, device=device or current_app.config["VISION_DEVICE"], project=project,
                     progress=progress_line("training") if quiet else None, **(SYNTHETIC if synthetic else {}))
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


@vision_cli.command("export")
@click.option("--format", "fmt", required=True, type=click.Choice(["onnx", "openvino"]))
@click.option("--weights", default=None, type=click.Path(exists=True, dir_okay=False),
              help="PyTorch weights (default: VISION_WEIGHTS)")
@click.option("--imgsz", default=None, type=click.IntRange(32, 4096), help="input size (default: VISION_IMGSZ)")
@click.option("--out", default=None, type=click.Path(), help="where to put it (default: beside the weights)")
@click.option("--half", is_flag=True, help="FP16 (OpenVINO on hardware that has it)")
def export_cmd(fmt, weights, imgsz, out, half):
    """Export the detector for ONNX Runtime or OpenVINO; point VISION_WEIGHTS at what it prints."""
    from vision.export import ExportError, export

    try:
        made = export(weights or current_app.config["VISION_WEIGHTS"], fmt,
                      imgsz=imgsz or current_app.config["VISION_IMGSZ"], out=out, half=half)
    except ExportError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(str(made))


@vision_cli.command("negatives")
@click.argument("out", type=click.Path(file_okay=False))
def negatives_cmd(out):
    """Export camera findings marked invalid as YOLO background images (crops, empty labels) for retraining."""
    from app.services.vision import export_negatives

    click.echo(f"{export_negatives(Path(out))} negatives → {out}")


@vision_cli.command("demo-setup")
def demo_setup():
    """For the live demo: train the tiny model on synthetic shapes once, and write the demo cameras' videos."""
    from app.camera_runtime.demo import prepare_demo

    prepare_demo(current_app.config, click.echo, progress=progress_line("training the demo detector"))
    click.echo("demo cameras ready")


@vision_cli.command("run")
@click.option("--camera", "cameras", multiple=True, help="camera code (repeatable); default: every enabled one")
@click.option("--weights", default=None)
@click.option("--classmap", default=None)
@click.option("--batch", default=0, show_default=True, type=click.IntRange(0),
              help="cameras per process (0: all in one), each stream read by its own thread, one detector per "
                   "process inferring their changed frames together; 1: a process per camera with ByteTrack")
@click.option("--node", default=None, help="share the cameras with other machines: this machine's node name")
@click.option("--capacity", default=100, show_default=True, type=click.IntRange(1),
              help="with --node: the most cameras this machine runs")
@runtime_errors
def run_cmd(cameras, weights, classmap, batch, node, capacity):
    """Run the cameras — by default all in one process with one detector — until SIGTERM or Ctrl-C.

    With --node, any number of machines share the enabled cameras by lease: each takes a fair share, and the
    cameras of a machine that dies run elsewhere within VISION_LEASE_S and one heartbeat.
    """
    from app.camera_runtime import supervisor

    if node:
        if cameras:
            raise click.UsageError("--camera and --node do not go together: a node takes its cameras by lease")
        click.echo(f"node {node}: taking up to {capacity} camera(s) by lease")
        supervisor.run_node(node, capacity, weights, classmap, batch=batch)
        return
    found = supervisor.enabled_cameras(tuple(cameras))
    click.echo(f"running {len(found)} camera(s): {', '.join(code for _, code in found)}")
    supervisor.run(found, weights, classmap, batch=batch)


@vision_cli.command("replay")
@click.argument("path")
@click.option("--camera", "camera_ref", required=True, help="camera code or id (its zones and calibration apply)")
@click.option("--weights", default=None)
@click.option("--classmap", default=None)
@click.option("--fps", type=float, default=None, help="sampling rate (default: the camera's)")
@click.option("--dry-run", is_flag=True, help="report what would be created, write nothing")
@runtime_errors
def replay(path, camera_ref, weights, classmap, fps, dry_run):
    """Run a recorded file through the camera's pipeline; print confirmed violations and cases as JSON."""
    from app.camera_runtime.replay import replay_file

    out = replay_file(path, camera_ref, weights=weights, classmap=classmap, fps=fps, dry_run=dry_run)
    if not dry_run:
        db.session.commit()
    click.echo(json.dumps(out, ensure_ascii=False))
