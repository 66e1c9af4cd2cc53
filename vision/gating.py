"""Cheap gating before inference: skip frames where nothing changed, but look again every so often."""

from __future__ import annotations

import cv2
import numpy as np


class ChangeGate:
    """Share of a small grey thumbnail's pixels that changed against the last inferred frame.

    A share, not a mean: a small object appearing in a wide view moves the mean by almost nothing but
    changes a clear cluster of pixels. A slowly growing pile changes too little between two frames to
    pass, so a static scene is re-checked at least every `recheck_s` seconds of the frames' own clock.
    """

    def __init__(self, pixel_threshold: int = 20, area_threshold: float = 0.002, recheck_s: float = 30.0,
                 size: tuple[int, int] = (96, 54), follow_frames: int = 2):
        self.pixel_threshold, self.area_threshold = pixel_threshold, area_threshold
        # After a change, a few more frames go through: a tracker (ByteTrack) activates a new track only
        # after seeing it in consecutive frames.
        self.follow_frames, self.follow = follow_frames, 0
        self.recheck_s, self.size = recheck_s, size
        self.reference: np.ndarray | None = None
        self.last_ts: float | None = None
        self.passed = self.skipped = 0

    def thumb(self, frame: np.ndarray) -> np.ndarray:
        """Small blurred grey copy (noise-tolerant)."""
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
        return cv2.GaussianBlur(cv2.resize(grey, self.size, interpolation=cv2.INTER_AREA), (3, 3), 0)

    def should_infer(self, frame: np.ndarray, ts: float) -> bool:
        """True when the frame differs enough from the last inferred one, or the re-check is due."""
        small = self.thumb(frame)
        due = self.reference is None or self.last_ts is None or ts - self.last_ts >= self.recheck_s
        changed = not due and float(np.mean(cv2.absdiff(small, self.reference) > self.pixel_threshold)) \
            > self.area_threshold
        if due or changed or self.follow > 0:
            self.follow = self.follow_frames if changed else max(0, self.follow - 1)
            self.reference, self.last_ts = small, ts
            self.passed += 1
            return True
        self.skipped += 1
        return False
