"""Dispatch benchmark: policies side by side on the same simulated district, and decision latency at scale.

    .venv/bin/python bench/dispatch_bench.py [--seeds 5] [--hours 10] [--workers 32] [--load 0.85]

Part 1 runs the simulator for each policy on the same seeds (same arrivals, same workers) and prints the
mean of each figure plus the ratio of ours to nearest-idle. Part 2 times `dispatch.routing.plan` — the
production decision code — for one round of 500 pending cases against 2,000 workers on a generated city,
and prints p50/p99 of the round and of the per-case share.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dispatch import kpi  # noqa: E402
from dispatch.learning import prior  # noqa: E402
from dispatch.routing import CaseRequest, Weights, WorkerState, plan  # noqa: E402
from dispatch.simulator import City, SimConfig, profiles_from_categories, simulate  # noqa: E402

FIGURES = ["cases", "mean_close_min", "floor_close_min", "median_close_min", "p90_close_min", "on_time_pct",
           "rework_pct", "travel_km", "utilisation", "fairness_jain", "mean_satisfaction"]


def compare(seeds: int, hours: float, workers: int, load: float) -> dict:
    """Mean figures per policy over the seeds."""
    city = City.from_geojson(json.loads((ROOT / "app/seed/data/demo_grids.geojson").read_text()), seed=1)
    cats = yaml.safe_load((ROOT / "app/data/categories.yaml").read_text(encoding="utf-8"))["categories"]
    profiles = profiles_from_categories(cats)
    table = {}
    for policy in ("ours", "nearest", "round_robin"):
        runs = [simulate(city, profiles, SimConfig(policy=policy, workers=workers, hours=hours, load=load, seed=s))
                for s in range(1, seeds + 1)]
        table[policy] = {f: round(statistics.mean(r[f] for r in runs), 3) for f in FIGURES}
    return table


def latency(n_workers: int = 2000, n_cases: int = 500, rounds: int = 100, seed: int = 7) -> dict:
    """Time one routing round (500 pending × 2,000 workers) on a generated 50 × 40 grid city."""
    city = City.generated(50, 40, seed=seed)
    rng = random.Random(seed)
    cats = [f"c{i}" for i in range(20)]
    stats_table = {c: prior(rng.uniform(20, 60)) for c in cats}
    round_ms = []
    assigned = []
    for r in range(rounds + 1):  # round 0 warms up (imports, first calls) and is not counted
        workers = []
        for i in range(n_workers):
            g = city.grids[i % len(city.grids)]
            lon, lat = city.random_point(rng, g)
            workers.append(WorkerState(id=i, lon=lon, lat=lat, skills=frozenset(rng.sample(cats, 14)),
                                       grids=frozenset({g.id}), capacity=5, open_tasks=rng.randrange(0, 4),
                                       queued_min=rng.uniform(0, 40)))
        cases = []
        for j in range(n_cases):
            g = rng.choice(city.grids)
            lon, lat = city.random_point(rng, g)
            cases.append(CaseRequest(id=j, category=rng.choice(cats), lon=lon, lat=lat, grid_id=g.id,
                                     due_in_min=rng.uniform(60, 600), priority=rng.choice((1, 2, 3, 3, 3, 4))))
        t0 = time.perf_counter()
        p = plan(cases, workers, lambda _w, c: stats_table[c], Weights(), city.neighbours)
        if r:
            round_ms.append((time.perf_counter() - t0) * 1000)
            assigned.append(len(p.assignments))
    return {
        "workers": n_workers, "pending": n_cases, "rounds": rounds,
        "round_ms_p50": round(kpi.percentile(round_ms, 50), 1),
        "round_ms_p99": round(kpi.percentile(round_ms, 99), 1),
        "per_case_ms_p99": round(kpi.percentile(round_ms, 99) / n_cases, 3),
        "assigned_per_round": round(statistics.mean(assigned), 1),
    }


def main() -> None:
    """Print both parts as tables (and JSON with --json)."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--hours", type=float, default=10)
    ap.add_argument("--workers", type=int, default=32)
    ap.add_argument("--load", type=float, default=0.85)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    table = compare(args.seeds, args.hours, args.workers, args.load)
    lat = latency()
    if args.json:
        print(json.dumps({"policies": table, "latency": lat}, indent=1))
        return
    print(f"Policies on the demo district: {args.workers} workers, {args.hours} h measured after 3 days of "
          f"history, target load {args.load}, mean of {args.seeds} seeds")
    print(f"{'figure':<20}" + "".join(f"{p:>14}" for p in table) + f"{'ours/nearest':>14}")
    for f in FIGURES:
        ratio = table["ours"][f] / table["nearest"][f] if table["nearest"][f] else float("nan")
        print(f"{f:<20}" + "".join(f"{table[p][f]:>14}" for p in table) + f"{ratio:>14.3f}")
    print()
    print(f"Decision latency: one round of {lat['pending']} pending cases × {lat['workers']} workers, "
          f"{lat['rounds']} rounds")
    for k in ("round_ms_p50", "round_ms_p99", "per_case_ms_p99", "assigned_per_round"):
        print(f"  {k:<20}{lat[k]:>10}")


if __name__ == "__main__":
    main()
