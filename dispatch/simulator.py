"""Discrete-event simulation of a district's field force, to compare dispatch policies on equal terms.

Arrivals follow a time-of-day pattern (morning and afternoon peaks, quiet nights) with spatial hotspots, a
category mix and a source: cameras (their finding is the evidence), inspectors (they report on the spot) and
citizens (a verification visit, 核实, comes first). Every visit is a task that a worker travels to and that the
policy routes: verifying a citizen's report, handling the case (处置), and checking the fix (核查) — by an inspector
other than the handler, or, where the spot lies in a camera's view and camera checks are on, by the camera
looking again (AI 核查: N looks over M minutes, no travel). Workers keep a queue, travel at street speed, handle
with a per-worker × category skill (time and care), fixes fail now and then (rework) and citizens rate.

Every policy sees the same arrivals and the same worker draws (one seed), and decisions go through the same
routing interface as production (`dispatch.policies`): the baselines route verification and check tasks their
own way (nearest idle worker, round robin). Each case records where its time went (waiting for each visit, the
travel, the work), so the report shows the floor no policy can remove. Learning uses `dispatch.learning`, KPIs
`dispatch.kpi`. The router is told when each worker next goes off duty (a break, the shift's end), as production
reads it from the worker's duty; with `oracle` it is told every worker's true skill instead of what learning has
found, which bounds what better learning could ever give.
"""

from __future__ import annotations

import heapq
import math
import random
import statistics
from collections import deque
from dataclasses import dataclass, field

from shapely.geometry import Point, shape
from shapely.strtree import STRtree

from dispatch import kpi, learning, policies, route, routing
from dispatch.routing import CaseRequest, Weights, WorkerState

DAY_START_H = 8.0
VERIFY, CHECK = "__verify__", "__check__"  # visits every inspector makes, whatever the category
VISIT_MIN = 8.0  # on-site minutes of a verification or a check
VISIT_LIMIT_MIN = 60.0  # 核实 and 核查 within an hour of being due (the usual standard)
SOURCES = (("camera", 0.35), ("citizen", 0.35), ("inspector", 0.30))
PHASES = ("wait_verify", "verify_travel", "verify_work", "wait_dispatch", "handle_travel", "handle_work",
          "wait_check", "check_travel", "check_work", "camera_check")
FLOOR_PHASES = ("verify_work", "handle_work", "check_work", "camera_check")  # what no routing can shorten
# Two overlapping shifts (local hours: start, end, start of a 30-minute break); nobody patrols at night, so a
# report made then waits for the morning. Workers alternate between them.
SHIFTS = ((7.0, 15.0, 11.0), (12.0, 20.0, 16.0))
BREAK_MIN = 30.0


@dataclass(frozen=True)
class CategoryProfile:
    """How a category behaves in the field."""

    code: str
    weight: float  # share of arrivals
    handle_mean_min: float
    due_min: float  # from report to the handling deadline (natural minutes)
    department_type: str = "urban_management"


@dataclass
class Grid:
    """A unit grid: polygon, centroid, hotness."""

    id: int
    geom: object
    weight: float


@dataclass
class City:
    """Grids with adjacency."""

    grids: list[Grid]
    neighbours: dict[int, list[int]]

    @classmethod
    def from_geojson(cls, fc: dict, seed: int = 0) -> City:
        """A city from a FeatureCollection of grid polygons (e.g. the demo district)."""
        rng = random.Random(seed)
        geoms = [shape(f["geometry"]) for f in fc["features"]]
        grids = [Grid(i, g, rng.lognormvariate(0, 0.8)) for i, g in enumerate(geoms)]
        tree = STRtree(geoms)
        neighbours = {i: [int(j) for j in tree.query(g.buffer(1e-6), predicate="intersects") if j != i]
                      for i, g in enumerate(geoms)}
        return cls(grids, neighbours)

    @classmethod
    def generated(cls, cols: int, rows: int, cell_deg: float = 0.003, seed: int = 0) -> City:
        """A plain lattice city of cols × rows grids (for scale tests)."""
        from shapely.geometry import box

        rng = random.Random(seed)
        grids, neighbours = [], {}
        for r in range(rows):
            for c in range(cols):
                i = r * cols + c
                x, y = 120.0 + c * cell_deg, 30.0 + r * cell_deg
                grids.append(Grid(i, box(x, y, x + cell_deg, y + cell_deg), rng.lognormvariate(0, 0.8)))
                neighbours[i] = [(r + dr) * cols + (c + dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1)
                                 if (dr or dc) and 0 <= r + dr < rows and 0 <= c + dc < cols]
        return cls(grids, neighbours)

    def random_point(self, rng: random.Random, grid: Grid) -> tuple[float, float]:
        """A uniform point inside a grid."""
        minx, miny, maxx, maxy = grid.geom.bounds
        for _ in range(100):
            x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
            if grid.geom.contains(Point(x, y)):
                return x, y
        p = grid.geom.representative_point()
        return p.x, p.y


