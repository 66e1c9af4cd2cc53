"""Routing: which grid worker gets which filed case.

Pure decision code shared by production (the auto-dispatch job) and the simulator. A round takes the
pending cases and the workers' current state and returns assignments plus the cases that must wait,
each with its reason. Cost is in minutes (lower is better):

    travel        what the case adds to the worker's route (cheapest insertion among the queued stops;
                  from where the worker stands when nothing is queued) × detour ÷ street speed
  + handle        learned expected handling time of this worker for this category
  + workload      minutes of work already queued ahead of this case (and earlier picks in this round)
  + lateness      minutes the expected completion passes the handling deadline (weighted heavily)
  + rework        expected minutes lost to a failed fix (learned rework rate)
  + satisfaction  learned citizen dissatisfaction (5 − mean rating)
  + neighbour     penalty when the worker comes from a neighbouring grid instead of the owner (属地)
  + wide          larger penalty for a worker from beyond the neighbouring grids
  + repeat        penalty for the worker whose fix of this very case already failed

Candidates are the owners of the case's grid, the workers of neighbouring grids and, further down, any
eligible worker within `wide_radius_km` — all of them when the locals are tied up, the idle ones always; the
neighbour and wide penalties make the owner win unless the owner is saturated (属地 first), as a dispatch
centre sends help across grids when it must. Binding is late: a case is only queued behind work that
starts within `commit_horizon_min`, otherwise it waits for the next round, because someone nearby may free up
sooner — unless its deadline is near, then any free slot will do. Nor is it queued where the worker could only
start it after going off duty: past the shift's end it would be handed back undone, and before a break it
waits the break out (`WorkerState.off_in_min`, from the duty schedule). Cases of one priority level are matched
together by an optimal assignment (Hungarian method on each connected group of cases and workers); urgent
levels go first. Nothing is dropped: a case nobody can take now is returned with the reason.
"""

from __future__ import annotations

import gc
import itertools
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from dispatch.learning import Stats

BIG = 1e9
OWNER, NEIGHBOUR, WIDE = 0, 1, 2  # candidate tiers
WAIT_BUSY = "every eligible worker nearby is busy; waiting for the next round"
WAIT_FULL = "every worker on duty is at capacity"
WAIT_QUEUE = "queued behind more urgent cases"
WAIT_NO_WORKER = "no worker on duty nearby has the skill and room for it"
WAIT_OUTSIDE = "no eligible worker near this place"


@dataclass(frozen=True)
class Weights:
    """Weights of the cost terms (minutes per unit); see the module docstring. Set from configuration."""

    travel: float = 1.0
    # A minute of a worker's handling counts 1.5: with their learned speed per category it decides who is
    # quickest at this kind of problem (chosen on the tuning seeds of dispatch/evaluation.py, with the two below).
    handle: float = 1.5
    workload: float = 1.0
    lateness: float = 4.0
    rework: float = 60.0
    satisfaction: float = 8.0
    neighbour: float = 5.0
    wide: float = 10.0  # penalty for a worker from beyond the neighbouring grids (跨网格调度)
    wide_radius_km: float = 5.0
    repeat_failure: float = 60.0
    speed_kmh: float = 15.0
    detour: float = 1.3
    max_position_age_min: float = 30.0
    outside_grid_radius_km: float = 3.0
    # Late binding: a case is only queued behind work that starts within this horizon; otherwise it waits
    # for the next round (someone may free up sooner) — unless its deadline is near.
    commit_horizon_min: float = 10.0
    at_risk_margin_min: float = 45.0

    @classmethod
    def from_mapping(cls, values: Mapping[str, float]) -> Weights:
        """Weights from a mapping (e.g. parsed JSON config); unknown keys are an error."""
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown dispatch weights: {sorted(unknown)}")
        return cls(**{k: float(v) for k, v in values.items()})


@dataclass
class WorkerState:
    """What routing needs to know about one worker right now (mutated as a round assigns)."""

    id: int
    lon: float
    lat: float
    skills: frozenset[str]
    grids: frozenset[int]
    capacity: int
    department_type: str | None = None
    open_tasks: int = 0
    queued_min: float = 0.0
    on_duty: bool = True
    position_age_min: float = 0.0
    # Where the worker's queued tasks are, in the order they will be done: a new task's travel is what
    # inserting it into that route adds, not its distance from where the worker stands.
    stops: tuple[tuple[float, float], ...] = ()
    # When the worker next goes off duty (minutes from now) and for how long (inf: the shift ends): work that
    # would only start later waits out a break, and past the shift's end is not given to them at all.
    off_in_min: float = math.inf
    off_for_min: float = math.inf


