"""Today's route for one inspector: the order of their open tasks that cuts walking while meeting deadlines.

Pure: positions in, order out. It is a vehicle-routing problem with time windows, solved by OR-Tools'
routing solver (not a hand-written heuristic): travel times from great-circle distances at a walking or cycling
speed plus time on site at each stop, each stop due by its deadline. Deadlines are soft — a late stop costs a
heavy penalty per minute rather than making the plan infeasible, since an overdue task still has to be done —
and the route is open (it ends at its last stop). Small inputs only (a worker's day: tens of stops), solved in
well under a second. Up to EXACT_MAX stops every order is tried instead (at most 720): the exact optimum of the
same objective in well under a millisecond, where the solver's set-up alone costs more — the dispatcher orders
each worker's short queue this way after every task.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from dispatch.routing import distance_km

LATE_PENALTY_PER_S = 100  # a second late weighs as much as 100 s of extra walking
EXACT_MAX = 6


@dataclass(frozen=True)
class Stop:
    """A task to visit: where, by when (seconds from now; None: no deadline), and how long it takes on site."""

    id: int
    lon: float
    lat: float
    due_s: float | None = None
    service_s: float = 600.0


@dataclass(frozen=True)
class Leg:
    """A stop in the planned order, with when the worker gets there (seconds from now)."""

    id: int
    arrive_s: int
    late_s: int


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Ground distance between two (lon, lat) points, in metres (the routing library's, over a city)."""
    return distance_km(*a, *b) * 1000


def plan(start: tuple[float, float], stops: list[Stop], *, speed_mps: float = 1.3,
         time_limit_s: float = 1.0) -> list[Leg]:
    """The order to visit `stops` from `start` (lon, lat), with arrival times; empty for no stops."""
    if not stops:
        return []
    if len(stops) <= EXACT_MAX:
        return _exact(start, stops, speed_mps)
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    points = [start] + [(s.lon, s.lat) for s in stops]
    n = len(points)
    # Node 0 is the start; travel back to it costs nothing, which makes the route open.
    travel = [[0 if j == 0 else round(metres(points[i], points[j]) / speed_mps) for j in range(n)] for i in range(n)]
    service = [0] + [round(s.service_s) for s in stops]
    manager = pywrapcp.RoutingIndexManager(n, 1, 0)
    routing = pywrapcp.RoutingModel(manager)

    def transit(i: int, j: int) -> int:
        a, b = manager.IndexToNode(i), manager.IndexToNode(j)
        return service[a] + travel[a][b]

    callback = routing.RegisterTransitCallback(transit)
    routing.SetArcCostEvaluatorOfAllVehicles(callback)
    horizon = sum(service) + sum(max(row) for row in travel) + 1
    routing.AddDimension(callback, 0, horizon, True, "time")
    time = routing.GetDimensionOrDie("time")
    for node, stop in enumerate(stops, start=1):
        if stop.due_s is not None:
            time.SetCumulVarSoftUpperBound(manager.NodeToIndex(node), max(0, round(stop.due_s)), LATE_PENALTY_PER_S)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(max(1, round(time_limit_s * 1000)))
    params.solution_limit = 200 if n <= 12 else 2_000  # small days converge fast; stop searching early
    solution = routing.SolveWithParameters(params)
    if solution is None:  # cannot happen with soft windows; keep the given order rather than fail
        return [Leg(s.id, 0, 0) for s in stops]
    legs = []
    index = solution.Value(routing.NextVar(routing.Start(0)))
    while not routing.IsEnd(index):
        node = manager.IndexToNode(index)
        arrive = solution.Value(time.CumulVar(index))
        due = stops[node - 1].due_s
        legs.append(Leg(stops[node - 1].id, arrive, max(0, arrive - round(due)) if due is not None else 0))
        index = solution.Value(routing.NextVar(index))
    return legs


def _exact(start: tuple[float, float], stops: list[Stop], speed_mps: float) -> list[Leg]:
    """Every order of a few stops, costed as the solver costs them (travel plus weighted lateness)."""
    points = [start] + [(s.lon, s.lat) for s in stops]
    travel = [[round(metres(a, b) / speed_mps) for b in points] for a in points]
    best, best_cost = None, None
    for order in itertools.permutations(range(1, len(points))):
        t, cost, here, legs = 0, 0, 0, []
        for node in order:
            t += travel[here][node]
            cost += travel[here][node]
            due = stops[node - 1].due_s
            late = max(0, t - round(due)) if due is not None else 0
            cost += LATE_PENALTY_PER_S * late
            legs.append(Leg(stops[node - 1].id, t, late))
            t += round(stops[node - 1].service_s)
            here = node
        if best_cost is None or cost < best_cost:
            best, best_cost = legs, cost
    return best