def intensity(hour_of_day: float) -> float:
    """Relative report rate by local hour: low at night, peaks around 10:00 and 16:00."""
    h = hour_of_day % 24
    night = 0.15
    peaks = 1.0 * math.exp(-((h - 10) ** 2) / 4) + 0.8 * math.exp(-((h - 16) ** 2) / 5)
    day = 0.45 if 7 <= h <= 20 else 0.0
    return night + day + peaks


@dataclass
class SimCase:
    """One simulated case."""

    id: int
    profile: CategoryProfile
    grid: int
    lon: float
    lat: float
    reported: float
    due: float
    priority: int
    source: str = "inspector"
    in_camera_view: bool = False
    failed_by: dict = field(default_factory=dict)
    reworks: int = 0
    resolved: float | None = None
    closed: float | None = None
    rating: int | None = None
    dispatches: int = 0
    handler: int | None = None
    fix_failed: bool = False
    last_handle_min: float = 0.0
    phases: dict = field(default_factory=lambda: dict.fromkeys(PHASES, 0.0))


@dataclass
class Task:
    """One visit waiting for (or queued at) a worker: verify, handle or check a case."""

    id: int
    kind: str  # "verify", "handle" or "check"
    case: SimCase
    ready: float  # since when it could be assigned
    due: float


@dataclass
class SimWorker:
    """One simulated field worker."""

    state: WorkerState
    speed_factor: float
    skill: dict  # category → handling-time multiplier
    fail_prob: dict  # category → chance a fix fails the check
    queue: deque = field(default_factory=deque)
    busy_until: float = 0.0
    busy: bool = False
    busy_min: float = 0.0
    km: float = 0.0
    window_busy: float = 0.0  # busy minutes inside the measured window
    window_km: float = 0.0


@dataclass(frozen=True)
class SimConfig:
    """Parameters of one run."""

    policy: str = "ours"
    workers: int = 32
    hours: float = 10.0
    load: float = 0.85  # target utilisation of the field force
    seed: int = 1
    tick_min: float = 1.0
    capacity: int = 5
    camera_checks: bool = True  # AI 核查 where the spot is in a camera's view
    camera_check_looks: int = 3  # N consecutive looks without the violation pass the check …
    camera_check_minutes: float = 10.0  # … over M minutes
    other_in_view: float = 0.15  # share of non-camera reports that lie in some camera's view anyway
    learning: bool = True  # False: routing sees only the category priors (the learning ablation)
    # True: routing sees every worker's true speed and care — no real dispatcher can; it bounds what better
    # learning could ever give.
    oracle: bool = False
    shifts: bool = True  # False: everybody on duty around the clock
    nominal_travel_min: float = 4.0
    drain_hours: float = 48.0
    # History before the measured window, so learning has something to go on: two weeks (a district has months;
    # with three days, a worker had handled about two cases of each category and learning could not pay).
    warmup_hours: float = 336.0

    def __post_init__(self):
        if self.warmup_hours % 24:
            raise ValueError("warmup_hours must be whole days, so the measured window starts at 08:00")
        if self.camera_check_looks < 1 or self.camera_check_minutes <= 0:
            raise ValueError("camera checks need at least one look over a positive number of minutes")
        if self.policy not in ("ours", "nearest", "round_robin"):
            raise ValueError(f"unknown policy {self.policy!r}: use ours, nearest or round_robin")


def _worker_skills(rng: random.Random, profiles: list[CategoryProfile]) -> frozenset[str]:
    have = {p.code for p in profiles if rng.random() < 0.8}
    return frozenset((have or {profiles[0].code}) | {VERIFY, CHECK})


