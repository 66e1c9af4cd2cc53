"""AI 核查 inside a camera process: the cases its cameras found and that are now resolved get looked at again.

`CameraChecks` keeps one `vision.checks.SpotCheck` per pending case (refreshed from the database every few
seconds), gives each the detections of every frame its camera sees, and records the verdict through the case
service (`app.services.vision.record_camera_check`) as soon as one is reached.
"""

from __future__ import annotations

import logging

import numpy as np
from flask import current_app

from vision.checks import PASS, SpotCheck
from vision.rules import Detection

log = logging.getLogger(__name__)


class CameraChecks:
    """The pending camera checks of a set of cameras."""

    def __init__(self, camera_ids: list[int], *, release: bool = True):
        # release: hand the database connection back after each use (a long-running camera process); a replay
        # inside a command keeps the caller's session.
        self.camera_ids, self.release = list(camera_ids), release
        self.checks: dict[int, dict[int, SpotCheck]] = {cid: {} for cid in self.camera_ids}
        cfg = current_app.config
        self.looks, self.minutes = int(cfg["CAMERA_CHECK_LOOKS"]), float(cfg["CAMERA_CHECK_MINUTES"])
        self.decided = 0

    def refresh(self) -> None:
        """Take up newly resolved cases and forget the ones decided elsewhere (an inspector, a dispatcher)."""
        from app.extensions import db
        from app.services.vision import pending_camera_checks

        try:
            pending = pending_camera_checks(self.camera_ids)
        finally:
            if self.release:
                db.session.remove()  # no connection held between looks
        keep = {(p["camera_id"], p["case_id"]) for p in pending}
        for cid, checks in self.checks.items():
            for case_id in [k for k in checks if (cid, k) not in keep]:
                del checks[case_id]
        for p in pending:
            self.checks[p["camera_id"]].setdefault(p["case_id"], SpotCheck(
                p["case_id"], p["category"], p["anchor_px"], looks=self.looks, span_s=self.minutes * 60))

    def watch(self, camera_ids: list[int]) -> None:
        """The cameras changed (a vision node handed some over): keep the checks of those still here only."""
        self.camera_ids = list(camera_ids)
        self.checks = {cid: self.checks.get(cid, {}) for cid in self.camera_ids}

    def on_frame(self, camera_id: int, ts: float, frame: np.ndarray, detections: list[Detection]) -> None:
        """One frame of a camera: a look for each of its pending checks that is due one."""
        checks = self.checks.get(camera_id)
        if not checks:
            return
        for case_id, check in list(checks.items()):
            verdict = check.look(ts, detections)
            if verdict is not None:
                self._record(case_id, verdict == PASS, frame)
                del checks[case_id]

    def _record(self, case_id: int, passed: bool, frame: np.ndarray) -> None:
        from app.extensions import db
        from app.services.vision import record_camera_check
        from vision.pipeline import snapshot_jpeg

        try:
            if record_camera_check(case_id, passed, snapshot_jpeg(frame), looks=self.looks, minutes=self.minutes):
                self.decided += 1
            db.session.commit()
        except Exception:  # noqa: BLE001 - one failed write must not stop the camera
            db.session.rollback()
            log.exception("camera check of case %s could not be recorded", case_id)
        finally:
            if self.release:
                db.session.remove()
