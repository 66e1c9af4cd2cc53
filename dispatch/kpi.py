"""KPIs of the closed loop, computed from plain case records (the app and the simulator share this).

按期结案率 on-time closure rate · 结案率 closure rate · 返工率 rework rate · 延期率 delay rate ·
mean and p90 time to close · mean satisfaction · first-time-fix rate · dispatch accuracy (share of
auto-dispatched cases never returned or re-routed) · 主动发现率 proactive discovery rate (share found by the
platform's own eyes — inspectors and cameras — rather than reported by citizens, the hotline or other systems).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class CaseRecord:
    """The facts about one case that the KPIs need (times as aware datetimes or minutes)."""

    reported: datetime | float
    closed: datetime | float | None
    due: datetime | float | None  # handling deadline (final one, after approved delays)
    resolved: datetime | float | None = None  # last accepted feedback
    reworks: int = 0
    delays: int = 0
    rating: int | None = None
    auto_dispatched: bool = False
    rerouted: bool = False  # returned (回退) or re-offered after an auto-dispatch
    counts: bool = True  # False for invalid / void / merged: not real work
    proactive: bool = False  # found by an inspector or a camera (主动发现), not reported to the platform


def _minutes(a, b) -> float:
    return (b - a).total_seconds() / 60 if isinstance(a, datetime) else float(b - a)


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100) of `values`, or None when empty."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def summarize(records: Iterable[CaseRecord]) -> dict:
    """All KPIs over `records`."""
    recs = [r for r in records if r.counts]
    closed = [r for r in recs if r.closed is not None]
    ttc = [_minutes(r.reported, r.closed) for r in closed]
    on_time = [r for r in closed if r.due is None or (r.resolved or r.closed) <= r.due]
    ratings = [r.rating for r in recs if r.rating is not None]
    auto = [r for r in recs if r.auto_dispatched]
    return {
        "cases": len(recs),
        "closed": len(closed),
        "closure_rate": _rate(len(closed), len(recs)),
        "on_time_rate": _rate(len(on_time), len(closed)),
        "rework_rate": _rate(sum(1 for r in recs if r.reworks), len(recs)),
        "delay_rate": _rate(sum(1 for r in recs if r.delays), len(recs)),
        "first_time_fix_rate": _rate(sum(1 for r in closed if not r.reworks), len(closed)),
        "mean_close_min": round(sum(ttc) / len(ttc), 1) if ttc else None,
        "median_close_min": _round(percentile(ttc, 50)),
        "p90_close_min": _round(percentile(ttc, 90)),
        "mean_satisfaction": round(sum(ratings) / len(ratings), 2) if ratings else None,
        "rated": len(ratings),
        "dispatch_accuracy": _rate(sum(1 for r in auto if not r.rerouted), len(auto)),
        "proactive_rate": _rate(sum(1 for r in recs if r.proactive), len(recs)),
    }


def _round(x):
    return None if x is None else round(x, 1)


def grouped(records: Iterable[tuple[str, CaseRecord]], key_name: str = "key") -> list[dict]:
    """KPIs per group from (group key, record) pairs, sorted by key."""
    groups: dict[str, list[CaseRecord]] = defaultdict(list)
    for key, rec in records:
        groups[key].append(rec)
    return [{key_name: k, **summarize(v)} for k, v in sorted(groups.items(), key=lambda kv: str(kv[0]))]


def jain(values: list[float]) -> float | None:
    """Jain's fairness index (1 = perfectly even workload, 1/n = one does everything)."""
    if not values or not any(values):
        return None
    return round(sum(values) ** 2 / (len(values) * sum(v * v for v in values)), 4)




# 综合指标值: the composite score that ranks grids, workers and departments in the league tables, the way city
# evaluations weigh their indicators (按期结案率 first). Each term is scaled to 0..1 with 1 best; a term a unit has
# no data for (no closed case yet, nobody rated) is left out and the remaining weights are scaled up to sum 1.
SCORE_TERMS: dict[str, tuple[float, object]] = {
    "on_time_rate": (0.40, lambda v: v),  # 按期结案率
    "closure_rate": (0.20, lambda v: v),  # 结案率
    "rework_rate": (0.15, lambda v: 1 - v),  # 返工率 (lower is better)
    "mean_satisfaction": (0.15, lambda v: (v - 1) / 4),  # 满意度, 1..5 stars
    "delay_rate": (0.10, lambda v: 1 - v),  # 延期率 (lower is better)
}


# A unit with fewer cases than this in the period is listed after the ranked ones, without a rank: one lucky
# case would otherwise put it first.
MIN_CASES_RANKED = 5


def composite(summary: dict) -> float | None:
    """The composite score 0..100 of one unit's KPIs (SCORE_TERMS), or None without cases."""
    if not summary.get("cases"):
        return None
    terms = [(w, scale(summary[k])) for k, (w, scale) in SCORE_TERMS.items() if summary.get(k) is not None]
    weight = sum(w for w, _ in terms)
    return round(100 * sum(w * v for w, v in terms) / weight, 1) if weight else None