@dataclass(frozen=True)
class CaseRequest:
    """A filed case waiting for a worker."""

    id: int
    category: str
    lon: float
    lat: float
    grid_id: int | None
    due_in_min: float  # minutes from now until its handling deadline if dispatched now
    priority: int = 3
    department_type: str | None = None
    failed_by: Mapping[int, int] = field(default_factory=dict)  # worker id → failed fixes of this case
    exclude: frozenset[int] = frozenset()  # e.g. the worker whose offer just expired


@dataclass(frozen=True)
class Assignment:
    """One decision, with the cost terms that explain it."""

    case_id: int
    worker_id: int
    cost: float
    terms: dict


@dataclass
class Plan:
    """The outcome of one routing round."""

    assignments: list[Assignment]
    waiting: dict[int, str]  # case id → why it waits


StatsLookup = Callable[[int, str], Stats]


def distance_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Ground distance; equirectangular, within 0.5 % of the great circle over a city."""
    kx = 111.320 * math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot((lon2 - lon1) * kx, (lat2 - lat1) * 110.574)


def travel_min(km: float, w: Weights) -> float:
    """Minutes to cover `km` of straight line through streets."""
    return km * w.detour / w.speed_kmh * 60.0


def insertion_km(worker: WorkerState, lon: float, lat: float) -> float:
    """Ground distance that visiting (lon, lat) adds to the worker's route at its cheapest place (cheapest
    insertion); with nothing queued, the distance from the worker."""
    here = (worker.lon, worker.lat)
    if not worker.stops:
        return distance_km(*here, lon, lat)
    route = [here, *worker.stops]
    best = distance_km(*route[-1], lon, lat)  # after the last stop
    for a, b in itertools.pairwise(route):
        best = min(best, distance_km(*a, lon, lat) + distance_km(lon, lat, *b) - distance_km(*a, *b))
    return max(0.0, best)


def can_take(case: CaseRequest, worker: WorkerState, w: Weights) -> bool:
    """Hard rules: on duty, fresh position, free capacity, the skill (or the department), not excluded."""
    return (
        worker.on_duty
        and worker.position_age_min <= w.max_position_age_min
        and worker.open_tasks < worker.capacity
        and (case.category in worker.skills
             or (case.department_type is not None and case.department_type == worker.department_type))
        and worker.id not in case.exclude
        and case.failed_by.get(worker.id, 0) < 2  # twice failed on this case: someone else now
    )


def terms(case: CaseRequest, worker: WorkerState, st: Stats, w: Weights, *, tier: int = 0, extra_queue: float = 0.0):
    """The cost terms (minutes) of giving `case` to `worker` after `extra_queue` more minutes of work."""
    km = insertion_km(worker, case.lon, case.lat)
    t = {
        "travel": travel_min(km, w),
        "handle": st.handle_min,
        "workload": worker.queued_min + extra_queue,
    }
    completion = t["travel"] + t["handle"] + t["workload"]
    t["lateness"] = max(0.0, completion - case.due_in_min)
    t["rework"] = st.rework_rate
    t["satisfaction"] = max(0.0, 5.0 - st.satisfaction)
    t["neighbour"] = 1.0 if tier == NEIGHBOUR else 0.0
    t["wide"] = 1.0 if tier == WIDE else 0.0
    t["repeat_failure"] = 1.0 if case.failed_by.get(worker.id, 0) == 1 else 0.0
    t["km"] = km
    return t


def weigh(t: dict, w: Weights) -> float:
    """Total cost of a set of terms."""
    return (
        w.travel * t["travel"] + w.handle * t["handle"] + w.workload * t["workload"]
        + w.lateness * t["lateness"] + w.rework * t["rework"] + w.satisfaction * t["satisfaction"]
        + w.neighbour * t["neighbour"] + w.wide * t["wide"] + w.repeat_failure * t["repeat_failure"]
    )


class SpatialIndex:
    """Workers' positions as arrays, to find the nearest eligible ones for a case in one vectorised pass.

    (A Python scan of ~1 km buckets spent most of a 2,000-worker round in the interpreter; numpy measures
    every distance at once, and only the nearest few are checked against the hard rules.)
    """

    def __init__(self, workers: Iterable[WorkerState]):
        self.workers = list(workers)
        self.lon = np.array([wk.lon for wk in self.workers], dtype=float)
        self.lat = np.array([wk.lat for wk in self.workers], dtype=float)
        self.ids = np.array([wk.id for wk in self.workers])

    def nearest(self, case: CaseRequest, w: Weights, *, radius_km: float | None = None, k: int = 8,
                exclude: set[int] = frozenset()) -> list[WorkerState]:
        """Up to `k` eligible workers nearest to the case within the radius, nearest first (ties: lower id)."""
        if not self.workers:
            return []
        radius_km = w.wide_radius_km if radius_km is None else radius_km
        kx = 111.320 * np.cos(np.radians((self.lat + case.lat) / 2))  # as distance_km, for every worker at once
        d = np.hypot((self.lon - case.lon) * kx, (self.lat - case.lat) * 110.574)
        inside = np.flatnonzero(d <= radius_km)
        look = 4 * k  # most near workers are eligible: sort a few, and all of them only if that was not enough
        while True:
            part = inside if len(inside) <= look else inside[np.argpartition(d[inside], look)[:look]]
            found = []
            for i in part[np.lexsort((self.ids[part], d[part]))]:
                wk = self.workers[i]
                if wk.id not in exclude and can_take(case, wk, w):
                    found.append(wk)
                    if len(found) == k:
                        return found
            if len(part) == len(inside):
                return found
            look = len(inside)


def _owners_index(workers: Iterable[WorkerState]) -> dict[int, list[WorkerState]]:
    idx: dict[int, list[WorkerState]] = defaultdict(list)
    for wk in workers:
        for g in wk.grids:
            idx[g].append(wk)
    return idx


def candidates(
    case: CaseRequest,
    owners: Mapping[int, list[WorkerState]],
    neighbours: Mapping[int, Iterable[int]],
    everyone: SpatialIndex,
    stats: StatsLookup,
    w: Weights,
) -> tuple[list[tuple[WorkerState, bool]], str]:
    """Eligible (worker, tier) pairs for a case (OWNER, NEIGHBOUR, WIDE); or an empty list and the reason."""
    if case.grid_id is None:  # outside every grid: whoever is close enough
        near = [(wk, NEIGHBOUR) for wk in everyone.nearest(case, w, radius_km=w.outside_grid_radius_km)]
        return near, "" if near else WAIT_OUTSIDE
    pairs = [(wk, OWNER) for wk in owners.get(case.grid_id, ()) if can_take(case, wk, w)]
    seen = {wk.id for wk, _ in pairs}
    for g in neighbours.get(case.grid_id, ()):
        for wk in owners.get(g, ()):
            if wk.id not in seen and can_take(case, wk, w):
                seen.add(wk.id)
                pairs.append((wk, NEIGHBOUR))
    if not any(wk.queued_min <= w.commit_horizon_min for wk, _ in pairs):  # locals all tied up: look wider
        pairs += [(wk, WIDE) for wk in everyone.nearest(case, w, exclude=seen)]
    else:  # idle workers from further away compete too: in a backlog (the morning after the night) the locals
        # cannot take every case at once, and an idle hand nearby beats waiting (chosen on the tuning seeds)
        pairs += [(wk, WIDE) for wk in everyone.nearest(case, w, exclude=seen) if wk.queued_min == 0]
    if pairs:
        return pairs, ""
    return [], WAIT_NO_WORKER


@dataclass(frozen=True)
class Suggestion:
    """A worker a dispatcher could give a case to, with the cost and the terms that explain it."""

    worker_id: int
    cost: float
    tier: int  # OWNER, NEIGHBOUR or WIDE
    terms: dict


def suggest(case: CaseRequest, workers: list[WorkerState], stats: StatsLookup, w: Weights,
            neighbours: Mapping[int, Iterable[int]], *, k: int = 3) -> tuple[list[Suggestion], str]:
    """The `k` cheapest eligible workers for one case as a round would cost them (a dispatcher choosing by hand);
    or none and the reason nobody can take it."""
    pairs, why = candidates(case, _owners_index(workers), neighbours, SpatialIndex(workers), stats, w)
    ranked = []
    for wk, tier in pairs:
        t = terms(case, wk, stats(wk.id, case.category), w, tier=tier)
        ranked.append(Suggestion(wk.id, weigh(t, w), tier, t))
    ranked.sort(key=lambda s: (s.cost, s.worker_id))
    return ranked[:k], why


def _components(pairs: dict[int, list]) -> list[tuple[list[int], list[int]]]:
    """Connected groups of cases and workers (union–find over case–worker edges)."""
    parent: dict = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for cid, cands in pairs.items():
        find(("c", cid))
        for wk, _ in cands:
            ra, rb = find(("c", cid)), find(("w", wk.id))
            if ra != rb:
                parent[ra] = rb
    groups: dict = defaultdict(lambda: ([], set()))
    for cid, cands in pairs.items():
        root = find(("c", cid))
        groups[root][0].append(cid)
        groups[root][1].update(wk.id for wk, _ in cands)
    return [(cases, sorted(ws)) for cases, ws in groups.values()]


def plan(
    cases: Iterable[CaseRequest],
    workers: Iterable[WorkerState],
    stats: StatsLookup,
    w: Weights = Weights(),
    neighbours: Mapping[int, Iterable[int]] | None = None,
    max_cases: int = 300,
) -> Plan:
    """One routing round: optimal assignment per priority level, urgent first. Mutates worker states.

    Under overload only the `max_cases` most pressing cases (priority, then deadline) are considered;
    the rest wait for the next round, so a round stays fast however long the queue grows.
    """
    # A round allocates many short-lived objects; a cyclic-GC pass in the middle is the latency tail.
    # Reference counting still frees them; collection resumes right after.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _plan(cases, workers, stats, w, neighbours, max_cases)
    finally:
        if paused:
            gc.enable()


def _plan(cases, workers, stats, w, neighbours, max_cases) -> Plan:
    workers = [wk for wk in workers if wk.on_duty and wk.open_tasks < wk.capacity]
    by_id = {wk.id: wk for wk in workers}
    owners = _owners_index(workers)
    index = SpatialIndex(workers)
    neighbours = neighbours or {}
    out = Plan([], {})
    ordered = sorted(cases, key=lambda c: (c.priority, c.due_in_min, c.id))
    if not workers:
        out.waiting = {c.id: WAIT_FULL for c in ordered}
        return out
    for c in ordered[max_cases:]:
        out.waiting[c.id] = WAIT_QUEUE
    levels: dict[int, list[CaseRequest]] = defaultdict(list)
    for c in ordered[:max_cases]:
        levels[c.priority].append(c)
    for level in sorted(levels):
        batch = {c.id: c for c in levels[level]}
        pairs = {}
        for c in batch.values():
            cands, why = candidates(c, owners, neighbours, index, stats, w)
            if cands:
                pairs[c.id] = cands
            else:
                out.waiting[c.id] = why
        for case_ids, worker_ids in _components(pairs):
            _solve(case_ids, worker_ids, batch, pairs, by_id, stats, w, out)
    return out


def _solve(case_ids, worker_ids, batch, pairs, by_id, stats, w, out) -> None:
    """Optimal assignment inside one connected group; each worker offers as many slots as it has room.

    Costs are computed here as plain numbers (the hot loop); the explanatory terms are built afterwards
    for the chosen pairs only, with `terms`/`weigh`, which give the same total.
    """
    slots = []  # (worker, k): the worker's k-th new task this round
    for wid in worker_ids:
        wk = by_id[wid]
        room = min(wk.capacity - wk.open_tasks, len(case_ids))
        slots.extend((wk, k) for k in range(room))
    col = defaultdict(list)
    for j, (wk, _) in enumerate(slots):
        col[wk.id].append(j)
    cost = np.full((len(case_ids), len(slots)), BIG)
    chosen_tier = {}
    for i, cid in enumerate(case_ids):
        case = batch[cid]
        for wk, tier in pairs[cid]:
            st = stats(wk.id, case.category)
            travel = travel_min(insertion_km(wk, case.lon, case.lat), w)
            fixed = (w.travel * travel + w.handle * st.handle_min + w.rework * st.rework_rate
                     + w.satisfaction * max(0.0, 5.0 - st.satisfaction)
                     + (w.neighbour if tier == NEIGHBOUR else 0.0) + (w.wide if tier == WIDE else 0.0)
                     + (w.repeat_failure if case.failed_by.get(wk.id, 0) == 1 else 0.0))
            at_risk = case.due_in_min - (travel + st.handle_min) < w.at_risk_margin_min
            for k, j in enumerate(col[wk.id]):
                queue = wk.queued_min + k * st.handle_min  # the k-th new task waits for k others
                if queue + travel > wk.off_in_min:
                    if wk.off_for_min == math.inf:
                        break  # would start after the shift ends: handed back unstarted
                    queue += wk.off_for_min  # waits out the break
                if queue > w.commit_horizon_min and not at_risk:
                    break  # late binding: do not queue it far ahead yet (later slots wait even longer)
                late = max(0.0, travel + st.handle_min + queue - case.due_in_min)
                cost[i, j] = fixed + w.workload * queue + w.lateness * late
            chosen_tier[(i, wk.id)] = tier
    rows, cols = linear_sum_assignment(cost)
    made = []
    for i, j in zip(rows, cols, strict=True):
        cid = case_ids[i]
        if cost[i, j] >= BIG:
            out.waiting[cid] = WAIT_BUSY
            continue
        wk, k = slots[j]
        case = batch[cid]
        st = stats(wk.id, case.category)
        t = terms(case, wk, st, w, tier=chosen_tier[(i, wk.id)], extra_queue=k * st.handle_min)
        made.append(Assignment(cid, wk.id, round(float(cost[i, j]), 2), {n: round(v, 2) for n, v in t.items()}))
    out.assignments.extend(made)
    # Update states after the whole group: the costs above all saw the round's starting point.
    for a in made:
        wk = by_id[a.worker_id]
        wk.open_tasks += 1
        wk.queued_min += a.terms["travel"] + a.terms["handle"]
    done = {a.case_id for a in made}
    for cid in case_ids:
        if cid not in done and cid not in out.waiting:
            out.waiting[cid] = WAIT_BUSY
