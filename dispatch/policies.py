"""Dispatch policies with one interface, so the simulator compares them on the same arrivals.

`ours` is `routing.plan` itself — the production code, not a copy. The baselines use the same hard
eligibility rules (`routing.can_take`) and differ only in how they choose.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from dispatch import routing
from dispatch.routing import Assignment, CaseRequest, Plan, StatsLookup, Weights, WorkerState


def ours(cases, workers, stats, w, neighbours) -> Plan:
    """Production routing: grid ownership, learned costs, batch optimal assignment."""
    return routing.plan(cases, workers, stats, w, neighbours)


def nearest_idle(cases: Iterable[CaseRequest], workers: Iterable[WorkerState], stats: StatsLookup,
                 w: Weights, neighbours: Mapping) -> Plan:
    """Classic baseline: in priority/arrival order, the nearest idle eligible worker; no idle one → wait."""
    workers = list(workers)
    out = Plan([], {})
    for c in sorted(cases, key=lambda c: (c.priority, -c.due_in_min)):
        idle = [wk for wk in workers if wk.open_tasks == 0 and routing.can_take(c, wk, w)]
        if not idle:
            out.waiting[c.id] = "no idle worker"
            continue
        best = min(idle, key=lambda wk: routing.distance_km(wk.lon, wk.lat, c.lon, c.lat))
        _take(out, c, best, stats, w)
    return out


class RoundRobin:
    """Baseline: eligible workers in turn, ignoring distance (what a busy dispatcher does by hand)."""

    def __init__(self):
        self.turn = 0

    def __call__(self, cases, workers, stats, w, neighbours) -> Plan:
        """Give each case to the next eligible worker after the last one used."""
        workers = sorted(workers, key=lambda wk: wk.id)
        out = Plan([], {})
        for c in sorted(cases, key=lambda c: (c.priority, -c.due_in_min)):
            for step in range(len(workers)):
                wk = workers[(self.turn + step) % len(workers)]
                if routing.can_take(c, wk, w):
                    self.turn = (self.turn + step + 1) % len(workers)
                    _take(out, c, wk, stats, w)
                    break
            else:
                out.waiting[c.id] = "no eligible worker with room"
        return out


def _take(out: Plan, case: CaseRequest, wk: WorkerState, stats: StatsLookup, w: Weights) -> None:
    t = routing.terms(case, wk, stats(wk.id, case.category), w)
    out.assignments.append(Assignment(case.id, wk.id, routing.weigh(t, w), t))
    wk.open_tasks += 1
    wk.queued_min += t["travel"] + t["handle"]


def make(name: str):
    """The policy callable for a name: ours, nearest or round_robin."""
    if name == "ours":
        return ours
    if name == "nearest":
        return nearest_idle
    if name == "round_robin":
        return RoundRobin()
    raise ValueError(f"unknown policy {name!r}: use ours, nearest or round_robin")
