"""Starting, watching and stopping the camera processes: by default one process for all of a machine's cameras
(one detector, a reader thread per stream: ≈ 20 MB per camera instead of ≈ 1 GB per camera process), or one per
`batch` of them.

`run` is what `flask vision run` calls: it chooses the cameras, checks the detector once in this process (a
bad weights file is one clear error, not one per child), stops everything on SIGTERM or Ctrl-C through one
stop event, and restarts a crashed process with backoff.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import time

from flask import current_app
from sqlalchemy import select

from app.camera_runtime.config import RuntimeConfigError, build_detector
from app.camera_runtime.process import camera_process

log = logging.getLogger(__name__)


def enabled_cameras(codes: tuple[str, ...] = ()) -> list[tuple[int, str]]:
    """(id, code) of the named cameras, or of every enabled one; unknown codes or none at all are errors."""
    from app.extensions import db
    from app.models import Camera

    q = select(Camera.id, Camera.code).where(Camera.code.in_(codes)) if codes else \
        select(Camera.id, Camera.code).where(Camera.enabled.is_(True))
    found = [tuple(row) for row in db.session.execute(q.order_by(Camera.code))]
    if missing := set(codes) - {code for _, code in found}:
        raise RuntimeConfigError(f"unknown camera(s): {sorted(missing)}")
    if not found:
        raise RuntimeConfigError("no enabled cameras")
    return found


def run(cameras: list[tuple[int, str]], weights: str | None = None, classmap: str | None = None,
        batch: int = 1) -> None:
    """Run these cameras (from `enabled_cameras`) until SIGTERM or Ctrl-C; call inside an app context."""
    build_detector(current_app.config, weights, classmap)  # fail now, clearly, rather than in every child
    stop = mp.get_context("spawn").Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    # The children get this app's settings (they are spawned, not forked).
    config = {k: v for k, v in current_app.config.items() if k.isupper()}
    supervise([cid for cid, _ in cameras], weights, classmap, config=config, stop=stop, batch=batch)


def supervise(camera_ids: list[int], weights: str | None, classmap: str | None, config: dict | None = None,
              stop=None, batch: int = 1, lease: dict | None = None, control=None) -> None:
    """Run the cameras — one process per `batch` of them — until `stop` is set; restart crashed ones.

    `lease` and `control` come from a vision node (see `app.camera_runtime.node`): the node updates
    `lease["versions"]` and tells the one process through `control`; a crashed process restarts with the set the
    node holds then."""
    ctx = mp.get_context("spawn")  # no forked CUDA/DB state in the children
    stop = stop or ctx.Event()
    size = batch if batch > 0 else max(1, len(camera_ids))  # 0: every camera in one process, one detector
    groups = {i: camera_ids[k:k + size] for i, k in enumerate(range(0, len(camera_ids), size))}
    if config is not None and not config.get("VISION_THREADS"):  # 0: share the cores among the processes
        config = {**config, "VISION_THREADS": max(1, (os.cpu_count() or 1) // max(1, len(groups)))}
    procs = {}

    def start(gid):
        if control is not None:  # one process for the node's whole set, whatever it is now
            groups[gid] = sorted(lease["versions"])
        p = ctx.Process(target=camera_process, args=(groups[gid], weights, classmap, stop, config, lease, control),
                        daemon=False, name=f"cameras-{'-'.join(map(str, groups[gid]))}")
        p.start()
        procs[gid] = p

    for gid in groups:
        start(gid)
    backoff = {gid: 1.0 for gid in groups}
    while not stop.is_set():
        time.sleep(1)
        for gid, p in list(procs.items()):
            if not p.is_alive() and not stop.is_set():
                log.warning("camera process %s exited with %s; restarting in %.0f s", gid, p.exitcode, backoff[gid])
                time.sleep(backoff[gid])
                backoff[gid] = min(backoff[gid] * 2, 60)
                start(gid)
    for p in procs.values():
        p.join(timeout=15)
        if p.is_alive():
            p.terminate()


def run_node(name: str, capacity: int, weights: str | None = None, classmap: str | None = None,
             batch: int = 0) -> None:
    """`flask vision run --node NAME`: share the cameras with other nodes by lease until SIGTERM or Ctrl-C."""
    from app.camera_runtime.node import Node

    build_detector(current_app.config, weights, classmap)  # fail now, clearly
    stop = mp.get_context("spawn").Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    config = {k: v for k, v in current_app.config.items() if k.isupper()}
    Node(name, capacity, weights=weights, classmap=classmap, config=config, batch=batch).run(stop)
