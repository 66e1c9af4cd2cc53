"""Simulated days of a district where problems appear on their own and wait, unseen, until someone notices them.

The world comes from `patrol.history` (the same kind of rates the forecast learns: places, hours of the week,
drift, recurrence). The weeks before the measured days are the platform's history: every problem, reported some
hours after it appeared. In the measured days a problem stays latent until the first of:

- **a citizen** reports it — most are never reported: citizens call about a share of each kind
  (`patrol.value.DISCOVERY`), after a delay that depends on the kind (a stall in the way within hours, a cracked kerb
  after a day) and on the place (busy cells report sooner);
- **a camera** sees it, if its cell is in a camera's view and its category is one the detector knows (after the
  dwell time, with a chance of missing it);
- **an inspector** passing through its cell notices it: on a patrol round, or on site for another case.

Some problems go away on their own if nobody comes (a stall moves on, laundry is taken in); the
rest stay until found. The field force works an early and a late shift of eight hours (inspectors alternate; the
late one runs to 22:00 for evening markets) and handles every problem found: the nearest free inspector on duty
goes, first found first served, a patroller breaking off the round; one found on patrol that can be fixed there
and then (a stall, laundry, parked bikes: 即查即改) is fixed by the finder. The force is sized, by measurement, so
that case work alone — were every problem reported the moment it appeared — keeps it busy `load` of its time;
patrols use the rest. Policies differ only in how an idle inspector's round is chosen (`patrol.plan`, the same
solver for all):

- `none`: no rounds — idle inspectors wait where they are;
- `random`: cells of random worth;
- `hotspot`: last month's hotspot map (each cell's reported problems in the 28 days before);
- `forecast`: ours — the problems expected to be waiting unseen in each cell (`unseen_value`): the forecast's
  rate per category (refitted every night on what was reported) integrated over the hours since anyone last looked
  there, each hour weighted by the chance such a problem is still there unreported, times the category's weight
  (`patrol.value`).

Every policy of one seed sees the same problems, citizens and cameras. The report gives the share of the problems
found that were found before any citizen report (主动发现率), the time from appearance to discovery, the time from
a citizen's report to the fix, the patrol hours and the inspectors' use of their time.
"""

from __future__ import annotations

import heapq
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from dispatch.evaluation import spread
from dispatch.routing import distance_km
from patrol.cells import Cells, centre
from patrol.forecast import Events, Forecaster, hotspot_map
from patrol.history import CATEGORIES, HOURS_PER_WEEK, generate
from patrol.plan import plan_round
from patrol.value import DETECTABLE, DISCOVERY, FAMILY, place_factor, unseen_value

POLICIES = ("none", "random", "hotspot", "forecast")
HANDLE_MIN = {"vending": 15.0, "waste": 30.0, "facilities": 40.0, "advertising": 25.0, "street": 12.0}  # on site


@dataclass(frozen=True)
class SimConfig:
    """One run's settings."""

    policy: str = "forecast"
    seed: int = 1
    days: int = 7
    history_weeks: int = 8
    load: float = 0.85  # the field force's use of its shift by case work alone
    # Local hours; inspectors alternate. The late shift runs to 22:00 for evening markets and the evening garbage
    shifts: tuple[tuple[float, float], ...] = ((7.0, 15.0), (14.0, 22.0))
    camera_share: float = 0.08  # cells in some camera's view (chosen among the busier ones)
    camera_catch: float = 0.8  # chance the detector confirms a problem in view
    camera_dwell_min: float = 10.0
    see_prob: float = 0.9  # chance an inspector in the cell notices a problem there
    round_min: float = 60.0  # a patrol round's budget
    travel_kmh: float = 12.0  # e-bike to a case
    patrol_mps: float = 2.0  # slow riding while looking
    look_s: float = 90.0  # time spent looking round a cell
    solver_ms: float = 2000.0  # only a cap: rounds stop after a number of solutions (the same on every machine)
    drain_h: float = 48.0  # after the measured days, until the last problems are found and fixed

    def __post_init__(self):
        if self.policy not in POLICIES:
            raise ValueError(f"unknown policy {self.policy!r}: use {', '.join(POLICIES)}")
        if not 0 < self.load < 1:
            raise ValueError("load must be between 0 and 1")


