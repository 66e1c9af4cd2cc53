"""Running cameras: one process per camera, each with its own app, detector and pipeline.

The supervisor (`flask vision run`) starts a spawned process per enabled camera and stops them all on
SIGTERM/Ctrl-C through a shared event. Each process samples its stream at the camera's fps, reconnects
with backoff, records findings through the case service, and writes its health to Redis every few
seconds (the console and /api/v1/cameras read it).
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import time
from pathlib import Path

from app.extensions import get_redis

log = logging.getLogger(__name__)
HEALTH_KEY = "urbanops:camera:{code}"
HEALTH_TTL_S = 120


def demo_video(url: str, root: Path) -> str:
    """demo://camera/N → the generated looping video of demo camera N (see `flask vision demo-setup`)."""
    if url.startswith("demo://camera/"):
        return str(root / f"camera{url.rsplit('/', 1)[1]}.avi")
    return url


def write_health(code: str, data: dict) -> None:
    """Keep a camera's health for two minutes (a dead process disappears from the console)."""
    get_redis().set(HEALTH_KEY.format(code=code), json.dumps(data), ex=HEALTH_TTL_S)


def read_health(codes: list[str]) -> dict[str, dict | None]:
    """Health per camera code (None when the camera is not running)."""
    if not codes:
        return {}
    raw = get_redis().mget([HEALTH_KEY.format(code=c) for c in codes])
    return {c: json.loads(r) if r else None for c, r in zip(codes, raw, strict=True)}


def cameras_geojson() -> dict:
    """Every camera with its calibration error and live health, as GeoJSON."""
    from geoalchemy2.shape import to_shape
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Camera

    cams = list(db.session.scalars(select(Camera).order_by(Camera.code)))
    health = read_health([c.code for c in cams])
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": c.id,
         "geometry": {"type": "Point", "coordinates": list(to_shape(c.position).coords[0])},
         "properties": {"code": c.code, "name": c.name, "enabled": c.enabled, "heading": c.heading_deg,
                        "fps": c.fps, "calibration_rms_m": c.calibration_rms_m, "health": health[c.code]}}
        for c in cams]}


def camera_process(camera_ids: list[int], weights: str | None, classmap: str | None, stop,
                   config: dict | None = None):
    """Entry point of one camera process (spawned: it builds its own app and connections).

    One camera: its own detector with ByteTrack. Several: their changed frames share one batched
    detector call per round (tracker state is per stream, so batched cameras rely on the rules'
    own association).
    """
    from app import create_app

    app = create_app(config)
    with app.app_context():
        _camera_loop(app, list(camera_ids), weights, classmap, stop)


def _camera_loop(app, camera_ids, weights, classmap, stop) -> None:
    import torch

    from app.cli_vision import build_detector, rules
    from app.extensions import db
    from app.models import Camera
    from app.services.vision import camera_setup, record_violation
    from vision.gating import ChangeGate
    from vision.pipeline import Pipeline, run_batched
    from vision.rules import RuleEngine
    from vision.sources import FrameSource, is_live

    if isinstance(camera_ids, int):
        camera_ids = [camera_ids]
    # One process per camera (or group): torch's default of a thread per core would oversubscribe.
    torch.set_num_threads(int(app.config["VISION_THREADS"]))
    detector = build_detector(weights, classmap, track=None if len(camera_ids) == 1 else False)
    cams = {}
    for cid in camera_ids:
        setup = camera_setup(db.session.get(Camera, cid))
        url = demo_video(setup["url"], Path(app.config["DEMO_VIDEO_DIR"]))
        demo = setup["url"].startswith("demo://")  # a generated video played as a live camera
        cams[cid] = {
            "setup": setup, "found": 0,
            "pipe": Pipeline(detector, RuleEngine(rules(), setup["zones"]), gate=ChangeGate(),
                             calibration=setup["calibration"], position=setup["position"]),
            "source": FrameSource(url, fps=setup["fps"], live=demo or is_live(url), loop=demo),
        }
        log.info("camera %s: running on %s at %s fps", setup["code"], url, setup["fps"])
    db.session.remove()
    last_write = 0.0

    def on_found(cid, f):
        try:
            record_violation(cid, f, detector.model_version)
            db.session.commit()
            cams[cid]["found"] += 1
        except Exception:  # noqa: BLE001 - one failed write must not stop the camera
            db.session.rollback()
            log.exception("camera %s: could not record a finding", cams[cid]["setup"]["code"])
        finally:
            db.session.remove()

    def report(**extra):
        for c in cams.values():
            write_health(c["setup"]["code"], {**c["source"].health.as_dict(), "inferred": c["pipe"].inferred,
                                              "findings": c["found"], "model": detector.model_version,
                                              "batched_with": len(cams), "at": time.time(), **extra})

    def stopping() -> bool:
        nonlocal last_write
        if time.monotonic() - last_write > 5:
            last_write = time.monotonic()
            report()
        return stop.is_set()

    run_batched([(cid, c["pipe"], c["source"].frames(stop=stopping)) for cid, c in cams.items()], detector,
                on_found, stop=stopping)
    report(stopped=True)


def supervise(camera_ids: list[int], weights: str | None, classmap: str | None, config: dict | None = None,
              stop=None, batch: int = 1) -> None:
    """Run the cameras — one process per `batch` of them — until `stop` is set; restart crashed ones."""
    ctx = mp.get_context("spawn")  # no forked CUDA/DB state in the children
    stop = stop or ctx.Event()
    groups = {i: camera_ids[k:k + batch] for i, k in enumerate(range(0, len(camera_ids), max(1, batch)))}
    procs = {}

    def start(gid):
        p = ctx.Process(target=camera_process, args=(groups[gid], weights, classmap, stop, config), daemon=False,
                        name=f"cameras-{'-'.join(map(str, groups[gid]))}")
        p.start()
        procs[gid] = p

    for gid in groups:
        start(gid)
    backoff = {gid: 1.0 for gid in groups}
    while not stop.is_set():
        time.sleep(1)
        for cid, p in list(procs.items()):
            if not p.is_alive() and not stop.is_set():
                log.warning("camera process %s exited with %s; restarting in %.0f s", cid, p.exitcode, backoff[cid])
                time.sleep(backoff[cid])
                backoff[cid] = min(backoff[cid] * 2, 60)
                start(cid)
    for p in procs.values():
        p.join(timeout=15)
        if p.is_alive():
            p.terminate()