class Simulation:
    """One run of one policy."""

    def __init__(self, city: City, profiles: list[CategoryProfile], cfg: SimConfig, weights: Weights = Weights()):
        self.city, self.profiles, self.cfg, self.w = city, profiles, cfg, weights
        self.policy = policies.make(cfg.policy)
        world = random.Random(cfg.seed)  # the same world for every policy
        self.arrival_rng = random.Random(world.random())
        self.noise = random.Random(world.random())
        self.workers: list[SimWorker] = []
        for i in range(cfg.workers):
            g = city.grids[i % len(city.grids)]
            lon, lat = city.random_point(world, g)
            owned = frozenset(g2.id for g2 in city.grids[i % len(city.grids)::max(1, cfg.workers)])
            st = WorkerState(id=i, lon=lon, lat=lat, skills=_worker_skills(world, profiles), grids=owned,
                             capacity=cfg.capacity, department_type=profiles[0].department_type)
            # The person (some are quicker and more careful at everything) and the category (a former
            # street-vendor officer is quick with stalls, slow with broken pavements): what learning can find.
            speed, care = world.lognormvariate(0, 0.25), world.lognormvariate(0, 0.7)
            skill = {p.code: speed * world.lognormvariate(0, 0.35) for p in profiles}
            fail = {p.code: min(0.5, 0.05 * care * world.lognormvariate(0, 0.5)) for p in profiles}
            self.workers.append(SimWorker(st, world.uniform(0.85, 1.15), skill, fail))
        self.stats: dict[tuple[int, str], learning.Stats] = {}
        self.priors = {p.code: learning.prior(p.handle_mean_min) for p in profiles}
        self.profile_by_code = {p.code: p for p in profiles}
        self.visit_stats = learning.prior(VISIT_MIN)
        mean_service = sum(p.weight * p.handle_mean_min for p in profiles) / sum(p.weight for p in profiles)
        # Work per case as the classic process has it: the handling, a check visit, a verification visit for
        # citizens' reports. The arrivals do not depend on the settings (camera checks, learning), so every
        # variant of one seed sees the same day; what camera checks save shows as time, not as more reports.
        visits = dict(SOURCES)["citizen"] + 1.0
        per_case = mean_service + cfg.nominal_travel_min + visits * (VISIT_MIN + cfg.nominal_travel_min)
        # `load` is the utilisation of the workers on duty inside the measured window.
        w0 = cfg.warmup_hours * 60
        on_duty = statistics.fmean(sum(self._on_duty(sw, w0 + m) for sw in self.workers)
                                   for m in range(0, int(cfg.hours * 60), 10))
        self.rate_per_min = cfg.load * max(1.0, on_duty) / per_case
        self.cases: dict[int, SimCase] = {}
        self.pending: dict[int, Task] = {}
        self.task_seq = 0
        self.events: list = []
        self.seq = 0
        self.decision_ms: list[float] = []

    # --- plumbing ---
    def _push(self, t: float, kind: str, payload=None):
        self.seq += 1
        heapq.heappush(self.events, (t, self.seq, kind, payload))

    def _stats(self, wid: int, cat: str) -> learning.Stats:
        if cat in (VERIFY, CHECK):
            return self.visit_stats
        if self.cfg.oracle:
            sw, prof = self.workers[wid], self.profile_by_code[cat]
            return learning.Stats(1_000, prof.handle_mean_min * sw.skill[cat], 1.0 - sw.fail_prob[cat], 4.5)
        if not self.cfg.learning:
            return self.priors[cat]
        return learning.estimate(self.priors[cat], self.stats.get((wid, learning.OVERALL)), self.stats.get((wid, cat)))

    def _on_duty(self, sw: SimWorker, t: float) -> bool:
        """Is this worker on shift and not on a break at simulated minute `t`?"""
        if not self.cfg.shifts:
            return True
        start, end, pause = SHIFTS[sw.state.id % len(SHIFTS)]
        h = (DAY_START_H + t / 60) % 24
        return start <= h < end and not pause <= h < pause + BREAK_MIN / 60

    def _off_duty(self, sw: SimWorker, now: float) -> tuple[float, float]:
        """Minutes until this worker next goes off duty, and for how long (a break, or inf at the shift's end)."""
        if not self.cfg.shifts:
            return math.inf, math.inf
        start, end, pause = SHIFTS[sw.state.id % len(SHIFTS)]
        h = (DAY_START_H + now / 60) % 24
        if h < pause:
            return (pause - h) * 60, BREAK_MIN
        if h < end:
            return (end - h) * 60, math.inf
        return 0.0, math.inf

    def _shift_change(self, now: float) -> None:
        """Workers going off duty keep their current task; at the end of a shift their queue is handed back."""
        for sw in self.workers:
            on = self._on_duty(sw, now)
            if sw.state.on_duty and not on and not self._on_duty(sw, now + BREAK_MIN + 1):  # the shift ends
                while sw.queue:
                    task = sw.queue.popleft()
                    self.pending[task.id] = task  # routed again, its waiting counted from when it was ready
            sw.state.on_duty = on
            if on and not sw.busy and sw.queue:
                self._start(now, sw)

    def _task(self, kind: str, case: SimCase, now: float) -> None:
        """A visit is ready to be routed (verification and check within VISIT_LIMIT_MIN)."""
        self.task_seq += 1
        due = case.due if kind == "handle" else now + VISIT_LIMIT_MIN
        self.pending[self.task_seq] = Task(self.task_seq, kind, case, now, due)

    # --- generation ---
    def _arrivals(self):
        """Non-homogeneous Poisson arrivals by thinning over the simulated hours."""
        rng, peak = self.arrival_rng, max(intensity(h / 4) for h in range(96))
        span = self.cfg.warmup_hours + self.cfg.hours
        # `load` is the utilisation aimed at inside the measured window, whatever the hour it starts.
        w0 = DAY_START_H + self.cfg.warmup_hours
        mean_int = sum(intensity(w0 + h / 10) for h in range(int(self.cfg.hours * 10))) / (self.cfg.hours * 10)
        t, n = 0.0, 0
        weights = [g.weight for g in self.city.grids]
        pw = [p.weight for p in self.profiles]
        sources, sw = [name for name, _ in SOURCES], [share for _, share in SOURCES]
        while True:
            t += rng.expovariate(self.rate_per_min * peak / mean_int)
            if t >= span * 60:
                return
            if rng.random() > intensity(DAY_START_H + t / 60) / peak:
                continue
            grid = rng.choices(self.city.grids, weights)[0]
            prof = rng.choices(self.profiles, pw)[0]
            lon, lat = self.city.random_point(rng, grid)
            n += 1
            prio = 1 if prof.due_min <= 120 else 3
            source = rng.choices(sources, sw)[0]
            in_view = source == "camera" or rng.random() < self.cfg.other_in_view
            self._push(t, "arrival", SimCase(n, prof, grid.id, lon, lat, t, t + prof.due_min, prio, source, in_view))

    # --- the loop ---
    def run(self) -> dict:
        """Simulate until every case is closed (or the drain limit); return the report."""
        import time

        self._arrivals()
        self._push(0.0, "tick")
        end = (self.cfg.warmup_hours + self.cfg.hours + self.cfg.drain_hours) * 60
        while self.events:
            t, _, kind, obj = heapq.heappop(self.events)
            if t > end:
                break
            if kind == "arrival":
                self.cases[obj.id] = obj
                self._task("verify" if obj.source == "citizen" else "handle", obj, t)
            elif kind == "tick":
                self._shift_change(t)
                if self.pending:
                    t0 = time.perf_counter()
                    self._dispatch(t)
                    self.decision_ms.append((time.perf_counter() - t0) * 1000)
                if self.pending or any(sw.queue for sw in self.workers) or any(e[2] != "tick" for e in self.events):
                    self._push(t + self.cfg.tick_min, "tick")
            elif kind == "done":
                self._done(t, *obj)
            elif kind == "camera_check":
                self._verdict(t, obj, checker=None)
        return self.report()

    def _requests(self, now: float) -> list[CaseRequest]:
        out = []
        for task in self.pending.values():
            c = task.case
            category = {"verify": VERIFY, "check": CHECK}.get(task.kind, c.profile.code)
            out.append(CaseRequest(
                id=task.id, category=category, lon=c.lon, lat=c.lat, grid_id=c.grid, due_in_min=task.due - now,
                priority=c.priority, department_type=None,
                failed_by=dict(c.failed_by) if task.kind == "handle" else {},
                exclude=frozenset({c.handler}) if task.kind == "check" and c.handler is not None else frozenset()))
        return out

    def _task_estimate(self, wid: int, task: Task) -> float:
        return self._stats(wid, {"verify": VERIFY, "check": CHECK}.get(task.kind, task.case.profile.code)).handle_min

    def _dispatch(self, now: float):
        for sw in self.workers:
            st = sw.state
            st.open_tasks = len(sw.queue) + (1 if sw.busy else 0)
            st.queued_min = max(0.0, sw.busy_until - now) if sw.busy else 0.0
            here = (st.lon, st.lat)
            for task in sw.queue:
                st.queued_min += self._task_estimate(st.id, task) + routing.travel_min(
                    routing.distance_km(*here, task.case.lon, task.case.lat), self.w)
                here = (task.case.lon, task.case.lat)
            st.stops = tuple((t.case.lon, t.case.lat) for t in sw.queue)
            st.off_in_min, st.off_for_min = self._off_duty(sw, now)  # what production reads from duty_until
        plan = self.policy(self._requests(now), [sw.state for sw in self.workers], self._stats, self.w,
                           self.city.neighbours)
        for a in plan.assignments:
            task = self.pending.pop(a.case_id)
            if task.kind == "handle":
                task.case.dispatches += 1
            sw = self.workers[a.worker_id]
            sw.queue.append(task)
            if not sw.busy:
                self._start(now, sw)

    def _sequence(self, now: float, sw: SimWorker) -> None:
        """Ours: the queue in the order that cuts travel while meeting deadlines (`dispatch.route`, the plan the
        inspector app shows as today's route); the baselines work first come, first served."""
        if self.cfg.policy != "ours" or len(sw.queue) < 2:
            return
        speed = self.w.speed_kmh / 3.6 / self.w.detour  # straight-line metres per second through streets
        stops = [route.Stop(i, t.case.lon, t.case.lat, (t.due - now) * 60,
                            self._task_estimate(sw.state.id, t) * 60) for i, t in enumerate(sw.queue)]
        order = [leg.id for leg in route.plan((sw.state.lon, sw.state.lat), stops, speed_mps=speed)]
        sw.queue = deque(sw.queue[i] for i in order)

    def _start(self, now: float, sw: SimWorker):
        if not self._on_duty(sw, now):
            return  # on a break or off shift: the queue waits (or is handed back at the shift's end)
        self._sequence(now, sw)
        task = sw.queue.popleft()
        case = task.case
        km = routing.distance_km(sw.state.lon, sw.state.lat, case.lon, case.lat)
        travel = routing.travel_min(km, self.w) * sw.speed_factor
        if task.kind == "handle":
            work = case.profile.handle_mean_min * sw.skill[case.profile.code] * self.noise.lognormvariate(-0.06, 0.35)
        else:
            work = VISIT_MIN * self.noise.lognormvariate(-0.02, 0.2)
        case.phases["wait_dispatch" if task.kind == "handle" else f"wait_{task.kind}"] += now - task.ready
        case.phases[f"{task.kind}_travel"] += travel
        case.phases[f"{task.kind}_work"] += work
        sw.busy, sw.busy_until = True, now + travel + work
        sw.busy_min += travel + work
        sw.km += km * self.w.detour
        lo, hi = self.cfg.warmup_hours * 60, (self.cfg.warmup_hours + self.cfg.hours) * 60
        sw.window_busy += max(0.0, min(hi, sw.busy_until) - max(lo, now))
        if lo <= now < hi:
            sw.window_km += km * self.w.detour
        sw.state.lon, sw.state.lat = case.lon, case.lat  # where they will be
        self._push(sw.busy_until, "done", (sw, task, work))

    def _done(self, now: float, sw: SimWorker, task: Task, work: float):
        case = task.case
        if task.kind == "verify":  # 核实: the report is real (立案 follows at once); now it waits for a handler
            self._task("handle", case, now)
        elif task.kind == "handle":  # 处置 done: a check by the camera when it sees the spot, else a visit
            case.resolved, case.handler, case.last_handle_min = now, sw.state.id, work
            case.fix_failed = self.noise.random() < sw.fail_prob[case.profile.code]
            if self.cfg.camera_checks and case.in_camera_view:
                case.phases["camera_check"] += self.cfg.camera_check_minutes
                self._push(now + self.cfg.camera_check_minutes, "camera_check", case)
            else:
                self._task("check", case, now)
        else:
            self._verdict(now, case, checker=sw.state.id)
        sw.busy = False
        if sw.queue:
            self._start(now, sw)

    def _verdict(self, now: float, case: SimCase, checker: int | None):
        """核查: a failed fix goes back for rework (the handler counts a failure); a good one closes and is rated."""
        wid = case.handler
        if case.fix_failed:
            case.reworks += 1
            case.failed_by[wid] = case.failed_by.get(wid, 0) + 1
            case.resolved = None
            self._task("handle", case, now)
            rating = None
        else:
            late = case.resolved > case.due
            base = 4.7 - (1.6 if late else 0) - 0.7 * case.reworks
            rating = max(1, min(5, round(self.noise.gauss(base, 0.6))))
            case.closed, case.rating = now, rating
        learning.learn(self.stats, wid, case.profile.code, self.priors[case.profile.code],
                       learning.Outcome(case.last_handle_min, not case.fix_failed, rating))

    # --- results ---
    def report(self) -> dict:
        """KPIs plus travel, utilisation, fairness and decision latency."""
        start = self.cfg.warmup_hours * 60
        measured = [c for c in self.cases.values() if c.reported >= start]
        recs = [kpi.CaseRecord(reported=c.reported, closed=c.closed, due=c.due, resolved=c.resolved,
                               reworks=c.reworks, rating=c.rating, proactive=c.source != "citizen")
                for c in measured]
        horizon = self.cfg.hours * 60
        busy = [sw.window_busy for sw in self.workers]
        out = kpi.summarize(recs)
        out.update({
            "policy": self.cfg.policy, "workers": self.cfg.workers, "hours": self.cfg.hours,
            "target_load": self.cfg.load, "seed": self.cfg.seed, "warmup_hours": self.cfg.warmup_hours,
            "on_time_pct": round(100 * (out["on_time_rate"] or 0), 2),
            "rework_pct": round(100 * (out["rework_rate"] or 0), 2),
            "travel_km": round(sum(sw.window_km for sw in self.workers), 1),
            "utilisation": round(sum(busy) / (len(busy) * horizon), 3),
            "fairness_jain": kpi.jain(busy),
            "decision_ms_p99": kpi.percentile(self.decision_ms, 99),
            "camera_checks": self.cfg.camera_checks, "learning": self.cfg.learning, "oracle": self.cfg.oracle,
            "shifts": self.cfg.shifts,
        })
        closed = [c for c in measured if c.closed is not None]
        out["phases"] = {p: round(sum(c.phases[p] for c in closed) / len(closed), 1) if closed else None
                         for p in PHASES}
        out["floor_close_min"] = (round(sum(out["phases"][p] for p in FLOOR_PHASES), 1) if closed else None)
        if out["decision_ms_p99"] is not None:
            out["decision_ms_p99"] = round(out["decision_ms_p99"], 2)
        return out


def simulate(city: City, profiles: list[CategoryProfile], cfg: SimConfig, weights: Weights = Weights()) -> dict:
    """Run one policy and return its report."""
    return Simulation(city, profiles, cfg, weights).run()


def profiles_from_categories(categories: list[dict]) -> list[CategoryProfile]:
    """Field profiles from category definitions (the categories.yaml entries).

    The deadline is the dispatch plus handling limit; working-time limits are stretched to natural time
    (8 working hours a day); the typical handling takes a fifth of the handling limit, 10–90 minutes.
    """
    out = []
    for c in categories:
        limits = c["limits"]
        stretch = 3.0 if c.get("basis", "working") == "working" else 1.0
        due = (limits["dispatch"] + limits["handle"]) * stretch
        handle = learning.typical_handle_min(limits["handle"])
        weight = 2.0 if c.get("detectable") else 1.0
        out.append(CategoryProfile(c["code"], weight, handle, due, c.get("department", "urban_management")))
    return out