@dataclass
class Problem:
    """One problem of the measured days."""

    id: int
    t: float  # appeared (minutes)
    cell: int
    cat: int
    family: str
    citizen_at: float  # inf: no citizen reports it
    gone_at: float  # inf: stays until someone deals with it
    found_at: float | None = None
    how: str = ""
    fixed_at: float | None = None


@dataclass
class Inspector:
    """One inspector on one of the shifts."""

    id: int
    lon: float
    lat: float
    busy_until: float = 0.0  # on a case until then
    task: int | None = None
    route: list[tuple[int, float]] = field(default_factory=list)  # (cell, minute it is looked at)
    patrol_min: float = 0.0
    task_min: float = 0.0


class World:
    """The seed's district, history, measured problems, cameras and citizens — the same for every policy."""

    def __init__(self, cfg: SimConfig):
        weeks = cfg.history_weeks + math.ceil((cfg.days + cfg.drain_h / 24) / 7)
        ids, generated = generate(cfg.seed, weeks=weeks)
        self.cells = Cells(ids)
        self.points = [centre(c) for c in ids]
        cat_index = {c: i for i, c in enumerate(CATEGORIES)}
        rng = np.random.default_rng(cfg.seed + 10_000)  # not the generator's stream: citizens and cameras
        start_h = cfg.history_weeks * HOURS_PER_WEEK
        self.start, self.end = start_h * 60.0, (start_h + cfg.days * 24) * 60.0
        past = [e for e in generated if e.t < start_h]
        counts = np.bincount([self.cells.index[e.cell] for e in past], minlength=len(ids)).astype(float)
        # Busy places report sooner (more people pass), quiet ones later.
        self.place_factor = place_factor(counts)
        busier = np.argsort(-counts)[: max(1, int(0.3 * len(ids)))]
        self.camera_cells = set(rng.choice(busier, max(1, round(cfg.camera_share * len(ids))), replace=False).tolist())

        def delay_h(family: str, cell: int) -> float:
            return float(rng.exponential(DISCOVERY[family].report_h * self.place_factor[cell]))

        def report_h(family: str, cell: int) -> float:
            """Hours until a citizen reports it, or inf."""
            return delay_h(family, cell) if rng.random() < DISCOVERY[family].report_share else math.inf

        # The history the platform has: what was reported and when — some hours after it appeared (the district's
        # own inspectors found much of it; the forecast and the hotspot map learn from all of it alike).
        rows = []
        for e in past:
            c = self.cells.index[e.cell]
            rows.append((e.t + delay_h(FAMILY[e.category], c), c, cat_index[e.category]))
        self.history = Events.of(r for r in rows if r[0] < start_h)
        self.problems: list[Problem] = []
        self.camera_at: dict[int, float] = {}
        for e in generated:
            if not start_h <= e.t < start_h + cfg.days * 24:
                continue
            c, fam = self.cells.index[e.cell], FAMILY[e.category]
            life = DISCOVERY[fam].lifetime_h
            gone = e.t + rng.exponential(life) if life < math.inf else math.inf
            citizen = e.t + report_h(fam, c)
            p = Problem(len(self.problems), e.t * 60, c, cat_index[e.category], fam,
                        citizen * 60 if citizen < gone else math.inf, gone * 60)
            if (c in self.camera_cells and e.category in DETECTABLE and rng.random() < cfg.camera_catch
                    and e.t + cfg.camera_dwell_min / 60 < gone):
                self.camera_at[p.id] = p.t + cfg.camera_dwell_min
            self.problems.append(p)
        # Where inspectors start the first measured morning (as many as there could be).
        self.starts = [self.points[int(i)] for i in rng.permutation(len(ids))]
        self.inspectors = self._size_force(cfg)

    def _size_force(self, cfg: SimConfig) -> int:
        """The force that case work alone keeps busy `load` of its shift, measured: the fewest inspectors whose
        use, were every problem reported the moment it appeared (and no patrols), is at most `load`."""
        n, last = 1, None
        while n <= len(self.starts):
            self.inspectors = n
            use = Simulation(self, replace(cfg, policy="none"), everything_reported=True).run()["task_use"]
            if use <= cfg.load:
                # the closer of this size and the one below it
                return n if last is None or abs(use - cfg.load) <= abs(last - cfg.load) else n - 1
            n, last = n + 1, use
        return n - 1


