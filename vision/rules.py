"""From per-frame boxes to confirmed violations: zones, confirmation, dwell, stationarity, cooldown.

Pure and clocked by each frame's own timestamp, so a recording replays deterministically and faster
than real time. One `RuleEngine` per camera. A detection counts only inside a zone that watches its
category (anchor = bottom-centre of the box, where the object meets the ground) and outside ignore
zones. An object becomes a violation when it has been seen at least `confirm_frames` times, in most of
the frames since it appeared (`min_presence`: a flickering false detection fails this), with a median
score of at least `min_median_conf`, without moving more than `max_drift_px` (a passer-by or a moving
vehicle never confirms), for at least `dwell_s` seconds. Each violation is emitted once; the same spot
then stays quiet for `cooldown_s`. Vehicles from a general model count only inside no-parking zones,
where they become 机动车违停 (`illegal_parking`).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from shapely.geometry import Point, Polygon

VEHICLE = "@vehicle"  # class-map target for a general model's vehicle classes
PARKING = "illegal_parking"


@dataclass(frozen=True)
class Detection:
    """One box in one frame, already mapped to our category code (or VEHICLE)."""

    category: str
    conf: float
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels
    track_id: int | None = None
    cls_name: str = ""

    @property
    def anchor(self) -> tuple[float, float]:
        """Bottom-centre of the box: where the object stands on the ground."""
        x1, _, x2, y2 = self.box
        return (x1 + x2) / 2, y2


@dataclass(frozen=True)
class Rule:
    """Per-category thresholds (from configuration)."""

    min_conf: float = 0.35
    confirm_frames: int = 3
    min_median_conf: float = 0.45
    min_presence: float = 0.6
    dwell_s: float = 120.0
    cooldown_s: float = 3600.0
    max_drift_px: float = 40.0
    verify_below: float = 0.6  # median score below this goes to the 核实 queue instead of being filed
    lost_after_s: float = 30.0


DEFAULT_DWELL_S = {"road_occupation": 600, "exposed_garbage": 120, PARKING: 300, "mobile_vendor": 300,
                   "storefront_business": 600, "material_piling": 600}


def rules_from_config(config: Mapping[str, Mapping] | None = None) -> dict[str, Rule]:
    """Rules per category: built-in dwell times, overridden by a mapping {category: {field: value}}."""
    out = {cat: Rule(dwell_s=d) for cat, d in DEFAULT_DWELL_S.items()}
    for cat, values in (config or {}).items():
        base = out.get(cat, Rule())
        out[cat] = Rule(**{**base.__dict__, **values})
    return out


@dataclass(frozen=True)
class Zone:
    """A pixel polygon: `watch` (these categories, or all when empty), `ignore`, or `no_parking`."""

    name: str
    polygon: tuple[tuple[float, float], ...]
    kind: str = "watch"
    categories: frozenset[str] = frozenset()

    def contains(self, point: tuple[float, float]) -> bool:
        """True when the point is inside or on the edge."""
        return Polygon(self.polygon).covers(Point(point))


@dataclass
class Violation:
    """A confirmed violation, ready to become (or add evidence to) a work order."""

    category: str
    first_seen: float
    confirmed_at: float
    anchor: tuple[float, float]
    box: tuple[float, float, float, float]
    median_conf: float
    frames: int
    needs_verify: bool
    zone: str | None = None


@dataclass
class _Track:
    key: int
    category: str
    first_ts: float
    last_ts: float
    anchor0: tuple[float, float]
    anchor: tuple[float, float]
    box: tuple[float, float, float, float]
    zone: str | None
    frame0: int
    confs: list[float] = field(default_factory=list)
    reported: bool = False
    track_id: int | None = None


class RuleEngine:
    """Per-camera state machine; call `update` with every processed frame's detections, in time order."""

    def __init__(self, rules: Mapping[str, Rule] | None = None, zones: Iterable[Zone] = (),
                 default: Rule = Rule()):
        self.rules, self.default = dict(rules or {}), default
        zones = list(zones)
        self.watch = [z for z in zones if z.kind == "watch"]
        self.ignore = [z for z in zones if z.kind == "ignore"]
        self.no_parking = [z for z in zones if z.kind == "no_parking"]
        self.tracks: list[_Track] = []
        self.quiet: list[tuple[str, tuple[float, float], float, float]] = []  # category, anchor, until, radius
        self.frames = 0
        self._next_key = 1

    def rule(self, category: str) -> Rule:
        """The rule in force for a category."""
        return self.rules.get(category, self.default)

    def _zone_for(self, det: Detection) -> tuple[str | None, str | None]:
        """(category it counts as, zone name), or (None, None) when it does not count here."""
        point = det.anchor
        if any(z.contains(point) for z in self.ignore):
            return None, None
        if det.category == VEHICLE:
            z = next((z for z in self.no_parking if z.contains(point)), None)
            return (PARKING, z.name) if z else (None, None)
        if not self.watch:  # no zones configured: the whole frame is watched
            return det.category, None
        z = next((z for z in self.watch if (not z.categories or det.category in z.categories)
                  and z.contains(point)), None)
        return (det.category, z.name) if z else (None, None)

    def update(self, ts: float, detections: Iterable[Detection]) -> list[Violation]:
        """Fold one frame in; return the violations confirmed by it (each at most once)."""
        self.frames += 1
        self._expire(ts)  # first: a detection long after a track was lost must not revive it
        seen: set[int] = set()
        for det in detections:
            category, zone = self._zone_for(det)
            if category is None:
                continue
            rule = self.rule(category)
            if det.conf < rule.min_conf:
                continue
            track = self._match(category, det, rule, seen)
            if track is None:
                track = _Track(self._next_key, category, ts, ts, det.anchor, det.anchor, det.box, zone,
                               self.frames, track_id=det.track_id)
                self._next_key += 1
                self.tracks.append(track)
            elif math.dist(track.anchor0, det.anchor) > rule.max_drift_px:
                # It moved: whatever it is, it is not standing here; start counting afresh where it is now.
                track.first_ts, track.anchor0, track.frame0, track.confs = ts, det.anchor, self.frames, []
            track.last_ts, track.anchor, track.box, track.zone = ts, det.anchor, det.box, zone
            track.confs.append(det.conf)
            seen.add(track.key)
        out = []
        for track in self.tracks:
            if track.key in seen and not track.reported:
                v = self._confirm(track, ts)
                if v is not None:
                    out.append(v)
        return out

    def _match(self, category: str, det: Detection, rule: Rule, seen: set[int]) -> _Track | None:
        candidates = [t for t in self.tracks if t.category == category and t.key not in seen]
        if det.track_id is not None:
            same = next((t for t in candidates if t.track_id == det.track_id), None)
            if same is not None:
                return same
        near = [t for t in candidates if math.dist(t.anchor, det.anchor) <= rule.max_drift_px]
        return min(near, key=lambda t: math.dist(t.anchor, det.anchor)) if near else None

    def _confirm(self, track: _Track, ts: float) -> Violation | None:
        rule = self.rule(track.category)
        frames_since = self.frames - track.frame0 + 1
        median = statistics.median(track.confs)
        if (len(track.confs) < rule.confirm_frames or ts - track.first_ts < rule.dwell_s
                or len(track.confs) / frames_since < rule.min_presence or median < rule.min_median_conf):
            return None
        if any(cat == track.category and until > ts and math.dist(anchor, track.anchor) <= radius
               for cat, anchor, until, radius in self.quiet):
            track.reported = True  # the same spot was reported recently: stay quiet
            return None
        track.reported = True
        self.quiet.append((track.category, track.anchor, ts + rule.cooldown_s, rule.max_drift_px * 2))
        return Violation(track.category, track.first_ts, ts, track.anchor, track.box, round(median, 3),
                         len(track.confs), median < rule.verify_below, track.zone)

    def _expire(self, ts: float) -> None:
        self.tracks = [t for t in self.tracks if ts - t.last_ts <= self.rule(t.category).lost_after_s]
        self.quiet = [q for q in self.quiet if q[2] > ts]
