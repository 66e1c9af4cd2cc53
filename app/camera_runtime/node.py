"""A vision node: one machine's share of the cameras, taken by lease (`app.services.camera_leases`) and run by
the supervisor; many nodes run side by side and take over each other's cameras.

Every beat (a third of VISION_LEASE_S) the node renews its leases, gives back what is beyond its fair share and
takes free or expired cameras; when the set it holds changes, it tells its camera process (one detector for all
its cameras, the default) the new set and lease versions, and cameras leave and join it without a restart — the
others keep running. With `--batch N` (several processes) the processes are restarted with the new set instead.
On shutdown it stops them and gives every camera back at once, so nobody waits for the leases to expire.
"""

from __future__ import annotations

import logging
import threading
import time

from app.camera_runtime.supervisor import supervise

log = logging.getLogger(__name__)


class Node:
    """One `flask vision run --node NAME --capacity N` process."""

    def __init__(self, name: str, capacity: int, *, weights: str | None, classmap: str | None, config: dict,
                 batch: int = 0):
        self.name, self.capacity, self.weights, self.classmap = name, capacity, weights, classmap
        self.config, self.batch = config, batch
        self.held: dict[int, int] = {}
        self._running: dict[int, int] = {}
        self._cameras: tuple[threading.Thread, object] | None = None
        self._lease: dict = {"node": name, "versions": {}}
        self._control = None

    def beat(self) -> dict[int, int]:
        """One heartbeat against the database (committed); the leases now held."""
        from app.extensions import db
        from app.services import camera_leases

        try:
            self.held = camera_leases.beat(self.name, self.capacity, self.held)
            db.session.commit()
        except Exception:  # noqa: BLE001 - the database away for a beat: keep running, the next beat retries
            db.session.rollback()
            log.exception("node %s: heartbeat failed", self.name)
        finally:
            db.session.remove()
        return self.held

    def _start(self) -> None:
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        stop = ctx.Event()
        ids = sorted(self.held)
        self._lease = {"node": self.name, "versions": dict(self.held)}
        self._control = ctx.Queue() if self.batch == 0 else None
        thread = threading.Thread(target=supervise, args=(ids, self.weights, self.classmap, self.config, stop),
                                  kwargs={"batch": self.batch, "lease": self._lease, "control": self._control},
                                  name=f"node-{self.name}")
        thread.start()
        self._cameras, self._running = (thread, stop), dict(self.held)
        log.info("node %s: running %d camera(s): %s", self.name, len(ids), ids)

    def _hand_over(self) -> None:
        """Tell the running process the new set: cameras leave and join without stopping the others."""
        self._lease["versions"] = dict(self.held)  # a process restarted after a crash starts with this set
        self._control.put(dict(self.held))
        self._running = dict(self.held)
        log.info("node %s: now %d camera(s): %s", self.name, len(self.held), sorted(self.held))

    def _stop_cameras(self) -> None:
        if self._cameras is not None:
            thread, stop = self._cameras
            stop.set()
            thread.join(30)
            self._cameras, self._running = None, {}

    def run(self, stop) -> None:
        """Beat and keep the camera processes in step with the leases until `stop` is set."""
        from app.extensions import db
        from app.services import camera_leases

        every = float(self.config["VISION_LEASE_S"]) / 3
        try:
            while not stop.is_set():
                held = self.beat()
                if held != self._running:
                    if held and self._cameras is not None and self._control is not None:
                        self._hand_over()
                    else:
                        self._stop_cameras()
                        if held:
                            self._start()
                # Short sleeps, never stop.wait(): SIGTERM's handler sets `stop`, and a multiprocessing Event set
                # from a handler that interrupted this thread's own wait() deadlocks in notify_all.
                next_beat = time.monotonic() + every
                while not stop.is_set() and time.monotonic() < next_beat:
                    time.sleep(0.2)
        finally:
            self._stop_cameras()
            try:
                camera_leases.leave(self.name)
                db.session.commit()
            except Exception:  # noqa: BLE001 - the leases then simply expire
                db.session.rollback()
                log.exception("node %s: could not give its cameras back", self.name)