class Simulation:
    """One policy on one world."""

    def __init__(self, world: World, cfg: SimConfig, everything_reported: bool = False):
        self.w, self.cfg = world, cfg
        self.everything_reported = everything_reported  # sizing the force: all work known at once
        self.problems = [replace(p) for p in world.problems]  # this run's copy: the world stays as it was
        self.random_values = np.random.default_rng(cfg.seed + 20_000)
        self.rng = np.random.default_rng(cfg.seed + 30_000)  # inspectors noticing (same draws for every policy)
        self.latent: dict[int, list[int]] = {}
        self.tasks: list[int] = []  # found, waiting for an inspector
        self.found: list[tuple[float, int, int]] = []  # (minute, cell, cat) reported so far in the measured days
        self.last_look = np.full(len(world.cells), world.start - 12 * 60)
        self.staff = [Inspector(i, *world.starts[i]) for i in range(world.inspectors)]
        self.model: Forecaster | None = None
        self.rates: np.ndarray | None = None
        self.rates_at = -1.0
        self.on_duty_min = 0.0
        self.stopped_at = world.end
        self.arriving: dict[int, tuple[float, int]] = {}  # inspector → (minute on site, cell)
        self.plan_after: dict[int, float] = {}  # inspector → no new round before (nothing worth a round)

    # --- what the platform knows ---
    def _known(self, now: float) -> Events:
        rows = [*zip(self.w.history.t.tolist(), self.w.history.cell.tolist(), self.w.history.cat.tolist(),
                     strict=True), *((t / 60, c, k) for t, c, k in self.found if t <= now)]
        return Events.of(rows)

    def _values(self, now: float) -> np.ndarray:
        w, cfg = self.w, self.cfg
        if cfg.policy == "random":
            return self.random_values.random(len(w.cells))
        known = self._known(now)
        if cfg.policy == "hotspot":
            return hotspot_map(known, len(w.cells), now / 60)
        day = math.floor(now / 60 / 24)
        if self.model is None or self.model.fitted_until < day * 24:
            self.model = Forecaster(w.cells, len(CATEGORIES)).fit(known, until=day * 24)
        if now - self.rates_at >= 15 or self.rates is None:  # the forecast moves slowly; recompute every 15 min
            self.rates = self.model.expected(now / 60, 1.0, history=known, by_category=True)  # per hour
            self.rates_at = now
        return unseen_value(self.rates, CATEGORIES, (now - self.last_look) / 60, w.place_factor, w.camera_cells,
                            cfg.camera_catch)

    # --- events ---
    def _discover(self, pid: int, now: float, how: str, finder: Inspector | None = None) -> None:
        p = self.problems[pid]
        if p.found_at is not None or pid not in self.latent.get(p.cell, ()):
            return  # found already, or gone
        p.found_at, p.how = now, how
        self.latent[p.cell].remove(pid)
        self.found.append((now, p.cell, p.cat))
        if finder is not None and DISCOVERY[p.family].fix_on_spot and finder.task is None:
            self._assign(finder, pid, now, travel_min=0.0)  # 即查即改: fixed by the one who found it
        else:
            self.tasks.append(pid)

    def _look(self, insp: Inspector, cell: int, now: float, how: str) -> None:
        self.last_look[cell] = now
        for pid in list(self.latent.get(cell, ())):
            if self.rng.random() < self.cfg.see_prob:
                self._discover(pid, now, how, finder=insp)

    def _assign(self, insp: Inspector, pid: int, now: float, travel_min: float | None = None) -> None:
        p = self.problems[pid]
        lon, lat = self.w.points[p.cell]
        if travel_min is None:
            travel_min = distance_km(insp.lon, insp.lat, lon, lat) * 1.3 / self.cfg.travel_kmh * 60
        insp.route = []
        insp.task, insp.busy_until = pid, now + travel_min + HANDLE_MIN[p.family]
        if now < self.w.end:
            insp.task_min += insp.busy_until - now
        insp.lon, insp.lat = lon, lat
        self.arriving[insp.id] = (now + travel_min, p.cell)

    def _shift(self, insp: Inspector) -> tuple[float, float]:
        return self.cfg.shifts[insp.id % len(self.cfg.shifts)]

    def _on_duty(self, insp: Inspector, now: float) -> bool:
        start, end = self._shift(insp)
        return start <= (now / 60) % 24 < end

    def run(self) -> dict:
        """Minute by minute from the first measured day to the end of the drain; the report."""
        w, cfg = self.w, self.cfg
        appear = sorted(self.problems, key=lambda p: p.t)
        found_by: list[tuple[float, int, str]] = [(p.citizen_at, p.id, "citizen") for p in self.problems
                                                  if p.citizen_at < math.inf]
        found_by += [(p.gone_at, p.id, "gone") for p in self.problems if p.gone_at < math.inf]
        found_by += [(t, pid, "camera") for pid, t in w.camera_at.items()]
        if self.everything_reported:
            found_by = [(p.t, p.id, "citizen") for p in self.problems]
        heapq.heapify(found_by)
        nxt = 0
        now = w.start
        stop = w.end + cfg.drain_h * 60
        while now < stop:
            while nxt < len(appear) and appear[nxt].t <= now:
                self.latent.setdefault(appear[nxt].cell, []).append(appear[nxt].id)
                nxt += 1
            while found_by and found_by[0][0] <= now:
                _, pid, how = heapq.heappop(found_by)
                if how == "gone":
                    if pid in self.latent.get(self.problems[pid].cell, ()):
                        self.latent[self.problems[pid].cell].remove(pid)  # went away unseen
                else:
                    self._discover(pid, now, how)
            measured = now < w.end
            on = {i.id for i in self.staff if self._on_duty(i, now)}
            self.on_duty_min += len(on) if measured else 0
            for insp in self.staff:
                arrive = self.arriving.get(insp.id)
                if arrive is not None and arrive[0] <= now:  # on site: a look round the case's cell too
                    del self.arriving[insp.id]
                    self._look(insp, arrive[1], now, "inspector")
                if insp.task is not None and insp.busy_until <= now:
                    self.problems[insp.task].fixed_at = insp.busy_until
                    insp.task = None
                if insp.id not in on:
                    insp.route = []  # the shift is over: the round ends with it (a case in hand is finished)
                    continue
                while insp.route and insp.route[0][1] <= now:
                    cell, _ = insp.route.pop(0)
                    insp.lon, insp.lat = w.points[cell]
                    self._look(insp, cell, now, "patrol")
                    if insp.task is not None:
                        break
                if insp.route and measured:
                    insp.patrol_min += 1
            self._dispatch(now, on)
            if cfg.policy != "none":
                idle = [i for i in self.staff if i.id in on and i.task is None and not i.route
                        and self.plan_after.get(i.id, 0) <= now]
                if idle:
                    values = self._values(now)
                    for insp in idle:
                        self._round(insp, values, now)
            now += 1.0
        self.stopped_at = now
        return self.report()

    def _dispatch(self, now: float, on: set[int]) -> None:
        """First found, first served: the nearest inspector on duty and not on a case (a patroller breaks off the
        round)."""
        while self.tasks:
            free = [i for i in self.staff if i.id in on and i.task is None]
            if not free:
                return
            pid = self.tasks.pop(0)
            lon, lat = self.w.points[self.problems[pid].cell]
            self._assign(min(free, key=lambda i: distance_km(i.lon, i.lat, lon, lat)), pid, now)

    def _round(self, insp: Inspector, values: np.ndarray, now: float) -> None:
        cfg = self.cfg
        left = (self._shift(insp)[1] - (now / 60) % 24) * 60
        budget = min(cfg.round_min, left) * 60
        if budget < 10 * 60:
            return
        r = plan_round((insp.lon, insp.lat), self.w.points, values, budget_s=budget, speed_mps=cfg.patrol_mps,
                       look_s=cfg.look_s, time_limit_s=cfg.solver_ms / 1000)
        insp.route = [(c, now + s / 60) for c, s in zip(r.cells, r.seen_s, strict=True)]
        if not insp.route:
            self.plan_after[insp.id] = now + 10  # nothing worth a round now: look again in ten minutes
        for c in r.cells:  # a cell planned now is not worth planning for another inspector this minute
            values[c] = 0.0

    def report(self) -> dict:
        """The figures of the problems that appeared in the measured days."""
        w, cfg = self.w, self.cfg
        ps = self.problems
        found = [p for p in ps if p.found_at is not None]
        waiting = [p for p in ps if p.found_at is None and p.gone_at == math.inf]
        by_citizen = [p for p in found if p.how == "citizen"]
        fixed_reported = [p.fixed_at - p.found_at for p in by_citizen if p.fixed_at is not None]
        fixed = [p.fixed_at - p.found_at for p in found if p.fixed_at is not None]
        shares = {how: sum(p.how == how for p in found) / max(1, len(found))
                  for how in ("citizen", "camera", "patrol", "inspector")}
        return {
            "policy": cfg.policy, "seed": cfg.seed, "days": cfg.days, "problems": len(ps),
            "inspectors": w.inspectors, "found": len(found),
            "gone_unseen": sum(p.found_at is None and p.gone_at < math.inf for p in ps),
            "still_waiting": len(waiting),
            "proactive_share": 1 - shares["citizen"] if found else None,
            "found_by": shares,
            # Found ones count their wait; ones still waiting at the end count the wait so far (a lower bound) —
            # otherwise a policy would look quicker by never finding the old ones.
            "discovery_h": statistics.fmean([(p.found_at - p.t) / 60 for p in found]
                                            + [(self.stopped_at - p.t) / 60 for p in waiting])
            if found or waiting else None,
            "reported_close_h": statistics.fmean(fixed_reported) / 60 if fixed_reported else None,
            "close_h": statistics.fmean(fixed) / 60 if fixed else None,
            "patrol_hours_per_day": sum(i.patrol_min for i in self.staff) / 60 / cfg.days,
            "task_use": sum(i.task_min for i in self.staff) / max(1.0, self.on_duty_min),
            "unfixed": sum(p.found_at is not None and p.fixed_at is None for p in ps),
        }


