"""One camera process: sample each stream at its camera's fps, infer, apply the rules, record what is confirmed.

A process runs one camera (its own detector with ByteTrack) or a batch of them: one detector for all, each live
stream read by its own thread (`vision.sources.LatestFrame`), their changed frames inferred in one call per
round. It reconnects to streams with backoff (`vision.sources`), records findings through the case service,
writes its health every few seconds and returns when the stop event is set (or, for a recording, at its end).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from flask import current_app

from app.camera_runtime.checks import CameraChecks
from app.camera_runtime.config import build_detector, load_rules
from app.camera_runtime.demo import demo_video
from app.camera_runtime.health import write_health, write_snapshot

log = logging.getLogger(__name__)
HEALTH_EVERY_S = 5


def camera_process(camera_ids: list[int], weights: str | None, classmap: str | None, stop,
                   config: dict | None = None, lease: dict | None = None, control=None) -> None:
    """Entry point of a spawned camera process: it builds its own app (and connections), then runs its cameras.

    Ctrl-C and SIGTERM reach the whole process group; the child leaves them to its supervisor, which stops it
    through `stop` (otherwise the supervisor would see it die and start it again while shutting down).
    """
    import signal

    from app import create_app

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)

    app = create_app(config)
    with app.app_context():
        run_cameras(camera_ids, stop, weights=weights, classmap=classmap, lease=lease, control=control)


def run_cameras(camera_ids: list[int], stop, *, weights: str | None = None, classmap: str | None = None,
                lease: dict | None = None, control=None) -> None:
    """Run these cameras in this process (inside an app context) until `stop` is set or their recordings end.

    `lease` ({"node", "versions": {camera id: lease version}}) when a vision node runs them: findings are written
    under those leases only (`app.services.camera_leases`). `control`, a queue from the node: each message is the
    whole set the node now holds ({camera id: lease version}); cameras leave and join the running loop, so the
    others never pause for a hand-over.
    """
    import queue

    import torch

    from app.extensions import db
    from app.models import Camera
    from app.services.vision import camera_setup, record_violation
    from vision.gating import ChangeGate
    from vision.pipeline import Pipeline, run_batched, snapshot_jpeg
    from vision.rules import RuleEngine
    from vision.sources import FrameSource, LatestFrame, is_live

    cfg = current_app.config
    # Several camera processes on one machine: torch's default of a thread per core in each would oversubscribe;
    # the supervisor shares the cores out (VISION_THREADS 0), one process alone takes them all.
    torch.set_num_threads(int(cfg["VISION_THREADS"]) or os.cpu_count() or 1)
    shared = len(camera_ids) > 1 or control is not None  # one detector, many cameras: a reader thread each
    detector = build_detector(cfg, weights, classmap, track=False if shared else None)
    rules = load_rules(cfg)
    cams: dict[int, dict] = {}
    readers: list[LatestFrame] = []
    last_write = last_poll = 0.0

    def on_found(cid, f):
        if lease and cid not in lease["versions"]:
            return  # handed over a moment ago: the new holder writes what it sees
        try:
            record_violation(cid, f, detector.model_version,
                             lease=(lease["node"], lease["versions"][cid]) if lease else None)
            db.session.commit()
            if cid in cams:
                cams[cid]["found"] += 1
        except Exception:  # noqa: BLE001 - one failed write must not stop the camera
            db.session.rollback()
            log.exception("camera %s: could not record a finding", cid)
        finally:
            db.session.remove()

    def report(**extra):
        for c in cams.values():
            if (frame := c.pop("latest", None)) is not None:  # the newest frame since the last report
                write_snapshot(c["setup"]["code"], snapshot_jpeg(frame))
            write_health(c["setup"]["code"], {**c["source"].health.as_dict(), "inferred": c["pipe"].inferred,
                                              "findings": c["found"], "model": detector.model_version,
                                              "node": lease["node"] if lease else None, "pid": os.getpid(),
                                              "batched_with": len(cams), "at": time.time(), **extra})

    def stopping() -> bool:
        nonlocal last_write
        if time.monotonic() - last_write > HEALTH_EVERY_S:
            last_write = time.monotonic()
            report()
            checks.refresh()
        return stop.is_set()

    def watched(c: dict, frames):
        for item in frames:
            if item is not None:
                c["latest"] = item[1]  # a reference only; encoded at most every HEALTH_EVERY_S
            yield item

    def frames_of(c: dict):
        source = c["source"]
        if shared and source.live:  # each stream read by its own thread; the loop takes what is new
            readers.append(LatestFrame(source, lambda: stop.is_set() or c["gone"], name=c["setup"]["code"]))
            return watched(c, readers[-1])
        return watched(c, source.frames(stop=lambda: stopping() or c["gone"]))

    def add(cid: int):
        camera = db.session.get(Camera, cid)
        if camera is None:  # deleted meanwhile
            return None
        setup = camera_setup(camera)
        url = demo_video(setup["url"], Path(cfg["DEMO_VIDEO_DIR"]))
        demo = setup["url"].startswith("demo://")  # a generated video played as a live camera
        c = cams[cid] = {
            "setup": setup, "found": 0, "gone": False,
            "pipe": Pipeline(detector, RuleEngine(rules, setup["zones"]), gate=ChangeGate(),
                             calibration=setup["calibration"], position=setup["position"]),
            "source": FrameSource(url, fps=setup["fps"], live=demo or is_live(url), loop=demo),
        }
        log.info("camera %s: running on %s at %s fps", setup["code"], url, setup["fps"])
        return cid, c["pipe"], frames_of(c)

    def joining() -> list:
        """The node's latest message, at most twice a second: cameras it gave up leave, new ones join."""
        nonlocal last_poll
        if time.monotonic() - last_poll < 0.5:
            return []
        last_poll, versions = time.monotonic(), None
        try:
            while True:
                versions = control.get_nowait()  # only the newest set counts
        except queue.Empty:
            pass
        if versions is None:
            return []
        for cid in set(cams) - set(versions):
            cams.pop(cid)["gone"] = True  # its reader ends and the loop drops it
        lease["versions"] = dict(versions)
        joined = [item for cid in sorted(set(versions) - set(cams)) if (item := add(cid)) is not None]
        db.session.remove()
        checks.watch(list(cams))
        readers[:] = [r for r in readers if r.alive]
        log.info("cameras now %s (%d joined)", sorted(cams), len(joined))
        return joined

    items = [item for cid in camera_ids if (item := add(cid)) is not None]
    db.session.remove()  # no connection held between findings
    checks = CameraChecks(list(cams))  # AI 核查 of the cases these cameras found, once resolved
    run_batched(items, detector, on_found, stop=stopping, on_frame=checks.on_frame,
                joining=joining if control is not None else None)
    for reader in readers:  # no thread may still be inside a decoder when the process exits
        reader.join()
    report(stopped=True)
