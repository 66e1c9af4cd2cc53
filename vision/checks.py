"""AI 核查: a camera checks a fix by looking at the spot again, instead of an inspector travelling there.

A `SpotCheck` watches one resolved case in one camera's view: where the problem was in the image (its anchor
pixel) and what it was (the category). It takes a look every `span_s / looks` seconds of the camera's clock;
each look asks whether a detection of that category stands within `radius_px` of the spot. The same answer in
`looks` consecutive looks decides: absent every time → the fix holds (pass), present every time → it is still
there (fail). A look that disagrees with the run before it starts a new run, so a passer-by or one missed
detection does not decide anything. Pure: no database, no camera; the camera runtime feeds it detections.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from vision.rules import Detection

PASS, FAIL = "pass", "fail"


@dataclass
class SpotCheck:
    """One case's check by one camera; feed it `look(ts, detections)` for every frame the camera sees."""

    case_id: int
    category: str
    anchor_px: tuple[float, float]
    looks: int = 3
    span_s: float = 600.0
    radius_px: float = 60.0
    seen: list[tuple[float, bool]] = field(default_factory=list)  # (camera time, present?) of the current run
    last_look: float | None = None

    @property
    def interval_s(self) -> float:
        """Seconds between two looks (the looks spread over the span)."""
        return self.span_s / self.looks

    def present(self, detections: list[Detection]) -> bool:
        """Is a detection of this category standing on the spot?"""
        ax, ay = self.anchor_px
        for d in detections:
            if d.category != self.category:
                continue
            x1, y1, x2, y2 = d.box
            # Its box (with a margin) covers the spot, or it stands (anchor: bottom centre) close to it.
            r = self.radius_px
            if x1 - r <= ax <= x2 + r and y1 - r <= ay <= y2 + r or math.dist(d.anchor, (ax, ay)) <= r:
                return True
        return False

    def look(self, ts: float, detections: list[Detection]) -> str | None:
        """Take a look if one is due at camera time `ts`; PASS or FAIL once decided, else None."""
        if self.last_look is not None and ts - self.last_look < self.interval_s:
            return None
        self.last_look = ts
        now = self.present(detections)
        if self.seen and self.seen[-1][1] != now:
            self.seen = []
        self.seen.append((ts, now))
        if len(self.seen) >= self.looks:
            return FAIL if now else PASS
        return None