def simulate(cfg: SimConfig, world: World | None = None) -> dict:
    """Run one policy (on `world`, or the seed's) and return its report."""
    return Simulation(world or World(cfg), cfg).run()


def compare(seed: int, policies: Sequence[str] = POLICIES, **settings) -> dict[str, dict]:
    """Every policy on the same world of one seed."""
    world = World(SimConfig(seed=seed, **settings))
    return {p: simulate(SimConfig(policy=p, seed=seed, **settings), world) for p in policies}


FIGURES = ("proactive_share", "discovery_h", "reported_close_h", "close_h", "patrol_hours_per_day", "task_use")


def _compare_one(args: tuple[int, tuple[str, ...], dict]) -> dict[str, dict]:
    seed, policies, settings = args
    return compare(seed, policies, **settings)


def evaluate(seeds: Sequence[int], policies: Sequence[str] = POLICIES, processes: int = 1, **settings) -> dict:
    """Every policy on every seed's world (in `processes` worker processes); per seed, and the spread over seeds
    of each figure and of ours ÷ no patrols for the time to discovery and the time to close reported cases."""
    jobs = [(seed, tuple(policies), settings) for seed in seeds]
    if processes > 1:
        import multiprocessing as mp

        with mp.get_context("spawn").Pool(processes) as pool:
            runs = pool.map(_compare_one, jobs)
    else:
        runs = [_compare_one(job) for job in jobs]
    summary = {p: {f: spread([r[p][f] for r in runs if r[p][f] is not None]) for f in FIGURES} for p in policies}
    if "forecast" in policies and "none" in policies:
        for figure in ("discovery_h", "reported_close_h"):
            summary[f"forecast_vs_none_{figure}"] = spread([r["forecast"][figure] / r["none"][figure] for r in runs
                                                            if r["forecast"][figure] and r["none"][figure]])
    return {"seeds": runs, "summary": summary}
